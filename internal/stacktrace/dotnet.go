package stacktrace

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/getsentry/sentry-go"
)

// parseDotNet reads Exception.ToString() output:
//
//	System.InvalidOperationException: Load failed ---> System.IO.FileNotFoundException: Could not find file
//	   at App.Store.Read(String path) in /src/App/Store.cs:line 42
//	   --- End of inner exception stack trace ---
//	   at App.Store.Load() in /src/App/Store.cs:line 17
//
// The header names the outer exception first and each inner exception after " ---> " (on the same line,
// or, since .NET Core 3.0, at the start of the next); the first frame block belongs to the innermost one and
// every "--- End of inner exception stack trace ---" moves one level out. Frames are printed newest first
// and come out reversed. Localised line markers (":Zeile 42") are accepted; "--- End of stack trace from
// previous location ---" (async boundaries) is skipped.
//
// An AggregateException prints its InnerExceptions again after its own trace, each between
// "---> (Inner Exception #1) Type: msg" and "<---". Like Sentry's .NET SDK, the AggregateException is then an
// exception group (is_exception_group) whose members are those inner exceptions, with source
// "InnerExceptions[i]". Mono prints member #0 there too, and the header's " ---> " chain, which repeats it, is
// left out; .NET Core skips #0 there (it is the InnerException), so the header's chain is member #0.
func parseDotNet(lines []string) []parsedException {
	main, members := splitDotNetAggregate(lines)
	excs := parseDotNetSegment(main, false)
	if len(members) == 0 || len(excs) == 0 {
		return excs
	}
	out := excs[:1:1]
	out[0].group = true
	if len(excs) > 1 && members[0].index != 0 {
		// .NET Core leaves out member #0, the InnerException the header already printed: keep that one.
		out = excs
		out[1].source = "InnerExceptions[0]"
	}
	for _, m := range members {
		member := parseDotNetSegment(m.lines, true)
		base := len(out)
		for j := range member {
			if member[j].parent < 0 {
				member[j].parent = 0
				member[j].source = "InnerExceptions[" + strconv.Itoa(m.index) + "]"
			} else {
				member[j].parent += base
			}
		}
		out = append(out, member...)
		if len(out) > MaxExceptions {
			break
		}
	}
	return out
}

// dotnetMember is the text of one "(Inner Exception #N)" block of an AggregateException.
type dotnetMember struct {
	index int
	lines []string
}

// splitDotNetAggregate separates an AggregateException's "---> (Inner Exception #N) ... <---" blocks from the
// trace before them.
func splitDotNetAggregate(lines []string) (main []string, members []dotnetMember) {
	const open = "---> (Inner Exception #"
	main = lines
	inMember := false
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, open); ok {
			if members == nil {
				main = lines[:i]
			}
			m := dotnetMember{index: len(members)}
			if end := strings.Index(rest, ") "); end > 0 {
				if n := atoiBounded(rest[:end]); n > 0 || rest[:end] == "0" {
					m.index = n
				}
				rest = rest[end+2:]
			}
			members = append(members, m)
			t, line = rest, rest
		} else if !inMember {
			continue
		}
		closed := strings.HasSuffix(t, "<---")
		if closed {
			line = strings.TrimSuffix(strings.TrimRight(line, " \t"), "<---")
		}
		members[len(members)-1].lines = append(members[len(members)-1].lines, line)
		inMember = !closed
	}
	return main, members
}

// parseDotNetSegment reads one exception's text with its " ---> " inner exceptions. withoutFrames keeps a
// header that no frame follows (an AggregateException member that was never thrown).
func parseDotNetSegment(lines []string, withoutFrames bool) []parsedException {
	var header []string
	var excs []parsedException
	level := -1 // index in excs of the exception receiving frames

	for _, line := range lines {
		t := strings.TrimSpace(line)
		f, ok := dotnetFrameOf(line)
		if ok {
			if excs == nil {
				excs = dotnetHeader(header)
				level = len(excs) - 1
			}
			excs[level].frames = append(excs[level].frames, f)
			continue
		}
		switch {
		case strings.HasPrefix(t, "--- End of inner exception stack trace ---"):
			if level > 0 {
				level--
			}
		case strings.HasPrefix(t, "--- "):
			// "--- End of stack trace from previous location ---" and similar separators.
		case excs == nil:
			header = append(header, line)
		}
	}
	if excs == nil && withoutFrames && len(header) > 0 {
		excs = dotnetHeader(header)
	}
	for i := range excs {
		excs[i].frames = reverseFrames(excs[i].frames)
	}
	return excs
}

