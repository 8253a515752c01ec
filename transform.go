package sentryexporter

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/semconv"
	"github.com/otelsentry/sentryexporter/internal/stacktrace"
)

// Span flag bits of the OTLP protocol that tell whether the parent span lives in another process.
const (
	spanFlagHasIsRemote = 0x100
	spanFlagIsRemote    = 0x200
)

// maxSpansPerTransaction is how many spans (the transaction's own root included) one transaction may
// carry: Sentry's SDKs stop at 1000 and its backend limits segments to about as many.
const maxSpansPerTransaction = 1000

// resendAttribute marks a span in a batch that exporterhelper hands back for a retry after a partial
// failure: "errors" when only its error events still need sending, "transaction" when only its
// transaction does. It never reaches Sentry.
const (
	resendAttribute   = "sentryexporter.resend"
	resendErrors      = "errors"
	resendTransaction = "transaction"
)

// transformOptions are the parts of the configuration the transform needs.
type transformOptions struct {
	// environment is used when a resource names none.
	environment        string
	exceptionsAsErrors bool
	sendTransactions   bool
	// publicKey and orgID go into each envelope's dynamic sampling context.
	publicKey string
	orgID     string
}

// sentryEvent is one Sentry transaction or error event made from a batch, with what its envelope
// header needs and the input spans it carries, so a failed send can be retried on exactly those.
type sentryEvent struct {
	event    *sentry.Event
	category ratelimit.Category
	sampling envelope.SamplingContext
	// spans are the batch positions of the spans this event carries (the span an error came from).
	spans []spanPosition
}

// spanPosition locates a span inside a ptrace.Traces.
type spanPosition struct {
	resource, scope, span int32
}

// spanEntry is one input span with the facts grouping needs.
type spanEntry struct {
	pos      spanPosition
	span     ptrace.Span
	resource int
	// head is the index of the entry whose transaction this span belongs to; -1 until known.
	head   int
	parent int // index of the parent entry in the batch, or -1
	resend string
}

// spanKey identifies a span within a batch: span ids are only unique within their trace.
type spanKey [24]byte

func keyOf(traceID pcommon.TraceID, spanID pcommon.SpanID) spanKey {
	var k spanKey
	copy(k[:16], traceID[:])
	copy(k[16:], spanID[:])
	return k
}

// transformTraces turns one batch into Sentry transactions and error events. It is a pure function
// of its input: it does no I/O and keeps no state between batches.
//
// A span starts a transaction (a segment, in Sentry's words) when it has no parent, its parent is
// remote, it is a SERVER or CONSUMER span, its parent belongs to another service, or its parent is
// not in the batch. Every other span joins the transaction of its nearest ancestor that starts one,
// so a subtree whose root arrived in another batch still becomes one transaction, never one per span.
func transformTraces(td ptrace.Traces, opts transformOptions) []sentryEvent {
	resources := newResourceInfos(td, opts.environment)
	entries, index := collectSpans(td)
	assignHeads(entries, index, resources)

	var out []sentryEvent
	if opts.sendTransactions {
		out = appendTransactions(out, entries, resources, opts)
	}
	if opts.exceptionsAsErrors {
		out = appendErrorEvents(out, entries, resources, td, opts)
	}
	return out
}

// collectSpans flattens the batch and indexes it by (trace id, span id).
func collectSpans(td ptrace.Traces) ([]spanEntry, map[spanKey]int) {
	entries := make([]spanEntry, 0, td.SpanCount())
	index := make(map[spanKey]int, td.SpanCount())
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				span := spans.At(pi)
				e := spanEntry{
					pos:      spanPosition{resource: int32(ri), scope: int32(si), span: int32(pi)},
					span:     span,
					resource: ri,
					head:     -1,
					parent:   -1,
				}
				if v, ok := span.Attributes().Get(resendAttribute); ok {
					e.resend = v.Str()
				}
				k := keyOf(span.TraceID(), span.SpanID())
				if _, dup := index[k]; !dup {
					index[k] = len(entries)
				}
				entries = append(entries, e)
			}
		}
	}
	return entries, index
}

