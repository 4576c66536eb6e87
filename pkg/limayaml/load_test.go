package limayaml

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A template in Lima's style, with every field null, loads without warnings and validates.
func TestNullTemplateLoadsAndValidates(t *testing.T) {
	b, err := os.ReadFile("testdata/null-template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var raw LimaYAML
	if w, err := Unmarshal(b, &raw, "null-template.yaml"); err != nil || len(w) > 0 {
		t.Fatalf("warnings %v, error %v", w, err)
	}
	for _, h := range []HostInfo{linuxHost, macHost("14.0", AARCH64)} {
		_, err := validateOn(t, h, string(b))
		if err != nil {
			t.Errorf("%s: %v", h.OS, err)
		}
	}
}

// TestLoadAcceptsUnusedParam: as in Lima 2.2, a param that nothing refers to is accepted; its
// Ubuntu 26.04 image template sets internal_netplanOptional, which only the cloud-init seed reads.
func TestLoadAcceptsUnusedParam(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	text := validImage + "param:\n  internal_netplanOptional: \"true\"\n  Unused: x\n"
	y, err := Load([]byte(text), instFile(limaHome, "p"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(y, false); err != nil {
		t.Fatal(err)
	}
	if got := y.Param["Unused"]; got != "x" {
		t.Errorf("param Unused = %q, want x", got)
	}
}

func TestJSONSchema(t *testing.T) {
	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Schema     string                     `json:"$schema"`
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema %q", s.Schema)
	}
	for _, f := range yamlFields(reflectLimaYAML()) {
		if _, ok := s.Properties[f.Name]; !ok {
			t.Errorf("no property %q", f.Name)
		}
	}
	for _, def := range []string{"Mount", "Image", "PortForward", "LocatorWithDigest", "LocatorObject", "DiskObject", "Provision"} {
		if _, ok := s.Defs[def]; !ok {
			t.Errorf("no $defs/%s", def)
		}
	}
	checkGolden(t, "schema.golden.json", string(b)+"\n")
}

func TestLoadLogsUnknownFieldsWithPosition(t *testing.T) {
	logs, err := validateOn(t, linuxHost, validImage+"memroy: 2GiB\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := `test/lima.yaml:4: unknown field \"memroy\" (ignored)`; !strings.Contains(logs, want) {
		t.Errorf("no %q in:\n%s", want, logs)
	}
}
