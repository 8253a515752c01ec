package sentryexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// Version is this exporter's version, sent to Sentry in the client name and user agent.
const Version = "0.1.0"

// sdkName identifies this exporter as the sender in envelope headers and auth.
const sdkName = "sentry.otel.collector-exporter"

// maxEventBytes is Sentry's limit on one event or transaction payload; it answers 413 above it.
const maxEventBytes = 1 << 20

// sentryExporter is the component: it turns each batch into events and delivers them.
type sentryExporter struct {
	cfg       *Config
	logger    *zap.Logger
	settings  component.TelemetrySettings
	telemetry *metadata.TelemetryBuilder
	dsn       *sentry.Dsn
	opts      transformOptions

	// client and transport are built in start.
	client    *http.Client
	transport *transport.Transport

	// repairMu guards the repair counts logged once per repairLogInterval.
	repairMu       sync.Mutex
	pendingRepairs sanitize.Counts
	lastRepairLog  time.Time
}

func newSentryExporter(cfg *Config, set exporter.Settings) (*sentryExporter, error) {
	dsn, err := parseDSN(string(cfg.DSN))
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	opts := transformOptions{
		environment:        cfg.Environment,
		exceptionsAsErrors: cfg.ExceptionsAsErrors,
		sendTransactions:   cfg.SendTransactions,
		publicKey:          dsn.GetPublicKey(),
	}
	if org := dsn.GetOrgID(); org != 0 {
		opts.orgID = fmt.Sprint(org)
	}
	return &sentryExporter{
		cfg:       cfg,
		logger:    set.Logger,
		settings:  set.TelemetrySettings,
		telemetry: tb,
		dsn:       dsn,
		opts:      opts,
	}, nil
}

// start builds the HTTP client from the http block, so proxies, TLS and headers apply.
func (e *sentryExporter) start(ctx context.Context, host component.Host) error {
	clientCfg := e.cfg.ClientConfig
	if e.cfg.InsecureSkipVerify {
		clientCfg.TLS.InsecureSkipVerify = true
	}
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("building the HTTP client from http: %w", err)
	}
	e.client = client
	e.transport = transport.New(client, e.dsn, sdkName+"/"+Version, time.Now)
	return nil
}

// shutdown releases connections; exporterhelper has already drained or persisted the queue.
func (e *sentryExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	return nil
}

// delivery is what became of one event of a batch.
type delivery struct {
	event  sentryEvent
	result transport.Result
	// oversize marks an event that was not sent because Sentry refuses its size.
	oversize bool
}

// pushTraces sends every event of the batch, several at once. Events that failed transiently or
// were rate limited go back to exporterhelper as a smaller batch holding just their spans, so a
// retry never resends what Sentry already accepted.
func (e *sentryExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	opts := e.opts
	opts.now = pcommon.NewTimestampFromTime(time.Now())
	events, repairs := transformTraces(td, opts)
	e.recordRepairs(ctx, &repairs)
	if len(events) == 0 {
		return nil
	}
	return e.settle(td, len(events), e.sendAll(ctx, events))
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
		e.telemetry.SentryExporterRepairs.Add(ctx, int64(n), metric.WithAttributes(attribute.String("kind", k.String())))
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

// sendAll delivers events with at most cfg.MaxRequestsInFlight requests at once.
func (e *sentryExporter) sendAll(ctx context.Context, events []sentryEvent) []delivery {
	workers := min(e.cfg.MaxRequestsInFlight, len(events))
	perWorker := make([][]delivery, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= len(events) {
					return
				}
				buf, perWorker[w] = e.send(ctx, events[i], buf, perWorker[w])
			}
		}()
	}
	wg.Wait()
	out := make([]delivery, 0, len(events))
	for _, ds := range perWorker {
		out = append(out, ds...)
	}
	return out
}

