// Package transform turns OpenTelemetry traces into Sentry transactions and error events: which
// spans form a transaction (one per service entry of a trace), what each Sentry field is made of,
// and the repairs that keep Sentry from discarding a whole transaction for one bad span.
//
// It is pure: pdata in, events out, no I/O. What a retried batch still owes reaches it as an input
// (Options.Retry), and Encode writes an event's JSON; sending is the exporter's.
package transform

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/semconv"
	"github.com/otelsentry/sentryexporter/internal/stacktrace"
)

// Span flag bits of the OTLP protocol that tell whether the parent span lives in another process.
const (
	spanFlagHasIsRemote = 0x100
	spanFlagIsRemote    = 0x200
)

// MaxSpansPerTransaction is how many spans (the transaction's own root included) one transaction may
// carry: Sentry's SDKs stop at 1000 and its backend limits segments to about as many.
const MaxSpansPerTransaction = 1000

// What a retried span still owes Sentry (Retry.Owes). The transform learns it from the exporter's
// retry state (Options.Retry), never from the span itself.
const (
	// OwesErrors: only the span's error events still need sending.
	OwesErrors = "errors"
	// OwesTransaction: only its transaction does.
	OwesTransaction = "transaction"
)

// Retry is what the exporter knows of a span it hands to the transform again after a partial
// failure.
type Retry struct {
	// Owes is OwesErrors, OwesTransaction, or "" when both are still owed.
	Owes string
	// FirstAttempt is when the span was first sent, so that delivery knows when
	// retry_on_failure.max_elapsed_time will give up on it.
	FirstAttempt pcommon.Timestamp
}

// Options are the parts of the configuration the transform needs.
type Options struct {
	// Environment is used when a resource names none.
	Environment string
	// ExceptionsAsErrors makes an error event of every exception; SendTransactions makes the
	// transactions.
	ExceptionsAsErrors bool
	SendTransactions   bool
	// PublicKey and OrgID go into each envelope's dynamic sampling context.
	PublicKey string
	OrgID     string
	// Now stands in for a span without any timestamp.
	Now pcommon.Timestamp
	// Retry is what a retried batch still owes, by span position; nil on a first attempt.
	Retry map[SpanPosition]Retry
}

// Event is one Sentry transaction or error event made from a batch, with what its envelope
// header needs and the input spans it carries, so a failed send can be retried on exactly those.
type Event struct {
	// Sentry is the event itself.
	Sentry *sentry.Event
	// Category is its Sentry data category: transaction or error.
	Category ratelimit.Category
	// Sampling is its envelope's dynamic sampling context.
	Sampling envelope.SamplingContext
	// Positions are the batch positions of the spans this event carries (the span an error came from).
	Positions []SpanPosition
	// FirstAttempt is when this event's root span was first sent; 0 on a first attempt.
	FirstAttempt pcommon.Timestamp
	// DataSpans are the spans whose data Encode writes, aligned with Positions: the root first
	// (contexts.trace.data), then event.Spans in order. nil for error events.
	DataSpans []ptrace.Span
	// producers are the producer spans found in the batch for the message consumers among
	// dataSpans, from which their receive latency is derived; nil when there are none.
	producers []producerOf
}

// producerOf says that dataSpans[span] consumes a message whose producer's span started at start.
type producerOf struct {
	span  int
	start pcommon.Timestamp
}

// SpanPosition locates a span inside a ptrace.Traces: the indexes of its ResourceSpans, ScopeSpans
// and Span.
type SpanPosition struct {
	Resource, Scope, Span int32
}

// ForEachSpan calls f for every span of td in order, with its position: the one walk over a batch's
// spans that the transform, the exception scan and the otlp protocol's retry set share.
func ForEachSpan(td ptrace.Traces, f func(SpanPosition, ptrace.Span)) {
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				f(SpanPosition{Resource: int32(ri), Scope: int32(si), Span: int32(pi)}, spans.At(pi))
			}
		}
	}
}

// spanEntry is one input span with the facts grouping needs. Its ids and timestamps are the
// repaired ones (see repairSpan); every later step reads them here, never from the span.
type spanEntry struct {
	pos      SpanPosition
	span     ptrace.Span
	resource int
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID
	parentID pcommon.SpanID
	start    pcommon.Timestamp
	end      pcommon.Timestamp
	// head is the index of the entry whose transaction this span belongs to; -1 until known.
	head   int
	parent int // index of the parent entry in the batch, or -1
	// cycle marks a head whose parent chain loops back to itself: its parent link is dropped.
	cycle  bool
	resend string
	// firstAttempt is when a retried span was first sent; 0 on a first attempt.
	firstAttempt pcommon.Timestamp
}

// spanKey identifies a span within a batch: span ids are only unique within their trace.
type spanKey [24]byte

func keyOf(traceID pcommon.TraceID, spanID pcommon.SpanID) spanKey {
	var k spanKey
	copy(k[:16], traceID[:])
	copy(k[16:], spanID[:])
	return k
}

// Traces turns one batch into Sentry transactions and error events. It is a pure function
// of its input: it does no I/O and keeps no state between batches.
//
// A span starts a transaction (a segment, in Sentry's words) when it has no parent, its parent is
// remote, it is a SERVER or CONSUMER span, its parent belongs to another service, or its parent is
// not in the batch. Every other span joins the transaction of its nearest ancestor that starts one,
// so a subtree whose root arrived in another batch still becomes one transaction, never one per span.
//
// Spans Sentry would reject are repaired rather than dropped (see repairSpan); the returned counts
// say how many values of each kind were repaired.
func Traces(td ptrace.Traces, opts Options) ([]Event, sanitize.Counts) {
	return With(new(Scratch), td, opts)
}

