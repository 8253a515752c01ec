package sentrytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Timestamp is a Sentry timestamp in seconds since the Unix epoch. Sentry accepts both a float number of
// seconds and an RFC 3339 string, so decoding accepts both; zero means the field was absent.
type Timestamp float64

// UnmarshalJSON accepts a JSON number (seconds) or an RFC 3339 string, as Relay does.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*t = 0 // absent; ValidateTransaction is what rejects a missing required timestamp
		return nil
	}
	v, err := parseTimestamp(b)
	if err != nil {
		return err
	}
	*t = Timestamp(v)
	return nil
}

// Time converts the timestamp to a time.Time in UTC (microsecond precision, as Sentry stores it).
func (t Timestamp) Time() time.Time {
	sec, frac := math.Modf(float64(t))
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}

// parseTimestamp decodes a raw JSON timestamp value into float seconds.
func parseTimestamp(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return 0, fmt.Errorf("timestamp %q: %w", b, ErrMissingTimestamp)
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, fmt.Errorf("timestamp %s: %w", b, err)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, fmt.Errorf("timestamp %q: not RFC 3339: %w", s, err)
		}
		return float64(tm.UnixNano()) / 1e9, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return 0, fmt.Errorf("timestamp %s: neither a number nor a string: %w", b, err)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("timestamp %s: not a finite number", b)
	}
	return f, nil
}

// Tags are Sentry tags. Relay accepts both an object and an array of [key, value] pairs, so both decode.
type Tags map[string]string

// UnmarshalJSON accepts {"k":"v"} and [["k","v"], ...].
func (t *Tags) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var pairs [][2]string
		if err := json.Unmarshal(b, &pairs); err != nil {
			return fmt.Errorf("tags %s: expected [[key, value], ...] of strings: %w", truncate(b, 80), err)
		}
		m := make(Tags, len(pairs))
		for _, p := range pairs {
			m[p[0]] = p[1]
		}
		*t = m
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("tags %s: expected an object of strings: %w", truncate(b, 80), err)
	}
	*t = m
	return nil
}

// SDK identifies the sender, as in the `sdk` field of events and envelope headers.
type SDK struct {
	Name         string   `json:"name,omitempty"`
	Version      string   `json:"version,omitempty"`
	Integrations []string `json:"integrations,omitempty"`
}

// TraceContext is `contexts.trace`: what links a transaction or an error to its trace.
type TraceContext struct {
	TraceID      string         `json:"trace_id,omitempty"`
	SpanID       string         `json:"span_id,omitempty"`
	ParentSpanID string         `json:"parent_span_id,omitempty"`
	Op           string         `json:"op,omitempty"`
	Description  string         `json:"description,omitempty"`
	Status       string         `json:"status,omitempty"`
	Origin       string         `json:"origin,omitempty"`
	Data         map[string]any `json:"data,omitempty"`
}

// Contexts is the `contexts` object: the trace context decoded, every other context (otel, os, runtime,
// ...) kept raw so tests can decode what they care about.
type Contexts struct {
	Trace *TraceContext
	Other map[string]json.RawMessage
}

// UnmarshalJSON splits the trace context from the others.
func (c *Contexts) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("contexts: %w", err)
	}
	c.Trace, c.Other = nil, nil
	for k, v := range m {
		if k == "trace" {
			var tc TraceContext
			if err := json.Unmarshal(v, &tc); err != nil {
				return fmt.Errorf("contexts.trace: %w", err)
			}
			c.Trace = &tc
			continue
		}
		if c.Other == nil {
			c.Other = make(map[string]json.RawMessage)
		}
		c.Other[k] = v
	}
	return nil
}

// MarshalJSON writes the contexts back in Sentry's shape (used by the JSON-lines output of fakesentry).
func (c Contexts) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Other)+1)
	for k, v := range c.Other {
		m[k] = v
	}
	if c.Trace != nil {
		m["trace"] = c.Trace
	}
	return json.Marshal(m)
}

// TransactionInfo carries the transaction name's source (custom, url, route, view, component, task).
type TransactionInfo struct {
	Source string `json:"source,omitempty"`
}

// Span is one child span of a transaction (`spans[]`).
type Span struct {
	SpanID         string         `json:"span_id"`
	ParentSpanID   string         `json:"parent_span_id,omitempty"`
	TraceID        string         `json:"trace_id"`
	Op             string         `json:"op,omitempty"`
	Description    string         `json:"description,omitempty"`
	Status         string         `json:"status,omitempty"`
	StartTimestamp Timestamp      `json:"start_timestamp"`
	Timestamp      Timestamp      `json:"timestamp"`
	Data           map[string]any `json:"data,omitempty"`
	Tags           Tags           `json:"tags,omitempty"`
	Origin         string         `json:"origin,omitempty"`
}

