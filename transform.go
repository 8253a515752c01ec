package sentryexporter

import (
	"strconv"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelsentry/sentryexporter/internal/transform"
)

// This file is the seam between the exporter and internal/transform, which turns pdata into Sentry
// transactions and error events: what of the configuration and the project's DSN the transform
// needs, and what each push adds. transform_test.go tests the whole mapping through it against
// golden files.

// transformOptions are what a project's transform takes from the configuration and its DSN.
func transformOptions(cfg *Config, dsn *sentry.Dsn) transform.Options {
	opts := transform.Options{
		Environment:        cfg.Environment,
		ExceptionsAsErrors: cfg.ExceptionsAsErrors,
		SendTransactions:   cfg.SendTransactions,
		PublicKey:          dsn.GetPublicKey(),
	}
	if org := dsn.GetOrgID(); org != 0 {
		opts.OrgID = strconv.FormatUint(org, 10)
	}
	return opts
}

// pushOptions are a project's options for one push of td: its time stands in for spans without
// timestamps, and a retried batch brings what each of its spans still owes (retry.go).
func pushOptions(project transform.Options, td ptrace.Traces) transform.Options {
	project.Now = pcommon.NewTimestampFromTime(time.Now())
	project.Retry = takeRetryState(td)
	return project
}
