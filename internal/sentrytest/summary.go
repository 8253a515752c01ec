package sentrytest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxSummaryFrames is how many frames (newest first) an error summary shows.
const maxSummaryFrames = 5

// Summarize writes a human-readable summary of each item: a Transaction (name, op, status, duration,
// environment/release and the span tree indented by parent), an ErrorEvent (type, message, top frames,
// trace link), a Log, a ClientReport, a Discarded entry, an Envelope (header and item list) or a Batch
// (everything in it); slices of these work too. The output is stable: no map iteration order leaks.
func Summarize(w io.Writer, items ...any) error {
	var b strings.Builder
	for _, item := range items {
		if err := summarizeInto(&b, item); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	return nil
}

func summarizeInto(b *strings.Builder, item any) error {
	switch v := item.(type) {
	case Transaction:
		summarizeTransaction(b, v)
	case *Transaction:
		summarizeTransaction(b, *v)
	case []Transaction:
		for _, x := range v {
			summarizeTransaction(b, x)
		}
	case ErrorEvent:
		summarizeError(b, v)
	case *ErrorEvent:
		summarizeError(b, *v)
	case []ErrorEvent:
		for _, x := range v {
			summarizeError(b, x)
		}
	case Log:
		summarizeLog(b, v)
	case []Log:
		for _, x := range v {
			summarizeLog(b, x)
		}
	case ClientReport:
		summarizeClientReport(b, v)
	case []ClientReport:
		for _, x := range v {
			summarizeClientReport(b, x)
		}
	case Discarded:
		summarizeDiscarded(b, v)
	case []Discarded:
		for _, x := range v {
			summarizeDiscarded(b, x)
		}
	case Envelope:
		summarizeEnvelope(b, v)
	case Batch:
		summarizeBatch(b, v)
	default:
		return fmt.Errorf("summarize: unsupported type %T", item)
	}
	return nil
}

func summarizeTransaction(b *strings.Builder, tx Transaction) {
	tc := tx.Trace()
	fmt.Fprintf(b, "transaction %q", tx.Transaction)
	if tx.TransactionInfo != nil && tx.TransactionInfo.Source != "" {
		fmt.Fprintf(b, " source=%s", tx.TransactionInfo.Source)
	}
	fmt.Fprintf(b, " op=%s status=%s duration=%s", orDash(tc.Op), orDash(tc.Status), formatDuration(tx.Duration()))
	writeOpt(b, "environment", tx.Environment)
	writeOpt(b, "release", tx.Release)
	fmt.Fprintf(b, " spans=%d\n", len(tx.Spans)+1)
	fmt.Fprintf(b, "  trace_id=%s event_id=%s\n", tc.TraceID, tx.EventID)

	children := make(map[string][]Span)
	known := map[string]bool{tc.SpanID: true}
	for _, sp := range tx.Spans {
		children[sp.ParentSpanID] = append(children[sp.ParentSpanID], sp)
		known[sp.SpanID] = true
	}
	for k := range children {
		slices.SortStableFunc(children[k], func(a, c Span) int {
			return cmp.Or(cmp.Compare(a.StartTimestamp, c.StartTimestamp), strings.Compare(a.SpanID, c.SpanID))
		})
	}
	fmt.Fprintf(b, "  - %s %q %s %s [%s]\n", orDash(tc.Op), tx.Transaction, orDash(tc.Status), formatDuration(tx.Duration()), tc.SpanID)
	visited := map[string]bool{tc.SpanID: true}
	writeSpanTree(b, children, tc.SpanID, 2, visited)
	// Spans not reached from the root are shown last, flagged: first those whose parent never arrived,
	// then any left over (parent cycles).
	var rest []Span
	for _, sp := range tx.Spans {
		if !visited[sp.SpanID] {
			rest = append(rest, sp)
		}
	}
	slices.SortStableFunc(rest, func(a, c Span) int { return strings.Compare(a.SpanID, c.SpanID) })
	for pass := 0; pass < 2; pass++ {
		for _, sp := range rest {
			if visited[sp.SpanID] || (pass == 0 && known[sp.ParentSpanID]) {
				continue
			}
			visited[sp.SpanID] = true
			fmt.Fprintf(b, "  ! orphan (parent %s): ", orDash(sp.ParentSpanID))
			writeSpanLine(b, sp)
			writeSpanTree(b, children, sp.SpanID, 3, visited)
		}
	}
}

func writeSpanTree(b *strings.Builder, children map[string][]Span, parent string, depth int, visited map[string]bool) {
	for _, sp := range children[parent] {
		if visited[sp.SpanID] {
			continue
		}
		visited[sp.SpanID] = true
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString("- ")
		writeSpanLine(b, sp)
		writeSpanTree(b, children, sp.SpanID, depth+1, visited)
	}
}

func writeSpanLine(b *strings.Builder, sp Span) {
	fmt.Fprintf(b, "%s %q %s %s [%s]\n", orDash(sp.Op), sp.Description, orDash(sp.Status), formatDuration(sp.Duration()), sp.SpanID)
}

func summarizeError(b *strings.Builder, ev ErrorEvent) {
	fmt.Fprintf(b, "error [%s]", orDash(ev.Level))
	var main *Exception
	if ev.Exception != nil && len(ev.Exception.Values) > 0 {
		// Sentry lists chained exceptions oldest first; the last one is the one the issue is about.
		main = &ev.Exception.Values[len(ev.Exception.Values)-1]
		fmt.Fprintf(b, " %s: %s", orDash(main.Type), main.Value)
		if m := main.Mechanism; m != nil {
			fmt.Fprintf(b, " (mechanism=%s", orDash(m.Type))
			if m.Handled != nil {
				fmt.Fprintf(b, " handled=%t", *m.Handled)
			}
			b.WriteString(")")
		}
	} else {
		msg := ev.Message
		if msg == "" && ev.LogEntry != nil {
			msg = cmp.Or(ev.LogEntry.Formatted, ev.LogEntry.Message)
		}
		fmt.Fprintf(b, " %q", msg)
	}
	writeOpt(b, "transaction", ev.Transaction)
	writeOpt(b, "environment", ev.Environment)
	writeOpt(b, "release", ev.Release)
	b.WriteString("\n")
	tc := ev.Trace()
	fmt.Fprintf(b, "  trace_id=%s span_id=%s event_id=%s\n", orDash(tc.TraceID), orDash(tc.SpanID), ev.EventID)
	if main != nil && main.Stacktrace != nil {
		frames := main.Stacktrace.Frames
		for i := len(frames) - 1; i >= 0 && i >= len(frames)-maxSummaryFrames; i-- {
			f := frames[i]
			fmt.Fprintf(b, "  at %s (%s:%d)\n", qualifiedFunction(f), cmp.Or(f.Filename, f.AbsPath, "?"), f.Lineno)
		}
		if len(frames) > maxSummaryFrames {
			fmt.Fprintf(b, "  ... %d more frames\n", len(frames)-maxSummaryFrames)
		}
	}
	if ev.Exception != nil {
		for i := len(ev.Exception.Values) - 2; i >= 0; i-- {
			x := ev.Exception.Values[i]
			fmt.Fprintf(b, "  chained: %s: %s\n", orDash(x.Type), x.Value)
		}
	}
}

func qualifiedFunction(f Frame) string {
	fn := cmp.Or(f.Function, "?")
	if mod := cmp.Or(f.Module, f.Package); mod != "" {
		return mod + "." + fn
	}
	return fn
}

func summarizeLog(b *strings.Builder, lg Log) {
	fmt.Fprintf(b, "log [%s] %s %q trace_id=%s", lg.Level, lg.Timestamp.Time().Format(time.RFC3339Nano), lg.Body, lg.TraceID)
	writeOpt(b, "span_id", lg.SpanID)
	keys := make([]string, 0, len(lg.Attributes))
	for k := range lg.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := lg.Attributes[k]
		if s, ok := a.Value.(string); ok {
			fmt.Fprintf(b, " %s=%q", k, s)
			continue
		}
		fmt.Fprintf(b, " %s=%v", k, a.Value)
	}
	b.WriteString("\n")
}