// With is Traces with its working memory taken from scratch. The events point
// into scratch: they are valid until scratch is released.
func With(scratch *Scratch, td ptrace.Traces, opts Options) ([]Event, sanitize.Counts) {
	b := &batchTransform{opts: opts, scratch: scratch}
	b.resources = newResourceInfos(td, opts.Environment, &b.repairs)
	b.collectSpans(td)
	b.assignHeads()

	var jobs []eventJob
	if opts.SendTransactions {
		jobs = b.appendTransactionJobs(jobs)
	}
	if opts.ExceptionsAsErrors {
		jobs = b.appendErrorJobs(jobs)
	}
	return b.build(jobs), b.repairs
}

// batchTransform is the working state of one Traces call.
type batchTransform struct {
	opts      Options
	resources []resourceInfo
	entries   []spanEntry
	index     map[spanKey]int
	repairs   sanitize.Counts
	scratch   *Scratch
}

// Scratch is the memory one transform works in: the span index and the spans of the
// events it builds. The exporter keeps it from push to push, so a push allocates per event, not per
// span; that memory was a quarter of the bytes the exporter allocated, and the garbage collector's
// work grows with it.
type Scratch struct {
	entries []spanEntry
	index   map[spanKey]int
	// offsets, members and fill group transaction members by head (appendTransactionJobs).
	offsets, members, fill []int
	// The arenas hold, for every transaction, its root and child spans, pointers to the children,
	// and the positions and pdata spans of all of them (see eventArena).
	spans     []sentry.Span
	ptrs      []*sentry.Span
	positions []SpanPosition
	data      []ptrace.Span
}

// Release forgets everything the last transform left, so neither its spans nor the batch they came
// from stay reachable, and keeps the memory for the next one.
func (s *Scratch) Release() {
	clear(s.entries)
	s.entries = s.entries[:0]
	clear(s.index)
	clear(s.spans)
	clear(s.ptrs)
	clear(s.data)
}

// maxRetainedSpans bounds what a released scratch keeps: enough for the largest batch the trace
// assembler emits; a scratch grown beyond it by an odd batch is left to the garbage collector.
const maxRetainedSpans = 16 << 10

// Retainable reports whether the scratch is small enough to keep.
func (s *Scratch) Retainable() bool {
	return cap(s.entries) <= maxRetainedSpans && cap(s.spans) <= 2*maxRetainedSpans
}

// grow returns buf with length n, reusing its memory when it is large enough. It grows to the exact
// size: with the sending queue's consumers each holding a scratch, a quarter of headroom raised the
// peak heap by 8–10 MiB (BenchmarkPeakHeap), more than the regrowth it saved was worth.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// eventArena is the part of the scratch arenas one job's transactions take their spans from.
type eventArena struct {
	spans     []sentry.Span
	ptrs      []*sentry.Span
	positions []SpanPosition
	data      []ptrace.Span
}

// take hands out room for a transaction of n spans (its root included).
func (a *eventArena) take(n int) (spans []sentry.Span, ptrs []*sentry.Span, positions []SpanPosition, data []ptrace.Span) {
	spans, a.spans = a.spans[:n:n], a.spans[n:]
	ptrs, a.ptrs = a.ptrs[:0:n-1], a.ptrs[n-1:]
	positions, a.positions = a.positions[:0:n], a.positions[n:]
	data, a.data = a.data[:0:n], a.data[n:]
	return spans, ptrs, positions, data
}

// eventJob is one planned piece of output: the transactions of the segment headed by entry (split
// when it is too large), or the error event of one exception of entry.
type eventJob struct {
	entry int
	// events is how many events the job makes: a transaction job makes one per part.
	events int
	// group is a transaction job's member spans.
	group []int
	// The rest describe an error job: the exception's attributes, time and its position among the
	// span's events (the event id's salt).
	isError   bool
	exception pcommon.Map
	timestamp pcommon.Timestamp
	salt      uint64
}

// eventBuilder builds events from a batchTransform that no longer changes, so several builders
// can work on one batch at once; each counts its own repairs.
type eventBuilder struct {
	*batchTransform
	repairs sanitize.Counts
}

// minJobsPerBuilder keeps small batches on one goroutine: starting builders costs more than
// building a few events.
const minJobsPerBuilder = 64

