package jsonwrite

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for i, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"ünïcödé ✓ 日本語 🚀", "bad utf8 \xff\xfe end", "\xc3", "line\u2028sep\u2029", "<html>&amp;",
	} {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			got := AppendString(nil, s)
			var decoded string
			require.NoError(t, json.Unmarshal(got, &decoded), "output %q must parse", got)
			want, err := json.Marshal(s)
			require.NoError(t, err)
			var wantDecoded string
			require.NoError(t, json.Unmarshal(want, &wantDecoded))
			assert.Equal(t, wantDecoded, decoded)
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "日本", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var decoded string
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("AppendString(%q) = %q does not parse: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantDecoded string
		_ = json.Unmarshal(want, &wantDecoded)
		if decoded != wantDecoded {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json to %q", s, decoded, wantDecoded)
		}
	})
}

func TestAppendFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0"},
		{1, 64, "1"},
		{-0.5, 64, "-0.5"},
		{1e20, 64, "100000000000000000000"},
		{1e21, 64, "1e+21"},
		{1e-6, 64, "0.000001"},
		{1e-7, 64, "1e-7"},
		{1.5e-300, 64, "1.5e-300"},
		{float64(float32(0.1)), 32, "0.1"},
		{math.NaN(), 64, `"NaN"`},
		{math.Inf(1), 64, `"+Inf"`},
		{math.Inf(-1), 32, `"-Inf"`},
	}
	for _, tt := range tests {
		got := string(AppendFloat(nil, tt.f, tt.bits))
		assert.Equal(t, tt.want, got, "%v", tt.f)
		if !math.IsNaN(tt.f) && !math.IsInf(tt.f, 0) {
			var want []byte
			var err error
			if tt.bits == 32 {
				want, err = json.Marshal(float32(tt.f))
			} else {
				want, err = json.Marshal(tt.f)
			}
			require.NoError(t, err)
			assert.Equal(t, string(want), got, "encoding/json agrees on %v", tt.f)
		}
	}
}

func TestAppendHex(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"00ff10ab"`, string(AppendHex(nil, []byte{0x00, 0xff, 0x10, 0xab})))
	assert.Equal(t, `x""`, string(AppendHex([]byte("x"), nil)))
}
