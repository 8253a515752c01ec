package semconv

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type benchSpan struct {
	name   string
	kind   ptrace.SpanKind
	status ptrace.StatusCode
	attrs  pcommon.Map
}

// benchSpans is a mix shaped like real traffic: attribute sets as the common instrumentations emit them,
// including the network and user-agent attributes that Describe has to skip over.
func benchSpans(b *testing.B) []benchSpan {
	b.Helper()
	return []benchSpan{
		{"GET /users/{id}", ptrace.SpanKindServer, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"http.request.method": "GET", "http.route": "/users/{id}", "url.path": "/users/42", "url.scheme": "https",
			"server.address": "api.example.com", "server.port": 443, "network.protocol.version": "1.1",
			"client.address": "10.0.0.1", "user_agent.original": "curl/8.0", "http.response.status_code": 200,
		})},
		{"HTTP GET", ptrace.SpanKindClient, ptrace.StatusCodeError, attrsOf(b, map[string]any{
			"http.method": "GET", "http.url": "https://user:pw@billing.internal/v1/invoices?limit=10",
			"net.peer.name": "billing.internal", "http.status_code": 503, "http.flavor": "1.1",
		})},
		{"SELECT users", ptrace.SpanKindClient, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"db.system.name": "postgresql", "db.query.text": "SELECT * FROM users WHERE id = $1",
			"db.namespace": "app", "server.address": "db", "server.port": 5432,
		})},
		{"helloworld.Greeter/SayHello", ptrace.SpanKindServer, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"rpc.system": "grpc", "rpc.service": "helloworld.Greeter", "rpc.method": "SayHello",
			"rpc.grpc.status_code": 5, "net.peer.ip": "10.0.0.2",
		})},
		{"process orders", ptrace.SpanKindConsumer, ptrace.StatusCodeOk, attrsOf(b, map[string]any{
			"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.destination.name": "orders",
			"messaging.kafka.message.offset": 1234, "messaging.consumer.group.name": "billing",
		})},
		{"render invoice", ptrace.SpanKindInternal, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"code.function.name": "render", "code.file.path": "invoice.go", "code.line.number": 42,
		})},
		{"chat gpt-4o", ptrace.SpanKindClient, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
			"gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 80,
		})},
		{"GET", ptrace.SpanKindClient, ptrace.StatusCodeUnset, attrsOf(b, map[string]any{
			"http.request.method": "GET", "url.full": "https://cdn.example.com/assets/app.js",
			"server.address": "cdn.example.com", "http.response.status_code": "304",
		})},
	}
}

// BenchmarkDescribeAndStatus measures the per-span cost of the mapping the exporter runs on every span.
func BenchmarkDescribeAndStatus(b *testing.B) {
	spans := benchSpans(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := spans[i%len(spans)]
		d := Describe(s.name, s.kind, s.attrs)
		st := Status(s.status, "", s.attrs)
		if d.Op == "" || st == 0 {
			b.Fatal("empty result")
		}
	}
}

// BenchmarkIsTagKey measures the tag filter, which runs once per attribute.
func BenchmarkIsTagKey(b *testing.B) {
	keys := []string{"http.request.method", "url.full", "db.system.name", "user_agent.original", "error.type"}
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		if IsTagKey(keys[i%len(keys)]) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("no tag keys matched")
	}
}
