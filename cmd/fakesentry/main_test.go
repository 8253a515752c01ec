package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const (
	testTraceID = "0123456789abcdef0123456789abcdef"
	testEventID = "fedcba9876543210fedcba9876543210"
)

func transactionEnvelope(name string) string {
	payload := `{"event_id":"` + testEventID + `","type":"transaction","transaction":"` + name + `","start_timestamp":1700000000,"timestamp":1700000000.042,` +
		`"contexts":{"trace":{"trace_id":"` + testTraceID + `","span_id":"aaaaaaaaaaaaaaaa","op":"http.server","status":"ok"}},` +
		`"spans":[{"trace_id":"` + testTraceID + `","span_id":"bbbbbbbbbbbbbbbb","parent_span_id":"aaaaaaaaaaaaaaaa","op":"db","description":"SELECT 1","start_timestamp":1700000000.001,"timestamp":1700000000.002}]}`
	return `{"event_id":"` + testEventID + `"}` + "\n" + `{"type":"transaction"}` + "\n" + payload + "\n"
}

func postEnvelope(t *testing.T, url, key, body string) int {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_client=test/1, sentry_key="+key)
	res, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res.StatusCode
}

var dsnLine = regexp.MustCompile(`DSN: http://(\w+)@(127\.0\.0\.1:\d+)(/\S*)\n`)

func TestRunPrintsDSNSummaryAndTotals(t *testing.T) {
	t.Parallel()
	outFile := filepath.Join(t.TempDir(), "out.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-project", "7", "-key", "k", "-prefix", "/sentry", "-out", outFile, "-fail-every", "2"}, &stdout)
	}()

	var m []string
	require.Eventually(t, func() bool {
		m = dsnLine.FindStringSubmatch(stdout.String())
		return m != nil
	}, 30*time.Second, 5*time.Millisecond, "DSN line in %q", stdout.String())
	assert.Equal(t, "k", m[1])
	assert.Equal(t, "/sentry/7", m[3])
	url := "http://" + m[2] + "/sentry/api/7/envelope/"

	assert.Equal(t, http.StatusOK, postEnvelope(t, url, "k", transactionEnvelope("GET /hello")))
	assert.Equal(t, http.StatusServiceUnavailable, postEnvelope(t, url, "k", transactionEnvelope("GET /failed")))
	assert.Equal(t, http.StatusUnauthorized, postEnvelope(t, url, "wrong", transactionEnvelope("GET /denied")))
	// The summary is written before the response, so it is already there.
	out := stdout.String()
	assert.Contains(t, out, `transaction "GET /hello" op=http.server status=ok duration=42.000ms spans=2`+"\n")
	assert.Contains(t, out, `    - db "SELECT 1" - 1.000ms [bbbbbbbbbbbbbbbb]`+"\n")
	assert.NotContains(t, out, "GET /failed")

	cancel()
	require.NoError(t, <-done, "run stops after cancel (if it did not, the test would time out here)")
	assert.Contains(t, stdout.String(), "totals: transactions=1 spans=2 otlp_spans=0 errors=0 logs=0 otlp_logs=0 client_reports=0 discarded=0 requests=3 rejected=2 faults=1\n")

	data, err := os.ReadFile(outFile)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 1)
	var line struct {
		Seq    int             `json:"seq"`
		Header json.RawMessage `json:"header"`
		Items  []struct {
			Header  json.RawMessage `json:"header"`
			Payload struct {
				Transaction string `json:"transaction"`
			} `json:"payload"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line))
	assert.Equal(t, 1, line.Seq)
	assert.JSONEq(t, `{"event_id":"`+testEventID+`"}`, string(line.Header))
	require.Len(t, line.Items, 1)
	assert.JSONEq(t, `{"type":"transaction"}`, string(line.Items[0].Header))
	assert.Equal(t, "GET /hello", line.Items[0].Payload.Transaction)
}

func TestRunQuietPrintsNoSummary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet"}, &stdout) }()
	var m []string
	require.Eventually(t, func() bool {
		m = dsnLine.FindStringSubmatch(stdout.String())
		return m != nil
	}, 30*time.Second, 5*time.Millisecond)
	assert.Equal(t, http.StatusOK, postEnvelope(t, "http://"+m[2]+"/api/1/envelope/", "public", transactionEnvelope("GET /q")))
	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, stdout.String(), "GET /q")
	assert.Contains(t, stdout.String(), "totals: transactions=1 spans=2")
}

func TestRunWritesTraceReportOnExit(t *testing.T) {
	t.Parallel()
	for _, toStdout := range []bool{false, true} {
		reportPath := filepath.Join(t.TempDir(), "report.txt")
		arg := reportPath
		if toStdout {
			arg = "-"
		}
		ctx, cancel := context.WithCancel(context.Background())
		var stdout syncBuffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet", "-report", arg}, &stdout) }()
		var m []string
		require.Eventually(t, func() bool {
			m = dsnLine.FindStringSubmatch(stdout.String())
			return m != nil
		}, 30*time.Second, 5*time.Millisecond)
		assert.Equal(t, http.StatusOK, postEnvelope(t, "http://"+m[2]+"/api/1/envelope/", "public", transactionEnvelope("GET /r")))
		cancel()
		require.NoError(t, <-done)
		want := `trace ` + testTraceID + ` "GET /r" 42.000ms: 1 service, 1 transaction, 2 spans, 0 errors, 0 logs` + "\n" +
			`  - "GET /r" http.server ok 42.000ms | 1 span: db` + "\n"
		if toStdout {
			out := stdout.String()
			assert.Contains(t, out, want+"totals: ", "the report comes before the totals")
			assert.NoFileExists(t, reportPath)
			continue
		}
		data, err := os.ReadFile(reportPath)
		require.NoError(t, err)
		assert.Equal(t, want, string(data))
		assert.NotContains(t, stdout.String(), "trace ")
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"-addr", "0.0.0.0:8000"}, "loopback"},
		{"public host", []string{"-addr", "example.com:8000"}, "loopback"},
		{"bad project", []string{"-addr", "127.0.0.1:0", "-project", "x"}, `project id "x"`},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"positional", []string{"extra"}, `unexpected arguments ["extra"]`},
		{"fail status", []string{"-fail-status", "200"}, "-fail-status 200"},
		{"out dir missing", []string{"-addr", "127.0.0.1:0", "-out", "/nonexistent/dir/x"}, "-out"},
		{"report dir missing", []string{"-addr", "127.0.0.1:0", "-report", "/nonexistent/dir/x"}, "-report"},
		{"negative report traces", []string{"-report-traces", "-1"}, "-report-traces -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout syncBuffer
			err := run(context.Background(), tt.args, &stdout)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, stdout.String(), "DSN:")
		})
	}
}
