package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// fakeCollector records the OTLP requests it receives and answers with a configurable response.
type fakeCollector struct {
	mu           sync.Mutex
	requests     []ptrace.Traces
	logs         []plog.Logs
	paths        []string // of every request, in arrival order
	headers      []http.Header
	status       int
	rejected     int64
	rejectedLogs int64
}

func (c *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP/HTTP protobuf request", http.StatusBadRequest)
		return
	}
	var resp interface{ MarshalProto() ([]byte, error) }
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		req := ptraceotlp.NewExportRequest()
		if req.UnmarshalProto(body) != nil {
			http.Error(w, "not an OTLP traces request", http.StatusBadRequest)
			return
		}
		c.requests = append(c.requests, req.Traces())
		tr := ptraceotlp.NewExportResponse()
		if c.rejected > 0 {
			tr.PartialSuccess().SetRejectedSpans(c.rejected)
			tr.PartialSuccess().SetErrorMessage("dropped by a test")
		}
		resp = tr
	case "/v1/logs":
		req := plogotlp.NewExportRequest()
		if req.UnmarshalProto(body) != nil {
			http.Error(w, "not an OTLP logs request", http.StatusBadRequest)
			return
		}
		c.logs = append(c.logs, req.Logs())
		lr := plogotlp.NewExportResponse()
		if c.rejectedLogs > 0 {
			lr.PartialSuccess().SetRejectedLogRecords(c.rejectedLogs)
			lr.PartialSuccess().SetErrorMessage("dropped by a test")
		}
		resp = lr
	default:
		http.Error(w, "unknown path", http.StatusNotFound)
		return
	}
	c.paths = append(c.paths, r.URL.Path)
	c.headers = append(c.headers, r.Header.Clone())
	if c.status != 0 {
		http.Error(w, "memory limit reached", c.status)
		return
	}
	b, _ := resp.MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func startCollector(t *testing.T, c *fakeCollector) string {
	t.Helper()
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/traces"
}

func TestRunSendsSmallWorkload(t *testing.T) {
	t.Parallel()
	c := &fakeCollector{}
	endpoint := startCollector(t, c)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-endpoint", endpoint, "-seed", "7", "-header", "X-Test: yes"}, &out))

	want := workload.Small(7)
	require.Len(t, c.requests, 1)
	got := c.requests[0]
	assert.Equal(t, want.SpanCount(), got.SpanCount())
	wantBytes, gotBytes := workload.MarshalOTLP(want), workload.MarshalOTLP(got)
	assert.Equal(t, wantBytes, gotBytes, "the collector must receive exactly the workload")
	assert.Equal(t, "yes", c.headers[0].Get("X-Test"))

	// Then the logs of those traces, in one request.
	require.Len(t, c.logs, 1)
	assert.Equal(t, []string{"/v1/traces", "/v1/logs"}, c.paths, "logs after the traces they point to")
	var lm plog.ProtoMarshaler
	wantLogs, err := lm.MarshalLogs(workload.Logs(want))
	require.NoError(t, err)
	gotLogs, err := lm.MarshalLogs(c.logs[0])
	require.NoError(t, err)
	assert.Equal(t, wantLogs, gotLogs)
	assert.Equal(t, "yes", c.headers[1].Get("X-Test"))

	st := count([]ptrace.Traces{want}, []plog.Logs{c.logs[0]})
	assert.Positive(t, st.exceptions)
	assert.Positive(t, st.traces)
	assert.Equal(t, c.logs[0].LogRecordCount(), st.logs)
	assert.Equal(t, 2, st.requests)
	logsURL := strings.TrimSuffix(endpoint, "/v1/traces") + "/v1/logs"
	assert.Equal(t, "sent to "+endpoint+" and "+logsURL+": "+st.String()+"\n", out.String())
}

func TestRunWithoutLogs(t *testing.T) {
	t.Parallel()
	c := &fakeCollector{}
	endpoint := startCollector(t, c)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-endpoint", endpoint, "-logs=false"}, &out))
	assert.Equal(t, []string{"/v1/traces"}, c.paths)
	assert.Contains(t, out.String(), "sent to "+endpoint+": ")
	assert.Contains(t, out.String(), " logs=0\n")
}

func TestRunSendsGeneratedBatches(t *testing.T) {
	t.Parallel()
	c := &fakeCollector{}
	endpoint := startCollector(t, c)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-endpoint", endpoint, "-traces", "30", "-batch-size", "100"}, &out))

	batches, sum := workload.Generate(workload.Config{Seed: 1, Traces: 30, BatchSize: 100})
	require.Len(t, c.requests, len(batches))
	spans := 0
	for _, td := range c.requests {
		assert.LessOrEqual(t, td.SpanCount(), 100)
		spans += td.SpanCount()
	}
	assert.Equal(t, sum.Spans, spans)
	logs := 0
	for _, ld := range c.logs {
		logs += ld.LogRecordCount()
	}
	assert.Equal(t, buildLogs(batches), c.logs)
	assert.Greater(t, logs, sum.Exceptions, "an error line per exception and an access line per request")
	st := count(batches, c.logs)
	assert.Equal(t, stats{requests: len(batches) + len(c.logs), spans: sum.Spans, traces: sum.Traces, exceptions: sum.Exceptions, logs: logs}, st)
	assert.Contains(t, out.String(), st.String())
}

func TestRunReportsCollectorFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		collector *fakeCollector
		wantErr   string
	}{
		{name: "refused status", collector: &fakeCollector{status: http.StatusServiceUnavailable}, wantErr: "503 Service Unavailable: memory limit reached"},
		{name: "partial success", collector: &fakeCollector{rejected: 3}, wantErr: "rejected 3 of"},
		{name: "logs partial success", collector: &fakeCollector{rejectedLogs: 2}, wantErr: "logs batch 1 of 1 (requests=1 spans="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			endpoint := startCollector(t, tt.collector)
			var out bytes.Buffer
			err := run(context.Background(), []string{"-endpoint", endpoint}, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Empty(t, out.String(), "nothing may claim success")
			if tt.collector.rejectedLogs > 0 {
				assert.Contains(t, err.Error(), "rejected 2 of")
			}
		})
	}
}

func TestRunReportsWhatWasDeliveredBeforeAFailure(t *testing.T) {
	t.Parallel()
	c := &fakeCollector{}
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 2 {
			http.Error(w, "overloaded", http.StatusTooManyRequests)
			return
		}
		c.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	err := run(context.Background(), []string{"-endpoint", srv.URL + "/v1/traces", "-traces", "30", "-batch-size", "100"}, io.Discard)
	require.Error(t, err)
	batches, _ := workload.Generate(workload.Config{Seed: 1, Traces: 30, BatchSize: 100})
	assert.Contains(t, err.Error(), "batch 2 of "+strconv.Itoa(len(batches))+" ("+count(batches[:1], nil).String()+" delivered before it)")
}

func TestFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "remote host", args: []string{"-endpoint", "http://collector.example.com:4318/v1/traces"}, wantErr: `host "collector.example.com" is not a loopback address`},
		{name: "remote ip", args: []string{"-endpoint", "http://10.0.0.5:4318/v1/traces"}, wantErr: "pass -allow-remote"},
		{name: "unspecified ip", args: []string{"-endpoint", "http://0.0.0.0:4318/v1/traces"}, wantErr: "not a loopback address"},
		{name: "grpc scheme", args: []string{"-endpoint", "grpc://127.0.0.1:4317"}, wantErr: "scheme must be http or https"},
		{name: "no host", args: []string{"-endpoint", "http:///v1/traces"}, wantErr: "missing host"},
		{name: "negative traces", args: []string{"-traces", "-1"}, wantErr: "-traces -1"},
		{name: "zero batch", args: []string{"-batch-size", "0"}, wantErr: "-batch-size 0"},
		{name: "zero timeout", args: []string{"-timeout", "0s"}, wantErr: "-timeout 0s"},
		{name: "bad header", args: []string{"-header", "novalue"}, wantErr: `-header "novalue"`},
		{name: "extra args", args: []string{"now"}, wantErr: "unexpected arguments"},
		{name: "logs endpoint not derivable", args: []string{"-endpoint", "http://127.0.0.1:4318/otlp"}, wantErr: "set -logs-endpoint, or -logs=false"},
		{name: "remote logs endpoint", args: []string{"-logs-endpoint", "http://10.0.0.5:4318/v1/logs"}, wantErr: `-logs-endpoint "http://10.0.0.5:4318/v1/logs": host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tt.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint    string
		allowRemote bool
		ok          bool
	}{
		{endpoint: "http://127.0.0.1:4318/v1/traces", ok: true},
		{endpoint: "http://localhost:4318/v1/traces", ok: true},
		{endpoint: "http://[::1]:4318/v1/traces", ok: true},
		{endpoint: "https://127.0.0.2/v1/traces", ok: true},
		{endpoint: "http://otel.internal:4318/v1/traces", ok: false},
		{endpoint: "http://otel.internal:4318/v1/traces", allowRemote: true, ok: true},
		{endpoint: "ftp://127.0.0.1/v1/traces", allowRemote: true, ok: false},
	}
	for _, tt := range tests {
		err := checkEndpoint("-endpoint", tt.endpoint, tt.allowRemote)
		assert.Equal(t, tt.ok, err == nil, "%s allowRemote=%t: %v", tt.endpoint, tt.allowRemote, err)
		if err != nil {
			assert.True(t, strings.Contains(err.Error(), tt.endpoint), "error names the endpoint: %v", err)
		}
	}
}
