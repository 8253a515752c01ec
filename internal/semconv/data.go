package semconv

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// IsRewrittenDataKey reports whether AppendData writes the attribute key itself, in the type Sentry reads, so the
// caller must leave the attribute out of the span data it copies (a JSON object cannot hold a key twice):
// cache.hit (a boolean), cache.key (an array of keys) and cache.item_size (an integer).
func IsRewrittenDataKey(k string) bool {
	switch k {
	case attrCacheHit, attrCacheKey, attrCacheItemSize:
		return true
	}
	return false
}

// IsMessageConsumer reports whether the span receives or processes messages: a messaging span of kind CONSUMER
// or with a receive or process operation. Sentry's Queues module reads the receive latency of these spans, which
// the caller can derive from the producer's span (see AppendData).
func IsMessageConsumer(kind ptrace.SpanKind, attrs pcommon.Map) bool {
	opType := str2(attrs, attrMessagingOperationType, attrMessagingOperation)
	if opType == "" && str(attrs, attrMessagingSystem) == "" {
		return false
	}
	switch opType {
	case "receive", "process", "deliver":
		return true
	}
	return kind == ptrace.SpanKindConsumer
}

// AppendData writes the span data Sentry's Insights modules read that the span's attributes carry under another
// key or in another type, as members of a JSON object, each preceded by a comma. Nothing is written for a key the
// attributes already hold, so a value set by the instrumentation always wins; the exception is the keys of
// IsRewrittenDataKey, which are written here instead of by the caller.
//
//   - Requests: server.address (from net.peer.name, the host of url.full or http.url, or http.host) and
//     http.response.status_code (from http.status_code), for HTTP spans.
//   - Queries: db.system (from db.system.name).
//   - Caches: cache.hit as a boolean, cache.key as an array (a single key, or the keys of a cache command read
//     from the query text), cache.item_size as an integer.
//   - Queues: messaging.destination.name, messaging.message.id and messaging.message.body.size from their legacy
//     keys; messaging.message.retry.count from the delivery count of Azure Service Bus or the delivery attempt of
//     Google Pub/Sub; for consumers, messaging.message.receive.latency in milliseconds from the time the message
//     was enqueued (Azure Event Hubs' attribute, or the enqueuedTime attribute Azure's SDKs put on links), else
//     from producerStart, the start of the producer's span when the caller found it (0 when not).
func AppendData(dst []byte, span ptrace.Span, producerStart pcommon.Timestamp, counts *sanitize.Counts) []byte {
	attrs := span.Attributes()
	// One pass says which modules' keys the span has at all; most spans have one kind or none, and a
	// lookup per key of every module scanned the attributes about ten times (12% of encoding).
	var kinds dataKinds
	attrs.Range(func(k string, _ pcommon.Value) bool {
		switch k {
		case attrHTTPRequestMethod, attrHTTPMethod:
			kinds |= httpData
		case attrDBSystemName, attrDBSystem:
			kinds |= dbData
		case attrCacheHit, attrCacheItemSize, attrCacheKey:
			kinds |= cacheData
		case attrMessagingSystem, attrMessagingOperationType, attrMessagingOperation:
			kinds |= queueData
		}
		return true
	})
	if kinds&httpData != 0 && str2(attrs, attrHTTPRequestMethod, attrHTTPMethod) != "" {
		dst = appendHTTPData(dst, attrs, counts)
	}
	var system string
	if kinds&dbData != 0 {
		system = str2(attrs, attrDBSystemName, attrDBSystem)
		if system != "" && !has(attrs, attrDBSystem) {
			dst = appendStringMember(dst, attrDBSystem, system, counts)
		}
	}
	if kinds&(cacheData|dbData) != 0 {
		dst = appendCacheData(dst, attrs, system, counts)
	}
	if kinds&queueData != 0 && (str(attrs, attrMessagingSystem) != "" || str2(attrs, attrMessagingOperationType, attrMessagingOperation) != "") {
		dst = appendQueueData(dst, span, producerStart, counts)
	}
	return dst
}

// dataKinds records which Insights modules' attributes a span carries.
type dataKinds uint8

const (
	httpData dataKinds = 1 << iota
	dbData
	cacheData
	queueData
)

func appendHTTPData(dst []byte, attrs pcommon.Map, counts *sanitize.Counts) []byte {
	if !has(attrs, attrServerAddress) {
		if host := httpServerAddress(attrs); host != "" {
			dst = appendStringMember(dst, attrServerAddress, host, counts)
		}
	}
	if !has(attrs, attrHTTPResponseStatusCode) {
		if c, ok := httpCode(attrs); ok {
			dst = appendIntMember(dst, attrHTTPResponseStatusCode, c)
		}
	}
	return dst
}

// httpServerAddress is the host an HTTP span talked to, from the legacy keys: net.peer.name, else the host of
// the full URL, else the Host header without its port.
func httpServerAddress(attrs pcommon.Map) string {
	if h := str(attrs, attrNetPeerName); h != "" {
		return h
	}
	if u := str2(attrs, attrURLFull, attrHTTPURL); u != "" {
		if h := urlHost(u); h != "" {
			return h
		}
	}
	return hostWithoutPort(str(attrs, attrHTTPHost))
}

// urlHost is the host of an absolute URL, without userinfo, port or IPv6 brackets; "" for a relative one.
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return hostWithoutPort(rest)
}

// hostWithoutPort strips a port and IPv6 brackets from host[:port].
func hostWithoutPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			return h[1:end]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h[:i], ':') < 0 {
		return h[:i]
	}
	return h
}

