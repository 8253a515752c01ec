package sentryexporter

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/transform"
)

// encodeAndValidate encodes every event as the exporter does, counting value repairs in repairs,
// and checks each transaction against Relay's rules; it returns the decoded transactions.
func encodeAndValidate(t *testing.T, events []transform.Event, repairs *sanitize.Counts) []sentrytest.Transaction {
	t.Helper()
	var out []sentrytest.Transaction
	var enc eventjson.Encoder
	for i, ev := range events {
		payload := transform.Encode(&enc, nil, &events[i], repairs)
		if ev.Category != ratelimit.CategoryTransaction {
			continue
		}
		require.NoError(t, sentrytest.ValidateTransaction(payload))
		var tx sentrytest.Transaction
		require.NoError(t, json.Unmarshal(payload, &tx))
		out = append(out, tx)
	}
	return out
}

func TestTransformRepairsWhatSentryWouldReject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		bad   func(b *traceBuilder) // adds the bad span(s) under root "a1" of trace "a"
		kind  sanitize.Kind
		check func(t *testing.T, txs []sentrytest.Transaction)
	}{
		{
			name: "zero span id gets a derived id",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "bad", 1, 2).SetSpanID(pcommon.SpanID{})
			},
			kind: sanitize.InvalidID,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs[0].Spans, 2)
				for _, s := range txs[0].Spans {
					assert.NotEqual(t, "0000000000000000", s.SpanID)
				}
			},
		},
		{
			name: "zero trace id gets a derived trace",
			bad: func(b *traceBuilder) {
				s := b.span("svc", "a", "b1", "", ptrace.SpanKindServer, "no trace", 1, 2)
				s.SetTraceID(pcommon.TraceID{})
			},
			kind: sanitize.InvalidID,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs, 2)
				assert.NotEqual(t, strings.Repeat("0", 32), txs[1].Trace().TraceID)
			},
		},
		{
			name: "end before start is clamped",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "backwards", 5, 3)
			},
			kind: sanitize.EndBeforeStart,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				bad := txs[0].Spans[1]
				assert.Equal(t, bad.StartTimestamp, bad.Timestamp)
			},
		},
		{
			name: "missing timestamps take the other one",
			bad: func(b *traceBuilder) {
				s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "no start", 5, 6)
				s.SetStartTimestamp(0)
			},
			kind: sanitize.TimestampOutOfRange,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				bad := txs[0].Spans[1]
				assert.Equal(t, bad.Timestamp, bad.StartTimestamp)
				assert.Positive(t, float64(bad.StartTimestamp))
			},
		},
		{
			name: "NaN and infinities become strings",
			bad: func(b *traceBuilder) {
				s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "floats", 1, 2)
				s.Attributes().PutDouble("ratio", math.NaN())
				s.Attributes().PutEmptySlice("values").AppendEmpty().SetDouble(math.Inf(-1))
			},
			kind: sanitize.NonFiniteNumber,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				data := txs[0].Spans[1].Data
				assert.Equal(t, "NaN", data["ratio"])
				assert.Equal(t, []any{"-Inf"}, data["values"])
			},
		},
		{
			name: "invalid UTF-8 is replaced",
			bad: func(b *traceBuilder) {
				s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "utf8", 1, 2)
				s.Attributes().PutStr("payload", "ok \xff\xfe end")
			},
			kind: sanitize.InvalidUTF8,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				assert.Equal(t, "ok \uFFFD end", txs[0].Spans[1].Data["payload"])
			},
		},
		{
			name: "huge values and arrays are truncated",
			bad: func(b *traceBuilder) {
				s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "huge", 1, 2)
				s.Attributes().PutStr("sql", strings.Repeat("x", 100_000))
				arr := s.Attributes().PutEmptySlice("ids")
				for i := range 10_000 {
					arr.AppendEmpty().SetInt(int64(i))
				}
			},
			kind: sanitize.Truncated,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				data := txs[0].Spans[1].Data
				assert.Len(t, data["sql"], sanitize.MaxStringBytes)
				assert.Len(t, data["ids"], sanitize.MaxArrayItems)
			},
		},
		{
			name: "duplicate span id in one batch gets its own id",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "first", 1, 2)
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "second", 3, 4)
			},
			kind: sanitize.DuplicateSpanID,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs[0].Spans, 3)
				ids := map[string]bool{}
				for _, s := range txs[0].Spans {
					ids[s.SpanID] = true
				}
				assert.Len(t, ids, 3, "every span id is unique")
			},
		},
		{
			name: "span that is its own parent",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a2", ptrace.SpanKindInternal, "self", 1, 2)
			},
			kind: sanitize.ParentCycle,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs, 2)
				assert.Empty(t, txs[1].Trace().ParentSpanID)
			},
		},
		{
			name: "parent cycle A -> B -> A terminates",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "c1", "c2", ptrace.SpanKindInternal, "x", 1, 2)
				b.span("svc", "a", "c2", "c1", ptrace.SpanKindInternal, "y", 1, 2)
			},
			kind: sanitize.ParentCycle,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs, 2)
				assert.Empty(t, txs[1].Trace().ParentSpanID, "the cycle's head is cut loose")
				assert.Len(t, txs[1].Spans, 1)
			},
		},
		{
			name: "empty name gets Sentry's placeholder",
			bad: func(b *traceBuilder) {
				b.span("svc", "a", "b1", "", ptrace.SpanKindServer, "", 1, 2)
			},
			kind: sanitize.EmptyName,
			check: func(t *testing.T, txs []sentrytest.Transaction) {
				require.Len(t, txs, 2)
				assert.Equal(t, "<unlabeled transaction>", txs[1].Transaction)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newTraceBuilder()
			b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /good", 0, 10)
			b.span("svc", "a", "a9", "a1", ptrace.SpanKindClient, "good child", 1, 9)
			tc.bad(b)
			opts := testOptions
			opts.Now = pcommon.NewTimestampFromTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
			events, repairs := transform.Traces(b.td, opts)
			txs := encodeAndValidate(t, events, &repairs)
			assert.Positive(t, repairs[tc.kind], "the repair is counted as %s", tc.kind)
			require.NotEmpty(t, txs)
			good := txs[0]
			assert.Equal(t, "GET /good", good.Transaction, "the good transaction survives")
			assert.Equal(t, hexID("a9", 8), good.Spans[0].SpanID, "the good span survives")
			tc.check(t, txs)
		})
	}
}

