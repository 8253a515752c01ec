package sentryexporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// The benchmarks below run on one deterministic workload of about 100,000 spans in batches of 512, as
// the batch processor cuts them, and report per-span figures so that runs of any length compare:
//
//	go test -run '^$' -bench 'Transform|Encode|Exporter|OTLPHTTP' -benchmem -benchtime 3x .
//
// docs/performance.md records the figures and what they mean.

// benchTraces is the number of traces of the benchmark workload: about 100,000 spans.
const benchTraces = 3000

// benchOptions is a transform configured as the exporter is by default.
var benchOptions = transform.Options{
	Environment:        "bench",
	ExceptionsAsErrors: true,
	SendTransactions:   true,
	PublicKey:          "public",
}

// benchWorkload generates the workload; it is called before the timer starts.
func benchWorkload(b *testing.B) ([]ptrace.Traces, int) {
	b.Helper()
	batches, sum := workload.Generate(workload.Config{Seed: 1, Traces: benchTraces, BatchSize: 512})
	if sum.Spans == 0 {
		b.Fatal("the workload is empty")
	}
	return batches, sum.Spans
}

// assembledBatchSpans is the size of the batches the trace assembler (internal/assembly) emits.
const assembledBatchSpans = 8192

// assembleBatches regroups the workload the way the trace assembler hands it to the exporter: every
// trace whole, in one batch of up to assembledBatchSpans spans (a larger trace alone), one
// ResourceSpans per distinct resource and one ScopeSpans per scope within it. It runs before the
// timer, so it favours brevity over speed.
func assembleBatches(batches []ptrace.Traces) []ptrace.Traces {
	type located struct {
		resource, scope string
		rs              ptrace.ResourceSpans
		ss              ptrace.ScopeSpans
		span            ptrace.Span
	}
	var order []pcommon.TraceID
	byTrace := map[pcommon.TraceID][]located{}
	for _, td := range batches {
		rss := td.ResourceSpans()
		for ri := 0; ri < rss.Len(); ri++ {
			rs := rss.At(ri)
			rk := fmt.Sprint(rs.Resource().Attributes().AsRaw())
			for si := 0; si < rs.ScopeSpans().Len(); si++ {
				ss := rs.ScopeSpans().At(si)
				sk := ss.Scope().Name() + "@" + ss.Scope().Version()
				for pi := 0; pi < ss.Spans().Len(); pi++ {
					span := ss.Spans().At(pi)
					id := span.TraceID()
					if _, seen := byTrace[id]; !seen {
						order = append(order, id)
					}
					byTrace[id] = append(byTrace[id], located{rk, sk, rs, ss, span})
				}
			}
		}
	}
	var out []ptrace.Traces
	var cur ptrace.Traces
	var resources map[string]ptrace.ResourceSpans
	var scopes map[string]ptrace.ScopeSpans
	n := 0
	for _, id := range order {
		spans := byTrace[id]
		if n == 0 || n+len(spans) > assembledBatchSpans {
			cur = ptrace.NewTraces()
			out = append(out, cur)
			resources = map[string]ptrace.ResourceSpans{}
			scopes = map[string]ptrace.ScopeSpans{}
			n = 0
		}
		for _, l := range spans {
			rs, ok := resources[l.resource]
			if !ok {
				rs = cur.ResourceSpans().AppendEmpty()
				l.rs.Resource().CopyTo(rs.Resource())
				resources[l.resource] = rs
			}
			ss, ok := scopes[l.resource+"\x00"+l.scope]
			if !ok {
				ss = rs.ScopeSpans().AppendEmpty()
				l.ss.Scope().CopyTo(ss.Scope())
				scopes[l.resource+"\x00"+l.scope] = ss
			}
			l.span.CopyTo(ss.Spans().AppendEmpty())
		}
		n += len(spans)
	}
	return out
}

