package eventjson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/require"
)

// baseTime is the start of every hand-built event: a time with a sub-second part, so fractions are
// exercised.
var baseTime = time.Date(2026, 11, 25, 12, 0, 0, 123_456_789, time.UTC)

// decodeJSON decodes b keeping numbers as their literal text, so timestamps keep their microseconds
// and both encoders' numbers compare exactly.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "output does not parse: %s", b)
	require.False(t, dec.More(), "trailing data after the event: %s", b)
	return v
}

// normalize makes a decoded event comparable across the two encoders: timestamps of the event, its
// spans and its breadcrumbs (RFC 3339 strings from encoding/json, float seconds from this package)
// become microseconds since the epoch, and
// sentry-go's empty "user" and "sdk" objects, which this package leaves out, are removed, its bare
// exception and breadcrumbs arrays take Sentry's documented {"values": [...]} shape, and a transaction without
// "spans" gets the empty list this package always writes.
func normalize(t testing.TB, v any) any {
	t.Helper()
	ev, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for _, k := range []string{"exception", "breadcrumbs"} {
		if list, ok := ev[k].([]any); ok {
			ev[k] = map[string]any{"values": list}
		}
	}
	if _, ok := ev["spans"]; !ok && ev["type"] == "transaction" {
		ev["spans"] = []any{}
	}
	for _, k := range []string{"user", "sdk"} {
		if m, ok := ev[k].(map[string]any); ok && len(m) == 0 {
			delete(ev, k)
		}
	}
	normalizeTimes(t, ev)
	spans, _ := ev["spans"].([]any)
	var crumbs []any
	if b, ok := ev["breadcrumbs"].(map[string]any); ok {
		crumbs, _ = b["values"].([]any)
	}
	for _, list := range [][]any{spans, crumbs} {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				normalizeTimes(t, m)
			}
		}
	}
	return ev
}

func normalizeTimes(t testing.TB, m map[string]any) {
	t.Helper()
	for _, k := range []string{"timestamp", "start_timestamp"} {
		switch ts := m[k].(type) {
		case nil:
		case string:
			parsed, err := time.Parse(time.RFC3339Nano, ts)
			require.NoError(t, err, "%s", k)
			m[k] = parsed.UnixMicro()
		case json.Number:
			m[k] = floatSecondsToMicros(t, string(ts))
		default:
			t.Fatalf("%s is a %T", k, ts)
		}
	}
}

// floatSecondsToMicros reads "1764072000.123456" exactly; float64 would lose the last digit.
func floatSecondsToMicros(t testing.TB, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	require.LessOrEqual(t, len(frac), 6, "more than microsecond precision in %q", s)
	sec, err := strconv.ParseInt(whole, 10, 64)
	require.NoError(t, err)
	micros := int64(0)
	if frac != "" {
		micros, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		require.NoError(t, err)
	}
	total := sec*1_000_000 + micros
	if neg {
		return -total
	}
	return total
}

// requireEquivalent checks that Append's output and json.Marshal's decode to the same event once
// the intentional differences are normalized away.
func requireEquivalent(t testing.TB, ev *sentry.Event) {
	t.Helper()
	got := Append(nil, ev)
	want, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Equal(t, normalize(t, decodeJSON(t, want)), normalize(t, decodeJSON(t, got)), "\nours: %s\njson: %s", got, want)
}

func traceIDOf(s string) sentry.TraceID {
	var id sentry.TraceID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		panic(fmt.Sprintf("bad trace id %q", s))
	}
	copy(id[:], b)
	return id
}

func spanIDOf(s string) sentry.SpanID {
	var id sentry.SpanID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		panic(fmt.Sprintf("bad span id %q", s))
	}
	copy(id[:], b)
	return id
}

// resourceContext is contexts.otel as the transform builds it from resource attributes.
func resourceContext() sentry.Context {
	return sentry.Context{"resource": map[string]any{
		"service.name":                "checkout",
		"service.version":             "1.4.2",
		"deployment.environment.name": "production",
		"host.name":                   "checkout-7d9f",
		"telemetry.sdk.language":      "java",
		"telemetry.sdk.version":       "1.38.0",
		"process.pid":                 int64(4242),
		"process.command_args":        []any{"java", "-jar", "checkout.jar"},
		"k8s.pod.labels":              map[string]any{"app": "checkout", "tier": "backend"},
	}}
}

