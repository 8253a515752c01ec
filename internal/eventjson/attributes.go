package eventjson

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// AppendAttributes writes OTel attributes as the members of a JSON object (no braces, each member
// preceded by a comma unless first is true) with their types kept and sanitize's repairs applied
// and counted: the same values sanitize.Map would produce, written without building a map. Keys
// with skipPrefix are left out ("" skips none), and so are keys for which skip reports true.
// It returns the extended slice and whether a member was written.
func AppendAttributes(dst []byte, m pcommon.Map, skipPrefix string, skip func(string) bool, first bool, counts *sanitize.Counts) ([]byte, bool) {
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if skipPrefix != "" && strings.HasPrefix(k, skipPrefix) {
			return true
		}
		if skip != nil && skip(k) {
			return true
		}
		if n >= sanitize.MaxMapEntries {
			counts.Add(sanitize.Truncated)
			return false
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendSanitizedString(dst, k, 256, counts)
		dst = append(dst, ':')
		dst = AppendValue(dst, v, counts)
		n++
		return true
	})
	return dst, !first
}

// AppendValue writes one OTel value as JSON, repaired like sanitize.Value.
func AppendValue(dst []byte, v pcommon.Value, counts *sanitize.Counts) []byte {
	return appendValue(dst, v, counts, 0)
}

func appendValue(dst []byte, v pcommon.Value, counts *sanitize.Counts, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendSanitizedString(dst, v.Str(), sanitize.MaxStringBytes, counts)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			counts.Add(sanitize.NonFiniteNumber) // AppendFloat writes "NaN", "+Inf", "-Inf"
		}
		return jsonwrite.AppendFloat(dst, f, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		if base64.StdEncoding.EncodedLen(len(raw)) > sanitize.MaxStringBytes {
			raw = raw[:base64.StdEncoding.DecodedLen(sanitize.MaxStringBytes)]
			counts.Add(sanitize.Truncated)
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, raw)
		return append(dst, '"')
	case pcommon.ValueTypeSlice:
		if depth >= sanitize.MaxDepth {
			counts.Add(sanitize.Truncated)
			return append(dst, "null"...)
		}
		s := v.Slice()
		n := s.Len()
		if n > sanitize.MaxArrayItems {
			n = sanitize.MaxArrayItems
			counts.Add(sanitize.Truncated)
		}
		dst = append(dst, '[')
		for i := range n {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, s.At(i), counts, depth+1)
		}
		return append(dst, ']')
	case pcommon.ValueTypeMap:
		if depth >= sanitize.MaxDepth {
			counts.Add(sanitize.Truncated)
			return append(dst, "null"...)
		}
		dst = append(dst, '{')
		dst = appendNested(dst, v.Map(), counts, depth+1)
		return append(dst, '}')
	default:
		return append(dst, "null"...)
	}
}

// appendNested writes a nested map's members, bounded like the top level.
func appendNested(dst []byte, m pcommon.Map, counts *sanitize.Counts, depth int) []byte {
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if n >= sanitize.MaxMapEntries {
			counts.Add(sanitize.Truncated)
			return false
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendSanitizedString(dst, k, 256, counts)
		dst = append(dst, ':')
		dst = appendValue(dst, v, counts, depth)
		n++
		return true
	})
	return dst
}

// appendSanitizedString writes s as a JSON string cut to max bytes on a rune boundary, counting the
// repairs sanitize.String would count. It allocates only when s is invalid UTF-8.
func appendSanitizedString(dst []byte, s string, max int, counts *sanitize.Counts) []byte {
	if !utf8.ValidString(s) {
		s = sanitize.String(s, max, counts)
		return jsonwrite.AppendString(dst, s)
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		counts.Add(sanitize.Truncated)
	}
	return jsonwrite.AppendString(dst, s)
}
