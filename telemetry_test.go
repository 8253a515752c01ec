package sentryexporter

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelsentry/sentryexporter/internal/delivery"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
	"github.com/otelsentry/sentryexporter/internal/sending"
	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// declaredTelemetry is what metadata.yaml declares: each attribute's enum values (nil: any value
// of its type) and each metric's attributes.
type declaredTelemetry struct {
	enums   map[string][]string
	metrics map[string][]string
}

func loadDeclaredTelemetry(t *testing.T) declaredTelemetry {
	t.Helper()
	conf, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	d := declaredTelemetry{enums: map[string][]string{}, metrics: map[string][]string{}}
	attrs, ok := conf.Get("attributes").(map[string]any)
	require.True(t, ok, "metadata.yaml: attributes")
	for name, v := range attrs {
		var enum []string
		if values, ok := v.(map[string]any)["enum"].([]any); ok {
			for _, e := range values {
				enum = append(enum, e.(string))
			}
		}
		d.enums[name] = enum
	}
	metrics, ok := conf.Get("telemetry::metrics").(map[string]any)
	require.True(t, ok, "metadata.yaml: telemetry.metrics")
	for name, v := range metrics {
		var keys []string
		if list, ok := v.(map[string]any)["attributes"].([]any); ok {
			for _, k := range list {
				keys = append(keys, k.(string))
			}
		}
		d.metrics["otelcol_"+name] = keys
	}
	return d
}

// seenAttributes collects every attribute value on the exporter's own metrics, by key.
type seenAttributes struct {
	mu     sync.Mutex
	values map[string]map[string]bool
}

func (s *seenAttributes) add(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]map[string]bool{}
	}
	if s.values[key] == nil {
		s.values[key] = map[string]bool{}
	}
	s.values[key][value] = true
}

func (s *seenAttributes) sorted(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.values[key]))
}

// checkDeclared reads every data point of the exporter's metrics from tel and fails for an
// attribute the metric does not declare or a value outside the attribute's enum. It returns the
// values seen, by key.
func checkDeclared(t *testing.T, d declaredTelemetry, tel *componenttest.Telemetry, seen *seenAttributes) map[string][]string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	local := &seenAttributes{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "otelcol_sentry_exporter_") {
				continue // exporterhelper's metrics
			}
			keys, ok := d.metrics[m.Name]
			if !assert.True(t, ok, "metric %s is not in metadata.yaml", m.Name) {
				continue
			}
			for _, set := range attributeSets(m.Data) {
				for _, kv := range set.ToSlice() {
					key, value := string(kv.Key), kv.Value.String()
					if !assert.Contains(t, keys, key, "metric %s: attribute %s is not declared for it", m.Name, key) {
						continue
					}
					if enum := d.enums[key]; enum != nil {
						assert.Contains(t, enum, value, "metric %s: %s=%q is not in metadata.yaml's enum", m.Name, key, value)
					}
					local.add(key, value)
					seen.add(key, value)
				}
			}
		}
	}
	out := map[string][]string{}
	for key := range local.values {
		out[key] = local.sorted(key)
	}
	return out
}

func attributeSets(data metricdata.Aggregation) []attribute.Set {
	var sets []attribute.Set
	switch data := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Sum[float64]:
		for _, dp := range data.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range data.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, dp := range data.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	return sets
}

