package workload

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// serviceID names one of the simulated services. The set is fixed: the point is a small shop whose services
// each speak a different SDK dialect, so the exporter sees every language, legacy and stable keys side by side.
type serviceID uint8

const (
	svcFrontend      serviceID = iota // Node.js, Express, legacy HTTP keys
	svcCheckout                       // Java agent, stable semconv
	svcPayments                       // Python, legacy HTTP and DB keys, legacy deployment.environment
	svcInventory                      // Go, stable semconv, gRPC server
	svcNotifications                  // .NET worker, consumes Kafka and RabbitMQ, no span flags
	numServices
)

// flagStyle is how an SDK's OTLP exporter fills Span.Flags. Real SDKs differ, and an exporter that finds remote
// parents only through the flags must still cope with the SDKs that never set them.
type flagStyle uint8

const (
	// flagsAbsent: the SDK leaves Flags zero (the .NET exporter).
	flagsAbsent flagStyle = iota
	// flagsRemoteBits: HAS_IS_REMOTE always, IS_REMOTE when the parent came over the wire (Go, Python).
	flagsRemoteBits
	// flagsWithTraceFlags: as flagsRemoteBits plus the W3C trace flags byte (sampled), as Java and JS do.
	flagsWithTraceFlags
)

// Span flag bits from the OTLP proto (SpanFlags).
const (
	flagSampled     = 0x01
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// language selects the stack trace dialect of exception events.
type language uint8

const (
	langNode language = iota
	langJava
	langPython
	langGo
	langDotnet
)

// service is the static description of one simulated service: its resource and its SDK's habits.
type service struct {
	name        string
	version     string
	envKey      string // deployment.environment.name, or the legacy deployment.environment
	sdkLanguage string
	sdkVersion  string
	distro      string // telemetry.distro.name, empty when the SDK is used without a distribution
	runtimeName string
	runtimeVer  string
	runtimeDesc string
	podPrefix   string
	region      string
	schemaURL   string
	lang        language
	flags       flagStyle
	legacyHTTP  bool // http.method, http.target, http.status_code, http.url, net.peer.name
	legacyDB    bool // db.system, db.statement, db.name
	port        int64
}

// services is indexed by serviceID. It is a function rather than a package variable so that there is no
// package-level mutable state; the generator calls it once.
func services() [numServices]service {
	return [numServices]service{
		svcFrontend: {
			name: "frontend", version: "2.14.1", envKey: "deployment.environment.name",
			sdkLanguage: "nodejs", sdkVersion: "1.30.1",
			runtimeName: "nodejs", runtimeVer: "22.12.0", runtimeDesc: "Node.js",
			podPrefix: "frontend-6f9c8d7b5-", region: "eu-west-1",
			schemaURL: "https://opentelemetry.io/schemas/1.27.0",
			lang:      langNode, flags: flagsWithTraceFlags, legacyHTTP: true, legacyDB: true, port: 3000,
		},
		svcCheckout: {
			name: "checkout", version: "1.8.0", envKey: "deployment.environment.name",
			sdkLanguage: "java", sdkVersion: "1.46.0", distro: "opentelemetry-java-instrumentation",
			runtimeName: "OpenJDK Runtime Environment", runtimeVer: "21.0.5+11-LTS",
			runtimeDesc: "Eclipse Adoptium OpenJDK 64-Bit Server VM 21.0.5+11-LTS",
			podPrefix:   "checkout-7d4b9c6f8d-", region: "eu-west-1",
			schemaURL: "https://opentelemetry.io/schemas/1.24.0",
			lang:      langJava, flags: flagsWithTraceFlags, port: 8080,
		},
		svcPayments: {
			name: "payments", version: "0.31.2", envKey: "deployment.environment",
			sdkLanguage: "python", sdkVersion: "1.29.0",
			runtimeName: "cpython", runtimeVer: "3.12.8", runtimeDesc: "3.12.8 (main, Dec  4 2024, 20:42:10) [GCC 12.2.0]",
			podPrefix: "payments-5c8f7d9b6-", region: "eu-west-1",
			schemaURL: "https://opentelemetry.io/schemas/1.11.0",
			lang:      langPython, flags: flagsRemoteBits, legacyHTTP: true, legacyDB: true, port: 5000,
		},
		svcInventory: {
			name: "inventory", version: "3.2.0", envKey: "deployment.environment.name",
			sdkLanguage: "go", sdkVersion: "1.34.0",
			runtimeName: "go", runtimeVer: "go1.23.4", runtimeDesc: "go version go1.23.4 linux/amd64",
			podPrefix: "inventory-84d6b7c9f5-", region: "eu-west-1",
			schemaURL: "https://opentelemetry.io/schemas/1.26.0",
			lang:      langGo, flags: flagsRemoteBits, port: 8080,
		},
		svcNotifications: {
			name: "notifications", version: "1.0.7", envKey: "deployment.environment",
			sdkLanguage: "dotnet", sdkVersion: "1.10.0",
			runtimeName: ".NET", runtimeVer: "9.0.0", runtimeDesc: ".NET 9.0.0",
			podPrefix: "notifications-77f5c4d8b9-", region: "eu-central-1",
			schemaURL: "https://opentelemetry.io/schemas/1.23.0",
			lang:      langDotnet, flags: flagsAbsent, legacyDB: true, port: 8080,
		},
	}
}

// spanFlags returns what the service's SDK writes into Span.Flags for a span whose parent is (not) remote.
func (s *service) spanFlags(remoteParent bool) uint32 {
	var f uint32
	switch s.flags {
	case flagsAbsent:
		return 0
	case flagsWithTraceFlags:
		f = flagSampled | flagHasIsRemote
	default:
		f = flagHasIsRemote
	}
	if remoteParent {
		f |= flagIsRemote
	}
	return f
}

// scopeID names an instrumentation scope. Each scope belongs to exactly one service, which lets a batch be
// grouped by scope with a fixed-size table instead of a map.
type scopeID uint8

const (
	scNodeHTTP scopeID = iota
	scNodeExpress
	scNodeIORedis
	scJavaTomcat
	scJavaSpring
	scJavaJDBC
	scJavaHTTPClient
	scJavaGRPC
	scJavaKafka
	scPyFlask
	scPyMySQL
	scPyRequests
	scPyPika
	scPyManual
	scGoHTTP
	scGoGRPC
	scGoRedis
	scGoMongo
	scGoManual
	scNetKafka
	scNetRabbit
	scNetNpgsql
	scNetHTTP
	scNetManual
	numScopes
)

// scope is an instrumentation scope as the real instrumentation libraries name themselves.
type scope struct {
	svc     serviceID
	name    string
	version string
}

// scopes is indexed by scopeID.
func scopes() [numScopes]scope {
	const javaAgent = "2.12.0-alpha"
	const pyContrib = "0.50b0"
	const goContrib = "0.59.0"
	return [numScopes]scope{
		scNodeHTTP:       {svcFrontend, "@opentelemetry/instrumentation-http", "0.57.2"},
		scNodeExpress:    {svcFrontend, "@opentelemetry/instrumentation-express", "0.47.1"},
		scNodeIORedis:    {svcFrontend, "@opentelemetry/instrumentation-ioredis", "0.47.1"},
		scJavaTomcat:     {svcCheckout, "io.opentelemetry.tomcat-10.0", javaAgent},
		scJavaSpring:     {svcCheckout, "io.opentelemetry.spring-webmvc-6.0", javaAgent},
		scJavaJDBC:       {svcCheckout, "io.opentelemetry.jdbc", javaAgent},
		scJavaHTTPClient: {svcCheckout, "io.opentelemetry.java-http-client", javaAgent},
		scJavaGRPC:       {svcCheckout, "io.opentelemetry.grpc-1.6", javaAgent},
		scJavaKafka:      {svcCheckout, "io.opentelemetry.kafka-clients-2.6", javaAgent},
		scPyFlask:        {svcPayments, "opentelemetry.instrumentation.flask", pyContrib},
		scPyMySQL:        {svcPayments, "opentelemetry.instrumentation.pymysql", pyContrib},
		scPyRequests:     {svcPayments, "opentelemetry.instrumentation.requests", pyContrib},
		scPyPika:         {svcPayments, "opentelemetry.instrumentation.pika", pyContrib},
		scPyManual:       {svcPayments, "payments.service", ""},
		scGoHTTP:         {svcInventory, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", goContrib},
		scGoGRPC:         {svcInventory, "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", goContrib},
		scGoRedis:        {svcInventory, "github.com/redis/go-redis/extra/redisotel", "9.7.0"},
		scGoMongo:        {svcInventory, "go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo", goContrib},
		scGoManual:       {svcInventory, "github.com/acme-shop/inventory/internal/sync", ""},
		scNetKafka:       {svcNotifications, "OpenTelemetry.Instrumentation.ConfluentKafka", "0.1.0-alpha.4"},
		scNetRabbit:      {svcNotifications, "RabbitMQ.Client.Subscriber", "7.1.2"},
		scNetNpgsql:      {svcNotifications, "Npgsql", "9.0.3"},
		scNetHTTP:        {svcNotifications, "System.Net.Http", "9.0.0"},
		scNetManual:      {svcNotifications, "Notifications.Worker", "1.0.7"},
	}
}

// pod is the per-run identity of a service's single replica, drawn from the seed so runs differ by seed only.
type pod struct {
	name string
	host string
	pid  int64
}

// fillResource writes the service's resource as its SDK and the k8s/cloud detectors would.
func fillResource(rs ptrace.ResourceSpans, s *service, p *pod) {
	rs.SetSchemaUrl(s.schemaURL)
	m := rs.Resource().Attributes()
	m.EnsureCapacity(20)
	m.PutStr("service.name", s.name)
	m.PutStr("service.version", s.version)
	m.PutStr("service.namespace", "shop")
	m.PutStr("service.instance.id", p.name)
	m.PutStr(s.envKey, "production")
	m.PutStr("telemetry.sdk.name", "opentelemetry")
	m.PutStr("telemetry.sdk.language", s.sdkLanguage)
	m.PutStr("telemetry.sdk.version", s.sdkVersion)
	if s.distro != "" {
		m.PutStr("telemetry.distro.name", s.distro)
		m.PutStr("telemetry.distro.version", "2.12.0")
	}
	m.PutStr("host.name", p.host)
	m.PutStr("host.arch", "amd64")
	m.PutStr("os.type", "linux")
	m.PutStr("process.runtime.name", s.runtimeName)
	m.PutStr("process.runtime.version", s.runtimeVer)
	m.PutStr("process.runtime.description", s.runtimeDesc)
	m.PutInt("process.pid", p.pid)
	m.PutStr("k8s.namespace.name", "shop")
	m.PutStr("k8s.deployment.name", s.name)
	m.PutStr("k8s.pod.name", p.name)
	m.PutStr("cloud.provider", "aws")
	m.PutStr("cloud.platform", "aws_eks")
	m.PutStr("cloud.region", s.region)
}

// fillScope writes an instrumentation scope.
func fillScope(ss ptrace.ScopeSpans, sc *scope) {
	ss.Scope().SetName(sc.name)
	if sc.version != "" {
		ss.Scope().SetVersion(sc.version)
	}
}

// podName builds a k8s-style pod name suffix (five lowercase alphanumerics) from a random number.
func podName(prefix string, r uint64) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // the alphabet k8s uses for generated names
	b := make([]byte, 0, len(prefix)+5)
	b = append(b, prefix...)
	for range 5 {
		b = append(b, alphabet[r%uint64(len(alphabet))])
		r /= uint64(len(alphabet))
	}
	return string(b)
}

// hostName is the node a pod runs on, in EKS's naming.
func hostName(r uint64) string {
	b := make([]byte, 0, 48)
	b = append(b, "ip-10-0-"...)
	b = strconv.AppendUint(b, r%256, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, (r>>8)%256, 10)
	b = append(b, ".eu-west-1.compute.internal"...)
	return string(b)
}
