package durations

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAtLeast(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{-time.Second, ""},
		{100 * time.Millisecond, ""},
		{time.Hour, ""},
		{5, "trace_assembly.wait 5ns: shorter than 100ms; did you mean 5s?"},
		{30, "trace_assembly.wait 30ns: shorter than 100ms; did you mean 30s?"},
		{50 * time.Millisecond, "trace_assembly.wait 50ms: shorter than 100ms"},
	} {
		err := AtLeast("trace_assembly.wait", tt.d, 100*time.Millisecond)
		if tt.want == "" {
			assert.NoError(t, err, "%s", tt.d)
		} else {
			assert.EqualError(t, err, tt.want)
		}
	}
}
