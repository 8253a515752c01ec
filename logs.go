package sentryexporter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sentrylogs"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// logItemContentType is the content type of Sentry's log container item.
const logItemContentType = "application/vnd.sentry.items.log+json"

// pushLogs sends log records as Sentry logs, each resource to its project, through the same
// delivery as traces (the same rate limits per project). Batches that failed transiently go back to
// exporterhelper on their own.
func (e *sentryExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	parts := e.routeLogs(ctx, ld)
	var retry plog.Logs
	var retryErrs, dropErrs []error
	var retryAt time.Time
	throttledOnly := true
	for _, part := range parts {
		failed, at, retryErr, dropErr := e.pushProjectLogs(ctx, part.project, part.ld)
		if dropErr != nil {
			dropErrs = append(dropErrs, dropErr)
		}
		if retryErr == nil {
			continue
		}
		if len(retryErrs) == 0 {
			retry = plog.NewLogs()
		}
		retryErrs = append(retryErrs, retryErr)
		failed.ResourceLogs().MoveAndAppendTo(retry.ResourceLogs())
		switch {
		case at.IsZero():
			throttledOnly = false
		case retryAt.IsZero() || at.Before(retryAt):
			retryAt = at
		}
	}
	if len(retryErrs) == 0 {
		if len(dropErrs) > 0 {
			return consumererror.NewPermanent(errors.Join(dropErrs...))
		}
		return nil
	}
	if len(dropErrs) > 0 {
		e.logger.Warn("Dropping Sentry logs that cannot be delivered", zap.Error(errors.Join(dropErrs...)))
	}
	err := errors.Join(retryErrs...)
	if throttledOnly && !retryAt.IsZero() {
		err = exporterhelper.NewThrottleRetry(err, time.Until(retryAt))
	}
	return consumererror.NewLogs(err, retry)
}

// routedLogs is the part of a logs batch that goes to one project.
type routedLogs struct {
	project *project
	ld      plog.Logs
}

// routeLogs splits logs by routing.attribute, like route does for traces.
func (e *sentryExporter) routeLogs(ctx context.Context, ld plog.Logs) []routedLogs {
	if len(e.routes) == 0 {
		return []routedLogs{{project: e.defaultProject, ld: ld}}
	}
	var parts []routedLogs
	byProject := make(map[*project]int, 2)
	unrouted := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		p := e.projectFor(rl.Resource().Attributes())
		if p == nil {
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				unrouted += rl.ScopeLogs().At(j).LogRecords().Len()
			}
			continue
		}
		idx, ok := byProject[p]
		if !ok {
			idx = len(parts)
			byProject[p] = idx
			parts = append(parts, routedLogs{project: p, ld: plog.NewLogs()})
		}
		rl.CopyTo(parts[idx].ld.ResourceLogs().AppendEmpty())
	}
	if unrouted > 0 {
		e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(unrouted), metric.WithAttributes(
			metadata.AttributeCategoryLogItem.KeyValue(), metadata.AttributeReasonUnrouted.KeyValue()))
	}
	return parts
}

