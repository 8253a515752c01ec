package sentryexporter

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelsentry/sentryexporter/internal/metadatatest"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// routedBatchFixture has one SERVER transaction with an exception per service.
func routedBatchFixture() ptrace.Traces {
	b := newTraceBuilder()
	for i, svc := range []string{"checkout", "payments", "search"} {
		id := string(rune('a' + i))
		s := b.span(svc, id, id+"1", "", ptrace.SpanKindServer, "GET /"+svc, 0, 10)
		ev := s.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", svc+"Error")
		ev.Attributes().PutStr("exception.message", "failed in "+svc)
	}
	return b.td
}

func servicesOf(txs []sentrytest.Transaction) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, tx.Tags["service.name"])
	}
	return out
}

func errorTypesOf(errs []sentrytest.ErrorEvent) []string {
	var out []string
	for _, e := range errs {
		for _, ex := range e.Exception.Values {
			out = append(out, ex.Type)
		}
	}
	return out
}

func TestRoutingSendsEachServiceToItsProject(t *testing.T) {
	t.Parallel()
	checkout := sentrytest.NewTest(t, sentrytest.WithProjectID("11"), sentrytest.WithPublicKey("checkoutkey"))
	// A self-hosted style DSN: its own port and a path prefix, both of which must be kept.
	payments := sentrytest.NewTest(t, sentrytest.WithProjectID("22"), sentrytest.WithPublicKey("paymentskey"), sentrytest.WithPathPrefix("/sentry"))
	fallback := sentrytest.NewTest(t)
	exp, _ := startExporter(t, fallback, map[string]any{
		"sending_queue": map[string]any{"enabled": false},
		"routing": map[string]any{
			"attribute": "service.name",
			"dsns":      map[string]any{"checkout": checkout.DSN(), "payments": payments.DSN()},
		},
	})
	require.NoError(t, exp.ConsumeTraces(context.Background(), routedBatchFixture()))

	assert.Equal(t, []string{"checkout"}, servicesOf(checkout.Transactions()))
	assert.Equal(t, []string{"checkoutError"}, errorTypesOf(checkout.Errors()))
	assert.Equal(t, []string{"payments"}, servicesOf(payments.Transactions()))
	assert.Equal(t, []string{"paymentsError"}, errorTypesOf(payments.Errors()))
	assert.Equal(t, []string{"search"}, servicesOf(fallback.Transactions()), "unmatched values go to dsn")
	assert.Equal(t, []string{"searchError"}, errorTypesOf(fallback.Errors()))
	for _, env := range payments.Envelopes() {
		assert.Equal(t, "paymentskey", env.Header.Trace.PublicKey, "each project's envelopes carry its own key")
	}
}

func TestRoutingDropsUnmatchedWhenAsked(t *testing.T) {
	t.Parallel()
	checkout := sentrytest.NewTest(t, sentrytest.WithProjectID("11"))
	values := map[string]any{
		"dsn":           "",
		"sending_queue": map[string]any{"enabled": false},
		"routing": map[string]any{
			"dsns":           map[string]any{"checkout": checkout.DSN()},
			"drop_unmatched": true,
		},
	}
	exp, tel := startExporterDSN(t, "", values)
	require.NoError(t, exp.ConsumeTraces(context.Background(), routedBatchFixture()))
	assert.Equal(t, []string{"checkout"}, servicesOf(checkout.Transactions()))
	metadatatest.AssertEqualSentryExporterItemsDropped(t, tel, []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(attribute.String("category", "span"), attribute.String("reason", "unrouted")),
		Value:      2,
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestRoutingRateLimitOfOneProjectDoesNotDelayAnother(t *testing.T) {
	t.Parallel()
	var limitedOnce atomic.Bool
	limitFirstTransaction := func(r *sentrytest.Request) sentrytest.Fault {
		if slices.Contains(r.ItemTypes, "transaction") && limitedOnce.CompareAndSwap(false, true) {
			return sentrytest.RateLimited(3, "transaction")(r)
		}
		return sentrytest.Fault{}
	}
	limited := sentrytest.NewTest(t, sentrytest.WithProjectID("11"), sentrytest.WithFaults(limitFirstTransaction))
	// The order of events, not a stopwatch: as each transaction reaches the healthy project, note
	// how many the limited one has accepted by then.
	var mu sync.Mutex
	var limitedAtHealthy []int
	healthy := sentrytest.NewTest(t, sentrytest.WithProjectID("22"), sentrytest.WithFaults(func(r *sentrytest.Request) sentrytest.Fault {
		if slices.Contains(r.ItemTypes, "transaction") {
			mu.Lock()
			limitedAtHealthy = append(limitedAtHealthy, len(limited.Transactions()))
			mu.Unlock()
		}
		return sentrytest.Fault{}
	}))
	exp, _ := startExporter(t, healthy, map[string]any{
		"sending_queue": map[string]any{"enabled": true},
		"routing":       map[string]any{"dsns": map[string]any{"checkout": limited.DSN()}},
	})
	start := time.Now()
	require.NoError(t, exp.ConsumeTraces(context.Background(), routedBatchFixture()))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against hanging
	defer cancel()
	require.NoError(t, healthy.WaitForTransactions(ctx, 2))
	require.NoError(t, limited.WaitForTransactions(ctx, 1))
	mu.Lock()
	assert.Equal(t, []int{0, 0}, limitedAtHealthy,
		"the healthy project got both transactions while the limited one still waited out its 3 s limit")
	mu.Unlock()
	assert.GreaterOrEqual(t, time.Since(start), 3*time.Second, "the limited project waited for its deadline")
	assert.Len(t, healthy.Transactions(), 2, "nothing resent to the healthy project")
	assert.Len(t, limited.Transactions(), 1)
}

// TestRequestsInFlightAreBoundedOverAllProjects: with routing, max_requests_in_flight (times the queue's
// consumers) bounds the requests of all projects together, not each project's.
func TestRequestsInFlightAreBoundedOverAllProjects(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int32
	overlap := make(chan struct{})
	var once sync.Once
	hook := sentrytest.WithFaults(func(*sentrytest.Request) sentrytest.Fault {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if n > 1 {
			once.Do(func() { close(overlap) })
		}
		// Hold the request a moment so that unbounded senders would pile up beside it.
		select {
		case <-overlap:
		case <-time.After(50 * time.Millisecond):
		}
		return sentrytest.Fault{}
	})
	checkout := sentrytest.NewTest(t, sentrytest.WithProjectID("11"), hook)
	payments := sentrytest.NewTest(t, sentrytest.WithProjectID("22"), hook)
	fallback := sentrytest.NewTest(t, hook)
	exp, _ := startExporter(t, fallback, map[string]any{
		"max_requests_in_flight": 1,
		"routing":                map[string]any{"dsns": map[string]any{"checkout": checkout.DSN(), "payments": payments.DSN()}},
	})
	require.NoError(t, exp.ConsumeTraces(context.Background(), routedBatchFixture()))

	assert.Len(t, checkout.Transactions(), 1)
	assert.Len(t, payments.Transactions(), 1)
	assert.Len(t, fallback.Transactions(), 1)
	assert.Equal(t, int32(1), most.Load(), "one request at a time over the three projects")
}
