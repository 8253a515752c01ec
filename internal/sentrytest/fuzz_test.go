package sentrytest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

func FuzzParseEnvelope(f *testing.F) {
	f.Add(txEnvelope(f, 1, 2))
	f.Add([]byte("{}\n{\"type\":\"event\"}\n{}"))
	f.Add([]byte("{}\n{\"type\":\"log\",\"item_count\":1,\"length\":12}\n{\"items\":[1]}\n"))
	f.Add([]byte("{\"event_id\":\"x\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := sentrytest.ParseEnvelope(body)
		if err != nil {
			var perr *sentrytest.ProtocolError
			require.ErrorAs(t, err, &perr)
			require.GreaterOrEqual(t, perr.Status, 400)
			return
		}
		for _, it := range env.Items {
			if it.Length != nil {
				require.Len(t, it.Payload, *it.Length)
			}
			if it.Type == "transaction" {
				_ = sentrytest.ValidateTransaction(it.Payload)
			}
		}
	})
}

func FuzzValidateTransaction(f *testing.F) {
	f.Add(mustJSON(f, txDoc(1, 2)))
	f.Add([]byte(`{"type":"transaction","start_timestamp":"2023-11-14T22:13:20Z","timestamp":1,"contexts":{"trace":{}}}`))
	f.Add([]byte(`{"spans":[null]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if sentrytest.ValidateTransaction(raw) != nil {
			return
		}
		// Whatever the validator accepts has the ids and order the server relies on.
		var tx sentrytest.Transaction
		if json.Unmarshal(raw, &tx) != nil {
			return
		}
		require.Len(t, tx.Trace().TraceID, 32)
		require.LessOrEqual(t, tx.StartTimestamp, tx.Timestamp)
		for _, sp := range tx.Spans {
			require.Len(t, sp.SpanID, 16)
			require.LessOrEqual(t, sp.StartTimestamp, sp.Timestamp)
		}
	})
}
