//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// Tier 1 of docs/scale-out.md: its own ocb build (contrib's loadbalancingexporter exists on the module
// proxy here only at v0.161.0), with ocb of the same release.
const (
	tier1Manifest = "examples/two-tier/tier1-builder-config.yaml"
	tier1Bin      = ".build/otelcol-tier1/otelcol-tier1"
	tier1Stamp    = ".build/otelcol-tier1/manifest.sha256"
	tier1OCB      = "go.opentelemetry.io/collector/cmd/builder@v0.161.0"
	tier1OCBDir   = ".build/ocb-v0.161.0"
	tier1Config   = "examples/two-tier/tier1.yaml"
	tier2Config   = "examples/two-tier/tier2.yaml"
	// tier2Wait is trace_assembly.wait of the tier-2 collectors (TRACE_WAIT) where the senders do not
	// pause: longer than the time a trace's spans take to arrive, shorter than the example's 5 s to
	// keep the test short. The restart test paces its requests and uses the example's 5 s.
	tier2Wait = 2 * time.Second
)

// buildTier1 returns the tier-1 collector, building it with ocb v0.161.0 unless the binary was built
// from the manifest as it is now (a hash of it is stored beside the binary).
func buildTier1(t *testing.T, root string) string {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(root, tier1Manifest))
	require.NoError(t, err)
	sum := sha256.Sum256(manifest)
	want := hex.EncodeToString(sum[:])
	bin := filepath.Join(root, tier1Bin)
	if stamp, err := os.ReadFile(filepath.Join(root, tier1Stamp)); err == nil && string(stamp) == want {
		if _, err := os.Stat(bin); err == nil {
			t.Logf("reusing %s (built from %s as it is)", tier1Bin, tier1Manifest)
			return bin
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	ocb := filepath.Join(root, tier1OCBDir, "builder")
	if _, err := os.Stat(ocb); err != nil {
		cmd := exec.CommandContext(ctx, "go", "install", tier1OCB)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(root, tier1OCBDir))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go install %s:\n%s", tier1OCB, out)
	}
	cmd := exec.CommandContext(ctx, ocb, "--config", tier1Manifest)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ocb (tier 1) failed:\n%s", out)
	require.FileExists(t, bin)
	require.NoError(t, os.WriteFile(filepath.Join(root, tier1Stamp), []byte(want), 0o644))
	t.Logf("built %s in %s", tier1Bin, time.Since(start).Round(100*time.Millisecond))
	return bin
}

// twoTier is tier 1 and its tier-2 collectors, each tier-2 collector with a fake Sentry of its own,
// so that the test sees which collector sent what.
type twoTier struct {
	root, tier1Bin, tier2Bin string
	wait                     time.Duration // trace_assembly.wait of tier 2
	tier1                    *collector
	tier2                    []*collector
	tier2Ports               []collectorPorts
	tier2Env                 [][]string
	sentries                 []*sentrytest.Server
}

// startTwoTier starts n tier-2 collectors with examples/two-tier/tier2.yaml and tier 1 with
// examples/two-tier/tier1.yaml in front of them, all on loopback ports of this run.
func startTwoTier(t *testing.T, root, tier1Bin, tier2Bin string, n int, wait time.Duration) *twoTier {
	t.Helper()
	tt := &twoTier{root: root, tier1Bin: tier1Bin, tier2Bin: tier2Bin, wait: wait}
	endpoints := make([]string, 0, n)
	for range n {
		sentry := sentrytest.NewTest(t, sentrytest.WithAddr("127.0.0.1:0"))
		ports := newCollectorPorts(t)
		env := []string{
			"SENTRY_DSN=" + sentry.DSN(),
			"SENTRY_ENVIRONMENT=e2e-default",
			"STORAGE_DIR=" + t.TempDir(),
			"TRACE_WAIT=" + wait.String(),
			"OTLP_GRPC_PORT=" + strconv.Itoa(ports.GRPC),
			"HEALTH_PORT=" + strconv.Itoa(ports.Health),
			"METRICS_PORT=" + strconv.Itoa(ports.Metrics),
		}
		tt.sentries = append(tt.sentries, sentry)
		tt.tier2Ports = append(tt.tier2Ports, ports)
		tt.tier2Env = append(tt.tier2Env, env)
		tt.tier2 = append(tt.tier2, tt.startTier2(t, len(tt.tier2)))
		endpoints = append(endpoints, "127.0.0.1:"+strconv.Itoa(ports.GRPC))
	}
	ports := newCollectorPorts(t)
	env := []string{
		"TIER2_ENDPOINTS=[" + strings.Join(endpoints, ", ") + "]",
		"OTLP_HTTP_PORT=" + strconv.Itoa(ports.HTTP),
		"OTLP_GRPC_PORT=" + strconv.Itoa(ports.GRPC),
		"HEALTH_PORT=" + strconv.Itoa(ports.Health),
		"METRICS_PORT=" + strconv.Itoa(ports.Metrics),
	}
	tt.tier1 = startCollectorCommand(t, ports, "", env, tier1Bin, "--config", filepath.Join(root, tier1Config))
	return tt
}

