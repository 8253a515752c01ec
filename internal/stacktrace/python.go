package stacktrace

import (
	"strconv"
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

// pythonException is one exception of a Python trace while it is being read.
type pythonException struct {
	parsedException
	// relation is how this exception relates to the one printed after it: "__cause__" or "__context__"
	// (the marker line between them), "" when no marker separated them.
	relation string
	// members are the exceptions of an exception group, each a chain printed root cause first.
	members [][]pythonException
	// index is the position of the member block this exception was printed in, -1 outside groups.
	index int
}

// pythonBlock is the text of one exception-group member (or, at the root, the whole text) with the group
// margins ("  | ", "+-+---- 1 ----") taken off: its lines, and its own members' blocks where they were
// printed.
type pythonBlock struct {
	depth  int
	index  int // the member's position in its group, from the separator ("---- 2 ----" is index 1)
	items  []pythonItem
	parent *pythonBlock
}

// pythonItem is a line of a block or, when block is set, a member block printed at that point.
type pythonItem struct {
	line  string
	block *pythonBlock
}

// maxPythonGroupDepth bounds the nesting of exception-group members followed; Python itself stops at 10
// levels (max_group_depth). Deeper separators are read as plain lines.
const maxPythonGroupDepth = 32

// parsePython reads traceback.format_exception output:
//
//	Traceback (most recent call last):
//	  File "/app/main.py", line 10, in <module>
//	    main()
//	ValueError: bad value
//
// Chained exceptions are printed root cause first, separated by the cause or context marker; frames are
// already oldest first. The source line under a frame becomes the frame's context_line; Python 3.11+
// caret lines ("^^^^") are skipped.
//
// Exception groups (3.11+, PEP 654) are printed with margins: the group's own lines behind "  | " (its
// header "  + Exception Group Traceback (most recent call last):"), each member behind a separator
// "+-+---------------- 1 ----------------" and a deeper "| " margin, nested groups deeper still. Each
// member is read like a trace of its own (with its own causes) and becomes a child of the group, with
// source "exceptions[i]" and the group flagged is_exception_group, as Sentry's Python SDK reports them.
func parsePython(lines []string) []parsedException {
	chain := parsePythonBlock(pythonBlocks(lines))
	if len(chain) == 0 {
		return nil
	}
	var out []parsedException
	flattenPython(chain, -1, "", &out)
	return out
}

// flattenPython appends the last exception of chain (the one the chain was printed for) with the given
// parent and source, then its cause or context, then its group members: the pre-order Sentry's Python SDK
// uses. It stops once more than MaxExceptions were appended, which bounds the work and the recursion on
// hostile input; buildResult then reports the truncation.
func flattenPython(chain []pythonException, parent int, source string, out *[]parsedException) {
	if len(chain) == 0 || len(*out) > MaxExceptions {
		return
	}
	last := &chain[len(chain)-1]
	idx := len(*out)
	e := last.parsedException
	e.parent, e.source = parent, source
	*out = append(*out, e)
	if len(chain) > 1 {
		flattenPython(chain[:len(chain)-1], idx, chain[len(chain)-2].relation, out)
	}
	for i, m := range last.members {
		flattenPython(m, idx, "exceptions["+strconv.Itoa(m[len(m)-1].memberIndex(i))+"]", out)
	}
}

// memberIndex is the member's position in its group as printed, or fallback when the separator had none.
func (e *pythonException) memberIndex(fallback int) int {
	if e.index >= 0 {
		return e.index
	}
	return fallback
}

// pythonBlocks splits the text into exception-group member blocks. Text without groups is one block.
func pythonBlocks(lines []string) *pythonBlock {
	root := &pythonBlock{depth: 1, index: -1}
	if !hasPythonGroup(lines) {
		root.items = make([]pythonItem, len(lines))
		for i, l := range lines {
			root.items[i] = pythonItem{line: l}
		}
		return root
	}
	top := root
	// up returns to the innermost open block shallower than depth.
	up := func(depth int) {
		for top.parent != nil && top.depth >= depth {
			top = top.parent
		}
	}
	for _, line := range lines {
		kind, depth, content, index := pythonMargin(line)
		switch kind {
		case pythonPlain:
			top = root
			root.items = append(root.items, pythonItem{line: line})
		case pythonContent:
			for top.parent != nil && top.depth > depth {
				top = top.parent
			}
			top.items = append(top.items, pythonItem{line: content})
		case pythonMember:
			up(depth)
			child := &pythonBlock{depth: depth, index: index, parent: top}
			top.items = append(top.items, pythonItem{block: child})
			top = child
		case pythonEnd:
			up(depth)
		}
	}
	return root
}

// hasPythonGroup reports whether the text holds an exception group's margins.
func hasPythonGroup(lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, "Exception Group Traceback (most recent call last):") ||
			strings.Contains(l, "+-+----") {
			return true
		}
	}
	return false
}

