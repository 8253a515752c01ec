//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Paths relative to the repository root.
const (
	builderConfig = "builder-config.yaml"
	collectorBin  = ".build/otelcol-sentry/otelcol-sentry"
)

// repoRoot is the checkout the tests run in (go test runs in the package directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, builderConfig))
	return root
}

// buildCollector returns the path of otelcol-sentry, building it with ocb unless the binary is newer
// than every input of the build.
func buildCollector(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(root, collectorBin)
	stale, why, err := collectorStale(root, bin)
	require.NoError(t, err)
	if !stale {
		t.Logf("reusing %s (newer than every source file)", collectorBin)
		return bin
	}
	t.Logf("building %s with ocb: %s", collectorBin, why)
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".build"), 0o755))
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile=internal/tools/go.mod", "builder", "--config", builderConfig)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ocb failed:\n%s", out)
	require.FileExists(t, bin)
	t.Logf("built %s in %s", collectorBin, time.Since(start).Round(100*time.Millisecond))
	return bin
}

// collectorStale reports whether bin is missing or older than a .go file, go.mod, go.sum or
// builder-config.yaml anywhere in the repository (hidden directories such as .build and .git aside).
func collectorStale(root, bin string) (bool, string, error) {
	info, err := os.Stat(bin)
	if errors.Is(err, fs.ErrNotExist) {
		return true, "no binary yet", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("stat %q: %w", bin, err)
	}
	built := info.ModTime()
	var newer string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") && name != "go.mod" && name != "go.sum" && name != builderConfig {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().After(built) {
			newer = path
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("walking %q: %w", root, err)
	}
	if newer != "" {
		rel, _ := filepath.Rel(root, newer)
		return true, rel + " is newer than the binary", nil
	}
	return false, "", nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		listeners = append(listeners, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// lockedBuffer collects a process's output written from exec's copying goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// collector is a running otelcol-sentry.
type collector struct {
	httpPort, grpcPort, healthPort, metricsPort int
	output                                      *lockedBuffer
	exited                                      chan struct{}
	waitErr                                     error
	process                                     *os.Process
	cancel                                      context.CancelFunc
	// killed marks a collector stopped with SIGKILL on purpose: its exit status is not checked.
	killed bool
}

// kill stops the collector with SIGKILL, as a crash or an OOM kill would, and waits until it is gone.
func (c *collector) kill(t *testing.T) {
	t.Helper()
	c.killed = true
	require.NoError(t, c.process.Signal(syscall.SIGKILL))
	<-c.exited
}

// stop sends the collector SIGTERM and waits until it has exited (a graceful stop, as a rolling
// deploy does). The cleanup of startCollectorCommand still checks that the exit was clean.
func (c *collector) stop() {
	c.cancel()
	<-c.exited
}

// collectorPorts are the loopback ports a test config listens on.
type collectorPorts struct {
	HTTP, GRPC, Health, Metrics int
}

func newCollectorPorts(t *testing.T) collectorPorts {
	p := freePorts(t, 4)
	return collectorPorts{HTTP: p[0], GRPC: p[1], Health: p[2], Metrics: p[3]}
}

// startCollector writes config to a temporary file, starts bin with it and waits for the health check.
// Cleanup stops it with SIGTERM, waits for it, requires a clean exit and logs its output if the test
// failed.
func startCollector(t *testing.T, bin string, ports collectorPorts, config string) *collector {
	t.Helper()
	path := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	return startCollectorCommand(t, ports, "", nil, bin, "--config", path)
}

// startCollectorCommand starts name with args in dir (the test's directory when empty), with env added
// to the test's environment, and waits for the health check on ports.Health. The process must be the
// collector itself (a shell must exec it), since the stop is a SIGTERM to that process. Cleanup is
// the one of startCollector.
func startCollectorCommand(t *testing.T, ports collectorPorts, dir string, env []string, name string, args ...string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	c := &collector{
		httpPort: ports.HTTP, grpcPort: ports.GRPC, healthPort: ports.Health, metricsPort: ports.Metrics,
		output: &lockedBuffer{}, exited: make(chan struct{}), cancel: cancel,
	}
	cmd.Stdout, cmd.Stderr = c.output, c.output
	// A graceful stop first: it is what users do, and it drains the exporter.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	require.NoError(t, cmd.Start())
	c.process = cmd.Process
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-c.exited
		if t.Failed() {
			t.Logf("collector output:\n%s", c.output.String())
		}
		var exitErr *exec.ExitError
		if !c.killed && errors.As(c.waitErr, &exitErr) {
			t.Errorf("collector did not stop cleanly on SIGTERM: %v\n%s", c.waitErr, c.output.String())
		}
	})
	c.waitHealthy(t)
	return c
}

// waitHealthy polls the health_check extension until it answers 200.
func (c *collector) waitHealthy(t *testing.T) {
	t.Helper()
	client := newHTTPClient()
	url := "http://127.0.0.1:" + strconv.Itoa(c.healthPort) + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			t.Fatalf("collector exited before becoming healthy (%v):\n%s", c.waitErr, c.output.String())
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector not healthy at %s after 60s (last error %v):\n%s", url, err, c.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newHTTPClient does not keep connections, so no transport goroutine outlives a test (goleak).
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// sendOTLP posts td to the collector's OTLP/HTTP receiver as protobuf and requires full acceptance.
func (c *collector) sendOTLP(t *testing.T, td ptrace.Traces) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	url := "http://127.0.0.1:" + strconv.Itoa(c.httpPort) + "/v1/traces"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := newHTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "collector answered: %s", answer)
	exportResp := ptraceotlp.NewExportResponse()
	require.NoError(t, exportResp.UnmarshalProto(answer))
	require.Zero(t, exportResp.PartialSuccess().RejectedSpans(), exportResp.PartialSuccess().ErrorMessage())
}

// metrics returns the collector's own metrics in Prometheus text format.
func (c *collector) metrics(t *testing.T) string {
	t.Helper()
	resp, err := newHTTPClient().Get("http://127.0.0.1:" + strconv.Itoa(c.metricsPort) + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(b)
}

// metricValue finds the sample of name whose labels contain every one of labels, e.g.
// metricValue(m, "otelcol_exporter_sent_spans", `exporter="sentry"`).
func metricValue(text, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(rest, l)
		}
		if !match {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			return v, true
		}
	}
	return 0, false
}

// runCollectorCommand runs bin with args (e.g. validate) and returns its combined output and error.
func runCollectorCommand(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
