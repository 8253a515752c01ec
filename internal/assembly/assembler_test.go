package assembly

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsentry/sentryexporter/internal/metadatatest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

var errQueueFull = errors.New("sending queue is full")

// threeServiceTrace is one trace of three spans in three services.
func threeServiceTrace() ptrace.Traces {
	return makeBatch(
		spanSpec{service: "a", scope: "s", trace: 1, span: 1},
		spanSpec{service: "b", scope: "s", trace: 1, span: 2, parent: 1},
		spanSpec{service: "c", scope: "s", trace: 1, span: 3, parent: 2},
	)
}

// spanCounts counts how often each span id occurs in batches.
func spanCounts(batches []ptrace.Traces) map[pcommon.SpanID]int {
	ids := map[pcommon.SpanID]int{}
	for _, p := range census(batches) {
		ids[p.span.SpanID()]++
	}
	return ids
}

func testConfig() Config {
	return Config{Enabled: true, Wait: time.Second, MaxWait: 10 * time.Second, MaxSpans: 10_000}
}

func TestTraceSplitOverThreeBatchesIsEmittedOnceWhole(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	ctx := context.Background()
	// Trace 1 crosses two services and three scopes over three batches; trace 2 rides along in the first.
	inputs := []ptrace.Traces{
		makeBatch(
			spanSpec{service: "frontend", scope: "http", trace: 1, span: 1, kind: ptrace.SpanKindServer},
			spanSpec{service: "checkout", scope: "db", trace: 1, span: 4, parent: 3, kind: ptrace.SpanKindClient},
			spanSpec{service: "frontend", scope: "http", trace: 2, span: 9, kind: ptrace.SpanKindServer},
		),
		makeBatch(
			spanSpec{service: "checkout", scope: "http", trace: 1, span: 3, parent: 2, kind: ptrace.SpanKindServer},
			spanSpec{service: "checkout", scope: "db", trace: 1, span: 5, parent: 3, kind: ptrace.SpanKindClient},
		),
		makeBatch(
			spanSpec{service: "frontend", scope: "http", trace: 1, span: 2, parent: 1, kind: ptrace.SpanKindClient},
		),
	}
	for _, td := range inputs {
		td.MarkReadOnly() // the assembler must copy, never touch the shared batch
		require.NoError(t, h.a.ConsumeTraces(ctx, td))
		h.clock.Advance(600 * time.Millisecond) // each gap is shorter than wait
		h.a.emitDue(ctx)
	}
	// Trace 2 went quiet after the second batch; trace 1 is still active.
	got := h.sink.emitted()
	require.Len(t, got, 1)
	require.Equal(t, 1, got[0].SpanCount())
	assert.Equal(t, traceID(2), got[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())

	h.clock.Advance(time.Second)
	h.a.emitDue(ctx)
	got = h.sink.emitted()
	require.Len(t, got, 2)
	whole := got[1]
	require.Equal(t, 5, whole.SpanCount())
	// One ResourceSpans per service, one ScopeSpans per scope, every span under its own resource and scope.
	require.Equal(t, 2, whole.ResourceSpans().Len())
	where := map[byte]string{}
	for _, p := range census([]ptrace.Traces{whole}) {
		assert.Equal(t, traceID(1), p.span.TraceID())
		b, _ := p.span.Attributes().Get("span.byte")
		where[byte(b.Int())] = p.service + "/" + p.scope
		assert.Equal(t, p.service+"/"+p.scope, p.span.Name(), "span moved to another resource or scope")
	}
	assert.Equal(t, map[byte]string{1: "frontend/http", 2: "frontend/http", 3: "checkout/http", 4: "checkout/db", 5: "checkout/db"}, where)
	for _, rs := range whole.ResourceSpans().All() {
		assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rs.SchemaUrl())
		env, ok := rs.Resource().Attributes().Get("deployment.environment.name")
		require.True(t, ok)
		assert.Equal(t, "test", env.Str())
		assert.Equal(t, 2, rs.Resource().Attributes().Len())
	}
	assert.Equal(t, 2, countTransactions(whole), "frontend SERVER and checkout SERVER head the only transactions")
	// The inputs are untouched.
	assert.Equal(t, []int{3, 2, 1}, []int{inputs[0].SpanCount(), inputs[1].SpanCount(), inputs[2].SpanCount()})
	h.assertNothingHeld(t)
	require.NoError(t, h.a.Shutdown(ctx))
	assert.Len(t, h.sink.emitted(), 2, "shutdown found nothing left")
}

