// Package resource maps an OpenTelemetry resource to the event-level fields Sentry reads: release,
// environment, platform, server name and sdk. Transactions, error events and logs all take these fields from
// here, so the three signals of one service name the same release and environment and filter together in
// Sentry.
//
// The rules follow Sentry's documented limits as Relay (Sentry's ingestion) enforces them: Relay deletes a
// release or environment it finds invalid (validate_release / validate_environment in
// relay-event-normalization, backed by sentry-release-parser) and keeps the rest of the event, so a name is
// repaired here rather than lost there. docs/transformation.md lists the rules.
package resource

import (
	"errors"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// ExporterName and ExporterVersion identify this exporter: in the client name and user agent of every
// request, in envelope headers, and as the sdk of events whose resource names no OpenTelemetry SDK.
const (
	ExporterName    = "sentry.otel.collector-exporter"
	ExporterVersion = "0.1.0"
)

// Sentry's limits, in bytes (Relay compares byte lengths).
const (
	// MaxEnvironment is the longest environment name Sentry keeps.
	MaxEnvironment = 64
	// MaxRelease is the longest release name Sentry keeps.
	MaxRelease = 200
	// MaxServerName is the longest server_name Sentry keeps.
	MaxServerName = 256
	// maxSDKField bounds sdk.name and sdk.version; Sentry sets no lower limit, this only keeps a runaway
	// attribute out of every event.
	maxSDKField = 256
)

// Attribute keys the mapping reads.
const (
	AttrServiceName        = "service.name"
	AttrServiceVersion     = "service.version"
	AttrEnvironment        = "deployment.environment.name"
	AttrEnvironmentLegacy  = "deployment.environment"
	AttrHostName           = "host.name"
	AttrSDKName            = "telemetry.sdk.name"
	AttrSDKLanguage        = "telemetry.sdk.language"
	AttrSDKVersion         = "telemetry.sdk.version"
	AttrProcessRuntimeName = "process.runtime.name"
)

// Resource is what every Sentry event and log of one resource shares.
type Resource struct {
	// ServiceName is service.name as given (empty when unset).
	ServiceName string
	// Environment is the event's environment: deployment.environment.name, else deployment.environment,
	// else the configured default; repaired to a name Sentry accepts (see Environment). Empty only when the
	// default is empty too.
	Environment string
	// Release is service.name@service.version (service.version alone without a service name), repaired to
	// a name Sentry accepts (see Release); empty without service.version.
	Release string
	// Platform is one of Sentry's platform names, "other" when the resource does not say.
	Platform string
	// ServerName is host.name, at most MaxServerName bytes.
	ServerName string
	// Language is the OpenTelemetry language of the service (telemetry.sdk.language's values: java, python,
	// nodejs, ...): telemetry.sdk.language, else the language process.runtime.name implies, else empty. It
	// picks the stack trace parser of error events.
	Language string
	// SDKName and SDKVersion are the event's sdk, always both set: the resource's OpenTelemetry SDK
	// (telemetry.sdk.name, default "opentelemetry", plus "."+telemetry.sdk.language) when it gives
	// telemetry.sdk.version, else this exporter (ExporterName, ExporterVersion).
	SDKName, SDKVersion string
}

// Map maps one resource's attributes. defaultEnvironment is the environment of resources that name none
// (the exporter's environment setting). Every repair is counted in repairs. It runs once per resource per
// batch and allocates only to join the release name or to repair a value.
func Map(attrs pcommon.Map, defaultEnvironment string, repairs *sanitize.Counts) Resource {
	r := Resource{
		ServiceName: str(attrs, AttrServiceName),
		ServerName:  sanitize.String(str(attrs, AttrHostName), MaxServerName, repairs),
	}
	r.Environment = Environment(first(attrs, AttrEnvironment, AttrEnvironmentLegacy), defaultEnvironment, repairs)
	if version := str(attrs, AttrServiceVersion); version != "" {
		if r.ServiceName != "" {
			// Sentry's releases are organisation-wide; the service name keeps two services' "1.2.0" apart.
			r.Release = Release(r.ServiceName+"@"+version, repairs)
		} else {
			r.Release = Release(version, repairs)
		}
	}
	sdkLanguage := str(attrs, AttrSDKLanguage)
	r.Language = sdkLanguage
	if r.Language == "" {
		r.Language = LanguageOfRuntime(str(attrs, AttrProcessRuntimeName))
	}
	r.Platform = Platform(r.Language)
	r.SDKName, r.SDKVersion = ExporterName, ExporterVersion
	if version := str(attrs, AttrSDKVersion); version != "" {
		name := str(attrs, AttrSDKName)
		if name == "" {
			name = "opentelemetry"
		}
		if sdkLanguage != "" {
			name += "." + sdkLanguage
		}
		r.SDKName = sanitize.String(name, maxSDKField, repairs)
		r.SDKVersion = sanitize.String(version, maxSDKField, repairs)
	}
	return r
}

// str is the attribute's value as text, or "" when it is absent.
func str(attrs pcommon.Map, key string) string {
	v, ok := attrs.Get(key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// first is the first of the keys with a non-empty value.
func first(attrs pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if s := str(attrs, k); s != "" {
			return s
		}
	}
	return ""
}

// Environment repairs env into an environment name Sentry keeps, falling back to defaultEnvironment (itself
// repaired the same way) when env is empty or one of Sentry's reserved names. Relay deletes an environment
// that is longer than 64 bytes, holds "/", "\" or a control character, or is ".", ".." or "none" in any
// case. A forbidden character becomes "-" and a long name is cut, so "prod/eu" and "prod/us" stay two
// environments ("prod-eu", "prod-us") rather than both becoming the default. Each repair is counted as
// sanitize.Truncated.
func Environment(env, defaultEnvironment string, repairs *sanitize.Counts) string {
	if env = strings.TrimSpace(env); env != "" {
		if env = repairName(env, MaxEnvironment, repairs); !reservedEnvironment(env) {
			return env
		}
		repairs.Add(sanitize.Truncated)
	}
	if defaultEnvironment = strings.TrimSpace(defaultEnvironment); defaultEnvironment == "" {
		return ""
	}
	// The configured default passed CheckEnvironment; this only guards other callers.
	if defaultEnvironment = repairName(defaultEnvironment, MaxEnvironment, repairs); reservedEnvironment(defaultEnvironment) {
		return ""
	}
	return defaultEnvironment
}

// Release repairs release into a release name Sentry keeps, or "" when nothing usable is left. Relay
// deletes a release that is longer than 200 bytes, holds "/", "\" or a control character, or is ".", ".."
// or "latest" in any case (surrounding whitespace is trimmed first). A forbidden character becomes "-"
// ("checkout@feature/x-1.2" is sent as "checkout@feature-x-1.2") and a long name is cut. Each repair is
// counted as sanitize.Truncated.
func Release(release string, repairs *sanitize.Counts) string {
	if release = strings.TrimSpace(release); release == "" {
		return ""
	}
	release = repairName(release, MaxRelease, repairs)
	if release == "." || release == ".." || strings.EqualFold(release, "latest") {
		repairs.Add(sanitize.Truncated)
		return ""
	}
	return release
}

// reservedEnvironment reports the environment names Relay refuses whatever their characters.
func reservedEnvironment(env string) bool {
	return env == "" || env == "." || env == ".." || strings.EqualFold(env, "none")
}

// forbidden reports the bytes Relay refuses in releases and environments: "/", "\", the C0 control
// characters (newline, tab, ...) and DEL. All are ASCII, so a byte test never splits a UTF-8 sequence.
func forbidden(c byte) bool {
	return c < 0x20 || c == 0x7f || c == '/' || c == '\\'
}

// repairName makes s valid UTF-8, at most limit bytes, without forbidden bytes (each becomes "-"), and
// trims the whitespace a cut may leave at the end. It allocates only when it changes s.
func repairName(s string, limit int, repairs *sanitize.Counts) string {
	s = sanitize.String(s, limit, repairs)
	i := 0
	for i < len(s) && !forbidden(s[i]) {
		i++
	}
	if i < len(s) {
		b := []byte(s)
		for j := i; j < len(b); j++ {
			if forbidden(b[j]) {
				b[j] = '-'
			}
		}
		s = string(b)
		repairs.Add(sanitize.Truncated)
	}
	return strings.TrimSpace(s)
}

// Errors of CheckEnvironment, for the exporter's configuration check.
var (
	ErrEnvironmentTooLong  = errors.New("longer than 64 bytes, which Sentry rejects")
	ErrEnvironmentChars    = errors.New(`must not contain "/", "\" or a control character such as a newline or tab, which Sentry rejects`)
	ErrEnvironmentReserved = errors.New(`".", ".." and "None" (in any case) are reserved by Sentry`)
)

// CheckEnvironment reports why Sentry would refuse env as an environment name, or nil. An empty env is
// fine (it means "none configured"). The configuration is refused rather than repaired: a user who set an
// environment by hand should learn at startup that Sentry would not keep it.
func CheckEnvironment(env string) error {
	switch {
	case env == "":
		return nil
	case len(env) > MaxEnvironment:
		return ErrEnvironmentTooLong
	case strings.IndexFunc(env, func(r rune) bool { return r < 0x80 && forbidden(byte(r)) }) >= 0:
		return ErrEnvironmentChars
	case reservedEnvironment(strings.TrimSpace(env)):
		return ErrEnvironmentReserved
	}
	return nil
}
