package semconv

import (
	"strings"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Status maps a span's OpenTelemetry status (code and message), together with its gRPC and HTTP status codes, to
// Sentry's span status.
//
// Codes are read from rpc.response.status_code or rpc.grpc.status_code (gRPC code number, numeric string or code
// name) and from http.response.status_code or http.status_code (int or numeric string); when both a gRPC and an
// HTTP code are present the first that is not a success decides. Then:
//   - Unset: the code's status, or ok without a code. An HTTP 5xx on an Unset span is therefore internal_error
//     and not ok: instrumentations leave client-side failures and many server errors Unset.
//   - Ok: ok. OpenTelemetry makes Ok final (set by code that decided the operation succeeded, whatever its
//     code), and Sentry's SDK reads it so.
//   - Error: the message when it is the name of a Sentry span status other than ok ("deadline_exceeded",
//     "not_found", ...), as Sentry's OpenTelemetry SDK reads it: code that knows Sentry's statuses says so
//     there. Else the code's status when it is not a success, else internal_error. Sentry's SDKs write
//     "unknown_error" when nothing is known, which Sentry's failure rate does not count; an explicit Error is a
//     failure.
func Status(code ptrace.StatusCode, message string, attrs pcommon.Map) sentry.SpanStatus {
	switch code {
	case ptrace.StatusCodeOk:
		return sentry.SpanStatusOK
	case ptrace.StatusCodeError:
		if st, named := statusByMessage(message); named {
			return st
		}
		if fromCode, ok := statusFromCodes(attrs); ok && fromCode != sentry.SpanStatusOK {
			return fromCode
		}
		return sentry.SpanStatusInternalError
	}
	fromCode, ok := statusFromCodes(attrs)
	if ok {
		return fromCode
	}
	return sentry.SpanStatusOK
}

// statusByMessage reads an Error status message that is a Sentry span status name. Sentry's SDKs spell the
// unknown status "unknown_error" and write it on the wire; "unknown" is its name in Sentry's protocol. Both are
// accepted. "ok" is not: an Error status is never ok. Names are matched exactly (lower case), as Sentry's SDK
// does, so free-text messages that merely start with a status word are left alone.
func statusByMessage(message string) (sentry.SpanStatus, bool) {
	switch message {
	case "":
		return 0, false
	case "cancelled":
		return sentry.SpanStatusCanceled, true
	case "unknown", "unknown_error":
		return sentry.SpanStatusUnknown, true
	case "invalid_argument":
		return sentry.SpanStatusInvalidArgument, true
	case "deadline_exceeded":
		return sentry.SpanStatusDeadlineExceeded, true
	case "not_found":
		return sentry.SpanStatusNotFound, true
	case "already_exists":
		return sentry.SpanStatusAlreadyExists, true
	case "permission_denied":
		return sentry.SpanStatusPermissionDenied, true
	case "resource_exhausted":
		return sentry.SpanStatusResourceExhausted, true
	case "failed_precondition":
		return sentry.SpanStatusFailedPrecondition, true
	case "aborted":
		return sentry.SpanStatusAborted, true
	case "out_of_range":
		return sentry.SpanStatusOutOfRange, true
	case "unimplemented":
		return sentry.SpanStatusUnimplemented, true
	case "internal_error":
		return sentry.SpanStatusInternalError, true
	case "unavailable":
		return sentry.SpanStatusUnavailable, true
	case "data_loss":
		return sentry.SpanStatusDataLoss, true
	case "unauthenticated":
		return sentry.SpanStatusUnauthenticated, true
	}
	return 0, false
}

// statusFromCodes returns the status the span's gRPC or HTTP code stands for: the gRPC code's if it is not OK,
// else the HTTP code's, else OK when either code was present. The bool is false without any usable code.
func statusFromCodes(attrs pcommon.Map) (sentry.SpanStatus, bool) {
	grpcStatus, hasGRPC := grpcCode(attrs)
	if hasGRPC && grpcStatus != sentry.SpanStatusOK {
		return grpcStatus, true
	}
	if c, ok := httpCode(attrs); ok {
		return HTTPStatus(c), true
	}
	return grpcStatus, hasGRPC
}

// httpCode reads the HTTP response status code; values outside 100..599 are not HTTP statuses and are ignored.
func httpCode(attrs pcommon.Map) (int64, bool) {
	c, ok := integer(attrs, attrHTTPResponseStatusCode)
	if !ok {
		c, ok = integer(attrs, attrHTTPStatusCode)
	}
	if !ok || c < 100 || c > 599 {
		return 0, false
	}
	return c, true
}

// grpcCode reads the gRPC status from rpc.response.status_code (current conventions: the code's name, such as
// "DEADLINE_EXCEEDED", or Connect's lower-case name) or from the legacy rpc.grpc.status_code (the number).
// Either key accepts a number, a numeric string or a name. Numbers in rpc.response.status_code are only read as
// gRPC codes when the RPC system is gRPC, Connect or not given: JSON-RPC and Dubbo put their own numbers there.
func grpcCode(attrs pcommon.Map) (sentry.SpanStatus, bool) {
	if v, ok := attrs.Get(attrRPCResponseStatus); ok {
		numeric := true
		switch str2(attrs, attrRPCSystemName, attrRPCSystem) {
		case "", "grpc", "connectrpc", "connect_rpc":
		default:
			numeric = false
		}
		if st, ok := grpcValue(v, numeric); ok {
			return st, true
		}
	}
	if v, ok := attrs.Get(attrRPCGRPCStatusCode); ok {
		return grpcValue(v, true)
	}
	return 0, false
}

// grpcValue reads one gRPC status attribute value: an int, a numeric string (when numeric is true) or a name.
func grpcValue(v pcommon.Value, numeric bool) (sentry.SpanStatus, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if numeric {
			return GRPCStatus(v.Int())
		}
	case pcommon.ValueTypeStr:
		s := v.Str()
		if n, ok := parseInt(s); ok {
			if numeric {
				return GRPCStatus(n)
			}
			return 0, false
		}
		return grpcStatusByName(strings.TrimSpace(s))
	}
	return 0, false
}

