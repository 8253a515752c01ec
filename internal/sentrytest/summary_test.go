package sentrytest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

const summaryTransaction = `{
 "event_id":"e1","type":"transaction","transaction":"GET /users/{id}","transaction_info":{"source":"route"},
 "start_timestamp":1700000000.0,"timestamp":1700000000.25,"environment":"prod","release":"web@1.0",
 "contexts":{"trace":{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"aaaaaaaaaaaaaaaa","op":"http.server","status":"ok"}},
 "spans":[
  {"span_id":"cccccccccccccccc","parent_span_id":"bbbbbbbbbbbbbbbb","trace_id":"0123456789abcdef0123456789abcdef","op":"db.query","description":"SELECT 1","status":"ok","start_timestamp":1700000000.05,"timestamp":1700000000.0505},
  {"span_id":"bbbbbbbbbbbbbbbb","parent_span_id":"aaaaaaaaaaaaaaaa","trace_id":"0123456789abcdef0123456789abcdef","op":"function","description":"load","status":"ok","start_timestamp":1700000000.01,"timestamp":1700000000.2},
  {"span_id":"dddddddddddddddd","parent_span_id":"aaaaaaaaaaaaaaaa","trace_id":"0123456789abcdef0123456789abcdef","op":"http.client","description":"GET /auth","status":"internal_error","start_timestamp":1700000000.005,"timestamp":1700000000.006},
  {"span_id":"eeeeeeeeeeeeeeee","parent_span_id":"ffffffffffffffff","trace_id":"0123456789abcdef0123456789abcdef","op":"cache.get","description":"k","start_timestamp":1700000000.1,"timestamp":1700000000.1}
 ]}`

const summaryTransactionWant = `transaction "GET /users/{id}" source=route op=http.server status=ok duration=250.000ms environment=prod release=web@1.0 spans=5
  trace_id=0123456789abcdef0123456789abcdef event_id=e1
  - http.server "GET /users/{id}" ok 250.000ms [aaaaaaaaaaaaaaaa]
    - http.client "GET /auth" internal_error 1.000ms [dddddddddddddddd]
    - function "load" ok 190.000ms [bbbbbbbbbbbbbbbb]
      - db.query "SELECT 1" ok 0.500ms [cccccccccccccccc]
  ! orphan (parent ffffffffffffffff): cache.get "k" - 0.000ms [eeeeeeeeeeeeeeee]
`

