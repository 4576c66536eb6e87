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

func TestValidateParamIsUsed(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		unused     string
	}{
		{"template in a script", "param:\n  A: x\nprovision:\n- script: echo {{ .Param.A }}\n", ""},
		{"env form in a probe", "param:\n  A: x\nprobes:\n- script: \"#!/bin/sh\\necho $PARAM_A\"\n", ""},
		{"data content", "param:\n  A: x\nprovision:\n- mode: data\n  path: /x\n  content: \"{{.Param.A}}\"\n", ""},
		{"mount location", "param:\n  A: x\nmounts:\n- location: /src/{{.Param.A}}\n", ""},
		{"copyToHost", "param:\n  A: x\ncopyToHost:\n- guest: /{{.Param.A}}\n  host: /tmp/a\n", ""},
		{"hostSocket", "param:\n  A: x\nportForwards:\n- guestSocket: /a\n  hostSocket: \"{{.Param.A}}.sock\"\n", ""},
		{"prefix of another name does not count", "param:\n  A: x\nprovision:\n- script: echo $PARAM_AB {{.Param.AB}}\n", "A"},
		{"unused", "param:\n  Used: x\n  Zzz: y\nprovision:\n- script: echo $PARAM_Used\n", "Zzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var y LimaYAML
			if _, err := Unmarshal([]byte(tc.yaml), &y, "lima.yaml"); err != nil {
				t.Fatal(err)
			}
			err := ValidateParamIsUsed(&y)
			if tc.unused == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), `field "param.`+tc.unused+`": is not used`) {
				t.Fatalf("error %v, want key %q unused", err, tc.unused)
			}
		})
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
	for _, def := range []string{"Mount", "Image", "PortForward", "LocatorWithDigest", "Disk", "Provision"} {
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
