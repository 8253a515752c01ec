package delivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/metadatatest"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

var pushedAt = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func retrying(maxElapsed time.Duration) Policy {
	cfg := configretry.NewDefaultBackOffConfig()
	cfg.MaxElapsedTime = maxElapsed
	return Policy{Retry: cfg}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	off := Policy{Retry: configretry.BackOffConfig{Enabled: false}}
	limited := func(status int, until time.Time) transport.Result {
		return transport.Result{Outcome: transport.RateLimited, StatusCode: status, RetryAt: until, Err: errors.New("429")}
	}
	for _, tt := range []struct {
		name    string
		policy  Policy
		attempt Attempt
		verdict Verdict
		drop    Drop
	}{
		{"accepted", off, Attempt{Result: transport.Result{Outcome: transport.Accepted, StatusCode: 200}}, Delivered, Drop{}},
		{
			"4xx: send_error, as the client report spec asks", retrying(time.Minute),
			Attempt{Result: transport.Result{Outcome: transport.Permanent, StatusCode: 400}},
			Dropped, Drop{Reason: metadata.AttributeReasonRejected, Report: clientreport.ReasonSendError},
		},
		{
			"too large, never sent", retrying(time.Minute),
			Attempt{Oversize: true, Result: transport.Result{Outcome: transport.Permanent}},
			Dropped, Drop{Reason: metadata.AttributeReasonOversize, Report: clientreport.ReasonSendError},
		},
		{"5xx retried", retrying(time.Minute), Attempt{Result: transport.Result{Outcome: transport.Retryable, StatusCode: 503}}, Owed, Drop{}},
		{
			"5xx with retries off", off,
			Attempt{Result: transport.Result{Outcome: transport.Retryable, StatusCode: 503}},
			Dropped, Drop{Reason: metadata.AttributeReasonSendError, Report: clientreport.ReasonSendError},
		},
		{
			"no answer with retries off", off,
			Attempt{Result: transport.Result{Outcome: transport.Retryable}},
			Dropped, Drop{Reason: metadata.AttributeReasonNetworkError, Report: clientreport.ReasonNetworkError},
		},
		{"rate limit within the retry window", retrying(time.Minute), Attempt{Result: limited(429, pushedAt.Add(30*time.Second))}, Owed, Drop{}},
		{
			"429 outlasting the retry window: Sentry counted it", retrying(time.Minute),
			Attempt{Result: limited(429, pushedAt.Add(2*time.Minute))},
			Dropped, Drop{Reason: metadata.AttributeReasonRatelimitBackoff},
		},
		{
			"known limit outlasting the window, not sent: reported", retrying(time.Minute),
			Attempt{Result: limited(0, pushedAt.Add(2*time.Minute))},
			Dropped, Drop{Reason: metadata.AttributeReasonRatelimitBackoff, Report: clientreport.ReasonRateLimitBackoff},
		},
		{
			"the window counts from the first attempt", retrying(time.Minute),
			Attempt{FirstAttempt: pushedAt.Add(-50 * time.Second), Result: limited(0, pushedAt.Add(30*time.Second))},
			Dropped, Drop{Reason: metadata.AttributeReasonRatelimitBackoff, Report: clientreport.ReasonRateLimitBackoff},
		},
		{"no max_elapsed_time: waits any limit", retrying(0), Attempt{Result: limited(429, pushedAt.Add(time.Hour))}, Owed, Drop{}},
		{
			// max_interval 30s × 1.5: the next retry may come 45 s from now, 5 s after exporterhelper's 60 s.
			"5xx whose next retry may come after max_elapsed_time: given up here", retrying(time.Minute),
			Attempt{FirstAttempt: pushedAt.Add(-20 * time.Second), Result: transport.Result{Outcome: transport.Retryable, StatusCode: 503}},
			Dropped, Drop{Reason: metadata.AttributeReasonSendError, Report: clientreport.ReasonSendError},
		},
		{
			"no answer, retry window left", retrying(time.Minute),
			Attempt{FirstAttempt: pushedAt.Add(-10 * time.Second), Result: transport.Result{Outcome: transport.Retryable}},
			Owed, Drop{},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			verdict, drop := tt.policy.Classify(&tt.attempt, pushedAt, pushedAt)
			assert.Equal(t, tt.verdict, verdict)
			assert.Equal(t, tt.drop, drop)
		})
	}
}

