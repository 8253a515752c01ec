// Package eventjson writes Sentry transactions and error events as JSON without reflection.
//
// encoding/json spends most of the exporter's encoding time walking sentry.Event by reflection,
// boxing map values and sorting keys through interfaces; one transaction of twenty spans costs
// hundreds of allocations. This package appends the same JSON, field by field, to a caller's buffer.
//
// The output decodes to what json.Marshal of the same *sentry.Event decodes to, with these
// intentional differences:
//   - timestamps (of the event, its spans and breadcrumbs) are float seconds with microsecond
//     precision (Sentry accepts both; this is shorter than RFC 3339), trailing zeros of the fraction
//     left out;
//   - sentry-go's always-present "user":{} and "sdk":{} are left out when empty;
//   - the exception and breadcrumbs interfaces are {"values":[...]}, Sentry's documented shape, where
//     sentry-go writes bare arrays (Relay takes both; Spotlight and sentry-cli take only the documented
//     one for exceptions, sentry-cli for breadcrumbs too);
//   - a transaction always has "spans", [] when it has no child span (sentry-cli requires the field);
//   - NaN and ±Inf, which make json.Marshal fail on the whole event, are written as the strings
//     "NaN", "+Inf" and "-Inf";
//   - a value nested deeper than maxDepth maps and arrays is written as null, where encoding/json
//     would recurse until it detects a cycle;
//   - a value of a type this package does not know that encoding/json cannot encode either is
//     written as null.
//
// Events whose type is not "transaction" are written as error events, the way sentry-go does: without
// type, start_timestamp, spans and transaction_info.
package eventjson

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
)

// maxDepth bounds how deeply nested maps and arrays are written. Values come from OTLP attributes,
// which can nest arbitrarily (or, for a hand-built map, contain themselves); a bound keeps the
// encoder from exhausting the stack. Sentry's ingestion trims far shallower trees anyway.
const maxDepth = 100

const transactionType = "transaction"

// Append writes ev as Sentry event JSON to dst and returns the extended slice. A nil event is
// written as null. It is a convenience for a single call; an Encoder reused between events avoids
// the allocations of its key-sorting scratch space.
func Append(dst []byte, ev *sentry.Event) []byte {
	// Room for the entries of a typical event's maps at once, so the stacks grow once at most.
	e := Encoder{pairs: make([]pair, 0, 32), strPairs: make([]strPair, 0, 16)}
	return e.Append(dst, ev)
}

// Encoder writes events like Append and keeps the scratch space used to sort map keys between
// calls, so that encoding an event allocates nothing beyond growing dst. An Encoder is not safe for
// concurrent use; keep one per worker, beside that worker's buffer. The zero value is ready.
type Encoder struct {
	// pairs is a stack of the entries of the maps being written, one frame per nesting level: a
	// map's entries are pushed, sorted, written and popped, so nested maps share one slice.
	pairs []pair
	// strPairs is the same for map[string]string, which would otherwise box every value.
	strPairs []strPair
}

type pair struct {
	k string
	v any
}

type strPair struct {
	k, v string
}

// Append writes ev as Sentry event JSON to dst and returns the extended slice. A nil event is
// written as null.
func (e *Encoder) Append(dst []byte, ev *sentry.Event) []byte {
	return e.AppendWithData(dst, ev, nil)
}

// SpanData stands, in an event, for span data that a DataWriter writes straight from its source
// (OTel attributes) while the event is encoded, so the transform need not build a map per span.
// As a value in a context (contexts.trace.data) it names the span the DataWriter is asked for; a
// span with no Data of its own gets its data from the DataWriter with its index in Spans.
type SpanData int

// RootSpanData is the SpanData of a transaction's own root span, whose data is contexts.trace.data.
const RootSpanData SpanData = -1

// DataWriter appends the JSON object holding the data of span i (RootSpanData for the root, else
// the index in the event's Spans).
type DataWriter func(dst []byte, i SpanData) []byte

// SpanLinks stands, as a value in a context (contexts.trace.links), for the links of the span it
// names, which a LinksWriter writes while the event is encoded.
type SpanLinks SpanData

