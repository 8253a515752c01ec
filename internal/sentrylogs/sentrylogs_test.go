package sentrylogs

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsentry/sentryexporter/internal/resource"
)

// convertOne converts a single record (built by fill on top of logsOf's defaults) and returns it as Sentry
// reads it, with the stats.
func convertOne(t *testing.T, resource map[string]any, opts Options, fill func(lr plog.LogRecord)) (sentLog, Batch, Stats) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	batches, stats := Convert(logsOf(resource, "scope", 1, func(_ int, lr plog.LogRecord) { fill(lr) }), opts)
	require.Len(t, batches, 1)
	p := decodePayload(t, batches[0].Payload)
	require.Len(t, p.Items, 1)
	checkSentryLog(t, p.Items[0])
	return p.Items[0], batches[0], stats
}

func TestLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		number     plog.SeverityNumber
		text       string
		wantLevel  string
		wantNumber int
	}{
		{1, "", "trace", 1}, {4, "", "trace", 4},
		{5, "", "debug", 5}, {8, "", "debug", 8},
		{9, "", "info", 9}, {12, "", "info", 12},
		{13, "", "warn", 13}, {16, "", "warn", 16},
		{17, "", "error", 17}, {20, "", "error", 20},
		{21, "", "fatal", 21}, {24, "", "fatal", 24},
		// The number wins over the text.
		{17, "INFO", "error", 17},
		// No (valid) number: the text, and no severity_number sent.
		{0, "TRACE", "trace", 0}, {0, "finest", "trace", 0}, {0, "Verbose", "trace", 0},
		{0, "DEBUG", "debug", 0}, {0, "fine", "debug", 0},
		{0, "Information", "info", 0}, {0, "notice", "info", 0}, {0, "INFO2", "info", 0},
		{0, "WARNING", "warn", 0}, {0, "warn3", "warn", 0},
		{0, "Error", "error", 0}, {0, "SEVERE", "error", 0}, {0, " err ", "error", 0},
		{0, "CRITICAL", "fatal", 0}, {0, "emergency", "fatal", 0}, {0, "panic", "fatal", 0},
		{25, "warning", "warn", 0}, {-3, "debug", "debug", 0},
		// Nothing usable: info.
		{0, "", "info", 0}, {0, "LOUD", "info", 0}, {0, "2", "info", 0}, {99, "", "info", 0},
	}
	for _, tt := range tests {
		level, number := levelOf(tt.number, tt.text)
		assert.Equal(t, tt.wantLevel, level, "number %d text %q", tt.number, tt.text)
		assert.Equal(t, tt.wantNumber, number, "number %d text %q", tt.number, tt.text)
	}

	// And on the wire: severity_number only when the record had a valid one.
	got, _, _ := convertOne(t, nil, Options{}, func(lr plog.LogRecord) { lr.SetSeverityNumber(0); lr.SetSeverityText("Warning") })
	assert.Equal(t, "warn", got.Level)
	assert.Nil(t, got.SeverityNumber)
	got, _, _ = convertOne(t, nil, Options{}, func(lr plog.LogRecord) { lr.SetSeverityNumber(14) })
	assert.Equal(t, "warn", got.Level)
	require.NotNil(t, got.SeverityNumber)
	assert.Equal(t, 14, *got.SeverityNumber)
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		timestamp, observ uint64
		want              string
	}{
		{"timestamp", 1746456149019199800, 1, "1746456149.0191998"},
		{"whole second", 1746456149000000000, 0, "1746456149.0"},
		{"nanoseconds kept", 1746456149000000001, 0, "1746456149.000000001"},
		{"observed when no timestamp", 0, 1746456151500000000, "1746456151.5"},
		{"now when neither", 0, 0, "1746446400.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, _ := convertOne(t, nil, Options{}, func(lr plog.LogRecord) {
				lr.SetTimestamp(pcommon.Timestamp(tt.timestamp))
				lr.SetObservedTimestamp(pcommon.Timestamp(tt.observ))
			})
			assert.Equal(t, tt.want, got.Timestamp.String())
		})
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(lr plog.LogRecord)
		want string
	}{
		{"string", func(lr plog.LogRecord) { lr.Body().SetStr("héllo \"world\"\n\t") }, "héllo \"world\"\n\t"},
		{"int", func(lr plog.LogRecord) { lr.Body().SetInt(-42) }, "-42"},
		{"double", func(lr plog.LogRecord) { lr.Body().SetDouble(0.1) }, "0.1"},
		{"nan", func(lr plog.LogRecord) { lr.Body().SetDouble(math.NaN()) }, "NaN"},
		{"bool", func(lr plog.LogRecord) { lr.Body().SetBool(true) }, "true"},
		{"bytes", func(lr plog.LogRecord) { lr.Body().SetEmptyBytes().FromRaw([]byte("hi")) }, "aGk="},
		{"map", func(lr plog.LogRecord) {
			m := lr.Body().SetEmptyMap()
			m.PutStr("msg", "a\"b")
			m.PutDouble("inf", math.Inf(1))
			m.PutEmpty("nil")
			m.PutEmptySlice("list").AppendEmpty().SetBool(false)
		}, `{"msg":"a\"b","inf":"+Inf","nil":null,"list":[false]}`},
		{"array", func(lr plog.LogRecord) {
			s := lr.Body().SetEmptySlice()
			s.AppendEmpty().SetInt(1)
			s.AppendEmpty().SetStr("two")
		}, `[1,"two"]`},
		{"empty map", func(lr plog.LogRecord) { lr.Body().SetEmptyMap(); lr.SetEventName("x") }, "{}"},
		{"no body: the event name", func(lr plog.LogRecord) {
			pcommon.NewValueEmpty().CopyTo(lr.Body())
			lr.SetEventName("session.start")
		}, "session.start"},
		{"empty string stays empty", func(lr plog.LogRecord) { lr.Body().SetStr(""); lr.SetEventName("x") }, ""},
		{"no body at all", func(lr plog.LogRecord) { pcommon.NewValueEmpty().CopyTo(lr.Body()) }, ""},
		{"invalid utf-8", func(lr plog.LogRecord) { lr.Body().SetStr("a\xffb\xc3") }, "a\ufffdb\ufffd"},
		{"line separators", func(lr plog.LogRecord) { lr.Body().SetStr("a\u2028b\u2029") }, "a\u2028b\u2029"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, stats := convertOne(t, nil, Options{}, tt.set)
			require.NotNil(t, got.Body)
			assert.Equal(t, tt.want, *got.Body)
			assert.Zero(t, stats.Truncated)
		})
	}
}

