package transform

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// This file is the narrow seam through which the exporter's otlp protocol reuses the error-event
// builder: that protocol sends spans as they are, so it must find the exceptions without the full
// transform (a scan of span events), and build error events only for the traces that hold one.

// ExceptionTraces returns the trace ids of td's spans that hold an exception, as Traces finds them (a
// span event named "exception", or exception attributes on the span itself); nil when there are none.
// It reads each span's event names and looks up one attribute key: it is what the otlp protocol spends
// per span to find exceptions.
func ExceptionTraces(td ptrace.Traces) map[pcommon.TraceID]struct{} {
	var traces map[pcommon.TraceID]struct{}
	ForEachSpan(td, func(_ SpanPosition, span ptrace.Span) {
		if !hasException(span) {
			return
		}
		if traces == nil {
			traces = make(map[pcommon.TraceID]struct{})
		}
		traces[span.TraceID()] = struct{}{}
	})
	return traces
}

func hasException(span ptrace.Span) bool {
	events := span.Events()
	for j := 0; j < events.Len(); j++ {
		if events.At(j).Name() == exceptionEventName {
			return true
		}
	}
	_, ok := span.Attributes().Get(attrExceptionType)
	return ok
}

// ErrorEvents builds the error events of the exceptions in td exactly as Traces does with
// SendTransactions off, looking only at the spans of the given traces (from ExceptionTraces): an
// error event names the transaction of its span's segment, whose head lies in the same trace, so
// the batch's other spans are neither indexed nor repaired. Positions are td's, as with Traces.
func ErrorEvents(scratch *Scratch, td ptrace.Traces, traces map[pcommon.TraceID]struct{}, opts Options) ([]Event, sanitize.Counts) {
	opts.ExceptionsAsErrors, opts.SendTransactions = true, false
	b := &batchTransform{opts: opts, scratch: scratch}
	rss := td.ResourceSpans()
	b.resources = make([]resourceInfo, rss.Len())
	if b.scratch.index == nil {
		b.scratch.index = make(map[spanKey]int)
	}
	b.entries, b.index = b.scratch.entries[:0], b.scratch.index
	mapped := int32(-1) // the resource last mapped; spans come resource by resource
	ForEachSpan(td, func(pos SpanPosition, span ptrace.Span) {
		if _, ok := traces[span.TraceID()]; !ok {
			return
		}
		if pos.Resource != mapped {
			// Only resources with spans here are mapped: the mapping encodes the resource.
			b.resources[pos.Resource] = newResourceInfo(rss.At(int(pos.Resource)).Resource().Attributes(), opts.Environment, &b.repairs)
			mapped = pos.Resource
		}
		b.collect(pos, span)
	})
	b.scratch.entries = b.entries
	b.assignHeads()
	return b.build(b.appendErrorJobs(nil)), b.repairs
}
