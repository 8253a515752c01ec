package sentrytest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func TestValidateTransaction(t *testing.T) {
	t.Parallel()
	trace := func(d map[string]any) map[string]any { return d["contexts"].(map[string]any)["trace"].(map[string]any) }
	span := func(d map[string]any, i int) map[string]any { return d["spans"].([]any)[i].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(d map[string]any)
		raw    string // used instead of the mutated document when set
		want   error  // nil: valid
		reason string
	}{
		{name: "valid", mutate: func(map[string]any) {}},
		{name: "valid RFC 3339 timestamps", mutate: func(d map[string]any) {
			d["start_timestamp"], d["timestamp"] = "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000001+00:00"
		}},
		{name: "valid mixed forms", mutate: func(d map[string]any) { d["start_timestamp"] = "2023-11-14T22:13:19Z" }},
		{name: "valid zero duration", mutate: func(d map[string]any) { d["timestamp"] = d["start_timestamp"] }},
		{name: "valid without spans", mutate: func(d map[string]any) { delete(d, "spans") }},
		{name: "valid null spans", mutate: func(d map[string]any) { d["spans"] = nil }},
		{name: "valid null parent", mutate: func(d map[string]any) { span(d, 0)["parent_span_id"] = nil }},
		{name: "not json", raw: `{"type":`, want: sentrytest.ErrInvalidJSON},
		{name: "array", raw: `[]`, want: sentrytest.ErrInvalidJSON},
		{name: "empty", raw: ``, want: sentrytest.ErrInvalidJSON},
		{name: "type missing", mutate: func(d map[string]any) { delete(d, "type") }, want: sentrytest.ErrNotTransaction},
		{name: "type event", mutate: func(d map[string]any) { d["type"] = "event" }, want: sentrytest.ErrNotTransaction, reason: `"event"`},
		{name: "start missing", mutate: func(d map[string]any) { delete(d, "start_timestamp") }, want: sentrytest.ErrMissingTimestamp, reason: "start_timestamp"},
		{name: "end null", mutate: func(d map[string]any) { d["timestamp"] = nil }, want: sentrytest.ErrMissingTimestamp, reason: "timestamp"},
		{name: "end not a date", mutate: func(d map[string]any) { d["timestamp"] = "tomorrow" }, want: sentrytest.ErrInvalidTimestamp, reason: `"tomorrow"`},
		{name: "end is bool", mutate: func(d map[string]any) { d["timestamp"] = true }, want: sentrytest.ErrInvalidTimestamp},
		{name: "end before start", mutate: func(d map[string]any) { d["timestamp"] = 1699999999.0 }, want: sentrytest.ErrTimestampOrder},
		{name: "contexts missing", mutate: func(d map[string]any) { delete(d, "contexts") }, want: sentrytest.ErrMissingTraceContext},
		{name: "trace context missing", mutate: func(d map[string]any) { d["contexts"] = map[string]any{"os": map[string]any{}} }, want: sentrytest.ErrMissingTraceContext},
		{name: "contexts not object", mutate: func(d map[string]any) { d["contexts"] = "x" }, want: sentrytest.ErrInvalidJSON, reason: "contexts"},
		{name: "trace_id missing", mutate: func(d map[string]any) { delete(trace(d), "trace_id") }, want: sentrytest.ErrInvalidTraceID},
		{name: "trace_id short", mutate: func(d map[string]any) { trace(d)["trace_id"] = "abc" }, want: sentrytest.ErrInvalidTraceID, reason: `"abc"`},
		{name: "trace_id uppercase", mutate: func(d map[string]any) { trace(d)["trace_id"] = "0000000000000000000000000000000A" }, want: sentrytest.ErrInvalidTraceID},
		{name: "trace_id zero", mutate: func(d map[string]any) { trace(d)["trace_id"] = traceID(0) }, want: sentrytest.ErrInvalidTraceID},
		{name: "trace_id with dashes", mutate: func(d map[string]any) { trace(d)["trace_id"] = "00000000-0000-0000-0000-000000000001" }, want: sentrytest.ErrInvalidTraceID},
		{name: "trace_id number", mutate: func(d map[string]any) { trace(d)["trace_id"] = 1 }, want: sentrytest.ErrInvalidTraceID},
		{name: "span_id zero", mutate: func(d map[string]any) { trace(d)["span_id"] = spanID(0) }, want: sentrytest.ErrInvalidSpanID, reason: "contexts.trace span_id"},
		{name: "span_id long", mutate: func(d map[string]any) { trace(d)["span_id"] = traceID(1) }, want: sentrytest.ErrInvalidSpanID},
		{name: "span_id non-hex", mutate: func(d map[string]any) { trace(d)["span_id"] = "000000000000000g" }, want: sentrytest.ErrInvalidSpanID},
		{name: "parent_span_id bad", mutate: func(d map[string]any) { trace(d)["parent_span_id"] = "x" }, want: sentrytest.ErrInvalidSpanID, reason: "parent_span_id"},
		{name: "spans not array", mutate: func(d map[string]any) { d["spans"] = map[string]any{} }, want: sentrytest.ErrInvalidSpans},
		{name: "span not object", mutate: func(d map[string]any) { d["spans"] = []any{1} }, want: sentrytest.ErrInvalidSpans, reason: "spans[0]"},
		{name: "span trace_id missing", mutate: func(d map[string]any) { delete(span(d, 1), "trace_id") }, want: sentrytest.ErrInvalidTraceID, reason: "spans[1]"},
		{name: "span span_id zero", mutate: func(d map[string]any) { span(d, 1)["span_id"] = spanID(0) }, want: sentrytest.ErrInvalidSpanID, reason: "spans[1]"},
		{name: "span start missing", mutate: func(d map[string]any) { delete(span(d, 0), "start_timestamp") }, want: sentrytest.ErrMissingTimestamp, reason: "spans[0]"},
		{name: "span end missing", mutate: func(d map[string]any) { delete(span(d, 0), "timestamp") }, want: sentrytest.ErrMissingTimestamp, reason: "spans[0]"},
		{name: "span end before start", mutate: func(d map[string]any) { span(d, 1)["timestamp"] = 1.0 }, want: sentrytest.ErrTimestampOrder, reason: "spans[1]"},
		{name: "capitalised spans", mutate: func(d map[string]any) { d["Spans"] = d["spans"]; delete(d, "spans") }, want: sentrytest.ErrFieldNameCase, reason: `"Spans"`},
		{name: "capitalised span field", mutate: func(d map[string]any) { span(d, 0)["Op"] = "x" }, want: sentrytest.ErrFieldNameCase, reason: "spans[0]"},
		{name: "capitalised trace field", mutate: func(d map[string]any) { trace(d)["Status"] = "ok" }, want: sentrytest.ErrFieldNameCase, reason: "contexts.trace"},
		{name: "valid unknown capitalised key", mutate: func(d map[string]any) { d["Custom"] = 1 }},
		{name: "span bad parent", mutate: func(d map[string]any) { span(d, 0)["parent_span_id"] = "" }, want: sentrytest.ErrInvalidSpanID, reason: "spans[0] parent_span_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := []byte(tt.raw)
			if tt.mutate != nil {
				d := txDoc(1, 2)
				tt.mutate(d)
				var err error
				raw, err = json.Marshal(d)
				require.NoError(t, err)
			}
			err := sentrytest.ValidateTransaction(raw)
			if tt.want == nil {
				require.NoError(t, err)
				var tx sentrytest.Transaction
				require.NoError(t, json.Unmarshal(raw, &tx), "a valid transaction decodes")
				assert.Equal(t, traceID(1), tx.Trace().TraceID)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

func TestTimestampAndTagsDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{`1700000000.5`, 1700000000.5, false},
		{`"2023-11-14T22:13:20.5Z"`, 1700000000.5, false},
		{`"2023-11-14T23:13:20.5+01:00"`, 1700000000.5, false},
		{`"1700000000"`, 0, true},
		{`{}`, 0, true},
		{`1e400`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var ts sentrytest.Timestamp
			err := json.Unmarshal([]byte(tt.in), &ts)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, float64(ts), 1e-6)
		})
	}
	var tags sentrytest.Tags
	require.NoError(t, json.Unmarshal([]byte(`[["a","1"],["b","2"]]`), &tags))
	assert.Equal(t, sentrytest.Tags{"a": "1", "b": "2"}, tags)
	require.NoError(t, json.Unmarshal([]byte(`{"c":"3"}`), &tags))
	assert.Equal(t, sentrytest.Tags{"c": "3"}, tags)
	assert.Error(t, json.Unmarshal([]byte(`{"c":3}`), &tags))
}
