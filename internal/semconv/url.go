package semconv

import "strings"

// filteredUserinfo replaces the userinfo of a URL, as Sentry's SDKs write it: the description shows that the URL
// carried credentials without showing them.
const filteredUserinfo = "[filtered]:[filtered]@"

// sanitizeURL returns raw without its query and fragment and with its userinfo replaced by filteredUserinfo, so
// that descriptions built from it carry neither secrets (tokens in query strings, passwords in userinfo) nor
// per-request noise. It does not validate: anything that does not look like "scheme://authority/path" is only
// cut at the first '?' or '#', which is the safe reading of a relative or malformed URL. When nothing needs
// removing it returns raw itself (no allocation).
func sanitizeURL(raw string) string {
	s, start := splitAuthority(raw)
	if start < 0 {
		return s
	}
	end := len(s)
	if i := strings.IndexByte(s[start:], '/'); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return s
	}
	return s[:start] + filteredUserinfo + s[start+at+1:]
}

// splitAuthority cuts raw at its query or fragment and returns the rest with the index where its
// authority starts: after "scheme://" or, for a scheme-relative URL, after a leading "//"; -1 when
// there is none (a path, or something malformed).
func splitAuthority(raw string) (string, int) {
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if strings.HasPrefix(s, "//") {
		return s, 2
	}
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		return s, i + 3
	}
	return s, -1
}

// isScheme reports whether s is a URL scheme per RFC 3986: a letter followed by letters, digits, '+', '-', '.'.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// urlPath returns the path of a URL (absolute, scheme-relative or already a path), without query and fragment.
// It returns "" when the URL has an authority but no path, so that callers fall back to something better than "".
func urlPath(raw string) string {
	s, start := splitAuthority(raw)
	if start < 0 {
		return s
	}
	if i := strings.IndexByte(s[start:], '/'); i >= 0 {
		return s[start+i:]
	}
	return ""
}
