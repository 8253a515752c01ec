package sentrytest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// reportTx is a transaction of service svc in trace tid with root span root (parent: parent) and child spans
// given as "spanID op" pairs, starting at start seconds after 1700000000 and lasting ms milliseconds.
func reportTx(t *testing.T, tid, svc, name, status, root, parent string, start, ms float64, children ...string) sentrytest.Transaction {
	t.Helper()
	base := 1700000000 + start
	spans := make([]map[string]any, 0, len(children))
	for _, c := range children {
		id, op, _ := strings.Cut(c, " ")
		spans = append(spans, map[string]any{"span_id": id, "parent_span_id": root, "trace_id": tid, "op": op,
			"start_timestamp": base + 0.001, "timestamp": base + 0.002})
	}
	tc := map[string]any{"trace_id": tid, "span_id": root, "op": "http.server", "status": status}
	if parent != "" {
		tc["parent_span_id"] = parent
	}
	doc := map[string]any{"event_id": "ev-" + root, "type": "transaction", "transaction": name, "release": svc + "@1.0",
		"tags": map[string]any{"service.name": svc}, "start_timestamp": base, "timestamp": base + ms/1000,
		"contexts": map[string]any{"trace": tc}, "spans": spans}
	var tx sentrytest.Transaction
	require.NoError(t, json.Unmarshal(mustJSON(t, doc), &tx))
	return tx
}

func reportError(t *testing.T, tid, span, typ, value string, at float64, frames ...string) sentrytest.ErrorEvent {
	t.Helper()
	fs := make([]map[string]any, 0, len(frames))
	for i, f := range frames {
		fn, inApp := strings.CutSuffix(f, "*")
		fs = append(fs, map[string]any{"function": fn, "module": "app", "filename": "app.java", "lineno": 10 + i, "in_app": inApp})
	}
	doc := map[string]any{"event_id": "err-" + span + typ, "level": "error", "timestamp": 1700000000 + at,
		"exception": map[string]any{"values": []any{
			map[string]any{"type": "Cause", "value": "root cause"},
			map[string]any{"type": typ, "value": value, "stacktrace": map[string]any{"frames": fs}},
		}},
		"contexts": map[string]any{"trace": map[string]any{"trace_id": tid, "span_id": span}}}
	var ev sentrytest.ErrorEvent
	require.NoError(t, json.Unmarshal(mustJSON(t, doc), &ev))
	return ev
}

