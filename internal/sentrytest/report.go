package sentrytest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReportOptions bounds a trace report so that it stays readable on one screen.
type ReportOptions struct {
	// MaxTraces is how many traces are printed in full; the rest are counted on one line. 0 means all.
	MaxTraces int
	// CollapseAt is how many traces of the same shape (same transactions, spans, statuses, no errors and no
	// logs; durations may differ) make a group that is printed as one count line instead. 0 means 3.
	CollapseAt int
	// Width is where long messages are cut. 0 means 110 runes.
	Width int
}

// Received is what a Sentry project received, as the Server's accessors return it.
type Received struct {
	Transactions []Transaction
	Errors       []ErrorEvent
	Logs         []Log
	// OTLPSpans are the spans received at the OTLP traces endpoint (the otlp protocol).
	OTLPSpans []OTLPSpan
}

// Received returns everything the server accepted so far, for WriteTraceReport.
func (s *Server) Received() Received {
	return Received{Transactions: s.Transactions(), Errors: s.Errors(), Logs: s.Logs(), OTLPSpans: s.OTLPSpans()}
}

// WriteTraceReport writes what was received the way a person looks at it in Sentry: one block per trace,
// its transactions nested as their services called each other, each with its child spans summarised by op
// and, under it, the error events and logs that point at its spans (logs at info and below are counted on
// the transaction's line, warnings and errors listed). Traces of one repeated trivial shape
// (a load generator's) become one count line. The output is stable: traces with errors come first, each
// group ordered by start time, then trace id, and nothing depends on map iteration order or arrival order.
func WriteTraceReport(w io.Writer, r Received, opts ReportOptions) error {
	opts.CollapseAt = cmp.Or(opts.CollapseAt, 3)
	opts.Width = cmp.Or(opts.Width, 110)
	var b strings.Builder
	traces := groupTraces(r)
	shapes := map[string][]*reportTrace{}
	for _, t := range traces {
		if t.shape != "" {
			shapes[t.shape] = append(shapes[t.shape], t)
		}
	}
	shown, skipped, skippedErrors := 0, 0, 0
	var logsOnly []*reportTrace
	for _, t := range traces {
		if len(t.roots) == 0 && len(t.errors) == 0 && t.otlp.spans == 0 {
			logsOnly = append(logsOnly, t)
			continue
		}
		same := shapes[t.shape]
		collapse := t.shape != "" && len(same) >= opts.CollapseAt
		if collapse && same[0] != t {
			continue // the group was printed at its first trace
		}
		if opts.MaxTraces > 0 && shown >= opts.MaxTraces {
			skipped++
			skippedErrors += len(t.allErrors())
			if collapse {
				skipped += len(same) - 1
			}
			continue
		}
		shown++
		if collapse {
			writeShapeGroup(&b, same)
			continue
		}
		writeTrace(&b, t, opts.Width)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "... %d more traces (%d error events) not shown\n", skipped, skippedErrors)
	}
	if len(logsOnly) > 0 {
		var logs []Log
		for _, t := range logsOnly {
			logs = append(logs, t.logs...)
		}
		fmt.Fprintf(&b, "logs of traces without transactions or errors: %d (%s)\n", len(logs), levelCounts(logs))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing trace report: %w", err)
	}
	return nil
}

// reportTrace is one trace id and everything that arrived for it.
type reportTrace struct {
	id     string
	start  Timestamp
	end    Timestamp
	roots  []*reportTx // transactions whose parent span is in no transaction received
	txs    int
	spans  int
	errors []ErrorEvent // not linked to a span of any transaction
	logs   []Log        // not linked to a span of any transaction
	shape  string       // empty when the trace cannot be collapsed (it has errors or logs)
	otlp   otlpCounts   // spans that came by OTLP
}

// otlpCounts sums up the spans of a trace that came to the OTLP endpoint: Sentry assembles them into
// segments itself, so the report counts them rather than nesting them.
type otlpCounts struct {
	spans, errors int
	services      map[string]bool
}

// reportTx is one transaction with what belongs under it.
type reportTx struct {
	tx       Transaction
	service  string
	children []*reportTx
	errors   []ErrorEvent
	logs     []Log
}

// errorRank orders traces with errors (0) before the others (1).
func (t *reportTrace) errorRank() int {
	if len(t.allErrors()) > 0 {
		return 0
	}
	return 1
}

func (t *reportTrace) allErrors() []ErrorEvent {
	errs := slices.Clone(t.errors)
	var walk func([]*reportTx)
	walk = func(txs []*reportTx) {
		for _, x := range txs {
			errs = append(errs, x.errors...)
			walk(x.children)
		}
	}
	walk(t.roots)
	return errs
}

