package semconv

import (
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzDescribe feeds arbitrary values into the attributes Describe and Status read, as strings and as ints, and
// checks the invariants every caller relies on: no panic, a short op without spaces, a known source, a known status, and no
// query string from a URL in descriptions. Its seed corpus runs as part of the normal tests.
func FuzzDescribe(f *testing.F) {
	f.Add("GET", int32(3), "url.full", "https://u:p@h/p?q=1", "http.request.method", "GET", int64(500))
	f.Add("GET", int32(2), "url.full", "/p?q#f", "http.request.method", "_OTHER", int64(404))
	f.Add("q", int32(3), "db.system.name", "redis", "db.query.text", "", int64(0))
	f.Add("", int32(1), "rpc.system.name", "grpc", "rpc.method", "_OTHER", int64(16))
	f.Add("x", int32(5), "messaging.operation.type", "??", "messaging.system", "kafka", int64(-1))
	f.Add("x", int32(9), "gen_ai.operation.name", "Chat!", "cache.operation", "GET", int64(1<<40))
	f.Add("x", int32(0), "sentry.source", "route", "sentry.op", "", int64(200))
	f.Add("get", int32(3), "db.system", "memcached", "db.statement", "get_many a b ?", int64(0))
	f.Add("x", int32(1), "code.function", "f", "x", "not_found", int64(500))
	f.Fuzz(func(t *testing.T, name string, kind int32, k1, v1, k2, v2 string, code int64) {
		attrs := pcommon.NewMap()
		attrs.PutStr(k1, v1)
		attrs.PutStr(k2, v2)
		attrs.PutInt("http.response.status_code", code)
		attrs.PutInt("rpc.grpc.status_code", code)
		attrs.PutStr("rpc.response.status_code", v1)

		s := Describe(name, ptrace.SpanKind(kind), attrs)
		if k1 != "sentry.op" && k2 != "sentry.op" {
			// Derived ops come from a fixed vocabulary or short identifiers; empty means no convention matched.
			assert.LessOrEqual(t, len(s.Op), 128)
			assert.NotContains(t, s.Op, " ")
		}
		_, ok := parseSource(string(s.Source))
		assert.True(t, ok, "unknown source %q", s.Source)
		if k1 == "url.full" && k2 == "http.request.method" && !strings.Contains(name+v2, "?") {
			assert.NotContains(t, s.Description, "?", "query kept from %q", v1)
		}

		for _, c := range []ptrace.StatusCode{ptrace.StatusCodeUnset, ptrace.StatusCodeOk, ptrace.StatusCodeError} {
			st := Status(c, v2, attrs) // v2 doubles as the status message
			assert.True(t, st >= sentry.SpanStatusOK && st <= sentry.SpanStatusUnauthenticated, "status %d", st)
			st = Status(c, "", attrs)
			assert.True(t, st >= sentry.SpanStatusOK && st <= sentry.SpanStatusUnauthenticated, "status %d", st)
		}
	})
}

// TestHotPathAllocations pins the allocation budget of the per-span calls: Status and IsTagKey never allocate,
// Describe allocates only the strings it has to build.
func TestHotPathAllocations(t *testing.T) {
	routed := attrsOf(t, map[string]any{"http.request.method": "GET", "http.route": "/users/{id}", "http.response.status_code": "503"})
	plain := attrsOf(t, map[string]any{"code.function.name": "render", "thread.id": 7})
	query := attrsOf(t, map[string]any{"db.system.name": "postgresql", "db.query.text": "SELECT 1", "rpc.grpc.status_code": 4})

	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Status(ptrace.StatusCodeUnset, "", routed) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Status(ptrace.StatusCodeError, "", query) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Status(ptrace.StatusCodeError, "deadline_exceeded", query) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = IsTagKey("http.request.method") }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Describe("render", ptrace.SpanKindInternal, plain) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Describe("SELECT", ptrace.SpanKindClient, query) }))
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { _ = Describe("GET", ptrace.SpanKindServer, routed) }), 1.0)
}
