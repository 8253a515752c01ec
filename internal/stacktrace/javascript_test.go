package stacktrace

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nodeCases() []parseCase {
	return []parseCase{
		{
			name:     "V8 frames of every shape",
			language: "nodejs",
			text: trace(
				"TypeError: Cannot read properties of undefined (reading 'id')",
				"    at getUser (/app/src/users.js:12:20)",
				"    at Object.<anonymous> (/app/src/index.js:5:3)",
				"    at new UserService (/app/src/service.js:3:9)",
				"    at /app/src/routes.js:30:11",
				"    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)",
				"    at async Promise.all (index 0)",
				"    at async main (file:///app/src/main.mjs:8:3)",
				"    at Module._compile (node:internal/modules/cjs/loader:1256:14)",
			),
			format: FormatNodeJS,
			want: []wantException{{
				typ: "TypeError", value: "Cannot read properties of undefined (reading 'id')", frames: 8,
				first: &wantFrame{"Module._compile", "", "node:internal/modules/cjs/loader", 1256, false},
				last:  &wantFrame{"getUser", "", "/app/src/users.js", 12, true},
			}},
		},
		{
			name: "uncaught error with source preview, code and multi-line message",
			text: trace(
				"/app/server.js:14",
				"    throw err;",
				"    ^",
				"",
				"Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers after they are sent to the client",
				"(second line — ünïcode)",
				"    at ServerResponse.setHeader (node:_http_outgoing:659:11)",
				"    at C:\\app\\server.js:14:9",
			),
			format: FormatNodeJS,
			want: []wantException{{
				typ: "Error", value: "Cannot set headers after they are sent to the client\n(second line — ünïcode)", frames: 2,
				first: &wantFrame{"", "", `C:\app\server.js`, 14, true},
				last:  &wantFrame{"ServerResponse.setHeader", "", "node:_http_outgoing", 659, false},
			}},
		},
		{
			name:     "error with cause printed by util.inspect",
			language: "nodejs",
			text: trace(
				"Error: checkout failed",
				"    at checkout (/app/checkout.js:20:11)",
				"    at main (/app/index.js:4:3) {",
				"  [cause]: Error: connect ECONNREFUSED 127.0.0.1:5432",
				"      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {",
				"    errno: -111,",
				"    code: 'ECONNREFUSED'",
				"  }",
				"}",
			),
			format: FormatNodeJS,
			want: []wantException{
				{
					typ: "Error", value: "connect ECONNREFUSED 127.0.0.1:5432", frames: 1, source: "cause",
					first: &wantFrame{"TCPConnectWrap.afterConnect [as oncomplete]", "", "node:net", 1555, false},
				},
				{
					typ: "Error", value: "checkout failed", frames: 2,
					first: &wantFrame{"main", "", "/app/index.js", 4, true},
					last:  &wantFrame{"checkout", "", "/app/checkout.js", 20, true},
				},
			},
		},
		{
			name:     "browser Firefox stack",
			language: "webjs",
			excType:  "ReferenceError",
			message:  "foo is not defined",
			text: trace(
				"render@https://shop.example.com/static/app.3f2a.js:1:4242",
				"@https://shop.example.com/static/vendor.js:2:100",
			),
			format: FormatNodeJS,
			want: []wantException{{
				typ: "ReferenceError", value: "foo is not defined", frames: 2,
				first: &wantFrame{"", "", "https://shop.example.com/static/vendor.js", 2, true},
				last:  &wantFrame{"render", "", "https://shop.example.com/static/app.3f2a.js", 1, true},
			}},
		},
	}
}

func TestParseNodeJS(t *testing.T) {
	t.Parallel()
	runCases(t, nodeCases())
}

func TestParseNodeFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		ok   bool
		want wantFrame
	}{
		{"at eval (eval at <anonymous> (/app/x.js:3:7), <anonymous>:1:1)", true, wantFrame{"eval", "", "/app/x.js", 3, true}},
		{"at new Promise (<anonymous>)", true, wantFrame{"new Promise", "", "<anonymous>", 0, false}},
		{"at Array.forEach (native)", true, wantFrame{"Array.forEach", "", "native", 0, false}},
		{"at /app/página.js:7", false, wantFrame{}},
		{"at least one (reason)", false, wantFrame{}},
		{"just text", false, wantFrame{}},
	}
	for _, tt := range tests {
		f, ok := parseNodeFrame(tt.line)
		assert.Equal(t, tt.ok, ok, tt.line)
		if ok {
			f.InApp = isInApp(FormatNodeJS, &f)
			checkFrame(t, tt.want, f, tt.line)
		}
	}
}

func TestParseNodeAnonymousAsyncFrame(t *testing.T) {
	t.Parallel()
	res := Parse("nodejs", "", "", "TypeError: boom\n    at async /app/src/routes/index.js:41:5\n    at handle (/app/src/server.js:10:3)\n")
	require.Equal(t, FormatNodeJS, res.Format)
	frames := res.Exceptions[len(res.Exceptions)-1].Stacktrace.Frames
	require.Len(t, frames, 2)
	newest := frames[len(frames)-1]
	assert.Equal(t, "/app/src/routes/index.js", newest.AbsPath)
	assert.Equal(t, 41, newest.Lineno)
	assert.Equal(t, 5, newest.Colno)
}

// TestParseNodeESModuleLocations checks that ES modules' file:// URLs become paths, as Sentry's Node SDK
// reports them, and that the "index N" of an awaited Promise.all is no file.
func TestParseNodeESModuleLocations(t *testing.T) {
	t.Parallel()
	got := Parse("nodejs", "", "", trace(
		"StockError: out of stock",
		"    at reserve (file:///srv/app/stock.mjs:12:11)",
		"    at async Promise.all (index 3)",
		"    at async file:///C:/app/main.mjs:4:1",
	))
	require.Len(t, got.Exceptions, 1)
	frames := got.Exceptions[0].Stacktrace.Frames
	require.Len(t, frames, 3)
	assert.Equal(t, "C:/app/main.mjs", frames[0].Filename)
	assert.Equal(t, "C:/app/main.mjs", frames[0].AbsPath)
	assert.Equal(t, 4, frames[0].Lineno)
	assert.Equal(t, "Promise.all", frames[1].Function)
	assert.Empty(t, frames[1].Filename)
	assert.Empty(t, frames[1].AbsPath)
	assert.False(t, frames[1].InApp)
	assert.Equal(t, "/srv/app/stock.mjs", frames[2].Filename)
	assert.Equal(t, "/srv/app/stock.mjs", frames[2].AbsPath)
	assert.True(t, frames[2].InApp)
}
