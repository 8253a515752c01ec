package sentryexporter

import (
	"os"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestTransformPythonExceptionGroup checks that an exception group printed by Python reaches the error event
// in Sentry's exception-group shape, with exception.escaped setting handled on the group itself (the
// reported exception) without touching its members' mechanisms.
func TestTransformPythonExceptionGroup(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("internal/stacktrace/testdata/samples/python/taskgroup.txt")
	require.NoError(t, err)
	b := newTraceBuilder()
	span := b.span("checkout", "a1", "a101", "", ptrace.SpanKindServer, "POST /checkout", 0, 100)
	span.Status().SetCode(ptrace.StatusCodeError)
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(span.EndTimestamp())
	ev.Attributes().PutStr("exception.type", "ExceptionGroup")
	ev.Attributes().PutStr("exception.message", "unhandled errors in a TaskGroup (2 sub-exceptions)")
	ev.Attributes().PutBool("exception.escaped", true)
	ev.Attributes().PutStr("exception.stacktrace", string(text))

	var errorEvent *sentry.Event
	for _, e := range transformEvents(b.td, testOptions) {
		if e.Sentry.Type != "transaction" {
			errorEvent = e.Sentry
		}
	}
	require.NotNil(t, errorEvent)
	values := errorEvent.Exception
	require.Len(t, values, 3)
	group := values[len(values)-1]
	assert.Equal(t, "ExceptionGroup", group.Type)
	require.NotNil(t, group.Mechanism)
	assert.True(t, group.Mechanism.IsExceptionGroup)
	assert.Equal(t, 0, group.Mechanism.ExceptionID)
	require.NotNil(t, group.Mechanism.Handled)
	assert.False(t, *group.Mechanism.Handled)
	sources := map[string]string{}
	for _, member := range values[:len(values)-1] {
		require.NotNil(t, member.Mechanism)
		require.NotNil(t, member.Mechanism.ParentID)
		assert.Equal(t, 0, *member.Mechanism.ParentID)
		assert.Equal(t, "chained", member.Mechanism.Type)
		assert.Nil(t, member.Mechanism.Handled)
		sources[member.Mechanism.Source] = member.Type
	}
	assert.Equal(t, map[string]string{"exceptions[0]": "ValueError", "exceptions[1]": "LookupError"}, sources)
}
