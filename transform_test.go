package sentryexporter

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var testOptions = transform.Options{
	Environment:        "fallback-env",
	ExceptionsAsErrors: true,
	SendTransactions:   true,
	PublicKey:          "public",
}

// shape is a transaction reduced to its root and its children's span ids.
type shape struct {
	root     string
	children []string
}

func shapesOf(events []transform.Event) []shape {
	var out []shape
	for _, ev := range events {
		if ev.Category != ratelimit.CategoryTransaction {
			continue
		}
		s := shape{root: ev.Sentry.Contexts["trace"]["span_id"].(sentry.SpanID).String()}
		for _, sp := range ev.Sentry.Spans {
			s.children = append(s.children, sp.SpanID.String())
		}
		sort.Strings(s.children)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].root < out[j].root })
	return out
}

func ids(short ...string) []string {
	out := make([]string, len(short))
	for i, s := range short {
		out[i] = hexID(s, 8)
	}
	return out
}

func TestTransformGrouping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		build func(b *traceBuilder)
		want  []shape
	}{
		{
			name: "root with nested children is one transaction",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "x", 1, 9)
				b.span("svc", "a", "a3", "a2", ptrace.SpanKindClient, "y", 2, 8)
			},
			want: []shape{{hexID("a1", 8), ids("a2", "a3")}},
		},
		{
			name: "batch without root: the orphan subtree is one transaction, not one per span",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "x", 1, 9)
				b.span("svc", "a", "a3", "a2", ptrace.SpanKindClient, "y", 2, 8)
				b.span("svc", "a", "a4", "a2", ptrace.SpanKindClient, "z", 2, 8)
			},
			want: []shape{{hexID("a2", 8), ids("a3", "a4")}},
		},
		{
			name: "two orphans of the same missing parent are two transactions",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindClient, "x", 1, 9)
				b.span("svc", "a", "a3", "a1", ptrace.SpanKindClient, "y", 2, 8)
			},
			want: []shape{{hexID("a2", 8), nil}, {hexID("a3", 8), nil}},
		},
		{
			name: "remote parent flag starts a transaction",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
				s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "from queue", 1, 9)
				s.SetFlags(otlpFlagHasIsRemote | otlpFlagIsRemote)
				b.span("svc", "a", "a3", "a2", ptrace.SpanKindInternal, "work", 2, 8)
			},
			want: []shape{{hexID("a1", 8), nil}, {hexID("a2", 8), ids("a3")}},
		},
		{
			name: "consumer span starts a transaction",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a1", "", ptrace.SpanKindProducer, "publish", 0, 10)
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindConsumer, "process", 1, 9)
			},
			want: []shape{{hexID("a1", 8), nil}, {hexID("a2", 8), nil}},
		},
		{
			name: "a change of service starts a transaction even without SERVER kind",
			build: func(b *traceBuilder) {
				b.span("front", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
				b.span("back", "a", "a2", "a1", ptrace.SpanKindInternal, "handler", 1, 9)
			},
			want: []shape{{hexID("a1", 8), nil}, {hexID("a2", 8), nil}},
		},
		{
			name: "same span id in two traces does not mix the traces",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "01", "", ptrace.SpanKindServer, "GET /a", 0, 10)
				b.span("svc", "b", "02", "01", ptrace.SpanKindInternal, "b child", 1, 9)
			},
			want: []shape{{hexID("01", 8), nil}, {hexID("02", 8), nil}},
		},
		{
			name: "parent cycle terminates and keeps every span once",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a1", "a2", ptrace.SpanKindInternal, "x", 0, 10)
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "y", 1, 9)
			},
			want: []shape{{hexID("a1", 8), ids("a2")}},
		},
		{
			name: "span that is its own parent heads its transaction",
			build: func(b *traceBuilder) {
				b.span("svc", "a", "a1", "a1", ptrace.SpanKindInternal, "x", 0, 10)
				b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "y", 1, 9)
			},
			want: []shape{{hexID("a1", 8), ids("a2")}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newTraceBuilder()
			tc.build(b)
			assert.Equal(t, tc.want, shapesOf(transformEvents(b.td, testOptions)))
		})
	}
}

