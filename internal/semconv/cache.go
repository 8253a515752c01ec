package semconv

import (
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// cacheCall is a command to a cache server, read from a span of OpenTelemetry's database conventions.
type cacheCall struct {
	// op is Sentry's cache op: cache.get, cache.put, cache.remove or cache.flush.
	op string
	// args is the command's arguments as the query text has them ("" when the span has no query text).
	args string
	// multi says every argument is a key (get, mget, del); otherwise only the first is (set key value).
	multi bool
}

// parseCacheCall recognises a cache command on a database span. Memcached is a cache by definition, so its
// commands always are. Redis serves as a database, a queue and a cache, and only its user knows which: its
// commands count as cache commands when the span's sentry.op already names a cache op (set in the collector,
// for instance by the transform processor for the key prefixes used as a cache), just as Sentry's SDKs make
// cache spans of Redis commands only for key prefixes the user configured.
func parseCacheCall(system string, attrs pcommon.Map) (cacheCall, bool) {
	switch system {
	case "memcached":
	case "redis":
		if !strings.HasPrefix(str(attrs, attrSentryOp), "cache.") {
			return cacheCall{}, false
		}
	default:
		return cacheCall{}, false
	}
	query := strings.TrimSpace(str2(attrs, attrDBQueryText, attrDBStatement))
	command, args, _ := strings.Cut(query, " ")
	if op := str2(attrs, attrDBOperationName, attrDBOperation); op != "" {
		if !strings.EqualFold(op, command) {
			args = "" // the query text is not this command's (or there is none)
		}
		command = op
	}
	c := cacheCall{args: strings.TrimSpace(args)}
	switch strings.ToLower(command) {
	case "get", "gets", "mget", "get_multi", "get_many", "getmulti":
		c.op, c.multi = "cache.get", true
	case "getex", "getdel":
		c.op = "cache.get"
	case "set", "setex", "psetex", "setnx", "add", "replace", "cas", "append", "prepend", "incr", "decr",
		"incrby", "decrby", "touch":
		c.op = "cache.put"
	case "del", "unlink", "delete", "delete_multi", "delete_many":
		c.op, c.multi = "cache.remove", true
	case "flush_all", "flushall", "flushdb":
		c.op = "cache.flush"
	default:
		return cacheCall{}, false
	}
	return c, true
}

// keys calls fn for every key of the command, in order. Arguments that instrumentations masked ("?") are not
// keys anyone can read and are skipped.
func (c cacheCall) keys(fn func(string)) {
	rest := c.args
	for rest != "" {
		var key string
		key, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimLeft(rest, " ")
		if key != "" && key != "?" {
			fn(key)
		}
		if !c.multi {
			return
		}
	}
}

// description is the keys separated by ", ", as Sentry's Caches module shows them.
func (c cacheCall) description() string {
	if !c.multi {
		var first string
		c.keys(func(k string) { first = k })
		return first
	}
	var b strings.Builder
	c.keys(func(k string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
	})
	return b.String()
}

// describeCacheCommand maps a cache command seen through the database conventions (see parseCacheCall) to a
// cache span: Sentry's cache op and the keys as description, else the database mapping applies. The source of a
// name is what Sentry's SDK gives the span: task for a database span (Memcached), custom for a span whose
// sentry.op names a cache op (marked Redis).
func describeCacheCommand(name, system string, attrs pcommon.Map) (Span, bool) {
	c, ok := parseCacheCall(system, attrs)
	if !ok {
		return Span{}, false
	}
	s := Span{Op: c.op, Description: c.description(), Name: name, Source: sentry.SourceTask}
	if system != "memcached" {
		s.Source = sentry.SourceCustom
	}
	return s, true
}
