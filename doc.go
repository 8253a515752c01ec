// Package sentryexporter exports OpenTelemetry traces to Sentry as transactions and error events,
// delivered as Sentry envelopes with retries, rate-limit handling and per-item accounting.
//
// mdatagen names the package after the checkout's directory, which is not always "sentryexporter",
// so the second directive puts the right package clause back into the generated root files.
// mdatagen v0.161 writes no Go constants for the telemetry attributes' enum values; attrgen
// (internal/tools/attrgen) writes them into internal/metadata/generated_attributes.go.
//
//go:generate go tool -modfile=internal/tools/go.mod mdatagen metadata.yaml
//go:generate sed -i "s/^package .*/package sentryexporter/" generated_component_test.go generated_package_test.go
//go:generate go run -C internal/tools ./attrgen ../../metadata.yaml ../../internal/metadata/generated_attributes.go
package sentryexporter
