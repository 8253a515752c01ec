package transport

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// goldenBodies are the events of the transform's golden file, each as one request body would be.
func goldenBodies(b *testing.B) [][]byte {
	b.Helper()
	raw, err := os.ReadFile("../../testdata/golden/sdks.json")
	if err != nil {
		b.Fatal(err)
	}
	var events []struct {
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, len(events))
	for i, e := range events {
		bodies[i] = e.Event
	}
	return bodies
}

// BenchmarkCompress compares the encodings and levels Sentry accepts on real event bodies:
// CPU per body and compressed size relative to the input.
func BenchmarkCompress(b *testing.B) {
	bodies := goldenBodies(b)
	in := 0
	for _, body := range bodies {
		in += len(body)
	}
	for _, tc := range []struct {
		c     Compression
		level int
	}{
		{CompressionGzip, 1}, {CompressionGzip, 6}, {CompressionDeflate, 1}, {CompressionZstd, 1}, {CompressionZstd, 3},
	} {
		b.Run(string(tc.c)+"-"+strconv.Itoa(tc.level), func(b *testing.B) {
			cp, err := newCompressor(tc.c, tc.level)
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			out := 0
			for b.Loop() {
				out = 0
				for _, body := range bodies {
					buf, err = cp.compress(buf[:0], body)
					if err != nil {
						b.Fatal(err)
					}
					out += len(buf)
				}
			}
			b.ReportMetric(float64(out)/float64(in), "ratio")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bodies)), "ns/body")
		})
	}
}
