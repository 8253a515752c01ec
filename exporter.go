package sentryexporter

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/freelist"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// Version is this exporter's version, sent to Sentry in the client name and user agent, and as the sdk
// version of events whose resource names no OpenTelemetry SDK. It is defined in internal/resource, which
// every signal's mapping shares.
const Version = resource.ExporterVersion

// sdkName identifies this exporter as the sender in envelope headers and auth.
const sdkName = resource.ExporterName

// maxEventBytes is Sentry's limit on one event or transaction payload; it answers 413 above it.
const maxEventBytes = 1 << 20

// sentryExporter is the component: it turns each batch into events and delivers them.
type sentryExporter struct {
	cfg       *Config
	logger    *zap.Logger
	settings  component.TelemetrySettings
	telemetry *metadata.TelemetryBuilder
	// policy decides what becomes of each envelope sent, for traces and logs alike.
	policy delivery.Policy
	// requestSlots bounds the requests in flight over all pushes and projects (see requestSlotsFor).
	requestSlots chan struct{}

	// defaultProject receives what routing does not match; nil when unmatched data is dropped.
	defaultProject *project
	// routes maps a resource attribute value to its project (routing.dsns).
	routes map[string]*project

	// client is built in start and shared by every project's transport.
	client *http.Client
	// workers keeps the sending goroutines' encoders and buffers across pushes.
	workers *freelist.List[*sendWorker]
	// largeBuffers keeps a few buffers for events larger than a worker keeps room for.
	largeBuffers *freelist.List[[]byte]
	// scratch keeps the transform's working memory across pushes, one per push at once.
	scratch *freelist.List[*transform.Scratch]

	// unroutedMu guards the count of dropped unmatched spans, logged once per interval.
	unroutedMu      sync.Mutex
	pendingUnrouted int
	lastUnroutedLog time.Time

	// otlpMissing logs once that Sentry answered 404 at an OTLP endpoint (otlp protocol).
	otlpMissing sync.Once

	// rejectedMu guards the count of items Sentry refused in partial successes, logged once per
	// repairLogInterval (otlp protocol).
	rejectedMu      sync.Mutex
	pendingRejected int
	lastRejectedLog time.Time

	// repairMu guards the repair counts logged once per repairLogInterval.
	repairMu       sync.Mutex
	pendingRepairs sanitize.Counts
	lastRepairLog  time.Time
}

// project is one Sentry project the exporter sends to: its DSN, what the transform needs from it,
// and its own delivery state (rate limits are per project).
type project struct {
	name      string
	dsn       *sentry.Dsn
	opts      transform.Options
	transport *transport.Transport
	// reports collects what the exporter dropped for this project; it rides along with the next
	// envelope as a client report, so Sentry's stats show the loss.
	reports clientreport.Recorder
}

func newProject(name string, dsn *sentry.Dsn, cfg *Config) *project {
	return &project{name: name, dsn: dsn, opts: transformOptions(cfg, dsn)}
}

