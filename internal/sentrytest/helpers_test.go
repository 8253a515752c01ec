package sentrytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// testItem is one envelope item to build; noLength omits the length header.
type testItem struct {
	header   map[string]any
	payload  []byte
	noLength bool
}

func buildEnvelope(t testing.TB, header map[string]any, items ...testItem) []byte {
	t.Helper()
	var buf bytes.Buffer
	h, err := json.Marshal(header)
	require.NoError(t, err)
	buf.Write(h)
	buf.WriteByte('\n')
	for _, it := range items {
		ih := map[string]any{}
		for k, v := range it.header {
			ih[k] = v
		}
		if !it.noLength {
			ih["length"] = len(it.payload)
		}
		b, err := json.Marshal(ih)
		require.NoError(t, err)
		buf.Write(b)
		buf.WriteByte('\n')
		buf.Write(it.payload)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func traceID(n int) string { return fmt.Sprintf("%032x", n) }
func spanID(n int) string  { return fmt.Sprintf("%016x", n) }
func eventID(n int) string { return fmt.Sprintf("%032x", n+0xe0000) }

// txDoc builds a valid transaction document with n child spans, all with distinct ids derived from id.
func txDoc(id, nSpans int) map[string]any {
	spans := make([]any, 0, nSpans)
	for i := range nSpans {
		spans = append(spans, map[string]any{
			"span_id": spanID(id*1000 + i + 1), "parent_span_id": spanID(id * 1000),
			"trace_id": traceID(id), "op": "db.query", "description": fmt.Sprintf("SELECT %d", i),
			"status": "ok", "start_timestamp": 1700000000.1, "timestamp": 1700000000.2,
		})
	}
	return map[string]any{
		"event_id":         eventID(id),
		"type":             "transaction",
		"transaction":      fmt.Sprintf("GET /items/%d", id),
		"transaction_info": map[string]any{"source": "route"},
		"start_timestamp":  1700000000.0,
		"timestamp":        1700000000.5,
		"platform":         "go",
		"environment":      "test",
		"release":          "1.2.3",
		"contexts": map[string]any{
			"trace": map[string]any{"trace_id": traceID(id), "span_id": spanID(id * 1000), "op": "http.server", "status": "ok"},
			"otel":  map[string]any{"resource": map[string]any{"service.name": "svc"}},
		},
		"spans": spans,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// txEnvelope is an envelope with one valid transaction and a DSC.
func txEnvelope(t testing.TB, id, nSpans int) []byte {
	t.Helper()
	return buildEnvelope(t, map[string]any{
		"event_id": eventID(id), "sent_at": "2023-11-14T22:13:20Z",
		"trace": map[string]any{"trace_id": traceID(id), "public_key": "public", "sample_rate": "1", "sampled": "true"},
	}, testItem{header: map[string]any{"type": "transaction"}, payload: mustJSON(t, txDoc(id, nSpans))})
}

func newClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

type response struct {
	status int
	header http.Header
	body   string
}

// post sends body to url with the standard Sentry headers, overridden or removed (empty value) by hdr.
// It reports every failure as its error and never stops the test, so goroutines may call it.
func post(t testing.TB, c *http.Client, url string, body []byte, hdr map[string]string) (response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_client=test/1.0, sentry_key=public")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

func mustPost(t testing.TB, c *http.Client, s *sentrytest.Server, body []byte, hdr map[string]string) response {
	t.Helper()
	res, err := post(t, c, s.EnvelopeURL(), body, hdr)
	require.NoError(t, err)
	return res
}
