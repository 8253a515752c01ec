package clientreport_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
)

var now = time.Date(2026, 3, 1, 12, 30, 15, 123456789, time.FixedZone("CET", 3600))

type record struct {
	reason   clientreport.Reason
	category string
	quantity int
}

func decode(t *testing.T, payload []byte) clientreport.Report {
	t.Helper()
	var report clientreport.Report
	require.NoError(t, json.Unmarshal(payload, &report))
	return report
}

func TestTakeAggregates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		records []record
		want    []clientreport.DiscardedEvent
	}{
		{
			name: "same reason and category add up",
			records: []record{
				{clientreport.ReasonQueueOverflow, clientreport.CategoryError, 3},
				{clientreport.ReasonQueueOverflow, clientreport.CategoryError, 20},
			},
			want: []clientreport.DiscardedEvent{{Reason: "queue_overflow", Category: "error", Quantity: 23}},
		},
		{
			name: "sorted by reason then category",
			records: []record{
				{clientreport.ReasonSendError, clientreport.CategoryTransaction, 1},
				{clientreport.ReasonRateLimitBackoff, clientreport.CategorySpan, 2},
				{clientreport.ReasonRateLimitBackoff, clientreport.CategoryLogByte, 300},
				{clientreport.ReasonBufferOverflow, clientreport.CategoryLogItem, 4},
				{clientreport.ReasonEventProcessor, clientreport.CategoryTransaction, 5},
				{clientreport.ReasonNetworkError, clientreport.CategoryError, 6},
			},
			want: []clientreport.DiscardedEvent{
				{Reason: "buffer_overflow", Category: "log_item", Quantity: 4},
				{Reason: "event_processor", Category: "transaction", Quantity: 5},
				{Reason: "network_error", Category: "error", Quantity: 6},
				{Reason: "ratelimit_backoff", Category: "log_byte", Quantity: 300},
				{Reason: "ratelimit_backoff", Category: "span", Quantity: 2},
				{Reason: "send_error", Category: "transaction", Quantity: 1},
			},
		},
		{
			name: "invalid records ignored",
			records: []record{
				{clientreport.ReasonSendError, clientreport.CategoryError, 0},
				{clientreport.ReasonSendError, clientreport.CategoryError, -5},
				{"", clientreport.CategoryError, 1},
				{clientreport.ReasonSendError, "", 1},
				{clientreport.ReasonSendError, strings.Repeat("c", 65), 1},
				{clientreport.ReasonSendError, clientreport.CategorySpan, 7},
			},
			want: []clientreport.DiscardedEvent{{Reason: "send_error", Category: "span", Quantity: 7}},
		},
		{
			name:    "unknown category passes through",
			records: []record{{clientreport.ReasonQueueOverflow, "profile_chunk", 2}},
			want:    []clientreport.DiscardedEvent{{Reason: "queue_overflow", Category: "profile_chunk", Quantity: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r clientreport.Recorder
			for _, rec := range tt.records {
				r.Record(rec.reason, rec.category, rec.quantity)
			}
			payload, ok := r.Take(now)
			require.True(t, ok)
			report := decode(t, payload)
			assert.Equal(t, "2026-03-01T11:30:15Z", report.Timestamp)
			assert.Equal(t, tt.want, report.DiscardedEvents)

			_, ok = r.Take(now)
			assert.False(t, ok, "Take clears what it returned")
		})
	}
}

func TestTakeJSONShape(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategoryError, 23)
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategoryTransaction, 1321)
	payload, ok := r.Take(time.Date(2020, 2, 7, 14, 16, 0, 0, time.UTC))
	require.True(t, ok)

	// The same JSON as Sentry's documented example, so field names and nesting match.
	assert.JSONEq(t, `{
		"timestamp": "2020-02-07T14:16:00Z",
		"discarded_events": [
			{"reason": "queue_overflow", "category": "error", "quantity": 23},
			{"reason": "queue_overflow", "category": "transaction", "quantity": 1321}
		]
	}`, string(payload))
	assert.NotContains(t, string(payload), "\n", "compact: safe to frame in an envelope even without a length")

	var generic map[string]any
	require.NoError(t, json.Unmarshal(payload, &generic))
	assert.Len(t, generic, 2, "only timestamp and discarded_events")
}

func TestTakeTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{name: "converted to UTC and truncated to seconds", now: now, want: "2026-03-01T11:30:15Z"},
		{name: "zero time omits the field", now: time.Time{}},
		{name: "before 1970 omitted (Relay rejects it)", now: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{name: "after year 9999 omitted", now: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r clientreport.Recorder
			r.Record(clientreport.ReasonSendError, clientreport.CategoryError, 1)
			payload, ok := r.Take(tt.now)
			require.True(t, ok)
			assert.Equal(t, tt.want, decode(t, payload).Timestamp)
			if tt.want == "" {
				assert.NotContains(t, string(payload), "timestamp")
			}
		})
	}
}

func TestTakeNothingPending(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	payload, ok := r.Take(now)
	assert.False(t, ok)
	assert.Nil(t, payload)

	r.Record(clientreport.ReasonSendError, clientreport.CategoryError, 0)
	_, ok = r.Take(now)
	assert.False(t, ok, "a zero quantity is not pending")
}

func TestRecordTransactions(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	r.RecordTransactions(clientreport.ReasonQueueOverflow, 1, 2) // Sentry's example: 1 transaction, 3 spans
	r.RecordTransactions(clientreport.ReasonSendError, 2, 0)     // no children: still one span each
	r.RecordTransactions(clientreport.ReasonSendError, 0, 10)    // no transaction: nothing
	r.RecordTransactions(clientreport.ReasonNetworkError, 1, -3) // negative children count as none

	payload, ok := r.Take(now)
	require.True(t, ok)
	assert.Equal(t, []clientreport.DiscardedEvent{
		{Reason: "network_error", Category: "span", Quantity: 1},
		{Reason: "network_error", Category: "transaction", Quantity: 1},
		{Reason: "queue_overflow", Category: "span", Quantity: 3},
		{Reason: "queue_overflow", Category: "transaction", Quantity: 1},
		{Reason: "send_error", Category: "span", Quantity: 2},
		{Reason: "send_error", Category: "transaction", Quantity: 2},
	}, decode(t, payload).DiscardedEvents)
}

func TestTakeCapsQuantityAtUint32(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategoryLogByte, math.MaxUint32)
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategoryLogByte, 10)

	payload, ok := r.Take(now)
	require.True(t, ok)
	assert.Equal(t, []clientreport.DiscardedEvent{
		{Reason: "queue_overflow", Category: "log_byte", Quantity: math.MaxUint32},
	}, decode(t, payload).DiscardedEvents)

	payload, ok = r.Take(now)
	require.True(t, ok, "the remainder stays pending")
	assert.Equal(t, []clientreport.DiscardedEvent{
		{Reason: "queue_overflow", Category: "log_byte", Quantity: 10},
	}, decode(t, payload).DiscardedEvents)

	_, ok = r.Take(now)
	assert.False(t, ok)
}

func TestRecordSaturates(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategorySpan, math.MaxInt)
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategorySpan, math.MaxInt)
	r.Record(clientreport.ReasonQueueOverflow, clientreport.CategorySpan, math.MaxInt) // would wrap

	var total uint64
	for takes := 0; takes < 3; takes++ { // enough to see it did not wrap to a small number
		payload, ok := r.Take(now)
		require.True(t, ok)
		events := decode(t, payload).DiscardedEvents
		require.Len(t, events, 1)
		total += events[0].Quantity
	}
	assert.Equal(t, uint64(3*math.MaxUint32), total)
}

func TestTakeRespectsSizeLimit(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	const categories = 200
	for i := range categories {
		r.Record(clientreport.ReasonQueueOverflow, "category_with_a_fairly_long_name_"+strconv.Itoa(i), i+1)
	}

	seen := map[string]uint64{}
	takes := 0
	for {
		payload, ok := r.Take(now)
		if !ok {
			break
		}
		takes++
		require.LessOrEqual(t, len(payload), clientreport.MaxPayloadSize)
		report := decode(t, payload)
		require.NotEmpty(t, report.DiscardedEvents)
		for _, e := range report.DiscardedEvents {
			_, dup := seen[e.Category]
			require.False(t, dup, "category %q reported twice", e.Category)
			seen[e.Category] = e.Quantity
		}
		require.Less(t, takes, categories, "Take must make progress")
	}
	assert.Greater(t, takes, 1, "200 entries cannot fit into one 4 KiB report")
	require.Len(t, seen, categories, "nothing lost across reports")
	for i := range categories {
		assert.Equal(t, uint64(i+1), seen["category_with_a_fairly_long_name_"+strconv.Itoa(i)])
	}
}

