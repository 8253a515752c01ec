// Package stacktrace turns the free-text stack traces that OpenTelemetry SDKs put in the
// `exception.stacktrace` attribute of a span's `exception` event into Sentry exceptions with parsed frames.
//
// OTel carries a stack trace as the text the language runtime prints, while Sentry groups issues and
// renders code context from structured frames. Parsing the text here lets the exporter send error events
// that group and display like events from Sentry's own SDKs. See docs/stacktraces.md for the formats, the
// in_app rules and the limits.
package stacktrace

import (
	"strings"

	"github.com/getsentry/sentry-go"
)

// MaxFrames is the largest number of frames kept per exception. Sentry's SDKs and Relay treat 250 frames as
// the useful maximum; longer stacks (deep recursion, stack overflows) make events big without helping
// anyone. When a stack is longer, Parse keeps the MaxFrames/2 oldest frames (the entry point, which tells
// where the work came from) and the MaxFrames/2 newest frames (nearest the crash, which tell what failed),
// drops the middle, records the dropped range in Stacktrace.FramesOmitted and sets Result.Truncated.
const MaxFrames = 250

// MaxExceptions caps the exceptions one trace yields (the reported one plus chained causes, inner and
// suppressed exceptions). It bounds the work of filling in Java's "... N more" frames, which otherwise
// grows with causes times frames. When a trace has more, the ones nearest the reported exception are kept,
// the deepest causes are dropped and Result.Truncated is set.
const MaxExceptions = 50

// Format names, reported in Result.Format so the exporter can tell which parser read the text.
const (
	FormatJava   = "java"
	FormatPython = "python"
	FormatGo     = "go"
	FormatNodeJS = "nodejs"
	FormatDotNet = "dotnet"
	FormatRuby   = "ruby"
	FormatPHP    = "php"
	// FormatRaw means no frame could be parsed: the exception carries only type and value and the text is
	// returned in Result.Raw for the caller to attach to the event.
	FormatRaw = "raw"
)

// fallbackType is the exception type used when neither the span event nor the text names one, so that
// every exception has a type or value (Sentry drops exceptions with neither).
const fallbackType = "Error"

// Result is the outcome of Parse. It is a struct rather than a bare slice so that the caller also learns
// which format was recognised, gets the raw text back when nothing could be parsed, and knows whether
// frames were dropped.
type Result struct {
	// Exceptions are ordered as Sentry wants exception.values: the root cause first, the reported
	// exception last. Never empty.
	Exceptions []sentry.Exception
	// Format is one of the Format* constants.
	Format string
	// Raw is the input text when no frames could be parsed (Format "raw"), else "".
	Raw string
	// Truncated is true when frames (or, beyond MaxExceptions, chained exceptions) were dropped.
	Truncated bool
}

// parsedException is what the format parsers produce: one exception of the trace, in the order
// "reported exception first, then its causes", with frames newest first or oldest first as noted.
type parsedException struct {
	typ    string
	value  string
	more   []string // continuation lines of a multi-line value, see addLine
	module string
	// frames are oldest call first (Sentry order) once the parser returns.
	frames []sentry.Frame
	// parent is the index of the exception this one is a cause/inner/suppressed exception of, or -1 for
	// the reported exception. A parent always has a smaller index than its children.
	parent int
	// source names the relation to the parent in the language's words (Sentry's mechanism.source):
	// "cause", "__cause__", "__context__", "InnerException", "suppressed", "previous", "exceptions[0]".
	source string
	// group marks an exception group (Python's ExceptionGroup): its members are its children, and Sentry
	// shows it as a group through mechanism.is_exception_group.
	group bool
}

// parser parses one text format. lines have no line terminators. It returns the exceptions in pre-order
// (the reported exception at index 0, each parent before its children).
type parser func(lines []string) []parsedException

// formatParser maps a format name to its parser. A function rather than a map so that there is no
// package-level mutable state.
func formatParser(format string) parser {
	switch format {
	case FormatJava:
		return parseJava
	case FormatPython:
		return parsePython
	case FormatGo:
		return parseGo
	case FormatNodeJS:
		return parseNodeJS
	case FormatDotNet:
		return parseDotNet
	case FormatRuby:
		return parseRuby
	case FormatPHP:
		return parsePHP
	}
	return nil
}