// feedWorkload generates a workload and feeds it batch by batch, ticking after each, with the clock
// advancing by step per batch and wait set just above the longest gap between two batches of one trace,
// so every trace goes quiet only after its last span and most go quiet while the feed goes on.
func feedWorkload(t *testing.T, h *harness, batches []ptrace.Traces, step time.Duration, after func(i int)) {
	t.Helper()
	ctx := context.Background()
	for i, td := range batches {
		td.MarkReadOnly()
		require.NoError(t, h.a.ConsumeTraces(ctx, td))
		if after != nil {
			after(i)
		}
		h.clock.Advance(step)
		h.a.emitDue(ctx)
	}
	h.clock.Advance(h.a.cfg.MaxWait)
	h.a.emitDue(ctx)
}

// longestGap is the largest distance, in batches, between two consecutive batches holding one trace.
func longestGap(batches []ptrace.Traces) int {
	last := map[pcommon.TraceID]int{}
	gap := 0
	for _, p := range census(batches) {
		if prev, ok := last[p.span.TraceID()]; ok {
			gap = max(gap, p.batch-prev)
		}
		last[p.span.TraceID()] = p.batch
	}
	return gap
}

func TestWorkloadTracesAreEmittedWhole(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			batches, sum := workload.Generate(workload.Config{Seed: seed, Traces: 200, BatchSize: 512})
			require.Positive(t, sum.CrossBatch, "the workload must have traces that straddle batches")
			const step = 100 * time.Millisecond
			cfg := testConfig()
			cfg.Wait = time.Duration(longestGap(batches)+1) * step
			cfg.MaxWait = time.Hour
			h := newHarness(t, cfg, nil)
			feedWorkload(t, h, batches, step, nil)

			out := h.sink.emitted()
			require.Greater(t, len(out), 1, "traces were emitted as they went quiet, not all at the end")
			seen := map[pcommon.SpanID]int{}
			batchesOf := map[pcommon.TraceID]map[int]bool{}
			for _, p := range census(out) {
				seen[p.span.SpanID()]++
				if batchesOf[p.span.TraceID()] == nil {
					batchesOf[p.span.TraceID()] = map[int]bool{}
				}
				batchesOf[p.span.TraceID()][p.batch] = true
			}
			require.Len(t, seen, len(sum.SpanIDs))
			for _, id := range sum.SpanIDs {
				require.Equal(t, 1, seen[id], "span %s", id)
			}
			require.Len(t, batchesOf, sum.Traces)
			for id, bs := range batchesOf {
				require.Len(t, bs, 1, "trace %s emitted in several batches", id)
			}
			transactions := 0
			for _, td := range out {
				require.LessOrEqual(t, td.SpanCount(), maxBatchSpans+2000, "batch far over the cap")
				transactions += countTransactions(td)
			}
			assert.Equal(t, sum.Segments, transactions, "one transaction per segment")
			// Without assembly the same rule over the raw batches makes more transactions: fragments.
			raw := 0
			for _, td := range batches {
				raw += countTransactions(td)
			}
			assert.Greater(t, raw, sum.Segments)
			_, err := h.tt.GetMetric("otelcol_sentry_exporter_assembly_late_spans")
			require.Error(t, err, "no late span was ever counted")
			h.assertNothingHeld(t)
			require.NoError(t, h.a.Shutdown(context.Background()))
		})
	}
}

