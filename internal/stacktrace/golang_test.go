package stacktrace

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func goCases() []parseCase {
	return []parseCase{
		{
			name:     "runtime error panic with other goroutines",
			language: "go",
			text: trace(
				"panic: runtime error: index out of range [5] with length 3",
				"",
				"goroutine 1 [running]:",
				"github.com/acme/shop/internal/cart.(*Cart).Item(...)",
				"\t/home/dev/shop/internal/cart/cart.go:42",
				"github.com/acme/shop/internal/cart.Total(0xc000012345, {0xc00001a0a0, 0x3, 0x4})",
				"\t/home/dev/shop/internal/cart/total.go:17 +0x1d",
				"net/http.HandlerFunc.ServeHTTP(0x0?, {0x7f1c2a8, 0xc0000f2000}, 0xc000123456?)",
				"\t/usr/local/go/src/net/http/server.go:2220 +0x29",
				"github.com/go-chi/chi/v5.(*Mux).ServeHTTP(0xc0000a4000, {0x7f1c2a8, 0xc0000f2000}, 0xc000100000)",
				"\t/root/go/pkg/mod/github.com/go-chi/chi/v5@v5.0.12/mux.go:90 +0x2f5",
				"main.main()",
				"\t/home/dev/shop/cmd/shop/main.go:25 +0x105",
				"exit status 2",
				"",
				"goroutine 7 [IO wait]:",
				"internal/poll.runtime_pollWait(0x7f3f, 0x72)",
				"\t/usr/local/go/src/runtime/netpoll.go:345 +0x85",
			),
			format: FormatGo,
			want: []wantException{{
				typ: "panic", value: "runtime error: index out of range [5] with length 3", frames: 5,
				first: &wantFrame{"main", "main", "/home/dev/shop/cmd/shop/main.go", 25, true},
				last:  &wantFrame{"(*Cart).Item", "github.com/acme/shop/internal/cart", "/home/dev/shop/internal/cart/cart.go", 42, true},
			}},
		},
		{
			name:     "debug.Stack from RecordError with the error type from the span event",
			language: "go",
			excType:  "*fmt.wrapError",
			message:  "load config: open /etc/app.yaml: no such file or directory",
			text: trace(
				"goroutine 42 [running]:",
				"runtime/debug.Stack()",
				"\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e",
				"go.opentelemetry.io/otel/sdk/trace.recordStackTrace()",
				"\t/root/go/pkg/mod/go.opentelemetry.io/otel/sdk@v1.47.0/trace/span.go:560 +0x18",
				"myservice/internal/config.Load({0xc0000140a0, 0xf})",
				"\tmyservice/internal/config/load.go:31 +0x8a",
				"created by main.main in goroutine 1",
				"\tmyservice/cmd/main.go:12 +0x66",
			),
			format: FormatGo,
			want: []wantException{{
				typ: "*fmt.wrapError", value: "load config: open /etc/app.yaml: no such file or directory", frames: 4,
				first: &wantFrame{"main", "main", "myservice/cmd/main.go", 12, true},
				last:  &wantFrame{"Stack", "runtime/debug", "/usr/local/go/src/runtime/debug/stack.go", 26, false},
			}},
		},
		{
			name: "repanic and a multi-line value",
			text: trace(
				"panic: first failure [recovered]",
				"\tpanic: second failure",
				"\twith détails",
				"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e1a2]",
				"",
				"goroutine 1 [running]:",
				"panic({0x4a0f40?, 0xc000012345?})",
				"\t/usr/local/go/src/runtime/panic.go:770 +0x132",
				"main.main.func1()",
				"\t/app/main.go:9 +0x4c",
				"main.main()",
				"\t/app/main.go:12 +0x3d",
			),
			format: FormatGo,
			want: []wantException{
				{typ: "panic", value: "first failure", source: "recovered"},
				{
					typ: "panic", value: "second failure\nwith détails", frames: 3,
					first: &wantFrame{"main", "main", "/app/main.go", 12, true},
					last:  &wantFrame{"panic", "", "/usr/local/go/src/runtime/panic.go", 770, false},
				},
			},
		},
		{
			name:     "test binary panic with a repanicked suffix (real output)",
			language: "go",
			text: trace(
				"--- FAIL: TestParseLineEndings (0.00s)",
				"panic: runtime error: index out of range [0] with length 0 [recovered, repanicked]",
				"",
				"goroutine 34 [running]:",
				"testing.tRunner.func1.2({0x73b020, 0x3ab4b6642090})",
				"\t/usr/local/go/src/testing/testing.go:1974 +0x232",
				"testing.tRunner.func1()",
				"\t/usr/local/go/src/testing/testing.go:1977 +0x349",
				"panic({0x73b020?, 0x3ab4b6642090?})",
				"\t/usr/local/go/src/runtime/panic.go:860 +0x13a",
				"github.com/otelsentry/sentryexporter/internal/stacktrace.parsePython({0x3ab4b6822000?, 0x15, 0x783d48?})",
				"\t/work/main/internal/stacktrace/python.go:41 +0xfd4",
				"github.com/otelsentry/sentryexporter/internal/stacktrace.Parse({0x75fe5e, 0x6}, {0x0, 0x0}, {0x0, 0x0}, {0x3ab4b669eb00, 0x2b2})",
				"\t/work/main/internal/stacktrace/stacktrace.go:149 +0x1b4",
				"testing.tRunner(0x3ab4b67dcfc8, 0x781b00)",
				"\t/usr/local/go/src/testing/testing.go:2036 +0xea",
				"created by testing.(*T).Run in goroutine 1",
				"\t/usr/local/go/src/testing/testing.go:2101 +0x4c5",
				"FAIL\tgithub.com/otelsentry/sentryexporter/internal/stacktrace\t0.016s",
			),
			format: FormatGo,
			want: []wantException{{
				typ: "panic", value: "runtime error: index out of range [0] with length 0", frames: 7,
				first: &wantFrame{"(*T).Run", "testing", "/usr/local/go/src/testing/testing.go", 2101, false},
				last:  &wantFrame{"tRunner.func1.2", "testing", "/usr/local/go/src/testing/testing.go", 1974, false},
			}},
		},
	}
}

func TestParseGo(t *testing.T) {
	t.Parallel()
	runCases(t, goCases())
}

// TestGoModuleVersionPaths checks the -trimpath rule: a file under "module@vX.Y.Z/" is a dependency.
func TestGoModuleVersionPaths(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"go.opentelemetry.io/otel/sdk@v1.47.0/trace/span.go":                   true,
		"github.com/jackc/pgx/v5@v5.7.1-0.20240101120000-abcdef123456/conn.go": true,
		"golang.org/x/net@v0.30.0/http2/transport.go":                          true,
		"example.com/shop/main.go":                                             false,
		"example.com/shop@home/main.go":                                        false,
		"/home/dev/@v1/notes.go":                                               false,
		"/srv/app@v2/cmd/main.go":                                              false,
	} {
		assert.Equal(t, want, hasModuleVersion(path), path)
	}
}
