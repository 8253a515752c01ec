package stacktrace

import (
	"strconv"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pythonCases() []parseCase {
	return []parseCase{
		{
			name:     "single exception with source lines, carets and site-packages",
			language: "python",
			text: trace(
				"Traceback (most recent call last):",
				`  File "/app/service/api.py", line 27, in handle`,
				"    return fetch(user_id)",
				"           ^^^^^^^^^^^^^^",
				`  File "/usr/local/lib/python3.12/site-packages/requests/api.py", line 73, in get`,
				`    return request("get", url, params=params, **kwargs)`,
				`  File "/usr/local/lib/python3.12/json/decoder.py", line 355, in raw_decode`,
				"    raise JSONDecodeError(\"Expecting value\", s, err.value) from None",
				"json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
			),
			format: FormatPython,
			want: []wantException{{
				typ: "json.decoder.JSONDecodeError", value: "Expecting value: line 1 column 1 (char 0)", frames: 3,
				first: &wantFrame{"handle", "", "/app/service/api.py", 27, true},
				last:  &wantFrame{"raw_decode", "", "/usr/local/lib/python3.12/json/decoder.py", 355, false},
			}},
		},
		{
			name: "cause and context chain, multi-line message, unicode path",
			text: trace(
				"Traceback (most recent call last):",
				`  File "/srv/app/données/loader.py", line 8, in load`,
				"    value = int(raw)",
				"ValueError: invalid literal for int() with base 10: 'abc'",
				"",
				"The above exception was the direct cause of the following exception:",
				"",
				"Traceback (most recent call last):",
				`  File "/srv/app/main.py", line 20, in <module>`,
				"    run()",
				`  File "/srv/app/données/loader.py", line 10, in load`,
				"    raise ConfigError(f\"bad value {raw!r}\") from exc",
				"app.errors.ConfigError: bad value 'abc'",
				"in section [ünïcode]",
				"",
				"During handling of the above exception, another exception occurred:",
				"",
				"Traceback (most recent call last):",
				`  File "/srv/app/main.py", line 22, in <module>`,
				"    report()",
				"KeyError: 'reporter'",
			),
			format: FormatPython,
			want: []wantException{
				{
					typ: "ValueError", value: "invalid literal for int() with base 10: 'abc'", frames: 1, source: "__cause__",
					first: &wantFrame{"load", "", "/srv/app/données/loader.py", 8, true},
				},
				{
					typ: "app.errors.ConfigError", value: "bad value 'abc'\nin section [ünïcode]", frames: 2, source: "__context__",
					first: &wantFrame{"<module>", "", "/srv/app/main.py", 20, true},
					last:  &wantFrame{"load", "", "/srv/app/données/loader.py", 10, true},
				},
				{
					typ: "KeyError", value: "'reporter'", frames: 1,
					first: &wantFrame{"<module>", "", "/srv/app/main.py", 22, true},
				},
			},
		},
		{
			name:     "span event type wins, dist-packages, frozen and bare exception name",
			language: "python",
			excType:  "StopIteration",
			text: trace(
				"Traceback (most recent call last):",
				`  File "<frozen runpy>", line 198, in _run_module_as_main`,
				`  File "/usr/lib/python3/dist-packages/gi/overrides.py", line 12, in wrapper`,
				`  File "worker.py", line 5, in next_job`,
				"StopIteration",
			),
			format: FormatPython,
			want: []wantException{{
				typ: "StopIteration", frames: 3,
				first: &wantFrame{"_run_module_as_main", "", "<frozen runpy>", 198, false},
				last:  &wantFrame{"next_job", "", "worker.py", 5, true},
			}},
		},
		{
			name:      "recursion error longer than MaxFrames",
			language:  "python",
			text:      pythonRecursion(400),
			format:    FormatPython,
			truncated: true,
			want: []wantException{{
				typ: "RecursionError", value: "maximum recursion depth exceeded", frames: MaxFrames,
				first: &wantFrame{"<module>", "", "/app/r.py", 1, true},
				last:  &wantFrame{"f", "", "/app/r.py", 400, true},
			}},
		},
	}
}

// pythonRecursion prints a RecursionError with n frames, the k-th (1-based) on line k.
func pythonRecursion(n int) string {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	b.WriteString("  File \"/app/r.py\", line 1, in <module>\n    f(0)\n")
	for i := 2; i <= n; i++ {
		b.WriteString("  File \"/app/r.py\", line " + strconv.Itoa(i) + ", in f\n    return f(n + 1)\n")
	}
	b.WriteString("RecursionError: maximum recursion depth exceeded\n")
	return b.String()
}

func TestParsePython(t *testing.T) {
	t.Parallel()
	runCases(t, pythonCases())
}

func TestParsePythonContextLine(t *testing.T) {
	t.Parallel()
	got := Parse("python", "", "", pythonCases()[0].text)
	frames := got.Exceptions[0].Stacktrace.Frames
	require.Len(t, frames, 3)
	assert.Equal(t, "return fetch(user_id)", frames[0].ContextLine, "the caret line is not the source line")
	assert.Equal(t, "/app/service/api.py", frames[0].AbsPath)
}

// groupShape is an exception's type, value, frame count and mechanism in a compact form.
type groupShape struct {
	typ, value string
	frames     int
	id, parent int
	source     string
	group      bool
}

func shapesOf(excs []sentry.Exception) []groupShape {
	shapes := make([]groupShape, len(excs))
	for i, e := range excs {
		s := groupShape{typ: e.Type, value: e.Value, parent: -1}
		if e.Stacktrace != nil {
			s.frames = len(e.Stacktrace.Frames)
		}
		if m := e.Mechanism; m != nil {
			s.id, s.source, s.group = m.ExceptionID, m.Source, m.IsExceptionGroup
			if m.ParentID != nil {
				s.parent = *m.ParentID
			}
		}
		shapes[i] = s
	}
	return shapes
}

// TestParsePythonExceptionGroups checks Sentry's exception-group shape for groups Python printed: a member
// that is a group with its own traceback ("| Exception Group Traceback"), members left out ("and 1 more
// exception"), a text cut before its closing line, and detection without the language hint.
func TestParsePythonExceptionGroups(t *testing.T) {
	t.Parallel()
	text := trace(
		"  + Exception Group Traceback (most recent call last):",
		`  |   File "/app/ng.py", line 12, in <module>`,
		"  |     outer()",
		`  |   File "/app/ng.py", line 10, in outer`,
		`  |     raise ExceptionGroup("outer", errs + [TypeError("b")])`,
		"  | ExceptionGroup: outer (3 sub-exceptions)",
		"  +-+---------------- 1 ----------------",
		"    | Exception Group Traceback (most recent call last):",
		`    |   File "/app/ng.py", line 7, in outer`,
		"    |     inner()",
		`    |   File "/app/ng.py", line 3, in inner`,
		`    |     raise ExceptionGroup("inner", [ValueError("a")])`,
		"    | ExceptionGroup: inner (1 sub-exception)",
		"    +-+---------------- 1 ----------------",
		"      | ValueError: a",
		"      | with a second line",
		"      +------------------------------------",
		"    +---------------- 2 ----------------",
		"    | TypeError: b",
		"    +---------------- ... ----------------",
		"    | and 1 more exception",
	)
	want := []groupShape{
		{typ: "TypeError", value: "b", id: 3, parent: 0, source: "exceptions[1]"},
		{typ: "ValueError", value: "a\nwith a second line", id: 2, parent: 1, source: "exceptions[0]"},
		{typ: "ExceptionGroup", value: "inner (1 sub-exception)", frames: 2, id: 1, parent: 0, source: "exceptions[0]", group: true},
		{typ: "ExceptionGroup", value: "outer (3 sub-exceptions)", frames: 2, id: 0, parent: -1, group: true},
	}
	for _, language := range []string{"python", ""} {
		got := Parse(language, "", "", text)
		assert.Equal(t, FormatPython, got.Format, "language %q", language)
		assert.Equal(t, want, shapesOf(got.Exceptions), "language %q", language)
	}
}

// TestParsePythonGroupMarginsOnlyWithGroups checks that a plain traceback whose source line starts with
// "|" is not read as a group margin.
func TestParsePythonGroupMarginsOnlyWithGroups(t *testing.T) {
	t.Parallel()
	got := Parse("python", "", "", trace(
		"Traceback (most recent call last):",
		`  File "/app/flags.py", line 3, in <module>`,
		"  | x",
		"TypeError: unsupported operand",
	))
	require.Len(t, got.Exceptions, 1)
	assert.Equal(t, "TypeError", got.Exceptions[0].Type)
	assert.Nil(t, got.Exceptions[0].Mechanism)
	require.Len(t, got.Exceptions[0].Stacktrace.Frames, 1)
}
