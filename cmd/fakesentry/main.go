// Command fakesentry runs the fake Sentry ingestion server on a loopback address so users can point an
// exporter (or any Sentry SDK) at its DSN and see what Sentry would receive, item by item: envelopes, and
// OTLP traces and logs at the project's OTLP endpoints (/api/<project>/integration/otlp/v1/...).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "fakesentry:", err)
		os.Exit(1)
	}
}

// run is the whole command, parameterised for tests: it serves until ctx ends and then prints totals.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fakesentry", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8000", "loopback host:port to listen on (port 0 picks a free one)")
	project := fs.String("project", sentrytest.DefaultProjectID, "project id of the DSN")
	key := fs.String("key", sentrytest.DefaultPublicKey, "public key of the DSN")
	prefix := fs.String("prefix", "", "path prefix of the DSN, like a self-hosted Sentry under a sub-path")
	outPath := fs.String("out", "", "also write every accepted envelope to this file as JSON lines")
	quiet := fs.Bool("quiet", false, "do not print a summary per received item")
	reportPath := fs.String("report", "", "on exit, write a report per trace (transactions nested, with their errors and logs) to this file; - for stdout")
	reportMax := fs.Int("report-traces", 12, "traces the report shows in full (0: all); the rest are counted")
	failEvery := fs.Int("fail-every", 0, "inject a failure into every n-th envelope request (0: never)")
	failStatus := fs.Int("fail-status", 503, "status of injected failures; 429 also sends rate-limit headers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := sentrytest.CheckLoopback(*addr); err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if *reportMax < 0 {
		return fmt.Errorf("-report-traces %d: must not be negative", *reportMax)
	}
	if *failStatus < 400 || *failStatus > 599 {
		return fmt.Errorf("-fail-status %d: must be 4xx or 5xx", *failStatus)
	}

	// The report file is created now so that a bad path fails before anything is received.
	var report *os.File
	if *reportPath != "" && *reportPath != "-" {
		f, err := os.Create(*reportPath)
		if err != nil {
			return fmt.Errorf("-report: %w", err)
		}
		report = f
	}
	var out *os.File
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			if report != nil {
				_ = report.Close()
			}
			return fmt.Errorf("-out: %w", err)
		}
		out = f
	}
	rec := &recorder{stdout: stdout, quiet: *quiet}
	if out != nil { // a nil *os.File must not become a non-nil io.Writer
		rec.out = out
	}
	opts := []sentrytest.Option{
		sentrytest.WithAddr(*addr), sentrytest.WithProjectID(*project), sentrytest.WithPublicKey(*key),
		sentrytest.WithPathPrefix(*prefix), sentrytest.WithOnReceive(rec.receive),
	}
	if *failEvery > 0 {
		fault := sentrytest.Status(*failStatus)
		if *failStatus == 429 {
			fault = sentrytest.RateLimited(60)
		}
		opts = append(opts, sentrytest.WithFaults(sentrytest.EveryNth(*failEvery, fault)))
	}
	srv, err := sentrytest.New(opts...)
	if err != nil {
		if out != nil {
			_ = out.Close()
		}
		if report != nil {
			_ = report.Close()
		}
		return err
	}
	rec.printf("fakesentry listening on %s\nDSN: %s\n", srv.Addr(), srv.DSN())
	<-ctx.Done()
	closeErr := srv.Close()
	reportErr := writeReport(*reportPath, report, rec, srv.Received(), sentrytest.ReportOptions{MaxTraces: *reportMax})
	rec.printf("totals: transactions=%d spans=%d otlp_spans=%d errors=%d logs=%d otlp_logs=%d client_reports=%d discarded=%d requests=%d rejected=%d faults=%d\n",
		len(srv.Transactions()), srv.SpanCount(), len(srv.OTLPSpans()), len(srv.Errors()), len(srv.Logs()), len(srv.OTLPLogs()),
		len(srv.ClientReports()), len(srv.Discarded()), srv.Requests(), len(srv.Rejections()), srv.Faults())
	var outErr error
	if out != nil {
		outErr = out.Close()
	}
	return errors.Join(closeErr, reportErr, rec.err, outErr)
}

// writeReport writes the per-trace report to file, or to stdout when path is "-" (nowhere when path is "").
func writeReport(path string, file *os.File, rec *recorder, r sentrytest.Received, opts sentrytest.ReportOptions) error {
	switch {
	case path == "-":
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return sentrytest.WriteTraceReport(rec.stdout, r, opts)
	case file != nil:
		err := sentrytest.WriteTraceReport(file, r, opts)
		return errors.Join(err, file.Close())
	}
	return nil
}

// recorder prints and stores batches; the server calls it concurrently, so it serialises output.
type recorder struct {
	mu     sync.Mutex
	stdout io.Writer
	out    io.Writer
	quiet  bool
	err    error
}

func (r *recorder) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = fmt.Fprintf(r.stdout, format, args...)
}

// jsonLine is one line of the -out file: an accepted envelope with readable payloads.
type jsonLine struct {
	Seq        int             `json:"seq"`
	ReceivedAt time.Time       `json:"received_at"`
	Header     json.RawMessage `json:"header"`
	Items      []jsonItem      `json:"items"`
	Discarded  []jsonDiscarded `json:"discarded,omitempty"`
	// OTLPSpans and OTLPLogs count what a request to an OTLP endpoint delivered (it has no header).
	OTLPSpans int `json:"otlp_spans,omitempty"`
	OTLPLogs  int `json:"otlp_logs,omitempty"`
}

// jsonDiscarded says why an item was dropped after the 200; its payload is already in Items.
type jsonDiscarded struct {
	ItemType string `json:"item_type"`
	EventID  string `json:"event_id,omitempty"`
	Reason   string `json:"reason"`
}

type jsonItem struct {
	Header json.RawMessage `json:"header"`
	// Payload is the payload itself when it is JSON, else a JSON string of its bytes.
	Payload json.RawMessage `json:"payload"`
}

func (r *recorder) receive(b sentrytest.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.quiet {
		if err := sentrytest.Summarize(r.stdout, b); err != nil && r.err == nil {
			r.err = err
		}
	}
	if r.out == nil {
		return
	}
	line := jsonLine{Seq: b.Seq, ReceivedAt: time.Now().UTC(), Header: b.Envelope.RawHeader, OTLPSpans: len(b.OTLPSpans), OTLPLogs: len(b.OTLPLogs)}
	for _, d := range b.Discarded {
		line.Discarded = append(line.Discarded, jsonDiscarded{ItemType: d.ItemType, EventID: d.EventID, Reason: d.Reason})
	}
	for _, it := range b.Envelope.Items {
		payload := json.RawMessage(it.Payload)
		if !json.Valid(payload) {
			payload, _ = json.Marshal(string(it.Payload))
		}
		line.Items = append(line.Items, jsonItem{Header: it.RawHeader, Payload: payload})
	}
	enc, err := json.Marshal(line)
	if err == nil {
		_, err = r.out.Write(append(enc, '\n'))
	}
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("writing -out: %w", err)
	}
}