// workloadShapes are the two forms the exporter meets the workload in: as the batch processor cuts
// it (traces in fragments) and as the trace assembler emits it (traces whole).
func workloadShapes(b *testing.B) ([]struct {
	name    string
	batches []ptrace.Traces
}, int) {
	b.Helper()
	batches, spans := benchWorkload(b)
	return []struct {
		name    string
		batches []ptrace.Traces
	}{{"batched", batches}, {"assembled", assembleBatches(batches)}}, spans
}

// perSpan measures what a benchmark loop allocates, in the whole process (a local server's work
// included), and reports it per span along with the span throughput.
type perSpan struct {
	spans  int
	before runtime.MemStats
	// excludedMallocs and excludedBytes are what untimed setup inside the loop allocated.
	excludedMallocs, excludedBytes uint64
	// cpuBefore and excludedCPU measure the process's CPU time (user and system, every goroutine:
	// the local server's too). CPU per span is steadier than spans/s on a shared machine, and
	// spans/s over CPU per span shows how much of the machine a benchmark could use.
	cpuBefore, excludedCPU time.Duration
}

// untimed runs setup inside the loop with the timer stopped and leaves its allocations out of the
// figures.
func (m *perSpan) untimed(b *testing.B, setup func()) {
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := processCPU()
	setup()
	m.excludedCPU += processCPU() - cpu
	runtime.ReadMemStats(&after)
	m.excludedMallocs += after.Mallocs - before.Mallocs
	m.excludedBytes += after.TotalAlloc - before.TotalAlloc
	b.StartTimer()
}

// startPerSpan is called right before the benchmark loop; spans is the number of spans one
// iteration handles.
func startPerSpan(spans int) *perSpan {
	m := &perSpan{spans: spans}
	runtime.ReadMemStats(&m.before)
	m.cpuBefore = processCPU()
	return m
}

// report is called right after the loop.
func (m *perSpan) report(b *testing.B) {
	cpu := processCPU() - m.cpuBefore - m.excludedCPU
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(m.spans) * float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/span")
	b.ReportMetric(total/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(after.Mallocs-m.before.Mallocs-m.excludedMallocs)/total, "allocs/span")
	b.ReportMetric(float64(after.TotalAlloc-m.before.TotalAlloc-m.excludedBytes)/total, "B/span")
}

// BenchmarkTransform measures turning pdata into Sentry events, without encoding or I/O.
func BenchmarkTransform(b *testing.B) {
	shapes, spans := workloadShapes(b)
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			b.ReportAllocs()
			events := 0
			m := startPerSpan(spans)
			for b.Loop() {
				events = 0
				for _, td := range shape.batches {
					evs, _ := transform.Traces(td, benchOptions)
					events += len(evs)
				}
			}
			m.report(b)
			b.ReportMetric(float64(events)/float64(spans), "events/span")
		})
	}
}