func groupTraces(r Received) []*reportTrace {
	byID := map[string]*reportTrace{}
	get := func(id string) *reportTrace {
		t := byID[id]
		if t == nil {
			t = &reportTrace{id: id}
			byID[id] = t
		}
		return t
	}
	txsOf := map[string][]*reportTx{}
	for _, tx := range r.Transactions {
		id := tx.Trace().TraceID
		txsOf[id] = append(txsOf[id], &reportTx{tx: tx, service: serviceOf(tx.Tags, tx.Release, tx.ServerName)})
		t := get(id)
		t.txs++
		t.spans += len(tx.Spans) + 1
		t.widen(tx.StartTimestamp, tx.Timestamp)
	}
	for id, txs := range txsOf {
		get(id).roots = nestTransactions(txs)
	}
	// owner maps each span id of a trace to the transaction that holds it.
	owner := map[string]map[string]*reportTx{}
	for id, txs := range txsOf {
		m := map[string]*reportTx{}
		for _, x := range txs {
			m[x.tx.Trace().SpanID] = x
			for _, sp := range x.tx.Spans {
				m[sp.SpanID] = x
			}
		}
		owner[id] = m
	}
	for _, sp := range r.OTLPSpans {
		t := get(sp.TraceID)
		t.otlp.spans++
		if sp.Status == "error" {
			t.otlp.errors++
		}
		if t.otlp.services == nil {
			t.otlp.services = map[string]bool{}
		}
		service, _ := sp.Resource["service.name"].(string)
		t.otlp.services[service] = true
		t.widen(sp.Start, sp.End)
	}
	for _, ev := range r.Errors {
		tc := ev.Trace()
		t := get(tc.TraceID)
		t.widen(ev.Timestamp, ev.Timestamp)
		if x := owner[tc.TraceID][tc.SpanID]; x != nil {
			x.errors = append(x.errors, ev)
			continue
		}
		t.errors = append(t.errors, ev)
	}
	for _, lg := range r.Logs {
		t := get(lg.TraceID)
		t.widen(lg.Timestamp, lg.Timestamp)
		if x := owner[lg.TraceID][lg.SpanID]; x != nil {
			x.logs = append(x.logs, lg)
			continue
		}
		t.logs = append(t.logs, lg)
	}
	traces := make([]*reportTrace, 0, len(byID))
	for _, t := range byID {
		sortTrace(t)
		t.shape = shapeOf(t)
		traces = append(traces, t)
	}
	// Traces with errors first: when MaxTraces cuts the list, those are the ones worth reading.
	slices.SortFunc(traces, func(a, c *reportTrace) int {
		return cmp.Or(cmp.Compare(a.errorRank(), c.errorRank()), cmp.Compare(a.start, c.start), strings.Compare(a.id, c.id))
	})
	return traces
}

func (t *reportTrace) widen(start, end Timestamp) {
	if t.start == 0 || start < t.start {
		t.start = start
	}
	if end > t.end {
		t.end = end
	}
}

// nestTransactions puts each transaction under the transaction that holds its parent span (a service
// calling another); the rest are roots. A parent cycle, which a well-formed trace cannot have, leaves the
// transactions of the cycle as roots rather than losing them.
func nestTransactions(txs []*reportTx) []*reportTx {
	holder := map[string]*reportTx{}
	for _, x := range txs {
		holder[x.tx.Trace().SpanID] = x
		for _, sp := range x.tx.Spans {
			holder[sp.SpanID] = x
		}
	}
	parentOf := map[*reportTx]*reportTx{}
	for _, x := range txs {
		if p := holder[x.tx.Trace().ParentSpanID]; p != nil && p != x {
			parentOf[x] = p
		}
	}
	var roots []*reportTx
	for _, x := range txs {
		p, seen := parentOf[x], map[*reportTx]bool{x: true}
		for p != nil && !seen[p] {
			seen[p] = true
			p = parentOf[p]
		}
		if p != nil { // a cycle: break it here
			delete(parentOf, x)
		}
		if q := parentOf[x]; q != nil {
			q.children = append(q.children, x)
		} else {
			roots = append(roots, x)
		}
	}
	return roots
}

func sortTrace(t *reportTrace) {
	byStart := func(a, c *reportTx) int {
		return cmp.Or(cmp.Compare(a.tx.StartTimestamp, c.tx.StartTimestamp), strings.Compare(a.tx.EventID, c.tx.EventID))
	}
	var walk func([]*reportTx)
	walk = func(txs []*reportTx) {
		slices.SortFunc(txs, byStart)
		for _, x := range txs {
			sortErrors(x.errors)
			sortLogs(x.logs)
			walk(x.children)
		}
	}
	walk(t.roots)
	sortErrors(t.errors)
	sortLogs(t.logs)
}

