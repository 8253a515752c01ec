package semconv

import (
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span is what Sentry shows for one span. The exporter copies Op and Description onto every Sentry span, and Name
// and Source onto the transaction when the span heads one.
type Span struct {
	// Op is Sentry's low-cardinality span operation, e.g. "http.server", "http.client", "db", "db.redis",
	// "queue.publish". Sentry's Insights modules select spans by op, so it must follow Sentry's op names.
	Op string
	// Description identifies what the span did, e.g. "GET /users/{id}", "GET https://host/path" or the SQL text.
	// Sentry groups spans by it, so it never carries query strings or credentials from URLs.
	Description string
	// Name is the transaction name used when this span heads a transaction.
	Name string
	// Source tells Sentry how Name was made (route, url, custom, component, task, view); Sentry treats "url"
	// names as high-cardinality and keeps them out of the dynamic sampling context.
	Source sentry.TransactionSource
}

// Describe maps one span to what Sentry shows for it. The span's attributes are read in both the current and the
// legacy OpenTelemetry semantic conventions; the first matching convention wins, in this order: gen_ai, cache,
// database, messaging, RPC, HTTP, FaaS, then a fallback for spans without any of them. Explicit sentry.op,
// sentry.description and sentry.source attributes override whatever was derived. See docs/mapping.md.
func Describe(name string, kind ptrace.SpanKind, attrs pcommon.Map) Span {
	s := describeByConvention(name, kind, attrs)
	if s.Description == "" {
		s.Description = name
	}
	if s.Name == "" {
		s.Name = name
		if s.Name == "" {
			s.Name = s.Description
		}
	}
	if op := str(attrs, attrSentryOp); op != "" {
		s.Op = op
	}
	if d := str(attrs, attrSentryDescription); d != "" {
		s.Description = d
		s.Name = d
		s.Source = sentry.SourceCustom
	}
	if src, ok := parseSource(str(attrs, attrSentrySource)); ok {
		s.Source = src
	}
	return s
}

// describeByConvention picks the first semantic convention the attributes match. The order resolves spans that
// carry several conventions at once: an LLM call over HTTP is gen_ai, Elasticsearch over HTTP is a database,
// SQS through the AWS SDK (rpc.system=aws-api) is messaging, an HTTP-triggered function is HTTP.
func describeByConvention(name string, kind ptrace.SpanKind, attrs pcommon.Map) Span {
	if op := str(attrs, attrGenAIOperationName); op != "" {
		return describeGenAI(name, op, attrs)
	}
	if s, ok := describeCache(name, attrs); ok {
		return s
	}
	if system := str2(attrs, attrDBSystemName, attrDBSystem); system != "" {
		if s, ok := describeCacheCommand(name, system, attrs); ok {
			return s
		}
		return describeDB(name, system, attrs)
	}
	if s, ok := describeMessaging(name, kind, attrs); ok {
		return s
	}
	if system := str2(attrs, attrRPCSystemName, attrRPCSystem); system != "" {
		return describeRPC(name, kind, system, attrs)
	}
	if s, ok := describeHTTP(name, kind, attrs); ok {
		return s
	}
	if s, ok := describeFaaS(name, kind, attrs); ok {
		return s
	}
	return describeFallback(name, attrs)
}

// describeFallback handles spans that match no protocol convention.
//
// A span whose code attributes (code.function.name, legacy code.function) say it wraps a function is what
// Sentry's "function" op stands for (the op Sentry's own SDKs give a traced function), and its name, the
// function's, is what Sentry calls a component name.
//
// Any other span keeps an empty op and its name with source custom, as Sentry's OpenTelemetry SDK maps it.
// Sentry's ops are a documented vocabulary its product acts on (Insights modules, performance issue detectors,
// op breakdowns); no op fits a span that says nothing about what it does, and Sentry shows an empty op as
// "default", its own word for exactly that. An invented op would split Sentry's op facets by a guess. The span
// kind still reaches Sentry as otel.kind in the span data. A name chosen by whoever created the span is what
// Sentry calls custom.
func describeFallback(name string, attrs pcommon.Map) Span {
	if str2(attrs, attrCodeFunctionName, attrCodeFunction) != "" {
		return Span{Op: "function", Description: name, Name: name, Source: sentry.SourceComponent}
	}
	return Span{Description: name, Name: name, Source: sentry.SourceCustom}
}

// describeHTTP maps HTTP server and client spans. A span is HTTP when it has a request method, a route or a
// full URL, in current or legacy keys.
func describeHTTP(name string, kind ptrace.SpanKind, attrs pcommon.Map) (Span, bool) {
	method := str2(attrs, attrHTTPRequestMethod, attrHTTPMethod)
	route := str(attrs, attrHTTPRoute)
	if method == "" && route == "" && str2(attrs, attrURLFull, attrHTTPURL) == "" {
		return Span{}, false
	}
	method = normalizeMethod(method)

	if kind == ptrace.SpanKindServer {
		s := Span{Op: "http.server"}
		switch {
		case route != "":
			s.Name, s.Source = joinSpace(method, route), sentry.SourceRoute
		default:
			if path := serverPath(attrs); path != "" {
				// The root path is the same for every request: a route, as Sentry's SDK counts it.
				s.Name, s.Source = joinSpace(method, path), sentry.SourceURL
				if path == "/" {
					s.Source = sentry.SourceRoute
				}
			} else {
				s.Name, s.Source = name, sentry.SourceCustom
			}
		}
		s.Description = s.Name
		return s, true
	}

	s := Span{Op: "http"}
	if kind == ptrace.SpanKindClient {
		s.Op = "http.client"
	}
	target := clientURL(attrs)
	if target != "" {
		s.Description = joinSpace(method, target)
	} else {
		s.Description = name
	}
	switch tmpl := str(attrs, attrURLTemplate); {
	case tmpl != "":
		s.Name, s.Source = joinSpace(method, tmpl), sentry.SourceRoute
	case target != "":
		s.Name, s.Source = s.Description, sentry.SourceURL
	default:
		s.Name, s.Source = name, sentry.SourceCustom
	}
	return s, true
}

// normalizeMethod upper-cases the method (free when it already is) and replaces OpenTelemetry's "_OTHER" marker
// by "HTTP", as the semantic conventions do for span names: the original method of an unknown request is
// attacker-controlled on servers and would make names unbounded.
func normalizeMethod(method string) string {
	if method == "_OTHER" {
		return "HTTP"
	}
	return strings.ToUpper(method)
}

// serverPath is the request path of a server span without its query: url.path, else the legacy http.target,
// else the path of the full URL.
func serverPath(attrs pcommon.Map) string {
	if p := str(attrs, attrURLPath); p != "" {
		return p
	}
	if t := str(attrs, attrHTTPTarget); t != "" {
		return urlPath(t)
	}
	return urlPath(str2(attrs, attrURLFull, attrHTTPURL))
}

// clientURL is the sanitized URL a client called: url.full (or legacy http.url) without query, fragment and
// userinfo, else one assembled from scheme, host, port and path. It returns "" when nothing is known.
func clientURL(attrs pcommon.Map) string {
	if u := str2(attrs, attrURLFull, attrHTTPURL); u != "" {
		return sanitizeURL(u)
	}
	path := str(attrs, attrURLPath)
	if path == "" {
		path = urlPath(str(attrs, attrHTTPTarget))
	}
	host := str2(attrs, attrServerAddress, attrNetPeerName)
	hostHasPort := false
	if host == "" {
		// The legacy http.host is a Host header: it already carries the port when it is not the default.
		host, hostHasPort = str(attrs, attrHTTPHost), true
	}
	if host == "" {
		return path
	}
	scheme := str2(attrs, attrURLScheme, attrHTTPScheme)
	var port int64
	if !hostHasPort {
		p, ok := integer(attrs, attrServerPort)
		if !ok {
			p, ok = integer(attrs, attrNetPeerPort)
		}
		if ok && p > 0 && p <= 65535 && !isDefaultPort(scheme, p) {
			port = p
		}
	}
	bracket := !hostHasPort && strings.IndexByte(host, ':') >= 0 && host[0] != '['

	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + 2 + 6 + len(path))
	if scheme != "" {
		b.WriteString(scheme)
		b.WriteString("://")
	}
	if bracket {
		b.WriteByte('[')
	}
	b.WriteString(host)
	if bracket {
		b.WriteByte(']')
	}
	if port != 0 {
		var buf [8]byte
		b.WriteByte(':')
		b.Write(strconv.AppendInt(buf[:0], port, 10))
	}
	b.WriteString(path)
	return b.String()
}

