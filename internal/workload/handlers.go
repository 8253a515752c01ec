package workload

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Each handler below is one service's request handling: it opens its entry span, calls what it depends on,
// spends the rest of its span allowance on typical leaf spans, and reports its status to the caller.
// Children are sequential and nested inside their parents; only message consumers outlive their producer.

// frontend is the Node.js BFF: Express routes behind @opentelemetry/instrumentation-http (legacy keys).
func (g *generator) frontend(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	method, route, path := "POST", "/api/checkout", "/api/checkout"
	var sku string
	switch p.route {
	case routeProduct:
		sku = g.sku()
		method, route, path = "GET", "/api/products/:id", "/api/products/"+sku
	case routeCart:
		method, route, path = "GET", "/api/cart", "/api/cart"
	}
	srv := g.open(t, scNodeHTTP, req.parent, req.remote, ptrace.SpanKindServer, method+" "+route, req.start)
	cur := req.start + g.us(80, 500)
	// The cart page shows stock badges, so it usually asks inventory too.
	callInventory := p.route == routeProduct || p.route == routeCart && g.want(t, 0.7)
	reserve := 2 // a downstream call needs a CLIENT and a SERVER span
	if p.route == routeCart && !callInventory {
		reserve = 0
	}
	if a.left > reserve && a.take(1) || p.forceAll {
		o := g.open(t, scNodeExpress, srv.id, false, ptrace.SpanKindInternal, "middleware - expressInit", cur)
		o.span.Attributes().PutStr("express.name", "expressInit")
		o.span.Attributes().PutStr("express.type", "middleware")
		end := cur + g.logUs(20, 400)
		g.finish(o, end)
		cur = end + g.us(5, 50)
	}
	if a.left > reserve && a.take(1) || p.forceAll {
		c := dbCall{system: "redis", op: "get", query: "get session:" + g.hex(24), host: "redis-cache", port: 6379}
		o := g.db(t, scNodeIORedis, srv.id, cur, c)
		end := cur + g.logUs(150, 3_000)
		g.finish(o, end)
		cur = end + g.us(10, 100)
	}
	status := 200
	var down response
	switch p.route {
	case routeCheckout:
		if sub, ok := g.callBudget(&a, 1); ok {
			down = g.httpCall(t, scNodeHTTP, srv.id, cur, "POST", "http://checkout:8080/checkout", "checkout", 8080,
				"node", sub, g.checkout)
			cur = down.end + g.us(20, 300)
		}
	default:
		if !callInventory {
			break
		}
		if sku == "" {
			sku = g.sku()
		}
		if sub, ok := g.callBudget(&a, 1); ok {
			down = g.httpCall(t, scNodeHTTP, srv.id, cur, "GET", "http://inventory:8080/stock/"+sku, "inventory", 8080,
				"node", sub, g.inventoryHTTP)
			cur = down.end + g.us(20, 300)
			if down.status == 404 && p.route == routeProduct {
				status = 404
			}
		}
	}
	cur = g.fill(t, svcFrontend, srv.id, cur, &a)
	switch {
	case p.fail[svcFrontend]:
		status = 500
		g.fail(srv, nodeTypeError(10+g.rng.IntN(40)), cur, true)
	case down.failed && p.propagate:
		status = 502
		g.fail(srv, nodeUpstream(down.status), cur, true)
	case down.failed:
		g.exception(srv, nodeUpstream(down.status), cur, false) // served a degraded page
	}
	end := cur + g.us(50, 400)
	putHTTPServer(srv.span.Attributes(), true, method, route, path, "https", "shop.example.com", 443, status,
		req.userAgent, g.ip())
	serverStatus(srv, status)
	g.finish(srv, end)
	return response{end: end, status: status, failed: status >= 500}
}

