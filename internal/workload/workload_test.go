package workload

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanView is a span with the resource it came from.
type spanView struct {
	span    ptrace.Span
	service string
	batch   int
}

// recount is an independent census of batches, computed only from the pdata, for checking Summary.
type recount struct {
	spans      []spanView
	byID       map[pcommon.SpanID]spanView
	traceSizes map[pcommon.TraceID]int
	traceBatch map[pcommon.TraceID]map[int]bool
	segments   int
	exceptions int
}

func count(t *testing.T, batches []ptrace.Traces) recount {
	t.Helper()
	rc := recount{
		byID:       map[pcommon.SpanID]spanView{},
		traceSizes: map[pcommon.TraceID]int{},
		traceBatch: map[pcommon.TraceID]map[int]bool{},
	}
	for b, td := range batches {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			name, ok := rs.Resource().Attributes().Get("service.name")
			require.True(t, ok, "resource without service.name")
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					sp := ss.Spans().At(k)
					v := spanView{span: sp, service: name.Str(), batch: b}
					rc.spans = append(rc.spans, v)
					_, dup := rc.byID[sp.SpanID()]
					require.False(t, dup, "span id %s appears twice", sp.SpanID())
					rc.byID[sp.SpanID()] = v
					rc.traceSizes[sp.TraceID()]++
					if rc.traceBatch[sp.TraceID()] == nil {
						rc.traceBatch[sp.TraceID()] = map[int]bool{}
					}
					rc.traceBatch[sp.TraceID()][b] = true
					kind := sp.Kind()
					if sp.ParentSpanID().IsEmpty() || sp.Flags()&0x200 != 0 ||
						kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer {
						rc.segments++
					}
					for e := 0; e < sp.Events().Len(); e++ {
						if sp.Events().At(e).Name() == "exception" {
							rc.exceptions++
						}
					}
				}
			}
		}
	}
	return rc
}

func (rc recount) crossBatch() int {
	n := 0
	for _, bs := range rc.traceBatch {
		if len(bs) > 1 {
			n++
		}
	}
	return n
}

func marshalAll(batches []ptrace.Traces) [][]byte {
	out := make([][]byte, len(batches))
	for i, td := range batches {
		out[i] = MarshalOTLP(td)
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "defaults", cfg: Config{Seed: 1, Traces: 100}},
		{name: "small batches", cfg: Config{Seed: 42, Traces: 60, BatchSize: 50, Concurrency: 5}},
		{name: "negative seed", cfg: Config{Seed: -7, Traces: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, sa := Generate(tt.cfg)
			b, sb := Generate(tt.cfg)
			require.NotEmpty(t, a)
			assert.Equal(t, sa, sb)
			ma, mb := marshalAll(a), marshalAll(b)
			require.Len(t, mb, len(ma))
			for i := range ma {
				require.NotEmpty(t, ma[i])
				assert.True(t, bytes.Equal(ma[i], mb[i]), "batch %d differs between runs", i)
			}

			other := tt.cfg
			other.Seed++
			c, _ := Generate(other)
			assert.NotEqual(t, bytes.Join(ma, nil), bytes.Join(marshalAll(c), nil), "a different seed gave the same workload")
		})
	}
}

func TestSmallIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := MarshalOTLP(Small(3)), MarshalOTLP(Small(3))
	require.NotEmpty(t, a)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, MarshalOTLP(Small(4)))
}