// BenchmarkEncode measures encoding the transform's events and framing them as envelopes: the
// exporter's json.Marshal and eventjson, alone and together with the transform.
func BenchmarkEncode(b *testing.B) {
	shapes, spans := workloadShapes(b)
	sentAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	frame := func(dst []byte, ev *transform.Event, payload []byte) []byte {
		itemType := envelope.TypeTransaction
		if ev.Category == ratelimit.CategoryError {
			itemType = envelope.TypeEvent
		}
		return envelope.Append(dst, envelope.Header{
			EventID: string(ev.Sentry.EventID), SentAt: sentAt, SDKName: resource.ExporterName, SDKVersion: Version, Trace: &ev.Sampling,
		}, envelope.Item{Type: itemType, Payload: payload})
	}
	encodeJSON := func(b *testing.B, buf []byte, ev *transform.Event) []byte {
		payload, err := json.Marshal(ev.Sentry)
		if err != nil {
			b.Fatal(err)
		}
		return frame(buf[:0], ev, payload)
	}
	var enc eventjson.Encoder
	var payload []byte
	var repairs sanitize.Counts
	encodeEventJSON := func(_ *testing.B, buf []byte, ev *transform.Event) []byte {
		// What the exporter sends: span data written from pdata by encodeEvent.
		payload = transform.Encode(&enc, payload[:0], ev, &repairs)
		return frame(buf[:0], ev, payload)
	}
	for _, shape := range shapes {
		var events []transform.Event
		for _, td := range shape.batches {
			evs, _ := transform.Traces(td, benchOptions)
			events = append(events, evs...)
		}
		for _, bc := range []struct {
			name      string
			transform bool
			encode    func(*testing.B, []byte, *transform.Event) []byte
		}{
			{"json.Marshal", false, encodeJSON},
			{"eventjson", false, encodeEventJSON},
			{"transform+json.Marshal", true, encodeJSON},
			{"transform+eventjson", true, encodeEventJSON},
		} {
			b.Run(shape.name+"/"+bc.name, func(b *testing.B) {
				b.ReportAllocs()
				var buf []byte
				size := 0
				encodeAll := func(evs []transform.Event) {
					for i := range evs {
						buf = bc.encode(b, buf, &evs[i])
						size += len(buf)
					}
				}
				m := startPerSpan(spans)
				for b.Loop() {
					size = 0
					if !bc.transform {
						encodeAll(events)
						continue
					}
					for _, td := range shape.batches {
						evs, _ := transform.Traces(td, benchOptions)
						encodeAll(evs)
					}
				}
				m.report(b)
				b.ReportMetric(float64(size)/float64(spans), "envelope-bytes/span")
			})
		}
	}
}

// cloneBatches deep-copies batches.
func cloneBatches(batches []ptrace.Traces) []ptrace.Traces {
	out := make([]ptrace.Traces, len(batches))
	for i, td := range batches {
		out[i] = ptrace.NewTraces()
		td.CopyTo(out[i])
	}
	return out
}

// discardServer is a local HTTP endpoint that reads every request body, counts its bytes as they
// came over the wire (compressed) and answers 200 with no body.
type discardServer struct {
	*httptest.Server
	bytes    atomic.Int64
	requests atomic.Int64
	// envelopeBytes counts the part of bytes that came as Sentry envelopes (error events and client
	// reports beside the otlp protocol's OTLP requests, or everything of the transactions protocol).
	envelopeBytes atomic.Int64
}

func newDiscardServer(b *testing.B) *discardServer {
	b.Helper()
	s := &discardServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		s.bytes.Add(n)
		if strings.HasSuffix(r.URL.Path, "/envelope/") {
			s.envelopeBytes.Add(n)
		}
		s.requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(s.Close)
	return s
}

