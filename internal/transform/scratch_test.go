package transform

import (
	"runtime"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// The root package's transform_test.go holds the golden tests of the whole mapping; these tests
// look at the transform's own working memory.

var benchOptions = Options{Environment: "bench", ExceptionsAsErrors: true, SendTransactions: true, PublicKey: "public"}

// oneBatch copies every batch's spans into one large batch.
func oneBatch(batches []ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range batches {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			td.ResourceSpans().At(i).CopyTo(out.ResourceSpans().AppendEmpty())
		}
	}
	return out
}

// TestTransformBuildsLargeBatchesInParallelWithTheSameResult: a batch large enough to be built by
// several builders gives exactly the events, in the same order, and the same repair counts as one
// builder does.
func TestTransformBuildsLargeBatchesInParallelWithTheSameResult(t *testing.T) {
	batches, _ := workload.Generate(workload.Config{Seed: 7, Traces: 300, BatchSize: 512})
	td := oneBatch(batches)
	// Values to repair while building (an unnamed segment head) and while encoding, so the
	// builders' counts are merged too.
	unnamed := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	unnamed.SetTraceID(pcommon.TraceID{1, 2, 3})
	unnamed.SetSpanID(pcommon.SpanID{4, 5, 6})
	unnamed.SetStartTimestamp(1e18)
	unnamed.SetEndTimestamp(1e18 + 1e6)
	unnamed.Attributes().PutStr("bad", "\xff\xfe")

	encodeAll := func(procs int) ([]string, sanitize.Counts) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		events, repairs := Traces(td, benchOptions)
		var enc eventjson.Encoder
		out := make([]string, len(events))
		for i := range events {
			out[i] = string(Encode(&enc, nil, &events[i], &repairs))
		}
		return out, repairs
	}
	one, oneRepairs := encodeAll(1)
	require.Greater(t, len(one), 4*minJobsPerBuilder, "enough events for several builders")
	many, manyRepairs := encodeAll(4)
	require.Equal(t, len(one), len(many))
	for i := range one {
		require.Equal(t, one[i], many[i], "event %d", i)
	}
	assert.Equal(t, oneRepairs, manyRepairs)
	assert.Positive(t, oneRepairs[sanitize.EmptyName])
	assert.Positive(t, oneRepairs[sanitize.InvalidUTF8])
}

// TestTransformScratchReusedAcrossBatchesLeavesNothingBehind: a scratch that served other batches
// (larger and smaller) gives exactly what a fresh one gives, and a released scratch holds no span.
func TestTransformScratchReusedAcrossBatchesLeavesNothingBehind(t *testing.T) {
	batches, _ := workload.Generate(workload.Config{Seed: 11, Traces: 200, BatchSize: 512})
	all := oneBatch(batches)
	order := []ptrace.Traces{all, batches[3], batches[0], all, batches[5]}

	encode := func(events []Event, repairs sanitize.Counts) ([]string, sanitize.Counts) {
		var enc eventjson.Encoder
		out := make([]string, len(events))
		for i := range events {
			out[i] = string(Encode(&enc, nil, &events[i], &repairs))
		}
		return out, repairs
	}
	scratch := new(Scratch)
	for i, td := range order {
		want, wantRepairs := encode(Traces(td, benchOptions))
		got, gotRepairs := encode(With(scratch, td, benchOptions))
		require.Equal(t, want, got, "batch %d", i)
		require.Equal(t, wantRepairs, gotRepairs, "batch %d", i)
		scratch.Release()
		spans := scratch.spans[:cap(scratch.spans)]
		for j := range spans {
			require.Equal(t, &sentry.Span{}, &spans[j], "span %d left after release", j)
		}
		for _, d := range scratch.data[:cap(scratch.data)] {
			require.Equal(t, ptrace.Span{}, d)
		}
		require.Empty(t, scratch.index)
	}
}