func newRecorder(t *testing.T) (Recorder, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	tb, err := metadata.NewTelemetryBuilder(metadatatest.NewSettings(tel).TelemetrySettings)
	require.NoError(t, err)
	return Recorder{Telemetry: tb, Reports: &clientreport.Recorder{}}, tel
}

// TestSettlementRecordsEachAttemptOnce: delivered, dropped and owed envelopes of one push, each counted
// once in the metrics and, where Sentry cannot know of the loss, in the client report.
func TestSettlementRecordsEachAttemptOnce(t *testing.T) {
	t.Parallel()
	rec, tel := newRecorder(t)
	s := NewSettlement(Policy{Retry: configretry.BackOffConfig{Enabled: false}}, rec, pushedAt, "Sentry events")
	ctx := context.Background()
	attempts := []Attempt{
		{Category: ratelimit.CategoryTransaction, Items: 1, Spans: 4, Result: transport.Result{Outcome: transport.Accepted}},
		{Category: ratelimit.CategoryTransaction, Items: 1, Spans: 3, Result: transport.Result{Outcome: transport.Retryable, StatusCode: 502, Err: errors.New("502")}},
		{Category: ratelimit.CategoryLogItem, Items: 40, Result: transport.Result{Outcome: transport.Accepted}},
		{Category: ratelimit.CategoryError, Items: 1, Result: transport.Result{Outcome: transport.Permanent, StatusCode: 400, Err: errors.New("400")}},
	}
	for i := range attempts {
		s.Add(ctx, i, &attempts[i])
	}
	assert.Empty(t, s.Owed())
	out := s.Outcome()
	require.Error(t, out.DropErr)
	assert.Contains(t, out.DropErr.Error(), "2 Sentry events dropped")
	assert.True(t, out.DropCounted, "a transaction was dropped: its spans did not arrive")
	require.NoError(t, out.RetryErr)
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(metadata.AttributeCategoryTransaction.KeyValue(), metadata.AttributeReasonSendError.KeyValue()), Value: 1},
		{Attributes: attribute.NewSet(metadata.AttributeCategorySpan.KeyValue(), metadata.AttributeReasonSendError.KeyValue()), Value: 3},
		{Attributes: attribute.NewSet(metadata.AttributeCategoryError.KeyValue(), metadata.AttributeReasonRejected.KeyValue()), Value: 1},
	}, metricdatatest.IgnoreTimestamp())

	metadatatest.AssertEqualSentryExporterSpansSent(t, tel, []metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualSentryExporterLogsSent(t, tel, []metricdata.DataPoint[int64]{{Value: 40}}, metricdatatest.IgnoreTimestamp())
	report, ok := rec.Reports.Take(pushedAt)
	require.True(t, ok)
	// The 502 is reported with its spans (the root counted too), and so is the 400.
	assert.Contains(t, string(report), `{"reason":"send_error","category":"transaction","quantity":1}`)
	assert.Contains(t, string(report), `{"reason":"send_error","category":"span","quantity":3}`)
	assert.Contains(t, string(report), `{"reason":"send_error","category":"error","quantity":1}`)
}

func TestSettlementOwes(t *testing.T) {
	t.Parallel()
	rec, _ := newRecorder(t)
	// A Settlement settles at the wall clock's now, so the push is made now: the retry window is open.
	pushed := time.Now()
	s := NewSettlement(retrying(time.Hour), rec, pushed, "Sentry logs")
	ctx := context.Background()
	later, latest := pushed.Add(10*time.Second), pushed.Add(20*time.Second)
	for i, res := range []transport.Result{
		{Outcome: transport.RateLimited, StatusCode: 429, RetryAt: latest, Err: errors.New("limited")},
		{Outcome: transport.Accepted},
		{Outcome: transport.RateLimited, RetryAt: later, Err: errors.New("still limited")},
	} {
		s.Add(ctx, i, &Attempt{Category: ratelimit.CategoryLogItem, Items: 1, Result: res})
	}
	assert.Equal(t, []int{0, 2}, s.Owed())
	out := s.Outcome()
	require.Error(t, out.RetryErr)
	assert.Contains(t, out.RetryErr.Error(), "2 of 3 Sentry logs not delivered yet")
	assert.Equal(t, latest, out.RetryAt, "everything owed waits for a rate limit: the latest deadline")

	s.Add(ctx, 3, &Attempt{Category: ratelimit.CategoryLogItem, Items: 1, Result: transport.Result{Outcome: transport.Retryable, Err: errors.New("reset")}})
	assert.True(t, s.Outcome().RetryAt.IsZero(), "a transient failure retries with backoff, not at a deadline")
}

