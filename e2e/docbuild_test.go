//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

const (
	// collectorBuildDoc is the page a newcomer follows to build their own collector.
	collectorBuildDoc = "docs/collector-build.md"
	// docCheckout stands for the reader's checkout in collectorBuildDoc; it is the only text the
	// test replaces.
	docCheckout = "/path/to/sentryexporter"
)

// docStepMarker marks a fenced code block of collectorBuildDoc that the test executes: it sits on the
// line before the fence, as an HTML comment the rendered page does not show.
//
//	<!-- doc-test: run -->                      a shell script, run with bash -e in the build directory
//	<!-- doc-test: file builder-config.yaml --> the block's text, written to that file there
//	<!-- doc-test: start -->                    one command that starts the collector; the test runs it
var docStepMarker = regexp.MustCompile(`^<!-- doc-test: (run|file|start)(?: ([^ ]+))? -->$`)

// docStep is one marked code block.
type docStep struct {
	kind, arg, body string
	line            int // of the marker, for messages
}

// parseDocSteps returns the marked blocks of doc in their order.
func parseDocSteps(t *testing.T, doc string) []docStep {
	t.Helper()
	var steps []docStep
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "<!-- doc-test") {
			m := docStepMarker.FindStringSubmatch(lines[i])
			require.NotNil(t, m, "%s:%d: malformed doc-test marker %q", collectorBuildDoc, i+1, lines[i])
			step := docStep{kind: m[1], arg: m[2], line: i + 1}
			require.Equal(t, step.kind == "file", step.arg != "", "%s:%d: only file takes (and needs) a name", collectorBuildDoc, i+1)
			require.Less(t, i+1, len(lines), "%s:%d: marker at the end of the file", collectorBuildDoc, i+1)
			require.True(t, strings.HasPrefix(lines[i+1], "```"), "%s:%d: a doc-test marker must sit right above a code fence", collectorBuildDoc, i+1)
			var body []string
			j := i + 2
			for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
				body = append(body, lines[j])
			}
			require.Less(t, j, len(lines), "%s:%d: unterminated code block", collectorBuildDoc, i+2)
			step.body = strings.Join(body, "\n") + "\n"
			steps = append(steps, step)
			i = j
		}
	}
	return steps
}

// TestDocCollectorBuild follows docs/collector-build.md as a newcomer would: in a fresh directory
// outside the repository it runs the page's ocb install command, writes its manifest, builds, and
// starts the collector with examples/collector.yaml exactly as the page says (only the checkout path
// is filled in). Then it sends traces over OTLP and requires them to reach the fake Sentry, and the
// other examples the page names to validate with that build. The Go module and build caches are the
// user's (shared with the other e2e build), so the build costs about 1.5 minutes on 2 cores.
func TestDocCollectorBuild(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, collectorBuildDoc))
	require.NoError(t, err)
	steps := parseDocSteps(t, string(doc))

	kinds := make([]string, 0, len(steps))
	for _, s := range steps {
		kinds = append(kinds, s.kind)
	}
	require.Contains(t, kinds, "run", "the page must mark the ocb install and build commands")
	require.Contains(t, kinds, "file", "the page must mark its manifest")
	require.Equal(t, "start", kinds[len(kinds)-1], "the page's last marked block must start the collector")

	dir := t.TempDir()
	rel, err := filepath.Rel(root, dir)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(rel, ".."), "the build directory %s must be outside the checkout %s", dir, root)

	var buildOutput strings.Builder
	for _, s := range steps[:len(steps)-1] {
		body := strings.ReplaceAll(s.body, docCheckout, root)
		switch s.kind {
		case "file":
			require.NotContains(t, s.arg, "/", "%s:%d: file names stay in the build directory", collectorBuildDoc, s.line)
			require.NoError(t, os.WriteFile(filepath.Join(dir, s.arg), []byte(body), 0o600))
		case "run":
			buildOutput.WriteString(runDocScript(t, dir, s, body))
		default:
			t.Fatalf("%s:%d: %s may only be the last marked block", collectorBuildDoc, s.line, s.kind)
		}
	}
	// The build lists this exporter from the checkout, not some published module.
	require.Contains(t, buildOutput.String(), "module: github.com/otelsentry/sentryexporter v0.0.0")

	start := steps[len(steps)-1]
	command := strings.TrimSpace(strings.ReplaceAll(start.body, docCheckout, root))
	require.NotContains(t, command, "\n", "%s:%d: the start block must be one command", collectorBuildDoc, start.line)
	fields := strings.Fields(command)
	bin := filepath.Join(dir, fields[0])
	require.FileExists(t, bin, "%s:%d: the start command must run the collector ocb built", collectorBuildDoc, start.line)
	require.Contains(t, command, filepath.Join(root, "examples", "collector.yaml"), "the page must run the example config")

	sentry := sentrytest.NewTest(t, sentrytest.WithAddr("127.0.0.1:0"))
	ports := newCollectorPorts(t)
	// What the page leaves to the reader: their DSN (here the fake Sentry's), and ports of this run
	// through the ${env:...} the example config offers, so that the test never collides with a
	// collector already on the default ports.
	env := []string{
		"SENTRY_DSN=" + sentry.DSN(),
		"OTLP_HTTP_PORT=" + strconv.Itoa(ports.HTTP),
		"OTLP_GRPC_PORT=" + strconv.Itoa(ports.GRPC),
		"HEALTH_PORT=" + strconv.Itoa(ports.Health),
		"METRICS_PORT=" + strconv.Itoa(ports.Metrics),
	}
	// exec: the shell becomes the collector, so the SIGTERM of the cleanup reaches it.
	col := startCollectorCommand(t, ports, dir, env, "bash", "-c", "exec "+command)

	td := workload.Small(42)
	in := newInput(td)
	col.sendOTLP(t, td)
	complete := waitForDelivery(t, sentry, func() bool {
		return len(sentry.Transactions()) >= in.transactions && len(sentry.Errors()) >= in.exceptions
	})
	require.True(t, complete, "received %d of %d transactions and %d of %d errors; rejected: %v",
		len(sentry.Transactions()), in.transactions, len(sentry.Errors()), in.exceptions, sentry.Rejections())
	assert.Empty(t, sentry.Rejections())
	assert.Empty(t, sentry.Discarded())
	checkSpansExactlyOnce(t, in, sentry.SpanIDs())
	checkSelfMetrics(t, col, in)

	// The page's manifest carries what the other examples it names use.
	for _, name := range []string{"persistent-queue.yaml", "two-tier/tier2.yaml"} {
		out, err := runCollectorCommand(t, bin, []string{"SENTRY_DSN=" + sentry.DSN()},
			"validate", "--config", filepath.Join(root, "examples", name))
		assert.NoError(t, err, "validate examples/%s with the build of %s:\n%s", name, collectorBuildDoc, out)
	}
}