// pushProjectLogs sends one project's logs, one envelope per batch of at most 100 records, and
// returns the records still owed, when they may be retried (zero: with backoff), and the errors.
func (e *sentryExporter) pushProjectLogs(ctx context.Context, p *project, ld plog.Logs) (plog.Logs, time.Time, error, error) {
	batches, stats := sentrylogs.Convert(ld, sentrylogs.Options{Environment: p.opts.environment})
	if stats.Truncated > 0 {
		e.telemetry.SentryExporterRepairs.Add(ctx, int64(stats.Truncated), metric.WithAttributes(metadata.AttributeKindTruncated.KeyValue()))
	}
	category := metadata.AttributeCategoryLogItem.KeyValue()
	if stats.Dropped > 0 {
		e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(stats.Dropped), metric.WithAttributes(category, metadata.AttributeReasonOversize.KeyValue()))
		p.reports.Record(clientreport.ReasonSendError, clientreport.CategoryLogItem, stats.Dropped)
	}
	var (
		failed    []sentrylogs.Position
		retryAt   time.Time
		throttled = true
		lastErr   error
		dropped   int
		dropErr   error
		buf       []byte
	)
	for i := range batches {
		b := &batches[i]
		buf = envelope.Append(buf[:0], envelope.Header{
			SentAt:     time.Now(),
			SDKName:    sdkName,
			SDKVersion: Version,
			// No trace header: Sentry's SDKs send none on log envelopes (each log names its own trace),
			// and a trace header without timestamps makes Spotlight fold the logs into the trace.
		}, envelope.Item{Type: envelope.TypeLog, ContentType: logItemContentType, ItemCount: b.Count, Payload: b.Payload})
		p.transport.Wait(ctx, ratelimit.CategoryLogItem) // a short limit is waited out; a long one Send reports
		if ctx.Err() != nil {
			failed = append(failed, b.Records...)
			lastErr, throttled = ctx.Err(), false
			continue
		}
		// As for traces: a request under way finishes, so its outcome is known (see send).
		res := p.transport.Send(context.WithoutCancel(ctx), buf, ratelimit.CategoryLogItem)
		if res.Sent {
			e.telemetry.SentryExporterRequests.Add(ctx, 1, statusCodeOption(res.StatusCode))
			e.telemetry.SentryExporterRequestDuration.Record(ctx, res.Duration.Seconds())
			e.telemetry.SentryExporterBytesSent.Add(ctx, int64(res.BytesSent))
		}
		switch res.Outcome {
		case transport.Accepted:
			e.telemetry.SentryExporterEnvelopesSent.Add(ctx, 1, metric.WithAttributes(category))
			e.telemetry.SentryExporterLogsSent.Add(ctx, int64(b.Count))
		case transport.Permanent:
			e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(b.Count), metric.WithAttributes(category, metadata.AttributeReasonRejected.KeyValue()))
			dropped += b.Count
			dropErr = res.Err
		default:
			if !e.cfg.BackOffConfig.Enabled {
				e.telemetry.SentryExporterItemsDropped.Add(ctx, int64(b.Count), metric.WithAttributes(category, metadata.AttributeReasonRetriesDisabled.KeyValue()))
				dropped += b.Count
				dropErr = res.Err
				continue
			}
			failed = append(failed, b.Records...)
			lastErr = res.Err
			if res.Outcome != transport.RateLimited {
				throttled = false
			} else if res.RetryAt.After(retryAt) {
				retryAt = res.RetryAt
			}
		}
	}
	var outDrop error
	if dropped > 0 {
		outDrop = fmt.Errorf("%d Sentry logs dropped, not retryable: %w", dropped, dropErr)
	}
	if len(failed) == 0 {
		return plog.Logs{}, time.Time{}, nil, outDrop
	}
	if !throttled {
		retryAt = time.Time{}
	}
	return subsetLogs(ld, failed), retryAt, fmt.Errorf("%d Sentry logs not delivered yet, retrying: %w", len(failed), lastErr), outDrop
}

// subsetLogs copies the records at the given positions into a new batch.
func subsetLogs(ld plog.Logs, positions []sentrylogs.Position) plog.Logs {
	want := make(map[sentrylogs.Position]struct{}, len(positions))
	for _, p := range positions {
		want[p] = struct{}{}
	}
	out := plog.NewLogs()
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		var outRL plog.ResourceLogs
		haveRL := false
		for si := 0; si < rl.ScopeLogs().Len(); si++ {
			sl := rl.ScopeLogs().At(si)
			var outSL plog.ScopeLogs
			haveSL := false
			for li := 0; li < sl.LogRecords().Len(); li++ {
				if _, ok := want[sentrylogs.Position{Resource: int32(ri), Scope: int32(si), Record: int32(li)}]; !ok {
					continue
				}
				if !haveRL {
					outRL = out.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(outRL.Resource())
					outRL.SetSchemaUrl(rl.SchemaUrl())
					haveRL = true
				}
				if !haveSL {
					outSL = outRL.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(outSL.Scope())
					outSL.SetSchemaUrl(sl.SchemaUrl())
					haveSL = true
				}
				sl.LogRecords().At(li).CopyTo(outSL.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}
