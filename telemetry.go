package sentryexporter

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelsentry/sentryexporter/internal/clientreport"
	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/ratelimit"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// The metrics' attribute values are the constants generated from metadata.yaml's enums, so that
// the code cannot emit a value documentation.md does not list; telemetry_test.go checks that
// nothing bypasses them. The functions below translate the internal packages' own names.

// categoryAttribute is the category attribute of an item of Sentry data category c.
// A category metadata.yaml does not declare maps to "" (TestMetricAttributeValuesAreDeclared).
func categoryAttribute(c ratelimit.Category) attribute.KeyValue {
	var v metadata.AttributeCategory
	switch c {
	case ratelimit.CategoryTransaction:
		v = metadata.AttributeCategoryTransaction
	case ratelimit.CategoryError:
		v = metadata.AttributeCategoryError
	case ratelimit.CategorySpan:
		v = metadata.AttributeCategorySpan
	case ratelimit.CategoryLogItem:
		v = metadata.AttributeCategoryLogItem
	}
	return v.KeyValue()
}

// repairKindAttribute is the kind attribute of a repair of kind k.
func repairKindAttribute(k sanitize.Kind) attribute.KeyValue {
	return metadata.MapAttributeKind[k.String()].KeyValue()
}

// dropReasonAttribute is the reason attribute of items given up on for the client report
// discard reason r: the metric and the client report name the same cause the same way.
func dropReasonAttribute(r clientreport.Reason) attribute.KeyValue {
	var v metadata.AttributeReason
	switch r {
	case clientreport.ReasonNetworkError:
		v = metadata.AttributeReasonNetworkError
	case clientreport.ReasonSendError:
		v = metadata.AttributeReasonSendError
	case clientreport.ReasonRateLimitBackoff:
		v = metadata.AttributeReasonRatelimitBackoff
	}
	return v.KeyValue()
}