func TestMaxSpansBoundsMemoryAndLosesNothing(t *testing.T) {
	t.Parallel()
	const maxSpans, batchSize = 500, 512
	batches, sum := workload.Generate(workload.Config{Seed: 5, Traces: 200, BatchSize: batchSize})
	cfg := testConfig()
	cfg.MaxSpans = maxSpans
	cfg.Wait, cfg.MaxWait = time.Hour, 2*time.Hour // only max_spans emits while feeding
	h := newHarness(t, cfg, nil)

	// Batches handed on inside ConsumeTraces are exactly the early emissions.
	var consuming bool
	early := 0
	peak := 0
	h.sink.during = func(td ptrace.Traces) {
		held, _, _ := h.held()
		peak = max(peak, held)
		if consuming {
			traces := map[pcommon.TraceID]bool{}
			for _, p := range census([]ptrace.Traces{td}) {
				traces[p.span.TraceID()] = true
			}
			early += len(traces)
		}
	}
	ctx := context.Background()
	for _, td := range batches {
		consuming = true
		require.NoError(t, h.a.ConsumeTraces(ctx, td))
		consuming = false
		_, _, inMap := h.held()
		require.LessOrEqual(t, inMap, maxSpans, "held traces over max_spans after ConsumeTraces")
	}
	assert.LessOrEqual(t, peak, maxSpans+batchSize, "memory bound: max_spans plus one incoming batch")
	require.NoError(t, h.a.Shutdown(ctx))

	seen := spanCounts(h.sink.emitted())
	require.Len(t, seen, len(sum.SpanIDs))
	for _, id := range sum.SpanIDs {
		require.Equal(t, 1, seen[id], "span %s", id)
	}
	require.Positive(t, early)
	h.assertMetric(t, metadatatest.AssertEqualSentryExporterAssemblyEarlyEmissions, int64(early))
	h.assertNothingHeld(t)
}

func TestMaxBytesBoundsMemoryAndLosesNothing(t *testing.T) {
	t.Parallel()
	const batchSize = 256
	batches, sum := workload.Generate(workload.Config{Seed: 6, Traces: 200, BatchSize: batchSize})
	cfg := testConfig()
	cfg.MaxBytes = 200 << 10
	cfg.Wait, cfg.MaxWait = time.Hour, 2*time.Hour // only max_bytes emits while feeding
	h := newHarness(t, cfg, nil)
	heldBytes := func() (inMap, held int64) {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		return h.a.mapBytes, h.a.heldBytes
	}
	var peak, largest int64
	h.sink.during = func(ptrace.Traces) {
		_, held := heldBytes()
		peak = max(peak, held)
	}
	ctx := context.Background()
	early := false
	for _, td := range batches {
		_, before := heldBytes()
		require.NoError(t, h.a.ConsumeTraces(ctx, td))
		inMap, after := heldBytes()
		largest = max(largest, after-before)
		early = early || len(h.sink.emitted()) > 0
		require.LessOrEqual(t, inMap, cfg.MaxBytes, "held traces over max_bytes after ConsumeTraces")
	}
	require.True(t, early, "max_bytes emitted traces early")
	assert.LessOrEqual(t, peak, cfg.MaxBytes+2*largest, "memory bound: max_bytes plus the incoming batch")
	require.NoError(t, h.a.Shutdown(ctx))
	seen := spanCounts(h.sink.emitted())
	require.Len(t, seen, len(sum.SpanIDs))
	for _, id := range sum.SpanIDs {
		require.Equal(t, 1, seen[id], "span %s", id)
	}
	inMap, held := heldBytes()
	assert.Zero(t, inMap+held)
	h.assertNothingHeld(t)
}

func TestRetriesUntilTheExporterAccepts(t *testing.T) {
	t.Parallel()
	for _, failures := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(failures, " failures"), func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.WarnLevel)
			h := newHarness(t, testConfig(), zap.New(core))
			h.sink.refuse = func(call int, _ ptrace.Traces) error {
				if call <= failures {
					return errQueueFull
				}
				return nil
			}
			ctx := context.Background()
			require.NoError(t, h.a.ConsumeTraces(ctx, threeServiceTrace()))
			for range failures + 2 {
				h.clock.Advance(time.Second)
				h.a.emitDue(ctx)
			}
			assert.Equal(t, failures+1, h.sink.calls)
			assert.Equal(t, map[pcommon.SpanID]int{spanID(1): 1, spanID(2): 1, spanID(3): 1}, spanCounts(h.sink.emitted()))
			h.assertNothingHeld(t)
			// The first failure is logged at once; the next ones within warnInterval are folded into a count.
			warnings := logs.FilterMessageSnippet("holding them to retry").All()
			require.Len(t, warnings, 1)
			assert.Equal(t, int64(1), warnings[0].ContextMap()["failed_attempts"])
			require.NoError(t, h.a.Shutdown(ctx))
		})
	}
}