func TestBodyTruncated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"ascii", strings.Repeat("a", MaxBodyBytes+1)},
		{"multi-byte at the cut", strings.Repeat("é", MaxBodyBytes/2+7)},
		{"invalid bytes count as U+FFFD", strings.Repeat("\xff", MaxBodyBytes/3+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, stats := convertOne(t, nil, Options{}, func(lr plog.LogRecord) { lr.Body().SetStr(tt.body) })
			require.NotNil(t, got.Body)
			assert.LessOrEqual(t, len(*got.Body), MaxBodyBytes)
			assert.Greater(t, len(*got.Body), MaxBodyBytes-8)
			assert.True(t, utf8.ValidString(*got.Body))
			assert.True(t, strings.HasSuffix(*got.Body, "…"))
			assert.Equal(t, Stats{Truncated: 1}, stats)
		})
	}

	// Exactly at the limit is not cut.
	exact := strings.Repeat("b", MaxBodyBytes)
	got, _, stats := convertOne(t, nil, Options{}, func(lr plog.LogRecord) { lr.Body().SetStr(exact) })
	assert.Equal(t, exact, *got.Body)
	assert.Zero(t, stats.Truncated)
}

func TestAttributeTypes(t *testing.T) {
	t.Parallel()
	got, _, stats := convertOne(t, nil, Options{}, func(lr plog.LogRecord) {
		a := lr.Attributes()
		a.PutStr("str", "v")
		a.PutBool("bool", true)
		a.PutInt("int", math.MinInt64)
		a.PutDouble("double", 1.5e-7)
		a.PutDouble("big", 1e300)
		a.PutDouble("nan", math.NaN())
		a.PutDouble("neg_inf", math.Inf(-1))
		a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2})
		a.PutEmptyMap("map").PutInt("k", 1)
		a.PutEmptySlice("slice").AppendEmpty().SetStr("x")
		a.PutEmpty("empty")
		a.PutStr("bad\xffkey", "bad\xffvalue")
	})
	want := map[string]sentAttribute{
		"str":           {"v", "string"},
		"bool":          {true, "boolean"},
		"int":           {json.Number("-9223372036854775808"), "integer"},
		"double":        {json.Number("1.5e-7"), "double"},
		"big":           {json.Number("1e+300"), "double"},
		"nan":           {"NaN", "string"},
		"neg_inf":       {"-Inf", "string"},
		"bytes":         {"AAEC", "string"},
		"map":           {`{"k":1}`, "string"},
		"slice":         {`["x"]`, "string"},
		"bad\ufffdkey":  {"bad\ufffdvalue", "string"},
		"sentry.origin": {Origin, "string"},
		"instrumentation.name": {
			"scope", "string",
		},
		"sentry.sdk.name": {resource.ExporterName, "string"}, "sentry.sdk.version": {resource.ExporterVersion, "string"},
	}
	assert.Equal(t, want, got.Attributes)
	assert.Zero(t, stats.Truncated, "an empty value is not data lost")
}

