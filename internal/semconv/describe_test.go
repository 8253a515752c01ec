package semconv

import (
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	server   = ptrace.SpanKindServer
	client   = ptrace.SpanKindClient
	internal = ptrace.SpanKindInternal
	producer = ptrace.SpanKindProducer
	consumer = ptrace.SpanKindConsumer
	unspec   = ptrace.SpanKindUnspecified
)

type describeCase struct {
	name  string
	span  string
	kind  ptrace.SpanKind
	attrs map[string]any
	want  Span
}

func runDescribe(t *testing.T, cases []describeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Describe(tc.span, tc.kind, attrsOf(t, tc.attrs))
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDescribeHTTPServer(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "current keys with route",
			span: "GET /users/{id}", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "http.route": "/users/{id}", "url.path": "/users/42", "url.query": "a=1"},
			want:  Span{Op: "http.server", Description: "GET /users/{id}", Name: "GET /users/{id}", Source: sentry.SourceRoute},
		},
		{
			name: "legacy keys with route",
			span: "/users/:id", kind: server,
			attrs: map[string]any{"http.method": "POST", "http.route": "/users/:id", "http.target": "/users/42?x=1"},
			want:  Span{Op: "http.server", Description: "POST /users/:id", Name: "POST /users/:id", Source: sentry.SourceRoute},
		},
		{
			name: "no route falls back to url.path",
			span: "GET", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "url.path": "/health"},
			want:  Span{Op: "http.server", Description: "GET /health", Name: "GET /health", Source: sentry.SourceURL},
		},
		{
			name: "no route falls back to legacy http.target without query",
			span: "HTTP GET", kind: server,
			attrs: map[string]any{"http.method": "GET", "http.target": "/search?q=secret#frag"},
			want:  Span{Op: "http.server", Description: "GET /search", Name: "GET /search", Source: sentry.SourceURL},
		},
		{
			name: "no route or path falls back to path of url.full",
			span: "GET", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://u:p@example.com/a/b?c=d"},
			want:  Span{Op: "http.server", Description: "GET /a/b", Name: "GET /a/b", Source: sentry.SourceURL},
		},
		{
			name: "no route or path falls back to the span name",
			span: "GET /x", kind: server,
			attrs: map[string]any{"http.request.method": "GET"},
			want:  Span{Op: "http.server", Description: "GET /x", Name: "GET /x", Source: sentry.SourceCustom},
		},
		{
			name: "url.full without path falls back to the span name",
			span: "GET", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://example.com?x=1"},
			want:  Span{Op: "http.server", Description: "GET", Name: "GET", Source: sentry.SourceCustom},
		},
		{
			name: "current method wins over legacy",
			span: "x", kind: server,
			attrs: map[string]any{"http.request.method": "PUT", "http.method": "GET", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "PUT /r", Name: "PUT /r", Source: sentry.SourceRoute},
		},
		{
			name: "url.path wins over legacy http.target",
			span: "x", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "url.path": "/new", "http.target": "/old"},
			want:  Span{Op: "http.server", Description: "GET /new", Name: "GET /new", Source: sentry.SourceURL},
		},
		{
			name: "empty current method falls back to legacy",
			span: "x", kind: server,
			attrs: map[string]any{"http.request.method": "", "http.method": "DELETE", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "DELETE /r", Name: "DELETE /r", Source: sentry.SourceRoute},
		},
		{
			name: "_OTHER method becomes HTTP",
			span: "HTTP", kind: server,
			attrs: map[string]any{"http.request.method": "_OTHER", "http.request.method_original": "FOO", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "HTTP /r", Name: "HTTP /r", Source: sentry.SourceRoute},
		},
		{
			name: "lower-case method is upper-cased",
			span: "x", kind: server,
			attrs: map[string]any{"http.method": "get", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "GET /r", Name: "GET /r", Source: sentry.SourceRoute},
		},
		{
			name: "route without method",
			span: "x", kind: server,
			attrs: map[string]any{"http.route": "/r/{id}"},
			want:  Span{Op: "http.server", Description: "/r/{id}", Name: "/r/{id}", Source: sentry.SourceRoute},
		},
		{
			name: "empty route falls back to path",
			span: "x", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "http.route": "", "url.path": "/p"},
			want:  Span{Op: "http.server", Description: "GET /p", Name: "GET /p", Source: sentry.SourceURL},
		},
		{
			name: "non-string route is ignored",
			span: "x", kind: server,
			attrs: map[string]any{"http.request.method": "GET", "http.route": 7, "url.path": "/p"},
			want:  Span{Op: "http.server", Description: "GET /p", Name: "GET /p", Source: sentry.SourceURL},
		},
	})
}

