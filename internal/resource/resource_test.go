package resource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsentry/sentryexporter/internal/sanitize"
)

// attrsOf builds a resource's attributes from strings, and from int64 for the non-string case.
func attrsOf(t *testing.T, kv map[string]any) pcommon.Map {
	t.Helper()
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(kv))
	return m
}

// javaResource is what the OpenTelemetry Java agent sends.
var javaResource = map[string]any{
	"service.name": "checkout", "service.version": "1.8.0", "deployment.environment.name": "production",
	"host.name": "ip-10-0-51-92", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "java",
	"telemetry.sdk.version": "1.46.0", "process.runtime.name": "OpenJDK Runtime Environment",
}

// with is javaResource with some keys changed; a nil value removes the key.
func with(changes map[string]any) map[string]any {
	out := make(map[string]any, len(javaResource))
	for k, v := range javaResource {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func TestMap(t *testing.T) {
	t.Parallel()
	javaWant := Resource{
		ServiceName: "checkout", Environment: "production", Release: "checkout@1.8.0", Platform: "java",
		ServerName: "ip-10-0-51-92", Language: "java", SDKName: "opentelemetry.java", SDKVersion: "1.46.0",
	}
	// want is javaWant with some fields changed.
	want := func(change func(r *Resource)) Resource {
		r := javaWant
		change(&r)
		return r
	}
	tests := []struct {
		name         string
		attrs        map[string]any
		defaultEnv   string
		want         Resource
		wantRepairs  int
		wantTruncate int
	}{
		{name: "a complete resource", attrs: javaResource, defaultEnv: "fallback", want: javaWant},
		{
			// The bug two copies of this mapping had: transactions said checkout@feature-x-1.2, logs
			// checkout@feature/x-1.2, which Sentry deletes.
			name: "slash in the release", attrs: with(map[string]any{"service.version": "feature/x-1.2"}),
			want:        want(func(r *Resource) { r.Release = "checkout@feature-x-1.2" }),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			// The other half: transactions fell back to the configured environment, logs kept prod/eu.
			name: "slash in the environment", attrs: with(map[string]any{"deployment.environment.name": "prod/eu"}),
			defaultEnv:  "production-default",
			want:        want(func(r *Resource) { r.Environment = "prod-eu" }),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			name:  "backslash, tab, newline and DEL",
			attrs: with(map[string]any{"service.version": "a\\b\tc", "deployment.environment.name": "eu\nwest\x7f"}),
			want: want(func(r *Resource) {
				r.Release = "checkout@a-b-c"
				r.Environment = "eu-west-"
			}),
			wantRepairs: 2, wantTruncate: 2,
		},
		{
			name: "legacy environment key", attrs: with(map[string]any{"deployment.environment.name": nil, "deployment.environment": "qa"}),
			want: want(func(r *Resource) { r.Environment = "qa" }),
		},
		{
			name: "the current environment key wins over the legacy one", attrs: with(map[string]any{"deployment.environment": "qa"}),
			want: javaWant,
		},
		{
			name: "no environment: the configured default", attrs: with(map[string]any{"deployment.environment.name": nil}),
			defaultEnv: "staging", want: want(func(r *Resource) { r.Environment = "staging" }),
		},
		{
			name: "no environment and no default", attrs: with(map[string]any{"deployment.environment.name": nil}),
			want: want(func(r *Resource) { r.Environment = "" }),
		},
		{
			name: "reserved environment name: the default", attrs: with(map[string]any{"deployment.environment.name": "None"}),
			defaultEnv: "staging", want: want(func(r *Resource) { r.Environment = "staging" }),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			name: "environment over 64 bytes is cut", attrs: with(map[string]any{"deployment.environment.name": strings.Repeat("e", 70)}),
			want:        want(func(r *Resource) { r.Environment = strings.Repeat("e", 64) }),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			name: "release without a service name", attrs: with(map[string]any{"service.name": nil}),
			want: want(func(r *Resource) {
				r.ServiceName = ""
				r.Release = "1.8.0"
			}),
		},
		{
			name: "no service.version: no release", attrs: with(map[string]any{"service.version": nil}),
			want: want(func(r *Resource) { r.Release = "" }),
		},
		{
			name: "reserved release name: no release", attrs: with(map[string]any{"service.name": nil, "service.version": "latest"}),
			want: want(func(r *Resource) {
				r.ServiceName = ""
				r.Release = ""
			}),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			name: "release over 200 bytes is cut", attrs: with(map[string]any{"service.version": strings.Repeat("9", 250)}),
			want:        want(func(r *Resource) { r.Release = "checkout@" + strings.Repeat("9", 200-len("checkout@")) }),
			wantRepairs: 1, wantTruncate: 1,
		},
		{
			name: "non-string service.version", attrs: with(map[string]any{"service.version": int64(7)}),
			want: want(func(r *Resource) { r.Release = "checkout@7" }),
		},
		{
			name: "invalid UTF-8 in the release", attrs: with(map[string]any{"service.version": "1.\xff"}),
			want:        want(func(r *Resource) { r.Release = "checkout@1.\uFFFD" }),
			wantRepairs: 1,
		},
		{
			name:  "no telemetry.sdk.*: platform from process.runtime.name, sdk is this exporter",
			attrs: with(map[string]any{"telemetry.sdk.name": nil, "telemetry.sdk.language": nil, "telemetry.sdk.version": nil}),
			want: want(func(r *Resource) {
				r.SDKName, r.SDKVersion = ExporterName, ExporterVersion
			}),
		},
		{
			name: "a language without an sdk version: sdk is this exporter", attrs: with(map[string]any{"telemetry.sdk.version": nil}),
			want: want(func(r *Resource) { r.SDKName, r.SDKVersion = ExporterName, ExporterVersion }),
		},
		{
			name:  "an sdk name of its own",
			attrs: with(map[string]any{"telemetry.sdk.name": "acme-sdk", "telemetry.sdk.language": "python", "telemetry.sdk.version": "2.0"}),
			want: want(func(r *Resource) {
				r.SDKName, r.SDKVersion, r.Language, r.Platform = "acme-sdk.python", "2.0", "python", "python"
			}),
		},
		{
			name:  "nothing but a runtime",
			attrs: map[string]any{"process.runtime.name": "CPython"},
			want:  Resource{Platform: "python", Language: "python", SDKName: ExporterName, SDKVersion: ExporterVersion},
		},
		{
			name: "nothing at all", attrs: map[string]any{}, defaultEnv: "production",
			want: Resource{Environment: "production", Platform: "other", SDKName: ExporterName, SDKVersion: ExporterVersion},
		},
		{
			name: "host name over 256 bytes is cut", attrs: with(map[string]any{"host.name": strings.Repeat("h", 300)}),
			want:        want(func(r *Resource) { r.ServerName = strings.Repeat("h", 256) }),
			wantRepairs: 1, wantTruncate: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var repairs sanitize.Counts
			got := Map(attrsOf(t, tt.attrs), tt.defaultEnv, &repairs)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantRepairs, repairs.Total(), "repairs")
			assert.Equal(t, tt.wantTruncate, repairs[sanitize.Truncated], "truncated")
			assert.NoError(t, CheckEnvironment(got.Environment), "the environment is one Sentry keeps")
			assert.True(t, sentryKeepsRelease(got.Release), "the release %q is one Sentry keeps", got.Release)
		})
	}
}

