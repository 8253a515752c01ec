package workload

import "strconv"

// exception is the content of an OTel "exception" span event. The stack traces are written in each runtime's
// own format, because the exporter's stack trace parsers are only as good as the real text they are tested on.
type exception struct {
	typ     string
	message string
	stack   string
}

// The failures below are what each service's code plausibly throws. Values that vary (ids, line numbers of
// the failing user frame, addresses) come from the generator so repeated errors are not byte-identical.

// javaDBTimeout is a HikariCP pool timeout caused by a refused PostgreSQL connection: the classic
// two-level "Caused by" chain with a "... N more" elision.
func javaDBTimeout(line int) exception {
	msg := "HikariPool-1 - Connection is not available, request timed out after 3000ms (total=10, active=10, idle=0, waiting=3)"
	return exception{
		typ:     "java.sql.SQLTransientConnectionException",
		message: msg,
		stack: "java.sql.SQLTransientConnectionException: " + msg + "\n" +
			"\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)\n" +
			"\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:179)\n" +
			"\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:144)\n" +
			"\tat com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:99)\n" +
			"\tat org.hibernate.engine.jdbc.connections.internal.DatasourceConnectionProviderImpl.getConnection(DatasourceConnectionProviderImpl.java:122)\n" +
			"\tat org.hibernate.internal.NonContextualJdbcConnectionAccess.obtainConnection(NonContextualJdbcConnectionAccess.java:46)\n" +
			"\tat com.acme.shop.checkout.order.OrderRepository.findCart(OrderRepository.java:" + strconv.Itoa(line) + ")\n" +
			"\tat com.acme.shop.checkout.CheckoutService.placeOrder(CheckoutService.java:57)\n" +
			"\tat com.acme.shop.checkout.CheckoutController.placeOrder(CheckoutController.java:38)\n" +
			"\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n" +
			"\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)\n" +
			"\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)\n" +
			"\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)\n" +
			"\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)\n" +
			"\tat org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)\n" +
			"\tat java.base/java.lang.Thread.run(Thread.java:1583)\n" +
			"Caused by: org.postgresql.util.PSQLException: Connection to checkout-db:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.\n" +
			"\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:352)\n" +
			"\tat org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:54)\n" +
			"\tat org.postgresql.jdbc.PgConnection.<init>(PgConnection.java:273)\n" +
			"\tat com.zaxxer.hikari.pool.PoolBase.newConnection(PoolBase.java:368)\n" +
			"\t... 3 common frames omitted\n" +
			"Caused by: java.net.ConnectException: Connection refused\n" +
			"\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)\n" +
			"\tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:554)\n" +
			"\tat java.base/java.net.Socket.connect(Socket.java:751)\n" +
			"\tat org.postgresql.core.PGStream.createSocket(PGStream.java:243)\n" +
			"\t... 7 more\n",
	}
}

