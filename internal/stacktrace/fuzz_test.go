package stacktrace

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text (seeded with every table trace and every real-runtime sample, each also
// without a language hint) and checks the invariants callers rely on.
func FuzzParse(f *testing.F) {
	for _, tc := range allCases() {
		f.Add(tc.language, tc.excType, tc.message, tc.text)
		f.Add("", "", "", tc.text)
	}
	samples, err := filepath.Glob(filepath.Join("testdata", "samples", "*", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range samples {
		text, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		lang := filepath.Base(filepath.Dir(path))
		f.Add(lang, "", "", string(text))
		f.Add("", "", "", string(text))
	}
	f.Add("java", "", "", "")
	f.Add("go", "", "", "goroutine 1 [running]:\n(\n\t:1\n")
	f.Add("python", "", "", "Traceback (most recent call last):\n  File \"\", line 99999999999999999999, in \nE:")
	f.Add("", "", "", "x\n\tat a(b:1)\nCaused by: \n\tSuppressed: y\n\t\t... 3 more\n")

	f.Fuzz(func(t *testing.T, language, excType, message, text string) {
		got := Parse(language, excType, message, text)
		if len(got.Exceptions) == 0 {
			t.Fatalf("no exceptions for %q", text)
		}
		if len(got.Exceptions) > MaxExceptions {
			t.Fatalf("%d exceptions, more than MaxExceptions", len(got.Exceptions))
		}
		if got.Format == FormatRaw && got.Raw != text || got.Format != FormatRaw && got.Raw != "" {
			t.Fatalf("format %q with raw %q", got.Format, got.Raw)
		}
		last := len(got.Exceptions) - 1
		for i, exc := range got.Exceptions {
			if exc.Type == "" && exc.Value == "" {
				t.Fatalf("exception %d has neither type nor value", i)
			}
			if exc.Stacktrace != nil {
				if n := len(exc.Stacktrace.Frames); n == 0 || n > MaxFrames {
					t.Fatalf("exception %d has %d frames", i, n)
				}
			}
			if m := exc.Mechanism; m != nil && m.ParentID != nil && *m.ParentID >= m.ExceptionID {
				t.Fatalf("exception %d: parent %d not before id %d", i, *m.ParentID, m.ExceptionID)
			}
		}
		if excType != "" && got.Exceptions[last].Type != excType {
			t.Fatalf("reported type %q, want the span event's %q", got.Exceptions[last].Type, excType)
		}
		if message != "" && got.Exceptions[last].Value != message {
			t.Fatalf("reported value %q, want the span event's %q", got.Exceptions[last].Value, message)
		}
	})
}
