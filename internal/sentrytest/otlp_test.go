package sentrytest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// otlpTraces is a request of n spans of one trace, the first with an exception event and an error
// status.
func otlpTraces(n int) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetName("op")
		sp.SetTraceID([16]byte{1})
		sp.SetSpanID([8]byte{byte(i + 1)})
		if i == 0 {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("deadline_exceeded")
			sp.Events().AppendEmpty().SetName("exception")
		}
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

func postOTLP(t *testing.T, url, contentType, encoding, auth string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if auth != "" {
		req.Header.Set("X-Sentry-Auth", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, answer
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer func() { _ = enc.Close() }()
	return enc.EncodeAll(b, nil)
}

func TestOTLPTracesAcceptedInEveryFormat(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithPathPrefix("/sentry"))
	proto, err := otlpTraces(3).MarshalProto()
	require.NoError(t, err)
	js, err := otlpTraces(3).MarshalJSON()
	require.NoError(t, err)
	for _, tc := range []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"protobuf", "application/x-protobuf", "", proto},
		{"json", "application/json", "", js},
		{"protobuf gzip", "application/x-protobuf", "gzip", gzipped(t, proto)},
		{"json zstd", "application/json", "zstd", zstded(t, js)},
	} {
		resp, _ := postOTLP(t, srv.OTLPURL("traces"), tc.contentType, tc.encoding, "Sentry sentry_key=public", tc.body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, tc.name)
	}
	spans := srv.OTLPSpans()
	require.Len(t, spans, 12)
	assert.Equal(t, 12, srv.SpanCount(), "OTLP spans count as spans")
	first := spans[0]
	assert.Equal(t, "01000000000000000000000000000000", first.TraceID)
	assert.Equal(t, "0100000000000000", first.SpanID)
	assert.Equal(t, "error", first.Status, "statuses collapse to ok/error as Relay maps them")
	assert.Equal(t, "deadline_exceeded", first.StatusMessage)
	assert.Equal(t, 1, first.Events)
	assert.Equal(t, "checkout", first.Resource["service.name"])
	assert.Equal(t, "ok", spans[1].Status)
}

func TestOTLPRefusesWhatRelayRefuses(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	proto, err := otlpTraces(1).MarshalProto()
	require.NoError(t, err)
	for _, tc := range []struct {
		name, url, contentType, auth string
		body                         []byte
		want                         int
	}{
		{"no auth", srv.OTLPURL("traces"), "application/x-protobuf", "", proto, http.StatusUnauthorized},
		{"wrong key", srv.OTLPURL("traces"), "application/x-protobuf", "Sentry sentry_key=other", proto, http.StatusUnauthorized},
		{"content type", srv.OTLPURL("traces"), "text/plain", "Sentry sentry_key=public", proto, http.StatusUnsupportedMediaType},
		{"garbage", srv.OTLPURL("traces"), "application/x-protobuf", "Sentry sentry_key=public", []byte{0xff, 0xff, 0xff}, http.StatusBadRequest},
		{"unknown signal", "http://" + srv.Addr() + "/api/1/integration/otlp/v1/metrics", "application/x-protobuf", "Sentry sentry_key=public", proto, http.StatusNotFound},
	} {
		resp, _ := postOTLP(t, tc.url, tc.contentType, "", tc.auth, tc.body)
		assert.Equal(t, tc.want, resp.StatusCode, tc.name)
		assert.NotEmpty(t, resp.Header.Get("X-Sentry-Error"), tc.name)
	}
	assert.Empty(t, srv.OTLPSpans())
}

func TestOTLPFaultsAndPartialSuccess(t *testing.T) {
	t.Parallel()
	proto, err := otlpTraces(4).MarshalProto()
	require.NoError(t, err)

	limited := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.RateLimited(2, "span")))
	resp, _ := postOTLP(t, limited.OTLPURL("traces"), "application/x-protobuf", "", "Sentry sentry_key=public", proto)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "2:span:organization:fakesentry", resp.Header.Get("X-Sentry-Rate-Limits"))
	assert.Empty(t, limited.OTLPSpans())

	down := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.Status(http.StatusServiceUnavailable)))
	resp, _ = postOTLP(t, down.OTLPURL("traces"), "application/x-protobuf", "", "Sentry sentry_key=public", proto)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	partial := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.PartialSuccess(3, "spans too old")))
	resp, answer := postOTLP(t, partial.OTLPURL("traces"), "application/x-protobuf", "", "Sentry sentry_key=public", proto)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parsed := ptraceotlp.NewExportResponse()
	require.NoError(t, parsed.UnmarshalProto(answer))
	assert.Equal(t, int64(3), parsed.PartialSuccess().RejectedSpans())
	assert.Equal(t, "spans too old", parsed.PartialSuccess().ErrorMessage())
	assert.Len(t, partial.OTLPSpans(), 1, "rejected spans are not stored")
}

func TestOTLPLogs(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.PartialSuccess(1, "bad record")))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, body := range []string{"one", "two"} {
		records.AppendEmpty().Body().SetStr(body)
	}
	js, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	resp, answer := postOTLP(t, srv.OTLPURL("logs"), "application/json", "gzip", "Sentry sentry_key=public", gzipped(t, js))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parsed := plogotlp.NewExportResponse()
	require.NoError(t, parsed.UnmarshalJSON(answer))
	assert.Equal(t, int64(1), parsed.PartialSuccess().RejectedLogRecords())
	logs := srv.OTLPLogs()
	require.Len(t, logs, 1)
	assert.Equal(t, "two", logs[0].Body)
	assert.Equal(t, "api", logs[0].Resource["service.name"])
}

func TestOTLPSpansInTheTraceReport(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	proto, err := otlpTraces(3).MarshalProto()
	require.NoError(t, err)
	resp, _ := postOTLP(t, srv.OTLPURL("traces"), "application/x-protobuf", "", "Sentry sentry_key=public", proto)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out bytes.Buffer
	require.NoError(t, sentrytest.WriteTraceReport(&out, srv.Received(), sentrytest.ReportOptions{}))
	assert.Contains(t, out.String(), "trace 01000000000000000000000000000000 (OTLP)")
	assert.Contains(t, out.String(), "1 service, 3 spans (1 with error status), 0 errors, 0 logs")
}

// A span Relay cannot convert is dropped after the 2xx, as Relay does, and the rest are kept.
func TestOTLPSpanWithoutIDIsDiscardedAfterAccepting(t *testing.T) {
	t.Parallel()
	srv := sentrytest.NewTest(t)
	req := otlpTraces(2)
	req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID([8]byte{})
	proto, err := req.MarshalProto()
	require.NoError(t, err)
	resp, _ := postOTLP(t, srv.OTLPURL("traces"), "application/x-protobuf", "", "Sentry sentry_key=public", proto)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, srv.OTLPSpans(), 1)
	discarded := srv.Discarded()
	require.Len(t, discarded, 1)
	assert.Equal(t, "otlp_span", discarded[0].ItemType)
	assert.Contains(t, discarded[0].Reason, "missing span_id")
}
