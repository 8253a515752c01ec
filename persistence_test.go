package sentryexporter

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// storageHost offers one started file_storage extension to the exporter, as a collector would.
type storageHost struct {
	extensions map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

func startFileStorage(t testing.TB, dir string) (storageHost, func()) {
	t.Helper()
	factory := filestorage.NewFactory()
	cfg := factory.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := factory.Create(context.Background(), extensiontest.NewNopSettings(factory.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), nil))
	id := component.NewID(factory.Type())
	return storageHost{extensions: map[component.ID]component.Component{id: ext}}, func() {
		require.NoError(t, ext.Shutdown(context.Background()))
	}
}

// TestPersistentQueueSurvivesRestart stops the exporter while Sentry is down, starts a new one on the
// same storage and checks that every queued span reaches Sentry exactly once.
func TestPersistentQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	traces := 60
	if raceEnabled {
		traces = 20 // the replay is CPU-bound: 60 traces took 13 s of the package's run under -race
	}
	batches, summary := workload.Generate(workload.Config{Seed: 11, Traces: traces, BatchSize: 256})
	var down atomic.Bool
	down.Store(true)
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(*sentrytest.Request) sentrytest.Fault {
		if down.Load() {
			return sentrytest.Fault{Status: http.StatusServiceUnavailable}
		}
		return sentrytest.Fault{}
	}))
	dir := t.TempDir()
	values := map[string]any{
		"dsn":            srv.DSN(),
		"trace_assembly": map[string]any{"enabled": false},
		"sending_queue":  map[string]any{"enabled": true, "storage": "file_storage", "num_consumers": 2},
		"retry_on_failure": map[string]any{
			"initial_interval": "20ms", "max_interval": "100ms", "max_elapsed_time": "10m",
		},
	}
	newExporter := func() (func(), func()) {
		factory := NewFactory()
		cfg := factory.CreateDefaultConfig()
		require.NoError(t, confmap.NewFromStringMap(values).Unmarshal(cfg))
		host, stopStorage := startFileStorage(t, dir)
		set := exportertest.NewNopSettings(metadata.Type)
		set.ID = component.NewID(metadata.Type) // the queue on disk belongs to the component id
		set.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
		exp, err := factory.CreateTraces(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), host))
		stop := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, exp.Shutdown(ctx))
			stopStorage()
		}
		consume := func() {
			for _, b := range batches {
				require.NoError(t, exp.ConsumeTraces(context.Background(), b))
			}
		}
		return consume, stop
	}

	consume, stop := newExporter()
	consume()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitForRequests(ctx, 10), "the exporter tried while Sentry was down")
	stop()
	require.Zero(t, srv.SpanCount(), "nothing was accepted while Sentry was down")

	down.Store(false)
	_, stop2 := newExporter() // a new exporter on the same storage replays the queue
	defer stop2()
	// A guard against hanging, not a performance bound: a loaded CI machine may take its time.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel2()
	require.NoError(t, srv.WaitForSpans(ctx2, summary.Spans), "Sentry got %d of %d spans", srv.SpanCount(), summary.Spans)
	assertExactlyOnce(t, summary, srv.SpanIDs())
}