// dotnetFrameOf reads a frame line of .NET ("at Ns.C.M(String x) in /src/C.cs:line 42") or Mono ("at
// Ns.C.M (System.String x) [0x0001e] in /src/C.cs:42"). Mono's "in <mvid>:0" (an assembly without debug
// symbols) and "<filename unknown>" are no file.
func dotnetFrameOf(line string) (sentry.Frame, bool) {
	if !strings.Contains(line, "at ") {
		return sentry.Frame{}, false
	}
	if m := dotnetFrameLine.FindStringSubmatch(line); m != nil {
		return dotnetFrame(m[1], m[2], m[3]), true
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "at (wrapper "); ok {
		// Mono's runtime-generated wrappers carry no offset: "at (wrapper managed-to-native) Ns.C.M(args)".
		if end := strings.Index(rest, ") "); end > 0 && strings.HasSuffix(rest, ")") {
			return dotnetFrame(rest[end+2:], "", ""), true
		}
	}
	if m := monoFrameLine.FindStringSubmatch(line); m != nil {
		file, lineno := m[3], m[4]
		if strings.HasPrefix(file, "<") && strings.HasSuffix(file, ">") {
			file, lineno = "", ""
		}
		return dotnetFrame(m[1]+"()", file, lineno), true
	}
	return sentry.Frame{}, false
}

// dotnetHeader splits "Outer: msg ---> Inner: msg" into exceptions, outer first, each inner exception a
// child of the one before it. AggregateException's "(Inner Exception #0) " prefix is dropped.
func dotnetHeader(header []string) []parsedException {
	text := strings.TrimSpace(strings.Join(header, "\n"))
	parts := strings.Split(text, " ---> ")
	excs := make([]parsedException, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "(Inner Exception #") {
			if end := strings.Index(part, ") "); end >= 0 {
				part = part[end+2:]
			}
		}
		e := parsedException{parent: i - 1}
		if i > 0 {
			e.source = "InnerException"
		}
		e.typ, e.value = splitTypeValue(part, isDotNetTypeName)
		excs = append(excs, e)
	}
	return excs
}

// dotnetFrame reads "Ns.Class.Method(String x)" plus an optional file and line. The module is the
// declaring type, the function the method name without its argument list.
//
// A frame of a compiler-generated async state machine, "Ns.C.<GetAsync>d__3.MoveNext()" (Mono writes
// "Ns.C+<GetAsync>d__3.MoveNext"), is named after the method it was written as (module "Ns.C", function
// "GetAsync"), the way .NET Core 2.1 and later print the same frame, so that an error groups alike on every
// runtime. Mono's "(wrapper managed-to-native) " prefix is dropped.
func dotnetFrame(signature, file, line string) sentry.Frame {
	var f sentry.Frame
	name := signature
	if strings.HasPrefix(name, "(wrapper ") {
		if end := strings.Index(name, ") "); end >= 0 {
			name = name[end+2:]
		}
	}
	if i := strings.IndexByte(name, '('); i >= 0 {
		name = name[:i]
	}
	if dot := lastTopLevelDot(name); dot >= 0 {
		f.Module, f.Function = name[:dot], name[dot+1:]
	} else {
		f.Function = name
	}
	if f.Function == "MoveNext" {
		if module, method, ok := asyncStateMachine(f.Module); ok {
			f.Module, f.Function = module, method
		}
	}
	if file != "" {
		setPath(&f, file)
		f.Lineno = atoiBounded(line)
	}
	return f
}

// asyncStateMachine splits "Ns.C.<GetAsync>d__3" or "Ns.C+<GetAsync>d__3" into "Ns.C" and "GetAsync".
func asyncStateMachine(module string) (declaring, method string, ok bool) {
	sep := max(strings.LastIndexByte(module, '.'), strings.LastIndexByte(module, '+'))
	if sep <= 0 {
		return "", "", false
	}
	last := module[sep+1:]
	end := strings.Index(last, ">d__")
	if !strings.HasPrefix(last, "<") || end <= 1 || !isDigits(last[end+len(">d__"):]) {
		return "", "", false
	}
	return module[:sep], last[1:end], true
}

// lastTopLevelDot finds the last '.' outside [] and <> brackets, so that "Ns.C.M[System.String]" splits
// before M and compiler-generated names like "Program.<>c.<Main>b__0_0" split before "<Main>".
func lastTopLevelDot(name string) int {
	depth := 0
	last := -1
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '[', '<':
			depth++
		case ']', '>':
			if depth > 0 {
				depth--
			}
		case '.':
			if depth == 0 {
				last = i
			}
		}
	}
	return last
}

// isDotNetTypeName accepts "System.InvalidOperationException", "MyApp.Errors+NotFound" and generic names
// like "System.Collections.Generic.KeyNotFoundException`1".
func isDotNetTypeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_.+`[],", r) {
			return false
		}
	}
	return true
}
