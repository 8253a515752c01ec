package delivery

import (
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
)

// Outcome is what exporterhelper must hear about one push, or one project's part of it. T is the
// signal's batch type (ptrace.Traces, plog.Logs): Retry holds what is still owed to Sentry.
type Outcome[T any] struct {
	// Retry holds the data still owed; meaningful only when RetryErr is set.
	Retry    T
	RetryErr error
	// RetryAt is set when everything owed waits for a rate limit to end.
	RetryAt time.Time
	// DropErr describes what was given up on (already counted and reported).
	DropErr error
	// DropCounted says the drop includes items the collector counts for the signal (spans, logs);
	// a drop of error events alone leaves every span delivered.
	DropCounted bool
}

// WithRetry is o carrying the data still owed.
func WithRetry[T any](o Outcome[struct{}], retry T) Outcome[T] {
	return Outcome[T]{Retry: retry, RetryErr: o.RetryErr, RetryAt: o.RetryAt, DropErr: o.DropErr, DropCounted: o.DropCounted}
}

// Merge combines the projects' outcomes of one push; appendTo moves one batch's data into another.
// Data throttled by one project waits only as long as the earliest deadline, and not at all when
// another project failed transiently, so that one project's rate limit does not delay the others.
func Merge[T any](outcomes []Outcome[T], newBatch func() T, appendTo func(dst, src T)) Outcome[T] {
	if len(outcomes) == 1 {
		return outcomes[0]
	}
	var merged Outcome[T]
	var retryErrs, dropErrs []error
	throttledOnly := true
	for _, o := range outcomes {
		if o.DropErr != nil {
			dropErrs = append(dropErrs, o.DropErr)
			merged.DropCounted = merged.DropCounted || o.DropCounted
		}
		if o.RetryErr == nil {
			continue
		}
		if len(retryErrs) == 0 {
			merged.Retry = newBatch()
		}
		retryErrs = append(retryErrs, o.RetryErr)
		appendTo(merged.Retry, o.Retry)
		switch {
		case o.RetryAt.IsZero():
			throttledOnly = false
		case merged.RetryAt.IsZero() || o.RetryAt.Before(merged.RetryAt):
			merged.RetryAt = o.RetryAt
		}
	}
	if !throttledOnly {
		merged.RetryAt = time.Time{}
	}
	merged.RetryErr = errors.Join(retryErrs...)
	merged.DropErr = errors.Join(dropErrs...)
	return merged
}

// Err turns the outcome into the error exporterhelper acts on: nil, permanent (exporterhelper logs
// it and counts the batch as failed), throttled (wait for Sentry's deadline) or retryable with the
// data owed (wrap makes the signal's consumererror). A drop of error events alone is logged here and
// not returned: every span of the batch reached Sentry, and exporterhelper would count them all as
// failed. So is a drop beside a retry, which cannot ride on the retryable error.
func (o Outcome[T]) Err(logger *zap.Logger, what string, wrap func(error, T) error) error {
	if o.RetryErr == nil {
		switch {
		case o.DropErr == nil:
			return nil
		case o.DropCounted:
			return consumererror.NewPermanent(o.DropErr)
		}
		logger.Warn("Dropping "+what+" that cannot be delivered", zap.Error(o.DropErr))
		return nil
	}
	if o.DropErr != nil {
		logger.Warn("Dropping "+what+" that cannot be delivered", zap.Error(o.DropErr))
	}
	err := o.RetryErr
	if !o.RetryAt.IsZero() {
		err = exporterhelper.NewThrottleRetry(err, time.Until(o.RetryAt))
	}
	return wrap(err, o.Retry)
}

// ForEachProject runs push for every part at once and returns their outcomes in order: a project
// that is slow, down or rate limited does not hold back the others.
func ForEachProject[P, T any](parts []P, push func(P) Outcome[T]) []Outcome[T] {
	outcomes := make([]Outcome[T], len(parts))
	if len(parts) == 1 {
		outcomes[0] = push(parts[0])
		return outcomes
	}
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { outcomes[i] = push(part) })
	}
	wg.Wait()
	return outcomes
}