// sentryKeepsRelease restates Relay's release rule independently of repairName: at most 200 bytes, none of
// "/", "\", C0 controls or DEL, and not ".", ".." or "latest". An empty release is simply absent.
func sentryKeepsRelease(release string) bool {
	if release == "" {
		return true
	}
	if len(release) > 200 || release == "." || release == ".." || strings.EqualFold(release, "latest") {
		return false
	}
	return !strings.ContainsFunc(release, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' || r == '\\' })
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env, defaultEnv, want string
		wantRepairs           int
	}{
		{"prod", "d", "prod", 0},
		{"  prod  ", "d", "prod", 0},
		{"", "d", "d", 0},
		{"   ", "d", "d", 0},
		{"prod/eu", "d", "prod-eu", 1},
		{"none", "d", "d", 1},
		{"NONE", "d", "d", 1},
		{".", "d", "d", 1},
		{"..", "d", "d", 1},
		{"/", "d", "-", 1},
		{"None", "None", "", 1},
		{"", "staging/eu", "staging-eu", 1},
		{strings.Repeat("é", 40), "d", strings.Repeat("é", 32), 1},
	}
	for _, tt := range tests {
		var repairs sanitize.Counts
		assert.Equal(t, tt.want, Environment(tt.env, tt.defaultEnv, &repairs), "%q, default %q", tt.env, tt.defaultEnv)
		assert.Equal(t, tt.wantRepairs, repairs.Total(), "repairs of %q, default %q", tt.env, tt.defaultEnv)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		release, want string
		wantRepairs   int
	}{
		{"svc@1.2.0", "svc@1.2.0", 0},
		{" svc@1.2.0 ", "svc@1.2.0", 0},
		{"svc@feature/x-1.2", "svc@feature-x-1.2", 1},
		{"svc@1.2.0+build 7", "svc@1.2.0+build 7", 0},
		{"", "", 0},
		{" ", "", 0},
		{".", "", 1},
		{"..", "", 1},
		{"Latest", "", 1},
		{"latest-build", "latest-build", 0},
		{strings.Repeat("ü", 101), strings.Repeat("ü", 100), 1},
	}
	for _, tt := range tests {
		var repairs sanitize.Counts
		assert.Equal(t, tt.want, Release(tt.release, &repairs), "%q", tt.release)
		assert.Equal(t, tt.wantRepairs, repairs.Total(), "repairs of %q", tt.release)
	}
}