func TestResourceAndDerivedAttributes(t *testing.T) {
	t.Parallel()
	full := map[string]any{
		"service.name": "svc", "service.version": "1.2.0", "deployment.environment.name": "prod",
		"deployment.environment": "legacy", "telemetry.sdk.language": "python", "telemetry.sdk.version": "1.29.0",
		"k8s.pod.name": "svc-1",
	}
	tests := []struct {
		name     string
		resource map[string]any
		opts     Options
		fill     func(lr plog.LogRecord)
		want     map[string]any // attribute values expected; nil means absent
		// wantTruncated is Stats.Truncated: a repaired release or environment counts on each log.
		wantTruncated int
	}{
		{
			name: "from the resource", resource: full,
			want: map[string]any{
				"sentry.environment": "prod", "sentry.release": "svc@1.2.0", "sentry.sdk.name": "opentelemetry.python",
				"sentry.sdk.version": "1.29.0", "sentry.origin": Origin, "service.name": "svc", "k8s.pod.name": "svc-1",
			},
		},
		{
			name: "legacy environment key, release without service name", opts: Options{Environment: "fallback"},
			resource: map[string]any{"deployment.environment": "qa", "service.version": "7"},
			want: map[string]any{
				"sentry.environment": "qa", "sentry.release": "7",
				// Without telemetry.sdk.version the logs name this exporter, as transactions and errors do.
				"sentry.sdk.name": resource.ExporterName, "sentry.sdk.version": resource.ExporterVersion,
			},
		},
		{
			// Named as on transactions and errors (internal/resource): Sentry refuses "/" in both.
			name: "release and environment repaired as on transactions", opts: Options{Environment: "fallback"},
			resource:      map[string]any{"service.name": "checkout", "service.version": "feature/x-1.2", "deployment.environment.name": "prod/eu"},
			want:          map[string]any{"sentry.environment": "prod-eu", "sentry.release": "checkout@feature-x-1.2"},
			wantTruncated: 1,
		},
		{
			name: "configured environment when the resource has none", opts: Options{Environment: "fallback"},
			resource: map[string]any{"service.name": "svc"},
			want:     map[string]any{"sentry.environment": "fallback", "sentry.release": nil},
		},
		{
			name: "no environment at all", resource: map[string]any{},
			want: map[string]any{"sentry.environment": nil, "sentry.release": nil},
		},
		{
			name: "record attributes win over resource and derived ones", resource: full,
			fill: func(lr plog.LogRecord) {
				lr.Attributes().PutStr("k8s.pod.name", "override")
				lr.Attributes().PutStr("sentry.origin", "auto.log.logback")
				lr.Attributes().PutStr("sentry.environment", "canary")
				lr.Attributes().PutStr("event.name", "explicit")
				lr.SetEventName("from-record")
			},
			want: map[string]any{
				"k8s.pod.name": "override", "sentry.origin": "auto.log.logback", "sentry.environment": "canary",
				"event.name": "explicit",
			},
		},
		{
			name: "resource attributes win over derived ones", resource: map[string]any{"sentry.release": "r-9", "service.version": "1"},
			want: map[string]any{"sentry.release": "r-9"},
		},
		{
			name: "empty record value does not hide the resource's", resource: full,
			fill: func(lr plog.LogRecord) { lr.Attributes().PutEmpty("k8s.pod.name") },
			want: map[string]any{"k8s.pod.name": "svc-1"},
		},
		{
			name: "event name", resource: map[string]any{},
			fill: func(lr plog.LogRecord) { lr.SetEventName("browser.page_view") },
			want: map[string]any{"event.name": "browser.page_view"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fill := tt.fill
			if fill == nil {
				fill = func(plog.LogRecord) {}
			}
			got, _, stats := convertOne(t, tt.resource, tt.opts, fill)
			assert.Equal(t, tt.wantTruncated, stats.Truncated)
			for k, v := range tt.want {
				if v == nil {
					assert.NotContains(t, got.Attributes, k)
					continue
				}
				if assert.Contains(t, got.Attributes, k) {
					assert.Equal(t, v, got.Attributes[k].Value, k)
				}
			}
		})
	}
}

