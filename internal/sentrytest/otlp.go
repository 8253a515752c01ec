package sentrytest

import (
	"context"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// OTLPSpan is one span received at the OTLP traces endpoint, in the terms Relay maps it to (span
// streaming): events are dropped (Events only counts them), the status collapses to ok or error.
type OTLPSpan struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	// Status is "ok" (OTel Unset or Ok) or "error", as Relay maps it; StatusMessage is kept.
	Status, StatusMessage string
	// Attributes and Resource are the span's and its resource's attributes (pcommon's AsRaw).
	Attributes, Resource map[string]any
	// Events is how many span events arrived (Relay drops them).
	Events int
	// Start and End are the span's timestamps.
	Start, End Timestamp
}

// OTLPLog is one log record received at the OTLP logs endpoint.
type OTLPLog struct {
	TraceID, SpanID string
	Body            string
	Severity        string
	// Attributes and Resource are the record's and its resource's attributes.
	Attributes, Resource map[string]any
}

// otlpRoutes are the path suffixes of Sentry's OTLP endpoints after {prefix}/api/{project}/: the
// current route and the older one some Relays serve.
var otlpRoutes = []string{"/integration/otlp/v1/", "/otlp/v1/"}

// otlpSignal reports whether path is one of the project's OTLP endpoints, and for which signal.
func (s *Server) otlpSignal(path string) (string, bool) {
	base := s.cfg.prefix + "/api/" + s.cfg.projectID
	rest, ok := strings.CutPrefix(path, base)
	if !ok {
		return "", false
	}
	for _, route := range otlpRoutes {
		if signal, ok := strings.CutPrefix(rest, route); ok && (signal == "traces" || signal == "logs") {
			return signal, true
		}
	}
	return "", false
}

// OTLPURL is the project's OTLP endpoint for signal ("traces" or "logs").
func (s *Server) OTLPURL(signal string) string {
	return "http://" + s.Addr() + s.cfg.prefix + "/api/" + s.cfg.projectID + "/integration/otlp/v1/" + signal
}

// serveOTLP handles a request to an OTLP endpoint as Relay does: POST only, the key in X-Sentry-Auth
// (or the sentry_key query), protobuf or JSON (else 415), any content encoding the envelope endpoint
// decodes, then faults, recording and an Export*ServiceResponse in the request's format.
func (s *Server) serveOTLP(w http.ResponseWriter, r *http.Request, seq int, faults FaultFunc, signal string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, seq, protoErr(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	if perr := checkAuth(r, s.cfg.publicKey, false); perr != nil {
		s.reject(w, seq, perr)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-protobuf" && mt != "application/json" {
		s.reject(w, seq, protoErr(http.StatusUnsupportedMediaType, "Content-Type %q, want application/x-protobuf or application/json", r.Header.Get("Content-Type")))
		return
	}
	asJSON := mt == "application/json"
	wire, err := io.ReadAll(io.LimitReader(r.Body, maxWireBytes+1))
	if err != nil {
		s.reject(w, seq, protoErr(http.StatusBadRequest, "reading body: %v", err))
		return
	}
	if len(wire) > maxWireBytes {
		s.reject(w, seq, protoErr(http.StatusRequestEntityTooLarge, "body exceeds %d bytes", maxWireBytes))
		return
	}
	body, perr := decodeBody(wire, r.Header.Get("Content-Encoding"))
	if perr != nil {
		s.reject(w, seq, perr)
		return
	}
	var spans []OTLPSpan
	var logs []OTLPLog
	var discarded []Discarded
	if signal == "traces" {
		spans, discarded, perr = decodeOTLPTraces(body, asJSON)
	} else {
		logs, perr = decodeOTLPLogs(body, asJSON)
	}
	if perr != nil {
		s.reject(w, seq, perr)
		return
	}
	req := &Request{Seq: seq, Header: r.Header.Clone(), WireBytes: len(wire), DecodedBytes: len(body), OTLPSignal: signal, OTLPItems: len(spans) + len(logs)}
	fault, status, handled := s.applyFault(w, r, seq, faults, req)
	if handled {
		return
	}
	rejected := min(fault.Rejected, len(spans)+len(logs))
	if !fault.DropEnvelope {
		for i := range discarded {
			discarded[i].Seq = seq
		}
		batch := Batch{Seq: seq, OTLPSpans: spans[min(rejected, len(spans)):], OTLPLogs: logs[min(rejected, len(logs)):], Discarded: discarded}
		s.mu.Lock()
		s.otlpSpans = append(s.otlpSpans, batch.OTLPSpans...)
		s.otlpLogs = append(s.otlpLogs, batch.OTLPLogs...)
		s.discarded = append(s.discarded, discarded...)
		s.notifyLocked()
		s.mu.Unlock()
		if s.cfg.onReceive != nil {
			s.cfg.onReceive(batch)
		}
	}
	var answer []byte
	if signal == "traces" {
		resp := ptraceotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(fault.RejectedMessage)
		}
		answer, err = marshalResponse(resp.MarshalProto, resp.MarshalJSON, asJSON)
	} else {
		resp := plogotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(int64(rejected))
			resp.PartialSuccess().SetErrorMessage(fault.RejectedMessage)
		}
		answer, err = marshalResponse(resp.MarshalProto, resp.MarshalJSON, asJSON)
	}
	if err != nil {
		s.reject(w, seq, protoErr(http.StatusInternalServerError, "encoding the answer: %v", err))
		return
	}
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

