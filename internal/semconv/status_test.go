package semconv

import (
	"strconv"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	unset   = ptrace.StatusCodeUnset
	okCode  = ptrace.StatusCodeOk
	errCode = ptrace.StatusCodeError
)

func TestHTTPStatusTable(t *testing.T) {
	t.Parallel()
	want := map[int64]sentry.SpanStatus{
		100: sentry.SpanStatusOK, 101: sentry.SpanStatusOK, 103: sentry.SpanStatusOK,
		200: sentry.SpanStatusOK, 201: sentry.SpanStatusOK, 204: sentry.SpanStatusOK, 299: sentry.SpanStatusOK,
		300: sentry.SpanStatusOK, 301: sentry.SpanStatusOK, 304: sentry.SpanStatusOK, 399: sentry.SpanStatusOK,
		400: sentry.SpanStatusInvalidArgument,
		401: sentry.SpanStatusUnauthenticated,
		402: sentry.SpanStatusInvalidArgument,
		403: sentry.SpanStatusPermissionDenied,
		404: sentry.SpanStatusNotFound,
		405: sentry.SpanStatusInvalidArgument,
		406: sentry.SpanStatusInvalidArgument,
		407: sentry.SpanStatusInvalidArgument,
		408: sentry.SpanStatusInvalidArgument,
		409: sentry.SpanStatusAlreadyExists,
		410: sentry.SpanStatusInvalidArgument,
		411: sentry.SpanStatusInvalidArgument,
		412: sentry.SpanStatusInvalidArgument,
		413: sentry.SpanStatusFailedPrecondition,
		414: sentry.SpanStatusInvalidArgument,
		415: sentry.SpanStatusInvalidArgument,
		416: sentry.SpanStatusInvalidArgument,
		417: sentry.SpanStatusInvalidArgument,
		418: sentry.SpanStatusInvalidArgument,
		422: sentry.SpanStatusInvalidArgument,
		429: sentry.SpanStatusResourceExhausted,
		451: sentry.SpanStatusInvalidArgument,
		499: sentry.SpanStatusCanceled,
		500: sentry.SpanStatusInternalError,
		501: sentry.SpanStatusUnimplemented,
		502: sentry.SpanStatusInternalError,
		503: sentry.SpanStatusUnavailable,
		504: sentry.SpanStatusDeadlineExceeded,
		505: sentry.SpanStatusInternalError,
		599: sentry.SpanStatusInternalError,
		600: sentry.SpanStatusUnknown,
	}
	for code, st := range want {
		assert.Equal(t, st, HTTPStatus(code), "HTTP %d", code)
	}
}

