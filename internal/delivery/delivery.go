// Package delivery is the one outcome policy of every signal the exporter sends: it decides what
// became of each envelope a push tried (delivered, dropped, or still owed to Sentry), records that
// once (the exporter's metrics and Sentry's client reports), and turns a push's outcome into the
// error exporterhelper acts on.
//
// Traces and logs both settle their envelopes here, so a rule (which failure is given up on, what
// is reported to Sentry, when a rate limit is waited for) cannot drift between them.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/transport"
)

// Attempt is one envelope (or OTLP request) a push tried to deliver, and what came of it.
type Attempt struct {
	// Category is the Sentry data category of what the envelope carries.
	Category ratelimit.Category
	// Items is how many items of Category it carries: 1 event, or the logs of a batch, or the spans
	// or log records of an OTLP request.
	Items int
	// Spans is, for a transaction, its spans (the root included); for OTLP spans, Items.
	Spans int
	// Result is the transport's answer.
	Result transport.Result
	// Oversize marks an envelope not sent, or refused with 413, because Sentry refuses its size.
	Oversize bool
	// FirstAttempt is when its data was first tried; zero on a first attempt.
	FirstAttempt time.Time
}

// Verdict is what became of an attempt.
type Verdict uint8

const (
	// Delivered means Sentry accepted it.
	Delivered Verdict = iota
	// Dropped means it is given up on: Sentry refused it for good, or retrying cannot succeed.
	Dropped
	// Owed means it goes back to exporterhelper to be retried.
	Owed
)

// Drop says why an attempt was given up on.
type Drop struct {
	// Reason is the items_dropped metric's reason.
	Reason metadata.AttributeReason
	// Report is the client report's discard reason; empty when Sentry counted the loss itself (it
	// answered 429), so reporting it again would count it twice.
	Report clientreport.Reason
}

// Policy decides verdicts from the retry settings. It is pure: Classify looks only at its inputs.
type Policy struct {
	Retry configretry.BackOffConfig
}

// Classify decides what became of a, settled at now. Data the retries cannot deliver is dropped
// here, where it is counted and reported to Sentry in a client report, rather than left for
// exporterhelper to drop, which counts the whole batch as failed (its error events' spans too,
// though Sentry has them) and reports nothing to Sentry:
//   - retries are off;
//   - the next retry could come after retry_on_failure.max_elapsed_time since the data's first
//     attempt: exporterhelper would give up then. The next retry comes after the rate limit ends and
//     after at most max_interval × (1 + randomization_factor) of backoff; taking that upper bound,
//     the exporter gives up at most one retry earlier than exporterhelper could, never later.
//
// Reasons follow Sentry's SDK guide: ratelimit_backoff for a rate limit, send_error when Sentry
// answered (4xx, 5xx) or the envelope is too large, network_error when no answer came.
func (p Policy) Classify(a *Attempt, pushedAt, now time.Time) (Verdict, Drop) {
	res := &a.Result
	switch res.Outcome {
	case transport.Accepted:
		return Delivered, Drop{}
	case transport.Permanent:
		// Sentry's client report spec asks for send_error on every 4xx and 5xx but 429, and for what
		// could not be sent at all for its size.
		if a.Oversize {
			return Dropped, Drop{Reason: metadata.AttributeReasonOversize, Report: clientreport.ReasonSendError}
		}
		return Dropped, Drop{Reason: metadata.AttributeReasonRejected, Report: clientreport.ReasonSendError}
	}
	drop := Drop{Reason: metadata.AttributeReasonNetworkError, Report: clientreport.ReasonNetworkError}
	switch {
	case res.Outcome == transport.RateLimited:
		drop = Drop{Reason: metadata.AttributeReasonRatelimitBackoff, Report: clientreport.ReasonRateLimitBackoff}
		if res.StatusCode == http.StatusTooManyRequests {
			drop.Report = "" // Sentry counts what it refused with 429 itself.
		}
	case res.StatusCode != 0:
		drop = Drop{Reason: metadata.AttributeReasonSendError, Report: clientreport.ReasonSendError}
	}
	if !p.Retry.Enabled {
		return Dropped, drop
	}
	if p.Retry.MaxElapsedTime > 0 {
		first := a.FirstAttempt
		if first.IsZero() {
			first = pushedAt
		}
		next := now.Add(p.maxBackoff() + giveUpMargin)
		if res.Outcome == transport.RateLimited && res.RetryAt.After(next) {
			next = res.RetryAt
		}
		if next.After(first.Add(p.Retry.MaxElapsedTime)) {
			return Dropped, drop
		}
	}
	return Owed, Drop{}
}

