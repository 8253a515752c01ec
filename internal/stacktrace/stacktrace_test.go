package stacktrace

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allCases is every per-language table, for the detection test and the fuzz seeds.
func allCases() []parseCase {
	var all []parseCase
	for _, cases := range [][]parseCase{
		javaCases(), pythonCases(), goCases(), nodeCases(), dotnetCases(), rubyCases(), phpCases(),
	} {
		all = append(all, cases...)
	}
	return all
}

// TestParseDetectsFormat runs every table trace without the language hint: detection must pick the
// same format.
func TestParseDetectsFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range allCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Parse("", tc.excType, tc.message, tc.text)
			want := tc.format
			if tc.detected != "" {
				want = tc.detected
			}
			assert.Equal(t, want, got.Format)
			assert.Len(t, got.Exceptions, len(tc.want))
		})
	}
}

// TestParseWrongLanguageHint checks that a hint whose parser finds no frame falls back to detection.
func TestParseWrongLanguageHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		language string
		text     string
		format   string
	}{
		{"python", goCases()[0].text, FormatGo},
		{"go", pythonCases()[0].text, FormatPython},
		{"ruby", dotnetCases()[0].text, FormatDotNet},
		{"dotnet", nodeCases()[0].text, FormatNodeJS},
		{"nodejs", phpCases()[0].text, FormatPHP},
		{"cobol", rubyCases()[0].text, FormatRuby},
	}
	for _, tt := range tests {
		t.Run(tt.language+"->"+tt.format, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.format, Parse(tt.language, "", "", tt.text).Format)
		})
	}
}

func TestParseRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		language string
		excType  string
		message  string
		text     string
		wantType string
		wantVal  string
	}{
		{
			name: "free text keeps its first line as the value", language: "java",
			text:     "\n\nsomething went wrong: ünïcode\nno frames at all\n",
			wantType: "", wantVal: "something went wrong: ünïcode",
		},
		{
			name: "span event fields win", language: "",
			excType: "TimeoutError", message: "deadline exceeded", text: "deadline exceeded after 30s",
			wantType: "TimeoutError", wantVal: "deadline exceeded",
		},
		{
			name: "python header without a traceback has no frames", language: "python",
			text:     "ValueError: bad",
			wantType: "", wantVal: "ValueError: bad",
		},
		{
			name: "empty text and fields still give a type", language: "go",
			text:     " \r\n\t\n",
			wantType: "Error", wantVal: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Parse(tt.language, tt.excType, tt.message, tt.text)
			assert.Equal(t, FormatRaw, got.Format)
			assert.Equal(t, tt.text, got.Raw)
			assert.False(t, got.Truncated)
			require.Len(t, got.Exceptions, 1)
			assert.Equal(t, tt.wantType, got.Exceptions[0].Type)
			assert.Equal(t, tt.wantVal, got.Exceptions[0].Value)
			assert.Nil(t, got.Exceptions[0].Stacktrace)
			assert.Nil(t, got.Exceptions[0].Mechanism)
		})
	}
}

// TestParseLineEndings checks that CRLF, lone CR and surrounding blank lines parse like LF.
func TestParseLineEndings(t *testing.T) {
	t.Parallel()
	lf := pythonCases()[1].text
	want := Parse("python", "", "", lf)
	for name, text := range map[string]string{
		"crlf":    replaceNewlines(lf, "\r\n"),
		"cr":      replaceNewlines(lf, "\r"),
		"padding": "\n\r\n  \n" + lf + "\n\n\t\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, want, Parse("python", "", "", text))
		})
	}
}

