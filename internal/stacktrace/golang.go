package stacktrace

import (
	"strings"

	"github.com/getsentry/sentry-go"
)

// parseGo reads a Go panic dump or runtime/debug.Stack() output:
//
//	panic: runtime error: index out of range [5] with length 3
//
//	goroutine 1 [running]:
//	main.main()
//		/home/user/app/main.go:8 +0x1d
//
// Only the first goroutine is read: it is the one that panicked (or called debug.Stack); the others of a
// GOTRACEBACK=all dump are bystanders. Frames are printed newest first and come out reversed. A repanic
// ("panic: a [recovered]" then "\tpanic: b") gives one exception per panic, the first printed being the
// root; the frames belong to the last. "fatal error: ..." is read like a panic.
func parseGo(lines []string) []parsedException {
	var panics []parsedException
	var frames []sentry.Frame
	function := ""
	haveFunction := false
	inGoroutine := false
	inHeader := false // after a panic line, before the goroutine: continuation lines of its message

	for _, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" {
			inHeader = false
			continue
		}
		if goroutineLine.MatchString(t) {
			if inGoroutine {
				break
			}
			inGoroutine = true
			inHeader = false
			continue
		}
		if !inGoroutine {
			typ, value, ok := goPanicHeader(t)
			switch {
			case ok:
				panics = append(panics, parsedException{typ: typ, value: value})
				inHeader = true
			case inHeader && len(panics) > 0 && !strings.HasPrefix(t, "[signal "):
				p := &panics[len(panics)-1]
				p.addLine(t)
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "\t") && haveFunction:
			m := goFileLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			f := goFrame(function, m[1], atoiBounded(m[2]))
			frames = append(frames, f)
			haveFunction = false
		case strings.HasPrefix(t, "created by "):
			name := strings.TrimPrefix(t, "created by ")
			if i := strings.Index(name, " in goroutine "); i >= 0 {
				name = name[:i]
			}
			function, haveFunction = name, true
		case strings.HasSuffix(t, ")") && line[0] != '\t':
			function, haveFunction = stripGoArgs(t), true
		default:
			// "...additional frames elided...", register dumps and the like.
			haveFunction = false
		}
	}
	if len(frames) == 0 {
		return nil
	}
	if len(panics) == 0 {
		panics = append(panics, parsedException{})
	}
	// The panics were printed oldest first; the last one is reported and owns the goroutine's frames.
	panics[len(panics)-1].frames = reverseFrames(frames)
	out := reverseChain(panics)
	for i := 1; i < len(out); i++ {
		out[i].source = "recovered"
	}
	return out
}

// goPanicHeader reads "panic: msg", "panic: msg [recovered]" and "fatal error: msg".
func goPanicHeader(t string) (typ, value string, ok bool) {
	for _, prefix := range []string{"panic: ", "fatal error: "} {
		if strings.HasPrefix(t, prefix) {
			value = strings.TrimPrefix(t, prefix)
			for _, suffix := range []string{" [recovered]", " [recovered, repanicked]", " [recovered, reraised]"} {
				value = strings.TrimSuffix(value, suffix)
			}
			return strings.TrimSuffix(prefix, ": "), value, true
		}
	}
	return "", "", false
}

// stripGoArgs removes the trailing argument list "(0xc000010000, {0x1, 0x2})" or "(...)" from a function
// line, matching parentheses from the right so that receivers like "(*T)" stay.
func stripGoArgs(t string) string {
	depth := 0
	for i := len(t) - 1; i >= 0; i-- {
		switch t[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return t[:i]
			}
		}
	}
	return t
}

// goFrame builds a frame, splitting the qualified function name as sentry-go does: the module is the
// import path up to the first dot after the last slash, the function is the rest ("(*T).Method",
// "main.func1").
func goFrame(qualified, file string, line int) sentry.Frame {
	f := sentry.Frame{Function: qualified, Lineno: line}
	if !strings.HasPrefix(qualified, "go:") && !strings.HasPrefix(qualified, "type:") {
		slash := max(strings.LastIndexByte(qualified, '/'), 0)
		if dot := strings.IndexByte(qualified[slash:], '.'); dot >= 0 {
			f.Module = qualified[:slash+dot]
			f.Function = qualified[slash+dot+1:]
		}
	}
	if file != "?" {
		setPath(&f, file)
	}
	return f
}
