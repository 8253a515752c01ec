package stacktrace

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dotnetCases() []parseCase {
	return []parseCase{
		{
			name:     "inner exceptions with their own frame blocks",
			language: "dotnet",
			text: trace(
				"System.InvalidOperationException: Could not load order 42 ---> System.IO.FileNotFoundException: Could not find file '/data/órders/42.json'.",
				"File name: '/data/órders/42.json'",
				"   at System.IO.FileSystem.OpenHandle(String fullPath)",
				"   at Shop.Orders.OrderStore.Read(String path) in /src/Shop/Orders/OrderStore.cs:line 42",
				"   --- End of inner exception stack trace ---",
				"   at Shop.Orders.OrderStore.Load(Int32 id) in /src/Shop/Orders/OrderStore.cs:line 17",
				"   at Shop.Api.OrdersController.<Get>d__3.MoveNext() in /src/Shop/Api/OrdersController.cs:line 25",
				"--- End of stack trace from previous location ---",
				"   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.Execute(IActionResultTypeMapper mapper, ObjectMethodExecutor executor, Object controller, Object[] arguments)",
			),
			format: FormatDotNet,
			want: []wantException{
				{
					typ: "System.IO.FileNotFoundException", value: "Could not find file '/data/órders/42.json'.\nFile name: '/data/órders/42.json'",
					frames: 2, source: "InnerException",
					first: &wantFrame{"Read", "Shop.Orders.OrderStore", "/src/Shop/Orders/OrderStore.cs", 42, true},
					last:  &wantFrame{"OpenHandle", "System.IO.FileSystem", "", 0, false},
				},
				{
					typ: "System.InvalidOperationException", value: "Could not load order 42", frames: 3,
					first: &wantFrame{"Execute", "Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor", "", 0, false},
					last:  &wantFrame{"Load", "Shop.Orders.OrderStore", "/src/Shop/Orders/OrderStore.cs", 17, true},
				},
			},
		},
		{
			name:     "windows paths, lambdas, generics and a localised line marker",
			language: "dotnet",
			excType:  "System.ArgumentNullException",
			text: trace(
				"System.ArgumentNullException: Value cannot be null. (Parameter 'name')",
				"   at Shop.Catalog.Search[T](String name, Func`2 filter) in C:\\src\\Shop\\Catalog.cs:Zeile 88",
				"   at Program.<>c.<Main>b__0_0() in C:\\src\\Shop\\Program.cs:line 12",
				"   at Program.Main(String[] args)",
			),
			format: FormatDotNet,
			want: []wantException{{
				typ: "System.ArgumentNullException", value: "Value cannot be null. (Parameter 'name')", frames: 3,
				first: &wantFrame{"Main", "Program", "", 0, true},
				last:  &wantFrame{"Search[T]", "Shop.Catalog", `C:\src\Shop\Catalog.cs`, 88, true},
			}},
		},
		{
			name:     ".NET async state machines, inner exception, async separators",
			language: "dotnet",
			text: trace(
				"System.Net.Http.HttpRequestException: Response status code does not indicate success: 502 (Bad Gateway). ---> System.TimeoutException: upstream timed out",
				"   at Shop.Payments.Client.<SendAsync>d__7.MoveNext() in /src/Shop/Payments/Client.cs:line 61",
				"   --- End of inner exception stack trace ---",
				"   at Shop.Payments.Client.<SendAsync>d__7.MoveNext() in /src/Shop/Payments/Client.cs:line 70",
				"--- End of stack trace from previous location where exception was thrown ---",
				"   at System.Runtime.CompilerServices.TaskAwaiter.ThrowForNonSuccess(Task task)",
				"   at Shop.Payments.Checkout.PayAsync(Order order) in /src/Shop/Payments/Checkout.cs:line 22",
				"--- End of stack trace from previous location ---",
				"   at Program.<Main>$(String[] args) in /src/Shop/Program.cs:line 9",
			),
			format: FormatDotNet,
			want: []wantException{
				{
					typ: "System.TimeoutException", value: "upstream timed out", frames: 1, source: "InnerException",
					first: &wantFrame{"SendAsync", "Shop.Payments.Client", "/src/Shop/Payments/Client.cs", 61, true},
				},
				{
					typ: "System.Net.Http.HttpRequestException", value: "Response status code does not indicate success: 502 (Bad Gateway).", frames: 4,
					first: &wantFrame{"<Main>$", "Program", "/src/Shop/Program.cs", 9, true},
					last:  &wantFrame{"SendAsync", "Shop.Payments.Client", "/src/Shop/Payments/Client.cs", 70, true},
				},
			},
		},
		{
			name:     ".NET AggregateException: the InnerException on the next line, further members after the trace",
			language: "dotnet",
			text: trace(
				"System.AggregateException: One or more errors occurred. (fail a) (fail b)",
				" ---> System.InvalidOperationException: fail a",
				"   at Shop.Jobs.Fail(String s) in /src/Shop/Jobs.cs:line 5",
				"   --- End of inner exception stack trace ---",
				"   at System.Threading.Tasks.Task.Wait()",
				"   at Shop.Jobs.Main() in /src/Shop/Jobs.cs:line 9",
				" ---> (Inner Exception #1) System.InvalidOperationException: fail b",
				"   at Shop.Jobs.Fail(String s) in /src/Shop/Jobs.cs:line 5<---",
				"",
			),
			format: FormatDotNet,
			want: []wantException{
				{
					typ: "System.InvalidOperationException", value: "fail b", frames: 1, source: "InnerExceptions[1]",
					first: &wantFrame{"Fail", "Shop.Jobs", "/src/Shop/Jobs.cs", 5, true},
				},
				{
					typ: "System.InvalidOperationException", value: "fail a", frames: 1, source: "InnerExceptions[0]",
					first: &wantFrame{"Fail", "Shop.Jobs", "/src/Shop/Jobs.cs", 5, true},
				},
				{
					typ: "System.AggregateException", value: "One or more errors occurred. (fail a) (fail b)", frames: 2,
					first: &wantFrame{"Main", "Shop.Jobs", "/src/Shop/Jobs.cs", 9, true},
					last:  &wantFrame{"Wait", "System.Threading.Tasks.Task", "", 0, false},
				},
			},
		},
		{
			name:     "Mono frames: IL and native offsets, no symbols, wrappers, generics",
			language: "dotnet",
			text: trace(
				"System.NullReferenceException: Object reference not set to an instance of an object",
				"  at Shop.Cart.Total[T] (System.Collections.Generic.List`1[T] items) [0x00011] in /src/Shop/Cart.cs:31 ",
				"  at Shop.Cart+<LoadAsync>d__4.MoveNext () [0x0003a] in <filename unknown>:0 ",
				"  at (wrapper managed-to-native) System.Reflection.RuntimeMethodInfo.InternalInvoke(System.Reflection.RuntimeMethodInfo,object,object[],System.Exception&)",
				"  at System.Reflection.RuntimeMethodInfo.Invoke (System.Object obj, System.Object[] parameters) <0x7f3a1c2d4e50 + 0x000a2> in <b5b1a4a4f1b24d0a9f0c1e5a3d2c1b0a>:0 ",
				"  at Shop.Program.Main () [0x00001] in C:\\src\\Shop\\Program.cs:12 ",
			),
			format: FormatDotNet,
			want: []wantException{{
				typ: "System.NullReferenceException", value: "Object reference not set to an instance of an object", frames: 5,
				first: &wantFrame{"Main", "Shop.Program", `C:\src\Shop\Program.cs`, 12, true},
				last:  &wantFrame{"Total[T]", "Shop.Cart", "/src/Shop/Cart.cs", 31, true},
			}},
		},
	}
}