// build makes the events of jobs, in order. Large batches are built by one builder per CPU:
// building is most of the transform's time, and while a push transforms, its senders wait, so a
// single builder left a CPU idle (BenchmarkExporter).
func (b *batchTransform) build(jobs []eventJob) []Event {
	total := 0
	for _, j := range jobs {
		total += j.events
	}
	out := make([]Event, total)
	// Each job's events go to out from offsets[i]; a transaction job's spans (its head and
	// members) to the arenas from spanOffsets[i].
	offsets := make([]int, 2*len(jobs))
	offsets, spanOffsets := offsets[:len(jobs)], offsets[len(jobs):]
	total = 0
	spanTotal := 0
	for i, j := range jobs {
		offsets[i] = total
		total += j.events
		spanOffsets[i] = spanTotal
		if !j.isError {
			spanTotal += 1 + len(j.group)
		}
	}
	sc := b.scratch
	sc.spans = grow(sc.spans, spanTotal)
	sc.ptrs = grow(sc.ptrs, spanTotal)
	sc.positions = grow(sc.positions, spanTotal)
	sc.data = grow(sc.data, spanTotal)
	arenaOf := func(i int) eventArena {
		from, to := spanOffsets[i], spanOffsets[i]+1+len(jobs[i].group)
		return eventArena{spans: sc.spans[from:to], ptrs: sc.ptrs[from:to], positions: sc.positions[from:to], data: sc.data[from:to]}
	}
	buildOne := func(w *eventBuilder, i int) {
		j := jobs[i]
		dst := out[offsets[i] : offsets[i]+j.events]
		if j.isError {
			dst[0] = w.buildErrorEvent(j.entry, j.exception, j.timestamp, j.salt)
			return
		}
		arena := arenaOf(i)
		w.buildTransactions(j, dst, &arena)
	}
	builders := min(runtime.GOMAXPROCS(0), len(jobs)/minJobsPerBuilder)
	if builders <= 1 {
		w := &eventBuilder{batchTransform: b}
		for i := range jobs {
			buildOne(w, i)
		}
		b.repairs.Merge(&w.repairs)
		return out
	}
	ws := make([]eventBuilder, builders)
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := range ws {
		ws[k].batchTransform = b
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				buildOne(&ws[k], i)
			}
		})
	}
	wg.Wait()
	for k := range ws {
		b.repairs.Merge(&ws[k].repairs)
	}
	return out
}

// collectSpans flattens the batch, repairs ids and timestamps, and indexes spans by (trace id,
// span id).
func (b *batchTransform) collectSpans(td ptrace.Traces) {
	n := td.SpanCount()
	if cap(b.scratch.entries) < n {
		b.scratch.entries = make([]spanEntry, 0, n)
	}
	if b.scratch.index == nil {
		b.scratch.index = make(map[spanKey]int, n)
	}
	b.entries, b.index = b.scratch.entries[:0], b.scratch.index
	defer func() { b.scratch.entries = b.entries }()
	ForEachSpan(td, b.collect)
}

// collect indexes one span: its entry with the repaired ids and timestamps every later step reads.
func (b *batchTransform) collect(pos SpanPosition, span ptrace.Span) {
	e := spanEntry{
		pos:      pos,
		span:     span,
		resource: int(pos.Resource),
		traceID:  span.TraceID(),
		spanID:   span.SpanID(),
		parentID: span.ParentSpanID(),
		start:    span.StartTimestamp(),
		end:      span.EndTimestamp(),
		head:     -1,
		parent:   -1,
	}
	if r, ok := b.opts.Retry[pos]; ok {
		e.resend, e.firstAttempt = r.Owes, r.FirstAttempt
	}
	b.repairSpan(&e)
	b.index[keyOf(e.traceID, e.spanID)] = len(b.entries)
	b.entries = append(b.entries, e)
}

// repairSpan makes e acceptable to Sentry, which discards a whole transaction for one span with a
// zero id or an end before its start. Derived ids are stable for the same input, so a retried batch
// gets the same ones.
func (b *batchTransform) repairSpan(e *spanEntry) {
	if e.traceID.IsEmpty() {
		// Spans of one service without a trace id share one derived trace, so their parent links
		// still group them.
		e.traceID = derivedTraceID(b.resources[e.resource].ServiceName)
		b.repairs.Add(sanitize.InvalidID)
	}
	if e.spanID.IsEmpty() {
		e.spanID = derivedSpanID(e.traceID, e.span.Name(), uint64(e.start), uint64(len(b.entries)))
		b.repairs.Add(sanitize.InvalidID)
	}
	if _, dup := b.index[keyOf(e.traceID, e.spanID)]; dup {
		// The first span keeps the id (and its children); this one gets its own.
		e.spanID = derivedSpanID(e.traceID, string(e.spanID[:]), uint64(e.start), uint64(len(b.entries)))
		b.repairs.Add(sanitize.DuplicateSpanID)
	}
	if e.parentID == e.spanID {
		e.parentID = pcommon.SpanID{}
		b.repairs.Add(sanitize.ParentCycle)
	}
	switch {
	case e.start == 0 && e.end == 0:
		e.start, e.end = b.opts.Now, b.opts.Now
		b.repairs.Add(sanitize.TimestampOutOfRange)
	case e.start == 0:
		e.start = e.end
		b.repairs.Add(sanitize.TimestampOutOfRange)
	case e.end == 0:
		e.end = e.start
		b.repairs.Add(sanitize.TimestampOutOfRange)
	case e.end < e.start:
		e.end = e.start
		b.repairs.Add(sanitize.EndBeforeStart)
	}
}

// derivedTraceID stands in for a missing trace id.
func derivedTraceID(service string) pcommon.TraceID {
	h := fnv.New128a()
	_, _ = h.Write([]byte("sentryexporter.derived-trace\x00"))
	_, _ = h.Write([]byte(service))
	var id pcommon.TraceID
	h.Sum(id[:0])
	return id
}

// derivedSpanID stands in for a missing or duplicate span id; it is never all zeros.
func derivedSpanID(traceID pcommon.TraceID, salt string, start, position uint64) pcommon.SpanID {
	h := fnv.New64a()
	_, _ = h.Write(traceID[:])
	_, _ = h.Write([]byte(salt))
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], start)
	binary.BigEndian.PutUint64(buf[8:], position)
	_, _ = h.Write(buf[:])
	sum := h.Sum64() | 1
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], sum)
	return id
}

