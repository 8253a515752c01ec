//go:build spotlightui

package sentryexporter

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// The Spotlight UI test (make spotlight-ui, part of make test) sends a workload with errors in five
// languages and their logs through the exporter to Spotlight's server (interop/spotlight-server.mjs --ui),
// then looks at Spotlight's web UI in Debian's headless Chromium driven by playwright-core
// (interop/spotlight-ui.mjs): the Errors page must list every error, an error must show its frames, and
// traces must show real durations. scripts/spotlight-ui-test.sh installs what it needs, builds this test
// and runs it inside a loopback-only network namespace (the UI bundle tries to reach sentry.io); the test
// refuses to run anywhere else.

// uiDir is where the screenshots go.
const uiDir = ".build/spotlight-ui"

// uiPage is one page the browser visited.
type uiPage struct {
	URL        string `json:"url"`
	Text       string `json:"text"`
	Screenshot string `json:"screenshot"`
	Missing    string `json:"missing"`
}

// uiResult is what interop/spotlight-ui.mjs prints.
type uiResult struct {
	Pages    map[string]uiPage `json:"pages"`
	Requests []string          `json:"requests"`
	Console  []string          `json:"console"`
}

// uiTools are the programs the test runs.
type uiTools struct {
	node, nodeModules, chromium string
}