func newSentryExporter(cfg *Config, set exporter.Settings) (*sentryExporter, error) {
	e := &sentryExporter{
		cfg:          cfg,
		logger:       set.Logger,
		settings:     set.TelemetrySettings,
		policy:       delivery.Policy{Retry: cfg.BackOffConfig},
		requestSlots: make(chan struct{}, requestSlotsFor(cfg)),
	}
	if cfg.DSN != "" {
		dsn, err := parseDSN("dsn", string(cfg.DSN))
		if err != nil {
			return nil, err
		}
		e.defaultProject = newProject("default", dsn, cfg)
	}
	if len(cfg.Routing.DSNs) > 0 {
		e.routes = make(map[string]*project, len(cfg.Routing.DSNs))
		for value, raw := range cfg.Routing.DSNs {
			dsn, err := parseDSN("routing.dsns."+value, string(raw))
			if err != nil {
				return nil, err
			}
			e.routes[value] = newProject(value, dsn, cfg)
		}
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	e.telemetry = tb
	// What is kept idle follows the CPUs, within bounds: each large buffer is up to 1 MiB and each
	// scratch a few MiB, and a many-core host needs no more of them than pushes run at once.
	e.largeBuffers = freelist.New(min(2*runtime.GOMAXPROCS(0), maxIdleLargeBuffers), func() []byte { return nil })
	e.scratch = freelist.New(min(runtime.GOMAXPROCS(0), maxIdleScratches), func() *transform.Scratch { return new(transform.Scratch) })
	// Workers (up to 512 KiB of buffers each) for every project sending at once, but not hundreds
	// for a routing table of many projects.
	idleWorkers := max(e.cfg.MaxRequestsInFlight, min(e.cfg.MaxRequestsInFlight*len(e.projects()), maxIdleWorkers))
	e.workers = freelist.New(idleWorkers, func() *sendWorker { return new(sendWorker) })
	return e, nil
}

// requestSlotsFor is how many requests the exporter has in flight at most, over all pushes and
// projects: what one project reaches when every queue consumer sends max_requests_in_flight at once.
// Routing to many projects then spreads those requests over them instead of multiplying them.
func requestSlotsFor(cfg *Config) int {
	consumers := 1
	if q := cfg.QueueConfig.Get(); q != nil {
		consumers = max(q.NumConsumers, 1)
	}
	return cfg.MaxRequestsInFlight * consumers
}

// takeRequestSlot waits for one of the exporter's request slots, or for ctx to end.
func (e *sentryExporter) takeRequestSlot(ctx context.Context) error {
	select {
	case e.requestSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releaseRequestSlot gives back a slot takeRequestSlot took.
func (e *sentryExporter) releaseRequestSlot() { <-e.requestSlots }

// projects lists every project, the default first.
func (e *sentryExporter) projects() []*project {
	var out []*project
	if e.defaultProject != nil {
		out = append(out, e.defaultProject)
	}
	for _, p := range e.routes {
		out = append(out, p)
	}
	return out
}

// start builds the HTTP client from the http block, so proxies, TLS and headers apply.
func (e *sentryExporter) start(ctx context.Context, host component.Host) error {
	clientCfg := e.cfg.ClientConfig
	if e.cfg.InsecureSkipVerify {
		clientCfg.TLS.InsecureSkipVerify = true
	}
	// The transport compresses bodies itself with pooled encoders; confighttp's wrapper would
	// allocate a fresh encoder and copy buffer per request, and Sentry sends one request per event.
	compression := transport.Compression(clientCfg.Compression)
	if compression == "none" {
		compression = transport.CompressionNone
	}
	level := int(clientCfg.CompressionParams.Level)
	if level == 0 && e.cfg.otlp() {
		level = transport.OTLPDefaultLevel(compression)
	}
	clientCfg.Compression = ""
	clientCfg.CompressionParams = configcompression.CompressionParams{}
	settings := e.settings
	if !e.cfg.HTTPClientTelemetry {
		// confighttp instruments the client only when both providers are set.
		settings.TracerProvider, settings.MeterProvider = nil, nil
	}
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), settings)
	if err != nil {
		return fmt.Errorf("building the HTTP client from http: %w", err)
	}
	e.client = client
	for _, p := range e.projects() {
		if p.transport, err = transport.New(client, p.dsn, sdkName+"/"+Version, compression, level, time.Now); err != nil {
			return fmt.Errorf("http.compression: %w", err)
		}
		e.logDestination(p, compression)
	}
	return nil
}

// logDestination says once at start where a project's data goes, so a wrong host or project id shows
// before anything is missing in Sentry. The DSN's public key is a credential and is never logged.
func (e *sentryExporter) logDestination(p *project, compression transport.Compression) {
	route := "dsn"
	if p != e.defaultProject {
		route = "routing.dsns." + p.name
	}
	prefix := strings.TrimSuffix(p.dsn.GetPath(), "/")
	if prefix == "" {
		prefix = "/"
	}
	protocol := zap.String("protocol", "envelope")
	endpoint := zap.String("endpoint_path", p.dsn.GetAPIURL().Path)
	if e.cfg.otlp() {
		// Spans and logs go to the OTLP endpoint; error events still go to the envelope endpoint.
		protocol = zap.String("protocol", "otlp")
		endpoint = zap.String("endpoint_path", strings.TrimSuffix(p.dsn.GetAPIURL().Path, "envelope/")+"integration/otlp/v1/{traces,logs}")
	}
	e.logger.Info("Sending to Sentry",
		zap.String("route", route),
		zap.String("host", p.dsn.GetHost()),
		zap.Int("port", p.dsn.GetPort()),
		zap.String("scheme", p.dsn.GetScheme()),
		zap.String("project_id", p.dsn.GetProjectID()),
		zap.String("path_prefix", prefix),
		protocol,
		endpoint,
		zap.String("compression", cmp.Or(string(compression), "none")),
	)
}

// shutdown releases connections; exporterhelper has already drained or persisted the queue.
func (e *sentryExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	return nil
}

// sentEvent is one event of a batch and what the transport made of it.
type sentEvent struct {
	event  transform.Event
	result transport.Result
	// oversize marks an event that was not sent because Sentry refuses its size.
	oversize bool
}

// pushTraces sends every event of the batch, several at once, each resource to its project.
// Events that failed transiently or were rate limited go back to exporterhelper as a smaller batch
// holding just their spans, so a retry never resends what Sentry already accepted.
func (e *sentryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	push := e.pushProject
	if e.cfg.otlp() {
		push = e.pushProjectOTLP
	}
	var outcomes []delivery.Outcome[ptrace.Traces]
	if len(e.routes) == 0 {
		outcomes = []delivery.Outcome[ptrace.Traces]{push(ctx, e.defaultProject, td)}
	} else {
		outcomes = delivery.ForEachProject(e.route(ctx, td), func(part routedBatch) delivery.Outcome[ptrace.Traces] {
			return push(ctx, part.project, part.td)
		})
	}
	merged := delivery.Merge(outcomes, ptrace.NewTraces, func(dst, src ptrace.Traces) {
		src.ResourceSpans().MoveAndAppendTo(dst.ResourceSpans())
	})
	return merged.Err(e.logger, "Sentry events", consumererror.NewTraces)
}

// pushProject sends one project's part of a batch.
func (e *sentryExporter) pushProject(ctx context.Context, p *project, td ptrace.Traces) delivery.Outcome[ptrace.Traces] {
	opts := pushOptions(p.opts, td)
	scratch := e.scratch.Get()
	defer func() {
		scratch.Release()
		if scratch.Retainable() {
			e.scratch.Put(scratch)
		}
	}()
	events, repairs := transform.With(scratch, td, opts)
	if len(events) == 0 {
		e.recordRepairs(ctx, &repairs)
		return delivery.Outcome[ptrace.Traces]{}
	}
	sent := e.sendAll(ctx, p, events, &repairs)
	e.recordRepairs(ctx, &repairs)
	return e.settle(ctx, p, td, sent, opts.Now)
}

// routedBatch is the part of a batch that goes to one project.
type routedBatch struct {
	project *project
	td      ptrace.Traces
}

// route splits a batch by routing.attribute. Resources whose value matches no route go to the
// default project, or are dropped (counted and logged) when routing.drop_unmatched is set.
func (e *sentryExporter) route(ctx context.Context, td ptrace.Traces) []routedBatch {
	var parts []routedBatch
	byProject := make(map[*project]int, 2)
	unrouted := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		p := e.projectFor(rs.Resource().Attributes())
		if p == nil {
			unrouted += spanCount(rs)
			continue
		}
		idx, ok := byProject[p]
		if !ok {
			idx = len(parts)
			byProject[p] = idx
			parts = append(parts, routedBatch{project: p, td: ptrace.NewTraces()})
		}
		rs.CopyTo(parts[idx].td.ResourceSpans().AppendEmpty())
	}
	if unrouted > 0 {
		e.recordUnrouted(ctx, unrouted)
	}
	return parts
}

