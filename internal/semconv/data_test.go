package semconv

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// dataOf runs AppendData on a span with the given kind, attributes and start (Unix ms), and returns the members
// it wrote as a map, so a test sees exactly the JSON Sentry receives.
func dataOf(t *testing.T, kind ptrace.SpanKind, attrs map[string]any, startMs int64, producerStartMs int64, links ...map[string]any) map[string]any {
	t.Helper()
	span := ptrace.NewSpan()
	span.SetKind(kind)
	span.SetStartTimestamp(pcommon.Timestamp(startMs * 1e6))
	require.NoError(t, span.Attributes().FromRaw(attrs))
	for _, l := range links {
		require.NoError(t, span.Links().AppendEmpty().Attributes().FromRaw(l))
	}
	var counts sanitize.Counts
	out := AppendData([]byte(`{"first":0`), span, pcommon.Timestamp(producerStartMs*1e6), &counts)
	out = append(out, '}')
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), string(out))
	delete(m, "first")
	return m
}

func TestAppendDataRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		attrs map[string]any
		want  map[string]any
	}{
		{"current conventions carry everything", map[string]any{"http.request.method": "GET", "server.address": "api", "http.response.status_code": 200},
			map[string]any{}},
		{"legacy client: net.peer.name and http.status_code", map[string]any{"http.method": "GET", "net.peer.name": "api.example.com", "http.status_code": 503},
			map[string]any{"server.address": "api.example.com", "http.response.status_code": float64(503)}},
		{"legacy client: host of http.url", map[string]any{"http.method": "POST", "http.url": "https://u:p@[::1]:8443/x?y", "http.status_code": "201"},
			map[string]any{"server.address": "::1", "http.response.status_code": float64(201)}},
		{"legacy server: Host header without port", map[string]any{"http.method": "GET", "http.host": "shop.example.com:8080"},
			map[string]any{"server.address": "shop.example.com"}},
		{"not HTTP", map[string]any{"net.peer.name": "x", "http.status_code": 200}, map[string]any{}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, dataOf(t, ptrace.SpanKindClient, tc.attrs, 0, 0), tc.name)
	}
}

func TestAppendDataQueries(t *testing.T) {
	t.Parallel()
	assert.Equal(t, map[string]any{"db.system": "postgresql"},
		dataOf(t, ptrace.SpanKindClient, map[string]any{"db.system.name": "postgresql", "db.query.text": "SELECT 1"}, 0, 0))
	assert.Equal(t, map[string]any{},
		dataOf(t, ptrace.SpanKindClient, map[string]any{"db.system": "mysql", "db.statement": "SELECT 1"}, 0, 0),
		"legacy spans carry db.system already")
	assert.Equal(t, map[string]any{},
		dataOf(t, ptrace.SpanKindClient, map[string]any{"db.system.name": "mysql", "db.system": "mariadb"}, 0, 0),
		"the instrumentation's own db.system wins")
}

func TestAppendDataCaches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		attrs map[string]any
		want  map[string]any
	}{
		{"typed values are kept", map[string]any{"cache.hit": true, "cache.key": []any{"a", "b"}, "cache.item_size": 120},
			map[string]any{"cache.hit": true, "cache.key": []any{"a", "b"}, "cache.item_size": float64(120)}},
		{"strings become a boolean, an array and an integer", map[string]any{"cache.hit": "False", "cache.key": "a", "cache.item_size": "120"},
			map[string]any{"cache.hit": false, "cache.key": []any{"a"}, "cache.item_size": float64(120)}},
		{"values that cannot be converted are kept as they are", map[string]any{"cache.hit": "maybe", "cache.item_size": "big"},
			map[string]any{"cache.hit": "maybe", "cache.item_size": "big"}},
		{"memcached keys from the statement", map[string]any{"db.system": "memcached", "db.statement": "get_many a b"},
			map[string]any{"cache.key": []any{"a", "b"}}},
		{"redis marked as cache", map[string]any{"sentry.op": "cache.put", "db.system.name": "redis", "db.query.text": "SET k ?"},
			map[string]any{"cache.key": []any{"k"}, "db.system": "redis"}},
		{"redis not marked has no cache data", map[string]any{"db.system": "redis", "db.statement": "GET k"},
			map[string]any{}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, dataOf(t, ptrace.SpanKindClient, tc.attrs, 0, 0), tc.name)
	}
}

