package sentryexporter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/transform"
)

// insightsModule is what one of Sentry's Insights modules reads from a span: which ops it selects and which data
// keys it shows (Sentry's product documentation of each module).
type insightsModule struct {
	name string
	// selects reports whether the module reads a span of this op.
	selects func(op string) bool
	// keys are the span data keys the module reads.
	keys []string
}

var (
	queuesModule = insightsModule{
		name:    "queues",
		selects: func(op string) bool { return op == "queue.publish" || op == "queue.process" },
		keys: []string{"messaging.destination.name", "messaging.message.id", "messaging.message.body.size",
			"messaging.message.retry.count", "messaging.message.receive.latency"},
	}
	cachesModule = insightsModule{
		name:    "caches",
		selects: func(op string) bool { return strings.HasPrefix(op, "cache.") },
		keys:    []string{"cache.hit", "cache.key", "cache.item_size"},
	}
	requestsModule = insightsModule{
		name:    "requests",
		selects: func(op string) bool { return op == "http.client" },
		keys:    []string{"server.address", "http.response.status_code"},
	}
	queriesModule = insightsModule{
		name:    "queries",
		selects: func(op string) bool { return op == "db" || strings.HasPrefix(op, "db.") && op != "db.redis" },
		keys:    []string{"db.system"},
	}
)

// insightsSpan is one span as a module reads it: where it sits, its op and description, and exactly the data
// keys the module reads (absent keys are left out, so a missing value shows in the golden file).
type insightsSpan struct {
	Language    string         `json:"language"`
	Transaction string         `json:"transaction"`
	In          string         `json:"in"` // "transaction" (contexts.trace of a transaction it heads) or "span"
	Op          string         `json:"op"`
	Description string         `json:"description"`
	Status      string         `json:"status"`
	Data        map[string]any `json:"data"`
}