// runExporter runs, per iteration, an exporter's whole life: create, start, ConsumeTraces for every
// batch, shut down. Shutdown is inside the loop because it is where trace assembly hands on what it
// still holds; without it, held spans would go unmeasured. It reports throughput, allocations, wire
// bytes and requests per span.
func runExporter(b *testing.B, f exporter.Factory, cfg component.Config, srv *discardServer, batches []ptrace.Traces, spans int) {
	b.Helper()
	ctx := context.Background()
	set := exportertest.NewNopSettings(f.Type())
	b.ReportAllocs()
	srv.bytes.Store(0)
	srv.requests.Store(0)
	srv.envelopeBytes.Store(0)
	m := startPerSpan(spans)
	for b.Loop() {
		exp, err := f.CreateTraces(ctx, set, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		// Every exporter gets fresh batches each round, made untimed: in a collector each batch
		// is decoded anew by a receiver and becomes garbage once exported, and the garbage
		// collector's work on it is part of the run. Ours needs fresh batches anyway (trace
		// assembly moves the spans out); until the second session only ours got them, which made
		// no measurable difference to otlphttp's figures when changed.
		var input []ptrace.Traces
		m.untimed(b, func() { input = cloneBatches(batches) })
		for _, td := range input {
			if err := exp.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		if err := exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b)
	total := float64(spans) * float64(b.N)
	b.ReportMetric(float64(srv.bytes.Load())/total, "wire-bytes/span")
	if envelopes := srv.envelopeBytes.Load(); envelopes < srv.bytes.Load() {
		// OTLP requests (otlphttp, or the otlp protocol beside its error events' envelopes): the
		// spans' OTLP bytes and the envelopes' apart.
		b.ReportMetric(float64(srv.bytes.Load()-envelopes)/total, "otlp-wire-bytes/span")
		b.ReportMetric(float64(envelopes)/total, "envelope-wire-bytes/span")
	}
	b.ReportMetric(float64(srv.requests.Load())/total, "requests/span")
}

// BenchmarkExporter measures the whole exporter, built by its factory, into a local server: queue
// off, retries off, default gzip compression and requests in flight. Three cases:
//   - default: the default configuration, trace assembly on, fed the batches as the batch processor
//     cuts them; this is what a collector runs;
//   - batched: assembly off, same batches, so traces reach the transform in fragments;
//   - assembled: assembly off, fed the batches as assembly would emit them (traces whole), which
//     measures the transform, encoding and delivery of whole traces without assembly's own cost.
func BenchmarkExporter(b *testing.B) {
	shapes, spans := workloadShapes(b)
	batched, assembled := shapes[0].batches, shapes[1].batches
	for _, bc := range []struct {
		name     string
		assembly bool
		batches  []ptrace.Traces
	}{
		{"default", true, batched},
		{"batched", false, batched},
		{"assembled", false, assembled},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := newDiscardServer(b)
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.DSN = configopaque.String("http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1")
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			cfg.BackOffConfig.Enabled = false
			cfg.TraceAssembly.Enabled = bc.assembly
			require.NoError(b, cfg.Validate())
			runExporter(b, f, cfg, srv, bc.batches, spans)
		})
	}
	b.Run("otlp", func(b *testing.B) {
		srv := newDiscardServer(b)
		f := NewFactory()
		runExporter(b, f, otlpBenchConfig(b, f, srv, false), srv, batched, spans)
	})
}

// otlpBenchConfig is the exporter with protocol: otlp, as a user configures it (environment set,
// assembly off by default), with the sending queue on (queued) or off and retries as in the
// otlphttp case it is compared with.
func otlpBenchConfig(b *testing.B, f exporter.Factory, srv *discardServer, queued bool) *Config {
	b.Helper()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DSN = configopaque.String("http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1")
	cfg.Protocol = protocolOTLP
	cfg.Environment = "bench"
	cfg.TraceAssembly.Enabled = false
	if !queued {
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		cfg.BackOffConfig.Enabled = false
	}
	require.NoError(b, cfg.Validate())
	return cfg
}

// BenchmarkOTLPHTTP is the yardstick: the core OTLP/HTTP exporter (protobuf, gzip) forwarding the
// same batches, as the batch processor cuts them, into the same kind of server.
func BenchmarkOTLPHTTP(b *testing.B) {
	batches, spans := benchWorkload(b)
	srv := newDiscardServer(b)
	f := otlphttpexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlphttpexporter.Config)
	cfg.ClientConfig.Endpoint = srv.URL
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	require.NoError(b, cfg.Validate())
	runExporter(b, f, cfg, srv, batches, spans)
}

// TestEventJSONMatchesMarshal checks eventjson against json.Marshal on every event the transform
// makes of the golden workload and of one batch of the benchmark workload, so the two encoders the
// benchmarks compare write the same events.
func TestEventJSONMatchesMarshal(t *testing.T) {
	t.Parallel()
	batches, _ := workload.Generate(workload.Config{Seed: 1, Traces: 40, BatchSize: 512})
	inputs := map[string]ptrace.Traces{"generated batch": batches[0]}
	for seed := range int64(3) {
		inputs["small seed "+strconv.FormatInt(seed, 10)] = workload.Small(seed)
	}
	for name, td := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			events, _ := transform.Traces(td, benchOptions)
			require.NotEmpty(t, events)
			var enc eventjson.Encoder
			for _, ev := range events {
				want, err := json.Marshal(ev.Sentry)
				require.NoError(t, err)
				got := enc.Append(nil, ev.Sentry)
				require.Equal(t, normalizeEventJSON(t, want), normalizeEventJSON(t, got), "event %s\nours: %s", ev.Sentry.EventID, got)
			}
		})
	}
}

