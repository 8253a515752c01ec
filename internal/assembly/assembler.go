// Package assembly holds spans per trace until the trace goes quiet and then hands the trace's spans on
// together, so the exporter's transform sees whole segments instead of the fragments that the batch
// processor cuts traces into. See docs/assembly.md.
package assembly

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/metadata"
)

const (
	// maxBatchSpans caps the spans of one emitted batch, so one queue item or one transform call stays a
	// bounded amount of work. A single trace larger than this still goes out whole, in a batch of its own.
	maxBatchSpans = 1024
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
	// mapBytes counts the records that held traces use; heldBytes also those of traces being handed on
	// or waiting for a retry: the encoded spans in memory.
	mapBytes  int64
	heldBytes int64
	// store writes held spans ahead when trace_assembly.storage is set.
	store   *walStore
	pending []*outBatch
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

// outBatch is a batch of traces being handed on, or waiting for a retry. Its spans stay encoded in the
// traces' fragments until then; td is set (decoded) only after a partial failure, to the part still
// unsent.
type outBatch struct {
	traces  []*heldTrace
	td      ptrace.Traces
	decoded bool
	spans   int
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
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
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
	if cfg.Storage != nil {
		a.store = &walStore{id: *cfg.Storage, owner: component.MustNewID(storageName), logger: logger}
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// clock returns the current time as an offset from base. The caller may or may not hold the lock.
func (a *Assembler) clock() time.Duration { return a.now().Sub(a.base) }

// Start opens the storage, if any, holds again what it kept from an earlier run, and starts the ticker
// goroutine that emits quiet traces. The context is not kept: the goroutine lives until Shutdown. host
// may be nil without storage.
func (a *Assembler) Start(ctx context.Context, host component.Host) error {
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
	if a.store != nil {
		if err := a.store.open(ctx, host); err != nil {
			return err
		}
		if err := a.recover(ctx); err != nil {
			return errors.Join(err, a.store.close(ctx))
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.started, a.cancel, a.done = true, cancel, make(chan struct{})
	go a.run(runCtx, a.done)
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

// WithOwner names the component the storage client belongs to (the exporter's id), so that two
// exporters on one storage extension keep apart. Without it, the client is named trace_assembly.
func WithOwner(id component.ID) Option {
	return func(a *Assembler) {
		if a.store != nil {
			a.store.owner = id
		}
	}
}

// ConsumeTraces takes td's spans (a copy, unless the input is owned: then they are moved and td is
// left with empty spans), encodes them per trace and holds them until their trace goes quiet. With
// storage, they are written to it before ConsumeTraces returns, so what the receiver acknowledges
// survives a crash. When the held spans or bytes exceed max_spans or max_bytes, the oldest traces are
// handed on at once. It returns an error, refusing td, when it is shut down, when storage fails, or when
// the exporter keeps refusing traces and a bound is reached, so memory stays bounded.
func (a *Assembler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return nil
	}
	if err := a.admit(ctx, n); err != nil {
		return err
	}
	rec, frags, locals, table, err := a.cut(td, n)
	if err != nil {
		return err
	}
	if a.store != nil {
		if err := a.store.write(ctx, rec, frags, table); err != nil {
			return err
		}
	}
	return a.hold(ctx, rec, frags, locals, n)
}

// hold merges the fragments of one record into the held traces and emits the oldest traces early when
// a bound is passed.
func (a *Assembler) hold(ctx context.Context, rec *record, frags []*heldTrace, locals []localGroup, n int) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		if rec.stored {
			// The sender is told to retry: what was written ahead must not come back at the next start.
			keys := make([]string, 0, len(frags))
			for _, f := range frags {
				keys = append(keys, fragmentKey(&f.frags[0]))
			}
			a.store.remove(ctx, keys, []*record{rec})
		}
		return errShutdown
	}
	rec.scopes = make([]*scopeEntry, len(locals))
	for i := range locals {
		s := a.reg.scopeFor(&locals[i])
		s.refs++
		rec.scopes[i] = s
	}
	rec.inMap, rec.live = len(frags), len(frags)
	a.mapBytes += int64(rec.size)
	a.heldBytes += int64(rec.size)
	now := a.clock()
	newTraces, late := 0, 0
	for _, f := range frags {
		isNew, isLate := a.merge(f, now)
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
	for (a.mapSpans > a.cfg.MaxSpans || a.mapBytes > a.cfg.MaxBytes) && a.byFirst.head != nil {
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
// max_spans or max_bytes: the exporter is not keeping up, and refusing lets the sender retry instead of
// growing memory without bound. It first retries the pending traces itself, so a recovered exporter
// admits at once.
func (a *Assembler) admit(ctx context.Context, n int) error {
	a.mu.Lock()
	closed, over := a.closed, len(a.pending) > 0 && a.overLocked(n)
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
	if len(a.pending) == 0 || !a.overLocked(n) {
		return nil
	}
	return fmt.Errorf("trace assembly refuses %d spans: it holds %d spans in %d bytes (trace_assembly.max_spans %d, max_bytes %d) that the exporter has not accepted yet: %w",
		n, a.heldSpans, a.heldBytes, a.cfg.MaxSpans, a.cfg.MaxBytes, a.lastErr)
}

// overLocked reports whether n more spans would pass a bound. The caller holds the lock.
func (a *Assembler) overLocked(n int) bool {
	return a.heldSpans+n > a.cfg.MaxSpans || a.heldBytes >= a.cfg.MaxBytes
}

// cutPart is one resource/scope pair of one fragment while a batch is cut.
type cutPart struct {
	local int32
	count int32
	// next chains the parts of one fragment; global is the part's ResourceSpans in the staging batch.
	next, global int32
}

// cut sorts td's spans into one fragment per trace id and encodes them: the spans go into a staging
// batch with one ResourceSpans per fragment and resource/scope pair (moved when the input is owned,
// copied otherwise), which is marshalled once; each fragment is then the slice of the buffer holding
// its ResourceSpans. With storage, the batch's resources and scopes are appended as a table, whose
// bytes are returned. It runs without the lock: this is the expensive part of holding a span.
func (a *Assembler) cut(td ptrace.Traces, n int) (*record, []*heldTrace, []localGroup, []byte, error) {
	rss := td.ResourceSpans()
	locals := make([]localGroup, 0, rss.Len()*2)
	// A batch of the batch processor mixes a few dozen traces; n/8 is a generous start.
	byID := make(map[pcommon.TraceID]*heldTrace, max(n/8, 8))
	frags := make([]*heldTrace, 0, max(n/8, 8))
	parts := make([]cutPart, 0, max(n/4, 8))
	// Pass 1: each span's fragment part, and the parts' sizes.
	targets := make([]int32, 0, n)
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
			var cur *heldTrace
			for pi := 0; pi < spans.Len(); pi++ {
				id := spans.At(pi).TraceID()
				if cur == nil || cur.id != id {
					cur = byID[id]
					if cur == nil {
						cur = &heldTrace{id: id, headPart: -1, lastPart: -1}
						byID[id] = cur
						frags = append(frags, cur)
					}
				}
				// A fragment's spans of one scope all come from this ScopeSpans, so its part for li, if
				// any, is the last one it has.
				if cur.lastPart < 0 || parts[cur.lastPart].local != li {
					parts = append(parts, cutPart{local: li, next: -1})
					p := int32(len(parts) - 1)
					if cur.lastPart < 0 {
						cur.headPart = p
					} else {
						parts[cur.lastPart].next = p
					}
					cur.lastPart = p
				}
				parts[cur.lastPart].count++
				cur.spans++
				targets = append(targets, cur.lastPart)
			}
		}
	}
	// Pass 2: the staging batch, fragment by fragment, so each fragment's ResourceSpans are contiguous.
	stage := ptrace.NewTraces()
	srss := stage.ResourceSpans()
	srss.EnsureCapacity(len(parts) + len(locals))
	dests := make([]ptrace.SpanSlice, len(parts))
	fragLocals := make([]int32, len(parts))
	global := int32(0)
	for _, f := range frags {
		first := global
		for p := f.headPart; p >= 0; p = parts[p].next {
			parts[p].global = global
			fragLocals[global] = parts[p].local
			dst := srss.AppendEmpty().ScopeSpans().AppendEmpty().Spans()
			dst.EnsureCapacity(int(parts[p].count))
			dests[global] = dst
			global++
		}
		f.frags = []fragment{{locals: fragLocals[first:global:global], spans: int32(f.spans)}}
	}
	// Pass 3: the spans into their parts, in the order of pass 1.
	k := 0
	for _, rs := range rss.All() {
		for _, ss := range rs.ScopeSpans().All() {
			spans := ss.Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				dst := dests[parts[targets[k]].global]
				k++
				if a.ownsInput {
					spans.At(pi).MoveTo(dst.AppendEmpty())
				} else {
					spans.At(pi).CopyTo(dst.AppendEmpty())
				}
			}
		}
	}
	if a.store != nil {
		if len(locals) > 1<<(4*localDigits) {
			return nil, nil, nil, nil, fmt.Errorf("trace assembly: a batch of %d resource/scope pairs is more than storage can key (%d)", len(locals), 1<<(4*localDigits))
		}
		for i := range locals {
			rs := srss.AppendEmpty()
			locals[i].rs.Resource().CopyTo(rs.Resource())
			rs.SetSchemaUrl(locals[i].rs.SchemaUrl())
			ss := rs.ScopeSpans().AppendEmpty()
			locals[i].ss.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(locals[i].ss.SchemaUrl())
		}
	}
	buf, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(stage)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("trace assembly: encoding %d spans: %w", n, err)
	}
	offsets, err := fieldOffsets(buf, srss.Len())
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("trace assembly: encoding %d spans: %w", n, err)
	}
	rec := &record{size: len(buf)}
	if a.store != nil {
		rec.seq = a.store.nextSeq()
	}
	var table []byte
	if a.store != nil {
		table = buf[offsets[len(parts)]:]
	}
	for i, f := range frags {
		fr := &f.frags[0]
		first := parts[f.headPart].global
		end := first + int32(len(fr.locals))
		fr.rec, fr.index = rec, uint32(i)
		fr.data = buf[offsets[first]:offsets[end]:offsets[end]]
	}
	return rec, frags, locals, table, nil
}

// fieldOffsets returns where each of the first n top-level fields of the protobuf message buf starts,
// and where the n-th ends. The fields are ResourceSpans, each a valid TracesData on its own, and so is
// any run of them.
func fieldOffsets(buf []byte, n int) ([]int, error) {
	offsets := make([]int, 0, n+1)
	at := 0
	for range n {
		offsets = append(offsets, at)
		if at >= len(buf) || buf[at] != resourceSpansTag {
			return nil, fmt.Errorf("unexpected protobuf field at byte %d of %d", at, len(buf))
		}
		l, k := binary.Uvarint(buf[at+1:])
		if k <= 0 || uint64(len(buf)-at-1-k) < l {
			return nil, fmt.Errorf("bad field length at byte %d of %d", at, len(buf))
		}
		at += 1 + k + int(l)
	}
	return append(offsets, at), nil
}

// resourceSpansTag is the protobuf tag of TracesData.resource_spans: field 1, length-delimited.
const resourceSpansTag = 1<<3 | 2

// merge adds fragment f to the held trace of its id, or holds f as a new trace. The caller holds the lock.
func (a *Assembler) merge(f *heldTrace, now time.Duration) (isNew, isLate bool) {
	t := a.traces[f.id]
	if t == nil {
		f.first, f.last = now, now
		f.late = a.recent.contains(f.id)
		a.traces[f.id] = f
		a.byFirst.pushBack(f)
		a.byLast.pushBack(f)
		return true, f.late
	}
	t.frags = append(t.frags, f.frags...)
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
	for i := range t.frags {
		rec := t.frags[i].rec
		rec.inMap--
		if rec.inMap == 0 {
			a.mapBytes -= int64(rec.size)
			for _, s := range rec.scopes {
				a.reg.release(s)
			}
		}
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

// build packs traces into batches of up to batchCap spans, never splitting a trace. A batch stays
// encoded until it is handed on (see deliverOne), so batches waiting for their turn or for a retry cost
// their protobuf bytes only.
func (a *Assembler) build(traces []*heldTrace) []*outBatch {
	var out []*outBatch
	start, n := 0, 0
	for i, t := range traces {
		if n > 0 && n+t.spans > a.batchCap {
			out = append(out, &outBatch{traces: traces[start:i:i], spans: n})
			start, n = i, 0
		}
		n += t.spans
	}
	if start < len(traces) {
		out = append(out, &outBatch{traces: traces[start:], spans: n})
	}
	return out
}

// decode builds the ptrace.Traces of traces: one ResourceSpans per resource and one ScopeSpans per
// scope, the spans decoded from their fragments. A fragment that does not decode (only a damaged
// storage file could hold one) is counted in the returned number of spans lost.
func decode(traces []*heldTrace) (ptrace.Traces, int) {
	td := ptrace.NewTraces()
	resources := make(map[*resourceEntry]ptrace.ResourceSpans, 8)
	scopes := make(map[*scopeEntry]ptrace.SpanSlice, 16)
	var unmarshaler ptrace.ProtoUnmarshaler
	lost := 0
	for _, t := range traces {
		for i := range t.frags {
			fr := &t.frags[i]
			part, err := unmarshaler.UnmarshalTraces(fr.data)
			if err != nil || part.ResourceSpans().Len() != len(fr.locals) {
				lost += int(fr.spans)
				continue
			}
			for ri, prs := range part.ResourceSpans().All() {
				scope := fr.rec.scopes[fr.locals[ri]]
				dst, ok := scopes[scope]
				if !ok {
					res := scope.res
					rs, ok := resources[res]
					if !ok {
						rs = td.ResourceSpans().AppendEmpty()
						res.resource.CopyTo(rs.Resource())
						rs.SetSchemaUrl(res.schemaURL)
						resources[res] = rs
					}
					ss := rs.ScopeSpans().AppendEmpty()
					scope.scope.CopyTo(ss.Scope())
					ss.SetSchemaUrl(scope.schemaURL)
					dst = ss.Spans()
					scopes[scope] = dst
				}
				for _, pss := range prs.ScopeSpans().All() {
					pss.Spans().MoveAndAppendTo(dst)
				}
			}
		}
	}
	return td, lost
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

// deliverOne decodes one batch, hands it to next and accounts for what left: all of it, or the part a
// partial failure says was sent. It returns an error when some of the batch is still to be retried.
func (a *Assembler) deliverOne(ctx context.Context, b *outBatch) error {
	td := b.td
	if !b.decoded {
		var lost int
		td, lost = decode(b.traces)
		if lost > 0 {
			a.noteRejected(lost, errCorrupt)
		}
	}
	err := a.next(ctx, td)
	if err == nil {
		a.release(ctx, b.traces, b.spans)
		return nil
	}
	if consumererror.IsPermanent(err) {
		// The exporter will never take this data and has already reported so; retrying would hold it
		// forever and then block everything behind it.
		a.release(ctx, b.traces, b.spans)
		a.noteRejected(b.spans, err)
		return nil
	}
	var partial consumererror.Traces
	if errors.As(err, &partial) {
		a.narrow(ctx, b, partial.Data())
	}
	return err
}

// errCorrupt is why spans whose stored bytes do not decode are lost.
var errCorrupt = errors.New("held spans do not decode (damaged storage)")

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

// narrow replaces b's data by the part next reported as not sent, and accounts for the traces that are
// no longer in it as handed on. A trace partly sent stays held (and stored) whole.
func (a *Assembler) narrow(ctx context.Context, b *outBatch, left ptrace.Traces) {
	n := left.SpanCount()
	if n == 0 || n >= b.spans {
		return
	}
	ids := make(map[pcommon.TraceID]struct{})
	for _, rs := range left.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				ids[sp.TraceID()] = struct{}{}
			}
		}
	}
	var kept, sent []*heldTrace
	keptSpans, sentSpans := 0, 0
	for _, t := range b.traces {
		if _, ok := ids[t.id]; ok {
			kept = append(kept, t)
			keptSpans += t.spans
		} else {
			sent = append(sent, t)
			sentSpans += t.spans
		}
	}
	a.release(ctx, sent, sentSpans)
	// Spans counted as held stay those of the kept traces, though only n of them are still to send.
	b.traces, b.td, b.decoded, b.spans = kept, left, true, keptSpans
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

// release accounts for traces that left the assembler: their spans, and the records whose last
// fragment they held, in memory and in storage.
func (a *Assembler) release(ctx context.Context, traces []*heldTrace, spans int) {
	var done []*record
	var keys []string
	a.mu.Lock()
	for _, t := range traces {
		for i := range t.frags {
			fr := &t.frags[i]
			if fr.rec.stored {
				keys = append(keys, fragmentKey(fr))
			}
			fr.rec.live--
			if fr.rec.live == 0 {
				a.heldBytes -= int64(fr.rec.size)
				done = append(done, fr.rec)
			}
		}
	}
	a.heldSpans -= spans
	a.heldTraces -= len(traces)
	a.mu.Unlock()
	a.addHeld(ctx, -int64(spans), -int64(len(traces)))
	if a.store != nil && len(keys) > 0 {
		a.store.remove(ctx, keys, done)
	}
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
// nothing. Without storage, what the exporter still refuses within ctx is lost and the error says how
// many spans; with storage, it stays stored and the next start recovers it. Shutdown is safe without
// Start and more than once.
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
		lostTraces += len(b.traces)
	}
	a.mu.Lock()
	a.heldSpans -= lostSpans
	a.heldTraces -= lostTraces
	a.mu.Unlock()
	a.addHeld(ctx, -int64(lostSpans), -int64(lostTraces))
	var storeErr error
	if a.store != nil {
		storeErr = a.store.close(ctx)
		if lostSpans > 0 {
			a.logger.Warn("Exporter did not accept assembled traces at shutdown; they stay in storage for the next start",
				zap.Int("spans", lostSpans), zap.Int("traces", lostTraces), zap.Error(firstErr))
		}
		return storeErr
	}
	if lostSpans == 0 {
		return nil
	}
	return fmt.Errorf("trace assembly: %d spans of %d traces could not be handed on at shutdown: %w",
		lostSpans, lostTraces, firstErr)
}
