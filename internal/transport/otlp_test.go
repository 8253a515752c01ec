package transport

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

func TestSendOTLPRequestShape(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	tr, srv := newTestTransport(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte("partial"))
	}, "http://pub:secret@HOST/prefix/42")
	assert.Equal(t, srv.URL+"/prefix/api/42/integration/otlp/v1/traces", tr.OTLPURL(SignalTraces), "port and path prefix are kept")
	assert.Equal(t, srv.URL+"/prefix/api/42/integration/otlp/v1/logs", tr.OTLPURL(SignalLogs))

	res := tr.SendOTLP(context.Background(), SignalTraces, []byte("proto"), ratelimit.CategorySpan, ratelimit.CategoryTransaction)
	require.Equal(t, Accepted, res.Outcome, res.Err)
	assert.Equal(t, "/prefix/api/42/integration/otlp/v1/traces", got.URL.Path)
	assert.Equal(t, "application/x-protobuf", got.Header.Get("Content-Type"))
	assert.Equal(t, "Sentry sentry_key=pub", got.Header.Get("X-Sentry-Auth"))
	assert.Equal(t, "proto", string(body))
	assert.Equal(t, "partial", string(res.Response), "the answer is kept for its partial success")
}

func TestSendOTLPCompresses(t *testing.T) {
	t.Parallel()
	var encoding string
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, r *http.Request) {
		encoding = r.Header.Get("Content-Encoding")
	}, "http://pub@HOST/1")
	cp, err := newCompressor(CompressionZstd, 0)
	require.NoError(t, err)
	tr.setCompressor(cp)
	res := tr.SendOTLP(context.Background(), SignalLogs, []byte("proto"), ratelimit.CategoryLogItem)
	require.Equal(t, Accepted, res.Outcome, res.Err)
	assert.Equal(t, "zstd", encoding)
}

// Sentry enforces span and transaction quotas on each other: a limit on either holds OTLP traces,
// and a 429 naming transactions holds them until its deadline.
func TestSendOTLPHonoursEveryCategory(t *testing.T) {
	t.Parallel()
	requests := 0
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, r *http.Request) {
		requests++
		w.Header().Set("X-Sentry-Rate-Limits", "30:transaction:organization")
		w.WriteHeader(http.StatusTooManyRequests)
	}, "http://pub@HOST/1")
	before := time.Now()
	res := tr.SendOTLP(context.Background(), SignalTraces, []byte("a"), ratelimit.CategorySpan, ratelimit.CategoryTransaction)
	require.Equal(t, RateLimited, res.Outcome)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.False(t, res.RetryAt.Before(before.Add(29*time.Second)), "held until the transaction deadline: %v", res.RetryAt)

	res = tr.SendOTLP(context.Background(), SignalTraces, []byte("b"), ratelimit.CategorySpan, ratelimit.CategoryTransaction)
	assert.Equal(t, RateLimited, res.Outcome)
	assert.False(t, res.Sent, "nothing is sent while a category is limited")
	assert.Equal(t, 1, requests)

	res = tr.SendOTLP(context.Background(), SignalLogs, []byte("c"), ratelimit.CategoryLogItem, ratelimit.CategoryLogByte)
	assert.True(t, res.Sent, "logs are not held by a transaction limit")
	assert.Equal(t, 2, requests)
}