// GRPCStatus maps a gRPC status code (0..16) to Sentry's span status, whose names are gRPC's; the bool is false
// for other numbers. It is exported for callers that hold a gRPC code outside span attributes.
func GRPCStatus(code int64) (sentry.SpanStatus, bool) {
	switch code {
	case 0:
		return sentry.SpanStatusOK, true
	case 1:
		return sentry.SpanStatusCanceled, true
	case 2:
		return sentry.SpanStatusUnknown, true
	case 3:
		return sentry.SpanStatusInvalidArgument, true
	case 4:
		return sentry.SpanStatusDeadlineExceeded, true
	case 5:
		return sentry.SpanStatusNotFound, true
	case 6:
		return sentry.SpanStatusAlreadyExists, true
	case 7:
		return sentry.SpanStatusPermissionDenied, true
	case 8:
		return sentry.SpanStatusResourceExhausted, true
	case 9:
		return sentry.SpanStatusFailedPrecondition, true
	case 10:
		return sentry.SpanStatusAborted, true
	case 11:
		return sentry.SpanStatusOutOfRange, true
	case 12:
		return sentry.SpanStatusUnimplemented, true
	case 13:
		return sentry.SpanStatusInternalError, true
	case 14:
		return sentry.SpanStatusUnavailable, true
	case 15:
		return sentry.SpanStatusDataLoss, true
	case 16:
		return sentry.SpanStatusUnauthenticated, true
	}
	return 0, false
}

// grpcStatusByName maps a gRPC code name to Sentry's span status. OpenTelemetry writes gRPC's upper-case names
// ("DEADLINE_EXCEEDED"); Connect writes lower-case ones and spells CANCELLED "canceled". Both are accepted.
func grpcStatusByName(name string) (sentry.SpanStatus, bool) {
	switch name {
	case "OK", "ok":
		return GRPCStatus(0)
	case "CANCELLED", "cancelled", "CANCELED", "canceled":
		return GRPCStatus(1)
	case "UNKNOWN", "unknown":
		return GRPCStatus(2)
	case "INVALID_ARGUMENT", "invalid_argument":
		return GRPCStatus(3)
	case "DEADLINE_EXCEEDED", "deadline_exceeded":
		return GRPCStatus(4)
	case "NOT_FOUND", "not_found":
		return GRPCStatus(5)
	case "ALREADY_EXISTS", "already_exists":
		return GRPCStatus(6)
	case "PERMISSION_DENIED", "permission_denied":
		return GRPCStatus(7)
	case "RESOURCE_EXHAUSTED", "resource_exhausted":
		return GRPCStatus(8)
	case "FAILED_PRECONDITION", "failed_precondition":
		return GRPCStatus(9)
	case "ABORTED", "aborted":
		return GRPCStatus(10)
	case "OUT_OF_RANGE", "out_of_range":
		return GRPCStatus(11)
	case "UNIMPLEMENTED", "unimplemented":
		return GRPCStatus(12)
	case "INTERNAL", "internal":
		return GRPCStatus(13)
	case "UNAVAILABLE", "unavailable":
		return GRPCStatus(14)
	case "DATA_LOSS", "data_loss":
		return GRPCStatus(15)
	case "UNAUTHENTICATED", "unauthenticated":
		return GRPCStatus(16)
	}
	return 0, false
}

// HTTPStatus maps an HTTP response status code to Sentry's span status, as Sentry's SDKs do and as the status
// descriptions of Sentry's protocol (Relay's SpanStatus) name them: codes below 400 are ok; 401
// unauthenticated, 403 permission_denied, 404 not_found, 409 already_exists, 413 failed_precondition, 429
// resource_exhausted, 499 cancelled, any other 4xx invalid_argument; 501 unimplemented, 503 unavailable, 504
// deadline_exceeded, any other 5xx internal_error. Codes of 600 and above are unknown.
func HTTPStatus(code int64) sentry.SpanStatus {
	switch {
	case code < 400:
		return sentry.SpanStatusOK
	case code >= 600:
		return sentry.SpanStatusUnknown
	}
	switch code {
	case 413:
		return sentry.SpanStatusFailedPrecondition
	case 401:
		return sentry.SpanStatusUnauthenticated
	case 403:
		return sentry.SpanStatusPermissionDenied
	case 404:
		return sentry.SpanStatusNotFound
	case 409:
		return sentry.SpanStatusAlreadyExists
	case 429:
		return sentry.SpanStatusResourceExhausted
	case 499:
		return sentry.SpanStatusCanceled
	case 501:
		return sentry.SpanStatusUnimplemented
	case 503:
		return sentry.SpanStatusUnavailable
	case 504:
		return sentry.SpanStatusDeadlineExceeded
	}
	if code < 500 {
		return sentry.SpanStatusInvalidArgument
	}
	return sentry.SpanStatusInternalError
}
