package sending

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/zap"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sentrylogs"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// The otlp protocol (protocol: otlp) sends each project's part of a batch to Sentry's OTLP endpoint in
// one request, marshaled by pdata, and the error events of its exceptions in envelopes beside it, as
// the transactions protocol does. Both settle through the same delivery policy.

// attrSentryRelease is the span and log attribute Sentry reads a release from. Relay maps resource
// attributes to "resource.<key>" attributes, and its conventions derive the environment from
// resource.deployment.environment(.name) but the release only from sentry.release (or its aliases
// service.version and release) on the span or log itself.
const attrSentryRelease = "sentry.release"

// otlpBody is one signal's batch as the otlp protocol sends it: items (spans or log records) in their
// order in the batch, any range of which marshals into one request body.
type otlpBody struct {
	signal     transport.Signal
	categories [2]ratelimit.Category
	items      int
	// marshal encodes the items [lo, hi) as an OTLP export request.
	marshal func(lo, hi int) ([]byte, error)
	// rejected reads a 2xx answer's partial success: how many items Sentry refused, and why.
	rejected func(response []byte) (int64, string)
}

// otlpPart is one request of an otlpBody and what came of it: all its items, or a half of them after
// Sentry answered 413.
type otlpPart struct {
	lo, hi   int
	result   transport.Result
	oversize bool
	// rejected is how many of the part's items Sentry refused in a partial success.
	rejected int64
	message  string
}

// sendOTLP posts the items [lo, hi) of b to p's OTLP endpoint and appends what came of it to out. A
// body Sentry refuses as too large (413) is split in halves, each sent in turn, until a single item is
// refused.
func (p *Project) sendOTLP(ctx context.Context, b *otlpBody, lo, hi int, out []otlpPart) []otlpPart {
	part := otlpPart{lo: lo, hi: hi}
	if err := ctx.Err(); err != nil {
		part.result = transport.Result{Outcome: transport.Retryable, Err: err}
		return append(out, part)
	}
	for _, c := range b.categories {
		if until, limited := p.transport.Wait(ctx, c); limited {
			// Held without marshaling: it goes back to exporterhelper to wait out the deadline.
			part.result = transport.Result{Outcome: transport.RateLimited, RetryAt: until,
				Err: fmt.Errorf("category %q rate limited by Sentry", c)}
			return append(out, part)
		}
	}
	body, err := b.marshal(lo, hi)
	if err != nil {
		part.result = transport.Result{Outcome: transport.Permanent, Err: fmt.Errorf("marshaling OTLP %s: %w", b.signal, err)}
		return append(out, part)
	}
	// As for envelopes (see post): within the exporter's bound on requests in flight, and a request
	// under way finishes, so its outcome is known.
	if err := p.shared.takeRequestSlot(ctx); err != nil {
		part.result = transport.Result{Outcome: transport.Retryable, Err: err}
		return append(out, part)
	}
	part.result = p.transport.SendOTLP(context.WithoutCancel(ctx), b.signal, body, b.categories[:]...)
	p.shared.releaseRequestSlot()
	p.recorder().Request(ctx, &part.result)
	switch {
	case part.result.StatusCode == http.StatusRequestEntityTooLarge && hi-lo > 1:
		mid := lo + (hi-lo)/2
		out = p.sendOTLP(ctx, b, lo, mid, out)
		return p.sendOTLP(ctx, b, mid, hi, out)
	case part.result.StatusCode == http.StatusRequestEntityTooLarge:
		part.oversize = true
	case part.result.StatusCode == http.StatusNotFound:
		p.shared.otlpMissing.Do(func() {
			p.shared.Logger.Error("Sentry has no OTLP endpoint for this project: a self-hosted Sentry before 25.10, or one "+
				"without the OTLP feature flags (docs/protocols.md); use protocol: transactions there",
				zap.String("url_path", otlpPath(p.transport.OTLPURL(b.signal))), zap.Error(part.result.Err))
		})
	case part.result.Outcome == transport.Accepted && len(part.result.Response) > 0:
		part.rejected, part.message = b.rejected(part.result.Response)
		part.rejected = min(max(part.rejected, 0), int64(hi-lo))
	}
	return append(out, part)
}

