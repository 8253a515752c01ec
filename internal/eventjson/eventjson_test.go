package eventjson

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opaque is a type the encoder does not know; encoding/json writes it for it.
type opaque struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// failingMarshaler is a type whose own JSON encoding fails.
type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, assert.AnError }

// panickingMarshaler is a type whose own JSON encoding panics.
type panickingMarshaler struct{}

func (panickingMarshaler) MarshalJSON() ([]byte, error) { panic("broken marshaler") }

func TestAppendMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	withSpanData := func(data map[string]any) *sentry.Event {
		ev := transaction(1)
		ev.Spans[0].Data = data
		return ev
	}
	tests := []struct {
		name string
		ev   *sentry.Event
	}{
		{"transaction with 20 spans", transaction(20)},
		{"transaction without spans", transaction(0)},
		{"error event with exception chain", errorEvent()},
		{"error event carrying transaction fields", func() *sentry.Event {
			ev := errorEvent()
			// sentry-go leaves these out of error events; so must we.
			ev.StartTime = baseTime
			ev.Spans = transaction(2).Spans
			ev.TransactionInfo = &sentry.TransactionInfo{Source: sentry.SourceURL}
			return ev
		}()},
		{"empty event", &sentry.Event{}},
		{"empty transaction info source", func() *sentry.Event {
			ev := transaction(0)
			ev.TransactionInfo = &sentry.TransactionInfo{}
			return ev
		}()},
		{"span without parent, status or times", func() *sentry.Event {
			ev := transaction(0)
			ev.Spans = []*sentry.Span{{TraceID: traceIDOf("0102030405060708090a0b0c0d0e0f10"), SpanID: spanIDOf("1112131415161718")}}
			return ev
		}()},
		{"span with tags, origin and name", func() *sentry.Event {
			ev := transaction(1)
			ev.Spans[0].Tags = map[string]string{"b": "2", "a": "1", "peer.service": "payments"}
			ev.Spans[0].Origin = "auto.http.otel"
			ev.Spans[0].Name = "charge"
			return ev
		}()},
		{"span status out of range is null", func() *sentry.Event {
			ev := transaction(1)
			ev.Spans[0].Status = sentry.SpanStatus(200)
			return ev
		}()},
		{"nil span", func() *sentry.Event {
			ev := transaction(1)
			ev.Spans = append(ev.Spans, nil)
			return ev
		}()},
		{"every raw attribute type", withSpanData(map[string]any{
			"str":          "v",
			"empty":        "",
			"int":          int64(-42),
			"big":          int64(math.MaxInt64),
			"float":        0.25,
			"tiny":         1e-9,
			"huge":         1e22,
			"negzero":      math.Copysign(0, -1),
			"bool":         true,
			"bytes":        []byte{0, 1, 2, 250, 251, 252},
			"empty bytes":  []byte{},
			"nil bytes":    []byte(nil),
			"slice":        []any{"a", int64(1), 2.5, false, nil, []any{}, map[string]any{}},
			"nil slice":    []any(nil),
			"map":          map[string]any{"z": int64(1), "a": map[string]any{"deep": []any{"x"}}},
			"nil map":      map[string]any(nil),
			"nil":          nil,
			"unicode":      "naïve — 日本 \u2028 \u2029 \x00 \x1f \"quoted\" back\\slash <html>&",
			"invalid utf8": "a\xffb\xc3\x28",
			"\xfe key":     "invalid key",
		})},
		{"Go types beyond AsRaw", withSpanData(map[string]any{
			"int":        7,
			"int8":       int8(-8),
			"int16":      int16(16),
			"int32":      int32(-32),
			"uint":       uint(7),
			"uint8":      uint8(8),
			"uint16":     uint16(16),
			"uint32":     uint32(32),
			"uint64":     uint64(math.MaxUint64),
			"float32":    float32(0.1),
			"tiny32":     float32(1e-7),
			"strings":    []string{"a", "b"},
			"nilstrings": []string(nil),
			"strmap":     map[string]string{"k": "v"},
			"nilstrmap":  map[string]string(nil),
			"time":       baseTime,
			"trace":      traceIDOf("0102030405060708090a0b0c0d0e0f10"),
			"span":       spanIDOf("1112131415161718"),
			"status":     sentry.SpanStatusDeadlineExceeded,
			"source":     sentry.SourceRoute,
			"origin":     sentry.SpanOrigin("manual"),
			"event":      sentry.EventID("abc"),
			"level":      sentry.LevelWarning,
			"opaque":     opaque{Name: "x", Count: 2},
			"pointer":    &opaque{Name: "y"},
			"number":     json.Number("12.5"),
			"raw":        json.RawMessage(`{"a":[1,2]}`),
		})},
		{"many keys sorted", withSpanData(func() map[string]any {
			m := map[string]any{}
			for _, k := range strings.Fields("q w e r t y u i o p a s d f g h j k l z x c v b n m") {
				m[k] = k
			}
			return m
		}())},
		{"everything sentry-go writes", func() *sentry.Event {
			ev := errorEvent()
			ev.Dist = "42"
			ev.Logger = "checkout.PaymentClient"
			ev.Message = "payment failed"
			ev.Fingerprint = []string{"{{ default }}", "payments"}
			ev.Modules = map[string]string{"github.com/x/y": "v1.2.3"}
			ev.User = sentry.User{ID: "u1", Email: "a@b.c", IPAddress: "10.0.0.1", Username: "ann", Name: "Ann", Data: map[string]string{"plan": "pro"}}
			ev.Sdk.Integrations = []string{"otel"}
			ev.Sdk.Packages = []sentry.SdkPackage{{Name: "otel-java", Version: "1.38.0"}}
			ev.Breadcrumbs = append(ev.Breadcrumbs, nil, &sentry.Breadcrumb{Category: "http"})
			ev.Request = &sentry.Request{URL: "http://x/", Method: "GET"}
			ev.DebugMeta = &sentry.DebugMeta{Images: []sentry.DebugMetaImage{{Type: "sourcemap", CodeFile: "app.js"}}}
			ev.Threads = []sentry.Thread{{ID: "1", Name: "main", Current: true}}
			ev.Exception[0].ThreadID = 7
			ev.Exception[0].Mechanism.Description = "cause"
			ev.Exception[0].Mechanism.HelpLink = "https://example.com"
			ev.Exception[0].Mechanism.Data = map[string]any{"signal": int64(11)}
			ev.Exception[1].Stacktrace.Frames[0].Symbol = "sym"
			ev.Exception[1].Stacktrace.Frames[0].PreContext = []string{"a", "b"}
			ev.Exception[1].Stacktrace.Frames[0].ContextLine = "c"
			ev.Exception[1].Stacktrace.Frames[0].PostContext = []string{"d"}
			ev.Exception[1].Stacktrace.Frames[0].Vars = map[string]any{"x": int64(1)}
			ev.Exception[1].Stacktrace.Frames[0].InstructionAddr = "0x1"
			ev.Exception[1].Stacktrace.Frames[0].AddrMode = "abs"
			ev.Exception[1].Stacktrace.Frames[0].SymbolAddr = "0x2"
			ev.Exception[1].Stacktrace.Frames[0].ImageAddr = "0x3"
			ev.Exception[1].Stacktrace.Frames[0].Platform = "native"
			ev.Exception[1].Stacktrace.Frames[0].StackStart = true
			ev.Exception = append(ev.Exception, sentry.Exception{Type: "NoStack", Stacktrace: &sentry.Stacktrace{}})
			return ev
		}()},
		{"time before 1970", func() *sentry.Event {
			ev := transaction(1)
			ev.StartTime = time.Date(1969, 12, 31, 23, 59, 58, 500_000_000, time.UTC)
			ev.Timestamp = time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
			ev.Spans[0].StartTime = time.Date(1969, 12, 31, 23, 59, 59, 1_000, time.UTC)
			ev.Spans[0].EndTime = time.Unix(0, 0)
			return ev
		}()},
		{"time in another zone", func() *sentry.Event {
			ev := transaction(0)
			ev.Timestamp = ev.Timestamp.In(time.FixedZone("X", 5*3600+1800))
			return ev
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireEquivalent(t, tt.ev)
		})
	}
}