func TestTransformRepairsResourceValues(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
	attrs := b.td.ResourceSpans().At(0).Resource().Attributes()
	attrs.PutStr("deployment.environment.name", "prod/eu")
	attrs.PutStr("service.version", "1.0/beta")
	events, repairs := transform.Traces(b.td, testOptions)
	require.Len(t, events, 1)
	// Repaired as logs repair them (internal/resource): "/" becomes "-" in both, so prod/eu and prod/us
	// stay apart instead of both falling back to the configured environment.
	assert.Equal(t, "prod-eu", events[0].Sentry.Environment, "Sentry rejects / in environments")
	assert.Equal(t, "svc@1.0-beta", events[0].Sentry.Release, "Sentry rejects / in releases")
	assert.Equal(t, 2, repairs[sanitize.Truncated], "each repaired name is counted")
}

// TestEmptyNameCountedOncePerTransaction: an unnamed span with two exceptions makes one transaction
// and two error events, all named with the placeholder; the repair is counted once, by the
// transaction, not again by each error event.
func TestEmptyNameCountedOncePerTransaction(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "", 0, 10)
	span := b.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	for range 2 {
		ev := span.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "ValueError")
		ev.Attributes().PutStr("exception.message", "bad")
	}
	events, repairs := transform.Traces(b.td, testOptions)
	require.Len(t, events, 3)
	for _, ev := range events {
		assert.Equal(t, "<unlabeled transaction>", ev.Sentry.Transaction)
	}
	assert.Equal(t, 1, repairs[sanitize.EmptyName])
}
