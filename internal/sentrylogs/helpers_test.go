package sentrylogs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// sentPayload is a batch payload as Sentry reads it.
type sentPayload struct {
	Version        int               `json:"version"`
	IngestSettings map[string]string `json:"ingest_settings"`
	Items          []sentLog         `json:"items"`
}

type sentLog struct {
	Timestamp      json.Number              `json:"timestamp"`
	TraceID        string                   `json:"trace_id"`
	SpanID         string                   `json:"span_id"`
	Level          string                   `json:"level"`
	SeverityNumber *int                     `json:"severity_number"`
	Body           *string                  `json:"body"`
	Attributes     map[string]sentAttribute `json:"attributes"`
}

type sentAttribute struct {
	Value any    `json:"value"`
	Type  string `json:"type"`
}

var (
	hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// decodePayload parses a payload with encoding/json, strictly: the payload must be valid JSON with only the
// fields Sentry's log item defines.
func decodePayload(t testing.TB, payload []byte) sentPayload {
	t.Helper()
	require.True(t, json.Valid(payload), "payload is not valid JSON: %.300s", payload)
	var p sentPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	return p
}

// logsOf builds a plog.Logs with one resource and one scope holding n records made by fill.
func logsOf(resource map[string]any, scope string, n int, fill func(i int, lr plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	addResource(ld, resource, scope, n, fill)
	return ld
}

func addResource(ld plog.Logs, resource map[string]any, scope string, n int, fill func(i int, lr plog.LogRecord)) plog.ScopeLogs {
	rl := ld.ResourceLogs().AppendEmpty()
	putSorted(rl.Resource().Attributes(), resource)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scope)
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)*1_000_000))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr("record")
		if fill != nil {
			fill(i, lr)
		}
	}
	return sl
}

func traceIDOf(s string) pcommon.TraceID {
	var id pcommon.TraceID
	copy(id[:], decodeHex(s))
	return id
}

func spanIDOf(s string) pcommon.SpanID {
	var id pcommon.SpanID
	copy(id[:], decodeHex(s))
	return id
}

func decodeHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// putSorted puts raw into m in key order, so that fixtures built from Go maps encode deterministically.
func putSorted(m pcommon.Map, raw map[string]any) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if nested, ok := raw[k].(map[string]any); ok {
			putSorted(m.PutEmptyMap(k), nested)
			continue
		}
		if err := m.PutEmpty(k).FromRaw(raw[k]); err != nil {
			panic(err)
		}
	}
}