// TestAppendMatchesGoldenFiles encodes the events of the root package's golden files (the
// transform's own output, written by json.Marshal) and compares them field by field.
func TestAppendMatchesGoldenFiles(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no golden files found")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			var golden []struct {
				Event json.RawMessage `json:"event"`
			}
			require.NoError(t, json.Unmarshal(b, &golden))
			require.NotEmpty(t, golden)
			if len(golden[0].Event) == 0 {
				t.Skip("not a golden file of whole events (the Insights goldens hold span data only)")
			}
			for i, g := range golden {
				ev := eventFromGolden(t, g.Event)
				got := Append(nil, ev)
				assert.Equal(t, normalize(t, decodeJSON(t, g.Event)), normalize(t, decodeJSON(t, got)), "event %d\nours: %s", i, got)
				// The rebuilt event must also agree with json.Marshal, or the rebuild is at fault.
				requireEquivalent(t, ev)
			}
		})
	}
}

func TestAppendOddValues(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{"name": "loop"}
	cyclic["self"] = cyclic
	deep := map[string]any{}
	cur := deep
	for range maxDepth + 10 {
		next := map[string]any{}
		cur["d"] = next
		cur = next
	}
	tests := []struct {
		name  string
		value any
		// want is the JSON of the span's data.
		want string
	}{
		{"NaN", math.NaN(), `{"v":"NaN"}`},
		{"+Inf", math.Inf(1), `{"v":"+Inf"}`},
		{"-Inf", math.Inf(-1), `{"v":"-Inf"}`},
		{"float32 NaN", float32(math.NaN()), `{"v":"NaN"}`},
		{"NaN in a slice", []any{1.5, math.NaN()}, `{"v":[1.5,"NaN"]}`},
		{"invalid UTF-8", "\xff\xfe", `{"v":"\ufffd\ufffd"}`},
		{"control characters", "a\x00\n\t\"", `{"v":"a\u0000\n\t\""}`},
		{"channel", make(chan int), `{"v":null}`},
		{"function", func() {}, `{"v":null}`},
		{"failing marshaler", failingMarshaler{}, `{"v":null}`},
		{"panicking marshaler", panickingMarshaler{}, `{"v":null}`},
		{"struct with NaN", struct{ F float64 }{math.NaN()}, `{"v":null}`},
		{"bytes", []byte("hi"), `{"v":"aGk="}`},
		{"status 0", sentry.SpanStatusUndefined, `{"v":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := transaction(1)
			ev.Spans[0].Data = map[string]any{"v": tt.value}
			out := Append(nil, ev)
			require.True(t, json.Valid(out), "%s", out)
			var decoded struct {
				Spans []struct {
					Data json.RawMessage `json:"data"`
				} `json:"spans"`
			}
			require.NoError(t, json.Unmarshal(out, &decoded))
			assert.JSONEq(t, tt.want, string(decoded.Spans[0].Data))
		})
	}

	t.Run("cyclic and too deep maps are cut", func(t *testing.T) {
		t.Parallel()
		for _, m := range []map[string]any{cyclic, deep} {
			ev := transaction(1)
			ev.Spans[0].Data = m
			out := Append(nil, ev)
			require.True(t, json.Valid(out))
			assert.Contains(t, string(out), "null")
		}
	})
}

func TestAppendNilEvent(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "prefix null", string(Append([]byte("prefix "), nil)))
}

func TestAppendLeavesOutEmptyUserAndSDK(t *testing.T) {
	t.Parallel()
	out := string(Append(nil, &sentry.Event{EventID: "e1", Level: sentry.LevelInfo}))
	assert.Equal(t, `{"event_id":"e1","level":"info"}`, out)
}

// TestAppendWritesSentrysDocumentedShapes pins the shapes where sentry-go's own JSON differs from
// Sentry's protocol docs and stricter consumers (Spotlight, sentry-cli) reject sentry-go's.
func TestAppendWritesSentrysDocumentedShapes(t *testing.T) {
	t.Parallel()
	tx := string(Append(nil, &sentry.Event{EventID: "e1", Type: transactionType, Transaction: "GET /"}))
	assert.Contains(t, tx, `"spans":[]`, "a transaction without child spans still has spans")

	errEvent := Append(nil, &sentry.Event{EventID: "e2", Level: sentry.LevelError, Exception: []sentry.Exception{
		{Type: "ValueError", Value: "cause"}, {Type: "RuntimeError", Value: "outer"},
	}, Breadcrumbs: []*sentry.Breadcrumb{
		{Category: "otel.event", Message: "retry", Timestamp: baseTime},
		{Category: "otel.event", Message: "giving up", Timestamp: baseTime.Add(time.Second)},
	}})
	var decoded struct {
		Exception struct {
			Values []struct{ Type, Value string }
		}
		Breadcrumbs struct {
			Values []struct{ Message string }
		}
		Spans json.RawMessage
	}
	require.NoError(t, json.Unmarshal(errEvent, &decoded), "%s", errEvent)
	require.Len(t, decoded.Exception.Values, 2, "%s", errEvent)
	assert.Equal(t, "ValueError", decoded.Exception.Values[0].Type)
	assert.Equal(t, "outer", decoded.Exception.Values[1].Value)
	// Breadcrumbs are a values object too: Sentry's Rust protocol types (sentry-cli) take no bare array.
	require.Len(t, decoded.Breadcrumbs.Values, 2, "%s", errEvent)
	assert.Equal(t, "giving up", decoded.Breadcrumbs.Values[1].Message)
	assert.Nil(t, decoded.Spans, "error events have no spans")
}

func TestAppendSortsKeysDeterministically(t *testing.T) {
	t.Parallel()
	ev := transaction(20)
	first := Append(nil, ev)
	for range 20 {
		require.Equal(t, string(first), string(Append(nil, ev)))
	}
	assert.Contains(t, string(first), `"tags":{"http.request.method":"POST","http.response.status_code":"200","http.route":"/api/checkout/{cartId}","service.name":"checkout"}`)
}

func TestAppendExtendsDst(t *testing.T) {
	t.Parallel()
	dst := []byte("head\n")
	out := Append(dst, transaction(2))
	assert.Equal(t, "head\n", string(out[:5]))
	assert.True(t, json.Valid(out[5:]))
}

func TestEncoderReuseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	ev := transaction(20)
	var enc Encoder
	buf := enc.Append(nil, ev)
	allocs := testing.AllocsPerRun(20, func() {
		buf = enc.Append(buf[:0], ev)
	})
	assert.Zero(t, allocs)
	// A nested map must not leave entries behind on the Encoder's stacks.
	assert.Empty(t, enc.pairs)
	assert.Empty(t, enc.strPairs)
}

func TestAppendTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"whole second", time.Unix(1764072000, 0), "1764072000"},
		{"tenth", time.Unix(1764072000, 100_000_000), "1764072000.1"},
		{"micro", time.Unix(1764072000, 1_000), "1764072000.000001"},
		{"sub-micro truncated", time.Unix(1764072000, 123_456_999), "1764072000.123456"},
		{"below a micro", time.Unix(1764072000, 999), "1764072000"},
		{"epoch", time.Unix(0, 0), "0"},
		{"just before epoch", time.Unix(-1, 500_000_000), "-0.5"},
		{"before epoch", time.Unix(-2, 250_000_000), "-1.75"},
		{"before epoch whole", time.Unix(-3, 0), "-3"},
		{"zone does not matter", time.Unix(1764072000, 5_000).In(time.FixedZone("Y", -7*3600)), "1764072000.000005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, string(AppendTimestamp(nil, tt.t)))
		})
	}
}

// TestAppendAnyAsRawMessageWritesWhatTheValueWould: a context value encoded once with AppendAny and
// kept as a json.RawMessage is written exactly as the value itself would be, and encoding/json
// agrees.
func TestAppendAnyAsRawMessageWritesWhatTheValueWould(t *testing.T) {
	resource := map[string]any{
		"service.name": "checkout", "host.name": "h\"1\n", "process.pid": int64(42), "zeta": math.NaN(),
		"nested": map[string]any{"b": []any{true, 1.5, "x"}, "a": nil},
	}
	var enc Encoder
	raw := json.RawMessage(enc.AppendAny(nil, resource))
	plain := &sentry.Event{EventID: "0123456789abcdef0123456789abcdef", Contexts: map[string]sentry.Context{"otel": {"resource": resource}}}
	pre := &sentry.Event{EventID: "0123456789abcdef0123456789abcdef", Contexts: map[string]sentry.Context{"otel": {"resource": raw}}}
	want := string(enc.Append(nil, plain))
	assert.Equal(t, want, string(enc.Append(nil, pre)))
	assert.Contains(t, want, `"resource":{"host.name":"h\"1\n","nested":{"a":null,"b":[true,1.5,"x"]},"process.pid":42`)

	viaJSON, err := json.Marshal(pre)
	require.NoError(t, err)
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(viaJSON, &a))
	require.NoError(t, json.Unmarshal([]byte(want), &b))
	assert.Equal(t, b["contexts"], a["contexts"])
}
