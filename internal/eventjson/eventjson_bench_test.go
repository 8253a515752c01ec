package eventjson

import (
	"encoding/json"
	"testing"
)

// BenchmarkTransaction20Spans compares this package with json.Marshal on a realistic transaction of
// twenty spans, the common size of a web request's segment.
func BenchmarkTransaction20Spans(b *testing.B) {
	ev := transaction(20)
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			out, err := json.Marshal(ev)
			if err != nil {
				b.Fatal(err)
			}
			n = len(out)
		}
		b.ReportMetric(float64(n), "bytes/event")
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = Append(buf[:0], ev)
		}
		b.ReportMetric(float64(len(buf)), "bytes/event")
	})
	b.Run("Encoder", func(b *testing.B) {
		b.ReportAllocs()
		var enc Encoder
		var buf []byte
		for b.Loop() {
			buf = enc.Append(buf[:0], ev)
		}
		b.ReportMetric(float64(len(buf)), "bytes/event")
	})
}

// BenchmarkErrorEvent compares the two on an error event with a chained exception.
func BenchmarkErrorEvent(b *testing.B) {
	ev := errorEvent()
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encoder", func(b *testing.B) {
		b.ReportAllocs()
		var enc Encoder
		var buf []byte
		for b.Loop() {
			buf = enc.Append(buf[:0], ev)
		}
	})
}
