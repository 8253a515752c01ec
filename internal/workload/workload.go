// Package workload generates deterministic, realistic OpenTelemetry trace workloads for the exporter's tests,
// benchmarks and fuzz seeds.
//
// The workload models a small shop: a Node.js frontend, a Java checkout, a Python payments service, a Go
// inventory service and a .NET notifications worker. Each speaks its SDK's dialect (legacy or stable semantic
// conventions, span flags or none, its own stack trace format), so the exporter is exercised on the mix it
// meets in production rather than on hand-written spans. Everything is drawn from a PCG generator seeded by
// Config.Seed, timestamps included, so the same seed always yields byte-identical OTLP.
package workload

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Defaults for Config's zero values.
const (
	// DefaultBatchSize is the batch processor's default send_batch_size.
	DefaultBatchSize = 512
	// DefaultConcurrency is how many traces are in flight at once when Config.Concurrency is not set. At 20,
	// with a 512-span batch, 65-90% of the traces of a 100-trace workload straddle a batch boundary (seeds
	// 0-59), which is the case the exporter's grouping must handle.
	DefaultConcurrency = 20
)

// Config selects the workload. The zero value of each field but Traces means its default.
type Config struct {
	// Seed makes the workload reproducible: equal seeds give byte-identical batches.
	Seed int64
	// Traces is the number of distinct trace ids generated (a message consumer that starts a new trace counts
	// as one). Zero or negative yields no batches.
	Traces int
	// BatchSize is the number of spans per batch; the last batch may be shorter. Spans are cut in the order
	// they reach the collector, as the batch processor does: each service's SDK exports its ended spans, in
	// end order, every 5 s or whenever 512 are queued, and the exports of all services interleave. So a trace
	// that crosses services arrives in several exports and usually lands in several batches. Default 512.
	BatchSize int
	// Concurrency is the number of traces in flight at once; it drives how traces interleave within each
	// export. Default 20.
	Concurrency int
}

// Summary describes what Generate produced, so tests can assert exactly-once delivery and grouping without
// re-deriving it from the batches.
type Summary struct {
	// Spans is the number of spans over all batches.
	Spans int
	// Traces is the number of distinct trace ids.
	Traces int
	// SpanIDs holds every generated span id, in arrival (batch) order.
	SpanIDs []pcommon.SpanID
	// Segments counts the spans that start a Sentry transaction: root spans (no parent), spans whose parent is
	// flagged remote (flags bit 0x200), and SERVER or CONSUMER spans.
	Segments int
	// Exceptions counts span events named "exception".
	Exceptions int
	// CrossBatch counts traces whose spans landed in more than one batch.
	CrossBatch int
}

// Generate builds the workload described by cfg and returns it cut into batches, plus a Summary of it.
// A Config with Traces <= 0 yields no batches and a zero Summary.
func Generate(cfg Config) ([]ptrace.Traces, Summary) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Traces <= 0 {
		return nil, Summary{}
	}
	g := newGenerator(cfg.Seed, cfg.Traces)
	g.run(cfg.Concurrency)
	return g.cut(cfg.BatchSize)
}

// Small returns a single batch of a handful of traces that together contain every kind of span the workload
// knows: HTTP server and client (stable and legacy keys), internal, PostgreSQL, MySQL, Redis and MongoDB
// clients, gRPC client and server, Kafka and RabbitMQ producers, consumers as children and linked (in a new
// trace and in the same trace), a remote-parent entry, a root INTERNAL job, 4xx and 5xx responses, and
// exceptions in Java, Python, Go, Node.js and .NET format. It is meant for golden tests and fuzz seeds.
func Small(seed int64) ptrace.Traces {
	g := newGenerator(seed, math.MaxInt)
	g.runSmall()
	batches, _ := g.cut(math.MaxInt)
	if len(batches) == 0 {
		return ptrace.NewTraces()
	}
	return batches[0]
}

// MarshalOTLP encodes td as OTLP protobuf, the form the collector's receivers accept and the fuzz targets
// start from. It returns nil only if the protobuf marshaler fails, which it does not for valid pdata.
func MarshalOTLP(td ptrace.Traces) []byte {
	var m ptrace.ProtoMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		return nil
	}
	return b
}

// spanRec is the bookkeeping for one finished span, kept apart from the span itself so that sorting into
// arrival order moves 32 bytes per span rather than pdata.
type spanRec struct {
	end     uint64
	arrival uint64 // when the span's SDK export reaches the collector
	idx     int32  // position in generator.staging, also the tie-break for equal end times
	trace   int32
	svc     serviceID
	scope   scopeID
}

// openSpan is a span being built.
type openSpan struct {
	span  ptrace.Span
	id    pcommon.SpanID
	idx   int32
	trace int32
	svc   serviceID
	scope scopeID
}

// traceCtx is one trace id and the plan its spans follow.
type traceCtx struct {
	id   pcommon.TraceID
	idx  int32
	plan *tracePlan
}

