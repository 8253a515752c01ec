package sentryexporter

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sending"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// Version is this exporter's version, sent to Sentry in the client name and user agent, and as the sdk
// version of events whose resource names no OpenTelemetry SDK. It is defined in internal/resource, which
// every signal's mapping shares.
const Version = resource.ExporterVersion

// sentryExporter is the component: it routes each batch to its Sentry projects and hands each
// project's part to internal/sending, which transforms, sends and settles it.
type sentryExporter struct {
	cfg       *Config
	logger    *zap.Logger
	settings  component.TelemetrySettings
	telemetry *metadata.TelemetryBuilder

	// defaultProject receives what routing does not match; nil when unmatched data is dropped.
	defaultProject *sending.Project
	// routes maps a resource attribute value to its project (routing.dsns).
	routes map[string]*sending.Project

	// client is built in start and shared by every project's transport.
	client *http.Client

	// unroutedSpans and unroutedLogs count what routing.drop_unmatched dropped, logged once per
	// interval.
	unroutedSpans, unroutedLogs throttledCount
}

func newSentryExporter(cfg *Config, set exporter.Settings) (*sentryExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	e := &sentryExporter{cfg: cfg, logger: set.Logger, settings: set.TelemetrySettings, telemetry: tb}
	projects := len(cfg.Routing.DSNs)
	if cfg.DSN != "" {
		projects++
	}
	shared := sending.NewShared(sending.Settings{
		Logger:             set.Logger,
		Telemetry:          tb,
		Policy:             delivery.Policy{Retry: cfg.BackOffConfig},
		OTLP:               cfg.otlp(),
		ExceptionsAsErrors: cfg.ExceptionsAsErrors,
		SendTransactions:   cfg.SendTransactions,
		RequestsPerPush:    cfg.MaxRequestsInFlight,
		Requests:           requestSlotsFor(cfg),
		Projects:           projects,
	})
	newProject := func(key, name, raw string) (*sending.Project, error) {
		dsn, err := parseDSN(key, raw)
		if err != nil {
			return nil, err
		}
		return sending.NewProject(shared, name, dsn, transformOptions(cfg, dsn)), nil
	}
	if cfg.DSN != "" {
		if e.defaultProject, err = newProject("dsn", "default", string(cfg.DSN)); err != nil {
			return nil, err
		}
	}
	if len(cfg.Routing.DSNs) > 0 {
		e.routes = make(map[string]*sending.Project, len(cfg.Routing.DSNs))
		for value, raw := range cfg.Routing.DSNs {
			if e.routes[value], err = newProject("routing.dsns."+value, value, string(raw)); err != nil {
				return nil, err
			}
		}
	}
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

// projects lists every project, the default first.
func (e *sentryExporter) projects() []*sending.Project {
	var out []*sending.Project
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
		if err := p.Start(client, compression, level); err != nil {
			return fmt.Errorf("http.compression: %w", err)
		}
		e.logDestination(p, compression)
	}
	return nil
}