func TestSummaryMatchesRecount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "defaults", cfg: Config{Seed: 1, Traces: 100}},
		{name: "tiny batches", cfg: Config{Seed: 2, Traces: 80, BatchSize: 7, Concurrency: 3}},
		{name: "one batch", cfg: Config{Seed: 3, Traces: 40, BatchSize: 1 << 20}},
		{name: "sequential", cfg: Config{Seed: 4, Traces: 120, Concurrency: 1}},
		{name: "wide", cfg: Config{Seed: 5, Traces: 150, Concurrency: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			batches, sum := Generate(tt.cfg)
			rc := count(t, batches)
			assert.Equal(t, len(rc.spans), sum.Spans)
			assert.Equal(t, tt.cfg.Traces, sum.Traces)
			assert.Len(t, rc.traceSizes, sum.Traces)
			assert.Equal(t, rc.segments, sum.Segments)
			assert.Equal(t, rc.exceptions, sum.Exceptions)
			assert.Equal(t, rc.crossBatch(), sum.CrossBatch)
			require.Len(t, sum.SpanIDs, sum.Spans)
			// SpanIDs is in arrival order, so each batch's ids are the next BatchSize entries.
			off := 0
			for b, td := range batches {
				want := map[pcommon.SpanID]bool{}
				for _, id := range sum.SpanIDs[off : off+td.SpanCount()] {
					want[id] = true
				}
				got := map[pcommon.SpanID]bool{}
				for _, v := range count(t, []ptrace.Traces{td}).spans {
					got[v.span.SpanID()] = true
				}
				require.Equal(t, want, got, "batch %d", b)
				off += td.SpanCount()
			}
			size := tt.cfg.BatchSize
			if size == 0 {
				size = DefaultBatchSize
			}
			for i, td := range batches {
				if i < len(batches)-1 {
					assert.Equal(t, size, td.SpanCount(), "batch %d", i)
				} else {
					assert.LessOrEqual(t, td.SpanCount(), size)
					assert.Positive(t, td.SpanCount())
				}
			}
			assert.Greater(t, sum.Segments, sum.Traces)
		})
	}
}

func TestCrossBatch(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3, 4, 5, 6, 7, 8} {
		_, sum := Generate(Config{Seed: seed, Traces: 100, BatchSize: 512})
		assert.Positive(t, sum.CrossBatch, "seed %d", seed)
		assert.GreaterOrEqual(t, float64(sum.CrossBatch), 0.6*float64(sum.Traces),
			"seed %d: only %d of %d traces cross batches", seed, sum.CrossBatch, sum.Traces)
	}
}

func TestArrivalOrder(t *testing.T) {
	t.Parallel()
	batches, _ := Generate(Config{Seed: 9, Traces: 150, BatchSize: 64})
	// Each service's SDK exports its spans in the order they ended, so a service's spans in one batch all
	// ended no later than its spans in the next batch; different services' exports share batches.
	last := map[string]pcommon.Timestamp{}
	mixed := 0
	for b, td := range batches {
		lo, hi := map[string]pcommon.Timestamp{}, map[string]pcommon.Timestamp{}
		for _, v := range count(t, []ptrace.Traces{td}).spans {
			end := v.span.EndTimestamp()
			if l, ok := lo[v.service]; !ok || end < l {
				lo[v.service] = end
			}
			hi[v.service] = max(hi[v.service], end)
		}
		for svc, l := range lo {
			assert.GreaterOrEqual(t, l, last[svc], "batch %d: %s spans arrived out of end order", b, svc)
			last[svc] = hi[svc]
		}
		if len(lo) > 1 {
			mixed++
		}
	}
	assert.Positive(t, mixed, "no batch holds more than one service")
}

func TestBatchGrouping(t *testing.T) {
	t.Parallel()
	batches, _ := Generate(Config{Seed: 11, Traces: 100})
	for i, td := range batches {
		services := map[string]bool{}
		for r := 0; r < td.ResourceSpans().Len(); r++ {
			rs := td.ResourceSpans().At(r)
			name, _ := rs.Resource().Attributes().Get("service.name")
			assert.False(t, services[name.Str()], "batch %d: service %s has two ResourceSpans", i, name.Str())
			services[name.Str()] = true
			scopes := map[string]bool{}
			for s := 0; s < rs.ScopeSpans().Len(); s++ {
				ss := rs.ScopeSpans().At(s)
				assert.NotEmpty(t, ss.Scope().Name())
				assert.False(t, scopes[ss.Scope().Name()], "batch %d: scope %s twice", i, ss.Scope().Name())
				scopes[ss.Scope().Name()] = true
				assert.Positive(t, ss.Spans().Len())
			}
		}
	}
}