func TestScopeAttributes(t *testing.T) {
	t.Parallel()
	ld := logsOf(nil, "com.example.Logger", 1, nil)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().SetVersion("1.0")
	batches, _ := Convert(ld, Options{Now: fixedNow})
	require.Len(t, batches, 1)
	got := decodePayload(t, batches[0].Payload).Items[0]
	assert.Equal(t, "com.example.Logger", got.Attributes["instrumentation.name"].Value)
	assert.Equal(t, "1.0", got.Attributes["instrumentation.version"].Value)
}

func TestAttributeLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", MaxAttributeValueBytes+10)
	tests := []struct {
		name          string
		fill          func(lr plog.LogRecord)
		check         func(t *testing.T, got sentLog)
		wantTruncated int
	}{
		{
			name: "value cut", fill: func(lr plog.LogRecord) { lr.Attributes().PutStr("stack", long) },
			check: func(t *testing.T, got sentLog) {
				v := got.Attributes["stack"].Value.(string)
				assert.LessOrEqual(t, len(v), MaxAttributeValueBytes)
				assert.True(t, strings.HasSuffix(v, "…"))
			},
			wantTruncated: 1,
		},
		{
			name: "map rendered past the limit is cut", fill: func(lr plog.LogRecord) {
				s := lr.Attributes().PutEmptySlice("list")
				for range MaxAttributeValueBytes {
					s.AppendEmpty().SetInt(7)
				}
			},
			check: func(t *testing.T, got sentLog) {
				assert.LessOrEqual(t, len(got.Attributes["list"].Value.(string)), MaxAttributeValueBytes)
			},
			wantTruncated: 1,
		},
		{
			name: "long key left out", fill: func(lr plog.LogRecord) {
				lr.Attributes().PutStr(strings.Repeat("k", MaxAttributeKeyBytes+1), "v")
				lr.Attributes().PutStr(strings.Repeat("k", MaxAttributeKeyBytes), "kept")
			},
			check: func(t *testing.T, got sentLog) {
				assert.NotContains(t, got.Attributes, strings.Repeat("k", MaxAttributeKeyBytes+1))
				assert.Equal(t, "kept", got.Attributes[strings.Repeat("k", MaxAttributeKeyBytes)].Value)
			},
			wantTruncated: 1,
		},
		{
			name: "empty key left out", fill: func(lr plog.LogRecord) { lr.Attributes().PutStr("", "v") },
			check: func(t *testing.T, got sentLog) {
				assert.NotContains(t, got.Attributes, "")
			},
			wantTruncated: 1,
		},
		{
			name: "count capped, derived attributes kept", fill: func(lr plog.LogRecord) {
				for i := range MaxAttributes + 50 {
					lr.Attributes().PutInt("attr."+strings.Repeat("i", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), int64(i))
				}
			},
			check: func(t *testing.T, got sentLog) {
				assert.Len(t, got.Attributes, MaxAttributes)
				assert.Contains(t, got.Attributes, "sentry.origin")
				assert.Contains(t, got.Attributes, "sentry.environment")
			},
			wantTruncated: 1,
		},
		{
			name: "log size capped", fill: func(lr plog.LogRecord) {
				lr.Body().SetStr(strings.Repeat("b", MaxBodyBytes))
				for i := range 100 {
					lr.Attributes().PutStr("big."+string(rune('a'+i%26))+string(rune('a'+i/26)), strings.Repeat("v", MaxAttributeValueBytes))
				}
			},
			check: func(t *testing.T, got sentLog) {
				raw, err := json.Marshal(got)
				require.NoError(t, err)
				assert.LessOrEqual(t, len(raw), MaxLogBytes)
				assert.Greater(t, len(raw), MaxLogBytes-MaxAttributeValueBytes-1024, "fills the budget")
				assert.Less(t, len(got.Attributes), 100)
				assert.Contains(t, got.Attributes, "sentry.origin")
			},
			wantTruncated: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, stats := convertOne(t, map[string]any{"deployment.environment.name": "e"}, Options{}, tt.fill)
			tt.check(t, got)
			assert.Equal(t, Stats{Truncated: tt.wantTruncated}, stats)
		})
	}
}