func TestFailureWarningsAreRateLimited(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarness(t, testConfig(), zap.New(core))
	h.sink.refuse = func(int, ptrace.Traces) error { return errQueueFull }
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, threeServiceTrace()))
	for range 25 { // 25 ticks, 1s apart: failures at 1s..25s
		h.clock.Advance(time.Second)
		h.a.emitDue(ctx)
	}
	var counts []int64
	for _, e := range logs.FilterMessageSnippet("holding them to retry").All() {
		counts = append(counts, e.ContextMap()["failed_attempts"].(int64))
	}
	assert.Equal(t, []int64{1, 10, 10}, counts, "one line per 10s, each with the failures since the last")
	require.ErrorContains(t, h.a.Shutdown(ctx), "3 spans of 1 traces could not be handed on")
}

func TestPartialFailureRetriesOnlyWhatWasNotSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	var sent []ptrace.Traces
	h.sink.refuse = func(call int, td ptrace.Traces) error {
		if call != 1 {
			return nil
		}
		// The exporter sends the first resource's spans and reports the rest as not sent.
		done, left := ptrace.NewTraces(), ptrace.NewTraces()
		for i, rs := range td.ResourceSpans().All() {
			if i == 0 {
				rs.CopyTo(done.ResourceSpans().AppendEmpty())
			} else {
				rs.CopyTo(left.ResourceSpans().AppendEmpty())
			}
		}
		sent = append(sent, done)
		return consumererror.NewTraces(errQueueFull, left)
	}
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, threeServiceTrace()))
	for range 3 {
		h.clock.Advance(time.Second)
		h.a.emitDue(ctx)
	}
	require.Equal(t, 2, h.sink.calls)
	require.Len(t, h.sink.emitted(), 1)
	assert.Equal(t, 2, h.sink.emitted()[0].SpanCount(), "only the unsent part was retried")
	assert.Equal(t, map[pcommon.SpanID]int{spanID(1): 1, spanID(2): 1, spanID(3): 1},
		spanCounts(append(sent, h.sink.emitted()...)))
	h.assertNothingHeld(t)
	require.NoError(t, h.a.Shutdown(ctx))
}

func TestDueTracesStayHeldWhileTheExporterRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	refusing := true
	h.sink.refuse = func(int, ptrace.Traces) error {
		if refusing {
			return errors.New("queue full")
		}
		return nil
	}
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: 1})))
	h.clock.Advance(2 * time.Second)
	h.a.emitDue(ctx) // trace 1 fails and is pending
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 2, span: 2})))
	h.clock.Advance(2 * time.Second)
	h.a.emitDue(ctx) // the retry of trace 1 fails; trace 2 is due but stays held
	_, _, inMap := h.held()
	assert.Equal(t, 1, inMap, "trace 2 was not taken out while the exporter refuses")
	// Trace 2 can still grow while it waits.
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 2, span: 3, parent: 2})))
	refusing = false
	h.clock.Advance(2 * time.Second)
	h.a.emitDue(ctx)
	out := h.sink.emitted()
	require.Len(t, out, 2)
	assert.Equal(t, []int{1, 2}, []int{out[0].SpanCount(), out[1].SpanCount()})
	h.assertNothingHeld(t)
	require.NoError(t, h.a.Shutdown(ctx))
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarness(t, testConfig(), zap.New(core))
	h.sink.refuse = func(int, ptrace.Traces) error { return consumererror.NewPermanent(errors.New("bad data")) }
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(
		spanSpec{service: "a", scope: "s", trace: 1, span: 1},
		spanSpec{service: "a", scope: "s", trace: 1, span: 2, parent: 1},
	)))
	for range 3 {
		h.clock.Advance(time.Second)
		h.a.emitDue(ctx)
	}
	assert.Equal(t, 1, h.sink.calls)
	entries := logs.FilterMessageSnippet("permanently rejected").All()
	require.Len(t, entries, 1)
	assert.Equal(t, int64(2), entries[0].ContextMap()["spans"])
	h.assertNothingHeld(t)
	require.NoError(t, h.a.Shutdown(ctx))
}

