package sentrytest_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func TestAcceptsEachItemType(t *testing.T) {
	t.Parallel()
	logPayload := `{"version":2,"ingest_settings":{"infer_ip":"never","infer_user_agent":"never"},"items":[` +
		`{"timestamp":1700000000.25,"trace_id":"` + traceID(7) + `","span_id":"` + spanID(7) + `","level":"warn","severity_number":13,"body":"disk low","attributes":{"free":{"value":12,"type":"integer"}}},` +
		`{"timestamp":"2023-11-14T22:13:20.5Z","trace_id":"` + traceID(7) + `","level":"info","body":"ok"}]}`
	errPayload := `{"event_id":"` + eventID(9) + `","level":"error","timestamp":1700000000,"exception":{"values":[{"type":"ValueError","value":"bad","mechanism":{"type":"otel","handled":false},"stacktrace":{"frames":[{"function":"main","module":"main","filename":"main.go","lineno":10}]}}]},"contexts":{"trace":{"trace_id":"` + traceID(9) + `","span_id":"` + spanID(9) + `"}},"tags":[["k","v"]]}`

	tests := []struct {
		name  string
		body  func(t *testing.T) []byte
		check func(t *testing.T, s *sentrytest.Server)
	}{
		{
			name: "transaction with length",
			body: func(t *testing.T) []byte { return txEnvelope(t, 1, 2) },
			check: func(t *testing.T, s *sentrytest.Server) {
				txs := s.Transactions()
				require.Len(t, txs, 1)
				tx := txs[0]
				assert.Equal(t, "GET /items/1", tx.Transaction)
				assert.Equal(t, "route", tx.TransactionInfo.Source)
				assert.Equal(t, traceID(1), tx.Trace().TraceID)
				assert.Equal(t, "http.server", tx.Trace().Op)
				assert.Equal(t, 500*time.Millisecond, tx.Duration())
				assert.Contains(t, tx.Contexts.Other, "otel")
				require.Len(t, tx.Spans, 2)
				assert.Equal(t, "SELECT 1", tx.Spans[1].Description)
				assert.Equal(t, map[string]int{spanID(1000): 1, spanID(1001): 1, spanID(1002): 1}, s.SpanIDs())
				envs := s.Envelopes()
				require.Len(t, envs, 1)
				require.NotNil(t, envs[0].Header.Trace)
				assert.Equal(t, "true", envs[0].Header.Trace.Sampled)
				assert.Equal(t, []string{"transaction"}, envs[0].ItemTypes())
				assert.JSONEq(t, string(tx.Raw), string(envs[0].Items[0].Payload))
			},
		},
		{
			name: "transaction without length and RFC 3339 timestamps",
			body: func(t *testing.T) []byte {
				doc := txDoc(2, 1)
				doc["start_timestamp"] = "2023-11-14T22:13:20Z"
				doc["timestamp"] = "2023-11-14T22:13:21.5Z"
				return buildEnvelope(t, map[string]any{"event_id": eventID(2)},
					testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, doc), noLength: true})
			},
			check: func(t *testing.T, s *sentrytest.Server) {
				txs := s.Transactions()
				require.Len(t, txs, 1)
				assert.Equal(t, 1500*time.Millisecond, txs[0].Duration())
				assert.Nil(t, s.Envelopes()[0].Items[0].Length)
			},
		},
		{
			name: "error event with tag pairs",
			body: func(t *testing.T) []byte {
				return buildEnvelope(t, map[string]any{"event_id": eventID(9)},
					testItem{header: map[string]any{"type": "event"}, payload: []byte(errPayload)})
			},
			check: func(t *testing.T, s *sentrytest.Server) {
				evs := s.Errors()
				require.Len(t, evs, 1)
				ev := evs[0]
				assert.Equal(t, "error", ev.Level)
				require.Len(t, ev.Exception.Values, 1)
				assert.Equal(t, "ValueError", ev.Exception.Values[0].Type)
				assert.False(t, *ev.Exception.Values[0].Mechanism.Handled)
				assert.Equal(t, 10, ev.Exception.Values[0].Stacktrace.Frames[0].Lineno)
				assert.Equal(t, spanID(9), ev.Trace().SpanID)
				assert.Equal(t, sentrytest.Tags{"k": "v"}, ev.Tags)
				assert.Empty(t, s.Transactions())
			},
		},
		{
			name: "log container",
			body: func(t *testing.T) []byte {
				return buildEnvelope(t, map[string]any{},
					testItem{header: map[string]any{"type": "log", "item_count": 2, "content_type": "application/vnd.sentry.items.log+json"}, payload: []byte(logPayload)})
			},
			check: func(t *testing.T, s *sentrytest.Server) {
				logs := s.Logs()
				require.Len(t, logs, 2)
				assert.Equal(t, "warn", logs[0].Level)
				assert.Equal(t, 13, logs[0].SeverityNumber)
				assert.Equal(t, "disk low", logs[0].Body)
				assert.Equal(t, sentrytest.LogAttribute{Value: float64(12), Type: "integer"}, logs[0].Attributes["free"])
				assert.Equal(t, time.Date(2023, 11, 14, 22, 13, 20, 500_000_000, time.UTC), logs[1].Timestamp.Time())
			},
		},
		{
			name: "client report without length",
			body: func(t *testing.T) []byte {
				return buildEnvelope(t, map[string]any{},
					testItem{header: map[string]any{"type": "client_report"}, noLength: true,
						payload: []byte(`{"timestamp":1700000000,"discarded_events":[{"reason":"queue_overflow","category":"transaction","quantity":3}]}`)})
			},
			check: func(t *testing.T, s *sentrytest.Server) {
				crs := s.ClientReports()
				require.Len(t, crs, 1)
				assert.Equal(t, []sentrytest.DiscardedEvents{{Reason: "queue_overflow", Category: "transaction", Quantity: 3}}, crs[0].DiscardedEvents)
			},
		},
		{
			name: "span items single and container, unknown type kept raw",
			body: func(t *testing.T) []byte {
				return buildEnvelope(t, map[string]any{},
					testItem{header: map[string]any{"type": "span"}, payload: []byte(`{"span_id":"a"}`)},
					testItem{header: map[string]any{"type": "span", "item_count": 2, "content_type": "application/vnd.sentry.items.span.v2+json"}, payload: []byte(`{"items":[{"span_id":"b"},{"span_id":"c"}]}`)},
					testItem{header: map[string]any{"type": "profile_chunk"}, payload: []byte("\x00binary")},
				)
			},
			check: func(t *testing.T, s *sentrytest.Server) {
				spans := s.StandaloneSpans()
				require.Len(t, spans, 3)
				assert.JSONEq(t, `{"span_id":"c"}`, string(spans[2]))
				env := s.Envelopes()[0]
				assert.Equal(t, []string{"span", "span", "profile_chunk"}, env.ItemTypes())
				assert.Equal(t, []byte("\x00binary"), env.Items[2].Payload)
			},
		},
		{
			name: "envelope with header only",
			body: func(t *testing.T) []byte { return []byte(`{}`) },
			check: func(t *testing.T, s *sentrytest.Server) {
				require.Len(t, s.Envelopes(), 1)
				assert.Empty(t, s.Envelopes()[0].Items)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t)
			res := mustPost(t, newClient(t), s, tt.body(t), nil)
			require.Equal(t, http.StatusOK, res.status, res.body)
			assert.Empty(t, s.Discarded())
			assert.Equal(t, 1, s.Requests())
			tt.check(t, s)
		})
	}
}

