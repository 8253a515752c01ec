package sentryexporter

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// traceScan is what the OTLP protocol learns from one read of a batch before sending it.
type traceScan struct {
	// exceptionTraces holds the trace ids of spans with an exception: a span event named
	// "exception", or exception attributes on the span itself (as transformTraces finds them).
	exceptionTraces map[pcommon.TraceID]struct{}
	// marked reports spans that exporterhelper handed back for a partial retry (see resendAttribute).
	marked bool
	// spans counts the batch's spans.
	spans int
}

// scanTraces reads a batch once, without changing it: span event names, and each span's attribute
// keys in one pass (for exception.type and the retry markers). It is all the OTLP protocol spends per
// span beyond marshaling, so exceptions cost the transform only where they are. exceptions is false
// when exceptions_as_errors is off.
func scanTraces(td ptrace.Traces, exceptions bool) traceScan {
	var s traceScan
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			s.spans += spans.Len()
			for pi := 0; pi < spans.Len(); pi++ {
				span := spans.At(pi)
				exception := false
				if exceptions {
					events := span.Events()
					for j := 0; j < events.Len() && !exception; j++ {
						exception = events.At(j).Name() == exceptionEventName
					}
				}
				for k := range span.Attributes().All() {
					if k == attrExceptionType {
						exception = exception || exceptions
					} else if strings.HasPrefix(k, markerPrefix) {
						s.marked = true
					}
				}
				if exception {
					if s.exceptionTraces == nil {
						s.exceptionTraces = make(map[pcommon.TraceID]struct{})
					}
					s.exceptionTraces[span.TraceID()] = struct{}{}
				}
			}
		}
	}
	return s
}

// errorEventsOf builds the error events of the exceptions in td exactly as transformTraces does with
// transactions off, looking only at the spans of the given traces: an error event's transaction name
// comes from the head of its span's segment, which lies in the same trace, so the other spans of the
// batch are neither indexed nor repaired. This is the narrow seam through which the OTLP protocol
// reuses the transform's error-event builder.
func errorEventsOf(scratch *transformScratch, td ptrace.Traces, traces map[pcommon.TraceID]struct{}, opts transformOptions) ([]sentryEvent, sanitize.Counts) {
	opts.exceptionsAsErrors, opts.sendTransactions = true, false
	b := &batchTransform{opts: opts, scratch: scratch}
	rss := td.ResourceSpans()
	b.resources = make([]resourceInfo, rss.Len())
	if b.scratch.index == nil {
		b.scratch.index = make(map[spanKey]int)
	}
	b.entries, b.index = b.scratch.entries[:0], b.scratch.index
	for ri := 0; ri < rss.Len(); ri++ {
		mapped := false
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				span := spans.At(pi)
				if _, ok := traces[span.TraceID()]; !ok {
					continue
				}
				if !mapped {
					// Mapped only for resources with spans here: the mapping encodes the resource.
					b.resources[ri] = newResourceInfo(rss.At(ri).Resource().Attributes(), opts.environment, &b.repairs)
					mapped = true
				}
				b.collect(span, spanPosition{resource: int32(ri), scope: int32(si), span: int32(pi)})
			}
		}
	}
	b.scratch.entries = b.entries
	b.assignHeads()
	return b.build(b.appendErrorJobs(nil)), b.repairs
}

// collect adds one span to the index as collectSpans does.
func (b *batchTransform) collect(span ptrace.Span, pos spanPosition) {
	e := spanEntry{
		pos:      pos,
		span:     span,
		resource: int(pos.resource),
		traceID:  span.TraceID(),
		spanID:   span.SpanID(),
		parentID: span.ParentSpanID(),
		start:    span.StartTimestamp(),
		end:      span.EndTimestamp(),
		head:     -1,
		parent:   -1,
	}
	if v, ok := span.Attributes().Get(resendAttribute); ok {
		e.resend = v.Str()
	}
	if v, ok := span.Attributes().Get(firstAttemptAttribute); ok {
		e.firstAttempt = pcommon.Timestamp(v.Int())
	}
	b.repairSpan(&e)
	b.index[keyOf(e.traceID, e.spanID)] = len(b.entries)
	b.entries = append(b.entries, e)
}