// TestMetricAttributeValuesAreDeclared drives every way the exporter drops data (and a repair and a
// success) and checks each attribute value the metrics carry against metadata.yaml: nothing
// undeclared is emitted, and every declared drop reason and category is emitted by some path.
func TestMetricAttributeValuesAreDeclared(t *testing.T) {
	t.Parallel()
	declared := loadDeclaredTelemetry(t)
	retriesOff := map[string]any{"retry_on_failure": map[string]any{"enabled": false}}
	withException := func() ptrace.Traces {
		b := newTraceBuilder()
		s := b.span("svc", "a", "a1", "", ptrace.SpanKindServer, "GET /a", 0, 10)
		ev := s.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "E")
		b.span("svc", "a", "a2", "a1", ptrace.SpanKindClient, "ends before it starts", 9, 1)
		return b.td
	}
	oneSpan := func() ptrace.Traces {
		b := newTraceBuilder()
		b.span("svc", "b", "b1", "", ptrace.SpanKindServer, "GET /b", 0, 10)
		return b.td
	}
	twoServices := func() ptrace.Traces {
		b := newTraceBuilder()
		b.span("checkout", "c", "c1", "", ptrace.SpanKindServer, "GET /c", 0, 10)
		b.span("search", "d", "d1", "", ptrace.SpanKindServer, "GET /d", 0, 10)
		return b.td
	}
	longLog := func() plog.Logs {
		ld := logsFixture(1)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(strings.Repeat("x", 100_000))
		return ld
	}
	routeOnly := func(service string) func(dsn string) map[string]any {
		return func(dsn string) map[string]any {
			return map[string]any{"dsn": "", "routing": map[string]any{"dsns": map[string]any{service: dsn}, "drop_unmatched": true}}
		}
	}
	tests := []struct {
		name   string
		fault  sentrytest.FaultFunc
		logs   bool
		config func(dsn string) map[string]any
		traces func() ptrace.Traces
		ld     func() plog.Logs
		want   map[string][]string // values that must be among those seen
	}{
		{name: "accepted", traces: withException, want: map[string][]string{"category": {"error", "transaction"}, "kind": {"end_before_start"}}},
		{name: "rejected", fault: sentrytest.Status(400), traces: withException, want: map[string][]string{"reason": {"rejected"}}},
		{name: "oversize", fault: sentrytest.TooLarge(100), traces: oneSpan, want: map[string][]string{"reason": {"oversize"}}},
		{name: "send error", fault: sentrytest.Status(500), traces: oneSpan, config: func(string) map[string]any { return retriesOff }, want: map[string][]string{"reason": {"send_error"}}},
		{name: "network error", fault: sentrytest.ResetConnection(), traces: oneSpan, config: func(string) map[string]any { return retriesOff }, want: map[string][]string{"reason": {"network_error"}}},
		{name: "rate limit backoff", fault: sentrytest.RateLimited(60), traces: oneSpan, config: func(string) map[string]any { return retriesOff }, want: map[string][]string{"reason": {"ratelimit_backoff"}}},
		{name: "unrouted spans", traces: twoServices, config: routeOnly("checkout"), want: map[string][]string{"category": {"span"}, "reason": {"unrouted"}}},
		{name: "logs rejected and truncated", logs: true, fault: sentrytest.Status(400), ld: longLog, want: map[string][]string{"category": {"log_item"}, "reason": {"rejected"}, "kind": {"truncated"}}},
		{name: "logs retries disabled", logs: true, fault: sentrytest.Status(503), ld: func() plog.Logs { return logsFixture(3) }, config: func(string) map[string]any { return retriesOff }, want: map[string][]string{"reason": {"send_error"}}},
		{name: "logs unrouted", logs: true, ld: func() plog.Logs { return logsFixture(3) }, config: routeOnly("search"), want: map[string][]string{"reason": {"unrouted"}}},
		{name: "otlp accepted", traces: withException, config: func(string) map[string]any { return map[string]any{"protocol": "otlp"} }, want: map[string][]string{"category": {"error", "span"}}},
		{name: "otlp partial success", fault: sentrytest.PartialSuccess(1, "old"), traces: oneSpan, config: func(string) map[string]any { return map[string]any{"protocol": "otlp"} }, want: map[string][]string{"category": {"span"}, "reason": {"rejected"}}},
		{name: "otlp logs retries disabled", logs: true, fault: sentrytest.Status(503), ld: func() plog.Logs { return logsFixture(3) }, config: func(string) map[string]any {
			return map[string]any{"protocol": "otlp", "retry_on_failure": map[string]any{"enabled": false}}
		}, want: map[string][]string{"category": {"log_item"}, "reason": {"send_error"}}},
	}
	seen := &seenAttributes{}
	// Subtests not parallel: each takes milliseconds, and parallel ones would wait for the
	// package's slow tests to free a slot.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []sentrytest.Option
			if tc.fault != nil {
				opts = append(opts, sentrytest.WithFaults(tc.fault))
			}
			srv := sentrytest.NewTest(t, opts...)
			extra := map[string]any{}
			if tc.config != nil {
				extra = tc.config(srv.DSN())
			}
			var tel *componenttest.Telemetry
			if tc.logs {
				exp, tl := startLogsExporter(t, srv, extra)
				tel = tl
				_ = exp.ConsumeLogs(context.Background(), tc.ld()) // the outcome is in the metrics
			} else {
				dsn := srv.DSN()
				if v, ok := extra["dsn"].(string); ok {
					dsn = v
				}
				exp, tl := startExporterDSN(t, dsn, extra)
				tel = tl
				_ = exp.ConsumeTraces(context.Background(), tc.traces())
			}
			got := checkDeclared(t, declared, tel, seen)
			for key, values := range tc.want {
				assert.Subset(t, got[key], values, "%s values", key)
			}
		})
	}
	// Every declared reason and category is emitted by one of the paths above, so metadata.yaml
	// lists no value the code never emits. (Repair kinds: TestRepairKindsAreDeclared.)
	for _, key := range []string{"reason", "category"} {
		want := slices.Sorted(slices.Values(declared.enums[key]))
		assert.Equal(t, want, seen.sorted(key), "%s: declared values vs values the drop paths emit", key)
	}
}

