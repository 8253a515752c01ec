// Package assembly holds spans per trace until the trace goes quiet and then hands the trace's spans on
// together, so the exporter's transform sees whole segments instead of the fragments that the batch
// processor cuts traces into. See docs/assembly.md.
package assembly

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/metadata"
)

const (
	// maxBatchSpans caps the spans of one emitted batch, so one queue item or one transform call stays a
	// bounded amount of work. A single trace larger than this still goes out whole, in a batch of its own.
	maxBatchSpans = 8192
	// minTick keeps a tiny wait from turning the ticker into a busy loop.
	minTick = 10 * time.Millisecond
	// warnInterval rate-limits the warning about an exporter that does not accept assembled traces.
	warnInterval = 10 * time.Second
	// Bounds of the memory of recently emitted trace ids.
	minRecent = 1024
	maxRecent = 1 << 16
)

// errShutdown is returned for spans offered after Shutdown: nothing would ever emit them.
var errShutdown = errors.New("trace assembly is shut down")

// Assembler holds spans by trace and hands quiet traces to next. It is safe for concurrent use.
type Assembler struct {
	cfg    Config
	next   func(context.Context, ptrace.Traces) error
	tel    *metadata.TelemetryBuilder
	logger *zap.Logger
	seed   maphash.Seed
	tick   time.Duration
	// ownsInput says batches are the Assembler's own to take spans out of (WithOwnedInput).
	ownsInput bool
	// now, base and batchCap are fields so tests can drive time and batch size.
	now      func() time.Time
	base     time.Time
	batchCap int

	mu      sync.Mutex
	traces  map[pcommon.TraceID]*heldTrace
	byFirst traceList
	byLast  traceList
	reg     registry
	recent  recentTraces
	// mapSpans counts spans in traces; heldSpans and heldTraces also count what is being handed on or
	// waits in pending for a retry, because that memory is still ours.
	mapSpans   int
	heldSpans  int
	heldTraces int
	pending    []*outBatch
	// failures and rejected count what happened since the last rate-limited log line of each kind.
	failures     int
	lastErr      error
	failureLog   logLimiter
	rejected     int
	rejectionLog logLimiter
	closed       bool
	// sending counts ConsumeTraces calls handing traces on, which Shutdown waits for.
	sending sync.WaitGroup

	life    sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// outBatch is one emitted ptrace.Traces and what it accounts for.
type outBatch struct {
	td     ptrace.Traces
	spans  int
	traces int
}

// New returns an Assembler that hands assembled traces to next. next is called without the assembler's
// lock held and may block. tel may be nil (no metrics); logger may be nil (no logs).
func New(cfg Config, next func(context.Context, ptrace.Traces) error, tel *metadata.TelemetryBuilder, logger *zap.Logger, opts ...Option) *Assembler {
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.MaxSpans <= 0 {
		cfg.MaxSpans = DefaultMaxSpans
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.MaxWait < cfg.Wait {
		cfg.MaxWait = cfg.Wait
	}
	tick := max(cfg.Wait/4, minTick)
	a := &Assembler{
		cfg:      cfg,
		next:     next,
		tel:      tel,
		logger:   logger,
		seed:     maphash.MakeSeed(),
		tick:     tick,
		now:      time.Now,
		batchCap: maxBatchSpans,
		traces:   make(map[pcommon.TraceID]*heldTrace, min(cfg.MaxSpans/8, 1<<14)),
		byFirst:  traceList{which: byFirstArrival},
		byLast:   traceList{which: byLastArrival},
		reg:      registry{resources: make(map[uint64][]*resourceEntry)},
		recent:   newRecentTraces(min(max(cfg.MaxSpans, minRecent), maxRecent)),
	}
	a.base = a.now()
	for _, o := range opts {
		o(a)
	}
	return a
}

// clock returns the current time as an offset from base. The caller may or may not hold the lock.
func (a *Assembler) clock() time.Duration { return a.now().Sub(a.base) }

// Start starts the ticker goroutine that emits quiet traces. The context is not kept: the goroutine
// lives until Shutdown.
func (a *Assembler) Start(_ context.Context) error {
	a.life.Lock()
	defer a.life.Unlock()
	if a.started {
		return nil
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return errShutdown
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.started, a.cancel, a.done = true, cancel, make(chan struct{})
	go a.run(ctx, a.done)
	return nil
}

func (a *Assembler) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(a.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.emitDue(ctx)
		}
	}
}

// Option changes how an Assembler works.
type Option func(*Assembler)

// WithOwnedInput tells the Assembler that the batches it is given are its own (the exporter
// declares that it mutates data, so the collector hands it a private copy when the pipeline has
// other consumers): spans are then moved into their traces instead of deep-copied, which saves
// most of assembly's allocations.
func WithOwnedInput() Option {
	return func(a *Assembler) { a.ownsInput = true }
}

// ConsumeTraces takes td's spans (a copy, unless the input is owned: then they are moved and td is
// left with empty spans) and holds them until their trace goes quiet. When the spans held exceed max_spans, the
// oldest traces are handed on at once. It returns an error, refusing td, only when it is shut down or
// when the exporter keeps refusing traces and max_spans is reached, so memory stays bounded.
func (a *Assembler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return nil
	}
	if err := a.admit(ctx, n); err != nil {
		return err
	}
	frags, locals := a.cut(td, n)

	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errShutdown
	}
	for i := range locals {
		locals[i].entry = a.reg.scopeFor(&locals[i])
	}
	now := a.clock()
	newTraces, late := 0, 0
	for _, f := range frags {
		isNew, isLate := a.merge(f, locals, now)
		if isNew {
			newTraces++
		}
		if isLate {
			late += f.spans
		}
	}
	a.mapSpans += n
	a.heldSpans += n
	a.heldTraces += newTraces
	var early []*heldTrace
	for a.mapSpans > a.cfg.MaxSpans && a.byFirst.head != nil {
		t := a.byFirst.head
		a.detach(t, now)
		early = append(early, t)
	}
	if len(early) > 0 {
		a.sending.Add(1)
	}
	a.mu.Unlock()

	a.addHeld(ctx, int64(n), int64(newTraces))
	if late > 0 && a.tel != nil {
		a.tel.SentryExporterAssemblyLateSpans.Add(ctx, int64(late))
	}
	if len(early) > 0 {
		defer a.sending.Done()
		if a.tel != nil {
			a.tel.SentryExporterAssemblyEarlyEmissions.Add(ctx, int64(len(early)))
		}
		// A failure leaves the batches pending for the ticker; td itself was accepted.
		a.handOn(ctx, a.build(early))
	}
	return nil
}

