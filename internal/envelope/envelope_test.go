package envelope

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendWritesHeaderAndItemsWithLengths(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"event_id":"0123456789abcdef0123456789abcdef","type":"transaction"}`)
	report := []byte("{\"discarded_events\":[]}\n")
	out := Append(nil, Header{
		EventID:    "0123456789abcdef0123456789abcdef",
		SentAt:     time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC),
		SDKName:    "sentry.otel.collector",
		SDKVersion: "1.0.0",
		Trace: &SamplingContext{
			TraceID: "0af7651916cd43dd8448eb211c80319c", PublicKey: "public", SampleRate: "1",
			SampleRand: "0.25", Sampled: "true", Environment: "prod", Transaction: "GET /users/{id}",
		},
	}, Item{Type: TypeTransaction, Payload: payload}, Item{Type: TypeClientReport, Payload: report})

	lines := bytes.SplitN(out, []byte("\n"), 2)
	var header map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &header))
	assert.Equal(t, "0123456789abcdef0123456789abcdef", header["event_id"])
	assert.Equal(t, "2026-01-02T03:04:05.0000006Z", header["sent_at"])
	assert.Equal(t, map[string]any{"name": "sentry.otel.collector", "version": "1.0.0"}, header["sdk"])
	assert.Equal(t, map[string]any{
		"trace_id": "0af7651916cd43dd8448eb211c80319c", "public_key": "public", "sample_rate": "1",
		"sample_rand": "0.25", "sampled": "true", "environment": "prod", "transaction": "GET /users/{id}",
	}, header["trace"], "empty fields (release, org_id) are left out")

	rest := lines[1]
	var gotTypes []string
	var gotPayloads [][]byte
	for len(rest) > 0 {
		nl := bytes.IndexByte(rest, '\n')
		require.Positive(t, nl)
		var ih struct {
			Type   string `json:"type"`
			Length int    `json:"length"`
		}
		require.NoError(t, json.Unmarshal(rest[:nl], &ih))
		rest = rest[nl+1:]
		require.LessOrEqual(t, ih.Length, len(rest))
		gotTypes = append(gotTypes, ih.Type)
		gotPayloads = append(gotPayloads, rest[:ih.Length])
		rest = rest[ih.Length:]
		require.Equal(t, byte('\n'), rest[0])
		rest = rest[1:]
	}
	assert.Equal(t, []string{TypeTransaction, TypeClientReport}, gotTypes)
	assert.Equal(t, [][]byte{payload, report}, gotPayloads, "a payload ending in a newline keeps it; length says where it ends")
}

func TestAppendContainerItemCount(t *testing.T) {
	t.Parallel()
	out := Append(nil, Header{}, Item{Type: TypeLog, ContentType: "application/vnd.sentry.items.log+json", ItemCount: 3, Payload: []byte(`{}`)})
	assert.Equal(t, "{}\n"+`{"type":"log","length":2,"content_type":"application/vnd.sentry.items.log+json","item_count":3}`+"\n{}\n", string(out))
}