// isDefaultPort reports whether port is the scheme's default, which URLs leave out.
func isDefaultPort(scheme string, port int64) bool {
	return (port == 80 && strings.EqualFold(scheme, "http")) || (port == 443 && strings.EqualFold(scheme, "https"))
}

// describeDB maps database client spans. Sentry's Queries module reads every op starting with "db" and shows
// the description as the query, so the description is the query text when there is one. Redis gets "db.redis"
// as in Sentry's SDKs, which keeps it out of the Queries module (it has no SQL to show).
func describeDB(name, system string, attrs pcommon.Map) Span {
	s := Span{Op: "db", Name: name, Source: sentry.SourceTask}
	if system == "redis" {
		s.Op = "db.redis"
	}
	s.Description = str2(attrs, attrDBQueryText, attrDBStatement)
	if s.Description == "" {
		s.Description = str(attrs, attrDBQuerySummary)
	}
	if s.Description == "" {
		s.Description = joinSpace(str2(attrs, attrDBOperationName, attrDBOperation), dbCollection(attrs))
	}
	return s
}

// dbCollection is the table or collection a query acts on, in the current key or any of the per-system legacy
// keys.
func dbCollection(attrs pcommon.Map) string {
	if c := str2(attrs, attrDBCollectionName, attrDBSQLTable); c != "" {
		return c
	}
	if c := str2(attrs, attrDBMongoDBCollection, attrDBCassandraTable); c != "" {
		return c
	}
	return str(attrs, attrDBCosmosDBContainer)
}