func TestDescribeHTTPClient(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "url.full is sanitized",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://user:pw@api.example.com:8443/v1/items?token=s3cret#top"},
			want:  Span{Op: "http.client", Description: "GET https://[filtered]:[filtered]@api.example.com:8443/v1/items", Name: "GET https://[filtered]:[filtered]@api.example.com:8443/v1/items", Source: sentry.SourceURL},
		},
		{
			name: "legacy http.url",
			span: "HTTP GET", kind: client,
			attrs: map[string]any{"http.method": "GET", "http.url": "http://example.com/a?b=c"},
			want:  Span{Op: "http.client", Description: "GET http://example.com/a", Name: "GET http://example.com/a", Source: sentry.SourceURL},
		},
		{
			name: "url.full wins over legacy http.url",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://new.example/x", "http.url": "https://old.example/y"},
			want:  Span{Op: "http.client", Description: "GET https://new.example/x", Name: "GET https://new.example/x", Source: sentry.SourceURL},
		},
		{
			name: "url.template names the transaction as a route",
			span: "GET /users/{id}", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://example.com/users/42", "url.template": "/users/{id}"},
			want:  Span{Op: "http.client", Description: "GET https://example.com/users/42", Name: "GET /users/{id}", Source: sentry.SourceRoute},
		},
		{
			name: "assembled from current parts with non-default port",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.scheme": "http", "server.address": "svc.local", "server.port": 8080, "url.path": "/p"},
			want:  Span{Op: "http.client", Description: "GET http://svc.local:8080/p", Name: "GET http://svc.local:8080/p", Source: sentry.SourceURL},
		},
		{
			name: "assembled with default port left out",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.scheme": "https", "server.address": "svc.local", "server.port": 443, "url.path": "/p"},
			want:  Span{Op: "http.client", Description: "GET https://svc.local/p", Name: "GET https://svc.local/p", Source: sentry.SourceURL},
		},
		{
			name: "assembled from legacy parts, port as string",
			span: "GET", kind: client,
			attrs: map[string]any{"http.method": "GET", "http.scheme": "http", "net.peer.name": "db.local", "net.peer.port": "9200", "http.target": "/_search?q=1"},
			want:  Span{Op: "http.client", Description: "GET http://db.local:9200/_search", Name: "GET http://db.local:9200/_search", Source: sentry.SourceURL},
		},
		{
			name: "legacy http.host keeps its own port",
			span: "GET", kind: client,
			attrs: map[string]any{"http.method": "GET", "http.scheme": "https", "http.host": "example.com:8443", "net.peer.port": 1, "http.target": "/x"},
			want:  Span{Op: "http.client", Description: "GET https://example.com:8443/x", Name: "GET https://example.com:8443/x", Source: sentry.SourceURL},
		},
		{
			name: "IPv6 address is bracketed",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.scheme": "http", "server.address": "::1", "server.port": 8080, "url.path": "/"},
			want:  Span{Op: "http.client", Description: "GET http://[::1]:8080/", Name: "GET http://[::1]:8080/", Source: sentry.SourceURL},
		},
		{
			name: "host without scheme",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "server.address": "example.com", "url.path": "/x"},
			want:  Span{Op: "http.client", Description: "GET example.com/x", Name: "GET example.com/x", Source: sentry.SourceURL},
		},
		{
			name: "out of range port is ignored",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.scheme": "http", "server.address": "h", "server.port": 70000, "url.path": "/x"},
			want:  Span{Op: "http.client", Description: "GET http://h/x", Name: "GET http://h/x", Source: sentry.SourceURL},
		},
		{
			name: "path only",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.path": "/only"},
			want:  Span{Op: "http.client", Description: "GET /only", Name: "GET /only", Source: sentry.SourceURL},
		},
		{
			name: "method only keeps the span name",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET"},
			want:  Span{Op: "http.client", Description: "GET", Name: "GET", Source: sentry.SourceCustom},
		},
		{
			name: "relative url.full keeps only its path",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "/relative/x?y=z"},
			want:  Span{Op: "http.client", Description: "GET /relative/x", Name: "GET /relative/x", Source: sentry.SourceURL},
		},
		{
			name: "invalid url.full is only cut at the query",
			span: "GET", kind: client,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "not a url?secret=1"},
			want:  Span{Op: "http.client", Description: "GET not a url", Name: "GET not a url", Source: sentry.SourceURL},
		},
		{
			name: "url.full without method is still HTTP",
			span: "fetch", kind: client,
			attrs: map[string]any{"url.full": "https://example.com/x"},
			want:  Span{Op: "http.client", Description: "https://example.com/x", Name: "https://example.com/x", Source: sentry.SourceURL},
		},
		{
			name: "internal kind gets plain http",
			span: "fetch", kind: internal,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "https://example.com/x"},
			want:  Span{Op: "http", Description: "GET https://example.com/x", Name: "GET https://example.com/x", Source: sentry.SourceURL},
		},
	})
}

