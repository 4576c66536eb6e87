package limayaml

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// withConfigLayers copies testdata/locate/{default,override}.yaml into $LIMA_HOME/_config.
func withConfigLayers(t *testing.T, limaHome string, names ...string) {
	t.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "locate", name))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(limaHome, "_config", name), string(b))
	}
}

// TestLocate places field paths in testdata/locate/user.yaml, with default.yaml and override.yaml
// as the _config layers. The merged lists count override (mounts: default) entries first.
func TestLocate(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	withConfigLayers(t, limaHome, "default.yaml", "override.yaml")
	data, err := os.ReadFile(filepath.Join("testdata", "locate", "user.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ field, want string }{
		{"memory", "user.yaml:4:9"},                // top-level scalar
		{"cpus", "user.yaml:5:7"},                  // top-level scalar, set
		{"images[0].location", "user.yaml:2:13"},   // field of a list element
		{"mounts[1].location", "user.yaml:7:13"},   // default.yaml's mount comes first
		{"mounts[1].mountPoint", "user.yaml:8:15"}, //
		{"mounts[0].mountPoint", "$LIMA_HOME/_config/default.yaml:5:15"},
		{"mounts[1].9p.msize", "user.yaml:7:3"}, // not written: the list element
		{"portForwards[0].hostPortRange[0]", "$LIMA_HOME/_config/override.yaml:4:13"},
		{"portForwards[1].hostPortRange[0]", "user.yaml:11:13"}, // written as hostPort
		{"portForwards[1].guestPortRange[0]", "user.yaml:10:14"},
		{"portForwards[2].hostPortRange[1]", "user.yaml:13:23"},     // an element of a flow list
		{"portForwards[2].guestPortRange", "user.yaml:12:3"},        // a list: at its key
		{"vmType", "$LIMA_HOME/_config/override.yaml:1:9"},          // only in override.yaml
		{"audio.interface", "$LIMA_HOME/_config/default.yaml:2:14"}, // only in default.yaml
		{"ssh.localPort", "user.yaml:15:14"},                        // nested mapping
		{"networks[0].lima", "user.yaml:17:9"},
		{"dns[0]", "user.yaml:19:3"},
		{"additionalDisks[0].name", "user.yaml:21:3"}, // written as a bare name
		{"hostResolver.hosts.A", "user.yaml:23:6"},    // through an alias
		{"user.name", "user.yaml"},                    // written nowhere
		{"containerd", "user.yaml"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			fe := &FieldError{Field: tc.field, Msg: "x"}
			Locate([]*FieldError{fe}, data, "user.yaml")
			got := scrub(fe.File, limaHome)
			if fe.Line > 0 {
				got += fmt.Sprintf(":%d:%d", fe.Line, fe.Column)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestLocateMovesUnmarshalErrors: a type error found in the loaded text is moved to the user's file.
func TestLocateMovesUnmarshalErrors(t *testing.T) {
	withHost(t, linuxHost)
	var y LimaYAML
	_, err := Unmarshal([]byte("# merged\n\ncpus: four\n"), &y, "/fake/lima.yaml")
	fes := FieldErrors(err)
	if len(fes) != 1 {
		t.Fatalf("want one FieldError, got %v", err)
	}
	Locate(fes, []byte("cpus: four\n"), "mine.yaml")
	if got, want := fes[0].Error(), "mine.yaml:1:7: field `cpus`: cannot use \"four\" as an integer"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestValidateLocated is what `limactl validate` prints for testdata/locate/bad.yaml.
func TestValidateLocated(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	data, err := os.ReadFile(filepath.Join("testdata", "locate", "bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	err = loadAndValidate(t, limaHome, string(data))
	fes := FieldErrors(err)
	if len(fes) == 0 {
		t.Fatalf("want FieldErrors, got %v", err)
	}
	Locate(fes, data, "bad.yaml")
	var lines []string
	for _, fe := range fes {
		lines = append(lines, fe.Error())
	}
	want := []string{
		"bad.yaml:3:9: field `memory`: cannot parse \"lots\" as a size: write it like 4GiB or 512MiB",
		"bad.yaml:5:13: field `mounts[0].location`: \"relative/path\" must be an absolute path or start with ~",
		"bad.yaml:6:15: field `mounts[0].mountPoint`: \"/etc\" would hide a system directory of the guest: mount somewhere else",
		"bad.yaml:8:14: field `portForwards[0].guestPortRange[0]`: cannot be 22 (it is reserved for ssh): choose another port",
		"bad.yaml:9:13: field `portForwards[0].hostPortRange[0]`: must be a port from 1 to 65535, got 70000",
	}
	if diff := cmp.Diff(strings.Join(want, "\n"), strings.Join(lines, "\n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParsePath(t *testing.T) {
	got := parsePath("portForwards[0].hostPortRange[1]")
	want := []pathStep{{"portForwards", 0}, {"hostPortRange", 1}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(pathStep{})); diff != "" {
		t.Error(diff)
	}
}
