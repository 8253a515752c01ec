package sentryexporter

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
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
