package stacktrace

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// phpThrowSite matches the end of a PHP exception header: " in /path/file.php:12". The greedy head makes
// it the last " in ", as messages may contain the word.
var phpThrowSite = regexp.MustCompile(`(?s)^(.*)\s+in (.+):(\d+)$`)

// phpCall is one "#N" line: where the call was made and what was called.
type phpCall struct {
	file     string
	line     int
	function string
	hasFile  bool
}

// parsePHP reads Throwable::__toString() output and PHP's fatal error for an uncaught exception:
//
//	PHP Fatal error:  Uncaught RuntimeException: Payment failed in /var/www/src/Billing.php:42
//	Stack trace:
//	#0 /var/www/src/Checkout.php(17): App\Billing->charge(Object(App\Order))
//	#1 {main}
//	  thrown in /var/www/src/Billing.php on line 42
//
// A "#N file(line): function()" line says that function() was called from file:line, so the location
// belongs to the caller. As Sentry's PHP SDK does, frames pair each location with the function it lies in
// (the one called on the next "#" line, "{main}" at the bottom) and the throw site from the header becomes
// the newest frame, in the function called on line #0. Chained exceptions ("Next X: ...") are printed root
// cause first. (The OTel PHP SDK itself prints Java-style traces, which the Java parser reads.)
func parsePHP(lines []string) []parsedException {
	var chain []parsedException
	var header []string
	var calls []phpCall
	inTrace := false

	finish := func() {
		if len(header) == 0 && len(calls) == 0 {
			return
		}
		e := parsedException{}
		text := strings.TrimSpace(strings.Join(header, "\n"))
		text = stripPHPPrefix(text)
		var site *phpCall
		if m := phpThrowSite.FindStringSubmatch(text); m != nil {
			text = m[1]
			site = &phpCall{file: m[2], line: atoiBounded(m[3]), hasFile: true}
		}
		e.typ, e.value = splitTypeValue(text, isPHPClassName)
		e.frames = phpFrames(site, calls)
		chain = append(chain, e)
		header, calls, inTrace = nil, nil, false
	}

	for _, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
		case t == "Stack trace:":
			inTrace = true
		case strings.HasPrefix(t, "#") && phpFrameLine.MatchString(t):
			inTrace = true
			calls = append(calls, parsePHPCall(phpFrameLine.FindStringSubmatch(t)))
		case strings.HasPrefix(t, "thrown in "):
			// The throw site again; the header already had it.
		case strings.HasPrefix(t, "Next "):
			finish()
			header = append(header, strings.TrimPrefix(t, "Next "))
		case inTrace:
			// Text after a trace without "Next": a new, unrelated header.
			finish()
			header = append(header, line)
		default:
			header = append(header, line)
		}
	}
	finish()
	if len(chain) == 0 {
		return nil
	}
	out := reverseChain(chain)
	for i := 1; i < len(out); i++ {
		// Each one is the getPrevious() of the exception printed after it.
		out[i].source = "previous"
	}
	return out
}

func parsePHPCall(m []string) phpCall {
	switch {
	case m[6] != "":
		return phpCall{function: m[6]}
	case m[5] != "":
		return phpCall{function: phpFunctionName(m[5])}
	default:
		return phpCall{file: m[2], line: atoiBounded(m[3]), function: phpFunctionName(m[4]), hasFile: true}
	}
}

// phpFrames turns the throw site and the "#" lines (newest first) into Sentry frames, oldest first.
func phpFrames(site *phpCall, calls []phpCall) []sentry.Frame {
	frames := make([]sentry.Frame, 0, len(calls)+1)
	if site != nil {
		f := sentry.Frame{Lineno: site.line}
		setPath(&f, site.file)
		if len(calls) > 0 {
			f.Function = calls[0].function
		}
		frames = append(frames, f)
	}
	for i, c := range calls {
		if !c.hasFile {
			continue
		}
		f := sentry.Frame{Lineno: c.line}
		setPath(&f, c.file)
		if i+1 < len(calls) {
			f.Function = calls[i+1].function
		} else {
			f.Function = "{main}"
		}
		frames = append(frames, f)
	}
	return reverseFrames(frames)
}

// stripPHPPrefix removes "PHP Fatal error:  Uncaught " and its variants in front of the exception.
func stripPHPPrefix(s string) string {
	s = strings.TrimPrefix(s, "PHP ")
	for _, p := range []string{"Fatal error:", "Uncaught"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, p))
	}
	return s
}

// phpFunctionName drops the argument list from "App\Foo->run(Object(App\Order), 'x')", ignoring
// parentheses inside braces such as PHP 8.4's "{closure:App\Foo::run():12}".
func phpFunctionName(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case '(':
			if depth == 0 {
				return s[:i]
			}
		}
	}
	return s
}

// isPHPClassName accepts "RuntimeException" and namespaced "App\Exceptions\PaymentFailed".
func isPHPClassName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '\\') {
			return false
		}
	}
	return true
}
