package workload

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Time units in nanoseconds.
const (
	us = uint64(1e3)
	ms = uint64(1e6)
)

// largeEvery is the stride of large traces: one trace in each block of largeEvery is a 200-2000 span N+1
// query loop. Placing exactly one per block, at a random position, rather than flipping a coin per trace
// keeps small workloads (100 traces) from randomly having none.
const largeEvery = 50

// entryPoint is where a trace enters the system.
type entryPoint uint8

const (
	entryFrontend      entryPoint = iota // browser -> frontend, root or with a remote (browser SDK) parent
	entryCheckout                        // API gateway (not sending to us) -> checkout: remote parent
	entryInventoryHTTP                   // mobile app -> inventory stock lookup: remote parent
	entryInventoryJob                    // scheduled sync job: a root INTERNAL span
)

// frontend routes.
const (
	routeCheckout = iota // POST /api/checkout -> checkout -> inventory, payments, messaging
	routeProduct         // GET /api/products/:id -> inventory
	routeCart            // GET /api/cart -> redis, usually inventory
)

// consumerMode is how a message consumer relates to its producer.
type consumerMode uint8

const (
	consumeChild         consumerMode = iota // CONSUMER's parent is the PRODUCER span (remote)
	consumeLinkNewTrace                      // CONSUMER is the root of a new trace, linked to the PRODUCER
	consumeLinkSameTrace                     // CONSUMER has the producer's trace id, no parent, and a link
	numConsumerModes
)

// tracePlan holds the decisions made once per trace: where it enters, how big it is, what fails.
type tracePlan struct {
	entry        entryPoint
	route        int
	remoteParent bool
	budget       int  // target number of spans (handlers may exceed it only when forceAll)
	forceAll     bool // take every optional downstream call (large traces and Small)
	fail         [numServices]bool
	failVariant  int             // which of a service's failure modes
	propagate    bool            // a caller seeing a failed callee fails too (else it handles the error)
	consumer     [2]consumerMode // for Kafka [0] and RabbitMQ [1] messages, when fixedMode
	fixedMode    bool            // use consumer rather than drawing a mode per message
	notFound     bool            // the stock lookup answers 404
	loopSvc      serviceID
	loopCount    int
}

// request is a call into a service handler.
type request struct {
	t         *traceCtx
	parent    pcommon.SpanID
	remote    bool
	start     uint64
	budget    int
	userAgent string
}

// response is what a handler answered: when it ended and with which status (HTTP status or gRPC code).
type response struct {
	end    uint64
	status int
	failed bool
}

// allowance counts the spans a handler may still emit.
type allowance struct {
	left  int
	force bool
}

// take reserves n spans; with force it always succeeds and the allowance just runs dry.
func (a *allowance) take(n int) bool {
	if a.left >= n {
		a.left -= n
		return true
	}
	if a.force {
		a.left = 0
		return true
	}
	return false
}

// us returns a uniform duration in [lo, hi] microseconds, in nanoseconds.
func (g *generator) us(lo, hi uint64) uint64 {
	return lo*us + g.rng.Uint64N((hi-lo)*us+1)
}

// logUs returns a log-uniform duration in [lo, hi] microseconds: most calls are fast, a few are slow, as
// with real latencies.
func (g *generator) logUs(lo, hi float64) uint64 {
	return uint64(lo * math.Exp(g.rng.Float64()*math.Log(hi/lo)) * 1e3)
}

// want decides an optional step with probability p; traces with forceAll take every step.
func (g *generator) want(t *traceCtx, p float64) bool {
	return t.plan.forceAll || g.rng.Float64() < p
}

// callBudget takes a sub-budget for a downstream call out of a: one span for the calling CLIENT/PRODUCER span
// plus at least one for the callee, leaving at least two for each of the callsLeft-1 calls still to come.
func (g *generator) callBudget(a *allowance, callsLeft int) (int, bool) {
	if !a.take(2) {
		return 0, false
	}
	most := a.left - 2*(callsLeft-1)
	sub := 1
	if most > 0 {
		extra := g.rng.IntN(most + 1)
		sub += extra
		a.left -= extra
	}
	return sub, true
}