// Kinds of line in an exception group's print-out.
const (
	pythonPlain   = iota // no margin: the text outside any group
	pythonContent        // "  | text" (or the header "  + Exception Group ..."): text at a depth
	pythonMember         // "+-+---- 1 ----" or "+---- 2 ----": a member of the given depth begins
	pythonEnd            // "+------------": the members of the given depth end
)

// pythonMargin reads the exception-group margin of a line. Python indents each group level by two spaces
// ("| " after 2*depth spaces); the separator "+-+---- 1 ----" of a group at depth d opens its first member
// at depth d+1, "+---- 2 ----" (indented for depth d+1) the next ones, "+-----" closes them.
func pythonMargin(line string) (kind, depth int, content string, index int) {
	spaces := 0
	for spaces < len(line) && line[spaces] == ' ' {
		spaces++
	}
	rest := line[spaces:]
	if spaces < 2 || spaces%2 != 0 || spaces/2 > maxPythonGroupDepth {
		return pythonPlain, 0, line, -1
	}
	depth = spaces / 2
	switch {
	case rest == "|" || rest == "+":
		return pythonContent, depth, "", -1
	case strings.HasPrefix(rest, "| ") || strings.HasPrefix(rest, "+ "):
		return pythonContent, depth, rest[2:], -1
	case strings.HasPrefix(rest, "+-+--"):
		if depth+1 > maxPythonGroupDepth {
			return pythonPlain, 0, line, -1
		}
		return pythonMember, depth + 1, "", pythonSeparatorIndex(rest)
	case strings.HasPrefix(rest, "+--"):
		if strings.Trim(rest, "+-") == "" {
			return pythonEnd, depth, "", -1
		}
		return pythonMember, depth, "", pythonSeparatorIndex(rest)
	}
	return pythonPlain, 0, line, -1
}

// pythonSeparatorIndex reads the 1-based number of "+---------------- 2 ----------------" as an index, or
// -1 for "...", the members left out beyond max_group_width.
func pythonSeparatorIndex(s string) int {
	n := atoiBounded(strings.TrimSpace(strings.Trim(s, "+-")))
	if n <= 0 {
		return -1
	}
	return n - 1
}

// parsePythonBlock reads one block: a chain of exceptions, root cause first, whose members are read from
// the member blocks printed after them.
func parsePythonBlock(block *pythonBlock) []pythonException {
	var chain []pythonException
	var cur *pythonException
	inMessage := false // after the exception line, until a blank line or marker

	begin := func() *pythonException {
		chain = append(chain, pythonException{parsedException: parsedException{parent: -1}, index: block.index})
		return &chain[len(chain)-1]
	}

	for _, item := range block.items {
		if item.block != nil {
			inMessage = false
			if cur == nil {
				continue
			}
			if members := parsePythonBlock(item.block); len(members) > 0 {
				cur.group = true
				cur.members = append(cur.members, members)
			}
			continue
		}
		line := item.line
		t := strings.TrimSpace(line)
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		switch {
		case t == "":
			inMessage = false
		case t == pythonCauseMarker || t == pythonContextMarker:
			inMessage = false
			if len(chain) > 0 {
				// The marker says how the exception printed before it relates to the next one.
				if t == pythonCauseMarker {
					chain[len(chain)-1].relation = "__cause__"
				} else {
					chain[len(chain)-1].relation = "__context__"
				}
			}
			cur = nil
		case strings.HasPrefix(t, "Traceback (most recent call last):"),
			strings.HasPrefix(t, "Exception Group Traceback (most recent call last):"):
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
		case block.parent != nil && isPythonGroupNote(t):
			// "and 3 more exceptions", "... (max_group_depth is 10)": members Python left out.
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
	return chain
}

// isPythonGroupNote recognises the lines Python prints for group members it left out.
func isPythonGroupNote(t string) bool {
	return strings.HasPrefix(t, "and ") && (strings.HasSuffix(t, " more exceptions") || strings.HasSuffix(t, " more exception")) ||
		strings.HasPrefix(t, "... (max_group_depth is ")
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