// runDocScript runs one marked shell block with bash -e in dir and returns its output. The block runs
// in its own process group, which a timeout or an early end of the test kills whole (go install and
// ocb start go commands of their own).
func runDocScript(t *testing.T, dir string, s docStep, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	started := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s:%d failed:\n%s\noutput:\n%s", collectorBuildDoc, s.line, script, out)
	t.Logf("%s:%d (%s): %s", collectorBuildDoc, s.line, firstLine(script), time.Since(started).Round(100*time.Millisecond))
	return string(out)
}

// firstLine is the first line of a script, for logs.
func firstLine(script string) string {
	line, _, _ := strings.Cut(script, "\n")
	return line
}

// TestDocManifestMatchesBuilderConfig requires the manifest of docs/collector-build.md and this
// repository's builder-config.yaml to list the same modules at the same versions, so that what the
// examples are tested with here (make e2e, make run) is what a reader of the page builds.
func TestDocManifestMatchesBuilderConfig(t *testing.T) {
	root := repoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, collectorBuildDoc))
	require.NoError(t, err)
	var manifest string
	for _, s := range parseDocSteps(t, string(doc)) {
		if s.kind == "file" && s.arg == builderConfig {
			manifest = s.body
		}
	}
	require.NotEmpty(t, manifest, "%s marks no %s", collectorBuildDoc, builderConfig)
	ours, err := os.ReadFile(filepath.Join(root, builderConfig))
	require.NoError(t, err)
	want, got := manifestModules(string(ours)), manifestModules(manifest)
	require.Contains(t, want, "github.com/otelsentry/sentryexporter v0.0.0")
	assert.ElementsMatch(t, want, got, "modules of %s (first) and of the manifest in %s", builderConfig, collectorBuildDoc)
}

// manifestModules returns the "module version" of every gomod entry of an ocb manifest, and the
// telemetry import.
func manifestModules(manifest string) []string {
	var mods []string
	for _, line := range strings.Split(manifest, "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		if v, ok := strings.CutPrefix(line, "gomod:"); ok {
			mods = append(mods, strings.Join(strings.Fields(v), " "))
		}
		if v, ok := strings.CutPrefix(line, "import:"); ok {
			mods = append(mods, "import "+strings.TrimSpace(v))
		}
	}
	return mods
}
