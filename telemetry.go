package sentryexporter

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelsentry/sentryexporter/internal/metadata"
	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// The metrics' attribute values are the constants generated from metadata.yaml's enums, so that
// the code cannot emit a value documentation.md does not list; telemetry_test.go checks that
// nothing bypasses them. The functions below translate the internal packages' own names.

// repairKindAttribute is the kind attribute of a repair of kind k.
func repairKindAttribute(k sanitize.Kind) attribute.KeyValue {
	return metadata.MapAttributeKind[k.String()].KeyValue()
}
