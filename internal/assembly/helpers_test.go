package assembly

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/metadatatest"
)

// fakeClock is the assembler's clock in tests: time moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sink stands in for the exporter: it records what it accepts and can refuse on demand.
type sink struct {
	mu      sync.Mutex
	batches []ptrace.Traces
	calls   int
	// refuse, when set, decides per call (1-based) whether to fail it.
	refuse func(call int, td ptrace.Traces) error
	// during runs inside every call, before refuse: tests use it to look at the assembler mid-delivery.
	during func(td ptrace.Traces)
}

func (s *sink) consume(_ context.Context, td ptrace.Traces) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.during != nil {
		s.during(td)
	}
	if s.refuse != nil {
		if err := s.refuse(s.calls, td); err != nil {
			return err
		}
	}
	s.batches = append(s.batches, td)
	return nil
}

func (s *sink) emitted() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.batches...)
}

// harness is an Assembler on a fake clock with a sink and real telemetry.
type harness struct {
	a     *Assembler
	clock *fakeClock
	sink  *sink
	tt    *componenttest.Telemetry
}

func newHarness(t *testing.T, cfg Config, logger *zap.Logger) *harness {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	tel, err := metadata.NewTelemetryBuilder(tt.NewTelemetrySettings())
	require.NoError(t, err)
	t.Cleanup(tel.Shutdown)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := &sink{}
	if logger == nil {
		logger = zap.NewNop()
	}
	a := New(cfg, s.consume, tel, logger)
	a.now, a.base = clock.Now, clock.Now()
	return &harness{a: a, clock: clock, sink: s, tt: tt}
}

// held returns the assembler's span and trace counts and the spans still in held traces.
func (h *harness) held() (spans, traces, inMap int) {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.a.heldSpans, h.a.heldTraces, h.a.mapSpans
}

// assertMetric checks one of the assembly metrics against a single cumulative value.
func (h *harness) assertMetric(t *testing.T, assert func(*testing.T, *componenttest.Telemetry, []metricdata.DataPoint[int64], ...metricdatatest.Option), value int64) {
	t.Helper()
	assert(t, h.tt, []metricdata.DataPoint[int64]{{Value: value}}, metricdatatest.IgnoreTimestamp())
}

// assertNothingHeld checks that the assembler and its gauges are back to zero.
func (h *harness) assertNothingHeld(t *testing.T) {
	t.Helper()
	spans, traces, inMap := h.held()
	require.Zero(t, spans, "spans held")
	require.Zero(t, traces, "traces held")
	require.Zero(t, inMap, "spans in held traces")
	h.assertMetric(t, metadatatest.AssertEqualSentryExporterAssemblySpansHeld, 0)
	h.assertMetric(t, metadatatest.AssertEqualSentryExporterAssemblyTracesHeld, 0)
}

// spanSpec describes one span of a hand-built batch. Ids are single bytes for readability.
type spanSpec struct {
	service, scope string
	trace, span    byte
	parent         byte // 0: root
	kind           ptrace.SpanKind
}

func traceID(b byte) pcommon.TraceID { return pcommon.TraceID{0: 0xab, 15: b} }
func spanID(b byte) pcommon.SpanID   { return pcommon.SpanID{0: 0xcd, 7: b} }

// makeBatch builds a batch with one ResourceSpans per service and one ScopeSpans per scope, in order of
// first appearance, as the batch processor does.
func makeBatch(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	resources := map[string]ptrace.ResourceSpans{}
	scopes := map[[2]string]ptrace.SpanSlice{}
	for _, s := range specs {
		rs, ok := resources[s.service]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			rs.Resource().Attributes().PutStr("service.name", s.service)
			rs.Resource().Attributes().PutStr("deployment.environment.name", "test")
			resources[s.service] = rs
		}
		key := [2]string{s.service, s.scope}
		spans, ok := scopes[key]
		if !ok {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(s.scope)
			ss.Scope().SetVersion("1.0")
			spans = ss.Spans()
			scopes[key] = spans
		}
		sp := spans.AppendEmpty()
		sp.SetTraceID(traceID(s.trace))
		sp.SetSpanID(spanID(s.span))
		if s.parent != 0 {
			sp.SetParentSpanID(spanID(s.parent))
		}
		sp.SetKind(s.kind)
		sp.SetName(s.service + "/" + s.scope)
		sp.Attributes().PutInt("span.byte", int64(s.span))
	}
	return td
}

// placedSpan is a span found in emitted output with where it was.
type placedSpan struct {
	batch          int
	service, scope string
	span           ptrace.Span
}

// census lists every span of batches with its batch, service and scope.
func census(batches []ptrace.Traces) []placedSpan {
	var out []placedSpan
	for b, td := range batches {
		for _, rs := range td.ResourceSpans().All() {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					out = append(out, placedSpan{batch: b, service: svc.Str(), scope: ss.Scope().Name(), span: sp})
				}
			}
		}
	}
	return out
}

// countTransactions applies the exporter's grouping rule to one batch and counts the spans that head a
// transaction: no parent in the batch, a remote parent, SERVER or CONSUMER, or a parent in another service.
func countTransactions(td ptrace.Traces) int {
	type key [24]byte
	keyOf := func(tr pcommon.TraceID, sp pcommon.SpanID) key {
		var k key
		copy(k[:16], tr[:])
		copy(k[16:], sp[:])
		return k
	}
	service := map[key]string{}
	spans := census([]ptrace.Traces{td})
	for _, p := range spans {
		service[keyOf(p.span.TraceID(), p.span.SpanID())] = p.service
	}
	heads := 0
	for _, p := range spans {
		sp := p.span
		parentService, hasParent := service[keyOf(sp.TraceID(), sp.ParentSpanID())]
		switch {
		case sp.ParentSpanID().IsEmpty() || !hasParent,
			sp.Flags()&0x300 == 0x300,
			sp.Kind() == ptrace.SpanKindServer || sp.Kind() == ptrace.SpanKindConsumer,
			parentService != p.service:
			heads++
		}
	}
	return heads
}
