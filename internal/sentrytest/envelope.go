package sentrytest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// MaxEventBytes is Relay's limit for one event or transaction payload (uncompressed); larger ones get 413.
const MaxEventBytes = 1 << 20

// Limits on a whole request: Relay's max_api_payload_size (compressed) and max envelope size (decoded).
const (
	maxWireBytes    = 20 << 20
	maxDecodedBytes = 100 << 20
)

// ProtocolError is a request the fake refuses: Status is the HTTP status, Reason goes to X-Sentry-Error.
type ProtocolError struct {
	Status int
	Reason string
}

// Error returns the reason with its status.
func (e *ProtocolError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Reason) }

func protoErr(status int, format string, args ...any) *ProtocolError {
	return &ProtocolError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// errTooLarge marks a body exceeding the decoded limit while decompressing.
var errTooLarge = errors.New("body too large")

// decodeBody undoes Content-Encoding. Multiple codings are undone last first (RFC 9110 8.4). Relay also
// accepts br; no brotli decoder is available without a new module, so br gets 415 here.
func decodeBody(body []byte, contentEncoding string) ([]byte, *ProtocolError) {
	if strings.TrimSpace(contentEncoding) == "" {
		return body, nil
	}
	codings := strings.Split(contentEncoding, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		coding := strings.ToLower(strings.TrimSpace(codings[i]))
		var r io.Reader
		switch coding {
		case "identity", "":
			continue
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, protoErr(400, "invalid gzip body: %v", err)
			}
			r = zr
		case "deflate":
			r = deflateReader(body)
		case "zstd":
			zr, err := zstd.NewReader(bytes.NewReader(body), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, protoErr(400, "invalid zstd body: %v", err)
			}
			out, rerr := readLimited(zr)
			zr.Close()
			if rerr != nil {
				return nil, decodeErr("zstd", rerr)
			}
			body = out
			continue
		case "br":
			return nil, protoErr(415, "content encoding %q not supported by fakesentry", coding)
		default:
			return nil, protoErr(415, "unsupported content encoding %q", coding)
		}
		out, err := readLimited(r)
		if err != nil {
			return nil, decodeErr(coding, err)
		}
		body = out
	}
	return body, nil
}

func decodeErr(coding string, err error) *ProtocolError {
	if errors.Is(err, errTooLarge) {
		return protoErr(413, "decoded body exceeds %d bytes", maxDecodedBytes)
	}
	return protoErr(400, "invalid %s body: %v", coding, err)
}

// deflateReader accepts zlib-wrapped deflate (what HTTP's "deflate" means) and, like most servers, raw
// deflate as sent by some clients.
func deflateReader(body []byte) io.Reader {
	if len(body) >= 2 && body[0]&0x0f == 8 && (uint16(body[0])<<8|uint16(body[1]))%31 == 0 {
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			return zr
		}
	}
	return flate.NewReader(bytes.NewReader(body))
}

func readLimited(r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecodedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDecodedBytes {
		return nil, errTooLarge
	}
	return out, nil
}

// ParseEnvelope parses an uncompressed envelope the way Relay does: the envelope header is the first line;
// each item is a header line followed by its payload. With `length`, the payload is exactly that many
// bytes and must be followed by "\n" or the end; without it the payload runs to the next "\n". A single
// trailing newline after the last item is allowed. It also enforces the envelope-level rules Relay
// rejects with 400 (at most one event/transaction, matching event_id, exact log item_count) and the
// 413 size limit. Exported so other tests can check what an encoder produced without a server.
func ParseEnvelope(body []byte) (*Envelope, error) {
	env, perr := parseEnvelope(body)
	if perr != nil {
		return nil, perr
	}
	return env, nil
}

func parseEnvelope(body []byte) (*Envelope, *ProtocolError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, protoErr(400, "empty envelope")
	}
	line, rest, _ := bytes.Cut(body, []byte("\n"))
	env := &Envelope{RawHeader: json.RawMessage(line)}
	if err := decodeHeaderObject(line, &env.Header); err != nil {
		return nil, protoErr(400, "invalid envelope header: %v", err)
	}
	if err := checkEnvelopeHeader(env.Header); err != nil {
		return nil, err
	}
	for idx := 0; len(rest) > 0; idx++ {
		item, next, err := parseItem(rest, idx)
		if err != nil {
			return nil, err
		}
		env.Items = append(env.Items, item)
		rest = next
	}
	return env, checkItems(env)
}

// decodeHeaderObject decodes a header line that must be a single JSON object.
func decodeHeaderObject(line []byte, v any) error {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%q is not a JSON object", truncate(trimmed, 60))
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("%q: %w", truncate(trimmed, 60), err)
	}
	return nil
}