// checkout is the Java (Spring on Tomcat) service: a controller span wraps JDBC, gRPC, HTTP and Kafka calls.
func (g *generator) checkout(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	srv := g.open(t, scJavaTomcat, req.parent, req.remote, ptrace.SpanKindServer, "POST /checkout", req.start)
	cur := req.start + g.us(150, 900)
	orderID := g.uuid()
	parent, handler := srv.id, srv
	hasCtrl := a.take(1)
	var ctrl openSpan
	if hasCtrl {
		ctrl = g.open(t, scJavaSpring, srv.id, false, ptrace.SpanKindInternal, "CheckoutController.placeOrder", cur)
		m := ctrl.span.Attributes()
		m.PutStr("code.namespace", "com.acme.shop.checkout.CheckoutController")
		m.PutStr("code.function", "placeOrder")
		parent, handler = ctrl.id, ctrl
		cur += g.us(20, 120)
	}
	var exc exception
	failed := false
	if a.take(1) || p.fail[svcCheckout] {
		c := dbCall{system: "postgresql", op: "SELECT", coll: "carts", ns: "shop", host: "checkout-db", port: 5432,
			query: "select c1_0.id,c1_0.customer_id,c1_0.total_cents from carts c1_0 where c1_0.id=?"}
		o := g.db(t, scJavaJDBC, parent, cur, c)
		end := cur + g.logUs(300, 9_000)
		if p.fail[svcCheckout] {
			end = cur + 3_000*ms + g.us(0, 5_000)
			failed, exc = true, javaDBTimeout(40+g.rng.IntN(60))
			g.fail(o, exc, end-g.us(1, 50), true)
		}
		g.finish(o, end)
		cur = end + g.us(10, 200)
	}
	if !failed {
		inv, pay, pub := g.want(t, 0.85), g.want(t, 0.8), g.want(t, 0.6)
		calls := 0
		for _, b := range [...]bool{inv, pay, pub} {
			if b {
				calls++
			}
		}
		if inv {
			if sub, ok := g.callBudget(&a, calls); ok {
				r := g.grpcReserve(t, parent, cur, sub)
				cur = r.end + g.us(10, 200)
				if r.status != 0 {
					if p.propagate {
						failed, exc = true, javaUpstream(true, orderID)
					} else {
						g.exception(handler, javaUpstream(true, orderID), cur, false) // reservation is retried later
					}
				}
			}
			calls--
		}
		if pay && !failed {
			if sub, ok := g.callBudget(&a, calls); ok {
				r := g.httpCall(t, scJavaHTTPClient, parent, cur, "POST", "http://payments:5000/charge", "payments", 5000,
					"Java-http-client/21.0.5", sub, g.payments)
				cur = r.end + g.us(10, 200)
				if r.failed {
					if p.propagate {
						failed, exc = true, javaUpstream(false, orderID)
					} else {
						g.exception(handler, javaUpstream(false, orderID), cur, false) // order kept as "payment pending"
					}
				}
			}
			calls--
		}
		if !failed && a.take(1) {
			c := dbCall{system: "postgresql", op: "INSERT", coll: "orders", ns: "shop", host: "checkout-db", port: 5432,
				query: "insert into orders (created_at,customer_id,status,total_cents,id) values (?,?,?,?,?)"}
			o := g.db(t, scJavaJDBC, parent, cur, c)
			end := cur + g.logUs(400, 6_000)
			g.finish(o, end)
			cur = end + g.us(10, 200)
		}
		if pub && !failed {
			if sub, ok := g.callBudget(&a, calls); ok {
				cur = g.produce(t, scJavaKafka, parent, cur, message{system: "kafka", dest: "orders", key: orderID}, sub) +
					g.us(10, 200)
			}
		}
		if !failed {
			cur = g.fill(t, svcCheckout, parent, cur, &a)
		}
	}
	status := 200
	if failed {
		status = 500
		if hasCtrl {
			g.fail(ctrl, exc, cur, true)
		}
		// The Java agent records the exception again on the server span it escaped from.
		g.fail(srv, exc, cur+g.us(5, 40), true)
		cur += 50 * us
	}
	if hasCtrl {
		end := cur + g.us(10, 80)
		g.finish(ctrl, end)
		cur = end
	}
	end := cur + g.us(50, 300)
	putHTTPServer(srv.span.Attributes(), false, "POST", "/checkout", "/checkout", "http", "checkout", 8080, status,
		req.userAgent, g.ip())
	serverStatus(srv, status)
	g.finish(srv, end)
	return response{end: end, status: status, failed: failed}
}

