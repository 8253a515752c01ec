package stacktrace

import (
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// javaException is an exception of a Java trace while it is being read: frames newest first as printed,
// plus the count of frames the JVM left out ("... N more") because they equal the enclosing trace's last N.
type javaException struct {
	parsedException
	index   int
	indent  int
	omitted int
	// header is true until the first frame: lines seen meanwhile continue a multi-line message.
	header bool
}

// parseJava reads Throwable.printStackTrace output (also Kotlin and Scala; parsePHPJava reads the OTel PHP
// SDK's Java-style traces with it):
//
//	java.lang.IllegalStateException: message
//		at com.foo.Bar.method(Bar.java:123)
//		... 3 more
//		Suppressed: java.io.IOException: close failed
//			at ...
//	Caused by: java.sql.SQLException: message
//		at ...
//
// Nesting follows indentation: a "Caused by:" belongs to the latest exception printed at the same
// indentation, a "Suppressed:" to the latest one printed less indented. The "... N more" frames are filled
// in from the enclosing exception (the one this is a cause or suppressed exception of), since the JVM only
// elides frames identical to the enclosing trace's last N.
func parseJava(lines []string) []parsedException {
	return parseJavaWith(lines, parseJavaFrame, isJavaFrameLine)
}

// isJavaFrameLine reports whether a trimmed line is a Java "at ..." frame.
func isJavaFrameLine(t string) bool {
	return javaFrameLine.MatchString(t)
}

// parseJavaWith reads the structure of a Java-style trace, with frame lines recognised by isFrame and read
// by readFrame (the text after "at "), so that the OTel PHP SDK's Java-like text can keep PHP's names.
func parseJavaWith(lines []string, readFrame func(string) sentry.Frame, isFrame func(string) bool) []parsedException {
	var excs []*javaException
	var stack []*javaException // open exceptions, innermost last

	current := func() *javaException {
		if len(stack) == 0 {
			return nil
		}
		return stack[len(stack)-1]
	}
	start := func(header string, indent int, parent *javaException, source string) {
		e := &javaException{index: len(excs), indent: indent, header: true}
		e.parent = -1
		if parent != nil {
			e.parent = parent.index
		}
		e.source = source
		e.typ, e.value = splitTypeValue(header, isJavaTypeName)
		excs = append(excs, e)
		stack = append(stack, e)
	}

	for _, line := range lines {
		if len(excs) > MaxExceptions {
			// The JVM prints in pre-order, so everything from here on would be dropped by buildResult
			// anyway; stopping bounds the "... N more" fill-in below. The extra exception tells
			// buildResult to report the truncation.
			break
		}
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		indent := leadingWhitespace(line)
		switch {
		case strings.HasPrefix(t, "at ") && isFrame(t):
			if current() == nil {
				start("", indent, nil, "")
			}
			e := current()
			e.header = false
			e.frames = append(e.frames, readFrame(t[len("at "):]))
		case strings.HasPrefix(t, "... ") && current() != nil && isJavaMore(t):
			e := current()
			e.header = false
			e.omitted = atoiBounded(strings.Fields(t)[1])
		case strings.HasPrefix(t, "Caused by: ") && len(stack) > 0:
			for len(stack) > 1 && stack[len(stack)-1].indent > indent {
				stack = stack[:len(stack)-1]
			}
			start(t[len("Caused by: "):], indent, current(), "cause")
		case strings.HasPrefix(t, "Suppressed: ") && len(stack) > 0:
			for len(stack) > 1 && stack[len(stack)-1].indent >= indent {
				stack = stack[:len(stack)-1]
			}
			start(t[len("Suppressed: "):], indent, current(), "suppressed")
		case len(excs) == 0:
			start(stripJavaThreadPrefix(t), indent, nil, "")
		case current() != nil && current().header:
			// A multi-line message: keep the line as printed, minus the line terminator.
			e := current()
			e.addLine(strings.TrimRight(line, " \t"))
		}
		// Anything else (a "[CIRCULAR REFERENCE: ...]" line, a logger's trailer) carries no frame.
	}

	out := make([]parsedException, len(excs))
	printed := make([][]sentry.Frame, len(excs))
	for i, e := range excs {
		frames := e.frames
		if e.omitted > 0 && e.parent >= 0 {
			enclosing := printed[e.parent]
			n := min(e.omitted, len(enclosing))
			frames = append(frames[:len(frames):len(frames)], enclosing[len(enclosing)-n:]...)
		}
		printed[i] = frames
		pe := e.parsedException
		pe.frames = reverseFrames(append([]sentry.Frame(nil), frames...))
		out[i] = pe
	}
	return out
}

// parseJavaFrame reads "pkg.Class.method(File.java:12)" with an optional module prefix
// ("java.base/", "app//", "java.base@17/").
func parseJavaFrame(s string) sentry.Frame {
	var f sentry.Frame
	open := strings.IndexByte(s, '(')
	if open < 0 {
		f.Function = s
		return f
	}
	name, loc := s[:open], s[open+1:]
	if end := strings.IndexByte(loc, ')'); end >= 0 {
		loc = loc[:end]
	}
	if slash := strings.LastIndexByte(name, '/'); slash >= 0 {
		module := strings.TrimRight(name[:slash], "/")
		if at := strings.IndexByte(module, '@'); at >= 0 {
			module = module[:at]
		}
		f.Package = module
		name = name[slash+1:]
	}
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		f.Module, f.Function = name[:dot], name[dot+1:]
	} else {
		f.Function = name
	}
	switch loc {
	case "Native Method", "Unknown Source", "":
	default:
		file := loc
		if colon := strings.LastIndexByte(loc, ':'); colon >= 0 {
			file = loc[:colon]
			f.Lineno = atoiBounded(loc[colon+1:])
		}
		f.Filename = file
	}
	return f
}

// isJavaMore recognises "... 12 more" and logback's "... 12 common frames omitted".
func isJavaMore(t string) bool {
	fields := strings.Fields(t)
	if len(fields) < 3 || atoiBounded(fields[1]) == 0 && fields[1] != "0" {
		return false
	}
	return fields[2] == "more" || fields[2] == "common"
}

// stripJavaThreadPrefix removes the JVM's "Exception in thread "main" " prefix of uncaught exceptions.
func stripJavaThreadPrefix(t string) string {
	const prefix = "Exception in thread \""
	if strings.HasPrefix(t, prefix) {
		if end := strings.Index(t[len(prefix):], "\" "); end >= 0 {
			return t[len(prefix)+end+2:]
		}
	}
	return t
}

// isJavaTypeName accepts a (possibly qualified) Java identifier such as "com.foo.Bar$Inner"; Java allows
// any Unicode letter in identifiers.
func isJavaTypeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$' || r == '.') {
			return false
		}
	}
	return true
}

// leadingWhitespace counts leading spaces and tabs; Java's nesting is one tab per level, but loggers
// sometimes expand tabs, so only the relative width matters.
func leadingWhitespace(s string) int {
	n := 0
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	return n
}
