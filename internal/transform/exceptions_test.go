package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// ErrorEvents, given the traces ExceptionTraces finds, makes exactly the error events Traces makes with
// transactions off, in the same order, with the same positions, on every batch of a workload.
func TestErrorEventsEqualTheTransformsOwn(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 11, Traces: 200, BatchSize: 512})
	require.Positive(t, summary.Exceptions)
	opts := Options{Environment: "env", ExceptionsAsErrors: true, PublicKey: "public"}
	var enc eventjson.Encoder
	var counts sanitize.Counts
	encode := func(evs []Event) []string {
		out := make([]string, len(evs))
		for i := range evs {
			out[i] = string(Encode(&enc, nil, &evs[i], &counts))
		}
		return out
	}
	found := 0
	for _, td := range batches {
		want, _ := Traces(td, opts)
		traces := ExceptionTraces(td)
		got, _ := ErrorEvents(new(Scratch), td, traces, opts)
		require.Equal(t, encode(want), encode(got))
		for i := range want {
			assert.Equal(t, want[i].Positions, got[i].Positions)
			assert.Equal(t, want[i].Sampling, got[i].Sampling)
		}
		found += len(got)
	}
	assert.Equal(t, summary.Exceptions, found, "every exception")
}

func TestExceptionTraces(t *testing.T) {
	t.Parallel()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	plain := spans.AppendEmpty()
	plain.SetTraceID(pcommon.TraceID{1})
	plain.Events().AppendEmpty().SetName("log")
	event := spans.AppendEmpty()
	event.SetTraceID(pcommon.TraceID{2})
	event.Events().AppendEmpty().SetName("exception")
	attr := spans.AppendEmpty()
	attr.SetTraceID(pcommon.TraceID{3})
	attr.Attributes().PutStr("exception.type", "E")
	assert.Equal(t, map[pcommon.TraceID]struct{}{{2}: {}, {3}: {}}, ExceptionTraces(td))
	assert.Nil(t, ExceptionTraces(ptrace.NewTraces()))
}