// projectFor is the project a resource's data goes to: its routing.attribute value's, else the
// default (nil when unmatched data is dropped).
func (e *sentryExporter) projectFor(resource pcommon.Map) *project {
	if v, ok := resource.Get(e.cfg.Routing.Attribute); ok {
		if routed, ok := e.routes[v.AsString()]; ok {
			return routed
		}
	}
	return e.defaultProject
}

func spanCount(rs ptrace.ResourceSpans) int {
	n := 0
	for i := 0; i < rs.ScopeSpans().Len(); i++ {
		n += rs.ScopeSpans().At(i).Spans().Len()
	}
	return n
}

// recordUnrouted counts spans dropped by routing.drop_unmatched and logs them once per interval.
func (e *sentryExporter) recordUnrouted(ctx context.Context, spans int) {
	e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(spans), metric.WithAttributes(
		metadata.AttributeCategorySpan.KeyValue(), metadata.AttributeReasonUnrouted.KeyValue()))
	e.unroutedMu.Lock()
	e.pendingUnrouted += spans
	now := time.Now()
	if now.Sub(e.lastUnroutedLog) < repairLogInterval {
		e.unroutedMu.Unlock()
		return
	}
	n := e.pendingUnrouted
	e.pendingUnrouted = 0
	e.lastUnroutedLog = now
	e.unroutedMu.Unlock()
	e.logger.Info("Dropped spans whose resource matches no route (routing.drop_unmatched is set)",
		zap.String("attribute", e.cfg.Routing.Attribute), zap.Int("spans", n))
}

