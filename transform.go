package sentryexporter

import (
	"strconv"

	"github.com/getsentry/sentry-go"

	"github.com/otelsentry/sentryexporter/internal/transform"
)

// This file is the seam between the exporter and internal/transform, which turns pdata into Sentry
// transactions and error events: what of the configuration and the project's DSN the transform
// needs (internal/sending adds what each push brings: its time and a retried batch's state).
// transform_test.go tests the whole mapping through it against golden files.

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