func sortErrors(errs []ErrorEvent) {
	slices.SortFunc(errs, func(a, c ErrorEvent) int {
		return cmp.Or(cmp.Compare(a.Timestamp, c.Timestamp), strings.Compare(a.EventID, c.EventID))
	})
}

func sortLogs(logs []Log) {
	slices.SortStableFunc(logs, func(a, c Log) int {
		return cmp.Or(cmp.Compare(a.Timestamp, c.Timestamp), strings.Compare(a.Body, c.Body))
	})
}

// shapeOf is what two traces of a load generator have in common: the nested transactions with their
// services, names, ops, statuses and child span ops. Traces with errors or logs have no shape: each is
// worth reading.
func shapeOf(t *reportTrace) string {
	if len(t.roots) == 0 || len(t.errors) > 0 || len(t.logs) > 0 {
		return ""
	}
	var b strings.Builder
	ok := true
	var walk func([]*reportTx, int)
	walk = func(txs []*reportTx, depth int) {
		for _, x := range txs {
			if len(x.errors) > 0 || len(x.logs) > 0 {
				ok = false
				return
			}
			tc := x.tx.Trace()
			fmt.Fprintf(&b, "%d|%s|%s|%s|%s|%s\n", depth, x.service, x.tx.Transaction, tc.Op, tc.Status, spanSummary(x.tx.Spans))
			walk(x.children, depth+1)
		}
	}
	walk(t.roots, 0)
	if !ok {
		return ""
	}
	return b.String()
}

func writeShapeGroup(b *strings.Builder, same []*reportTrace) {
	first := same[0]
	minD, maxD := first.end-first.start, first.end-first.start
	for _, t := range same[1:] {
		d := t.end - t.start
		minD, maxD = min(minD, d), max(maxD, d)
	}
	root := first.roots[0]
	durations := formatDuration(seconds(minD))
	if longest := formatDuration(seconds(maxD)); longest != durations {
		durations += " to " + longest
	}
	fmt.Fprintf(b, "%d traces like %s %q: %s, no errors or logs, %s each\n",
		len(same), orDash(root.service), root.tx.Transaction, countsOf(first), durations)
}

func countsOf(t *reportTrace) string {
	return plural(t.txs, "transaction") + ", " + plural(t.spans, "span")
}

func writeTrace(b *strings.Builder, t *reportTrace, width int) {
	services := map[string]bool{}
	nLogs := len(t.logs)
	var walk func([]*reportTx)
	walk = func(txs []*reportTx) {
		for _, x := range txs {
			services[x.service] = true
			nLogs += len(x.logs)
			walk(x.children)
		}
	}
	walk(t.roots)
	counts := plural(len(t.allErrors()), "error") + ", " + plural(nLogs, "log")
	switch {
	case len(t.roots) == 0 && t.otlp.spans > 0:
		fmt.Fprintf(b, "trace %s (OTLP) %s: %s, %s (%d with error status), %s\n", t.id, formatDuration(seconds(t.end-t.start)),
			plural(len(t.otlp.services), "service"), plural(t.otlp.spans, "span"), t.otlp.errors, counts)
	case len(t.roots) == 0:
		fmt.Fprintf(b, "trace %s (no transaction received): %s\n", t.id, counts)
	default:
		fmt.Fprintf(b, "trace %s %q %s: %s, %s, %s\n", t.id, t.roots[0].tx.Transaction, formatDuration(seconds(t.end-t.start)),
			plural(len(services), "service"), countsOf(t), counts)
	}
	for _, x := range t.roots {
		writeTx(b, x, 1, width)
	}
	for _, ev := range t.errors {
		writeErrorLine(b, ev, 1, width, "")
	}
	for _, lg := range t.logs {
		writeLogLine(b, lg, 1, width)
	}
}

// isQuiet says whether a transaction's line counts logs of this level rather than listing them.
func isQuiet(level string) bool {
	switch level {
	case "trace", "debug", "info":
		return true
	}
	return false
}

