package stacktrace

import (
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// parseRuby reads Exception#full_message (what the OTel Ruby SDK records) and plain backtraces:
//
//	app/models/user.rb:10:in 'User#full_name': undefined method 'upcase' for nil (NoMethodError)
//		from app/controllers/users_controller.rb:5:in 'show'
//	app/models/user.rb:3:in 'load': record missing (ActiveRecord::RecordNotFound)
//		from ...
//
// Both quote styles (`meth' before Ruby 3.4, 'meth' since) are accepted. A location line with a ": message
// (Class)" tail starts an exception and is its newest frame; later such lines are its causes. Lines that
// are not locations continue the message of an exception whose frames have not started. Frames are printed
// newest first and come out reversed.
func parseRuby(lines []string) []parsedException {
	var excs []parsedException
	messageOpen := false

	for _, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "... ") {
			continue
		}
		m := rubyFrameLine.FindStringSubmatch(line)
		from := strings.HasPrefix(t, "from ")
		if m == nil || (m[3] == "" && m[4] != "" && !strings.HasPrefix(m[4], ": ")) {
			// Not a location (or "file:12 junk"): a continuation line of a multi-line message.
			if messageOpen && len(excs) > 0 {
				e := &excs[len(excs)-1]
				e.addLine(strings.TrimRight(line, " \t"))
			}
			continue
		}
		f := sentry.Frame{Function: m[3], Lineno: atoiBounded(m[2])}
		setPath(&f, strings.TrimSpace(m[1]))
		tail := m[4]
		if !from && strings.HasPrefix(tail, ": ") {
			e := parsedException{parent: len(excs) - 1}
			if len(excs) > 0 {
				e.source = "cause"
			}
			e.typ, e.value = rubyMessage(tail[2:])
			excs = append(excs, e)
			messageOpen = true
		} else {
			messageOpen = false
		}
		if len(excs) == 0 {
			excs = append(excs, parsedException{parent: -1})
		}
		e := &excs[len(excs)-1]
		e.frames = append(e.frames, f)
	}
	for i := range excs {
		excs[i].frames = reverseFrames(excs[i].frames)
	}
	return excs
}

// rubyMessage splits "undefined method 'x' for nil (NoMethodError)" into class and message. Ruby prints
// the class after the first line of the message, so this is the first line only.
func rubyMessage(s string) (typ, value string) {
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, "("); i >= 0 && isRubyClassName(s[i+1:len(s)-1]) {
			return s[i+1 : len(s)-1], strings.TrimSpace(s[:i])
		}
	}
	return "", s
}

// isRubyClassName accepts "NoMethodError", "ActiveRecord::RecordNotFound"; constants start upper-case.
func isRubyClassName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !unicode.IsUpper(r) {
			return false
		}
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == ':') {
			return false
		}
	}
	return true
}