// Duration is the span's end minus start.
func (s Span) Duration() time.Duration { return seconds(s.Timestamp - s.StartTimestamp) }

// Measurement is one entry of `measurements`.
type Measurement struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Transaction is an accepted transaction event, decoded with the fields Sentry uses.
type Transaction struct {
	EventID         string                 `json:"event_id"`
	Type            string                 `json:"type"`
	Transaction     string                 `json:"transaction"`
	TransactionInfo *TransactionInfo       `json:"transaction_info,omitempty"`
	StartTimestamp  Timestamp              `json:"start_timestamp"`
	Timestamp       Timestamp              `json:"timestamp"`
	Platform        string                 `json:"platform,omitempty"`
	Environment     string                 `json:"environment,omitempty"`
	Release         string                 `json:"release,omitempty"`
	Dist            string                 `json:"dist,omitempty"`
	ServerName      string                 `json:"server_name,omitempty"`
	Tags            Tags                   `json:"tags,omitempty"`
	Contexts        Contexts               `json:"contexts"`
	Spans           []Span                 `json:"spans,omitempty"`
	Measurements    map[string]Measurement `json:"measurements,omitempty"`
	SDK             *SDK                   `json:"sdk,omitempty"`
	Extra           map[string]any         `json:"extra,omitempty"`
	// Raw is the payload exactly as received.
	Raw json.RawMessage `json:"-"`
}

// Duration is the transaction's end minus start.
func (t Transaction) Duration() time.Duration { return seconds(t.Timestamp - t.StartTimestamp) }

// Trace returns contexts.trace, or a zero value when absent (never for an accepted transaction).
func (t Transaction) Trace() TraceContext {
	if t.Contexts.Trace == nil {
		return TraceContext{}
	}
	return *t.Contexts.Trace
}

// Mechanism says how an exception was captured.
type Mechanism struct {
	Type        string         `json:"type,omitempty"`
	Handled     *bool          `json:"handled,omitempty"`
	Description string         `json:"description,omitempty"`
	Data        map[string]any `json:"data,omitempty"`
}

// Frame is one stack frame; Sentry orders frames oldest first.
type Frame struct {
	Function    string `json:"function,omitempty"`
	Module      string `json:"module,omitempty"`
	Package     string `json:"package,omitempty"`
	Filename    string `json:"filename,omitempty"`
	AbsPath     string `json:"abs_path,omitempty"`
	Lineno      int    `json:"lineno,omitempty"`
	Colno       int    `json:"colno,omitempty"`
	InApp       *bool  `json:"in_app,omitempty"`
	ContextLine string `json:"context_line,omitempty"`
}

// Stacktrace holds frames, oldest first.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Exception is one entry of `exception.values`.
type Exception struct {
	Type       string      `json:"type,omitempty"`
	Value      string      `json:"value,omitempty"`
	Module     string      `json:"module,omitempty"`
	ThreadID   any         `json:"thread_id,omitempty"`
	Mechanism  *Mechanism  `json:"mechanism,omitempty"`
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`
}

// ExceptionList is the `exception` interface: {"values": [...]}. Relay also accepts a bare array, which
// is what sentry-go sends, so both decode.
type ExceptionList struct {
	Values []Exception `json:"values"`
}

// UnmarshalJSON accepts {"values": [...]} and [...].
func (l *ExceptionList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		l.Values = nil
		if err := json.Unmarshal(b, &l.Values); err != nil {
			return fmt.Errorf("exception: %w", err)
		}
		return nil
	}
	var obj struct {
		Values []Exception `json:"values"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("exception: %w", err)
	}
	l.Values = obj.Values
	return nil
}

// LogEntry is the structured `logentry` message interface.
type LogEntry struct {
	Message   string `json:"message,omitempty"`
	Formatted string `json:"formatted,omitempty"`
	Params    []any  `json:"params,omitempty"`
}

// ErrorEvent is an accepted `event` item (an error or message event).
type ErrorEvent struct {
	EventID     string         `json:"event_id"`
	Type        string         `json:"type,omitempty"`
	Level       string         `json:"level,omitempty"`
	Message     string         `json:"message,omitempty"`
	LogEntry    *LogEntry      `json:"logentry,omitempty"`
	Exception   *ExceptionList `json:"exception,omitempty"`
	Timestamp   Timestamp      `json:"timestamp"`
	Transaction string         `json:"transaction,omitempty"`
	Platform    string         `json:"platform,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Release     string         `json:"release,omitempty"`
	ServerName  string         `json:"server_name,omitempty"`
	Tags        Tags           `json:"tags,omitempty"`
	Contexts    Contexts       `json:"contexts"`
	SDK         *SDK           `json:"sdk,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
	// Raw is the payload exactly as received.
	Raw json.RawMessage `json:"-"`
}