// describeMessaging maps producer and consumer spans to Sentry's queue ops, which feed the Queues module. The
// module reads the queue from messaging.destination.name in the span data, so the description is the span name
// ("publish orders"), as in Sentry's SDK; the destination stands in for a missing name. Consumers are background
// work, which Sentry's transaction source calls a task.
func describeMessaging(name string, kind ptrace.SpanKind, attrs pcommon.Map) (Span, bool) {
	opType := str2(attrs, attrMessagingOperationType, attrMessagingOperation)
	if opType == "" && str(attrs, attrMessagingSystem) == "" {
		return Span{}, false
	}
	s := Span{Op: queueOp(opType, kind), Description: name, Name: name, Source: sentry.SourceTask}
	if name == "" {
		s.Description = str2(attrs, attrMessagingDestinationName, attrMessagingDestination)
	}
	return s, true
}

// queueOp maps messaging.operation.type (and the legacy messaging.operation values "publish" and "deliver") to
// Sentry's queue ops. Without a known operation the span kind decides: producers publish, consumers process.
func queueOp(opType string, kind ptrace.SpanKind) string {
	switch opType {
	case "create":
		return "queue.create"
	case "send", "publish":
		return "queue.publish"
	case "receive":
		return "queue.receive"
	case "process", "deliver":
		return "queue.process"
	case "settle":
		return "queue.settle"
	}
	switch kind {
	case ptrace.SpanKindProducer:
		return "queue.publish"
	case ptrace.SpanKindConsumer:
		return "queue.process"
	}
	return "queue"
}

// describeRPC maps RPC spans: gRPC gets Sentry's grpc.client / grpc.server ops, other systems "rpc". The
// fully qualified method describes the span and names its transaction as a route. Instrumentations render it
// as the span name ("package.Service/Method", AWS SDK spans "Service.Operation"), which Sentry's SDK shows, so a
// span name that ends with the method is kept; any other span name is replaced by "service/method" from the
// attributes.
func describeRPC(name string, kind ptrace.SpanKind, system string, attrs pcommon.Map) Span {
	s := Span{Op: "rpc"}
	if system == "grpc" {
		switch kind {
		case ptrace.SpanKindClient:
			s.Op = "grpc.client"
		case ptrace.SpanKindServer:
			s.Op = "grpc.server"
		default:
			s.Op = "grpc"
		}
	}
	var method string
	switch m := str(attrs, attrRPCMethod); {
	case m == "_OTHER":
		// An unrecognised method: describe it by its original name, but do not name transactions after it.
		s.Description = str(attrs, attrRPCMethodOriginal)
		s.Name, s.Source = name, sentry.SourceCustom
		return s
	case strings.IndexByte(m, '/') >= 0:
		// Current conventions: rpc.method is already "package.Service/Method".
		method = m
	default:
		method = joinSlash(str(attrs, attrRPCService), m)
	}
	if method == "" {
		s.Name, s.Source = name, sentry.SourceCustom
		return s
	}
	s.Description = method
	if bare := method[strings.LastIndexByte(method, '/')+1:]; bare != "" && len(name) > len(bare) &&
		strings.HasSuffix(name, bare) && (name[len(name)-len(bare)-1] == '/' || name[len(name)-len(bare)-1] == '.') {
		s.Description = name
	}
	s.Name, s.Source = s.Description, sentry.SourceRoute
	return s
}

// describeFaaS maps serverless spans. Sentry's serverless ops are "function.aws", "function.gcp" and
// "function.azure", which an invoking client can name from faas.invoked_provider; a function's own span only
// knows its trigger, so it gets "http.server" for HTTP triggers and Sentry's general "function" otherwise.
func describeFaaS(name string, kind ptrace.SpanKind, attrs pcommon.Map) (Span, bool) {
	trigger := str(attrs, attrFaaSTrigger)
	invoked := str(attrs, attrFaaSInvokedName)
	if invoked != "" && (kind == ptrace.SpanKindClient || trigger == "") {
		s := Span{Op: "function", Description: invoked, Name: name, Source: sentry.SourceCustom}
		switch str(attrs, attrFaaSInvokedProvider) {
		case "aws":
			s.Op = "function.aws"
		case "gcp":
			s.Op = "function.gcp"
		case "azure":
			s.Op = "function.azure"
		}
		return s, true
	}
	if trigger == "" {
		return Span{}, false
	}
	if trigger == "http" {
		return Span{Op: "http.server", Description: name, Name: name, Source: sentry.SourceCustom}, true
	}
	return Span{Op: "function", Description: name, Name: name, Source: sentry.SourceTask}, true
}

