package stacktrace

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func javaCases() []parseCase {
	return []parseCase{
		{
			name:     "Kotlin coroutines and Scala closures",
			language: "kotlin",
			text: trace(
				"java.lang.IllegalStateException: inventory closed",
				"\tat com.acme.stock.Repo$load$2.invokeSuspend(Repo.kt:40)",
				"\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33)",
				"\tat kotlinx.coroutines.DispatchedTask.run(DispatchedTask.kt:108)",
				"\tat com.acme.report.Main$.$anonfun$run$1(Main.scala:10)",
				"\tat scala.collection.immutable.List.foreach(List.scala:333)",
				"\tat com.acme.report.MainKt.main(Main.kt:5)",
			),
			format: FormatJava,
			want: []wantException{{
				typ: "java.lang.IllegalStateException", value: "inventory closed", frames: 6,
				first: &wantFrame{"main", "com.acme.report.MainKt", "Main.kt", 5, true},
				last:  &wantFrame{"invokeSuspend", "com.acme.stock.Repo$load$2", "Repo.kt", 40, true},
			}},
		},
		{
			name:     "chained causes, suppressed, unicode multi-line message, elided frames filled in",
			language: "java",
			text: trace(
				`Exception in thread "main" java.lang.IllegalStateException: Failed to load user ünïcødé 用户`,
				"second line of the message",
				"\tat com.acme.shop.UserService.load(UserService.java:42)",
				"\tat com.acme.shop.UserController.get(UserController.java:17)",
				"\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
				"\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)",
				"\tat com.acme.shop.Main.main(Main.java:10)",
				"\tSuppressed: java.io.IOException: close failed",
				"\t\tat com.acme.shop.Res.close(Res.java:5)",
				"\t\t... 2 more",
				"Caused by: java.sql.SQLException: connection refused",
				"\tat com.acme.db.Pool.get(Pool.java:88)",
				"\tat com.acme.shop.UserService.load(UserService.java:40)",
				"\t... 3 more",
				"Caused by: java.net.ConnectException: Connection refused",
				"\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
				"\t... 5 more",
			),
			format: FormatJava,
			want: []wantException{
				{
					typ: "java.net.ConnectException", value: "Connection refused", frames: 6, source: "cause",
					first: &wantFrame{"main", "com.acme.shop.Main", "Main.java", 10, true},
					last:  &wantFrame{"connect0", "sun.nio.ch.Net", "", 0, false},
				},
				{
					typ: "java.sql.SQLException", value: "connection refused", frames: 5, source: "cause",
					first: &wantFrame{"main", "com.acme.shop.Main", "Main.java", 10, true},
					last:  &wantFrame{"get", "com.acme.db.Pool", "Pool.java", 88, true},
				},
				{
					typ: "java.io.IOException", value: "close failed", frames: 3, source: "suppressed",
					first: &wantFrame{"main", "com.acme.shop.Main", "Main.java", 10, true},
					last:  &wantFrame{"close", "com.acme.shop.Res", "Res.java", 5, true},
				},
				{
					typ: "java.lang.IllegalStateException", value: "Failed to load user ünïcødé 用户\nsecond line of the message",
					frames: 5,
					first:  &wantFrame{"main", "com.acme.shop.Main", "Main.java", 10, true},
					last:   &wantFrame{"load", "com.acme.shop.UserService", "UserService.java", 42, true},
				},
			},
		},
		{
			name:     "span event type and message win, logback suffixes, kotlin, class loader prefix, CRLF",
			language: "java",
			excType:  "com.acme.PaymentException",
			message:  "card declined",
			text: strings.ReplaceAll(trace(
				"",
				"com.acme.PaymentException: card declined (raw)",
				"\tat com.acme.pay.Gateway.charge(Gateway.kt:31) ~[app.jar:1.4.2]",
				"\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33) ~[kotlin-stdlib-1.9.0.jar:1.9.0]",
				"\tat app//com.acme.pay.Checkout$submit$1.invokeSuspend(Checkout.kt)",
				"\tat jdk.internal.reflect.GeneratedMethodAccessor12.invoke(Unknown Source)",
				"\tat java.base@17.0.8/java.lang.Thread.run(Thread.java:833)",
				"Caused by: java.util.concurrent.TimeoutException: null",
				"\tat com.acme.pay.Client.call(Client.java:77)",
				"\t... 4 common frames omitted",
				"",
			), "\n", "\r\n"),
			format: FormatJava,
			want: []wantException{
				{
					typ: "java.util.concurrent.TimeoutException", value: "null", frames: 5, source: "cause",
					first: &wantFrame{"run", "java.lang.Thread", "Thread.java", 833, false},
					last:  &wantFrame{"call", "com.acme.pay.Client", "Client.java", 77, true},
				},
				{
					typ: "com.acme.PaymentException", value: "card declined", frames: 5,
					first: &wantFrame{"run", "java.lang.Thread", "Thread.java", 833, false},
					last:  &wantFrame{"charge", "com.acme.pay.Gateway", "Gateway.kt", 31, true},
				},
			},
		},
		{
			name:   "header without message and a frame count larger than the enclosing trace",
			text:   trace("java.lang.NullPointerException", "\tat com.acme.A.b(A.java:3)", "Caused by: java.lang.Error", "\t... 99999999999999 more"),
			format: FormatJava,
			want: []wantException{
				{
					typ: "java.lang.Error", frames: 1, source: "cause",
					first: &wantFrame{"b", "com.acme.A", "A.java", 3, true},
				},
				{
					typ: "java.lang.NullPointerException", frames: 1,
					first: &wantFrame{"b", "com.acme.A", "A.java", 3, true},
				},
			},
		},
		{
			name:      "stack overflow longer than MaxFrames keeps both ends",
			language:  "java",
			text:      javaStackOverflow(1000),
			format:    FormatJava,
			truncated: true,
			want: []wantException{{
				typ: "java.lang.StackOverflowError", frames: MaxFrames,
				first: &wantFrame{"main", "com.acme.Main", "Main.java", 3, true},
				last:  &wantFrame{"recurse", "com.acme.Deep", "Deep.java", 1000, true},
			}},
		},
	}
}

