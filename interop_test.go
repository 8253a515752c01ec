//go:build interop

package sentryexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"golang.org/x/sys/unix"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// The interop tests (make interop) post every envelope the exporter produces for the golden workloads to
// two real consumers of Sentry's protocol, pinned in interop/package-lock.json and installed by make
// interop-deps into .build/interop: Spotlight (Sentry's local debugging sidecar and UI) and sentry-cli
// (whose send-envelope parses each envelope with the Rust SDK's types before sending it). Both run inside a
// loopback-only network namespace: the test re-executes itself there, so nothing they do can leave the
// machine, and every server listens on 127.0.0.1.

const (
	// interopNetnsEnv marks the copy of the test binary that runs inside the network namespace.
	interopNetnsEnv = "SENTRYEXPORTER_INTEROP_NETNS"
	// interopDir is where scripts/interop-deps.sh installs interop/package-lock.json.
	interopDir = ".build/interop"
)

// interopTools are the pinned consumers, found under interopDir.
type interopTools struct {
	node        string // node on PATH
	nodeModules string // absolute path of .build/interop/node_modules
	sentryCLI   string // the sentry-cli binary of @sentry/cli-linux-x64
}

// findInteropTools locates node and the installed npm packages. When one is missing the test fails in CI
// (CI=true: make test installs them, so a missing one is a broken build) and is skipped elsewhere with
// the command that installs them.
func findInteropTools(t *testing.T) interopTools {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + "; run `make interop-deps` (or `make interop`)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH (Debian: apt-get install nodejs npm)")
	}
	modules, err := filepath.Abs(filepath.Join(interopDir, "node_modules"))
	require.NoError(t, err)
	tools := interopTools{
		node:        node,
		nodeModules: modules,
		sentryCLI:   filepath.Join(modules, "@sentry", "cli-linux-x64", "bin", "sentry-cli"),
	}
	for _, path := range []string{
		filepath.Join(modules, "@spotlightjs", "spotlight", "package.json"),
		filepath.Join(modules, "@hono", "node-server", "package.json"),
		tools.sentryCLI,
	} {
		if _, err := os.Stat(path); err != nil {
			missing("%s is not installed", path)
		}
	}
	return tools
}

// TestInterop runs the interop tests inside a new network namespace that has only a loopback interface.
func TestInterop(t *testing.T) {
	tools := findInteropTools(t)
	if os.Getenv(interopNetnsEnv) != "1" {
		runInLoopbackNamespace(t)
		return
	}
	bringLoopbackUp(t)
	envelopes := captureGoldenEnvelopes(t)
	t.Run("spotlight", func(t *testing.T) { testSpotlight(t, tools, envelopes) })
	t.Run("sentry-cli", func(t *testing.T) { testSentryCLI(t, tools, envelopes) })
}

// runInLoopbackNamespace runs TestInterop again in this test binary, in a new network namespace (and, when
// not root, a user namespace mapping the caller to root so it may set its loopback up). Its output is
// copied to ours; it must pass.
func runInLoopbackNamespace(t *testing.T) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	args := []string{"-test.run=^TestInterop$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.CommandContext(t.Context(), exe, args...)
	cmd.Env = append(os.Environ(), interopNetnsEnv+"=1")
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if uid := os.Geteuid(); uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		msg := fmt.Sprintf("cannot start the test in a loopback-only network namespace: %v", err)
		if os.Getenv("CI") == "true" || !errors.Is(err, syscall.EPERM) {
			t.Fatal(msg)
		}
		t.Skip(msg + " (needs root or unprivileged user namespaces)")
	}
	require.NoError(t, cmd.Wait(), "TestInterop inside the network namespace failed (its output is above)")
}

// bringLoopbackUp checks this process is in a namespace whose only interface is the loopback, and sets it
// up (a new network namespace starts with it down).
func bringLoopbackUp(t *testing.T) {
	t.Helper()
	ifaces, err := net.Interfaces()
	require.NoError(t, err)
	for _, iface := range ifaces {
		require.NotZero(t, iface.Flags&net.FlagLoopback, "interface %s is not a loopback: not in a loopback-only namespace", iface.Name)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	require.NoError(t, err)
	require.NoError(t, unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr), "reading the flags of lo")
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	require.NoError(t, unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr), "setting lo up")
}

// capturedEnvelope is one request of the exporter, as it went on the wire and decoded.
type capturedEnvelope struct {
	name            string // workload and sequence number, for messages
	wire            []byte
	contentType     string
	contentEncoding string
	auth            string
	body            []byte // the envelope, decompressed
}