func TestTransformSplitsTransactionsOverSentrysSpanLimit(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("svc", "a", "01", "", ptrace.SpanKindServer, "GET /big", 0, 5000)
	const children = 2500
	for i := range children {
		id := pcommon.SpanID{0xee, byte(i >> 8), byte(i)}
		s := b.span("svc", "a", "ff", "01", ptrace.SpanKindClient, "SELECT", i, i+1)
		s.SetSpanID(id)
	}
	events := transformEvents(b.td, testOptions)
	require.Len(t, events, 3, "2501 spans need three transactions of at most 1000")
	seen := map[string]int{}
	for _, ev := range events {
		spans := 1 + len(ev.Sentry.Spans)
		assert.LessOrEqual(t, spans, transform.MaxSpansPerTransaction)
		seen[ev.Sentry.Contexts["trace"]["span_id"].(sentry.SpanID).String()]++
		for _, s := range ev.Sentry.Spans {
			seen[s.SpanID.String()]++
		}
		assert.Equal(t, "GET /big", ev.Sentry.Transaction, "every part keeps the segment's name")
		assert.Equal(t, hexID("a", 16), ev.Sentry.Contexts["trace"]["trace_id"].(sentry.TraceID).String())
	}
	assert.Len(t, seen, children+1)
	for id, n := range seen {
		assert.Equal(t, 1, n, "span %s must appear exactly once", id)
	}
	second := events[1].Sentry.Contexts["trace"]
	assert.Equal(t, hexID("01", 8), second["parent_span_id"].(sentry.SpanID).String(),
		"a later part's root keeps its real parent, so the trace view stays connected")
}

// TestTransformRetryState: a retried batch's spans owe only what the exporter's retry state says.
func TestTransformRetryState(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
	s := b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "work", 1, 9)
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "ValueError")
	ev.Attributes().PutStr("exception.message", "bad value")
	owing := func(owes string) transform.Options {
		opts := testOptions
		opts.Retry = map[transform.SpanPosition]transform.Retry{{Span: 0}: {Owes: owes, FirstAttempt: 7}, {Span: 1}: {Owes: owes, FirstAttempt: 7}}
		return opts
	}
	count := func(events []transform.Event) (tx, errs int) {
		for _, ev := range events {
			if ev.Category == ratelimit.CategoryTransaction {
				tx++
			} else {
				errs++
			}
		}
		return tx, errs
	}
	tx, errs := count(transformEvents(b.td, testOptions))
	assert.Equal(t, [2]int{1, 1}, [2]int{tx, errs})
	events := transformEvents(b.td, owing(transform.OwesErrors))
	tx, errs = count(events)
	assert.Equal(t, [2]int{0, 1}, [2]int{tx, errs}, "only the error event is still owed")
	assert.Equal(t, pcommon.Timestamp(7), events[0].FirstAttempt, "the first attempt carries over to the event")
	tx, errs = count(transformEvents(b.td, owing(transform.OwesTransaction)))
	assert.Equal(t, [2]int{1, 0}, [2]int{tx, errs}, "only the transaction is still owed")
	tx, errs = count(transformEvents(b.td, owing("")))
	assert.Equal(t, [2]int{1, 1}, [2]int{tx, errs}, "both still owed")
}

func TestTransformOptions(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	s := b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "E")

	errorsOnly := testOptions
	errorsOnly.SendTransactions = false
	events := transformEvents(b.td, errorsOnly)
	require.Len(t, events, 1)
	assert.Equal(t, ratelimit.CategoryError, events[0].Category)

	noErrors := testOptions
	noErrors.ExceptionsAsErrors = false
	events = transformEvents(b.td, noErrors)
	require.Len(t, events, 1)
	assert.Equal(t, ratelimit.CategoryTransaction, events[0].Category)
}

// The OTLP span flag bits that say whether the parent span lives in another process.
const (
	otlpFlagHasIsRemote = 0x100
	otlpFlagIsRemote    = 0x200
)