// assignHeads finds, for every span, the span that heads its transaction.
func (b *batchTransform) assignHeads() {
	entries := b.entries
	for i := range entries {
		e := &entries[i]
		if e.parentID.IsEmpty() {
			continue
		}
		// A span that only owes its error events (OwesErrors) is not part of any transaction of
		// this batch: its children must not be grouped under it, or they would be left out.
		if p, ok := b.index[keyOf(e.traceID, e.parentID)]; ok && p != i && entries[p].resend != OwesErrors {
			e.parent = p
		}
	}
	var path []int
	for i := range entries {
		// Walk up until a span whose head is known or that heads a transaction itself, then give
		// every span on the way that head. A parent cycle ends the walk at the span that closes it.
		path = path[:0]
		cur := i
		for entries[cur].head < 0 && !b.startsTransaction(cur) {
			entries[cur].head = -2 // on the current path
			path = append(path, cur)
			next := entries[cur].parent
			if entries[next].head == -2 {
				cur = next // the span where the cycle closes heads it
				entries[cur].cycle = true
				b.repairs.Add(sanitize.ParentCycle)
				break
			}
			cur = next
		}
		head := entries[cur].head
		if head < 0 {
			head = cur
			entries[cur].head = cur
		}
		for _, p := range path {
			entries[p].head = head
		}
	}
}

// startsTransaction reports whether entry i heads its own transaction.
func (b *batchTransform) startsTransaction(i int) bool {
	e := &b.entries[i]
	if e.parent < 0 {
		return true // no parent, or a parent outside the batch
	}
	flags := e.span.Flags()
	if flags&spanFlagHasIsRemote != 0 && flags&spanFlagIsRemote != 0 {
		return true
	}
	switch e.span.Kind() {
	case ptrace.SpanKindServer, ptrace.SpanKindConsumer:
		return true
	}
	// SDKs that predate the is-remote flag still mark a service boundary by a change of service.
	return b.resources[b.entries[e.parent].resource].ServiceName != b.resources[e.resource].ServiceName
}

// appendTransactionJobs plans one transaction per head, in the order heads appear in the batch.
func (b *batchTransform) appendTransactionJobs(jobs []eventJob) []eventJob {
	entries := b.entries
	// Members are grouped by head with a counting sort into one slice: counts per head, then
	// each head's run, members in batch order.
	offsets := grow(b.scratch.offsets, len(entries)+1)
	clear(offsets)
	heads := 0
	for i := range entries {
		if entries[i].resend == OwesErrors {
			continue
		}
		if h := entries[i].head; h == i {
			heads++
		} else {
			offsets[h+1]++
		}
	}
	for i := range entries {
		offsets[i+1] += offsets[i]
	}
	members := grow(b.scratch.members, offsets[len(entries)])
	fill := grow(b.scratch.fill, len(entries))
	copy(fill, offsets[:len(entries)])
	for i := range entries {
		if entries[i].resend == OwesErrors {
			continue
		}
		if h := entries[i].head; h != i {
			members[fill[h]] = i
			fill[h]++
		}
	}
	b.scratch.offsets, b.scratch.members, b.scratch.fill = offsets, members, fill
	jobs = slices.Grow(jobs, heads)
	for i := range entries {
		if entries[i].resend == OwesErrors || entries[i].head != i {
			continue
		}
		group := members[offsets[i]:offsets[i+1]:offsets[i+1]]
		jobs = append(jobs, eventJob{entry: i, group: group, events: len(group)/MaxSpansPerTransaction + 1})
	}
	return jobs
}

// buildTransactions builds the transactions of the segment headed by job.entry. A segment of
// MaxSpansPerTransaction spans or more is split: the first part keeps the head; later parts are
// headed by their first span, so the parent chain stays intact across the linked transactions, and
// all keep the segment's name. out has room for exactly job.events transactions.
func (b *eventBuilder) buildTransactions(job eventJob, out []Event, arena *eventArena) {
	name := b.transactionName(job.entry)
	h, group := job.entry, job.group
	n := 0
	for len(group) >= MaxSpansPerTransaction {
		out[n] = b.buildTransaction(h, group[:MaxSpansPerTransaction-1], name, arena)
		n++
		group = group[MaxSpansPerTransaction-1:]
		h, group = group[0], group[1:]
	}
	out[n] = b.buildTransaction(h, group, name, arena)
}

// maxTransactionName is Sentry's limit on a transaction name.
const maxTransactionName = 200

// transactionName is how Sentry names the transaction headed by entry h; a span without any name
// gets Sentry's own placeholder rather than an empty name.
func (b *eventBuilder) transactionName(h int) semconv.Span {
	return b.nameOf(h, &b.repairs)
}

// nameOf is transactionName counting its repairs in repairs: an error event names the transaction
// of its span too, and the transaction counts the repair already.
func (b *eventBuilder) nameOf(h int, repairs *sanitize.Counts) semconv.Span {
	head := b.entries[h].span
	name := describe(head)
	if name.Name == "" {
		name.Name = "<unlabeled transaction>"
		name.Source = sentry.SourceCustom
		repairs.Add(sanitize.EmptyName)
	}
	name.Name = sanitize.String(name.Name, maxTransactionName, repairs)
	return name
}

