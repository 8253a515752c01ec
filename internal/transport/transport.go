// Package transport posts Sentry envelopes over HTTP and classifies every answer, so that the
// exporter can retry, hold or drop each envelope knowingly. sentry-go's own HTTPTransport cannot be
// used for this: its SendEvent reports nothing, it drops when its buffer fills and it never retries.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

// Outcome says what became of one envelope.
type Outcome int

const (
	// Accepted means Sentry answered 2xx.
	Accepted Outcome = iota
	// RateLimited means the envelope's category is limited until Result.RetryAt; it may have been
	// refused with 429, or not sent at all because an earlier answer set the limit.
	RateLimited
	// Retryable means a transient failure: 5xx, a timeout, a reset connection.
	Retryable
	// Permanent means Sentry will never accept this envelope as it is (400, 401, 403, 413, other 4xx).
	Permanent
)

// String names the outcome for logs and metrics.
func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case RateLimited:
		return "rate_limited"
	case Retryable:
		return "retryable"
	default:
		return "permanent"
	}
}

// Result is the classified answer to one envelope.
type Result struct {
	Outcome Outcome
	// StatusCode is Sentry's HTTP status, or 0 when no answer came.
	StatusCode int
	// RetryAt is when a rate-limited envelope may be sent again.
	RetryAt time.Time
	// Err describes the failure; nil when accepted. It never contains the DSN.
	Err error
	// Sent reports whether a request was made (a known rate limit skips it).
	Sent bool
	// BytesSent counts the request body bytes as sent (after compression).
	BytesSent int
	// Duration is the time from request to answer.
	Duration time.Duration
	// Response is the body of a 2xx answer to an OTLP request (at most maxResponseBody bytes), where
	// Sentry reports a partial success; nil for envelopes.
	Response []byte
}

// Transport sends envelopes to one Sentry project. It is safe for concurrent use.
type Transport struct {
	client *http.Client
	url    string
	// header holds the headers every request carries; each request gets a clone, which allocates
	// once instead of once per header.
	header http.Header
	limits *ratelimit.Limits
	now    func() time.Time
	// compressor is nil when bodies go uncompressed.
	compressor *compressor
	// otlpURL is the project's OTLP endpoint without the signal ("…/integration/otlp/v1/"), and
	// otlpHeader the headers of every OTLP request.
	otlpURL    string
	otlpHeader http.Header
}

// Signal names an OTLP signal Sentry ingests at its OTLP endpoints: the last path segment.
type Signal string

// The OTLP signals this transport posts.
const (
	SignalTraces Signal = "traces"
	SignalLogs   Signal = "logs"
)

// OTLPContentType is the content type of OTLP/HTTP protobuf bodies.
const OTLPContentType = "application/x-protobuf"

// New returns a Transport that posts to dsn's envelope endpoint with client, compressing bodies with
// compression. userAgent names this exporter and its version (it also goes into the sentry_client
// auth field). now is the clock used for rate-limit deadlines (time.Now in production).
//
// level is the compression level (0: DefaultLevel); gzip and deflate take 1 to 9, zstd 1 to 22.
func New(client *http.Client, dsn *sentry.Dsn, userAgent string, compression Compression, level int, now func() time.Time) (*Transport, error) {
	cp, err := newCompressor(compression, level)
	if err != nil {
		return nil, err
	}
	auth := "Sentry sentry_version=7, sentry_client=" + userAgent + ", sentry_key=" + dsn.GetPublicKey()
	if secret := dsn.GetSecretKey(); secret != "" {
		auth += ", sentry_secret=" + secret
	}
	apiURL := dsn.GetAPIURL().String()
	t := &Transport{
		client: client,
		url:    apiURL,
		header: http.Header{
			"Content-Type":  {envelope.ContentType},
			"X-Sentry-Auth": {auth},
			"User-Agent":    {userAgent},
		},
		limits: ratelimit.New(now),
		now:    now,
		// Sentry's OTLP endpoints sit beside the envelope endpoint: {prefix}/api/{id}/integration/otlp/v1/.
		otlpURL: strings.TrimSuffix(apiURL, "envelope/") + "integration/otlp/v1/",
		otlpHeader: http.Header{
			"Content-Type": {OTLPContentType},
			// The form Sentry documents for its OTLP endpoints; Relay takes any envelope auth form too.
			"X-Sentry-Auth": {"Sentry sentry_key=" + dsn.GetPublicKey()},
			"User-Agent":    {userAgent},
		},
	}
	t.setCompressor(cp)
	return t, nil
}

// OTLPURL is the project's OTLP endpoint for signal, derived from the DSN as the envelope endpoint is
// (scheme, host, port and path prefix kept).
func (t *Transport) OTLPURL(signal Signal) string { return t.otlpURL + string(signal) }

// setCompressor makes the transport compress bodies with cp (nil: none) and say so in every request.
func (t *Transport) setCompressor(cp *compressor) {
	t.compressor = cp
	for _, h := range []http.Header{t.header, t.otlpHeader} {
		if h == nil {
			continue
		}
		if cp == nil {
			h.Del("Content-Encoding")
		} else {
			h.Set("Content-Encoding", string(cp.encoding))
		}
	}
}

// Limits exposes the rate limits learnt from Sentry's answers, so the caller can hold data of a
// limited category without building its envelope.
func (t *Transport) Limits() *ratelimit.Limits { return t.limits }

