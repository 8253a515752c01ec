package sentryexporter

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelsentry/sentryexporter/internal/assembly"
	"github.com/otelsentry/sentryexporter/internal/durations"
	"github.com/otelsentry/sentryexporter/internal/resource"
)

// Config configures the Sentry exporter.
type Config struct {
	// DSN is the Sentry project's Data Source Name. It holds the public key, so it is opaque:
	// the collector prints it as [REDACTED] and no error of ours repeats it.
	DSN configopaque.String `mapstructure:"dsn"`

	// Protocol is how traces and logs reach Sentry: "transactions" (the default: envelopes of
	// transactions, error events and Sentry logs, for every Sentry version) or "otlp" (Sentry's OTLP
	// endpoints, batched; exceptions still become error events in envelopes). docs/protocols.md
	// compares them.
	Protocol string `mapstructure:"protocol"`

	// Environment is the Sentry environment used when a resource names none
	// (deployment.environment.name or deployment.environment win over it).
	Environment string `mapstructure:"environment"`

	// InsecureSkipVerify turns off TLS certificate verification. It is kept for configurations
	// written for the old contrib exporter; it is the same switch as http.tls.insecure_skip_verify
	// and, unlike the old exporter, keeps the proxy and every other setting of the http block.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`

	// ExceptionsAsErrors turns every span event named "exception" into a Sentry error event.
	ExceptionsAsErrors bool `mapstructure:"exceptions_as_errors"`

	// SendTransactions can be turned off to send only error events (issues) and no transactions (with
	// the otlp protocol: no spans).
	SendTransactions bool `mapstructure:"send_transactions"`

	// MaxRequestsInFlight bounds how many envelopes one batch sends at once. Sentry takes one
	// event per request, so requests run in parallel over kept-alive connections. Over all batches
	// and routed projects together, at most MaxRequestsInFlight times the queue's consumers.
	MaxRequestsInFlight int `mapstructure:"max_requests_in_flight"`

	// TraceAssembly holds spans per trace until the trace goes quiet, so that traces cut across
	// batches still become one transaction per service entry.
	TraceAssembly assembly.Config `mapstructure:"trace_assembly"`

	// Routing sends each resource's data to the Sentry project named by one of its attributes.
	Routing RoutingConfig `mapstructure:"routing"`

	// ClientConfig is the HTTP client used to reach Sentry: timeout, proxy, headers, TLS, compression.
	// Its endpoint is derived from the DSN and must stay empty.
	ClientConfig confighttp.ClientConfig `mapstructure:"http"`

	// HTTPClientTelemetry keeps confighttp's otelhttp instrumentation of the HTTP client: a span and
	// http.client.* metrics per request. It is off by default: Sentry takes one event per request,
	// and the instrumentation cost 15% of the exporter's throughput (34 allocations and about 12 µs a
	// request, BenchmarkRequest), for metrics the collector drops unless its metrics level is
	// detailed. The exporter's own metrics count requests by status code, their duration and bytes.
	HTTPClientTelemetry bool `mapstructure:"http_client_telemetry"`

	// QueueConfig is the exporterhelper sending queue (in memory or persistent through storage).
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// BackOffConfig is how failed envelopes are retried; rate-limited ones wait for Sentry's deadline.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// TimeoutConfig bounds one push (all envelopes of one batch).
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`
}

// RoutingConfig maps a resource attribute's values to Sentry projects, so one collector can serve
// many services that each have their own project.
type RoutingConfig struct {
	// Attribute is the resource attribute whose value selects the project (default service.name).
	Attribute string `mapstructure:"attribute"`
	// DSNs maps attribute values, matched exactly, to project DSNs. Unmatched data goes to dsn.
	DSNs map[string]configopaque.String `mapstructure:"dsns"`
	// DropUnmatched drops (and counts) data whose value matches no entry instead of sending it to dsn.
	DropUnmatched bool `mapstructure:"drop_unmatched"`
}

var _ component.Config = (*Config)(nil)

// Configuration errors. Each names the key at fault so that the collector's startup message
// points the user at the line to fix.
var (
	errDSNMissing       = errors.New("dsn: required; set it to the project's DSN from Sentry's project settings (Client Keys)")
	errEndpointSet      = errors.New("http.endpoint: must be empty; the endpoint is derived from dsn")
	errRequestsInFlight = errors.New("max_requests_in_flight: must be at least 1")
	errRoutingAttribute = errors.New("routing.attribute: required when routing.dsns is set")
	errRoutingNoDSNs    = errors.New("routing.drop_unmatched: set, but routing.dsns is empty: everything would be dropped")
	errNothingToSend    = errors.New("send_transactions and exceptions_as_errors are both false: the exporter would send nothing")
	errProtocol         = errors.New(`protocol: must be "transactions" or "otlp"`)
)

// The protocols of the protocol setting.
const (
	protocolTransactions = "transactions"
	protocolOTLP         = "otlp"
)

// otlp reports whether traces and logs go to Sentry's OTLP endpoints.
func (cfg *Config) otlp() bool { return cfg.Protocol == protocolOTLP }

// Unmarshal reads the configuration and then turns trace assembly off by default in the otlp
// protocol, where Sentry assembles segments from spans itself; an explicit trace_assembly.enabled
// is kept.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	if cfg.otlp() && !conf.IsSet("trace_assembly::enabled") {
		cfg.TraceAssembly.Enabled = false
	}
	return nil
}

// Validate checks the configuration at startup.
func (cfg *Config) Validate() error {
	var errs []error
	routed := len(cfg.Routing.DSNs) > 0
	if cfg.Protocol != protocolTransactions && cfg.Protocol != protocolOTLP {
		errs = append(errs, errProtocol)
	}
	if !routed || !cfg.Routing.DropUnmatched || cfg.DSN != "" {
		// dsn may be left out only when every resource is routed and the rest dropped.
		if _, err := parseDSN("dsn", string(cfg.DSN)); err != nil {
			errs = append(errs, err)
		}
	}
	if routed && cfg.Routing.Attribute == "" {
		errs = append(errs, errRoutingAttribute)
	}
	if !routed && cfg.Routing.DropUnmatched {
		errs = append(errs, errRoutingNoDSNs)
	}
	for _, value := range slices.Sorted(maps.Keys(cfg.Routing.DSNs)) {
		if _, err := parseDSN("routing.dsns."+value, string(cfg.Routing.DSNs[value])); err != nil {
			errs = append(errs, err)
		}
	}
	if err := resource.CheckEnvironment(cfg.Environment); err != nil {
		errs = append(errs, fmt.Errorf("environment: %w", err))
	}
	if cfg.ClientConfig.Endpoint != "" {
		errs = append(errs, errEndpointSet)
	}
	if cfg.MaxRequestsInFlight < 1 {
		errs = append(errs, errRequestsInFlight)
	}
	if err := validateCompression(cfg.ClientConfig.Compression); err != nil {
		errs = append(errs, err)
	}
	if !cfg.SendTransactions && !cfg.ExceptionsAsErrors {
		errs = append(errs, errNothingToSend)
	}
	errs = append(errs, cfg.validateDurations()...)
	return errors.Join(errs...)
}

// Floors of the durations validateDurations checks.
const (
	// minTimeout is below one round trip to Sentry: every request would time out.
	minTimeout = 100 * time.Millisecond
	// minRetryInterval catches a bare number (nanoseconds), which would retry in a tight loop.
	minRetryInterval = time.Millisecond
)

// validateDurations refuses durations too short to mean what they say, above all a bare number, which
// the collector reads as nanoseconds (timeout: 30 is 30ns). Zero keeps its meaning (no limit).
func (cfg *Config) validateDurations() []error {
	type check struct {
		key      string
		d, floor time.Duration
	}
	checks := []check{
		{"timeout", cfg.TimeoutConfig.Timeout, minTimeout},
		{"http.timeout", cfg.ClientConfig.Timeout, minTimeout},
	}
	if retry := cfg.BackOffConfig; retry.Enabled {
		checks = append(checks,
			check{"retry_on_failure.initial_interval", retry.InitialInterval, minRetryInterval},
			check{"retry_on_failure.max_interval", retry.MaxInterval, minRetryInterval},
			check{"retry_on_failure.max_elapsed_time", retry.MaxElapsedTime, minTimeout})
	}
	var errs []error
	for _, c := range checks {
		if err := durations.AtLeast(c.key, c.d, c.floor); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// parseDSN parses a DSN the way Sentry does; key names the setting in errors. Its errors never
// contain the DSN itself: the public key is a credential.
func parseDSN(key, raw string) (*sentry.Dsn, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if key == "dsn" {
			return nil, errDSNMissing
		}
		return nil, fmt.Errorf("%s: empty", key)
	}
	// url.Parse errors quote the whole input, key included, so they are replaced by a plain message.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid URL (expected {scheme}://{public_key}@{host}[:{port}][/{path}]/{project_id})", key)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%s: scheme must be http or https", key)
	case u.User.Username() == "":
		return nil, fmt.Errorf("%s: missing the public key (the part before @)", key)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%s: missing the host", key)
	case strings.Trim(u.Path, "/") == "":
		return nil, fmt.Errorf("%s: missing the project id (the last path segment)", key)
	}
	dsn, err := sentry.NewDsn(raw)
	if err != nil {
		// sentry-go's messages are fixed texts ("invalid port", ...), safe to show.
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	for _, c := range dsn.GetProjectID() {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%s: project id (the last path segment) must be a number", key)
		}
	}
	return dsn, nil
}

// validateCompression allows the encodings Sentry's ingestion decodes; confighttp offers more
// (snappy, lz4, zlib) that Sentry would refuse.
func validateCompression(c configcompression.Type) error {
	switch c {
	case "", "none", configcompression.TypeGzip, configcompression.TypeDeflate, configcompression.TypeZstd:
		return nil
	}
	return fmt.Errorf("http.compression: %q is not accepted by Sentry; use gzip, deflate, zstd or none", string(c))
}