// buildTransaction makes the transaction rooted at entry h with the given member spans, named after
// its segment.
func (b *eventBuilder) buildTransaction(h int, group []int, name semconv.Span, arena *eventArena) Event {
	e := &b.entries[h]
	res := &b.resources[e.resource]
	rootDesc := name // the segment head was described once already, to name the transaction
	if h != e.head {
		rootDesc = describe(e.span) // a later part of a split segment, rooted at a member span
	}
	spans, ptrs, positions, dataSpans := arena.take(1 + len(group))
	root := &spans[0]
	b.fillSpan(root, e, rootDesc)
	ev := &sentry.Event{
		EventID:         eventID(e.traceID[:], e.spanID[:], 0),
		Type:            "transaction",
		Transaction:     name.Name,
		TransactionInfo: &sentry.TransactionInfo{Source: name.Source},
		StartTime:       root.StartTime,
		Timestamp:       root.EndTime,
		Contexts:        map[string]sentry.Context{"trace": traceContextOf(root, e.span.Links().Len() > 0)},
		Environment:     res.Environment,
		Release:         res.Release,
		Platform:        res.Platform,
		ServerName:      res.ServerName,
		Sdk:             sentry.SdkInfo{Name: res.SDKName, Version: res.SDKVersion},
		Tags:            b.tags(res, e.span.Attributes()),
		Spans:           ptrs,
	}
	if res.otelContext != nil {
		ev.Contexts["otel"] = res.otelContext
	}
	positions = append(positions, e.pos)
	dataSpans = append(dataSpans, e.span)
	producers := b.appendProducer(nil, 0, h)
	for i, m := range group {
		child := &spans[1+i]
		b.fillSpan(child, &b.entries[m], describe(b.entries[m].span))
		ev.Spans = append(ev.Spans, child)
		positions = append(positions, b.entries[m].pos)
		dataSpans = append(dataSpans, b.entries[m].span)
		producers = b.appendProducer(producers, 1+i, m)
	}
	return Event{
		Sentry:       ev,
		Category:     ratelimit.CategoryTransaction,
		Sampling:     samplingContext(e.traceID, res, name, b.opts),
		Positions:    positions,
		FirstAttempt: e.firstAttempt,
		DataSpans:    dataSpans,
		producers:    producers,
	}
}

// appendProducer notes the producer of entry i, dataSpans[span] of its event, when i consumes
// messages and the batch holds the span that produced them: its parent, or a span it links to, of
// kind PRODUCER. The trace assembler puts a trace's spans in one batch, so both are usually there.
func (b *eventBuilder) appendProducer(producers []producerOf, span, i int) []producerOf {
	e := &b.entries[i]
	if !semconv.IsMessageConsumer(e.span.Kind(), e.span.Attributes()) {
		return producers
	}
	if e.parent >= 0 && b.entries[e.parent].span.Kind() == ptrace.SpanKindProducer {
		return append(producers, producerOf{span: span, start: b.entries[e.parent].start})
	}
	links := e.span.Links()
	for l := 0; l < links.Len(); l++ {
		link := links.At(l)
		if p, ok := b.index[keyOf(link.TraceID(), link.SpanID())]; ok && b.entries[p].span.Kind() == ptrace.SpanKindProducer {
			return append(producers, producerOf{span: span, start: b.entries[p].start})
		}
	}
	return producers
}

// traceContextOf is contexts.trace for a transaction rooted at span s; its data and, when the root
// has any, its links are the root's, written by Encode.
func traceContextOf(s *sentry.Span, hasLinks bool) sentry.Context {
	ctx := sentry.TraceContext{
		TraceID:      s.TraceID,
		SpanID:       s.SpanID,
		ParentSpanID: s.ParentSpanID,
		Op:           s.Op,
		Description:  s.Description,
		Status:       s.Status,
	}.Map()
	ctx["data"] = eventjson.RootSpanData
	if hasLinks {
		ctx["links"] = eventjson.SpanLinks(eventjson.RootSpanData)
	}
	return ctx
}

// maxOp is Sentry's limit on a span operation.
const maxOp = 128

// describe is semconv.Describe for a span.
func describe(span ptrace.Span) semconv.Span {
	return semconv.Describe(span.Name(), span.Kind(), span.Attributes())
}

// fillSpan maps one OTel span, described as desc, into s, a zero Sentry span.
func (b *eventBuilder) fillSpan(s *sentry.Span, e *spanEntry, desc semconv.Span) {
	span := e.span
	s.TraceID = sentry.TraceID(e.traceID)
	s.SpanID = sentry.SpanID(e.spanID)
	s.Op = sanitize.String(desc.Op, maxOp, &b.repairs)
	s.Description = sanitize.String(desc.Description, sanitize.MaxStringBytes, &b.repairs)
	s.Status = semconv.Status(span.Status().Code(), span.Status().Message(), span.Attributes())
	s.StartTime = e.start.AsTime()
	s.EndTime = e.end.AsTime()
	if !e.parentID.IsEmpty() && !e.cycle {
		s.ParentSpanID = sentry.SpanID(e.parentID)
	}
}