// admit refuses n more spans when earlier traces wait for a retry and holding n more would pass
// max_spans: the exporter is not keeping up, and refusing lets the sender retry instead of growing memory
// without bound. It first retries the pending traces itself, so a recovered exporter admits at once.
func (a *Assembler) admit(ctx context.Context, n int) error {
	a.mu.Lock()
	closed, over := a.closed, len(a.pending) > 0 && a.heldSpans+n > a.cfg.MaxSpans
	if over && !closed {
		// Shutdown waits for this retry, which may put batches back into pending.
		a.sending.Add(1)
	}
	a.mu.Unlock()
	if closed {
		return errShutdown
	}
	if !over {
		return nil
	}
	a.retryPending(ctx)
	a.sending.Done()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) == 0 || a.heldSpans+n <= a.cfg.MaxSpans {
		return nil
	}
	return fmt.Errorf("trace assembly refuses %d spans: it holds %d (trace_assembly.max_spans %d) that the exporter has not accepted yet: %w",
		n, a.heldSpans, a.cfg.MaxSpans, a.lastErr)
}

// cut copies td's spans into one fragment per trace id, each grouped by the batch's resource/scope
// pairs. It runs without the lock: this copy is the expensive part of holding a span.
func (a *Assembler) cut(td ptrace.Traces, n int) ([]*heldTrace, []localGroup) {
	rss := td.ResourceSpans()
	locals := make([]localGroup, 0, rss.Len()*2)
	// A batch of the batch processor mixes a few dozen traces; n/8 is a generous start.
	byID := make(map[pcommon.TraceID]*heldTrace, max(n/8, 8))
	frags := make([]*heldTrace, 0, max(n/8, 8))
	var targets []spanTarget
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		rHash := uint64(0)
		hashed := false
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			ss := sss.At(si)
			spans := ss.Spans()
			if spans.Len() == 0 {
				continue
			}
			if !hashed {
				rHash, hashed = hashResource(a.seed, rs), true
			}
			li := int32(len(locals))
			locals = append(locals, localGroup{rs: rs, ss: ss, rHash: rHash, sHash: hashScope(a.seed, ss)})
			// Two passes: the first finds each span's group and counts, so the second copies into slices
			// of the right size instead of growing them span by span.
			if cap(targets) < spans.Len() {
				targets = make([]spanTarget, 0, spans.Len())
			}
			targets = targets[:0]
			var cur *heldTrace
			var curGroup int32
			for pi := 0; pi < spans.Len(); pi++ {
				id := spans.At(pi).TraceID()
				if cur == nil || cur.id != id {
					cur = byID[id]
					if cur == nil {
						cur = &heldTrace{id: id}
						byID[id] = cur
						frags = append(frags, cur)
					}
					curGroup = cur.groupFor(li)
				}
				cur.groups[curGroup].count++
				cur.spans++
				targets = append(targets, spanTarget{trace: cur, group: curGroup})
			}
			for pi, tg := range targets {
				g := &tg.trace.groups[tg.group]
				if g.spans.Len() == 0 {
					g.spans.EnsureCapacity(g.count)
				}
				if a.ownsInput {
					spans.At(pi).MoveTo(g.spans.AppendEmpty())
				} else {
					spans.At(pi).CopyTo(g.spans.AppendEmpty())
				}
			}
		}
	}
	return frags, locals
}

