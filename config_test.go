package sentryexporter

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelsentry/sentryexporter/internal/metadata"
)

// secretKey is the DSN public key used in the test configurations; no message may contain it.
const secretKey = "abc123public"

func loadConfig(t *testing.T, file, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, "config.yaml", "")
	require.NoError(t, err)
	assert.Equal(t, "https://abc123public@o42.ingest.sentry.io/4500000000000001", string(cfg.DSN))
	assert.True(t, cfg.ExceptionsAsErrors, "exceptions become issues by default")
	assert.True(t, cfg.SendTransactions)
	assert.Equal(t, 8, cfg.MaxRequestsInFlight)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	assert.True(t, cfg.QueueConfig.HasValue(), "the sending queue is on by default")
	assert.True(t, cfg.BackOffConfig.Enabled, "retries are on by default")
	assert.True(t, cfg.TraceAssembly.Enabled, "trace assembly is on by default")
	assert.Equal(t, 5*time.Second, cfg.TraceAssembly.Wait)
	assert.Equal(t, "service.name", cfg.Routing.Attribute)
	assert.Equal(t, "transactions", cfg.Protocol, "the transactions protocol by default")

	full, err := loadConfig(t, "config.yaml", "full")
	require.NoError(t, err)
	assert.Equal(t, "staging", full.Environment)
	assert.Equal(t, "otlp", full.Protocol)
	assert.True(t, full.InsecureSkipVerify)
	assert.False(t, full.ExceptionsAsErrors)
	assert.Equal(t, 4, full.MaxRequestsInFlight)
	assert.True(t, full.HTTPClientTelemetry)
	assert.Equal(t, 12*time.Second, full.TimeoutConfig.Timeout)
	assert.True(t, full.TraceAssembly.Enabled, "an explicit trace_assembly.enabled wins over the otlp protocol's default")
	assert.Equal(t, 2*time.Second, full.TraceAssembly.Wait)
	assert.Equal(t, 20*time.Second, full.TraceAssembly.MaxWait)
	assert.Equal(t, 50000, full.TraceAssembly.MaxSpans)
	assert.Equal(t, int64(16<<20), full.TraceAssembly.MaxBytes)
	require.NotNil(t, full.TraceAssembly.Storage)
	assert.Equal(t, component.MustNewIDWithName("file_storage", "assembly"), *full.TraceAssembly.Storage)
	assert.Equal(t, int64(32<<20), cfg.TraceAssembly.MaxBytes, "max_bytes defaults to 32 MiB")
	assert.Nil(t, cfg.TraceAssembly.Storage, "held spans are in memory only by default")
	assert.Equal(t, "service.namespace", full.Routing.Attribute)
	assert.Len(t, full.Routing.DSNs, 1)
	assert.Equal(t, 3*time.Second, full.ClientConfig.Timeout)
	assert.Equal(t, "http://127.0.0.1:3128", full.ClientConfig.ProxyURL)
	assert.Equal(t, configcompression.TypeZstd, full.ClientConfig.Compression)
	assert.Equal(t, "testdata/ca.pem", full.ClientConfig.TLS.CAFile)
	assert.Equal(t, 3, full.QueueConfig.Get().NumConsumers)
	assert.Equal(t, int64(500), full.QueueConfig.Get().QueueSize)
	assert.Equal(t, 2*time.Minute, full.BackOffConfig.MaxElapsedTime)

	dsn, err := parseDSN("dsn", string(full.DSN))
	require.NoError(t, err)
	assert.Equal(t, "https://sentry.example.com:9000/sentry/api/7/envelope/", dsn.GetAPIURL().String(),
		"a self-hosted DSN keeps its port and path prefix")
}

func TestConfigRedactsDSN(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, "config.yaml", "")
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v", cfg.DSN, *cfg), secretKey)
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, want string }{
		{"bad_missing_dsn.yaml", "dsn: required; set it to the project's DSN from Sentry's project settings (Client Keys)"},
		{"bad_dsn_scheme.yaml", "dsn: scheme must be http or https"},
		{"bad_dsn_no_key.yaml", "dsn: missing the public key (the part before @)"},
		{"bad_dsn_no_project.yaml", "dsn: missing the project id (the last path segment)"},
		{"bad_dsn_project_not_number.yaml", "dsn: project id (the last path segment) must be a number"},
		{"bad_dsn_not_url.yaml", "dsn: not a valid URL (expected {scheme}://{public_key}@{host}[:{port}][/{path}]/{project_id})"},
		{"bad_environment_too_long.yaml", "environment: longer than 64 bytes, which Sentry rejects"},
		{"bad_environment_slash.yaml", `environment: must not contain "/", "\" or a control character such as a newline or tab, which Sentry rejects`},
		{"bad_environment_newline.yaml", `environment: must not contain "/", "\" or a control character such as a newline or tab, which Sentry rejects`},
		{"bad_environment_none.yaml", `environment: ".", ".." and "None" (in any case) are reserved by Sentry`},
		{"bad_endpoint_set.yaml", "http.endpoint: must be empty; the endpoint is derived from dsn"},
		{"bad_compression.yaml", `http.compression: "snappy" is not accepted by Sentry; use gzip, deflate, zstd or none`},
		{"bad_requests_in_flight.yaml", "max_requests_in_flight: must be at least 1"},
		{"bad_routing_attribute.yaml", "routing.attribute: required when routing.dsns is set"},
		{"bad_routing_dsn.yaml", "routing.dsns.checkout: missing the public key (the part before @)"},
		{"bad_routing_drop_without_dsns.yaml", "routing.drop_unmatched: set, but routing.dsns is empty: everything would be dropped"},
		{"bad_trace_assembly.yaml", "trace_assembly: trace_assembly.wait 0s: must be positive\ntrace_assembly.max_spans 0: must be positive\ntrace_assembly.max_bytes -1: must be positive"},
		{"bad_durations.yaml", "timeout 30ns: shorter than 100ms; did you mean 30s?\nhttp.timeout 50ms: shorter than 100ms\n" +
			"retry_on_failure.initial_interval 5ns: shorter than 1ms; did you mean 5s?\n" +
			"trace_assembly: trace_assembly.wait 5ns: shorter than 100ms; did you mean 5s?"},
		{"bad_nothing_to_send.yaml", "send_transactions and exceptions_as_errors are both false: the exporter would send nothing"},
		{"bad_protocol.yaml", `protocol: must be "transactions" or "otlp"`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(t, tc.file, "")
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.NotContains(t, err.Error(), secretKey, "the DSN's key must not appear in errors")
		})
	}
}