func TestAppendDataQueues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		kind            ptrace.SpanKind
		attrs           map[string]any
		startMs, prodMs int64
		links           []map[string]any
		want            map[string]any
	}{
		{name: "legacy keys (semconv before 1.17)", kind: ptrace.SpanKindProducer,
			attrs: map[string]any{"messaging.system": "rabbitmq", "messaging.destination": "orders", "messaging.message_id": "m1", "messaging.message_payload_size_bytes": 42},
			want:  map[string]any{"messaging.destination.name": "orders", "messaging.message.id": "m1", "messaging.message.body.size": float64(42)}},
		{name: "semconv 1.17 to 1.23 payload size", kind: ptrace.SpanKindProducer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.message.payload_size_bytes": 7},
			want:  map[string]any{"messaging.message.body.size": float64(7)}},
		{name: "current keys are left alone", kind: ptrace.SpanKindProducer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.message.id": "m", "messaging.message.body.size": 7},
			want:  map[string]any{}},
		{name: "consumer: latency from the producer's start", kind: ptrace.SpanKindConsumer,
			attrs:   map[string]any{"messaging.system": "kafka", "messaging.operation.type": "process"},
			startMs: 1_700_000_000_250, prodMs: 1_700_000_000_000,
			want: map[string]any{"messaging.message.receive.latency": float64(250)}},
		{name: "consumer: latency from Event Hubs' enqueued time wins", kind: ptrace.SpanKindConsumer,
			attrs:   map[string]any{"messaging.system": "eventhubs", "messaging.eventhubs.message.enqueued_time": 1_700_000_000_100},
			startMs: 1_700_000_000_250, prodMs: 1_700_000_000_000,
			want: map[string]any{"messaging.message.receive.latency": float64(150)}},
		{name: "consumer: latency from an Azure link's enqueuedTime", kind: ptrace.SpanKindConsumer,
			attrs:   map[string]any{"messaging.system": "servicebus", "messaging.operation": "process", "messaging.servicebus.message.delivery_count": 3},
			startMs: 1_700_000_001_000,
			links:   []map[string]any{{"enqueuedTime": 1_700_000_000_000}},
			want:    map[string]any{"messaging.message.receive.latency": float64(1000), "messaging.message.retry.count": float64(2)}},
		{name: "pub/sub delivery attempt", kind: ptrace.SpanKindConsumer,
			attrs: map[string]any{"messaging.system": "gcp_pubsub", "messaging.gcp_pubsub.message.delivery_attempt": 1},
			want:  map[string]any{"messaging.message.retry.count": float64(0)}},
		{name: "clock skew gives no latency", kind: ptrace.SpanKindConsumer,
			attrs:   map[string]any{"messaging.system": "kafka"},
			startMs: 1_700_000_000_000, prodMs: 1_700_000_000_500,
			want: map[string]any{}},
		{name: "producers have no receive latency", kind: ptrace.SpanKindProducer,
			attrs:   map[string]any{"messaging.system": "kafka"},
			startMs: 1_700_000_000_250, prodMs: 1_700_000_000_000,
			want: map[string]any{}},
		{name: "the instrumentation's latency wins", kind: ptrace.SpanKindConsumer,
			attrs:   map[string]any{"messaging.system": "celery", "messaging.message.receive.latency": 5},
			startMs: 1_700_000_000_250, prodMs: 1_700_000_000_000,
			want: map[string]any{}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, dataOf(t, tc.kind, tc.attrs, tc.startMs, tc.prodMs, tc.links...), tc.name)
	}
}

func TestIsRewrittenDataKey(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"cache.hit", "cache.key", "cache.item_size"} {
		assert.True(t, IsRewrittenDataKey(k), k)
	}
	for _, k := range []string{"db.system", "server.address", "cache.operation", "messaging.message.id"} {
		assert.False(t, IsRewrittenDataKey(k), k)
	}
}

// TestAppendDataDoesNotAllocate: AppendData runs for every span while events are encoded, so on the common
// spans (HTTP, SQL, messaging, nothing to add or something to add) it must not allocate.
func TestAppendDataDoesNotAllocate(t *testing.T) {
	for _, attrs := range []map[string]any{
		{"http.request.method": "GET", "url.full": "https://a/b", "server.address": "a", "http.response.status_code": 200},
		{"http.method": "GET", "http.url": "https://a/b", "http.status_code": 200},
		{"db.system.name": "postgresql", "db.query.text": "SELECT 1"},
		{"messaging.system": "kafka", "messaging.destination": "orders", "messaging.message_id": "m"},
		{"foo": "bar"},
	} {
		span := ptrace.NewSpan()
		span.SetKind(ptrace.SpanKindConsumer)
		span.SetStartTimestamp(2e15)
		require.NoError(t, span.Attributes().FromRaw(attrs))
		var counts sanitize.Counts
		buf := make([]byte, 0, 1024)
		allocs := testing.AllocsPerRun(100, func() { buf = AppendData(buf[:0], span, 1e15, &counts) })
		assert.Zero(t, allocs, "%v", attrs)
	}
}
