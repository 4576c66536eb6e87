package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

func yqTestInstances() []*store.Instance {
	return []*store.Instance{
		{Name: "foo", Status: store.StatusStopped, CPUs: 1, Message: "a && b <c>\n", Param: map[string]string{"k": "v"}},
		{Name: "bar", Status: store.StatusRunning, CPUs: 4, Config: &limayaml.LimaYAML{}},
	}
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// The terminal gets the same data as a pipe, only indented and coloured (Lima's list.bats checks
// the same by stripping the colours).
func TestPrintInstancesYQColorIsOnlyLayout(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			plainIO, _, plain, _ := iostreams.Test()
			if err := printInstancesYQ(plainIO, yqTestInstances(), format, nil); err != nil {
				t.Fatal(err)
			}
			ttyIO, _, colored, _ := iostreams.Test()
			ttyIO.SetColorEnabled(true)
			if err := printInstancesYQ(ttyIO, yqTestInstances(), format, nil); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(colored.String(), "\x1b[0m") || strings.Contains(plain.String(), "\x1b") {
				t.Fatalf("colours: plain %q, terminal %q", plain, colored)
			}
			stripped := ansiRE.ReplaceAllString(colored.String(), "")
			if format == "yaml" {
				if diff := cmp.Diff(plain.String(), stripped); diff != "" {
					t.Errorf("terminal YAML differs from piped YAML (-plain +terminal):\n%s", diff)
				}
				return
			}
			lines := strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("piped JSON: want one line per instance, got %q", plain)
			}
			dec := json.NewDecoder(strings.NewReader(stripped))
			for _, line := range lines {
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("terminal JSON: %v in %q", err, stripped)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, v); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(line, compact.String()); diff != "" {
					t.Errorf("terminal JSON differs from piped JSON (-plain +terminal):\n%s", diff)
				}
			}
			if !strings.HasPrefix(stripped, "{\n    \"name\": \"foo\",\n") {
				t.Errorf("terminal JSON is not indented by four: %q", stripped)
			}
		})
	}
}

func TestPrintInstancesYQ(t *testing.T) {
	for _, tc := range []struct {
		format string
		exprs  []string
		want   string
	}{
		// Not HTML-escaped, as Lima prints it.
		{"json", []string{".message"}, "a && b <c>\n\nnull\n"},
		{"json", []string{"select(.cpus > 1)", ".name"}, "bar\n"},
		{"json", []string{"{\"n\": .name, \"p\": .param}"}, "{\"n\":\"foo\",\"p\":{\"k\":\"v\"}}\n{\"n\":\"bar\",\"p\":null}\n"},
		{"yaml", []string{".name"}, "foo\n---\nbar\n"},
		{"yaml", []string{"select(.status == \"Stopped\")", "{\"n\": .name}"}, "n: foo\n"},
	} {
		ios, _, out, _ := iostreams.Test()
		if err := printInstancesYQ(ios, yqTestInstances(), tc.format, tc.exprs); err != nil {
			t.Errorf("%s %q: %v", tc.format, tc.exprs, err)
			continue
		}
		if diff := cmp.Diff(tc.want, out.String()); diff != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.format, tc.exprs, diff)
		}
	}
}

func TestPruneJSON(t *testing.T) {
	got, err := pruneJSON([]byte(`{"a":{"b":{"c":{}}},"d":1,"e":[{}],"f":{"g":"h","i":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"d\":1,\"e\":[],\"f\":{\"g\":\"h\"}}\n"; string(got) != want {
		t.Errorf("pruneJSON = %q, want %q", got, want)
	}
}

func TestFilterInstances(t *testing.T) {
	names := func(insts []*store.Instance) (n []string) {
		for _, inst := range insts {
			n = append(n, inst.Name)
		}
		return n
	}
	for _, tc := range []struct {
		filters []string
		want    []string
		wantErr string
	}{
		{nil, []string{"foo", "bar"}, ""},
		{[]string{".cpus > 1"}, []string{"bar"}, ""},
		{[]string{`.status == "Stopped"`, ".cpus == 1"}, []string{"foo"}, ""},
		{[]string{`.status == "Stopped"`, ".cpus > 1"}, nil, ""},
		{[]string{`.name == strenv(HOME)`}, nil, `failed to apply filter "select(.name == strenv(HOME))": env operations have been disabled`},
		{[]string{`.cpus > 1`, `load("/etc/hostname")`}, nil, `failed to apply filter "select(.cpus > 1) | select(load(\"/etc/hostname\"))": file operations have been disabled`},
	} {
		got, err := filterInstances(yqTestInstances(), tc.filters)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%q: err = %v, want %s", tc.filters, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.filters, err)
			continue
		}
		if diff := cmp.Diff(tc.want, names(got)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.filters, diff)
		}
	}
}

func TestPrintJSONYQ(t *testing.T) {
	v := map[string]any{"limaHome": "/h/.lima", "vmTypes": []string{"qemu"}}
	ios, _, out, _ := iostreams.Test()
	if err := printJSONYQ(ios, v, "."); err != nil {
		t.Fatal(err)
	}
	want := "{\n    \"limaHome\": \"/h/.lima\",\n    \"vmTypes\": [\n        \"qemu\"\n    ]\n}\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	out.Reset()
	if err := printJSONYQ(ios, v, ".vmTypes[0]"); err != nil || out.String() != "qemu\n" {
		t.Errorf("--yq .vmTypes[0] = %q, %v", out, err)
	}
	if err := printJSONYQ(ios, v, "env(HOME)"); err == nil || err.Error() != "env operations have been disabled" {
		t.Errorf("--yq env(HOME): err = %v", err)
	}
}
