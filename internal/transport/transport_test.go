package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

func newTestTransport(t *testing.T, h http.HandlerFunc, dsnFmt string) (*Transport, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dsn, err := sentry.NewDsn(strings.Replace(dsnFmt, "HOST", srv.Listener.Addr().String(), 1))
	require.NoError(t, err)
	client := srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	tr, err := New(client, dsn, "sentryexporter-test/1.0", CompressionNone, 0, time.Now)
	require.NoError(t, err)
	return tr, srv
}

func TestSendRequestShape(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
	}, "http://pub:secret@HOST/prefix/42")
	res := tr.Send(context.Background(), []byte("envelope"), ratelimit.CategoryTransaction)
	require.Equal(t, Accepted, res.Outcome)
	assert.Equal(t, "/prefix/api/42/envelope/", got.URL.Path, "the DSN's path prefix is kept")
	assert.Equal(t, "application/x-sentry-envelope", got.Header.Get("Content-Type"))
	assert.Equal(t, "Sentry sentry_version=7, sentry_client=sentryexporter-test/1.0, sentry_key=pub, sentry_secret=secret", got.Header.Get("X-Sentry-Auth"))
	assert.Empty(t, got.URL.Query().Get("sentry_key"), "exactly one auth form")
	assert.Equal(t, "envelope", string(body))
	assert.True(t, res.Sent)
	assert.Equal(t, 8, res.BytesSent)
}

func TestSendClassifiesAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		want    Outcome
		reason  string
	}{
		{"200", 200, nil, "", Accepted, ""},
		{"202", 202, nil, "", Accepted, ""},
		{"400 with reason header", 400, map[string]string{"X-Sentry-Error": "invalid event_id"}, "", Permanent, `"invalid event_id"`},
		{"400 reason from body", 400, nil, `{"detail":"bad envelope"}`, Permanent, `bad envelope`},
		{"401", 401, nil, "", Permanent, "Unauthorized"},
		{"403", 403, map[string]string{"X-Sentry-Error": "project disabled"}, "", Permanent, "project disabled"},
		{"413", 413, nil, "", Permanent, "Request Entity Too Large"},
		{"429", 429, map[string]string{"Retry-After": "7"}, "", RateLimited, ""},
		{"500", 500, nil, "", Retryable, ""},
		{"503", 503, nil, "", Retryable, ""},
		{"408", 408, nil, "", Retryable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, _ := newTestTransport(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}, "http://pub@HOST/1")
			res := tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction)
			assert.Equal(t, tc.want, res.Outcome, "outcome %s", res.Outcome)
			assert.Equal(t, tc.status, res.StatusCode)
			if tc.want == Accepted {
				assert.NoError(t, res.Err)
				return
			}
			require.Error(t, res.Err)
			assert.Contains(t, res.Err.Error(), tc.reason)
		})
	}
}

func TestRateLimitHoldsTheCategoryOnly(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, _ *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("X-Sentry-Rate-Limits", "30:transaction:organization")
			w.WriteHeader(429)
		}
	}, "http://pub@HOST/1")
	before := time.Now()
	first := tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction)
	after := time.Now()
	require.Equal(t, RateLimited, first.Outcome)
	assert.False(t, first.RetryAt.Before(before.Add(30*time.Second)), "RetryAt is 30 s after Sentry's answer")
	assert.False(t, first.RetryAt.After(after.Add(30*time.Second)), "RetryAt is 30 s after Sentry's answer")

	held := tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction)
	assert.Equal(t, RateLimited, held.Outcome)
	assert.False(t, held.Sent, "nothing of a limited category is sent before its deadline")

	other := tr.Send(context.Background(), []byte("x"), ratelimit.CategoryError)
	assert.Equal(t, Accepted, other.Outcome, "errors are not limited")
	assert.Equal(t, int32(2), requests.Load())
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	tr, srv := newTestTransport(t, func(http.ResponseWriter, *http.Request) {}, "http://pub@HOST/1")
	srv.Close()
	res := tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction)
	assert.Equal(t, Retryable, res.Outcome)
	assert.Zero(t, res.StatusCode)
	require.Error(t, res.Err)
	assert.NotContains(t, res.Err.Error(), "pub@", "errors do not carry the DSN")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = tr.Send(ctx, []byte("x"), ratelimit.CategoryTransaction)
	assert.Equal(t, Retryable, res.Outcome, "a cancelled request is retried later, not dropped")
}

func TestOutcomeNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"accepted", "rate_limited", "retryable", "permanent"},
		[]string{Accepted.String(), RateLimited.String(), Retryable.String(), Permanent.String()})
}