// hex returns n random lowercase hex digits (session ids, uuids).
func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := g.buf[:0]
	var r uint64
	for i := range n {
		if i%16 == 0 {
			r = g.rng.Uint64()
		}
		b = append(b, digits[r&15])
		r >>= 4
	}
	g.buf = b
	return string(b)
}

// uuid returns a random version-4 UUID string, as Java and .NET services use for ids.
func (g *generator) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// sku returns a product id.
func (g *generator) sku() string {
	return "SKU-" + strconv.Itoa(1000+g.rng.IntN(9000))
}

// ip returns a pod address in the cluster's 10.0.0.0/20 range.
func (g *generator) ip() string {
	b := g.buf[:0]
	b = append(b, "10.0."...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(16)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(2+g.rng.IntN(250)), 10)
	g.buf = b
	return string(b)
}

// browserUA returns the user agent of a typical shop visitor.
func (g *generator) browserUA() string {
	switch g.rng.IntN(4) {
	case 0:
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	case 1:
		return "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1"
	case 2:
		return "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	default:
		return "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.104 Mobile Safari/537.36"
	}
}

// randomPlan draws the decisions for one trace.
func (g *generator) randomPlan(large bool) *tracePlan {
	p := &tracePlan{loopSvc: numServices, propagate: g.rng.Float64() < 0.6}
	// Skewed towards small traces: 3..30 with the mass below 15.
	p.budget = 3 + int(27*math.Pow(g.rng.Float64(), 1.6))
	switch r := g.rng.Float64(); {
	case r < 0.74:
		p.entry = entryFrontend
		switch r2 := g.rng.Float64(); {
		case r2 < 0.45:
			p.route = routeCheckout
		case r2 < 0.85:
			p.route = routeProduct
		default:
			p.route = routeCart
		}
		p.remoteParent = g.rng.Float64() < 0.15
	case r < 0.86:
		p.entry, p.remoteParent = entryCheckout, true
	case r < 0.94:
		p.entry, p.remoteParent = entryInventoryHTTP, true
	default:
		p.entry = entryInventoryJob
	}
	if g.rng.Float64() < 0.10 {
		p.fail[g.rng.IntN(int(numServices))] = true
	}
	p.failVariant = g.rng.IntN(2)
	p.notFound = g.rng.Float64() < 0.08
	if large {
		// An N+1 query loop behind a full checkout: the forced call tree is about 30 spans, the loop the rest.
		p.entry, p.route, p.forceAll, p.budget = entryFrontend, routeCheckout, true, 10
		p.loopSvc = [...]serviceID{svcCheckout, svcInventory, svcPayments}[g.rng.IntN(3)]
		p.loopCount = 170 + g.rng.IntN(1801)
	}
	return p
}

// runPlan generates one trace (plus any consumer traces it spawns) starting at start and returns the end
// of its entry span.
func (g *generator) runPlan(p *tracePlan, start uint64) uint64 {
	t, ok := g.newTrace(p)
	if !ok {
		return start
	}
	req := request{t: t, start: start, budget: p.budget, userAgent: g.browserUA()}
	if p.remoteParent {
		req.parent, req.remote = g.newSpanID(), true
	}
	var resp response
	switch p.entry {
	case entryCheckout:
		resp = g.checkout(req)
	case entryInventoryHTTP:
		req.userAgent = "ShopApp/5.3.0 (iPhone; iOS 18.1; Scale/3.00)"
		resp = g.inventoryHTTP(req)
	case entryInventoryJob:
		resp = g.inventoryJob(req)
	default:
		resp = g.frontend(req)
	}
	return resp.end
}

