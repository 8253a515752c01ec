package sentryexporter

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsentry/sentryexporter/internal/metadatatest"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// otlpMode is the configuration of the otlp protocol in these tests.
var otlpMode = map[string]any{"protocol": "otlp"}

func withOTLP(extra map[string]any) map[string]any {
	out := map[string]any{"protocol": "otlp"}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// exceptionBatch is one trace of two services whose client span and server span each record an
// exception, plus a span without a resource version.
func exceptionBatch() ptrace.Traces {
	b := newTraceBuilder()
	b.span("frontend", "a", "a1", "", ptrace.SpanKindServer, "GET /checkout", 0, 100)
	client := b.span("frontend", "a", "a2", "a1", ptrace.SpanKindClient, "POST /pay", 10, 90)
	ev := client.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "TimeoutError")
	ev.Attributes().PutStr("exception.message", "payment timed out")
	server := b.span("payments", "a", "b1", "a2", ptrace.SpanKindServer, "POST /pay", 20, 80)
	server.Status().SetCode(ptrace.StatusCodeError)
	ev = server.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "ValueError")
	ev.Attributes().PutStr("exception.message", "bad card")
	ev.Attributes().PutStr("exception.stacktrace", "Traceback (most recent call last):\n  File \"/app/pay.py\", line 12, in charge\n    raise ValueError(\"bad card\")\nValueError: bad card")
	b.span("payments", "a", "b2", "b1", ptrace.SpanKindInternal, "validate", 30, 40)
	other := b.td.ResourceSpans().AppendEmpty()
	other.Resource().Attributes().PutStr("service.name", "batch-job")
	s := other.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(traceID("c"))
	s.SetSpanID(spanID("c1"))
	s.SetName("nightly")
	return b.td
}

func TestOTLPSendsSpansAndTheirExceptionsAsErrorEvents(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	exp, tel := startExporter(t, srv, otlpMode)
	require.True(t, exp.Capabilities().MutatesData, "the otlp protocol adds environment and release to the batch")
	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))

	spans := srv.OTLPSpans()
	require.Len(t, spans, 5, "every span, in one request")
	assert.Empty(t, srv.Transactions(), "no transactions are built")
	byID := map[string]sentrytest.OTLPSpan{}
	for _, sp := range spans {
		byID[sp.SpanID] = sp
	}
	pay := byID[spanID("b1").String()]
	assert.Equal(t, "error", pay.Status)
	assert.Equal(t, 1, pay.Events, "span events travel as they are (Relay drops them)")
	assert.Equal(t, "payments@1.4.2", pay.Attributes["sentry.release"], "the release Sentry reads from the span")
	assert.Equal(t, "production", pay.Resource["deployment.environment.name"], "the resource's own environment is kept")
	job := byID[spanID("c1").String()]
	assert.Equal(t, "fallback-env", job.Resource["deployment.environment.name"], "the environment setting fills in")
	assert.NotContains(t, job.Attributes, "sentry.release", "no version, no release")

	errs := srv.Errors()
	require.Len(t, errs, 2, "each exception became an error event")
	sort.Slice(errs, func(i, j int) bool { return errs[i].Trace().SpanID < errs[j].Trace().SpanID })
	assert.Equal(t, spanID("a2").String(), errs[0].Trace().SpanID, "linked to its span")
	assert.Equal(t, traceID("a").String(), errs[0].Trace().TraceID, "and trace")
	assert.Equal(t, "GET /checkout", errs[0].Transaction, "named after its segment, as in transactions mode")
	assert.Equal(t, "production", errs[1].Environment)
	assert.Equal(t, "payments@1.4.2", errs[1].Release)
	require.NotEmpty(t, errs[1].Exception.Values)
	assert.NotNil(t, errs[1].Exception.Values[0].Stacktrace, "the stack trace is parsed")

	metadatatest.AssertEqualSentryExporterSpansSent(t, tel, []metricdata.DataPoint[int64]{{Value: 5}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualSentryExporterEnvelopesSent(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("category", "error")), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("category", "span")), Value: 1},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// The error events of the otlp protocol are those of the transactions protocol, byte for byte once
// decoded: the exception scan reuses the transform's error-event builder.
func TestOTLPErrorEventsEqualTransactionsMode(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 3, Traces: 60, BatchSize: 512})
	require.Positive(t, summary.Exceptions)
	events := func(extra map[string]any) map[string]map[string]any {
		srv := sentrytest.NewTest(t)
		exp, _ := startExporter(t, srv, extra)
		for _, td := range cloneBatches(batches) {
			require.NoError(t, exp.ConsumeTraces(context.Background(), td))
		}
		out := map[string]map[string]any{}
		for _, ev := range srv.Errors() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(ev.Raw, &m))
			out[ev.EventID] = m
		}
		return out
	}
	want := events(nil)
	got := events(otlpMode)
	require.Len(t, want, summary.Exceptions)
	assert.Equal(t, want, got)
}