func TestSpansAreValid(t *testing.T) {
	t.Parallel()
	batches, _ := Generate(Config{Seed: 21, Traces: 300})
	rc := count(t, batches)
	checkSpans(t, rc)
}

// checkSpans asserts ids, timing and parentage for every span.
func checkSpans(t *testing.T, rc recount) {
	t.Helper()
	remoteRoots := 0
	for _, v := range rc.spans {
		sp := v.span
		require.False(t, sp.TraceID().IsEmpty(), "zero trace id")
		require.False(t, sp.SpanID().IsEmpty(), "zero span id")
		require.LessOrEqual(t, sp.StartTimestamp(), sp.EndTimestamp(), "span %s ends before it starts", sp.Name())
		require.Positive(t, uint64(sp.StartTimestamp()))
		require.NotEmpty(t, sp.Name())
		for e := 0; e < sp.Events().Len(); e++ {
			ev := sp.Events().At(e)
			assert.GreaterOrEqual(t, ev.Timestamp(), sp.StartTimestamp(), "event of %s", sp.Name())
			assert.LessOrEqual(t, ev.Timestamp(), sp.EndTimestamp(), "event of %s", sp.Name())
		}
		for l := 0; l < sp.Links().Len(); l++ {
			_, ok := rc.byID[sp.Links().At(l).SpanID()]
			assert.True(t, ok, "link of %s points at an unknown span", sp.Name())
		}
		if sp.ParentSpanID().IsEmpty() {
			continue
		}
		parent, ok := rc.byID[sp.ParentSpanID()]
		if !ok {
			require.NotZero(t, sp.Flags()&0x200, "span %s has an unknown parent but is not flagged remote", sp.Name())
			require.NotZero(t, sp.Flags()&0x100, "span %s: IS_REMOTE without HAS_IS_REMOTE", sp.Name())
			require.Equal(t, ptrace.SpanKindServer, sp.Kind())
			remoteRoots++
			continue
		}
		ps := parent.span
		require.Equal(t, ps.TraceID(), sp.TraceID(), "parent in another trace")
		if sp.Kind() == ptrace.SpanKindConsumer && ps.Kind() == ptrace.SpanKindProducer {
			// Messages are consumed after they are published, outside the producer span.
			assert.GreaterOrEqual(t, sp.StartTimestamp(), ps.EndTimestamp(), "consumer %s", sp.Name())
			continue
		}
		assert.GreaterOrEqual(t, sp.StartTimestamp(), ps.StartTimestamp(), "%s starts before parent %s", sp.Name(), ps.Name())
		assert.LessOrEqual(t, sp.EndTimestamp(), ps.EndTimestamp(), "%s ends after parent %s", sp.Name(), ps.Name())
		if parent.service != v.service {
			// A parent in another process is remote; SDKs that fill flags must say so.
			assert.Contains(t, []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindConsumer}, sp.Kind())
			if sp.Flags() != 0 {
				assert.NotZero(t, sp.Flags()&0x200, "%s: cross-service parent not flagged remote", sp.Name())
			}
		} else {
			assert.Zero(t, sp.Flags()&0x200, "%s: in-process parent flagged remote", sp.Name())
		}
	}
	assert.Positive(t, remoteRoots, "no remote-parent entry spans")
}

func TestTraceSizeDistribution(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3} {
		batches, sum := Generate(Config{Seed: seed, Traces: 200})
		rc := count(t, batches)
		require.Len(t, rc.traceSizes, 200)
		typical, large := 0, 0
		for _, n := range rc.traceSizes {
			if n >= 3 && n <= 30 {
				typical++
			}
			if n > 200 {
				large++
				assert.LessOrEqual(t, n, 2000, "seed %d: a trace of %d spans", seed, n)
			}
			assert.GreaterOrEqual(t, n, 1)
		}
		assert.GreaterOrEqual(t, typical, 180, "seed %d: only %d of 200 traces have 3-30 spans", seed, typical)
		assert.GreaterOrEqual(t, large, 1, "seed %d: no large trace", seed)
		assert.LessOrEqual(t, large, 8, "seed %d: too many large traces", seed)
		assert.Equal(t, len(rc.spans), sum.Spans)
	}
}