// repairLogInterval is how often repairs are logged at most: they are counted per value, logged
// per interval, so a misbehaving SDK cannot flood the collector's log.
const repairLogInterval = time.Minute

// recordRepairs counts repairs in the metric and logs them once per interval with totals.
func (e *sentryExporter) recordRepairs(ctx context.Context, repairs *sanitize.Counts) {
	if repairs.Total() == 0 {
		return
	}
	repairs.Each(func(k sanitize.Kind, n int) {
		e.telemetry.SentryExporterRepairs.Add(ctx, int64(n), metric.WithAttributes(repairKindAttribute(k)))
	})
	e.repairMu.Lock()
	e.pendingRepairs.Merge(repairs)
	now := time.Now()
	if now.Sub(e.lastRepairLog) < repairLogInterval {
		e.repairMu.Unlock()
		return
	}
	pending := e.pendingRepairs
	e.pendingRepairs = sanitize.Counts{}
	e.lastRepairLog = now
	e.repairMu.Unlock()

	fields := make([]zap.Field, 0, 8)
	pending.Each(func(k sanitize.Kind, n int) { fields = append(fields, zap.Int(k.String(), n)) })
	e.logger.Warn("Repaired span data Sentry would have rejected (counts since the last such message)", fields...)
}

// sendAll delivers events with at most cfg.MaxRequestsInFlight requests at once, and counts the
// values repaired while encoding them in repairs.
func (e *sentryExporter) sendAll(ctx context.Context, p *project, events []transform.Event, repairs *sanitize.Counts) []sentEvent {
	workers := min(e.cfg.MaxRequestsInFlight, len(events))
	perWorker := make([][]sentEvent, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	var repairsMu sync.Mutex
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw := e.workers.Get()
			defer e.workers.Put(sw)
			defer func() {
				repairsMu.Lock()
				repairs.Merge(&sw.repairs)
				repairsMu.Unlock()
				sw.repairs = sanitize.Counts{}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(events) {
					return
				}
				perWorker[w] = e.send(ctx, p, sw, events[i], perWorker[w])
			}
		}()
	}
	wg.Wait()
	out := make([]sentEvent, 0, len(events))
	for _, ds := range perWorker {
		out = append(out, ds...)
	}
	return out
}