func TestResourceAttributeCutCountsPerRecord(t *testing.T) {
	t.Parallel()
	res := map[string]any{"huge": strings.Repeat("r", MaxAttributeValueBytes+1), "": "no key"}
	batches, stats := Convert(logsOf(res, "s", 3, nil), Options{Now: fixedNow})
	require.Len(t, batches, 1)
	assert.Equal(t, Stats{Truncated: 3}, stats)

	// A resource whose only attribute is left out still counts for each of its records.
	_, stats = Convert(logsOf(map[string]any{"": "no key"}, "s", 2, nil), Options{Now: fixedNow})
	assert.Equal(t, Stats{Truncated: 2}, stats)
	for _, it := range decodePayload(t, batches[0].Payload).Items {
		assert.LessOrEqual(t, len(it.Attributes["huge"].Value.(string)), MaxAttributeValueBytes)
	}
}

func TestTraceID(t *testing.T) {
	t.Parallel()
	own, _, _ := convertOne(t, nil, Options{}, func(lr plog.LogRecord) {
		lr.SetTraceID(traceIDOf(goldenTraceID))
		lr.SetSpanID(spanIDOf(goldenSpanID))
	})
	assert.Equal(t, goldenTraceID, own.TraceID)
	assert.Equal(t, goldenSpanID, own.SpanID)

	derive := func(resource map[string]any, fill func(lr plog.LogRecord)) string {
		got, _, _ := convertOne(t, resource, Options{}, fill)
		assert.Empty(t, got.SpanID)
		return got.TraceID
	}
	svc := map[string]any{"service.name": "a"}
	base := derive(svc, func(lr plog.LogRecord) { lr.Body().SetStr("x") })
	assert.Equal(t, base, derive(svc, func(lr plog.LogRecord) { lr.Body().SetStr("x") }), "stable")
	assert.Equal(t, base, derive(svc, func(lr plog.LogRecord) {
		lr.Body().SetStr("x")
		lr.Attributes().PutStr("other", "attributes do not matter")
	}))
	for name, fill := range map[string]func(lr plog.LogRecord){
		"body":     func(lr plog.LogRecord) { lr.Body().SetStr("y") },
		"time":     func(lr plog.LogRecord) { lr.Body().SetStr("x"); lr.SetTimestamp(lr.Timestamp() + 1) },
		"severity": func(lr plog.LogRecord) { lr.Body().SetStr("x"); lr.SetSeverityNumber(plog.SeverityNumberWarn) },
	} {
		assert.NotEqual(t, base, derive(svc, fill), name)
	}
	assert.NotEqual(t, base, derive(map[string]any{"service.name": "b"}, func(lr plog.LogRecord) { lr.Body().SetStr("x") }), "service")
}

