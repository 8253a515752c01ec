package semconv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attributeKeyConstants parses this package's non-test sources and returns the value of every constant whose name
// starts with "attr", which by convention is every attribute key the code reads.
func attributeKeyConstants(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	keys := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err, path)
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "attr") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					require.True(t, ok && lit.Kind == token.STRING, "%s must be a string literal", name.Name)
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					keys[name.Name] = v
				}
			}
		}
	}
	return keys
}

// TestMappingDocCoversEveryAttributeKey keeps docs/mapping.md honest: every attribute key the code reads must be
// named there, in backticks.
func TestMappingDocCoversEveryAttributeKey(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "mapping.md"))
	require.NoError(t, err)
	keys := attributeKeyConstants(t)
	require.Greater(t, len(keys), 40, "the parser found too few attribute keys; did the naming convention change?")
	for name, key := range keys {
		assert.True(t, strings.Contains(string(doc), "`"+key+"`"), "docs/mapping.md does not mention `%s` (%s)", key, name)
	}
}

// TestTagKeysAreDocumented checks that the mapping document lists every tag key.
func TestTagKeysAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "mapping.md"))
	require.NoError(t, err)
	_, tags, found := strings.Cut(string(doc), "## Tags")
	require.True(t, found, "docs/mapping.md has no '## Tags' section")
	tags, _, _ = strings.Cut(tags, "\n## ")
	for _, k := range TagKeys() {
		assert.True(t, strings.Contains(tags, "`"+k+"`"), "the Tags section does not list `%s`", k)
	}
}
