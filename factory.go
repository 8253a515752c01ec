package sentryexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelsentry/sentryexporter/internal/metadata"
)

// Defaults chosen for Sentry's ingestion: one request per event means many small requests, so
// several run at once over kept-alive connections.
const (
	defaultRequestsInFlight = 8
	defaultHTTPTimeout      = 10 * time.Second
	defaultPushTimeout      = 30 * time.Second
	defaultIdleConnsPerHost = 32
)

// NewFactory returns the factory of the "sentry" exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultHTTPTimeout
	client.Compression = configcompression.TypeGzip
	keepalive := confighttp.NewDefaultKeepaliveClientConfig()
	keepalive.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	client.Keepalive = configoptional.Some(keepalive)

	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = defaultPushTimeout
	return &Config{
		ExceptionsAsErrors:  true,
		SendTransactions:    true,
		MaxRequestsInFlight: defaultRequestsInFlight,
		Routing:             RoutingConfig{Attribute: "service.name"},
		ClientConfig:        client,
		QueueConfig:         configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig:       configretry.NewDefaultBackOffConfig(),
		TimeoutConfig:       timeout,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	exp, err := newSentryExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewTraces(ctx, set, cfg, exp.pushTraces,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
