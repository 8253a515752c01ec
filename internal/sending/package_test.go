package sending

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testBatch is a batch with one resource (service svc0, svc1, …) per argument, each holding that many
// spans of one trace.
func testBatch(spansPerResource ...int) ptrace.Traces {
	td := ptrace.NewTraces()
	for r, n := range spansPerResource {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc"+strconv.Itoa(r))
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range n {
			s := spans.AppendEmpty()
			s.SetTraceID(pcommon.TraceID{byte(r + 1)})
			s.SetSpanID(pcommon.SpanID{byte(r + 1), byte(i + 1)})
			s.SetName("span " + strconv.Itoa(i))
		}
	}
	return td
}