// javaUpstream is what CheckoutService throws when a downstream call failed: a business exception wrapping the
// gRPC or HTTP client's own.
func javaUpstream(grpc bool, orderID string) exception {
	if grpc {
		msg := "UNAVAILABLE: io exception"
		return exception{
			typ:     "io.grpc.StatusRuntimeException",
			message: msg,
			stack: "io.grpc.StatusRuntimeException: " + msg + "\n" +
				"\tat io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:268)\n" +
				"\tat io.grpc.stub.ClientCalls.getUnchecked(ClientCalls.java:249)\n" +
				"\tat io.grpc.stub.ClientCalls.blockingUnaryCall(ClientCalls.java:167)\n" +
				"\tat com.acme.inventory.v1.InventoryServiceGrpc$InventoryServiceBlockingStub.reserve(InventoryServiceGrpc.java:311)\n" +
				"\tat com.acme.shop.checkout.inventory.InventoryClient.reserve(InventoryClient.java:42)\n" +
				"\tat com.acme.shop.checkout.CheckoutService.placeOrder(CheckoutService.java:63)\n" +
				"\tat com.acme.shop.checkout.CheckoutController.placeOrder(CheckoutController.java:38)\n" +
				"Caused by: io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: inventory/10.0.3.17:50051\n" +
				"Caused by: java.net.ConnectException: Connection refused\n" +
				"\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)\n" +
				"\tat io.netty.channel.socket.nio.NioSocketChannel.doFinishConnect(NioSocketChannel.java:337)\n" +
				"\tat io.netty.channel.nio.AbstractNioChannel$AbstractNioUnsafe.finishConnect(AbstractNioChannel.java:339)\n" +
				"\t... 7 more\n",
		}
	}
	msg := "payments responded 500 INTERNAL SERVER ERROR for order " + orderID
	return exception{
		typ:     "com.acme.shop.checkout.payment.PaymentGatewayException",
		message: msg,
		stack: "com.acme.shop.checkout.payment.PaymentGatewayException: " + msg + "\n" +
			"\tat com.acme.shop.checkout.payment.PaymentsClient.charge(PaymentsClient.java:71)\n" +
			"\tat com.acme.shop.checkout.CheckoutService.placeOrder(CheckoutService.java:68)\n" +
			"\tat com.acme.shop.checkout.CheckoutController.placeOrder(CheckoutController.java:38)\n" +
			"\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n" +
			"\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)\n" +
			"\tat org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)\n" +
			"\tat java.base/java.lang.Thread.run(Thread.java:1583)\n" +
			"Caused by: java.io.IOException: HTTP/1.1 header parser received no bytes\n" +
			"\tat java.net.http/jdk.internal.net.http.HttpClientImpl.send(HttpClientImpl.java:951)\n" +
			"\tat java.net.http/jdk.internal.net.http.HttpClientFacade.send(HttpClientFacade.java:133)\n" +
			"\tat com.acme.shop.checkout.payment.PaymentsClient.charge(PaymentsClient.java:64)\n" +
			"\t... 6 more\n",
	}
}

// pythonStripe is requests' HTTPError from raise_for_status, as the traceback module prints it.
func pythonStripe(status int) exception {
	msg := strconv.Itoa(status) + " Server Error: Service Unavailable for url: https://api.stripe.com/v1/payment_intents"
	return exception{
		typ:     "HTTPError",
		message: msg,
		stack: "Traceback (most recent call last):\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/flask/app.py\", line 880, in full_dispatch_request\n" +
			"    rv = self.dispatch_request()\n" +
			"         ^^^^^^^^^^^^^^^^^^^^^^^\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/flask/app.py\", line 865, in dispatch_request\n" +
			"    return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)  # type: ignore[no-any-return]\n" +
			"  File \"/app/payments/views.py\", line 41, in charge\n" +
			"    intent = gateway.create_intent(order_id, amount_cents, currency)\n" +
			"  File \"/app/payments/gateway.py\", line 88, in create_intent\n" +
			"    response.raise_for_status()\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/requests/models.py\", line 1024, in raise_for_status\n" +
			"    raise HTTPError(http_error_msg, response=self)\n" +
			"requests.exceptions.HTTPError: " + msg + "\n",
	}
}

// pythonMySQL is a lost MySQL connection, raised from inside PyMySQL, with the chained-exception banner.
func pythonMySQL() exception {
	msg := "(2013, 'Lost connection to MySQL server during query')"
	return exception{
		typ:     "OperationalError",
		message: msg,
		stack: "Traceback (most recent call last):\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/pymysql/connections.py\", line 759, in _read_bytes\n" +
			"    data = self._rfile.read(num_bytes)\n" +
			"  File \"/usr/local/lib/python3.12/socket.py\", line 720, in readinto\n" +
			"    return self._sock.recv_into(b)\n" +
			"TimeoutError: timed out\n" +
			"\n" +
			"During handling of the above exception, another exception occurred:\n" +
			"\n" +
			"Traceback (most recent call last):\n" +
			"  File \"/app/payments/views.py\", line 36, in charge\n" +
			"    existing = repo.find_intent(order_id)\n" +
			"  File \"/app/payments/repo.py\", line 22, in find_intent\n" +
			"    cur.execute(FIND_INTENT, (order_id,))\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/pymysql/cursors.py\", line 153, in execute\n" +
			"    result = self._query(query)\n" +
			"  File \"/usr/local/lib/python3.12/site-packages/pymysql/connections.py\", line 765, in _read_bytes\n" +
			"    raise err.OperationalError(\n" +
			"pymysql.err.OperationalError: " + msg + "\n",
	}
}

