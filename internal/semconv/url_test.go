package semconv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSanitizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://example.com/a/b", "https://example.com/a/b"},
		{"https://example.com/a?b=c", "https://example.com/a"},
		{"https://example.com/a#frag", "https://example.com/a"},
		{"https://example.com/a#frag?not=query", "https://example.com/a"},
		{"https://user:pass@example.com/a", "https://[filtered]:[filtered]@example.com/a"},
		{"https://user@example.com", "https://[filtered]:[filtered]@example.com"},
		{"https://a@b@example.com:8080/x?y", "https://[filtered]:[filtered]@example.com:8080/x"},
		{"https://REDACTED:REDACTED@example.com/x", "https://[filtered]:[filtered]@example.com/x"},
		{"https://example.com/p@th", "https://example.com/p@th"},
		{"https://example.com?q=1", "https://example.com"},
		{"//user:pw@cdn.example.com/lib.js", "//[filtered]:[filtered]@cdn.example.com/lib.js"},
		{"/relative/path?x=1", "/relative/path"},
		{"relative?x=1", "relative"},
		{"mailto:someone@example.com", "mailto:someone@example.com"},
		{"1http://user@x/", "1http://user@x/"},
		{"not a url", "not a url"},
		{"://user@host/x", "://user@host/x"},
		{"", ""},
		{"http://[::1]:8080/x?y", "http://[::1]:8080/x"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, sanitizeURL(tc.in), "%q", tc.in)
	}
}

func TestURLPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://example.com/a/b?c", "/a/b"},
		{"https://example.com", ""},
		{"https://example.com?x", ""},
		{"//host/p", "/p"},
		{"/p?x#y", "/p"},
		{"", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, urlPath(tc.in), "%q", tc.in)
	}
}

func TestSanitizeURLDoesNotAllocateWhenClean(t *testing.T) {
	in := "https://example.com/a/b?token=x"
	allocs := testing.AllocsPerRun(100, func() { _ = sanitizeURL(in) })
	assert.Zero(t, allocs)
}

// FuzzSanitizeURL checks that sanitizing never panics, never keeps a query or fragment, never grows the input by
// more than the userinfo placeholder and is idempotent. Its seed corpus runs as part of the normal tests.
func FuzzSanitizeURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h/p?q#f", "//@/", "a://@", "?#", "http://h", "::", "http://a@b@c/d@e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := sanitizeURL(in)
		assert.False(t, strings.ContainsAny(out, "?#"), "%q -> %q", in, out)
		assert.LessOrEqual(t, len(out), len(in)+len(filteredUserinfo))
		assert.Equal(t, out, sanitizeURL(out), "not idempotent for %q", in)
	})
}
