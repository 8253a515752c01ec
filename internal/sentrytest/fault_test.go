package sentrytest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func TestFaultHelpersAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      sentrytest.FaultFunc
		status     int
		headers    map[string]string
		reason     string
		recorded   bool
		faultCount int
	}{
		{
			name: "rate limited categories", fault: sentrytest.RateLimited(2.5, "transaction", "error"), status: 429,
			headers:  map[string]string{"Retry-After": "3", "X-Sentry-Rate-Limits": "2.5:transaction;error:organization:fakesentry"},
			reason:   "rate limited",
			recorded: false, faultCount: 1,
		},
		{
			name: "rate limited all categories", fault: sentrytest.RateLimited(60), status: 429,
			headers:  map[string]string{"Retry-After": "60", "X-Sentry-Rate-Limits": "60::organization:fakesentry"},
			recorded: false, faultCount: 1,
		},
		{name: "status 503", fault: sentrytest.Status(503), status: 503, reason: "injected status 503", faultCount: 1},
		{name: "status 500 without reason", fault: func(*sentrytest.Request) sentrytest.Fault { return sentrytest.Fault{Status: 500} }, status: 500, reason: "injected status 500", faultCount: 1},
		{name: "too large hit", fault: sentrytest.TooLarge(100), status: 413, reason: "exceeds 100", faultCount: 1},
		{name: "too large miss", fault: sentrytest.TooLarge(1 << 20), status: 200, recorded: true},
		{name: "malformed transaction", fault: sentrytest.RejectMalformedItem("transaction"), status: 400, reason: "malformed item of type transaction", faultCount: 1},
		{name: "malformed any", fault: sentrytest.RejectMalformedItem(), status: 400, reason: "malformed item", faultCount: 1},
		{name: "malformed other type", fault: sentrytest.RejectMalformedItem("log"), status: 200, recorded: true},
		{
			name: "rate limit header on 200",
			fault: func(*sentrytest.Request) sentrytest.Fault {
				return sentrytest.Fault{Header: http.Header{"X-Sentry-Rate-Limits": {"10:log_item:project"}}}
			},
			status: 200, headers: map[string]string{"X-Sentry-Rate-Limits": "10:log_item:project"}, recorded: true, faultCount: 1,
		},
		{
			name:   "accepted but dropped",
			fault:  func(*sentrytest.Request) sentrytest.Fault { return sentrytest.Fault{DropEnvelope: true} },
			status: 200, faultCount: 1,
		},
		{
			name: "chain picks first non-zero",
			fault: sentrytest.Chain(nil, sentrytest.RejectMalformedItem("log"), sentrytest.Status(502),
				sentrytest.Status(503)),
			status: 502, faultCount: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t, sentrytest.WithFaults(tt.fault))
			res := mustPost(t, newClient(t), s, txEnvelope(t, 1, 2), nil)
			assert.Equal(t, tt.status, res.status)
			for k, v := range tt.headers {
				assert.Equal(t, v, res.header.Get(k), k)
			}
			assert.Contains(t, res.header.Get("X-Sentry-Error"), tt.reason)
			assert.Equal(t, tt.faultCount, s.Faults())
			assert.Equal(t, 1, s.Requests())
			if tt.recorded {
				assert.Len(t, s.Transactions(), 1)
				assert.Len(t, s.Envelopes(), 1)
			} else {
				assert.Empty(t, s.Transactions())
				assert.Empty(t, s.Envelopes())
			}
		})
	}
}

func TestResetConnectionIsAClientError(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.ResetConnection()))
	_, err := post(t, newClient(t), s.EnvelopeURL(), txEnvelope(t, 1, 0), nil)
	require.Error(t, err)
	assert.Empty(t, s.Transactions())
	assert.Equal(t, 1, s.Faults())
	assert.Equal(t, []sentrytest.Rejection{{Seq: 1, Reason: "connection closed by injected fault"}}, s.Rejections())
}

func TestLatencyIsHonoured(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	s := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.Latency(delay)))
	start := time.Now()
	res := mustPost(t, newClient(t), s, txEnvelope(t, 1, 0), nil)
	elapsed := time.Since(start)
	assert.Equal(t, http.StatusOK, res.status)
	assert.GreaterOrEqual(t, elapsed, delay)
	assert.Len(t, s.Transactions(), 1)
}