// startTier2 starts tier-2 collector i (again, after a stop: same ports, same queue directory).
func (tt *twoTier) startTier2(t *testing.T, i int) *collector {
	t.Helper()
	return startCollectorCommand(t, tt.tier2Ports[i], "", tt.tier2Env[i], tt.tier2Bin, "--config", filepath.Join(tt.root, tier2Config))
}

// delivered is what the fake Sentries hold, together and per tier-2 collector.
type delivered struct {
	spans        map[string]int // span id -> times received, over all Sentries
	errors       []sentrytest.ErrorEvent
	transactions []sentrytest.Transaction
	// owners lists, per trace id, the tier-2 collectors whose Sentry received a transaction of it.
	owners map[string][]int
	// byTrace counts transactions per trace id.
	byTrace map[string]int
}

func (tt *twoTier) delivered() delivered {
	d := delivered{spans: map[string]int{}, owners: map[string][]int{}, byTrace: map[string]int{}}
	for i, s := range tt.sentries {
		for id, n := range s.SpanIDs() {
			d.spans[id] += n
		}
		d.errors = append(d.errors, s.Errors()...)
		seen := map[string]bool{}
		for _, tx := range s.Transactions() {
			id := tx.Trace().TraceID
			d.transactions = append(d.transactions, tx)
			d.byTrace[id]++
			if !seen[id] {
				seen[id] = true
				d.owners[id] = append(d.owners[id], i)
			}
		}
	}
	return d
}

func (tt *twoTier) requests() int {
	n := 0
	for _, s := range tt.sentries {
		n += s.Requests()
	}
	return n
}

// waitComplete waits until every sent span and exception has reached a Sentry and then until no
// request has reached any of them for 2 × trace_assembly.wait, so that a late duplicate (a retry) would have
// been seen. It gives up when nothing new arrives for 30 s (a broken pipeline fails in seconds, not
// at the test's timeout).
func (tt *twoTier) waitComplete(t *testing.T, in *input) bool {
	t.Helper()
	lastChange, last := time.Now(), -1
	complete := false
	for {
		now := time.Now()
		if n := tt.requests(); n != last {
			lastChange, last = now, n
		}
		if !complete {
			d := tt.delivered()
			complete = len(d.spans) >= len(in.spans) && len(d.errors) >= in.exceptions
		}
		switch {
		case complete && now.Sub(lastChange) > 2*tt.wait:
			return true
		case now.Sub(lastChange) > 30*time.Second:
			d := tt.delivered()
			t.Logf("nothing reached Sentry for 30s: %d of %d spans, %d of %d errors", len(d.spans), len(in.spans), len(d.errors), in.exceptions)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postTraces sends td to an OTLP/HTTP receiver; safe in goroutines (no require).
func postTraces(ctx context.Context, url string, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := newHTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, answer)
	}
	return nil
}

// sendFromTwo sends the batches from two senders at once, alternating batches between them (so the
// spans of one trace arrive through both, as from two services), pausing pace after each request.
// sent counts the requests done; it returns when both senders are done.
func sendFromTwo(t *testing.T, url string, batches []ptrace.Traces, pace time.Duration, sent *atomic.Int64) {
	t.Helper()
	var wg sync.WaitGroup
	for s := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < len(batches); i += 2 {
				if !assert.NoError(t, postTraces(t.Context(), url, batches[i]), "sender %d, batch %d", s, i) {
					return
				}
				sent.Add(1)
				time.Sleep(pace)
			}
		}()
	}
	wg.Wait()
}

