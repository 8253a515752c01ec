//go:build e2e

package e2e

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// TestCollector builds otelcol-sentry once and runs every end-to-end scenario against it.
func TestCollector(t *testing.T) {
	root := repoRoot(t)
	bin := buildCollector(t, root)

	t.Run("components", func(t *testing.T) {
		t.Parallel()
		out, err := runCollectorCommand(t, bin, nil, "components")
		require.NoError(t, err, out)
		for _, want := range []string{
			"- name: sentry\n      module: github.com/otelsentry/sentryexporter v0.0.0",
			"- name: otlp", "- name: batch", "- name: memory_limiter", "- name: groupbytrace",
			"- name: debug", "- name: file_storage", "- name: health_check",
		} {
			assert.Contains(t, out, want)
		}
	})
	t.Run("traces reach Sentry", func(t *testing.T) {
		t.Parallel()
		testTracesReachSentry(t, bin)
	})
	t.Run("kill -9 loses nothing acknowledged", func(t *testing.T) {
		t.Parallel()
		testKillLosesNothing(t, bin)
	})
	t.Run("validate rejects a bad dsn", func(t *testing.T) {
		t.Parallel()
		testValidateRejectsBadDSN(t, bin)
	})
	t.Run("examples validate", func(t *testing.T) {
		t.Parallel()
		testExamplesValidate(t, bin, root)
	})
}