func TestRefusesInputWhenFullAndTheExporterRefuses(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxSpans = 4
	h := newHarness(t, cfg, nil)
	refusing := true
	h.sink.refuse = func(int, ptrace.Traces) error {
		if refusing {
			return errors.New("queue full")
		}
		return nil
	}
	ctx := context.Background()
	var accepted []byte
	var refusals []error
	for i := byte(1); i <= 8; i++ {
		err := h.a.ConsumeTraces(ctx, makeBatch(
			spanSpec{service: "a", scope: "s", trace: i, span: 2 * i},
			spanSpec{service: "a", scope: "s", trace: i, span: 2*i + 1, parent: 2 * i},
		))
		if err != nil {
			refusals = append(refusals, err)
			continue
		}
		accepted = append(accepted, i)
		spans, _, _ := h.held()
		require.LessOrEqual(t, spans, cfg.MaxSpans+2)
	}
	require.NotEmpty(t, refusals)
	assert.ErrorContains(t, refusals[0], "trace_assembly.max_spans 4")
	assert.ErrorContains(t, refusals[0], "queue full")
	refusing = false
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 99, span: 99})),
		"a recovered exporter admits at once")
	accepted = append(accepted, 99)
	require.NoError(t, h.a.Shutdown(ctx))
	traces := map[pcommon.TraceID]bool{}
	for _, p := range census(h.sink.emitted()) {
		traces[p.span.TraceID()] = true
	}
	want := map[pcommon.TraceID]bool{}
	for _, i := range accepted {
		want[traceID(i)] = true
	}
	assert.Equal(t, want, traces, "every accepted trace and only those were handed on")
	h.assertNothingHeld(t)
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	batch := func() ptrace.Traces {
		return makeBatch(
			spanSpec{service: "a", scope: "s", trace: 1, span: 1},
			spanSpec{service: "a", scope: "s", trace: 2, span: 2},
			spanSpec{service: "b", scope: "s", trace: 2, span: 3, parent: 2},
		)
	}
	t.Run("hands on everything held", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, testConfig(), nil)
		ctx := context.Background()
		require.NoError(t, h.a.ConsumeTraces(ctx, batch()))
		require.Empty(t, h.sink.emitted(), "not quiet yet")
		require.NoError(t, h.a.Shutdown(ctx))
		require.Len(t, h.sink.emitted(), 1)
		assert.Equal(t, 3, h.sink.emitted()[0].SpanCount())
		h.assertNothingHeld(t)
		require.NoError(t, h.a.Shutdown(ctx), "twice is fine")
		assert.ErrorIs(t, h.a.ConsumeTraces(ctx, batch()), errShutdown)
		assert.ErrorIs(t, h.a.Start(ctx, nil), errShutdown)
	})
	t.Run("names what could not be handed on", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, testConfig(), nil)
		h.sink.refuse = func(int, ptrace.Traces) error { return errors.New("queue full") }
		ctx := context.Background()
		require.NoError(t, h.a.ConsumeTraces(ctx, batch()))
		h.clock.Advance(2 * time.Second)
		h.a.emitDue(ctx) // fails: pending
		require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 7, span: 7})))
		err := h.a.Shutdown(ctx)
		require.Error(t, err)
		assert.ErrorContains(t, err, "4 spans of 3 traces could not be handed on at shutdown")
		assert.ErrorContains(t, err, "queue full")
		assert.Equal(t, 3, h.sink.calls, "one try for the pending batch and one for the held trace")
		h.assertNothingHeld(t)
	})
	t.Run("with a running ticker", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var got []ptrace.Traces
		a := New(Config{Enabled: true, Wait: 20 * time.Millisecond, MaxWait: time.Second, MaxSpans: 1000},
			func(_ context.Context, td ptrace.Traces) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, td)
				return nil
			}, nil, nil)
		ctx := context.Background()
		require.NoError(t, a.Start(ctx, nil))
		require.NoError(t, a.Start(ctx, nil), "a second Start is a no-op")
		require.NoError(t, a.ConsumeTraces(ctx, batch()))
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == 1
		}, 30*time.Second, 5*time.Millisecond)
		require.NoError(t, a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 5, span: 5})))
		require.NoError(t, a.Shutdown(ctx))
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, td := range got {
			total += td.SpanCount()
		}
		assert.Equal(t, 4, total)
	})
}