// spanTarget is where cut puts one span: a group of a fragment.
type spanTarget struct {
	trace *heldTrace
	group int32
}

// merge adds fragment f to the held trace of its id, or holds f as a new trace. The caller holds the lock.
func (a *Assembler) merge(f *heldTrace, locals []localGroup, now time.Duration) (isNew, isLate bool) {
	for i := range f.groups {
		f.groups[i].scope = locals[f.groups[i].local].entry
	}
	t := a.traces[f.id]
	if t == nil {
		for i := range f.groups {
			f.groups[i].scope.refs++
		}
		f.first, f.last = now, now
		f.late = a.recent.contains(f.id)
		a.traces[f.id] = f
		a.byFirst.pushBack(f)
		a.byLast.pushBack(f)
		return true, f.late
	}
	for i := range f.groups {
		fg := &f.groups[i]
		merged := false
		for j := range t.groups {
			if t.groups[j].scope == fg.scope {
				fg.spans.MoveAndAppendTo(t.groups[j].spans)
				merged = true
				break
			}
		}
		if !merged {
			fg.scope.refs++
			t.groups = append(t.groups, *fg)
		}
	}
	t.spans += f.spans
	t.last = now
	a.byLast.moveToBack(t)
	return false, t.late
}

// detach takes t out of the held traces for emission and remembers its id for late span counting.
// t's spans stay counted in heldSpans until they are handed on. The caller holds the lock.
func (a *Assembler) detach(t *heldTrace, now time.Duration) {
	delete(a.traces, t.id)
	a.byFirst.remove(t)
	a.byLast.remove(t)
	a.mapSpans -= t.spans
	for i := range t.groups {
		a.reg.release(t.groups[i].scope)
	}
	a.recent.add(t.id, now)
}

// emitDue is one tick: retry what failed before, then hand on every trace quiet for wait or held for
// max_wait. While the exporter still refuses, due traces stay held, where late spans can still join them.
func (a *Assembler) emitDue(ctx context.Context) {
	if !a.retryPending(ctx) {
		return
	}
	a.mu.Lock()
	now := a.clock()
	var due []*heldTrace
	for t := a.byLast.head; t != nil && now-t.last >= a.cfg.Wait; t = a.byLast.head {
		a.detach(t, now)
		due = append(due, t)
	}
	for t := a.byFirst.head; t != nil && now-t.first >= a.cfg.MaxWait; t = a.byFirst.head {
		a.detach(t, now)
		due = append(due, t)
	}
	a.recent.expire(now - 2*a.cfg.MaxWait)
	a.mu.Unlock()
	if len(due) > 0 {
		a.handOn(ctx, a.build(due))
	}
}

// build packs traces into batches of up to batchCap spans, never splitting a trace. Within a batch, each
// distinct resource and scope is copied once and the spans are moved, not copied.
func (a *Assembler) build(traces []*heldTrace) []*outBatch {
	var out []*outBatch
	start, n := 0, 0
	for i, t := range traces {
		if n > 0 && n+t.spans > a.batchCap {
			out = append(out, assemble(traces[start:i], n))
			start, n = i, 0
		}
		n += t.spans
	}
	if start < len(traces) {
		out = append(out, assemble(traces[start:], n))
	}
	return out
}