// twoTierWorkload is the shop workload of internal/workload in 256-span requests: about 7000 spans in
// 200 traces, with exceptions, most traces crossing requests.
func twoTierWorkload(t *testing.T, seed int64) ([]ptrace.Traces, *input) {
	t.Helper()
	batches, sum := workload.Generate(workload.Config{Seed: seed, Traces: 200, BatchSize: 256})
	// newInput reads the batches before they are sent (sending does not modify them).
	in := newInput(batches...)
	require.Equal(t, sum.Spans, len(in.spans))
	require.Positive(t, in.exceptions)
	require.Positive(t, sum.CrossBatch, "traces must cross requests, or routing is not tested")
	return batches, in
}

// TestTwoTier runs docs/scale-out.md's layout: tier 1 (examples/two-tier/tier1.yaml, its own ocb
// build) routing by trace id over three tier-2 collectors (examples/two-tier/tier2.yaml, this
// repository's build, trace assembly on), each sending to a fake Sentry of its own.
func TestTwoTier(t *testing.T) {
	root := repoRoot(t)
	tier2Bin := buildCollector(t, root)
	tier1Bin := buildTier1(t, root)

	t.Run("three tier-2 collectors, two senders", func(t *testing.T) {
		tt := startTwoTier(t, root, tier1Bin, tier2Bin, 3, tier2Wait)
		batches, in := twoTierWorkload(t, 19)
		var sent atomic.Int64
		url := "http://127.0.0.1:" + strconv.Itoa(tt.tier1.httpPort) + "/v1/traces"
		sendFromTwo(t, url, batches, 20*time.Millisecond, &sent)
		require.EqualValues(t, len(batches), sent.Load())
		require.True(t, tt.waitComplete(t, in))

		d := tt.delivered()
		checkSpansExactlyOnce(t, in, d.spans)
		checkErrors(t, in, d.errors, d.spans)
		checkTransactions(t, in, d.transactions)
		split, wrong := 0, 0
		for id, want := range in.transactionsByTrace {
			if len(d.owners[id]) != 1 {
				split++
			}
			if d.byTrace[id] != want {
				wrong++
			}
		}
		assert.Zero(t, split, "traces whose transactions came from more than one tier-2 collector")
		assert.Zero(t, wrong, "traces whose transactions do not equal their segments")
		assert.Len(t, d.transactions, in.transactions)
		perCollector := make([]int, len(tt.sentries))
		for _, owners := range d.owners {
			for _, o := range owners {
				perCollector[o]++
			}
		}
		for i, n := range perCollector {
			assert.Positive(t, n, "tier-2 collector %d received no trace", i)
		}
		t.Logf("%d spans, %d traces, %d transactions (= segments), %d errors; traces per tier-2 collector %v",
			len(in.spans), len(in.traceIDs), len(d.transactions), len(d.errors), perCollector)
	})

	t.Run("one tier-2 collector restarted mid-run", func(t *testing.T) {
		tt := startTwoTier(t, root, tier1Bin, tier2Bin, 3, 5*time.Second)
		batches, in := twoTierWorkload(t, 23)
		var sent atomic.Int64
		url := "http://127.0.0.1:" + strconv.Itoa(tt.tier1.httpPort) + "/v1/traces"
		done := make(chan struct{})
		go func() {
			defer close(done)
			sendFromTwo(t, url, batches, 400*time.Millisecond, &sent)
		}()
		// Stop collector 0 once a third of the requests are in, keep it away while the next third
		// arrives, then start it again (same ports, same queue directory).
		for sent.Load() < int64(len(batches)/3) {
			time.Sleep(10 * time.Millisecond)
		}
		tt.tier2[0].stop()
		stoppedAt, stoppedTime := sent.Load(), time.Now()
		for sent.Load() < int64(2*len(batches)/3) {
			time.Sleep(10 * time.Millisecond)
		}
		tt.tier2[0] = tt.startTier2(t, 0)
		restartedAt, away := sent.Load(), time.Since(stoppedTime)
		<-done
		require.EqualValues(t, len(batches), sent.Load())
		require.True(t, tt.waitComplete(t, in))

		d := tt.delivered()
		lost, dup := 0, 0
		for id := range in.spans {
			switch n := d.spans[id]; {
			case n == 0:
				lost++
			case n > 1:
				dup++
			}
		}
		splitOwners, fragmented, fragmentedOwned0, extra := 0, 0, 0, 0
		for id, want := range in.transactionsByTrace {
			if len(d.owners[id]) > 1 {
				splitOwners++
			}
			if got := d.byTrace[id]; got != want {
				fragmented++
				extra += got - want
				if len(d.owners[id]) == 1 && d.owners[id][0] == 0 {
					fragmentedOwned0++
				}
			}
		}
		owned0 := 0
		for _, owners := range d.owners {
			if len(owners) == 1 && owners[0] == 0 {
				owned0++
			}
		}
		t.Logf("restart of tier-2 collector 0 (stopped after request %d of %d, healthy again after %d, away %s): "+
			"%d spans, %d traces (%d owned by collector 0): lost %d spans, duplicated %d, traces split between collectors %d, "+
			"traces in more transactions than segments %d (%d of them owned by collector 0), %d extra transactions",
			stoppedAt, len(batches), restartedAt, away.Round(10*time.Millisecond), len(in.spans), len(in.traceIDs), owned0, lost, dup, splitOwners,
			fragmented, fragmentedOwned0, extra)
		assert.Zero(t, lost, "spans lost")
		assert.Zero(t, dup, "spans delivered twice")
		assert.Zero(t, splitOwners, "the static resolver keeps every trace on its collector")
		assert.Equal(t, fragmented, fragmentedOwned0, "only traces of the restarted collector may be fragmented")
		checkErrors(t, in, d.errors, d.spans)
	})
}