func TestLateSpansAreCountedAndEmitted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: 1})))
	h.clock.Advance(2 * time.Second)
	h.a.emitDue(ctx)
	// Two spans of trace 1 arrive after it went out, in two batches, plus a span of a new trace.
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(
		spanSpec{service: "a", scope: "s", trace: 1, span: 2, parent: 1},
		spanSpec{service: "a", scope: "s", trace: 3, span: 4},
	)))
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: 3, parent: 1})))
	h.clock.Advance(2 * time.Second)
	h.a.emitDue(ctx)
	h.assertMetric(t, metadatatest.AssertEqualSentryExporterAssemblyLateSpans, 2)
	out := h.sink.emitted()
	require.Len(t, out, 2)
	assert.Equal(t, 3, out[1].SpanCount(), "late spans are held and emitted, never dropped")

	// Past 2*max_wait the id is forgotten: a span of it is no longer late, just a new trace.
	h.clock.Advance(3 * h.a.cfg.MaxWait)
	h.a.emitDue(ctx)
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: 8})))
	h.assertMetric(t, metadatatest.AssertEqualSentryExporterAssemblyLateSpans, 2)
	require.NoError(t, h.a.Shutdown(ctx))
	h.assertNothingHeld(t)
}

func TestMaxWaitEmitsTracesThatNeverGoQuiet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	ctx := context.Background()
	for i := byte(1); i <= 14; i++ { // one span every 0.8s: never quiet for the 1s wait
		require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: i})))
		h.clock.Advance(800 * time.Millisecond)
		h.a.emitDue(ctx)
	}
	out := h.sink.emitted()
	require.Len(t, out, 1, "emitted once max_wait (10s) passed")
	assert.Equal(t, 13, out[0].SpanCount(), "spans 1..13 arrived within the first 10s")
	require.NoError(t, h.a.Shutdown(ctx))
	assert.Equal(t, 1, h.sink.emitted()[1].SpanCount())
}

func TestBatchCapNeverSplitsATrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	h.a.batchCap = 10
	var specs []spanSpec
	sizes := map[byte]int{1: 4, 2: 4, 3: 4, 4: 25, 5: 3}
	id := byte(0)
	for tr := byte(1); tr <= 5; tr++ {
		for range sizes[tr] {
			id++
			specs = append(specs, spanSpec{service: "a", scope: "s", trace: tr, span: id})
		}
	}
	ctx := context.Background()
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(specs...)))
	require.NoError(t, h.a.Shutdown(ctx))
	var got [][]int
	for _, td := range h.sink.emitted() {
		perTrace := map[pcommon.TraceID]int{}
		for _, p := range census([]ptrace.Traces{td}) {
			perTrace[p.span.TraceID()]++
		}
		var sizes []int
		for tr := byte(1); tr <= 5; tr++ {
			if n, ok := perTrace[traceID(tr)]; ok {
				sizes = append(sizes, n)
			}
		}
		got = append(got, sizes)
	}
	// Batches are handed on up to pushesInFlight at once, so they may arrive in any order.
	slices.SortFunc(got, slices.Compare)
	assert.Equal(t, [][]int{{3}, {4}, {4, 4}, {25}}, got)
}

