// Package clientreport aggregates what the exporter dropped, and why, into Sentry client reports:
// the `client_report` envelope item that makes client-side losses visible in Sentry's stats.
//
// Sentry's rules this package follows (SDK development guide, "Client Reports", and Relay):
//   - Counts are aggregated per (reason, category) and sent attached to other envelopes, never one
//     report per dropped item.
//   - Whoever drops an item reports it. Data Sentry itself answered with 429 must NOT be recorded:
//     Relay already counted it. Data the exporter drops because a rate limit is in force is
//     recorded as ReasonRateLimitBackoff.
//   - A dropped transaction also counts its spans plus one in the "span" category, because Relay
//     extracts a span from the transaction itself (see RecordTransactions).
//   - A client_report item is at most 4 KiB; Relay reads each quantity as a 32-bit unsigned
//     integer. Take respects both and leaves what does not fit pending for the next report.
package clientreport

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

// Reason is a discard reason from Sentry's list; Sentry's outcome pipeline accepts only listed
// reasons, so new values must come from the client reports spec.
type Reason string

// The discard reasons the exporter uses.
const (
	// ReasonQueueOverflow: the sending queue was full.
	ReasonQueueOverflow Reason = "queue_overflow"
	// ReasonBufferOverflow: an internal buffer (e.g. a batch being assembled) overflowed.
	ReasonBufferOverflow Reason = "buffer_overflow"
	// ReasonRateLimitBackoff: dropped by us because an earlier rate limit was still in force.
	// Not for the request Sentry answered with 429 (Sentry counts that one itself).
	ReasonRateLimitBackoff Reason = "ratelimit_backoff"
	// ReasonNetworkError: the request failed at the network level and was not retried further.
	ReasonNetworkError Reason = "network_error"
	// ReasonSendError: Sentry rejected the request (4xx other than 429, or 5xx after retries).
	ReasonSendError Reason = "send_error"
	// ReasonEventProcessor: the data was invalid and could not be repaired, so it was not sent.
	ReasonEventProcessor Reason = "event_processor"
)

// Data categories used with Record. Client reports use Sentry's rate-limit categories, so these
// are the ratelimit package's, as plain strings.
const (
	CategoryError       = string(ratelimit.CategoryError)
	CategoryTransaction = string(ratelimit.CategoryTransaction)
	CategorySpan        = string(ratelimit.CategorySpan)
	CategoryLogItem     = string(ratelimit.CategoryLogItem)
	CategoryLogByte     = string(ratelimit.CategoryLogByte)
)

// MaxPayloadSize is Sentry's size limit for one client_report item, in bytes.
const MaxPayloadSize = 4096

// maxNameLen bounds reason and category names. Real ones are short (the longest Sentry category
// is under 30 bytes); the bound guarantees that any single entry fits into MaxPayloadSize.
const maxNameLen = 64

// Report is the JSON payload of a client_report envelope item. It is exported so that tests and a
// fake Sentry can decode what Take produces.
type Report struct {
	// Timestamp is when the report was made, RFC 3339 in UTC with whole seconds, as in Sentry's
	// examples. Omitted when unknown; Sentry then uses the time it received the report.
	Timestamp string `json:"timestamp,omitempty"`
	// DiscardedEvents holds one entry per (reason, category), sorted by reason then category.
	DiscardedEvents []DiscardedEvent `json:"discarded_events"`
}

// DiscardedEvent counts the items of one data category dropped for one reason.
type DiscardedEvent struct {
	Reason   Reason `json:"reason"`
	Category string `json:"category"`
	Quantity uint64 `json:"quantity"`
}

type key struct {
	reason   Reason
	category string
}

// Recorder aggregates discarded counts by (reason, category) until Take turns them into a report.
// The zero value is ready to use. Safe for concurrent use; must not be copied after first use.
type Recorder struct {
	mu     sync.Mutex
	counts map[key]uint64
}

