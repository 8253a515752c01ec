package stacktrace

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// nodeSourcePreview matches the "/app/index.js:3" line Node prints above an uncaught error, followed by the
// source line and a caret, before the error itself.
var nodeSourcePreview = regexp.MustCompile(`^\S.*:\d+$`)

// parseNodeJS reads V8's Error.stack (Node.js, Chrome, Deno, Bun) and Firefox/Safari stacks:
//
//	TypeError: Cannot read properties of undefined (reading 'id')
//	    at getUser (/app/src/users.js:12:20)
//	    at async Promise.all (index 0)
//	    at /app/src/index.js:5:3
//	    at Module._compile (node:internal/modules/cjs/loader:1256:14)
//
// and "getUser@https://example.com/app.js:12:20". Frames are printed newest first and come out reversed.
// An error printed by util.inspect with a cause ("[cause]: Error: inner" and its own frames) gives one
// exception per error, each cause a child of the error printed before it.
func parseNodeJS(lines []string) []parsedException {
	var excs []parsedException
	// header collects the lines before the first frame of the current error.
	var header []string
	inFrames := false

	flushHeader := func() {
		if len(excs) == 0 {
			excs = append(excs, parsedException{parent: -1})
		}
		e := &excs[len(excs)-1]
		e.typ, e.value = nodeHeader(header)
		header = header[:0]
	}

	for _, line := range lines {
		t := strings.TrimSpace(line)
		if f, ok := parseNodeFrame(t); ok {
			if !inFrames {
				flushHeader()
				inFrames = true
			}
			e := &excs[len(excs)-1]
			e.frames = append(e.frames, f)
			continue
		}
		if rest, ok := strings.CutPrefix(t, "[cause]: "); ok && len(excs) > 0 {
			excs = append(excs, parsedException{parent: len(excs) - 1, source: "cause"})
			header = append(header[:0], rest)
			inFrames = false
			continue
		}
		if !inFrames {
			header = append(header, line)
		}
		// After the frames: "}" and own properties of an inspected error ("code: 'E'"); no frames there.
	}
	if len(excs) == 0 {
		return nil
	}
	if !inFrames && len(header) > 0 {
		// A trailing cause without frames.
		flushHeader()
	}
	for i := range excs {
		excs[i].frames = reverseFrames(excs[i].frames)
	}
	return excs
}

// nodeHeader reads the error line(s) above the frames: "TypeError: msg" and continuation lines of a
// multi-line message. A source preview above the error ("/app/x.js:3", the source line, a caret line and a
// blank line) is skipped, and the "[ERR_CODE]" of "Error [ERR_CODE]: msg" is dropped from the type as
// Sentry's JavaScript SDK reports error.name only.
func nodeHeader(header []string) (typ, value string) {
	start := 0
	for start < len(header) && isBlank(header[start]) {
		start++
	}
	if start < len(header) && nodeSourcePreview.MatchString(strings.TrimSpace(header[start])) {
		for i := start; i < len(header); i++ {
			if isBlank(header[i]) {
				start = i + 1
				break
			}
		}
	}
	for start < len(header) && isBlank(header[start]) {
		start++
	}
	if start >= len(header) {
		return "", ""
	}
	first := strings.TrimSpace(header[start])
	first = strings.TrimPrefix(first, "Uncaught ")
	if strings.HasPrefix(first, "[") && strings.HasSuffix(first, "]") && start == len(header)-1 {
		first = first[1 : len(first)-1]
	}
	typ, value = splitTypeValue(first, isJSErrorName)
	var b strings.Builder
	b.WriteString(value)
	for _, l := range header[start+1:] {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimRight(l, " \t"))
	}
	value = strings.TrimRight(b.String(), "\n")
	if i := strings.Index(typ, " ["); i > 0 {
		typ = typ[:i]
	}
	return typ, value
}

