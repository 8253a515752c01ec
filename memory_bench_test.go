package sentryexporter

import (
	"context"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// BenchmarkPeakHeap feeds workloads of 1x and 10x the size through the exporter with its default
// configuration (sending queue, retries and trace assembly on; only the DSN set; the otlp cases set
// protocol: otlp, which turns assembly off) and reports the
// peak heap in use while they flow into a local server. Memory should stay flat: what the exporter
// holds is bounded by trace_assembly.max_spans and the queue, not by how much data passes through.
//
//	go test -run '^$' -bench PeakHeap -benchtime 1x .
func BenchmarkPeakHeap(b *testing.B) {
	// One 32k-span workload, sent 10 or 100 times with fresh trace ids, so the data passing through
	// grows tenfold while what the benchmark itself keeps alive does not. A short run ends before the
	// exporter reaches its steady state (assembly holding trace_assembly.wait of data, the queue's
	// consumers busy) and measures that warm-up instead: with 3 rounds (~1 s) the same binary's peak
	// ranged over 90-145 MiB (live 42-64 MiB) from run to run, against 137-155 (64-68) at 30 rounds.
	batches, summary := workload.Generate(workload.Config{Seed: 1, Traces: 900, BatchSize: 512})
	for _, tc := range []struct {
		name     string
		rounds   int
		protocol string
	}{
		{"321k-spans", 10, protocolTransactions}, {"3.2M-spans", 100, protocolTransactions},
		{"otlp/321k-spans", 10, protocolOTLP}, {"otlp/3.2M-spans", 100, protocolOTLP},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				srv := newDiscardServer(b)
				f := NewFactory()
				cfg := f.CreateDefaultConfig().(*Config)
				cfg.DSN = configopaque.String("http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1")
				cfg.TraceAssembly.Wait = 200 * time.Millisecond
				if tc.protocol == protocolOTLP {
					// As configured by a user: assembly is off by default with the otlp protocol.
					cfg.Protocol, cfg.TraceAssembly.Enabled = protocolOTLP, false
				}
				exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
				metrics.Read(live)
				baseLive := live[0].Value.Uint64()

				var peak, peakLive atomic.Uint64
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							var ms runtime.MemStats
							runtime.ReadMemStats(&ms)
							if ms.HeapInuse > peak.Load() {
								peak.Store(ms.HeapInuse)
							}
							metrics.Read(live)
							if v := live[0].Value.Uint64(); v > peakLive.Load() {
								peakLive.Store(v)
							}
						}
					}
				}()
				// Feed at a steady pace the exporter keeps up with, as a collector receives:
				// one 512-span batch every 5 ms, about 100k spans/s.
				for round := range tc.rounds {
					for _, td := range batches {
						own := ptrace.NewTraces()
						td.CopyTo(own)
						renumberTraces(own, byte(round))
						if err := exp.ConsumeTraces(context.Background(), own); err != nil {
							b.Fatal(err)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				if err := exp.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				close(stop)
				wg.Wait()
				// The workload itself is on the heap too; report the peak above the baseline taken
				// after it was generated.
				b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
				// The live heap as of the last collection leaves out garbage awaiting the collector,
				// whose amount depends on when collections happen to run: it is what the exporter holds.
				b.ReportMetric(float64(peakLive.Load()-min(peakLive.Load(), baseLive))/(1<<20), "peak-live-MiB")
				b.ReportMetric(float64(summary.Spans*tc.rounds), "spans")
			}
		})
	}
}

// renumberTraces gives every span of td a trace id of round's own.
func renumberTraces(td ptrace.Traces, round byte) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				id := spans.At(k).TraceID()
				id[0] ^= round
				spans.At(k).SetTraceID(id)
			}
		}
	}
}

// BenchmarkPeakHeapBurst sends a burst of about 105k spans (the workload of issue #23: 32 MiB of OTLP)
// as fast as ConsumeTraces takes it, waits for trace assembly's quiet period to pass so the traces go
// out as they would, and reports the peak heap above the baseline: trace assembly holds the whole burst
// at once, then the sending queue and the transform take it over. The corpus is kept as OTLP bytes and
// decoded batch by batch, as a receiver does, so the benchmark's own data weighs little on the heap.
// Sub-benchmark default is the default configuration with only the DSN set (in-memory sending queue);
// storage is the lossless pipeline of the README (trace_assembly.storage and sending_queue.storage on
// file_storage).
//
//	go test -run '^$' -bench PeakHeapBurst -benchtime 1x .
func BenchmarkPeakHeapBurst(b *testing.B) {
	batches, summary := workload.Generate(workload.Config{Seed: 1, Traces: 3150, BatchSize: 512})
	corpus := make([][]byte, len(batches))
	for i, td := range batches {
		corpus[i] = workload.MarshalOTLP(td)
	}
	for _, storage := range []bool{false, true} {
		name := "default"
		if storage {
			name = "storage"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				peakHeapBurst(b, corpus, summary.Spans, storage)
			}
		})
	}
}

func peakHeapBurst(b *testing.B, corpus [][]byte, spans int, withStorage bool) {
	srv := newDiscardServer(b)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DSN = configopaque.String("http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1")
	set := exportertest.NewNopSettings(f.Type())
	host := component.Host(componenttest.NewNopHost())
	if withStorage {
		storageID := component.MustNewID("file_storage")
		cfg.TraceAssembly.Storage = &storageID
		q := cfg.QueueConfig.Get()
		q.StorageID = &storageID
		h, stop := startFileStorage(b, b.TempDir())
		defer stop()
		host = h
		set.ID = component.NewID(f.Type())
	}
	exp, err := f.CreateTraces(context.Background(), set, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	baseLive := live[0].Value.Uint64()
	var peak, peakLive atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				metrics.Read(samples)
				if v := samples[0].Value.Uint64(); v > peakLive.Load() {
					peakLive.Store(v)
				}
			}
		}
	})
	var unmarshaler ptrace.ProtoUnmarshaler
	for _, body := range corpus {
		td, err := unmarshaler.UnmarshalTraces(body)
		if err != nil {
			b.Fatal(err)
		}
		if err := exp.ConsumeTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	burstPeak, burstLive := peak.Load(), peakLive.Load()
	// The burst goes quiet; assembly emits it one quiet period (and a tick) later.
	time.Sleep(cfg.TraceAssembly.Wait + cfg.TraceAssembly.Wait/2)
	if err := exp.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	close(stop)
	wg.Wait()
	mib := func(v, base uint64) float64 { return float64(v-min(v, base)) / (1 << 20) }
	b.ReportMetric(mib(peak.Load(), base.HeapInuse), "peak-heap-MiB")
	b.ReportMetric(mib(peakLive.Load(), baseLive), "peak-live-MiB")
	b.ReportMetric(mib(burstPeak, base.HeapInuse), "burst-peak-heap-MiB")
	b.ReportMetric(mib(burstLive, baseLive), "burst-peak-live-MiB")
	b.ReportMetric(float64(spans), "spans")
}