// LinksWriter appends the JSON array of the links of span i (RootSpanData for the root, else the
// index in the event's Spans), or returns dst unchanged when the span has none. Sentry's span links
// protocol puts them in spans[i].links and, for the root, contexts.trace.links.
type LinksWriter func(dst []byte, i SpanData) []byte

// AppendAny writes v as it would be written inside an event (maps with sorted keys, the same
// types and repairs), for values many events share: the caller keeps the result as a
// json.RawMessage, which encoding then copies instead of writing v again.
func (e *Encoder) AppendAny(dst []byte, v any) []byte {
	w := writer{enc: e, dst: dst}
	w.value(v, 0)
	return w.dst
}

// AppendWithData is Append with span data taken from data (see SpanData); data may be nil.
func (e *Encoder) AppendWithData(dst []byte, ev *sentry.Event, data DataWriter) []byte {
	return e.AppendWithSpans(dst, ev, data, nil)
}

// AppendWithSpans is AppendWithData with span links taken from links (see SpanLinks); either may
// be nil.
func (e *Encoder) AppendWithSpans(dst []byte, ev *sentry.Event, data DataWriter, links LinksWriter) []byte {
	if ev == nil {
		return append(dst, "null"...)
	}
	w := writer{enc: e, dst: dst, data: data, links: links}
	w.event(ev)
	return w.dst
}

// writer is the state of one Append: the output and whether the object being written has a field.
type writer struct {
	enc   *Encoder
	dst   []byte
	first bool
	// data writes span data held outside the event; nil when all data is in the event.
	data DataWriter
	// links writes span links held outside the event; nil when there are none.
	links LinksWriter
}

func (w *writer) open() {
	w.dst = append(w.dst, '{')
	w.first = true
}

func (w *writer) close() {
	w.dst = append(w.dst, '}')
	w.first = false
}

// key writes a field name known to need no escaping.
func (w *writer) key(k string) {
	if !w.first {
		w.dst = append(w.dst, ',')
	}
	w.first = false
	w.dst = append(w.dst, '"')
	w.dst = append(w.dst, k...)
	w.dst = append(w.dst, '"', ':')
}

func (w *writer) str(s string) { w.dst = jsonwrite.AppendString(w.dst, s) }

func (w *writer) strField(k, v string) {
	if v != "" {
		w.key(k)
		w.str(v)
	}
}

func (w *writer) intField(k string, v int) {
	if v != 0 {
		w.key(k)
		w.dst = strconv.AppendInt(w.dst, int64(v), 10)
	}
}

func (w *writer) boolField(k string, v bool) {
	if v {
		w.key(k)
		w.dst = append(w.dst, "true"...)
	}
}

func (w *writer) timeField(k string, t time.Time) {
	if !t.IsZero() {
		w.key(k)
		w.dst = AppendTimestamp(w.dst, t)
	}
}

func (w *writer) event(ev *sentry.Event) {
	transaction := ev.Type == transactionType
	w.open()
	w.strField("event_id", string(ev.EventID))
	if transaction {
		w.strField("type", ev.Type)
	}
	w.strField("transaction", ev.Transaction)
	if transaction && ev.TransactionInfo != nil {
		w.key("transaction_info")
		w.open()
		w.strField("source", string(ev.TransactionInfo.Source))
		w.close()
	}
	if transaction {
		w.timeField("start_timestamp", ev.StartTime)
	}
	w.timeField("timestamp", ev.Timestamp)
	w.strField("level", string(ev.Level))
	w.strField("platform", ev.Platform)
	w.strField("environment", ev.Environment)
	w.strField("release", ev.Release)
	w.strField("dist", ev.Dist)
	w.strField("server_name", ev.ServerName)
	w.strField("logger", ev.Logger)
	w.strField("message", ev.Message)
	w.sdk(&ev.Sdk)
	w.user(&ev.User)
	if len(ev.Fingerprint) > 0 {
		w.key("fingerprint")
		w.strings(ev.Fingerprint)
	}
	if len(ev.Tags) > 0 {
		w.key("tags")
		w.stringMap(ev.Tags)
	}
	if len(ev.Modules) > 0 {
		w.key("modules")
		w.stringMap(ev.Modules)
	}
	if len(ev.Contexts) > 0 {
		w.key("contexts")
		w.contexts(ev.Contexts)
	}
	if len(ev.Exception) > 0 {
		w.key("exception")
		w.exceptions(ev.Exception)
	}
	if transaction {
		w.key("spans")
		w.dst = append(w.dst, '[')
		for i, s := range ev.Spans {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			w.span(s, i)
		}
		w.dst = append(w.dst, ']')
	}
	if len(ev.Breadcrumbs) > 0 {
		w.key("breadcrumbs")
		w.breadcrumbs(ev.Breadcrumbs)
	}
	// Fields the exporter never sets: rare enough that encoding/json serves them.
	if len(ev.Threads) > 0 {
		w.key("threads")
		w.fallback(ev.Threads)
	}
	if ev.Request != nil {
		w.key("request")
		w.fallback(ev.Request)
	}
	if ev.DebugMeta != nil {
		w.key("debug_meta")
		w.fallback(ev.DebugMeta)
	}
	w.close()
}

