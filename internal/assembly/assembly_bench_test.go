package assembly

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// benchWorkload is about 100k spans in batches of the batch processor's default size.
func benchWorkload(b *testing.B) ([]ptrace.Traces, int) {
	b.Helper()
	batches, sum := workload.Generate(workload.Config{Seed: 3, Traces: 2800, BatchSize: 512})
	for _, td := range batches {
		td.MarkReadOnly()
	}
	return batches, sum.Spans
}

// perSpan runs body b.N times and reports time, allocations and bytes per span.
func perSpan(b *testing.B, spans int, body func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		body()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(spans)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/span")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/span")
}

// BenchmarkAssembly measures holding and emitting: every batch goes through ConsumeTraces, the clock moves
// 100ms per batch and a tick follows each, so traces are emitted as they go quiet, as in production.
func BenchmarkAssembly(b *testing.B) {
	batches, spans := benchWorkload(b)
	b.Logf("%d spans in %d batches", spans, len(batches))
	ctx := context.Background()
	next := func(context.Context, ptrace.Traces) error { return nil }
	run := func(b *testing.B, cfg Config, host component.Host) {
		perSpan(b, spans, func() {
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			a := New(cfg, next, nil, nil)
			a.now, a.base = clock.Now, clock.Now()
			if err := a.Start(ctx, host); err != nil {
				b.Fatal(err)
			}
			for _, td := range batches {
				if err := a.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
				clock.Advance(100 * time.Millisecond)
				a.emitDue(ctx)
			}
			if err := a.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
	quiet := Config{Enabled: true, Wait: 2 * time.Second, MaxWait: 30 * time.Second, MaxSpans: DefaultMaxSpans, MaxBytes: DefaultMaxBytes}
	b.Run("quiet", func(b *testing.B) {
		run(b, quiet, nil)
	})
	b.Run("quiet_storage", func(b *testing.B) {
		// Every span is written to file_storage (fsync off, its default) and deleted once handed on.
		cfg := quiet
		cfg.Storage = &fileStorageID
		run(b, cfg, startFileStorage(b, b.TempDir()))
	})
	b.Run("max_spans_pressure", func(b *testing.B) {
		run(b, Config{Enabled: true, Wait: time.Hour, MaxWait: 2 * time.Hour, MaxSpans: 5000, MaxBytes: DefaultMaxBytes}, nil)
	})
}

// BenchmarkCopyReference is the floor any design pays: one deep copy of each incoming batch (td is shared
// and read-only). The second case adds what holding per-span references into retained batch copies would
// cost at emission (one Span.MoveTo into the output per span), the alternative to copying spans straight
// into per-trace groups.
func BenchmarkCopyReference(b *testing.B) {
	batches, spans := benchWorkload(b)
	b.Run("batch_copy", func(b *testing.B) {
		perSpan(b, spans, func() {
			for _, td := range batches {
				dst := ptrace.NewTraces()
				td.CopyTo(dst)
			}
		})
	})
	b.Run("batch_copy_then_span_move", func(b *testing.B) {
		perSpan(b, spans, func() {
			for _, td := range batches {
				own := ptrace.NewTraces()
				td.CopyTo(own)
				out := ptrace.NewTraces()
				for _, rs := range own.ResourceSpans().All() {
					ors := out.ResourceSpans().AppendEmpty()
					for _, ss := range rs.ScopeSpans().All() {
						dst := ors.ScopeSpans().AppendEmpty().Spans()
						dst.EnsureCapacity(ss.Spans().Len())
						for _, sp := range ss.Spans().All() {
							sp.MoveTo(dst.AppendEmpty())
						}
					}
				}
			}
		})
	})
}
