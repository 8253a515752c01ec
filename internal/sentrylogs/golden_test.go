package sentrylogs

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixedNow is Options.Now in tests, so records without any timestamp stay deterministic.
var fixedNow = time.Date(2025, 5, 5, 12, 0, 0, 0, time.UTC)

const (
	goldenTraceID = "5b8efff798038103d269b633813fc60c"
	goldenSpanID  = "eee19b7ec3c1b174"
)

// goldenBatch is what a golden file holds per batch: the envelope-level fields and the payload.
type goldenBatch struct {
	Count   int             `json:"count"`
	Records []Position      `json:"records"`
	Payload json.RawMessage `json:"payload"`
}

type goldenFile struct {
	Stats   Stats         `json:"stats"`
	Batches []goldenBatch `json:"batches"`
}

// TestConvertGolden converts log records shaped as each SDK's log bridge emits them and compares the batches
// with testdata/golden/<name>.json (regenerate with -update). Every payload is also checked against what Sentry
// requires.
func TestConvertGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		logs func() plog.Logs
	}{
		{"java_logback", Options{Environment: "default-env"}, javaLogback},
		{"python_logging", Options{Environment: "default-env"}, pythonLogging},
		{"node_pino_winston", Options{Environment: "default-env"}, nodePinoWinston},
		{"dotnet_ilogger", Options{Environment: "default-env"}, dotnetILogger},
		{"go_slog", Options{Environment: "default-env"}, goSlog},
		{"severity_ranges", Options{}, severityRanges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			opts.Now = fixedNow
			batches, stats := Convert(tt.logs(), opts)
			out := goldenFile{Stats: stats}
			for _, b := range batches {
				p := decodePayload(t, b.Payload)
				require.Len(t, p.Items, b.Count)
				for _, it := range p.Items {
					checkSentryLog(t, it)
				}
				out.Batches = append(out.Batches, goldenBatch{
					Count:   b.Count,
					Records: b.Records, Payload: b.Payload,
				})
			}
			got, err := json.MarshalIndent(out, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run %s -update to create it", t.Name())
			assert.Equal(t, string(want), string(got))
		})
	}
}

// checkSentryLog asserts what Relay requires of every log.
func checkSentryLog(t *testing.T, it sentLog) {
	t.Helper()
	assert.Regexp(t, hex32, it.TraceID)
	assert.NotEqual(t, "00000000000000000000000000000000", it.TraceID)
	if it.SpanID != "" {
		assert.Regexp(t, hex16, it.SpanID)
	}
	assert.Contains(t, []string{"trace", "debug", "info", "warn", "error", "fatal"}, it.Level)
	require.NotNil(t, it.Body, "body is required")
	ts, err := it.Timestamp.Float64()
	require.NoError(t, err)
	assert.Positive(t, ts)
	if it.SeverityNumber != nil {
		assert.GreaterOrEqual(t, *it.SeverityNumber, 1)
		assert.LessOrEqual(t, *it.SeverityNumber, 24)
	}
	for k, a := range it.Attributes {
		assert.NotEmpty(t, k)
		switch a.Type {
		case "string":
			assert.IsType(t, "", a.Value, k)
		case "boolean":
			assert.IsType(t, true, a.Value, k)
		case "integer":
			n, ok := a.Value.(json.Number)
			require.True(t, ok, k)
			_, err := n.Int64()
			assert.NoError(t, err, k)
		case "double":
			assert.IsType(t, json.Number(""), a.Value, k)
		default:
			t.Errorf("attribute %q has type %q", k, a.Type)
		}
	}
}

func javaResource() map[string]any {
	return map[string]any{
		"service.name":                "checkout",
		"service.version":             "2.3.1",
		"deployment.environment.name": "production",
		"host.name":                   "checkout-7d9f",
		"telemetry.sdk.language":      "java",
		"telemetry.sdk.name":          "opentelemetry",
		"telemetry.sdk.version":       "1.44.1",
		"process.runtime.name":        "OpenJDK Runtime Environment",
	}
}