// TestTwoTierThroughput measures spans per second through tier 1 and one or three tier-2 collectors,
// from the first request until every span has reached a Sentry. It is a measurement, not a check, and
// runs only with E2E_THROUGHPUT=1 (docs/scale-out.md has its figures):
//
//	E2E_THROUGHPUT=1 go test -count=1 -tags e2e -run TestTwoTierThroughput -v ./e2e/
//
// The time includes one trace_assembly.wait (tier2Wait) at the end, the same for both layouts.
func TestTwoTierThroughput(t *testing.T) {
	if os.Getenv("E2E_THROUGHPUT") != "1" {
		t.Skip("a measurement: set E2E_THROUGHPUT=1")
	}
	root := repoRoot(t)
	tier2Bin := buildCollector(t, root)
	tier1Bin := buildTier1(t, root)
	batches0, sum := workload.Generate(workload.Config{Seed: 5, Traces: 6000, BatchSize: 512})
	rate := map[int]float64{}
	for _, n := range []int{1, 3, 1, 3} {
		t.Run(fmt.Sprintf("%d tier-2", n), func(t *testing.T) {
			batches := make([]ptrace.Traces, len(batches0))
			for i, b := range batches0 {
				batches[i] = ptrace.NewTraces()
				b.CopyTo(batches[i])
			}
			tt := startTwoTier(t, root, tier1Bin, tier2Bin, n, tier2Wait)
			url := "http://127.0.0.1:" + strconv.Itoa(tt.tier1.httpPort) + "/v1/traces"
			var sent atomic.Int64
			start := time.Now()
			sendFromTwo(t, url, batches, 0, &sent)
			for {
				got := 0
				for _, s := range tt.sentries {
					got += s.SpanCount()
				}
				if got >= sum.Spans {
					break
				}
				require.Less(t, time.Since(start), 5*time.Minute, "%d of %d spans", got, sum.Spans)
				time.Sleep(20 * time.Millisecond)
			}
			elapsed := time.Since(start)
			r := float64(sum.Spans) / elapsed.Seconds()
			rate[n] = max(rate[n], r)
			t.Logf("%d tier-2: %d spans in %s: %.0f spans/s", n, sum.Spans, elapsed.Round(time.Millisecond), r)
		})
	}
	t.Logf("best of two: 1 tier-2 %.0f spans/s, 3 tier-2 %.0f spans/s, ratio %.2f", rate[1], rate[3], rate[3]/rate[1])
}
