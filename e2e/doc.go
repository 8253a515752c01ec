// Package e2e is the end-to-end test of the exporter inside a real collector: it builds otelcol-sentry
// with ocb from builder-config.yaml, runs it against the fake Sentry of internal/sentrytest and checks
// what arrives. The tests carry the e2e build tag (they build and start processes):
//
//	make e2e    # go test -count=1 -tags e2e ./e2e/...
//
// The collector binary in .build/otelcol-sentry is reused while it is newer than every .go file, go.mod,
// go.sum and builder-config.yaml of the repository, and rebuilt otherwise.
//
// TestDocCollectorBuild follows docs/collector-build.md literally instead: in a fresh temporary
// directory it runs the page's marked code blocks (ocb install, manifest, build, start) and sends
// traces through the collector it built with examples/collector.yaml. That is a second ocb build,
// about 1.5 minutes on 2 cores with warm Go caches.
//
// TestTwoTier runs docs/scale-out.md's two tiers: tier 1 (examples/two-tier/tier1.yaml, contrib's
// load_balancing exporter by trace id) from its own ocb build of examples/two-tier/tier1-builder-config.yaml
// (v0.161.0, cached in .build/otelcol-tier1 and rebuilt only when the manifest's hash changes, about
// 3 minutes cold), in front of three otelcol-sentry collectors running examples/two-tier/tier2.yaml, and
// restarts one of them mid-run. TestTwoTierThroughput (E2E_THROUGHPUT=1 only) measures one against three.
package e2e