func TestGenerateEmpty(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1} {
		batches, sum := Generate(Config{Seed: 1, Traces: n})
		assert.Empty(t, batches)
		assert.Equal(t, Summary{}, sum)
	}
}

func TestMarshalOTLPRoundTrip(t *testing.T) {
	t.Parallel()
	td := Small(5)
	b := MarshalOTLP(td)
	require.NotEmpty(t, b)
	var u ptrace.ProtoUnmarshaler
	back, err := u.UnmarshalTraces(b)
	require.NoError(t, err)
	assert.Equal(t, td.SpanCount(), back.SpanCount())
	assert.Equal(t, b, MarshalOTLP(back))
}

func TestResources(t *testing.T) {
	t.Parallel()
	td := Small(1)
	want := map[string]string{ // service -> the environment key its SDK uses
		"frontend": "deployment.environment.name", "checkout": "deployment.environment.name",
		"payments": "deployment.environment", "inventory": "deployment.environment.name",
		"notifications": "deployment.environment",
	}
	seen := map[string]bool{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		attrs := td.ResourceSpans().At(i).Resource().Attributes()
		name, _ := attrs.Get("service.name")
		seen[name.Str()] = true
		env, ok := attrs.Get(want[name.Str()])
		require.True(t, ok, "%s lacks %s", name.Str(), want[name.Str()])
		assert.Equal(t, "production", env.Str())
		for _, k := range []string{"service.version", "service.namespace", "telemetry.sdk.name", "telemetry.sdk.language",
			"telemetry.sdk.version", "host.name", "process.runtime.name", "process.runtime.version", "k8s.pod.name",
			"cloud.region"} {
			v, ok := attrs.Get(k)
			require.True(t, ok, "%s lacks %s", name.Str(), k)
			assert.NotEmpty(t, v.AsString(), "%s: empty %s", name.Str(), k)
		}
	}
	assert.Len(t, seen, len(want))
}

func TestSmallSpansAreValid(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{0, 1, 2, 99} {
		rc := count(t, []ptrace.Traces{Small(seed)})
		checkSpans(t, rc)
	}
}

// shape names a kind of span Small must contain, with a predicate recognising it.
type shape struct {
	name string
	is   func(rc recount, v spanView) bool
}

