package resource

import "strings"

// Platform maps an OpenTelemetry language (telemetry.sdk.language's values) to the platform names Sentry
// knows (as3 c cfml cocoa csharp elixir go groovy haskell java javascript native node objc other perl php
// python ruby); Relay deletes any other value. Erlang maps to elixir, Sentry's one platform for the BEAM.
// An unknown or empty language is "other".
func Platform(language string) string {
	switch l := strings.ToLower(language); l {
	case "java", "go", "python", "php", "ruby", "elixir":
		return l
	case "erlang":
		return "elixir"
	case "nodejs":
		return "node"
	case "webjs":
		return "javascript"
	case "dotnet":
		return "csharp"
	case "cpp", "rust":
		return "native"
	case "swift":
		return "cocoa"
	default:
		return "other"
	}
}

// LanguageOfRuntime maps a process.runtime.name to the OpenTelemetry language it implies, or "" when it
// implies none. It serves resources without telemetry.sdk.language (an SDK configured without its default
// resource). The values are those OpenTelemetry's semantic conventions and SDKs write:
//
//   - Go: "go" (the Go SDK, for the gc compiler), "gc", "gccgo" (the compiler's name).
//   - Java: java.runtime.name, e.g. "OpenJDK Runtime Environment", "Java(TM) SE Runtime Environment",
//     "Android Runtime".
//   - Python: sys.implementation.name, e.g. "cpython", "pypy".
//   - JavaScript: "nodejs", "browser" (and "iojs", "deno", "bun").
//   - .NET: the framework description without its version, e.g. ".NET", ".NET Framework", ".NET Core";
//     older conventions "dotnet-core", "dotnet-framework", "mono".
//   - Ruby: RUBY_ENGINE, e.g. "ruby", "jruby", "truffleruby".
//   - PHP: php_sapi_name(), e.g. "cli", "fpm-fcgi", "apache2handler".
//   - Erlang/Elixir: erlang:system_info(machine), "BEAM".
//
// Case does not matter. "graalvm" is left out: conventions list it for JavaScript, while GraalVM's Java
// reports an OpenJDK runtime name.
func LanguageOfRuntime(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "":
		return ""
	case "go", "gc", "gccgo":
		return "go"
	case "cpython", "pypy", "ironpython", "jython", "graalpy", "micropython", "python":
		return "python"
	case "nodejs", "node", "node.js", "iojs", "deno", "bun":
		return "nodejs"
	case "browser":
		return "webjs"
	case "android runtime":
		return "java"
	case "dotnet", "dotnet-core", "dotnet-framework", "mono":
		return "dotnet"
	case "ruby", "jruby", "truffleruby", "mruby":
		return "ruby"
	case "php", "cli", "cli-server", "fpm-fcgi", "cgi-fcgi", "apache2handler", "litespeed", "embed", "phpdbg", "frankenphp":
		return "php"
	case "beam":
		return "erlang"
	case "rustc":
		return "rust"
	case "swift", "swiftc":
		return "swift"
	}
	switch {
	case strings.HasPrefix(n, ".net"):
		return "dotnet"
	case strings.HasSuffix(n, "runtime environment") || strings.Contains(n, "jdk"):
		// java.runtime.name: "OpenJDK Runtime Environment", "Java(TM) SE Runtime Environment", ...
		return "java"
	}
	return ""
}