func TestResourcesAndScopesAreDeduplicated(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	ctx := context.Background()
	mk := func(trace, span byte, attrs [][2]string, scope string) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		for _, kv := range attrs {
			rs.Resource().Attributes().PutStr(kv[0], kv[1])
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(scope)
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(traceID(trace))
		sp.SetSpanID(spanID(span))
		return td
	}
	one := [][2]string{{"service.name", "a"}, {"host.name", "h1"}}
	sameOtherOrder := [][2]string{{"host.name", "h1"}, {"service.name", "a"}}
	otherHost := [][2]string{{"service.name", "a"}, {"host.name", "h2"}}
	for _, td := range []ptrace.Traces{
		mk(1, 1, one, "x"), mk(2, 2, sameOtherOrder, "x"), mk(1, 3, one, "y"), mk(3, 4, otherHost, "x"),
	} {
		require.NoError(t, h.a.ConsumeTraces(ctx, td))
	}
	require.NoError(t, h.a.Shutdown(ctx))
	out := h.sink.emitted()
	require.Len(t, out, 1)
	rss := out[0].ResourceSpans()
	require.Equal(t, 2, rss.Len(), "equal resources merge whatever their attribute order")
	var shape []string
	for _, rs := range rss.All() {
		host, _ := rs.Resource().Attributes().Get("host.name")
		for _, ss := range rs.ScopeSpans().All() {
			shape = append(shape, fmt.Sprintf("%s/%s:%d", host.Str(), ss.Scope().Name(), ss.Spans().Len()))
		}
	}
	assert.ElementsMatch(t, []string{"h1/x:2", "h1/y:1", "h2/x:1"}, shape)
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	assert.Empty(t, h.a.reg.resources, "the registry forgets resources no held trace uses")
}

func TestRegistryResolvesHashCollisions(t *testing.T) {
	t.Parallel()
	reg := registry{resources: map[uint64][]*resourceEntry{}}
	td := makeBatch(spanSpec{service: "a", scope: "s", trace: 1, span: 1}, spanSpec{service: "b", scope: "s", trace: 1, span: 2})
	lg := func(i int) *localGroup {
		rs := td.ResourceSpans().At(i)
		return &localGroup{rs: rs, ss: rs.ScopeSpans().At(0), rHash: 42, sHash: 7} // forced collision
	}
	a, b := reg.scopeFor(lg(0)), reg.scopeFor(lg(1))
	require.NotSame(t, a, b)
	require.NotSame(t, a.res, b.res)
	assert.Same(t, a, reg.scopeFor(lg(0)))
	assert.Len(t, reg.resources[42], 2)
	a.refs, b.refs = 1, 1
	reg.release(a)
	assert.Len(t, reg.resources[42], 1)
	reg.release(b)
	assert.Empty(t, reg.resources)
}

func TestConcurrentConsumers(t *testing.T) {
	t.Parallel()
	batches, sum := workload.Generate(workload.Config{Seed: 11, Traces: 100, BatchSize: 128})
	var mu sync.Mutex
	seen := map[pcommon.SpanID]int{}
	a := New(Config{Enabled: true, Wait: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond, MaxSpans: 700},
		func(_ context.Context, td ptrace.Traces) error {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range census([]ptrace.Traces{td}) {
				seen[p.span.SpanID()]++
			}
			return nil
		}, nil, nil)
	ctx := context.Background()
	require.NoError(t, a.Start(ctx, nil))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(batches); i += 4 {
				assert.NoError(t, a.ConsumeTraces(ctx, batches[i]))
			}
		})
	}
	wg.Wait()
	require.NoError(t, a.Shutdown(ctx))
	require.Len(t, seen, len(sum.SpanIDs))
	for _, id := range sum.SpanIDs {
		require.Equal(t, 1, seen[id])
	}
}

func TestEmptyBatchIsIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig(), nil)
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	require.NoError(t, h.a.ConsumeTraces(context.Background(), td))
	require.NoError(t, h.a.Shutdown(context.Background()))
	assert.Zero(t, h.sink.calls)
}

