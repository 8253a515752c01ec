package sending

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/envelope"
	"github.com/otelsentry/sentryexporter/internal/eventjson"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/resource"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/transform"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// maxEventBytes is Sentry's limit on one event or transaction payload; it answers 413 above it.
const maxEventBytes = 1 << 20

// PushTraces sends the project's part of a batch with the configured protocol and settles it: every
// event or request through the delivery policy, and what is still owed as the batch to retry.
func (p *Project) PushTraces(ctx context.Context, td ptrace.Traces) delivery.Outcome[ptrace.Traces] {
	if p.shared.OTLP {
		return p.pushTracesOTLP(ctx, td)
	}
	return p.pushTransactions(ctx, td)
}

// pushTransactions sends the batch as Sentry transactions and error events, one envelope each.
// Events that failed transiently or were rate limited are owed: their spans go back to
// exporterhelper as a smaller batch, so a retry never resends what Sentry already accepted.
func (p *Project) pushTransactions(ctx context.Context, td ptrace.Traces) delivery.Outcome[ptrace.Traces] {
	opts := p.pushOptions(td)
	scratch := p.shared.scratch.Get()
	defer p.shared.releaseScratch(scratch)
	events, repairs := transform.With(scratch, td, opts)
	if len(events) == 0 {
		p.shared.recordRepairs(ctx, &repairs)
		return delivery.Outcome[ptrace.Traces]{}
	}
	sent := p.sendAll(ctx, events, &repairs)
	p.shared.recordRepairs(ctx, &repairs)
	return p.settle(ctx, td, sent, opts.Now)
}

// pushOptions are the project's transform options for one push of td: its time stands in for spans
// without timestamps, and a retried batch brings what each of its spans still owes (retry.go).
func (p *Project) pushOptions(td ptrace.Traces) transform.Options {
	opts := p.Options
	opts.Now = pcommon.NewTimestampFromTime(time.Now())
	opts.Retry = takeRetryState(td)
	return opts
}

// releaseScratch gives the transform's working memory back for the next push, unless it grew too
// large to keep.
func (s *Shared) releaseScratch(scratch *transform.Scratch) {
	scratch.Release()
	if scratch.Retainable() {
		s.scratch.Put(scratch)
	}
}

// sentEvent is one event of a batch and what the transport made of it.
type sentEvent struct {
	event  transform.Event
	result transport.Result
	// oversize marks an event that was not sent because Sentry refuses its size.
	oversize bool
}

// sendAll delivers events with at most RequestsPerPush requests at once, and counts the values
// repaired while encoding them in repairs.
func (p *Project) sendAll(ctx context.Context, events []transform.Event, repairs *sanitize.Counts) []sentEvent {
	workers := min(p.shared.RequestsPerPush, len(events))
	perWorker := make([][]sentEvent, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	var repairsMu sync.Mutex
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw := p.shared.workers.Get()
			defer p.shared.workers.Put(sw)
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
				perWorker[w] = p.send(ctx, sw, events[i], perWorker[w])
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

// encodedBytesPerSpan estimates a transaction's JSON per span (about 600 bytes on the benchmark
// workload), so a large transaction's buffer is allocated once at about its size instead of
// doubling its way there.
const encodedBytesPerSpan = 640

// room returns buf, emptied, with room for at least n bytes: buf itself when it is large enough,
// else a kept large buffer or a new one.
func (s *Shared) room(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:0]
	}
	if n > maxRetainedBuffer {
		if large := s.largeBuffers.Get(); cap(large) >= n {
			return large[:0]
		}
		return make([]byte, 0, n)
	}
	// Doubling, as append would, so a worker's buffer settles after a few events.
	return make([]byte, 0, max(n, min(2*cap(buf), maxRetainedBuffer)))
}

// trim hands a worker's buffers that grew beyond maxRetainedBuffer to the exporter's few large
// ones, so the worker does not pin them while it sends small events.
func (s *Shared) trim(sw *sendWorker) {
	if cap(sw.payload) > maxRetainedBuffer {
		s.largeBuffers.Put(sw.payload)
		sw.payload = nil
	}
	if cap(sw.envelope) > maxRetainedBuffer {
		s.largeBuffers.Put(sw.envelope)
		sw.envelope = nil
	}
}

// send encodes and posts one event and appends what became of it to out. A transaction too large
// for Sentry, by our measure or by its 413, is split into two linked transactions, each sent in turn,
// so its spans still arrive. sw's buffers are reused between the events of one worker.
func (p *Project) send(ctx context.Context, sw *sendWorker, ev transform.Event, out []sentEvent) []sentEvent {
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
	s := p.shared
	defer s.trim(sw)
	sw.payload = transform.Encode(&sw.encoder, s.room(sw.payload, 4<<10+encodedBytesPerSpan*len(ev.DataSpans)), &ev, &sw.repairs)
	payload := sw.payload
	if len(payload) > maxEventBytes {
		if a, b, ok := transform.Split(ev); ok {
			out = p.send(ctx, sw, a, out)
			return p.send(ctx, sw, b, out)
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
	sw.envelope, res = p.post(ctx, s.room(sw.envelope, len(payload)+2<<10),
		envelope.Header{EventID: string(ev.Sentry.EventID), Trace: &ev.Sampling},
		envelope.Item{Type: itemType, Payload: payload}, ev.Category)
	if res.StatusCode == http.StatusRequestEntityTooLarge {
		if a, b, ok := transform.Split(ev); ok {
			out = p.send(ctx, sw, a, out)
			return p.send(ctx, sw, b, out)
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
func (p *Project) post(ctx context.Context, buf []byte, h envelope.Header, item envelope.Item, category ratelimit.Category) ([]byte, transport.Result) {
	h.SentAt, h.SDKName, h.SDKVersion = time.Now(), resource.ExporterName, resource.ExporterVersion
	items := [2]envelope.Item{item}
	n := 1
	report, haveReport := p.reports.Take(h.SentAt)
	if haveReport {
		items[1] = envelope.Item{Type: envelope.TypeClientReport, Payload: report}
		n = 2
	}
	buf = envelope.Append(buf[:0], h, items[:n]...)
	if err := p.shared.takeRequestSlot(ctx); err != nil {
		if haveReport {
			_ = p.reports.Restore(report)
		}
		return buf, transport.Result{Outcome: transport.Retryable, Err: err}
	}
	res := p.transport.Send(context.WithoutCancel(ctx), buf, category)
	p.shared.releaseRequestSlot()
	if haveReport && res.Outcome != transport.Accepted {
		_ = p.reports.Restore(report) // it did not arrive either; keep its counts for the next envelope
	}
	p.recorder().Request(ctx, &res)
	return buf, res
}

// settle settles each event through the delivery policy and builds the batch exporterhelper
// retries: the spans of the events still owed, each marked with what of it is owed.
func (p *Project) settle(ctx context.Context, td ptrace.Traces, sent []sentEvent, pushedAt pcommon.Timestamp) delivery.Outcome[ptrace.Traces] {
	s := delivery.NewSettlement(p.shared.Policy, p.recorder(), pushedAt.AsTime(), "Sentry events")
	var owed owedSpans
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
		if s.Add(ctx, i, &a) == delivery.Owed {
			owed.markEvent(ev, first)
		}
	}
	return owed.outcome(s.Outcome(), td)
}
