package sentrytest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// record decodes and stores an accepted envelope, applying Relay's after-200 rules: what fails them goes
// to the discarded list instead.
func (s *Server) record(seq int, env *Envelope) Batch {
	b := Batch{Seq: seq, Envelope: *env}
	discard := func(it Item, eventID, reason string) {
		b.Discarded = append(b.Discarded, Discarded{Seq: seq, ItemType: it.Type, EventID: eventID, Reason: reason, Raw: json.RawMessage(it.Payload)})
	}
	for _, it := range env.Items {
		switch it.Type {
		case "transaction":
			if err := ValidateTransaction(it.Payload); err != nil {
				discard(it, env.Header.EventID, err.Error())
				continue
			}
			var tx Transaction
			if err := json.Unmarshal(it.Payload, &tx); err != nil {
				discard(it, env.Header.EventID, fmt.Sprintf("decoding transaction: %v", err))
				continue
			}
			tx.Raw = json.RawMessage(it.Payload)
			b.Transactions = append(b.Transactions, tx)
		case "event":
			var ev ErrorEvent
			if err := json.Unmarshal(it.Payload, &ev); err != nil {
				discard(it, env.Header.EventID, fmt.Sprintf("decoding event: %v", err))
				continue
			}
			if ev.Type == "transaction" {
				discard(it, ev.EventID, `event item with type "transaction"`)
				continue
			}
			ev.Raw = json.RawMessage(it.Payload)
			b.Errors = append(b.Errors, ev)
		case "log":
			var c struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(it.Payload, &c); err != nil {
				discard(it, "", fmt.Sprintf("decoding log container: %v", err))
				continue
			}
			for i, raw := range c.Items {
				lg, err := decodeLog(raw)
				if err != nil {
					b.Discarded = append(b.Discarded, Discarded{Seq: seq, ItemType: "log", Reason: fmt.Sprintf("log %d: %v", i, err), Raw: raw})
					continue
				}
				b.Logs = append(b.Logs, lg)
			}
		case "client_report":
			var cr ClientReport
			if err := json.Unmarshal(it.Payload, &cr); err != nil {
				discard(it, "", fmt.Sprintf("decoding client report: %v", err))
				continue
			}
			b.ClientReports = append(b.ClientReports, cr)
		case "span":
			if it.ItemCount == nil {
				b.StandaloneSpans = append(b.StandaloneSpans, json.RawMessage(it.Payload))
				continue
			}
			var c struct {
				Items []json.RawMessage `json:"items"`
			}
			// checkContainer already proved the payload decodes.
			_ = json.Unmarshal(it.Payload, &c)
			b.StandaloneSpans = append(b.StandaloneSpans, c.Items...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.envelopes = append(s.envelopes, b.Envelope)
	s.transactions = append(s.transactions, b.Transactions...)
	s.errorEvents = append(s.errorEvents, b.Errors...)
	s.logs = append(s.logs, b.Logs...)
	s.clientReports = append(s.clientReports, b.ClientReports...)
	s.standaloneSpans = append(s.standaloneSpans, b.StandaloneSpans...)
	s.discarded = append(s.discarded, b.Discarded...)
	s.notifyLocked()
	return b
}

// decodeLog decodes one log and applies the rules Relay drops a log for.
func decodeLog(raw json.RawMessage) (Log, error) {
	var lg Log
	if err := json.Unmarshal(raw, &lg); err != nil {
		return Log{}, fmt.Errorf("decoding: %w", err)
	}
	if lg.Timestamp == 0 {
		return Log{}, fmt.Errorf("timestamp: %w", ErrMissingTimestamp)
	}
	if !isHexID(lg.TraceID, 32) {
		return Log{}, fmt.Errorf("trace_id %q: %w", lg.TraceID, ErrInvalidTraceID)
	}
	if lg.SpanID != "" && !isHexID(lg.SpanID, 16) {
		return Log{}, fmt.Errorf("span_id %q: %w", lg.SpanID, ErrInvalidSpanID)
	}
	switch lg.Level {
	case "trace", "debug", "info", "warn", "error", "fatal":
	default:
		return Log{}, fmt.Errorf("level %q: not one of trace, debug, info, warn, error, fatal", lg.Level)
	}
	return lg, nil
}

// Requests is the number of requests received, rejected ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Faults is the number of requests a fault was injected into.
func (s *Server) Faults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faultCount
}

// Envelopes returns the accepted envelopes in arrival order.
func (s *Server) Envelopes() []Envelope { return lockedClone(s, &s.envelopes) }

// Transactions returns the accepted transactions that passed Relay's validation.
func (s *Server) Transactions() []Transaction { return lockedClone(s, &s.transactions) }

// Errors returns the accepted error events.
func (s *Server) Errors() []ErrorEvent { return lockedClone(s, &s.errorEvents) }

// Logs returns the accepted logs, flattened out of their containers.
func (s *Server) Logs() []Log { return lockedClone(s, &s.logs) }

// ClientReports returns the accepted client reports.
func (s *Server) ClientReports() []ClientReport { return lockedClone(s, &s.clientReports) }

// StandaloneSpans returns the payloads of `span` items (single spans and container entries), raw.
func (s *Server) StandaloneSpans() []json.RawMessage { return lockedClone(s, &s.standaloneSpans) }

// Discarded returns what was answered 200 but dropped during processing, with the reason.
func (s *Server) Discarded() []Discarded { return lockedClone(s, &s.discarded) }

// Rejections returns the requests answered with a non-2xx status (or none, for dropped connections).
func (s *Server) Rejections() []Rejection { return lockedClone(s, &s.rejections) }

func lockedClone[T any](s *Server, v *[]T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(*v)
}

// SpanIDs counts every span id received in accepted transactions, the root contexts.trace.span_id
// included, and at the OTLP traces endpoint, so tests can assert exactly-once delivery (every count 1).
func (s *Server) SpanIDs() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int)
	for _, tx := range s.transactions {
		out[tx.Trace().SpanID]++
		for _, sp := range tx.Spans {
			out[sp.SpanID]++
		}
	}
	for _, sp := range s.otlpSpans {
		out[sp.SpanID]++
	}
	return out
}

