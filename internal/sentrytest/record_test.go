package sentrytest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func TestLogRulesDiscardSingleLogs(t *testing.T) {
	t.Parallel()
	valid := `{"timestamp":1700000000,"trace_id":"` + traceID(1) + `","level":"info","body":"ok"}`
	tests := []struct {
		name   string
		log    string
		reason string
	}{
		{"missing timestamp", `{"trace_id":"` + traceID(1) + `","level":"info","body":"x"}`, "timestamp missing"},
		{"missing trace_id", `{"timestamp":1,"level":"info","body":"x"}`, `trace_id ""`},
		{"zero trace_id", `{"timestamp":1,"trace_id":"` + traceID(0) + `","level":"info","body":"x"}`, "trace_id"},
		{"bad span_id", `{"timestamp":1,"trace_id":"` + traceID(1) + `","span_id":"zz","level":"info","body":"x"}`, `span_id "zz"`},
		{"severity name instead of level", `{"timestamp":1,"trace_id":"` + traceID(1) + `","level":"warning","body":"x"}`, `level "warning"`},
		{"body not a string", `{"timestamp":1,"trace_id":"` + traceID(1) + `","level":"info","body":{}}`, "decoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t)
			body := buildEnvelope(t, map[string]any{}, testItem{
				header:  map[string]any{"type": "log", "item_count": 2},
				payload: []byte(`{"items":[` + tt.log + `,` + valid + `]}`),
			})
			require.Equal(t, http.StatusOK, mustPost(t, newClient(t), s, body, nil).status)
			require.Len(t, s.Logs(), 1)
			assert.Equal(t, "ok", s.Logs()[0].Body)
			d := s.Discarded()
			require.Len(t, d, 1)
			assert.Equal(t, "log", d[0].ItemType)
			assert.Contains(t, d[0].Reason, "log 0: ")
			assert.Contains(t, d[0].Reason, tt.reason)
			assert.JSONEq(t, tt.log, string(d[0].Raw))
		})
	}
}

func TestOnReceiveSeesEachBatch(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var batches []sentrytest.Batch
	s := sentrytest.NewTest(t, sentrytest.WithOnReceive(func(b sentrytest.Batch) {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, b)
	}), sentrytest.WithFaults(sentrytest.EveryNth(2, sentrytest.Status(500))))
	c := newClient(t)
	for i := 1; i <= 3; i++ {
		mustPost(t, c, s, txEnvelope(t, i, 1), nil)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, batches, 2, "the 500 is not delivered")
	assert.Equal(t, 1, batches[0].Seq)
	assert.Equal(t, 3, batches[1].Seq)
	require.Len(t, batches[1].Transactions, 1)
	assert.Equal(t, "GET /items/3", batches[1].Transactions[0].Transaction)
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	var bomb bytes.Buffer
	zw, err := zstd.NewWriter(&bomb, zstd.WithEncoderLevel(zstd.SpeedFastest))
	require.NoError(t, err)
	_, err = zw.Write(txEnvelope(t, 1, 0))
	require.NoError(t, err)
	_, err = zw.Write(bytes.Repeat([]byte{'x'}, 101<<20))
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	tests := []struct {
		name     string
		body     []byte
		encoding string
		reason   string
	}{
		{"decoded body over 100 MiB", bomb.Bytes(), "zstd", "decoded body exceeds"},
		{"wire body over 20 MiB", bytes.Repeat([]byte{'x'}, 20<<20+1), "", "body exceeds 20971520"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sentrytest.NewTest(t)
			res := mustPost(t, newClient(t), s, tt.body, map[string]string{"Content-Encoding": tt.encoding})
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
			assert.Contains(t, res.header.Get("X-Sentry-Error"), tt.reason)
			assert.Empty(t, s.Envelopes())
		})
	}
}

func TestContextsRoundTrip(t *testing.T) {
	t.Parallel()
	in := `{"trace":{"trace_id":"` + traceID(1) + `","span_id":"` + spanID(1) + `","op":"x"},"otel":{"resource":{"a":"b"}}}`
	var c sentrytest.Contexts
	require.NoError(t, json.Unmarshal([]byte(in), &c))
	require.NotNil(t, c.Trace)
	assert.Equal(t, "x", c.Trace.Op)
	out, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(out))
	assert.Error(t, json.Unmarshal([]byte(`{"trace":"nope"}`), &c))
	assert.Equal(t, sentrytest.TraceContext{}, sentrytest.Transaction{}.Trace())
	assert.Equal(t, sentrytest.TraceContext{}, sentrytest.ErrorEvent{}.Trace())
}

func TestParseEnvelopeErrorsCarryStatus(t *testing.T) {
	t.Parallel()
	_, err := sentrytest.ParseEnvelope([]byte("{}\n{\"type\":\"x\",\"length\":9}\nabc"))
	var perr *sentrytest.ProtocolError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, http.StatusBadRequest, perr.Status)
	assert.True(t, strings.HasPrefix(err.Error(), "400: item 0 (x): unexpected end"), err.Error())
}