// appendSpanData writes span's data object: its attributes with their types kept, plus the OTel
// facts Sentry has no field for (kind, status message, trace state, events, dropped counts; links
// have a field of their own, see appendSpanLinks). It writes straight from pdata while the event is
// encoded, so the transform builds no map per span; repairs of values (sanitize's rules) are
// counted in counts.
func appendSpanData(dst []byte, span ptrace.Span, producerStart pcommon.Timestamp, counts *sanitize.Counts) []byte {
	dst = append(dst, `{"otel.kind":`...)
	dst = jsonwrite.AppendString(dst, spanKindName(span.Kind()))
	if msg := span.Status().Message(); msg != "" {
		dst = append(dst, `,"otel.status_message":`...)
		dst = jsonwrite.AppendString(dst, sanitize.String(msg, sanitize.MaxStringBytes, counts))
	}
	if ts := span.TraceState().AsRaw(); ts != "" {
		dst = append(dst, `,"otel.trace_state":`...)
		dst = jsonwrite.AppendString(dst, sanitize.String(ts, sanitize.MaxStringBytes, counts))
	}
	for _, c := range [...]struct {
		key string
		n   uint32
	}{
		{`,"otel.dropped_attributes_count":`, span.DroppedAttributesCount()},
		{`,"otel.dropped_events_count":`, span.DroppedEventsCount()},
		{`,"otel.dropped_links_count":`, span.DroppedLinksCount()},
	} {
		if c.n > 0 {
			dst = append(dst, c.key...)
			dst = strconv.AppendUint(dst, uint64(c.n), 10)
		}
	}
	if events := span.Events(); events.Len() > 0 {
		written := 0
		for i := 0; i < events.Len() && written < sanitize.MaxArrayItems; i++ {
			ev := events.At(i)
			if ev.Name() == exceptionEventName {
				continue // exceptions become error events of their own
			}
			if written == 0 {
				dst = append(dst, `,"otel.events":[`...)
			} else {
				dst = append(dst, ',')
			}
			written++
			dst = append(dst, `{"name":`...)
			dst = jsonwrite.AppendString(dst, sanitize.String(ev.Name(), 256, counts))
			dst = append(dst, `,"timestamp":`...)
			dst = jsonwrite.AppendFloat(dst, float64(ev.Timestamp())/1e9, 64)
			if ev.Attributes().Len() > 0 {
				dst = append(dst, `,"attributes":{`...)
				dst, _ = eventjson.AppendAttributes(dst, ev.Attributes(), "", nil, true, counts)
				dst = append(dst, '}')
			}
			dst = append(dst, '}')
		}
		if written > 0 {
			dst = append(dst, ']')
		}
	}
	dst, _ = eventjson.AppendAttributes(dst, span.Attributes(), "", isOTelDataKey, false, counts)
	// The data Sentry's Insights modules read, where the attributes carry it under another key or type.
	dst = semconv.AppendData(dst, span, producerStart, counts)
	return append(dst, '}')
}

// appendSpanLinks writes the links of a span as Sentry's span links protocol has them (an array of
// {trace_id, span_id, sampled, attributes}), or nothing when it has none. sampled is the W3C sampled
// flag, left out when the link carries no flags at all (an SDK that does not record them).
func appendSpanLinks(dst []byte, links ptrace.SpanLinkSlice, counts *sanitize.Counts) []byte {
	if links.Len() == 0 {
		return dst
	}
	dst = append(dst, '[')
	for i := 0; i < links.Len() && i < sanitize.MaxArrayItems; i++ {
		l := links.At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		traceID, spanID := l.TraceID(), l.SpanID()
		dst = append(dst, `{"trace_id":"`...)
		dst = hex.AppendEncode(dst, traceID[:])
		dst = append(dst, `","span_id":"`...)
		dst = hex.AppendEncode(dst, spanID[:])
		dst = append(dst, '"')
		if flags := l.Flags(); flags != 0 {
			dst = append(dst, `,"sampled":`...)
			dst = strconv.AppendBool(dst, flags&0x1 != 0)
		}
		if l.Attributes().Len() > 0 {
			dst = append(dst, `,"attributes":{`...)
			dst, _ = eventjson.AppendAttributes(dst, l.Attributes(), "", nil, true, counts)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// isOTelDataKey reports whether an attribute would collide with a key appendSpanData writes itself;
// such an attribute is left out rather than written twice.
func isOTelDataKey(k string) bool {
	if semconv.IsRewrittenDataKey(k) {
		return true
	}
	switch k {
	case "otel.kind", "otel.status_message", "otel.trace_state", "otel.events",
		"otel.dropped_attributes_count", "otel.dropped_events_count", "otel.dropped_links_count":
		return true
	}
	return false
}

// Encode writes ev's payload JSON to dst, span data included (appendSpanData); repairs made
// to values while writing are counted in counts.
func Encode(enc *eventjson.Encoder, dst []byte, ev *Event, counts *sanitize.Counts) []byte {
	if len(ev.DataSpans) == 0 {
		return enc.Append(dst, ev.Sentry)
	}
	return enc.AppendWithSpans(dst, ev.Sentry, func(dst []byte, i eventjson.SpanData) []byte {
		span := int(i) + 1
		var producerStart pcommon.Timestamp
		for _, p := range ev.producers {
			if p.span == span {
				producerStart = p.start
			}
		}
		return appendSpanData(dst, ev.DataSpans[span], producerStart, counts)
	}, func(dst []byte, i eventjson.SpanData) []byte {
		return appendSpanLinks(dst, ev.DataSpans[int(i)+1].Links(), counts)
	})
}

// spanKindName is the OTel name of a span kind, as Sentry's OTel integration shows it.
func spanKindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "SERVER"
	case ptrace.SpanKindClient:
		return "CLIENT"
	case ptrace.SpanKindProducer:
		return "PRODUCER"
	case ptrace.SpanKindConsumer:
		return "CONSUMER"
	case ptrace.SpanKindInternal:
		return "INTERNAL"
	default:
		return "UNSPECIFIED"
	}
}

// Sentry's limits on tags.
const (
	maxTagKey   = 32
	maxTagValue = 200
)

// tags picks the low-cardinality values Sentry users filter by, within Sentry's tag limits.
func (b *eventBuilder) tags(res *resourceInfo, attrs pcommon.Map) map[string]string {
	tags := make(map[string]string, 4)
	if res.ServiceName != "" {
		tags["service.name"] = sanitize.String(res.ServiceName, maxTagValue, &b.repairs)
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if semconv.IsTagKey(k) && len(k) <= maxTagKey {
			value := strings.ReplaceAll(v.AsString(), "\n", " ")
			tags[k] = sanitize.String(value, maxTagValue, &b.repairs)
		}
		return true
	})
	return tags
}

