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
		if c.function == "{main}" && !c.hasFile {
			// "#N {main}" is the bottom of the stack, not a call; the frame before it lies in {main}.
			continue
		}
		// A call from "[internal function]" was made by the function called on the next line (array_map
		// calling a closure): a frame of that function without a file, as Sentry's PHP SDK keeps it.
		f := sentry.Frame{Lineno: c.line}
		if c.hasFile {
			setPath(&f, c.file)
		}
		if i+1 < len(calls) {
			f.Function = calls[i+1].function
		} else {
			f.Function = "{main}"
		}
		frames = append(frames, f)
	}
	return reverseFrames(frames)
}

// stripPHPPrefix removes "PHP Fatal error:  Uncaught " and its variants in front of the exception, and the
// "[03-Dec-2026 06:48:32 UTC] " timestamp of an error-log line before it.
func stripPHPPrefix(s string) string {
	if strings.HasPrefix(s, "[") {
		if end := strings.Index(s, "] "); end > 0 && strings.ContainsAny(s[:end], ":-") {
			s = s[end+2:]
		}
	}
	s = strings.TrimPrefix(s, "PHP ")
	for _, p := range []string{"Fatal error:", "Uncaught"} {
		s = strings.TrimSpace(strings.TrimPrefix(s, p))
	}
	return s
}

// phpFunctionName drops the argument list from "App\Foo->run(Object(App\Order), 'x')", ignoring
// parentheses inside braces such as PHP 8.4's "{closure:App\Foo::run():12}", and writes a method as
// "App\Foo::run" whether it was called on an instance ("->") or statically, as Sentry's PHP SDK names it.
func phpFunctionName(s string) string {
	s = phpArgsStripped(s)
	if i := strings.Index(s, "->"); i > 0 && !strings.Contains(s[:i], "{") {
		s = s[:i] + "::" + s[i+2:]
	}
	return s
}

func phpArgsStripped(s string) string {
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

// parsePHPJava reads the OTel PHP SDK's exception.stacktrace: its StackTraceFormatter prints a Throwable the
// way Java's printStackTrace does,
//
//	App.Billing.PaymentDeclined: amount rejected
//		at App.Billing.CheckoutService.charge(Billing.php:22)
//		at App.Billing.CheckoutService.App.Billing.{closure}(Billing.php:13)
//		at array_map(Unknown Source)
//		at {main}(index.php:5)
//	Caused by: InvalidArgumentException: not a number
//		at App.Billing.CheckoutService.parse(Billing.php:29)
//		... 3 more
//
// with namespace separators turned into dots and only a file's base name. The structure is Java's (causes,
// "... N more" filled in from the enclosing exception); the names are given back PHP's spelling so that
// events group like those of Sentry's PHP SDK and of PHP's own format: types "App\Billing\PaymentDeclined",
// functions "App\Billing\CheckoutService::charge", each getPrevious() a child with source "previous". A frame
// without a file ("Unknown Source": a PHP built-in such as array_map) has no filename, and is not in-app.
func parsePHPJava(lines []string) []parsedException {
	parsed := parseJavaWith(lines, parsePHPJavaFrame, isPHPJavaFrameLine)
	for i := range parsed {
		parsed[i].typ = strings.ReplaceAll(parsed[i].typ, ".", `\`)
		if parsed[i].source == "cause" {
			parsed[i].source = "previous"
		}
	}
	return parsed
}

// isPHPJavaFrameLine accepts Java frame lines and PHP 8.4 closures, whose names hold parentheses and
// colons ("at App.Foo.{closure:App.Foo::run():12}(Foo.php:13)").
func isPHPJavaFrameLine(t string) bool {
	return javaFrameLine.MatchString(t) || strings.Contains(t, "{closure") && strings.HasSuffix(t, ")")
}

// parsePHPJavaFrame reads "App.Billing.CheckoutService.charge(Billing.php:22)". The location is the last
// parenthesised part; the name is "Class.function" with dots for backslashes. A PHP 8.0-8.3 closure is named
// by its namespace, so a closure in a class prints the namespace twice
// ("App.Billing.CheckoutService.App.Billing.{closure}"): the class is the part that the closure's namespace
// is a prefix of. Without a class part, a dotted name reads as Class.method; a namespaced function
// ("App.Util.helper") cannot be told from a method by the text alone.
func parsePHPJavaFrame(s string) sentry.Frame {
	var f sentry.Frame
	name, loc := s, ""
	if strings.HasSuffix(s, ")") {
		if open := strings.LastIndexByte(s, '('); open >= 0 {
			name, loc = s[:open], s[open+1:len(s)-1]
		}
	}
	f.Function = phpJavaName(name)
	if loc != "" && loc != "Unknown Source" {
		file := loc
		if colon := strings.LastIndexByte(loc, ':'); colon >= 0 && isDigits(loc[colon+1:]) {
			file = loc[:colon]
			f.Lineno = atoiBounded(loc[colon+1:])
		}
		setPath(&f, file)
	}
	return f
}

// maxPHPClassName bounds the class-and-namespace prefix of a closure that phpJavaName splits.
const maxPHPClassName = 1024

// phpJavaName turns a dotted "Class.function" back into PHP's "Class::function".
func phpJavaName(name string) string {
	if i := strings.Index(name, "{closure"); i >= 0 {
		prefix, closure := name[:i], name[i:]
		if rest, ok := strings.CutPrefix(closure, "{closure:"); ok && !strings.HasPrefix(rest, "/") {
			// PHP 8.4: "{closure:App.Foo::run():12}" names the enclosing method.
			closure = "{closure:" + strings.ReplaceAll(rest, ".", `\`)
		}
		prefix = strings.TrimSuffix(prefix, ".")
		if prefix == "" {
			return closure
		}
		// "Class.Namespace": the namespace printed before {closure} repeats the class's namespace. The
		// search is quadratic in the dots of the name, so it is skipped for names no PHP class has.
		for p := strings.IndexByte(prefix, '.'); p >= 0 && len(prefix) <= maxPHPClassName; {
			class, ns := prefix[:p], prefix[p+1:]
			if strings.HasPrefix(class, ns+".") {
				return phpBackslashes(class) + "::" + phpBackslashes(ns) + `\` + closure
			}
			next := strings.IndexByte(prefix[p+1:], '.')
			if next < 0 {
				break
			}
			p += 1 + next
		}
		return phpBackslashes(prefix) + "::" + closure
	}
	if dot := strings.LastIndexByte(name, '.'); dot > 0 && dot < len(name)-1 {
		return phpBackslashes(name[:dot]) + "::" + name[dot+1:]
	}
	return name
}

func phpBackslashes(s string) string {
	return strings.ReplaceAll(s, ".", `\`)
}
