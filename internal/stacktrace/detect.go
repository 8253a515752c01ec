package stacktrace

import (
	"regexp"
	"strings"
)

// Line shapes that identify a format. Compiled once; regexps are immutable and safe for concurrent use.
var (
	// javaFrameLine: "\tat pkg.Class.method(File.java:12)", "(Native Method)", "(Unknown Source)", a file
	// without line, optionally followed by a logger's "~[app.jar:1.0]".
	javaFrameLine = regexp.MustCompile(`^\s*at [^\s()]+\((?:Native Method|Unknown Source|[^\s():]+(?::\d+)?)\)(?:\s.*)?$`)
	// pythonFrameLine: `  File "path", line 12, in func`.
	pythonFrameLine = regexp.MustCompile(`^\s*File "(.*)", line (\d+)(?:, in (.*))?$`)
	// goFileLine: "\t/path/file.go:12 +0x1d".
	goFileLine = regexp.MustCompile(`^\t(.+\.go|\?):(\d+)(?:\s.*)?$`)
	// goroutineLine: "goroutine 1 [running]:".
	goroutineLine = regexp.MustCompile(`^goroutine \d+ \[.*\]:?$`)
	// dotnetFrameLine: "   at Ns.Class.Method(String x) in C:\src\File.cs:line 42" or without " in ...".
	// Unlike V8 there is no space before the argument list, and unlike Java the parentheses hold an
	// argument list ("Type name, ...") or nothing.
	dotnetFrameLine = regexp.MustCompile(`^\s*at ([^\s(]+\((?:|[^()]*\s[^()]*)\))(?: in (.+):\pL+ (\d+))?\s*$`)
	// monoFrameLine: Mono's "  at Ns.Class.Method (System.String x) [0x0001e] in /src/File.cs:42", with an IL
	// offset "[0x...]" or a native one "<0x... + 0x...>", and "in <mvid>:0" when the assembly has no symbols.
	// The IL or native offset tells it from V8's "at fn (file:1:2)".
	monoFrameLine = regexp.MustCompile(`^\s*at (.+?) ?\(([^()]*)\) (?:\[0x[0-9a-fA-F]+\]|<0x[0-9a-fA-F]+(?: \+ 0x[0-9a-fA-F]+)?>)(?: in (.+):(\d+))?\s*$`)
	// v8FrameLine: "    at fn (file:1:2)", "    at file:1:2", "    at new Foo (<anonymous>)".
	v8FrameLine = regexp.MustCompile(`^\s*at (?:.+ \(.*\)|\S.*:\d+:\d+|.+ \[as .+\] \(.*\))\s*\{?$`)
	// geckoFrameLine: "fn@https://x/app.js:10:5" (Firefox, Safari).
	geckoFrameLine = regexp.MustCompile(`^\s*([^@\s]*)@(.+):(\d+):(\d+)$`)
	// rubyFrameLine: "app/models/user.rb:10:in 'method'" with an optional "from " or message suffix.
	rubyFrameLine = regexp.MustCompile("^\\s*(?:from )?(.+?):(\\d+)(?::in [`'‘]([^'’]*)['’])?(.*)$")
	// phpFrameLine: "#0 /path/file.php(12): Class->method()", "#1 [internal function]: f()", "#2 {main}".
	phpFrameLine = regexp.MustCompile(`^#(\d+) (?:(.+)\((\d+)\): (.*)|\[internal function\]: (.*)|(\{main\}))$`)
)

// detectFormat picks the format whose frame lines occur most often in the text. Counting (rather than
// taking the first match) keeps one stray line, such as a message that quotes a path, from deciding.
// Ruby frames are counted only with a ":in " part, because "file:line" alone matches too much.
func detectFormat(lines []string) string {
	var java, python, goLang, dotnet, node, ruby, php int
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "| ") {
			// A line of a Python exception group, behind its margin.
			t = strings.TrimSpace(t[2:])
			l = t
		}
		switch {
		case t == "":
		case strings.HasPrefix(t, "Traceback (most recent call last):"),
			strings.HasPrefix(t, "+ Exception Group Traceback (most recent call last):"):
			python += 2
		case strings.HasPrefix(t, "File \"") && pythonFrameLine.MatchString(l):
			python++
		case goroutineLine.MatchString(l):
			goLang += 2
		case strings.HasPrefix(l, "\t") && goFileLine.MatchString(l):
			goLang++
		case strings.HasPrefix(t, "at "):
			switch {
			case javaFrameLine.MatchString(l):
				java++
			case dotnetFrameLine.MatchString(l), monoFrameLine.MatchString(l):
				dotnet++
			case v8FrameLine.MatchString(l):
				node++
			}
		case t[0] == '#' && phpFrameLine.MatchString(t):
			php++
		case strings.Contains(t, ":in ") && rubyFrameLine.MatchString(l):
			ruby++
		case strings.Contains(t, "@") && geckoFrameLine.MatchString(l):
			node++
		}
	}
	best, bestCount := "", 0
	// Ties go to the earlier entry: the more distinctive formats come first.
	for _, c := range []struct {
		format string
		count  int
	}{
		{FormatPython, python}, {FormatGo, goLang}, {FormatJava, java}, {FormatDotNet, dotnet},
		{FormatPHP, php}, {FormatRuby, ruby}, {FormatNodeJS, node},
	} {
		if c.count > bestCount {
			best, bestCount = c.format, c.count
		}
	}
	return best
}
