// Command sendtraces sends a deterministic trace workload to a collector's OTLP/HTTP receiver, so that
// `make run` and people trying the exporter see realistic traces (HTTP, database, messaging and gRPC
// spans from five services, exceptions with stack traces) arrive in Sentry without instrumenting an app.
// It also sends the logs those services wrote while serving the traces (an access line per request, an
// error line per exception), linked to their spans, so Sentry's logs show next to the traces.
//
// It talks plain OTLP/HTTP protobuf (POST /v1/traces, then /v1/logs) so that it needs nothing beyond pdata, and it
// refuses endpoints off this machine unless -allow-remote is given: the workload is synthetic and must
// not land in a real project by a slip of the flag.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelsentry/sentryexporter/internal/workload"
)

// defaultEndpoint is the OTLP/HTTP traces path of a collector's otlp receiver on this machine.
const defaultEndpoint = "http://127.0.0.1:4318/v1/traces"

// maxResponseBytes bounds how much of a collector's answer is read; answers are tiny.
const maxResponseBytes = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "sendtraces:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	endpoint     string
	logs         bool
	logsEndpoint string
	allowRemote  bool
	traces       int
	seed         int64
	batchSize    int
	timeout      time.Duration
	headers      headerFlag
}

// headerFlag collects repeated -header "Key: value" flags.
type headerFlag []string

func (h *headerFlag) String() string { return fmt.Sprint([]string(*h)) }

func (h *headerFlag) Set(v string) error {
	*h = append(*h, v)
	return nil
}

// run is the whole command, parameterised for tests.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	opts, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	header, err := parseHeaders(opts.headers)
	if err != nil {
		return err
	}
	batches := buildBatches(opts)
	var logBatches []plog.Logs
	if opts.logs {
		logBatches = buildLogs(batches)
	}
	client := &http.Client{Timeout: opts.timeout}
	for i, td := range batches {
		if err := sendTraces(ctx, client, opts.endpoint, header, td); err != nil {
			if i == 0 {
				return err
			}
			// What went before was delivered: say so, so a rerun is not mistaken for the first send.
			return fmt.Errorf("batch %d of %d (%s delivered before it): %w", i+1, len(batches), count(batches[:i], nil), err)
		}
	}
	for i, ld := range logBatches {
		if err := sendLogs(ctx, client, opts.logsEndpoint, header, ld); err != nil {
			return fmt.Errorf("logs batch %d of %d (%s delivered before it): %w", i+1, len(logBatches), count(batches, logBatches[:i]), err)
		}
	}
	where := opts.endpoint
	if opts.logs {
		where += " and " + opts.logsEndpoint
	}
	_, _ = fmt.Fprintf(stdout, "sent to %s: %s\n", where, count(batches, logBatches))
	return nil
}

