package editflags

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/limatmpl"
)

func newCmd(create bool) *cobra.Command {
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	if create {
		RegisterCreate(cmd, "")
	} else {
		RegisterEdit(cmd, "")
	}
	return cmd
}

func exprs(t *testing.T, newInstance bool, args ...string) ([]string, error) {
	t.Helper()
	cmd := newCmd(true)
	if err := cmd.ParseFlags(args); err != nil {
		return nil, err
	}
	return YQExpressions(cmd.Flags(), newInstance)
}

func TestYQExpressions(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"--cpus", "4"}, []string{".cpus = 4"}},
		{[]string{"--memory", "4"}, []string{`.memory = "4GiB"`}},
		{[]string{"--memory=0.5"}, []string{`.memory = "0.5GiB"`}},
		{[]string{"--disk", "100"}, []string{`.disk = "100GiB"`}},
		{[]string{"--vm-type", "vz"}, []string{`.vmType = "vz"`}},
		{[]string{"--arch", "arm64"}, []string{`.arch = "aarch64"`}},
		{[]string{"--arch", "x86_64"}, []string{`.arch = "x86_64"`}},
		{[]string{"--mount", "/src:w", "--mount", "~/data"}, []string{
			`.mounts = [{"location": "/src", "writable": true}, {"location": "` + filepath.Join(home, "data") + `", "writable": false}] + (.mounts // []) | .mounts |= unique_by(.location)`}},
		{[]string{"--mount", "rel"}, []string{
			`.mounts = [{"location": "` + filepath.Join(cwd, "rel") + `", "writable": false}] + (.mounts // []) | .mounts |= unique_by(.location)`}},
		{[]string{"--mount-only", "/a:w"}, []string{`.mounts = [{"location": "/a", "writable": true}]`}},
		{[]string{"--mount", "/a,/b:w"}, []string{
			`.mounts = [{"location": "/a", "writable": false}, {"location": "/b", "writable": true}] + (.mounts // []) | .mounts |= unique_by(.location)`}},
		{[]string{"--mount-only", "/a:w,/b", "--mount-only", "/c"}, []string{
			`.mounts = [{"location": "/a", "writable": true}, {"location": "/b", "writable": false}, {"location": "/c", "writable": false}]`}},
		{[]string{"--mount-only", `"/a,b"`}, []string{`.mounts = [{"location": "/a,b", "writable": false}]`}},
		{[]string{"--mount-none"}, []string{".mounts = null"}},
		{[]string{"--mount-type", "9p"}, []string{`.mountType = "9p"`}},
		{[]string{"--mount-writable"}, []string{"with(select(.mounts != null); .mounts[].writable = true)"}},
		{[]string{"--mount-inotify"}, []string{".mountInotify = true"}},
		{[]string{"--network", "lima:shared,vzNAT"}, []string{`.networks += [{"lima": "shared"}, {"vzNAT": true}] | .networks |= unique_by(` + networkKey + `)`}},
		{[]string{"--dns", "1.1.1.1", "--dns", "8.8.8.8"}, []string{`.dns += ["1.1.1.1", "8.8.8.8"] | .dns |= unique | .hostResolver.enabled = false`}},
		{[]string{"--param", "k=v", "--param", "Other_1=a b=c"}, []string{`.param.k = "v" | .param.Other_1 = "a b=c"`}},
		{[]string{"--port-forward", "8080:80", "--port-forward", "9000-9001:90-91,static=true"}, []string{
			`.portForwards += [{"guestPort": 80, "hostPort": 8080}, {"guestPortRange": [90, 91], "hostPortRange": [9000, 9001], "static": true}]`}},
		{[]string{"--ssh-port", "60022"}, []string{".ssh.localPort = 60022"}},
		{[]string{"--video"}, []string{`.video.display = "default"`}},
		{[]string{"--video=false"}, []string{`.video.display = "none"`}},
		{[]string{"--nested-virt"}, []string{".nestedVirtualization = true"}},
		{[]string{"--rosetta"}, []string{".vmOpts.vz.rosetta.enabled = true | .vmOpts.vz.rosetta.binfmt = true"}},
		{[]string{"--shell", "/bin/zsh"}, []string{`.user.shell = "/bin/zsh"`}},
		{[]string{"--containerd", "user"}, []string{".containerd.system = false | .containerd.user = true"}},
		{[]string{"--containerd", "system"}, []string{".containerd.system = true | .containerd.user = false"}},
		{[]string{"--containerd", "user+system"}, []string{".containerd.system = true | .containerd.user = true"}},
		{[]string{"--containerd", "none"}, []string{".containerd.system = false | .containerd.user = false"}},
		{[]string{"--plain"}, []string{".plain = true"}},
		{[]string{"--image-variant", "server"}, []string{`.images |= map(select(.variant == "server"))`}},
		{[]string{"--arch-variant", "v2"}, []string{`.images |= map(select(.archVariant == "v2"))`}},
		{[]string{"--audio-device", "pa", "--audio-interface", "virtio"}, []string{`.audio.device = "pa"`, `.audio.interface = "virtio"`}},
		{[]string{"--set", ".a = 1", "--set", ".b = 2"}, []string{".a = 1", ".b = 2"}},
		// A fixed order, --set last, whatever the command line order.
		{[]string{"--set", ".x = 1", "--memory", "2", "--cpus", "1"}, []string{".cpus = 1", `.memory = "2GiB"`, ".x = 1"}},
	}
	for _, c := range cases {
		got, err := exprs(t, true, c.args...)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.args, diff)
		}
	}
}