// normalizeEventJSON decodes an event and removes what the two encoders write differently on
// purpose: timestamps of the event, its spans and breadcrumbs become microseconds since the epoch (eventjson writes float seconds,
// encoding/json RFC 3339), sentry-go's empty "user" and "sdk" go, its bare exception and breadcrumbs
// arrays take Sentry's {"values": [...]} shape, and a transaction without spans gets eventjson's empty list.
func normalizeEventJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var ev map[string]any
	require.NoError(t, dec.Decode(&ev), "%s", b)
	for _, k := range []string{"exception", "breadcrumbs"} {
		if list, ok := ev[k].([]any); ok {
			ev[k] = map[string]any{"values": list}
		}
	}
	if _, ok := ev["spans"]; !ok && ev["type"] == "transaction" {
		ev["spans"] = []any{}
	}
	for _, k := range []string{"user", "sdk"} {
		if m, ok := ev[k].(map[string]any); ok && len(m) == 0 {
			delete(ev, k)
		}
	}
	times := func(m map[string]any) {
		for _, k := range []string{"timestamp", "start_timestamp"} {
			switch ts := m[k].(type) {
			case string:
				parsed, err := time.Parse(time.RFC3339Nano, ts)
				require.NoError(t, err)
				m[k] = parsed.UnixMicro()
			case json.Number:
				whole, frac, _ := strings.Cut(string(ts), ".")
				sec, err := strconv.ParseInt(whole, 10, 64)
				require.NoError(t, err)
				micros, err := strconv.ParseInt((frac + "000000")[:6], 10, 64)
				require.NoError(t, err)
				m[k] = sec*1_000_000 + micros
			}
		}
	}
	times(ev)
	// The root's data and links are placeholders the exporter's writers fill (eventjson.SpanData,
	// SpanLinks): encoding/json writes their number, eventjson without a writer null. encodeEvent's
	// own output is checked by the golden files.
	if contexts, ok := ev["contexts"].(map[string]any); ok {
		if trace, ok := contexts["trace"].(map[string]any); ok {
			delete(trace, "data")
			delete(trace, "links")
		}
	}
	spans, _ := ev["spans"].([]any)
	for _, item := range spans {
		times(item.(map[string]any))
	}
	if crumbs, ok := ev["breadcrumbs"].(map[string]any); ok {
		list, _ := crumbs["values"].([]any)
		for _, item := range list {
			times(item.(map[string]any))
		}
	}
	return ev
}

// BenchmarkQueued runs both exporters with their default sending queue (10 consumers) and retries
// on, as a collector runs them: pushes then run in parallel, so otlphttp uses every CPU too, not only
// the exporter that sends each push's envelopes in parallel. Shutdown, inside the loop, drains the
// queue, so every span is counted.
func BenchmarkQueued(b *testing.B) {
	batches, spans := benchWorkload(b)
	runDefaultConfigs(b, batches, spans)
}

// runDefaultConfigs runs ours (transactions and otlp protocol) and otlphttp, each in its default
// configuration (sending queue and retries on), on the same batches.
func runDefaultConfigs(b *testing.B, batches []ptrace.Traces, spans int) {
	b.Run("sentry", func(b *testing.B) {
		srv := newDiscardServer(b)
		f := NewFactory()
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.DSN = configopaque.String("http://public@" + strings.TrimPrefix(srv.URL, "http://") + "/1")
		require.NoError(b, cfg.Validate())
		runExporter(b, f, cfg, srv, batches, spans)
	})
	b.Run("otlphttp", func(b *testing.B) {
		srv := newDiscardServer(b)
		f := otlphttpexporter.NewFactory()
		cfg := f.CreateDefaultConfig().(*otlphttpexporter.Config)
		cfg.ClientConfig.Endpoint = srv.URL
		require.NoError(b, cfg.Validate())
		runExporter(b, f, cfg, srv, batches, spans)
	})
	b.Run("sentry-otlp", func(b *testing.B) {
		srv := newDiscardServer(b)
		f := NewFactory()
		runExporter(b, f, otlpBenchConfig(b, f, srv, true), srv, batches, spans)
	})
}