// assignHeads finds, for every span, the span that heads its transaction.
func assignHeads(entries []spanEntry, index map[spanKey]int, resources []resourceInfo) {
	for i := range entries {
		e := &entries[i]
		parentID := e.span.ParentSpanID()
		if parentID.IsEmpty() {
			continue
		}
		if p, ok := index[keyOf(e.span.TraceID(), parentID)]; ok && p != i {
			e.parent = p
		}
	}
	var path []int
	for i := range entries {
		// Walk up until a span whose head is known or that heads a transaction itself, then give
		// every span on the way that head. A parent cycle ends the walk at the span that closes it.
		path = path[:0]
		cur := i
		for entries[cur].head < 0 && !startsTransaction(entries, cur, resources) {
			entries[cur].head = -2 // on the current path
			path = append(path, cur)
			next := entries[cur].parent
			if entries[next].head == -2 {
				cur = next // the span where the cycle closes heads it
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
func startsTransaction(entries []spanEntry, i int, resources []resourceInfo) bool {
	e := &entries[i]
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
	return resources[entries[e.parent].resource].serviceName != resources[e.resource].serviceName
}

// appendTransactions builds one transaction per head, in the order heads appear in the batch.
func appendTransactions(out []sentryEvent, entries []spanEntry, resources []resourceInfo, opts transformOptions) []sentryEvent {
	members := make(map[int][]int)
	var heads []int
	for i := range entries {
		if entries[i].resend == resendErrors {
			continue
		}
		h := entries[i].head
		if h == i {
			heads = append(heads, i)
			continue
		}
		members[h] = append(members[h], i)
	}
	for _, segment := range heads {
		head := entries[segment].span
		name := semconv.Describe(head.Name(), head.Kind(), head.Attributes())
		h, group := segment, members[segment]
		for len(group) >= maxSpansPerTransaction {
			// The first part keeps the head; later parts are headed by their first span, so the
			// parent chain stays intact across the linked transactions, and all keep the name.
			out = append(out, buildTransaction(entries, resources, h, group[:maxSpansPerTransaction-1], name, opts))
			group = group[maxSpansPerTransaction-1:]
			h, group = group[0], group[1:]
		}
		out = append(out, buildTransaction(entries, resources, h, group, name, opts))
	}
	return out
}

// buildTransaction makes the transaction rooted at entry h with the given member spans, named after
// its segment.
func buildTransaction(entries []spanEntry, resources []resourceInfo, h int, group []int, name semconv.Span, opts transformOptions) sentryEvent {
	head := entries[h].span
	res := &resources[entries[h].resource]
	desc := name
	if h != entries[h].head {
		desc = semconv.Describe(head.Name(), head.Kind(), head.Attributes())
	}
	status := semconv.Status(head.Status().Code(), head.Attributes())

	traceID := head.TraceID()
	spanID := head.SpanID()
	trace := sentry.TraceContext{
		TraceID:     sentry.TraceID(traceID),
		SpanID:      sentry.SpanID(spanID),
		Op:          desc.Op,
		Description: desc.Description,
		Status:      status,
		Data:        attributesData(head.Attributes()),
	}
	if parent := head.ParentSpanID(); !parent.IsEmpty() {
		trace.ParentSpanID = sentry.SpanID(parent)
	}

	ev := &sentry.Event{
		EventID:         eventID(traceID[:], spanID[:], 0),
		Type:            "transaction",
		Transaction:     name.Name,
		TransactionInfo: &sentry.TransactionInfo{Source: name.Source},
		StartTime:       head.StartTimestamp().AsTime(),
		Timestamp:       head.EndTimestamp().AsTime(),
		Contexts:        map[string]sentry.Context{"trace": trace.Map()},
		Environment:     res.environment,
		Release:         res.release,
		Platform:        res.platform,
		ServerName:      res.serverName,
		Sdk:             res.sdk,
		Tags:            transactionTags(res, head.Attributes()),
		Spans:           make([]*sentry.Span, 0, len(group)),
	}
	if res.otelContext != nil {
		ev.Contexts["otel"] = res.otelContext
	}
	positions := make([]spanPosition, 0, len(group)+1)
	positions = append(positions, entries[h].pos)
	for _, m := range group {
		ev.Spans = append(ev.Spans, buildSpan(entries[m].span))
		positions = append(positions, entries[m].pos)
	}
	return sentryEvent{
		event:    ev,
		category: ratelimit.CategoryTransaction,
		sampling: samplingContext(traceID, res, name, opts),
		spans:    positions,
	}
}

// buildSpan maps one OTel span to a Sentry child span.
func buildSpan(span ptrace.Span) *sentry.Span {
	desc := semconv.Describe(span.Name(), span.Kind(), span.Attributes())
	s := &sentry.Span{
		TraceID:     sentry.TraceID(span.TraceID()),
		SpanID:      sentry.SpanID(span.SpanID()),
		Op:          desc.Op,
		Description: desc.Description,
		Status:      semconv.Status(span.Status().Code(), span.Attributes()),
		StartTime:   span.StartTimestamp().AsTime(),
		EndTime:     span.EndTimestamp().AsTime(),
		Data:        attributesData(span.Attributes()),
	}
	if parent := span.ParentSpanID(); !parent.IsEmpty() {
		s.ParentSpanID = sentry.SpanID(parent)
	}
	return s
}

// attributesData copies span attributes into Sentry span data with their types kept.
func attributesData(attrs pcommon.Map) map[string]any {
	if attrs.Len() == 0 {
		return nil
	}
	data := make(map[string]any, attrs.Len())
	attrs.Range(func(k string, v pcommon.Value) bool {
		if k != resendAttribute {
			data[k] = v.AsRaw()
		}
		return true
	})
	return data
}

// transactionTags picks the low-cardinality values Sentry users filter by.
func transactionTags(res *resourceInfo, attrs pcommon.Map) map[string]string {
	tags := make(map[string]string, 4)
	if res.serviceName != "" {
		tags["service.name"] = res.serviceName
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if semconv.IsTagKey(k) {
			tags[k] = v.AsString()
		}
		return true
	})
	return tags
}

// samplingContext is the envelope's dynamic sampling context. The collector sees only spans that
// were sampled, so sample_rate is 1 and sampled is true; sample_rand comes from the trace id's
// random low 56 bits (W3C trace-context level 2), so every envelope of a trace agrees on it.
func samplingContext(traceID pcommon.TraceID, res *resourceInfo, desc semconv.Span, opts transformOptions) envelope.SamplingContext {
	sc := envelope.SamplingContext{
		TraceID:     hex.EncodeToString(traceID[:]),
		PublicKey:   opts.publicKey,
		SampleRate:  "1",
		SampleRand:  sampleRand(traceID),
		Sampled:     "true",
		Environment: res.environment,
		Release:     res.release,
		OrgID:       opts.orgID,
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
// recognise a duplicate.
func eventID(traceID, spanID []byte, salt uint64) sentry.EventID {
	h := fnv.New128a()
	_, _ = h.Write(traceID)
	_, _ = h.Write(spanID)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], salt)
	_, _ = h.Write(s[:])
	var sum [16]byte
	return sentry.EventID(hex.EncodeToString(h.Sum(sum[:0])))
}

// resourceInfo is what every event from one resource shares, computed once per resource.
type resourceInfo struct {
	serviceName string
	environment string
	release     string
	platform    string
	serverName  string
	sdk         sentry.SdkInfo
	// otelContext is contexts.otel: the resource attributes, typed.
	otelContext sentry.Context
}

// newResourceInfos maps each resource of the batch. The resource's own environment wins over the
// configured one, which is the default for resources that name none.
func newResourceInfos(td ptrace.Traces, defaultEnvironment string) []resourceInfo {
	rss := td.ResourceSpans()
	infos := make([]resourceInfo, rss.Len())
	for i := range infos {
		infos[i] = newResourceInfo(rss.At(i).Resource().Attributes(), defaultEnvironment)
	}
	return infos
}

func newResourceInfo(attrs pcommon.Map, defaultEnvironment string) resourceInfo {
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok && v.AsString() != "" {
				return v.AsString()
			}
		}
		return ""
	}
	info := resourceInfo{
		serviceName: str("service.name"),
		environment: str("deployment.environment.name", "deployment.environment"),
		serverName:  str("host.name"),
		platform:    platformOf(str("telemetry.sdk.language")),
	}
	if info.environment == "" {
		info.environment = defaultEnvironment
	}
	if version := str("service.version"); version != "" {
		// Sentry releases are organisation-wide; the service name keeps two services' "1.2.0" apart.
		if info.serviceName != "" {
			info.release = info.serviceName + "@" + version
		} else {
			info.release = version
		}
	}
	info.sdk = sentry.SdkInfo{Name: "opentelemetry", Version: str("telemetry.sdk.version")}
	if lang := str("telemetry.sdk.language"); lang != "" {
		info.sdk.Name = "opentelemetry." + lang
	}
	if attrs.Len() > 0 {
		info.otelContext = sentry.Context{"resource": attrs.AsRaw()}
	}
	return info
}

// platformOf maps telemetry.sdk.language to the platform names Sentry knows; Sentry rejects others.
func platformOf(language string) string {
	switch language {
	case "java", "go", "python", "php", "ruby", "elixir":
		return language
	case "nodejs":
		return "node"
	case "webjs":
		return "javascript"
	case "dotnet":
		return "csharp"
	case "cpp", "rust":
		return "native"
	case "swift":
		return "cocoa"
	default:
		return "other"
	}
}

// Attribute keys of OTel's exception semantic conventions.
const (
	exceptionEventName       = "exception"
	attrExceptionType        = "exception.type"
	attrExceptionMessage     = "exception.message"
	attrExceptionStacktrace  = "exception.stacktrace"
	attrExceptionEscaped     = "exception.escaped"
	attrTelemetrySDKLanguage = "telemetry.sdk.language"
)

// appendErrorEvents makes one Sentry error event per exception: every span event named "exception",
// and a span that carries exception attributes itself (some instrumentations do).
func appendErrorEvents(out []sentryEvent, entries []spanEntry, resources []resourceInfo, td ptrace.Traces, opts transformOptions) []sentryEvent {
	rss := td.ResourceSpans()
	for i := range entries {
		e := &entries[i]
		if e.resend == resendTransaction {
			continue
		}
		language := ""
		if v, ok := rss.At(e.resource).Resource().Attributes().Get(attrTelemetrySDKLanguage); ok {
			language = v.Str()
		}
		events := e.span.Events()
		for j := 0; j < events.Len(); j++ {
			ev := events.At(j)
			if ev.Name() != exceptionEventName {
				continue
			}
			ts := ev.Timestamp()
			if ts == 0 {
				ts = e.span.EndTimestamp()
			}
			out = append(out, buildErrorEvent(entries, resources, i, ev.Attributes(), ts, uint64(j)+1, language, opts))
		}
		if _, ok := e.span.Attributes().Get(attrExceptionType); ok {
			out = append(out, buildErrorEvent(entries, resources, i, e.span.Attributes(), e.span.EndTimestamp(), 0, language, opts))
		}
	}
	return out
}

// buildErrorEvent makes the error event for one exception of entry i, linked to its span and trace.
func buildErrorEvent(entries []spanEntry, resources []resourceInfo, i int, attrs pcommon.Map, ts pcommon.Timestamp, salt uint64, language string, opts transformOptions) sentryEvent {
	e := &entries[i]
	span := e.span
	res := &resources[e.resource]
	str := func(k string) string {
		if v, ok := attrs.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	parsed := stacktrace.Parse(language, str(attrExceptionType), str(attrExceptionMessage), str(attrExceptionStacktrace))
	exceptions := parsed.Exceptions
	reported := &exceptions[len(exceptions)-1]
	mechanism := &sentry.Mechanism{Type: "opentelemetry"}
	if v, ok := attrs.Get(attrExceptionEscaped); ok {
		// An exception that escaped the span's scope was not handled there.
		// Python's SDK writes the string "True"; others a boolean.
		escaped := v.Bool() || strings.EqualFold(v.Str(), "true")
		mechanism.Handled = sentry.Pointer(!escaped)
	}
	reported.Mechanism = mechanism

	desc := semconv.Describe(span.Name(), span.Kind(), span.Attributes())
	head := entries[e.head].span
	headDesc := semconv.Describe(head.Name(), head.Kind(), head.Attributes())
	traceID := span.TraceID()
	spanID := span.SpanID()
	trace := sentry.TraceContext{
		TraceID: sentry.TraceID(traceID),
		SpanID:  sentry.SpanID(spanID),
		Op:      desc.Op,
	}
	if parent := span.ParentSpanID(); !parent.IsEmpty() {
		trace.ParentSpanID = sentry.SpanID(parent)
	}
	ev := &sentry.Event{
		EventID:     eventID(traceID[:], spanID[:], salt),
		Level:       sentry.LevelError,
		Timestamp:   ts.AsTime(),
		Exception:   exceptions,
		Transaction: headDesc.Name,
		Contexts:    map[string]sentry.Context{"trace": trace.Map()},
		Environment: res.environment,
		Release:     res.release,
		Platform:    res.platform,
		ServerName:  res.serverName,
		Sdk:         res.sdk,
		Tags:        transactionTags(res, span.Attributes()),
	}
	if res.otelContext != nil {
		ev.Contexts["otel"] = res.otelContext
	}
	if parsed.Raw != "" {
		// A stack trace in a format we cannot parse is kept whole, so nothing of it is lost.
		ev.Contexts["exception"] = sentry.Context{"stacktrace": parsed.Raw}
	}
	return sentryEvent{
		event:    ev,
		category: ratelimit.CategoryError,
		sampling: samplingContext(traceID, res, headDesc, opts),
		spans:    []spanPosition{e.pos},
	}
}

// splitTransaction cuts a transaction with child spans into two: the first keeps the root and the
// first half of the children, the second is rooted at the first span of the other half. Both keep
// the name, trace and parent links, so Sentry's trace view shows the same tree. It reports false
// for a transaction without children, which cannot be split.
func splitTransaction(ev sentryEvent) (sentryEvent, sentryEvent, bool) {
	spans := ev.event.Spans
	if ev.category != ratelimit.CategoryTransaction || len(spans) == 0 {
		return ev, ev, false
	}
	half := len(spans) / 2
	first := ev
	firstEvent := *ev.event
	firstEvent.Spans = spans[:half]
	first.event = &firstEvent
	first.spans = ev.spans[:1+half]

	root := spans[half]
	trace := sentry.TraceContext{
		TraceID:      root.TraceID,
		SpanID:       root.SpanID,
		ParentSpanID: root.ParentSpanID,
		Op:           root.Op,
		Description:  root.Description,
		Status:       root.Status,
		Data:         root.Data,
	}
	second := ev
	secondEvent := *ev.event
	secondEvent.EventID = eventID(root.TraceID[:], root.SpanID[:], 0)
	secondEvent.StartTime = root.StartTime
	secondEvent.Timestamp = root.EndTime
	secondEvent.Spans = spans[half+1:]
	secondEvent.Contexts = make(map[string]sentry.Context, len(ev.event.Contexts))
	for k, v := range ev.event.Contexts {
		secondEvent.Contexts[k] = v
	}
	secondEvent.Contexts["trace"] = trace.Map()
	second.event = &secondEvent
	second.spans = ev.spans[1+half:]
	return first, second, true
}