func TestOTLPTraceAssemblyOffByDefault(t *testing.T) {
	t.Parallel()
	_, cfg, _, _ := testFactory(t, map[string]any{"dsn": "http://k@127.0.0.1:1/1", "protocol": "otlp"})
	assert.False(t, cfg.(*Config).TraceAssembly.Enabled, "Sentry assembles segments itself")
	_, cfg, _, _ = testFactory(t, map[string]any{"dsn": "http://k@127.0.0.1:1/1", "protocol": "otlp", "trace_assembly": map[string]any{"enabled": true}})
	assert.True(t, cfg.(*Config).TraceAssembly.Enabled, "unless asked for")
	_, cfg, _, _ = testFactory(t, map[string]any{"dsn": "http://k@127.0.0.1:1/1"})
	assert.True(t, cfg.(*Config).TraceAssembly.Enabled, "the transactions protocol keeps it on")
}

func TestOTLPStartLogsTheEndpoint(t *testing.T) {
	t.Parallel()
	factory, cfg, set, _ := testFactory(t, map[string]any{"dsn": "https://key@sentry.example.com/sub/42", "protocol": "otlp"})
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	exp, err := factory.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))
	lines := logs.FilterMessage("Sending to Sentry").All()
	require.Len(t, lines, 1)
	fields := lines[0].ContextMap()
	assert.Equal(t, "otlp", fields["protocol"])
	assert.Equal(t, "/sub/api/42/integration/otlp/v1/{traces,logs}", fields["endpoint_path"])
}

// With routing, each project gets its spans at its own OTLP endpoint.
func TestOTLPRoutesEachProjectToItsEndpoint(t *testing.T) {
	t.Parallel()
	frontend := sentrytest.NewTest(t, sentrytest.WithProjectID("2"), sentrytest.WithPathPrefix("/self"))
	payments := sentrytest.NewTest(t, sentrytest.WithProjectID("3"))
	exp, _ := startExporterDSN(t, frontend.DSN(), withOTLP(map[string]any{
		"routing": map[string]any{"attribute": "service.name", "dsns": map[string]any{"payments": payments.DSN()}},
	}))
	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))
	assert.Len(t, frontend.OTLPSpans(), 3, "frontend and the unrouted batch job")
	assert.Len(t, payments.OTLPSpans(), 2)
	assert.Len(t, frontend.Errors(), 1)
	assert.Len(t, payments.Errors(), 1)
}

func TestOTLPPermanentRefusalIsCountedWithSentrysReason(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.OnlyOTLP(func(*sentrytest.Request) sentrytest.Fault {
		return sentrytest.Fault{Status: http.StatusForbidden, Reason: "project disabled"}
	})))
	exp, tel := startExporter(t, srv, otlpMode)
	err := exp.ConsumeTraces(context.Background(), exceptionBatch())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "a 403 is not retried: %v", err)
	assert.Contains(t, err.Error(), "project disabled", "Sentry's reason is kept")
	assert.Len(t, srv.Errors(), 2, "error events still arrive")
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("category", "span"), attribute.String("reason", "rejected")),
		Value:      5,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestOTLPPartialSuccessIsCountedAndLogged(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.PartialSuccess(2, "spans too old")))
	factory, cfg, set, tel := testFactory(t, map[string]any{
		"dsn": srv.DSN(), "protocol": "otlp", "sending_queue": map[string]any{"enabled": false},
	})
	core, logs := observer.New(zapcore.WarnLevel)
	set.Logger = zap.New(core)
	exp, err := factory.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()), "a partial success is not retried")
	assert.Len(t, srv.OTLPSpans(), 3)
	lines := logs.FilterMessageSnippet("partial success").All()
	require.Len(t, lines, 1)
	assert.Equal(t, "spans too old", lines[0].ContextMap()["error_message"])
	assert.Equal(t, int64(2), lines[0].ContextMap()["items"])
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("category", "span"), attribute.String("reason", "rejected")),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualSentryExporterSpansSent(t, tel, []metricdata.DataPoint[int64]{{Value: 3}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// A body Sentry refuses as too large is split until each part fits; every span arrives once.
func TestOTLPSplitsOn413(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 5, Traces: 20, BatchSize: 512})
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.OnlyOTLP(sentrytest.TooLarge(16<<10))))
	exp, _ := startExporter(t, srv, otlpMode)
	for _, td := range batches {
		require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	}
	assertExactlyOnce(t, summary, srv.SpanIDs())
	too := 0
	for _, r := range srv.Rejections() {
		if r.Status == http.StatusRequestEntityTooLarge {
			too++
		}
	}
	assert.Positive(t, too, "Sentry refused the whole batches")
}