func TestOwnedInputMovesSpans(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 5, Traces: 40, BatchSize: 256})
	var got []ptrace.Traces
	var mu sync.Mutex
	a := New(Config{Enabled: true, Wait: time.Hour, MaxWait: time.Hour, MaxSpans: 1 << 20}, func(_ context.Context, td ptrace.Traces) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, td)
		return nil
	}, nil, nil, WithOwnedInput())
	for _, b := range batches {
		require.NoError(t, a.ConsumeTraces(context.Background(), b))
		// The spans were moved out: what is left behind is empty.
		for i := 0; i < b.ResourceSpans().Len(); i++ {
			spans := b.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
			if spans.Len() > 0 {
				assert.True(t, spans.At(0).TraceID().IsEmpty(), "span left in place")
			}
		}
	}
	require.NoError(t, a.Shutdown(context.Background()))
	seen := map[pcommon.SpanID]int{}
	for _, td := range got {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					seen[spans.At(k).SpanID()]++
				}
			}
		}
	}
	assert.Len(t, seen, summary.Spans)
	for _, id := range summary.SpanIDs {
		assert.Equal(t, 1, seen[id])
	}
}

// numberedBatches returns n batches; batch i holds i+1 spans of one trace, so next can tell them apart.
func numberedBatches(n int) []*outBatch {
	out := make([]*outBatch, n)
	for i := range out {
		specs := make([]spanSpec, i+1)
		for j := range specs {
			specs[j] = spanSpec{service: "a", scope: "s", trace: byte(i + 1), span: byte(j + 1)}
		}
		out[i] = &outBatch{td: makeBatch(specs...), decoded: true, spans: i + 1}
	}
	return out
}

func TestDeliverOverlapsPushes(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int32
	gate := make(chan struct{})
	a := New(testConfig(), func(context.Context, ptrace.Traces) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-gate
		return nil
	}, nil, nil)
	done := make(chan []*outBatch)
	go func() {
		rest, _ := a.deliver(context.Background(), numberedBatches(6), false)
		done <- rest
	}()
	// The first batch's push waits at the gate until the second is under way too.
	require.Eventually(t, func() bool { return inFlight.Load() == pushesInFlight }, 30*time.Second, time.Millisecond)
	close(gate)
	assert.Empty(t, <-done)
	assert.Greater(t, most.Load(), int32(1), "batches overlap")
	assert.Equal(t, int32(pushesInFlight), most.Load(), "never more than pushesInFlight at once")
}

func TestDeliverStopsStartingBatchesAfterAFailure(t *testing.T) {
	t.Parallel()
	refused := errors.New("queue full")
	for _, eachOnce := range []bool{false, true} {
		// Each batch's push waits for the test to say how it ends. Batches 1 and 2 are under way
		// together and both fail: whichever slot frees first belongs to a failed batch, so the next
		// batch must not start. Later batches (if started) end at once; batch 5 fails too.
		var mu sync.Mutex
		var tried []int
		outcome := make([]chan error, 9)
		for n := range outcome {
			outcome[n] = make(chan error, 1)
			if n >= 3 {
				outcome[n] <- nil
			}
		}
		outcome[5] = make(chan error, 1)
		outcome[5] <- refused
		a := New(testConfig(), func(_ context.Context, td ptrace.Traces) error {
			n := td.SpanCount()
			mu.Lock()
			tried = append(tried, n)
			mu.Unlock()
			if err := <-outcome[n]; err != nil {
				return fmt.Errorf("batch of %d: %w", n, err)
			}
			return nil
		}, nil, nil)
		type result struct {
			rest []*outBatch
			err  error
		}
		done := make(chan result)
		go func() {
			rest, err := a.deliver(context.Background(), numberedBatches(8), eachOnce)
			done <- result{rest, err}
		}()
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(tried) == 2
		}, 30*time.Second, time.Millisecond)
		outcome[1] <- refused
		outcome[2] <- refused
		r := <-done
		require.ErrorIs(t, r.err, refused)
		assert.ErrorContains(t, r.err, "batch of 1", "the first failure in batch order")
		var left []int
		for _, b := range r.rest {
			left = append(left, b.spans)
		}
		if eachOnce {
			assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, sortedCopy(tried), "Shutdown tries every batch once")
			assert.Equal(t, []int{1, 2, 5}, left, "only the failed batches are returned, in order")
			continue
		}
		assert.Equal(t, []int{1, 2}, sortedCopy(tried), "no batch starts after a failure")
		assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, left, "the failed batches and those not started, in order")
	}
}

func sortedCopy(s []int) []int {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