func appendCacheData(dst []byte, attrs pcommon.Map, system string, counts *sanitize.Counts) []byte {
	if v, ok := attrs.Get(attrCacheHit); ok {
		dst = appendKey(dst, attrCacheHit)
		if hit, ok := boolean(v); ok {
			dst = strconv.AppendBool(dst, hit)
		} else {
			dst = eventjson.AppendValue(dst, v, counts)
		}
	}
	if v, ok := attrs.Get(attrCacheItemSize); ok {
		dst = appendKey(dst, attrCacheItemSize)
		if n, ok := integer(attrs, attrCacheItemSize); ok {
			dst = strconv.AppendInt(dst, n, 10)
		} else {
			dst = eventjson.AppendValue(dst, v, counts)
		}
	}
	if v, ok := attrs.Get(attrCacheKey); ok {
		dst = appendKey(dst, attrCacheKey)
		if v.Type() == pcommon.ValueTypeStr {
			dst = append(dst, '[')
			dst = eventjson.AppendValue(dst, v, counts)
			dst = append(dst, ']')
		} else {
			dst = eventjson.AppendValue(dst, v, counts)
		}
	} else if c, ok := parseCacheCall(system, attrs); ok && c.args != "" {
		dst = appendKey(dst, attrCacheKey)
		dst = append(dst, '[')
		n := 0
		c.keys(func(k string) {
			if n >= sanitize.MaxArrayItems {
				return
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = jsonwrite.AppendString(dst, sanitize.String(k, sanitize.MaxStringBytes, counts))
		})
		dst = append(dst, ']')
	}
	return dst
}

// boolean reads a boolean that some instrumentations send as a string ("true", "False") or a 0/1 integer.
func boolean(v pcommon.Value) (bool, bool) {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool(), true
	case pcommon.ValueTypeStr:
		switch {
		case strings.EqualFold(v.Str(), "true"):
			return true, true
		case strings.EqualFold(v.Str(), "false"):
			return false, true
		}
	case pcommon.ValueTypeInt:
		switch v.Int() {
		case 0:
			return false, true
		case 1:
			return true, true
		}
	}
	return false, false
}

func appendQueueData(dst []byte, span ptrace.Span, producerStart pcommon.Timestamp, counts *sanitize.Counts) []byte {
	attrs := span.Attributes()
	if !has(attrs, attrMessagingDestinationName) {
		if d := str(attrs, attrMessagingDestination); d != "" {
			dst = appendStringMember(dst, attrMessagingDestinationName, d, counts)
		}
	}
	if !has(attrs, attrMessagingMessageID) {
		if id := str(attrs, attrMessagingMessageIDLegacy); id != "" {
			dst = appendStringMember(dst, attrMessagingMessageID, id, counts)
		}
	}
	if !has(attrs, attrMessagingMessageBodySize) {
		n, ok := integer(attrs, attrMessagingMessagePayloadSize)
		if !ok {
			n, ok = integer(attrs, attrMessagingMessagePayloadSizeLegacy)
		}
		if ok && n >= 0 {
			dst = appendIntMember(dst, attrMessagingMessageBodySize, n)
		}
	}
	if !has(attrs, attrMessagingMessageRetryCount) {
		// Both count the delivery itself: the first delivery is attempt 1, retry 0.
		n, ok := integer(attrs, attrMessagingServiceBusDeliveryCount)
		if !ok {
			n, ok = integer(attrs, attrMessagingPubSubDeliveryAttempt)
		}
		if ok && n >= 1 {
			dst = appendIntMember(dst, attrMessagingMessageRetryCount, n-1)
		}
	}
	if !has(attrs, attrMessagingMessageReceiveLatency) && IsMessageConsumer(span.Kind(), attrs) {
		if ms, ok := receiveLatency(span, producerStart); ok {
			dst = appendIntMember(dst, attrMessagingMessageReceiveLatency, ms)
		}
	}
	return dst
}

// receiveLatency is how long the message waited, in milliseconds, from when it was enqueued (or, without an
// enqueue time, from when its producer's span started) until the consumer's span started. A negative latency
// means the clocks of two hosts disagree: it is no latency, so none is reported.
func receiveLatency(span ptrace.Span, producerStart pcommon.Timestamp) (int64, bool) {
	startMs := int64(span.StartTimestamp() / 1e6)
	enqueuedMs, ok := integer(span.Attributes(), attrMessagingEventHubsEnqueuedTime)
	for i := 0; !ok && i < span.Links().Len(); i++ {
		enqueuedMs, ok = integer(span.Links().At(i).Attributes(), attrLinkEnqueuedTime)
	}
	if !ok {
		if producerStart == 0 {
			return 0, false
		}
		enqueuedMs = int64(producerStart / 1e6)
	}
	if enqueuedMs <= 0 || startMs < enqueuedMs {
		return 0, false
	}
	return startMs - enqueuedMs, true
}

// has reports whether the attribute is present, whatever its value.
func has(attrs pcommon.Map, key string) bool {
	_, ok := attrs.Get(key)
	return ok
}

func appendKey(dst []byte, key string) []byte {
	dst = append(dst, ',')
	dst = jsonwrite.AppendString(dst, key)
	return append(dst, ':')
}

func appendStringMember(dst []byte, key, value string, counts *sanitize.Counts) []byte {
	dst = appendKey(dst, key)
	return jsonwrite.AppendString(dst, sanitize.String(value, sanitize.MaxStringBytes, counts))
}

func appendIntMember(dst []byte, key string, n int64) []byte {
	dst = appendKey(dst, key)
	return strconv.AppendInt(dst, n, 10)
}
