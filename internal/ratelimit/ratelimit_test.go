package ratelimit_test

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time              { return epoch.Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration)     { c.offset.Add(int64(d)) }
func newLimits() (*ratelimit.Limits, *fakeClock) { c := &fakeClock{}; return ratelimit.New(c.now), c }

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	type want struct {
		category ratelimit.Category
		until    time.Time // zero: never limited
	}
	tests := []struct {
		name   string
		status int
		header http.Header
		want   []want
	}{
		{
			name:   "429 without headers blocks all categories for 60 s",
			status: http.StatusTooManyRequests,
			header: header(),
			want: []want{
				{ratelimit.CategoryAll, secs(60)}, {ratelimit.CategoryError, secs(60)},
				{ratelimit.CategoryTransaction, secs(60)}, {ratelimit.CategoryLogItem, secs(60)},
			},
		},
		{
			name:   "429 with Retry-After seconds",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRetryAfter, "2700"),
			want:   []want{{ratelimit.CategoryError, secs(2700)}, {ratelimit.CategorySpan, secs(2700)}},
		},
		{
			name:   "429 with Retry-After HTTP date",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRetryAfter, epoch.Add(90*time.Second).Format(http.TimeFormat)),
			want:   []want{{ratelimit.CategoryTransaction, secs(90)}},
		},
		{
			name:   "429 with unparseable Retry-After falls back to 60 s",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRetryAfter, "later"),
			want:   []want{{ratelimit.CategoryTransaction, secs(60)}},
		},
		{
			name:   "X-Sentry-Rate-Limits wins over Retry-After",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRetryAfter, "2700", ratelimit.HeaderRateLimits, "60:transaction:key"),
			want: []want{
				{ratelimit.CategoryTransaction, secs(60)}, {ratelimit.CategoryError, time.Time{}},
				{ratelimit.CategoryAll, time.Time{}},
			},
		},
		{
			name:   "429 whose X-Sentry-Rate-Limits is all garbage still backs off via Retry-After",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRetryAfter, "30", ratelimit.HeaderRateLimits, "garbage"),
			want:   []want{{ratelimit.CategoryError, secs(30)}},
		},
		{
			name:   "200 with a rate-limit header still applies",
			status: http.StatusOK,
			header: header(ratelimit.HeaderRateLimits, "120:log_item;log_byte:organization:usage_exceeded"),
			want: []want{
				{ratelimit.CategoryLogItem, secs(120)}, {ratelimit.CategoryLogByte, secs(120)},
				{ratelimit.CategoryTransaction, time.Time{}},
			},
		},
		{
			name:   "200 with Retry-After only is ignored",
			status: http.StatusOK,
			header: header(ratelimit.HeaderRetryAfter, "120"),
			want:   []want{{ratelimit.CategoryAll, time.Time{}}, {ratelimit.CategoryError, time.Time{}}},
		},
		{
			name:   "503 with Retry-After is not a rate limit",
			status: http.StatusServiceUnavailable,
			header: header(ratelimit.HeaderRetryAfter, "120"),
			want:   []want{{ratelimit.CategoryError, time.Time{}}},
		},
		{
			name:   "several header lines are all read",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRateLimits, "10:error:org", ratelimit.HeaderRateLimits, "20:span:org"),
			want:   []want{{ratelimit.CategoryError, secs(10)}, {ratelimit.CategorySpan, secs(20)}},
		},
		{
			name:   "header name is case-insensitive",
			status: http.StatusOK,
			header: http.Header{http.CanonicalHeaderKey("x-sentry-rate-limits"): {"5:error:org"}},
			want:   []want{{ratelimit.CategoryError, secs(5)}},
		},
		{
			name:   "category limit and all limit combine to the later",
			status: http.StatusTooManyRequests,
			header: header(ratelimit.HeaderRateLimits, "10::org, 100:error:org, 5:span:org"),
			want: []want{
				{ratelimit.CategoryError, secs(100)}, {ratelimit.CategorySpan, secs(10)},
				{ratelimit.CategoryTransaction, secs(10)}, {ratelimit.CategoryAll, secs(10)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limits, _ := newLimits()
			limits.Update(tt.status, tt.header)
			for _, w := range tt.want {
				until, limited := limits.Until(w.category)
				assert.Equal(t, w.until, until, "category %q", w.category)
				assert.Equal(t, !w.until.IsZero() && w.until.After(epoch), limited, "category %q", w.category)
			}
		})
	}
}

func TestUntilFollowsTheClock(t *testing.T) {
	t.Parallel()
	limits, clock := newLimits()
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "0.5:transaction:org, 30::org"))

	until, limited := limits.Until(ratelimit.CategoryTransaction)
	assert.True(t, limited)
	assert.Equal(t, secs(30), until, "the all-categories deadline is later than the category's own")

	clock.advance(29 * time.Second)
	_, limited = limits.Until(ratelimit.CategoryError)
	assert.True(t, limited, "29 s in, the all limit still holds")

	clock.advance(time.Second)
	until, limited = limits.Until(ratelimit.CategoryError)
	assert.False(t, limited, "a deadline equal to now has expired")
	assert.Equal(t, secs(30), until)

	clock.advance(time.Hour)
	_, limited = limits.Until(ratelimit.CategoryTransaction)
	assert.False(t, limited)
}