// ---- protocol helpers ----

// putHTTPServer writes an HTTP SERVER span's attributes in the stable or the pre-1.21 (legacy) dialect.
func putHTTPServer(m pcommon.Map, legacy bool, method, route, path, scheme, host string, port int64,
	status int, ua, client string,
) {
	m.EnsureCapacity(12)
	if legacy {
		m.PutStr("http.method", method)
		m.PutStr("http.target", path)
		m.PutStr("http.url", scheme+"://"+host+path)
		m.PutStr("http.scheme", scheme)
		m.PutStr("http.host", host)
		m.PutStr("net.host.name", host)
		m.PutInt("net.host.port", port)
		m.PutStr("http.flavor", "1.1")
		m.PutStr("http.user_agent", ua)
		m.PutStr("net.peer.ip", client)
		m.PutStr("http.route", route)
		m.PutInt("http.status_code", int64(status))
		return
	}
	m.PutStr("http.request.method", method)
	m.PutStr("http.route", route)
	m.PutStr("url.path", path)
	m.PutStr("url.scheme", scheme)
	m.PutStr("server.address", host)
	m.PutInt("server.port", port)
	m.PutStr("network.protocol.version", "1.1")
	m.PutStr("user_agent.original", ua)
	m.PutStr("client.address", client)
	m.PutInt("http.response.status_code", int64(status))
	if status >= 500 {
		m.PutStr("error.type", strconv.Itoa(status))
	}
}

// putHTTPClient writes an HTTP CLIENT span's attributes in the stable or the legacy dialect.
func putHTTPClient(m pcommon.Map, legacy bool, method, url, host string, port int64, status int) {
	m.EnsureCapacity(7)
	if legacy {
		m.PutStr("http.method", method)
		m.PutStr("http.url", url)
		m.PutStr("net.peer.name", host)
		m.PutInt("net.peer.port", port)
		m.PutStr("http.flavor", "1.1")
		m.PutInt("http.status_code", int64(status))
		return
	}
	m.PutStr("http.request.method", method)
	m.PutStr("url.full", url)
	m.PutStr("server.address", host)
	m.PutInt("server.port", port)
	m.PutStr("network.protocol.version", "1.1")
	m.PutInt("http.response.status_code", int64(status))
	if status >= 400 {
		m.PutStr("error.type", strconv.Itoa(status))
	}
}

// clientStatus applies the semconv rule for CLIENT spans: any 4xx or 5xx is an error.
func clientStatus(o openSpan, status int) {
	if status >= 400 {
		o.span.Status().SetCode(ptrace.StatusCodeError)
	}
}

// serverStatus applies the semconv rule for SERVER spans: only 5xx is an error.
func serverStatus(o openSpan, status int) {
	if status >= 500 {
		o.span.Status().SetCode(ptrace.StatusCodeError)
	}
}

// dbCall describes one database operation in both dialects.
type dbCall struct {
	system string // postgresql, mysql, redis, mongodb
	op     string
	coll   string
	ns     string
	query  string
	host   string
	port   int64
}

// db emits a DB CLIENT span. Span names follow each instrumentation's habit: the Java agent's
// "SELECT shop.carts", PyMySQL's first keyword, Redis' command, otelmongo's "items.find", Npgsql's database.
func (g *generator) db(t *traceCtx, sc scopeID, parent pcommon.SpanID, start uint64, c dbCall) openSpan {
	svc := g.scopes[sc].svc
	legacy := g.svcs[svc].legacyDB
	var name string
	switch {
	case svc == svcNotifications:
		name = c.ns
	case c.system == "redis":
		name = c.op
	case c.system == "mongodb":
		name = c.coll + "." + c.op
	case legacy:
		name = c.op
	default:
		name = c.op + " " + c.ns + "." + c.coll
	}
	o := g.open(t, sc, parent, false, ptrace.SpanKindClient, name, start)
	m := o.span.Attributes()
	m.EnsureCapacity(8)
	if legacy {
		m.PutStr("db.system", c.system)
		m.PutStr("db.statement", c.query)
		if c.system != "redis" {
			m.PutStr("db.name", c.ns)
			m.PutStr("db.user", "app")
		}
		m.PutStr("net.peer.name", c.host)
		m.PutInt("net.peer.port", c.port)
	} else {
		m.PutStr("db.system.name", c.system)
		m.PutStr("db.query.text", c.query)
		m.PutStr("db.operation.name", c.op)
		if c.coll != "" {
			m.PutStr("db.collection.name", c.coll)
		}
		m.PutStr("db.namespace", c.ns)
		m.PutStr("server.address", c.host)
		m.PutInt("server.port", c.port)
	}
	return o
}