// captureServer answers 200 to every envelope and keeps each request, labelled with the current workload.
type captureServer struct {
	*httptest.Server
	mu       sync.Mutex
	label    string
	captured []capturedEnvelope
}

func newCaptureServer(t *testing.T) *captureServer {
	t.Helper()
	c := &captureServer{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wire, err := io.ReadAll(r.Body)
		if !assert.NoError(t, err) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		env := capturedEnvelope{
			wire: wire, contentType: r.Header.Get("Content-Type"), contentEncoding: r.Header.Get("Content-Encoding"),
			auth: r.Header.Get("X-Sentry-Auth"), body: wire,
		}
		switch env.contentEncoding {
		case "":
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(wire))
			if assert.NoError(t, err) {
				env.body, err = io.ReadAll(zr)
				assert.NoError(t, err)
			}
		default:
			t.Errorf("unexpected Content-Encoding %q", env.contentEncoding)
		}
		c.mu.Lock()
		env.name = c.label + "#" + strconv.Itoa(len(c.captured))
		c.captured = append(c.captured, env)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(c.Close)
	return c
}

// dsn is a DSN whose envelope endpoint is this server.
func (c *captureServer) dsn() string {
	return "http://" + sentrytest.DefaultPublicKey + "@" + c.Listener.Addr().String() + "/" + sentrytest.DefaultProjectID
}

func (c *captureServer) setLabel(label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.label = label
}

func (c *captureServer) envelopes() []capturedEnvelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedEnvelope(nil), c.captured...)
}