func TestDescribeDB(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "current query text",
			span: "SELECT users", kind: client,
			attrs: map[string]any{"db.system.name": "postgresql", "db.query.text": "SELECT * FROM users WHERE id = $1"},
			want:  Span{Op: "db", Description: "SELECT * FROM users WHERE id = $1", Name: "SELECT users", Source: sentry.SourceTask},
		},
		{
			name: "legacy statement",
			span: "users", kind: client,
			attrs: map[string]any{"db.system": "mysql", "db.statement": "SELECT 1"},
			want:  Span{Op: "db", Description: "SELECT 1", Name: "users", Source: sentry.SourceTask},
		},
		{
			name: "current keys win over legacy",
			span: "q", kind: client,
			attrs: map[string]any{"db.system.name": "postgresql", "db.system": "redis", "db.query.text": "new", "db.statement": "old"},
			want:  Span{Op: "db", Description: "new", Name: "q", Source: sentry.SourceTask},
		},
		{
			name: "redis",
			span: "GET", kind: client,
			attrs: map[string]any{"db.system.name": "redis", "db.query.text": "GET key"},
			want:  Span{Op: "db.redis", Description: "GET key", Name: "GET", Source: sentry.SourceTask},
		},
		{
			name: "legacy redis without statement uses the operation",
			span: "redis", kind: client,
			attrs: map[string]any{"db.system": "redis", "db.operation": "HGETALL"},
			want:  Span{Op: "db.redis", Description: "HGETALL", Name: "redis", Source: sentry.SourceTask},
		},
		{
			name: "query summary",
			span: "x", kind: client,
			attrs: map[string]any{"db.system.name": "postgresql", "db.query.summary": "SELECT orders"},
			want:  Span{Op: "db", Description: "SELECT orders", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "operation and collection",
			span: "x", kind: client,
			attrs: map[string]any{"db.system.name": "mongodb", "db.operation.name": "findAndModify", "db.collection.name": "products"},
			want:  Span{Op: "db", Description: "findAndModify products", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "legacy operation and sql table",
			span: "x", kind: client,
			attrs: map[string]any{"db.system": "mssql", "db.operation": "SELECT", "db.sql.table": "orders"},
			want:  Span{Op: "db", Description: "SELECT orders", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "legacy mongodb collection",
			span: "x", kind: client,
			attrs: map[string]any{"db.system": "mongodb", "db.operation": "find", "db.mongodb.collection": "users"},
			want:  Span{Op: "db", Description: "find users", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "legacy cassandra table",
			span: "x", kind: client,
			attrs: map[string]any{"db.system": "cassandra", "db.cassandra.table": "events"},
			want:  Span{Op: "db", Description: "events", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "legacy cosmosdb container",
			span: "x", kind: client,
			attrs: map[string]any{"db.system": "cosmosdb", "db.operation": "ReadItem", "db.cosmosdb.container": "items"},
			want:  Span{Op: "db", Description: "ReadItem items", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "collection name wins over legacy sql table",
			span: "x", kind: client,
			attrs: map[string]any{"db.system.name": "mysql", "db.operation.name": "SELECT", "db.collection.name": "a", "db.sql.table": "b"},
			want:  Span{Op: "db", Description: "SELECT a", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "nothing but the system keeps the span name",
			span: "postgres", kind: client,
			attrs: map[string]any{"db.system.name": "postgresql", "db.query.text": ""},
			want:  Span{Op: "db", Description: "postgres", Name: "postgres", Source: sentry.SourceTask},
		},
		{
			name: "database over HTTP is a database",
			span: "search", kind: client,
			attrs: map[string]any{"db.system": "elasticsearch", "http.method": "GET", "http.url": "http://es:9200/_search", "db.statement": "{\"query\":{}}"},
			want:  Span{Op: "db", Description: "{\"query\":{}}", Name: "search", Source: sentry.SourceTask},
		},
	})
}

func TestDescribeRPC(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "legacy grpc client",
			span: "helloworld.Greeter/SayHello", kind: client,
			attrs: map[string]any{"rpc.system": "grpc", "rpc.service": "helloworld.Greeter", "rpc.method": "SayHello"},
			want:  Span{Op: "grpc.client", Description: "helloworld.Greeter/SayHello", Name: "helloworld.Greeter/SayHello", Source: sentry.SourceRoute},
		},
		{
			name: "legacy grpc server",
			span: "x", kind: server,
			attrs: map[string]any{"rpc.system": "grpc", "rpc.service": "svc.S", "rpc.method": "M"},
			want:  Span{Op: "grpc.server", Description: "svc.S/M", Name: "svc.S/M", Source: sentry.SourceRoute},
		},
		{
			name: "current fully qualified method",
			span: "x", kind: server,
			attrs: map[string]any{"rpc.system.name": "grpc", "rpc.method": "com.example.EchoService/Echo"},
			want:  Span{Op: "grpc.server", Description: "com.example.EchoService/Echo", Name: "com.example.EchoService/Echo", Source: sentry.SourceRoute},
		},
		{
			name: "current system name wins over legacy",
			span: "x", kind: client,
			attrs: map[string]any{"rpc.system.name": "grpc", "rpc.system": "java_rmi", "rpc.method": "S/M"},
			want:  Span{Op: "grpc.client", Description: "S/M", Name: "S/M", Source: sentry.SourceRoute},
		},
		{
			name: "grpc on an internal span",
			span: "x", kind: internal,
			attrs: map[string]any{"rpc.system.name": "grpc", "rpc.method": "S/M"},
			want:  Span{Op: "grpc", Description: "S/M", Name: "S/M", Source: sentry.SourceRoute},
		},
		{
			name: "other rpc system",
			span: "x", kind: client,
			attrs: map[string]any{"rpc.system": "java_rmi", "rpc.service": "Calc", "rpc.method": "add"},
			want:  Span{Op: "rpc", Description: "Calc/add", Name: "Calc/add", Source: sentry.SourceRoute},
		},
		{
			name: "service only",
			span: "x", kind: client,
			attrs: map[string]any{"rpc.system": "dotnet_wcf", "rpc.service": "Calc"},
			want:  Span{Op: "rpc", Description: "Calc", Name: "Calc", Source: sentry.SourceRoute},
		},
		{
			name: "method only",
			span: "x", kind: client,
			attrs: map[string]any{"rpc.system": "dotnet_wcf", "rpc.method": "add"},
			want:  Span{Op: "rpc", Description: "add", Name: "add", Source: sentry.SourceRoute},
		},
		{
			name: "no service or method keeps the span name",
			span: "call", kind: client,
			attrs: map[string]any{"rpc.system": "grpc"},
			want:  Span{Op: "grpc.client", Description: "call", Name: "call", Source: sentry.SourceCustom},
		},
		{
			name: "_OTHER uses rpc.method_original but not as a name",
			span: "_OTHER", kind: server,
			attrs: map[string]any{"rpc.system.name": "grpc", "rpc.method": "_OTHER", "rpc.method_original": "svc/Unknown"},
			want:  Span{Op: "grpc.server", Description: "svc/Unknown", Name: "_OTHER", Source: sentry.SourceCustom},
		},
		{
			name: "_OTHER without original keeps the span name",
			span: "grpc call", kind: server,
			attrs: map[string]any{"rpc.system.name": "grpc", "rpc.method": "_OTHER"},
			want:  Span{Op: "grpc.server", Description: "grpc call", Name: "grpc call", Source: sentry.SourceCustom},
		},
		{
			name: "rpc wins over http",
			span: "x", kind: client,
			attrs: map[string]any{"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem", "http.method": "POST", "http.url": "https://dynamodb/"},
			want:  Span{Op: "rpc", Description: "DynamoDB/GetItem", Name: "DynamoDB/GetItem", Source: sentry.SourceRoute},
		},
		{
			name: "a span name that renders the method is kept (AWS SDK)",
			span: "S3.PutObject", kind: client,
			attrs: map[string]any{"rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": "PutObject"},
			want:  Span{Op: "rpc", Description: "S3.PutObject", Name: "S3.PutObject", Source: sentry.SourceRoute},
		},
		{
			name: "a span name that merely ends like the method is not",
			span: "xPutObject", kind: client,
			attrs: map[string]any{"rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": "PutObject"},
			want:  Span{Op: "rpc", Description: "S3/PutObject", Name: "S3/PutObject", Source: sentry.SourceRoute},
		},
	})
}

func TestDescribeMessaging(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "current send",
			span: "send orders", kind: producer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": "orders"},
			want:  Span{Op: "queue.publish", Description: "send orders", Name: "send orders", Source: sentry.SourceTask},
		},
		{
			name: "current process",
			span: "process orders", kind: consumer,
			attrs: map[string]any{"messaging.system": "rabbitmq", "messaging.operation.type": "process", "messaging.destination.name": "orders"},
			want:  Span{Op: "queue.process", Description: "process orders", Name: "process orders", Source: sentry.SourceTask},
		},
		{
			name: "current receive",
			span: "poll", kind: client,
			attrs: map[string]any{"messaging.system": "aws_sqs", "messaging.operation.type": "receive", "messaging.destination.name": "q"},
			want:  Span{Op: "queue.receive", Description: "poll", Name: "poll", Source: sentry.SourceTask},
		},
		{
			name: "current create",
			span: "create", kind: producer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation.type": "create"},
			want:  Span{Op: "queue.create", Description: "create", Name: "create", Source: sentry.SourceTask},
		},
		{
			name: "current settle",
			span: "ack", kind: client,
			attrs: map[string]any{"messaging.system": "servicebus", "messaging.operation.type": "settle", "messaging.destination.name": "q"},
			want:  Span{Op: "queue.settle", Description: "ack", Name: "ack", Source: sentry.SourceTask},
		},
		{
			name: "legacy publish with legacy destination",
			span: "orders publish", kind: producer,
			attrs: map[string]any{"messaging.system": "rabbitmq", "messaging.operation": "publish", "messaging.destination": "orders"},
			want:  Span{Op: "queue.publish", Description: "orders publish", Name: "orders publish", Source: sentry.SourceTask},
		},
		{
			name: "legacy deliver",
			span: "x", kind: consumer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation": "deliver"},
			want:  Span{Op: "queue.process", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "current operation type wins over legacy",
			span: "x", kind: consumer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation.type": "receive", "messaging.operation": "process"},
			want:  Span{Op: "queue.receive", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "without a span name, the destination describes it; current wins over legacy",
			span: "", kind: producer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "new", "messaging.destination": "old"},
			want:  Span{Op: "queue.publish", Description: "new", Name: "new", Source: sentry.SourceTask},
		},
		{
			name: "no operation: producer publishes",
			span: "x", kind: producer,
			attrs: map[string]any{"messaging.system": "kafka"},
			want:  Span{Op: "queue.publish", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "no operation: consumer processes",
			span: "x", kind: consumer,
			attrs: map[string]any{"messaging.system": "kafka"},
			want:  Span{Op: "queue.process", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "unknown operation on internal span",
			span: "x", kind: internal,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.operation.type": "frobnicate"},
			want:  Span{Op: "queue", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "operation type without system",
			span: "x", kind: producer,
			attrs: map[string]any{"messaging.operation.type": "send"},
			want:  Span{Op: "queue.publish", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "messaging wins over rpc",
			span: "x", kind: producer,
			attrs: map[string]any{"messaging.system": "aws_sqs", "rpc.system": "aws-api", "rpc.method": "SendMessage", "messaging.destination.name": "q"},
			want:  Span{Op: "queue.publish", Description: "x", Name: "x", Source: sentry.SourceTask},
		},
	})
}

func TestDescribeFaaS(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "timer trigger",
			span: "nightly", kind: server,
			attrs: map[string]any{"faas.trigger": "timer"},
			want:  Span{Op: "function", Description: "nightly", Name: "nightly", Source: sentry.SourceTask},
		},
		{
			name: "http trigger without http attributes",
			span: "handler", kind: server,
			attrs: map[string]any{"faas.trigger": "http"},
			want:  Span{Op: "http.server", Description: "handler", Name: "handler", Source: sentry.SourceCustom},
		},
		{
			name: "http trigger with http attributes is HTTP",
			span: "handler", kind: server,
			attrs: map[string]any{"faas.trigger": "http", "http.request.method": "GET", "http.route": "/fn"},
			want:  Span{Op: "http.server", Description: "GET /fn", Name: "GET /fn", Source: sentry.SourceRoute},
		},
		{
			name: "aws invocation",
			span: "invoke", kind: client,
			attrs: map[string]any{"faas.invoked_name": "my-function", "faas.invoked_provider": "aws"},
			want:  Span{Op: "function.aws", Description: "my-function", Name: "invoke", Source: sentry.SourceCustom},
		},
		{
			name: "gcp invocation",
			span: "invoke", kind: client,
			attrs: map[string]any{"faas.invoked_name": "fn", "faas.invoked_provider": "gcp"},
			want:  Span{Op: "function.gcp", Description: "fn", Name: "invoke", Source: sentry.SourceCustom},
		},
		{
			name: "azure invocation",
			span: "invoke", kind: client,
			attrs: map[string]any{"faas.invoked_name": "fn", "faas.invoked_provider": "azure"},
			want:  Span{Op: "function.azure", Description: "fn", Name: "invoke", Source: sentry.SourceCustom},
		},
		{
			name: "other provider",
			span: "invoke", kind: client,
			attrs: map[string]any{"faas.invoked_name": "fn", "faas.invoked_provider": "tencent_cloud"},
			want:  Span{Op: "function", Description: "fn", Name: "invoke", Source: sentry.SourceCustom},
		},
	})
}

