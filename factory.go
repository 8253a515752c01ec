package sentryexporter

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/assembly"
	"github.com/otelsentry/sentryexporter/internal/metadata"
)

// Defaults chosen for Sentry's ingestion: one request per event means many small requests, so
// several run at once over kept-alive connections.
const (
	defaultRequestsInFlight = 8
	defaultHTTPTimeout      = 10 * time.Second
	defaultPushTimeout      = 30 * time.Second
	defaultIdleConnsPerHost = 32
	// gateLimit is how many assembled spans may be in an in-memory sending queue's hands at once, waiting
	// or being pushed (assembly.Gate): four of assembly's batches, enough to keep two CPUs transforming
	// while other pushes wait for Sentry; the rest of a burst waits in assembly, encoded.
	gateLimit = 4096
)

// NewFactory returns the factory of the "sentry" exporter.
func NewFactory() exporter.Factory {
	shared := &sharedExporters{byConfig: make(map[*Config]*sharedExporter)}
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(shared.createTraces, metadata.TracesStability),
		exporter.WithLogs(shared.createLogs, metadata.LogsStability),
	)
}

// sharedExporters lets the traces and logs pipelines of one exporter configuration share one
// sentryExporter, and with it one HTTP client and one set of rate limits per Sentry project: a 429
// for logs must hold back logs sent by the other pipeline too.
type sharedExporters struct {
	mu       sync.Mutex
	byConfig map[*Config]*sharedExporter
}

// sharedExporter counts the pipelines using one sentryExporter.
type sharedExporter struct {
	owner     *sharedExporters
	cfg       *Config
	exp       *sentryExporter
	refs      int
	startOnce sync.Once
	startErr  error
}

func (s *sharedExporters) get(cfg *Config, set exporter.Settings) (*sharedExporter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.byConfig[cfg]; ok {
		sh.refs++
		return sh, nil
	}
	exp, err := newSentryExporter(cfg, set)
	if err != nil {
		return nil, err
	}
	sh := &sharedExporter{owner: s, cfg: cfg, exp: exp, refs: 1}
	s.byConfig[cfg] = sh
	return sh, nil
}

// start starts the shared exporter once, whichever pipeline comes first.
func (sh *sharedExporter) start(ctx context.Context, host component.Host) error {
	sh.startOnce.Do(func() { sh.startErr = sh.exp.start(ctx, host) })
	return sh.startErr
}

// shutdown shuts the exporter down when its last pipeline does.
func (sh *sharedExporter) shutdown(ctx context.Context) error {
	sh.owner.mu.Lock()
	sh.refs--
	last := sh.refs == 0
	if last {
		delete(sh.owner.byConfig, sh.cfg)
	}
	sh.owner.mu.Unlock()
	if !last {
		return nil
	}
	return sh.exp.shutdown(ctx)
}

func (s *sharedExporters) createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	sh, err := s.get(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, sh.exp.pushLogs,
		exporterhelper.WithStart(sh.start),
		exporterhelper.WithShutdown(sh.shutdown),
		// The otlp protocol adds the environment and release Sentry reads (see enrichLogs).
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: c.otlp()}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultHTTPTimeout
	client.Compression = configcompression.TypeGzip
	keepalive := confighttp.NewDefaultKeepaliveClientConfig()
	keepalive.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	client.Keepalive = configoptional.Some(keepalive)

	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = defaultPushTimeout
	return &Config{
		Protocol:            protocolTransactions,
		ExceptionsAsErrors:  true,
		SendTransactions:    true,
		MaxRequestsInFlight: defaultRequestsInFlight,
		Routing:             RoutingConfig{Attribute: "service.name"},
		TraceAssembly:       assembly.DefaultConfig(),
		ClientConfig:        client,
		QueueConfig:         configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig:       configretry.NewDefaultBackOffConfig(),
		TimeoutConfig:       timeout,
	}
}

func (s *sharedExporters) createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	sh, err := s.get(c, set)
	if err != nil {
		return nil, err
	}
	exp := sh.exp
	push := exp.pushTraces
	var gate *assembly.Gate
	if q := c.QueueConfig.Get(); c.TraceAssembly.Enabled && q != nil && q.StorageID == nil {
		gate = assembly.NewGate(gateLimit)
		push = gate.Push(push)
	}
	sender, err := exporterhelper.NewTraces(ctx, set, cfg, push,
		exporterhelper.WithStart(sh.start),
		exporterhelper.WithShutdown(sh.shutdown),
		// With assembly, spans are moved out of the batch into their traces, and the otlp protocol
		// adds the environment and release Sentry reads to resources and spans: the collector then
		// gives this exporter its own copy only when another consumer shares the pipeline.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: c.TraceAssembly.Enabled || c.otlp()}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil || !c.TraceAssembly.Enabled {
		return sender, err
	}
	// Assembly runs before the sending queue, so the queue (persistent or not) holds whole traces
	// and retries never regroup them; see docs/assembly.md.
	next := sender.ConsumeTraces
	if gate != nil {
		next = func(ctx context.Context, td ptrace.Traces) error { return gate.HandOn(ctx, td, sender.ConsumeTraces) }
	}
	return &assemblingExporter{
		Traces: sender,
		assembler: assembly.New(c.TraceAssembly, next, exp.telemetry, set.Logger,
			assembly.WithOwnedInput(), assembly.WithOwner(set.ID)),
	}, nil
}

// assemblingExporter puts trace assembly in front of the exporterhelper pipeline.
type assemblingExporter struct {
	exporter.Traces
	assembler *assembly.Assembler
}

// Start starts the sender first, so that assembled traces (and those recovered from
// trace_assembly.storage) have somewhere to go.
func (a *assemblingExporter) Start(ctx context.Context, host component.Host) error {
	if err := a.Traces.Start(ctx, host); err != nil {
		return err
	}
	return a.assembler.Start(ctx, host)
}

// ConsumeTraces hands the batch to assembly; it reaches the sender when its traces go quiet.
func (a *assemblingExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return a.assembler.ConsumeTraces(ctx, td)
}

// Shutdown emits everything assembly holds into the sender, then shuts the sender down, which
// drains or persists its queue.
func (a *assemblingExporter) Shutdown(ctx context.Context) error {
	return errors.Join(a.assembler.Shutdown(ctx), a.Traces.Shutdown(ctx))
}
