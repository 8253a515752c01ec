package semconv

// IsTagKey reports whether a span attribute becomes a Sentry tag. Sentry indexes tags for search and facets, so
// only low-cardinality keys qualify: methods, status codes, routes and the systems, operations and models a span
// talks to, in current and legacy spellings. URLs, queries, ids and user data stay in span data. A switch keeps
// the lookup allocation-free and the set immutable.
func IsTagKey(key string) bool {
	switch key {
	case attrHTTPRequestMethod, attrHTTPMethod,
		attrHTTPResponseStatusCode, attrHTTPStatusCode,
		attrHTTPRoute,
		attrURLScheme, attrHTTPScheme,
		attrRPCSystemName, attrRPCSystem,
		attrRPCService,
		attrRPCResponseStatus, attrRPCGRPCStatusCode,
		attrDBSystemName, attrDBSystem,
		attrDBOperationName, attrDBOperation,
		attrMessagingSystem,
		attrMessagingOperationType, attrMessagingOperation,
		attrFaaSTrigger, attrFaaSInvokedProvider,
		attrCacheHit,
		attrGenAIOperationName, attrGenAIRequestModel,
		attrGenAIProviderName, attrGenAISystem,
		attrErrorType:
		return true
	}
	return false
}

// TagKeys returns the attribute keys IsTagKey accepts, sorted. It returns a new slice on every call so that no
// caller can change the set for another; it is meant for documentation and tests, not the hot path.
func TagKeys() []string {
	return []string{
		attrCacheHit,
		attrDBOperation,
		attrDBOperationName,
		attrDBSystem,
		attrDBSystemName,
		attrErrorType,
		attrFaaSInvokedProvider,
		attrFaaSTrigger,
		attrGenAIOperationName,
		attrGenAIProviderName,
		attrGenAIRequestModel,
		attrGenAISystem,
		attrHTTPMethod,
		attrHTTPRequestMethod,
		attrHTTPResponseStatusCode,
		attrHTTPRoute,
		attrHTTPScheme,
		attrHTTPStatusCode,
		attrMessagingOperation,
		attrMessagingOperationType,
		attrMessagingSystem,
		attrRPCGRPCStatusCode,
		attrRPCResponseStatus,
		attrRPCService,
		attrRPCSystem,
		attrRPCSystemName,
		attrURLScheme,
	}
}