// captureGoldenEnvelopes runs the exporter, built through its factory, on the golden workloads (the
// multi-service trace and workload.Small of transform_test.go) and on a logs workload, against a capture
// server.
func captureGoldenEnvelopes(t *testing.T) []capturedEnvelope {
	t.Helper()
	srv := newCaptureServer(t)
	traces, _ := startExporterDSN(t, srv.dsn(), nil)
	srv.setLabel("multi_service")
	require.NoError(t, traces.ConsumeTraces(t.Context(), goldenMultiService()))
	srv.setLabel("sdks")
	require.NoError(t, traces.ConsumeTraces(t.Context(), workload.Small(1)))

	factory, cfg, set, _ := testFactory(t, map[string]any{
		"dsn":           srv.dsn(),
		"sending_queue": map[string]any{"enabled": false},
		"http":          map[string]any{"compression": "gzip"},
	})
	logs, err := factory.CreateLogs(t.Context(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, logs.Start(t.Context(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, logs.Shutdown(context.Background())) })
	srv.setLabel("logs")
	require.NoError(t, logs.ConsumeLogs(t.Context(), logsFixture(interopLogRecords)))

	envs := srv.envelopes()
	require.NotEmpty(t, envs)
	for _, env := range envs {
		require.Equal(t, "gzip", env.contentEncoding, "%s: the exporter is configured for gzip", env.name)
	}
	return envs
}

// interopLogRecords is the size of the logs workload: three envelopes of at most 100 logs.
const interopLogRecords = 250

// sentItems is what the exporter sent, counted per kind.
type sentItems struct {
	transactions, errors, logs, frames int
}

func countItems(t *testing.T, envs []capturedEnvelope) sentItems {
	t.Helper()
	var n sentItems
	for _, env := range envs {
		for _, it := range splitEnvelope(t, env.body).items {
			switch it.header["type"] {
			case "transaction":
				n.transactions++
			case "event":
				n.errors++
				n.frames += countFrames(decodeObject(t, it.payload))
			case "log":
				n.logs += len(decodeObject(t, it.payload)["items"].([]any))
			}
		}
	}
	return n
}

// countFrames counts the stack frames of an error event's exception values.
func countFrames(event map[string]any) int {
	exception, _ := event["exception"].(map[string]any)
	values, _ := exception["values"].([]any)
	n := 0
	for _, v := range values {
		st, _ := v.(map[string]any)["stacktrace"].(map[string]any)
		frames, _ := st["frames"].([]any)
		n += len(frames)
	}
	return n
}

// testSpotlight posts every envelope to Spotlight's envelope endpoint and checks that what Spotlight streams
// to its UI (GET /stream, server-sent events) holds each of them, item by item, as the exporter sent it.
func testSpotlight(t *testing.T, tools interopTools, envs []capturedEnvelope) {
	base := startSpotlight(t, tools)
	stream := openSpotlightStream(t, base)

	for _, env := range envs {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/"+sentrytest.DefaultProjectID+"/envelope/", bytes.NewReader(env.wire))
		require.NoError(t, err)
		req.Header.Set("Content-Type", env.contentType)
		req.Header.Set("Content-Encoding", env.contentEncoding)
		req.Header.Set("X-Sentry-Auth", env.auth)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		answer, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "Spotlight rejected %s: %s", env.name, answer)
	}

	// Spotlight streams an envelope once it parsed it; envelopes it failed on never come.
	var streamed [][]json.RawMessage
	wait, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for len(streamed) < len(envs) {
		select {
		case data := <-stream:
			var envelope []json.RawMessage
			require.NoError(t, json.Unmarshal(data, &envelope), "Spotlight streamed %s", data)
			require.Len(t, envelope, 2, "Spotlight streams [header, items]")
			streamed = append(streamed, envelope)
		case <-wait.Done():
			require.Failf(t, "Spotlight streamed too few envelopes", "%d of %d", len(streamed), len(envs))
		}
	}

	got := sentItems{}
	for i, env := range envs {
		sent := splitEnvelope(t, env.body)
		var header map[string]any
		require.NoError(t, json.Unmarshal(streamed[i][0], &header))
		assert.Equal(t, sent.header["event_id"], header["event_id"], "%s: envelope header", env.name)
		var items [][2]json.RawMessage
		require.NoError(t, json.Unmarshal(streamed[i][1], &items))
		require.Len(t, items, len(sent.items), "%s: items", env.name)
		for j, it := range items {
			var itemHeader map[string]any
			require.NoError(t, json.Unmarshal(it[0], &itemHeader))
			assert.Equal(t, sent.items[j].header["type"], itemHeader["type"], "%s item %d", env.name, j)
			// Spotlight adds the item type to each payload; the rest is what the exporter sent (compared as
			// JSON values: JavaScript writes 1.0 as 1).
			var want, view map[string]any
			require.NoError(t, json.Unmarshal(sent.items[j].payload, &want))
			require.NoError(t, json.Unmarshal(it[1], &view))
			delete(want, "type")
			delete(view, "type")
			if diff := jsonDifference(want, view, ""); diff != "" {
				t.Errorf("%s item %d: Spotlight's view of the payload differs from what was sent: %s", env.name, j, diff)
			}
			payload := decodeObject(t, it[1])
			switch itemHeader["type"] {
			case "transaction":
				got.transactions++
				checkSpotlightTransaction(t, env.name, payload)
			case "event":
				got.errors++
				got.frames += countFrames(payload)
			case "log":
				logItems, _ := payload["items"].([]any)
				got.logs += len(logItems)
				for _, l := range logItems {
					checkSpotlightLog(t, env.name, l.(map[string]any))
				}
			}
		}
	}
	want := countItems(t, envs)
	assert.Equal(t, want, got)
	assert.Positive(t, got.transactions)
	assert.Positive(t, got.errors)
	assert.Positive(t, got.frames, "error events carry stack frames")
	assert.Equal(t, interopLogRecords, got.logs)
	t.Logf("Spotlight: %d envelopes posted and streamed back: %d transactions, %d error events with %d frames, %d logs",
		len(envs), got.transactions, got.errors, got.frames, got.logs)
}

// checkSpotlightTransaction checks the fields Spotlight's trace view reads.
func checkSpotlightTransaction(t *testing.T, name string, tx map[string]any) {
	t.Helper()
	trace, _ := tx["contexts"].(map[string]any)["trace"].(map[string]any)
	assert.Regexp(t, `^[0-9a-f]{32}$`, trace["trace_id"], "%s: contexts.trace.trace_id", name)
	assert.Regexp(t, `^[0-9a-f]{16}$`, trace["span_id"], "%s: contexts.trace.span_id", name)
	start, errStart := tx["start_timestamp"].(json.Number).Float64()
	end, errEnd := tx["timestamp"].(json.Number).Float64()
	if assert.NoError(t, errors.Join(errStart, errEnd), "%s: numeric start_timestamp and timestamp", name) {
		assert.LessOrEqual(t, start, end, "%s", name)
	}
	assert.IsType(t, []any{}, tx["spans"], "%s: spans", name)
}

// checkSpotlightLog checks the fields Spotlight's log view reads.
func checkSpotlightLog(t *testing.T, name string, l map[string]any) {
	t.Helper()
	assert.IsType(t, json.Number(""), l["timestamp"], "%s: log timestamp", name)
	assert.NotEmpty(t, l["level"], "%s: log level", name)
	assert.NotEmpty(t, l["body"], "%s: log body", name)
	assert.Regexp(t, `^[0-9a-f]{32}$`, l["trace_id"], "%s: log trace_id", name)
}