func TestBatching(t *testing.T) {
	t.Parallel()
	ld := plog.NewLogs()
	// Resource 0: 250 records over two scopes (120 + 130) -> batches of 100, 100, 50 crossing the scope boundary.
	addResource(ld, map[string]any{"service.name": "a", "deployment.environment.name": "p"}, "s0", 120, nil)
	sl := ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	for range 130 {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr("second scope")
		lr.SetTraceID(traceIDOf(goldenTraceID))
	}
	// Resource 1: 3 records -> its own batch even though the last one of resource 0 has room.
	addResource(ld, map[string]any{"service.name": "b", "service.version": "2"}, "s", 3, nil)
	// Resource 2: no records -> no batch.
	addResource(ld, map[string]any{"service.name": "c"}, "s", 0, nil)
	// Resource 3: exactly 100 -> one batch.
	addResource(ld, nil, "s", 100, nil)

	batches, stats := Convert(ld, Options{Environment: "dflt", Now: fixedNow})
	assert.Zero(t, stats)
	require.Len(t, batches, 5)
	wantCounts := []int{100, 100, 50, 3, 100}
	wantEnv := []string{"p", "p", "p", "dflt", "dflt"}
	wantRelease := []string{"", "", "", "b@2", ""}
	var all []Position
	for i, b := range batches {
		assert.Equal(t, wantCounts[i], b.Count, "batch %d", i)
		assert.Len(t, b.Records, b.Count)
		assert.Len(t, decodePayload(t, b.Payload).Items, b.Count)
		for _, it := range decodePayload(t, b.Payload).Items {
			assert.Equal(t, wantEnv[i], it.Attributes["sentry.environment"].Value, "batch %d", i)
			if wantRelease[i] == "" {
				assert.NotContains(t, it.Attributes, "sentry.release", "batch %d", i)
			} else {
				assert.Equal(t, wantRelease[i], it.Attributes["sentry.release"].Value, "batch %d", i)
			}
		}
		all = append(all, b.Records...)
	}
	assert.Equal(t, Position{0, 0, 100}, batches[1].Records[0])
	assert.Equal(t, Position{0, 1, 0}, batches[1].Records[20])
	assert.Equal(t, Position{0, 1, 129}, batches[2].Records[49])
	assert.Equal(t, Position{1, 0, 0}, batches[3].Records[0])
	assert.Equal(t, Position{3, 0, 99}, batches[4].Records[99])

	// Every record exactly once, in input order; and each position's record is the one in the payload.
	require.Len(t, all, 353)
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1], all[i]
		assert.True(t, cur.Resource > prev.Resource || cur.Resource == prev.Resource &&
			(cur.Scope > prev.Scope || cur.Scope == prev.Scope && cur.Record == prev.Record+1), "order at %d", i)
	}
	items := decodePayload(t, batches[1].Payload).Items
	for i, pos := range batches[1].Records {
		lr := ld.ResourceLogs().At(int(pos.Resource)).ScopeLogs().At(int(pos.Scope)).LogRecords().At(int(pos.Record))
		assert.Equal(t, lr.Body().Str(), *items[i].Body)
	}
}

