package assembly

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelsentry/sentryexporter/internal/durations"
)

// Defaults of Config, also the values the exporter's factory uses.
const (
	// DefaultWait is long enough to cover one batch processor timeout (200ms) plus an SDK export interval
	// (5s by default), the usual gap between the first and the last export of one trace.
	DefaultWait = 5 * time.Second
	// DefaultMaxWait bounds how long a trace that never goes quiet (a long-running job, a stream) is held.
	DefaultMaxWait = 30 * time.Second
	// DefaultMaxSpans bounds memory: at roughly 1-2 KiB per span in pdata, 100k spans is 100-200 MiB.
	DefaultMaxSpans = 100_000
	// DefaultMaxBytes bounds the encoded spans held (OTLP protobuf, about 300 bytes a span on the test
	// workload): 32 MiB holds a burst of about 100k spans whole. See docs/assembly.md for the heap it costs.
	DefaultMaxBytes = 32 << 20
	// MinWait is the shortest quiet period accepted: below it assembly groups nothing (an SDK's spans of
	// one trace arrive milliseconds apart), and it catches a bare number, which the collector reads as ns.
	MinWait = 100 * time.Millisecond
)

// Errors returned by Config.Validate, so callers can tell them apart with errors.Is.
var (
	// ErrWaitNotPositive means trace_assembly.wait is zero or negative.
	ErrWaitNotPositive = errors.New("must be positive")
	// ErrMaxWaitShorterThanWait means trace_assembly.max_wait would end a hold before the quiet period could.
	ErrMaxWaitShorterThanWait = errors.New("must not be shorter than trace_assembly.wait")
	// ErrStorageWithoutAssembly means trace_assembly.storage is set while assembly is off, so nothing
	// would be stored.
	ErrStorageWithoutAssembly = errors.New("set, but trace assembly is off (trace_assembly.enabled is false, the default with protocol: otlp): nothing would be stored")
	// ErrMaxSpansNotPositive means trace_assembly.max_spans leaves no room to hold anything.
	ErrMaxSpansNotPositive = errors.New("must be positive")
	// ErrMaxBytesNotPositive means trace_assembly.max_bytes leaves no room to hold anything.
	ErrMaxBytesNotPositive = errors.New("must be positive")
)

// Config is the `trace_assembly` section of the exporter's configuration.
type Config struct {
	// Enabled turns assembly on. When off, the exporter hands each batch straight to the transform.
	Enabled bool `mapstructure:"enabled"`
	// Wait is the quiet period: a trace is emitted once no span of it arrived for Wait.
	Wait time.Duration `mapstructure:"wait"`
	// MaxWait caps how long one trace is held from its first span, for traces that never go quiet.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxSpans bounds the spans held. When exceeded, the oldest traces are emitted early, as they are;
	// nothing is dropped.
	MaxSpans int `mapstructure:"max_spans"`
	// MaxBytes bounds the bytes of the held spans, which are held encoded as OTLP protobuf. When
	// exceeded, the oldest traces are emitted early, as they are; nothing is dropped.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// Storage names a storage extension (e.g. file_storage). When set, held spans are written to it
	// before ConsumeTraces returns and deleted once handed on, and a start recovers what an earlier
	// run held: a crash loses nothing the receiver acknowledged.
	Storage *component.ID `mapstructure:"storage"`
}

// DefaultConfig returns assembly switched on with the default quiet period, cap and memory bound.
func DefaultConfig() Config {
	return Config{Enabled: true, Wait: DefaultWait, MaxWait: DefaultMaxWait, MaxSpans: DefaultMaxSpans, MaxBytes: DefaultMaxBytes}
}

// Validate reports every bad setting at once, naming its configuration key. A disabled section is not
// checked, so switching assembly off never makes a configuration invalid.
func (c Config) Validate() error {
	if !c.Enabled {
		if c.Storage != nil {
			// A user who asked for held spans on disk would otherwise believe them safe.
			return fmt.Errorf("trace_assembly.storage %s: %w", c.Storage, ErrStorageWithoutAssembly)
		}
		return nil
	}
	var errs []error
	if c.Wait <= 0 {
		errs = append(errs, fmt.Errorf("trace_assembly.wait %s: %w", c.Wait, ErrWaitNotPositive))
	}
	if err := durations.AtLeast("trace_assembly.wait", c.Wait, MinWait); err != nil {
		errs = append(errs, err)
	}
	if c.MaxWait < c.Wait {
		errs = append(errs, fmt.Errorf("trace_assembly.max_wait %s (trace_assembly.wait is %s): %w",
			c.MaxWait, c.Wait, ErrMaxWaitShorterThanWait))
	}
	if c.MaxSpans <= 0 {
		errs = append(errs, fmt.Errorf("trace_assembly.max_spans %d: %w", c.MaxSpans, ErrMaxSpansNotPositive))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("trace_assembly.max_bytes %d: %w", c.MaxBytes, ErrMaxBytesNotPositive))
	}
	return errors.Join(errs...)
}