func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sendtraces", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&o.endpoint, "endpoint", defaultEndpoint, "OTLP/HTTP traces URL of the collector")
	fs.BoolVar(&o.logs, "logs", true, "also send the services' logs, linked to the traces (OTLP/HTTP logs)")
	fs.StringVar(&o.logsEndpoint, "logs-endpoint", "", "OTLP/HTTP logs URL; default: -endpoint with /v1/traces replaced by /v1/logs")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow an endpoint that is not on this machine (loopback)")
	fs.IntVar(&o.traces, "traces", 0, "number of traces to generate; 0 sends the small showcase batch (every span shape once)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the workload; equal seeds send identical data")
	fs.IntVar(&o.batchSize, "batch-size", workload.DefaultBatchSize, "spans per request when -traces > 0")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of each request")
	fs.Var(&o.headers, "header", `extra request header "Key: value" (repeatable)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.traces < 0 {
		return o, fmt.Errorf("-traces %d: must not be negative", o.traces)
	}
	if o.batchSize < 1 {
		return o, fmt.Errorf("-batch-size %d: must be at least 1", o.batchSize)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout %s: must be positive", o.timeout)
	}
	if err := checkEndpoint("-endpoint", o.endpoint, o.allowRemote); err != nil {
		return o, err
	}
	if !o.logs {
		return o, nil
	}
	if o.logsEndpoint == "" {
		base, ok := strings.CutSuffix(o.endpoint, "/v1/traces")
		if !ok {
			return o, fmt.Errorf("-endpoint %q does not end in /v1/traces: set -logs-endpoint, or -logs=false", o.endpoint)
		}
		o.logsEndpoint = base + "/v1/logs"
	}
	if err := checkEndpoint("-logs-endpoint", o.logsEndpoint, o.allowRemote); err != nil {
		return o, err
	}
	return o, nil
}

// checkEndpoint accepts an http(s) URL whose host is a loopback address, or any host with allowRemote.
// flagName is the flag the URL came from, for the error.
func checkEndpoint(flagName, raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flagName, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s %q: scheme must be http or https", flagName, raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%s %q: missing host", flagName, raw)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%s %q: host %q is not a loopback address; pass -allow-remote to send synthetic data there", flagName, raw, host)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseHeaders(raw []string) (http.Header, error) {
	h := http.Header{}
	for _, kv := range raw {
		k, v, ok := bytes.Cut([]byte(kv), []byte(":"))
		key := string(bytes.TrimSpace(k))
		if !ok || key == "" {
			return nil, fmt.Errorf(`-header %q: want "Key: value"`, kv)
		}
		h.Add(key, string(bytes.TrimSpace(v)))
	}
	return h, nil
}

// buildBatches is the workload: the showcase batch, or Generate's batches when -traces is set.
func buildBatches(o options) []ptrace.Traces {
	if o.traces == 0 {
		return []ptrace.Traces{workload.Small(o.seed)}
	}
	batches, _ := workload.Generate(workload.Config{Seed: o.seed, Traces: o.traces, BatchSize: o.batchSize})
	return batches
}

// buildLogs is the logs of each trace batch (workload.Logs), leaving out batches that wrote none.
func buildLogs(batches []ptrace.Traces) []plog.Logs {
	var out []plog.Logs
	for _, td := range batches {
		if ld := workload.Logs(td); ld.LogRecordCount() > 0 {
			out = append(out, ld)
		}
	}
	return out
}

// sendTraces posts one trace batch and checks the collector's answer, partial success included.
func sendTraces(ctx context.Context, client *http.Client, endpoint string, header http.Header, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return fmt.Errorf("encoding OTLP request of %d spans: %w", td.SpanCount(), err)
	}
	return post(ctx, client, endpoint, header, body, func(answer []byte) error {
		resp := ptraceotlp.NewExportResponse()
		if err := resp.UnmarshalProto(answer); err != nil {
			return fmt.Errorf("%q answered 200 with a body that is not an OTLP export response: %w", endpoint, err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedSpans() > 0 {
			return fmt.Errorf("%q rejected %d of %d spans: %s", endpoint, ps.RejectedSpans(), td.SpanCount(), ps.ErrorMessage())
		}
		return nil
	})
}

// sendLogs posts one logs batch and checks the collector's answer, partial success included.
func sendLogs(ctx context.Context, client *http.Client, endpoint string, header http.Header, ld plog.Logs) error {
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return fmt.Errorf("encoding OTLP request of %d logs: %w", ld.LogRecordCount(), err)
	}
	return post(ctx, client, endpoint, header, body, func(answer []byte) error {
		resp := plogotlp.NewExportResponse()
		if err := resp.UnmarshalProto(answer); err != nil {
			return fmt.Errorf("%q answered 200 with a body that is not an OTLP export response: %w", endpoint, err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedLogRecords() > 0 {
			return fmt.Errorf("%q rejected %d of %d logs: %s", endpoint, ps.RejectedLogRecords(), ld.LogRecordCount(), ps.ErrorMessage())
		}
		return nil
	})
}

// post sends one OTLP/HTTP protobuf request; check judges the body of a 200 answer.
func post(ctx context.Context, client *http.Client, endpoint string, header http.Header, body []byte, check func([]byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request to %q: %w", endpoint, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %q: %w", endpoint, err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("reading the answer of %q: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%q answered %s: %s", endpoint, resp.Status, bytes.TrimSpace(answer))
	}
	return check(answer)
}

// stats is what was sent, printed for the user and parsed by scripts/run.sh.
type stats struct {
	requests   int
	spans      int
	traces     int
	exceptions int
	logs       int
}

// count tallies requests: spans, distinct trace ids (a trace may straddle batches), span events
// named "exception" (each of which the exporter turns into one Sentry error event) and log records.
func count(batches []ptrace.Traces, logBatches []plog.Logs) stats {
	s := stats{requests: len(batches) + len(logBatches)}
	for _, ld := range logBatches {
		s.logs += ld.LogRecordCount()
	}
	seen := make(map[pcommon.TraceID]struct{})
	for _, td := range batches {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					sp := spans.At(k)
					s.spans++
					seen[sp.TraceID()] = struct{}{}
					events := sp.Events()
					for e := 0; e < events.Len(); e++ {
						if events.At(e).Name() == "exception" {
							s.exceptions++
						}
					}
				}
			}
		}
	}
	s.traces = len(seen)
	return s
}

// String is one line of key=value pairs, stable so that scripts can parse it.
func (s stats) String() string {
	return fmt.Sprintf("requests=%d spans=%d traces=%d exceptions=%d logs=%d", s.requests, s.spans, s.traces, s.exceptions, s.logs)
}