// samplingContext is the envelope's dynamic sampling context. The collector sees only spans that
// were sampled, so sample_rate is 1 and sampled is true; sample_rand comes from the trace id's
// random low 56 bits (W3C trace-context level 2), so every envelope of a trace agrees on it.
func samplingContext(traceID pcommon.TraceID, res *resourceInfo, desc semconv.Span, opts Options) envelope.SamplingContext {
	sc := envelope.SamplingContext{
		TraceID:     hex.EncodeToString(traceID[:]),
		PublicKey:   opts.PublicKey,
		SampleRate:  "1",
		SampleRand:  sampleRand(traceID),
		Sampled:     "true",
		Environment: res.Environment,
		Release:     res.Release,
		OrgID:       opts.OrgID,
	}
	if desc.Source != sentry.SourceURL {
		sc.Transaction = desc.Name
	}
	return sc
}

// sampleRand maps the trace id's low 56 bits to [0, 1) with six decimals, rounded down so it stays
// below 1.
func sampleRand(traceID pcommon.TraceID) string {
	v := binary.BigEndian.Uint64(traceID[8:]) & (1<<56 - 1)
	micro := v * 1_000_000 >> 56
	return strconv.FormatFloat(float64(micro)/1e6, 'f', 6, 64)
}

// eventID derives a stable event id from ids, so that a retried event keeps its id and Sentry can
// recognise a duplicate. Sentry documents event_id as a uuid4 in 32 lowercase hex digits, so the
// hash gets a version 4 UUID's version and variant bits (122 bits of it remain).
func eventID(traceID, spanID []byte, salt uint64) sentry.EventID {
	h := fnv.New128a()
	_, _ = h.Write(traceID)
	_, _ = h.Write(spanID)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], salt)
	_, _ = h.Write(s[:])
	var buf [16]byte
	sum := h.Sum(buf[:0])
	sum[6] = sum[6]&0x0f | 0x40 // version 4
	sum[8] = sum[8]&0x3f | 0x80 // variant RFC 4122
	return sentry.EventID(hex.EncodeToString(sum))
}

// resourceInfo is what every event from one resource shares, computed once per resource: the
// mapping every signal shares (internal/resource) and the trace side's contexts.otel.
type resourceInfo struct {
	resource.Resource
	// otelContext is contexts.otel: the resource attributes, typed.
	otelContext sentry.Context
}

// newResourceInfos maps each resource of the batch. The resource's own environment wins over the
// configured one, which is the default for resources that name none.
func newResourceInfos(td ptrace.Traces, defaultEnvironment string, repairs *sanitize.Counts) []resourceInfo {
	rss := td.ResourceSpans()
	infos := make([]resourceInfo, rss.Len())
	for i := range infos {
		infos[i] = newResourceInfo(rss.At(i).Resource().Attributes(), defaultEnvironment, repairs)
	}
	return infos
}

func newResourceInfo(attrs pcommon.Map, defaultEnvironment string, repairs *sanitize.Counts) resourceInfo {
	info := resourceInfo{Resource: resource.Map(attrs, defaultEnvironment, repairs)}
	if res := sanitize.Map(attrs, "", repairs); res != nil {
		// Encoded once here rather than in every event of the resource: sorting and escaping
		// the same keys per event took a fifth of the encoder's time.
		var enc eventjson.Encoder
		info.otelContext = sentry.Context{"resource": json.RawMessage(enc.AppendAny(nil, res))}
	}
	return info
}

// Attribute keys of OTel's exception semantic conventions.
const (
	exceptionEventName      = "exception"
	attrExceptionType       = "exception.type"
	attrExceptionMessage    = "exception.message"
	attrExceptionStacktrace = "exception.stacktrace"
	attrExceptionEscaped    = "exception.escaped"
)

// appendErrorJobs plans one Sentry error event per exception: every span event named
// "exception", and a span that carries exception attributes itself (some instrumentations do).
func (b *batchTransform) appendErrorJobs(jobs []eventJob) []eventJob {
	for i := range b.entries {
		e := &b.entries[i]
		if e.resend == OwesTransaction {
			continue
		}
		events := e.span.Events()
		for j := 0; j < events.Len(); j++ {
			ev := events.At(j)
			if ev.Name() != exceptionEventName {
				continue
			}
			ts := ev.Timestamp()
			if ts == 0 {
				ts = e.end
			}
			jobs = append(jobs, eventJob{entry: i, exception: ev.Attributes(), isError: true, timestamp: ts, salt: uint64(j) + 1, events: 1})
		}
		if _, ok := e.span.Attributes().Get(attrExceptionType); ok {
			jobs = append(jobs, eventJob{entry: i, exception: e.span.Attributes(), isError: true, timestamp: e.end, events: 1})
		}
	}
	return jobs
}

// maxBreadcrumbs bounds the span events carried as breadcrumbs on one error event.
const maxBreadcrumbs = 100

