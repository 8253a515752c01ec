// Package sanitize turns OTel attribute values into values Sentry keeps: typed, finite, valid UTF-8
// and within Sentry's size limits. Relay discards a whole transaction for one value it cannot take,
// so every repair here trades a detail of one value for the rest of the event, and is counted.
package sanitize

import (
	"encoding/base64"
	"math"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Limits on what one value may carry. Sentry trims or drops larger values itself; trimming here
// keeps events below its 1 MiB limit and says so in a counter instead of losing the event.
const (
	// MaxStringBytes bounds one string value in span data or contexts.
	MaxStringBytes = 8192
	// MaxArrayItems bounds one array value.
	MaxArrayItems = 256
	// MaxMapEntries bounds one map value, and the attributes taken from one span or resource.
	MaxMapEntries = 256
	// MaxDepth bounds nesting of maps and arrays.
	MaxDepth = 8
)

// Kind names a repair, as the exporter's sentry_exporter_repairs metric reports it.
type Kind int

// Repair kinds.
const (
	InvalidID Kind = iota
	EndBeforeStart
	TimestampOutOfRange
	NonFiniteNumber
	Truncated
	DuplicateSpanID
	ParentCycle
	EmptyName
	InvalidUTF8
	numKinds
)

var kindNames = [numKinds]string{
	"invalid_id", "end_before_start", "timestamp_out_of_range", "non_finite_number", "truncated",
	"duplicate_span_id", "parent_cycle", "empty_name", "invalid_utf8",
}

// String is the kind's metric attribute value.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "unknown"
	}
	return kindNames[k]
}

// Counts holds how many repairs of each kind one batch needed. The zero value is ready to use.
type Counts [numKinds]int

// Add counts one repair of kind k.
func (c *Counts) Add(k Kind) { c[k]++ }

// Merge adds other's counts to c.
func (c *Counts) Merge(other *Counts) {
	for i := range c {
		c[i] += other[i]
	}
}

// Total is the number of repairs of all kinds.
func (c *Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Each calls f for every kind with a non-zero count.
func (c *Counts) Each(f func(Kind, int)) {
	for k, v := range c {
		if v > 0 {
			f(Kind(k), v)
		}
	}
}

// String makes s valid UTF-8 and at most max bytes long, cutting on a rune boundary.
func String(s string, max int, counts *Counts) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		counts.Add(InvalidUTF8)
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		counts.Add(Truncated)
	}
	return s
}

// Value converts v to the Go value Sentry's JSON should carry, keeping its type: strings, int64,
// float64, bool, []any and map[string]any. NaN and infinities, which JSON cannot carry, become the
// strings "NaN", "+Inf" and "-Inf"; bytes become base64 text.
func Value(v pcommon.Value, counts *Counts) any {
	return value(v, counts, 0)
}

func value(v pcommon.Value, counts *Counts, depth int) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return String(v.Str(), MaxStringBytes, counts)
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return Float(v.Double(), counts)
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		if base64.StdEncoding.EncodedLen(len(raw)) > MaxStringBytes {
			raw = raw[:base64.StdEncoding.DecodedLen(MaxStringBytes)]
			counts.Add(Truncated)
		}
		return base64.StdEncoding.EncodeToString(raw)
	case pcommon.ValueTypeSlice:
		if depth >= MaxDepth {
			counts.Add(Truncated)
			return nil
		}
		s := v.Slice()
		n := s.Len()
		if n > MaxArrayItems {
			n = MaxArrayItems
			counts.Add(Truncated)
		}
		out := make([]any, n)
		for i := range n {
			out[i] = value(s.At(i), counts, depth+1)
		}
		return out
	case pcommon.ValueTypeMap:
		if depth >= MaxDepth {
			counts.Add(Truncated)
			return nil
		}
		return mapValue(v.Map(), counts, depth+1, "")
	default:
		return nil
	}
}

// Map converts an attribute map, leaving out keys that start with skipPrefix (internal markers; ""
// skips nothing) and keeping at most MaxMapEntries entries. It returns nil for an empty map.
func Map(m pcommon.Map, skipPrefix string, counts *Counts) map[string]any {
	if m.Len() == 0 {
		return nil
	}
	return mapValue(m, counts, 0, skipPrefix)
}

func mapValue(m pcommon.Map, counts *Counts, depth int, skipPrefix string) map[string]any {
	out := make(map[string]any, min(m.Len(), MaxMapEntries))
	m.Range(func(k string, v pcommon.Value) bool {
		if skipPrefix != "" && strings.HasPrefix(k, skipPrefix) {
			return true
		}
		if len(out) >= MaxMapEntries {
			counts.Add(Truncated)
			return false
		}
		out[String(k, 256, counts)] = value(v, counts, depth)
		return true
	})
	return out
}

// Float returns f, or a string naming it when JSON cannot carry it.
func Float(f float64, counts *Counts) any {
	switch {
	case math.IsNaN(f):
		counts.Add(NonFiniteNumber)
		return "NaN"
	case math.IsInf(f, 1):
		counts.Add(NonFiniteNumber)
		return "+Inf"
	case math.IsInf(f, -1):
		counts.Add(NonFiniteNumber)
		return "-Inf"
	}
	return f
}