// giveUpMargin covers the moments between exporterhelper starting its retry clock and the exporter
// taking the data's first attempt time.
const giveUpMargin = time.Second

// maxBackoff is the longest backoff exporterhelper's retry can draw: the interval never grows past
// max_interval, and randomization stretches it by up to randomization_factor.
func (p Policy) maxBackoff() time.Duration {
	interval := max(p.Retry.InitialInterval, p.Retry.MaxInterval)
	return time.Duration(float64(interval) * (1 + p.Retry.RandomizationFactor))
}

// Recorder records what happened to envelopes in the exporter's metrics and, for losses Sentry
// cannot see, in the project's next client report.
type Recorder struct {
	Telemetry *metadata.TelemetryBuilder
	Reports   *clientreport.Recorder
}

// acceptedOption is the status_code attribute of a 200 answer, built once: nearly every request
// gets one, and building the option allocated for each.
var acceptedOption = metric.WithAttributeSet(attribute.NewSet(metadata.AttributeStatusCodeKeyValue(http.StatusOK)))

// Request records one HTTP request: its answer, duration and bytes. Envelopes held back by a known
// rate limit made no request and record nothing.
func (r Recorder) Request(ctx context.Context, res *transport.Result) {
	if !res.Sent {
		return
	}
	status := acceptedOption
	if res.StatusCode != http.StatusOK {
		status = metric.WithAttributes(metadata.AttributeStatusCodeKeyValue(res.StatusCode))
	}
	r.Telemetry.SentryExporterRequests.Add(ctx, 1, status)
	r.Telemetry.SentryExporterRequestDuration.Record(ctx, res.Duration.Seconds())
	r.Telemetry.SentryExporterBytesSent.Add(ctx, int64(res.BytesSent))
}

// Delivered records an envelope Sentry accepted.
func (r Recorder) Delivered(ctx context.Context, a *Attempt) {
	r.Telemetry.SentryExporterEnvelopesSent.Add(ctx, 1, metric.WithAttributes(CategoryAttribute(a.Category)))
	switch a.Category {
	case ratelimit.CategoryTransaction, ratelimit.CategorySpan:
		// A transaction's spans, or the spans of an OTLP request.
		r.Telemetry.SentryExporterSpansSent.Add(ctx, int64(a.Spans))
	case ratelimit.CategoryLogItem:
		r.Telemetry.SentryExporterLogsSent.Add(ctx, int64(a.Items))
	}
}

// Dropped records items given up on, for the reason d; a transaction's spans are counted as span
// items too, as Sentry's client reports count them.
func (r Recorder) Dropped(ctx context.Context, category ratelimit.Category, items, spans int, d Drop) {
	r.Telemetry.SentryExporterItemsDropped.Add(ctx, int64(items), metric.WithAttributes(CategoryAttribute(category), d.Reason.KeyValue()))
	if category == ratelimit.CategoryTransaction && spans > 0 {
		r.Telemetry.SentryExporterItemsDropped.Add(ctx, int64(spans), metric.WithAttributes(CategoryAttribute(ratelimit.CategorySpan), d.Reason.KeyValue()))
	}
	if d.Report == "" {
		return
	}
	if category == ratelimit.CategoryTransaction {
		r.Reports.RecordTransactions(d.Report, items, spans-items)
		return
	}
	r.Reports.Record(d.Report, string(category), items)
}

