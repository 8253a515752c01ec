package stacktrace

import (
	"testing"
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
	}
}

func TestParseDotNet(t *testing.T) {
	t.Parallel()
	runCases(t, dotnetCases())
}
