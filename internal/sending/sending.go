// Package sending delivers one Sentry project's part of a batch: it hands traces to the transform (or
// marshals them for Sentry's OTLP endpoint), posts envelopes and OTLP requests within the exporter's
// bound on requests in flight, settles every answer through internal/delivery, and returns what is
// still owed for exporterhelper to retry. Everything the exporter's projects share (workers and their
// buffers, the request bound, throttled logs) lives in one Shared; a Project is one DSN and its own
// delivery state (rate limits and client reports are per project).
package sending

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/freelist"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// userAgent names this exporter in the auth header and the user agent of every request.
const userAgent = resource.ExporterName + "/" + resource.ExporterVersion

// Settings are what the exporter's configuration decides for every project.
type Settings struct {
	Logger    *zap.Logger
	Telemetry *metadata.TelemetryBuilder
	// Policy decides what becomes of each envelope or request sent, for every signal.
	Policy delivery.Policy
	// OTLP sends spans and logs to Sentry's OTLP endpoints (protocol: otlp) instead of envelopes.
	OTLP bool
	// ExceptionsAsErrors and SendTransactions say what the otlp protocol sends of a batch (the
	// transactions protocol reads them from the transform's options).
	ExceptionsAsErrors, SendTransactions bool
	// RequestsPerPush is max_requests_in_flight: how many requests one push has in flight at most.
	RequestsPerPush int
	// Requests is how many requests all pushes to all projects have in flight at most.
	Requests int
	// Projects is how many projects share these settings; it sizes what is kept idle between pushes.
	Projects int
}

// Shared is what every project of one exporter shares: the bound on requests in flight, the sending
// goroutines' buffers, the transform's working memory, and logs that are throttled across projects.
type Shared struct {
	Settings
	// requestSlots bounds the requests in flight over all pushes and projects.
	requestSlots chan struct{}
	// workers keeps the sending goroutines' encoders and buffers across pushes.
	workers *freelist.List[*sendWorker]
	// largeBuffers keeps a few buffers for events larger than a worker keeps room for.
	largeBuffers *freelist.List[[]byte]
	// scratch keeps the transform's working memory across pushes, one per push at once.
	scratch *freelist.List[*transform.Scratch]

	// otlpMissing logs once that Sentry answered 404 at an OTLP endpoint.
	otlpMissing sync.Once

	// rejectedMu guards the count of items Sentry refused in partial successes, logged once per
	// LogInterval.
	rejectedMu      sync.Mutex
	pendingRejected int
	lastRejectedLog time.Time

	// repairMu guards the repair counts logged once per LogInterval.
	repairMu       sync.Mutex
	pendingRepairs sanitize.Counts
	lastRepairLog  time.Time
}

// Bounds on what the exporter keeps idle between pushes (see NewShared).
const (
	maxIdleLargeBuffers = 8
	maxIdleScratches    = 8
	maxIdleWorkers      = 32
)

// LogInterval is how often a recurring loss or repair is logged at most: it is counted as it happens
// and logged per interval with the count since the last message, so a misbehaving SDK cannot flood the
// collector's log.
const LogInterval = time.Minute

// NewShared returns what the projects of one exporter share.
func NewShared(s Settings) *Shared {
	// What is kept idle follows the CPUs, within bounds: each large buffer is up to 1 MiB and each
	// scratch a few MiB, and a many-core host needs no more of them than pushes run at once.
	procs := runtime.GOMAXPROCS(0)
	// Workers (up to 512 KiB of buffers each) for every project sending at once, but not hundreds
	// for a routing table of many projects.
	idleWorkers := max(s.RequestsPerPush, min(s.RequestsPerPush*s.Projects, maxIdleWorkers))
	return &Shared{
		Settings:     s,
		requestSlots: make(chan struct{}, max(s.Requests, 1)),
		workers:      freelist.New(idleWorkers, func() *sendWorker { return new(sendWorker) }),
		largeBuffers: freelist.New(min(2*procs, maxIdleLargeBuffers), func() []byte { return nil }),
		scratch:      freelist.New(min(procs, maxIdleScratches), func() *transform.Scratch { return new(transform.Scratch) }),
	}
}

// Project is one Sentry project the exporter sends to: its DSN, what the transform needs from it,
// and its own delivery state.
type Project struct {
	// Name is the routing value that selects the project ("default" for dsn).
	Name string
	DSN  *sentry.Dsn
	// Options are what the transform takes from the configuration and the DSN.
	Options transform.Options

	shared    *Shared
	transport *transport.Transport
	// reports collects what the exporter dropped for this project; it rides along with the next
	// envelope as a client report, so Sentry's stats show the loss.
	reports clientreport.Recorder
}

// NewProject returns a project that sends with shared; Start must be called before it sends.
func NewProject(shared *Shared, name string, dsn *sentry.Dsn, opts transform.Options) *Project {
	return &Project{Name: name, DSN: dsn, Options: opts, shared: shared}
}

// Start builds the project's transport on the exporter's HTTP client. level 0 is the compression's
// default.
func (p *Project) Start(client *http.Client, compression transport.Compression, level int) error {
	t, err := transport.New(client, p.DSN, userAgent, compression, level, time.Now)
	if err != nil {
		return err
	}
	p.transport = t
	return nil
}

// takeRequestSlot waits for one of the exporter's request slots, or for ctx to end.
func (s *Shared) takeRequestSlot(ctx context.Context) error {
	select {
	case s.requestSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releaseRequestSlot gives back a slot takeRequestSlot took.
func (s *Shared) releaseRequestSlot() { <-s.requestSlots }

// recorder records p's deliveries: the exporter's metrics and p's client reports.
func (p *Project) recorder() delivery.Recorder {
	return delivery.Recorder{Telemetry: p.shared.Telemetry, Reports: &p.reports}
}

// recordRepairs counts repairs in the metric and logs them once per interval with totals.
func (s *Shared) recordRepairs(ctx context.Context, repairs *sanitize.Counts) {
	if repairs.Total() == 0 {
		return
	}
	repairs.Each(func(k sanitize.Kind, n int) {
		s.Telemetry.SentryExporterRepairs.Add(ctx, int64(n), metric.WithAttributes(RepairKindAttribute(k)))
	})
	s.repairMu.Lock()
	s.pendingRepairs.Merge(repairs)
	now := time.Now()
	if now.Sub(s.lastRepairLog) < LogInterval {
		s.repairMu.Unlock()
		return
	}
	pending := s.pendingRepairs
	s.pendingRepairs = sanitize.Counts{}
	s.lastRepairLog = now
	s.repairMu.Unlock()

	fields := make([]zap.Field, 0, 8)
	pending.Each(func(k sanitize.Kind, n int) { fields = append(fields, zap.Int(k.String(), n)) })
	s.Logger.Warn("Repaired span data Sentry would have rejected (counts since the last such message)", fields...)
}

// RepairKindAttribute is the kind attribute of a repair of kind k: metadata.yaml's generated
// constant, so the code cannot emit a value documentation.md does not list.
func RepairKindAttribute(k sanitize.Kind) attribute.KeyValue {
	return metadata.MapAttributeKind[k.String()].KeyValue()
}
