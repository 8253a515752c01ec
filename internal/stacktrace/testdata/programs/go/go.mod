module example.com/shop

go 1.25

require go.opentelemetry.io/otel/sdk v1.47.0
