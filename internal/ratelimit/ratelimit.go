// Package ratelimit tracks Sentry's rate limits per data category, as communicated by the
// X-Sentry-Rate-Limits and Retry-After response headers, so that the exporter stops sending a
// category until Sentry allows it again.
//
// Semantics follow Sentry's SDK development guide ("Rate Limiting") and Relay, which emits the
// headers: X-Sentry-Rate-Limits is read on every response (200 too) and wins over Retry-After;
// Retry-After (or a 60 s default) applies to all categories only on a 429 that carries no usable
// X-Sentry-Rate-Limits; and a new limit never shortens a longer one already in force.
package ratelimit

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Category is a Sentry data category ("transaction", "error", "span", "log_item", "log_byte",
// ...). Data categories resemble envelope item types but are not identical: a transaction item
// counts as "transaction", an event as "error", a log container as "log_item". Categories this
// package has no constant for are still tracked, because Sentry adds categories over time.
type Category string

// The categories the exporter sends. CategoryAll is the implicit "all categories" limit that an
// empty category list (or a bare 429) imposes; it applies on top of every category's own limit.
const (
	CategoryAll         Category = ""
	CategoryError       Category = "error"
	CategoryTransaction Category = "transaction"
	CategorySpan        Category = "span"
	CategoryLogItem     Category = "log_item"
	CategoryLogByte     Category = "log_byte"
)

// Header names Sentry uses to communicate rate limits.
const (
	HeaderRateLimits = "X-Sentry-Rate-Limits"
	HeaderRetryAfter = "Retry-After"
)

// DefaultRetryAfter is how long all categories are blocked after a 429 that says neither when nor
// what: Sentry's guide prescribes 60 seconds.
const DefaultRetryAfter = 60 * time.Second

// MaxRetryAfter caps any single limit. Sentry's longest quota window is a month, so a year obeys
// every real limit while keeping time arithmetic far from overflow on absurd header values.
const MaxRetryAfter = 366 * 24 * time.Hour

// maxCategories bounds how many distinct categories Limits remembers at once. Relay knows about
// 40 categories; the bound only matters against a misbehaving server, in which case further
// unknown categories are not recorded (the limits on categories already tracked are unaffected).
const maxCategories = 64

// deadline is one category's "do not send before" time.
type deadline struct {
	category Category
	until    time.Time
}

// Limits records per-category deadlines from Sentry's responses. Safe for concurrent use.
//
// Deadlines live in a small slice rather than a map so that Until, called once per envelope,
// neither allocates nor hashes; the slice holds only categories Sentry actually limited and is
// pruned of expired entries on every Update.
type Limits struct {
	now func() time.Time

	mu         sync.Mutex
	all        time.Time
	categories []deadline
}

// New returns empty Limits that read the current time from now (time.Now when nil), so tests can
// drive deadlines with a fake clock.
func New(now func() time.Time) *Limits {
	if now == nil {
		now = time.Now
	}
	return &Limits{now: now, categories: make([]deadline, 0, 8)}
}

// Update reads one HTTP response's status code and headers and records any rate limit they
// carry. Call it on every response, 2xx included: Sentry may announce a limit proactively.
//
// X-Sentry-Rate-Limits wins when it yields at least one well-formed limit. Otherwise, and only on
// 429, Retry-After (seconds or an HTTP date) applies to all categories, and an absent or
// unparseable Retry-After means DefaultRetryAfter. A 429 whose X-Sentry-Rate-Limits is entirely
// malformed therefore still backs off, since the status alone says we are limited. A limit never
// shortens a longer one already recorded for the same category.
func (l *Limits) Update(statusCode int, h http.Header) {
	now := l.now()

	var limits map[Category]time.Time
	if values := h.Values(HeaderRateLimits); len(values) > 0 {
		limits = ParseRateLimits(strings.Join(values, ","), now)
	}
	if len(limits) == 0 {
		if statusCode != http.StatusTooManyRequests {
			return
		}
		retryAfter, ok := ParseRetryAfter(h.Get(HeaderRetryAfter), now)
		if !ok {
			retryAfter = DefaultRetryAfter
		}
		limits = map[Category]time.Time{CategoryAll: now.Add(retryAfter)}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	for category, until := range limits {
		l.extendLocked(category, until)
	}
}

// Until returns the deadline for category c (the later of its own deadline and the
// all-categories deadline) and whether that deadline is still in the future, i.e. whether c must
// not be sent now. The time is zero when Sentry never limited c.
func (l *Limits) Until(c Category) (time.Time, bool) {
	now := l.now()

	l.mu.Lock()
	until := l.all
	if c != CategoryAll {
		for i := range l.categories {
			if l.categories[i].category == c {
				if l.categories[i].until.After(until) {
					until = l.categories[i].until
				}
				break
			}
		}
	}
	l.mu.Unlock()

	return until, until.After(now)
}

// extendLocked moves category's deadline to until unless it already lies later.
func (l *Limits) extendLocked(category Category, until time.Time) {
	if category == CategoryAll {
		if until.After(l.all) {
			l.all = until
		}
		return
	}
	for i := range l.categories {
		if l.categories[i].category == category {
			if until.After(l.categories[i].until) {
				l.categories[i].until = until
			}
			return
		}
	}
	if len(l.categories) >= maxCategories {
		return
	}
	l.categories = append(l.categories, deadline{category: category, until: until})
}

// pruneLocked forgets categories whose deadline has passed, keeping the slice short.
func (l *Limits) pruneLocked(now time.Time) {
	kept := l.categories[:0]
	for _, d := range l.categories {
		if d.until.After(now) {
			kept = append(kept, d)
		}
	}
	clear(l.categories[len(kept):])
	l.categories = kept
}