func TestSendCompressesBodies(t *testing.T) {
	t.Parallel()
	body := []byte(strings.Repeat(`{"type":"transaction","spans":[]}`+"\n", 200))
	for _, c := range []Compression{CompressionGzip, CompressionDeflate, CompressionZstd} {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			var gotEncoding string
			var got []byte
			var wire int
			_, srv := newTestTransport(t, func(_ http.ResponseWriter, r *http.Request) {
				gotEncoding = r.Header.Get("Content-Encoding")
				raw, _ := io.ReadAll(r.Body)
				wire = len(raw)
				got = decode(t, gotEncoding, raw)
			}, "http://pub@HOST/1")
			dsn, err := sentry.NewDsn("http://pub@" + srv.Listener.Addr().String() + "/1")
			require.NoError(t, err)
			compressed, err := New(srv.Client(), dsn, "t/1", c, 0, time.Now)
			require.NoError(t, err)
			for range 3 { // pooled encoders are reset between bodies
				res := compressed.Send(context.Background(), body, ratelimit.CategoryTransaction)
				require.Equal(t, Accepted, res.Outcome, "%v", res.Err)
				assert.Equal(t, string(c), gotEncoding)
				assert.Equal(t, body, got)
				assert.Equal(t, wire, res.BytesSent, "bytes sent are wire bytes")
				assert.Less(t, wire, len(body)/5)
			}
		})
	}
	_, err := New(http.DefaultClient, nil, "t/1", "snappy", 0, time.Now)
	assert.EqualError(t, err, `compression "snappy" is not accepted by Sentry`)
}

func decode(t *testing.T, encoding string, raw []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch encoding {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(raw))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(raw))
		if err == nil {
			defer d.Close()
			r = d
		}
	default:
		return raw
	}
	// assert, not require: decode runs in the test server's handler goroutine.
	if !assert.NoError(t, err) {
		return nil
	}
	out, err := io.ReadAll(r)
	assert.NoError(t, err)
	return out
}

func TestWaitOutShortLimitsHandBackLongOnes(t *testing.T) {
	t.Parallel()
	var limit atomic.Value
	limit.Store("0.2:transaction:organization")
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Sentry-Rate-Limits", limit.Load().(string))
		w.WriteHeader(http.StatusTooManyRequests)
	}, "http://pub@HOST/1")
	require.Equal(t, RateLimited, tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction).Outcome)

	start := time.Now()
	_, limited := tr.Wait(context.Background(), ratelimit.CategoryTransaction)
	assert.False(t, limited, "a 200 ms limit is waited out")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)

	_, limited = tr.Wait(context.Background(), ratelimit.CategoryError)
	assert.False(t, limited, "other categories do not wait")

	limit.Store("30:transaction:organization")
	before := time.Now()
	tr.Send(context.Background(), []byte("x"), ratelimit.CategoryTransaction)
	after := time.Now()
	// Handed back, not waited out: a limit Wait had waited out would no longer be in force, and
	// Wait would report it as over (limited false).
	until, limited := tr.Wait(context.Background(), ratelimit.CategoryTransaction)
	assert.True(t, limited, "a 30 s limit is handed back")
	assert.False(t, until.Before(before.Add(30*time.Second)), "the deadline is 30 s after Sentry's answer")
	assert.False(t, until.After(after.Add(30*time.Second)), "the deadline is 30 s after Sentry's answer")
}

// TestBodiesArriveIntactUnderConcurrencyAndDroppedConnections: callers reuse their buffers as soon
// as Send returns, so this sends many distinct bodies at once while the server drops every 7th
// connection after answering and answers every 5th request before reading its body (net/http may
// still be writing it). Every body Sentry accepted must decode to exactly what was sent, and every
// body must arrive.
func TestBodiesArriveIntactUnderConcurrencyAndDroppedConnections(t *testing.T) {
	t.Parallel()
	for _, c := range []Compression{CompressionNone, CompressionGzip} {
		t.Run(string(c)+"_", func(t *testing.T) {
			t.Parallel()
			bodiesArriveIntact(t, c)
		})
	}
}

func bodiesArriveIntact(t *testing.T, c Compression) {
	const senders, perSender = 8, 150
	var requests atomic.Int64
	var mu sync.Mutex
	received := map[string]int{}
	var corrupt atomic.Int64
	tr, _ := newTestTransport(t, func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		if n%5 == 0 {
			// Answer before reading: net/http may still be writing the body.
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		body := raw
		if r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(raw)); err == nil {
				body, err = io.ReadAll(zr)
			}
		}
		if err != nil {
			corrupt.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id, pad, ok := strings.Cut(string(body), ":")
		if !ok || pad != strings.Repeat(id, 1+len(id)%7*300) {
			corrupt.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		received[id]++
		mu.Unlock()
		if n%7 == 0 {
			w.Header().Set("Connection", "close")
		}
	}, "http://pub@HOST/1")
	cp, _ := newCompressor(c, 1)
	tr.setCompressor(cp)

	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			var buf []byte // reused from body to body, as the exporter's workers do
			for i := range perSender {
				id := strconv.Itoa(s*perSender + i)
				buf = append(buf[:0], id+":"+strings.Repeat(id, 1+len(id)%7*300)...)
				for attempt := 0; ; attempt++ {
					res := tr.Send(context.Background(), buf, ratelimit.CategoryTransaction)
					if res.Outcome == Accepted {
						break
					}
					if !assert.Equal(t, Retryable, res.Outcome, "%v", res.Err) || !assert.Less(t, attempt, 20) {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, corrupt.Load(), "no body changed while net/http still sent it")
	assert.Len(t, received, senders*perSender)
}