// SpanCount is the number of spans received in accepted transactions, roots included, and at the
// OTLP traces endpoint.
func (s *Server) SpanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spanCountLocked()
}

func (s *Server) spanCountLocked() int {
	n := 0
	for _, tx := range s.transactions {
		n += 1 + len(tx.Spans)
	}
	return n + len(s.otlpSpans)
}

// Reset forgets everything recorded and zeroes the counters; the fault injector stays.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.faultCount = 0, 0
	s.envelopes, s.transactions, s.errorEvents, s.logs = nil, nil, nil, nil
	s.clientReports, s.standaloneSpans, s.discarded, s.rejections = nil, nil, nil, nil
	s.otlpSpans, s.otlpLogs = nil, nil
	s.notifyLocked()
}

// WaitFor blocks until cond returns true, re-evaluating it whenever the server records something. cond
// may call the server's accessors. It fails when ctx ends or the server closes first.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("sentrytest: condition not met: %w", ctx.Err())
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
}

func (s *Server) waitCount(ctx context.Context, what string, n int, count func() int) error {
	if err := s.WaitFor(ctx, func() bool { return count() >= n }); err != nil {
		return fmt.Errorf("waiting for %d %s, have %d: %w", n, what, count(), err)
	}
	return nil
}

// WaitForSpans waits until at least n spans (roots included) arrived in accepted transactions or at
// the OTLP traces endpoint.
func (s *Server) WaitForSpans(ctx context.Context, n int) error {
	return s.waitCount(ctx, "spans", n, s.SpanCount)
}

// WaitForTransactions waits until at least n valid transactions were accepted.
func (s *Server) WaitForTransactions(ctx context.Context, n int) error {
	return s.waitCount(ctx, "transactions", n, func() int { return len(s.Transactions()) })
}

// WaitForErrors waits until at least n error events were accepted.
func (s *Server) WaitForErrors(ctx context.Context, n int) error {
	return s.waitCount(ctx, "errors", n, func() int { return len(s.Errors()) })
}

// WaitForLogs waits until at least n logs were accepted.
func (s *Server) WaitForLogs(ctx context.Context, n int) error {
	return s.waitCount(ctx, "logs", n, func() int { return len(s.Logs()) })
}

// WaitForRequests waits until at least n requests arrived, rejected ones included.
func (s *Server) WaitForRequests(ctx context.Context, n int) error {
	return s.waitCount(ctx, "requests", n, s.Requests)
}
