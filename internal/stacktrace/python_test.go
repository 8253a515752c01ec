package stacktrace

import (
	"strconv"
	"strings"
	"testing"

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