// breadcrumbs writes the breadcrumbs interface as {"values":[...]}, its documented shape: Relay also
// takes a bare array (sentry-go's form), Sentry's Rust protocol types (sentry-cli) do not.
func (w *writer) breadcrumbs(bs []*sentry.Breadcrumb) {
	w.dst = append(w.dst, `{"values":[`...)
	for i, b := range bs {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		if b == nil {
			w.dst = append(w.dst, "null"...)
			continue
		}
		w.open()
		w.strField("type", b.Type)
		w.strField("category", b.Category)
		w.strField("message", b.Message)
		w.strField("level", string(b.Level))
		w.timeField("timestamp", b.Timestamp)
		if len(b.Data) > 0 {
			w.key("data")
			w.anyMap(b.Data, 0)
		}
		w.close()
	}
	w.dst = append(w.dst, "]}"...)
}

func (w *writer) sdk(s *sentry.SdkInfo) {
	if s.Name == "" && s.Version == "" && len(s.Integrations) == 0 && len(s.Packages) == 0 {
		return
	}
	w.key("sdk")
	w.open()
	w.strField("name", s.Name)
	w.strField("version", s.Version)
	if len(s.Integrations) > 0 {
		w.key("integrations")
		w.strings(s.Integrations)
	}
	if len(s.Packages) > 0 {
		w.key("packages")
		w.dst = append(w.dst, '[')
		for i, p := range s.Packages {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			w.open()
			w.strField("name", p.Name)
			w.strField("version", p.Version)
			w.close()
		}
		w.dst = append(w.dst, ']')
	}
	w.close()
}

func (w *writer) user(u *sentry.User) {
	if u.IsEmpty() {
		return
	}
	w.key("user")
	w.open()
	w.strField("id", u.ID)
	w.strField("email", u.Email)
	w.strField("ip_address", u.IPAddress)
	w.strField("username", u.Username)
	w.strField("name", u.Name)
	if len(u.Data) > 0 {
		w.key("data")
		w.stringMap(u.Data)
	}
	w.close()
}

// contexts writes the event's contexts. Their values are plain maps, but the trace context holds
// sentry-go's id and status types, which value knows.
func (w *writer) contexts(cs map[string]sentry.Context) {
	e := w.enc
	start := len(e.pairs)
	for k, c := range cs {
		// A sentry.Context is a map[string]any; boxing a map stores its pointer, no allocation.
		e.pairs = append(e.pairs, pair{k, c})
	}
	w.sortedPairs(start, 0)
}

func (w *writer) exceptions(xs []sentry.Exception) {
	w.dst = append(w.dst, `{"values":[`...)
	for i := range xs {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		x := &xs[i]
		w.open()
		w.strField("type", x.Type)
		w.strField("value", x.Value)
		w.strField("module", x.Module)
		if x.ThreadID != 0 {
			w.key("thread_id")
			w.dst = strconv.AppendUint(w.dst, x.ThreadID, 10)
		}
		if x.Stacktrace != nil {
			w.key("stacktrace")
			w.stacktrace(x.Stacktrace)
		}
		if x.Mechanism != nil {
			w.key("mechanism")
			w.mechanism(x.Mechanism)
		}
		w.close()
	}
	w.dst = append(w.dst, "]}"...)
}

