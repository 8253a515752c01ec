package sentrylogs

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsentry/sentryexporter/internal/jsonwrite"
)

// The encoder below is append-style: every function takes the output buffer and returns it extended, so one
// buffer serves a whole batch and the hot path neither reflects nor allocates per value.

// ellipsis marks a cut string, so that a reader in Sentry sees the value was shortened rather than wrong.
const ellipsis = "…"

// maxNesting bounds how deep maps and arrays are rendered as JSON text. pdata values can nest without limit;
// deeper levels become null rather than recursing further.
const maxNesting = 32

// appendString writes s as a JSON string whose text (after invalid UTF-8 became U+FFFD) is at most limit
// bytes. A longer s is cut at a character boundary and ends in "…" within the limit; the second result says
// so. The output always parses: control characters, quotes and backslashes are escaped, and so are U+2028 and
// U+2029, which are valid JSON but break JavaScript consumers.
func appendString(dst []byte, s string, limit int) ([]byte, bool) {
	truncated := false
	if n := textLen(s); n > limit {
		s = s[:cutIndex(s, limit-len(ellipsis))]
		truncated = true
	}
	dst = jsonwrite.AppendString(dst, s)
	if truncated {
		// The ellipsis goes inside the closing quote; it needs no escaping.
		dst = append(dst[:len(dst)-1], ellipsis...)
		dst = append(dst, '"')
	}
	return dst, truncated
}

// appendBytesString is appendString for text held in a scratch buffer. The string view is only read while b
// is not modified, which is what makes the zero-copy conversion safe.
func appendBytesString(dst, b []byte, limit int) ([]byte, bool) {
	return appendString(dst, unsafe.String(unsafe.SliceData(b), len(b)), limit)
}

// textLen is the length in bytes of s once every invalid UTF-8 byte became U+FFFD (3 bytes).
func textLen(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += len("\ufffd")
		} else {
			n += size
		}
		i += size
	}
	return n
}

// cutIndex is the largest index of s at a character boundary whose prefix, as text, fits in limit bytes.
func cutIndex(s string, limit int) int {
	if limit <= 0 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		width := size
		if r == utf8.RuneError && size == 1 {
			width = len("\ufffd")
		}
		if n+width > limit {
			return i
		}
		n += width
		i += size
	}
	return len(s)
}

// appendTimestamp writes unix nanoseconds as a JSON number of seconds with up to nine exact decimals. Doing
// it in integers keeps the nanoseconds a float64 cannot hold and never prints an exponent.
func appendTimestamp(dst []byte, nanos uint64) []byte {
	dst = strconv.AppendUint(dst, nanos/1e9, 10)
	frac := nanos % 1e9
	var digits [10]byte
	digits[0] = '.'
	for i := 9; i >= 1; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := 10
	for end > 2 && digits[end-1] == '0' {
		end--
	}
	return append(dst, digits[:end]...)
}

// nonFinite names NaN and the infinities, which JSON numbers cannot express.
func nonFinite(f float64) (string, bool) {
	switch {
	case math.IsNaN(f):
		return "NaN", true
	case math.IsInf(f, 1):
		return "+Inf", true
	case math.IsInf(f, -1):
		return "-Inf", true
	}
	return "", false
}

// appendText writes v as plain text, the way a body or a string attribute shows it: strings as they are,
// numbers and booleans in their JSON spelling, bytes in base64, maps and arrays as compact JSON. Rendering
// stops early once more than limit bytes are written, since the caller cuts at limit anyway.
func appendText(dst []byte, v pcommon.Value, limit int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return append(dst, v.Str()...)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		if name, ok := nonFinite(v.Double()); ok {
			return append(dst, name...)
		}
		return jsonwrite.AppendFloat(dst, v.Double(), 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendBase64(dst, v.Bytes(), limit)
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return appendJSON(dst, v, len(dst)+limit, 0)
	default:
		return dst
	}
}

// appendBase64 writes standard base64 of b, stopping after about limit bytes of output.
func appendBase64(dst []byte, b pcommon.ByteSlice, limit int) []byte {
	raw := b.AsRaw()
	if max := (limit/4 + 1) * 3; len(raw) > max {
		raw = raw[:max]
	}
	return base64.StdEncoding.AppendEncode(dst, raw)
}

// appendJSON writes v as compact JSON. Once dst is longer than stop, or nesting exceeds maxNesting, the rest is
// left out (null in place of a value); the result is cut by the caller and never parsed as JSON again.
func appendJSON(dst []byte, v pcommon.Value, stop, depth int) []byte {
	if len(dst) > stop || depth > maxNesting {
		return append(dst, "null"...)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		// No need to write more of a long string than fits before stop: the caller cuts there.
		room := stop - len(dst)
		if room < math.MaxInt-len(ellipsis)-1 {
			room += len(ellipsis) + 1
		}
		dst, _ = appendString(dst, v.Str(), room)
		return dst
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		if name, ok := nonFinite(v.Double()); ok {
			dst, _ = appendString(dst, name, math.MaxInt)
			return dst
		}
		return jsonwrite.AppendFloat(dst, v.Double(), 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = appendBase64(dst, v.Bytes(), stop-len(dst))
		return append(dst, '"')
	case pcommon.ValueTypeMap:
		dst = append(dst, '{')
		first := true
		for k, item := range v.Map().All() {
			if len(dst) > stop {
				break
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst, _ = appendString(dst, k, math.MaxInt)
			dst = append(dst, ':')
			dst = appendJSON(dst, item, stop, depth+1)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		dst = append(dst, '[')
		s := v.Slice()
		for i := 0; i < s.Len() && len(dst) <= stop; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, s.At(i), stop, depth+1)
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}