// findUITools locates node, the pinned npm packages and chromium. A missing one fails the test in CI
// (CI=true) and skips it elsewhere, with the command that installs it.
func findUITools(t *testing.T) uiTools {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + "; run `make spotlight-ui` (it installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	modules, err := filepath.Abs(filepath.Join(".build", "interop", "node_modules"))
	require.NoError(t, err)
	for _, p := range []string{"@spotlightjs/spotlight/package.json", "@hono/node-server/package.json", "playwright-core/package.json"} {
		if _, err := os.Stat(filepath.Join(modules, p)); err != nil {
			missing("%s is not installed", p)
		}
	}
	chromium := cmpOr(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		missing("%s is not installed (Debian: apt-get install chromium)", chromium)
	}
	return uiTools{node: node, nodeModules: modules, chromium: chromium}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// requireLoopbackOnly fails unless every network interface is a loopback: the browser and Spotlight must not
// be able to reach anything but this namespace's 127.0.0.1.
func requireLoopbackOnly(t *testing.T) {
	t.Helper()
	ifaces, err := net.Interfaces()
	require.NoError(t, err)
	for _, iface := range ifaces {
		require.NotZero(t, iface.Flags&net.FlagLoopback,
			"interface %s is not a loopback: run this test through `make spotlight-ui`, which runs it in a loopback-only network namespace", iface.Name)
	}
	c, err := net.Dial("tcp", "127.0.0.1:1")
	if err == nil {
		_ = c.Close()
	}
	require.NotErrorIs(t, err, syscall.ENETUNREACH, "loopback is down in this namespace")
}

// startSpotlightUI starts interop/spotlight-server.mjs --ui and returns its port; the test's cleanup stops it.
func startSpotlightUI(t *testing.T, tools uiTools) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, tools.node, "interop/spotlight-server.mjs", tools.nodeModules, "--ui")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		cancel()
		_ = cmd.Wait()
		if stderr.Len() > 0 {
			t.Logf("spotlight-server stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "spotlight-server printed no port; stderr: %s", stderr.String())
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	var ready struct {
		Port int `json:"port"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &ready), "spotlight-server said %q", line)
	require.Positive(t, ready.Port)
	return ready.Port
}

// sendWorkloadTo sends td and its logs through the exporter, built by its factory, to dsn; every envelope
// must be accepted (the sending queue is off, so a failure is ConsumeTraces' or ConsumeLogs' error).
func sendWorkloadTo(t *testing.T, dsn string, td ptrace.Traces) {
	t.Helper()
	factory, cfg, set, _ := testFactory(t, map[string]any{
		"dsn":              dsn,
		"sending_queue":    map[string]any{"enabled": false},
		"retry_on_failure": map[string]any{"enabled": false},
		"trace_assembly":   map[string]any{"enabled": false},
	})
	ctx := context.Background()
	traces, err := factory.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	logs, err := factory.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, traces.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, logs.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, traces.ConsumeTraces(ctx, td), "Spotlight refused a trace envelope")
	require.NoError(t, logs.ConsumeLogs(ctx, workload.Logs(td)), "Spotlight refused a log envelope")
	require.NoError(t, traces.Shutdown(ctx))
	require.NoError(t, logs.Shutdown(ctx))
}

// exceptionEvent is one "exception" span event of a workload, with its service's telemetry.sdk.language.
type exceptionEvent struct{ typ, message, language string }

func exceptionsOf(td ptrace.Traces) []exceptionEvent {
	var out []exceptionEvent
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		lang, _ := td.ResourceSpans().At(i).Resource().Attributes().Get("telemetry.sdk.language")
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				events := spans.At(k).Events()
				for e := 0; e < events.Len(); e++ {
					ev := events.At(e)
					if ev.Name() != "exception" {
						continue
					}
					get := func(key string) string {
						v, _ := ev.Attributes().Get(key)
						return v.AsString()
					}
					out = append(out, exceptionEvent{get("exception.type"), get("exception.message"), lang.AsString()})
				}
			}
		}
	}
	return out
}

// languageFiles is the source file suffix of each telemetry.sdk.language of the workload: a frame of that
// language names such a file.
var languageFiles = map[string]string{"java": ".java", "python": ".py", "go": ".go", "nodejs": ".js", "dotnet": ".cs"}

// frameLine is how Spotlight shows a stack frame: "<file> in <function> at line <n>[:<col>]".
var frameLine = regexp.MustCompile(`(?m)^.+ in .* at line \d+`)

// traceDuration is the waterfall header of a trace page: "<date> — 58.60ms recorded in 4 spans".
var traceDuration = regexp.MustCompile(`(\d+(?:\.\d+)?)(ms|s) recorded in \d+ spans?`)

func TestSpotlightUI(t *testing.T) {
	tools := findUITools(t)
	requireLoopbackOnly(t)
	port := startSpotlightUI(t, tools)

	// The showcase workload: five services in five languages, nine exceptions, and their logs.
	td := workload.Small(1)
	excs := exceptionsOf(td)
	require.NotEmpty(t, excs)
	ld := workload.Logs(td)
	var bodies []string
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		records := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
		for j := 0; j < records.Len(); j++ {
			bodies = append(bodies, records.At(j).Body().Str())
		}
	}
	require.NotEmpty(t, bodies)
	traces := traceSpans(td)
	sendWorkloadTo(t, fmt.Sprintf("http://public@127.0.0.1:%d/1", port), td)

	res := browseSpotlight(t, tools, port, map[string]any{"errors": len(excs), "traces": len(traces), "lastLog": bodies[len(bodies)-1]})
	pages := func(prefix string) []uiPage {
		var out []uiPage
		for i := 1; ; i++ {
			p, ok := res.Pages[fmt.Sprintf("%s-%d", prefix, i)]
			if !ok {
				return out
			}
			out = append(out, p)
		}
	}

	t.Run("errors", func(t *testing.T) {
		list := res.Pages["errors"].Text
		errorPages := pages("error")
		assert.Len(t, errorPages, len(excs), "the Errors page links one page per error event:\n%s", list)
		for _, p := range errorPages {
			assert.GreaterOrEqual(t, len(frameLine.FindAllString(p.Text, -1)), 2, "error page %s shows its frames:\n%s", p.URL, p.Text)
			assert.NotContains(t, p.Text, "NaN", p.URL)
		}
		for _, exc := range excs {
			// The error's own page shows this exception, with frames in its language's files.
			var found bool
			for _, p := range errorPages {
				if strings.Contains(p.Text, exc.typ) && strings.Contains(p.Text, firstLine(exc.message)) {
					found = true
					assert.True(t, hasFrameIn(p.Text, languageFiles[exc.language]), "%s on %s: no frame in a %s file:\n%s",
						exc.typ, p.URL, languageFiles[exc.language], p.Text)
				}
			}
			assert.True(t, found, "no error page shows %s: %s", exc.typ, exc.message)
		}
	})

	t.Run("traces", func(t *testing.T) {
		list := res.Pages["traces"].Text
		assert.NotContains(t, list, "NaN", "the Traces page:\n%s", list)
		tracePages := pages("trace")
		assert.Len(t, tracePages, len(traces), "the Traces page links one page per trace:\n%s", list)
		for _, ts := range traces {
			assert.Contains(t, list, ts.duration(), "the Traces page shows how long trace %s lasted", ts.id)
		}
		for _, p := range tracePages {
			assert.NotContains(t, p.Text, "NaN", "trace page %s:\n%s", p.URL, p.Text)
			m := traceDuration.FindStringSubmatch(p.Text)
			if assert.NotNil(t, m, "trace page %s has no duration header:\n%s", p.URL, p.Text) {
				id := tracePath(p.URL)
				ts, ok := traces[id]
				if assert.True(t, ok, "trace page %s is of a trace that was not sent", p.URL) {
					assert.Equal(t, ts.duration(), m[1]+m[2], "the waterfall of trace %s", id)
				}
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		text := res.Pages["logs"].Text
		for _, body := range bodies {
			assert.Contains(t, text, body, "the Logs page lists every log")
		}
	})

	t.Run("nothing leaves loopback", func(t *testing.T) {
		local := regexp.MustCompile(fmt.Sprintf(`^(https?://(localhost|127\.0\.0\.1):%d/|blob:http://(localhost|127\.0\.0\.1):%d/|data:)`, port, port))
		for _, u := range res.Requests {
			assert.Regexp(t, local, u, "the browser only fetched from Spotlight's server")
		}
		// The UI's Sentry SDK does try sentry.io; the server's Content-Security-Policy makes the browser
		// refuse (in make spotlight too, where no network namespace would stop it).
		var refused bool
		for _, c := range res.Console {
			refused = refused || strings.Contains(c, "sentry.io") && strings.Contains(c, "Content Security Policy")
		}
		assert.True(t, refused, "no refused request to sentry.io in the console:\n%s", strings.Join(res.Console, "\n"))
	})
}

// browseSpotlight runs interop/spotlight-ui.mjs on the UI at port and returns what it saw.
func browseSpotlight(t *testing.T, tools uiTools, port int, want map[string]any) uiResult {
	t.Helper()
	outDir, err := filepath.Abs(uiDir)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(outDir))
	require.NoError(t, os.MkdirAll(outDir, 0o755))
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	// A liveness guard, not a bound on speed: stop the browser before -test.timeout kills this process and
	// would leave it running.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if d, ok := t.Deadline(); ok {
		var cancelAtDeadline context.CancelFunc
		ctx, cancelAtDeadline = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancelAtDeadline()
	}
	cmd := exec.CommandContext(ctx, tools.node, "interop/spotlight-ui.mjs", tools.nodeModules,
		fmt.Sprintf("http://localhost:%d/", port), outDir, string(wantJSON))
	cmd.Env = append(os.Environ(), "CHROMIUM="+tools.chromium)
	// On a timeout, SIGTERM lets playwright close Chromium before node exits; SIGKILL follows if it does not.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "spotlight-ui.mjs: %s", stderr.String())
	var res uiResult
	require.NoError(t, json.Unmarshal(out, &res), "spotlight-ui.mjs printed %q", out)
	names := make([]string, 0, len(res.Pages))
	for name := range res.Pages {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := res.Pages[name]
		t.Logf("page %s (%s, %s):\n%s", name, p.URL, p.Screenshot, p.Text)
	}
	t.Logf("console:\n%s", strings.Join(res.Console, "\n"))
	return res
}

