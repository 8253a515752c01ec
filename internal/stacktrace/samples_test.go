package stacktrace

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The real-runtime samples: testdata/samples/<lang>/<name>.txt is what a runtime printed through the code
// path its OTel SDK uses (scripts/stacktrace-samples.sh makes them from testdata/programs/<lang>), and
// <name>.want says, written by hand from the programs' sources, which exceptions and frames Parse must find.
//
// A .want file has one directive per line ("#" starts a comment):
//
//	language python                      the telemetry.sdk.language passed to Parse
//	root /tmp/stacktrace-samples/python  what a frame file "./x" is relative to
//	event TYPE | MESSAGE                 the span event's exception.type and exception.message (optional)
//	exception ID PARENT SOURCE [group] | TYPE | VALUE
//	frame FUNCTION | MODULE | FILE | LINE | app|lib
//
// exception lines give Sentry's mechanism: exception_id, parent_id ("-" for the reported one), source ("-"
// for none) and whether it is an exception group. Frames follow their exception, oldest call first. "-"
// stands for an empty module or file. LINE is "@name", the line of the "FRAME:name" marker in the
// language's programs, "*" (any line: a runtime's own file, whose lines the programs cannot mark) or a
// number.

// Thresholds on real-runtime samples, per language (issue #18).
const (
	minFramesRight     = 0.98
	minInAppRight      = 0.98
	minCausesRecovered = 0.90
)

type sampleFrame struct {
	function, module, file string
	line                   int // -1: any positive line
	inApp                  bool
}

type sampleException struct {
	id, parent int // parent -1: none
	source     string
	group      bool
	typ, value string
	frames     []sampleFrame
}

type sampleWant struct {
	language, excType, message string
	exceptions                 []sampleException
}

// sampleScore counts what a language's samples got right.
type sampleScore struct {
	frames, framesRight, inAppRight int
	// exceptions and recovered count chained causes, suppressed/inner exceptions and group members;
	// reported and reportedRight the reported exceptions.
	exceptions, recovered   int
	reported, reportedRight int
}

func (s *sampleScore) add(o sampleScore) {
	s.frames += o.frames
	s.framesRight += o.framesRight
	s.inAppRight += o.inAppRight
	s.exceptions += o.exceptions
	s.recovered += o.recovered
	s.reported += o.reported
	s.reportedRight += o.reportedRight
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

var frameMarker = regexp.MustCompile(`FRAME:([A-Za-z0-9_.-]+)`)

// programMarkers maps each FRAME:name marker in the language's programs to its line number.
func programMarkers(t *testing.T, lang string) map[string]int {
	t.Helper()
	markers := map[string]int{}
	dir := filepath.Join("testdata", "programs", lang)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			for _, m := range frameMarker.FindAllStringSubmatch(sc.Text(), -1) {
				if prev, dup := markers[m[1]]; dup && prev != n {
					t.Fatalf("marker %s twice in %s", m[1], dir)
				}
				markers[m[1]] = n
			}
		}
		return sc.Err()
	})
	require.NoError(t, err)
	return markers
}

