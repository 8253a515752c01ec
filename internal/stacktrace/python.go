package stacktrace

import (
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// Python's chain markers: the line printed between two exceptions, and the mechanism source Sentry's
// Python SDK uses for the relation.
const (
	pythonCauseMarker   = "The above exception was the direct cause of the following exception:"
	pythonContextMarker = "During handling of the above exception, another exception occurred:"
)

// parsePython reads traceback.format_exception output:
//
//	Traceback (most recent call last):
//	  File "/app/main.py", line 10, in <module>
//	    main()
//	ValueError: bad value
//
// Chained exceptions are printed root cause first, separated by the cause or context marker; frames are
// already oldest first. The source line under a frame becomes the frame's context_line; Python 3.11+
// caret lines ("^^^^") are skipped. Exception groups ("| " prefixed blocks) are not parsed.
func parsePython(lines []string) []parsedException {
	var chain []parsedException
	var cur *parsedException
	pendingSource := ""
	inMessage := false // after the exception line, until a blank line or marker

	begin := func() *parsedException {
		chain = append(chain, parsedException{source: pendingSource})
		pendingSource = ""
		return &chain[len(chain)-1]
	}

	for _, line := range lines {
		t := strings.TrimSpace(line)
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		switch {
		case t == "":
			inMessage = false
		case t == pythonCauseMarker || t == pythonContextMarker:
			inMessage = false
			cur = nil
			// The marker describes how the previous exception relates to the next one.
			if t == pythonCauseMarker {
				pendingSource = "__cause__"
			} else {
				pendingSource = "__context__"
			}
		case strings.HasPrefix(t, "Traceback (most recent call last):"):
			inMessage = false
			cur = begin()
		case strings.HasPrefix(t, "File \"") && indented:
			m := pythonFrameLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if cur == nil || inMessage {
				inMessage = false
				cur = begin()
			}
			f := sentry.Frame{Function: m[3], Lineno: atoiBounded(m[2])}
			setPath(&f, m[1])
			cur.frames = append(cur.frames, f)
		case indented && !inMessage:
			// An indented line under a frame: its source line, a caret line, or a "[Previous line
			// repeated N more times]" note.
			if cur == nil || len(cur.frames) == 0 || isPythonCaretLine(t) || strings.HasPrefix(t, "[Previous line repeated") {
				continue
			}
			last := &cur.frames[len(cur.frames)-1]
			if last.ContextLine == "" {
				last.ContextLine = t
			}
		case inMessage && cur != nil:
			cur.addLine(line)
		default:
			// The exception line "module.Type: message" (or a bare "Type").
			if cur == nil || cur.typ != "" || cur.value != "" {
				cur = begin()
			}
			cur.typ, cur.value = splitTypeValue(line, isPythonTypeName)
			inMessage = true
		}
	}
	if len(chain) == 0 {
		return nil
	}
	out := reverseChain(chain)
	// A marker was recorded on the exception printed after it, but it names how the exception printed
	// before it relates to that one: move each source to the child (the next one in pre-order).
	for i := len(out) - 1; i > 0; i-- {
		out[i].source = out[i-1].source
	}
	out[0].source = ""
	return out
}

func isPythonCaretLine(t string) bool {
	return strings.Trim(t, "^~ ") == ""
}

// isPythonTypeName accepts a dotted Python identifier ("ValueError", "requests.exceptions.HTTPError",
// "__main__.MyError"); Python identifiers may contain any Unicode letter.
func isPythonTypeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
