package workload

import (
	"testing"
)

// BenchmarkGenerate100kSpans measures generating a workload of about 100,000 spans, cut into default batches.
func BenchmarkGenerate100kSpans(b *testing.B) {
	cfg := Config{Seed: 1, Traces: 3000}
	_, sum := Generate(cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Generate(cfg)
	}
	b.ReportMetric(float64(sum.Spans), "spans/op")
}

// BenchmarkSmall measures the fixed golden workload.
func BenchmarkSmall(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Small(1)
	}
}