// payments is the Python (Flask) service: legacy keys everywhere, MySQL, Stripe, RabbitMQ.
func (g *generator) payments(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	srv := g.open(t, scPyFlask, req.parent, req.remote, ptrace.SpanKindServer, "POST /charge", req.start)
	cur := req.start + g.us(200, 1_200)
	parent := srv.id
	hasWrap := a.take(1)
	var wrap openSpan
	if hasWrap {
		wrap = g.open(t, scPyManual, srv.id, false, ptrace.SpanKindInternal, "charge_card", cur)
		wrap.span.Attributes().PutStr("payment.provider", "stripe")
		parent = wrap.id
		cur += g.us(10, 80)
	}
	failDB := p.fail[svcPayments] && p.failVariant == 0
	failStripe := p.fail[svcPayments] && !failDB
	var exc exception
	failed := false
	if a.take(1) || failDB {
		c := dbCall{system: "mysql", op: "SELECT", ns: "payments", host: "payments-db", port: 3306,
			query: "SELECT id, status FROM payment_intents WHERE order_id = %s"}
		o := g.db(t, scPyMySQL, parent, cur, c)
		end := cur + g.logUs(200, 8_000)
		if failDB {
			end = cur + 1_000*ms + g.us(0, 2_000)
			failed, exc = true, pythonMySQL()
			g.fail(o, exc, end-g.us(1, 50), true)
		}
		g.finish(o, end)
		cur = end + g.us(20, 300)
	}
	if !failed && (a.take(1) || failStripe) {
		status := 200
		if failStripe {
			status = 503
		}
		_, end := g.external(t, scPyRequests, parent, cur, "POST", "https://api.stripe.com/v1/payment_intents",
			"api.stripe.com", status)
		cur = end + g.us(20, 300)
		if failStripe {
			failed, exc = true, pythonStripe(status)
		}
	}
	if !failed && a.take(1) {
		c := dbCall{system: "mysql", op: "INSERT", ns: "payments", host: "payments-db", port: 3306,
			query: "INSERT INTO payments (order_id, intent_id, amount_cents, currency, status) VALUES (%s, %s, %s, %s, %s)"}
		o := g.db(t, scPyMySQL, parent, cur, c)
		end := cur + g.logUs(300, 6_000)
		g.finish(o, end)
		cur = end + g.us(20, 300)
	}
	if !failed && g.want(t, 0.5) {
		if sub, ok := g.callBudget(&a, 1); ok {
			msg := message{system: "rabbitmq", dest: "payments.events", key: "payment.succeeded"}
			cur = g.produce(t, scPyPika, parent, cur, msg, sub) + g.us(20, 300)
		}
	}
	if !failed {
		cur = g.fill(t, svcPayments, parent, cur, &a)
	}
	status := 200
	if failed {
		status = 500
		if hasWrap {
			g.fail(wrap, exc, cur, true)
		}
		g.fail(srv, exc, cur+g.us(5, 40), true)
		cur += 50 * us
	}
	if hasWrap {
		end := cur + g.us(10, 80)
		g.finish(wrap, end)
		cur = end
	}
	end := cur + g.us(100, 600)
	putHTTPServer(srv.span.Attributes(), true, "POST", "/charge", "/charge", "http", "payments", 5000, status,
		req.userAgent, g.ip())
	serverStatus(srv, status)
	g.finish(srv, end)
	return response{end: end, status: status, failed: failed}
}

