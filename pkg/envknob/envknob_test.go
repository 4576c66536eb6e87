package envknob

import (
	"os"
	"strings"
	"testing"
)

// TestDocumented keeps docs/environment.md in step with the knobs declared here.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/environment.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range All() {
		if !strings.Contains(string(doc), "`"+k.Name+"`") {
			t.Errorf("docs/environment.md does not describe %s (%s)", k.Name, k.Doc)
		}
	}
}

func TestBool(t *testing.T) {
	k := Knob{Name: "LIMACTL_TEST_KNOB"}
	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "on": true, "0": false, "": false, "no": false} {
		t.Setenv(k.Name, v)
		if got := k.Bool(); got != want {
			t.Errorf("Bool(%q) = %v, want %v", v, got, want)
		}
	}
}
