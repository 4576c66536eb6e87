package limayaml

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnmarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // each must appear in the error
	}{
		{"type error int", "images: []\n\n\ncpus: four\n", []string{"lima.yaml:4:7: field `cpus`: cannot use \"four\" as an integer"}},
		{"type error nested bool", "mounts:\n- location: /tmp\n  writable: sometimes\n", []string{"lima.yaml:3:13: field `mounts[0].writable`: cannot use \"sometimes\" as a boolean (true or false)"}},
		{"type error uint32", "user:\n  uid: -5\n", []string{"lima.yaml:2:8: field `user.uid`: cannot use \"-5\" as an integer from 0 to 4294967295"}},
		{"list expected", "mounts:\n  location: /tmp\n", []string{"lima.yaml:2:3: field `mounts`: expected a list, got a mapping"}},
		{"mapping expected", "ssh: yes\n", []string{"lima.yaml:1:6: field `ssh`: expected a mapping of fields, got \"yes\""}},
		{"string expected", "memory: [4GiB]\n", []string{"lima.yaml:1:9: field `memory`: expected a string, got a list"}},
		{"map value", "env:\n  A:\n    B: c\n", []string{"lima.yaml:3:5: field `env.A`: expected a string, got a mapping"}},
		{"port range length", "portForwards:\n- guestPortRange: [1, 2, 3]\n", []string{"lima.yaml:2:19: field `portForwards[0].guestPortRange`: expected a list of exactly 2 items, got 3"}},
		{"base object bad", "base:\n- url: [x]\n", []string{"lima.yaml:2:8: field `base[0].url`: expected a string, got a list"}},
		{"disk object bad", "additionalDisks:\n- name: data\n  format: maybe\n", []string{"lima.yaml:3:11: field `additionalDisks[0].format`: cannot use \"maybe\" as a boolean"}},
		{"several errors reported together", "cpus: x\ndisk: [1]\n", []string{"lima.yaml:1:7: field `cpus`", "lima.yaml:2:7: field `disk`"}},
		{"duplicate key", "cpus: 2\ncpus: 4\n", []string{"lima.yaml:2:1: field `cpus` appears twice (first on line 1): keep one"}},
		{"not a mapping", "- a\n- b\n", []string{`lima.yaml:1:1: the file must be a mapping of fields`}},
		{"syntax error with line and column", "images:\n  - location: x\n bad: 1\n", []string{`lima.yaml:3:`, "invalid YAML"}},
		{"syntax error in flow list", "dns: [1.1.1.1\n", []string{`lima.yaml:1:`, "invalid YAML: did not find expected ',' or ']'"}},
		{"syntax error without line from yaml.v3", "cpus: 2\nmemory: a: b\n", []string{`lima.yaml:2:`, "mapping values are not allowed in this context"}},
		{"tab indentation", "ssh:\n\tlocalPort: 2\n", []string{`lima.yaml:2:`, "invalid YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var y LimaYAML
			_, err := Unmarshal([]byte(tc.yaml), &y, "lima.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestUnmarshalSyntaxColumn(t *testing.T) {
	var y LimaYAML
	_, err := Unmarshal([]byte("cpus: 2\nmemory: a: b\n"), &y, "x.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "x.yaml:2:9: ") {
		t.Fatalf("want the position 2:9, got %v", err)
	}
}

func TestUnmarshalUnknownFieldWarnings(t *testing.T) {
	var y LimaYAML
	warnings, err := Unmarshal([]byte("cpus: 2\nfoo: 1\nssh:\n  localPort: 60022\n  forwardAgentt: true\nmounts:\n- location: /tmp\n  writeable: true\n"), &y, "lima.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`lima.yaml:2: unknown field "foo" (ignored)`,
		`lima.yaml:5: unknown field "ssh.forwardAgentt" (ignored)`,
		`lima.yaml:8: unknown field "mounts[0].writeable" (ignored)`,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Error(diff)
	}
	if *y.CPUs != 2 || *y.SSH.LocalPort != 60022 || y.SSH.ForwardAgent != nil {
		t.Errorf("known fields not decoded: %+v", y)
	}
}

func TestUnmarshalEmptyAndNull(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "null\n", "---\n", "cpus: null\nmounts: null\nbase: null\n"} {
		var y LimaYAML
		if w, err := Unmarshal([]byte(text), &y, "lima.yaml"); err != nil || len(w) > 0 {
			t.Errorf("%q: %v %v", text, w, err)
		}
		if y.CPUs != nil || y.Mounts != nil || y.Base != nil {
			t.Errorf("%q: fields set: %+v", text, y)
		}
	}
}

func TestUnmarshalPolymorphic(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, yaml string
		want       LimaYAML
	}{
		{"base string", "base: template:debian\n", LimaYAML{Base: BaseTemplates{{URL: "template:debian"}}}},
		{"base list of strings", "base:\n- template:a\n- ./b.yaml\n", LimaYAML{Base: BaseTemplates{{URL: "template:a"}, {URL: "./b.yaml"}}}},
		{"base list of objects and strings", "base:\n- url: https://x/a.yaml\n  digest: " + digest + "\n- template:b\n",
			LimaYAML{Base: BaseTemplates{{URL: "https://x/a.yaml", Digest: &digest}, {URL: "template:b"}}}},
		{"base single object", "base:\n  url: template:c\n", LimaYAML{Base: BaseTemplates{{URL: "template:c"}}}},
		{"provision file string and object", "provision:\n- file: setup.sh\n- file:\n    url: https://x/s.sh\n    digest: " + digest + "\n",
			LimaYAML{Provision: []Provision{{File: &LocatorWithDigest{URL: "setup.sh"}}, {File: &LocatorWithDigest{URL: "https://x/s.sh", Digest: &digest}}}}},
		{"probe file string", "probes:\n- file: probe.sh\n", LimaYAML{Probes: []Probe{{File: &LocatorWithDigest{URL: "probe.sh"}}}}},
		{"additionalDisks both forms", "additionalDisks:\n- data\n- name: scratch\n  format: false\n  fsType: xfs\n  fsArgs: [-m, crc=1]\n",
			LimaYAML{AdditionalDisks: []Disk{{Name: "data"}, {Name: "scratch", Format: ptr(false), FSType: ptr("xfs"), FSArgs: []string{"-m", "crc=1"}}}}},
		{"deprecated top-level fields", "cpuType:\n  x86_64: qemu64\nrosetta:\n  enabled: true\n",
			LimaYAML{CPUType: CPUType{"x86_64": "qemu64"}, Rosetta: Rosetta{Enabled: ptr(true)}}},
		{"yaml 1.1 booleans and anchors", "x: &t yes\nplain: *t\n", LimaYAML{Plain: ptr(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var y LimaYAML
			if _, err := Unmarshal([]byte(tc.yaml), &y, "lima.yaml"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, y); diff != "" {
				t.Error(diff)
			}
			// Marshal writes a form that reads back the same.
			b, err := Marshal(&y)
			if err != nil {
				t.Fatal(err)
			}
			var again LimaYAML
			if _, err := Unmarshal(b, &again, "marshalled"); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if diff := cmp.Diff(y, again); diff != "" {
				t.Errorf("round trip:\n%s\n%s", b, diff)
			}
		})
	}
}

func TestMarshalShortForms(t *testing.T) {
	y := LimaYAML{
		Base:            BaseTemplates{{URL: "template:debian"}},
		AdditionalDisks: []Disk{{Name: "data"}},
		Provision:       []Provision{{Mode: "system", File: &LocatorWithDigest{URL: "s.sh"}}},
		PortForwards:    []PortForward{{GuestPortRange: PortRange{1, 2}}},
	}
	b, err := Marshal(&y)
	if err != nil {
		t.Fatal(err)
	}
	want := "base: template:debian\nadditionalDisks:\n  - data\nprovision:\n  - mode: system\n    file: s.sh\nportForwards:\n  - guestPortRange: [1, 2]\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Error(diff)
	}
}

func TestUnmarshalAliasLoopsAndBombs(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nenv: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	for name, text := range map[string]string{
		"self reference":       "mounts: &m\n- location: /a\n  sshfs: *m\n",
		"merge self reference": "ssh: &s\n  <<: *s\n",
		"alias bomb":           bomb,
	} {
		t.Run(name, func(t *testing.T) {
			var y LimaYAML
			if _, err := Unmarshal([]byte(text), &y, "lima.yaml"); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// Lima's templates write the TPM switch as `tpm: {enabled: BOOL}`; limactl's own form is
// `tpm: BOOL`. Both load to the same value.
func TestUnmarshalTPMMappingForm(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       *bool
		warn       string
	}{
		{"bool true", "tpm: true\n", ptrBool(true), ""},
		{"mapping true", "tpm:\n  enabled: true\n", ptrBool(true), ""},
		{"mapping false", "tpm: {enabled: false}\n", ptrBool(false), ""},
		{"mapping without enabled", "tpm: {}\n", nil, ""},
		{"mapping with an unknown key", "tpm:\n  enabled: true\n  version: \"2.0\"\n", ptrBool(true), `lima.yaml:3: unknown field "tpm.version" (ignored)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var y LimaYAML
			warnings, err := Unmarshal([]byte(tc.yaml), &y, "lima.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, y.TPM); diff != "" {
				t.Errorf("tpm (-want +got):\n%s", diff)
			}
			if got := strings.Join(warnings, "\n"); got != tc.warn {
				t.Errorf("warnings = %q, want %q", got, tc.warn)
			}
		})
	}
	var y LimaYAML
	if _, err := Unmarshal([]byte("tpm:\n  enabled: sometimes\n"), &y, "lima.yaml"); err == nil || !strings.Contains(err.Error(), "lima.yaml:2:12: field `tpm`: cannot use \"sometimes\" as a boolean") {
		t.Errorf("a non-boolean enabled must be an error at its own line, got %v", err)
	}
}

func ptrBool(b bool) *bool { return &b }