// leaf emits one leaf span typical of the service (a query, a cache hit, a middleware) and returns its end.
func (g *generator) leaf(t *traceCtx, svc serviceID, parent pcommon.SpanID, start uint64) uint64 {
	var c dbCall
	var sc scopeID
	switch svc {
	case svcFrontend:
		if g.rng.IntN(2) == 0 {
			names := [...]string{"middleware - query", "middleware - expressInit", "middleware - jsonParser", "middleware - cookieParser"}
			o := g.open(t, scNodeExpress, parent, false, ptrace.SpanKindInternal, names[g.rng.IntN(len(names))], start)
			m := o.span.Attributes()
			m.PutStr("express.name", o.span.Name()[len("middleware - "):])
			m.PutStr("express.type", "middleware")
			end := start + g.logUs(20, 800)
			g.finish(o, end)
			return end
		}
		sc = scNodeIORedis
		c = dbCall{system: "redis", op: "get", query: "get session:" + g.hex(24), host: "redis-cache", port: 6379}
		if g.rng.IntN(3) == 0 {
			c.op, c.query = "setex", "setex session:"+g.hex(24)+" 1800 [1 other arguments]"
		}
	case svcCheckout:
		sc = scJavaJDBC
		c = dbCall{system: "postgresql", ns: "shop", host: "checkout-db", port: 5432, op: "SELECT"}
		switch g.rng.IntN(3) {
		case 0:
			c.coll, c.query = "customers", "select c1_0.id,c1_0.email,c1_0.tier from customers c1_0 where c1_0.id=?"
		case 1:
			c.coll, c.query = "addresses", "select a1_0.id,a1_0.city,a1_0.country,a1_0.zip from addresses a1_0 where a1_0.customer_id=?"
		default:
			c.coll, c.query = "promotions", "select p1_0.code,p1_0.percent_off from promotions p1_0 where p1_0.code=? and p1_0.valid_until>?"
		}
	case svcPayments:
		sc = scPyMySQL
		c = dbCall{system: "mysql", ns: "payments", host: "payments-db", port: 3306, op: "SELECT",
			query: "SELECT id, status, amount_cents FROM payment_intents WHERE order_id = %s"}
	case svcInventory:
		if g.rng.IntN(2) == 0 {
			sc = scGoRedis
			c = dbCall{system: "redis", op: "GET", ns: "0", query: "GET stock:" + g.sku(), host: "inventory-redis", port: 6379}
		} else {
			sc = scGoMongo
			c = dbCall{system: "mongodb", op: "find", coll: "items", ns: "inventory", host: "inventory-mongo", port: 27017,
				query: `{"find":"items","filter":{"sku":"?"},"limit":1}`}
		}
	default:
		sc = scNetNpgsql
		c = dbCall{system: "postgresql", op: "SELECT", ns: "notifications", host: "notifications-db", port: 5432,
			query: "SELECT subject, body FROM templates WHERE name = $1 AND locale = $2"}
	}
	o := g.db(t, sc, parent, start, c)
	end := start + g.logUs(150, 12_000)
	g.finish(o, end)
	return end
}