func (w *writer) stacktrace(st *sentry.Stacktrace) {
	w.open()
	if len(st.Frames) > 0 {
		w.key("frames")
		w.dst = append(w.dst, '[')
		for i := range st.Frames {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			w.frame(&st.Frames[i])
		}
		w.dst = append(w.dst, ']')
	}
	if len(st.FramesOmitted) > 0 {
		w.key("frames_omitted")
		w.dst = append(w.dst, '[')
		for i, n := range st.FramesOmitted {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			w.dst = strconv.AppendUint(w.dst, uint64(n), 10)
		}
		w.dst = append(w.dst, ']')
	}
	w.close()
}

func (w *writer) frame(f *sentry.Frame) {
	w.open()
	w.strField("function", f.Function)
	w.strField("symbol", f.Symbol)
	w.strField("module", f.Module)
	w.strField("package", f.Package)
	w.strField("filename", f.Filename)
	w.strField("abs_path", f.AbsPath)
	w.intField("lineno", f.Lineno)
	w.intField("colno", f.Colno)
	if len(f.PreContext) > 0 {
		w.key("pre_context")
		w.strings(f.PreContext)
	}
	w.strField("context_line", f.ContextLine)
	if len(f.PostContext) > 0 {
		w.key("post_context")
		w.strings(f.PostContext)
	}
	// in_app is always written: Sentry treats a missing in_app differently from false.
	w.key("in_app")
	w.dst = strconv.AppendBool(w.dst, f.InApp)
	if len(f.Vars) > 0 {
		w.key("vars")
		w.anyMap(f.Vars, 0)
	}
	w.strField("instruction_addr", f.InstructionAddr)
	w.strField("addr_mode", f.AddrMode)
	w.strField("symbol_addr", f.SymbolAddr)
	w.strField("image_addr", f.ImageAddr)
	w.strField("platform", f.Platform)
	w.boolField("stack_start", f.StackStart)
	w.close()
}

func (w *writer) mechanism(m *sentry.Mechanism) {
	w.open()
	// type and exception_id have no omitempty in sentry-go; they are always written.
	w.key("type")
	w.str(m.Type)
	w.strField("description", m.Description)
	w.strField("help_link", m.HelpLink)
	w.strField("source", m.Source)
	if m.Handled != nil {
		w.key("handled")
		w.dst = strconv.AppendBool(w.dst, *m.Handled)
	}
	if m.ParentID != nil {
		w.key("parent_id")
		w.dst = strconv.AppendInt(w.dst, int64(*m.ParentID), 10)
	}
	w.key("exception_id")
	w.dst = strconv.AppendInt(w.dst, int64(m.ExceptionID), 10)
	w.boolField("is_exception_group", m.IsExceptionGroup)
	if len(m.Data) > 0 {
		w.key("data")
		w.anyMap(m.Data, 0)
	}
	w.close()
}

func (w *writer) span(s *sentry.Span, i int) {
	if s == nil {
		w.dst = append(w.dst, "null"...)
		return
	}
	w.open()
	w.key("trace_id")
	w.dst = jsonwrite.AppendHex(w.dst, s.TraceID[:])
	w.key("span_id")
	w.dst = jsonwrite.AppendHex(w.dst, s.SpanID[:])
	if s.ParentSpanID != (sentry.SpanID{}) {
		w.key("parent_span_id")
		w.dst = jsonwrite.AppendHex(w.dst, s.ParentSpanID[:])
	}
	w.strField("name", s.Name)
	w.strField("op", s.Op)
	w.strField("description", s.Description)
	if s.Status != sentry.SpanStatusUndefined {
		w.key("status")
		w.status(s.Status)
	}
	w.timeField("start_timestamp", s.StartTime)
	w.timeField("timestamp", s.EndTime)
	w.strField("origin", string(s.Origin))
	if len(s.Tags) > 0 {
		w.key("tags")
		w.stringMap(s.Tags)
	}
	if w.links != nil {
		mark, first := len(w.dst), w.first
		w.key("links")
		keyEnd := len(w.dst)
		if w.dst = w.links(w.dst, SpanData(i)); len(w.dst) == keyEnd {
			w.dst, w.first = w.dst[:mark], first // no links: no key
		}
	}
	switch {
	case len(s.Data) > 0:
		w.key("data")
		w.anyMap(s.Data, 0)
	case w.data != nil:
		w.key("data")
		w.dst = w.data(w.dst, SpanData(i))
	}
	w.close()
}