func TestGRPCStatusTable(t *testing.T) {
	t.Parallel()
	want := []struct {
		name   string
		status sentry.SpanStatus
	}{
		{"OK", sentry.SpanStatusOK},
		{"CANCELLED", sentry.SpanStatusCanceled},
		{"UNKNOWN", sentry.SpanStatusUnknown},
		{"INVALID_ARGUMENT", sentry.SpanStatusInvalidArgument},
		{"DEADLINE_EXCEEDED", sentry.SpanStatusDeadlineExceeded},
		{"NOT_FOUND", sentry.SpanStatusNotFound},
		{"ALREADY_EXISTS", sentry.SpanStatusAlreadyExists},
		{"PERMISSION_DENIED", sentry.SpanStatusPermissionDenied},
		{"RESOURCE_EXHAUSTED", sentry.SpanStatusResourceExhausted},
		{"FAILED_PRECONDITION", sentry.SpanStatusFailedPrecondition},
		{"ABORTED", sentry.SpanStatusAborted},
		{"OUT_OF_RANGE", sentry.SpanStatusOutOfRange},
		{"UNIMPLEMENTED", sentry.SpanStatusUnimplemented},
		{"INTERNAL", sentry.SpanStatusInternalError},
		{"UNAVAILABLE", sentry.SpanStatusUnavailable},
		{"DATA_LOSS", sentry.SpanStatusDataLoss},
		{"UNAUTHENTICATED", sentry.SpanStatusUnauthenticated},
	}
	for code, w := range want {
		c := int64(code)
		st, ok := GRPCStatus(c)
		assert.True(t, ok)
		assert.Equal(t, w.status, st, "gRPC %d", code)

		// Every spelling of every code, on every key, on an Unset span.
		inputs := []map[string]any{
			{"rpc.grpc.status_code": c},
			{"rpc.grpc.status_code": strconv.Itoa(code)},
			{"rpc.grpc.status_code": w.name},
			{"rpc.response.status_code": w.name},
			{"rpc.response.status_code": lower(w.name)},
			{"rpc.response.status_code": strconv.Itoa(code)},
			{"rpc.response.status_code": c},
			{"rpc.response.status_code": w.name, "rpc.system.name": "grpc"},
			{"rpc.response.status_code": strconv.Itoa(code), "rpc.system.name": "grpc"},
			{"rpc.response.status_code": lower(w.name), "rpc.system.name": "connectrpc"},
		}
		for _, in := range inputs {
			assert.Equal(t, w.status, Status(unset, "", attrsOf(t, in)), "%v", in)
		}
	}
	for _, bad := range []int64{-1, 17, 100} {
		_, ok := GRPCStatus(bad)
		assert.False(t, ok, bad)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		code  ptrace.StatusCode
		attrs map[string]any
		want  sentry.SpanStatus
	}{
		// No codes.
		{"unset without codes", unset, nil, sentry.SpanStatusOK},
		{"ok without codes", okCode, nil, sentry.SpanStatusOK},
		{"error without codes", errCode, nil, sentry.SpanStatusInternalError},
		{"unknown otel code treated as unset", ptrace.StatusCode(9), nil, sentry.SpanStatusOK},

		// HTTP on Unset spans.
		{"unset 200", unset, map[string]any{"http.response.status_code": 200}, sentry.SpanStatusOK},
		{"unset 101", unset, map[string]any{"http.response.status_code": 101}, sentry.SpanStatusOK},
		{"unset 302", unset, map[string]any{"http.response.status_code": 302}, sentry.SpanStatusOK},
		{"unset 404", unset, map[string]any{"http.response.status_code": 404}, sentry.SpanStatusNotFound},
		{"unset 500 is not ok", unset, map[string]any{"http.response.status_code": 500}, sentry.SpanStatusInternalError},
		{"unset 503 legacy key", unset, map[string]any{"http.status_code": 503}, sentry.SpanStatusUnavailable},
		{"unset 504 as string", unset, map[string]any{"http.response.status_code": "504"}, sentry.SpanStatusDeadlineExceeded},
		{"unset 429 as padded string", unset, map[string]any{"http.status_code": " 429 "}, sentry.SpanStatusResourceExhausted},
		{"unset 502 as double", unset, map[string]any{"http.response.status_code": 502.0}, sentry.SpanStatusInternalError},
		{"fractional double ignored", unset, map[string]any{"http.response.status_code": 502.5}, sentry.SpanStatusOK},
		{"non-numeric string ignored", unset, map[string]any{"http.response.status_code": "five hundred"}, sentry.SpanStatusOK},
		{"empty string ignored", unset, map[string]any{"http.response.status_code": ""}, sentry.SpanStatusOK},
		{"bool ignored", unset, map[string]any{"http.response.status_code": true}, sentry.SpanStatusOK},
		{"out of range code ignored", unset, map[string]any{"http.response.status_code": 42}, sentry.SpanStatusOK},
		{"huge code ignored", unset, map[string]any{"http.response.status_code": "99999999999999999999"}, sentry.SpanStatusOK},
		{"negative code ignored", unset, map[string]any{"http.response.status_code": -500}, sentry.SpanStatusOK},
		{"current key wins over legacy", unset, map[string]any{"http.response.status_code": 200, "http.status_code": 500}, sentry.SpanStatusOK},
		{"invalid current key falls back to legacy", unset, map[string]any{"http.response.status_code": "x", "http.status_code": 500}, sentry.SpanStatusInternalError},

		// HTTP on Ok spans: Ok is final, as OpenTelemetry specifies and Sentry's SDK reads it.
		{"ok 200", okCode, map[string]any{"http.response.status_code": 200}, sentry.SpanStatusOK},
		{"ok 500", okCode, map[string]any{"http.response.status_code": 500}, sentry.SpanStatusOK},
		{"ok 404", okCode, map[string]any{"http.response.status_code": 404}, sentry.SpanStatusOK},

		// HTTP on Error spans.
		{"error 200", errCode, map[string]any{"http.response.status_code": 200}, sentry.SpanStatusInternalError},
		{"error 301", errCode, map[string]any{"http.response.status_code": 301}, sentry.SpanStatusInternalError},
		{"error 401", errCode, map[string]any{"http.response.status_code": 401}, sentry.SpanStatusUnauthenticated},
		{"error 499", errCode, map[string]any{"http.status_code": "499"}, sentry.SpanStatusCanceled},
		{"error 501", errCode, map[string]any{"http.response.status_code": 501}, sentry.SpanStatusUnimplemented},

		// gRPC combinations.
		{"error grpc 0", errCode, map[string]any{"rpc.grpc.status_code": 0}, sentry.SpanStatusInternalError},
		{"error grpc 4", errCode, map[string]any{"rpc.grpc.status_code": 4}, sentry.SpanStatusDeadlineExceeded},
		{"ok grpc 14", okCode, map[string]any{"rpc.grpc.status_code": 14}, sentry.SpanStatusOK},
		{"ok grpc 0", okCode, map[string]any{"rpc.grpc.status_code": 0}, sentry.SpanStatusOK},
		{"grpc error wins over http 200", unset, map[string]any{"rpc.grpc.status_code": 5, "http.response.status_code": 200}, sentry.SpanStatusNotFound},
		{"http error wins over grpc ok", unset, map[string]any{"rpc.grpc.status_code": 0, "http.response.status_code": 503}, sentry.SpanStatusUnavailable},
		{"grpc error wins over http error", unset, map[string]any{"rpc.grpc.status_code": 16, "http.response.status_code": 500}, sentry.SpanStatusUnauthenticated},
		{"current rpc key wins over legacy", unset, map[string]any{"rpc.response.status_code": "OK", "rpc.grpc.status_code": 13}, sentry.SpanStatusOK},
		{"unrecognised current rpc value falls back to legacy", unset, map[string]any{"rpc.response.status_code": "WEIRD", "rpc.grpc.status_code": 13}, sentry.SpanStatusInternalError},
		{"connect canceled spelling", unset, map[string]any{"rpc.response.status_code": "canceled"}, sentry.SpanStatusCanceled},
		{"grpc code out of range ignored", unset, map[string]any{"rpc.grpc.status_code": 17}, sentry.SpanStatusOK},
		{"grpc code double ignored", unset, map[string]any{"rpc.grpc.status_code": 4.0}, sentry.SpanStatusOK},
		{"jsonrpc numbers are not grpc codes", errCode, map[string]any{"rpc.system.name": "jsonrpc", "rpc.response.status_code": "4"}, sentry.SpanStatusInternalError},
		{"jsonrpc negative code", unset, map[string]any{"rpc.system.name": "jsonrpc", "rpc.response.status_code": "-32602"}, sentry.SpanStatusOK},
		{"dubbo int codes are not grpc codes", unset, map[string]any{"rpc.system.name": "dubbo", "rpc.response.status_code": 5}, sentry.SpanStatusOK},
		{"dubbo names are read", unset, map[string]any{"rpc.system": "apache_dubbo", "rpc.response.status_code": "UNAVAILABLE"}, sentry.SpanStatusUnavailable},
		{"mixed case name ignored", unset, map[string]any{"rpc.response.status_code": "Not_Found"}, sentry.SpanStatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, Status(tc.code, "", attrsOf(t, tc.attrs)))
		})
	}
}

func TestParseInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"200", 200, true}, {" 404", 404, true}, {"503 ", 503, true}, {"+7", 7, true},
		{"-32602", -32602, true}, {"999999999999999999", 999999999999999999, true},
		{"", 0, false}, {" ", 0, false}, {"-", 0, false}, {"1e3", 0, false}, {"12a", 0, false},
		{"0x10", 0, false}, {"1234567890123456789", 0, false}, {"2 00", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseInt(tc.in)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

// TestStatusFromErrorMessage: an Error status whose message names a Sentry span status gets that status, as
// Sentry's OpenTelemetry SDK reads it; other messages and other status codes leave the message unread.
func TestStatusFromErrorMessage(t *testing.T) {
	t.Parallel()
	errCode, okCode, unset := ptrace.StatusCodeError, ptrace.StatusCodeOk, ptrace.StatusCodeUnset
	tests := []struct {
		name    string
		code    ptrace.StatusCode
		message string
		attrs   map[string]any
		want    sentry.SpanStatus
	}{
		{"deadline_exceeded", errCode, "deadline_exceeded", nil, sentry.SpanStatusDeadlineExceeded},
		{"not_found", errCode, "not_found", nil, sentry.SpanStatusNotFound},
		{"resource_exhausted", errCode, "resource_exhausted", nil, sentry.SpanStatusResourceExhausted},
		{"unavailable", errCode, "unavailable", nil, sentry.SpanStatusUnavailable},
		{"cancelled", errCode, "cancelled", nil, sentry.SpanStatusCanceled},
		{"SDK spelling of unknown", errCode, "unknown_error", nil, sentry.SpanStatusUnknown},
		{"protocol spelling of unknown", errCode, "unknown", nil, sentry.SpanStatusUnknown},
		{"the message wins over a code, as in Sentry's SDK", errCode, "deadline_exceeded",
			map[string]any{"http.response.status_code": 500}, sentry.SpanStatusDeadlineExceeded},
		{"free text falls back to the code", errCode, "upstream timed out",
			map[string]any{"http.response.status_code": 504}, sentry.SpanStatusDeadlineExceeded},
		{"free text without a code", errCode, "connection refused", nil, sentry.SpanStatusInternalError},
		{"ok is never the status of an Error", errCode, "ok", nil, sentry.SpanStatusInternalError},
		{"names match exactly", errCode, "Not_Found", nil, sentry.SpanStatusInternalError},
		{"grpc upper-case names are not Sentry names", errCode, "NOT_FOUND", nil, sentry.SpanStatusInternalError},
		{"message of an Ok span is not read", okCode, "not_found", nil, sentry.SpanStatusOK},
		{"message of an Unset span is not read", unset, "not_found", nil, sentry.SpanStatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, Status(tc.code, tc.message, attrsOf(t, tc.attrs)))
		})
	}
}
