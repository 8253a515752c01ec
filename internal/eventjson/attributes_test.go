package eventjson

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// TestAppendAttributesMatchesSanitizeMap checks that writing attributes straight from pdata gives
// the JSON of sanitize.Map's values, with the same repairs counted.
func TestAppendAttributesMatchesSanitizeMap(t *testing.T) {
	t.Parallel()
	m := pcommon.NewMap()
	m.PutStr("s", "text")
	m.PutStr("bad", "a\xffb")
	m.PutStr("long", strings.Repeat("é", sanitize.MaxStringBytes))
	m.PutInt("i", -42)
	m.PutDouble("f", 0.000001)
	m.PutDouble("nan", math.NaN())
	m.PutDouble("inf", math.Inf(-1))
	m.PutBool("b", false)
	m.PutEmptyBytes("bytes").FromRaw([]byte("\x00\x01binary"))
	arr := m.PutEmptySlice("arr")
	for i := range sanitize.MaxArrayItems + 5 {
		arr.AppendEmpty().SetInt(int64(i))
	}
	inner := m.PutEmptyMap("map")
	inner.PutStr("k", "v")
	inner.PutEmptySlice("empty")
	m.PutStr("sentryexporter.resend", "errors")
	m.PutStr("skip-me", "x")
	m.PutEmpty("nil")

	var wantCounts, gotCounts sanitize.Counts
	want, err := json.Marshal(sanitize.Map(m, "sentryexporter.", &wantCounts))
	require.NoError(t, err)
	var wantMap map[string]any
	require.NoError(t, json.Unmarshal(want, &wantMap))
	delete(wantMap, "skip-me")
	// sanitize.Map keeps NaN as the string "NaN", which json.Marshal writes the same way.

	got, wrote := AppendAttributes([]byte{'{'}, m, "sentryexporter.", func(k string) bool { return k == "skip-me" }, true, &gotCounts)
	got = append(got, '}')
	assert.True(t, wrote)
	var gotMap map[string]any
	require.NoError(t, json.Unmarshal(got, &gotMap), "%s", got)
	assert.Equal(t, wantMap, gotMap)
	assert.Equal(t, wantCounts, gotCounts, "the same repairs are counted")
}

func TestAppendWithDataWritesSpanData(t *testing.T) {
	t.Parallel()
	ev := &sentry.Event{
		Type:     "transaction",
		Contexts: map[string]sentry.Context{"trace": {"span_id": "01", "data": RootSpanData}},
		Spans:    []*sentry.Span{{Op: "db"}, {Op: "http.client", Data: map[string]any{"own": true}}},
	}
	var calls []SpanData
	out := (&Encoder{}).AppendWithData(nil, ev, func(dst []byte, i SpanData) []byte {
		calls = append(calls, i)
		return append(dst, `{"from":"writer"}`...)
	})
	var decoded struct {
		Contexts struct {
			Trace struct {
				Data map[string]any `json:"data"`
			} `json:"trace"`
		} `json:"contexts"`
		Spans []struct {
			Data map[string]any `json:"data"`
		} `json:"spans"`
	}
	require.NoError(t, json.Unmarshal(out, &decoded), "%s", out)
	assert.Equal(t, map[string]any{"from": "writer"}, decoded.Contexts.Trace.Data)
	assert.Equal(t, map[string]any{"from": "writer"}, decoded.Spans[0].Data)
	assert.Equal(t, map[string]any{"own": true}, decoded.Spans[1].Data, "a span's own data wins")
	assert.ElementsMatch(t, []SpanData{RootSpanData, 0}, calls)
	assert.Contains(t, string(Append(nil, ev)), `"data":null`, "without a writer the placeholder is null")
}

func TestAppendWithSpansWritesSpanLinksWhereSentryReadsThem(t *testing.T) {
	t.Parallel()
	ev := &sentry.Event{
		Type:     "transaction",
		Contexts: map[string]sentry.Context{"trace": {"span_id": "01", "links": SpanLinks(RootSpanData)}},
		Spans:    []*sentry.Span{{Op: "db"}, {Op: "queue.process"}},
	}
	links := func(dst []byte, i SpanData) []byte {
		if i == 0 {
			return dst // the first child has no links
		}
		return append(dst, `[{"trace_id":"`+strconv.Itoa(int(i))+`"}]`...)
	}
	out := (&Encoder{}).AppendWithSpans(nil, ev, nil, links)
	var decoded struct {
		Contexts struct {
			Trace struct {
				Links []map[string]any `json:"links"`
			} `json:"trace"`
		} `json:"contexts"`
		Spans []map[string]json.RawMessage `json:"spans"`
	}
	require.NoError(t, json.Unmarshal(out, &decoded), "%s", out)
	assert.Equal(t, []map[string]any{{"trace_id": "-1"}}, decoded.Contexts.Trace.Links, "the root's links are contexts.trace.links")
	require.Len(t, decoded.Spans, 2)
	assert.NotContains(t, decoded.Spans[0], "links", "a span without links has no links key: %s", out)
	assert.JSONEq(t, `[{"trace_id":"1"}]`, string(decoded.Spans[1]["links"]), "a child's links are spans[i].links")

	assert.Contains(t, string(Append(nil, ev)), `"links":null`, "without a writer the placeholder is null")
	empty := (&Encoder{}).AppendWithSpans(nil, ev, nil, func(dst []byte, _ SpanData) []byte { return dst })
	assert.Contains(t, string(empty), `"links":[]`, "a placeholder the writer leaves empty is an empty list")
}