// assemble moves the spans of traces into one ptrace.Traces with one ResourceSpans per resource and one
// ScopeSpans per scope.
func assemble(traces []*heldTrace, spans int) *outBatch {
	td := ptrace.NewTraces()
	resources := make(map[*resourceEntry]ptrace.ResourceSpans, 8)
	scopes := make(map[*scopeEntry]ptrace.SpanSlice, 16)
	for _, t := range traces {
		for i := range t.groups {
			g := &t.groups[i]
			dst, ok := scopes[g.scope]
			if !ok {
				res := g.scope.res
				rs, ok := resources[res]
				if !ok {
					rs = td.ResourceSpans().AppendEmpty()
					res.resource.CopyTo(rs.Resource())
					rs.SetSchemaUrl(res.schemaURL)
					resources[res] = rs
				}
				ss := rs.ScopeSpans().AppendEmpty()
				g.scope.scope.CopyTo(ss.Scope())
				ss.SetSchemaUrl(g.scope.schemaURL)
				dst = ss.Spans()
				scopes[g.scope] = dst
			}
			g.spans.MoveAndAppendTo(dst)
		}
	}
	return &outBatch{td: td, spans: spans, traces: len(traces)}
}

// pushesInFlight is how many batches deliver hands to next at once. The exporter transforms a batch
// on one CPU before it sends its events in parallel; with a second batch under way, that batch's
// sending fills the CPU the first one's transform leaves idle (without a sending queue, next returns
// only when a batch is sent). More would only hold more batches in memory at once.
const pushesInFlight = 2

// deliver hands batches to next, up to pushesInFlight at once, starting them in order. It stops starting
// new ones at the first failure and returns the failed batches and those not started, in order, with the
// first failure's error. With eachOnce, every batch is tried even after a failure (Shutdown: a full queue
// may have room for a smaller batch). A permanent error is not a failure to retry: see deliverOne.
func (a *Assembler) deliver(ctx context.Context, batches []*outBatch, eachOnce bool) ([]*outBatch, error) {
	errs := make([]error, len(batches))
	var failed atomic.Bool
	slots := make(chan struct{}, pushesInFlight)
	var wg sync.WaitGroup
	started := 0
	for i, b := range batches {
		slots <- struct{}{}
		if failed.Load() && !eachOnce {
			<-slots
			break
		}
		started++
		wg.Go(func() {
			defer func() { <-slots }()
			if errs[i] = a.deliverOne(ctx, b); errs[i] != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	var rest []*outBatch
	var firstErr error
	for i, b := range batches {
		if i >= started || errs[i] != nil {
			rest = append(rest, b)
		}
		if firstErr == nil && errs[i] != nil {
			firstErr = errs[i]
		}
	}
	return rest, firstErr
}

// deliverOne hands one batch to next and accounts for what left: all of it, or the part a partial
// failure says was sent. It returns an error when some of the batch is still to be retried.
func (a *Assembler) deliverOne(ctx context.Context, b *outBatch) error {
	err := a.next(ctx, b.td)
	if err == nil {
		a.handedOn(ctx, b.spans, b.traces)
		return nil
	}
	if consumererror.IsPermanent(err) {
		// The exporter will never take this data and has already reported so; retrying would hold it
		// forever and then block everything behind it.
		a.handedOn(ctx, b.spans, b.traces)
		a.noteRejected(b.spans, err)
		return nil
	}
	var partial consumererror.Traces
	if errors.As(err, &partial) {
		a.narrow(ctx, b, partial.Data())
	}
	return err
}

// handOn delivers batches and keeps what fails in pending for the ticker to retry.
func (a *Assembler) handOn(ctx context.Context, batches []*outBatch) {
	rest, err := a.deliver(ctx, batches, false)
	if len(rest) == 0 {
		return
	}
	a.mu.Lock()
	a.pending = append(a.pending, rest...)
	a.mu.Unlock()
	a.noteFailure(spansOf(rest), err)
}

// narrow replaces b's data by the part next reported as not sent, and accounts for the rest as handed on.
func (a *Assembler) narrow(ctx context.Context, b *outBatch, left ptrace.Traces) {
	n := left.SpanCount()
	if n == 0 || n >= b.spans {
		return
	}
	traces := countTraces(left)
	a.handedOn(ctx, b.spans-n, b.traces-traces)
	b.td, b.spans, b.traces = left, n, traces
}

func countTraces(td ptrace.Traces) int {
	ids := make(map[pcommon.TraceID]struct{})
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				ids[sp.TraceID()] = struct{}{}
			}
		}
	}
	return len(ids)
}

