package assembly

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// storageHost offers one started file_storage extension, as a collector does.
type storageHost struct {
	extensions map[component.ID]component.Component
}

func (h storageHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

var fileStorageID = component.MustNewID("file_storage")

// startFileStorage starts a real file_storage extension on dir; cleanup shuts it down.
func startFileStorage(t testing.TB, dir string) storageHost {
	t.Helper()
	factory := filestorage.NewFactory()
	cfg := factory.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := factory.Create(context.Background(), extensiontest.NewNopSettings(factory.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return storageHost{extensions: map[component.ID]component.Component{fileStorageID: ext}}
}

func storageConfig() Config {
	cfg := testConfig()
	cfg.Storage = &fileStorageID
	return cfg
}

// newStoredHarness is a started harness whose assembler writes ahead to file_storage in dir.
func newStoredHarness(t *testing.T, cfg Config, host storageHost) *harness {
	t.Helper()
	h := newHarness(t, cfg, nil)
	require.NoError(t, h.a.Start(context.Background(), host))
	return h
}

// crash stops the assembler the way a SIGKILL does as far as storage is concerned: the ticker stops,
// the storage client is closed, and nothing held is handed on.
func crash(t *testing.T, a *Assembler) {
	t.Helper()
	a.life.Lock()
	a.cancel()
	<-a.done
	a.started = false
	a.life.Unlock()
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	require.NoError(t, a.store.close(context.Background()))
}

// storedKeys lists the keys in the assembler's storage: through its own client while it runs, or
// through a client of the test's after it stopped (file_storage allows one client per file at a time).
func storedKeys(t *testing.T, host storageHost, a *Assembler) []string {
	t.Helper()
	client := a.store.client
	if client == nil {
		ext := host.extensions[fileStorageID].(storage.Extension)
		var err error
		client, err = ext.GetClient(context.Background(), component.KindExporter, component.MustNewID(storageName), storageName)
		require.NoError(t, err)
		defer func() { require.NoError(t, client.Close(context.Background())) }()
	}
	var keys []string
	require.NoError(t, client.(storage.Walker).Walk(context.Background(), func(key string, _ []byte) ([]*storage.Operation, error) {
		keys = append(keys, key)
		return nil, nil
	}))
	return keys
}

// checkWhole requires every span of sum exactly once over batches, each trace in one batch, and one
// transaction per segment.
func checkWhole(t *testing.T, batches []ptrace.Traces, sum workload.Summary) {
	t.Helper()
	seen := spanCounts(batches)
	require.Len(t, seen, len(sum.SpanIDs))
	for _, id := range sum.SpanIDs {
		require.Equal(t, 1, seen[id], "span %s", id)
	}
	batchOf := map[pcommon.TraceID]int{}
	for _, p := range census(batches) {
		if b, ok := batchOf[p.span.TraceID()]; ok {
			require.Equal(t, b, p.batch, "trace %s emitted in several batches", p.span.TraceID())
		}
		batchOf[p.span.TraceID()] = p.batch
	}
	transactions := 0
	for _, td := range batches {
		transactions += countTransactions(td)
	}
	assert.Equal(t, sum.Segments, transactions, "one transaction per segment")
}

func TestStorageRecoversWhatACrashLeftHeld(t *testing.T) {
	t.Parallel()
	batches, sum := workload.Generate(workload.Config{Seed: 21, Traces: 150, BatchSize: 256})
	require.Positive(t, sum.CrossBatch)
	host := startFileStorage(t, t.TempDir())
	cfg := storageConfig()
	cfg.MaxWait = time.Hour

	first := newStoredHarness(t, cfg, host)
	for _, td := range batches {
		td.MarkReadOnly()
		require.NoError(t, first.a.ConsumeTraces(context.Background(), td))
	}
	// Everything acknowledged is on disk before anything was emitted.
	require.Empty(t, first.sink.emitted())
	require.NotEmpty(t, storedKeys(t, host, first.a))
	crash(t, first.a)

	second := newStoredHarness(t, cfg, host)
	spans, traces, _ := second.held()
	assert.Equal(t, sum.Spans, spans, "every acknowledged span is held again")
	assert.Equal(t, sum.Traces, traces, "fragments of one trace are assembled again into one trace")
	second.clock.Advance(cfg.Wait)
	second.a.emitDue(context.Background())
	checkWhole(t, second.sink.emitted(), sum)
	second.assertNothingHeld(t)
	assert.Empty(t, storedKeys(t, host, second.a), "what was handed on is deleted")
	require.NoError(t, second.a.Shutdown(context.Background()))
}

func TestStorageDeletesOnlyWhatWasHandedOn(t *testing.T) {
	t.Parallel()
	host := startFileStorage(t, t.TempDir())
	h := newStoredHarness(t, storageConfig(), host)
	ctx := context.Background()
	// Trace 1 arrives in one batch with trace 2, then trace 2 goes on in a second batch.
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(
		spanSpec{service: "a", scope: "s", trace: 1, span: 1},
		spanSpec{service: "a", scope: "s", trace: 2, span: 2},
	)))
	h.clock.Advance(h.a.cfg.Wait / 2)
	require.NoError(t, h.a.ConsumeTraces(ctx, makeBatch(spanSpec{service: "b", scope: "s", trace: 2, span: 3, parent: 2})))
	// Keys: two tables, trace 1's fragment, trace 2's two fragments.
	require.Len(t, storedKeys(t, host, h.a), 5)
	h.clock.Advance(h.a.cfg.Wait / 2)
	h.a.emitDue(ctx)
	require.Len(t, h.sink.emitted(), 1, "trace 1 went quiet")
	// Trace 1's fragment is gone; its record's table stays for trace 2.
	require.Len(t, storedKeys(t, host, h.a), 4)
	h.clock.Advance(h.a.cfg.Wait)
	h.a.emitDue(ctx)
	require.Len(t, h.sink.emitted(), 2)
	assert.Empty(t, storedKeys(t, host, h.a))
	require.NoError(t, h.a.Shutdown(ctx))
}

func TestStorageKeepsWhatTheExporterRefusedAtShutdown(t *testing.T) {
	t.Parallel()
	host := startFileStorage(t, t.TempDir())
	h := newStoredHarness(t, storageConfig(), host)
	h.sink.refuse = func(int, ptrace.Traces) error { return errQueueFull }
	require.NoError(t, h.a.ConsumeTraces(context.Background(), threeServiceTrace()))
	require.NoError(t, h.a.Shutdown(context.Background()), "nothing is lost: it stays stored")
	require.NotEmpty(t, storedKeys(t, host, h.a))

	next := newStoredHarness(t, storageConfig(), host)
	require.NoError(t, next.a.Shutdown(context.Background()), "a clean shutdown hands on what was recovered")
	out := next.sink.emitted()
	require.Len(t, out, 1)
	assert.Equal(t, 3, out[0].SpanCount())
	assert.Equal(t, countTransactions(threeServiceTrace()), countTransactions(out[0]), "the recovered trace is whole")
	assert.Empty(t, storedKeys(t, host, next.a))
}

// TestStorageCrashAfterHandOverSendsTheSameTraceAgain: a crash between the hand-over and the deletion
// (here the deletion fails) recovers the trace, which goes out again with the same spans, whole, so the
// transform derives the same event ids from it (see TestEventIDsOfARecoveredTraceAreTheSame).
func TestStorageCrashAfterHandOverSendsTheSameTraceAgain(t *testing.T) {
	t.Parallel()
	host := startFileStorage(t, t.TempDir())
	h := newStoredHarness(t, storageConfig(), host)
	h.sink.during = func(ptrace.Traces) {
		// The collector dies as the sending queue takes the batch: the deletion never happens.
		require.NoError(t, h.a.store.close(context.Background()))
	}
	batches, sum := workload.Generate(workload.Config{Seed: 4, Traces: 20, BatchSize: 64})
	for _, td := range batches {
		require.NoError(t, h.a.ConsumeTraces(context.Background(), td))
	}
	h.clock.Advance(time.Hour)
	h.a.emitDue(context.Background())
	firstRun := h.sink.emitted()
	checkWhole(t, firstRun, sum)
	crash(t, h.a)

	next := newStoredHarness(t, storageConfig(), host)
	require.NoError(t, next.a.Shutdown(context.Background()))
	secondRun := next.sink.emitted()
	checkWhole(t, secondRun, sum)
	assert.Equal(t, spansByTrace(firstRun), spansByTrace(secondRun), "each trace is sent again with the same spans")
}

// spansByTrace maps each trace id to the sorted span ids the batches hold for it.
func spansByTrace(batches []ptrace.Traces) map[pcommon.TraceID]map[pcommon.SpanID]bool {
	out := map[pcommon.TraceID]map[pcommon.SpanID]bool{}
	for _, p := range census(batches) {
		if out[p.span.TraceID()] == nil {
			out[p.span.TraceID()] = map[pcommon.SpanID]bool{}
		}
		out[p.span.TraceID()][p.span.SpanID()] = true
	}
	return out
}

func TestStorageDamagedEntriesAreDeletedAndLogged(t *testing.T) {
	t.Parallel()
	host := startFileStorage(t, t.TempDir())
	h := newStoredHarness(t, storageConfig(), host)
	require.NoError(t, h.a.ConsumeTraces(context.Background(), threeServiceTrace()))
	crash(t, h.a)
	// Damage the fragment and add a fragment whose table is missing.
	ext := host.extensions[fileStorageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindExporter, component.MustNewID(storageName), storageName)
	require.NoError(t, err)
	var frag string
	require.NoError(t, client.(storage.Walker).Walk(context.Background(), func(key string, _ []byte) ([]*storage.Operation, error) {
		if key[0] == fragmentPrefix {
			frag = key
		}
		return nil, nil
	}))
	require.NotEmpty(t, frag)
	require.NoError(t, client.Set(context.Background(), frag, []byte{0xff, 0xff}))
	require.NoError(t, client.Set(context.Background(), "f"+"00000000000000ff"+"00000000"+"0000", []byte{}))
	require.NoError(t, client.Close(context.Background()))

	next := newStoredHarness(t, storageConfig(), host)
	spans, _, _ := next.held()
	assert.Zero(t, spans)
	assert.Equal(t, []string(nil), storedKeys(t, host, next.a), "damaged entries and their table are deleted")
	require.NoError(t, next.a.Shutdown(context.Background()))
}

func TestStorageStartErrors(t *testing.T) {
	t.Parallel()
	other := component.MustNewID("other_storage")
	tests := []struct {
		name string
		host component.Host
		want string
	}{
		{name: "no host", host: nil, want: "no host"},
		{name: "missing", host: storageHost{}, want: `trace_assembly.storage "file_storage": no such extension`},
		{name: "not storage", host: storageHost{extensions: map[component.ID]component.Component{
			fileStorageID: notStorage{}, other: notStorage{},
		}}, want: "not a storage extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := New(storageConfig(), (&sink{}).consume, nil, nil)
			err := a.Start(context.Background(), tt.host)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			require.NoError(t, a.Shutdown(context.Background()))
		})
	}
}

type notStorage struct{}

func (notStorage) Start(context.Context, component.Host) error { return nil }
func (notStorage) Shutdown(context.Context) error              { return nil }

func TestStorageWriteFailureRefusesTheBatch(t *testing.T) {
	t.Parallel()
	host := startFileStorage(t, t.TempDir())
	h := newStoredHarness(t, storageConfig(), host)
	require.NoError(t, h.a.store.close(context.Background()))
	h.a.store.client = failingClient{}
	err := h.a.ConsumeTraces(context.Background(), threeServiceTrace())
	require.ErrorIs(t, err, errDiskFull)
	assert.Contains(t, err.Error(), `trace_assembly.storage "file_storage": writing 3 spans ahead`)
	spans, traces, _ := h.held()
	assert.Zero(t, spans+traces, "a batch not written ahead is not held")
	h.a.store.client = nil
	require.NoError(t, h.a.Shutdown(context.Background()))
}

var errDiskFull = errors.New("disk full")

type failingClient struct{ storage.Client }

func (failingClient) Batch(context.Context, ...*storage.Operation) error { return errDiskFull }