func TestTakeFillsCloseToTheLimit(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	for i := range 100 {
		r.Record(clientreport.ReasonQueueOverflow, "c"+strconv.Itoa(i), 1)
	}
	payload, ok := r.Take(now)
	require.True(t, ok)
	// One entry is about 60 bytes; a well-packed report is within one entry of the limit.
	assert.Greater(t, len(payload), clientreport.MaxPayloadSize-100)
}

func TestRestore(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	r.Record(clientreport.ReasonNetworkError, clientreport.CategoryTransaction, 4)
	r.Record(clientreport.ReasonNetworkError, clientreport.CategorySpan, 40)
	payload, ok := r.Take(now)
	require.True(t, ok)

	// More drops happen while the failed send was in flight, then the payload comes back.
	r.Record(clientreport.ReasonNetworkError, clientreport.CategoryTransaction, 1)
	r.Record(clientreport.ReasonSendError, clientreport.CategoryError, 2)
	require.NoError(t, r.Restore(payload))

	again, ok := r.Take(now)
	require.True(t, ok)
	assert.Equal(t, []clientreport.DiscardedEvent{
		{Reason: "network_error", Category: "span", Quantity: 40},
		{Reason: "network_error", Category: "transaction", Quantity: 5},
		{Reason: "send_error", Category: "error", Quantity: 2},
	}, decode(t, again).DiscardedEvents)
}

func TestRestoreAcceptsNumericTimestamp(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	// Sentry allows a UNIX timestamp; Restore only needs the counts, but must not reject it.
	err := r.Restore([]byte(`{"discarded_events":[{"reason":"send_error","category":"error","quantity":3}]}`))
	require.NoError(t, err)
	payload, ok := r.Take(now)
	require.True(t, ok)
	assert.Equal(t, []clientreport.DiscardedEvent{{Reason: "send_error", Category: "error", Quantity: 3}},
		decode(t, payload).DiscardedEvents)
}

func TestRestoreRejectsBadPayloads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		payload    string
		wantErr    string
		wantSyntax bool // else a type error
	}{
		{name: "not json", payload: "garbage", wantErr: `restore client report "garbage"`, wantSyntax: true},
		{name: "negative quantity", payload: `{"discarded_events":[{"reason":"send_error","category":"error","quantity":-1}]}`, wantErr: "restore client report"},
		{name: "fractional quantity", payload: `{"discarded_events":[{"reason":"send_error","category":"error","quantity":1.5}]}`, wantErr: "restore client report"},
		{name: "wrong shape", payload: `{"discarded_events":{}}`, wantErr: "restore client report"},
		{name: "long payload is truncated in the message", payload: strings.Repeat("x", 500), wantErr: strings.Repeat("x", 64) + `..."`, wantSyntax: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r clientreport.Recorder
			err := r.Restore([]byte(tt.payload))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.wantSyntax {
				var syntaxErr *json.SyntaxError
				assert.ErrorAs(t, err, &syntaxErr, "the decoding error is wrapped")
			} else {
				var typeErr *json.UnmarshalTypeError
				assert.ErrorAs(t, err, &typeErr, "the decoding error is wrapped")
			}
			_, ok := r.Take(now)
			assert.False(t, ok, "a rejected payload adds nothing")
		})
	}
}

func TestConcurrentRecordTakeRestore(t *testing.T) {
	t.Parallel()
	var r clientreport.Recorder
	const workers, perWorker = 8, 1000

	var mu sync.Mutex
	var taken []clientreport.DiscardedEvent
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				r.Record(clientreport.ReasonQueueOverflow, clientreport.CategorySpan, 1)
				if i%100 == 0 {
					payload, ok := r.Take(now)
					if !ok {
						continue
					}
					if w%2 == 0 { // half the "sends" fail and are restored
						assert.NoError(t, r.Restore(payload))
						continue
					}
					var report clientreport.Report
					assert.NoError(t, json.Unmarshal(payload, &report))
					mu.Lock()
					taken = append(taken, report.DiscardedEvents...)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	if payload, ok := r.Take(now); ok {
		taken = append(taken, decode(t, payload).DiscardedEvents...)
	}
	var total uint64
	for _, e := range taken {
		assert.Equal(t, clientreport.DiscardedEvent{Reason: "queue_overflow", Category: "span", Quantity: e.Quantity}, e)
		total += e.Quantity
	}
	assert.Equal(t, uint64(workers*perWorker), total, "every record is reported exactly once")
}

func BenchmarkRecord(b *testing.B) {
	var r clientreport.Recorder
	b.ReportAllocs()
	for b.Loop() {
		r.Record(clientreport.ReasonQueueOverflow, clientreport.CategorySpan, 1)
	}
}