// Trace returns contexts.trace, or a zero value when absent.
func (e ErrorEvent) Trace() TraceContext {
	if e.Contexts.Trace == nil {
		return TraceContext{}
	}
	return *e.Contexts.Trace
}

// LogAttribute is a typed log attribute value.
type LogAttribute struct {
	Value any    `json:"value"`
	Type  string `json:"type"`
}

// Log is one record from a `log` container item.
type Log struct {
	Timestamp      Timestamp               `json:"timestamp"`
	TraceID        string                  `json:"trace_id"`
	SpanID         string                  `json:"span_id,omitempty"`
	Level          string                  `json:"level"`
	SeverityNumber int                     `json:"severity_number,omitempty"`
	Body           string                  `json:"body"`
	Attributes     map[string]LogAttribute `json:"attributes,omitempty"`
}

// DiscardedEvents is one outcome line of a client report.
type DiscardedEvents struct {
	Reason   string `json:"reason"`
	Category string `json:"category"`
	Quantity int    `json:"quantity"`
}

// ClientReport is a `client_report` item: what the sender dropped and why.
type ClientReport struct {
	Timestamp       Timestamp         `json:"timestamp"`
	DiscardedEvents []DiscardedEvents `json:"discarded_events"`
}

// DSC is the dynamic sampling context, the envelope header's `trace`. Sentry's SDKs send every value as
// a string, and so must we: a non-string value is rejected here (Relay would only ignore the whole DSC,
// which silently degrades sampling; the fake is stricter so tests catch it).
type DSC struct {
	TraceID     string `json:"trace_id"`
	PublicKey   string `json:"public_key"`
	SampleRate  string `json:"sample_rate,omitempty"`
	SampleRand  string `json:"sample_rand,omitempty"`
	Sampled     string `json:"sampled,omitempty"`
	Environment string `json:"environment,omitempty"`
	Release     string `json:"release,omitempty"`
	Transaction string `json:"transaction,omitempty"`
	OrgID       string `json:"org_id,omitempty"`
	ReplayID    string `json:"replay_id,omitempty"`
}

// EnvelopeHeader is the first line of an envelope.
type EnvelopeHeader struct {
	EventID string `json:"event_id,omitempty"`
	SentAt  string `json:"sent_at,omitempty"`
	DSN     string `json:"dsn,omitempty"`
	SDK     *SDK   `json:"sdk,omitempty"`
	Trace   *DSC   `json:"trace,omitempty"`
}

// Item is one envelope item: its header fields and its payload bytes exactly as received.
type Item struct {
	Type        string
	Length      *int
	ItemCount   *int
	ContentType string
	// RawHeader is the item header line as received.
	RawHeader json.RawMessage
	Payload   []byte
}

// Envelope is one accepted envelope: its header and items, raw bytes kept.
type Envelope struct {
	Header    EnvelopeHeader
	RawHeader json.RawMessage
	Items     []Item
}

// ItemTypes lists the item types in order.
func (e Envelope) ItemTypes() []string {
	out := make([]string, len(e.Items))
	for i, it := range e.Items {
		out[i] = it.Type
	}
	return out
}

// Discarded is a transaction or item that was answered 200 but dropped during processing, as Relay does
// silently; Reason says which rule failed.
type Discarded struct {
	Seq      int
	ItemType string
	EventID  string
	Reason   string
	Raw      json.RawMessage
}

// Rejection records a request that was refused with a non-2xx status and why.
type Rejection struct {
	Seq    int
	Status int
	Reason string
}

// Batch is everything one accepted request delivered, handed to the WithOnReceive callback.
type Batch struct {
	Seq             int
	Envelope        Envelope
	Transactions    []Transaction
	Errors          []ErrorEvent
	Logs            []Log
	ClientReports   []ClientReport
	StandaloneSpans []json.RawMessage
	Discarded       []Discarded
	// OTLPSpans and OTLPLogs are what a request to an OTLP endpoint delivered (its Envelope is empty).
	OTLPSpans []OTLPSpan
	OTLPLogs  []OTLPLog
}

// seconds converts a difference of float timestamps to a duration rounded to microseconds: float64
// epoch seconds carry about 0.2 µs of precision today, and Sentry stores microseconds.
func seconds(f Timestamp) time.Duration {
	return time.Duration(math.Round(float64(f)*1e6)) * time.Microsecond
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
