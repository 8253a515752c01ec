package stacktrace

import (
	"encoding/json"
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	b, err := os.ReadFile(os.Getenv("DUMP"))
	if err != nil {
		t.Skip()
	}
	r := Parse(os.Getenv("LANG_HINT"), "", "", string(b))
	out, _ := json.MarshalIndent(r, "", " ")
	t.Log(string(out))
}
