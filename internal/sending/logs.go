package sending

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sentrylogs"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// logItemContentType is the content type of Sentry's log container item.
const logItemContentType = "application/vnd.sentry.items.log+json"

// PushLogs sends the project's part of a logs batch with the configured protocol and settles it
// through the same delivery policy as traces; what is owed is returned as the records to retry.
func (p *Project) PushLogs(ctx context.Context, ld plog.Logs) delivery.Outcome[plog.Logs] {
	if p.shared.OTLP {
		return p.pushLogsOTLP(ctx, ld)
	}
	return p.pushSentryLogs(ctx, ld)
}

// pushSentryLogs sends one project's logs, one envelope per batch of at most 100 records, and
// settles each through the delivery policy; what is owed is returned as the records to retry.
func (p *Project) pushSentryLogs(ctx context.Context, ld plog.Logs) delivery.Outcome[plog.Logs] {
	pushedAt := time.Now()
	batches, stats := sentrylogs.Convert(ld, sentrylogs.Options{Environment: p.Options.Environment})
	if stats.Truncated > 0 {
		p.shared.Telemetry.SentryExporterRepairs.Add(ctx, int64(stats.Truncated), metric.WithAttributes(metadata.AttributeKindTruncated.KeyValue()))
	}
	recorder := p.recorder()
	if stats.Dropped > 0 {
		recorder.Dropped(ctx, ratelimit.CategoryLogItem, stats.Dropped, 0,
			delivery.Drop{Reason: metadata.AttributeReasonOversize, Report: clientreport.ReasonSendError})
	}
	s := delivery.NewSettlement(p.shared.Policy, recorder, pushedAt, "Sentry logs")
	var buf []byte
	for i := range batches {
		b := &batches[i]
		a := delivery.Attempt{Category: ratelimit.CategoryLogItem, Items: b.Count, Result: p.sendLogs(ctx, b, &buf)}
		s.Add(ctx, i, &a)
	}
	out := s.Outcome()
	owed := s.Owed()
	if len(owed) == 0 {
		return delivery.WithRetry(out, plog.Logs{})
	}
	var failed []sentrylogs.Position
	for _, i := range owed {
		failed = append(failed, batches[i].Records...)
	}
	return delivery.WithRetry(out, subsetLogs(ld, failed))
}

// sendLogs posts one batch of logs in an envelope built in buf (with the project's pending client
// report, as trace envelopes carry it) and returns the transport's answer.
func (p *Project) sendLogs(ctx context.Context, b *sentrylogs.Batch, buf *[]byte) transport.Result {
	p.transport.Wait(ctx, ratelimit.CategoryLogItem) // a short limit is waited out; a long one Send reports
	if err := ctx.Err(); err != nil {
		return transport.Result{Outcome: transport.Retryable, Err: err}
	}
	// No trace header: Sentry's SDKs send none on log envelopes (each log names its own trace), and a
	// trace header without timestamps makes Spotlight fold the logs into the trace.
	var res transport.Result
	*buf, res = p.post(ctx, *buf, envelope.Header{},
		envelope.Item{Type: envelope.TypeLog, ContentType: logItemContentType, ItemCount: b.Count, Payload: b.Payload},
		ratelimit.CategoryLogItem)
	return res
}

// subsetLogs copies the records at the given positions into a new batch.
func subsetLogs(ld plog.Logs, positions []sentrylogs.Position) plog.Logs {
	want := make(map[sentrylogs.Position]struct{}, len(positions))
	for _, p := range positions {
		want[p] = struct{}{}
	}
	return copyLogRecords(ld, func(pos sentrylogs.Position, _ int) bool {
		_, ok := want[pos]
		return ok
	})
}

// copyLogRecords copies the records keep accepts, by position or by index in batch order, into a
// new batch with their resources and scopes.
func copyLogRecords(ld plog.Logs, keep func(pos sentrylogs.Position, index int) bool) plog.Logs {
	out := plog.NewLogs()
	index := 0
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
				kept := keep(sentrylogs.Position{Resource: int32(ri), Scope: int32(si), Record: int32(li)}, index)
				index++
				if !kept {
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
