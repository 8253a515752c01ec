//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
	"github.com/otelsentry/sentryexporter/internal/workload"
)

// crashConfig is the lossless pipeline of the README: OTLP in, no batch processor (its buffer is in
// memory), the Sentry exporter with trace assembly and the sending queue both on file_storage. The
// quiet period is shorter than the default so the test runs in seconds; max_wait stays the default.
func crashConfig(ports collectorPorts, dsn, dir string) string {
	return fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%[3]d
  file_storage:
    directory: %[6]s
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[1]d
      grpc:
        endpoint: 127.0.0.1:%[2]d
exporters:
  sentry:
    dsn: %[5]s
    environment: e2e-default
    trace_assembly:
      wait: 2s
      storage: file_storage
    sending_queue:
      storage: file_storage
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 10m
service:
  extensions: [health_check, file_storage]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [sentry]
  telemetry:
    logs:
      level: info
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[4]d
`, ports.HTTP, ports.GRPC, ports.Health, ports.Metrics, dsn, dir)
}

// testKillLosesNothing kills the collector with SIGKILL three times: while it receives, while trace
// assembly holds spans, and while the exporter sends. A client retries every batch until it is answered
// 200. Every span the collector acknowledged must reach Sentry, and exactly once in Sentry's eyes:
// Sentry drops an event whose id it has seen, so copies of one event id must be identical and, counted
// once per event id, every span arrives once.
func testKillLosesNothing(t *testing.T, bin string) {
	// Each request holds its answer for a while, so the queue has a backlog to be killed in.
	sentry := sentrytest.NewTest(t, sentrytest.WithAddr("127.0.0.1:0"), sentrytest.WithFaults(func(*sentrytest.Request) sentrytest.Fault {
		return sentrytest.Fault{Delay: 300 * time.Millisecond}
	}))
	ports := newCollectorPorts(t)
	dir := t.TempDir()
	config := filepath.Join(t.TempDir(), "collector.yaml")
	require.NoError(t, os.WriteFile(config, []byte(crashConfig(ports, sentry.DSN(), dir)), 0o600))
	start := func() *collector { return startCollectorCommand(t, ports, "", nil, bin, "--config", config) }

	batches, sum := workload.Generate(workload.Config{Seed: 23, Traces: 500, BatchSize: 256})
	in := newInput(batches...)
	bodies := make([][]byte, len(batches))
	for i, td := range batches {
		bodies[i] = workload.MarshalOTLP(td)
	}
	t.Logf("sending %d spans of %d traces in %d batches: %d transactions, %d exceptions expected",
		sum.Spans, sum.Traces, len(batches), in.transactions, in.exceptions)

	col := start()
	var acked atomic.Int32
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, body := range bodies {
			if !postUntilAccepted(ctx, ports.HTTP, body) {
				return
			}
			acked.Add(1)
			// A steady stream, as from SDKs, so the kills land while batches are under way.
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() {
		cancel()
		wg.Wait()
	}()
	waitUntil(t, "a third of the batches acknowledged", func() bool { return int(acked.Load()) >= len(bodies)/3 })
	col.kill(t)
	t.Logf("killed while receiving, after %d of %d batches", acked.Load(), len(bodies))

	col = start()
	waitUntil(t, "two thirds acknowledged, trace assembly holding spans", func() bool {
		held, _ := metricValue(col.metrics(t), "otelcol_sentry_exporter_assembly_spans_held")
		return int(acked.Load()) >= 2*len(bodies)/3 && held > 0
	})
	held, _ := metricValue(col.metrics(t), "otelcol_sentry_exporter_assembly_spans_held")
	col.kill(t)
	t.Logf("killed while trace assembly held %.0f spans, after %d batches", held, acked.Load())

	col = start()
	waitUntil(t, "every batch acknowledged", func() bool { return int(acked.Load()) == len(bodies) })
	requests := sentry.Requests()
	waitUntil(t, "the exporter sending", func() bool {
		return sentry.Requests() > requests+20 && sentry.SpanCount() > 0 && !allArrived(in, sentry)
	})
	t.Logf("killed while sending: Sentry had %d of %d spans", len(deliveredOnce(t, sentry.Transactions())), sum.Spans)
	col.kill(t)

	col = start()
	// Gives up when no span arrived for 30 s (the limit of 3 minutes only bounds a slow machine).
	last, lastCount, deadline := time.Now(), 0, time.Now().Add(3*time.Minute)
	for !allArrived(in, sentry) {
		if n := sentry.SpanCount(); n != lastCount {
			last, lastCount = time.Now(), n
		}
		if time.Since(last) > 30*time.Second || time.Now().After(deadline) {
			t.Fatalf("Sentry has %d of %d acknowledged spans", len(deliveredOnce(t, sentry.Transactions())), sum.Spans)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// What arrives after every span did can only be duplicates; wait for the collector to go idle so
	// they are counted too.
	waitUntil(t, "the collector idle", func() bool {
		m := col.metrics(t)
		held, _ := metricValue(m, "otelcol_sentry_exporter_assembly_spans_held")
		queued, _ := metricValue(m, "otelcol_exporter_queue_size", `exporter="sentry"`)
		return held == 0 && queued == 0
	})

	txs := sentry.Transactions()
	once := deliveredOnce(t, txs)
	checkSpansExactlyOnce(t, in, once)
	distinct := map[string]bool{}
	for _, tx := range txs {
		distinct[tx.EventID] = true
	}
	assert.Len(t, distinct, in.transactions, "one transaction per segment, counted once per event id")
	errIDs := map[string]bool{}
	for _, ev := range sentry.Errors() {
		errIDs[ev.EventID] = true
	}
	assert.Len(t, errIDs, in.exceptions, "one error event per exception, counted once per event id")
	t.Logf("Sentry received %d transactions for %d event ids (%d duplicates it drops) and %d error events for %d ids",
		len(txs), len(distinct), len(txs)-len(distinct), len(sentry.Errors()), len(errIDs))
}

// deliveredOnce counts each span once per transaction event id, as Sentry stores one event per id. It
// requires the copies of one event id to hold the same spans: otherwise dropping one would lose spans.
func deliveredOnce(t *testing.T, txs []sentrytest.Transaction) map[string]int {
	t.Helper()
	spansOf := func(tx sentrytest.Transaction) []string {
		ids := []string{tx.Trace().SpanID}
		for _, sp := range tx.Spans {
			ids = append(ids, sp.SpanID)
		}
		slices.Sort(ids)
		return ids
	}
	byEvent := map[string][]string{}
	counts := map[string]int{}
	for _, tx := range txs {
		ids := spansOf(tx)
		if first, ok := byEvent[tx.EventID]; ok {
			assert.Equal(t, first, ids, "two transactions with event id %s hold different spans", tx.EventID)
			continue
		}
		byEvent[tx.EventID] = ids
		for _, id := range ids {
			counts[id]++
		}
	}
	return counts
}

func allArrived(in *input, sentry *sentrytest.Server) bool {
	got := sentry.SpanIDs()
	for id := range in.spans {
		if got[id] == 0 {
			return false
		}
	}
	return true
}

// postUntilAccepted posts an OTLP/HTTP request until the collector answers 200, as an SDK's exporter
// retries; it gives up only when ctx ends.
func postUntilAccepted(ctx context.Context, port int, body []byte) bool {
	client := newHTTPClient()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/traces"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return false
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitUntil polls cond; the 2-minute limit only keeps a broken build from hanging the test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
