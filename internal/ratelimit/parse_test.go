package ratelimit_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/ratelimit"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func secs(f float64) time.Time { return epoch.Add(time.Duration(f * float64(time.Second))) }

func TestParseRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   map[ratelimit.Category]time.Time
	}{
		{
			name:   "empty categories apply to all",
			header: "60::organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryAll: secs(60)},
		},
		{
			name:   "several categories",
			header: "2700:default;error;security:organization",
			want: map[ratelimit.Category]time.Time{
				"default": secs(2700), ratelimit.CategoryError: secs(2700), "security": secs(2700),
			},
		},
		{
			name:   "docs example with two limits",
			header: "60:transaction:key, 2700:default;error;security:organization",
			want: map[ratelimit.Category]time.Time{
				ratelimit.CategoryTransaction: secs(60), "default": secs(2700),
				ratelimit.CategoryError: secs(2700), "security": secs(2700),
			},
		},
		{
			name:   "same category twice keeps the later deadline",
			header: "1:transaction:organization, 5:transaction:project",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryTransaction: secs(5)},
		},
		{
			name:   "later deadline kept regardless of order",
			header: "5:transaction:project, 1:transaction:organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryTransaction: secs(5)},
		},
		{
			name:   "all-categories listed twice",
			header: "60::organization, 2700::organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryAll: secs(2700)},
		},
		{
			name:   "fractional seconds",
			header: "0.5:span:organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategorySpan: secs(0.5)},
		},
		{
			name:   "fractional without leading digit",
			header: ".25:span:organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategorySpan: secs(0.25)},
		},
		{
			name:   "reason and namespaces ignored",
			header: "2700:metric_bucket:organization:quota_exceeded:custom",
			want:   map[ratelimit.Category]time.Time{"metric_bucket": secs(2700)},
		},
		{
			name:   "extra future fields ignored",
			header: "10:log_item:org:reason:ns:future:more",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryLogItem: secs(10)},
		},
		{
			name:   "only retry_after means all categories",
			header: "30",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryAll: secs(30)},
		},
		{
			name:   "whitespace everywhere",
			header: "  60 : transaction ; error : key ,\t 10 :: org  ",
			want: map[ratelimit.Category]time.Time{
				ratelimit.CategoryTransaction: secs(60), ratelimit.CategoryError: secs(60),
				ratelimit.CategoryAll: secs(10),
			},
		},
		{
			name:   "unknown categories kept",
			header: "60:future_thing;error:organization",
			want: map[ratelimit.Category]time.Time{
				"future_thing": secs(60), ratelimit.CategoryError: secs(60),
			},
		},
		{
			name:   "empty category names between semicolons skipped",
			header: "60:;error;;:organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryError: secs(60)},
		},
		{
			name:   "zero seconds",
			header: "0:error:organization",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryError: epoch},
		},
		{
			name:   "malformed entries skipped, good ones kept",
			header: "abc:error:org, -5:span:org, :transaction:org, 1e3:log_item:org, 0x10::org, NaN::org, inf::org, 1.2.3::org, 7:log_byte:org",
			want:   map[ratelimit.Category]time.Time{ratelimit.CategoryLogByte: secs(7)},
		},
		{
			name:   "huge retry_after capped",
			header: "99999999999999999999999:error:org, " + strings.Repeat("9", 400) + ":span:org",
			want: map[ratelimit.Category]time.Time{
				ratelimit.CategoryError: epoch.Add(ratelimit.MaxRetryAfter),
				ratelimit.CategorySpan:  epoch.Add(ratelimit.MaxRetryAfter),
			},
		},
		{name: "empty header", header: "", want: nil},
		{name: "only separators", header: " , ,, ", want: nil},
		{name: "garbage", header: "garbage;;::,::;", want: nil},
		{name: "binary junk", header: "\x00\xff:\x01", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ratelimit.ParseRateLimits(tt.header, epoch)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds", value: "120", want: 120 * time.Second, wantOK: true},
		{name: "seconds with spaces", value: " 7 ", want: 7 * time.Second, wantOK: true},
		{name: "fractional seconds", value: "1.5", want: 1500 * time.Millisecond, wantOK: true},
		{name: "zero", value: "0", want: 0, wantOK: true},
		{name: "http date (IMF-fixdate)", value: "Sun, 01 Mar 2026 12:02:30 GMT", want: 150 * time.Second, wantOK: true},
		{name: "http date (RFC 850)", value: "Sunday, 01-Mar-26 12:00:10 GMT", want: 10 * time.Second, wantOK: true},
		{name: "http date (asctime)", value: "Sun Mar  1 12:01:00 2026", want: time.Minute, wantOK: true},
		{name: "date in the past", value: "Sun, 01 Mar 2026 11:00:00 GMT", want: 0, wantOK: true},
		{name: "date far in the future capped", value: "Fri, 01 Mar 2999 12:00:00 GMT", want: ratelimit.MaxRetryAfter, wantOK: true},
		{name: "huge seconds capped", value: "1000000000000", want: ratelimit.MaxRetryAfter, wantOK: true},
		{name: "empty", value: "", wantOK: false},
		{name: "blank", value: "   ", wantOK: false},
		{name: "negative", value: "-1", wantOK: false},
		{name: "garbage", value: "soon", wantOK: false},
		{name: "exponent", value: "1e3", wantOK: false},
		{name: "broken date", value: "Sun, 32 Mar 2026 12:00:00 GMT", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ratelimit.ParseRetryAfter(tt.value, epoch)
			require.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzParseRateLimits checks that no header value panics the parser or produces a deadline
// outside [now, now+MaxRetryAfter], and that Update applies exactly what was parsed on a 429.
func FuzzParseRateLimits(f *testing.F) {
	for _, seed := range []string{
		"60::organization",
		"2700:default;error;security:organization",
		"60:transaction:key, 2700:default;error;security:organization",
		"1:transaction:organization, 5:transaction:project",
		"0.5:span:organization",
		"2700:metric_bucket:organization:quota_exceeded:custom",
		"  60 : transaction ; error : key ,\t 10 :: org  ",
		"abc:error:org, -5:span:org, 1e3::org",
		"99999999999999999999999:error:org",
		"",
		",,;;::",
		"\x00\xff:\x01",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := ratelimit.ParseRateLimits(header, epoch)
		for category, until := range got {
			assert.Equal(t, strings.TrimSpace(string(category)), string(category))
			assert.NotContains(t, string(category), ",")
			assert.NotContains(t, string(category), ";")
			assert.NotContains(t, string(category), ":")
			assert.False(t, until.Before(epoch), "deadline %v before now", until)
			assert.False(t, until.After(epoch.Add(ratelimit.MaxRetryAfter)), "deadline %v past the cap", until)
		}

		limits := ratelimit.New(func() time.Time { return epoch })
		limits.Update(http.StatusTooManyRequests, http.Header{ratelimit.HeaderRateLimits: {header}})
		if len(got) == 0 {
			until, _ := limits.Until(ratelimit.CategoryError)
			assert.Equal(t, epoch.Add(ratelimit.DefaultRetryAfter), until, "a 429 without usable limits blocks all for 60 s")
			return
		}
		all := got[ratelimit.CategoryAll]
		for category, want := range got {
			if all.After(want) {
				want = all
			}
			until, _ := limits.Until(category)
			if len(got) <= 64 { // Limits tracks at most 64 categories; beyond that only "all" is sure
				assert.Equal(t, want, until, "category %q", category)
			} else {
				assert.False(t, until.Before(all), "category %q", category)
			}
		}
	})
}
