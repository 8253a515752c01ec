package semconv

import (
	"testing"

	"github.com/getsentry/sentry-go"
)

// TestDescribeCacheCommands: Memcached commands, and Redis commands a user marked as cache access with
// sentry.op, become Sentry cache spans with the keys as description, as OpenTelemetry's Python, Java and
// Node.js instrumentations emit them (legacy db.statement and db.operation, current db.query.text).
func TestDescribeCacheCommands(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "python pymemcache get_many",
			span: "get_many", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.statement": "get_many user:1 user:2", "net.peer.name": "cache"},
			want:  Span{Op: "cache.get", Description: "user:1, user:2", Name: "get_many", Source: sentry.SourceTask},
		},
		{
			name: "python pymemcache set takes the key, not the value",
			span: "set", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.statement": "set user:1 payload"},
			want:  Span{Op: "cache.put", Description: "user:1", Name: "set", Source: sentry.SourceTask},
		},
		{
			name: "java spymemcached has only the operation",
			span: "get", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.operation": "get"},
			want:  Span{Op: "cache.get", Description: "get", Name: "get", Source: sentry.SourceTask},
		},
		{
			name: "memcached delete",
			span: "delete", kind: client,
			attrs: map[string]any{"db.system.name": "memcached", "db.operation.name": "delete", "db.query.text": "delete user:1"},
			want:  Span{Op: "cache.remove", Description: "user:1", Name: "delete", Source: sentry.SourceTask},
		},
		{
			name: "memcached flush_all",
			span: "flush_all", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.statement": "flush_all"},
			want:  Span{Op: "cache.flush", Description: "flush_all", Name: "flush_all", Source: sentry.SourceTask},
		},
		{
			name: "memcached commands that are no cache access stay database spans",
			span: "stats", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.statement": "stats"},
			want:  Span{Op: "db", Description: "stats", Name: "stats", Source: sentry.SourceTask},
		},
		{
			name: "redis is a database unless marked",
			span: "GET", kind: client,
			attrs: map[string]any{"db.system.name": "redis", "db.operation.name": "GET", "db.query.text": "GET posts:1"},
			want:  Span{Op: "db.redis", Description: "GET posts:1", Name: "GET", Source: sentry.SourceTask},
		},
		{
			name: "redis marked as cache: node-redis legacy statement",
			span: "redis-GET", kind: client,
			attrs: map[string]any{"sentry.op": "cache.get", "db.system": "redis", "db.statement": "get posts:1"},
			want:  Span{Op: "cache.get", Description: "posts:1", Name: "redis-GET", Source: sentry.SourceCustom},
		},
		{
			name: "redis marked as cache: java masks values",
			span: "SET", kind: client,
			attrs: map[string]any{"sentry.op": "cache.put", "db.system.name": "redis", "db.operation.name": "SET", "db.query.text": "SET posts:1 ?"},
			want:  Span{Op: "cache.put", Description: "posts:1", Name: "SET", Source: sentry.SourceCustom},
		},
		{
			name: "redis marked as cache: mget lists every key",
			span: "MGET", kind: client,
			attrs: map[string]any{"sentry.op": "cache.get", "db.system.name": "redis", "db.query.text": "MGET a b c"},
			want:  Span{Op: "cache.get", Description: "a, b, c", Name: "MGET", Source: sentry.SourceCustom},
		},
		{
			name: "query text of another command is not read for keys",
			span: "get", kind: client,
			attrs: map[string]any{"db.system": "memcached", "db.operation": "get", "db.statement": "multi"},
			want:  Span{Op: "cache.get", Description: "get", Name: "get", Source: sentry.SourceTask},
		},
	})
}

// TestDescribeHTTPServerRootPath: the root path is the same for every request, so Sentry's SDK counts a name
// made from it as a route; other raw paths are URLs.
func TestDescribeHTTPServerRootPath(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "root", span: "GET", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "url.path": "/"},
			want:  Span{Op: "http.server", Description: "GET /", Name: "GET /", Source: sentry.SourceRoute},
		},
		{
			name: "other path", span: "GET", kind: server,
			attrs: map[string]any{"http.method": "GET", "http.target": "/users/42?x=1"},
			want:  Span{Op: "http.server", Description: "GET /users/42", Name: "GET /users/42", Source: sentry.SourceURL},
		},
	})
}