func TestYQExpressionsExistingInstance(t *testing.T) {
	got, err := exprs(t, false, "--arch", "aarch64", "--image-variant", "x", "--arch-variant", "y", "--containerd", "none", "--plain", "--cpus", "2", "--port-forward", "1:2")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".cpus = 2", `.portForwards += [{"guestPort": 2, "hostPort": 1}]`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr []string
	}{
		{[]string{"--cpus", "abc"}, []string{"--cpus"}},
		{[]string{"--cpus", "0"}, []string{"--cpus", "positive"}},
		{[]string{"--memory", "lots"}, []string{"--memory"}},
		{[]string{"--memory", "-1"}, []string{"--memory", "positive"}},
		{[]string{"--disk", "0"}, []string{"--disk"}},
		{[]string{"--vm-type", "bogus"}, []string{"--vm-type", "qemu, vz, wsl2"}},
		{[]string{"--mount-type", "foo"}, []string{"--mount-type", "reverse-sshfs, 9p, virtiofs"}},
		{[]string{"--arch", "m68k"}, []string{"--arch", "x86_64, aarch64"}},
		{[]string{"--containerd", "both"}, []string{"--containerd", "user+system"}},
		{[]string{"--audio-interface", "ac97"}, []string{"--audio-interface", "hda, virtio"}},
		{[]string{"--network", "shared"}, []string{"--network", "lima:NAME"}},
		{[]string{"--dns", "not-an-ip"}, []string{"--dns"}},
		{[]string{"--ssh-port", "22"}, []string{"--ssh-port"}},
		{[]string{"--ssh-port", "70000"}, []string{"--ssh-port"}},
		{[]string{"--port-forward", "80"}, []string{"--port-forward", "HOST:GUEST"}},
		{[]string{"--port-forward", "0:80"}, []string{"--port-forward", "1-65535"}},
		{[]string{"--port-forward", "1-3:1-2"}, []string{"--port-forward", "differ in size"}},
		{[]string{"--port-forward", "1:2,fast=true"}, []string{"--port-forward", "unknown option"}},
		{[]string{"--param", "novalue"}, []string{`error while processing flag "param"`, "KEY=VALUE"}},
		{[]string{"--param", "1x=2"}, []string{`error while processing flag "param"`, "letter"}},
		{[]string{"--shell", "zsh"}, []string{"--shell", "absolute"}},
		{[]string{"--mount", ":w"}, []string{"--mount"}},
		{[]string{"--mount", "/a", "--mount-none"}, []string{"--mount", "--mount-none"}},
		{[]string{"--mount", "/a", "--mount-only", "/b"}, []string{"--mount-only"}},
	}
	for _, c := range cases {
		_, err := exprs(t, true, c.args...)
		if err == nil {
			t.Errorf("%v: want an error", c.args)
			continue
		}
		for _, w := range c.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", c.args, err, w)
			}
		}
	}
}