func TestDescribeCache(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "hit means get",
			span: "cache", kind: internal,
			attrs: map[string]any{"cache.hit": true, "cache.key": []any{"posts"}},
			want:  Span{Op: "cache.get", Description: "posts", Name: "cache", Source: sentry.SourceCustom},
		},
		{
			name: "write means put, string key",
			span: "cache", kind: internal,
			attrs: map[string]any{"cache.write": true, "cache.key": "article1"},
			want:  Span{Op: "cache.put", Description: "article1", Name: "cache", Source: sentry.SourceCustom},
		},
		{
			name: "explicit operation wins, keys joined",
			span: "c", kind: internal,
			attrs: map[string]any{"cache.operation": "remove", "cache.hit": false, "cache.key": []any{"a", "", 3, "b"}},
			want:  Span{Op: "cache.remove", Description: "a, b", Name: "c", Source: sentry.SourceCustom},
		},
		{
			name: "flush",
			span: "c", kind: internal,
			attrs: map[string]any{"cache.operation": "flush"},
			want:  Span{Op: "cache.flush", Description: "c", Name: "c", Source: sentry.SourceCustom},
		},
		{
			name: "other identifier operation",
			span: "c", kind: internal,
			attrs: map[string]any{"cache.operation": "put_if_absent", "cache.key": "k"},
			want:  Span{Op: "cache.put_if_absent", Description: "k", Name: "c", Source: sentry.SourceCustom},
		},
		{
			name: "non-identifier operation is not spliced into the op",
			span: "c", kind: internal,
			attrs: map[string]any{"cache.operation": "putIfAbsent", "cache.key": "k"},
			want:  Span{Op: "cache", Description: "k", Name: "c", Source: sentry.SourceCustom},
		},
		{
			name: "cache attributes win over redis",
			span: "GET posts", kind: client,
			attrs: map[string]any{"cache.hit": true, "cache.key": "posts", "db.system.name": "redis"},
			want:  Span{Op: "cache.get", Description: "posts", Name: "GET posts", Source: sentry.SourceCustom},
		},
		{
			name: "key of unsupported type keeps the span name",
			span: "c", kind: internal,
			attrs: map[string]any{"cache.key": 12},
			want:  Span{Op: "cache", Description: "c", Name: "c", Source: sentry.SourceCustom},
		},
	})
}