func summarizeClientReport(b *strings.Builder, cr ClientReport) {
	b.WriteString("client_report")
	lines := slices.Clone(cr.DiscardedEvents)
	slices.SortStableFunc(lines, func(x, y DiscardedEvents) int {
		return cmp.Or(strings.Compare(x.Reason, y.Reason), strings.Compare(x.Category, y.Category))
	})
	for _, d := range lines {
		fmt.Fprintf(b, " %s/%s=%d", d.Reason, d.Category, d.Quantity)
	}
	b.WriteString("\n")
}

func summarizeDiscarded(b *strings.Builder, d Discarded) {
	fmt.Fprintf(b, "discarded %s", d.ItemType)
	writeOpt(b, "event_id", d.EventID)
	fmt.Fprintf(b, ": %s\n", d.Reason)
}

func summarizeEnvelope(b *strings.Builder, env Envelope) {
	fmt.Fprintf(b, "envelope event_id=%s items=%d", orDash(env.Header.EventID), len(env.Items))
	if env.Header.Trace != nil {
		fmt.Fprintf(b, " trace_id=%s sampled=%s", env.Header.Trace.TraceID, orDash(env.Header.Trace.Sampled))
	}
	b.WriteString("\n")
	for _, it := range env.Items {
		fmt.Fprintf(b, "  item %s bytes=%d", it.Type, len(it.Payload))
		if it.ItemCount != nil {
			fmt.Fprintf(b, " item_count=%d", *it.ItemCount)
		}
		b.WriteString("\n")
	}
}

