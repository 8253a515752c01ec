package sentrylogs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsentry/sentryexporter/internal/resource"
)

// TestLogsDocMatchesCode keeps docs/logs.md honest: it names every derived attribute key, the origin and every
// limit with its value, and each severity text its table lists maps to the level of its row.
func TestLogsDocMatchesCode(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "logs.md"))
	require.NoError(t, err)
	doc := string(raw)

	for _, key := range []string{
		keyEnvironment, keyRelease, keySDKName, keySDKVersion, keyOrigin, keyScopeName, keyScopeVersion, keyEventName,
		resource.AttrServiceName, resource.AttrServiceVersion, resource.AttrEnvironment, resource.AttrEnvironmentLegacy,
		resource.AttrSDKName, resource.AttrSDKLanguage, resource.AttrSDKVersion, resource.AttrProcessRuntimeName,
		Origin,
	} {
		assert.True(t, strings.Contains(doc, "`"+key+"`"), "docs/logs.md does not name `%s`", key)
	}

	size := func(n int) string {
		switch {
		case n%(1<<20) == 0:
			return strconv.Itoa(n>>20) + " MiB"
		case n%(1<<10) == 0:
			return strconv.Itoa(n>>10) + " KiB"
		}
		return strconv.Itoa(n) + " bytes"
	}
	for name, value := range map[string]string{
		"MaxPerItem":             strconv.Itoa(MaxPerItem),
		"MaxPayloadBytes":        size(MaxPayloadBytes),
		"MaxBodyBytes":           size(MaxBodyBytes),
		"MaxAttributeValueBytes": size(MaxAttributeValueBytes),
		"MaxAttributeKeyBytes":   size(MaxAttributeKeyBytes),
		"MaxAttributes":          strconv.Itoa(MaxAttributes),
		"MaxLogBytes":            size(MaxLogBytes),
	} {
		row := regexp.MustCompile("\\(`" + name + "`\\) \\| " + regexp.QuoteMeta(value) + "\\b")
		assert.True(t, row.MatchString(doc), "docs/logs.md has no limits row for %s = %s", name, value)
	}

	section := doc[strings.Index(doc, "### Severity text"):]
	section = section[:strings.Index(section, "\n## ")]
	rows := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| (.+) \\|$").FindAllStringSubmatch(section, -1)
	require.Len(t, rows, 6)
	for _, row := range rows {
		for _, name := range strings.Split(row[2], ", ") {
			level, ok := levelFromText(name)
			assert.True(t, ok, name)
			assert.Equal(t, row[1], level, name)
		}
	}
}