// formatForLanguage maps OTel's telemetry.sdk.language values to the format that SDK prints.
func formatForLanguage(language string) string {
	switch strings.ToLower(strings.TrimSpace(language)) {
	case "java", "kotlin", "scala":
		return FormatJava
	case "python":
		return FormatPython
	case "go":
		return FormatGo
	case "nodejs", "webjs", "javascript", "js":
		return FormatNodeJS
	case "dotnet", "csharp":
		return FormatDotNet
	case "ruby":
		return FormatRuby
	case "php":
		return FormatPHP
	}
	return ""
}

// Parse turns a runtime-printed stack trace into Sentry exceptions, ordered as Sentry wants them in
// exception.values: the root cause first, the exception that was finally raised/reported last. Frames
// inside each Stacktrace are ordered oldest call first (the crashing frame last).
//
// language is the OTel telemetry.sdk.language value ("java", "python", "go", "nodejs", "dotnet", "ruby",
// "php", "webjs", ... or "" when unknown). When it is empty, unknown, or its parser finds no frame in the
// text (the OTel PHP SDK, for one, prints Java-style traces), the format is detected from the text. Java-style
// text from a PHP SDK is read with PHP's names (see parsePHPJava) and reported as Format "php".
//
// excType and message are the span event's exception.type / exception.message; when non-empty they win for
// the reported (last) exception, and the parsed header lines fill them otherwise.
//
// When the text holds more than one exception, every exception gets a Mechanism with type "chained" (the
// reported one "generic"), exception_id/parent_id linking it to the exception it belongs to and source
// naming the relation; the caller may set Handled on the last one. A single exception gets no Mechanism.
//
// Parse never returns an empty slice: unknown text gives Format "raw", one exception with the given
// type/value (or the first line of the text), no frames, and the text in Result.Raw.
func Parse(language, excType, message, text string) Result {
	lines := splitLines(text)

	hinted := formatForLanguage(language)
	format := hinted
	var parsed []parsedException
	if p := formatParser(format); p != nil {
		parsed = p(lines)
	}
	if !hasFrames(parsed) {
		format = detectFormat(lines)
		parsed = nil
		if format == FormatJava && hinted == FormatPHP {
			// The OTel PHP SDK's Java-like text: read as Java, named as PHP.
			parsed, format = parsePHPJava(lines), FormatPHP
		} else if p := formatParser(format); p != nil {
			parsed = p(lines)
		}
	}
	if !hasFrames(parsed) {
		return rawResult(excType, message, text, lines)
	}
	return buildResult(format, parsed, excType, message)
}

// splitLines splits text into lines, accepting LF, CRLF and lone CR line endings, and drops leading and
// trailing blank lines.
func splitLines(text string) []string {
	if strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	lines := strings.Split(text, "\n")
	start, end := 0, len(lines)
	for start < end && isBlank(lines[start]) {
		start++
	}
	for end > start && isBlank(lines[end-1]) {
		end--
	}
	return lines[start:end]
}

func isBlank(s string) bool {
	return strings.TrimSpace(s) == ""
}

func hasFrames(parsed []parsedException) bool {
	for i := range parsed {
		if len(parsed[i].frames) > 0 {
			return true
		}
	}
	return false
}

// rawResult is the answer for text no parser understood: one exception, no frames, the text kept.
func rawResult(excType, message, text string, lines []string) Result {
	exc := sentry.Exception{Type: excType, Value: message}
	if exc.Type == "" && exc.Value == "" {
		for _, l := range lines {
			if !isBlank(l) {
				exc.Value = strings.TrimSpace(l)
				break
			}
		}
	}
	if exc.Type == "" && exc.Value == "" {
		exc.Type = fallbackType
	}
	return Result{Exceptions: []sentry.Exception{exc}, Format: FormatRaw, Raw: text}
}

// buildResult applies the span event's type and message, truncation, in_app and mechanisms, and reverses
// the pre-order list into Sentry's root-cause-first order.
func buildResult(format string, parsed []parsedException, excType, message string) Result {
	res := Result{Format: format}
	if len(parsed) > MaxExceptions {
		// Pre-order keeps every parent before its children, so a prefix is a closed tree.
		parsed = parsed[:MaxExceptions]
		res.Truncated = true
	}
	if excType != "" {
		parsed[0].typ = excType
	}
	if message != "" {
		parsed[0].value, parsed[0].more = message, nil
	}

	chained := len(parsed) > 1 || parsed[0].group
	exceptions := make([]sentry.Exception, len(parsed))
	for i := range parsed {
		p := &parsed[i]
		exc := sentry.Exception{Type: p.typ, Value: p.fullValue(), Module: p.module}
		if exc.Type == "" && exc.Value == "" {
			exc.Type = fallbackType
		}
		if len(p.frames) > 0 {
			frames, omitted := truncateFrames(p.frames)
			if omitted != nil {
				res.Truncated = true
			}
			for j := range frames {
				frames[j].InApp = isInApp(format, &frames[j])
			}
			exc.Stacktrace = &sentry.Stacktrace{Frames: frames, FramesOmitted: omitted}
		}
		if chained {
			exc.Mechanism = chainMechanism(i, p)
		}
		// Reverse: pre-order index 0 (the reported exception) goes last.
		exceptions[len(parsed)-1-i] = exc
	}
	res.Exceptions = exceptions
	return res
}

