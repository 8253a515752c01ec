package assembly

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr []error
		wantMsg []string
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "disabled with nonsense is fine", mutate: func(c *Config) { *c = Config{Enabled: false, Wait: -1} }},
		{
			name: "storage without assembly",
			mutate: func(c *Config) {
				id := component.MustNewID("file_storage")
				*c = Config{Enabled: false, Storage: &id}
			},
			wantErr: []error{ErrStorageWithoutAssembly},
			wantMsg: []string{"trace_assembly.storage file_storage: set, but trace assembly is off"},
		},
		{
			name:    "zero wait",
			mutate:  func(c *Config) { c.Wait = 0 },
			wantErr: []error{ErrWaitNotPositive},
			wantMsg: []string{"trace_assembly.wait 0s"},
		},
		{
			name:    "bare number read as nanoseconds",
			mutate:  func(c *Config) { c.Wait = 5 },
			wantMsg: []string{"trace_assembly.wait 5ns: shorter than 100ms; did you mean 5s?"},
		},
		{
			name:    "max_wait shorter than wait",
			mutate:  func(c *Config) { c.MaxWait = time.Second },
			wantErr: []error{ErrMaxWaitShorterThanWait},
			wantMsg: []string{"trace_assembly.max_wait 1s (trace_assembly.wait is 5s)"},
		},
		{
			name:    "negative max_spans",
			mutate:  func(c *Config) { c.MaxSpans = -3 },
			wantErr: []error{ErrMaxSpansNotPositive},
			wantMsg: []string{"trace_assembly.max_spans -3"},
		},
		{
			name:    "zero max_bytes",
			mutate:  func(c *Config) { c.MaxBytes = 0 },
			wantErr: []error{ErrMaxBytesNotPositive},
			wantMsg: []string{"trace_assembly.max_bytes 0"},
		},
		{
			name:    "all wrong at once",
			mutate:  func(c *Config) { c.Wait, c.MaxWait, c.MaxSpans = -time.Second, -2*time.Second, 0 },
			wantErr: []error{ErrWaitNotPositive, ErrMaxWaitShorterThanWait, ErrMaxSpansNotPositive},
			wantMsg: []string{"trace_assembly.wait -1s", "trace_assembly.max_wait -2s", "trace_assembly.max_spans 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if len(tt.wantErr) == 0 && len(tt.wantMsg) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.ErrorIs(t, err, want)
			}
			for _, msg := range tt.wantMsg {
				assert.Contains(t, err.Error(), msg)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	assert.Equal(t, Config{Enabled: true, Wait: 5 * time.Second, MaxWait: 30 * time.Second, MaxSpans: 100_000, MaxBytes: 32 << 20}, DefaultConfig())
}
