package eventjson

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/require"
)

// fuzzSource draws event parts from the fuzzer's bytes; once they run out it yields zeros, so every
// input builds an event.
type fuzzSource struct {
	b []byte
}

func (s *fuzzSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *fuzzSource) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// string is up to 15 raw bytes of input: invalid UTF-8 and control characters included.
func (s *fuzzSource) string() string {
	n := min(int(s.byte()%16), len(s.b))
	str := string(s.b[:n])
	s.b = s.b[n:]
	return str
}

// value is any of the types a data map holds, maps and slices nested up to depth levels.
func (s *fuzzSource) value(depth int) any {
	switch k := s.byte() % 12; {
	case k == 0:
		return s.string()
	case k == 1:
		return int64(s.uint64())
	case k == 2:
		// Any bit pattern: NaN, ±Inf, subnormals, -0.
		return math.Float64frombits(s.uint64())
	case k == 3:
		return s.byte()%2 == 0
	case k == 4:
		return []byte(s.string())
	case k == 5:
		return nil
	case k == 6:
		return float32(math.Float32frombits(uint32(s.uint64())))
	case k == 7:
		return sentry.SpanStatus(s.byte() % 20)
	case k == 8 && depth > 0:
		return s.dataMap(depth - 1)
	case k == 9 && depth > 0:
		n := int(s.byte() % 4)
		out := make([]any, n)
		for i := range out {
			out[i] = s.value(depth - 1)
		}
		return out
	case k == 10:
		return map[string]string{s.string(): s.string()}
	default:
		return uint64(s.uint64())
	}
}

func (s *fuzzSource) dataMap(depth int) map[string]any {
	n := int(s.byte() % 5)
	if n == 0 {
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		m[s.string()] = s.value(depth)
	}
	return m
}

func (s *fuzzSource) time() time.Time {
	// Seconds within ±2^40 (about 35,000 years) with any nanoseconds.
	return time.Unix(int64(s.uint64()%(1<<41))-(1<<40), int64(s.uint64()%1e9)).UTC()
}

func (s *fuzzSource) event() *sentry.Event {
	var tid sentry.TraceID
	binary.LittleEndian.PutUint64(tid[:], s.uint64())
	ev := &sentry.Event{
		EventID:     sentry.EventID(s.string()),
		Transaction: s.string(),
		Timestamp:   s.time(),
		Environment: s.string(),
		Release:     s.string(),
		Platform:    s.string(),
		ServerName:  s.string(),
		Sdk:         sentry.SdkInfo{Name: s.string(), Version: s.string()},
		Tags:        map[string]string{s.string(): s.string(), s.string(): s.string()},
		Contexts: map[string]sentry.Context{
			"trace": {"trace_id": tid, "span_id": sentry.SpanID{1}, "status": sentry.SpanStatus(s.byte() % 20), "data": s.dataMap(3)},
			"otel":  {"resource": s.dataMap(3)},
		},
	}
	if s.byte()%2 == 0 {
		ev.Type = "transaction"
		ev.StartTime = s.time()
		ev.TransactionInfo = &sentry.TransactionInfo{Source: sentry.TransactionSource(s.string())}
		for range int(s.byte() % 4) {
			var sid sentry.SpanID
			binary.LittleEndian.PutUint64(sid[:], s.uint64())
			ev.Spans = append(ev.Spans, &sentry.Span{
				TraceID: tid, SpanID: sid, ParentSpanID: sentry.SpanID{1},
				Op: s.string(), Description: s.string(), Status: sentry.SpanStatus(s.byte() % 20),
				StartTime: s.time(), EndTime: s.time(), Data: s.dataMap(3),
				Tags: map[string]string{s.string(): s.string()},
			})
		}
	} else {
		ev.Level = sentry.Level(s.string())
		handled := s.byte()%2 == 0
		ev.Exception = []sentry.Exception{{
			Type: s.string(), Value: s.string(), Module: s.string(),
			Stacktrace: &sentry.Stacktrace{Frames: []sentry.Frame{{
				Function: s.string(), Module: s.string(), Filename: s.string(), AbsPath: s.string(),
				Lineno: int(int32(s.uint64())), Colno: int(s.byte()), InApp: s.byte()%2 == 0, Package: s.string(),
			}}},
			Mechanism: &sentry.Mechanism{Type: s.string(), Handled: &handled, Data: s.dataMap(2)},
		}}
		for range int(s.byte() % 3) {
			ev.Breadcrumbs = append(ev.Breadcrumbs, &sentry.Breadcrumb{
				Type: s.string(), Category: s.string(), Message: s.string(), Level: sentry.Level(s.string()),
				Timestamp: s.time(), Data: s.dataMap(2),
			})
		}
	}
	return ev
}

// FuzzAppend builds events from arbitrary bytes and checks that the output always parses as one JSON
// value and, whenever encoding/json can encode the event too (no NaN, no year beyond 9999), that
// both decode to the same event.
func FuzzAppend(f *testing.F) {
	for _, seed := range []string{
		"",
		"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
		"\x02\x00\x00\x00\x00\x00\x00\xf8\x7f\x08\x08\x08\x03\x05abc\xffd",
		"\x0f\x01hello, \xe2\x80\xa8world\x08\x09\x02\x02\x00\x00\x00\x00\x00\x00\xf0\x7f",
		"transaction payload with some ordinary text in it to spend bytes on every field",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &fuzzSource{b: data}
		ev := src.event()
		out := Append(nil, ev)
		require.True(t, json.Valid(out), "invalid JSON: %q", out)
		if _, err := json.Marshal(ev); err == nil {
			requireEquivalent(t, ev)
		}
	})
}