func TestUpdateNeverShortensALimit(t *testing.T) {
	t.Parallel()
	limits, clock := newLimits()
	limits.Update(http.StatusTooManyRequests, header(ratelimit.HeaderRateLimits, "100:error:org"))
	clock.advance(10 * time.Second)
	limits.Update(http.StatusTooManyRequests, header(ratelimit.HeaderRateLimits, "5:error:org"))

	until, limited := limits.Until(ratelimit.CategoryError)
	assert.True(t, limited)
	assert.Equal(t, secs(100), until)

	// A longer limit does extend it.
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "200:error:org"))
	until, _ = limits.Until(ratelimit.CategoryError)
	assert.Equal(t, secs(210), until)

	// So does a bare 429, through the all-categories deadline.
	limits.Update(http.StatusTooManyRequests, header())
	until, _ = limits.Until(ratelimit.CategoryError)
	assert.Equal(t, secs(210), until, "60 s from now is earlier than the error deadline")
	until, _ = limits.Until(ratelimit.CategorySpan)
	assert.Equal(t, secs(70), until)
}

func TestExpiredCategoriesAreForgotten(t *testing.T) {
	t.Parallel()
	limits, clock := newLimits()
	// Fill the tracker with 64 short-lived unknown categories, let them expire, then make sure a
	// new category still fits: expired entries must not occupy the bounded slots.
	for i := range 64 {
		limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "1:unknown_"+strconv.Itoa(i)+":org"))
	}
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "1:overflow:org"))
	_, limited := limits.Until("overflow")
	assert.False(t, limited, "the 65th distinct category is not tracked")
	_, limited = limits.Until("unknown_63")
	assert.True(t, limited, "tracked categories keep their limit")

	clock.advance(2 * time.Second)
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "10:error:org"))
	until, limited := limits.Until(ratelimit.CategoryError)
	assert.True(t, limited)
	assert.Equal(t, secs(12), until)
}

func TestNewWithNilClockUsesWallTime(t *testing.T) {
	t.Parallel()
	limits := ratelimit.New(nil)
	before := time.Now()
	limits.Update(http.StatusTooManyRequests, header(ratelimit.HeaderRetryAfter, "60"))
	after := time.Now()
	until, limited := limits.Until(ratelimit.CategoryError)
	require.True(t, limited)
	// Bracketed by the wall clock around Update, with no tolerance that a slow machine could exceed.
	assert.False(t, until.Before(before.Add(time.Minute)), "until %v, Update began %v", until, before)
	assert.False(t, until.After(after.Add(time.Minute)), "until %v, Update ended %v", until, after)
}

func TestConcurrentUpdateAndUntil(t *testing.T) {
	t.Parallel()
	limits, clock := newLimits()
	categories := []ratelimit.Category{
		ratelimit.CategoryError, ratelimit.CategoryTransaction, ratelimit.CategorySpan, ratelimit.CategoryLogItem,
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				switch (w + i) % 4 {
				case 0:
					limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, strconv.Itoa(i%50+1)+":"+string(categories[i%4])+":org"))
				case 1:
					limits.Update(http.StatusTooManyRequests, header())
				case 2:
					clock.advance(time.Millisecond)
				default:
					limits.Until(categories[i%4])
				}
			}
		})
	}
	wg.Wait()

	// Every goroutine applied bare 429s, so all categories share at least the 60 s limit, and the
	// longest per-category limit (50 s) never outlasts it.
	for _, c := range categories {
		until, limited := limits.Until(c)
		assert.True(t, limited, "category %q", c)
		assert.True(t, until.After(clock.now()), "category %q", c)
	}
}

func BenchmarkUntil(b *testing.B) {
	limits, _ := newLimits()
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits,
		"60:transaction:org, 60:error;default;security:org, 60:log_item;log_byte:org, 60:span:org, 60:profile;replay:org"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, limited := limits.Until(ratelimit.CategorySpan); !limited {
			b.Fatal("span should be limited")
		}
	}
}

func BenchmarkUntilParallel(b *testing.B) {
	limits, _ := newLimits()
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "60:transaction:org, 60:error:org"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			limits.Until(ratelimit.CategoryTransaction)
		}
	})
}

// TestUntilDoesNotAllocate is not parallel: testing.AllocsPerRun refuses to run in parallel tests.
func TestUntilDoesNotAllocate(t *testing.T) {
	limits, _ := newLimits()
	limits.Update(http.StatusOK, header(ratelimit.HeaderRateLimits, "60:transaction;error;span;log_item:org, 10::org"))
	allocs := testing.AllocsPerRun(100, func() { limits.Until(ratelimit.CategoryLogItem) })
	assert.Zero(t, allocs)
}