// javaStackOverflow prints a StackOverflowError whose recursion is n-1 frames deep above main.
func javaStackOverflow(n int) string {
	var b strings.Builder
	b.WriteString("java.lang.StackOverflowError\n")
	for i := n; i > 1; i-- {
		b.WriteString("\tat com.acme.Deep.recurse(Deep.java:" + strconv.Itoa(i) + ")\n")
	}
	b.WriteString("\tat com.acme.Main.main(Main.java:3)\n")
	return b.String()
}

func TestParseJava(t *testing.T) {
	t.Parallel()
	runCases(t, javaCases())
}

func TestParseJavaTruncationRange(t *testing.T) {
	t.Parallel()
	got := Parse("java", "", "", javaStackOverflow(1000))
	st := got.Exceptions[0].Stacktrace
	require.NotNil(t, st)
	// 1000 frames, oldest first (index 0 is main, index k is line k+1): kept [0,125) and [875,1000).
	assert.Equal(t, []uint{125, 875}, st.FramesOmitted)
	assert.Equal(t, 125, st.Frames[MaxFrames/2-1].Lineno, "last kept of the oldest half (index 124)")
	assert.Equal(t, 876, st.Frames[MaxFrames/2].Lineno, "first kept of the newest half (index 875)")
}

func TestParseJavaTooManyCauses(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("java.lang.RuntimeException: top\n\tat com.acme.A.a(A.java:1)\n")
	for i := range 2 * MaxExceptions {
		b.WriteString("Caused by: java.lang.RuntimeException: cause " + strconv.Itoa(i) + "\n\tat com.acme.A.b(A.java:2)\n\t... 1 more\n")
	}
	got := Parse("java", "", "", b.String())
	require.Len(t, got.Exceptions, MaxExceptions)
	assert.True(t, got.Truncated)
	last := got.Exceptions[MaxExceptions-1]
	assert.Equal(t, "top", last.Value, "the reported exception is kept")
	assert.Equal(t, "cause "+strconv.Itoa(MaxExceptions-2), got.Exceptions[0].Value, "the deepest causes are dropped")
	assert.Len(t, got.Exceptions[0].Stacktrace.Frames, 2)
}