// settleOTLP settles the parts of one OTLP body (attempts 0 to len(parts)-1 of s) and returns the
// ranges of items still owed. A partial success is delivered, less what Sentry refused, which is
// counted as dropped.
func (p *Project) settleOTLP(ctx context.Context, s *delivery.Settlement, b *otlpBody, parts []otlpPart, firstAttempt time.Time) (owed [][2]int) {
	for i := range parts {
		part := &parts[i]
		n := part.hi - part.lo
		a := delivery.Attempt{Category: b.categories[0], Items: n, Result: part.result, Oversize: part.oversize, FirstAttempt: firstAttempt}
		if part.rejected > 0 {
			// Sentry counted what it refused itself: it is recorded as dropped, not reported.
			a.Items -= int(part.rejected)
			p.recorder().Dropped(ctx, b.categories[0], int(part.rejected), 0, delivery.Drop{Reason: metadata.AttributeReasonRejected})
			p.shared.logRejected(b.signal, int(part.rejected), part.message)
		}
		if b.categories[0] == ratelimit.CategorySpan {
			a.Spans = a.Items
		}
		if s.Add(ctx, i, &a) == delivery.Owed {
			owed = append(owed, [2]int{part.lo, part.hi})
		}
	}
	return owed
}

// otlpPath is the path of an OTLP endpoint URL, for logs: the host is in the start-up line already.
func otlpPath(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Path
	}
	return ""
}

// logRejected logs items Sentry refused in a partial success, at most once per LogInterval
// with the count since the last message (they are counted in items_dropped as they come).
func (s *Shared) logRejected(signal transport.Signal, n int, message string) {
	s.rejectedMu.Lock()
	s.pendingRejected += n
	now := time.Now()
	if now.Sub(s.lastRejectedLog) < LogInterval {
		s.rejectedMu.Unlock()
		return
	}
	total := s.pendingRejected
	s.pendingRejected = 0
	s.lastRejectedLog = now
	s.rejectedMu.Unlock()
	s.Logger.Warn("Sentry rejected part of an OTLP request (partial success); counted in items_dropped with reason rejected",
		zap.String("signal", string(signal)), zap.Int("items", total), zap.String("error_message", message))
}

// pushTracesOTLP sends one project's part of a batch with the otlp protocol: the error events of its
// exceptions in envelopes and, at the same time, its spans in one OTLP request.
func (p *Project) pushTracesOTLP(ctx context.Context, td ptrace.Traces) delivery.Outcome[ptrace.Traces] {
	opts := p.pushOptions(td) // a retried batch's markers are read off here
	pushedAt := opts.Now

	var repairs sanitize.Counts
	var sent []sentEvent
	var sending sync.WaitGroup
	if p.shared.ExceptionsAsErrors {
		if traces := transform.ExceptionTraces(td); len(traces) > 0 {
			scratch := p.shared.scratch.Get()
			defer p.shared.releaseScratch(scratch)
			var events []transform.Event
			events, repairs = transform.ErrorEvents(scratch, td, traces, opts)
			// The events are built: nothing reads the batch for them any more, so it may be
			// enriched below while they are sent.
			if len(events) > 0 {
				sending.Go(func() { sent = p.sendAll(ctx, events, &repairs) })
			}
		}
	}

	var body *otlpBody
	var parts []otlpPart
	var positions func() []transform.SpanPosition
	if p.shared.SendTransactions && td.SpanCount() > 0 {
		enrichTraces(td, p.Options.Environment)
		body, positions = otlpTraceBody(td, opts.Retry)
		if body.items > 0 {
			parts = p.sendOTLP(ctx, body, 0, body.items, nil)
		}
	}
	sending.Wait()
	p.shared.recordRepairs(ctx, &repairs)

	s := delivery.NewSettlement(p.shared.Policy, p.recorder(), pushedAt.AsTime(), "Sentry spans and events")
	var owed owedSpans
	if body != nil {
		first := firstAttemptOf(opts.Retry, pushedAt)
		if ranges := p.settleOTLP(ctx, s, body, parts, first.AsTime()); len(ranges) > 0 {
			all := positions()
			for _, r := range ranges {
				for _, pos := range all[r[0]:r[1]] {
					// OwesTransaction is what the transactions protocol owes as a transaction, and
					// the otlp protocol as a span: everything of it but its error events.
					owed.mark(pos, transform.OwesTransaction, first)
				}
			}
		}
	}
	for i := range sent {
		ev := &sent[i].event
		first := ev.FirstAttempt
		if first == 0 {
			first = pushedAt
		}
		a := delivery.Attempt{Category: ev.Category, Items: 1, Result: sent[i].result, Oversize: sent[i].oversize, FirstAttempt: first.AsTime()}
		if s.Add(ctx, len(parts)+i, &a) == delivery.Owed {
			owed.markEvent(ev, first)
		}
	}
	// What this push dropped reaches Sentry now, not with some later envelope.
	p.sendClientReport(ctx)
	return owed.outcome(s.Outcome(), td)
}