// javaLogback: the OpenTelemetry logback appender. Scope = logger name, severity text = logback level, thread
// and code attributes, exceptions as exception.* attributes, trace context from the active span.
func javaLogback() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	putSorted(rl.Resource().Attributes(), javaResource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("com.example.checkout.OrderService")

	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1746456149019199800))
	lr.SetObservedTimestamp(pcommon.Timestamp(1746456149019300000))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Body().SetStr("Order 4711 placed for customer c-42")
	lr.SetTraceID(traceIDOf(goldenTraceID))
	lr.SetSpanID(spanIDOf(goldenSpanID))
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	putSorted(lr.Attributes(), map[string]any{
		"thread.name": "http-nio-8080-exec-1", "thread.id": int64(42),
		"code.namespace": "com.example.checkout.OrderService", "code.function": "place", "code.lineno": int64(88),
	})

	lr = sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1746456150000000000))
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.SetSeverityText("ERROR")
	lr.Body().SetStr("Payment failed")
	lr.SetTraceID(traceIDOf(goldenTraceID))
	lr.SetSpanID(spanIDOf(goldenSpanID))
	putSorted(lr.Attributes(), map[string]any{
		"exception.type":    "java.net.SocketTimeoutException",
		"exception.message": "Read timed out",
		"exception.stacktrace": "java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n" +
			"\tat com.example.checkout.PaymentClient.charge(PaymentClient.java:57)",
		"thread.name": "http-nio-8080-exec-1",
	})

	// A DEBUG line logged outside any span: no trace context, so the trace id is derived.
	lr = sl.LogRecords().AppendEmpty()
	lr.SetObservedTimestamp(pcommon.Timestamp(1746456151500000000))
	lr.SetSeverityNumber(plog.SeverityNumberDebug)
	lr.SetSeverityText("DEBUG")
	lr.Body().SetStr("Cache warmed: 1203 entries")
	putSorted(lr.Attributes(), map[string]any{"thread.name": "main"})

	// TRACE from a second logger.
	sl = rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("org.hibernate.SQL")
	lr = sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1746456152000000001))
	lr.SetSeverityNumber(plog.SeverityNumberTrace)
	lr.SetSeverityText("TRACE")
	lr.Body().SetStr("select o1_0.id from orders o1_0 where o1_0.id=?")
	lr.SetTraceID(traceIDOf(goldenTraceID))
	return ld
}

// pythonLogging: the OpenTelemetry Python logging handler. Scope = logger name, Python level names, code.*
// attributes; CRITICAL maps to fatal.
func pythonLogging() plog.Logs {
	res := map[string]any{
		"service.name": "payments", "service.version": "0.9.0", "deployment.environment": "staging",
		"telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.29.0",
	}
	return logsOf(res, "app.payments", 3, func(i int, lr plog.LogRecord) {
		code := map[string]any{"code.filepath": "/srv/app/payments.py", "code.function": "refund", "code.lineno": int64(120 + i)}
		switch i {
		case 0:
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARNING")
			lr.Body().SetStr("Refund for order 9 exceeds 30 days")
			lr.SetTraceID(traceIDOf("0af7651916cd43dd8448eb211c80319c"))
			lr.SetSpanID(spanIDOf("b7ad6b7169203331"))
		case 1:
			lr.SetSeverityNumber(plog.SeverityNumberFatal)
			lr.SetSeverityText("CRITICAL")
			lr.Body().SetStr("Ledger unavailable, giving up")
			code["exception.type"] = "ConnectionError"
			code["exception.message"] = "ledger:5432 refused"
		case 2:
			// A handler that formats nothing: level only by text.
			lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
			lr.SetSeverityText("warning")
			lr.Body().SetStr("Retrying in 2.5s")
			code["retry.delay"] = 2.5
		}
		putSorted(lr.Attributes(), code)
	})
}

// nodePinoWinston: pino's and winston's OpenTelemetry transports. Lowercase level names, structured fields as
// attributes, and one record whose body is a map (winston logging an object).
func nodePinoWinston() plog.Logs {
	ld := plog.NewLogs()
	res := map[string]any{
		"service.name": "storefront", "service.version": "5.1.0", "deployment.environment.name": "production",
		"telemetry.sdk.language": "nodejs", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.30.1",
		"process.pid": int64(4711),
	}
	sl := addResource(ld, res, "pino", 2, func(i int, lr plog.LogRecord) {
		lr.SetTraceID(traceIDOf("4bf92f3577b34da6a3ce929d0e0e4736"))
		lr.SetSpanID(spanIDOf("00f067aa0ba902b7"))
		if i == 0 {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("info")
			lr.Body().SetStr("request completed")
			putSorted(lr.Attributes(), map[string]any{"req.method": "GET", "res.statusCode": int64(200), "responseTime": 12.75, "cached": true})
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("error")
			lr.Body().SetStr("upstream \"inventory\" returned 503\nretry scheduled")
			putSorted(lr.Attributes(), map[string]any{"err.type": "FetchError", "tags": []any{"inventory", "retry"}})
		}
	})
	sl.Scope().SetVersion("9.6.0")

	// winston in the same process, as a second scope of the same resource.
	sl = ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	sl.Scope().SetName("@opentelemetry/winston-transport")
	sl.Scope().SetVersion("0.11.0")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_500_000_000))
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("warn")
	putSorted(lr.Body().SetEmptyMap(), map[string]any{
		"message": "cart nearly expired",
		"cart":    map[string]any{"id": "c-1", "items": []any{int64(1), int64(2)}, "total": 19.99},
	})
	lr.Attributes().PutStr("cart.id", "c-1")
	return ld
}

