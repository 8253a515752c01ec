package assembly

import (
	"hash/maphash"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// heldTrace is the spans of one trace waiting for the trace to go quiet. The same type carries the
// spans of one trace taken from one incoming batch (a fragment) before they are merged, so a trace seen
// for the first time costs no second allocation.
type heldTrace struct {
	id pcommon.TraceID
	// first and last are arrival times of the first and the latest span, as offsets from the
	// assembler's base time (monotonic, immune to wall clock steps).
	first, last time.Duration
	spans       int
	// frags holds the spans, one fragment per incoming batch that carried some of them.
	frags []fragment
	// late marks a trace whose id was emitted before: its spans are follow-ups.
	late bool
	// link chains the trace into the assembler's two lists: by first arrival and by latest arrival.
	link [2]traceLinks
	// headPart and lastPart chain this fragment's parts while a batch is cut (indexes into the cut's
	// parts), so cutting allocates nothing per fragment beyond the heldTrace itself.
	headPart, lastPart int32
}

// fragment is the spans of one trace that arrived in one batch, held as OTLP protobuf: a TracesData
// with one ResourceSpans per resource/scope pair of the batch that the trace's spans carry (resource
// and scope left empty: they are held once, in the registry, and on disk in the record's table).
// Held as bytes, a span costs its protobuf size (about 300 bytes on the test workload) instead of the
// 2-4 KiB of pdata, and the bytes are what storage writes anyway.
type fragment struct {
	rec *record
	// index is the fragment's position in its record, part of its storage key.
	index uint32
	// locals are the record's resource/scope pairs of data's ResourceSpans, in order.
	locals []int32
	spans  int32
	data   []byte
}

// record is one incoming batch as the assembler holds it: the buffer all its fragments are slices of,
// the batch's resources and scopes, and, with storage, the sequence number its keys carry. A record
// lives (in memory and on disk) until its last fragment is handed on.
type record struct {
	seq  uint64
	size int
	// scopes are the registry entries of the batch's resource/scope pairs, by local index.
	scopes []*scopeEntry
	// inMap counts fragments in held traces; live counts fragments not yet handed on (inMap plus those
	// being handed on or waiting for a retry).
	inMap, live int
	stored      bool
}

// traceLinks are one list's neighbours of a trace.
type traceLinks struct{ prev, next *heldTrace }

// Which list a traceList is; the index into heldTrace.link.
const (
	byFirstArrival = 0
	byLastArrival  = 1
)

// traceList is an intrusive doubly linked list of held traces. Ordered by first arrival, its front is
// the oldest trace (for max_wait and max_spans); ordered by latest arrival, its front is the trace
// quiet for longest (for wait). Both make a tick cost proportional to what it emits, not to what is held.
type traceList struct {
	head, tail *heldTrace
	which      int
}

func (l *traceList) pushBack(t *heldTrace) {
	t.link[l.which] = traceLinks{prev: l.tail}
	if l.tail != nil {
		l.tail.link[l.which].next = t
	} else {
		l.head = t
	}
	l.tail = t
}

func (l *traceList) remove(t *heldTrace) {
	lk := t.link[l.which]
	if lk.prev != nil {
		lk.prev.link[l.which].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.link[l.which].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	t.link[l.which] = traceLinks{}
}

func (l *traceList) moveToBack(t *heldTrace) {
	if l.tail == t {
		return
	}
	l.remove(t)
	l.pushBack(t)
}

// resourceEntry is one distinct resource among the held spans, copied once and shared by every held
// trace whose spans carry it, so a resource is not copied per trace.
type resourceEntry struct {
	hash      uint64
	resource  pcommon.Resource
	schemaURL string
	scopes    []*scopeEntry
}

// scopeEntry is one distinct instrumentation scope under a resource. refs counts the held trace groups
// that use it; at zero it leaves the registry. Its pdata never changes after creation, so emission may
// read it without the lock.
type scopeEntry struct {
	res       *resourceEntry
	hash      uint64
	scope     pcommon.InstrumentationScope
	schemaURL string
	refs      int
}

// localGroup is one resource/scope pair of an incoming batch.
type localGroup struct {
	rs    ptrace.ResourceSpans
	ss    ptrace.ScopeSpans
	rHash uint64
	sHash uint64
}

// registry deduplicates resources and scopes across batches. Hash collisions are resolved by comparing
// the pdata, so two different resources never share an entry.
type registry struct {
	resources map[uint64][]*resourceEntry
}

// scopeFor finds or creates the entry for lg. The caller holds the assembler's lock.
func (r *registry) scopeFor(lg *localGroup) *scopeEntry {
	res := r.resourceFor(lg.rs, lg.rHash)
	for _, s := range res.scopes {
		if s.hash == lg.sHash && sameScope(s, lg.ss) {
			return s
		}
	}
	s := &scopeEntry{res: res, hash: lg.sHash, scope: pcommon.NewInstrumentationScope(), schemaURL: lg.ss.SchemaUrl()}
	lg.ss.Scope().CopyTo(s.scope)
	res.scopes = append(res.scopes, s)
	return s
}

func (r *registry) resourceFor(rs ptrace.ResourceSpans, h uint64) *resourceEntry {
	for _, e := range r.resources[h] {
		if sameResource(e, rs) {
			return e
		}
	}
	e := &resourceEntry{hash: h, resource: pcommon.NewResource(), schemaURL: rs.SchemaUrl()}
	rs.Resource().CopyTo(e.resource)
	r.resources[h] = append(r.resources[h], e)
	return e
}

// release drops one reference to s and forgets s, and its resource, once unused, so the registry
// follows the services currently sending rather than every resource ever seen.
func (r *registry) release(s *scopeEntry) {
	s.refs--
	if s.refs > 0 {
		return
	}
	res := s.res
	res.scopes = removeEntry(res.scopes, s)
	if len(res.scopes) > 0 {
		return
	}
	list := removeEntry(r.resources[res.hash], res)
	if len(list) == 0 {
		delete(r.resources, res.hash)
	} else {
		r.resources[res.hash] = list
	}
}

func removeEntry[T comparable](s []T, v T) []T {
	for i := range s {
		if s[i] == v {
			last := len(s) - 1
			s[i] = s[last]
			var zero T
			s[last] = zero
			return s[:last]
		}
	}
	return s
}

func sameResource(e *resourceEntry, rs ptrace.ResourceSpans) bool {
	r := rs.Resource()
	return e.schemaURL == rs.SchemaUrl() &&
		e.resource.DroppedAttributesCount() == r.DroppedAttributesCount() &&
		e.resource.Attributes().Equal(r.Attributes())
}

func sameScope(s *scopeEntry, ss ptrace.ScopeSpans) bool {
	sc := ss.Scope()
	return s.schemaURL == ss.SchemaUrl() && s.scope.Name() == sc.Name() && s.scope.Version() == sc.Version() &&
		s.scope.DroppedAttributesCount() == sc.DroppedAttributesCount() &&
		s.scope.Attributes().Equal(sc.Attributes())
}

// hashResource and hashScope hash what sameResource and sameScope compare. Attribute order does not
// change the hash, matching pcommon.Map.Equal.
func hashResource(seed maphash.Seed, rs ptrace.ResourceSpans) uint64 {
	r := rs.Resource()
	h := maphash.String(seed, rs.SchemaUrl())
	h = mix(h ^ uint64(r.DroppedAttributesCount()))
	return mix(h ^ hashMap(seed, r.Attributes()))
}

func hashScope(seed maphash.Seed, ss ptrace.ScopeSpans) uint64 {
	sc := ss.Scope()
	h := maphash.String(seed, ss.SchemaUrl())
	h = mix(h ^ maphash.String(seed, sc.Name()))
	h = mix(h ^ maphash.String(seed, sc.Version()))
	h = mix(h ^ uint64(sc.DroppedAttributesCount()))
	return mix(h ^ hashMap(seed, sc.Attributes()))
}

// hashMap sums per-entry hashes, so it is independent of attribute order.
func hashMap(seed maphash.Seed, m pcommon.Map) uint64 {
	var sum uint64
	for k, v := range m.All() {
		sum += mix(maphash.String(seed, k)*31 + hashValue(seed, v))
	}
	return sum
}

func hashValue(seed maphash.Seed, v pcommon.Value) uint64 {
	t := uint64(v.Type()) << 56
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return t ^ maphash.String(seed, v.Str())
	case pcommon.ValueTypeInt:
		return mix(t ^ uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return mix(t ^ math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return mix(t | 1)
		}
		return mix(t)
	case pcommon.ValueTypeBytes:
		return t ^ maphash.Bytes(seed, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		return mix(t ^ hashMap(seed, v.Map()))
	case pcommon.ValueTypeSlice:
		h := t
		for _, e := range v.Slice().All() {
			h = mix(h*31 + hashValue(seed, e))
		}
		return h
	}
	return mix(t)
}

// mix is the splitmix64 finalizer: it spreads small integers over all 64 bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// recentTraces remembers recently emitted trace ids, to count spans that arrive after their trace was
// emitted. It is bounded twice: by age (entries older than the horizon expire) and by count (a ring
// that forgets the oldest id when full).
type recentTraces struct {
	at    map[pcommon.TraceID]time.Duration
	ring  []recentEntry
	start int
	n     int
}

type recentEntry struct {
	id pcommon.TraceID
	at time.Duration
}

func newRecentTraces(capacity int) recentTraces {
	return recentTraces{at: make(map[pcommon.TraceID]time.Duration, capacity), ring: make([]recentEntry, capacity)}
}

func (r *recentTraces) contains(id pcommon.TraceID) bool {
	_, ok := r.at[id]
	return ok
}

func (r *recentTraces) add(id pcommon.TraceID, at time.Duration) {
	if r.n == len(r.ring) {
		r.dropOldest()
	}
	r.ring[(r.start+r.n)%len(r.ring)] = recentEntry{id: id, at: at}
	r.n++
	r.at[id] = at
}

// expire forgets ids emitted before horizon.
func (r *recentTraces) expire(horizon time.Duration) {
	for r.n > 0 && r.ring[r.start].at < horizon {
		r.dropOldest()
	}
}

func (r *recentTraces) dropOldest() {
	e := r.ring[r.start]
	// A trace emitted twice has two ring entries; only the newer one owns the map entry.
	if at, ok := r.at[e.id]; ok && at == e.at {
		delete(r.at, e.id)
	}
	r.ring[r.start] = recentEntry{}
	r.start = (r.start + 1) % len(r.ring)
	r.n--
}