// TestResentTraceKeepsItsEventIDs backs the claim that Sentry drops the copy of a trace that trace
// assembly sends again after a crash (one that reached the sending queue just before the crash, and
// was recovered from trace_assembly.storage): event ids derive from trace and span ids, so the same
// whole trace yields the same events, whichever batch and neighbours it arrives with. The workload is
// sent once as one batch and once trace by trace in reverse order; both runs must produce the same event
// ids, each with the same spans.
func TestResentTraceKeepsItsEventIDs(t *testing.T) {
	t.Parallel()
	batches, _ := workload.Generate(workload.Config{Seed: 12, Traces: 40, BatchSize: 128})
	all := mergeBatches(batches)

	events := func(send func(exp func(ptrace.Traces))) map[string][]string {
		srv := sentrytest.NewTest(t)
		exp, _ := startExporter(t, srv, nil)
		send(func(td ptrace.Traces) { require.NoError(t, exp.ConsumeTraces(context.Background(), td)) })
		out := map[string][]string{}
		for _, tx := range srv.Transactions() {
			ids := []string{tx.Trace().SpanID}
			for _, sp := range tx.Spans {
				ids = append(ids, sp.SpanID)
			}
			slices.Sort(ids)
			require.NotContains(t, out, tx.EventID, "one run sends each event once")
			out[tx.EventID] = ids
		}
		for _, ev := range srv.Errors() {
			require.NotContains(t, out, ev.EventID)
			out[ev.EventID] = []string{"error on " + ev.Trace().SpanID}
		}
		return out
	}
	together := events(func(send func(ptrace.Traces)) { send(all) })
	apart := events(func(send func(ptrace.Traces)) {
		byTrace := map[pcommon.TraceID]ptrace.Traces{}
		var order []pcommon.TraceID
		for _, rs := range all.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					td, ok := byTrace[sp.TraceID()]
					if !ok {
						td = ptrace.NewTraces()
						byTrace[sp.TraceID()] = td
						order = append(order, sp.TraceID())
					}
					dst := td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(dst.Resource())
					dss := dst.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(dss.Scope())
					sp.CopyTo(dss.Spans().AppendEmpty())
				}
			}
		}
		slices.Reverse(order)
		for _, id := range order {
			send(byTrace[id])
		}
	})
	require.NotEmpty(t, together)
	assert.Equal(t, together, apart)
}

// TestAssemblyStorageKeepsWhatSentryRefusedAtShutdown: with trace_assembly.storage, spans that could not
// be handed on at shutdown (Sentry down, no sending queue) stay stored, and the next exporter on the
// same storage sends them, whole: one transaction per segment, every span once.
func TestAssemblyStorageKeepsWhatSentryRefusedAtShutdown(t *testing.T) {
	t.Parallel()
	batches, summary := workload.Generate(workload.Config{Seed: 13, Traces: 40, BatchSize: 128})
	segments := 0
	for _, ev := range transformEvents(mergeBatches(batches), testOptions) {
		if ev.Category == "transaction" {
			segments++
		}
	}
	var down atomic.Bool
	down.Store(true)
	srv := sentrytest.NewTest(t, sentrytest.WithFaults(func(*sentrytest.Request) sentrytest.Fault {
		if down.Load() {
			return sentrytest.Fault{Status: http.StatusServiceUnavailable}
		}
		return sentrytest.Fault{}
	}))
	dir := t.TempDir()
	values := map[string]any{
		"dsn":              srv.DSN(),
		"sending_queue":    map[string]any{"enabled": false},
		"retry_on_failure": map[string]any{"initial_interval": "20ms", "max_interval": "50ms", "max_elapsed_time": "10m"},
		"trace_assembly":   map[string]any{"wait": "1h", "max_wait": "2h", "storage": "file_storage"},
	}
	run := func(feed bool, shutdownTimeout time.Duration) {
		factory, cfg, set, _ := testFactory(t, values)
		set.ID = component.NewID(metadata.Type)
		set.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
		host, stopStorage := startFileStorage(t, dir)
		exp, err := factory.CreateTraces(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), host))
		if feed {
			for _, b := range batches {
				require.NoError(t, exp.ConsumeTraces(context.Background(), b))
			}
		}
		// The first run's shutdown deadline ends the retries of a Sentry that stays down.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		require.NoError(t, exp.Shutdown(ctx), "what Sentry refused stays stored: no loss to report")
		stopStorage()
	}
	run(true, time.Second)
	require.Zero(t, srv.SpanCount())
	down.Store(false)
	run(false, 5*time.Minute) // a guard against hanging only
	assertExactlyOnce(t, summary, srv.SpanIDs())
	assert.Equal(t, segments, len(srv.Transactions()), "one transaction per segment")
}
