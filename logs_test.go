package sentryexporter

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/metadatatest"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// startLogsExporter builds the logs exporter through the factory, queue off, pointed at srv.
func startLogsExporter(t *testing.T, srv *sentrytest.Server, extra map[string]any) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	values := map[string]any{
		"dsn":              srv.DSN(),
		"sending_queue":    map[string]any{"enabled": false},
		"retry_on_failure": map[string]any{"initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "10s"},
	}
	for k, v := range extra {
		values[k] = v
	}
	factory, cfg, set, tel := testFactory(t, values)
	exp, err := factory.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, tel
}

// logsFixture has n records of one service, every third linked to a trace.
func logsFixture(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("service.version", "2.0.0")
	rl.Resource().Attributes().PutStr("deployment.environment.name", "staging")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range n {
		r := records.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Millisecond)))
		r.SetSeverityNumber(plog.SeverityNumber(1 + i%24))
		r.Body().SetStr(fmt.Sprintf("record %d", i))
		r.Attributes().PutInt("index", int64(i))
		if i%3 == 0 {
			r.SetTraceID(traceID("abc"))
			r.SetSpanID(spanID(fmt.Sprintf("%04x", i+1)))
		}
	}
	return ld
}

func TestLogsArriveAsSentryLogs(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	exp, tel := startLogsExporter(t, srv, nil)
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsFixture(250)))

	logs := srv.Logs()
	require.Len(t, logs, 250, "every record arrives once")
	envelopes := srv.Envelopes()
	require.Len(t, envelopes, 3, "at most 100 logs per envelope")
	for _, env := range envelopes {
		assert.Equal(t, []string{"log"}, env.ItemTypes())
		// As Sentry's SDKs send them: each log names its own trace, the envelope names none.
		assert.Nil(t, env.Header.Trace, "log envelope header: %s", env.RawHeader)
		assert.NotContains(t, string(env.RawHeader), `"trace"`)
	}
	bodies := map[string]bool{}
	for _, l := range logs {
		bodies[l.Body] = true
		assert.Len(t, l.TraceID, 32, "Sentry requires a trace id on every log")
	}
	assert.Len(t, bodies, 250)
	first := logs[0]
	assert.Equal(t, hexID("abc", 16), first.TraceID)
	assert.Equal(t, hexID("0001", 8), first.SpanID, "the log links to its span")
	assert.Equal(t, "trace", first.Level)
	assert.Equal(t, "staging", first.Attributes["sentry.environment"].Value)
	assert.Equal(t, "checkout@2.0.0", first.Attributes["sentry.release"].Value)

	metadatatest.AssertEqualSentryExporterLogsSent(t, tel, []metricdata.DataPoint[int64]{{Value: 250}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestLogsHonourTheLogItemRateLimit(t *testing.T) {
	t.Parallel()
	var once atomic.Bool
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
		if slices.Contains(r.ItemTypes, "log") && once.CompareAndSwap(false, true) {
			return sentrytest.RateLimited(1, "log_item")(r)
		}
		return sentrytest.Fault{}
	}))
	exp, _ := startLogsExporter(t, srv, nil)
	start := time.Now()
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsFixture(150)))
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "held until the log_item deadline")
	assert.Len(t, srv.Logs(), 150, "every record once, the refused batch after the deadline")
}

// TestLogsFollowTheTracesDeliveryPolicy: with retries off, a log batch Sentry answered 503 is dropped
// as send_error, as an error event would be, and reported to Sentry in the client report that rides
// on the next logs envelope (a logs-only pipeline has no other envelope to carry it).
func TestLogsFollowTheTracesDeliveryPolicy(t *testing.T) {
	t.Parallel()
	var once atomic.Bool
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
		if slices.Contains(r.ItemTypes, "log") && once.CompareAndSwap(false, true) {
			return sentrytest.Status(503)(r)
		}
		return sentrytest.Fault{}
	}))
	exp, tel := startLogsExporter(t, srv, map[string]any{"retry_on_failure": map[string]any{"enabled": false}})
	err := exp.ConsumeLogs(context.Background(), logsFixture(30))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "not retried: %v", err)
	require.NoError(t, exp.ConsumeLogs(context.Background(), logsFixture(5)))

	assert.Len(t, srv.Logs(), 5)
	var reported []sentrytest.DiscardedEvents
	for _, r := range srv.ClientReports() {
		reported = append(reported, r.DiscardedEvents...)
	}
	assert.Equal(t, []sentrytest.DiscardedEvents{{Reason: "send_error", Category: "log_item", Quantity: 30}}, reported)
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(metadata.AttributeCategoryLogItem.KeyValue(), metadata.AttributeReasonSendError.KeyValue()),
		Value:      30,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