// testConfig is the collector config of the delivery scenario: OTLP in, a short batch, Sentry out,
// everything on loopback ports chosen for this run.
func testConfig(ports collectorPorts, dsn string) string {
	return fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%[3]d
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[1]d
      grpc:
        endpoint: 127.0.0.1:%[2]d
processors:
  batch:
    timeout: 200ms
    send_batch_size: 100000
exporters:
  sentry:
    dsn: %[5]s
    environment: e2e-default
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [sentry]
  telemetry:
    logs:
      level: info
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[4]d
`, ports.HTTP, ports.GRPC, ports.Health, ports.Metrics, dsn)
}

func testTracesReachSentry(t *testing.T, bin string) {
	sentry := sentrytest.NewTest(t, sentrytest.WithAddr("127.0.0.1:0"))
	ports := newCollectorPorts(t)
	col := startCollector(t, bin, ports, testConfig(ports, sentry.DSN()))

	// The showcase batch (every span shape, exceptions in five stack trace formats) and a generated
	// workload with a large trace (over 1000 spans in one segment, so the exporter must split it).
	requests := []ptrace.Traces{workload.Small(42)}
	generated, sum := workload.Generate(workload.Config{Seed: 7, Traces: 60, BatchSize: 1 << 20})
	require.Len(t, generated, 1)
	requests = append(requests, generated[0])
	in := newInput(requests...)
	require.Equal(t, sum.Spans+workload.Small(42).SpanCount(), len(in.spans))
	require.Positive(t, in.exceptions, "the workload must contain exceptions")
	require.Greater(t, in.largestSegment, 1000, "the workload must contain a segment the exporter splits")

	t.Logf("sending %d spans in %d traces: %d segments, %d transactions expected (largest segment %d spans), %d exceptions",
		len(in.spans), len(in.traceIDs), in.heads, in.transactions, in.largestSegment, in.exceptions)
	for _, td := range requests {
		col.sendOTLP(t, td)
	}

	complete := waitForDelivery(t, sentry, func() bool {
		return len(sentry.Transactions()) >= in.transactions && len(sentry.Errors()) >= in.exceptions
	})
	require.True(t, complete, "received %d of %d transactions and %d of %d errors; rejected: %v; discarded: %v",
		len(sentry.Transactions()), in.transactions, len(sentry.Errors()), in.exceptions, sentry.Rejections(), sentry.Discarded())
	// Duplicates would come from retries. Once exporterhelper has settled every span (sent or given
	// up), every push has returned, so every request has been answered and no retry is pending:
	// what Sentry holds now is final.
	require.True(t, waitForSettled(t, col, len(in.spans)), "the exporter settled %v of %d spans", settledSpans(t, col), len(in.spans))

	assert.Empty(t, sentry.Rejections(), "requests the fake refused as malformed or unauthorized")
	assert.Empty(t, sentry.Discarded(), "items Relay would drop after answering 200")
	txs := sentry.Transactions()
	assert.Len(t, txs, in.transactions, "one transaction per segment (split above 1000 spans)")
	checkSpansExactlyOnce(t, in, sentry.SpanIDs())
	checkTransactions(t, in, txs)
	checkErrors(t, in, sentry.Errors(), sentry.SpanIDs())
	checkEnvelopes(t, in, sentry.Envelopes())
	checkSelfMetrics(t, col, in)

	if t.Failed() {
		var b bytes.Buffer
		_ = sentrytest.Summarize(&b, sentry.Errors())
		t.Logf("errors received:\n%s", b.String())
	}
}

// waitForDelivery waits until done holds. It gives up early, so that a broken exporter fails the test
// in seconds: when nothing arrived 20 s after sending, or nothing new for 5 s after the last request.
// The overall limit is 60 s.
func waitForDelivery(t *testing.T, sentry *sentrytest.Server, done func() bool) bool {
	t.Helper()
	start := time.Now()
	lastChange, lastRequests := start, 0
	for {
		if done() {
			return true
		}
		now := time.Now()
		if n := sentry.Requests(); n != lastRequests {
			lastChange, lastRequests = now, n
		}
		switch {
		case now.Sub(start) > 60*time.Second:
			return false
		case lastRequests == 0 && now.Sub(start) > 20*time.Second:
			t.Log("nothing reached Sentry within 20s of sending")
			return false
		case lastRequests > 0 && now.Sub(lastChange) > 5*time.Second:
			t.Logf("no request reached Sentry for 5s (%d so far)", lastRequests)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settledSpans is how many spans exporterhelper has finished with: sent or given up on.
func settledSpans(t *testing.T, col *collector) float64 {
	t.Helper()
	m := col.metrics(t)
	sent, _ := metricValue(m, "otelcol_exporter_sent_spans", `exporter="sentry"`)
	failed, _ := metricValue(m, "otelcol_exporter_send_failed_spans", `exporter="sentry"`)
	return sent + failed
}

// waitForSettled polls the collector's own metrics until exporterhelper has settled want spans.
// The 60 s limit only keeps a broken exporter from hanging the test.
func waitForSettled(t *testing.T, col *collector, want int) bool {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for settledSpans(t, col) < float64(want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a guess at how long delivery takes
	}
	return true
}

func checkSpansExactlyOnce(t *testing.T, in *input, got map[string]int) {
	t.Helper()
	missing, dup := 0, 0
	for id := range in.spans {
		switch n := got[id]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	assert.Zero(t, missing, "input spans that never arrived")
	assert.Zero(t, dup, "input spans that arrived more than once")
	for id := range got {
		if _, ok := in.spans[id]; !ok {
			t.Errorf("span %s arrived but was never sent", id)
		}
	}
}

// checkTransactions compares each transaction's root with the input span it came from.
func checkTransactions(t *testing.T, in *input, txs []sentrytest.Transaction) {
	t.Helper()
	heads := 0
	for _, tx := range txs {
		tc := tx.Trace()
		sp, ok := in.spans[tc.SpanID]
		if !assert.True(t, ok, "transaction %q has root span %s that was never sent", tx.Transaction, tc.SpanID) {
			continue
		}
		if sp.head {
			heads++
		}
		assert.Equal(t, sp.traceID, tc.TraceID, "trace id of transaction %q", tx.Transaction)
		assert.Equal(t, "transaction", tx.Type)
		assert.NotEmpty(t, tx.Transaction, "transaction name")
		assert.Equal(t, sp.environment, tx.Environment, "environment of %q", tx.Transaction)
		assert.Equal(t, sp.release, tx.Release, "release of %q", tx.Transaction)
		for _, child := range tx.Spans {
			c, ok := in.spans[child.SpanID]
			if assert.True(t, ok, "span %s never sent", child.SpanID) {
				assert.Equal(t, c.traceID, child.TraceID)
				assert.Equal(t, c.parentID, child.ParentSpanID, "parent of span %s", child.SpanID)
			}
		}
	}
	// Every segment head of the input heads a transaction (the rest are the exporter's splits).
	assert.Equal(t, in.heads, heads, "transactions headed by a segment head of the input")
}

// checkErrors requires one error event per exception event of the input, each with a parsed stack
// trace, environment and release, and linked to a span that arrived.
func checkErrors(t *testing.T, in *input, errs []sentrytest.ErrorEvent, arrived map[string]int) {
	t.Helper()
	require.Len(t, errs, in.exceptions)
	gotTypes := make(map[string][]string)
	for _, ev := range errs {
		tc := ev.Trace()
		sp, ok := in.spans[tc.SpanID]
		if !assert.True(t, ok, "error %s links to span %q that was never sent", ev.EventID, tc.SpanID) {
			continue
		}
		assert.Equal(t, 1, arrived[tc.SpanID], "error %s links to span %s, which must have arrived in a transaction", ev.EventID, tc.SpanID)
		assert.Equal(t, sp.traceID, tc.TraceID, "error %s trace id", ev.EventID)
		assert.Equal(t, "error", ev.Level)
		assert.Equal(t, sp.environment, ev.Environment, "error %s environment", ev.EventID)
		assert.Equal(t, sp.release, ev.Release, "error %s release", ev.EventID)
		assert.NotEmpty(t, ev.Environment)
		assert.NotEmpty(t, ev.Release)
		if !assert.NotNil(t, ev.Exception, "error %s has no exception", ev.EventID) || !assert.NotEmpty(t, ev.Exception.Values) {
			continue
		}
		main := ev.Exception.Values[len(ev.Exception.Values)-1]
		gotTypes[tc.SpanID] = append(gotTypes[tc.SpanID], main.Type)
		if assert.NotNil(t, main.Stacktrace, "error %s (%s) has no stack trace", ev.EventID, main.Type) {
			assert.NotEmpty(t, main.Stacktrace.Frames, "error %s (%s) has no frames", ev.EventID, main.Type)
			withLine := 0
			for _, f := range main.Stacktrace.Frames {
				if f.Lineno > 0 && (f.Filename != "" || f.AbsPath != "") {
					withLine++
				}
			}
			assert.Positive(t, withLine, "error %s (%s): no frame with file and line, the stack trace was not parsed", ev.EventID, main.Type)
		}
	}
	for id, want := range in.exceptionTypes {
		got := slices.Clone(gotTypes[id])
		slices.Sort(got)
		assert.Equal(t, want, got, "exception types of span %s", id)
	}
}

// checkEnvelopes requires the dynamic sampling context Sentry's trace view and sampling depend on.
func checkEnvelopes(t *testing.T, in *input, envs []sentrytest.Envelope) {
	t.Helper()
	require.Len(t, envs, in.transactions+in.exceptions, "one envelope per event")
	for _, env := range envs {
		require.Len(t, env.Items, 1, "one event per envelope")
		dsc := env.Header.Trace
		if !assert.NotNil(t, dsc, "envelope %s has no trace header", env.Header.EventID) {
			continue
		}
		assert.Equal(t, sentrytest.DefaultPublicKey, dsc.PublicKey)
		assert.Contains(t, in.traceIDs, dsc.TraceID)
		assert.Equal(t, "true", dsc.Sampled)
		assert.Equal(t, "1", dsc.SampleRate)
		assert.NotEmpty(t, env.Header.EventID)
		assert.NotEmpty(t, env.Header.SentAt)
	}
}

// checkSelfMetrics requires the collector's own metrics to agree with what arrived.
func checkSelfMetrics(t *testing.T, col *collector, in *input) {
	t.Helper()
	m := col.metrics(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   int
	}{
		{name: "otelcol_exporter_sent_spans", labels: []string{`exporter="sentry"`}, want: len(in.spans)},
		{name: "otelcol_sentry_exporter_spans_sent", want: len(in.spans)},
		{name: "otelcol_sentry_exporter_envelopes_sent", labels: []string{`category="transaction"`}, want: in.transactions},
		{name: "otelcol_sentry_exporter_envelopes_sent", labels: []string{`category="error"`}, want: in.exceptions},
		{name: "otelcol_sentry_exporter_requests", labels: []string{`status_code="200"`}, want: in.transactions + in.exceptions},
	} {
		v, ok := metricValue(m, c.name, c.labels...)
		if assert.True(t, ok, "metric %s%v missing", c.name, c.labels) {
			assert.Equal(t, float64(c.want), v, "metric %s%v", c.name, c.labels)
		}
	}
}

func testValidateRejectsBadDSN(t *testing.T, bin string) {
	tests := []struct {
		name    string
		dsn     string
		wantMsg string
	}{
		{name: "missing", dsn: `""`, wantMsg: "dsn: required"},
		{name: "not a url", dsn: `"::not a url"`, wantMsg: "dsn:"},
		{name: "scheme", dsn: "ftp://secretkey@127.0.0.1:9000/1", wantMsg: "dsn: scheme must be http or https"},
		{name: "no public key", dsn: "http://127.0.0.1:9000/1", wantMsg: "dsn: missing the public key"},
		{name: "no project", dsn: "http://secretkey@127.0.0.1:9000/", wantMsg: "dsn: missing the project id"},
		{name: "project not a number", dsn: "http://secretkey@127.0.0.1:9000/sentry", wantMsg: "dsn: project id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ports := collectorPorts{HTTP: 4318, GRPC: 4317, Health: 13133, Metrics: 8888}
			path := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(path, []byte(testConfig(ports, tt.dsn)), 0o600))
			out, err := runCollectorCommand(t, bin, nil, "validate", "--config", path)
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr, "validate must fail; output:\n%s", out)
			assert.Contains(t, out, "exporters::sentry: ")
			assert.Contains(t, out, tt.wantMsg)
			assert.NotContains(t, out, "secretkey", "the DSN's key is a credential and must not be printed")
		})
	}
}

func testExamplesValidate(t *testing.T, bin, root string) {
	env := []string{"SENTRY_DSN=http://public@127.0.0.1:8000/1"}
	for _, name := range []string{"collector.yaml", "persistent-queue.yaml", "lossless.yaml", "two-tier/tier2.yaml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := runCollectorCommand(t, bin, env, "validate", "--config", filepath.Join(root, "examples", name))
			require.NoError(t, err, "validate %s:\n%s", name, out)
			// Without a DSN the example must fail on exactly that key.
			out, err = runCollectorCommand(t, bin, []string{"SENTRY_DSN="}, "validate", "--config", filepath.Join(root, "examples", name))
			require.Error(t, err)
			assert.Contains(t, out, "exporters::sentry: dsn: required")
		})
	}
	t.Run("two-tier/tier1.yaml", func(t *testing.T) {
		t.Parallel()
		// Tier 1 uses contrib's load_balancing exporter, which is not in this build (TestTwoTier runs
		// it with its own): the only error must be that unknown type.
		out, err := runCollectorCommand(t, bin, env, "validate", "--config", filepath.Join(root, "examples", "two-tier", "tier1.yaml"))
		require.Error(t, err)
		assert.Contains(t, out, `'exporters' unknown type: "load_balancing"`)
		assert.Equal(t, 1, strings.Count(out, "unknown type"), out)
	})
}

// input is what was sent, indexed the way the assertions need it.
type input struct {
	spans      map[string]*inputSpan // by hex span id
	traceIDs   map[string]bool
	exceptions int
	// exceptionTypes lists, per span id, the sorted exception.type of its exception events.
	exceptionTypes map[string][]string
	// heads counts the spans that start a segment; transactions adds the exporter's splits of segments
	// of more than 1000 spans.
	heads, transactions int
	largestSegment      int
	// transactionsByTrace is transactions per trace id.
	transactionsByTrace map[string]int
}

// inputSpan is one sent span with what its transaction and error events must show.
type inputSpan struct {
	traceID, spanID, parentID string
	kind                      ptrace.SpanKind
	flags                     uint32
	service                   string
	environment, release      string
	// head: the span starts a segment (a Sentry transaction).
	head   bool
	parent *inputSpan
}

// maxSpansPerTransaction is Sentry's cap on spans in one transaction, root included.
const maxSpansPerTransaction = 1000

// Span flag bits of OTLP: the parent's remoteness is known, and the parent is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// newInput indexes the requests and derives the transactions the exporter must make: a span heads a
// transaction if it has no parent in the sent data, its parent is flagged remote, it is SERVER or
// CONSUMER, or its parent belongs to another service.name; every other span joins its parent's.
// A segment of more than 1000 spans becomes several transactions of at most 1000.
func newInput(requests ...ptrace.Traces) *input {
	in := &input{
		spans: map[string]*inputSpan{}, traceIDs: map[string]bool{}, exceptionTypes: map[string][]string{},
		transactionsByTrace: map[string]int{},
	}
	byKey := map[string]*inputSpan{} // trace id + span id: span ids are unique only within a trace
	var order []*inputSpan
	for _, td := range requests {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			res := rss.At(i).Resource().Attributes()
			service := attrString(res, "service.name")
			env := attrString(res, "deployment.environment.name")
			if env == "" {
				env = attrString(res, "deployment.environment")
			}
			if env == "" {
				env = "e2e-default"
			}
			release := ""
			if v := attrString(res, "service.version"); v != "" {
				release = service + "@" + v
			}
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					sp := spans.At(k)
					s := &inputSpan{
						traceID: hexID(sp.TraceID()), spanID: hexSpan(sp.SpanID()), kind: sp.Kind(),
						flags: sp.Flags(), service: service, environment: env, release: release,
					}
					if !sp.ParentSpanID().IsEmpty() {
						s.parentID = hexSpan(sp.ParentSpanID())
					}
					in.spans[s.spanID] = s
					in.traceIDs[s.traceID] = true
					byKey[s.traceID+s.spanID] = s
					order = append(order, s)
					events := sp.Events()
					for e := 0; e < events.Len(); e++ {
						if events.At(e).Name() != "exception" {
							continue
						}
						in.exceptions++
						in.exceptionTypes[s.spanID] = append(in.exceptionTypes[s.spanID], attrString(events.At(e).Attributes(), "exception.type"))
					}
				}
			}
		}
	}
	for _, types := range in.exceptionTypes {
		slices.Sort(types)
	}
	for _, s := range order {
		if s.parentID != "" {
			s.parent = byKey[s.traceID+s.parentID]
		}
		remote := s.flags&flagHasIsRemote != 0 && s.flags&flagIsRemote != 0
		s.head = s.parent == nil || remote || s.kind == ptrace.SpanKindServer || s.kind == ptrace.SpanKindConsumer ||
			s.parent.service != s.service
	}
	members := map[*inputSpan]int{}
	for _, s := range order {
		seg := s
		for !seg.head {
			seg = seg.parent // a span without a parent is a head, so this ends
		}
		if s.head {
			in.heads++
		} else {
			members[seg]++
		}
	}
	for _, s := range order {
		if !s.head {
			continue
		}
		m := members[s]
		in.largestSegment = max(in.largestSegment, m+1)
		in.transactions++
		in.transactionsByTrace[s.traceID]++
		// The exporter fills a transaction with 999 members, then the next span heads the next one.
		for m >= maxSpansPerTransaction {
			m -= maxSpansPerTransaction
			in.transactions++
			in.transactionsByTrace[s.traceID]++
		}
	}
	return in
}

func attrString(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func hexID(id pcommon.TraceID) string { return hex.EncodeToString(id[:]) }

func hexSpan(id pcommon.SpanID) string { return hex.EncodeToString(id[:]) }