// transaction builds a transaction shaped like the transform's, with n child spans of the kinds a
// web service emits: HTTP server, database, cache and outgoing HTTP.
func transaction(n int) *sentry.Event {
	traceID := traceIDOf("5b8efff798038103d269b633813fc60c")
	rootID := spanIDOf("eee19b7ec3c1b174")
	trace := sentry.TraceContext{
		TraceID: traceID,
		SpanID:  rootID,
		Op:      "http.server",
		Status:  sentry.SpanStatusOK,
		Data: map[string]any{
			"http.request.method":       "POST",
			"http.route":                "/api/checkout/{cartId}",
			"url.path":                  "/api/checkout/8c1f2a",
			"http.response.status_code": int64(200),
			"server.address":            "checkout.shop.svc",
			"server.port":               int64(8080),
			"user_agent.original":       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
		},
	}
	ev := &sentry.Event{
		EventID:         "3f2bd7c6a2b64b5b8b1de4c5a53f6a11",
		Type:            "transaction",
		Transaction:     "POST /api/checkout/{cartId}",
		TransactionInfo: &sentry.TransactionInfo{Source: sentry.SourceRoute},
		StartTime:       baseTime,
		Timestamp:       baseTime.Add(182 * time.Millisecond),
		Contexts:        map[string]sentry.Context{"trace": trace.Map(), "otel": resourceContext()},
		Environment:     "production",
		Release:         "checkout@1.4.2",
		Platform:        "java",
		ServerName:      "checkout-7d9f",
		Sdk:             sentry.SdkInfo{Name: "opentelemetry.java", Version: "1.38.0"},
		Tags: map[string]string{
			"service.name":              "checkout",
			"http.request.method":       "POST",
			"http.route":                "/api/checkout/{cartId}",
			"http.response.status_code": "200",
		},
		Spans: make([]*sentry.Span, 0, n),
	}
	for i := range n {
		id := rootID
		id[7] = byte(i + 1)
		id[6] = byte(i >> 8)
		start := baseTime.Add(time.Duration(i)*7*time.Millisecond + 311*time.Microsecond)
		s := &sentry.Span{
			TraceID:      traceID,
			SpanID:       id,
			ParentSpanID: rootID,
			StartTime:    start,
			EndTime:      start.Add(time.Duration(1+i%5) * time.Millisecond),
			Status:       sentry.SpanStatusOK,
		}
		switch i % 4 {
		case 0:
			s.Op, s.Description = "db", "SELECT id, sku, qty FROM cart_items WHERE cart_id = ?"
			s.Data = map[string]any{
				"db.system.name":    "postgresql",
				"db.namespace":      "shop",
				"db.query.text":     "SELECT id, sku, qty FROM cart_items WHERE cart_id = ?",
				"db.operation.name": "SELECT",
				"server.address":    "pg-primary.shop.svc",
				"server.port":       int64(5432),
			}
		case 1:
			s.Op, s.Description = "cache.get", "GET cart:8c1f2a"
			s.Data = map[string]any{
				"db.system.name": "redis",
				"db.query.text":  "GET cart:8c1f2a",
				"cache.hit":      i%3 == 0,
				"server.address": "redis.shop.svc",
			}
		case 2:
			s.Op, s.Description = "http.client", "POST http://payments.shop.svc/v1/charge"
			s.Data = map[string]any{
				"http.request.method":       "POST",
				"url.full":                  "http://payments.shop.svc/v1/charge",
				"http.response.status_code": int64(201),
				"server.address":            "payments.shop.svc",
				"network.peer.port":         int64(80),
			}
		default:
			s.Op, s.Description = "function", "CartService.price"
			s.Data = map[string]any{
				"code.function.name": "CartService.price",
				"code.line.number":   int64(117),
				"cart.total":         129.95,
				"cart.items":         []any{"sku-1", "sku-2", int64(3)},
			}
			s.Status = sentry.SpanStatusInternalError
		}
		ev.Spans = append(ev.Spans, s)
	}
	return ev
}