// sendWorker is what one sending goroutine reuses from event to event and push to push: the JSON
// encoder and the payload and envelope buffers, so encoding allocates nothing per event.
type sendWorker struct {
	encoder  eventjson.Encoder
	payload  []byte
	envelope []byte
	// repairs counts values repaired while encoding, until sendAll collects them.
	repairs sanitize.Counts
}

// maxRetainedBuffer is the largest buffer a worker keeps for the next event. A push sends with up
// to max_requests_in_flight workers and the sending queue runs several pushes at once, so workers
// that each kept room for Sentry's largest event pinned tens of MiB (BenchmarkPeakHeap). Buffers for
// larger events are shared instead, a few per exporter (see room).
const maxRetainedBuffer = 256 << 10

// Bounds on what the exporter keeps idle between pushes (see newSentryExporter).
const (
	maxIdleLargeBuffers = 8
	maxIdleScratches    = 8
	maxIdleWorkers      = 32
)

// encodedBytesPerSpan estimates a transaction's JSON per span (about 600 bytes on the benchmark
// workload), so a large transaction's buffer is allocated once at about its size instead of
// doubling its way there.
const encodedBytesPerSpan = 640

// room returns buf, emptied, with room for at least n bytes: buf itself when it is large enough,
// else a kept large buffer or a new one.
func (e *sentryExporter) room(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:0]
	}
	if n > maxRetainedBuffer {
		if large := e.largeBuffers.Get(); cap(large) >= n {
			return large[:0]
		}
		return make([]byte, 0, n)
	}
	// Doubling, as append would, so a worker's buffer settles after a few events.
	return make([]byte, 0, max(n, min(2*cap(buf), maxRetainedBuffer)))
}

// trim hands a worker's buffers that grew beyond maxRetainedBuffer to the exporter's few large
// ones, so the worker does not pin them while it sends small events.
func (e *sentryExporter) trim(sw *sendWorker) {
	if cap(sw.payload) > maxRetainedBuffer {
		e.largeBuffers.Put(sw.payload)
		sw.payload = nil
	}
	if cap(sw.envelope) > maxRetainedBuffer {
		e.largeBuffers.Put(sw.envelope)
		sw.envelope = nil
	}
}

// send encodes and posts one event and appends what became of it to out. A transaction too large
// for Sentry, by our measure or by its 413, is split into two linked transactions, each sent in turn,
// so its spans still arrive. buf is reused between the events of one worker.
func (e *sentryExporter) send(ctx context.Context, p *project, sw *sendWorker, ev transform.Event, out []sentEvent) []sentEvent {
	if ctx.Err() != nil {
		return append(out, sentEvent{event: ev, result: transport.Result{Outcome: transport.Retryable, Err: ctx.Err()}})
	}
	if until, limited := p.transport.Wait(ctx, ev.Category); limited {
		// Held without encoding: it goes back to exporterhelper to wait out the deadline.
		return append(out, sentEvent{event: ev, result: transport.Result{
			Outcome: transport.RateLimited, RetryAt: until,
			Err: fmt.Errorf("category %q rate limited by Sentry", ev.Category),
		}})
	}
	defer e.trim(sw)
	sw.payload = transform.Encode(&sw.encoder, e.room(sw.payload, 4<<10+encodedBytesPerSpan*len(ev.DataSpans)), &ev, &sw.repairs)
	payload := sw.payload
	if len(payload) > maxEventBytes {
		if a, b, ok := transform.Split(ev); ok {
			out = e.send(ctx, p, sw, a, out)
			return e.send(ctx, p, sw, b, out)
		}
		return append(out, sentEvent{event: ev, oversize: true, result: transport.Result{
			Outcome: transport.Permanent,
			Err:     fmt.Errorf("event of %d bytes exceeds Sentry's %d byte limit", len(payload), maxEventBytes),
		}})
	}
	itemType := envelope.TypeTransaction
	if ev.Category == ratelimit.CategoryError {
		itemType = envelope.TypeEvent
	}
	var res transport.Result
	sw.envelope, res = e.post(ctx, p, e.room(sw.envelope, len(payload)+2<<10),
		envelope.Header{EventID: string(ev.Sentry.EventID), Trace: &ev.Sampling},
		envelope.Item{Type: itemType, Payload: payload}, ev.Category)
	if res.StatusCode == http.StatusRequestEntityTooLarge {
		if a, b, ok := transform.Split(ev); ok {
			out = e.send(ctx, p, sw, a, out)
			return e.send(ctx, p, sw, b, out)
		}
		return append(out, sentEvent{event: ev, oversize: true, result: res})
	}
	return append(out, sentEvent{event: ev, result: res})
}

