package assembly

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// gateBatch is a batch of n spans whose first span id is id.
func gateBatch(id byte, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{0: id})
		sp.SetSpanID(pcommon.SpanID{0: id, 7: byte(i + 1)})
	}
	return td
}

func TestQueueGateWaitsUntilAConsumerStartsABatch(t *testing.T) {
	t.Parallel()
	g := NewGate(10)
	queue := make(chan ptrace.Traces, 10)
	enqueue := func(_ context.Context, td ptrace.Traces) error {
		queue <- td
		return nil
	}
	var pushed []int
	push := g.Push(func(_ context.Context, td ptrace.Traces) error {
		pushed = append(pushed, td.SpanCount())
		return nil
	})
	ctx := context.Background()
	require.NoError(t, g.HandOn(ctx, gateBatch(1, 6), enqueue))
	require.NoError(t, g.HandOn(ctx, gateBatch(2, 4), enqueue), "6+4 spans fit a limit of 10")

	third := make(chan error)
	go func() { third <- g.HandOn(ctx, gateBatch(3, 5), enqueue) }()
	// The third batch is handed on only once a consumer started the first: that is the only way it
	// can reach the queue, so the queue's order shows the gate waited.
	first := <-queue
	require.NoError(t, push(ctx, first))
	require.NoError(t, <-third)
	second, last := <-queue, <-queue
	assert.Equal(t, 4, second.SpanCount())
	assert.Equal(t, 5, last.SpanCount())
	assert.Equal(t, []int{6}, pushed)
	g.mu.Lock()
	assert.Equal(t, 9, g.waiting)
	g.mu.Unlock()
}

func TestQueueGateCountsARetriedBatchOnce(t *testing.T) {
	t.Parallel()
	g := NewGate(100)
	ctx := context.Background()
	enqueue := func(context.Context, ptrace.Traces) error { return nil }
	require.NoError(t, g.HandOn(ctx, gateBatch(1, 30), enqueue))
	require.NoError(t, g.HandOn(ctx, gateBatch(2, 30), enqueue))
	retryable := errors.New("sentry answered 503")
	push := g.Push(func(context.Context, ptrace.Traces) error { return retryable })
	td := gateBatch(1, 30)
	for range 3 {
		require.ErrorIs(t, push(ctx, td), retryable)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Equal(t, 30, g.waiting, "three attempts of one batch take its spans off once")
}

func TestQueueGateLargeBatchGoesAloneAndErrorsGiveRoomBack(t *testing.T) {
	t.Parallel()
	g := NewGate(10)
	ctx := context.Background()
	full := errors.New("sending queue is full")
	require.ErrorIs(t, g.HandOn(ctx, gateBatch(1, 50), func(context.Context, ptrace.Traces) error { return full }), full)
	g.mu.Lock()
	assert.Zero(t, g.waiting, "a refused batch does not wait in the queue")
	g.mu.Unlock()
	require.NoError(t, g.HandOn(ctx, gateBatch(1, 50), func(context.Context, ptrace.Traces) error { return nil }),
		"a batch larger than the limit goes when nothing waits")

	canceled, cancel := context.WithCancel(ctx)
	blocked := make(chan error)
	go func() {
		blocked <- g.HandOn(canceled, gateBatch(2, 1), func(context.Context, ptrace.Traces) error { return nil })
	}()
	cancel()
	require.ErrorIs(t, <-blocked, context.Canceled, "the wait ends with the context")
}

func TestQueueGateCountsABatchUntilItsPushReturns(t *testing.T) {
	t.Parallel()
	g := NewGate(10)
	ctx := context.Background()
	queue := make(chan ptrace.Traces, 10)
	enqueue := func(_ context.Context, td ptrace.Traces) error {
		queue <- td
		return nil
	}
	inPush, release := make(chan struct{}), make(chan struct{})
	push := g.Push(func(context.Context, ptrace.Traces) error {
		inPush <- struct{}{}
		<-release
		return nil
	})
	require.NoError(t, g.HandOn(ctx, gateBatch(1, 8), enqueue))
	pushed := make(chan error)
	go func() { pushed <- push(ctx, <-queue) }()
	<-inPush
	g.mu.Lock()
	assert.Equal(t, 0, g.waiting)
	assert.Equal(t, 8, g.inHand(), "a batch being pushed is still in hand")
	g.mu.Unlock()

	var mu sync.Mutex
	var order []string
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	handed := make(chan error)
	go func() {
		handed <- g.HandOn(ctx, gateBatch(2, 4), func(_ context.Context, td ptrace.Traces) error {
			note("second handed on")
			return enqueue(ctx, td)
		})
	}()
	// The first batch left the queue but is still being pushed: 8+4 spans do not fit a limit of 10,
	// so the second is handed on only after the push returns.
	note("first push returns")
	close(release)
	require.NoError(t, <-pushed)
	require.NoError(t, <-handed)
	assert.Equal(t, []string{"first push returns", "second handed on"}, order)
	assert.Equal(t, 4, (<-queue).SpanCount())
}