// checkInsightsGolden runs the whole transform and encoding on td, validates every transaction as Sentry's
// ingestion would, and compares what module reads from the encoded payloads with
// testdata/golden/insights_<module>.json (-update rewrites it).
func checkInsightsGolden(t *testing.T, module insightsModule, td ptrace.Traces, languages map[string]string) {
	t.Helper()
	events := transformEvents(td, testOptions)
	var enc eventjson.Encoder
	var repairs sanitize.Counts
	var got []insightsSpan
	for i := range events {
		ev := &events[i]
		if ev.Category != ratelimit.CategoryTransaction {
			continue
		}
		payload := transform.Encode(&enc, nil, ev, &repairs)
		require.NoError(t, sentrytest.ValidateTransaction(payload))
		var tx struct {
			Transaction string `json:"transaction"`
			Contexts    struct {
				Trace map[string]any `json:"trace"`
			} `json:"contexts"`
			Tags  map[string]string `json:"tags"`
			Spans []map[string]any  `json:"spans"`
		}
		require.NoError(t, json.Unmarshal(payload, &tx))
		language := languages[tx.Tags["service.name"]]
		read := func(in string, span map[string]any) {
			op, _ := span["op"].(string)
			if !module.selects(op) {
				return
			}
			s := insightsSpan{Language: language, Transaction: tx.Transaction, In: in, Op: op, Data: map[string]any{}}
			s.Description, _ = span["description"].(string)
			s.Status, _ = span["status"].(string)
			data, _ := span["data"].(map[string]any)
			for _, k := range module.keys {
				if v, ok := data[k]; ok {
					s.Data[k] = v
				}
			}
			got = append(got, s)
		}
		read("transaction", tx.Contexts.Trace)
		for _, s := range tx.Spans {
			read("span", s)
		}
	}
	sort.SliceStable(got, func(i, j int) bool {
		if got[i].Language != got[j].Language {
			return got[i].Language < got[j].Language
		}
		return got[i].Transaction < got[j].Transaction
	})
	var buf bytes.Buffer
	enc2 := json.NewEncoder(&buf)
	enc2.SetEscapeHTML(false) // keep routes such as /products/<id> readable
	enc2.SetIndent("", "  ")
	require.NoError(t, enc2.Encode(got))
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	path := filepath.Join("testdata", "golden", "insights_"+module.name+".json")
	if *update {
		require.NoError(t, os.WriteFile(path, append(out, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to create it", t.Name())
	assert.JSONEq(t, string(want), string(out))
}

// setAttrs gives span the attributes and returns it.
func setAttrs(t *testing.T, span ptrace.Span, attrs map[string]any) ptrace.Span {
	t.Helper()
	require.NoError(t, span.Attributes().FromRaw(attrs))
	return span
}

// setLanguage makes service's resource say which language's SDK emitted it.
func setLanguage(b *traceBuilder, service, language string) {
	rss := b.td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		attrs := rss.At(i).Resource().Attributes()
		if v, ok := attrs.Get("service.name"); ok && v.Str() == service {
			attrs.PutStr("telemetry.sdk.language", language)
		}
	}
}

// TestTransformGoldenInsightsQueues: producers and consumers as the Java agent (current conventions), kafkajs
// (legacy) and Azure's .NET Service Bus SDK emit them. Consumers get their receive latency from the producer's
// span in the batch (a parent or a link) or from the enqueued time Azure puts on links, on the span and on the
// trace context of the transaction the consumer heads.
func TestTransformGoldenInsightsQueues(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	// Java, current conventions: an HTTP request publishes; another service processes, linked by the remote parent.
	setAttrs(t, b.span("checkout", "a1", "a101", "", ptrace.SpanKindServer, "POST /orders", 0, 40), map[string]any{
		"http.request.method": "POST", "http.route": "/orders", "http.response.status_code": 201})
	p := b.span("checkout", "a1", "a102", "a101", ptrace.SpanKindProducer, "send orders", 10, 14)
	require.NoError(t, p.Attributes().FromRaw(map[string]any{"messaging.system": "kafka", "messaging.operation.type": "send",
		"messaging.destination.name": "orders", "messaging.message.id": "m-1", "messaging.message.body.size": 512}))
	c := b.span("fulfillment", "a1", "a103", "a102", ptrace.SpanKindConsumer, "process orders", 95, 130)
	require.NoError(t, c.Attributes().FromRaw(map[string]any{"messaging.system": "kafka", "messaging.operation.type": "process",
		"messaging.destination.name": "orders", "messaging.message.id": "m-1", "messaging.message.body.size": 512}))
	setAttrs(t, b.span("fulfillment", "a1", "a104", "a103", ptrace.SpanKindClient, "INSERT shipments", 100, 120), map[string]any{
		"db.system.name": "postgresql", "db.query.text": "INSERT INTO shipments VALUES (?, ?)"})

	// Node.js kafkajs, legacy conventions: the consumer links to the producer of a batch it received.
	setAttrs(t, b.span("mailer-api", "b1", "b101", "", ptrace.SpanKindProducer, "emails", 0, 3), map[string]any{
		"messaging.system": "kafka", "messaging.destination": "emails", "messaging.destination_kind": "topic",
		"messaging.message_id": "e-7", "messaging.message_payload_size_bytes": 2048})
	lc := b.span("mailer", "b2", "b201", "", ptrace.SpanKindConsumer, "emails", 250, 260)
	require.NoError(t, lc.Attributes().FromRaw(map[string]any{"messaging.system": "kafka", "messaging.destination": "emails",
		"messaging.operation": "process", "messaging.message_id": "e-7"}))
	link := lc.Links().AppendEmpty()
	link.SetTraceID(traceID("b1"))
	link.SetSpanID(spanID("b101"))

	// .NET Azure Service Bus: a redelivered message; the producer is in another batch, the link carries its
	// enqueued time.
	sb := b.span("billing", "c1", "c101", "c0", ptrace.SpanKindConsumer, "ServiceBusProcessor.ProcessMessage", 5000, 5040)
	require.NoError(t, sb.Attributes().FromRaw(map[string]any{"messaging.system": "servicebus", "messaging.operation": "process",
		"messaging.destination.name": "invoices", "messaging.message.id": "inv-3", "messaging.servicebus.message.delivery_count": 3}))
	sbLink := sb.Links().AppendEmpty()
	sbLink.SetTraceID(traceID("c0"))
	sbLink.SetSpanID(spanID("c0"))
	sbLink.Attributes().PutInt("enqueuedTime", b.base.UnixMilli()+4200)

	languages := map[string]string{"checkout": "java", "fulfillment": "java", "mailer-api": "nodejs", "mailer": "nodejs", "billing": "dotnet"}
	for service, lang := range languages {
		setLanguage(b, service, lang)
	}
	checkInsightsGolden(t, queuesModule, b.td, languages)
}

// TestTransformGoldenInsightsCaches: Memcached through OpenTelemetry's database conventions (Python pymemcache
// and Java spymemcached, legacy), Redis marked as a cache with sentry.op (Node.js, legacy; Go, current), and
// Sentry's cache attributes set through the OpenTelemetry API with loose types (Python).
func TestTransformGoldenInsightsCaches(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	setAttrs(t, b.span("catalog", "a1", "a101", "", ptrace.SpanKindServer, "GET /products/<id>", 0, 50), map[string]any{
		"http.method": "GET", "http.route": "/products/<id>", "http.status_code": 200})
	setAttrs(t, b.span("catalog", "a1", "a102", "a101", ptrace.SpanKindClient, "get_many", 2, 4), map[string]any{
		"db.system": "memcached", "db.statement": "get_many product:1 product:2", "net.peer.name": "memcached"})
	setAttrs(t, b.span("catalog", "a1", "a103", "a101", ptrace.SpanKindClient, "set", 30, 31), map[string]any{
		"db.system": "memcached", "db.statement": "set product:2 ?", "net.peer.name": "memcached"})
	setAttrs(t, b.span("catalog", "a1", "a104", "a101", ptrace.SpanKindInternal, "product:3", 40, 41), map[string]any{
		"sentry.op": "cache.get", "cache.key": "product:3", "cache.hit": "True", "cache.item_size": "812"})

	setAttrs(t, b.span("pricing", "b1", "b101", "", ptrace.SpanKindServer, "GET /price/{sku}", 0, 30), map[string]any{
		"http.request.method": "GET", "http.route": "/price/{sku}", "http.response.status_code": 200})
	setAttrs(t, b.span("pricing", "b1", "b102", "b101", ptrace.SpanKindClient, "get", 1, 2), map[string]any{
		"db.system": "memcached", "db.operation": "get"})

	setAttrs(t, b.span("feed", "c1", "c101", "", ptrace.SpanKindServer, "GET /feed", 0, 30), map[string]any{
		"http.method": "GET", "http.route": "/feed", "http.status_code": 200})
	setAttrs(t, b.span("feed", "c1", "c102", "c101", ptrace.SpanKindClient, "redis-GET", 1, 2), map[string]any{
		"sentry.op": "cache.get", "db.system": "redis", "db.statement": "get feed:42", "net.peer.name": "redis"})
	setAttrs(t, b.span("feed", "c1", "c103", "c101", ptrace.SpanKindClient, "redis-GET", 3, 4), map[string]any{
		"db.system": "redis", "db.statement": "get session:9", "net.peer.name": "redis"})

	setAttrs(t, b.span("search", "d1", "d101", "", ptrace.SpanKindServer, "GET /search", 0, 30), map[string]any{
		"http.request.method": "GET", "http.route": "/search", "http.response.status_code": 200})
	setAttrs(t, b.span("search", "d1", "d102", "d101", ptrace.SpanKindClient, "SET", 20, 21), map[string]any{
		"sentry.op": "cache.put", "db.system.name": "redis", "db.operation.name": "SET", "db.query.text": "SET search:shoes ?",
		"server.address": "redis", "cache.item_size": 4096})

	languages := map[string]string{"catalog": "python", "pricing": "java", "feed": "nodejs", "search": "go"}
	for service, lang := range languages {
		setLanguage(b, service, lang)
	}
	checkInsightsGolden(t, cachesModule, b.td, languages)
}

// TestTransformGoldenInsightsRequests: outgoing HTTP requests as Node.js (legacy), Python requests (legacy, with
// credentials in the URL), Java (current) and .NET (current) instrumentations emit them.
func TestTransformGoldenInsightsRequests(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	setAttrs(t, b.span("web", "a1", "a101", "", ptrace.SpanKindServer, "GET /checkout", 0, 100), map[string]any{
		"http.method": "GET", "http.route": "/checkout", "http.status_code": 200})
	setAttrs(t, b.span("web", "a1", "a102", "a101", ptrace.SpanKindClient, "HTTPS GET", 5, 60), map[string]any{
		"http.method": "GET", "http.url": "https://api.stripe.com/v1/charges?key=x", "http.target": "/v1/charges?key=x",
		"net.peer.name": "api.stripe.com", "net.peer.port": 443, "http.status_code": 200})

	b.span("sync", "b1", "b101", "", ptrace.SpanKindInternal, "sync repositories", 0, 100)
	setAttrs(t, b.span("sync", "b1", "b102", "b101", ptrace.SpanKindClient, "GET", 5, 60), map[string]any{
		"http.method": "GET", "http.url": "https://bot:s3cret@api.github.com/orgs/acme/repos?page=2", "http.status_code": 404}).
		Status().SetCode(ptrace.StatusCodeError)

	setAttrs(t, b.span("orders", "c1", "c101", "", ptrace.SpanKindServer, "POST /orders", 0, 100), map[string]any{
		"http.request.method": "POST", "http.route": "/orders", "http.response.status_code": 201})
	setAttrs(t, b.span("orders", "c1", "c102", "c101", ptrace.SpanKindClient, "POST", 5, 60), map[string]any{
		"http.request.method": "POST", "url.full": "http://payments:8080/charge", "server.address": "payments", "server.port": 8080,
		"http.response.status_code": 503}).Status().SetCode(ptrace.StatusCodeError)

	setAttrs(t, b.span("cart", "d1", "d101", "", ptrace.SpanKindServer, "GET api/cart/{id}", 0, 100), map[string]any{
		"http.request.method": "GET", "http.route": "api/cart/{id}", "http.response.status_code": 200})
	setAttrs(t, b.span("cart", "d1", "d102", "d101", ptrace.SpanKindClient, "GET", 5, 60), map[string]any{
		"http.request.method": "GET", "url.full": "https://inventory.internal/api/stock/42", "server.address": "inventory.internal",
		"http.response.status_code": 200})

	languages := map[string]string{"web": "nodejs", "sync": "python", "orders": "java", "cart": "dotnet"}
	for service, lang := range languages {
		setLanguage(b, service, lang)
	}
	checkInsightsGolden(t, requestsModule, b.td, languages)
}

// TestTransformGoldenInsightsQueries: database queries as Node.js pg and Python psycopg2 (legacy), Java JDBC and
// .NET SqlClient (current) instrumentations emit them.
func TestTransformGoldenInsightsQueries(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	setAttrs(t, b.span("web", "a1", "a101", "", ptrace.SpanKindServer, "GET /orders/:id", 0, 100), map[string]any{
		"http.method": "GET", "http.route": "/orders/:id", "http.status_code": 200})
	setAttrs(t, b.span("web", "a1", "a102", "a101", ptrace.SpanKindClient, "pg.query:SELECT shop", 5, 20), map[string]any{
		"db.system": "postgresql", "db.statement": "SELECT * FROM orders WHERE id = $1", "db.name": "shop"})

	setAttrs(t, b.span("accounts", "b1", "b101", "", ptrace.SpanKindServer, "/login", 0, 100), map[string]any{
		"http.method": "POST", "http.route": "/login", "http.status_code": 200})
	setAttrs(t, b.span("accounts", "b1", "b102", "b101", ptrace.SpanKindClient, "SELECT", 5, 20), map[string]any{
		"db.system": "postgresql", "db.statement": "SELECT id FROM users WHERE email = %s"})

	setAttrs(t, b.span("orders", "c1", "c101", "", ptrace.SpanKindServer, "GET /orders/{id}", 0, 100), map[string]any{
		"http.request.method": "GET", "http.route": "/orders/{id}", "http.response.status_code": 200})
	setAttrs(t, b.span("orders", "c1", "c102", "c101", ptrace.SpanKindClient, "SELECT shop.orders", 5, 20), map[string]any{
		"db.system.name": "postgresql", "db.query.text": "SELECT * FROM orders WHERE id = ?", "db.collection.name": "orders",
		"db.namespace": "shop"})

	setAttrs(t, b.span("catalog", "d1", "d101", "", ptrace.SpanKindServer, "GET api/products", 0, 100), map[string]any{
		"http.request.method": "GET", "http.route": "api/products", "http.response.status_code": 200})
	setAttrs(t, b.span("catalog", "d1", "d102", "d101", ptrace.SpanKindClient, "catalog", 5, 20), map[string]any{
		"db.system.name": "microsoft.sql_server", "db.query.text": "SELECT TOP 10 * FROM products", "db.namespace": "catalog"})

	languages := map[string]string{"web": "nodejs", "accounts": "python", "orders": "java", "catalog": "dotnet"}
	for service, lang := range languages {
		setLanguage(b, service, lang)
	}
	checkInsightsGolden(t, queriesModule, b.td, languages)
}

// TestTransformGoldenStatusSourceOp shows the three behaviours of docs/mapping.md ("Status from an Error
// message", "Source of a plain span name", "Op of a span without a convention") in the events Sentry receives: a
// Go job whose span names its transaction (custom), whose uninstrumented step has no op and whose call ended in
// an Error with a Sentry status as message; and a Java method traced with @WithSpan (function, component).
func TestTransformGoldenStatusSourceOp(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("reports", "a1", "a101", "", ptrace.SpanKindInternal, "nightly report", 0, 900)
	b.span("reports", "a1", "a102", "a101", ptrace.SpanKindInternal, "render pages", 10, 300)
	call := b.span("reports", "a1", "a103", "a101", ptrace.SpanKindInternal, "upload", 310, 890)
	call.Status().SetCode(ptrace.StatusCodeError)
	call.Status().SetMessage("deadline_exceeded")

	setAttrs(t, b.span("billing", "b1", "b101", "", ptrace.SpanKindInternal, "InvoiceService.issue", 0, 50), map[string]any{
		"code.namespace": "com.acme.billing.InvoiceService", "code.function": "issue"})
	setLanguage(b, "billing", "java")
	checkGolden(t, "status_source_op", b.td)
}