func summarizeBatch(b *strings.Builder, batch Batch) {
	for _, tx := range batch.Transactions {
		summarizeTransaction(b, tx)
	}
	for _, ev := range batch.Errors {
		summarizeError(b, ev)
	}
	for _, lg := range batch.Logs {
		summarizeLog(b, lg)
	}
	for _, cr := range batch.ClientReports {
		summarizeClientReport(b, cr)
	}
	if n := len(batch.StandaloneSpans); n > 0 {
		fmt.Fprintf(b, "spans standalone=%d\n", n)
	}
	for _, it := range batch.Envelope.Items {
		switch it.Type {
		case "transaction", "event", "log", "client_report", "span":
		default:
			fmt.Fprintf(b, "item %s bytes=%d (not decoded)\n", it.Type, len(it.Payload))
		}
	}
	for _, d := range batch.Discarded {
		summarizeDiscarded(b, d)
	}
	summarizeOTLP(b, batch)
}

// summarizeOTLP writes one line per OTLP request: how many spans (and of how many traces, with how many
// error statuses) or log records it delivered. Span events are not shown: Relay drops them.
func summarizeOTLP(b *strings.Builder, batch Batch) {
	if n := len(batch.OTLPSpans); n > 0 {
		traces := map[string]bool{}
		errors := 0
		for _, sp := range batch.OTLPSpans {
			traces[sp.TraceID] = true
			if sp.Status == "error" {
				errors++
			}
		}
		fmt.Fprintf(b, "otlp traces traces=%d errors=%d spans=%d\n", len(traces), errors, n)
	}
	if n := len(batch.OTLPLogs); n > 0 {
		fmt.Fprintf(b, "otlp logs records=%d\n", n)
	}
}

func writeOpt(b *strings.Builder, key, value string) {
	if value != "" {
		b.WriteString(" " + key + "=" + value)
	}
}

func orDash(s string) string { return cmp.Or(s, "-") }

// formatDuration prints milliseconds with microsecond precision, independent of magnitude.
func formatDuration(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) + "ms"
}