// describeCache maps spans that carry Sentry's cache-module attributes (OpenTelemetry has no cache
// conventions, so these attributes only exist when someone set them for Sentry on purpose).
func describeCache(name string, attrs pcommon.Map) (Span, bool) {
	operation := str(attrs, attrCacheOperation)
	_, hit := attrs.Get(attrCacheHit)
	_, write := attrs.Get(attrCacheWrite)
	key, hasKey := attrs.Get(attrCacheKey)
	if operation == "" && !hit && !write && !hasKey {
		return Span{}, false
	}
	s := Span{Op: "cache", Name: name, Source: sentry.SourceCustom}
	switch {
	case operation == "get" || operation == "put" || operation == "remove" || operation == "flush":
		s.Op = cacheOps(operation)
	case isIdentifier(operation):
		s.Op = "cache." + operation
	case hit:
		s.Op = "cache.get"
	case write:
		s.Op = "cache.put"
	}
	if hasKey {
		s.Description = cacheKeys(key)
	}
	return s, true
}

// cacheOps returns the constant op for Sentry's four documented cache operations, so they cost no allocation.
func cacheOps(operation string) string {
	switch operation {
	case "get":
		return "cache.get"
	case "put":
		return "cache.put"
	case "remove":
		return "cache.remove"
	}
	return "cache.flush"
}

// cacheKeys renders cache.key, a string or an array of strings, as Sentry's cache module wants it: the keys
// separated by ", ".
func cacheKeys(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		var b strings.Builder
		for i := 0; i < sl.Len(); i++ {
			e := sl.At(i)
			if e.Type() != pcommon.ValueTypeStr || e.Str() == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.Str())
		}
		return b.String()
	}
	return ""
}

// describeGenAI maps generative-AI spans to Sentry's "gen_ai.<operation>" ops (gen_ai.chat, gen_ai.embeddings,
// gen_ai.execute_tool, gen_ai.invoke_agent, ...), with the descriptions Sentry's AI Agents module expects:
// "<operation> <tool>" for tools, "<operation> <agent>" for agents, "<operation> <model>" for model calls.
func describeGenAI(name, operation string, attrs pcommon.Map) Span {
	s := Span{Op: genAIOp(operation), Name: name, Source: sentry.SourceCustom}
	var target string
	switch operation {
	case "execute_tool":
		target = str(attrs, attrGenAIToolName)
	case "invoke_agent", "create_agent":
		target = str(attrs, attrGenAIAgentName)
	}
	if target == "" {
		target = str(attrs, attrGenAIRequestModel)
	}
	if target != "" {
		s.Description = joinSpace(operation, target)
	}
	return s
}

// genAIOp returns "gen_ai.<operation>": constants for the operations OpenTelemetry and Sentry define, a
// concatenation for other identifier-like values (OpenTelemetry adds operations over time), and plain "gen_ai"
// for anything that is not a short identifier and would make the op unbounded.
func genAIOp(operation string) string {
	switch operation {
	case "chat":
		return "gen_ai.chat"
	case "embeddings":
		return "gen_ai.embeddings"
	case "execute_tool":
		return "gen_ai.execute_tool"
	case "invoke_agent":
		return "gen_ai.invoke_agent"
	case "create_agent":
		return "gen_ai.create_agent"
	case "generate_content":
		return "gen_ai.generate_content"
	case "text_completion":
		return "gen_ai.text_completion"
	}
	if isIdentifier(operation) {
		return "gen_ai." + operation
	}
	return "gen_ai"
}

// parseSource accepts the transaction sources Sentry knows; anything else in sentry.source is ignored, because
// Relay would reject or misread it.
func parseSource(s string) (sentry.TransactionSource, bool) {
	switch src := sentry.TransactionSource(s); src {
	case sentry.SourceCustom, sentry.SourceURL, sentry.SourceRoute, sentry.SourceView, sentry.SourceComponent,
		sentry.SourceTask:
		return src, true
	}
	return "", false
}

// joinSpace joins two parts with a space, leaving the space out when either is empty.
func joinSpace(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// joinSlash joins an RPC service and method as "service/method", leaving the slash out when either is empty.
func joinSlash(service, method string) string {
	switch {
	case service == "":
		return method
	case method == "":
		return service
	}
	return service + "/" + method
}