func checkEnvelopeHeader(h EnvelopeHeader) *ProtocolError {
	if h.EventID != "" && !isHexID(normalizeEventID(h.EventID), 32) {
		return protoErr(400, "invalid envelope header: event_id %q is not a UUID", h.EventID)
	}
	if h.SentAt != "" {
		if _, err := parseTimestamp([]byte(`"` + h.SentAt + `"`)); err != nil {
			return protoErr(400, "invalid envelope header: sent_at %q is not RFC 3339", h.SentAt)
		}
	}
	if h.Trace != nil {
		if !isHexID(h.Trace.TraceID, 32) {
			return protoErr(400, "invalid envelope header: trace.trace_id %q is not 32 lowercase hex", h.Trace.TraceID)
		}
		if h.Trace.PublicKey == "" {
			return protoErr(400, "invalid envelope header: trace.public_key missing")
		}
	}
	return nil
}

// itemHeader is the wire form of an item header.
type itemHeader struct {
	Type        *string `json:"type"`
	Length      *int64  `json:"length"`
	ItemCount   *int64  `json:"item_count"`
	ContentType string  `json:"content_type"`
}

func parseItem(buf []byte, idx int) (Item, []byte, *ProtocolError) {
	line, rest, found := bytes.Cut(buf, []byte("\n"))
	if len(bytes.TrimSpace(line)) == 0 {
		return Item{}, nil, protoErr(400, "item %d: empty item header line", idx)
	}
	var h itemHeader
	if err := decodeHeaderObject(line, &h); err != nil {
		return Item{}, nil, protoErr(400, "item %d: invalid item header: %v", idx, err)
	}
	if h.Type == nil || *h.Type == "" {
		return Item{}, nil, protoErr(400, "item %d: item header without type: %s", idx, truncate(line, 80))
	}
	item := Item{Type: *h.Type, ContentType: h.ContentType, RawHeader: json.RawMessage(line)}
	if h.ItemCount != nil {
		if *h.ItemCount < 0 {
			return Item{}, nil, protoErr(400, "item %d (%s): negative item_count %d", idx, item.Type, *h.ItemCount)
		}
		n := int(*h.ItemCount)
		item.ItemCount = &n
	}
	if !found {
		// Header at the very end: an empty payload.
		if h.Length != nil && *h.Length != 0 {
			return Item{}, nil, protoErr(400, "item %d (%s): unexpected end of envelope: length %d but no payload", idx, item.Type, *h.Length)
		}
		return item, nil, nil
	}
	if h.Length != nil {
		n := *h.Length
		if n < 0 {
			return Item{}, nil, protoErr(400, "item %d (%s): negative length %d", idx, item.Type, n)
		}
		if n > int64(len(rest)) {
			return Item{}, nil, protoErr(400, "item %d (%s): unexpected end of envelope: length %d but only %d bytes left", idx, item.Type, n, len(rest))
		}
		l := int(n)
		item.Length = &l
		item.Payload = rest[:l]
		rest = rest[l:]
		if len(rest) > 0 {
			if rest[0] != '\n' {
				return Item{}, nil, protoErr(400, "item %d (%s): payload of length %d not followed by a newline (got %q)", idx, item.Type, l, truncate(rest, 20))
			}
			rest = rest[1:]
		}
		return item, rest, nil
	}
	payload, after, _ := bytes.Cut(rest, []byte("\n"))
	item.Payload = payload
	return item, after, nil
}

// checkItems enforces envelope-level rules on the parsed items.
func checkItems(env *Envelope) *ProtocolError {
	var eventItems int
	for i, it := range env.Items {
		switch it.Type {
		case "event", "transaction":
			eventItems++
			if eventItems > 1 {
				return protoErr(400, "duplicate event item: item %d is a second event/transaction in one envelope", i)
			}
			if len(it.Payload) > MaxEventBytes {
				return protoErr(413, "item %d (%s): payload of %d bytes exceeds %d", i, it.Type, len(it.Payload), MaxEventBytes)
			}
			var ids struct {
				EventID string `json:"event_id"`
			}
			// An unparsable payload is Relay's processing problem (discarded after 200), not a 400.
			if json.Unmarshal(it.Payload, &ids) != nil {
				continue
			}
			if normalizeEventID(ids.EventID) != normalizeEventID(env.Header.EventID) {
				return protoErr(400, "item %d (%s): payload event_id %q does not match envelope header event_id %q", i, it.Type, ids.EventID, env.Header.EventID)
			}
		case "log", "span":
			if it.Type == "span" && it.ItemCount == nil {
				continue // a single legacy span item
			}
			if err := checkContainer(it, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkContainer validates a container item's item_count against its items.
func checkContainer(it Item, idx int) *ProtocolError {
	if it.ItemCount == nil {
		return protoErr(400, "item %d (%s): container without item_count", idx, it.Type)
	}
	var c struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(it.Payload, &c); err != nil {
		return protoErr(400, "item %d (%s): invalid container payload: %v", idx, it.Type, err)
	}
	if len(c.Items) != *it.ItemCount {
		return protoErr(400, "item %d (%s): item_count %d but %d items", idx, it.Type, *it.ItemCount, len(c.Items))
	}
	return nil
}

// normalizeEventID makes the dashed and undashed UUID forms comparable, as Relay parses both.
func normalizeEventID(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "-", ""))
}