// dotnetILogger: the .NET OpenTelemetry ILogger provider. Scope = category, .NET level names, the message
// template in {OriginalFormat} and its arguments as attributes.
func dotnetILogger() plog.Logs {
	res := map[string]any{
		"service.name": "Orders.Api", "service.version": "1.0.0+abc123", "service.instance.id": "0e5f7c1a",
		"telemetry.sdk.language": "dotnet", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.10.0",
	}
	levels := []struct {
		number plog.SeverityNumber
		text   string
	}{
		{plog.SeverityNumberTrace, "Trace"},
		{plog.SeverityNumberDebug, "Debug"},
		{plog.SeverityNumberInfo, "Information"},
		{plog.SeverityNumberWarn, "Warning"},
		{plog.SeverityNumberError, "Error"},
		{plog.SeverityNumberFatal, "Critical"},
	}
	return logsOf(res, "Orders.Api.Controllers.OrdersController", len(levels), func(i int, lr plog.LogRecord) {
		lr.SetSeverityNumber(levels[i].number)
		lr.SetSeverityText(levels[i].text)
		lr.Body().SetStr("Order {OrderId} processed in {Elapsed} ms")
		putSorted(lr.Attributes(), map[string]any{
			"OrderId": int64(1000 + i), "Elapsed": 3.25 * float64(i+1),
			"{OriginalFormat}": "Order {OrderId} processed in {Elapsed} ms",
		})
		if i%2 == 0 {
			lr.SetTraceID(traceIDOf("0123456789abcdef0123456789abcdef"))
			lr.SetSpanID(spanIDOf("0123456789abcdef"))
		}
		if i == 1 {
			lr.SetEventName("Orders.Processed")
		}
	})
}

// goSlog: the otelslog bridge. Severity numbers from slog levels (INFO+2 is 11), slog groups as map
// attributes, and no service.version (no release).
func goSlog() plog.Logs {
	res := map[string]any{
		"service.name":           "api-gateway",
		"telemetry.sdk.language": "go", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.35.0",
	}
	return logsOf(res, "github.com/example/gateway", 3, func(i int, lr plog.LogRecord) {
		switch i {
		case 0:
			lr.SetSeverityNumber(plog.SeverityNumberInfo3)
			lr.SetSeverityText("INFO+2")
			lr.Body().SetStr("route matched")
			lr.Attributes().PutEmptyMap("http").PutStr("route", "/v1/users/{id}")
			lr.Attributes().PutInt("latency_ns", 1532000)
			lr.SetTraceID(traceIDOf("f0e1d2c3b4a5968778695a4b3c2d1e0f"))
			lr.SetSpanID(spanIDOf("1122334455667788"))
		case 1:
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
			lr.Body().SetStr("slow upstream")
			lr.Attributes().PutDouble("ratio", 0.875)
			lr.Attributes().PutEmptyBytes("fingerprint").FromRaw([]byte{0xde, 0xad, 0xbe, 0xef})
		case 2:
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.Body().SetStr("dial tcp 10.0.0.7:443: connect: connection refused")
			lr.Attributes().PutStr("error", "connection refused")
		}
	})
}

// severityRanges: every severity number range and the fallbacks, from a resource with no environment, no
// release and no SDK attributes.
func severityRanges() plog.Logs {
	cases := []struct {
		number plog.SeverityNumber
		text   string
	}{
		{1, ""}, {4, "TRACE4"}, {5, ""}, {8, ""}, {9, ""}, {12, ""}, {13, ""}, {16, ""}, {17, ""}, {20, ""}, {21, ""}, {24, ""},
		{0, "Notice"}, {0, "SEVERE"}, {0, "emerg"}, {0, "custom"}, {0, ""}, {25, "error"},
	}
	return logsOf(map[string]any{}, "", len(cases), func(i int, lr plog.LogRecord) {
		lr.SetSeverityNumber(cases[i].number)
		lr.SetSeverityText(cases[i].text)
		lr.Body().SetInt(int64(cases[i].number))
		if i == len(cases)-1 {
			lr.SetTimestamp(0) // no timestamp at all: Options.Now
		}
	})
}
