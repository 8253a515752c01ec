// Package envelope writes Sentry envelopes: a header line, then for each item a header line with the
// payload's exact length, then the payload. One envelope is one HTTP request body.
package envelope

import (
	"strconv"
	"time"

	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
)

// ContentType is the media type of an envelope request body.
const ContentType = "application/x-sentry-envelope"

// Item types this exporter sends.
const (
	TypeTransaction  = "transaction"
	TypeEvent        = "event"
	TypeClientReport = "client_report"
	TypeLog          = "log"
)

// SamplingContext is the dynamic sampling context sent as the envelope's "trace" header. Sentry uses
// it to link the envelope to its trace and for dynamic sampling; every value is a string on the wire.
// Empty fields are left out.
type SamplingContext struct {
	TraceID     string `json:"trace_id,omitempty"`
	PublicKey   string `json:"public_key,omitempty"`
	SampleRate  string `json:"sample_rate,omitempty"`
	SampleRand  string `json:"sample_rand,omitempty"`
	Sampled     string `json:"sampled,omitempty"`
	Environment string `json:"environment,omitempty"`
	Release     string `json:"release,omitempty"`
	Transaction string `json:"transaction,omitempty"`
	OrgID       string `json:"org_id,omitempty"`
}

// Header is the envelope header.
type Header struct {
	// EventID must equal the event_id of the envelope's event or transaction item; empty otherwise.
	EventID    string
	SentAt     time.Time
	SDKName    string
	SDKVersion string
	// Trace is the dynamic sampling context; nil leaves the header out.
	Trace *SamplingContext
}

// Item is one envelope item with its already encoded payload.
type Item struct {
	Type        string
	ContentType string
	// ItemCount is set on container items (logs, spans v2): the exact number of records inside.
	ItemCount int
	Payload   []byte
}

// Append writes the envelope made of h and items to dst and returns the extended slice.
func Append(dst []byte, h Header, items ...Item) []byte {
	dst = append(dst, '{')
	first := true
	if h.EventID != "" {
		dst = appendKey(dst, "event_id", &first)
		dst = jsonwrite.AppendString(dst, h.EventID)
	}
	if !h.SentAt.IsZero() {
		dst = appendKey(dst, "sent_at", &first)
		dst = append(dst, '"')
		dst = h.SentAt.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	if h.SDKName != "" {
		dst = appendKey(dst, "sdk", &first)
		dst = append(dst, `{"name":`...)
		dst = jsonwrite.AppendString(dst, h.SDKName)
		dst = append(dst, `,"version":`...)
		dst = jsonwrite.AppendString(dst, h.SDKVersion)
		dst = append(dst, '}')
	}
	if h.Trace != nil {
		dst = appendKey(dst, "trace", &first)
		dst = appendSamplingContext(dst, h.Trace)
	}
	dst = append(dst, "}\n"...)
	for _, it := range items {
		dst = append(dst, `{"type":`...)
		dst = jsonwrite.AppendString(dst, it.Type)
		dst = append(dst, `,"length":`...)
		dst = strconv.AppendInt(dst, int64(len(it.Payload)), 10)
		if it.ContentType != "" {
			dst = append(dst, `,"content_type":`...)
			dst = jsonwrite.AppendString(dst, it.ContentType)
		}
		if it.ItemCount > 0 {
			dst = append(dst, `,"item_count":`...)
			dst = strconv.AppendInt(dst, int64(it.ItemCount), 10)
		}
		dst = append(dst, "}\n"...)
		dst = append(dst, it.Payload...)
		dst = append(dst, '\n')
	}
	return dst
}

func appendSamplingContext(dst []byte, sc *SamplingContext) []byte {
	dst = append(dst, '{')
	first := true
	for _, kv := range [...]struct{ k, v string }{
		{"trace_id", sc.TraceID},
		{"public_key", sc.PublicKey},
		{"sample_rate", sc.SampleRate},
		{"sample_rand", sc.SampleRand},
		{"sampled", sc.Sampled},
		{"environment", sc.Environment},
		{"release", sc.Release},
		{"transaction", sc.Transaction},
		{"org_id", sc.OrgID},
	} {
		if kv.v == "" {
			continue
		}
		dst = appendKey(dst, kv.k, &first)
		dst = jsonwrite.AppendString(dst, kv.v)
	}
	return append(dst, '}')
}

func appendKey(dst []byte, key string, first *bool) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, `":`...)
}