// goldenEvent is what a golden file holds per event: the envelope's sampling context and the payload.
type goldenEvent struct {
	Category string          `json:"category"`
	Sampling any             `json:"sampling"`
	Spans    int             `json:"input_spans"`
	Event    json.RawMessage `json:"event"`
}

// checkGolden compares the transform of td with testdata/golden/<name>.json, and checks every
// transaction passes Relay's validation as the fake Sentry implements it.
func checkGolden(t *testing.T, name string, td ptrace.Traces) {
	t.Helper()
	events := transformEvents(td, testOptions)
	out := make([]goldenEvent, 0, len(events))
	var enc eventjson.Encoder
	var repairs sanitize.Counts
	for i := range events {
		ev := &events[i]
		payload := transform.Encode(&enc, nil, ev, &repairs)
		if ev.Category == ratelimit.CategoryTransaction {
			require.NoError(t, sentrytest.ValidateTransaction(payload), "transaction %s", ev.Sentry.Transaction)
		}
		var indented json.RawMessage
		require.NoError(t, json.Unmarshal(payload, &indented))
		out = append(out, goldenEvent{Category: string(ev.Category), Sampling: ev.Sampling, Spans: len(ev.Positions), Event: indented})
	}
	got, err := json.MarshalIndent(out, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to create it", t.Name())
	assert.JSONEq(t, string(want), string(got))
}

func TestTransformGoldenMultiService(t *testing.T) {
	t.Parallel()
	checkGolden(t, "multi_service", goldenMultiService())
}

// goldenMultiService is the trace of testdata/golden/multi_service.json: a frontend calling checkout,
// which queries PostgreSQL and fails with a Java exception.
func goldenMultiService() ptrace.Traces {
	b := newTraceBuilder()
	root := b.span("frontend", "a1", "a101", "", ptrace.SpanKindServer, "GET", 0, 100)
	root.Attributes().PutStr("http.request.method", "GET")
	root.Attributes().PutStr("http.route", "/cart/{id}")
	root.Attributes().PutStr("url.path", "/cart/42")
	root.Attributes().PutInt("http.response.status_code", 200)
	client := b.span("frontend", "a1", "a103", "a101", ptrace.SpanKindClient, "POST", 10, 80)
	client.Attributes().PutStr("http.request.method", "POST")
	client.Attributes().PutStr("url.full", "http://checkout:8080/checkout?token=secret")
	client.Attributes().PutInt("http.response.status_code", 503)
	server := b.span("checkout", "a1", "a104", "a103", ptrace.SpanKindServer, "POST /checkout", 12, 78)
	server.Attributes().PutStr("http.method", "POST")
	server.Attributes().PutStr("http.target", "/checkout")
	server.Attributes().PutInt("http.status_code", 503)
	server.Status().SetCode(ptrace.StatusCodeError)
	db := b.span("checkout", "a1", "a105", "a104", ptrace.SpanKindClient, "SELECT orders", 20, 30)
	db.Attributes().PutStr("db.system", "postgresql")
	db.Attributes().PutStr("db.statement", "SELECT * FROM orders WHERE id = $1")
	db.Attributes().PutBool("db.cached", false)
	db.Attributes().PutDouble("db.rows.ratio", 0.5)
	db.Attributes().PutEmptySlice("db.params").AppendEmpty().SetInt(42)
	ev := server.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(server.EndTimestamp())
	ev.Attributes().PutStr("exception.type", "java.lang.IllegalStateException")
	ev.Attributes().PutStr("exception.message", "payment provider unavailable")
	ev.Attributes().PutBool("exception.escaped", true)
	ev.Attributes().PutStr("exception.stacktrace", "java.lang.IllegalStateException: payment provider unavailable\n"+
		"\tat com.shop.checkout.PaymentClient.charge(PaymentClient.java:88)\n"+
		"\tat com.shop.checkout.CheckoutController.checkout(CheckoutController.java:41)\n"+
		"\tat java.base/java.lang.Thread.run(Thread.java:1583)\n")
	return b.td
}

// transformEvents is transformTraces for tests that do not look at repairs.
func transformEvents(td ptrace.Traces, opts transform.Options) []transform.Event {
	events, _ := transform.Traces(td, opts)
	return events
}

// TestTransformationDocCoversEveryKey keeps docs/transformation.md honest: every attribute or data
// key that transform.go, or the resource mapping it shares with logs (internal/resource), reads or
// writes must be documented there.
func TestTransformationDocCoversEveryKey(t *testing.T) {
	t.Parallel()
	var code []byte
	for _, file := range []string{filepath.Join("internal", "transform", "transform.go"), filepath.Join("internal", "resource", "resource.go")} {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		code = append(code, src...)
	}
	doc, err := os.ReadFile(filepath.Join("docs", "transformation.md"))
	require.NoError(t, err)
	keys := regexp.MustCompile(`"((?:otel|service|deployment|host|telemetry|process|exception)\.[a-z_.]+)"`).FindAllStringSubmatch(string(code), -1)
	require.Greater(t, len(keys), 10, "the pattern still finds the transform's keys")
	for _, k := range keys {
		assert.Contains(t, string(doc), k[1], "docs/transformation.md does not mention %s", k[1])
	}
}

// TestTransformGoldenSDKs covers what Node.js, Java, Python, Go and .NET services emit, with current
// and legacy semantic conventions: HTTP server and client, databases, messaging, gRPC, exceptions in
// each runtime's stack trace format, links and remote parents (workload.Small).
func TestTransformGoldenSDKs(t *testing.T) {
	t.Parallel()
	checkGolden(t, "sdks", workload.Small(1))
}

// TestTransformSpanOwingOnlyErrorsDoesNotHeadOthers is the regression test for spans lost at 100k
// spans under rate limiting: a retried batch held a span owing only its error event (its part of a
// split transaction was accepted) and, below it, spans of another part still owed; they were
// grouped under it, and it is left out of transactions, so they were never sent.
func TestTransformSpanOwingOnlyErrorsDoesNotHeadOthers(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	p := b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /", 0, 10)
	ev := p.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "E")
	b.span("svc", "a", "a2", "a1", ptrace.SpanKindInternal, "owed", 1, 9)
	b.span("svc", "a", "a3", "a2", ptrace.SpanKindInternal, "owed child", 2, 8)
	opts := testOptions
	opts.Retry = map[transform.SpanPosition]transform.Retry{
		{Span: 0}: {Owes: transform.OwesErrors}, {Span: 1}: {Owes: transform.OwesTransaction}, {Span: 2}: {Owes: transform.OwesTransaction},
	}

	events := transformEvents(b.td, opts)
	assert.Equal(t, []shape{{hexID("a2", 8), ids("a3")}}, shapesOf(events), "the owed spans form their own transaction")
	errs := 0
	for _, ev := range events {
		if ev.Category == ratelimit.CategoryError {
			errs++
		}
	}
	assert.Equal(t, 1, errs, "and the error event is still sent")
}