// CategoryAttribute is the category attribute of items of Sentry data category c. A category
// metadata.yaml does not declare maps to "" (TestMetricAttributeValuesAreDeclared).
func CategoryAttribute(c ratelimit.Category) attribute.KeyValue {
	var v metadata.AttributeCategory
	switch c {
	case ratelimit.CategoryTransaction:
		v = metadata.AttributeCategoryTransaction
	case ratelimit.CategoryError:
		v = metadata.AttributeCategoryError
	case ratelimit.CategorySpan:
		v = metadata.AttributeCategorySpan
	case ratelimit.CategoryLogItem:
		v = metadata.AttributeCategoryLogItem
	}
	return v.KeyValue()
}

// Settlement settles the attempts of one project's push: each is classified and recorded once, and
// what is still owed is collected for the retry.
type Settlement struct {
	policy   Policy
	recorder Recorder
	pushedAt time.Time
	// settledAt is when the push's sends were over: the moment a retry's backoff starts from.
	settledAt time.Time
	// noun names the attempts in errors ("Sentry events", "Sentry logs").
	noun string

	attempts  int
	owed      []int
	owedErr   error
	retryAt   time.Time
	throttled bool
	dropped   int
	dropErrs  []error
	// droppedCounted says a drop includes items the collector counts for this signal (spans,
	// logs), not only error events, which ride on spans Sentry may already have.
	droppedCounted bool
}

// maxDropErrors bounds the drop errors quoted in one message.
const maxDropErrors = 3

// NewSettlement starts settling a push made at pushedAt; noun names its attempts in errors.
func NewSettlement(policy Policy, recorder Recorder, pushedAt time.Time, noun string) *Settlement {
	return &Settlement{policy: policy, recorder: recorder, pushedAt: pushedAt, settledAt: time.Now(), noun: noun, throttled: true}
}

// Add settles attempt i and returns its verdict. Items of a dropped attempt are counted once here.
func (s *Settlement) Add(ctx context.Context, i int, a *Attempt) Verdict {
	s.attempts++
	verdict, drop := s.policy.Classify(a, s.pushedAt, s.settledAt)
	switch verdict {
	case Delivered:
		s.recorder.Delivered(ctx, a)
	case Dropped:
		s.recorder.Dropped(ctx, a.Category, a.Items, a.Spans, drop)
		s.dropped += a.Items
		s.droppedCounted = s.droppedCounted || a.Category != ratelimit.CategoryError
		if len(s.dropErrs) < maxDropErrors {
			err := a.Result.Err
			if a.Result.Outcome != transport.Permanent {
				err = fmt.Errorf("retries would end before Sentry takes it: %w", err)
			}
			s.dropErrs = append(s.dropErrs, err)
		}
	case Owed:
		s.owed = append(s.owed, i)
		s.owedErr = a.Result.Err
		if a.Result.Outcome != transport.RateLimited {
			s.throttled = false
		} else if a.Result.RetryAt.After(s.retryAt) {
			s.retryAt = a.Result.RetryAt
		}
	}
	return verdict
}

// Owed lists the indexes of the attempts still owed to Sentry, in the order they were added.
func (s *Settlement) Owed() []int { return s.owed }

// Outcome is the push's outcome without its retry data, which the caller builds from Owed.
func (s *Settlement) Outcome() Outcome[struct{}] {
	var out Outcome[struct{}]
	if s.dropped > 0 {
		out.DropErr = fmt.Errorf("%d %s dropped, not retryable: %w", s.dropped, s.noun, errors.Join(s.dropErrs...))
		out.DropCounted = s.droppedCounted
	}
	if len(s.owed) == 0 {
		return out
	}
	out.RetryErr = fmt.Errorf("%d of %d %s not delivered yet, retrying: %w", len(s.owed), s.attempts, s.noun, s.owedErr)
	if s.throttled {
		out.RetryAt = s.retryAt
	}
	return out
}