func attr(sp ptrace.Span, k string) string {
	v, ok := sp.Attributes().Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func has(sp ptrace.Span, k string) bool {
	_, ok := sp.Attributes().Get(k)
	return ok
}

func exceptionStack(sp ptrace.Span) []string {
	var out []string
	for e := 0; e < sp.Events().Len(); e++ {
		if ev := sp.Events().At(e); ev.Name() == "exception" {
			st, _ := ev.Attributes().Get("exception.stacktrace")
			out = append(out, st.Str())
		}
	}
	return out
}

func hasStack(sp ptrace.Span, pred func(string) bool) bool {
	for _, s := range exceptionStack(sp) {
		if pred(s) {
			return true
		}
	}
	return false
}

func hasEscaped(sp ptrace.Span, want string) bool {
	for e := 0; e < sp.Events().Len(); e++ {
		if v, ok := sp.Events().At(e).Attributes().Get("exception.escaped"); ok && strings.EqualFold(v.AsString(), want) {
			return true
		}
	}
	return false
}

func isKind(k ptrace.SpanKind) func(recount, spanView) bool {
	return func(_ recount, v spanView) bool { return v.span.Kind() == k }
}

func TestSmallCoversEveryShape(t *testing.T) {
	t.Parallel()
	server, client := ptrace.SpanKindServer, ptrace.SpanKindClient
	shapes := []shape{
		{"server", isKind(server)},
		{"client", isKind(client)},
		{"internal", isKind(ptrace.SpanKindInternal)},
		{"producer", isKind(ptrace.SpanKindProducer)},
		{"consumer", isKind(ptrace.SpanKindConsumer)},
		{"http server stable", func(_ recount, v spanView) bool {
			sp := v.span
			return sp.Kind() == server && has(sp, "http.request.method") && has(sp, "http.route") && has(sp, "url.path") &&
				has(sp, "url.scheme") && has(sp, "server.address") && has(sp, "http.response.status_code") &&
				has(sp, "user_agent.original")
		}},
		{"http server legacy", func(_ recount, v spanView) bool {
			sp := v.span
			return sp.Kind() == server && has(sp, "http.method") && has(sp, "http.target") &&
				has(sp, "http.status_code") && has(sp, "http.url")
		}},
		{"http client stable", func(_ recount, v spanView) bool {
			return v.span.Kind() == client && has(v.span, "url.full") && has(v.span, "http.request.method")
		}},
		{"http client legacy", func(_ recount, v spanView) bool {
			return v.span.Kind() == client && has(v.span, "http.url") && has(v.span, "net.peer.name")
		}},
		{"http client with server child in another service", func(rc recount, v spanView) bool {
			if v.span.Kind() != client || !(has(v.span, "http.url") || has(v.span, "url.full")) {
				return false
			}
			for _, o := range rc.spans {
				if o.span.ParentSpanID() == v.span.SpanID() && o.span.Kind() == server && o.service != v.service {
					return true
				}
			}
			return false
		}},
		{"postgresql stable", func(_ recount, v spanView) bool {
			sp := v.span
			return attr(sp, "db.system.name") == "postgresql" && has(sp, "db.query.text") &&
				has(sp, "db.operation.name") && has(sp, "db.collection.name")
		}},
		{"postgresql legacy", func(_ recount, v spanView) bool {
			return attr(v.span, "db.system") == "postgresql" && has(v.span, "db.statement")
		}},
		{"mysql", func(_ recount, v spanView) bool { return attr(v.span, "db.system") == "mysql" }},
		{"redis stable", func(_ recount, v spanView) bool { return attr(v.span, "db.system.name") == "redis" }},
		{"redis legacy", func(_ recount, v spanView) bool { return attr(v.span, "db.system") == "redis" }},
		{"mongodb", func(_ recount, v spanView) bool { return attr(v.span, "db.system.name") == "mongodb" }},
		{"grpc client", func(_ recount, v spanView) bool {
			return v.span.Kind() == client && attr(v.span, "rpc.system") == "grpc" && has(v.span, "rpc.service") &&
				has(v.span, "rpc.method") && has(v.span, "rpc.grpc.status_code")
		}},
		{"grpc server", func(_ recount, v spanView) bool {
			return v.span.Kind() == server && attr(v.span, "rpc.system") == "grpc"
		}},
		{"kafka producer", func(_ recount, v spanView) bool {
			return v.span.Kind() == ptrace.SpanKindProducer && attr(v.span, "messaging.system") == "kafka" &&
				attr(v.span, "messaging.operation.type") == "publish" && has(v.span, "messaging.destination.name")
		}},
		{"rabbitmq producer", func(_ recount, v spanView) bool {
			return v.span.Kind() == ptrace.SpanKindProducer && attr(v.span, "messaging.system") == "rabbitmq"
		}},
		{"consumer child of producer", func(rc recount, v spanView) bool {
			p, ok := rc.byID[v.span.ParentSpanID()]
			return v.span.Kind() == ptrace.SpanKindConsumer && ok && p.span.Kind() == ptrace.SpanKindProducer &&
				p.service != v.service && attr(v.span, "messaging.operation.type") == "process"
		}},
		{"consumer linked in a new trace", func(_ recount, v spanView) bool {
			sp := v.span
			return sp.Kind() == ptrace.SpanKindConsumer && sp.ParentSpanID().IsEmpty() && sp.Links().Len() == 1 &&
				sp.Links().At(0).TraceID() != sp.TraceID()
		}},
		{"consumer linked in the same trace", func(_ recount, v spanView) bool {
			sp := v.span
			return sp.Kind() == ptrace.SpanKindConsumer && sp.ParentSpanID().IsEmpty() && sp.Links().Len() == 1 &&
				sp.Links().At(0).TraceID() == sp.TraceID()
		}},
		{"remote parent entry", func(rc recount, v spanView) bool {
			_, known := rc.byID[v.span.ParentSpanID()]
			return v.span.Kind() == server && !v.span.ParentSpanID().IsEmpty() && !known &&
				v.span.Flags()&0x300 == 0x300
		}},
		{"root internal", func(_ recount, v spanView) bool {
			return v.span.Kind() == ptrace.SpanKindInternal && v.span.ParentSpanID().IsEmpty()
		}},
		{"5xx server", func(_ recount, v spanView) bool {
			return v.span.Kind() == server && v.span.Status().Code() == ptrace.StatusCodeError &&
				(strings.HasPrefix(attr(v.span, "http.response.status_code"), "5") ||
					strings.HasPrefix(attr(v.span, "http.status_code"), "5"))
		}},
		{"4xx client", func(_ recount, v spanView) bool {
			return v.span.Kind() == client && v.span.Status().Code() == ptrace.StatusCodeError &&
				strings.HasPrefix(attr(v.span, "http.status_code")+attr(v.span, "http.response.status_code"), "4")
		}},
		{"java exception with Caused by", func(_ recount, v spanView) bool {
			return hasStack(v.span, func(s string) bool { return strings.Contains(s, "\n\tat ") && strings.Contains(s, "\nCaused by: ") })
		}},
		{"python traceback", func(_ recount, v spanView) bool {
			return hasStack(v.span, func(s string) bool { return strings.HasPrefix(s, "Traceback (most recent call last):\n") })
		}},
		{"go goroutine dump", func(_ recount, v spanView) bool {
			return hasStack(v.span, func(s string) bool { return strings.HasPrefix(s, "goroutine ") && strings.Contains(s, " [running]:\n") })
		}},
		{"node v8 stack", func(_ recount, v spanView) bool {
			return hasStack(v.span, func(s string) bool { return strings.Contains(s, "\n    at ") && strings.Contains(s, ".js:") })
		}},
		{".NET stack", func(_ recount, v spanView) bool {
			return hasStack(v.span, func(s string) bool { return strings.Contains(s, "\n   at ") && strings.Contains(s, ".cs:line ") })
		}},
		{"exception escaped", func(_ recount, v spanView) bool { return hasEscaped(v.span, "true") }},
		{"exception handled", func(_ recount, v spanView) bool { return hasEscaped(v.span, "false") }},
	}
	for _, seed := range []int64{0, 1, 7, 12345} {
		rc := count(t, []ptrace.Traces{Small(seed)})
		for _, s := range shapes {
			found := false
			for _, v := range rc.spans {
				if s.is(rc, v) {
					found = true
					break
				}
			}
			assert.True(t, found, "seed %d: Small has no %s span", seed, s.name)
		}
		assert.Less(t, len(rc.spans), 200, "Small should stay small")
	}
}

func TestSpanFlagsBySDK(t *testing.T) {
	t.Parallel()
	rc := count(t, []ptrace.Traces{Small(1)})
	tests := []struct {
		service   string
		wantFlags bool
	}{
		{"frontend", true}, {"checkout", true}, {"payments", true}, {"inventory", true}, {"notifications", false},
	}
	for _, tt := range tests {
		for _, v := range rc.spans {
			if v.service != tt.service {
				continue
			}
			if tt.wantFlags {
				assert.NotZero(t, v.span.Flags()&0x100, "%s %s", tt.service, v.span.Name())
			} else {
				assert.Zero(t, v.span.Flags(), "%s %s", tt.service, v.span.Name())
			}
		}
	}
}