func spansOf(batches []*outBatch) int {
	n := 0
	for _, b := range batches {
		n += b.spans
	}
	return n
}

// retryPending hands on the batches that failed before, oldest first, and reports whether none is left.
func (a *Assembler) retryPending(ctx context.Context) bool {
	a.mu.Lock()
	batches := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(batches) == 0 {
		return true
	}
	rest, err := a.deliver(ctx, batches, false)
	if len(rest) == 0 {
		return true
	}
	a.mu.Lock()
	a.pending = append(rest[:len(rest):len(rest)], a.pending...)
	a.mu.Unlock()
	a.noteFailure(spansOf(rest), err)
	return false
}

// handedOn accounts for spans and traces that left the assembler.
func (a *Assembler) handedOn(ctx context.Context, spans, traces int) {
	a.mu.Lock()
	a.heldSpans -= spans
	a.heldTraces -= traces
	a.mu.Unlock()
	a.addHeld(ctx, -int64(spans), -int64(traces))
}

func (a *Assembler) addHeld(ctx context.Context, spans, traces int64) {
	if a.tel == nil {
		return
	}
	if spans != 0 {
		a.tel.SentryExporterAssemblySpansHeld.Add(ctx, spans)
	}
	if traces != 0 {
		a.tel.SentryExporterAssemblyTracesHeld.Add(ctx, traces)
	}
}

// noteFailure records a refused hand-on and logs, at most once per warnInterval, how many failed since.
func (a *Assembler) noteFailure(spans int, err error) {
	a.mu.Lock()
	a.failures++
	a.lastErr = err
	log, failures := a.failureLog.allow(a.clock()), a.failures
	pendingSpans := spansOf(a.pending)
	if log {
		a.failures = 0
	}
	a.mu.Unlock()
	if log {
		a.logger.Warn("Exporter did not accept assembled traces; holding them to retry",
			zap.Int("failed_attempts", failures), zap.Int("spans", spans),
			zap.Int("spans_pending", pendingSpans), zap.Error(err))
	}
}

// noteRejected records a permanent refusal: those spans are gone, which the log line says with a count.
func (a *Assembler) noteRejected(spans int, err error) {
	a.mu.Lock()
	a.rejected += spans
	log, rejected := a.rejectionLog.allow(a.clock()), a.rejected
	if log {
		a.rejected = 0
	}
	a.mu.Unlock()
	if log {
		a.logger.Error("Exporter permanently rejected assembled traces; not retrying them",
			zap.Int("spans", rejected), zap.Error(err))
	}
}

// logLimiter lets one log line through per warnInterval.
type logLimiter struct {
	last time.Duration
	used bool
}

// allow reports whether a line may be logged now, and if so starts a new interval.
func (l *logLimiter) allow(now time.Duration) bool {
	if l.used && now-l.last < warnInterval {
		return false
	}
	l.used, l.last = true, now
	return true
}

// Shutdown stops the ticker and hands on everything held, whether quiet or not, so a clean shutdown loses
// nothing. What the exporter still refuses within ctx is lost; the error says how many spans. Shutdown is
// safe without Start and more than once.
func (a *Assembler) Shutdown(ctx context.Context) error {
	a.life.Lock()
	if a.started {
		a.cancel()
		<-a.done
		a.started = false
	}
	a.life.Unlock()

	a.mu.Lock()
	a.closed = true
	now := a.clock()
	var all []*heldTrace
	for t := a.byFirst.head; t != nil; t = a.byFirst.head {
		a.detach(t, now)
		all = append(all, t)
	}
	a.mu.Unlock()
	a.sending.Wait()

	a.mu.Lock()
	batches := a.pending
	a.pending = nil
	a.mu.Unlock()
	batches = append(batches, a.build(all)...)

	// Every batch gets one try, even after a failure: a full queue may have room for a smaller batch.
	rest, firstErr := a.deliver(ctx, batches, true)
	var lostSpans, lostTraces int
	for _, b := range rest {
		lostSpans += b.spans
		lostTraces += b.traces
	}
	if lostSpans == 0 {
		return nil
	}
	a.handedOn(ctx, lostSpans, lostTraces)
	return fmt.Errorf("trace assembly: %d spans of %d traces could not be handed on at shutdown: %w",
		lostSpans, lostTraces, firstErr)
}
