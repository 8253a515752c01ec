package sanitize

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		max            int
		kinds          []Kind
	}{
		{"kept", "hello", "hello", 10, nil},
		{"cut at limit", "hello world", "hello", 5, []Kind{Truncated}},
		{"cut on rune boundary", "aé", "a", 2, []Kind{Truncated}},
		{"invalid utf8 replaced", "a\xffb", "a\uFFFDb", 10, []Kind{InvalidUTF8}},
		{"both", "\xff" + strings.Repeat("x", 10), "\uFFFDxx", 5, []Kind{InvalidUTF8, Truncated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c Counts
			assert.Equal(t, tc.want, String(tc.in, tc.max, &c))
			var want Counts
			for _, k := range tc.kinds {
				want.Add(k)
			}
			assert.Equal(t, want, c)
		})
	}
}

func TestValueKeepsTypesAndRepairs(t *testing.T) {
	t.Parallel()
	m := pcommon.NewMap()
	m.PutStr("s", "text")
	m.PutInt("i", 42)
	m.PutDouble("f", 1.5)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("inf", math.Inf(1))
	m.PutBool("b", true)
	m.PutEmptyBytes("bytes").FromRaw([]byte{1, 2, 3})
	inner := m.PutEmptyMap("map")
	inner.PutStr("k", "v")
	arr := m.PutEmptySlice("arr")
	arr.AppendEmpty().SetInt(1)
	arr.AppendEmpty().SetStr("two")
	m.PutStr("skip-me", "x")
	m.PutEmpty("empty")

	var c Counts
	got := Map(m, "skip-me", &c)
	assert.Equal(t, map[string]any{
		"s": "text", "i": int64(42), "f": 1.5, "nan": "NaN", "inf": "+Inf", "b": true,
		"bytes": "AQID", "map": map[string]any{"k": "v"}, "arr": []any{int64(1), "two"}, "empty": nil,
	}, got)
	assert.Equal(t, 2, c[NonFiniteNumber])
	assert.Equal(t, 2, c.Total())
}

func TestValueBoundsSizeAndDepth(t *testing.T) {
	t.Parallel()
	m := pcommon.NewMap()
	for i := range MaxMapEntries + 10 {
		m.PutInt(strings.Repeat("k", 1+i%5)+string(rune('a'+i%26))+string(rune('a'+i/26%26)), int64(i))
	}
	var c Counts
	assert.Len(t, Map(m, "", &c), MaxMapEntries)
	assert.Positive(t, c[Truncated])

	deep := pcommon.NewValueEmpty()
	cur := deep.SetEmptyMap()
	for range MaxDepth + 3 {
		cur = cur.PutEmptyMap("d")
	}
	c = Counts{}
	v := Value(deep, &c)
	depth := 0
	for v != nil {
		mm, ok := v.(map[string]any)
		if !ok {
			break
		}
		v = mm["d"]
		depth++
	}
	assert.LessOrEqual(t, depth, MaxDepth+1)
	assert.Equal(t, 1, c[Truncated])

	big := pcommon.NewValueEmpty()
	big.SetEmptyBytes().FromRaw(make([]byte, MaxStringBytes))
	c = Counts{}
	assert.LessOrEqual(t, len(Value(big, &c).(string)), MaxStringBytes)
	assert.Equal(t, 1, c[Truncated])
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "invalid_id", InvalidID.String())
	assert.Equal(t, "invalid_utf8", InvalidUTF8.String())
	assert.Equal(t, "unknown", Kind(99).String())
	var c Counts
	c.Add(Truncated)
	c.Add(Truncated)
	other := Counts{}
	other.Add(ParentCycle)
	c.Merge(&other)
	seen := map[Kind]int{}
	c.Each(func(k Kind, n int) { seen[k] = n })
	assert.Equal(t, map[Kind]int{Truncated: 2, ParentCycle: 1}, seen)
}
