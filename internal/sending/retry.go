package sending

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/transform"
)

// A batch that failed in part goes back to exporterhelper holding just the spans still owed, and
// exporterhelper hands it to PushTraces again. What each span still owes rides along as markers on
// the exporter's own copy (subsetTraces); takeRetryState reads them off before the transform, which
// gets them as an explicit input (transform.Options.Retry). The markers never reach Sentry, and the
// transform never sees them.
//
// The only channel through exporterhelper's retry is the batch itself: its request carries no other
// state. A batch re-read from a persistent queue after a restart has no markers and is sent whole;
// Sentry drops the events it already has (event ids derive from span ids).
const (
	markerPrefix = "sentryexporter."
	// retryResourceAttribute marks each resource of a retry copy, so that a first attempt (no
	// marked resource) is not searched span by span.
	retryResourceAttribute = markerPrefix + "retry"
	// resendAttribute is transform.OwesErrors or OwesTransaction; absent when both are owed.
	resendAttribute = markerPrefix + "resend"
	// firstAttemptAttribute is when the span was first sent, in Unix nanoseconds.
	firstAttemptAttribute = markerPrefix + "first_attempt"
)

// owedSpans collects what each span of a pushed batch still owes, by its position in the batch.
type owedSpans struct {
	spans map[transform.SpanPosition]transform.Retry
}

// mark records that the span at pos owes owes (transform.OwesTransaction or OwesErrors), first sent
// at first. A span that owes both its transaction (or OTLP span) and its error events owes "".
func (o *owedSpans) mark(pos transform.SpanPosition, owes string, first pcommon.Timestamp) {
	if o.spans == nil {
		o.spans = make(map[transform.SpanPosition]transform.Retry)
	}
	if have, ok := o.spans[pos]; ok && have.Owes != owes {
		owes = ""
	}
	o.spans[pos] = transform.Retry{Owes: owes, FirstAttempt: first}
}

// markEvent records that the spans of an event still owe it.
func (o *owedSpans) markEvent(ev *transform.Event, first pcommon.Timestamp) {
	owes := transform.OwesTransaction
	if ev.Category == ratelimit.CategoryError {
		owes = transform.OwesErrors
	}
	for _, pos := range ev.Positions {
		o.mark(pos, owes, first)
	}
}

// outcome is out with the batch to retry: the owed spans of td, marked.
func (o *owedSpans) outcome(out delivery.Outcome[struct{}], td ptrace.Traces) delivery.Outcome[ptrace.Traces] {
	if o.spans == nil {
		return delivery.WithRetry(out, ptrace.Traces{})
	}
	return delivery.WithRetry(out, subsetTraces(td, o.spans))
}

// subsetTraces copies the spans at the given positions into a new batch, each marked with what of it
// is still owed and when it was first sent.
func subsetTraces(td ptrace.Traces, retry map[transform.SpanPosition]transform.Retry) ptrace.Traces {
	out := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		var outRS ptrace.ResourceSpans
		haveRS := false
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			ss := sss.At(si)
			var outSS ptrace.ScopeSpans
			haveSS := false
			spans := ss.Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				r, ok := retry[transform.SpanPosition{Resource: int32(ri), Scope: int32(si), Span: int32(pi)}]
				if !ok {
					continue
				}
				if !haveRS {
					outRS = out.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(outRS.Resource())
					outRS.Resource().Attributes().PutBool(retryResourceAttribute, true)
					outRS.SetSchemaUrl(rs.SchemaUrl())
					haveRS = true
				}
				if !haveSS {
					outSS = outRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(outSS.Scope())
					outSS.SetSchemaUrl(ss.SchemaUrl())
					haveSS = true
				}
				span := outSS.Spans().AppendEmpty()
				spans.At(pi).CopyTo(span)
				if r.Owes != "" {
					span.Attributes().PutStr(resendAttribute, r.Owes)
				}
				span.Attributes().PutInt(firstAttemptAttribute, int64(r.FirstAttempt))
			}
		}
	}
	return out
}

// takeRetryState reads the markers of a retry copy off its spans, removing them, and returns what
// each marked span still owes; nil for a first attempt, which is left untouched. Only resources that
// subsetTraces marked are changed, and those belong to the exporter's own copy.
func takeRetryState(td ptrace.Traces) map[transform.SpanPosition]transform.Retry {
	var state map[transform.SpanPosition]transform.Retry
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		resource := rs.Resource().Attributes()
		if _, marked := resource.Get(retryResourceAttribute); !marked {
			continue // a first attempt, possibly shared and read-only: not touched
		}
		resource.Remove(retryResourceAttribute)
		if state == nil {
			state = make(map[transform.SpanPosition]transform.Retry, td.SpanCount())
		}
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				attrs := spans.At(pi).Attributes()
				var r transform.Retry
				if v, ok := attrs.Get(resendAttribute); ok {
					r.Owes = v.Str()
					attrs.Remove(resendAttribute)
				}
				if v, ok := attrs.Get(firstAttemptAttribute); ok {
					r.FirstAttempt = pcommon.Timestamp(v.Int())
					attrs.Remove(firstAttemptAttribute)
				}
				state[transform.SpanPosition{Resource: int32(ri), Scope: int32(si), Span: int32(pi)}] = r
			}
		}
	}
	return state
}
