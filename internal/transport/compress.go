package transport

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/otelsentry/sentryexporter/internal/freelist"
)

// Compression names a Content-Encoding Sentry's ingestion decodes.
type Compression string

// The encodings Sentry accepts that this transport writes. Brotli is accepted by Sentry too, but
// has no well-kept pure Go encoder among our dependencies.
const (
	CompressionNone    Compression = ""
	CompressionGzip    Compression = "gzip"
	CompressionDeflate Compression = "deflate"
	CompressionZstd    Compression = "zstd"
)

// compressor compresses request bodies with pooled encoders and buffers: one envelope per request
// means many small bodies, and a fresh gzip writer costs more than the body it compresses.
type compressor struct {
	encoding Compression
	writers  *freelist.List[*pooledWriter]
	// zstd encoders are kept one per sender too: a shared encoder's EncodeAll lets only as many
	// callers in at once as its concurrency, and the rest wait.
	zstd *freelist.List[*zstd.Encoder]
}

type pooledWriter struct {
	w   io.WriteCloser
	out appendWriter
	// reset points w at out again after a body was written.
	reset func(io.Writer)
}

// appendWriter appends what is written to b: the compressed body goes straight into the slice
// the request sends, with no buffer in between to copy from.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// idleWriters is how many compressors are kept between requests. A sender holds one only while it
// compresses, not while its request is under way, so about one per CPU is ever in use at once; a
// larger list only kept idle encoders of a few hundred KiB each alive (BenchmarkPeakHeap).
func idleWriters() int { return min(2*runtime.GOMAXPROCS(0), 16) }

// zstdWindow is how far back zstd looks for matches: the largest envelope the exporter sends.
const zstdWindow = 4 << 20

// DefaultLevel is the compression level used when none is configured: the fastest. Envelopes are
// small and many, so CPU per request matters more than the last bytes: on the golden events
// (BenchmarkCompress) gzip level 1 takes 19.4 µs a body against 26.4 µs at level 6, for 27.1% of
// the input instead of 23.9%. zstd level 1 takes 11.7 µs for 26.6%.
const DefaultLevel = 1

// OTLPDefaultLevel is the compression level for bodies of OTLP batches when none is configured: each
// codec's own default (gzip and deflate 6, zstd 3). A batch of hundreds of spans compresses about 10%
// smaller at gzip level 6 than at level 1, for about 5% more CPU per span (BenchmarkExporter/otlp), and
// one request per batch leaves no per-request cost to save; otlphttp uses the same default.
func OTLPDefaultLevel(c Compression) int {
	if c == CompressionZstd {
		return 3
	}
	return 6
}

func newCompressor(c Compression, level int) (*compressor, error) {
	cp := &compressor{encoding: c}
	if level == 0 {
		level = DefaultLevel
	}
	switch c {
	case CompressionNone:
		return nil, nil
	case CompressionGzip:
		if _, err := gzip.NewWriterLevel(nil, level); err != nil {
			return nil, fmt.Errorf("gzip level %d: %w", level, err)
		}
		cp.writers = freelist.New(idleWriters(), func() *pooledWriter {
			pw := &pooledWriter{}
			w, _ := gzip.NewWriterLevel(&pw.out, level)
			pw.w, pw.reset = w, w.Reset
			return pw
		})
	case CompressionDeflate:
		// HTTP's "deflate" is the zlib format (RFC 9110), which Relay decodes.
		if _, err := zlib.NewWriterLevel(nil, level); err != nil {
			return nil, fmt.Errorf("deflate level %d: %w", level, err)
		}
		cp.writers = freelist.New(idleWriters(), func() *pooledWriter {
			pw := &pooledWriter{}
			w, _ := zlib.NewWriterLevel(&pw.out, level)
			pw.w, pw.reset = w, w.Reset
			return pw
		})
	case CompressionZstd:
		opts := []zstd.EOption{
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1),
			// HTTP guards the body already; an envelope is at most a few MiB, so a larger window
			// than that only costs memory.
			zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(zstdWindow),
		}
		if _, err := zstd.NewWriter(nil, opts...); err != nil {
			return nil, fmt.Errorf("creating zstd encoder: %w", err)
		}
		cp.zstd = freelist.New(idleWriters(), func() *zstd.Encoder {
			enc, _ := zstd.NewWriter(nil, opts...)
			return enc
		})
	default:
		return nil, fmt.Errorf("compression %q is not accepted by Sentry", string(c))
	}
	return cp, nil
}

// compress appends the compressed body to dst.
func (cp *compressor) compress(dst, body []byte) ([]byte, error) {
	if cp.zstd != nil {
		enc := cp.zstd.Get()
		defer cp.zstd.Put(enc)
		return enc.EncodeAll(body, dst), nil
	}
	pw := cp.writers.Get()
	defer cp.writers.Put(pw)
	pw.out.b = dst
	// The writer does not keep dst once it is handed back.
	defer func() { pw.out.b = nil }()
	pw.reset(&pw.out)
	if _, err := pw.w.Write(body); err != nil {
		return dst, fmt.Errorf("compressing with %s: %w", cp.encoding, err)
	}
	if err := pw.w.Close(); err != nil {
		return dst, fmt.Errorf("compressing with %s: %w", cp.encoding, err)
	}
	return pw.out.b, nil
}