func TestResponseBodyCarriesEventID(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t)
	res := mustPost(t, newClient(t), s, txEnvelope(t, 3, 0), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.JSONEq(t, `{"id":"`+eventID(3)+`"}`, res.body)
}

func TestContentEncodings(t *testing.T) {
	t.Parallel()
	compress := func(newWriter func(*bytes.Buffer) (interface {
		Write([]byte) (int, error)
		Close() error
	}, error)) func(t *testing.T, b []byte) []byte {
		return func(t *testing.T, b []byte) []byte {
			var buf bytes.Buffer
			w, err := newWriter(&buf)
			require.NoError(t, err)
			_, err = w.Write(b)
			require.NoError(t, err)
			require.NoError(t, w.Close())
			return buf.Bytes()
		}
	}
	type wc = interface {
		Write([]byte) (int, error)
		Close() error
	}
	gz := compress(func(b *bytes.Buffer) (wc, error) { return gzip.NewWriter(b), nil })
	zl := compress(func(b *bytes.Buffer) (wc, error) { return zlib.NewWriter(b), nil })
	raw := compress(func(b *bytes.Buffer) (wc, error) { return flate.NewWriter(b, flate.BestSpeed) })
	zs := compress(func(b *bytes.Buffer) (wc, error) { return zstd.NewWriter(b) })
	tests := []struct {
		encoding string
		encode   func(t *testing.T, b []byte) []byte
	}{
		{"", func(_ *testing.T, b []byte) []byte { return b }},
		{"identity", func(_ *testing.T, b []byte) []byte { return b }},
		{"gzip", gz},
		{"GZIP", gz},
		{"deflate", zl},
		{"deflate", raw},
		{"zstd", zs},
		{"gzip, zstd", func(t *testing.T, b []byte) []byte { return zs(t, gz(t, b)) }},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d_%s", i, tt.encoding), func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t)
			body := tt.encode(t, txEnvelope(t, i+1, 3))
			res := mustPost(t, newClient(t), s, body, map[string]string{"Content-Encoding": tt.encoding})
			require.Equal(t, http.StatusOK, res.status, res.header.Get("X-Sentry-Error"))
			require.Len(t, s.Transactions(), 1)
			assert.Len(t, s.Transactions()[0].Spans, 3)
		})
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	valid := func(t *testing.T) []byte { return txEnvelope(t, 1, 1) }
	fixed := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	hdr := `{"event_id":"` + eventID(1) + `"}` + "\n"
	tests := []struct {
		name   string
		path   string // replaces the envelope path when set
		method string
		header map[string]string
		body   func(t *testing.T) []byte
		status int
		reason string
	}{
		{name: "wrong project", path: "/api/2/envelope/", body: valid, status: 404, reason: "no route"},
		{name: "missing trailing slash", path: "/api/1/envelope", body: valid, status: 404, reason: "no route"},
		{name: "store endpoint", path: "/api/1/store/", body: valid, status: 404, reason: "no route"},
		{name: "GET", method: http.MethodGet, body: fixed(""), status: 405, reason: "method GET"},
		{name: "no auth", header: map[string]string{"X-Sentry-Auth": ""}, body: valid, status: 401, reason: "missing authorization"},
		{name: "wrong key", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=x/1, sentry_key=other"}, body: valid, status: 401, reason: `invalid sentry_key "other"`},
		{name: "old version", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_version=5, sentry_client=x/1, sentry_key=public"}, body: valid, status: 401, reason: "sentry_version"},
		{name: "no client", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=public"}, body: valid, status: 401, reason: "sentry_client"},
		{name: "not Sentry scheme", header: map[string]string{"X-Sentry-Auth": "Bearer public"}, body: valid, status: 401, reason: "does not start"},
		{name: "malformed auth field", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, junk"}, body: valid, status: 401, reason: "malformed field"},
		{name: "header and query", path: "/api/1/envelope/?sentry_key=public", body: valid, status: 401, reason: "multiple authorization"},
		{name: "wrong query key", path: "/api/1/envelope/?sentry_key=nope", header: map[string]string{"X-Sentry-Auth": ""}, body: valid, status: 401, reason: `invalid sentry_key "nope"`},
		{name: "no content type", header: map[string]string{"Content-Type": ""}, body: valid, status: 400, reason: "missing Content-Type"},
		{name: "json content type", header: map[string]string{"Content-Type": "application/json"}, body: valid, status: 400, reason: `Content-Type "application/json"`},
		{name: "brotli", header: map[string]string{"Content-Encoding": "br"}, body: valid, status: 415, reason: `"br"`},
		{name: "unknown encoding", header: map[string]string{"Content-Encoding": "lz4"}, body: valid, status: 415, reason: `"lz4"`},
		{name: "corrupt gzip", header: map[string]string{"Content-Encoding": "gzip"}, body: valid, status: 400, reason: "invalid gzip"},
		{name: "corrupt zstd", header: map[string]string{"Content-Encoding": "zstd"}, body: valid, status: 400, reason: "invalid zstd"},
		{name: "empty body", body: fixed(""), status: 400, reason: "empty envelope"},
		{name: "header not json", body: fixed("hello\n"), status: 400, reason: "invalid envelope header"},
		{name: "header is array", body: fixed("[]\n"), status: 400, reason: "invalid envelope header"},
		{name: "bad header event_id", body: fixed(`{"event_id":"xyz"}`), status: 400, reason: `event_id "xyz"`},
		{name: "bad sent_at", body: fixed(`{"sent_at":"yesterday"}`), status: 400, reason: "sent_at"},
		{name: "dsc without trace_id", body: fixed(`{"trace":{"public_key":"public"}}`), status: 400, reason: "trace.trace_id"},
		{name: "dsc without public_key", body: fixed(`{"trace":{"trace_id":"` + traceID(1) + `"}}`), status: 400, reason: "public_key"},
		{name: "dsc numeric sample_rate", body: fixed(`{"trace":{"trace_id":"` + traceID(1) + `","public_key":"p","sample_rate":1}}`), status: 400, reason: "invalid envelope header"},
		{name: "item header not json", body: fixed(hdr + "nope\n{}\n"), status: 400, reason: "item 0: invalid item header"},
		{name: "item without type", body: fixed(hdr + `{"length":2}` + "\n{}\n"), status: 400, reason: "without type"},
		{name: "empty item header line", body: fixed(hdr + `{"type":"event","length":2}` + "\n{}\n\n"), status: 400, reason: "item 1: empty item header"},
		{name: "length beyond end", body: fixed(hdr + `{"type":"attachment","length":50}` + "\nabc\n"), status: 400, reason: "unexpected end"},
		{name: "length without payload", body: fixed(hdr + `{"type":"attachment","length":5}`), status: 400, reason: "unexpected end"},
		{name: "negative length", body: fixed(hdr + `{"type":"attachment","length":-1}` + "\n\n"), status: 400, reason: "negative length"},
		{name: "payload longer than length", body: fixed(hdr + `{"type":"attachment","length":2}` + "\nabc\n"), status: 400, reason: "not followed by a newline"},
		{name: "two transactions", body: func(t *testing.T) []byte {
			p := mustJSON(t, txDoc(1, 0))
			return buildEnvelope(t, map[string]any{"event_id": eventID(1)},
				testItem{header: map[string]any{"type": "transaction"}, payload: p},
				testItem{header: map[string]any{"type": "transaction"}, payload: p})
		}, status: 400, reason: "duplicate event item"},
		{name: "event and transaction", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{"event_id": eventID(1)},
				testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, txDoc(1, 0))},
				testItem{header: map[string]any{"type": "event"}, payload: []byte(`{"event_id":"` + eventID(1) + `"}`)})
		}, status: 400, reason: "duplicate event item"},
		{name: "event_id mismatch", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{"event_id": eventID(2)},
				testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, txDoc(1, 0))})
		}, status: 400, reason: "does not match envelope header event_id"},
		{name: "event_id missing in header", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{},
				testItem{header: map[string]any{"type": "event"}, payload: []byte(`{"event_id":"` + eventID(1) + `"}`)})
		}, status: 400, reason: "does not match"},
		{name: "log item_count mismatch", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{},
				testItem{header: map[string]any{"type": "log", "item_count": 3}, payload: []byte(`{"items":[{},{}]}`)})
		}, status: 400, reason: "item_count 3 but 2 items"},
		{name: "log without item_count", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{}, testItem{header: map[string]any{"type": "log"}, payload: []byte(`{"items":[]}`)})
		}, status: 400, reason: "container without item_count"},
		{name: "log container not json", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{}, testItem{header: map[string]any{"type": "log", "item_count": 1}, payload: []byte(`nope`)})
		}, status: 400, reason: "invalid container payload"},
		{name: "span container mismatch", body: func(t *testing.T) []byte {
			return buildEnvelope(t, map[string]any{}, testItem{header: map[string]any{"type": "span", "item_count": 0}, payload: []byte(`{"items":[{}]}`)})
		}, status: 400, reason: "item_count 0 but 1 items"},
		{name: "transaction over 1 MiB", body: func(t *testing.T) []byte {
			doc := txDoc(1, 0)
			doc["extra"] = map[string]any{"blob": strings.Repeat("x", sentrytest.MaxEventBytes)}
			return buildEnvelope(t, map[string]any{"event_id": eventID(1)},
				testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, doc)})
		}, status: 413, reason: "exceeds 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t)
			url := s.EnvelopeURL()
			if tt.path != "" {
				url = "http://" + s.Addr() + tt.path
			}
			body := tt.body(t)
			var res response
			if tt.method != "" {
				req, err := http.NewRequestWithContext(context.Background(), tt.method, url, nil)
				require.NoError(t, err)
				r, err := newClient(t).Do(req)
				require.NoError(t, err)
				require.NoError(t, r.Body.Close())
				res = response{status: r.StatusCode, header: r.Header}
			} else {
				var err error
				res, err = post(t, newClient(t), url, body, tt.header)
				require.NoError(t, err)
			}
			assert.Equal(t, tt.status, res.status)
			assert.Contains(t, res.header.Get("X-Sentry-Error"), tt.reason)
			assert.Equal(t, 1, s.Requests())
			assert.Empty(t, s.Envelopes())
			assert.Empty(t, s.Transactions())
			rej := s.Rejections()
			require.Len(t, rej, 1)
			assert.Equal(t, sentrytest.Rejection{Seq: 1, Status: tt.status, Reason: res.header.Get("X-Sentry-Error")}, rej[0])
		})
	}
}