func TestDescribeGenAI(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "chat",
			span: "chat gpt-4o", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "http.request.method": "POST", "url.full": "https://api.openai.com/v1/chat/completions"},
			want:  Span{Op: "gen_ai.chat", Description: "chat gpt-4o", Name: "chat gpt-4o", Source: sentry.SourceCustom},
		},
		{
			name: "embeddings",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3"},
			want:  Span{Op: "gen_ai.embeddings", Description: "embeddings text-embedding-3", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "execute tool",
			span: "x", kind: internal,
			attrs: map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "query_db", "gen_ai.request.model": "m"},
			want:  Span{Op: "gen_ai.execute_tool", Description: "execute_tool query_db", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "invoke agent",
			span: "invoke_agent Weather", kind: internal,
			attrs: map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Weather Agent"},
			want:  Span{Op: "gen_ai.invoke_agent", Description: "invoke_agent Weather Agent", Name: "invoke_agent Weather", Source: sentry.SourceCustom},
		},
		{
			name: "create agent falls back to model",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "create_agent", "gen_ai.request.model": "gpt-4o"},
			want:  Span{Op: "gen_ai.create_agent", Description: "create_agent gpt-4o", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "generate content",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "generate_content", "gen_ai.request.model": "gemini"},
			want:  Span{Op: "gen_ai.generate_content", Description: "generate_content gemini", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "text completion",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "text_completion"},
			want:  Span{Op: "gen_ai.text_completion", Description: "x", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "new identifier operation",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "invoke_workflow"},
			want:  Span{Op: "gen_ai.invoke_workflow", Description: "x", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "odd operation value",
			span: "x", kind: client,
			attrs: map[string]any{"gen_ai.operation.name": "Chat Completion!", "gen_ai.request.model": "m"},
			want:  Span{Op: "gen_ai", Description: "Chat Completion! m", Name: "x", Source: sentry.SourceCustom},
		},
	})
}