// buildErrorEvent makes the error event for one exception of entry i, linked to its span and trace.
// The span's other events before the exception become breadcrumbs.
func (b *eventBuilder) buildErrorEvent(i int, attrs pcommon.Map, ts pcommon.Timestamp, salt uint64) Event {
	e := &b.entries[i]
	span := e.span
	res := &b.resources[e.resource]
	str := func(k string) string {
		if v, ok := attrs.Get(k); ok {
			return sanitize.String(v.AsString(), 64<<10, &b.repairs)
		}
		return ""
	}
	parsed := stacktrace.Parse(res.Language, str(attrExceptionType), str(attrExceptionMessage), str(attrExceptionStacktrace))
	exceptions := parsed.Exceptions
	reported := &exceptions[len(exceptions)-1]
	if reported.Mechanism == nil {
		reported.Mechanism = &sentry.Mechanism{Type: "generic"}
	}
	if v, ok := attrs.Get(attrExceptionEscaped); ok {
		// An exception that escaped the span's scope was not handled there.
		// Python's SDK writes the string "True"; others a boolean.
		escaped := v.Bool() || strings.EqualFold(v.Str(), "true")
		reported.Mechanism.Handled = sentry.Pointer(!escaped)
	}

	desc := describe(span)
	// The transaction counts the repairs of its name; with transactions off, this event does.
	repairs := &b.repairs
	if b.opts.SendTransactions && b.entries[e.head].resend != OwesErrors {
		repairs = new(sanitize.Counts)
	}
	headName := b.nameOf(e.head, repairs)
	trace := sentry.TraceContext{
		TraceID: sentry.TraceID(e.traceID),
		SpanID:  sentry.SpanID(e.spanID),
		Op:      desc.Op,
	}
	if !e.parentID.IsEmpty() && !e.cycle {
		trace.ParentSpanID = sentry.SpanID(e.parentID)
	}
	ev := &sentry.Event{
		EventID:     eventID(e.traceID[:], e.spanID[:], salt),
		Level:       sentry.LevelError,
		Timestamp:   ts.AsTime(),
		Exception:   exceptions,
		Transaction: headName.Name,
		Contexts:    map[string]sentry.Context{"trace": trace.Map()},
		Environment: res.Environment,
		Release:     res.Release,
		Platform:    res.Platform,
		ServerName:  res.ServerName,
		Sdk:         sentry.SdkInfo{Name: res.SDKName, Version: res.SDKVersion},
		Tags:        b.tags(res, span.Attributes()),
		Breadcrumbs: b.breadcrumbs(span, ts),
	}
	if res.otelContext != nil {
		ev.Contexts["otel"] = res.otelContext
	}
	if parsed.Raw != "" {
		// A stack trace in a format we cannot parse is kept whole, so nothing of it is lost.
		ev.Contexts["exception"] = sentry.Context{"stacktrace": parsed.Raw}
	}
	return Event{
		Sentry:       ev,
		Category:     ratelimit.CategoryError,
		Sampling:     samplingContext(e.traceID, res, headName, b.opts),
		Positions:    []SpanPosition{e.pos},
		FirstAttempt: e.firstAttempt,
	}
}

// breadcrumbs turns the span's non-exception events up to the exception's time into breadcrumbs.
func (b *eventBuilder) breadcrumbs(span ptrace.Span, until pcommon.Timestamp) []*sentry.Breadcrumb {
	events := span.Events()
	var out []*sentry.Breadcrumb
	for i := 0; i < events.Len() && len(out) < maxBreadcrumbs; i++ {
		ev := events.At(i)
		if ev.Name() == exceptionEventName || ev.Timestamp() > until {
			continue
		}
		out = append(out, &sentry.Breadcrumb{
			Type:      "default",
			Category:  "otel.event",
			Message:   sanitize.String(ev.Name(), 1024, &b.repairs),
			Data:      sanitize.Map(ev.Attributes(), "", &b.repairs),
			Level:     sentry.LevelInfo,
			Timestamp: ev.Timestamp().AsTime(),
		})
	}
	return out
}

// splitProducers divides producers between the two parts of a transaction split at dataSpans[at],
// renumbering the second part's.
func splitProducers(producers []producerOf, at int) (first, second []producerOf) {
	for _, p := range producers {
		if p.span < at {
			first = append(first, p)
		} else {
			second = append(second, producerOf{span: p.span - at, start: p.start})
		}
	}
	return first, second
}

// Split cuts a transaction with child spans into two: the first keeps the root and the
// first half of the children, the second is rooted at the first span of the other half. Both keep
// the name, trace and parent links, so Sentry's trace view shows the same tree. It reports false
// for a transaction without children, which cannot be split.
func Split(ev Event) (Event, Event, bool) {
	spans := ev.Sentry.Spans
	if ev.Category != ratelimit.CategoryTransaction || len(spans) == 0 {
		return ev, ev, false
	}
	half := len(spans) / 2
	first, second := ev, ev
	firstEvent := *ev.Sentry
	firstEvent.Spans = spans[:half]
	first.Sentry = &firstEvent
	first.Positions = ev.Positions[:1+half]
	first.DataSpans = ev.DataSpans[:1+half]
	first.producers, second.producers = splitProducers(ev.producers, 1+half)

	root := spans[half]
	secondEvent := *ev.Sentry
	secondEvent.EventID = eventID(root.TraceID[:], root.SpanID[:], 0)
	secondEvent.StartTime = root.StartTime
	secondEvent.Timestamp = root.EndTime
	secondEvent.Spans = spans[half+1:]
	secondEvent.Contexts = make(map[string]sentry.Context, len(ev.Sentry.Contexts))
	for k, v := range ev.Sentry.Contexts {
		secondEvent.Contexts[k] = v
	}
	secondEvent.Contexts["trace"] = traceContextOf(root, ev.DataSpans[1+half].Links().Len() > 0)
	second.Sentry = &secondEvent
	second.Positions = ev.Positions[1+half:]
	second.DataSpans = ev.DataSpans[1+half:]
	return first, second, true
}