func TestSummarize(t *testing.T) {
	t.Parallel()
	var tx sentrytest.Transaction
	require.NoError(t, json.Unmarshal([]byte(summaryTransaction), &tx))

	frames := make([]map[string]any, 7)
	for i := range frames {
		frames[i] = map[string]any{"function": fmt.Sprintf("f%d", i), "module": "app", "filename": "app.go", "lineno": i + 1}
	}
	errDoc := map[string]any{
		"event_id": "e2", "level": "error", "transaction": "GET /users/{id}",
		"exception": map[string]any{"values": []any{
			map[string]any{"type": "io.EOF", "value": "eof"},
			map[string]any{"type": "*url.Error", "value": "dial failed", "mechanism": map[string]any{"type": "otel", "handled": false},
				"stacktrace": map[string]any{"frames": frames}},
		}},
		"contexts": map[string]any{"trace": map[string]any{"trace_id": "0123456789abcdef0123456789abcdef", "span_id": "dddddddddddddddd"}},
	}
	var ev sentrytest.ErrorEvent
	require.NoError(t, json.Unmarshal(mustJSON(t, errDoc), &ev))
	var msg sentrytest.ErrorEvent
	require.NoError(t, json.Unmarshal([]byte(`{"event_id":"e3","level":"warning","logentry":{"formatted":"quota at 90%"}}`), &msg))

	lg := sentrytest.Log{Timestamp: 1700000000.5, TraceID: "0123456789abcdef0123456789abcdef", SpanID: "aaaaaaaaaaaaaaaa", Level: "warn", Body: "slow", Attributes: map[string]sentrytest.LogAttribute{
		"z": {Value: "last", Type: "string"}, "a": {Value: float64(3), Type: "integer"}, "m": {Value: true, Type: "boolean"},
	}}
	cr := sentrytest.ClientReport{DiscardedEvents: []sentrytest.DiscardedEvents{{Reason: "ratelimit_backoff", Category: "transaction", Quantity: 2}, {Reason: "queue_overflow", Category: "error", Quantity: 1}}}
	disc := sentrytest.Discarded{ItemType: "transaction", EventID: "e4", Reason: "bad span"}

	tests := []struct {
		name  string
		items []any
		want  string
	}{
		{"transaction tree", []any{tx}, summaryTransactionWant},
		{"transaction pointer", []any{&tx}, summaryTransactionWant},
		{"error with frames", []any{ev}, `error [error] *url.Error: dial failed (mechanism=otel handled=false) transaction=GET /users/{id}
  trace_id=0123456789abcdef0123456789abcdef span_id=dddddddddddddddd event_id=e2
  at app.f6 (app.go:7)
  at app.f5 (app.go:6)
  at app.f4 (app.go:5)
  at app.f3 (app.go:4)
  at app.f2 (app.go:3)
  ... 2 more frames
  chained: io.EOF: eof
`},
		{"message event", []any{msg}, `error [warning] "quota at 90%"
  trace_id=- span_id=- event_id=e3
`},
		{"log", []any{lg}, `log [warn] 2023-11-14T22:13:20.5Z "slow" trace_id=0123456789abcdef0123456789abcdef span_id=aaaaaaaaaaaaaaaa a=3 m=true z="last"` + "\n"},
		{"client report and discarded", []any{cr, disc}, "client_report queue_overflow/error=1 ratelimit_backoff/transaction=2\ndiscarded transaction event_id=e4: bad span\n"},
		{"batch", []any{sentrytest.Batch{
			Envelope:        sentrytest.Envelope{Items: []sentrytest.Item{{Type: "log"}, {Type: "replay", Payload: []byte("xx")}}},
			Logs:            []sentrytest.Log{lg},
			StandaloneSpans: []json.RawMessage{[]byte(`{}`)},
		}}, `log [warn] 2023-11-14T22:13:20.5Z "slow" trace_id=0123456789abcdef0123456789abcdef span_id=aaaaaaaaaaaaaaaa a=3 m=true z="last"
spans standalone=1
item replay bytes=2 (not decoded)
`},
		{"envelope", []any{sentrytest.Envelope{
			Header: sentrytest.EnvelopeHeader{EventID: "e1", Trace: &sentrytest.DSC{TraceID: "t", Sampled: "true"}},
			Items:  []sentrytest.Item{{Type: "transaction", Payload: []byte("{}")}, {Type: "log", ItemCount: ptr(2), Payload: []byte("{}")}},
		}}, "envelope event_id=e1 items=2 trace_id=t sampled=true\n  item transaction bytes=2\n  item log bytes=2 item_count=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var first, second bytes.Buffer
			require.NoError(t, sentrytest.Summarize(&first, tt.items...))
			require.NoError(t, sentrytest.Summarize(&second, tt.items...))
			assert.Equal(t, tt.want, first.String())
			assert.Equal(t, first.String(), second.String(), "stable output")
		})
	}
}

func TestSummarizeRejectsUnknownType(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	err := sentrytest.Summarize(&b, 42)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unsupported type int")
	assert.Empty(t, b.String())
}

func TestSummarizeSpanCycleTerminates(t *testing.T) {
	t.Parallel()
	tx := sentrytest.Transaction{
		Transaction: "loop",
		Contexts:    sentrytest.Contexts{Trace: &sentrytest.TraceContext{SpanID: "r"}},
		Spans:       []sentrytest.Span{{SpanID: "a", ParentSpanID: "b"}, {SpanID: "b", ParentSpanID: "a"}, {SpanID: "c", ParentSpanID: "c"}},
	}
	var b strings.Builder
	require.NoError(t, sentrytest.Summarize(&b, tx))
	out := b.String()
	for _, id := range []string{"[a]", "[b]", "[c]"} {
		assert.Equal(t, 1, strings.Count(out, id), id)
	}
}

func ptr[T any](v T) *T { return &v }