func fields(s string) []string {
	parts := strings.Split(s, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func readWant(t *testing.T, path string, markers map[string]int) sampleWant {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var w sampleWant
	root := ""
	for n, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		directive, rest, _ := strings.Cut(line, " ")
		switch directive {
		case "language":
			w.language = rest
		case "root":
			root = rest
		case "event":
			f := fields(rest)
			require.Len(t, f, 2, "%s:%d", path, n+1)
			w.excType, w.message = f[0], f[1]
		case "exception":
			f := fields(rest)
			require.Len(t, f, 3, "%s:%d", path, n+1)
			head := strings.Fields(f[0])
			require.GreaterOrEqual(t, len(head), 3, "%s:%d", path, n+1)
			e := sampleException{parent: -1, source: dash(head[2]), typ: f[1], value: f[2]}
			e.id, err = strconv.Atoi(head[0])
			require.NoError(t, err, "%s:%d", path, n+1)
			if head[1] != "-" {
				e.parent, err = strconv.Atoi(head[1])
				require.NoError(t, err, "%s:%d", path, n+1)
			}
			e.group = len(head) > 3 && head[3] == "group"
			w.exceptions = append(w.exceptions, e)
		case "frame":
			f := fields(rest)
			require.Len(t, f, 5, "%s:%d", path, n+1)
			require.NotEmpty(t, w.exceptions, "%s:%d: frame before exception", path, n+1)
			fr := sampleFrame{function: f[0], module: dash(f[1]), file: dash(f[2]), inApp: f[4] == "app"}
			if strings.HasPrefix(fr.file, "./") {
				fr.file = root + fr.file[1:]
			}
			switch {
			case f[3] == "*":
				fr.line = -1
			case strings.HasPrefix(f[3], "@"):
				l, ok := markers[f[3][1:]]
				require.True(t, ok, "%s:%d: no marker FRAME:%s", path, n+1, f[3][1:])
				fr.line = l
			default:
				fr.line, err = strconv.Atoi(f[3])
				require.NoError(t, err, "%s:%d", path, n+1)
			}
			e := &w.exceptions[len(w.exceptions)-1]
			e.frames = append(e.frames, fr)
		default:
			t.Fatalf("%s:%d: unknown directive %q", path, n+1, directive)
		}
	}
	return w
}

func frameMatches(w sampleFrame, g *sentry.Frame) bool {
	if w.function != g.Function || w.module != g.Module || w.file != g.Filename {
		return false
	}
	if w.line < 0 {
		return g.Lineno > 0
	}
	return w.line == g.Lineno
}

// alignFrames pairs wanted and parsed frames by their longest common subsequence, so that one missing or
// extra frame costs one frame, not every frame after it. It returns the pairs (want index, got index).
func alignFrames(want []sampleFrame, got []sentry.Frame) [][2]int {
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case frameMatches(want[i], &got[j]):
				lcs[i][j] = lcs[i+1][j+1] + 1
			case lcs[i+1][j] >= lcs[i][j+1]:
				lcs[i][j] = lcs[i+1][j]
			default:
				lcs[i][j] = lcs[i][j+1]
			}
		}
	}
	var pairs [][2]int
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case frameMatches(want[i], &got[j]):
			pairs = append(pairs, [2]int{i, j})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			j++
		}
	}
	return pairs
}

// gotShape is the mechanism of a parsed exception in the terms of a .want file.
func gotShape(e *sentry.Exception) (id, parent int, source string, group bool) {
	if e.Mechanism == nil {
		return 0, -1, "", false
	}
	parent = -1
	if e.Mechanism.ParentID != nil {
		parent = *e.Mechanism.ParentID
	}
	return e.Mechanism.ExceptionID, parent, e.Mechanism.Source, e.Mechanism.IsExceptionGroup
}

// scoreSample compares one parsed sample with its .want and reports every difference through t.Logf.
// A wanted exception is recovered when an exception of that type and value is there with the same source,
// group flag and parent (by type and value); its frames are then compared.
func scoreSample(t *testing.T, w sampleWant, got Result) sampleScore {
	t.Helper()
	var s sampleScore
	byID := map[int]*sentry.Exception{}
	for i := range got.Exceptions {
		id, _, _, _ := gotShape(&got.Exceptions[i])
		byID[id] = &got.Exceptions[i]
	}
	wantByID := map[int]*sampleException{}
	for i := range w.exceptions {
		wantByID[w.exceptions[i].id] = &w.exceptions[i]
	}
	used := map[int]bool{}
	for _, we := range w.exceptions {
		if we.parent < 0 {
			s.reported++
		} else {
			s.exceptions++
		}
		s.frames += len(we.frames)
		var match *sentry.Exception
		for i := range got.Exceptions {
			g := &got.Exceptions[i]
			if used[i] || g.Type != we.typ || g.Value != we.value {
				continue
			}
			_, parent, source, group := gotShape(g)
			parentOK := parent < 0 && we.parent < 0
			if parent >= 0 && we.parent >= 0 && byID[parent] != nil && wantByID[we.parent] != nil {
				parentOK = byID[parent].Type == wantByID[we.parent].typ && byID[parent].Value == wantByID[we.parent].value
			}
			if parentOK && source == we.source && group == we.group {
				match = g
				used[i] = true
				break
			}
		}
		if match == nil {
			t.Logf("exception %d %s: %q not recovered (parsed: %s)", we.id, we.typ, we.value, describeExceptions(got.Exceptions))
			continue
		}
		if we.parent < 0 {
			s.reportedRight++
		} else {
			s.recovered++
		}
		var frames []sentry.Frame
		if match.Stacktrace != nil {
			frames = match.Stacktrace.Frames
		}
		pairs := alignFrames(we.frames, frames)
		matched := map[int]bool{}
		for _, p := range pairs {
			matched[p[0]] = true
			if we.frames[p[0]].inApp == frames[p[1]].InApp {
				s.inAppRight++
			} else {
				t.Logf("exception %s frame %d %s: in_app %v, want %v", we.typ, p[0], we.frames[p[0]].function,
					frames[p[1]].InApp, we.frames[p[0]].inApp)
			}
		}
		// A parsed frame that matches no wanted frame displaces one: count the longer list.
		s.framesRight += len(pairs)
		if extra := len(frames) - len(we.frames); extra > 0 {
			s.frames += extra
		}
		for i, f := range we.frames {
			if !matched[i] {
				t.Logf("exception %s: frame %d not found: want %+v", we.typ, i, f)
			}
		}
		if len(pairs) != len(frames) || len(pairs) != len(we.frames) {
			for i, f := range frames {
				t.Logf("exception %s: parsed frame %d: function=%q module=%q file=%q line=%d in_app=%v",
					we.typ, i, f.Function, f.Module, f.Filename, f.Lineno, f.InApp)
			}
		}
	}
	if extra := len(got.Exceptions) - len(w.exceptions); extra > 0 {
		t.Logf("%d exceptions more than wanted: %s", extra, describeExceptions(got.Exceptions))
		s.exceptions += extra
	}
	return s
}