// firstAttemptOf is when the spans of a retried batch were first sent (the earliest), or now for a
// first attempt.
func firstAttemptOf(retry map[transform.SpanPosition]transform.Retry, now pcommon.Timestamp) pcommon.Timestamp {
	first := now
	for _, r := range retry {
		if r.FirstAttempt != 0 && r.FirstAttempt < first {
			first = r.FirstAttempt
		}
	}
	return first
}

// otlpTraceBody is what of td goes to Sentry's OTLP traces endpoint, and a function listing the
// positions in td of its spans, in order (for the retry). A first attempt sends td as it is; a retried
// batch leaves out the spans that owe only their error events.
func otlpTraceBody(td ptrace.Traces, retry map[transform.SpanPosition]transform.Retry) (*otlpBody, func() []transform.SpanPosition) {
	var positions []transform.SpanPosition
	listed := false
	list := func() []transform.SpanPosition {
		if !listed {
			transform.ForEachSpan(td, func(pos transform.SpanPosition, _ ptrace.Span) {
				if retry[pos].Owes != transform.OwesErrors {
					positions = append(positions, pos)
				}
			})
			listed = true
		}
		return positions
	}
	whole := true
	for _, r := range retry {
		if r.Owes == transform.OwesErrors {
			whole = false
			break
		}
	}
	items := td.SpanCount()
	if !whole {
		items = len(list())
	}
	b := &otlpBody{
		signal:     transport.SignalTraces,
		categories: [2]ratelimit.Category{ratelimit.CategorySpan, ratelimit.CategoryTransaction},
		items:      items,
		rejected: func(response []byte) (int64, string) {
			resp := ptraceotlp.NewExportResponse()
			if resp.UnmarshalProto(response) != nil {
				return 0, ""
			}
			return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage()
		},
	}
	b.marshal = func(lo, hi int) ([]byte, error) {
		if whole && lo == 0 && hi == items {
			return ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		}
		return ptraceotlp.NewExportRequestFromTraces(copySpans(td, list()[lo:hi])).MarshalProto()
	}
	return b, list
}

// copySpans copies the spans at positions (in batch order) into a new batch.
func copySpans(td ptrace.Traces, positions []transform.SpanPosition) ptrace.Traces {
	out := ptrace.NewTraces()
	lastResource, lastScope := int32(-1), int32(-1)
	var outRS ptrace.ResourceSpans
	var outSS ptrace.ScopeSpans
	for _, pos := range positions {
		rs := td.ResourceSpans().At(int(pos.Resource))
		if pos.Resource != lastResource {
			outRS = out.ResourceSpans().AppendEmpty()
			rs.Resource().CopyTo(outRS.Resource())
			outRS.SetSchemaUrl(rs.SchemaUrl())
			lastResource, lastScope = pos.Resource, -1
		}
		ss := rs.ScopeSpans().At(int(pos.Scope))
		if pos.Scope != lastScope {
			outSS = outRS.ScopeSpans().AppendEmpty()
			ss.Scope().CopyTo(outSS.Scope())
			outSS.SetSchemaUrl(ss.SchemaUrl())
			lastScope = pos.Scope
		}
		ss.Spans().At(int(pos.Span)).CopyTo(outSS.Spans().AppendEmpty())
	}
	return out
}

// enrichTraces adds what Sentry's OTLP mapping needs to show a span's environment and release as the
// transactions protocol shows them: deployment.environment.name on resources that name no environment
// (the environment setting; Relay reads it from the resource), and sentry.release on every span of a
// resource with a release (service.name@service.version, which Relay reads from the span only). What
// the data already says is kept. The batch is this exporter's to change (MutatesData).
func enrichTraces(td ptrace.Traces, environment string) {
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		release := enrichResource(rs.Resource().Attributes(), environment)
		if release == "" {
			continue
		}
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				putRelease(spans.At(pi).Attributes(), release)
			}
		}
	}
}

// enrichResource sets the default environment on a resource that names none and returns the
// resource's release as the transactions protocol names it ("" without service.version).
func enrichResource(attrs pcommon.Map, environment string) string {
	if environment != "" {
		_, named := attrs.Get(resource.AttrEnvironment)
		if _, legacy := attrs.Get(resource.AttrEnvironmentLegacy); !named && !legacy {
			attrs.PutStr(resource.AttrEnvironment, environment)
		}
	}
	version, ok := attrs.Get(resource.AttrServiceVersion)
	if !ok || version.AsString() == "" {
		return ""
	}
	var repairs sanitize.Counts
	if name, ok := attrs.Get(resource.AttrServiceName); ok && name.AsString() != "" {
		return resource.Release(name.AsString()+"@"+version.AsString(), &repairs)
	}
	return resource.Release(version.AsString(), &repairs)
}

