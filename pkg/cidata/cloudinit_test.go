package cidata

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cloudInitCheck validates every golden user-data against cloud-init's own schema and renders every
// golden network-config with its networkd renderer, printing "ok" per file.
const cloudInitCheck = `
import sys, yaml
from cloudinit.config.schema import validate_cloudconfig_file, get_schema
from cloudinit.net import network_state, networkd
schema = get_schema()
for d in sys.argv[1:]:
    validate_cloudconfig_file(d + "/user-data", schema, annotate=False)
    ns = network_state.parse_net_config_data(yaml.safe_load(open(d + "/network-config")))
    out = networkd.Renderer({})._render_content(ns)
    assert "eth0" in out and "MACAddress=" in out["eth0"], out
    print("ok", d)
`

// TestCloudInitAccepts runs the golden files through the cloud-init Python package when it can be
// imported (installed, or unpacked from the cloud-init .deb and put on PYTHONPATH).
func TestCloudInitAccepts(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(py, "-c", "import cloudinit.config.schema, yaml").Run(); err != nil {
		t.Skip("the cloudinit Python package is not importable (install cloud-init, or dpkg -x its .deb and set PYTHONPATH)")
	}
	var dirs []string
	for _, tc := range goldenCases() {
		dirs = append(dirs, filepath.Join("testdata", tc.name))
	}
	out, err := exec.Command(py, append([]string{"-c", cloudInitCheck}, dirs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cloud-init rejects the seed: %v\n%s", err, out)
	}
	if strings.Count(string(out), "ok ") != len(dirs) {
		t.Errorf("cloud-init check output:\n%s", out)
	}
	if strings.Contains(string(out), "DEPRECATED") {
		t.Errorf("cloud-init reports deprecated keys:\n%s", out)
	}
}
