package sentrylogs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FuzzConvert converts arbitrary records and checks what every caller relies on: no panic, every payload is
// valid JSON in Sentry's shape, item counts and positions are exact, every record is sent or counted as
// dropped, and the size limits hold. Its seed corpus runs as part of the normal tests.
func FuzzConvert(f *testing.F) {
	f.Add("hello", "INFO", int32(9), "key", "value", int64(1), 1.5, []byte(goldenTraceID), uint8(3), uint8(0))
	f.Add("", "", int32(0), "", "", int64(0), 0.0, []byte{}, uint8(1), uint8(1))
	f.Add("a\xffb\u2028\x00", "warning", int32(25), "k\xfe", "\xc3", int64(math.MinInt64), math.NaN(), []byte{1, 2}, uint8(150), uint8(2))
	f.Add("{\"json\":true}", "CRITICAL", int32(-7), "sentry.environment", "x", int64(-1), math.Inf(1), make([]byte, 16), uint8(101), uint8(3))
	f.Add("body", "err", int32(17), "service.name", "", int64(7), math.Copysign(0, -1), []byte("0123456789abcdef"), uint8(2), uint8(4))
	f.Add("\"\\/", "Trace2", int32(1), "event.name", "\u2029", int64(1<<53), 1e-300, []byte{0xff}, uint8(0), uint8(5))
	f.Fuzz(func(t *testing.T, body, sevText string, sevNum int32, key, value string, n int64, d float64, id []byte, records, shape uint8) {
		ld := plog.NewLogs()
		total := 0
		for r := 0; r < 1+int(shape%3); r++ {
			rl := ld.ResourceLogs().AppendEmpty()
			res := rl.Resource().Attributes()
			res.PutStr(key, value)
			res.PutStr("service.name", value)
			res.PutStr("service.version", body)
			for s := 0; s < 1+int(shape%2); s++ {
				sl := rl.ScopeLogs().AppendEmpty()
				sl.Scope().SetName(value)
				sl.Scope().SetVersion(key)
				for i := 0; i < int(records); i++ {
					lr := sl.LogRecords().AppendEmpty()
					fillFuzzRecord(lr, i, body, sevText, sevNum, key, value, n, d, id, shape)
					total++
				}
			}
		}

		batches, stats := Convert(ld, Options{Environment: value, Now: fixedNow})
		sent := 0
		seen := map[Position]bool{}
		for _, b := range batches {
			require.Positive(t, b.Count)
			require.LessOrEqual(t, b.Count, MaxPerItem)
			require.LessOrEqual(t, len(b.Payload), MaxPayloadBytes)
			p := decodePayload(t, b.Payload)
			require.Len(t, p.Items, b.Count)
			require.Len(t, b.Records, b.Count)
			for _, it := range p.Items {
				assert.Regexp(t, hex32, it.TraceID)
				assert.Contains(t, []string{"trace", "debug", "info", "warn", "error", "fatal"}, it.Level)
				require.NotNil(t, it.Body)
				assert.LessOrEqual(t, len(*it.Body), MaxBodyBytes)
				assert.LessOrEqual(t, len(it.Attributes), MaxAttributes)
			}
			resource := b.Records[0].Resource
			for _, pos := range b.Records {
				assert.Equal(t, resource, pos.Resource, "one resource per batch")
				assert.False(t, seen[pos], "position %v twice", pos)
				seen[pos] = true
			}
			sent += b.Count
		}
		assert.Equal(t, total, sent+stats.Dropped)
		assert.LessOrEqual(t, stats.Truncated, sent)
	})
}

func fillFuzzRecord(lr plog.LogRecord, i int, body, sevText string, sevNum int32, key, value string, n int64, d float64, id []byte, shape uint8) {
	lr.SetTimestamp(pcommon.Timestamp(uint64(n) * uint64(i+1)))
	lr.SetSeverityNumber(plog.SeverityNumber(sevNum))
	lr.SetSeverityText(sevText)
	lr.SetEventName(key)
	var tid pcommon.TraceID
	copy(tid[:], id)
	lr.SetTraceID(tid)
	var sid pcommon.SpanID
	copy(sid[:], id)
	lr.SetSpanID(sid)
	switch (int(shape) + i) % 6 {
	case 0:
		lr.Body().SetStr(body)
	case 1:
		m := lr.Body().SetEmptyMap()
		m.PutStr(key, body)
		m.PutDouble(value, d)
		m.PutEmptySlice("s").AppendEmpty().SetEmptyBytes().FromRaw(id)
	case 2:
		lr.Body().SetEmptyBytes().FromRaw([]byte(body))
	case 3:
		lr.Body().SetDouble(d)
	case 4:
		lr.Body().SetInt(n)
	default:
		// Empty body.
	}
	a := lr.Attributes()
	a.PutStr(key, value)
	a.PutStr(value, body)
	a.PutInt("n", n)
	a.PutDouble("d", d)
	a.PutBool(body, i%2 == 0)
	a.PutEmptyBytes("b").FromRaw(id)
	a.PutEmptyMap("m").PutStr(key, value)
	a.PutEmpty("empty")
}