// logDestination says once at start where a project's data goes, so a wrong host or project id shows
// before anything is missing in Sentry. The DSN's public key is a credential and is never logged.
func (e *sentryExporter) logDestination(p *sending.Project, compression transport.Compression) {
	route := "dsn"
	if p != e.defaultProject {
		route = "routing.dsns." + p.Name
	}
	prefix := strings.TrimSuffix(p.DSN.GetPath(), "/")
	if prefix == "" {
		prefix = "/"
	}
	protocol := zap.String("protocol", "envelope")
	endpoint := zap.String("endpoint_path", p.DSN.GetAPIURL().Path)
	if e.cfg.otlp() {
		// Spans and logs go to the OTLP endpoint; error events still go to the envelope endpoint.
		protocol = zap.String("protocol", "otlp")
		endpoint = zap.String("endpoint_path", strings.TrimSuffix(p.DSN.GetAPIURL().Path, "envelope/")+"integration/otlp/v1/{traces,logs}")
	}
	e.logger.Info("Sending to Sentry",
		zap.String("route", route),
		zap.String("host", p.DSN.GetHost()),
		zap.Int("port", p.DSN.GetPort()),
		zap.String("scheme", p.DSN.GetScheme()),
		zap.String("project_id", p.DSN.GetProjectID()),
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

// pushTraces sends each resource of the batch to its project, projects in parallel. What a project
// still owes (events that failed transiently or were rate limited) goes back to exporterhelper as a
// smaller batch holding just those spans, so a retry never resends what Sentry already accepted.
func (e *sentryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	parts := []routed[ptrace.Traces]{{project: e.defaultProject, data: td}}
	if len(e.routes) > 0 {
		rss := td.ResourceSpans()
		var unrouted int
		parts, unrouted = route(e, rss.Len(), ptrace.NewTraces,
			func(i int) pcommon.Resource { return rss.At(i).Resource() },
			func(i int) int { return spanCount(rss.At(i)) },
			func(i int, to ptrace.Traces) { rss.At(i).CopyTo(to.ResourceSpans().AppendEmpty()) })
		e.recordUnrouted(ctx, &e.unroutedSpans, metadata.AttributeCategorySpan, "spans", unrouted)
	}
	outcomes := delivery.ForEachProject(parts, func(part routed[ptrace.Traces]) delivery.Outcome[ptrace.Traces] {
		return part.project.PushTraces(ctx, part.data)
	})
	merged := delivery.Merge(outcomes, ptrace.NewTraces, func(dst, src ptrace.Traces) {
		src.ResourceSpans().MoveAndAppendTo(dst.ResourceSpans())
	})
	return merged.Err(e.logger, "Sentry events", consumererror.NewTraces)
}

// pushLogs sends log records as Sentry logs, each resource to its project, through the same
// delivery policy as traces (the same rate limits per project, projects in parallel). Records that
// failed transiently go back to exporterhelper on their own.
func (e *sentryExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	parts := []routed[plog.Logs]{{project: e.defaultProject, data: ld}}
	if len(e.routes) > 0 {
		rls := ld.ResourceLogs()
		var unrouted int
		parts, unrouted = route(e, rls.Len(), plog.NewLogs,
			func(i int) pcommon.Resource { return rls.At(i).Resource() },
			func(i int) int { return logCount(rls.At(i)) },
			func(i int, to plog.Logs) { rls.At(i).CopyTo(to.ResourceLogs().AppendEmpty()) })
		e.recordUnrouted(ctx, &e.unroutedLogs, metadata.AttributeCategoryLogItem, "log_records", unrouted)
	}
	outcomes := delivery.ForEachProject(parts, func(part routed[plog.Logs]) delivery.Outcome[plog.Logs] {
		return part.project.PushLogs(ctx, part.data)
	})
	merged := delivery.Merge(outcomes, plog.NewLogs, func(dst, src plog.Logs) {
		src.ResourceLogs().MoveAndAppendTo(dst.ResourceLogs())
	})
	return merged.Err(e.logger, "Sentry logs", consumererror.NewLogs)
}

// routed is the part of a batch that goes to one project.
type routed[B any] struct {
	project *sending.Project
	data    B
}

// route splits a batch of n resources by routing.attribute, for traces and logs alike: each resource is
// copied (copyTo) into its project's part. Resources whose value matches no route go to the default
// project, or are left out when routing.drop_unmatched is set; unrouted is how many items (items(i) of
// resource i) those held.
func route[B any](e *sentryExporter, n int, newBatch func() B, resource func(i int) pcommon.Resource,
	items func(i int) int, copyTo func(i int, to B),
) (parts []routed[B], unrouted int) {
	byProject := make(map[*sending.Project]int, 2)
	for i := range n {
		p := e.projectFor(resource(i).Attributes())
		if p == nil {
			unrouted += items(i)
			continue
		}
		idx, ok := byProject[p]
		if !ok {
			idx = len(parts)
			byProject[p] = idx
			parts = append(parts, routed[B]{project: p, data: newBatch()})
		}
		copyTo(i, parts[idx].data)
	}
	return parts, unrouted
}

// projectFor is the project a resource's data goes to: its routing.attribute value's, else the
// default (nil when unmatched data is dropped).
func (e *sentryExporter) projectFor(resource pcommon.Map) *sending.Project {
	if v, ok := resource.Get(e.cfg.Routing.Attribute); ok {
		if routed, ok := e.routes[v.AsString()]; ok {
			return routed
		}
	}
	return e.defaultProject
}

func spanCount(rs ptrace.ResourceSpans) int {
	n := 0
	for _, ss := range rs.ScopeSpans().All() {
		n += ss.Spans().Len()
	}
	return n
}

func logCount(rl plog.ResourceLogs) int {
	n := 0
	for _, sl := range rl.ScopeLogs().All() {
		n += sl.LogRecords().Len()
	}
	return n
}

// recordUnrouted counts items dropped by routing.drop_unmatched and logs them once per interval.
func (e *sentryExporter) recordUnrouted(ctx context.Context, count *throttledCount, category metadata.AttributeCategory, noun string, n int) {
	if n == 0 {
		return
	}
	e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(n), metric.WithAttributes(
		category.KeyValue(), metadata.AttributeReasonUnrouted.KeyValue()))
	if total := count.add(n, time.Now()); total > 0 {
		e.logger.Info("Dropped "+strings.ReplaceAll(noun, "_", " ")+" whose resource matches no route (routing.drop_unmatched is set)",
			zap.String("attribute", e.cfg.Routing.Attribute), zap.Int(noun, total))
	}
}

// throttledCount is a count that is logged at most once per sending.LogInterval, with the total
// since the last message.
type throttledCount struct {
	mu      sync.Mutex
	pending int
	last    time.Time
}

// add adds n and returns the total to log now, or 0 while the last message is recent.
func (c *throttledCount) add(n int, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending += n
	if now.Sub(c.last) < sending.LogInterval {
		return 0
	}
	total := c.pending
	c.pending, c.last = 0, now
	return total
}