// inventoryGRPC is the Go service's Reserve RPC: Redis for the cached count, MongoDB for the reservation.
func (g *generator) inventoryGRPC(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	srv := g.open(t, scGoGRPC, req.parent, req.remote, ptrace.SpanKindServer, "inventory.v1.InventoryService/Reserve",
		req.start)
	cur := req.start + g.us(30, 200)
	sku := g.sku()
	if a.take(1) {
		cur = g.redisGet(t, srv, cur, sku)
	}
	code := 0
	if a.take(1) || p.fail[svcInventory] {
		c := dbCall{system: "mongodb", op: "update", coll: "items", ns: "inventory", host: "inventory-mongo", port: 27017,
			query: `{"update":"items","updates":[{"q":{"sku":"?","available":{"$gte":"?"}},"u":{"$inc":{"available":"?","reserved":"?"}}}]}`}
		o := g.db(t, scGoMongo, srv.id, cur, c)
		end := cur + g.logUs(400, 15_000)
		if p.fail[svcInventory] {
			end = cur + 500*ms + g.us(0, 1_000)
			exc := goMongo(1000+g.rng.IntN(90000), sku)
			o.span.Status().SetCode(ptrace.StatusCodeError)
			o.span.Status().SetMessage(exc.message)
			code = [...]int{14, 13, 4}[p.failVariant]
			g.finish(o, end)
			cur = end + g.us(10, 100)
			g.fail(srv, exc, cur, false)
			srv.span.Status().SetMessage(exc.message)
		} else {
			g.finish(o, end)
			cur = end + g.us(10, 100)
		}
	}
	if code == 0 {
		cur = g.fill(t, svcInventory, srv.id, cur, &a)
	}
	end := cur + g.us(20, 150)
	m := srv.span.Attributes()
	m.EnsureCapacity(6)
	m.PutStr("rpc.system", "grpc")
	m.PutStr("rpc.service", "inventory.v1.InventoryService")
	m.PutStr("rpc.method", "Reserve")
	m.PutInt("rpc.grpc.status_code", int64(code))
	m.PutStr("network.peer.address", g.ip())
	m.PutInt("network.peer.port", int64(30000+g.rng.IntN(30000)))
	g.finish(srv, end)
	return response{end: end, status: code, failed: code != 0}
}

// redisGet is the Go service's cache read.
func (g *generator) redisGet(t *traceCtx, parent openSpan, cur uint64, sku string) uint64 {
	c := dbCall{system: "redis", op: "GET", ns: "0", query: "GET stock:" + sku, host: "inventory-redis", port: 6379}
	o := g.db(t, scGoRedis, parent.id, cur, c)
	end := cur + g.logUs(100, 2_500)
	g.finish(o, end)
	return end + g.us(5, 80)
}

// inventoryHTTP is the Go service's REST stock lookup behind otelhttp (stable keys).
func (g *generator) inventoryHTTP(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	srv := g.open(t, scGoHTTP, req.parent, req.remote, ptrace.SpanKindServer, "GET /stock/{sku}", req.start)
	cur := req.start + g.us(30, 200)
	sku := g.sku()
	if a.take(1) {
		cur = g.redisGet(t, srv, cur, sku)
	}
	status := 200
	if p.notFound {
		status = 404
	}
	if a.take(1) || p.fail[svcInventory] {
		c := dbCall{system: "mongodb", op: "find", coll: "items", ns: "inventory", host: "inventory-mongo", port: 27017,
			query: `{"find":"items","filter":{"sku":"?"},"limit":1}`}
		o := g.db(t, scGoMongo, srv.id, cur, c)
		end := cur + g.logUs(300, 10_000)
		if p.fail[svcInventory] {
			status = 500
			exc := goMongo(1000+g.rng.IntN(90000), sku)
			o.span.Status().SetCode(ptrace.StatusCodeError)
			o.span.Status().SetMessage(exc.message)
			g.finish(o, end)
			cur = end + g.us(10, 100)
			g.fail(srv, exc, cur, false)
		} else {
			g.finish(o, end)
			cur = end + g.us(10, 100)
		}
	}
	if status == 200 {
		cur = g.fill(t, svcInventory, srv.id, cur, &a)
	}
	end := cur + g.us(20, 150)
	putHTTPServer(srv.span.Attributes(), false, "GET", "/stock/{sku}", "/stock/"+sku, "http", "inventory", 8080,
		status, req.userAgent, g.ip())
	serverStatus(srv, status)
	g.finish(srv, end)
	return response{end: end, status: status, failed: status >= 500}
}

