package sentryexporter

import (
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// FuzzTransform runs the whole path from OTLP protobuf bytes: unmarshal, transform, encode. It
// asserts that nothing panics, every event encodes to JSON that parses, every transaction passes
// Relay's rules, and every input span appears in exactly one transaction.
func FuzzTransform(f *testing.F) {
	for seed := int64(1); seed <= 3; seed++ {
		f.Add(workload.MarshalOTLP(workload.Small(seed)))
	}
	b := newTraceBuilder()
	b.span("svc", "a", "a1", "a2", ptrace.SpanKindInternal, "", 5, 1)
	b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "x", 0, 0)
	b.span("svc", "", "", "", ptrace.SpanKindServer, "zero ids", 1, 2)
	f.Add(workload.MarshalOTLP(b.td))
	f.Add([]byte{})

	opts := testOptions
	opts.Now = pcommon.NewTimestampFromTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	unmarshaler := &ptrace.ProtoUnmarshaler{}
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := unmarshaler.UnmarshalTraces(data)
		if err != nil {
			return
		}
		events, repairs := transform.Traces(td, opts)
		spans := 0
		var enc eventjson.Encoder
		for i, ev := range events {
			payload := transform.Encode(&enc, nil, &events[i], &repairs)
			if !json.Valid(payload) {
				t.Fatalf("invalid JSON: %s", payload)
			}
			if ev.Category != ratelimit.CategoryTransaction {
				continue
			}
			if err := sentrytest.ValidateTransaction(payload); err != nil {
				t.Fatalf("Relay would discard the transaction: %v\n%s", err, payload)
			}
			spans += 1 + len(ev.Sentry.Spans)
		}
		if spans != td.SpanCount() {
			t.Fatalf("%d spans in, %d spans in transactions", td.SpanCount(), spans)
		}
	})
}