func TestQueryAuthAccepted(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t, sentrytest.WithPublicKey("k3y"))
	res, err := post(t, newClient(t), s.EnvelopeURL()+"?sentry_key=k3y&sentry_version=7", txEnvelope(t, 1, 0),
		map[string]string{"X-Sentry-Auth": ""})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Len(t, s.Transactions(), 1)
}

func TestDSNWithPrefixMatchesSentryGo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, wantPath string
	}{
		{"", "/42"},
		{"sentry", "/sentry/42"},
		{"/a/b/", "/a/b/42"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t, sentrytest.WithProjectID("42"), sentrytest.WithPublicKey("abc"), sentrytest.WithPathPrefix(tt.prefix))
			assert.Equal(t, "http://abc@"+s.Addr()+tt.wantPath, s.DSN())
			dsn, err := sentry.NewDsn(s.DSN())
			require.NoError(t, err)
			assert.Equal(t, s.EnvelopeURL(), dsn.GetAPIURL().String())
			res := mustPost(t, newClient(t), s, txEnvelope(t, 1, 0), map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=t/1, sentry_key=abc"})
			assert.Equal(t, http.StatusOK, res.status)
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  sentrytest.Option
		want string
	}{
		{"any address", sentrytest.WithAddr("0.0.0.0:0"), "loopback"},
		{"public address", sentrytest.WithAddr("8.8.8.8:0"), "loopback"},
		{"no port", sentrytest.WithAddr("127.0.0.1"), "127.0.0.1"},
		{"project not digits", sentrytest.WithProjectID("abc"), `project id "abc"`},
		{"empty key", sentrytest.WithPublicKey(""), "public key"},
		{"key with at", sentrytest.WithPublicKey("a@b"), `"a@b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sentrytest.New(tt.opt)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDiscardedAfter200(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t)
	c := newClient(t)
	bad := txDoc(1, 2)
	bad["spans"].([]any)[1].(map[string]any)["trace_id"] = "ABC"
	res := mustPost(t, c, s, buildEnvelope(t, map[string]any{"event_id": eventID(1)},
		testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, bad)}), nil)
	require.Equal(t, http.StatusOK, res.status)
	notJSON := buildEnvelope(t, map[string]any{"event_id": eventID(2)},
		testItem{header: map[string]any{"type": "transaction"}, payload: []byte("{broken")})
	require.Equal(t, http.StatusOK, mustPost(t, c, s, notJSON, nil).status)
	badLog := buildEnvelope(t, map[string]any{}, testItem{header: map[string]any{"type": "log", "item_count": 2},
		payload: []byte(`{"items":[{"timestamp":1,"trace_id":"` + traceID(1) + `","level":"loud","body":"x"},{"timestamp":1,"trace_id":"` + traceID(1) + `","level":"info","body":"y"}]}`)})
	require.Equal(t, http.StatusOK, mustPost(t, c, s, badLog, nil).status)

	assert.Empty(t, s.Transactions())
	assert.Empty(t, s.SpanIDs())
	assert.Len(t, s.Envelopes(), 3)
	d := s.Discarded()
	require.Len(t, d, 3)
	assert.Equal(t, 1, d[0].Seq)
	assert.Equal(t, "transaction", d[0].ItemType)
	assert.Equal(t, eventID(1), d[0].EventID)
	assert.Contains(t, d[0].Reason, "spans[1] trace_id")
	assert.Contains(t, d[1].Reason, "not a JSON object")
	assert.Equal(t, "log", d[2].ItemType)
	assert.Contains(t, d[2].Reason, `level "loud"`)
	require.Len(t, s.Logs(), 1)
	assert.Equal(t, "y", s.Logs()[0].Body)
}

func TestConcurrentPostsCountExactly(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t)
	c := newClient(t)
	const workers, perWorker, spans = 16, 10, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	bodies := make([][]byte, workers*perWorker) // built here: txEnvelope may stop the test, which goroutines must not
	for i := range bodies {
		bodies[i] = txEnvelope(t, i+1, spans)
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				res, err := post(t, c, s.EnvelopeURL(), bodies[w*perWorker+i], nil)
				if err == nil && res.status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", res.status, res.body)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, workers*perWorker, s.Requests())
	assert.Len(t, s.Transactions(), workers*perWorker)
	ids := s.SpanIDs()
	assert.Len(t, ids, workers*perWorker*(spans+1))
	for id, n := range ids {
		assert.Equal(t, 1, n, id)
	}
	assert.Equal(t, workers*perWorker*(spans+1), s.SpanCount())
}

func TestWaitResetAndClose(t *testing.T) {
	t.Parallel()
	s, err := sentrytest.New()
	require.NoError(t, err)
	c := newClient(t)

	done := make(chan error, 1)
	body := txEnvelope(t, 1, 4)
	go func() {
		_, err := post(t, c, s.EnvelopeURL(), body, nil)
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.WaitForSpans(ctx, 5))
	require.NoError(t, <-done)
	require.NoError(t, s.WaitForTransactions(ctx, 1))
	require.NoError(t, s.WaitForRequests(ctx, 1))

	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	err = s.WaitForErrors(short, 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "waiting for 1 errors, have 0")

	s.Reset()
	assert.Equal(t, 0, s.Requests())
	assert.Empty(t, s.Transactions())
	assert.Empty(t, s.SpanIDs())

	waitErr := make(chan error, 1)
	go func() { waitErr <- s.WaitForLogs(context.Background(), 1) }()
	require.NoError(t, s.Close())
	assert.True(t, errors.Is(<-waitErr, sentrytest.ErrClosed))
	require.NoError(t, s.Close(), "Close is idempotent")
	_, err = post(t, c, s.EnvelopeURL(), txEnvelope(t, 1, 0), nil)
	assert.Error(t, err, "closed server refuses connections")
}