// startSpotlight runs interop/spotlight-server.mjs and returns its base URL. The server stops when the
// test ends (stdin closed, then SIGTERM, then SIGKILL), or with this process.
func startSpotlight(t *testing.T, tools interopTools) string {
	t.Helper()
	cmd := exec.Command(tools.node, filepath.Join("interop", "spotlight-server.mjs"), tools.nodeModules)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	// Stdout goes through an io.Pipe read to its end, so that Wait, which waits for the copy, may run
	// alongside the reader.
	stdout, stdoutW := io.Pipe()
	cmd.Stdout = stdoutW
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		_ = stdoutW.Close()
		exited <- err
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("Spotlight's stderr:\n%s", stderr)
		}
	})

	ready := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		var info struct{ Port int }
		if json.Unmarshal([]byte(line), &info) != nil || info.Port == 0 {
			ready <- ""
		} else {
			ready <- "http://127.0.0.1:" + strconv.Itoa(info.Port)
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case base := <-ready:
		require.NotEmpty(t, base, "Spotlight did not print its port; stderr:\n%s", stderr)
		return base
	case <-time.After(2 * time.Minute):
		require.FailNow(t, "Spotlight did not start within 2 minutes", "stderr:\n%s", stderr)
	}
	return ""
}

// lockedBuffer is a bytes.Buffer a process may write while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openSpotlightStream subscribes to Spotlight's event stream and returns the data of each envelope event.
func openSpotlightStream(t *testing.T, base string) <-chan []byte {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stream?client=interop-test", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan []byte, 1024)
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-done
	})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		var event string
		var data []byte
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if event == "application/x-sentry-envelope" && data != nil {
					select {
					case events <- data:
					case <-ctx.Done():
						return
					}
				}
				event, data = "", nil
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
			}
		}
	}()
	return events
}

// testSentryCLI sends every envelope with `sentry-cli send-envelope`, which parses it with the Rust SDK's
// types and writes it again before sending it, to a capture server; what arrives must be the same items.
// sentry-cli reads only RFC 3339 end timestamps, so its copy has them rewritten (see rfc3339Timestamps);
// the exporter keeps floats, as Relay and the SDKs do.
//
// The receiver is a capture server rather than the fake Sentry of internal/sentrytest: the fake insists on
// a Content-Type and on "type":"transaction" in transaction payloads, which the Rust SDK (and so
// sentry-cli) never sends and Relay does not require. What arrives is still parsed with the fake's
// envelope parser (sentrytest.ParseEnvelope).
func testSentryCLI(t *testing.T, tools interopTools, envs []capturedEnvelope) {
	srv := newCaptureServer(t)
	dir := t.TempDir()
	home := t.TempDir()
	var sent []capturedEnvelope
	for i, env := range envs {
		path := filepath.Join(dir, fmt.Sprintf("%03d.envelope", i))
		require.NoError(t, os.WriteFile(path, rfc3339Timestamps(t, env.body), 0o600))
		srv.setLabel(env.name)
		cmd := exec.CommandContext(t.Context(), tools.sentryCLI, "send-envelope", "--log-level=warn", path)
		cmd.Dir = dir
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"SENTRY_DSN=" + srv.dsn(),
			"SENTRY_DISABLE_UPDATE_CHECK=true",
			"SENTRY_LOAD_DOTENV=false",
		}
		out, err := cmd.CombinedOutput()
		if assert.NoError(t, err, "sentry-cli send-envelope rejected %s:\n%s", env.name, out) {
			sent = append(sent, env)
		}
	}
	// sentry-cli exits once the envelope is sent: each accepted one has arrived.
	received := srv.envelopes()
	require.Len(t, received, len(sent), "envelopes sentry-cli sent")
	for i, got := range received {
		want := sent[i]
		_, err := sentrytest.ParseEnvelope(got.body)
		assert.NoError(t, err, "%s as sentry-cli sent it", want.name)
		sentParts, gotParts := splitEnvelope(t, want.body), splitEnvelope(t, got.body)
		assert.Equal(t, normalizeEventID(sentParts.header["event_id"]), normalizeEventID(gotParts.header["event_id"]), "%s: event_id", want.name)
		require.Len(t, gotParts.items, len(sentParts.items), "%s: items", want.name)
		for j := range sentParts.items {
			assert.Equal(t, sentParts.items[j].header["type"], gotParts.items[j].header["type"], "%s item %d", want.name, j)
		}
	}
	wantItems, gotItems := countItems(t, envs), countItems(t, received)
	assert.Equal(t, wantItems, gotItems, "items sent with sentry-cli")
	t.Logf("sentry-cli: %d of %d envelopes accepted, %d rejected; received %d transactions, %d error events (%d frames), %d logs",
		len(sent), len(envs), len(envs)-len(sent), gotItems.transactions, gotItems.errors, gotItems.frames, gotItems.logs)
}

