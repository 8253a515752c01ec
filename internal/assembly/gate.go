package assembly

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Gate paces trace assembly's hand-over into an in-memory sending queue. Assembly emits a burst
// as soon as it goes quiet; the queue would then hold all of it decoded, as pdata, while its consumers
// work through it (about 100 MiB for 100k spans). The gate lets assembly hand on a batch only while
// fewer than limit spans are in the exporter's hands, decoded: waiting in the queue or being pushed by
// a consumer. The rest waits in assembly, encoded (a tenth of the memory) and, with
// trace_assembly.storage, on disk. A persistent queue needs no gate: what waits in it is on disk.
//
// Spans count from the hand-over until a consumer's first attempt starts, and again during every
// attempt. A batch waiting in the queue's retry backoff between attempts is not counted, which only
// loosens the gate. The gate remembers the batches it saw start (by their first span and size) so a
// retried batch leaves the waiting count once. A batch the exporter narrowed after a partial failure
// is new to it and taken off again, which only loosens the gate; the counts never go below zero.
type Gate struct {
	limit int

	mu      sync.Mutex
	room    *sync.Cond
	waiting int
	pushing int
	seen    map[batchKey]struct{}
	ring    []batchKey
	next    int
}

// batchKey identifies a batch for the gate: its first span and its span count.
type batchKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	spans int
}

const gateMemory = 4096

// NewGate returns a gate that lets at most limit spans be waiting or pushed at once (a batch larger
// than limit goes alone).
func NewGate(limit int) *Gate {
	g := &Gate{limit: limit, seen: make(map[batchKey]struct{}, gateMemory), ring: make([]batchKey, gateMemory)}
	g.room = sync.NewCond(&g.mu)
	return g
}

// HandOn waits until the queue has room (or ctx ends), then hands td to next.
func (g *Gate) HandOn(ctx context.Context, td ptrace.Traces, next func(context.Context, ptrace.Traces) error) error {
	n := td.SpanCount()
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.room.Broadcast()
		g.mu.Unlock()
	})
	defer stop()
	g.mu.Lock()
	// A batch larger than limit goes alone, once nothing else is in hand.
	for g.inHand() > 0 && g.inHand()+n > g.limit && ctx.Err() == nil {
		g.room.Wait()
	}
	if err := ctx.Err(); err != nil {
		g.mu.Unlock()
		return err
	}
	g.waiting += n
	g.mu.Unlock()
	if err := next(ctx, td); err != nil {
		g.leftQueue(n)
		return err
	}
	return nil
}

// Push wraps the exporter's push: a batch's first attempt takes its spans off the waiting count, and
// every attempt counts them as pushed until it returns.
func (g *Gate) Push(push func(context.Context, ptrace.Traces) error) func(context.Context, ptrace.Traces) error {
	return func(ctx context.Context, td ptrace.Traces) error {
		key, ok := gateKeyOf(td)
		if !ok {
			return push(ctx, td)
		}
		g.mu.Lock()
		if _, retried := g.seen[key]; !retried {
			delete(g.seen, g.ring[g.next])
			g.ring[g.next] = key
			g.next = (g.next + 1) % len(g.ring)
			g.seen[key] = struct{}{}
			g.waiting = max(g.waiting-key.spans, 0)
		}
		g.pushing += key.spans
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.pushing = max(g.pushing-key.spans, 0)
			g.room.Broadcast()
			g.mu.Unlock()
		}()
		return push(ctx, td)
	}
}

// inHand is how many spans are waiting or being pushed. The caller holds g.mu.
func (g *Gate) inHand() int { return g.waiting + g.pushing }

// leftQueue takes n spans off the waiting count: a batch the queue refused.
func (g *Gate) leftQueue(n int) {
	g.mu.Lock()
	g.waiting = max(g.waiting-n, 0)
	g.room.Broadcast()
	g.mu.Unlock()
}

func gateKeyOf(td ptrace.Traces) (batchKey, bool) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			if ss.Spans().Len() > 0 {
				sp := ss.Spans().At(0)
				return batchKey{trace: sp.TraceID(), span: sp.SpanID(), spans: td.SpanCount()}, true
			}
		}
	}
	return batchKey{}, false
}