func marshalResponse(proto, json func() ([]byte, error), asJSON bool) ([]byte, error) {
	if asJSON {
		return json()
	}
	return proto()
}

// decodeOTLPTraces decodes an OTLP traces request into the spans Relay keeps and those it drops after
// answering (discarded).
func decodeOTLPTraces(body []byte, asJSON bool) (out []OTLPSpan, discarded []Discarded, perr *ProtocolError) {
	req := ptraceotlp.NewExportRequest()
	var err error
	if asJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return nil, nil, protoErr(http.StatusBadRequest, "invalid OTLP traces body: %v", err)
	}
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resource := rs.Resource().Attributes().AsRaw()
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if sp.SpanID().IsEmpty() {
					// Relay answers for the request before it converts the spans, and drops a span it
					// cannot convert after the 2xx (a missing trace id it replaces by a random one).
					discarded = append(discarded, Discarded{ItemType: "otlp_span", Reason: "span " + strconv.Quote(sp.Name()) + ": missing span_id"})
					continue
				}
				status := "ok"
				if sp.Status().Code() == ptrace.StatusCodeError {
					status = "error"
				}
				out = append(out, OTLPSpan{
					TraceID:       traceHex(sp.TraceID()), // all zeros when missing: Relay makes up a random one
					SpanID:        spanHex(sp.SpanID()),
					ParentSpanID:  parentHex(sp.ParentSpanID()),
					Name:          sp.Name(),
					Status:        status,
					StatusMessage: sp.Status().Message(),
					Attributes:    sp.Attributes().AsRaw(),
					Resource:      resource,
					Events:        sp.Events().Len(),
					Start:         Timestamp(float64(sp.StartTimestamp()) / 1e9),
					End:           Timestamp(float64(sp.EndTimestamp()) / 1e9),
				})
			}
		}
	}
	return out, discarded, nil
}

func decodeOTLPLogs(body []byte, asJSON bool) ([]OTLPLog, *ProtocolError) {
	req := plogotlp.NewExportRequest()
	var err error
	if asJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return nil, protoErr(http.StatusBadRequest, "invalid OTLP logs body: %v", err)
	}
	var out []OTLPLog
	rls := req.Logs().ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		resource := rl.Resource().Attributes().AsRaw()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			records := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				out = append(out, OTLPLog{
					TraceID:    logTraceID(lr),
					SpanID:     parentHex(lr.SpanID()),
					Body:       lr.Body().AsString(),
					Severity:   lr.SeverityText(),
					Attributes: lr.Attributes().AsRaw(),
					Resource:   resource,
				})
			}
		}
	}
	return out, nil
}

func traceHex(id pcommon.TraceID) string { return hex.EncodeToString(id[:]) }

func spanHex(id pcommon.SpanID) string { return hex.EncodeToString(id[:]) }

func parentHex(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func logTraceID(lr plog.LogRecord) string {
	if lr.TraceID().IsEmpty() {
		return ""
	}
	return traceHex(lr.TraceID())
}

// OTLPSpans returns the spans accepted at the OTLP traces endpoint, in arrival order.
func (s *Server) OTLPSpans() []OTLPSpan { return lockedClone(s, &s.otlpSpans) }

// OTLPLogs returns the log records accepted at the OTLP logs endpoint, in arrival order.
func (s *Server) OTLPLogs() []OTLPLog { return lockedClone(s, &s.otlpLogs) }

// WaitForOTLPLogs waits until at least n OTLP log records were accepted.
func (s *Server) WaitForOTLPLogs(ctx context.Context, n int) error {
	return s.waitCount(ctx, "OTLP logs", n, func() int { return len(s.OTLPLogs()) })
}