// generator holds the state of one Generate or Small call. Nothing is shared between calls.
type generator struct {
	rng      *rand.Rand
	base     uint64 // nanoseconds since the epoch of the first trace
	svcs     [numServices]service
	scopes   [numScopes]scope
	pods     [numServices]pod
	staging  ptrace.SpanSlice // spans in creation order, moved into batches by cut
	recs     []spanRec
	traces   int // trace ids handed out
	quota    int // trace ids allowed
	segments int
	excs     int
	buf      []byte // scratch for building attribute values
}

// baseEpoch is 2025-01-01T00:00:00Z; the seed picks a day in the year after it, so timestamps look current
// without depending on the wall clock.
const baseEpoch = 1_735_689_600 * uint64(1e9)

// newGenerator seeds a generator; quota is the number of trace ids it may hand out.
func newGenerator(seed int64, quota int) *generator {
	s := uint64(seed)
	g := &generator{
		rng:     rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)),
		svcs:    services(),
		scopes:  scopes(),
		staging: ptrace.NewSpanSlice(),
		quota:   quota,
		buf:     make([]byte, 0, 256),
	}
	g.base = baseEpoch + g.rng.Uint64N(365*24*3600)*uint64(1e9) + g.rng.Uint64N(uint64(1e9))
	for i := range g.pods {
		r := g.rng.Uint64()
		g.pods[i] = pod{
			name: podName(g.svcs[i].podPrefix, r),
			host: hostName(r >> 20),
			pid:  int64(1 + r>>50%65000),
		}
	}
	return g
}

// newTrace hands out a trace id. ok is false when the quota of traces is used up.
func (g *generator) newTrace(plan *tracePlan) (*traceCtx, bool) {
	if g.traces >= g.quota {
		return nil, false
	}
	var id pcommon.TraceID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:8], g.rng.Uint64())
		binary.BigEndian.PutUint64(id[8:], g.rng.Uint64())
	}
	t := &traceCtx{id: id, idx: int32(g.traces), plan: plan}
	g.traces++
	return t, true
}

// newSpanID draws a span id, never the invalid all-zero id.
func (g *generator) newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		binary.BigEndian.PutUint64(id[:], g.rng.Uint64())
	}
	return id
}

// open starts a span. remote says the parent is in another process (came in over the wire).
func (g *generator) open(t *traceCtx, sc scopeID, parent pcommon.SpanID, remote bool, kind ptrace.SpanKind,
	name string, start uint64,
) openSpan {
	svc := g.scopes[sc].svc
	sp := g.staging.AppendEmpty()
	id := g.newSpanID()
	sp.SetTraceID(t.id)
	sp.SetSpanID(id)
	if !parent.IsEmpty() {
		sp.SetParentSpanID(parent)
	}
	flags := g.svcs[svc].spanFlags(remote)
	sp.SetFlags(flags)
	sp.SetKind(kind)
	sp.SetName(name)
	sp.SetStartTimestamp(pcommon.Timestamp(start))
	if parent.IsEmpty() || flags&flagIsRemote != 0 || kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer {
		g.segments++
	}
	return openSpan{span: sp, id: id, idx: int32(g.staging.Len() - 1), trace: t.idx, svc: svc, scope: sc}
}

// finish ends a span; from here on it is ready to be "exported".
func (g *generator) finish(o openSpan, end uint64) {
	o.span.SetEndTimestamp(pcommon.Timestamp(end))
	g.recs = append(g.recs, spanRec{end: end, idx: o.idx, trace: o.trace, svc: o.svc, scope: o.scope})
}

// fail marks a span as failed with an exception event, as SDKs do on RecordException + SetStatus(Error).
func (g *generator) fail(o openSpan, exc exception, at uint64, escaped bool) {
	o.span.Status().SetCode(ptrace.StatusCodeError)
	g.exception(o, exc, at, escaped)
}

// exception adds an "exception" event without touching the status (a handled exception when escaped is
// false). exception.escaped is written as each SDK does: a boolean, Python's string, or absent for Go.
func (g *generator) exception(o openSpan, exc exception, at uint64, escaped bool) {
	ev := o.span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.Timestamp(at))
	m := ev.Attributes()
	m.EnsureCapacity(4)
	m.PutStr("exception.type", exc.typ)
	m.PutStr("exception.message", exc.message)
	m.PutStr("exception.stacktrace", exc.stack)
	switch g.svcs[o.svc].lang {
	case langGo:
		// RecordError does not know whether the error escapes.
	case langPython:
		// The Python SDK writes str(escaped): the strings "True" and "False", not a boolean.
		if escaped {
			m.PutStr("exception.escaped", "True")
		} else {
			m.PutStr("exception.escaped", "False")
		}
	default:
		m.PutBool("exception.escaped", escaped)
	}
	g.excs++
}

// run generates traces until the quota is reached. Concurrency workers each run one trace after another,
// like request threads; a new trace starts on whichever worker frees up first.
func (g *generator) run(concurrency int) {
	free := make([]uint64, concurrency)
	for i := range free {
		free[i] = g.base + g.rng.Uint64N(20*ms)
	}
	largeAt := g.rng.IntN(largeEvery - 5)
	for g.traces < g.quota {
		w := 0
		for i := range free {
			if free[i] < free[w] {
				w = i
			}
		}
		large := false
		if g.traces >= largeAt {
			large = true
			block := g.traces/largeEvery + 1
			largeAt = block*largeEvery + g.rng.IntN(largeEvery-5)
		}
		plan := g.randomPlan(large)
		start := free[w] + g.us(100, 15_000)
		free[w] = g.runPlan(plan, start)
	}
}

