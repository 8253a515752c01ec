package sending

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// TestRetryStateRoundTrip: what settle owes survives exporterhelper's retry as markers on the retry
// copy, and comes back as the same explicit state with every marker removed before the transform.
func TestRetryStateRoundTrip(t *testing.T) {
	t.Parallel()
	td := testBatch(2, 1)
	original := ptrace.NewTraces()
	td.CopyTo(original)

	td.MarkReadOnly() // as the collector shares a batch between exporters that do not mutate it
	assert.Nil(t, takeRetryState(td), "a first attempt has no retry state")
	assert.Equal(t, original.SpanCount(), td.SpanCount())

	owed := map[transform.SpanPosition]transform.Retry{
		{Span: 1}:     {Owes: transform.OwesErrors, FirstAttempt: 42},
		{Resource: 1}: {Owes: "", FirstAttempt: 43},
	}
	retry := subsetTraces(td, owed)
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

// TestSettleMarksEachSpanWithWhatItStillOwes is the regression test for a duplicate found at 100k
// spans: when a failed error event was settled before its failed transaction, every later span of
// the transaction was marked as owing its error events too, and those were sent twice.
func TestSettleMarksEachSpanWithWhatItStillOwes(t *testing.T) {
	t.Parallel()
	td := testBatch(3)
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	shared := NewShared(Settings{
		Logger: zap.NewNop(), Telemetry: tb, Policy: delivery.Policy{Retry: configretry.NewDefaultBackOffConfig()},
		RequestsPerPush: 1, Requests: 1, Projects: 1,
	})
	p := NewProject(shared, "default", nil, transform.Options{})
	pos := func(i int32) transform.SpanPosition { return transform.SpanPosition{Span: i} }
	failed := transport.Result{Outcome: transport.Retryable, Err: errors.New("503")}
	sent := []sentEvent{
		{event: transform.Event{Category: ratelimit.CategoryError, Positions: []transform.SpanPosition{pos(1)}}, result: failed},
		{event: transform.Event{Category: ratelimit.CategoryTransaction, Sentry: &sentry.Event{}, Positions: []transform.SpanPosition{pos(0), pos(1), pos(2)}}, result: failed},
	}
	out := p.settle(context.Background(), td, sent, pcommon.NewTimestampFromTime(time.Now()))
	require.Error(t, out.RetryErr)
	spans := out.Retry.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	require.Equal(t, 3, spans.Len())
	marker := func(i int) string {
		v, ok := spans.At(i).Attributes().Get(resendAttribute)
		if !ok {
			return "both"
		}
		return v.Str()
	}
	assert.Equal(t, []string{transform.OwesTransaction, "both", transform.OwesTransaction}, []string{marker(0), marker(1), marker(2)})
}