func TestWriteTraceReport(t *testing.T) {
	t.Parallel()
	shop, lone, logsOnly := traceID(1), traceID(2), traceID(3)
	r := sentrytest.Received{
		Transactions: []sentrytest.Transaction{
			// Arrival order is not trace order: the called service's transaction came first.
			reportTx(t, shop, "checkout", "POST /checkout", "internal_error", spanID(0x20), spanID(0x12), 0.010, 80, spanID(0x21)+" db", spanID(0x22)+" db", spanID(0x23)+" grpc.client"),
			reportTx(t, shop, "frontend", "POST /api/checkout", "internal_error", spanID(0x10), "", 0, 100, spanID(0x11)+" db.redis", spanID(0x12)+" http.client"),
		},
		Errors: []sentrytest.ErrorEvent{
			reportError(t, shop, spanID(0x21), "java.sql.SQLException", "pool exhausted "+strings.Repeat("x", 100), 0.05, "Thread.run", "Repo.find*", "Pool.get"),
			// An error whose transaction never arrived stays with its trace.
			reportError(t, lone, spanID(0x99), "ValueError", "bad", 5),
		},
		Logs: []sentrytest.Log{
			{Timestamp: 1700000000.1, TraceID: shop, SpanID: spanID(0x10), Level: "error", Body: "POST /api/checkout 500 in 100.0ms"},
			{Timestamp: 1700000000.05, TraceID: shop, SpanID: spanID(0x21), Level: "error", Body: "POST /checkout failed: pool exhausted"},
			// Quiet logs are counted on their transaction's line.
			{Timestamp: 1700000000.02, TraceID: shop, SpanID: spanID(0x20), Level: "info", Body: "cart loaded"},
			{Timestamp: 1700000000.03, TraceID: shop, SpanID: spanID(0x22), Level: "debug", Body: "query plan cached"},
			{Timestamp: 1700000009, TraceID: logsOnly, Level: "info", Body: "cron tick"},
			{Timestamp: 1700000009, TraceID: logsOnly, Level: "warn", Body: "cron late"},
		},
	}
	// Four traces of one trivial shape, as a load generator sends them, with different durations.
	for i := range 4 {
		tid := traceID(0x100 + i)
		root := spanID(0x100 + 2*i)
		r.Transactions = append(r.Transactions,
			reportTx(t, tid, "telemetrygen", "lets-go", "ok", root, "", 1+float64(i), 1+float64(i)),
			reportTx(t, tid, "telemetrygen", "okey-dokey-0", "ok", spanID(0x101+2*i), root, 1+float64(i), 0.5))
	}

	var b strings.Builder
	require.NoError(t, sentrytest.WriteTraceReport(&b, r, sentrytest.ReportOptions{Width: 60}))
	want := fmt.Sprintf(`trace %s "POST /api/checkout" 100.000ms: 2 services, 2 transactions, 7 spans, 1 error, 4 logs
  frontend "POST /api/checkout" http.server internal_error 100.000ms | 2 spans: db.redis, http.client
    log error POST /api/checkout 500 in 100.0ms
    checkout "POST /checkout" http.server internal_error 80.000ms | 3 spans: db x2, grpc.client | logs: debug 1, info 1
      ! error java.sql.SQLException: pool exhausted xxxxxxxxxxxxxxx…
          at app.Repo.find (app.java:11) in span "db", 3 frames, 1 ch…
      log error POST /checkout failed: pool exhausted
trace %s (no transaction received): 1 error, 0 logs
  ! error ValueError: bad
4 traces like telemetrygen "lets-go": 2 transactions, 2 spans, no errors or logs, 1.000ms to 4.000ms each
logs of traces without transactions or errors: 2 (info 1, warn 1)
`, shop, lone)
	assert.Equal(t, want, b.String())

	// Traces with errors come first (the lone error started after the telemetrygen traces). With a limit,
	// the traces past it are counted, their errors too; a collapsed group counts as one.
	b.Reset()
	require.NoError(t, sentrytest.WriteTraceReport(&b, r, sentrytest.ReportOptions{MaxTraces: 1, Width: 60}))
	assert.True(t, strings.HasPrefix(b.String(), "trace "+shop), b.String())
	assert.Contains(t, b.String(), "... 5 more traces (1 error events) not shown\n")
	assert.NotContains(t, b.String(), "telemetrygen")

	// Below CollapseAt, traces of one shape are each printed in full.
	b.Reset()
	require.NoError(t, sentrytest.WriteTraceReport(&b, r, sentrytest.ReportOptions{CollapseAt: 5}))
	assert.Equal(t, 4, strings.Count(b.String(), `telemetrygen "lets-go"`), b.String())
	assert.Equal(t, 4, strings.Count(b.String(), `    telemetrygen "okey-dokey-0"`), "nested under lets-go: %s", b.String())
	assert.Contains(t, b.String(), "          at app.Repo.find (app.java:11) in span \"db\", 3 frames, 1 chained exception\n",
		"the default width leaves the frame line whole")
}

func TestWriteTraceReportSurvivesParentCycles(t *testing.T) {
	t.Parallel()
	tid := traceID(7)
	r := sentrytest.Received{Transactions: []sentrytest.Transaction{
		reportTx(t, tid, "a", "A", "ok", spanID(1), spanID(2), 0, 1),
		reportTx(t, tid, "b", "B", "ok", spanID(2), spanID(1), 0.001, 1),
	}}
	var b strings.Builder
	require.NoError(t, sentrytest.WriteTraceReport(&b, r, sentrytest.ReportOptions{}))
	assert.Contains(t, b.String(), `a "A"`)
	assert.Contains(t, b.String(), `b "B"`)
}
