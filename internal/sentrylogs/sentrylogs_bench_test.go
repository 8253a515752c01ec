package sentrylogs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// benchLogs is 10,000 records shaped like a Java service's logback output: 10 resources (pods) of 1,000
// records, each with a trace context on most records, a handful of string and int attributes and an
// occasional exception.
func benchLogs() plog.Logs {
	ld := plog.NewLogs()
	for r := range 10 {
		rl := ld.ResourceLogs().AppendEmpty()
		putSorted(rl.Resource().Attributes(), javaResource())
		rl.Resource().Attributes().PutStr("k8s.pod.name", "checkout-"+string(rune('a'+r)))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("com.example.checkout.OrderService")
		for i := range 1000 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(1746456149019199800 + int64(i)*1000))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr("Order 4711 placed for customer c-42 with 3 items, total 129.90 EUR")
			if i%10 != 0 {
				lr.SetTraceID(traceIDOf(goldenTraceID))
				lr.SetSpanID(spanIDOf(goldenSpanID))
			}
			a := lr.Attributes()
			a.PutStr("thread.name", "http-nio-8080-exec-1")
			a.PutInt("thread.id", 42)
			a.PutStr("code.namespace", "com.example.checkout.OrderService")
			a.PutStr("code.function", "place")
			a.PutInt("code.lineno", 88)
			if i%50 == 0 {
				lr.SetSeverityNumber(plog.SeverityNumberError)
				a.PutStr("exception.type", "java.net.SocketTimeoutException")
				a.PutStr("exception.message", "Read timed out")
				a.PutStr("exception.stacktrace", "java.net.SocketTimeoutException: Read timed out\n\tat com.example.PaymentClient.charge(PaymentClient.java:57)")
			}
		}
	}
	return ld
}

// BenchmarkConvert converts 10,000 records per iteration and reports records/s and allocations per record.
func BenchmarkConvert(b *testing.B) {
	ld := benchLogs()
	records := ld.LogRecordCount()
	opts := Options{Environment: "production"}
	b.ReportAllocs()
	b.ResetTimer()
	var payloadBytes int
	for b.Loop() {
		batches, _ := Convert(ld, opts)
		payloadBytes = 0
		for _, batch := range batches {
			payloadBytes += len(batch.Payload)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(payloadBytes)/float64(records), "bytes/record")
	allocs := testing.AllocsPerRun(3, func() { Convert(ld, opts) })
	b.ReportMetric(allocs/float64(records), "allocs/record")
}

// TestAllocationsPerRecord pins the allocation budget: batches, payloads and position slices are allocated per
// batch, nothing per record or per attribute. Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestAllocationsPerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("converts 10,000 records")
	}
	ld := benchLogs()
	allocs := testing.AllocsPerRun(2, func() { Convert(ld, Options{Environment: "production", Now: fixedNow}) })
	assert.LessOrEqual(t, allocs/float64(ld.LogRecordCount()), 0.05, "allocations per record")
}