// inventoryJob is the Go service's scheduled stock sync: a root INTERNAL span with no request behind it.
func (g *generator) inventoryJob(req request) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	root := g.open(t, scGoManual, req.parent, req.remote, ptrace.SpanKindInternal, "inventory.sync", req.start)
	root.span.Attributes().PutStr("job.name", "stock-sync")
	cur := req.start + g.us(50, 300)
	batch := 50 + g.rng.IntN(450)
	root.span.Attributes().PutInt("sync.batch_size", int64(batch))
	failed := false
	if a.take(1) || p.fail[svcInventory] {
		// Only one replica may sync at a time.
		c := dbCall{system: "redis", op: "SET", ns: "0", query: "SET lock:inventory-sync ? NX PX 60000",
			host: "inventory-redis", port: 6379}
		o := g.db(t, scGoRedis, root.id, cur, c)
		end := cur + g.logUs(100, 2_000)
		g.finish(o, end)
		cur = end + g.us(5, 80)
	}
	if a.take(1) || p.fail[svcInventory] {
		c := dbCall{system: "mongodb", op: "find", coll: "items", ns: "inventory", host: "inventory-mongo", port: 27017,
			query: `{"find":"items","filter":{"updatedAt":{"$gt":"?"}},"batchSize":"?"}`}
		o := g.db(t, scGoMongo, root.id, cur, c)
		end := cur + g.logUs(2_000, 40_000)
		if p.fail[svcInventory] {
			exc := goMongo(1000+g.rng.IntN(90000), "batch")
			o.span.Status().SetCode(ptrace.StatusCodeError)
			o.span.Status().SetMessage(exc.message)
			g.finish(o, end)
			cur = end + g.us(10, 100)
			g.fail(root, exc, cur, false)
			root.span.Status().SetMessage(exc.message)
			failed = true
		} else {
			g.finish(o, end)
			cur = end + g.us(10, 100)
		}
	}
	if !failed {
		cur = g.fill(t, svcInventory, root.id, cur, &a)
	}
	end := cur + g.us(20, 150)
	g.finish(root, end)
	return response{end: end, failed: failed}
}

