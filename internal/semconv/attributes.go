package semconv

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute keys read by this package. Every key the code reads is a constant named attr*, so that
// TestMappingDocCoversEveryAttributeKey can find them all and check that docs/mapping.md mentions each one.
// Current semantic-convention keys come first in each group, legacy aliases after them.
const (
	// Explicit overrides set by Sentry SDKs or by users who know what they want in Sentry.
	attrSentryOp          = "sentry.op"
	attrSentryDescription = "sentry.description"
	attrSentrySource      = "sentry.source"

	// HTTP.
	attrHTTPRequestMethod      = "http.request.method"
	attrHTTPMethod             = "http.method" // legacy
	attrHTTPRoute              = "http.route"
	attrURLFull                = "url.full"
	attrHTTPURL                = "http.url" // legacy
	attrURLPath                = "url.path"
	attrHTTPTarget             = "http.target" // legacy, path plus query
	attrURLScheme              = "url.scheme"
	attrHTTPScheme             = "http.scheme" // legacy
	attrURLTemplate            = "url.template"
	attrServerAddress          = "server.address"
	attrNetPeerName            = "net.peer.name" // legacy
	attrHTTPHost               = "http.host"     // legacy, Host header value, may carry the port
	attrServerPort             = "server.port"
	attrNetPeerPort            = "net.peer.port" // legacy
	attrHTTPResponseStatusCode = "http.response.status_code"
	attrHTTPStatusCode         = "http.status_code" // legacy

	// Databases.
	attrDBSystemName        = "db.system.name"
	attrDBSystem            = "db.system" // legacy
	attrDBQueryText         = "db.query.text"
	attrDBStatement         = "db.statement" // legacy
	attrDBQuerySummary      = "db.query.summary"
	attrDBOperationName     = "db.operation.name"
	attrDBOperation         = "db.operation" // legacy
	attrDBCollectionName    = "db.collection.name"
	attrDBSQLTable          = "db.sql.table"          // legacy
	attrDBMongoDBCollection = "db.mongodb.collection" // legacy
	attrDBCassandraTable    = "db.cassandra.table"    // legacy
	attrDBCosmosDBContainer = "db.cosmosdb.container" // legacy

	// RPC.
	attrRPCSystemName     = "rpc.system.name"
	attrRPCSystem         = "rpc.system" // legacy
	attrRPCMethod         = "rpc.method" // fully qualified "service/method" in current semconv, bare method in legacy
	attrRPCMethodOriginal = "rpc.method_original"
	attrRPCService        = "rpc.service" // legacy
	attrRPCResponseStatus = "rpc.response.status_code"
	attrRPCGRPCStatusCode = "rpc.grpc.status_code" // legacy

	// Messaging.
	attrMessagingSystem          = "messaging.system"
	attrMessagingOperationType   = "messaging.operation.type"
	attrMessagingOperation       = "messaging.operation" // legacy
	attrMessagingDestinationName = "messaging.destination.name"
	attrMessagingDestination     = "messaging.destination" // legacy (before semconv 1.17)

	// Messaging data Sentry's Queues module reads (the last two are Sentry's keys; OpenTelemetry has none).
	attrMessagingMessageID                = "messaging.message.id"
	attrMessagingMessageIDLegacy          = "messaging.message_id" // legacy (before semconv 1.17)
	attrMessagingMessageBodySize          = "messaging.message.body.size"
	attrMessagingMessagePayloadSize       = "messaging.message.payload_size_bytes" // legacy (semconv 1.17 to 1.23)
	attrMessagingMessagePayloadSizeLegacy = "messaging.message_payload_size_bytes" // legacy (before semconv 1.17)
	attrMessagingServiceBusDeliveryCount  = "messaging.servicebus.message.delivery_count"
	attrMessagingPubSubDeliveryAttempt    = "messaging.gcp_pubsub.message.delivery_attempt"
	attrMessagingEventHubsEnqueuedTime    = "messaging.eventhubs.message.enqueued_time"
	attrLinkEnqueuedTime                  = "enqueuedTime" // on links, set by Azure's SDKs (Unix milliseconds)
	attrMessagingMessageRetryCount        = "messaging.message.retry.count"
	attrMessagingMessageReceiveLatency    = "messaging.message.receive.latency"

	// FaaS.
	attrFaaSTrigger         = "faas.trigger"
	attrFaaSInvokedName     = "faas.invoked_name"
	attrFaaSInvokedProvider = "faas.invoked_provider"

	// Caches (Sentry's cache module conventions; OpenTelemetry has none).
	attrCacheOperation = "cache.operation"
	attrCacheHit       = "cache.hit"
	attrCacheWrite     = "cache.write"
	attrCacheKey       = "cache.key"
	attrCacheItemSize  = "cache.item_size"

	// Generative AI.
	attrGenAIOperationName = "gen_ai.operation.name"
	attrGenAIRequestModel  = "gen_ai.request.model"
	attrGenAIToolName      = "gen_ai.tool.name"
	attrGenAIAgentName     = "gen_ai.agent.name"
	attrGenAIProviderName  = "gen_ai.provider.name"
	attrGenAISystem        = "gen_ai.system" // legacy

	// Code: the function a span wraps.
	attrCodeFunctionName = "code.function.name"
	attrCodeFunction     = "code.function" // legacy

	// General, read only for tags.
	attrErrorType = "error.type"
)

// str returns the attribute's value if it is a non-empty string, else "". Non-string values are ignored rather
// than stringified: a route or a query that arrives as an int is malformed, and formatting it would allocate.
func str(attrs pcommon.Map, key string) string {
	v, ok := attrs.Get(key)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

// str2 returns the first non-empty string among a current key and its legacy alias, so that the current key wins
// when an instrumentation emits both (OTEL_SEMCONV_STABILITY_OPT_IN=http/dup and friends).
func str2(attrs pcommon.Map, current, legacy string) string {
	if s := str(attrs, current); s != "" {
		return s
	}
	return str(attrs, legacy)
}

// integer reads an attribute that should be an integer but that some SDKs send as a numeric string or a whole
// double. The bool is false when the attribute is absent or not a whole number.
func integer(attrs pcommon.Map, key string) (int64, bool) {
	v, ok := attrs.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeStr:
		return parseInt(v.Str())
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f >= -1e15 && f <= 1e15 && f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

// parseInt parses an optionally signed decimal integer surrounded by optional spaces. It exists because
// strconv.ParseInt allocates an error on every failure, and odd values are common enough on the hot path.
func parseInt(s string) (int64, bool) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	// 18 digits always fit in an int64; longer values are not status codes.
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// isIdentifier reports whether s is a short lower-case identifier ([a-z0-9_], 1..32 bytes). Values that pass are
// safe to splice into a Sentry op: they are enum-like and cannot blow up the op's cardinality or its 128-byte limit.
func isIdentifier(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
