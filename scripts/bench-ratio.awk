# Prints the whole exporter's benchmark figures beside otlphttp's, from one `go test -bench` output,
# so the ratio the performance targets are stated in is read off a single run.
function metric(line, unit,    n, i, f) {
	n = split(line, f, /[ \t]+/)
	for (i = 2; i <= n; i++) if (f[i] == unit) return f[i-1]
	return ""
}
/^BenchmarkExporter\/default-/ { ours = $0 }
/^BenchmarkOTLPHTTP-/          { otlp = $0 }
/^BenchmarkQueued\/sentry-/     { qours = $0 }
/^BenchmarkQueued\/otlphttp-/   { qotlp = $0 }
/^BenchmarkSmallTransactions\/sentry-/   { sours = $0 }
/^BenchmarkSmallTransactions\/otlphttp-/ { sotlp = $0 }
END {
	if (ours == "" || otlp == "") { print "bench-ratio: BenchmarkExporter/default or BenchmarkOTLPHTTP missing"; exit }
	printf "\n%-22s %12s %12s %12s %12s %16s\n", "", "spans/s", "cpu-ns/span", "allocs/span", "B/span", "wire-bytes/span"
	printf "%-22s %12s %12s %12s %12s %16s\n", "sentry (default)", metric(ours, "spans/s"), metric(ours, "cpu-ns/span"), metric(ours, "allocs/span"), metric(ours, "B/span"), metric(ours, "wire-bytes/span")
	printf "%-22s %12s %12s %12s %12s %16s\n", "otlphttp", metric(otlp, "spans/s"), metric(otlp, "cpu-ns/span"), metric(otlp, "allocs/span"), metric(otlp, "B/span"), metric(otlp, "wire-bytes/span")
	printf "sentry/otlphttp: %.2fx spans/s (target >= 0.6x), %.2fx CPU per span\n", metric(ours, "spans/s") / metric(otlp, "spans/s"), metric(ours, "cpu-ns/span") / metric(otlp, "cpu-ns/span")
	if (qours != "" && qotlp != "") {
		printf "with both sending queues on: %.2fx spans/s (%s vs %s), %.2fx CPU per span\n", metric(qours, "spans/s") / metric(qotlp, "spans/s"), metric(qours, "spans/s"), metric(qotlp, "spans/s"), metric(qours, "cpu-ns/span") / metric(qotlp, "cpu-ns/span")
	}
	if (sours != "" && sotlp != "") {
		printf "small transactions (4 spans), queues on: %.2fx spans/s (%s vs %s), %.2fx CPU per span, %s allocs/span\n", metric(sours, "spans/s") / metric(sotlp, "spans/s"), metric(sours, "spans/s"), metric(sotlp, "spans/s"), metric(sours, "cpu-ns/span") / metric(sotlp, "cpu-ns/span"), metric(sours, "allocs/span")
	}
}