// TestDescribeFallbackWithoutConvention: a span no convention matches keeps an empty op (Sentry shows
// "default") and its name with source custom, whatever its kind, as Sentry's OpenTelemetry SDK maps it.
func TestDescribeFallbackByKind(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{name: "internal", span: "compute", kind: internal, attrs: map[string]any{"foo": "bar"},
			want: Span{Description: "compute", Name: "compute", Source: sentry.SourceCustom}},
		{name: "unspecified", span: "compute", kind: unspec, attrs: nil,
			want: Span{Description: "compute", Name: "compute", Source: sentry.SourceCustom}},
		{name: "server", span: "ws connect", kind: server, attrs: nil,
			want: Span{Description: "ws connect", Name: "ws connect", Source: sentry.SourceCustom}},
		{name: "client", span: "dial", kind: client, attrs: nil,
			want: Span{Description: "dial", Name: "dial", Source: sentry.SourceCustom}},
		{name: "producer", span: "emit", kind: producer, attrs: nil,
			want: Span{Description: "emit", Name: "emit", Source: sentry.SourceCustom}},
		{name: "consumer", span: "handle", kind: consumer, attrs: nil,
			want: Span{Description: "handle", Name: "handle", Source: sentry.SourceCustom}},
		{name: "unknown kind value", span: "x", kind: ptrace.SpanKind(99), attrs: nil,
			want: Span{Description: "x", Name: "x", Source: sentry.SourceCustom}},
		{name: "empty name stays empty", span: "", kind: internal, attrs: nil,
			want: Span{Description: "", Name: "", Source: sentry.SourceCustom}},
		{name: "a traced function (current code attributes)", span: "CheckoutController.placeOrder", kind: internal,
			attrs: map[string]any{"code.function.name": "com.acme.CheckoutController.placeOrder"},
			want:  Span{Op: "function", Description: "CheckoutController.placeOrder", Name: "CheckoutController.placeOrder", Source: sentry.SourceComponent}},
		{name: "a traced function (legacy code attributes)", span: "CheckoutController.placeOrder", kind: internal,
			attrs: map[string]any{"code.namespace": "com.acme.CheckoutController", "code.function": "placeOrder"},
			want:  Span{Op: "function", Description: "CheckoutController.placeOrder", Name: "CheckoutController.placeOrder", Source: sentry.SourceComponent}},
		{name: "code attributes do not override a protocol", span: "GET", kind: client,
			attrs: map[string]any{"code.function": "fetch", "http.request.method": "GET", "url.full": "https://a/b"},
			want:  Span{Op: "http.client", Description: "GET https://a/b", Name: "GET https://a/b", Source: sentry.SourceURL}},
		{name: "empty name takes a derived description", span: "", kind: client,
			attrs: map[string]any{"db.system.name": "postgresql", "db.query.text": "SELECT 1"},
			want:  Span{Op: "db", Description: "SELECT 1", Name: "SELECT 1", Source: sentry.SourceTask}},
	})
}