// chainMechanism links exception i of the pre-order list to its parent the way Sentry SDKs do for chained
// exceptions: exception_id is the pre-order index (0 for the reported exception), parent_id the parent's.
func chainMechanism(i int, p *parsedException) *sentry.Mechanism {
	m := &sentry.Mechanism{Type: "generic", ExceptionID: i, IsExceptionGroup: p.group}
	if i > 0 && p.parent >= 0 {
		parent := p.parent
		m.Type = "chained"
		m.ParentID = &parent
		m.Source = p.source
	}
	return m
}

// truncateFrames keeps the MaxFrames/2 oldest and MaxFrames/2 newest frames of an oldest-first slice and
// returns the omitted range [first, end) in the original numbering, or nil when nothing was dropped.
func truncateFrames(frames []sentry.Frame) ([]sentry.Frame, []uint) {
	n := len(frames)
	if n <= MaxFrames {
		return frames, nil
	}
	head := MaxFrames / 2
	tail := MaxFrames - head
	kept := make([]sentry.Frame, 0, MaxFrames)
	kept = append(kept, frames[:head]...)
	kept = append(kept, frames[n-tail:]...)
	return kept, []uint{uint(head), uint(n - tail)}
}

// reverseFrames turns a newest-first frame list (how most runtimes print) into Sentry's oldest-first order.
func reverseFrames(frames []sentry.Frame) []sentry.Frame {
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// reverseChain turns a list in text order "root cause first" (Python, PHP) into pre-order "reported
// first", each exception being the parent of the one printed before it.
func reverseChain(chain []parsedException) []parsedException {
	n := len(chain)
	out := make([]parsedException, n)
	for i := range chain {
		e := chain[n-1-i]
		e.parent = i - 1
		out[i] = e
	}
	return out
}

// setPath fills Filename with the path as printed and AbsPath when the path is absolute (a Unix or
// Windows path or a URL), as Sentry SDKs do.
func setPath(f *sentry.Frame, path string) {
	f.Filename = path
	if isAbsPath(path) {
		f.AbsPath = path
	}
}

func isAbsPath(p string) bool {
	switch {
	case p == "":
		return false
	case p[0] == '/' || p[0] == '\\':
		return true
	case len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/'):
		return true
	case strings.Contains(p, "://"):
		return true
	}
	return false
}

// splitTypeValue splits a header "Type: message" when the part before the first ": " looks like a type
// name according to isTypeName; otherwise the whole header is the value.
func splitTypeValue(header string, isTypeName func(string) bool) (typ, value string) {
	header = strings.TrimSpace(header)
	if i := strings.Index(header, ":"); i > 0 && isTypeName(header[:i]) {
		rest := header[i+1:]
		if rest == "" || rest[0] == ' ' || rest[0] == '\n' || rest[0] == '\t' {
			return header[:i], strings.TrimSpace(rest)
		}
	}
	if isTypeName(header) {
		return header, ""
	}
	return "", header
}

// addLine records a continuation line of a multi-line message. Lines are joined once at the end
// (fullValue) so that a message of many lines costs linear, not quadratic, time.
func (p *parsedException) addLine(line string) {
	p.more = append(p.more, line)
}

// fullValue is the message with its continuation lines.
func (p *parsedException) fullValue() string {
	if len(p.more) == 0 {
		return p.value
	}
	rest := strings.Join(p.more, "\n")
	if p.value == "" {
		return rest
	}
	return p.value + "\n" + rest
}

// atoiBounded parses a run of ASCII digits, capping at a large value instead of overflowing, so that
// absurd line numbers in hostile input cannot wrap around. It returns 0 for anything that is not digits.
func atoiBounded(s string) int {
	const limit = 1 << 30
	n := 0
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		if n < limit {
			n = n*10 + int(c-'0')
		}
	}
	if n > limit {
		n = limit
	}
	return n
}
