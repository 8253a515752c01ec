package sentryexporter

import (
	"testing"

	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestRetryStateRoundTrip: what settle owes survives exporterhelper's retry as markers on the retry
// copy, and comes back as the same explicit state with every marker removed before the transform.
func TestRetryStateRoundTrip(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
	b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "x", 1, 9)
	b.span("other", "b", "b1", "", ptrace.SpanKindServer, "GET /b", 0, 10)
	original := ptrace.NewTraces()
	b.td.CopyTo(original)

	b.td.MarkReadOnly() // as the collector shares a batch between exporters that do not mutate it
	assert.Nil(t, takeRetryState(b.td), "a first attempt has no retry state")
	assert.Equal(t, original.SpanCount(), b.td.SpanCount())

	owed := map[transform.SpanPosition]transform.Retry{
		{Span: 1}:     {Owes: transform.OwesErrors, FirstAttempt: 42},
		{Resource: 1}: {Owes: "", FirstAttempt: 43},
	}
	retry := subsetTraces(b.td, owed)
	require.Equal(t, 2, retry.SpanCount())
	state := takeRetryState(retry)
	assert.Equal(t, map[transform.SpanPosition]transform.Retry{
		{Resource: 0, Span: 0}: {Owes: transform.OwesErrors, FirstAttempt: 42},
		{Resource: 1, Span: 0}: {Owes: "", FirstAttempt: 43},
	}, state, "positions are those of the retry copy")
	for i := 0; i < retry.ResourceSpans().Len(); i++ {
		rs := retry.ResourceSpans().At(i)
		for k := range rs.Resource().Attributes().All() {
			assert.NotContains(t, k, markerPrefix)
		}
		spans := rs.ScopeSpans().At(0).Spans()
		for j := 0; j < spans.Len(); j++ {
			for k := range spans.At(j).Attributes().All() {
				assert.NotContains(t, k, markerPrefix, "markers are removed before the transform")
			}
		}
	}
}