// SDK export behaviour: every SDK's BatchSpanProcessor defaults to a 5 s schedule delay and 512-span exports.
const (
	sdkScheduleDelay = 5_000 * ms
	sdkExportBatch   = 512
)

// arrive sets each span's arrival time at the collector. A span does not reach the collector when it ends:
// its service's SDK queues it and exports the queue every sdkScheduleDelay, or as soon as sdkExportBatch
// spans are waiting. So the collector receives each service's spans in chunks, in end order within a chunk,
// and a trace that touches several services arrives in several chunks, which is why real traces straddle
// the batch processor's batches. Each service's export timer has its own phase.
func (g *generator) arrive() {
	slices.SortFunc(g.recs, func(a, b spanRec) int {
		if c := cmp.Compare(a.end, b.end); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	for svc := range numServices {
		tick := g.base + g.rng.Uint64N(sdkScheduleDelay)
		var pending []int
		var last uint64
		flush := func(at uint64) {
			arrival := max(last, at+g.us(500, 8_000))
			for _, i := range pending {
				g.recs[i].arrival = arrival
			}
			pending, last = pending[:0], arrival
		}
		for i := range g.recs {
			r := &g.recs[i]
			if r.svc != svc {
				continue
			}
			for tick < r.end {
				if len(pending) > 0 {
					flush(tick)
				}
				tick += sdkScheduleDelay
			}
			pending = append(pending, i)
			if len(pending) == sdkExportBatch {
				flush(r.end)
				tick = r.end + sdkScheduleDelay // the export resets the processor's timer
			}
		}
		if len(pending) > 0 {
			flush(tick)
		}
	}
	slices.SortFunc(g.recs, func(a, b spanRec) int {
		if c := cmp.Compare(a.arrival, b.arrival); c != 0 {
			return c
		}
		if c := cmp.Compare(a.svc, b.svc); c != 0 {
			return c
		}
		if c := cmp.Compare(a.end, b.end); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// cut puts the finished spans into arrival order, slices them into batches of size spans, as the batch
// processor does, and groups each batch by resource and scope.
func (g *generator) cut(size int) ([]ptrace.Traces, Summary) {
	g.arrive()
	sum := Summary{
		Spans:      len(g.recs),
		Traces:     g.traces,
		SpanIDs:    make([]pcommon.SpanID, 0, len(g.recs)),
		Segments:   g.segments,
		Exceptions: g.excs,
	}
	firstBatch := make([]int32, g.traces)
	for i := range firstBatch {
		firstBatch[i] = -1
	}
	crossed := make([]bool, g.traces)
	var out []ptrace.Traces
	for b := 0; b*size < len(g.recs) && b*size >= 0; b++ {
		lo := b * size
		hi := len(g.recs)
		if size < hi-lo {
			hi = lo + size
		}
		chunk := g.recs[lo:hi]
		for _, r := range chunk {
			switch {
			case firstBatch[r.trace] < 0:
				firstBatch[r.trace] = int32(b)
			case firstBatch[r.trace] != int32(b) && !crossed[r.trace]:
				crossed[r.trace] = true
				sum.CrossBatch++
			}
			sum.SpanIDs = append(sum.SpanIDs, g.staging.At(int(r.idx)).SpanID())
		}
		out = append(out, g.assemble(chunk))
	}
	return out, sum
}

// assemble moves a chunk of spans into one ptrace.Traces: one ResourceSpans per service, one ScopeSpans per
// scope, in order of first arrival, spans in arrival order within their scope.
func (g *generator) assemble(chunk []spanRec) ptrace.Traces {
	td := ptrace.NewTraces()
	var perScope [numScopes]int
	for _, r := range chunk {
		perScope[r.scope]++
	}
	var rsIdx [numServices]int
	for i := range rsIdx {
		rsIdx[i] = -1
	}
	var spansOf [numScopes]ptrace.SpanSlice
	var opened [numScopes]bool
	for _, r := range chunk {
		if !opened[r.scope] {
			if rsIdx[r.svc] < 0 {
				rsIdx[r.svc] = td.ResourceSpans().Len()
				fillResource(td.ResourceSpans().AppendEmpty(), &g.svcs[r.svc], &g.pods[r.svc])
			}
			ss := td.ResourceSpans().At(rsIdx[r.svc]).ScopeSpans().AppendEmpty()
			fillScope(ss, &g.scopes[r.scope])
			spansOf[r.scope] = ss.Spans()
			spansOf[r.scope].EnsureCapacity(perScope[r.scope])
			opened[r.scope] = true
		}
		g.staging.At(int(r.idx)).MoveTo(spansOf[r.scope].AppendEmpty())
	}
	return td
}