// send encodes and posts one event and appends what became of it to out. A transaction too large
// for Sentry, by our measure or by its 413, is split into two linked transactions, each sent in turn,
// so its spans still arrive. buf is reused between the events of one worker.
func (e *sentryExporter) send(ctx context.Context, ev sentryEvent, buf []byte, out []delivery) ([]byte, []delivery) {
	if ctx.Err() != nil {
		return buf, append(out, delivery{event: ev, result: transport.Result{Outcome: transport.Retryable, Err: ctx.Err()}})
	}
	if until, limited := e.transport.Limits().Until(ev.category); limited {
		// Held without encoding: it goes back to exporterhelper to wait out the deadline.
		return buf, append(out, delivery{event: ev, result: transport.Result{
			Outcome: transport.RateLimited, RetryAt: until,
			Err: fmt.Errorf("category %q rate limited by Sentry", ev.category),
		}})
	}
	payload, err := json.Marshal(ev.event)
	if err != nil {
		return buf, append(out, delivery{event: ev, result: transport.Result{Outcome: transport.Permanent, Err: fmt.Errorf("encoding event: %w", err)}})
	}
	if len(payload) > maxEventBytes {
		if a, b, ok := splitTransaction(ev); ok {
			buf, out = e.send(ctx, a, buf, out)
			return e.send(ctx, b, buf, out)
		}
		return buf, append(out, delivery{event: ev, oversize: true, result: transport.Result{
			Outcome: transport.Permanent,
			Err:     fmt.Errorf("event of %d bytes exceeds Sentry's %d byte limit", len(payload), maxEventBytes),
		}})
	}
	itemType := envelope.TypeTransaction
	if ev.category == ratelimit.CategoryError {
		itemType = envelope.TypeEvent
	}
	buf = envelope.Append(buf[:0], envelope.Header{
		EventID:    string(ev.event.EventID),
		SentAt:     time.Now(),
		SDKName:    sdkName,
		SDKVersion: Version,
		Trace:      &ev.sampling,
	}, envelope.Item{Type: itemType, Payload: payload})

	res := e.transport.Send(ctx, buf, ev.category)
	if res.Sent {
		e.telemetry.SentryExporterRequests.Add(ctx, 1, metric.WithAttributes(attribute.Int("status_code", res.StatusCode)))
		e.telemetry.SentryExporterRequestDuration.Record(ctx, res.Duration.Seconds())
		e.telemetry.SentryExporterBytesSent.Add(ctx, int64(res.BytesSent))
	}
	if res.StatusCode == http.StatusRequestEntityTooLarge {
		if a, b, ok := splitTransaction(ev); ok {
			buf, out = e.send(ctx, a, buf, out)
			return e.send(ctx, b, buf, out)
		}
		return buf, append(out, delivery{event: ev, oversize: true, result: res})
	}
	return buf, append(out, delivery{event: ev, result: res})
}

// settle counts what was delivered and dropped and decides what exporterhelper retries.
func (e *sentryExporter) settle(td ptrace.Traces, events int, deliveries []delivery) error {
	ctx := context.Background()
	var (
		retry       map[spanPosition]string
		retryAt     time.Time
		retryErr    error
		retryCount  int
		dropped     int
		droppedErrs []error
	)
	for i := range deliveries {
		d := &deliveries[i]
		ev := &d.event
		category := attribute.String("category", string(ev.category))
		switch d.result.Outcome {
		case transport.Accepted:
			e.telemetry.SentryExporterEnvelopesSent.Add(ctx, 1, metric.WithAttributes(category))
			if ev.category == ratelimit.CategoryTransaction {
				e.telemetry.SentryExporterSpansSent.Add(ctx, int64(len(ev.spans)))
			}
		case transport.Permanent:
			reason := "rejected"
			if d.oversize {
				reason = "oversize"
			}
			e.telemetry.SentryExporterItemsDropped.Add(ctx, 1, metric.WithAttributes(category, attribute.String("reason", reason)))
			dropped++
			if len(droppedErrs) < 3 {
				droppedErrs = append(droppedErrs, d.result.Err)
			}
		default:
			if retry == nil {
				retry = make(map[spanPosition]string)
			}
			need := resendTransaction
			if ev.category == ratelimit.CategoryError {
				need = resendErrors
			}
			for _, p := range ev.spans {
				if have, ok := retry[p]; ok && have != need {
					need = "" // both the transaction and the errors of this span
				}
				retry[p] = need
			}
			retryCount++
			retryErr = d.result.Err
			if d.result.Outcome == transport.RateLimited && d.result.RetryAt.After(retryAt) {
				retryAt = d.result.RetryAt
			}
		}
	}
	if dropped > 0 {
		dropErr := fmt.Errorf("%d of %d Sentry events dropped, not retryable: %w", dropped, events, errors.Join(droppedErrs...))
		if retry == nil {
			return consumererror.NewPermanent(dropErr)
		}
		// The retryable part is returned below; the dropped part is reported here, once.
		e.logger.Warn("Dropping Sentry events that cannot be delivered", zap.Int("dropped", dropped), zap.Error(dropErr))
	}
	if retry == nil {
		return nil
	}
	err := fmt.Errorf("%d of %d Sentry events not delivered yet, retrying: %w", retryCount, events, retryErr)
	if !retryAt.IsZero() {
		err = exporterhelper.NewThrottleRetry(err, time.Until(retryAt))
	}
	return consumererror.NewTraces(err, subsetTraces(td, retry))
}

// subsetTraces copies the spans at the given positions into a new batch, each marked with what of it
// still has to be sent.
func subsetTraces(td ptrace.Traces, retry map[spanPosition]string) ptrace.Traces {
	out := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		var outRS ptrace.ResourceSpans
		haveRS := false
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			ss := sss.At(si)
			var outSS ptrace.ScopeSpans
			haveSS := false
			spans := ss.Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				need, ok := retry[spanPosition{resource: int32(ri), scope: int32(si), span: int32(pi)}]
				if !ok {
					continue
				}
				if !haveRS {
					outRS = out.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(outRS.Resource())
					outRS.SetSchemaUrl(rs.SchemaUrl())
					haveRS = true
				}
				if !haveSS {
					outSS = outRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(outSS.Scope())
					outSS.SetSchemaUrl(ss.SchemaUrl())
					haveSS = true
				}
				span := outSS.Spans().AppendEmpty()
				spans.At(pi).CopyTo(span)
				if need == "" {
					span.Attributes().Remove(resendAttribute)
				} else {
					span.Attributes().PutStr(resendAttribute, need)
				}
			}
		}
	}
	return out
}
