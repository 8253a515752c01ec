package sentryexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// TestAssemblyMakesOneTransactionPerSegment feeds a workload whose traces cross batches through the
// factory with trace assembly on: Sentry gets one transaction per segment, every span exactly once.
func TestAssemblyMakesOneTransactionPerSegment(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 3, Traces: 120, BatchSize: 512})
	require.Greater(t, summary.CrossBatch, summary.Traces/2, "the workload cuts most traces across batches")

	// The segments as the transform defines them, counted on the whole workload at once.
	segments := 0
	for _, ev := range transformEvents(mergeBatches(batches), testOptions) {
		if ev.Category == "transaction" {
			segments++
		}
	}

	srv := sentrytest.NewTest(t)
	exp, _ := startExporter(t, srv, map[string]any{
		"sending_queue": map[string]any{"enabled": true},
		// A quiet period far longer than feeding all batches takes, even on a loaded CI machine.
		"trace_assembly": map[string]any{"enabled": true, "wait": "1s", "max_wait": "20s"},
	})
	for _, b := range batches {
		require.NoError(t, exp.ConsumeTraces(context.Background(), b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitForSpans(ctx, summary.Spans))
	assertExactlyOnce(t, summary, srv.SpanIDs())
	assert.Len(t, srv.Transactions(), segments, "one transaction per segment, not per batch fragment")
	assert.Empty(t, srv.Discarded())
}

// mergeBatches copies every batch into one.
func mergeBatches(batches []ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, b := range batches {
		for i := 0; i < b.ResourceSpans().Len(); i++ {
			b.ResourceSpans().At(i).CopyTo(out.ResourceSpans().AppendEmpty())
		}
	}
	return out
}
