package sentrytest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/sentrytest"
)

// TestAcceptsSentryGoOutput checks the fake is not stricter than Sentry where it matters: what the
// official Go SDK sends (a transaction with a child span and an error) is accepted and decodes.
func TestAcceptsSentryGoOutput(t *testing.T) {
	t.Parallel()
	s := sentrytest.NewTest(t, sentrytest.WithPathPrefix("/self-hosted"))
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: s.DSN(), EnableTracing: true, TracesSampleRate: 1, Environment: "interop", Release: "r@1",
	})
	require.NoError(t, err)
	defer client.Close()
	hub := sentry.NewHub(client, sentry.NewScope())
	ctx := sentry.SetHubOnContext(context.Background(), hub)

	tx := sentry.StartTransaction(ctx, "GET /interop", sentry.WithOpName("http.server"))
	child := tx.StartChild("db.query", sentry.WithDescription("SELECT 1"))
	child.Finish()
	hub.Scope().SetSpan(child)
	hub.CaptureException(errors.New("interop boom"))
	tx.Finish()
	require.True(t, client.Flush(5*time.Second))

	wait, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.WaitForTransactions(wait, 1))
	require.NoError(t, s.WaitForErrors(wait, 1), "rejections=%v discarded=%v", s.Rejections(), len(s.Discarded()))
	assert.Empty(t, s.Rejections())
	assert.Empty(t, s.Discarded())

	got := s.Transactions()[0]
	assert.Equal(t, "GET /interop", got.Transaction)
	assert.Equal(t, "interop", got.Environment)
	assert.Equal(t, tx.TraceID.String(), got.Trace().TraceID)
	require.Len(t, got.Spans, 1)
	assert.Equal(t, "SELECT 1", got.Spans[0].Description)
	assert.Equal(t, map[string]int{tx.SpanID.String(): 1, child.SpanID.String(): 1}, s.SpanIDs())

	ev := s.Errors()[0]
	require.NotNil(t, ev.Exception)
	assert.Equal(t, "interop boom", ev.Exception.Values[len(ev.Exception.Values)-1].Value)
	assert.Equal(t, tx.TraceID.String(), ev.Trace().TraceID)
}
