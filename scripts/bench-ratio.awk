# Prints the whole exporter's benchmark figures beside otlphttp's, from one `go test -bench` output,
# so the ratio the performance targets are stated in is read off a single run.
function metric(line, unit,    n, i, f) {
	n = split(line, f, /[ \t]+/)
	for (i = 2; i <= n; i++) if (f[i] == unit) return f[i-1]
	return ""
}
/^BenchmarkExporter\/default-/ { ours = $0 }
/^BenchmarkOTLPHTTP-/          { otlp = $0 }
/^BenchmarkQueued\/sentry-[0-9]/ { qours = $0 }
/^BenchmarkExporter\/otlp-/    { omode = $0 }
/^BenchmarkQueued\/sentry-otlp-/ { qomode = $0 }
/^BenchmarkQueued\/otlphttp-/   { qotlp = $0 }
/^BenchmarkSmallTransactions\/sentry-[0-9]/ { sours = $0 }
/^BenchmarkSmallTransactions\/sentry-otlp-/ { somode = $0 }
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
	# protocol: otlp against otlphttp (targets: >= 0.9x spans/s, <= 1.25x CPU per span, the spans' bytes
	# within 10%; the error events' envelopes come on top and are shown apart).
	if (omode != "") {
		printf "protocol otlp/otlphttp, queues off: %.2fx spans/s, %.2fx CPU per span, %.2fx span bytes (+%s envelope bytes/span)\n", metric(omode, "spans/s") / metric(otlp, "spans/s"), metric(omode, "cpu-ns/span") / metric(otlp, "cpu-ns/span"), metric(omode, "otlp-wire-bytes/span") / metric(otlp, "wire-bytes/span"), metric(omode, "envelope-wire-bytes/span")
	}
	if (somode != "" && sotlp != "") {
		printf "protocol otlp/otlphttp, small transactions: %.2fx spans/s, %.2fx CPU per span, %.2fx span bytes\n", metric(somode, "spans/s") / metric(sotlp, "spans/s"), metric(somode, "cpu-ns/span") / metric(sotlp, "cpu-ns/span"), metric(somode, "otlp-wire-bytes/span") / metric(sotlp, "wire-bytes/span")
	}
	if (qomode != "" && qotlp != "") {
		printf "protocol otlp/otlphttp, queues on:  %.2fx spans/s, %.2fx CPU per span, %.2fx span bytes (+%s envelope bytes/span)\n", metric(qomode, "spans/s") / metric(qotlp, "spans/s"), metric(qomode, "cpu-ns/span") / metric(qotlp, "cpu-ns/span"), metric(qomode, "otlp-wire-bytes/span") / metric(qotlp, "wire-bytes/span"), metric(qomode, "envelope-wire-bytes/span")
	}
}
