package sentryexporter

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// traceBuilder writes spans into a ptrace.Traces, one ResourceSpans per service.
type traceBuilder struct {
	td        ptrace.Traces
	resources map[string]ptrace.ScopeSpans
	base      time.Time
}

func newTraceBuilder() *traceBuilder {
	return &traceBuilder{
		td:        ptrace.NewTraces(),
		resources: map[string]ptrace.ScopeSpans{},
		base:      time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
}

func (b *traceBuilder) scope(service string) ptrace.ScopeSpans {
	if ss, ok := b.resources[service]; ok {
		return ss
	}
	rs := b.td.ResourceSpans().AppendEmpty()
	attrs := rs.Resource().Attributes()
	attrs.PutStr("service.name", service)
	attrs.PutStr("service.version", "1.4.2")
	attrs.PutStr("deployment.environment.name", "production")
	attrs.PutStr("telemetry.sdk.language", "go")
	attrs.PutStr("telemetry.sdk.version", "1.38.0")
	attrs.PutStr("host.name", service+"-7d9f")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test-instrumentation")
	b.resources[service] = ss
	return ss
}

// span adds a span; ids are written as short hex strings padded with zeros for readability.
func (b *traceBuilder) span(service, trace, id, parent string, kind ptrace.SpanKind, name string, startMs, endMs int) ptrace.Span {
	s := b.scope(service).Spans().AppendEmpty()
	s.SetTraceID(traceID(trace))
	s.SetSpanID(spanID(id))
	if parent != "" {
		s.SetParentSpanID(spanID(parent))
	}
	s.SetKind(kind)
	s.SetName(name)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(b.base.Add(time.Duration(startMs) * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(b.base.Add(time.Duration(endMs) * time.Millisecond)))
	return s
}

func traceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	copy(id[:], mustHex(s, 16))
	return id
}

func spanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	copy(id[:], mustHex(s, 8))
	return id
}