func describeExceptions(excs []sentry.Exception) string {
	parts := make([]string, len(excs))
	for i := range excs {
		id, parent, source, group := gotShape(&excs[i])
		parts[i] = strconv.Quote(excs[i].Type+": "+excs[i].Value) + " id=" + strconv.Itoa(id) + " parent=" +
			strconv.Itoa(parent) + " source=" + source + " group=" + strconv.FormatBool(group)
	}
	return strings.Join(parts, "; ")
}

// TestRealRuntimeSamples parses every sample and checks, per language, the share of frames right
// (function, module, file and line), of in_app flags right and of chained causes and group members
// recovered against the thresholds of issue #18.
func TestRealRuntimeSamples(t *testing.T) {
	t.Parallel()
	langs, err := os.ReadDir(filepath.Join("testdata", "samples"))
	require.NoError(t, err)
	var names []string
	for _, l := range langs {
		names = append(names, l.Name())
	}
	sort.Strings(names)
	require.NotEmpty(t, names)
	for _, lang := range names {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			markers := programMarkers(t, lang)
			wants, err := filepath.Glob(filepath.Join("testdata", "samples", lang, "*.want"))
			require.NoError(t, err)
			require.NotEmpty(t, wants)
			var total sampleScore
			for _, wantPath := range wants {
				w := readWant(t, wantPath, markers)
				text, err := os.ReadFile(strings.TrimSuffix(wantPath, ".want") + ".txt")
				require.NoError(t, err)
				got := Parse(w.language, w.excType, w.message, string(text))
				s := scoreSample(t, w, got)
				t.Logf("%s: frames %d/%d, in_app %d/%d, reported %d/%d, causes and members %d/%d",
					filepath.Base(wantPath), s.framesRight, s.frames, s.inAppRight, s.frames, s.reportedRight,
					s.reported, s.recovered, s.exceptions)
				total.add(s)
			}
			t.Logf("%s: frames right %.1f%% (%d/%d), in_app right %.1f%%, reported exceptions %d/%d, "+
				"causes and group members %.1f%% (%d/%d)",
				lang, 100*ratio(total.framesRight, total.frames), total.framesRight, total.frames,
				100*ratio(total.inAppRight, total.frames), total.reportedRight, total.reported,
				100*ratio(total.recovered, total.exceptions), total.recovered, total.exceptions)
			assert.GreaterOrEqual(t, ratio(total.framesRight, total.frames), minFramesRight, "frames right")
			assert.GreaterOrEqual(t, ratio(total.inAppRight, total.frames), minInAppRight, "in_app right")
			assert.GreaterOrEqual(t, ratio(total.recovered, total.exceptions), minCausesRecovered, "causes recovered")
			assert.Equal(t, total.reported, total.reportedRight, "reported exceptions")
		})
	}
}