// isJSErrorName accepts "TypeError", "MyError", "Error [ERR_HTTP_HEADERS_SENT]", "DOMException".
func isJSErrorName(s string) bool {
	if i := strings.Index(s, " ["); i > 0 && strings.HasSuffix(s, "]") {
		s = s[:i]
	}
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(unicode.IsLetter(r) || r == '_' || r == '$' || r == '.' || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// parseNodeFrame reads one V8 ("at fn (loc)", "at loc") or Firefox/Safari ("fn@loc") frame line.
func parseNodeFrame(t string) (sentry.Frame, bool) {
	var f sentry.Frame
	if rest, ok := strings.CutPrefix(t, "at "); ok {
		rest = strings.TrimSpace(strings.TrimSuffix(rest, "{"))
		// "at async file:line:col" is an anonymous async frame: the prefix is not part of the path.
		if loc, ok := strings.CutPrefix(rest, "async "); ok && !strings.HasSuffix(loc, ")") {
			rest = loc
		}
		var loc string
		if strings.HasSuffix(rest, ")") {
			open := strings.Index(rest, " (")
			if open < 0 {
				return f, false
			}
			f.Function = rest[:open]
			loc = rest[open+2 : len(rest)-1]
			// "eval at fn (file:1:2), <anonymous>:1:1": the file is the inner location.
			if strings.HasPrefix(loc, "eval at ") {
				if i, j := strings.LastIndex(loc, "("), strings.LastIndex(loc, ")"); i >= 0 && j > i {
					loc = loc[i+1 : j]
				}
			}
			// V8 prints a position or one of its placeholders; anything else is prose ("at least one
			// (reason)") in a message.
			if !hasLineCol(loc) && loc != "<anonymous>" && loc != "native" && !strings.HasPrefix(loc, "index ") {
				return f, false
			}
		} else {
			loc = rest
			if !hasLineCol(loc) {
				return f, false
			}
		}
		f.Function = strings.TrimPrefix(f.Function, "async ")
		setNodeLocation(&f, loc)
		return f, true
	}
	if m := geckoFrameLine.FindStringSubmatch(t); m != nil {
		f.Function = m[1]
		setPath(&f, m[2])
		f.Lineno = atoiBounded(m[3])
		f.Colno = atoiBounded(m[4])
		return f, true
	}
	return f, false
}

// setNodeLocation splits "file:line:col" from the right (Windows drive letters and URLs have colons too);
// "native", "<anonymous>" and "index 0" have no position. "index N" (the N-th promise of a Promise.all
// whose rejection an async frame awaited) is no file at all. An ES module's "file:///app/x.mjs" becomes the
// path "/app/x.mjs", as Sentry's Node SDK reports it ("file:///C:/app/x.mjs" becomes "C:/app/x.mjs").
func setNodeLocation(f *sentry.Frame, loc string) {
	if strings.HasPrefix(loc, "index ") && isDigits(loc[len("index "):]) {
		return
	}
	file := loc
	if i := strings.LastIndexByte(file, ':'); i >= 0 && isDigits(file[i+1:]) {
		col := atoiBounded(file[i+1:])
		file = file[:i]
		if j := strings.LastIndexByte(file, ':'); j >= 0 && isDigits(file[j+1:]) {
			f.Lineno = atoiBounded(file[j+1:])
			f.Colno = col
			file = file[:j]
		} else {
			f.Lineno = col
		}
	}
	setPath(f, stripFileURL(file))
}

// stripFileURL turns a file:// URL into the path it names.
func stripFileURL(file string) string {
	path, ok := strings.CutPrefix(file, "file://")
	if !ok {
		return file
	}
	// "file:///C:/x" names the Windows path "C:/x".
	if len(path) >= 4 && path[0] == '/' && path[2] == ':' && (path[3] == '/' || path[3] == '\\') {
		return path[1:]
	}
	return path
}

func hasLineCol(loc string) bool {
	i := strings.LastIndexByte(loc, ':')
	if i < 0 || !isDigits(loc[i+1:]) {
		return false
	}
	j := strings.LastIndexByte(loc[:i], ':')
	return j >= 0 && isDigits(loc[j+1:i])
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