func TestCheckEnvironment(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "production", "prod eu", "prod-eu", "prod.eu", "noneuropean", strings.Repeat("e", 64)} {
		assert.NoError(t, CheckEnvironment(ok), "%q", ok)
	}
	for env, want := range map[string]error{
		strings.Repeat("e", 65): ErrEnvironmentTooLong,
		"prod/eu":               ErrEnvironmentChars,
		`prod\eu`:               ErrEnvironmentChars,
		"prod\neu":              ErrEnvironmentChars,
		"prod\teu":              ErrEnvironmentChars,
		"None":                  ErrEnvironmentReserved,
		"none":                  ErrEnvironmentReserved,
		".":                     ErrEnvironmentReserved,
		"..":                    ErrEnvironmentReserved,
	} {
		assert.ErrorIs(t, CheckEnvironment(env), want, "%q", env)
	}
}

func TestPlatform(t *testing.T) {
	t.Parallel()
	for language, want := range map[string]string{
		"java": "java", "go": "go", "python": "python", "php": "php", "ruby": "ruby", "elixir": "elixir",
		"erlang": "elixir", "nodejs": "node", "webjs": "javascript", "dotnet": "csharp", "cpp": "native",
		"rust": "native", "swift": "cocoa", "Java": "java", "": "other", "cobol": "other",
	} {
		assert.Equal(t, want, Platform(language), "%q", language)
	}
}

// TestLanguageOfRuntime covers the process.runtime.name values OpenTelemetry's semantic conventions and
// SDKs write, and the platform each gives a resource that has no telemetry.sdk.language.
func TestLanguageOfRuntime(t *testing.T) {
	t.Parallel()
	tests := []struct{ runtime, language, platform string }{
		{"go", "go", "go"},
		{"gc", "go", "go"},
		{"gccgo", "go", "go"},
		{"OpenJDK Runtime Environment", "java", "java"},
		{"Java(TM) SE Runtime Environment", "java", "java"},
		{"Android Runtime", "java", "java"},
		{"cpython", "python", "python"},
		{"CPython", "python", "python"},
		{"pypy", "python", "python"},
		{"nodejs", "nodejs", "node"},
		{"browser", "webjs", "javascript"},
		{".NET", "dotnet", "csharp"},
		{".NET Framework", "dotnet", "csharp"},
		{".NET Core", "dotnet", "csharp"},
		{"dotnet", "dotnet", "csharp"},
		{"dotnet-core", "dotnet", "csharp"},
		{"mono", "dotnet", "csharp"},
		{"ruby", "ruby", "ruby"},
		{"jruby", "ruby", "ruby"},
		{"truffleruby", "ruby", "ruby"},
		{"php", "php", "php"},
		{"cli", "php", "php"},
		{"fpm-fcgi", "php", "php"},
		{"apache2handler", "php", "php"},
		{"BEAM", "erlang", "elixir"},
		{"rustc", "rust", "native"},
		{"graalvm", "", "other"},
		{"something else", "", "other"},
		{"", "", "other"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.language, LanguageOfRuntime(tt.runtime), "language of %q", tt.runtime)
		var repairs sanitize.Counts
		got := Map(attrsOf(t, map[string]any{"process.runtime.name": tt.runtime}), "", &repairs)
		assert.Equal(t, tt.platform, got.Platform, "platform of %q", tt.runtime)
	}
	// telemetry.sdk.language wins over the runtime.
	var repairs sanitize.Counts
	got := Map(attrsOf(t, map[string]any{"telemetry.sdk.language": "nodejs", "process.runtime.name": "cpython"}), "", &repairs)
	assert.Equal(t, "node", got.Platform)
	assert.Equal(t, "nodejs", got.Language)
}

func BenchmarkMap(b *testing.B) {
	attrs := pcommon.NewMap()
	if err := attrs.FromRaw(javaResource); err != nil {
		b.Fatal(err)
	}
	var repairs sanitize.Counts
	b.ReportAllocs()
	for b.Loop() {
		_ = Map(attrs, "production", &repairs)
	}
}