// errorEvent builds an error event shaped like the transform's: a Java exception chain with parsed
// frames and an otel context.
func errorEvent() *sentry.Event {
	trace := sentry.TraceContext{
		TraceID:      traceIDOf("5b8efff798038103d269b633813fc60c"),
		SpanID:       spanIDOf("eee19b7ec3c1b174"),
		ParentSpanID: spanIDOf("0102030405060708"),
		Op:           "http.server",
	}
	parent := 0
	return &sentry.Event{
		EventID:     "8cf45bceec31daade7b4168a01558546",
		Level:       sentry.LevelError,
		Timestamp:   baseTime.Add(78 * time.Millisecond),
		Transaction: "POST /checkout",
		Contexts: map[string]sentry.Context{
			"trace":     trace.Map(),
			"otel":      resourceContext(),
			"exception": {"stacktrace": "unparsed\n\tframe one\n\tframe two"},
		},
		Environment: "production",
		Release:     "checkout@1.4.2",
		Platform:    "java",
		ServerName:  "checkout-7d9f",
		Sdk:         sentry.SdkInfo{Name: "opentelemetry.java", Version: "1.38.0"},
		Tags:        map[string]string{"service.name": "checkout"},
		Breadcrumbs: []*sentry.Breadcrumb{
			{Type: "default", Category: "otel.event", Message: "cache miss", Level: sentry.LevelInfo, Timestamp: baseTime.Add(3 * time.Millisecond), Data: map[string]any{"cache.key": "cart:8c1f2a", "attempt": int64(1)}},
			{Type: "default", Category: "otel.event", Message: "retrying", Level: sentry.LevelInfo, Timestamp: baseTime.Add(40 * time.Millisecond)},
		},
		Exception: []sentry.Exception{
			{
				Type:   "java.sql.SQLTimeoutException",
				Value:  "query timed out after 30s",
				Module: "java.sql",
				Stacktrace: &sentry.Stacktrace{Frames: []sentry.Frame{
					{Function: "executeQuery", Module: "org.postgresql.jdbc.PgStatement", Filename: "PgStatement.java", Lineno: 221, Package: "postgresql-42.7.jar"},
				}},
				Mechanism: &sentry.Mechanism{Type: "chained", Source: "cause", ExceptionID: 1, ParentID: &parent},
			},
			{
				Type:  "java.lang.IllegalStateException",
				Value: "payment provider unavailable",
				Stacktrace: &sentry.Stacktrace{
					Frames: []sentry.Frame{
						{Function: "run", Module: "java.lang.Thread", Filename: "Thread.java", AbsPath: "java/lang/Thread.java", Lineno: 1583},
						{Function: "checkout", Module: "com.shop.checkout.CheckoutController", Filename: "CheckoutController.java", Lineno: 41, Colno: 7, InApp: true},
						{Function: "charge", Module: "com.shop.checkout.PaymentClient", Filename: "PaymentClient.java", Lineno: 88, InApp: true},
					},
					FramesOmitted: []uint{1, 3},
				},
				Mechanism: &sentry.Mechanism{Type: "opentelemetry", Handled: sentry.Pointer(false), IsExceptionGroup: true},
			},
		},
	}
}

// timestampsAsRFC3339 turns float-second timestamps (as the exporter writes them into the golden
// files) into the RFC 3339 strings sentry-go's time.Time fields decode.
func timestampsAsRFC3339(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&ev))
	fix := func(m map[string]any) {
		for _, k := range []string{"timestamp", "start_timestamp"} {
			if n, ok := m[k].(json.Number); ok {
				whole, frac, _ := strings.Cut(n.String(), ".")
				sec, err := strconv.ParseInt(whole, 10, 64)
				require.NoError(t, err)
				nanos, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
				require.NoError(t, err)
				m[k] = time.Unix(sec, nanos).UTC().Format(time.RFC3339Nano)
			}
		}
	}
	fix(ev)
	items, _ := ev["spans"].([]any)
	for _, item := range items {
		fix(item.(map[string]any))
	}
	if crumbs, ok := ev["breadcrumbs"].(map[string]any); ok {
		list, _ := crumbs["values"].([]any)
		for _, item := range list {
			fix(item.(map[string]any))
		}
	}
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	return out
}