// loop emits the N+1 query loop of a large trace: the same query once per item.
func (g *generator) loop(t *traceCtx, svc serviceID, parent pcommon.SpanID, cur uint64) uint64 {
	if t.plan.loopSvc != svc {
		return cur
	}
	var c dbCall
	var sc scopeID
	switch svc {
	case svcCheckout:
		sc = scJavaJDBC
		c = dbCall{system: "postgresql", op: "SELECT", coll: "order_items", ns: "shop", host: "checkout-db", port: 5432,
			query: "select oi1_0.id,oi1_0.sku,oi1_0.quantity,oi1_0.price_cents from order_items oi1_0 where oi1_0.id=?"}
	case svcInventory:
		sc = scGoRedis
		c = dbCall{system: "redis", op: "HGETALL", ns: "0", host: "inventory-redis", port: 6379}
	default:
		sc = scPyMySQL
		c = dbCall{system: "mysql", op: "SELECT", ns: "payments", host: "payments-db", port: 3306,
			query: "SELECT id, amount_cents, currency FROM ledger_entries WHERE id = %s"}
	}
	for range t.plan.loopCount {
		if svc == svcInventory {
			c.query = "HGETALL item:" + g.sku()
		}
		o := g.db(t, sc, parent, cur, c)
		end := cur + g.logUs(80, 3_000)
		g.finish(o, end)
		cur = end + g.us(5, 60)
	}
	return cur
}

// fill spends the rest of an allowance on leaf spans, then the plan's loop if it is this service's.
func (g *generator) fill(t *traceCtx, svc serviceID, parent pcommon.SpanID, cur uint64, a *allowance) uint64 {
	for a.left > 0 {
		a.left--
		cur = g.leaf(t, svc, parent, cur) + g.us(5, 200)
	}
	return g.loop(t, svc, parent, cur)
}

// httpCall emits an HTTP CLIENT span whose callee (another service's SERVER span) is its child.
func (g *generator) httpCall(t *traceCtx, sc scopeID, parent pcommon.SpanID, start uint64, method, url, host string,
	port int64, ua string, budget int, callee func(request) response,
) response {
	legacy := g.svcs[g.scopes[sc].svc].legacyHTTP
	name := method
	if legacy && sc == scNodeHTTP {
		name = "HTTP " + method // @opentelemetry/instrumentation-http before semconv 1.23
	}
	cl := g.open(t, sc, parent, false, ptrace.SpanKindClient, name, start)
	resp := callee(request{t: t, parent: cl.id, remote: true, start: start + g.us(200, 1500), budget: budget, userAgent: ua})
	end := resp.end + g.us(100, 800)
	putHTTPClient(cl.span.Attributes(), legacy, method, url, host, port, resp.status)
	clientStatus(cl, resp.status)
	g.finish(cl, end)
	resp.end = end
	return resp
}

// external emits an HTTP CLIENT span to a third party that does not send traces (Stripe, SendGrid).
func (g *generator) external(t *traceCtx, sc scopeID, parent pcommon.SpanID, start uint64, method, url, host string,
	status int,
) (openSpan, uint64) {
	legacy := g.svcs[g.scopes[sc].svc].legacyHTTP
	cl := g.open(t, sc, parent, false, ptrace.SpanKindClient, method, start)
	end := start + g.logUs(30_000, 900_000)
	putHTTPClient(cl.span.Attributes(), legacy, method, url, host, 443, status)
	clientStatus(cl, status)
	g.finish(cl, end)
	return cl, end
}

