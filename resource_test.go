package sentryexporter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sentrylogs"
	"github.com/otelsentry/sentryexporter/internal/transform"
)

// sentFields are the resource-level fields of one event or log as Sentry reads them from the JSON sent.
type sentFields struct {
	Release, Environment, Platform, SDKName, SDKVersion string
}

// TestTransactionErrorAndLogOfOneResourceAgree sends a transaction, an error event and a log from the same
// resource and checks that Sentry would file all three under the same release and environment, with the same
// sdk (and, for the two events, platform), so its release and environment filters find them together. The
// two resources that made the old copies of the mapping disagree are among the cases.
func TestTransactionErrorAndLogOfOneResourceAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		resource map[string]any
		want     sentFields
	}{
		{
			name: "a slash in service.version and in the environment",
			resource: map[string]any{
				"service.name": "checkout", "service.version": "feature/x-1.2", "deployment.environment.name": "prod/eu",
				"telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "java", "telemetry.sdk.version": "1.46.0",
			},
			want: sentFields{"checkout@feature-x-1.2", "prod-eu", "java", "opentelemetry.java", "1.46.0"},
		},
		{
			name:     "no telemetry.sdk.*, a runtime name, no environment",
			resource: map[string]any{"service.name": "worker", "service.version": "3", "process.runtime.name": "CPython"},
			want:     sentFields{"worker@3", "fallback-env", "python", resource.ExporterName, resource.ExporterVersion},
		},
		{
			name:     "nothing but a service name",
			resource: map[string]any{"service.name": "edge"},
			want:     sentFields{"", "fallback-env", "other", resource.ExporterName, resource.ExporterVersion},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			transaction, errorEvent, txSampling := sentEventsOf(t, tt.resource)
			log := sentLogOf(t, tt.resource)

			assert.Equal(t, tt.want, transaction, "transaction")
			assert.Equal(t, tt.want, errorEvent, "error event")
			// Sentry's logs carry no platform.
			wantLog := tt.want
			wantLog.Platform = ""
			assert.Equal(t, wantLog, log, "log")

			// The transaction envelope's sampling context names the same release and environment (log
			// envelopes carry none, as Sentry's SDKs send them).
			assert.Equal(t, tt.want.Release, txSampling.Release)
			assert.Equal(t, tt.want.Environment, txSampling.Environment)
		})
	}
}

// sentEventsOf transforms one span with one exception from a resource with the given attributes and returns
// the fields of the transaction and of the error event as encoded for Sentry.
func sentEventsOf(t *testing.T, attrs map[string]any) (transaction, errorEvent sentFields, sampling sentrySampling) {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	require.NoError(t, rs.Resource().Attributes().FromRaw(attrs))
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(traceID("a"))
	span.SetSpanID(spanID("a1"))
	span.SetKind(ptrace.SpanKindServer)
	span.SetName("GET /")
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(10 * time.Millisecond)))
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "IllegalStateException")
	ev.Attributes().PutStr("exception.message", "boom")

	events := transformEvents(td, testOptions)
	require.Len(t, events, 2)
	var enc eventjson.Encoder
	var repairs sanitize.Counts
	var gotTransaction, gotError bool
	for i := range events {
		e := &events[i]
		var sent struct {
			Release, Environment, Platform string
			SDK                            struct{ Name, Version string }
		}
		require.NoError(t, json.Unmarshal(transform.Encode(&enc, nil, e, &repairs), &sent))
		fields := sentFields{sent.Release, sent.Environment, sent.Platform, sent.SDK.Name, sent.SDK.Version}
		switch e.Category {
		case ratelimit.CategoryTransaction:
			transaction, sampling, gotTransaction = fields, sentrySampling{e.Sampling.Release, e.Sampling.Environment}, true
		case ratelimit.CategoryError:
			errorEvent, gotError = fields, true
		}
	}
	require.True(t, gotTransaction && gotError, "one transaction and one error event")
	return transaction, errorEvent, sampling
}

// sentrySampling is the release and environment of an envelope's sampling context.
type sentrySampling struct{ Release, Environment string }

// sentLogOf converts one log record from a resource with the given attributes and returns its fields as
// encoded for Sentry, with its batch.
func sentLogOf(t *testing.T, attrs map[string]any) sentFields {
	t.Helper()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	require.NoError(t, rl.Resource().Attributes().FromRaw(attrs))
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("payment provider unavailable")
	lr.SetTraceID(traceID("a"))
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)))

	batches, _ := sentrylogs.Convert(ld, sentrylogs.Options{Environment: testOptions.Environment})
	require.Len(t, batches, 1)
	var payload struct {
		Items []struct {
			Attributes map[string]struct{ Value any } `json:"attributes"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(batches[0].Payload, &payload))
	require.Len(t, payload.Items, 1)
	text := func(key string) string {
		s, _ := payload.Items[0].Attributes[key].Value.(string)
		return s
	}
	return sentFields{
		Release: text("sentry.release"), Environment: text("sentry.environment"),
		SDKName: text("sentry.sdk.name"), SDKVersion: text("sentry.sdk.version"),
	}
}
