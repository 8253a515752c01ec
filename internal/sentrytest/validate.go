package sentrytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of ValidateTransaction, so tests can tell which Relay rule a transaction broke.
var (
	// ErrInvalidJSON means the payload is not a JSON object.
	ErrInvalidJSON = errors.New("payload is not a JSON object")
	// ErrNotTransaction means `type` is missing or not "transaction".
	ErrNotTransaction = errors.New(`type is not "transaction"`)
	// ErrMissingTimestamp means start_timestamp or timestamp is absent or null.
	ErrMissingTimestamp = errors.New("timestamp missing")
	// ErrInvalidTimestamp means a timestamp is neither float seconds nor RFC 3339.
	ErrInvalidTimestamp = errors.New("timestamp invalid")
	// ErrTimestampOrder means the end is before the start.
	ErrTimestampOrder = errors.New("timestamp is before start_timestamp")
	// ErrMissingTraceContext means contexts.trace is absent.
	ErrMissingTraceContext = errors.New("contexts.trace missing")
	// ErrInvalidTraceID means a trace_id is not 32 lowercase hex characters or is all zeros.
	ErrInvalidTraceID = errors.New("trace_id must be 32 lowercase hex characters, not all zero")
	// ErrInvalidSpanID means a span_id or parent_span_id is not 16 lowercase hex characters or is all zeros.
	ErrInvalidSpanID = errors.New("span_id must be 16 lowercase hex characters, not all zero")
	// ErrInvalidSpans means `spans` is not an array of objects.
	ErrInvalidSpans = errors.New("spans must be an array of objects")
	// ErrFieldNameCase means a key differs from a Sentry field name only in case ("Spans"): Relay ignores
	// it while Go's encoding/json would decode it, so the fake refuses to hide the mistake.
	ErrFieldNameCase = errors.New("field name differs from Sentry's only in case")
)

// ValidateTransaction applies the rules Relay enforces on a transaction payload after it has answered 200
// (a transaction breaking any of them is dropped silently by Sentry): a JSON object with type
// "transaction", start_timestamp <= timestamp (float seconds or RFC 3339), contexts.trace with a valid
// trace_id and span_id, and every span with valid trace_id and span_id and start <= end. One bad span
// invalidates the whole transaction. Two checks go beyond Relay because Relay would silently lose data
// instead: a malformed parent_span_id (Relay drops the field, breaking the span tree) and a field name
// in the wrong case (Relay ignores it). The returned error wraps one of the Err* sentinels.
func ValidateTransaction(raw []byte) error {
	obj, err := decodeObject(raw)
	if err != nil {
		return err
	}
	if err := checkFieldCase(obj, "transaction"); err != nil {
		return err
	}
	var typ string
	if t, ok := obj["type"]; !ok || json.Unmarshal(t, &typ) != nil || typ != "transaction" {
		return fmt.Errorf("type %s: %w", truncate(obj["type"], 40), ErrNotTransaction)
	}
	if _, _, err := timeRange(obj); err != nil {
		return err
	}
	ctxRaw, ok := obj["contexts"]
	if !ok || isNull(ctxRaw) {
		return ErrMissingTraceContext
	}
	contexts, err := decodeObject(ctxRaw)
	if err != nil {
		return fmt.Errorf("contexts: %w", err)
	}
	traceRaw, ok := contexts["trace"]
	if !ok || isNull(traceRaw) {
		return ErrMissingTraceContext
	}
	trace, err := decodeObject(traceRaw)
	if err != nil {
		return fmt.Errorf("contexts.trace: %w", err)
	}
	if err := checkFieldCase(trace, "contexts.trace"); err != nil {
		return err
	}
	if err := checkIDs(trace, "contexts.trace"); err != nil {
		return err
	}
	spansRaw, ok := obj["spans"]
	if !ok || isNull(spansRaw) {
		return nil
	}
	var spans []json.RawMessage
	if err := json.Unmarshal(spansRaw, &spans); err != nil {
		return fmt.Errorf("spans %s: %w", truncate(spansRaw, 40), ErrInvalidSpans)
	}
	for i, sr := range spans {
		span, err := decodeObject(sr)
		if err != nil {
			return fmt.Errorf("spans[%d]: %w", i, ErrInvalidSpans)
		}
		where := fmt.Sprintf("spans[%d]", i)
		if err := checkFieldCase(span, where); err != nil {
			return err
		}
		if err := checkIDs(span, where); err != nil {
			return err
		}
		if _, _, err := timeRange(span); err != nil {
			return fmt.Errorf("%s (span_id %s): %w", where, span["span_id"], err)
		}
	}
	return nil
}

// checkIDs validates trace_id, span_id and (when present) parent_span_id of a trace context or span.
func checkIDs(obj map[string]json.RawMessage, where string) error {
	traceID, ok := stringField(obj, "trace_id")
	if !ok || !isHexID(traceID, 32) {
		return fmt.Errorf("%s trace_id %s: %w", where, truncate(obj["trace_id"], 80), ErrInvalidTraceID)
	}
	spanID, ok := stringField(obj, "span_id")
	if !ok || !isHexID(spanID, 16) {
		return fmt.Errorf("%s span_id %s: %w", where, truncate(obj["span_id"], 80), ErrInvalidSpanID)
	}
	if raw, present := obj["parent_span_id"]; present && !isNull(raw) {
		parent, ok := stringField(obj, "parent_span_id")
		if !ok || !isHexID(parent, 16) {
			return fmt.Errorf("%s parent_span_id %s: %w", where, truncate(raw, 80), ErrInvalidSpanID)
		}
	}
	return nil
}

// timeRange reads start_timestamp and timestamp and checks their order.
func timeRange(obj map[string]json.RawMessage) (float64, float64, error) {
	var vals [2]float64
	for i, name := range [2]string{"start_timestamp", "timestamp"} {
		raw, ok := obj[name]
		if !ok || isNull(raw) {
			return 0, 0, fmt.Errorf("%s: %w", name, ErrMissingTimestamp)
		}
		v, err := parseTimestamp(raw)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w: %w", name, ErrInvalidTimestamp, err)
		}
		vals[i] = v
	}
	if vals[1] < vals[0] {
		return 0, 0, fmt.Errorf("timestamp %v < start_timestamp %v: %w", vals[1], vals[0], ErrTimestampOrder)
	}
	return vals[0], vals[1], nil
}

func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%q: %w", truncate(raw, 40), ErrInvalidJSON)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	return obj, nil
}

func stringField(obj map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := obj[name]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// isHexID reports whether s is exactly n lowercase hex digits and not all zeros.
func isHexID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	nonZero := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '0':
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f':
			nonZero = true
		default:
			return false
		}
	}
	return nonZero
}

// checkFieldCase rejects keys that equal a Sentry transaction, trace context or span field name only
// when compared case-insensitively.
func checkFieldCase(obj map[string]json.RawMessage, where string) error {
	for k := range obj {
		lower := strings.ToLower(k)
		if lower != k && isSentryFieldName(lower) {
			return fmt.Errorf("%s key %q (Sentry's is %q): %w", where, k, lower, ErrFieldNameCase)
		}
	}
	return nil
}

func isSentryFieldName(name string) bool {
	switch name {
	case "type", "event_id", "transaction", "transaction_info", "start_timestamp", "timestamp", "platform",
		"environment", "release", "dist", "server_name", "tags", "contexts", "spans", "measurements", "sdk",
		"extra", "span_id", "parent_span_id", "trace_id", "op", "description", "status", "data", "origin":
		return true
	}
	return false
}