// MaxInlineWait is the longest rate limit a sender waits out in place (see Wait). Sentry's short
// limits (spike protection, Retry-After of a second or two) end soon; waiting for them in every
// sending goroutine at once means all of them send together when the limit ends, instead of one
// by one after exporterhelper's retry timers, which drift apart. Longer limits are handed back.
const MaxInlineWait = 5 * time.Second

// Wait returns at once when category is not rate limited. When its limit ends within
// MaxInlineWait and before ctx does, it waits for the end and returns false; otherwise it returns
// the deadline and true, for the caller to hold the data.
func (t *Transport) Wait(ctx context.Context, category ratelimit.Category) (time.Time, bool) {
	for {
		until, limited := t.limits.Until(category)
		if !limited {
			return time.Time{}, false
		}
		wait := until.Sub(t.now())
		if deadline, ok := ctx.Deadline(); wait > MaxInlineWait || (ok && deadline.Before(until)) {
			return until, true
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return until, true
		case <-timer.C:
		}
		// The limit may have been renewed meanwhile by another sender's answer: look again.
	}
}

// maxErrorBody bounds how much of an error answer is read for its reason.
const maxErrorBody = 1024

// Send posts one envelope whose main item is of category. Nothing is sent while category is rate
// limited.
func (t *Transport) Send(ctx context.Context, body []byte, category ratelimit.Category) Result {
	return t.post(ctx, t.url, t.header, body, "envelope", false, category)
}

// SendOTLP posts an OTLP/HTTP protobuf body of signal to the project's OTLP endpoint. categories are
// the data categories Sentry counts the body in (span and transaction for traces, whose quotas Sentry
// enforces on each other; log_item and log_byte for logs): nothing is sent while any of them is rate
// limited, and a 429 holds the body until the latest of their deadlines. A 2xx answer's body is
// returned in Result.Response for its partial success.
func (t *Transport) SendOTLP(ctx context.Context, signal Signal, body []byte, categories ...ratelimit.Category) Result {
	return t.post(ctx, t.OTLPURL(signal), t.otlpHeader, body, "OTLP "+string(signal), true, categories...)
}

// limitedUntil is the latest deadline among categories' rate limits.
func (t *Transport) limitedUntil(categories []ratelimit.Category) (time.Time, ratelimit.Category, bool) {
	var until time.Time
	var which ratelimit.Category
	for _, c := range categories {
		if u, limited := t.limits.Until(c); limited && u.After(until) {
			until, which = u, c
		}
	}
	return until, which, !until.IsZero()
}

// maxResponseBody bounds how much of a 2xx OTLP answer is kept for its partial success.
const maxResponseBody = 64 << 10

// post sends body to url with header and classifies the answer; what names the body in errors.
func (t *Transport) post(ctx context.Context, url string, header http.Header, body []byte, what string, keepResponse bool, categories ...ratelimit.Category) Result {
	if until, category, limited := t.limitedUntil(categories); limited {
		return Result{
			Outcome: RateLimited,
			RetryAt: until,
			Err:     fmt.Errorf("category %q rate limited by Sentry until %s", category, until.UTC().Format(time.RFC3339)),
		}
	}
	// The request body gets a slice of its own: net/http may still read it after Do returns (when
	// Sentry answers before the body is written), while the caller reuses its buffer at once. Sized
	// for gzip level 1 on event JSON (27% of the input), so it rarely grows.
	if t.compressor != nil {
		compressed, err := t.compressor.compress(make([]byte, 0, len(body)/3+512), body)
		if err != nil {
			return Result{Outcome: Permanent, Err: err}
		}
		body = compressed
	} else {
		body = bytes.Clone(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Permanent, Err: fmt.Errorf("building request: %w", err)}
	}
	req.Header = header.Clone()

	start := t.now()
	resp, err := t.client.Do(req)
	res := Result{Sent: true, BytesSent: len(body)}
	res.Duration = t.now().Sub(start)
	if err != nil {
		res.Outcome = Retryable
		res.Err = fmt.Errorf("sending %s: %w", what, stripURL(err))
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	res.StatusCode = resp.StatusCode
	t.limits.Update(resp.StatusCode, resp.Header)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if keepResponse {
			res.Response, _ = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		}
		// Draining lets the connection be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
		res.Outcome = Accepted
		return res
	}
	reason := errorReason(resp)
	res.Err = fmt.Errorf("sentry answered %d: %s", resp.StatusCode, reason)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		res.Outcome = RateLimited
		until, _, limited := t.limitedUntil(categories)
		if !limited {
			// The limit named other categories only; wait the usual minimum before trying again.
			until = t.now().Add(time.Second)
		}
		res.RetryAt = until
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		res.Outcome = Retryable
	default:
		res.Outcome = Permanent
	}
	return res
}

// errorReason takes Sentry's reason from X-Sentry-Error, else from the start of the body.
func errorReason(resp *http.Response) string {
	reason := resp.Header.Get("X-Sentry-Error")
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
	if reason == "" {
		reason = strings.TrimSpace(string(body))
	}
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	if len(reason) > 200 {
		reason = reason[:200] + "..."
	}
	return strconv.Quote(reason)
}

// stripURL removes the request URL from net/http errors: the endpoint is the same for every error and
// only makes log lines longer.
func stripURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}