// TestRepairKindsAreDeclared: every repair sanitize counts has its declared kind value, and
// metadata.yaml declares no kind that nothing counts.
func TestRepairKindsAreDeclared(t *testing.T) {
	t.Parallel()
	declared := loadDeclaredTelemetry(t)
	var kinds []string
	for k := sanitize.Kind(0); k.String() != "unknown"; k++ {
		kv := sending.RepairKindAttribute(k)
		assert.Equal(t, k.String(), kv.Value.AsString(), "kind %d has no declared value", k)
		kinds = append(kinds, kv.Value.AsString())
	}
	assert.ElementsMatch(t, declared.enums["kind"], kinds)
}

// TestDropReasonAndCategoryMappings covers the translations from the internal packages' names to
// the declared values, including the ones no single push reaches.
func TestDropReasonAndCategoryMappings(t *testing.T) {
	t.Parallel()
	for _, c := range []ratelimit.Category{ratelimit.CategoryTransaction, ratelimit.CategoryError, ratelimit.CategorySpan, ratelimit.CategoryLogItem} {
		assert.Equal(t, string(c), delivery.CategoryAttribute(c).Value.AsString())
	}
}

// TestGeneratedAttributesMatchMetadata fails when metadata.yaml changed without `make generate`.
func TestGeneratedAttributesMatchMetadata(t *testing.T) {
	t.Parallel()
	declared := loadDeclaredTelemetry(t)
	generated := map[string][]string{
		"category": slices.Collect(maps.Keys(metadata.MapAttributeCategory)),
		"kind":     slices.Collect(maps.Keys(metadata.MapAttributeKind)),
		"reason":   slices.Collect(maps.Keys(metadata.MapAttributeReason)),
	}
	for name, enum := range declared.enums {
		if enum == nil {
			continue
		}
		assert.ElementsMatch(t, enum, generated[name], "attribute %s: metadata.yaml vs internal/metadata/generated_attributes.go", name)
	}
	for name := range generated {
		assert.NotNil(t, declared.enums[name], "attribute %s is no enum in metadata.yaml any more", name)
	}
}

// TestMetricAttributesComeFromMetadata is the static half of the check: a value passed as a string
// literal never reaches a test unless its path is exercised, so no non-test Go file may build a
// declared attribute itself (attribute.String("reason", …), attribute.Key("reason")) or convert
// into a generated enum type; they use the generated constants and constructors.
func TestMetricAttributesComeFromMetadata(t *testing.T) {
	t.Parallel()
	declared := loadDeclaredTelemetry(t)
	enumTypes := map[string]bool{}
	for name, enum := range declared.enums {
		if enum != nil {
			enumTypes["Attribute"+strings.ToUpper(name[:1])+strings.ReplaceAll(name[1:], "_", "")] = true
		}
	}
	fset := token.NewFileSet()
	var checked int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch path {
			case ".build", ".git", "testdata", filepath.Join("internal", "tools"):
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			path == filepath.Join("internal", "metadata", "generated_attributes.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch {
			case pkg.Name == "attribute" && len(call.Args) > 0:
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				key, _ := strconv.Unquote(lit.Value)
				if _, isDeclared := declared.enums[key]; isDeclared {
					t.Errorf("%s: attribute.%s(%q, …): use the constants generated from metadata.yaml (internal/metadata)", fset.Position(call.Pos()), sel.Sel.Name, key)
				}
			case pkg.Name == "metadata" && enumTypes[sel.Sel.Name]:
				t.Errorf("%s: conversion to metadata.%s: use a declared constant", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 20, "the walk found the module's Go files")
}
