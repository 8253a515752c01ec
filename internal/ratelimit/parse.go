package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRateLimits parses an X-Sentry-Rate-Limits header value into a deadline per category,
// measured from now. CategoryAll ("") holds the deadline of limits with an empty category list.
//
// The value is a comma-separated list of `retry_after:categories:scope[:reason[:namespaces...]]`:
// retry_after is seconds (integer or fractional), categories are `;`-separated and empty means all
// categories. Scope, reason, namespaces and any later fields are ignored, as Sentry's guide asks;
// a limit with no categories field at all is read as an all-categories limit, as Sentry's SDKs do.
// Whitespace around entries and fields is ignored. Unknown categories are kept: nothing ever asks
// for them, and a future exporter version may. A category listed more than once keeps its latest
// deadline. Malformed entries (missing, negative or non-numeric retry_after) are skipped. Returns
// nil when no entry is well-formed.
func ParseRateLimits(header string, now time.Time) map[Category]time.Time {
	var out map[Category]time.Time
	for entry := range strings.SplitSeq(header, ",") {
		retryAfterField, rest, _ := strings.Cut(entry, ":")
		retryAfter, ok := parseSeconds(strings.TrimSpace(retryAfterField))
		if !ok {
			continue
		}
		until := now.Add(retryAfter)
		if out == nil {
			out = make(map[Category]time.Time, 4)
		}

		categories, _, _ := strings.Cut(rest, ":")
		categories = strings.TrimSpace(categories)
		if categories == "" {
			keepLater(out, CategoryAll, until)
			continue
		}
		for category := range strings.SplitSeq(categories, ";") {
			if category = strings.TrimSpace(category); category != "" {
				keepLater(out, Category(category), until)
			}
		}
	}
	return out
}

// ParseRetryAfter parses a Retry-After value, either delay-seconds or an HTTP date, into a delay
// from now. A date in the past yields 0. ok is false when v is empty or neither form, so the
// caller can fall back to DefaultRetryAfter. Fractional seconds are accepted because Sentry uses
// them in X-Sentry-Rate-Limits, and the delay is capped at MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	date, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := date.Sub(now)
	return min(max(d, 0), MaxRetryAfter), true
}

// parseSeconds accepts only plain decimal seconds ("60", "0.5", "1.") and rejects what
// strconv.ParseFloat would also take (signs, exponents, hex floats, "inf", "NaN"), none of which
// Sentry sends; the result is capped at MaxRetryAfter.
func parseSeconds(s string) (time.Duration, bool) {
	if s == "" || s == "." {
		return 0, false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	// Digits and one dot always parse; the only possible error is ErrRange for hundreds of digits,
	// where secs is +Inf and the cap below applies.
	secs, _ := strconv.ParseFloat(s, 64)
	if secs >= MaxRetryAfter.Seconds() {
		return MaxRetryAfter, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// keepLater stores until for category unless a later deadline is already stored.
func keepLater(m map[Category]time.Time, category Category, until time.Time) {
	if prev, ok := m[category]; !ok || until.After(prev) {
		m[category] = until
	}
}