// post sends item to p in one envelope built in buf (returned, possibly grown), with p's pending
// client report riding along, within the exporter's bound on requests in flight, and records the
// request. A request under way is not cut short when ctx ends (the HTTP client's own timeout still
// bounds it): an envelope cancelled mid-flight may already be stored by Sentry, and retrying it,
// regrouped, would store its spans twice. No request starts after ctx ended.
func (e *sentryExporter) post(ctx context.Context, p *project, buf []byte, h envelope.Header, item envelope.Item, category ratelimit.Category) ([]byte, transport.Result) {
	h.SentAt, h.SDKName, h.SDKVersion = time.Now(), sdkName, Version
	items := [2]envelope.Item{item}
	n := 1
	report, haveReport := p.reports.Take(h.SentAt)
	if haveReport {
		items[1] = envelope.Item{Type: envelope.TypeClientReport, Payload: report}
		n = 2
	}
	buf = envelope.Append(buf[:0], h, items[:n]...)
	if err := e.takeRequestSlot(ctx); err != nil {
		if haveReport {
			_ = p.reports.Restore(report)
		}
		return buf, transport.Result{Outcome: transport.Retryable, Err: err}
	}
	res := p.transport.Send(context.WithoutCancel(ctx), buf, category)
	e.releaseRequestSlot()
	if haveReport && res.Outcome != transport.Accepted {
		_ = p.reports.Restore(report) // it did not arrive either; keep its counts for the next envelope
	}
	e.recorder(p).Request(ctx, &res)
	return buf, res
}

// recorder records p's deliveries: the exporter's metrics and p's client reports.
func (e *sentryExporter) recorder(p *project) delivery.Recorder {
	return delivery.Recorder{Telemetry: e.telemetry, Reports: &p.reports}
}

// settle settles each event through the delivery policy and builds the batch exporterhelper
// retries: the spans of the events still owed, each marked with what of it is owed.
func (e *sentryExporter) settle(ctx context.Context, p *project, td ptrace.Traces, sent []sentEvent, pushedAt pcommon.Timestamp) delivery.Outcome[ptrace.Traces] {
	s := delivery.NewSettlement(e.policy, e.recorder(p), pushedAt.AsTime(), "Sentry events")
	var retry map[transform.SpanPosition]transform.Retry
	for i := range sent {
		ev := &sent[i].event
		first := ev.FirstAttempt
		if first == 0 {
			first = pushedAt
		}
		a := delivery.Attempt{
			Category: ev.Category, Items: 1, Spans: len(ev.Positions),
			Result: sent[i].result, Oversize: sent[i].oversize, FirstAttempt: first.AsTime(),
		}
		if s.Add(ctx, i, &a) != delivery.Owed {
			continue
		}
		if retry == nil {
			retry = make(map[transform.SpanPosition]transform.Retry)
		}
		owes := transform.OwesTransaction
		if ev.Category == ratelimit.CategoryError {
			owes = transform.OwesErrors
		}
		for _, pos := range ev.Positions {
			need := owes
			if have, ok := retry[pos]; ok && have.Owes != owes {
				need = "" // both the transaction and the errors of this span
			}
			retry[pos] = transform.Retry{Owes: need, FirstAttempt: first}
		}
	}
	out := s.Outcome()
	if retry == nil {
		return delivery.WithRetry(out, ptrace.Traces{})
	}
	return delivery.WithRetry(out, subsetTraces(td, retry))
}