func replaceNewlines(s, nl string) string {
	out := make([]byte, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, nl...)
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

func TestIsInApp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format   string
		module   string
		pkg      string
		filename string
		lineno   int
		want     bool
	}{
		{FormatJava, "com.acme.Foo", "", "Foo.java", 1, true},
		{FormatJava, "javax.servlet.http.HttpServlet", "", "HttpServlet.java", 1, false},
		{FormatJava, "org.apache.catalina.core.StandardWrapperValve", "", "", 0, false},
		{FormatJava, "com.acme.Plugin", "java.base", "", 0, false},
		{FormatJava, "com.zaxxer.hikari.pool.HikariPool", "", "HikariPool.java", 686, false},
		{FormatJava, "org.postgresql.jdbc.PgStatement", "", "PgStatement.java", 1, false},
		{FormatPython, "", "", "/usr/lib/python3.11/asyncio/events.py", 1, false},
		{FormatPython, "", "", `C:\Python311\Lib\asyncio\events.py`, 1, false},
		{FormatPython, "", "", "/app/main.py", 1, true},
		{FormatGo, "net/http", "", "/usr/local/go/src/net/http/server.go", 1, false},
		{FormatGo, "github.com/acme/app/vendor/github.com/x/y", "", "/src/app/vendor/github.com/x/y/y.go", 1, false},
		{FormatGo, "myservice/internal/db", "", "myservice/internal/db/db.go", 1, true},
		{FormatGo, "main", "", "/app/main.go", 1, true},
		{FormatNodeJS, "", "", "/app/node_modules/express/lib/router.js", 1, false},
		{FormatNodeJS, "", "", "<anonymous>", 0, false},
		{FormatDotNet, "System.Linq.Enumerable", "", "", 0, false},
		{FormatDotNet, "Shop.Api.Controller", "", "", 0, true},
		{FormatRuby, "", "", "/usr/local/bundle/gems/rack-3.0.8/lib/rack.rb", 1, false},
		{FormatRuby, "", "", "app/models/user.rb", 1, true},
		{FormatPHP, "", "", "/srv/app/vendor/symfony/http-kernel/Kernel.php", 1, false},
		{FormatPHP, "", "", "", 0, false},
		{FormatPHP, "", "", "/srv/app/src/Kernel.php", 1, true},
	}
	for _, tt := range tests {
		f := frameFor(tt.module, tt.pkg, tt.filename, tt.lineno)
		assert.Equal(t, tt.want, isInApp(tt.format, &f), "%s %s %s", tt.format, tt.module, tt.filename)
	}
}

// TestParseLongMessage checks that a message of many lines is read in linear time and kept whole.
func TestParseLongMessage(t *testing.T) {
	t.Parallel()
	const n = 50000
	var b strings.Builder
	b.WriteString("java.lang.IllegalArgumentException: first\n")
	for range n {
		b.WriteString("another line of the message\n")
	}
	b.WriteString("\tat com.acme.A.a(A.java:1)\n")
	got := Parse("java", "", "", b.String())
	require.Equal(t, FormatJava, got.Format)
	require.Len(t, got.Exceptions, 1)
	assert.Equal(t, n+1, strings.Count(got.Exceptions[0].Value, "\n")+1)
	assert.Len(t, got.Exceptions[0].Stacktrace.Frames, 1)
}

// TestParseWindowsPaths checks the newest frame's file and in_app for traces printed on Windows.
func TestParseWindowsPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		language, text, file string
		inApp                bool
	}{
		{"python", trace("Traceback (most recent call last):", `  File "C:\app\jobs\run.py", line 4, in main`,
			"ValueError: x"), `C:\app\jobs\run.py`, true},
		{"python", trace("Traceback (most recent call last):", `  File "C:\Python312\Lib\json\decoder.py", line 4, in decode`,
			"ValueError: x"), `C:\Python312\Lib\json\decoder.py`, false},
		{"ruby", trace("C:/app/lib/shop.rb:10:in 'Shop#pay': declined (PaymentError)", "\tfrom C:/app/main.rb:3:in '<main>'"),
			"C:/app/lib/shop.rb", true},
		{"go", trace("goroutine 1 [running]:", "github.com/acme/pay.Charge()",
			"\tC:/Users/dev/go/pkg/mod/github.com/acme/pay@v1.2.3/charge.go:12 +0x1d", "main.main()", "\tC:/src/shop/main.go:8 +0x1d"),
			"C:/Users/dev/go/pkg/mod/github.com/acme/pay@v1.2.3/charge.go", false},
		{"php", trace(`PHP Fatal error:  Uncaught RuntimeException: x in C:\www\src\Pay.php:9`, "Stack trace:",
			`#0 C:\www\public\index.php(3): App\Pay->run()`, "#1 {main}"), `C:\www\src\Pay.php`, true},
	}
	for _, tt := range tests {
		t.Run(tt.language+" "+tt.file, func(t *testing.T) {
			t.Parallel()
			got := Parse(tt.language, "", "", tt.text)
			require.NotEmpty(t, got.Exceptions)
			exc := got.Exceptions[len(got.Exceptions)-1]
			require.NotNil(t, exc.Stacktrace)
			newest := exc.Stacktrace.Frames[len(exc.Stacktrace.Frames)-1]
			assert.Equal(t, tt.file, newest.Filename)
			assert.Equal(t, tt.file, newest.AbsPath)
			assert.Equal(t, tt.inApp, newest.InApp)
		})
	}
}