// Record adds quantity dropped items of category for reason. Calls with a non-positive quantity
// or an empty or over-long (> 64 bytes) reason or category are ignored: they cannot describe a
// real loss, and Sentry would reject the whole report for one bad entry.
func (r *Recorder) Record(reason Reason, category string, quantity int) {
	if quantity <= 0 {
		return
	}
	r.add(reason, category, uint64(quantity))
}

// RecordTransactions records transactions dropped transactions holding childSpans spans in total
// (not counting the root spans). Sentry counts the root span of each transaction too, so the span
// category receives childSpans+transactions.
func (r *Recorder) RecordTransactions(reason Reason, transactions, childSpans int) {
	if transactions <= 0 {
		return
	}
	r.Record(reason, CategoryTransaction, transactions)
	r.add(reason, CategorySpan, uint64(transactions)+uint64(max(childSpans, 0)))
}

func (r *Recorder) add(reason Reason, category string, quantity uint64) {
	if !validName(string(reason)) || !validName(category) || quantity == 0 {
		return
	}
	k := key{reason: reason, category: category}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = make(map[key]uint64)
	}
	sum := r.counts[k] + quantity
	if sum < quantity { // saturate instead of wrapping around
		sum = math.MaxUint64
	}
	r.counts[k] = sum
}

func validName(s string) bool { return s != "" && len(s) <= maxNameLen }

// Take returns the pending counts as a client_report payload (JSON of Report) stamped with now,
// and removes what it returns from the Recorder; ok is false when nothing is pending. Entries are
// sorted by reason, then category, so equal counts give equal bytes.
//
// The payload never exceeds MaxPayloadSize and no quantity exceeds 2^32-1 (Relay's limit):
// whatever does not fit stays pending for the next Take. A zero now omits the timestamp.
func (r *Recorder) Take(now time.Time) (payload []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.counts) == 0 {
		return nil, false
	}

	keys := make([]key, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.reason, b.reason), cmp.Compare(a.category, b.category))
	})

	report := Report{Timestamp: timestamp(now), DiscardedEvents: []DiscardedEvent{}}
	empty, err := json.Marshal(report)
	if err != nil {
		return nil, false // cannot happen for strings and integers; keep the counts if it does
	}
	size := len(empty)
	for _, k := range keys {
		event := DiscardedEvent{Reason: k.reason, Category: k.category, Quantity: min(r.counts[k], math.MaxUint32)}
		encoded, err := json.Marshal(event)
		if err != nil {
			return nil, false
		}
		entrySize := len(encoded)
		if len(report.DiscardedEvents) > 0 {
			entrySize++ // the comma separating it from the previous entry
		}
		if size+entrySize > MaxPayloadSize {
			break
		}
		size += entrySize
		report.DiscardedEvents = append(report.DiscardedEvents, event)
	}

	payload, err = json.Marshal(report)
	if err != nil {
		return nil, false
	}
	for _, event := range report.DiscardedEvents {
		k := key{reason: event.Reason, category: event.Category}
		if left := r.counts[k] - event.Quantity; left > 0 {
			r.counts[k] = left
		} else {
			delete(r.counts, k)
		}
	}
	return payload, true
}

// Restore adds back the counts of a payload produced by Take that could not be sent, so a failed
// send loses nothing. It returns an error naming the payload when it is not a client report.
func (r *Recorder) Restore(payload []byte) error {
	var report Report
	if err := json.Unmarshal(payload, &report); err != nil {
		return fmt.Errorf("restore client report %q: %w", truncate(payload), err)
	}
	for _, event := range report.DiscardedEvents {
		r.add(event.Reason, event.Category, event.Quantity)
	}
	return nil
}

// timestamp formats now as Sentry's example does, or returns "" when now is zero or outside what
// Relay accepts (before 1970 or past year 9999), so the field is omitted instead of rejected.
func timestamp(now time.Time) string {
	if now.IsZero() || now.Unix() < 0 || now.Year() > 9999 {
		return ""
	}
	return now.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// truncate shortens a payload quoted in an error message.
func truncate(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