// putRelease sets sentry.release unless the item names its release itself (sentry.release or its
// alias service.version).
func putRelease(attrs pcommon.Map, release string) {
	if _, ok := attrs.Get(attrSentryRelease); ok {
		return
	}
	if _, ok := attrs.Get(resource.AttrServiceVersion); ok {
		return
	}
	// Grown by exactly one: append would double a full attribute list, and the garbage collector's
	// work follows the bytes allocated.
	attrs.EnsureCapacity(attrs.Len() + 1)
	attrs.PutStr(attrSentryRelease, release)
}

// sendClientReport sends p's pending client report, if any, in an envelope of its own: the otlp
// protocol sends few envelopes, and a loss must reach Sentry's stats without waiting for one. Counts
// are aggregated per push, never one report per item.
func (p *Project) sendClientReport(ctx context.Context) {
	now := time.Now()
	report, ok := p.reports.Take(now)
	if !ok {
		return
	}
	buf := envelope.Append(nil, envelope.Header{SentAt: now, SDKName: resource.ExporterName, SDKVersion: resource.ExporterVersion},
		envelope.Item{Type: envelope.TypeClientReport, Payload: report})
	if p.shared.takeRequestSlot(ctx) != nil {
		_ = p.reports.Restore(report)
		return
	}
	res := p.transport.Send(context.WithoutCancel(ctx), buf, ratelimit.CategoryAll)
	p.shared.releaseRequestSlot()
	if res.Outcome != transport.Accepted {
		_ = p.reports.Restore(report) // kept for the next envelope
	}
	p.recorder().Request(ctx, &res)
}

// pushLogsOTLP sends one project's logs to its OTLP logs endpoint in one request and settles it
// through the delivery policy; what is owed is returned as the records to retry.
func (p *Project) pushLogsOTLP(ctx context.Context, ld plog.Logs) delivery.Outcome[plog.Logs] {
	pushedAt := time.Now()
	n := ld.LogRecordCount()
	if n == 0 {
		return delivery.Outcome[plog.Logs]{}
	}
	enrichLogs(ld, p.Options.Environment)
	body := otlpLogBody(ld, n)
	parts := p.sendOTLP(ctx, body, 0, n, nil)
	s := delivery.NewSettlement(p.shared.Policy, p.recorder(), pushedAt, "Sentry logs")
	owed := p.settleOTLP(ctx, s, body, parts, time.Time{})
	p.sendClientReport(ctx)
	out := s.Outcome()
	if len(owed) == 0 {
		return delivery.WithRetry(out, plog.Logs{})
	}
	if len(owed) == 1 && owed[0] == [2]int{0, n} {
		return delivery.WithRetry(out, ld)
	}
	return delivery.WithRetry(out, copyLogs(ld, owed))
}

// otlpLogBody is ld as the otlp protocol sends it to the logs endpoint.
func otlpLogBody(ld plog.Logs, n int) *otlpBody {
	return &otlpBody{
		signal:     transport.SignalLogs,
		categories: [2]ratelimit.Category{ratelimit.CategoryLogItem, ratelimit.CategoryLogByte},
		items:      n,
		marshal: func(lo, hi int) ([]byte, error) {
			if lo == 0 && hi == n {
				return plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
			}
			return plogotlp.NewExportRequestFromLogs(copyLogs(ld, [][2]int{{lo, hi}})).MarshalProto()
		},
		rejected: func(response []byte) (int64, string) {
			resp := plogotlp.NewExportResponse()
			if resp.UnmarshalProto(response) != nil {
				return 0, ""
			}
			return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage()
		},
	}
}

// copyLogs copies the records whose index (in batch order) lies in one of ranges into a new batch.
func copyLogs(ld plog.Logs, ranges [][2]int) plog.Logs {
	return copyLogRecords(ld, func(_ sentrylogs.Position, i int) bool {
		for _, r := range ranges {
			if i >= r[0] && i < r[1] {
				return true
			}
		}
		return false
	})
}

// enrichLogs is enrichTraces for logs: the default environment on resources that name none, and
// sentry.release on every record of a resource with a release.
func enrichLogs(ld plog.Logs, environment string) {
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		release := enrichResource(rl.Resource().Attributes(), environment)
		if release == "" {
			continue
		}
		for si := 0; si < rl.ScopeLogs().Len(); si++ {
			records := rl.ScopeLogs().At(si).LogRecords()
			for li := 0; li < records.Len(); li++ {
				putRelease(records.At(li).Attributes(), release)
			}
		}
	}
}