// TestParseMonoFrames checks each frame of the Mono case, not only the ends.
func TestParseMonoFrames(t *testing.T) {
	t.Parallel()
	cases := dotnetCases()
	got := Parse("dotnet", "", "", cases[len(cases)-1].text)
	require.True(t, strings.HasPrefix(cases[len(cases)-1].name, "Mono frames"))
	require.Len(t, got.Exceptions, 1)
	var frames []wantFrame
	for _, f := range got.Exceptions[0].Stacktrace.Frames {
		frames = append(frames, wantFrame{f.Function, f.Module, f.Filename, f.Lineno, f.InApp})
	}
	assert.Equal(t, []wantFrame{
		{"Main", "Shop.Program", `C:\src\Shop\Program.cs`, 12, true},
		{"Invoke", "System.Reflection.RuntimeMethodInfo", "", 0, false},
		{"InternalInvoke", "System.Reflection.RuntimeMethodInfo", "", 0, false},
		{"LoadAsync", "Shop.Cart", "", 0, true},
		{"Total[T]", "Shop.Cart", "/src/Shop/Cart.cs", 31, true},
	}, frames)
}

func TestParseDotNet(t *testing.T) {
	t.Parallel()
	runCases(t, dotnetCases())
}

// TestParseDotNetAggregateIsGroup checks the exception-group flag, which runCases does not look at.
func TestParseDotNetAggregateIsGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range dotnetCases() {
		if !strings.Contains(tc.name, "AggregateException") {
			continue
		}
		got := Parse("dotnet", "", "", tc.text)
		last := got.Exceptions[len(got.Exceptions)-1]
		require.NotNil(t, last.Mechanism)
		assert.True(t, last.Mechanism.IsExceptionGroup)
		for _, member := range got.Exceptions[:len(got.Exceptions)-1] {
			assert.False(t, member.Mechanism.IsExceptionGroup)
			assert.Equal(t, 0, *member.Mechanism.ParentID)
		}
	}
}
