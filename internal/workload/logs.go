package workload

import (
	"cmp"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// OTel severity numbers of the records Logs writes.
const (
	severityInfo  = plog.SeverityNumberInfo
	severityWarn  = plog.SeverityNumberWarn
	severityError = plog.SeverityNumberError
)

// Logs returns the log records the services of td would have written while serving those traces, linked to
// them by trace and span id as an OTel SDK's log bridge links them: one access log line per request or message
// a service handled (each SERVER and CONSUMER span, at its end) and one error line per exception it recorded
// (each "exception" span event, at the event's time; "<span> failed: <exception type>" with the exception's
// type and message as attributes). Each resource of td gets its own resource logs with the
// same resource attributes, so the logs carry the service, release and environment of their spans.
//
// It is a pure function of td: the same traces always give the same logs, in timestamp order per resource.
func Logs(td ptrace.Traces) plog.Logs {
	ld := plog.NewLogs()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var recs []logSource
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				recs = appendLogSources(recs, spans.At(k))
			}
		}
		if len(recs) == 0 {
			continue
		}
		slices.SortStableFunc(recs, func(a, b logSource) int { return cmp.Compare(a.at, b.at) })
		rl := ld.ResourceLogs().AppendEmpty()
		rs.Resource().CopyTo(rl.Resource())
		rl.SetSchemaUrl(rs.SchemaUrl())
		sl := rl.ScopeLogs().AppendEmpty()
		name, _ := rs.Resource().Attributes().Get("service.name")
		sl.Scope().SetName(name.AsString())
		records := sl.LogRecords()
		records.EnsureCapacity(len(recs))
		for _, src := range recs {
			src.writeTo(records.AppendEmpty())
		}
	}
	return ld
}

// logSource is one record to write: the span it belongs to and, for an error line, the exception event.
type logSource struct {
	at    pcommon.Timestamp
	span  ptrace.Span
	event ptrace.SpanEvent // zero value for an access log line
	isErr bool
}

func appendLogSources(recs []logSource, sp ptrace.Span) []logSource {
	events := sp.Events()
	for e := 0; e < events.Len(); e++ {
		if ev := events.At(e); ev.Name() == "exception" {
			recs = append(recs, logSource{at: ev.Timestamp(), span: sp, event: ev, isErr: true})
		}
	}
	if k := sp.Kind(); k == ptrace.SpanKindServer || k == ptrace.SpanKindConsumer {
		recs = append(recs, logSource{at: sp.EndTimestamp(), span: sp})
	}
	return recs
}

func (src logSource) writeTo(lr plog.LogRecord) {
	sp := src.span
	lr.SetTimestamp(src.at)
	lr.SetObservedTimestamp(src.at)
	lr.SetTraceID(sp.TraceID())
	lr.SetSpanID(sp.SpanID())
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	attrs := lr.Attributes()
	if src.isErr {
		ev := src.event.Attributes()
		typ, _ := ev.Get("exception.type")
		msg, _ := ev.Get("exception.message")
		setSeverity(lr, severityError)
		// As a logger's error call with the exception attached: a short line, the details in attributes.
		lr.Body().SetStr(sp.Name() + " failed: " + typ.AsString())
		attrs.PutStr("exception.type", typ.AsString())
		attrs.PutStr("exception.message", msg.AsString())
		return
	}
	ms := float64(sp.EndTimestamp()-sp.StartTimestamp()) / 1e6
	duration := strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	sev := severityInfo
	if sp.Status().Code() == ptrace.StatusCodeError {
		sev = severityError
	}
	sa := sp.Attributes()
	switch {
	case sp.Kind() == ptrace.SpanKindConsumer:
		dest := firstStr(sa, "messaging.destination.name", "messaging.destination")
		lr.Body().SetStr("processed message from " + cmp.Or(dest, sp.Name()) + " in " + duration)
		if dest != "" {
			attrs.PutStr("messaging.destination.name", dest)
		}
	case hasAttr(sa, "rpc.grpc.status_code"):
		code, _ := sa.Get("rpc.grpc.status_code")
		lr.Body().SetStr(sp.Name() + " grpc-status=" + code.AsString() + " in " + duration)
		attrs.PutInt("rpc.grpc.status_code", code.Int())
	default:
		status, ok := firstInt(sa, "http.response.status_code", "http.status_code")
		if !ok {
			lr.Body().SetStr(sp.Name() + " done in " + duration)
			break
		}
		if status >= 500 {
			sev = severityError
		} else if status >= 400 && sev == severityInfo {
			sev = severityWarn
		}
		lr.Body().SetStr(sp.Name() + " " + strconv.FormatInt(status, 10) + " in " + duration)
		attrs.PutInt("http.response.status_code", status)
	}
	setSeverity(lr, sev)
	attrs.PutDouble("duration_ms", ms)
}

func setSeverity(lr plog.LogRecord, sev plog.SeverityNumber) {
	lr.SetSeverityNumber(sev)
	switch sev {
	case severityError:
		lr.SetSeverityText("ERROR")
	case severityWarn:
		lr.SetSeverityText("WARN")
	default:
		lr.SetSeverityText("INFO")
	}
}

func hasAttr(m pcommon.Map, key string) bool {
	_, ok := m.Get(key)
	return ok
}

// firstStr is the value of the first of keys that is set (stable and legacy semantic conventions).
func firstStr(m pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v, ok := m.Get(k); ok {
			return v.AsString()
		}
	}
	return ""
}

// firstInt is the integer value of the first of keys that is set; legacy SDKs sometimes write it as a string.
func firstInt(m pcommon.Map, keys ...string) (int64, bool) {
	for _, k := range keys {
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		if v.Type() == pcommon.ValueTypeInt {
			return v.Int(), true
		}
		if n, err := strconv.ParseInt(v.AsString(), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}
