// Package envelope writes Sentry envelopes: a header line, then for each item a header line with the
// payload's exact length, then the payload. One envelope is one HTTP request body.
package envelope

import (
	"strconv"
	"time"
	"unicode/utf8"
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
		dst = AppendString(dst, h.EventID)
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
		dst = AppendString(dst, h.SDKName)
		dst = append(dst, `,"version":`...)
		dst = AppendString(dst, h.SDKVersion)
		dst = append(dst, '}')
	}
	if h.Trace != nil {
		dst = appendKey(dst, "trace", &first)
		dst = appendSamplingContext(dst, h.Trace)
	}
	dst = append(dst, "}\n"...)
	for _, it := range items {
		dst = append(dst, `{"type":`...)
		dst = AppendString(dst, it.Type)
		dst = append(dst, `,"length":`...)
		dst = strconv.AppendInt(dst, int64(len(it.Payload)), 10)
		if it.ContentType != "" {
			dst = append(dst, `,"content_type":`...)
			dst = AppendString(dst, it.ContentType)
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
		dst = AppendString(dst, kv.v)
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

const hexDigits = "0123456789abcdef"

// AppendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as encoding/json does, so
// the output always parses.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers; escape them like encoding/json.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