func mustHex(s string, n int) []byte {
	for len(s) < 2*n {
		s += "0"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// hexID renders an id the way Sentry shows it.
func hexID(s string, n int) string { return hex.EncodeToString(mustHex(s, n)) }

// startExporter builds the exporter through its factory from collector-style YAML values,
// pointed at srv, and starts it. The sending queue is off so that ConsumeTraces reports the
// outcome of each batch.
func startExporter(t *testing.T, srv *sentrytest.Server, extra map[string]any) (exporter.Traces, *componenttest.Telemetry) {
	t.Helper()
	return startExporterDSN(t, srv.DSN(), extra)
}

// startExporterDSN is startExporter for any DSN.
func startExporterDSN(t *testing.T, dsn string, extra map[string]any) (exporter.Traces, *componenttest.Telemetry) {
	t.Helper()
	values := map[string]any{
		"dsn":           dsn,
		"environment":   "fallback-env",
		"sending_queue": map[string]any{"enabled": false},
		"retry_on_failure": map[string]any{
			"initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "5s",
		},
		"http": map[string]any{"compression": "gzip"},
		// Most tests look at one batch's transform and delivery; assembly has tests of its own.
		"trace_assembly": map[string]any{"enabled": false},
	}
	for k, v := range extra {
		values[k] = v
	}
	factory, cfg, set, tel := testFactory(t, values)
	exp, err := factory.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, tel
}

// testFactory returns the factory, a validated config made of values, and settings whose
// telemetry tests can read.
func testFactory(t *testing.T, values map[string]any) (exporter.Factory, component.Config, exporter.Settings, *componenttest.Telemetry) {
	t.Helper()
	factory := NewFactory()
	cfg := factory.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(values).Unmarshal(cfg))
	require.NoError(t, cfg.(*Config).Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	return factory, cfg, set, tel
}

// transactionShapes returns, per transaction root span id, the sorted span ids of its children.
func transactionShapes(txs []sentrytest.Transaction) map[string][]string {
	out := map[string][]string{}
	for _, tx := range txs {
		var children []string
		for _, s := range tx.Spans {
			children = append(children, s.SpanID)
		}
		sort.Strings(children)
		out[tx.Trace().SpanID] = children
	}
	return out
}

func TestExporterGroupsMultiServiceTracesIntoTransactions(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	exp, _ := startExporter(t, srv, nil)

	b := newTraceBuilder()
	// Trace a1: frontend SERVER root -> internal -> CLIENT -> checkout SERVER -> DB CLIENT.
	b.span("frontend", "a1", "a101", "", ptrace.SpanKindServer, "GET /cart", 0, 100)
	b.span("frontend", "a1", "a102", "a101", ptrace.SpanKindInternal, "render", 5, 90)
	b.span("frontend", "a1", "a103", "a102", ptrace.SpanKindClient, "POST", 10, 80)
	b.span("checkout", "a1", "a104", "a103", ptrace.SpanKindServer, "POST /checkout", 12, 78)
	b.span("checkout", "a1", "a105", "a104", ptrace.SpanKindClient, "SELECT orders", 20, 30)
	// Trace b2 arrives without its root: an orphan subtree (b201's parent b200 is elsewhere).
	b.span("checkout", "b2", "b201", "b200", ptrace.SpanKindInternal, "process", 0, 50)
	b.span("checkout", "b2", "b202", "b201", ptrace.SpanKindInternal, "step 1", 1, 20)
	b.span("checkout", "b2", "b203", "b202", ptrace.SpanKindClient, "GET", 2, 10)
	// Trace c3: a SERVER span under a CLIENT span of the same service starts its own transaction.
	b.span("payments", "c3", "c301", "", ptrace.SpanKindServer, "POST /pay", 0, 100)
	b.span("payments", "c3", "c302", "c301", ptrace.SpanKindClient, "POST", 10, 90)
	b.span("payments", "c3", "c303", "c302", ptrace.SpanKindServer, "POST /internal/authorize", 11, 89)
	b.span("payments", "c3", "c304", "c303", ptrace.SpanKindInternal, "authorize", 12, 88)

	require.NoError(t, exp.ConsumeTraces(context.Background(), b.td))

	txs := srv.Transactions()
	require.Len(t, txs, 5)
	assert.Equal(t, map[string][]string{
		hexID("a101", 8): {hexID("a102", 8), hexID("a103", 8)},
		hexID("a104", 8): {hexID("a105", 8)},
		hexID("b201", 8): {hexID("b202", 8), hexID("b203", 8)},
		hexID("c301", 8): {hexID("c302", 8)},
		hexID("c303", 8): {hexID("c304", 8)},
	}, transactionShapes(txs))
	assert.Empty(t, srv.Discarded(), "every transaction passes Relay's validation")

	byRoot := map[string]sentrytest.Transaction{}
	for _, tx := range txs {
		byRoot[tx.Trace().SpanID] = tx
	}
	checkout := byRoot[hexID("a104", 8)]
	assert.Equal(t, hexID("a1", 16), checkout.Trace().TraceID)
	assert.Equal(t, hexID("a103", 8), checkout.Trace().ParentSpanID, "the transaction links to its caller's span")
	assert.Equal(t, "production", checkout.Environment, "the resource's environment wins over the configured one")
	assert.Equal(t, "checkout@1.4.2", checkout.Release)
	assert.Equal(t, "go", checkout.Platform)
	assert.Equal(t, "checkout-7d9f", checkout.ServerName)
	assert.Equal(t, "checkout", checkout.Tags["service.name"])
	assert.InDelta(t, float64(66*time.Millisecond), float64(checkout.Duration()), float64(time.Microsecond))

	orphan := byRoot[hexID("b201", 8)]
	assert.Equal(t, hexID("b200", 8), orphan.Trace().ParentSpanID, "an orphan subtree keeps its missing parent")

	for _, env := range srv.Envelopes() {
		require.NotNil(t, env.Header.Trace, "every envelope carries the dynamic sampling context")
		assert.Equal(t, "true", env.Header.Trace.Sampled)
		assert.Equal(t, "1", env.Header.Trace.SampleRate)
		assert.Equal(t, "public", env.Header.Trace.PublicKey)
	}
}

func TestExporterCompressionsSentryDecodes(t *testing.T) {
	t.Parallel()
	for _, compression := range []string{"gzip", "deflate", "zstd", "none"} {
		t.Run(compression, func(t *testing.T) {
			t.Parallel()
			srv := sentrytest.NewTest(t)
			exp, _ := startExporter(t, srv, map[string]any{"http": map[string]any{"compression": compression}})
			b := newTraceBuilder()
			b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
			b.span("svc", "a", "a2", "a1", ptrace.SpanKindClient, "call", 1, 9)
			require.NoError(t, exp.ConsumeTraces(context.Background(), b.td))
			require.Len(t, srv.Transactions(), 1)
			assert.Len(t, srv.Transactions()[0].Spans, 1)
		})
	}
}

// TestExceptionInBatchWithoutRootBecomesLinkedIssue: the old exporter lost exceptions whose batch had
// no root span. Here the issue arrives with environment and release, linked by trace and span id to
// the transaction that holds its span.
func TestExceptionInBatchWithoutRootBecomesLinkedIssue(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	exp, _ := startExporter(t, srv, nil)
	b := newTraceBuilder()
	// The root (e100) was exported in an earlier batch; this batch holds only its descendants.
	b.span("checkout", "e1", "e101", "e100", ptrace.SpanKindInternal, "charge card", 10, 80)
	failing := b.span("checkout", "e1", "e102", "e101", ptrace.SpanKindClient, "POST", 20, 70)
	ev := failing.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(failing.EndTimestamp())
	ev.Attributes().PutStr("exception.type", "java.net.SocketTimeoutException")
	ev.Attributes().PutStr("exception.message", "Read timed out")
	ev.Attributes().PutStr("exception.stacktrace", "java.net.SocketTimeoutException: Read timed out\n"+
		"\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)\n"+
		"\tat com.shop.payments.StripeClient.charge(StripeClient.java:57)\n")
	require.NoError(t, exp.ConsumeTraces(context.Background(), b.td))

	require.Len(t, srv.Errors(), 1)
	issue := srv.Errors()[0]
	assert.Equal(t, "production", issue.Environment)
	assert.Equal(t, "checkout@1.4.2", issue.Release)
	require.Len(t, issue.Exception.Values, 1)
	exc := issue.Exception.Values[0]
	assert.Equal(t, "java.net.SocketTimeoutException", exc.Type)
	require.NotNil(t, exc.Stacktrace)
	require.Len(t, exc.Stacktrace.Frames, 2)
	assert.Equal(t, "charge", exc.Stacktrace.Frames[0].Function, "frames oldest first")
	assert.Equal(t, "read", exc.Stacktrace.Frames[1].Function, "the throw site last")

	require.Len(t, srv.Transactions(), 1)
	tx := srv.Transactions()[0]
	trace := issue.Contexts.Trace
	require.NotNil(t, trace)
	assert.Equal(t, tx.Trace().TraceID, trace.TraceID, "the issue links to the trace")
	assert.Equal(t, hexID("e102", 8), trace.SpanID, "and to the span that raised it")
	assert.Equal(t, []string{hexID("e102", 8)}, []string{tx.Spans[0].SpanID}, "which the transaction holds")
	assert.Equal(t, tx.Transaction, issue.Transaction)
}

// TestHTTPClientTelemetryIsOffUnlessAsked: by default the HTTP client is not instrumented by
// otelhttp (no span or http.client.* metric per request), while the exporter's own request metric
// counts every request; http_client_telemetry: true brings the instrumentation back.
func TestHTTPClientTelemetryIsOffUnlessAsked(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		srv := sentrytest.NewTest(t)
		exp, tel := startExporter(t, srv, map[string]any{"http_client_telemetry": on})
		b := newTraceBuilder()
		b.span("frontend", "a1", "a101", "", ptrace.SpanKindServer, "GET /cart", 0, 100)
		b.span("checkout", "b2", "b201", "", ptrace.SpanKindServer, "POST /checkout", 0, 100)
		require.NoError(t, exp.ConsumeTraces(context.Background(), b.td))
		require.Len(t, srv.Transactions(), 2)

		requests, err := tel.GetMetric("otelcol_sentry_exporter_requests")
		require.NoError(t, err, "the exporter's own request metric is always there")
		assert.Equal(t, "otelcol_sentry_exporter_requests", requests.Name)

		var clientSpans int
		for _, s := range tel.SpanRecorder.Ended() {
			if s.SpanKind().String() == "client" {
				clientSpans++
			}
		}
		_, metricErr := tel.GetMetric("http.client.request.duration")
		if on {
			assert.Equal(t, 2, clientSpans, "one otelhttp client span per request")
			assert.NoError(t, metricErr)
		} else {
			assert.Zero(t, clientSpans)
			assert.Error(t, metricErr, "no otelhttp metrics")
		}
	}
}

// TestStartLogsEachDestination: one Info line per project says where its data goes, and never the key.
func TestStartLogsEachDestination(t *testing.T) {
	t.Parallel()
	factory, cfg, set, _ := testFactory(t, map[string]any{
		"dsn":         "https://defaultkey123@sentry.example.com/self-hosted/42",
		"http":        map[string]any{"compression": "zstd"},
		"routing":     map[string]any{"dsns": map[string]any{"checkout": "http://routekey456@127.0.0.1:9000/7"}},
		"environment": "prod",
	})
	core, logs := observer.New(zapcore.InfoLevel)
	set.Logger = zap.New(core)
	exp, err := factory.CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))

	lines := logs.FilterMessage("Sending to Sentry").All()
	require.Len(t, lines, 2)
	byRoute := map[string]map[string]any{}
	for _, l := range lines {
		fields := l.ContextMap()
		byRoute[fields["route"].(string)] = fields
		for _, f := range fields {
			assert.NotContains(t, fmt.Sprint(f), "key123")
			assert.NotContains(t, fmt.Sprint(f), "key456")
		}
	}
	assert.Equal(t, map[string]any{
		"route": "dsn", "scheme": "https", "host": "sentry.example.com", "port": int64(443), "project_id": "42",
		"path_prefix": "/self-hosted", "protocol": "envelope", "compression": "zstd",
	}, byRoute["dsn"])
	assert.Equal(t, map[string]any{
		"route": "routing.dsns.checkout", "scheme": "http", "host": "127.0.0.1", "port": int64(9000), "project_id": "7",
		"path_prefix": "/", "protocol": "envelope", "compression": "zstd",
	}, byRoute["routing.dsns.checkout"])
}