// status writes a span status by name; a value sentry-go does not know is null, as it writes it.
func (w *writer) status(s sentry.SpanStatus) {
	name := s.String()
	if name == "" {
		w.dst = append(w.dst, "null"...)
		return
	}
	w.str(name)
}

func (w *writer) strings(ss []string) {
	w.dst = append(w.dst, '[')
	for i, s := range ss {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		w.str(s)
	}
	w.dst = append(w.dst, ']')
}

// stringMap writes m with its keys sorted, so equal maps give equal bytes.
func (w *writer) stringMap(m map[string]string) {
	e := w.enc
	start := len(e.strPairs)
	for k, v := range m {
		e.strPairs = append(e.strPairs, strPair{k, v})
	}
	ps := e.strPairs[start:]
	sortPairs(ps, func(p strPair) string { return p.k })
	w.dst = append(w.dst, '{')
	for i := range ps {
		if i > 0 {
			w.dst = append(w.dst, ',')
		}
		w.str(ps[i].k)
		w.dst = append(w.dst, ':')
		w.str(ps[i].v)
	}
	w.dst = append(w.dst, '}')
	clear(ps)
	e.strPairs = e.strPairs[:start]
}

// anyMap writes m with its keys sorted.
func (w *writer) anyMap(m map[string]any, depth int) {
	e := w.enc
	start := len(e.pairs)
	for k, v := range m {
		e.pairs = append(e.pairs, pair{k, v})
	}
	w.sortedPairs(start, depth)
}

// sortedPairs sorts and writes the map entries pushed on the pair stack from start, then pops them.
// Nested maps push above them and may move the stack, so entries are read by index every time.
func (w *writer) sortedPairs(start, depth int) {
	e := w.enc
	sortPairs(e.pairs[start:], func(p pair) string { return p.k })
	w.dst = append(w.dst, '{')
	for i := start; i < len(e.pairs); i++ {
		if i > start {
			w.dst = append(w.dst, ',')
		}
		w.str(e.pairs[i].k)
		w.dst = append(w.dst, ':')
		w.value(e.pairs[i].v, depth+1)
	}
	w.dst = append(w.dst, '}')
	// Dropping the references lets the attribute values be collected while the Encoder lives on.
	clear(e.pairs[start:])
	e.pairs = e.pairs[:start]
}