// smallTransactionsWorkload is a service's everyday traffic: traces of four spans (an HTTP server
// span with a database query, a cache read and an outgoing HTTP call under it), one transaction
// each, from five services, cut into batches of 512 spans. Sentry's one-transaction-per-envelope rule
// costs most here: a request for every four spans.
func smallTransactionsWorkload(traces int) ([]ptrace.Traces, int) {
	const spansPerTrace, perBatch = 4, 512
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var batches []ptrace.Traces
	var spans ptrace.SpanSlice
	for i := range traces {
		if i%(perBatch/spansPerTrace) == 0 {
			td := ptrace.NewTraces()
			for s := range 5 {
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", "svc-"+strconv.Itoa(s))
				rs.Resource().Attributes().PutStr("service.version", "1.0.0")
				rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
				rs.Resource().Attributes().PutStr("telemetry.sdk.version", "1.38.0")
				rs.ScopeSpans().AppendEmpty().Scope().SetName("bench")
			}
			batches = append(batches, td)
		}
		spans = batches[len(batches)-1].ResourceSpans().At(i % 5).ScopeSpans().At(0).Spans()
		var traceID pcommon.TraceID
		binary.BigEndian.PutUint64(traceID[8:], uint64(i)+1)
		start := base.Add(time.Duration(i) * time.Millisecond)
		add := func(n int, parent pcommon.SpanID, kind ptrace.SpanKind, name string, from, to time.Duration) ptrace.Span {
			s := spans.AppendEmpty()
			s.SetTraceID(traceID)
			var id pcommon.SpanID
			binary.BigEndian.PutUint64(id[:], uint64(i)*spansPerTrace+uint64(n)+1)
			s.SetSpanID(id)
			s.SetParentSpanID(parent)
			s.SetKind(kind)
			s.SetName(name)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(from)))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(to)))
			return s
		}
		root := add(0, pcommon.SpanID{}, ptrace.SpanKindServer, "GET /items/{id}", 0, 20*time.Millisecond)
		root.Attributes().PutStr("http.request.method", "GET")
		root.Attributes().PutStr("http.route", "/items/{id}")
		root.Attributes().PutInt("http.response.status_code", 200)
		db := add(1, root.SpanID(), ptrace.SpanKindClient, "SELECT items", time.Millisecond, 6*time.Millisecond)
		db.Attributes().PutStr("db.system.name", "postgresql")
		db.Attributes().PutStr("db.query.text", "SELECT * FROM items WHERE id = $1")
		cache := add(2, root.SpanID(), ptrace.SpanKindClient, "GET", 7*time.Millisecond, 8*time.Millisecond)
		cache.Attributes().PutStr("db.system.name", "redis")
		cache.Attributes().PutStr("db.query.text", "GET item:42")
		call := add(3, root.SpanID(), ptrace.SpanKindClient, "GET", 9*time.Millisecond, 18*time.Millisecond)
		call.Attributes().PutStr("http.request.method", "GET")
		call.Attributes().PutStr("url.full", "http://pricing:8080/prices/42")
		call.Attributes().PutInt("http.response.status_code", 200)
	}
	return batches, traces * spansPerTrace
}

// BenchmarkSmallTransactions runs both exporters with their default configuration (sending queue on,
// retries on, trace assembly on for ours) on smallTransactionsWorkload.
func BenchmarkSmallTransactions(b *testing.B) {
	batches, spans := smallTransactionsWorkload(benchTraces * 4)
	runDefaultConfigs(b, batches, spans)
}