// normalizeEventID writes an event id without dashes, as both forms are valid.
func normalizeEventID(id any) string {
	s, _ := id.(string)
	return strings.ReplaceAll(s, "-", "")
}

// envelopeParts is an envelope split into its header and items.
type envelopeParts struct {
	header map[string]any
	items  []envelopeItem
}

type envelopeItem struct {
	header  map[string]any
	payload []byte
}

// splitEnvelope splits an envelope: a header line, then per item a header line and a payload of the
// header's length, or up to the next newline without one.
func splitEnvelope(t *testing.T, body []byte) envelopeParts {
	t.Helper()
	line, rest, _ := bytes.Cut(body, []byte("\n"))
	parts := envelopeParts{header: decodeObject(t, line)}
	for len(bytes.TrimSpace(rest)) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		it := envelopeItem{header: decodeObject(t, line)}
		if n, ok := it.header["length"].(json.Number); ok {
			length, err := n.Int64()
			require.NoError(t, err)
			require.LessOrEqual(t, int(length), len(rest))
			it.payload, rest = rest[:length], rest[length:]
			rest = bytes.TrimPrefix(rest, []byte("\n"))
		} else {
			it.payload, rest, _ = bytes.Cut(rest, []byte("\n"))
		}
		parts.items = append(parts.items, it)
	}
	return parts
}

// decodeObject decodes a JSON object keeping numbers as written.
func decodeObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v map[string]any
	require.NoError(t, dec.Decode(&v), "%s", data)
	return v
}

// rfc3339Timestamps returns a copy of the envelope whose numeric end timestamps ("timestamp" in transactions,
// error events and their spans) are RFC 3339 strings, with each item's length recomputed. The Rust SDK's
// types read start_timestamp and log timestamps as floats, but end timestamps only as RFC 3339.
func rfc3339Timestamps(t *testing.T, body []byte) []byte {
	t.Helper()
	parts := splitEnvelope(t, body)
	var out bytes.Buffer
	header, err := json.Marshal(parts.header)
	require.NoError(t, err)
	out.Write(header)
	out.WriteByte('\n')
	for _, it := range parts.items {
		payload := it.payload
		if typ := it.header["type"]; typ == "transaction" || typ == "event" {
			payload, err = json.Marshal(rewriteTimestamps(t, decodeObject(t, it.payload)))
			require.NoError(t, err)
		}
		it.header["length"] = len(payload)
		itemHeader, err := json.Marshal(it.header)
		require.NoError(t, err)
		out.Write(itemHeader)
		out.WriteByte('\n')
		out.Write(payload)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func rewriteTimestamps(t *testing.T, v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if n, ok := x.(json.Number); ok && k == "timestamp" {
				secs, err := strconv.ParseFloat(string(n), 64)
				require.NoError(t, err)
				whole := int64(secs)
				micros := int64((secs-float64(whole))*1e6 + 0.5)
				v[k] = time.Unix(whole, micros*1000).UTC().Format(time.RFC3339Nano)
				continue
			}
			v[k] = rewriteTimestamps(t, x)
		}
	case []any:
		for i := range v {
			v[i] = rewriteTimestamps(t, v[i])
		}
	}
	return v
}

// jsonDifference describes the first difference between two decoded JSON values, or returns "".
func jsonDifference(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: sent an object, got %T", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if d := jsonDifference(wv, gv, path+"."+k); d != "" {
				return d
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s.%s: added", path, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: sent an array, got %T", path, got)
		}
		if len(w) != len(g) {
			return fmt.Sprintf("%s: sent %d elements, got %d", path, len(w), len(g))
		}
		for i := range w {
			if d := jsonDifference(w[i], g[i], path+"["+strconv.Itoa(i)+"]"); d != "" {
				return d
			}
		}
	default:
		if want != got {
			return fmt.Sprintf("%s: sent %v, got %v", path, want, got)
		}
	}
	return ""
}