func TestLatencyEndsWithClientContext(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t, sentrytest.WithFaults(sentrytest.Latency(time.Hour)))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.EnvelopeURL(), strings.NewReader(string(txEnvelope(t, 1, 0))))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_client=t/1, sentry_key=public")
	_, err = newClient(t).Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	wait, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelWait()
	require.NoError(t, s.WaitFor(wait, func() bool { return len(s.Rejections()) == 1 }))
	assert.Equal(t, "request ended during injected delay", s.Rejections()[0].Reason)
	assert.Empty(t, s.Transactions())
}

func TestCloseEndsInjectedDelay(t *testing.T) {
	t.Parallel()
	s, err := sentrytest.New(sentrytest.WithFaults(sentrytest.Latency(time.Hour)))
	require.NoError(t, err)
	c := newClient(t)
	done := make(chan error, 1)
	body := txEnvelope(t, 1, 0)
	go func() {
		_, err := post(t, c, s.EnvelopeURL(), body, nil)
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.WaitForRequests(ctx, 1))
	// The request is inside its hour-long delay. Close waits for every handler, so it returns only
	// because it ended the delay (otherwise the test times out); then the request fails unanswered.
	require.NoError(t, s.Close())
	assert.Error(t, <-done, "the delayed request got no answer")
}

func TestCountingFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sentrytest.FaultFunc
		want  []int
	}{
		{"every third", sentrytest.EveryNth(3, sentrytest.Status(500)), []int{200, 200, 500, 200, 200, 500}},
		{"every zeroth never", sentrytest.EveryNth(0, sentrytest.Status(500)), []int{200, 200, 200}},
		{"first two then recover", sentrytest.FirstN(2, sentrytest.Status(503)), []int{503, 503, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t, sentrytest.WithFaults(tt.fault))
			c := newClient(t)
			var got []int
			for i := range tt.want {
				got = append(got, mustPost(t, c, s, txEnvelope(t, i+1, 0), nil).status)
			}
			assert.Equal(t, tt.want, got)
			ok := 0
			for _, st := range tt.want {
				if st == 200 {
					ok++
				}
			}
			assert.Len(t, s.Transactions(), ok)
			assert.Equal(t, len(tt.want)-ok, s.Faults())
		})
	}
}

func TestPercentIsDeterministic(t *testing.T) {
	t.Parallel()
	hit := func(r *sentrytest.Request) sentrytest.Fault { return sentrytest.Fault{Status: 500} }
	decide := func(p float64, seed uint64) []bool {
		f := sentrytest.Percent(p, seed, hit)
		out := make([]bool, 1000)
		for i := range out {
			out[i] = !f(&sentrytest.Request{Seq: i + 1}).IsZero()
		}
		return out
	}
	count := func(bs []bool) int {
		n := 0
		for _, b := range bs {
			if b {
				n++
			}
		}
		return n
	}
	assert.Equal(t, decide(30, 7), decide(30, 7))
	assert.NotEqual(t, decide(30, 7), decide(30, 8))
	assert.InDelta(t, 300, count(decide(30, 7)), 60)
	assert.Equal(t, 0, count(decide(0, 7)))
	assert.Equal(t, 1000, count(decide(100, 7)))
}

func TestSetFaultsEndsOutage(t *testing.T) {
	t.Parallel()
	var seen []sentrytest.Request
	s := sentrytest.NewTest(t, sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
		seen = append(seen, *r) // requests are sequential here
		return sentrytest.Fault{Status: 503}
	}))
	c := newClient(t)
	assert.Equal(t, 503, mustPost(t, c, s, txEnvelope(t, 1, 0), map[string]string{"Content-Encoding": "identity"}).status)
	s.SetFaults(nil)
	assert.Equal(t, 200, mustPost(t, c, s, txEnvelope(t, 2, 0), nil).status)
	require.Len(t, seen, 1)
	assert.Equal(t, 1, seen[0].Seq)
	assert.Equal(t, []string{"transaction"}, seen[0].ItemTypes)
	assert.Equal(t, seen[0].WireBytes, seen[0].DecodedBytes)
	assert.Equal(t, eventID(1), seen[0].Envelope.Header.EventID)
	assert.Equal(t, "identity", seen[0].Header.Get("Content-Encoding"))
	assert.Len(t, s.Transactions(), 1)
	assert.Equal(t, 1, s.Faults())
}