// A rate limit on transactions holds OTLP spans too (Sentry enforces the two on each other), and
// nothing is sent before its deadline.
func TestOTLPHonoursTransactionRateLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var first time.Time
	var after []time.Time
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
			return sentrytest.RateLimited(1, "transaction")(r)
		}
		after = append(after, time.Now())
		return sentrytest.Fault{}
	}))
	exp, _ := startExporter(t, srv, withOTLP(map[string]any{"exceptions_as_errors": false}))
	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))
	assert.Len(t, srv.OTLPSpans(), 5)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, after, 1)
	assert.GreaterOrEqual(t, after[0].Sub(first), time.Second, "the retry waited for the deadline")
}

func TestOTLPLogs(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	factory, cfg, set, tel := testFactory(t, map[string]any{
		"dsn": srv.DSN(), "protocol": "otlp", "environment": "fallback-env", "sending_queue": map[string]any{"enabled": false},
	})
	exp, err := factory.CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	require.True(t, exp.Capabilities().MutatesData)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	rl.Resource().Attributes().PutStr("service.version", "2.0.0")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, body := range []string{"started", "stopped"} {
		records.AppendEmpty().Body().SetStr(body)
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	logs := srv.OTLPLogs()
	require.Len(t, logs, 2)
	assert.Equal(t, "fallback-env", logs[0].Resource["deployment.environment.name"])
	assert.Equal(t, "api@2.0.0", logs[0].Attributes["sentry.release"])
	assert.Empty(t, srv.Logs(), "no Sentry log envelopes")
	metadatatest.AssertEqualSentryExporterLogsSent(t, tel, []metricdata.DataPoint[int64]{{Value: 2}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// TestOTLPDeliveryUnderFaults is TestDeliveryUnderFaults for the otlp protocol: every span exactly once
// at the OTLP endpoint and every exception exactly once as an error event, whatever Sentry does. The
// workload is larger than there (about 21,000 spans, 40 batches): the otlp protocol makes one request
// per batch, and each fault must still hit many of them.
func TestOTLPDeliveryUnderFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		traces int
		fault  sentrytest.FaultFunc
	}{
		{"healthy", 600, nil},
		{"20 percent 503", 600, sentrytest.Percent(20, 1, sentrytest.Status(http.StatusServiceUnavailable))},
		{"every 3rd request 429 for spans with Retry-After", 300, sentrytest.EveryNth(3, sentrytest.RateLimited(1, "span"))},
		{"slow Sentry, 200ms a request", 600, sentrytest.Latency(200 * time.Millisecond)},
		{"connection reset", 600, sentrytest.EveryNth(7, sentrytest.ResetConnection())},
		{"413 over 64 KiB", 600, sentrytest.OnlyOTLP(sentrytest.TooLarge(64 << 10))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			batches, summary := deliveryWorkload(t, tc.traces)
			srv := sentrytest.NewTest(t, sentrytest.WithFaults(tc.fault))
			got := runDelivery(t, srv, batches, summary.Spans, otlpMode)
			assertExactlyOnce(t, summary, got)
			assert.Empty(t, srv.Transactions(), "spans go by OTLP only")
			assertEveryExceptionOnce(t, srv, summary.Exceptions)
		})
	}
}

// With retries off, what Sentry did not take is dropped, counted, and reported to Sentry in a client
// report of its own (the otlp protocol may send no envelope to carry it).
func TestOTLPDropsAreCountedAndReported(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.OnlyOTLP(sentrytest.FirstN(1, sentrytest.Status(http.StatusServiceUnavailable)))))
	exp, tel := startExporter(t, srv, withOTLP(map[string]any{"retry_on_failure": map[string]any{"enabled": false}, "exceptions_as_errors": false}))
	err := exp.ConsumeTraces(context.Background(), exceptionBatch())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "retries are off: %v", err)
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("category", "span"), attribute.String("reason", "send_error")),
		Value:      5,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	reports := srv.ClientReports()
	require.Len(t, reports, 1, "the loss reached Sentry right after the failed push")
	assert.Equal(t, []sentrytest.DiscardedEvents{{Reason: "send_error", Category: "span", Quantity: 5}}, reports[0].DiscardedEvents)
	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))
	assert.Len(t, srv.OTLPSpans(), 5)
	assert.Len(t, srv.ClientReports(), 1, "nothing more to report")
}