// goMongo is a driver error recorded with span.RecordError(err, trace.WithStackTrace(true)): the Go SDK
// writes the reflect type of the error and a goroutine dump.
func goMongo(goroutine int, sku string) exception {
	msg := "reserve " + sku + ": connection(inventory-mongo:27017[-42]) incomplete read of message header: context deadline exceeded"
	return exception{
		typ:     "*fmt.wrapError",
		message: msg,
		stack: "goroutine " + strconv.Itoa(goroutine) + " [running]:\n" +
			"runtime/debug.Stack()\n" +
			"\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\n" +
			"go.opentelemetry.io/otel/sdk/trace.recordStackTrace()\n" +
			"\t/go/pkg/mod/go.opentelemetry.io/otel/sdk@v1.34.0/trace/span.go:582 +0x1a\n" +
			"go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError(0xc0003a2d20, {0xb8e2c0, 0xc000412f60}, {0xc00038f8d0, 0x1, 0x1})\n" +
			"\t/go/pkg/mod/go.opentelemetry.io/otel/sdk@v1.34.0/trace/span.go:566 +0x3b9\n" +
			"github.com/acme-shop/inventory/internal/store.(*MongoStore).Reserve(0xc0001a8000, {0xb93d28, 0xc0004a6cc0}, {0xc00002c0f0, 0x8}, 0x2)\n" +
			"\t/src/internal/store/mongo.go:118 +0x3a5\n" +
			"github.com/acme-shop/inventory/internal/api.(*Server).Reserve(0xc000124140, {0xb93d28, 0xc0004a6cc0}, 0xc0003b8f00)\n" +
			"\t/src/internal/api/grpc.go:57 +0x1c9\n" +
			"github.com/acme-shop/inventory/gen/inventory/v1._InventoryService_Reserve_Handler({0xa1b2c0, 0xc000124140}, {0xb93d28, 0xc0004a6cc0}, 0xc0003d6a00, 0x0)\n" +
			"\t/src/gen/inventory/v1/inventory_grpc.pb.go:142 +0x1d0\n" +
			"google.golang.org/grpc.(*Server).processUnaryRPC(0xc000196000, {0xb93d28, 0xc0004a6b10}, 0xc0003e2000, 0xc0001c4f30, 0x10b6e40, 0x0)\n" +
			"\t/go/pkg/mod/google.golang.org/grpc@v1.69.2/server.go:1392 +0xe2b\n" +
			"google.golang.org/grpc.(*Server).serveStreams.func2.1()\n" +
			"\t/go/pkg/mod/google.golang.org/grpc@v1.69.2/server.go:1029 +0x8b\n" +
			"created by google.golang.org/grpc.(*Server).serveStreams.func2 in goroutine 87\n" +
			"\t/go/pkg/mod/google.golang.org/grpc@v1.69.2/server.go:1040 +0x125\n",
	}
}

// nodeTypeError is the V8 format: "Type: message" then "    at fn (file:line:col)" frames, with async frames.
func nodeTypeError(col int) exception {
	msg := "Cannot read properties of undefined (reading 'priceCents')"
	return exception{
		typ:     "TypeError",
		message: msg,
		stack: "TypeError: " + msg + "\n" +
			"    at /app/src/cart/total.js:18:" + strconv.Itoa(col) + "\n" +
			"    at Array.reduce (<anonymous>)\n" +
			"    at cartTotal (/app/src/cart/total.js:16:22)\n" +
			"    at CheckoutHandler.handle (/app/src/routes/checkout.js:27:19)\n" +
			"    at async /app/src/routes/index.js:41:5\n" +
			"    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n" +
			"    at next (/app/node_modules/express/lib/router/route.js:149:13)\n" +
			"    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)",
	}
}