// eventFromGolden rebuilds the *sentry.Event behind one event of a golden file (the transform's
// json.Marshal output). sentry-go's ids do not decode from JSON, so spans and contexts are rebuilt by
// hand with the types the transform puts there: sentry.TraceID, SpanID, SpanStatus, and int64 or
// float64 numbers as pcommon's AsRaw gives them.
func eventFromGolden(t *testing.T, raw json.RawMessage) *sentry.Event {
	t.Helper()
	raw = timestampsAsRFC3339(t, raw)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	spansRaw, ctxRaw := fields["spans"], fields["contexts"]
	delete(fields, "spans")
	delete(fields, "contexts")
	for _, k := range []string{"exception", "breadcrumbs"} {
		if x := fields[k]; len(x) > 0 && x[0] == '{' {
			// sentry.Event decodes only sentry-go's bare array, not Sentry's {"values": [...]}.
			var wrapped struct{ Values json.RawMessage }
			require.NoError(t, json.Unmarshal(x, &wrapped))
			fields[k] = wrapped.Values
		}
	}
	rest, err := json.Marshal(fields)
	require.NoError(t, err)
	ev := &sentry.Event{}
	require.NoError(t, json.Unmarshal(rest, ev))

	if ctxRaw != nil {
		var ctxs map[string]any
		require.NoError(t, decodeNumbers(ctxRaw, &ctxs))
		ev.Contexts = make(map[string]sentry.Context, len(ctxs))
		for name, c := range ctxs {
			m := typed(c).(map[string]any)
			if name == "trace" {
				m = typedTrace(t, m)
			}
			ev.Contexts[name] = m
		}
	}
	if spansRaw != nil {
		var spans []map[string]any
		require.NoError(t, decodeNumbers(spansRaw, &spans))
		for _, s := range spans {
			ev.Spans = append(ev.Spans, spanFromGolden(t, s))
		}
	}
	return ev
}

func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// typed turns decoded JSON into the types pcommon's AsRaw produces.
func typed(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, item := range x {
			x[k] = typed(item)
		}
		return x
	case []any:
		for i, item := range x {
			x[i] = typed(item)
		}
		return x
	}
	return v
}

func typedTrace(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	for k, v := range m {
		switch k {
		case "trace_id":
			m[k] = traceIDOf(v.(string))
		case "span_id", "parent_span_id":
			m[k] = spanIDOf(v.(string))
		case "status":
			m[k] = statusOf(t, v.(string))
		}
	}
	return m
}

func statusOf(t *testing.T, name string) sentry.SpanStatus {
	t.Helper()
	for s := sentry.SpanStatusOK; s <= sentry.SpanStatusUnauthenticated; s++ {
		if s.String() == name {
			return s
		}
	}
	t.Fatalf("unknown span status %q", name)
	return 0
}

func spanFromGolden(t *testing.T, m map[string]any) *sentry.Span {
	t.Helper()
	s := &sentry.Span{}
	for k, v := range m {
		switch k {
		case "trace_id":
			s.TraceID = traceIDOf(v.(string))
		case "span_id":
			s.SpanID = spanIDOf(v.(string))
		case "parent_span_id":
			s.ParentSpanID = spanIDOf(v.(string))
		case "op":
			s.Op = v.(string)
		case "description":
			s.Description = v.(string)
		case "origin":
			s.Origin = sentry.SpanOrigin(v.(string))
		case "status":
			s.Status = statusOf(t, v.(string))
		case "start_timestamp", "timestamp":
			ts, err := time.Parse(time.RFC3339Nano, v.(string))
			require.NoError(t, err)
			if k == "timestamp" {
				s.EndTime = ts
			} else {
				s.StartTime = ts
			}
		case "data":
			s.Data = typed(v).(map[string]any)
		case "tags":
			s.Tags = map[string]string{}
			for tk, tv := range v.(map[string]any) {
				s.Tags[tk] = tv.(string)
			}
		default:
			t.Fatalf("golden span field %q is not known to this test; teach spanFromGolden about it", k)
		}
	}
	return s
}
