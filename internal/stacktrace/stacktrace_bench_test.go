package stacktrace

import (
	"strings"
	"testing"
)

// BenchmarkParse measures one typical trace per format, and a long one.
func BenchmarkParse(b *testing.B) {
	benches := []struct {
		name     string
		language string
		text     string
	}{
		{"java", "java", javaCases()[0].text},
		{"python", "python", pythonCases()[1].text},
		{"go", "go", goCases()[0].text},
		{"nodejs", "nodejs", nodeCases()[0].text},
		{"dotnet", "dotnet", dotnetCases()[0].text},
		{"ruby", "ruby", rubyCases()[0].text},
		{"php", "php", phpCases()[0].text},
		{"detect-java", "", javaCases()[0].text},
		{"java-1000-frames", "java", javaStackOverflow(1000)},
		{"raw-10k-lines", "", strings.Repeat("nothing to see here, just a log line\n", 10000)},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.text)))
			for b.Loop() {
				Parse(bb.language, "", "", bb.text)
			}
		})
	}
}
