package stacktrace

import (
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trace joins lines with "\n" so that tabs and spaces in test traces stay visible.
func trace(lines ...string) string {
	return strings.Join(lines, "\n") + "\n"
}

// wantFrame is the subset of a frame a test checks.
type wantFrame struct {
	function string
	module   string
	filename string
	lineno   int
	inApp    bool
}

// wantException is what a test expects of one exception of the result.
type wantException struct {
	typ    string
	value  string
	frames int
	first  *wantFrame // oldest frame
	last   *wantFrame // newest (crashing) frame
	source string     // mechanism source, checked when the result is chained
}

// parseCase is one row of the per-language tables.
type parseCase struct {
	name     string
	language string
	excType  string
	message  string
	text     string
	format   string
	// detected is the format found without the language hint, when it differs from format (the OTel PHP
	// SDK's Java-like text reads as PHP only with the hint "php").
	detected  string
	truncated bool
	want      []wantException // root cause first, reported last
}

func checkResult(t *testing.T, tc parseCase, got Result) {
	t.Helper()
	require.Equal(t, tc.format, got.Format)
	assert.Equal(t, tc.truncated, got.Truncated)
	assert.Empty(t, got.Raw, "Raw is only set for unparsed text")
	require.Len(t, got.Exceptions, len(tc.want), "exceptions: %s", typesOf(got.Exceptions))
	for i, w := range tc.want {
		exc := got.Exceptions[i]
		assert.Equal(t, w.typ, exc.Type, "exception %d type", i)
		assert.Equal(t, w.value, exc.Value, "exception %d value", i)
		if w.frames == 0 {
			assert.Nil(t, exc.Stacktrace, "exception %d has no frames", i)
		} else {
			require.NotNil(t, exc.Stacktrace, "exception %d stacktrace", i)
			frames := exc.Stacktrace.Frames
			require.Len(t, frames, w.frames, "exception %d frames", i)
			if w.first != nil {
				checkFrame(t, *w.first, frames[0], "exception %d first frame", i)
			}
			if w.last != nil {
				checkFrame(t, *w.last, frames[len(frames)-1], "exception %d last frame", i)
			}
		}
		if len(tc.want) > 1 {
			require.NotNil(t, exc.Mechanism, "exception %d mechanism", i)
			assert.Equal(t, len(tc.want)-1-i, exc.Mechanism.ExceptionID, "exception %d id", i)
			if i == len(tc.want)-1 {
				assert.Nil(t, exc.Mechanism.ParentID)
				assert.Equal(t, "generic", exc.Mechanism.Type)
			} else {
				require.NotNil(t, exc.Mechanism.ParentID)
				assert.Less(t, *exc.Mechanism.ParentID, exc.Mechanism.ExceptionID)
				assert.Equal(t, "chained", exc.Mechanism.Type)
				assert.Equal(t, w.source, exc.Mechanism.Source, "exception %d source", i)
			}
		} else {
			assert.Nil(t, exc.Mechanism)
		}
	}
}

func checkFrame(t *testing.T, want wantFrame, got sentry.Frame, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want, wantFrame{
		function: got.Function,
		module:   got.Module,
		filename: got.Filename,
		lineno:   got.Lineno,
		inApp:    got.InApp,
	}, msgAndArgs...)
}

func typesOf(excs []sentry.Exception) string {
	types := make([]string, len(excs))
	for i, e := range excs {
		types[i] = e.Type
	}
	return strings.Join(types, ", ")
}

func runCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkResult(t, tc, Parse(tc.language, tc.excType, tc.message, tc.text))
		})
	}
}

func frameFor(module, pkg, filename string, lineno int) sentry.Frame {
	f := sentry.Frame{Module: module, Package: pkg, Lineno: lineno}
	setPath(&f, filename)
	return f
}