func TestDescribeSentryOverrides(t *testing.T) {
	t.Parallel()
	runDescribe(t, []describeCase{
		{
			name: "sentry.op wins",
			span: "x", kind: server,
			attrs: map[string]any{"sentry.op": "ui.render", "http.request.method": "GET", "http.route": "/r"},
			want:  Span{Op: "ui.render", Description: "GET /r", Name: "GET /r", Source: sentry.SourceRoute},
		},
		{
			name: "sentry.description names description and transaction",
			span: "x", kind: server,
			attrs: map[string]any{"sentry.description": "custom", "http.request.method": "GET", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "custom", Name: "custom", Source: sentry.SourceCustom},
		},
		{
			name: "sentry.source wins over everything",
			span: "x", kind: server,
			attrs: map[string]any{"sentry.description": "custom", "sentry.source": "view", "http.request.method": "GET", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "custom", Name: "custom", Source: sentry.SourceView},
		},
		{
			name: "sentry.source alone",
			span: "x", kind: internal,
			attrs: map[string]any{"sentry.source": "task"},
			want:  Span{Description: "x", Name: "x", Source: sentry.SourceTask},
		},
		{
			name: "invalid sentry.source is ignored",
			span: "x", kind: server,
			attrs: map[string]any{"sentry.source": "bogus", "http.request.method": "GET", "http.route": "/r"},
			want:  Span{Op: "http.server", Description: "GET /r", Name: "GET /r", Source: sentry.SourceRoute},
		},
		{
			name: "empty sentry values are ignored",
			span: "x", kind: internal,
			attrs: map[string]any{"sentry.op": "", "sentry.description": "", "sentry.source": ""},
			want:  Span{Description: "x", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "non-string sentry.op is ignored",
			span: "x", kind: internal,
			attrs: map[string]any{"sentry.op": 5},
			want:  Span{Description: "x", Name: "x", Source: sentry.SourceCustom},
		},
		{
			name: "all sources accepted",
			span: "x", kind: internal,
			attrs: map[string]any{"sentry.source": "component"},
			want:  Span{Description: "x", Name: "x", Source: sentry.SourceComponent},
		},
	})
}

func TestParseSource(t *testing.T) {
	t.Parallel()
	for _, src := range []sentry.TransactionSource{sentry.SourceCustom, sentry.SourceURL, sentry.SourceRoute,
		sentry.SourceView, sentry.SourceComponent, sentry.SourceTask} {
		got, ok := parseSource(string(src))
		assert.True(t, ok, src)
		assert.Equal(t, src, got)
	}
	for _, bad := range []string{"", "Route", "sanitized", "unknown"} {
		_, ok := parseSource(bad)
		assert.False(t, ok, bad)
	}
}