// sortPairs sorts map entries by key: insertion sort for the few entries of a typical attribute
// map, the standard library's sort beyond.
func sortPairs[P any](ps []P, key func(P) string) {
	if len(ps) > 12 {
		slices.SortFunc(ps, func(a, b P) int { return strings.Compare(key(a), key(b)) })
		return
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && key(ps[j]) < key(ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// value writes one value of a data or context map: the types pcommon's AsRaw produces and the
// trace context's sentry-go types directly, anything else through encoding/json.
func (w *writer) value(v any, depth int) {
	if depth > maxDepth {
		w.dst = append(w.dst, "null"...)
		return
	}
	switch x := v.(type) {
	case nil:
		w.dst = append(w.dst, "null"...)
	case SpanData:
		if w.data == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.dst = w.data(w.dst, x)
	case SpanLinks:
		if w.links == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		n := len(w.dst)
		if w.dst = w.links(w.dst, SpanData(x)); len(w.dst) == n {
			w.dst = append(w.dst, "[]"...)
		}
	case string:
		w.str(x)
	case bool:
		w.dst = strconv.AppendBool(w.dst, x)
	case int64:
		w.dst = strconv.AppendInt(w.dst, x, 10)
	case float64:
		w.dst = jsonwrite.AppendFloat(w.dst, x, 64)
	case map[string]any:
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.anyMap(x, depth)
	case []any:
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.dst = append(w.dst, '[')
		for i, item := range x {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			w.value(item, depth+1)
		}
		w.dst = append(w.dst, ']')
	case json.RawMessage:
		// JSON written earlier by this package (AppendAny), kept to be written as it is: a
		// resource's context is the same in every event of a batch.
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.dst = append(w.dst, x...)
	case []byte:
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		// encoding/json's form for bytes, which Sentry shows as the string it is.
		w.dst = append(w.dst, '"')
		w.dst = base64.StdEncoding.AppendEncode(w.dst, x)
		w.dst = append(w.dst, '"')
	case sentry.TraceID:
		w.dst = jsonwrite.AppendHex(w.dst, x[:])
	case sentry.SpanID:
		w.dst = jsonwrite.AppendHex(w.dst, x[:])
	case sentry.SpanStatus:
		w.status(x)
	case sentry.TransactionSource:
		w.str(string(x))
	case sentry.SpanOrigin:
		w.str(string(x))
	case sentry.EventID:
		w.str(string(x))
	case sentry.Level:
		w.str(string(x))
	case map[string]string:
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.stringMap(x)
	case []string:
		if x == nil {
			w.dst = append(w.dst, "null"...)
			return
		}
		w.strings(x)
	case int:
		w.dst = strconv.AppendInt(w.dst, int64(x), 10)
	case int32:
		w.dst = strconv.AppendInt(w.dst, int64(x), 10)
	case int16:
		w.dst = strconv.AppendInt(w.dst, int64(x), 10)
	case int8:
		w.dst = strconv.AppendInt(w.dst, int64(x), 10)
	case uint64:
		w.dst = strconv.AppendUint(w.dst, x, 10)
	case uint:
		w.dst = strconv.AppendUint(w.dst, uint64(x), 10)
	case uint32:
		w.dst = strconv.AppendUint(w.dst, uint64(x), 10)
	case uint16:
		w.dst = strconv.AppendUint(w.dst, uint64(x), 10)
	case uint8:
		w.dst = strconv.AppendUint(w.dst, uint64(x), 10)
	case float32:
		w.dst = jsonwrite.AppendFloat(w.dst, float64(x), 32)
	case time.Time:
		// encoding/json's form: RFC 3339 with nanoseconds.
		w.dst = append(w.dst, '"')
		w.dst = x.AppendFormat(w.dst, time.RFC3339Nano)
		w.dst = append(w.dst, '"')
	default:
		w.fallback(v)
	}
}

// fallback writes a value of a type this package does not know with encoding/json; what encoding/json
// refuses (a channel, a NaN deep inside a struct, a MarshalJSON that fails or panics) becomes null,
// so one odd value never costs the event.
func (w *writer) fallback(v any) {
	b, ok := marshalSafely(v)
	if !ok {
		w.dst = append(w.dst, "null"...)
		return
	}
	w.dst = append(w.dst, b...)
}

func marshalSafely(v any) (b []byte, ok bool) {
	defer func() {
		if recover() != nil {
			b, ok = nil, false
		}
	}()
	b, err := json.Marshal(v)
	return b, err == nil
}

// AppendTimestamp writes t as a JSON number of seconds since the Unix epoch with microsecond
// precision, truncated (so start <= end holds after encoding when it held before), trailing zeros
// of the fraction left out: 1764072000.1 for 2025-11-25T12:00:00.1Z. Sentry accepts this form for
// every timestamp and it is shorter than RFC 3339.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	micros := int64(t.Nanosecond() / 1000)
	if sec < 0 && micros > 0 {
		// Before 1970 the fraction counts back from the next whole second: -1.5 is sec -2, +0.5.
		sec++
		micros = 1_000_000 - micros
		if sec == 0 {
			dst = append(dst, '-')
		}
	}
	dst = strconv.AppendInt(dst, sec, 10)
	if micros == 0 {
		return dst
	}
	var frac [7]byte
	frac[0] = '.'
	for i := 6; i > 0; i-- {
		frac[i] = byte('0' + micros%10)
		micros /= 10
	}
	n := 7
	for frac[n-1] == '0' {
		n--
	}
	return append(dst, frac[:n]...)
}