// notifications is the .NET worker consuming a message. link, when set, replaces the parent (the consumer is
// a root) and points at the producer.
func (g *generator) notifications(req request, msg message, link *linkRef) response {
	t, p := req.t, req.t.plan
	a := allowance{left: req.budget - 1, force: p.forceAll}
	sc, handlerName := scNetKafka, "OrderPlacedHandler.Handle"
	if msg.system != "kafka" {
		sc, handlerName = scNetRabbit, "PaymentSucceededHandler.Handle"
	}
	c := g.open(t, sc, req.parent, req.remote, ptrace.SpanKindConsumer, msg.dest+" process", req.start)
	if link != nil {
		l := c.span.Links().AppendEmpty()
		l.SetTraceID(link.trace)
		l.SetSpanID(link.span)
	}
	m := c.span.Attributes()
	m.EnsureCapacity(8)
	m.PutStr("messaging.system", msg.system)
	m.PutStr("messaging.operation.type", "process")
	m.PutStr("messaging.operation.name", "process")
	m.PutStr("messaging.destination.name", msg.dest)
	if msg.system == "kafka" {
		m.PutStr("messaging.consumer.group.name", "notifications")
		m.PutStr("messaging.destination.partition.id", strconv.Itoa(g.rng.IntN(12)))
		m.PutInt("messaging.kafka.offset", int64(g.rng.IntN(5_000_000)))
		m.PutStr("messaging.kafka.message.key", msg.key)
	} else {
		m.PutStr("messaging.rabbitmq.destination.routing_key", msg.key)
		m.PutStr("messaging.message.id", g.uuid())
	}
	cur := req.start + g.us(50, 400)
	parent, handler := c.id, c
	hasHandler := a.take(1)
	var h openSpan
	if hasHandler {
		h = g.open(t, scNetManual, c.id, false, ptrace.SpanKindInternal, handlerName, cur)
		parent, handler = h.id, h
		cur += g.us(10, 80)
	}
	failDB := p.fail[svcNotifications] && p.failVariant == 0
	failMail := p.fail[svcNotifications] && !failDB
	var exc exception
	failed := false
	if a.take(1) || failDB {
		dc := dbCall{system: "postgresql", op: "SELECT", ns: "notifications", host: "notifications-db", port: 5432,
			query: "SELECT subject, body FROM templates WHERE name = $1 AND locale = $2"}
		o := g.db(t, scNetNpgsql, parent, cur, dc)
		end := cur + g.logUs(300, 8_000)
		if failDB {
			end = cur + 2_000*ms + g.us(0, 3_000)
			failed, exc = true, dotnetNpgsql()
			o.span.Status().SetCode(ptrace.StatusCodeError)
			o.span.Status().SetMessage(exc.message)
		}
		g.finish(o, end)
		cur = end + g.us(20, 200)
	}
	if !failed && (a.take(1) || failMail) {
		status := 202
		if failMail {
			status = 503
		}
		_, end := g.external(t, scNetHTTP, parent, cur, "POST", "https://api.sendgrid.com/v3/mail/send",
			"api.sendgrid.com", status)
		cur = end + g.us(20, 200)
		if failMail {
			failed, exc = true, dotnetHTTP(status)
		}
	}
	if !failed {
		cur = g.fill(t, svcNotifications, parent, cur, &a)
	}
	if failed {
		g.fail(handler, exc, cur, true)
		handler.span.Status().SetMessage(exc.message)
		if hasHandler {
			c.span.Status().SetCode(ptrace.StatusCodeError)
		}
		cur += 30 * us
	}
	if hasHandler {
		end := cur + g.us(10, 80)
		g.finish(h, end)
		cur = end
	}
	end := cur + g.us(30, 200)
	g.finish(c, end)
	return response{end: end, failed: failed}
}

// runSmall generates Small's fixed scenarios, which between them cover every span shape the workload has.
func (g *generator) runSmall() {
	start := g.base
	plans := [...]*tracePlan{
		// A healthy checkout through every service: Kafka's consumer starts a linked trace, RabbitMQ's is a child.
		{entry: entryFrontend, route: routeCheckout, budget: 16, forceAll: true, fixedMode: true,
			consumer: [2]consumerMode{consumeLinkNewTrace, consumeChild}},
		// Entry at checkout under a remote parent; payments fails on Stripe and checkout handles it; the Kafka
		// consumer is linked within the same trace and fails to send its mail.
		{entry: entryCheckout, remoteParent: true, budget: 12, forceAll: true, fixedMode: true, failVariant: 1,
			fail:     [numServices]bool{svcPayments: true, svcNotifications: true},
			consumer: [2]consumerMode{consumeLinkSameTrace, consumeChild}},
		// Checkout's database is down and the frontend propagates the failure as a 502.
		{entry: entryFrontend, route: routeCheckout, budget: 8, propagate: true,
			fail: [numServices]bool{svcCheckout: true}},
		// A product page whose stock lookup answers 404, under a browser's remote parent.
		{entry: entryFrontend, route: routeProduct, remoteParent: true, budget: 6, notFound: true},
		// The frontend itself throws.
		{entry: entryFrontend, route: routeCart, budget: 4, fail: [numServices]bool{svcFrontend: true}},
		// The scheduled inventory sync fails on MongoDB.
		{entry: entryInventoryJob, budget: 5, fail: [numServices]bool{svcInventory: true}},
	}
	for _, p := range plans {
		p.loopSvc = numServices
		g.runPlan(p, start)
		start += g.us(2_000, 8_000)
	}
}
