package semconv

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTagKeys(t *testing.T) {
	t.Parallel()
	keys := TagKeys()
	require.NotEmpty(t, keys)
	assert.True(t, sort.StringsAreSorted(keys), "TagKeys must be sorted")
	seen := map[string]bool{}
	for _, k := range keys {
		assert.False(t, seen[k], "duplicate %q", k)
		seen[k] = true
		assert.True(t, IsTagKey(k), "%q listed but IsTagKey is false", k)
		assert.LessOrEqual(t, len(k), 32, "%q is longer than Sentry's tag key limit", k)
	}
	// Changing the returned slice must not change the set.
	keys[0] = "mutated"
	assert.NotEqual(t, "mutated", TagKeys()[0])
}

func TestIsTagKey(t *testing.T) {
	t.Parallel()
	for _, k := range []string{
		"http.request.method", "http.method", "http.response.status_code", "http.status_code", "http.route",
		"rpc.system", "rpc.system.name", "rpc.service", "rpc.grpc.status_code", "rpc.response.status_code",
		"db.system.name", "db.system", "db.operation.name", "db.operation",
		"messaging.system", "messaging.operation.type", "messaging.operation",
		"faas.trigger", "gen_ai.operation.name", "gen_ai.request.model", "error.type", "cache.hit",
	} {
		assert.True(t, IsTagKey(k), k)
	}
	for _, k := range []string{
		"", "url.full", "http.url", "http.target", "url.path", "url.query", "db.query.text", "db.statement",
		"user.id", "messaging.message.id", "cache.key", "HTTP.METHOD", "http.request.method ",
	} {
		assert.False(t, IsTagKey(k), k)
	}
}