func logsOf(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lrs.AppendEmpty()
	}
	return ld
}

func TestMergeAndErr(t *testing.T) {
	t.Parallel()
	merge := func(outs ...Outcome[plog.Logs]) Outcome[plog.Logs] {
		return Merge(outs, plog.NewLogs, func(dst, src plog.Logs) { src.ResourceLogs().MoveAndAppendTo(dst.ResourceLogs()) })
	}
	soon, late := time.Now().Add(time.Minute), time.Now().Add(time.Hour)
	throttled := func(n int, at time.Time) Outcome[plog.Logs] {
		return Outcome[plog.Logs]{Retry: logsOf(n), RetryErr: errors.New("limited"), RetryAt: at}
	}

	m := merge(throttled(2, late), Outcome[plog.Logs]{}, throttled(3, soon))
	assert.Equal(t, 5, m.Retry.LogRecordCount())
	assert.Equal(t, soon, m.RetryAt, "one project's long limit does not delay the others' retry")

	m = merge(throttled(2, late), Outcome[plog.Logs]{Retry: logsOf(1), RetryErr: errors.New("503")})
	assert.True(t, m.RetryAt.IsZero(), "a transient failure is retried with backoff")

	core, logs := observer.New(zapcore.WarnLevel)
	logger := zap.New(core)
	dropped := errors.New("2 Sentry logs dropped")
	assert.NoError(t, Outcome[plog.Logs]{}.Err(logger, "Sentry logs", consumererror.NewLogs))

	err := Outcome[plog.Logs]{DropErr: dropped, DropCounted: true}.Err(logger, "Sentry logs", consumererror.NewLogs)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorIs(t, err, dropped)
	assert.Zero(t, logs.Len(), "a permanent error is logged by exporterhelper, not here too")

	errorsOnly := errors.New("1 Sentry events dropped")
	assert.NoError(t, Outcome[plog.Logs]{DropErr: errorsOnly}.Err(logger, "Sentry events", consumererror.NewLogs),
		"error events alone: every span arrived, so exporterhelper must not count the batch as failed")
	require.Equal(t, 1, logs.Len(), "the drop is logged here instead")
	assert.Equal(t, "Dropping Sentry events that cannot be delivered", logs.TakeAll()[0].Message)
	assert.True(t, merge(Outcome[plog.Logs]{DropErr: errorsOnly}, Outcome[plog.Logs]{DropErr: dropped, DropCounted: true}).DropCounted)

	m = merge(throttled(2, late), Outcome[plog.Logs]{DropErr: dropped, DropCounted: true})
	err = m.Err(logger, "Sentry logs", consumererror.NewLogs)
	var retry consumererror.Logs
	require.ErrorAs(t, err, &retry)
	assert.Equal(t, 2, retry.Data().LogRecordCount())
	assert.False(t, consumererror.IsPermanent(err))
	require.Equal(t, 1, logs.Len(), "the drop beside a retry is logged once")
	assert.Equal(t, "Dropping Sentry logs that cannot be delivered", logs.All()[0].Message)
}

func TestForEachProjectRunsProjectsAtOnce(t *testing.T) {
	t.Parallel()
	// Each push waits for the other to start: run one after the other, they would never finish.
	started := make(chan int, 2)
	release := make(chan struct{})
	go func() {
		<-started
		<-started
		close(release)
	}()
	outs := ForEachProject([]int{1, 2}, func(p int) Outcome[int] {
		started <- p
		<-release
		return Outcome[int]{Retry: p * 10}
	})
	assert.Equal(t, []Outcome[int]{{Retry: 10}, {Retry: 20}}, outs)
}
