package limayaml

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/templates"
)

// TestJSONSchemaNoSelfReference: a definition that reaches itself through $refs alone sends
// validators that resolve references eagerly (python-jsonschema) into endless recursion.
func TestJSONSchemaNoSelfReference(t *testing.T) {
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	refs := map[string][]string{}
	var collect func(def string, v any)
	collect = func(def string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs[def] = append(refs[def], strings.TrimPrefix(r, "#/$defs/"))
			}
			for _, c := range v {
				collect(def, c)
			}
		case []any:
			for _, c := range v {
				collect(def, c)
			}
		}
	}
	for name, def := range s.Defs {
		collect(name, def)
	}
	for start := range s.Defs {
		seen := map[string]bool{}
		stack := append([]string(nil), refs[start]...)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == start {
				t.Errorf("$defs/%s refers to itself", start)
				break
			}
			if !seen[n] {
				seen[n] = true
				stack = append(stack, refs[n]...)
			}
		}
	}
}

// TestJSONSchemaUpstreamTemplates validates Lima's own default.yaml (and its commented examples),
// our templates, and a few base: forms against the schema.
func TestJSONSchemaUpstreamTemplates(t *testing.T) {
	schema, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "upstream", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	for _, n := range templates.Names() {
		b, err := templates.Read(n)
		if err != nil {
			t.Fatal(err)
		}
		docs["template:"+n] = b
	}
	docs["base list of objects"] = []byte("base: [{url: ./base.yaml, digest: decafbad}, template:default]\n")
	docs["base object"] = []byte("base: {url: template:default}\n")
	docs["base string"] = []byte("base: template:default\n")
	for name, b := range docs {
		if err := ValidateJSONSchema(schema, b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, y := range map[string]string{
		"unknown key in a base locator": "base: [{url: x, nope: 1}]\n",
		"unknown top-level key":         "memroy: 2GiB\n",
		"wrong type":                    "cpus: many\n",
		"not an integer":                "cpus: 1.5\n",
		"enum":                          "vmType: virtualbox\n",
		"enum in a list":                "portForwards: [{guestPort: 80, proto: sctp}]\n",
		"required":                      "mounts: [{writable: true}]\n",
		"minItems":                      "portForwards: [{guestPortRange: [1]}]\n",
		"maxItems":                      "portForwards: [{guestPortRange: [1, 2, 3]}]\n",
		"minimum":                       "user: {uid: -1}\n",
		"unknown key deep down":         "images: [{location: x, digets: y}]\n",
	} {
		if err := ValidateJSONSchema(schema, []byte(y)); err == nil {
			t.Errorf("%s: accepted %q", name, y)
		}
	}
}

// TestValidateJSONSchemaMessages: the errors name where in the document and what is wrong, and a
// schema keyword the validator does not implement is an error rather than ignored.
func TestValidateJSONSchemaMessages(t *testing.T) {
	schema, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	for y, want := range map[string]string{
		"cpus: many\n":                            "at '/cpus': anyOf failed: at '/cpus': got string, want integer; at '/cpus': got string, want null",
		"cpus: 1.5\n":                             "at '/cpus': anyOf failed: at '/cpus': got number, want integer",
		"memroy: 2GiB\nmemry: 1\n":                "at '': additional properties 'memroy', 'memry' not allowed",
		"base: [{url: x, nope: 1}]\n":             "additional properties 'nope' not allowed",
		"mounts: [{writable: true}]\n":            "at '/mounts/0': missing property 'location'",
		"vmType: vbox\n":                          "at '/vmType': anyOf failed: at '/vmType': value must be one of 'qemu', 'vz', 'wsl2', 'default'",
		"portForwards: [{guestPortRange: [1]}]\n": "at '/portForwards/0/guestPortRange': minItems: got 1, want 2",
	} {
		err := ValidateJSONSchema(schema, []byte(y))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want it to contain %q", y, err, want)
		}
	}
	odd := []byte(`{"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}}`)
	if err := ValidateJSONSchema(odd, []byte("a: y\n")); err == nil || !strings.Contains(err.Error(), `"pattern"`) {
		t.Errorf("a schema with an unimplemented keyword: got %v", err)
	}
	loop := []byte(`{"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}`)
	if err := ValidateJSONSchema(loop, []byte("a: 1\n")); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Errorf("a schema whose reference loops: got %v", err)
	}
}
