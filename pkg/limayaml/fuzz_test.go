package limayaml

import (
	"os"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through Unmarshal, FillDefault and Validate (with default.yaml and
// override.yaml layers built from the same input). None of them may panic.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		validImage,
		seedVZ,
		seedWSL2,
		"cpus: four\n",
		"base: [template:a, {url: b, digest: sha256:00}]\n",
		"additionalDisks: [data, {name: x, format: false}]\n",
		"mounts:\n- location: \"~\"\n  mountPoint: \"{{.Home}}/x\"\n- location: /tmp/{{.Name}}\n",
		"portForwards:\n- guestPortRange: [10, 1]\n  hostSocket: a\n- guestSocket: /x\n",
		"networks:\n- interface: a\n- interface: a\n  lima: user-v2\n",
		"provision:\n- mode: data\n- mode: yq\n- file: x\nprobes:\n- {}\n",
		"param:\n  A: \"{{\"\nprovision:\n- script: \"{{.Param.A}} {{\"\n",
		"x: &a [1]\ncpus: *a\n<<: {memory: 1}\n",
		"plain: true\ncpuType: {x86_64: max}\nrosetta: {enabled: true}\n",
		"",
		"[",
	} {
		f.Add([]byte(seed))
	}
	if b, err := os.ReadFile("testdata/null-template.yaml"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		old := detectedHost
		detectedHost = func() HostInfo { return linuxHost }
		defer func() { detectedHost = old }()
		var y, d, o LimaYAML
		if _, err := Unmarshal(data, &y, "lima.yaml"); err != nil {
			return
		}
		_, _ = Unmarshal(data, &d, "default.yaml")
		FillDefault(&y, &d, &o, "/nonexistent/lima-home/fuzz/lima.yaml", false)
		_ = Validate(&y, false)
		if _, err := Marshal(&y); err != nil {
			t.Fatalf("Marshal of a filled config failed: %v", err)
		}
	})
}