// Logs by OTLP go through the same policy: a 503 is retried with the whole batch, a rate limit on
// log_byte holds them, a partial success is counted.
func TestOTLPLogsDelivery(t *testing.T) {
	t.Parallel()
	logs := func(n int) plog.Logs {
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for range n {
			records.AppendEmpty().Body().SetStr("line")
		}
		return ld
	}
	start := func(t *testing.T, srv *sentrytest.Server) (func(plog.Logs) error, *componenttest.Telemetry) {
		factory, cfg, set, tel := testFactory(t, map[string]any{
			"dsn": srv.DSN(), "protocol": "otlp", "sending_queue": map[string]any{"enabled": false},
			"retry_on_failure": map[string]any{"initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "5s"},
		})
		exp, err := factory.CreateLogs(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
		return func(ld plog.Logs) error { return exp.ConsumeLogs(context.Background(), ld) }, tel
	}

	t.Run("503 then accepted", func(t *testing.T) {
		t.Parallel()
		srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.FirstN(2, sentrytest.Status(http.StatusServiceUnavailable))))
		consume, _ := start(t, srv)
		require.NoError(t, consume(logs(7)))
		assert.Len(t, srv.OTLPLogs(), 7, "each record once")
		assert.Equal(t, 3, srv.Requests())
	})
	t.Run("log_byte limited", func(t *testing.T) {
		t.Parallel()
		srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.FirstN(1, sentrytest.RateLimited(1, "log_byte"))))
		consume, _ := start(t, srv)
		require.NoError(t, consume(logs(3)))
		assert.Len(t, srv.OTLPLogs(), 3)
		assert.Equal(t, 2, srv.Requests(), "one refused request, then the batch once after the deadline")
	})
	t.Run("partial success", func(t *testing.T) {
		t.Parallel()
		srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.PartialSuccess(1, "too old")))
		consume, tel := start(t, srv)
		require.NoError(t, consume(logs(4)))
		assert.Len(t, srv.OTLPLogs(), 3)
		metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
			Attributes: attribute.NewSet(attribute.String("category", "log_item"), attribute.String("reason", "rejected")),
			Value:      1,
		}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		metadatatest.AssertEqualSentryExporterLogsSent(t, tel, []metricdata.DataPoint[int64]{{Value: 3}},
			metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	})
	t.Run("413 splits", func(t *testing.T) {
		t.Parallel()
		srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.TooLarge(200)))
		consume, _ := start(t, srv)
		require.NoError(t, consume(logs(20)))
		assert.Len(t, srv.OTLPLogs(), 20)
	})
}

// A push whose spans arrived but whose error event failed is retried with the error event only, and
// the other way round: nothing Sentry took is sent twice.
func TestOTLPRetriesOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail func(r *sentrytest.Request) bool
	}{
		{"error event failed", func(r *sentrytest.Request) bool { return r.OTLPSignal == "" }},
		{"spans failed", func(r *sentrytest.Request) bool { return r.OTLPSignal != "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			failed := false
			srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
				mu.Lock()
				defer mu.Unlock()
				if !failed && tc.fail(r) {
					failed = true
					return sentrytest.Fault{Status: http.StatusServiceUnavailable}
				}
				return sentrytest.Fault{}
			}))
			exp, _ := startExporter(t, srv, otlpMode)
			require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))
			assert.Len(t, srv.OTLPSpans(), 5, "each span once")
			assert.Len(t, srv.SpanIDs(), 5)
			assert.Len(t, srv.Errors(), 2, "each error event once")
			assert.Len(t, srv.Rejections(), 1)
		})
	}
}

func TestOTLPWithZstd(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	exp, _ := startExporter(t, srv, withOTLP(map[string]any{"http": map[string]any{"compression": "zstd"}}))
	require.NoError(t, exp.ConsumeTraces(context.Background(), exceptionBatch()))
	assert.Len(t, srv.OTLPSpans(), 5)
	assert.Len(t, srv.Errors(), 2)
}

// A Sentry without OTLP ingestion answers 404: the spans are dropped and counted, and the log says once
// what to do about it.
func TestOTLPEndpointMissingIsExplainedOnce(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.OnlyOTLP(sentrytest.Status(http.StatusNotFound))))
	factory, cfg, set, tel := testFactory(t, map[string]any{"dsn": srv.DSN(), "protocol": "otlp", "sending_queue": map[string]any{"enabled": false}})
	core, logs := observer.New(zapcore.ErrorLevel)
	set.Logger = zap.New(core)
	exp, err := factory.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	for range 2 {
		err := exp.ConsumeTraces(context.Background(), exceptionBatch())
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))
	}
	lines := logs.FilterMessageSnippet("no OTLP endpoint").All()
	require.Len(t, lines, 1, "once, however many batches")
	assert.Equal(t, "/api/1/integration/otlp/v1/traces", lines[0].ContextMap()["url_path"])
	assert.Len(t, srv.Errors(), 4, "the error events still arrive")
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("category", "span"), attribute.String("reason", "rejected")),
		Value:      10,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