func TestBatchSplitByBytes(t *testing.T) {
	t.Parallel()
	// 100 records of about 160 KiB each (16 MiB) cannot share one 8 MiB payload.
	ld := logsOf(nil, "s", 100, func(i int, lr plog.LogRecord) {
		lr.Body().SetStr(strings.Repeat("b", MaxBodyBytes))
		for j := range 3 {
			lr.Attributes().PutStr("a"+string(rune('0'+j)), strings.Repeat("v", MaxAttributeValueBytes))
		}
		lr.Attributes().PutInt("i", int64(i))
	})
	batches, stats := Convert(ld, Options{Now: fixedNow})
	assert.Zero(t, stats)
	require.Greater(t, len(batches), 1)
	next := int64(0)
	for _, b := range batches {
		assert.LessOrEqual(t, len(b.Payload), MaxPayloadBytes)
		items := decodePayload(t, b.Payload).Items
		require.Len(t, items, b.Count)
		require.Len(t, b.Records, b.Count)
		for k, it := range items {
			n, err := it.Attributes["i"].Value.(json.Number).Int64()
			require.NoError(t, err)
			assert.Equal(t, next, n)
			assert.Equal(t, int32(next), b.Records[k].Record)
			next++
		}
	}
	assert.Equal(t, int64(100), next)
}

func TestEmptyInput(t *testing.T) {
	t.Parallel()
	batches, stats := Convert(plog.NewLogs(), Options{})
	assert.Empty(t, batches)
	assert.Zero(t, stats)
}

func TestPayloadEnvelope(t *testing.T) {
	t.Parallel()
	batches, _ := Convert(logsOf(nil, "s", 2, nil), Options{Now: fixedNow})
	require.Len(t, batches, 1)
	p := decodePayload(t, batches[0].Payload)
	assert.Equal(t, 2, p.Version)
	assert.Equal(t, map[string]string{"infer_ip": "never", "infer_user_agent": "never"}, p.IngestSettings)
	assert.Equal(t, 2, batches[0].Count)
}

// TestAppendStringMatchesEncodingJSON checks the string encoder against encoding/json on awkward input: both
// must decode to the same text (invalid UTF-8 becoming U+FFFD byte by byte).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"", "plain", "quote\" backslash\\ slash/", "\x00\x01\x1f\x7f", "\n\r\t\b\f", "é中😀", "\xff\xfe", "a\xc3",
		"\xed\xa0\x80", "\u2028\u2029", "<html>&amp;", strings.Repeat("\xe2\x82", 3),
	}
	for _, s := range inputs {
		got, cut := appendString(nil, s, math.MaxInt)
		assert.False(t, cut)
		require.True(t, json.Valid(got), "%q -> %s", s, got)
		var decoded, want string
		require.NoError(t, json.Unmarshal(got, &decoded))
		std, err := json.Marshal(s)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(std, &want))
		assert.Equal(t, want, decoded, "%q", s)
	}
}

func TestAppendStringLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     string
		limit int
		want  string
		cut   bool
	}{
		{"abcdef", 6, "abcdef", false},
		{"abcdefg", 6, "abc…", true},
		{"ééééé", 8, "éé…", true},    // é is 2 bytes, … is 3
		{"ab\xffcd", 5, "ab…", true}, // U+FFFD would not fit with the ellipsis
		{"abcd", 3, "…", true},
	}
	for _, tt := range tests {
		got, cut := appendString(nil, tt.s, tt.limit)
		var decoded string
		require.NoError(t, json.Unmarshal(got, &decoded))
		assert.Equal(t, tt.want, decoded, "%q limit %d", tt.s, tt.limit)
		assert.Equal(t, tt.cut, cut)
	}
}

func TestAppendTimestamp(t *testing.T) {
	t.Parallel()
	for nanos, want := range map[uint64]string{
		0:                   "0.0",
		1:                   "0.000000001",
		1_500_000_000:       "1.5",
		1746456149019199800: "1746456149.0191998",
		math.MaxUint64:      "18446744073.709551615",
	} {
		assert.Equal(t, want, string(appendTimestamp(nil, nanos)))
	}
}

func TestAppendJSONNesting(t *testing.T) {
	t.Parallel()
	v := pcommon.NewValueEmpty()
	inner := v.SetEmptyMap()
	for range maxNesting + 10 {
		inner = inner.PutEmptyMap("m")
	}
	out := appendJSON(nil, v, math.MaxInt, 0)
	assert.True(t, json.Valid(out), "%s", out)
	assert.Contains(t, string(out), "null")
}