// traceSpan is one trace of a workload: its id and its extent.
type traceSpan struct {
	id         string
	start, end uint64
}

// duration is the trace's length as Spotlight shows it: two decimals, in ms below a second, else in s. The
// page shows a real duration when it matches the workload's.
func (ts traceSpan) duration() string {
	ms := float64(ts.end-ts.start) / 1e6
	if ms < 1000 {
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.2fs", ms/1000)
}

func traceSpans(td ptrace.Traces) map[string]*traceSpan {
	out := map[string]*traceSpan{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				id := sp.TraceID().String()
				ts := out[id]
				if ts == nil {
					ts = &traceSpan{id: id, start: uint64(sp.StartTimestamp())}
					out[id] = ts
				}
				ts.start = min(ts.start, uint64(sp.StartTimestamp()))
				ts.end = max(ts.end, uint64(sp.EndTimestamp()))
			}
		}
	}
	return out
}

// tracePath is the trace id in a trace page's URL (/telemetry/traces/<id>/...).
func tracePath(u string) string {
	_, rest, _ := strings.Cut(u, "/traces/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// hasFrameIn says whether a page shows a frame whose file ends in suffix.
func hasFrameIn(text, suffix string) bool {
	for _, f := range frameLine.FindAllString(text, -1) {
		file, _, _ := strings.Cut(f, " in ")
		if strings.HasSuffix(file, suffix) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