// writeTx writes a transaction's line (service, name, op, status, duration, child spans by op, quiet logs by
// level), its error events and its other logs, then the transactions it called.
func writeTx(b *strings.Builder, x *reportTx, depth int, width int) {
	tc := x.tx.Trace()
	indent := strings.Repeat("  ", depth)
	fmt.Fprintf(b, "%s%s %q %s %s %s", indent, orDash(x.service), x.tx.Transaction, orDash(tc.Op), orDash(tc.Status), formatDuration(x.tx.Duration()))
	if len(x.tx.Spans) > 0 {
		fmt.Fprintf(b, " | %s", spanSummary(x.tx.Spans))
	}
	// Logs at info and below are counted on the transaction's line; warnings and worse are listed.
	var listed, counted []Log
	for _, lg := range x.logs {
		if isQuiet(lg.Level) {
			counted = append(counted, lg)
		} else {
			listed = append(listed, lg)
		}
	}
	if len(counted) > 0 {
		fmt.Fprintf(b, " | logs: %s", levelCounts(counted))
	}
	b.WriteString("\n")
	for _, ev := range x.errors {
		writeErrorLine(b, ev, depth+1, width, x.spanName(ev.Trace().SpanID))
	}
	for _, lg := range listed {
		writeLogLine(b, lg, depth+1, width)
	}
	for _, c := range x.children {
		writeTx(b, c, depth+1, width)
	}
}

// spanSummary is a transaction's child spans by op, most frequent first: "3 spans: db x2, http.client".
func spanSummary(spans []Span) string {
	counts := map[string]int{}
	for _, sp := range spans {
		counts[orDash(sp.Op)]++
	}
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, c string) int { return cmp.Or(cmp.Compare(counts[c], counts[a]), strings.Compare(a, c)) })
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = op
		if n := counts[op]; n > 1 {
			parts[i] += " x" + strconv.Itoa(n)
		}
	}
	return plural(len(spans), "span") + ": " + strings.Join(parts, ", ")
}

// spanName is the description of the child span id of x, or "" for x's own root span or an unknown id.
func (x *reportTx) spanName(id string) string {
	for _, sp := range x.tx.Spans {
		if sp.SpanID == id {
			return cmp.Or(sp.Description, sp.Op, id)
		}
	}
	return ""
}

// writeErrorLine writes an error event: its exception, then its newest in-app frame, the span it happened in
// when that is a child span rather than the transaction's own, and how many frames and chained exceptions.
func writeErrorLine(b *strings.Builder, ev ErrorEvent, depth int, width int, span string) {
	indent := strings.Repeat("  ", depth)
	line := "error"
	var main *Exception
	if ev.Exception != nil && len(ev.Exception.Values) > 0 {
		main = &ev.Exception.Values[len(ev.Exception.Values)-1]
		line += " " + orDash(main.Type) + ": " + main.Value
	} else {
		msg := ev.Message
		if msg == "" && ev.LogEntry != nil {
			msg = cmp.Or(ev.LogEntry.Formatted, ev.LogEntry.Message)
		}
		line += " " + strconv.Quote(msg)
	}
	b.WriteString(indent + "! " + cut(line, width) + "\n")
	if main != nil && main.Stacktrace != nil && len(main.Stacktrace.Frames) > 0 {
		f := topFrame(main.Stacktrace.Frames)
		at := fmt.Sprintf("at %s (%s:%d)", qualifiedFunction(f), cmp.Or(f.Filename, f.AbsPath, "?"), f.Lineno)
		if span != "" {
			at += " in span " + strconv.Quote(cut(span, 40))
		}
		at += ", " + plural(len(main.Stacktrace.Frames), "frame")
		if n := len(ev.Exception.Values) - 1; n > 0 {
			at += ", " + plural(n, "chained exception")
		}
		b.WriteString(indent + "    " + cut(at, width) + "\n")
	}
}

// topFrame is the newest frame of the application's own code, else the newest frame.
func topFrame(frames []Frame) Frame {
	for i := len(frames) - 1; i >= 0; i-- {
		if f := frames[i]; f.InApp != nil && *f.InApp {
			return f
		}
	}
	return frames[len(frames)-1]
}

func writeLogLine(b *strings.Builder, lg Log, depth int, width int) {
	line := fmt.Sprintf("log %-5s %s", lg.Level, lg.Body)
	b.WriteString(strings.Repeat("  ", depth) + cut(line, width) + "\n")
}

func levelCounts(logs []Log) string {
	counts := map[string]int{}
	for _, lg := range logs {
		counts[lg.Level]++
	}
	levels := make([]string, 0, len(counts))
	for l := range counts {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	parts := make([]string, len(levels))
	for i, l := range levels {
		parts[i] = l + " " + strconv.Itoa(counts[l])
	}
	return strings.Join(parts, ", ")
}

// serviceOf names the service of an event: its service.name tag, else the release's package, else the
// server name.
func serviceOf(tags Tags, release, serverName string) string {
	if s := tags["service.name"]; s != "" {
		return s
	}
	if pkg, _, ok := strings.Cut(release, "@"); ok && pkg != "" {
		return pkg
	}
	return serverName
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// cut shortens s to width runes, marking the cut with an ellipsis.
func cut(s string, width int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}
