package stacktrace

import (
	"strings"

	"github.com/getsentry/sentry-go"
)

// isInApp decides Sentry's in_app flag, which drives issue grouping and which frames the UI expands: a
// frame is the application's own code unless it is recognisably the language runtime, its standard
// library or a third-party dependency. The text carries no project root, so the rules are heuristics:
//
//   - Java: module (class) starting with java., javax., jakarta., jdk., sun., com.sun., kotlin., kotlinx.,
//     scala., groovy., org.springframework., org.apache., org.hibernate., org.eclipse., org.junit.,
//     org.slf4j., ch.qos.logback., io.netty., io.grpc., io.opentelemetry., reactor., okhttp3.,
//     com.fasterxml., com.google., common database drivers, pools and clients (HikariCP, PostgreSQL, MySQL,
//     MariaDB, Oracle, SQL Server, MongoDB, Jedis, Lettuce, Redisson), Micrometer, Undertow, JBoss, Vert.x,
//     Quarkus, GlassFish and the AWS SDKs, or a frame in a JDK module ("java.base/").
//   - Python: path containing site-packages, dist-packages, /lib/python (the standard library), \Lib\
//     (Windows standard library) or "<frozen ".
//   - Go: module (import path) whose first element is a standard-library package (runtime, net, fmt, ...;
//     the brief "no dot in the first element" rule is narrowed to the real list so that dot-less local
//     modules such as "myservice/internal/x" stay in-app), frames in /pkg/mod/ or vendor/, frames under a
//     versioned module path "module@v1.2.3/" (how -trimpath builds print dependencies), and
//     module-less runtime frames (panic) under a GOROOT path.
//   - Node.js/JavaScript: node_modules, node: and internal/ (Node's own modules), and frames without a
//     line number ("native", "<anonymous>", "index 0": engine built-ins).
//   - .NET: module starting with System., Microsoft., Newtonsoft., Grpc. or equal to System.
//   - Ruby: /gems/, /lib/ruby/ (the standard library), <internal:.
//   - PHP: /vendor/, calls without a file ([internal function], "Unknown Source"), and functions of the
//     frameworks' and the OTel SDK's namespaces (the OTel PHP SDK prints only a file's base name, so
//     /vendor/ cannot be seen there): OpenTelemetry\, Symfony\, Illuminate\, Laravel\, GuzzleHttp\, Psr\,
//     Monolog\, Doctrine\, Composer\.
//
// Everything else is in-app.
func isInApp(format string, f *sentry.Frame) bool {
	path := f.AbsPath
	if path == "" {
		path = f.Filename
	}
	switch format {
	case FormatJava:
		if f.Package != "" && isJDKModule(f.Package) {
			return false
		}
		return !hasAnyPrefix(f.Module, javaLibraryPrefixes())
	case FormatPython:
		return !containsAny(path, "site-packages", "dist-packages", "/lib/python", `\Lib\`, "<frozen ")
	case FormatGo:
		if containsAny(path, "/pkg/mod/", "/vendor/") || strings.HasPrefix(path, "vendor/") || hasModuleVersion(path) {
			return false
		}
		if f.Module == "" {
			return !containsAny(path, "/go/src/runtime/", "/libexec/src/runtime/", "/goroot/src/") &&
				!strings.HasPrefix(path, "runtime/")
		}
		return !isGoStdlib(f.Module)
	case FormatNodeJS:
		return !containsAny(path, "node_modules") && !strings.HasPrefix(path, "node:") &&
			!strings.HasPrefix(path, "internal/") && f.Lineno != 0
	case FormatDotNet:
		return !(f.Module == "System" || hasAnyPrefix(f.Module, []string{"System.", "Microsoft.", "Newtonsoft.", "Grpc."}))
	case FormatRuby:
		return !containsAny(path, "/gems/", "/lib/ruby/", "<internal:")
	case FormatPHP:
		return path != "" && !strings.Contains(path, "/vendor/") && !strings.HasPrefix(path, "vendor/") &&
			!hasAnyPrefix(f.Function, phpLibraryPrefixes())
	}
	return true
}

// hasModuleVersion reports whether a Go file path holds a module version, "module@v1.2.3/": a binary built
// with -trimpath prints dependencies' files as "go.opentelemetry.io/otel/sdk@v1.47.0/trace/span.go", while
// the main module's files carry no version ("example.com/shop/main.go").
func hasModuleVersion(path string) bool {
	// One pass over the directory segments keeps this linear on hostile paths.
	for {
		slash := strings.IndexByte(path, '/')
		if slash < 0 {
			return false
		}
		segment := path[:slash]
		if at := strings.LastIndex(segment, "@v"); at >= 0 {
			version := segment[at+2:]
			if version != "" && version[0] >= '0' && version[0] <= '9' && strings.Count(version, ".") >= 2 {
				return true
			}
		}
		path = path[slash+1:]
	}
}

// phpLibraryPrefixes lists the namespaces of common PHP frameworks and libraries.
func phpLibraryPrefixes() []string {
	return []string{`OpenTelemetry\`, `Symfony\`, `Illuminate\`, `Laravel\`, `GuzzleHttp\`, `Psr\`, `Monolog\`,
		`Doctrine\`, `Composer\`}
}

// javaLibraryPrefixes lists the package prefixes of the JDK, JVM languages and common frameworks.
// Returned by a function so the list stays immutable.
func javaLibraryPrefixes() []string {
	return []string{
		"java.", "javax.", "jakarta.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala.", "groovy.",
		"org.springframework.", "org.apache.", "org.hibernate.", "org.eclipse.", "org.junit.", "org.slf4j.",
		"ch.qos.logback.", "io.netty.", "io.grpc.", "io.opentelemetry.", "reactor.", "okhttp3.",
		"com.fasterxml.", "com.google.",
		// Database drivers, pools and clients, and servers, that sit in most services' traces.
		"com.zaxxer.hikari.", "org.postgresql.", "com.mysql.", "org.mariadb.", "oracle.jdbc.", "com.microsoft.sqlserver.",
		"com.mongodb.", "org.mongodb.", "redis.clients.", "io.lettuce.", "org.redisson.", "io.micrometer.",
		"io.undertow.", "org.jboss.", "io.vertx.", "io.quarkus.", "org.glassfish.", "com.amazonaws.", "software.amazon.",
	}
}

// isJDKModule reports whether a JPMS module name ("java.base", "jdk.internal.vm.ci") is the JDK's.
func isJDKModule(module string) bool {
	return strings.HasPrefix(module, "java.") || strings.HasPrefix(module, "jdk.")
}

// isGoStdlib reports whether an import path belongs to Go's standard library, by its first element.
func isGoStdlib(module string) bool {
	first := module
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	if strings.Contains(first, ".") {
		return false
	}
	switch first {
	case "archive", "bufio", "bytes", "cmp", "compress", "container", "context", "crypto", "database",
		"debug", "embed", "encoding", "errors", "expvar", "flag", "fmt", "go", "hash", "html", "image",
		"index", "internal", "io", "iter", "log", "maps", "math", "mime", "net", "os", "path", "plugin",
		"reflect", "regexp", "runtime", "slices", "sort", "strconv", "strings", "structs", "sync",
		"syscall", "testing", "text", "time", "unicode", "unique", "unsafe", "weak", "vendor":
		return true
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