// TestTransformEventIDsAreUUIDv4 checks the documented form of event_id (a lowercase uuid4 in 32 hex
// digits, develop.sentry.dev event payloads) on every event of the golden workloads, split
// transactions included, and that ids stay stable across retries and distinct between events.
func TestTransformEventIDsAreUUIDv4(t *testing.T) {
	t.Parallel()
	uuid4 := regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`)
	for seed := range int64(3) {
		td := workload.Small(seed)
		first := transformEvents(td, testOptions)
		again := transformEvents(td, testOptions)
		require.Len(t, again, len(first))
		seen := map[sentry.EventID]bool{}
		for i, ev := range first {
			id := ev.Sentry.EventID
			assert.Regexp(t, uuid4, string(id), "event %d of seed %d", i, seed)
			assert.False(t, seen[id], "event id %s used twice", id)
			seen[id] = true
			assert.Equal(t, id, again[i].Sentry.EventID, "a retried event keeps its id")
			if a, b, ok := transform.Split(ev); ok {
				assert.Regexp(t, uuid4, string(a.Sentry.EventID))
				assert.Regexp(t, uuid4, string(b.Sentry.EventID))
			}
		}
	}
}

// TestTransformSendsSpanLinksWhereSentryReadsThem checks span links take Sentry's documented place
// (develop.sentry.dev span links: contexts.trace.links for the root, spans[i].links for a child,
// each {trace_id, span_id, sampled, attributes}), not span data, also for the root of a split part.
func TestTransformSendsSpanLinksWhereSentryReadsThem(t *testing.T) {
	t.Parallel()
	b := newTraceBuilder()
	root := b.span("svc", "a", "01", "", ptrace.SpanKindConsumer, "orders process", 0, 50)
	rl := root.Links().AppendEmpty()
	rl.SetTraceID(traceID("b"))
	rl.SetSpanID(spanID("0b"))
	rl.SetFlags(0x301) // sampled, remote
	rl.Attributes().PutStr("messaging.message.id", "m-1")
	b.span("svc", "a", "02", "01", ptrace.SpanKindClient, "SELECT", 1, 2)
	child := b.span("svc", "a", "03", "01", ptrace.SpanKindInternal, "batch", 2, 3)
	cl := child.Links().AppendEmpty()
	cl.SetTraceID(traceID("c"))
	cl.SetSpanID(spanID("0c"))
	cl.SetFlags(0x100) // not sampled
	unknown := child.Links().AppendEmpty()
	unknown.SetTraceID(traceID("d"))
	unknown.SetSpanID(spanID("0d"))

	events := transformEvents(b.td, testOptions)
	require.Len(t, events, 1)
	var enc eventjson.Encoder
	var repairs sanitize.Counts
	payload := transform.Encode(&enc, nil, &events[0], &repairs)
	var tx struct {
		Contexts struct {
			Trace struct {
				Links []map[string]any `json:"links"`
				Data  map[string]any   `json:"data"`
			} `json:"trace"`
		} `json:"contexts"`
		Spans []struct {
			SpanID string           `json:"span_id"`
			Links  []map[string]any `json:"links"`
			Data   map[string]any   `json:"data"`
		} `json:"spans"`
	}
	require.NoError(t, json.Unmarshal(payload, &tx), "%s", payload)
	assert.Equal(t, []map[string]any{{
		"trace_id": hexID("b", 16), "span_id": hexID("0b", 8), "sampled": true,
		"attributes": map[string]any{"messaging.message.id": "m-1"},
	}}, tx.Contexts.Trace.Links)
	assert.NotContains(t, tx.Contexts.Trace.Data, "otel.links")
	byID := map[string][]map[string]any{}
	for _, s := range tx.Spans {
		assert.NotContains(t, s.Data, "otel.links")
		byID[s.SpanID] = s.Links
	}
	assert.Nil(t, byID[hexID("02", 8)], "a span without links has none")
	assert.Equal(t, []map[string]any{
		{"trace_id": hexID("c", 16), "span_id": hexID("0c", 8), "sampled": false},
		{"trace_id": hexID("d", 16), "span_id": hexID("0d", 8)}, // no flags: sampling unknown
	}, byID[hexID("03", 8)])

	// A later part of a split transaction is rooted at a child: its links move to contexts.trace.
	_, second, ok := transform.Split(events[0])
	require.True(t, ok)
	payload = transform.Encode(&enc, nil, &second, &repairs)
	var part struct {
		Contexts struct {
			Trace struct {
				SpanID string           `json:"span_id"`
				Links  []map[string]any `json:"links"`
			} `json:"trace"`
		} `json:"contexts"`
	}
	require.NoError(t, json.Unmarshal(payload, &part), "%s", payload)
	require.Equal(t, hexID("03", 8), part.Contexts.Trace.SpanID, "the test splits at the span with links")
	assert.Len(t, part.Contexts.Trace.Links, 2, "%s", payload)
}