// grpcReserve is checkout's gRPC CLIENT call to inventory's Reserve, whose SERVER span is its child.
func (g *generator) grpcReserve(t *traceCtx, parent pcommon.SpanID, start uint64, budget int) response {
	const full = "inventory.v1.InventoryService/Reserve"
	cl := g.open(t, scJavaGRPC, parent, false, ptrace.SpanKindClient, full, start)
	resp := g.inventoryGRPC(request{t: t, parent: cl.id, remote: true, start: start + g.us(150, 900), budget: budget,
		userAgent: "grpc-java-netty/1.68.1"})
	end := resp.end + g.us(80, 500)
	m := cl.span.Attributes()
	m.EnsureCapacity(6)
	m.PutStr("rpc.system", "grpc")
	m.PutStr("rpc.service", "inventory.v1.InventoryService")
	m.PutStr("rpc.method", "Reserve")
	m.PutInt("rpc.grpc.status_code", int64(resp.status))
	m.PutStr("server.address", "inventory")
	m.PutInt("server.port", 50051)
	if resp.status != 0 {
		cl.span.Status().SetCode(ptrace.StatusCodeError)
	}
	g.finish(cl, end)
	resp.end = end
	return resp
}

// linkRef is the span context a span link points to.
type linkRef struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// message is one published message: where it goes and who consumes it.
type message struct {
	system string // kafka or rabbitmq
	dest   string
	key    string
}

// produce emits a PRODUCER span and the consumer's processing of the message, which happens later and, by the
// consumer mode, as the producer's child, as a linked root of a new trace, or as a linked root in the same
// trace. budget is the consumer's share when it stays in this trace. It returns the producer's end: a
// producer does not wait for its consumer.
func (g *generator) produce(t *traceCtx, sc scopeID, parent pcommon.SpanID, start uint64, msg message, budget int) uint64 {
	name := msg.dest + " publish"
	pr := g.open(t, sc, parent, false, ptrace.SpanKindProducer, name, start)
	m := pr.span.Attributes()
	m.EnsureCapacity(8)
	m.PutStr("messaging.system", msg.system)
	m.PutStr("messaging.operation.type", "publish")
	m.PutStr("messaging.destination.name", msg.dest)
	if msg.system == "kafka" {
		m.PutStr("messaging.operation.name", "send")
		m.PutStr("messaging.client.id", "producer-1")
		m.PutStr("messaging.kafka.message.key", msg.key)
		m.PutStr("messaging.destination.partition.id", strconv.Itoa(g.rng.IntN(12)))
	} else {
		m.PutStr("messaging.operation.name", "publish")
		m.PutStr("messaging.rabbitmq.destination.routing_key", msg.key)
		m.PutStr("server.address", "rabbitmq")
		m.PutInt("server.port", 5672)
	}
	end := start + g.logUs(300, 8_000)
	g.finish(pr, end)

	var mode consumerMode
	if t.plan.fixedMode {
		mode = t.plan.consumer[0]
		if msg.system != "kafka" {
			mode = t.plan.consumer[1]
		}
	} else {
		switch r := g.rng.Float64(); {
		case r < 0.6:
			mode = consumeChild
		case r < 0.85:
			mode = consumeLinkNewTrace
		default:
			mode = consumeLinkSameTrace
		}
	}
	req := request{t: t, start: end + g.us(1_000, 60_000), budget: budget}
	var link *linkRef
	switch mode {
	case consumeLinkNewTrace:
		// The consumer trace carries over only the consumer's own failure; it is small and never loops.
		cp := &tracePlan{budget: 3 + g.rng.IntN(6), loopSvc: numServices, failVariant: t.plan.failVariant}
		cp.fail[svcNotifications] = t.plan.fail[svcNotifications]
		nt, ok := g.newTrace(cp)
		if !ok {
			req.parent, req.remote = pr.id, true // quota used up: fall back to a child
			break
		}
		req.t, req.budget = nt, cp.budget
		link = &linkRef{trace: t.id, span: pr.id}
	case consumeLinkSameTrace:
		link = &linkRef{trace: t.id, span: pr.id}
	default:
		req.parent, req.remote = pr.id, true
	}
	g.notifications(req, msg, link)
	return end
}