func TestEditFlagsAreASubset(t *testing.T) {
	edit, create := newCmd(false), newCmd(true)
	for _, name := range []string{"arch", "image-variant", "arch-variant", "containerd", "plain", "port-forward"} {
		if edit.Flags().Lookup(name) != nil {
			t.Errorf("--%s must be a create-only flag", name)
		}
		if create.Flags().Lookup(name) == nil {
			t.Errorf("--%s missing from RegisterCreate", name)
		}
	}
	for _, name := range []string{"cpus", "memory", "disk", "vm-type", "mount", "mount-only", "mount-none", "mount-type",
		"mount-writable", "mount-inotify", "network", "dns", "param", "ssh-port", "video", "nested-virt", "rosetta", "set", "shell"} {
		if edit.Flags().Lookup(name) == nil {
			t.Errorf("--%s missing from RegisterEdit", name)
		}
	}
	// Only the flags of the command are used: an edit command has no --arch.
	if err := edit.ParseFlags([]string{"--cpus", "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := YQExpressions(edit.Flags(), false)
	if err != nil || len(got) != 1 {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestCompletions(t *testing.T) {
	cmd := newCmd(true)
	for flag, want := range map[string][]string{
		"vm-type":    VMTypes,
		"mount-type": MountTypes,
		"arch":       Arches,
		"containerd": ContainerdModes,
	} {
		fn, ok := cmd.GetFlagCompletionFunc(flag)
		if !ok {
			t.Errorf("--%s has no completion", flag)
			continue
		}
		got, _ := fn(cmd, nil, "")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("--%s completion (-want +got):\n%s", flag, diff)
		}
	}
}

func TestValidateParams(t *testing.T) {
	tmpl := []byte("param:\n  version: \"1\"\n  Mode: x\n")
	parse := func(args ...string) *cobra.Command {
		cmd := newCmd(false)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	if err := ValidateParams(tmpl, parse("--param", "version=2", "--param", "Mode=y").Flags()); err != nil {
		t.Error(err)
	}
	if err := ValidateParams(tmpl, parse().Flags()); err != nil {
		t.Error(err)
	}
	// Lima's message first, then the keys the template does define.
	err := ValidateParams(tmpl, parse("--param", "nope=1").Flags())
	if want := `error while processing flag "param": template does not define param "nope" (it defines Mode, version)`; err == nil || err.Error() != want {
		t.Errorf("an unknown key: got %v, want %q", err, want)
	}
	err = ValidateParams([]byte("cpus: 1\n"), parse("--param", "a=1").Flags())
	if want := `error while processing flag "param": template does not define param "a"`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("no param section: got %v, want it to start with %q", err, want)
	}
}

// TestExpressionsApply runs the expressions over a template with limatmpl, checking the effect
// and that comments survive.
func TestExpressionsApply(t *testing.T) {
	const src = `# my template
images:
- location: a.img
  variant: server
- location: b.img
  variant: desktop
# mounts
mounts:
- location: /data
  writable: true
- location: /other
networks:
- socket: /var/run/x.sock
param:
  version: "1"
`
	got, err := exprs(t, true,
		"--mount", "/data", "--mount-writable", "--network", "lima:shared", "--network", "vzNAT", "--network", "lima:shared",
		"--dns", "1.1.1.1", "--param", "version=2", "--image-variant", "server", "--port-forward", "8080:80,static=true",
		"--set", ".cpus = .cpus + 1")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &limatmpl.Template{Bytes: []byte(src)}
	if err := tmpl.ApplyYQ(got...); err != nil {
		t.Fatal(err)
	}
	want := `# my template
images:
- location: a.img
  variant: server
# mounts
mounts:
- location: /data
  writable: true
- location: /other
  writable: true
networks:
- socket: /var/run/x.sock
- lima: shared
- vzNAT: true
param:
  version: "2"
dns:
- 1.1.1.1
hostResolver:
  enabled: false
portForwards:
- guestPort: 80
  hostPort: 8080
  static: true
cpus: 1
`
	if diff := cmp.Diff(want, string(tmpl.Bytes)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	for _, args := range [][]string{{"--mount-writable"}, {"--mount-none"}, {"--mount-only", "/x:w"}} {
		e, err := exprs(t, true, args...)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &limatmpl.Template{Bytes: []byte("cpus: 1\n")}
		if err := tmpl.ApplyYQ(e...); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"--mount-writable": "cpus: 1\n",
			"--mount-none":     "cpus: 1\nmounts: null\n",
			"--mount-only":     "cpus: 1\nmounts:\n- location: /x\n  writable: true\n",
		}[args[0]]
		if string(tmpl.Bytes) != want {
			t.Errorf("%v on a template without mounts: got %q, want %q", args, tmpl.Bytes, want)
		}
	}
}
