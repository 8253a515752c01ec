package workload

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestLogsFollowTheirSpans(t *testing.T) {
	t.Parallel()
	td := Small(3)
	rc := count(t, []ptrace.Traces{td})
	var entries, exceptions int
	for _, v := range rc.spans {
		if k := v.span.Kind(); k == ptrace.SpanKindServer || k == ptrace.SpanKindConsumer {
			entries++
		}
		for e := 0; e < v.span.Events().Len(); e++ {
			if v.span.Events().At(e).Name() == "exception" {
				exceptions++
			}
		}
	}
	require.Positive(t, entries)
	require.Positive(t, exceptions)

	ld := Logs(td)
	assert.Equal(t, entries+exceptions, ld.LogRecordCount(), "one access line per entry span, one error line per exception")
	var errorsSeen, warnOrError int
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		svc, ok := rl.Resource().Attributes().Get("service.name")
		require.True(t, ok, "logs keep the resource of their spans")
		records := rl.ScopeLogs().At(0).LogRecords()
		for r := 0; r < records.Len(); r++ {
			lr := records.At(r)
			if r > 0 {
				assert.LessOrEqual(t, records.At(r-1).Timestamp(), lr.Timestamp(), "records in timestamp order")
			}
			sp, ok := rc.byID[lr.SpanID()]
			require.True(t, ok, "log %q links to a span of the traces", lr.Body().Str())
			assert.Equal(t, sp.span.TraceID(), lr.TraceID())
			assert.Equal(t, svc.Str(), sp.service, "a log is written by the service of its span")
			assert.NotEmpty(t, lr.Body().Str())
			assert.True(t, lr.Flags().IsSampled())
			if _, isErr := lr.Attributes().Get("exception.type"); isErr {
				errorsSeen++
				assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
				typ, _ := lr.Attributes().Get("exception.type")
				assert.Equal(t, sp.span.Name()+" failed: "+typ.Str(), lr.Body().Str())
				msg, _ := lr.Attributes().Get("exception.message")
				assert.NotEmpty(t, msg.Str())
				continue
			}
			assert.Equal(t, sp.span.EndTimestamp(), lr.Timestamp(), "an access line is written when its request ends")
			if sp.span.Status().Code() == ptrace.StatusCodeError {
				assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber(), "%q", lr.Body().Str())
			}
			if lr.SeverityNumber() != plog.SeverityNumberInfo {
				warnOrError++
			}
		}
	}
	assert.Equal(t, exceptions, errorsSeen)
	assert.Positive(t, warnOrError, "failed requests are logged above info")
}

func TestLogsAreDeterministic(t *testing.T) {
	t.Parallel()
	var m plog.ProtoMarshaler
	a, err := m.MarshalLogs(Logs(Small(5)))
	require.NoError(t, err)
	b, err := m.MarshalLogs(Logs(Small(5)))
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Zero(t, Logs(ptrace.NewTraces()).LogRecordCount())
}