// nodeUpstream is undici's fetch failure as the frontend rethrows it for a failed downstream call.
func nodeUpstream(status int) exception {
	msg := "upstream responded " + strconv.Itoa(status)
	return exception{
		typ:     "Error",
		message: msg,
		stack: "Error: " + msg + "\n" +
			"    at ApiClient.request (/app/src/lib/api-client.js:58:13)\n" +
			"    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)\n" +
			"    at async CheckoutHandler.handle (/app/src/routes/checkout.js:31:22)\n" +
			"    at async /app/src/routes/index.js:41:5",
	}
}

// dotnetHTTP is HttpRequestException from EnsureSuccessStatusCode, in .NET's "   at ... in file:line N" format.
func dotnetHTTP(status int) exception {
	msg := "Response status code does not indicate success: " + strconv.Itoa(status) + " (Service Unavailable)."
	return exception{
		typ:     "System.Net.Http.HttpRequestException",
		message: msg,
		stack: "System.Net.Http.HttpRequestException: " + msg + "\n" +
			"   at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()\n" +
			"   at Notifications.Email.SendGridClient.SendAsync(EmailMessage message, CancellationToken cancellationToken) in /src/Notifications/Email/SendGridClient.cs:line 57\n" +
			"   at Notifications.Handlers.OrderPlacedHandler.HandleAsync(OrderPlaced message, CancellationToken cancellationToken) in /src/Notifications/Handlers/OrderPlacedHandler.cs:line 33\n" +
			"   at Notifications.Messaging.ConsumerService.ExecuteAsync(CancellationToken stoppingToken) in /src/Notifications/Messaging/ConsumerService.cs:line 71",
	}
}

// dotnetNpgsql is an Npgsql timeout with an inner exception, showing .NET's "--->" and
// "--- End of inner exception stack trace ---" markers.
func dotnetNpgsql() exception {
	msg := "Exception while reading from stream"
	return exception{
		typ:     "Npgsql.NpgsqlException",
		message: msg,
		stack: "Npgsql.NpgsqlException (0x80004005): " + msg + "\n" +
			" ---> System.TimeoutException: Timeout during reading attempt\n" +
			"   at Npgsql.Internal.NpgsqlReadBuffer.<Ensure>g__EnsureLong|55_0(NpgsqlReadBuffer buffer, Int32 count, Boolean async, Boolean readingNotifications)\n" +
			"   at Npgsql.Internal.NpgsqlConnector.ReadMessageLong(Boolean async, DataRowLoadingMode dataRowLoadingMode, Boolean readingNotifications, Boolean isReadingPrependedMessage)\n" +
			"   --- End of inner exception stack trace ---\n" +
			"   at Npgsql.Internal.NpgsqlConnector.ReadMessageLong(Boolean async, DataRowLoadingMode dataRowLoadingMode, Boolean readingNotifications, Boolean isReadingPrependedMessage)\n" +
			"   at Npgsql.NpgsqlDataReader.NextResult(Boolean async, Boolean isConsuming, CancellationToken cancellationToken)\n" +
			"   at Npgsql.NpgsqlCommand.ExecuteReader(Boolean async, CommandBehavior behavior, CancellationToken cancellationToken)\n" +
			"   at Notifications.Data.TemplateStore.GetAsync(String name, CancellationToken cancellationToken) in /src/Notifications/Data/TemplateStore.cs:line 29\n" +
			"   at Notifications.Handlers.OrderPlacedHandler.HandleAsync(OrderPlaced message, CancellationToken cancellationToken) in /src/Notifications/Handlers/OrderPlacedHandler.cs:line 24",
	}
}
