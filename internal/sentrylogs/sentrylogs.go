// Package sentrylogs turns OpenTelemetry log records into Sentry Logs: the JSON payload of Sentry's "log"
// envelope item (content type application/vnd.sentry.items.log+json), batched the way Sentry accepts it. It is
// a pure function of pdata: the caller wraps each Batch in an envelope and sends it.
//
// docs/logs.md is the field-by-field reference of the mapping and of the limits applied.
package sentrylogs

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Limits. Relay (Sentry's ingestion) rejects a whole envelope with 413 when its log item holds more than 12 MiB
// or its logs average more than max_log_size (2 MiB by default; sentry.io may set less), and drops single logs
// over max_log_size after parsing. Logs are also billed by size. These limits keep every log and every batch
// well inside what Relay takes, by cutting the few oversized values instead of losing whole records.
const (
	// MaxPerItem is the number of logs in one envelope item: the batch size Sentry's SDKs flush at.
	MaxPerItem = 100
	// MaxBodyBytes caps the body text (UTF-8 bytes). A longer body is cut at a character boundary and ends in
	// "…". 64 KiB holds any real log message and keeps 100 logs far below the 12 MiB item limit.
	MaxBodyBytes = 64 << 10
	// MaxAttributeValueBytes caps each string attribute value (including maps, arrays and bytes rendered as
	// text); 32 KiB keeps most stack traces whole.
	MaxAttributeValueBytes = 32 << 10
	// MaxAttributeKeyBytes is the longest attribute key kept; longer keys are left out, since cutting them could
	// make two keys collide.
	MaxAttributeKeyBytes = 256
	// MaxAttributes is the most attributes one log carries, the sentry.* ones included (OpenTelemetry SDKs
	// default to 128 per record as well).
	MaxAttributes = 128
	// MaxLogBytes caps one encoded log. Attributes that would take it past this are left out. Half of Relay's
	// default per-log limit, equal to Sentry's event size limit.
	MaxLogBytes = 1 << 20
	// MaxPayloadBytes caps one batch's payload; a batch is closed early rather than exceed it. Relay's limit for
	// the item is 12 MiB.
	MaxPayloadBytes = 8 << 20
)

// Origin is the sentry.origin of every log: Sentry's convention for logs captured from a logging integration
// is "auto.log.<integration>", and here the integration is the OpenTelemetry Collector.
const Origin = "auto.log.otel_collector"

// Options are what the conversion needs beyond the logs.
type Options struct {
	// Environment is the default environment, for resources that name none.
	Environment string
	// Now is the time given to records that carry neither a timestamp nor an observed timestamp. Zero means
	// the time Convert is called; tests set it to stay deterministic.
	Now time.Time
}

// Batch is one envelope's worth of logs: at most MaxPerItem records, all from one resource, one JSON payload
// in Sentry's container format.
type Batch struct {
	// Payload is the item payload:
	// {"version":2,"ingest_settings":{"infer_ip":"never","infer_user_agent":"never"},"items":[...]}.
	// infer_ip and infer_user_agent are off so that the collector's address and user agent are not taken for
	// the users'.
	Payload []byte
	// Count is the exact number of logs in Payload, the envelope item's item_count.
	Count int
	// Records says where each log came from in the input, in payload order, so that a batch that failed can
	// be retried on its own.
	Records []Position
}

// Position locates a log record in a plog.Logs: the indexes of its ResourceLogs, ScopeLogs and LogRecord.
type Position struct{ Resource, Scope, Record int32 }

// Stats are what the conversion repaired or could not send, for the exporter's metrics.
type Stats struct {
	// Truncated counts logs sent with something cut: a body or attribute value shortened, or attributes left
	// out (over MaxAttributes, MaxAttributeKeyBytes or MaxLogBytes, or with an empty key).
	Truncated int
	// Dropped counts records not sent at all: a record whose fixed fields alone exceed MaxLogBytes. The limits
	// above make this impossible today; it is counted rather than assumed.
	Dropped int
}

// Convert turns ld into batches of Sentry logs. Records keep their input order; a batch never mixes resources,
// since the envelope's environment, release and sampling context are per resource.
func Convert(ld plog.Logs, opts Options) ([]Batch, Stats) {
	c := converter{opts: opts}
	if c.opts.Now.IsZero() {
		c.opts.Now = time.Now()
	}
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		c.startResource(rl.Resource().Attributes())
		sls := rl.ScopeLogs()
		for si := 0; si < sls.Len(); si++ {
			sl := sls.At(si)
			c.startScope(sl.Scope())
			scopeName := sl.Scope().Name()
			lrs := sl.LogRecords()
			for li := 0; li < lrs.Len(); li++ {
				c.add(lrs.At(li), scopeName, Position{Resource: int32(ri), Scope: int32(si), Record: int32(li)}, lrs.Len()-li)
			}
		}
		c.flush()
	}
	return c.batches, c.stats
}

const (
	payloadPrefix = `{"version":2,"ingest_settings":{"infer_ip":"never","infer_user_agent":"never"},"items":[`
	payloadSuffix = `]}`
)

// converter is the state of one Convert call.
type converter struct {
	opts    Options
	batches []Batch
	stats   Stats
	res     resourceState
	scope   scopeState
	// scratch holds text rendered before it is escaped (structured bodies, bytes) and records moved to a new
	// batch.
	scratch []byte
	// cur is the open batch; its payload is built in cur.Payload.
	cur Batch
	// lastSize is the previous batch's payload size, the capacity guess for the next one.
	lastSize int
}

// add appends one record to the open batch, closing it first when it is full. remaining is the number of
// records left in the scope, this one included, to size the Positions slice.
func (c *converter) add(lr plog.LogRecord, scopeName string, pos Position, remaining int) {
	if c.cur.Count == MaxPerItem {
		c.flush()
	}
	if c.cur.Payload == nil {
		c.open(remaining)
	}
	mark := len(c.cur.Payload)
	if c.cur.Count > 0 {
		c.cur.Payload = append(c.cur.Payload, ',')
	}
	start := len(c.cur.Payload)
	var rec recordResult
	c.cur.Payload, rec = c.appendRecord(c.cur.Payload, lr, scopeName)
	size := len(c.cur.Payload) - start
	if size > MaxLogBytes {
		c.cur.Payload = c.cur.Payload[:mark]
		c.stats.Dropped++
		return
	}
	if rec.truncated {
		c.stats.Truncated++
	}
	if c.cur.Count > 0 && len(c.cur.Payload)+len(payloadSuffix) > MaxPayloadBytes {
		// The batch is full by bytes: close it without this record and start the next one with it.
		c.scratch = append(c.scratch[:0], c.cur.Payload[start:]...)
		c.cur.Payload = c.cur.Payload[:mark]
		c.flush()
		c.open(remaining)
		c.cur.Payload = append(c.cur.Payload, c.scratch...)
	}
	c.cur.Count++
	c.cur.Records = append(c.cur.Records, pos)
}

// open starts a batch.
func (c *converter) open(remaining int) {
	size := max(c.lastSize+c.lastSize/8, 4096)
	c.cur = Batch{
		Payload: append(make([]byte, 0, size), payloadPrefix...),
		Records: make([]Position, 0, min(remaining, MaxPerItem)),
	}
}

// flush closes the open batch, if it holds any record.
func (c *converter) flush() {
	if c.cur.Count == 0 {
		c.cur = Batch{}
		return
	}
	c.cur.Payload = append(c.cur.Payload, payloadSuffix...)
	c.lastSize = len(c.cur.Payload)
	c.batches = append(c.batches, c.cur)
	c.cur = Batch{}
}
