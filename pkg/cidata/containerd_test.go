//go:build linux

package cidata

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// containerdSandbox runs boot.Linux/40-containerd.sh twice (two boots) in a private mount namespace
// with a tmpfs /run (marked as systemd's) and /var/lib, fake systemctl and loginctl, and the console
// in a file. What the guest keeps goes to $T/out.<n>/.
//
// /etc is a private copy, so that the script's writes (/etc/containerd, /etc/subuid, /etc/sysctl.d,
// /etc/systemd/system and the like) stay in the sandbox. With SANDBOX_UID set, the guest user is a
// real one (for sudo -iu): "limatest" with that uid, home $T/home and a login shell, and its systemd
// instance is up.
const containerdSandbox = `set -eu
cp -a /etc "$T/etc"
if [ -n "${SANDBOX_UID:-}" ]; then
	printf 'limatest:x:%s:%s::%s:/bin/sh\n' "$SANDBOX_UID" "$SANDBOX_UID" "$T/home" >>"$T/etc/passwd"
	printf 'limatest:x:%s:\n' "$SANDBOX_UID" >>"$T/etc/group"
	mkdir -p "$T/home"
	chown "$SANDBOX_UID:$SANDBOX_UID" "$T/home"
	chmod 755 "$T" "$(dirname "$T")"
fi
mount --bind "$T/etc" /etc
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system
if [ -n "${SANDBOX_UID:-}" ]; then
	mkdir -p "/run/user/$SANDBOX_UID/systemd"
	: >"/run/user/$SANDBOX_UID/systemd/private"
fi
mount -t tmpfs tmpfs /var/lib
: >"$T/console"
mount --bind "$T/console" /dev/console
for n in 1 2; do
	mkdir -p "$T/out.$n"
	rc=0
	PATH="$T/fakebin:$PATH" sh "$T/cidata/boot.Linux/40-containerd.sh" >"$T/out.$n/log" 2>&1 || rc=$?
	echo "$rc" >"$T/out.$n/rc"
	cp /run/lima-containerd-* "$T/out.$n/" 2>/dev/null || :
	cp /var/lib/lima/containerd-archive "$T/out.$n/" 2>/dev/null || :
done
`

// runContainerdScript runs the script against an archive holding files (name → content, all
// executable) with env added to the boot environment, and returns the sandbox directory.
func runContainerdScript(t *testing.T, files map[string]string, env ...string) string {
	t.Helper()
	T, unshare := scriptSandbox(t, "boot.Linux/40-containerd.sh")
	// As the guest user (sudo -i resets the environment), the fakes log to the user's home.
	writeTestFile(t, filepath.Join(T, "fakebin", "systemctl"), "#!/bin/sh\n"+
		"[ \"$*\" != daemon-reload ] || [ -z \"${FAIL_DAEMON_RELOAD:-}\" ] || exit 1\n"+
		"echo \"$(id -u) $*\" >>\"${T:-$HOME}/systemctl.log\"\n", 0o755)
	writeTestFile(t, filepath.Join(T, "fakebin", "loginctl"), "#!/bin/sh\necho \"$*\" >>\"$T/loginctl.log\"\n", 0o755)
	writeTestFile(t, filepath.Join(T, "fakebin", "sysctl"), "#!/bin/sh\n", 0o755)
	// Package managers are fakes, so that no test ever installs anything on the host; dpkg says
	// dbus-user-session is missing, so user mode always asks apt-get for it.
	for _, pm := range []string{"apt-get", "dnf", "zypper", "pacman"} {
		writeTestFile(t, filepath.Join(T, "fakebin", pm), "#!/bin/sh\necho \""+pm+" $*\" >>\"$T/packages.log\"\n[ -z \"${FAIL_PACKAGES:-}\" ]\n", 0o755)
	}
	writeTestFile(t, filepath.Join(T, "fakebin", "dpkg"), "#!/bin/sh\nexit 1\n", 0o755)
	f, err := os.Create(filepath.Join(T, "cidata", "nerdctl-full.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []func() error{tw.Close, gz.Close, f.Close} {
		if err := c(); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(unshare, "-m", "sh", "-c", containerdSandbox)
	cmd.Env = append(os.Environ(), "T="+T,
		"LIMA_CIDATA_MNT="+T+"/cidata",
		"LIMA_CIDATA_IID=iid-containerd",
		"LIMA_CIDATA_USER=nobody", "LIMA_CIDATA_UID=65534", "LIMA_CIDATA_HOME="+T+"/home",
		"LIMA_CIDATA_GUEST_INSTALL_PREFIX="+T+"/prefix",
		"LIMA_CIDATA_CONTAINERD_ARCHIVE=nerdctl-full.tgz",
		"LIMA_CIDATA_CONTAINERD_ARCHIVE_NAME=nerdctl-full-test.tgz",
		"LIMA_CIDATA_CONTAINERD_ARCHIVE_DIGEST=sha256:0123")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	return T
}

// scriptSandbox skips the test unless it can make mount namespaces (root, unshare), and returns a
// temporary directory holding cidata/<script> and cidata/util/lib.sh, and unshare's path.
func scriptSandbox(t *testing.T, script string) (dir, unshare string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed")
	}
	dir = t.TempDir()
	for _, p := range []string{script, "util/lib.sh"} {
		b, err := bootFS.ReadFile("boot/" + p)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, "cidata", p), string(b), 0o755)
	}
	return dir, unshare
}

func writeTestFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func readOut(t *testing.T, T, name string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(T, name))
	return strings.TrimSpace(string(b))
}

// TestContainerdScriptInstallsOnce: the system containerd is installed from the archive on the first
// boot only (the digest is recorded), started on every boot, and the ready marker names the boot.
func TestContainerdScriptInstallsOnce(t *testing.T) {
	T := runContainerdScript(t, map[string]string{"bin/containerd": "#!/bin/sh\n",
		"lib/systemd/system/containerd.service": "[Service]\nExecStart=/usr/local/bin/containerd\n"}, "LIMA_CIDATA_CONTAINERD_SYSTEM=1")
	// The install prefix is not /usr/local: the unit is copied where systemd finds it, pointing there.
	if got := readOut(t, T, "etc/systemd/system/containerd.service"); got != "[Service]\nExecStart="+T+"/prefix/bin/containerd" {
		t.Errorf("containerd.service for the prefix:\n%s", got)
	}
	for _, n := range []string{"out.1", "out.2"} {
		if rc := readOut(t, T, n+"/rc"); rc != "0" {
			t.Fatalf("%s: exit %s\n%s", n, rc, readOut(t, T, n+"/log"))
		}
		if got := readOut(t, T, n+"/lima-containerd-ready"); got != "iid-containerd" {
			t.Errorf("%s: ready marker %q", n, got)
		}
		if got := readOut(t, T, n+"/containerd-archive"); got != "sha256:0123" {
			t.Errorf("%s: recorded digest %q", n, got)
		}
	}
	if _, err := os.Stat(filepath.Join(T, "prefix", "bin", "containerd")); err != nil {
		t.Errorf("not installed: %v", err)
	}
	if n := strings.Count(readOut(t, T, "console"), "LIMA| containerd-install iid-containerd nerdctl-full-test.tgz"); n != 1 {
		t.Errorf("installed %d times, want once; console:\n%s", n, readOut(t, T, "console"))
	}
	if !strings.Contains(readOut(t, T, "out.2/log"), "nerdctl-full-test.tgz is already installed") {
		t.Errorf("second boot log:\n%s", readOut(t, T, "out.2/log"))
	}
	if n := strings.Count(readOut(t, T, "systemctl.log"), "enable --now containerd"); n != 2 {
		t.Errorf("containerd enabled %d times, want on each boot:\n%s", n, readOut(t, T, "systemctl.log"))
	}
}

// TestContainerdScriptFailures: a broken archive, or one without what the mode needs, fails with a
// message naming the step and the archive, and no ready marker.
func TestContainerdScriptFailures(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		env   string
		want  string
	}{
		{"no containerd", map[string]string{"bin/ctr": "#!/bin/sh\n"}, "LIMA_CIDATA_CONTAINERD_SYSTEM=1",
			"the archive has no bin/containerd (archive nerdctl-full-test.tgz)"},
		{"packages cannot be installed", map[string]string{"bin/containerd": "#!/bin/sh\n", "bin/containerd-rootless-setuptool.sh": "#!/bin/sh\n"},
			"LIMA_CIDATA_CONTAINERD_USER=1 FAIL_PACKAGES=1",
			"dbus-user-session) failed; the guest needs network access, or an image that has them (archive nerdctl-full-test.tgz)"},
		{"rootless without the setup tool", map[string]string{"bin/containerd": "#!/bin/sh\n"}, "LIMA_CIDATA_CONTAINERD_USER=1",
			"the archive has no bin/containerd-rootless-setuptool.sh, which rootless containerd (containerd.user) needs (archive nerdctl-full-test.tgz)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			T := runContainerdScript(t, c.files, strings.Fields(c.env)...)
			if rc := readOut(t, T, "out.1/rc"); rc == "0" {
				t.Errorf("exit 0\n%s", readOut(t, T, "out.1/log"))
			}
			if got := readOut(t, T, "out.1/lima-containerd-failed"); !strings.Contains(got, c.want) {
				t.Errorf("failure marker %q, want %q", got, c.want)
			}
			if got := readOut(t, T, "out.1/lima-containerd-ready"); got != "" {
				t.Errorf("ready marker %q after a failure", got)
			}
		})
	}
}

// TestContainerdScriptRootless runs the rootless set-up (the default, containerd.user) with a real
// guest user and the real sudo: the user's containerd config is written by the user, the archive's
// setup tool runs as the user once, and the next boot only starts the user's containerd.
func TestContainerdScriptRootless(t *testing.T) {
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Skip("sudo not installed")
	}
	const uid = "4242"
	setuptool := "#!/bin/sh\n" +
		"echo \"$(id -u) $*\" >>\"$HOME/setuptool.log\"\n" +
		"mkdir -p \"$HOME/.config/systemd/user\" && : >\"$HOME/.config/systemd/user/containerd.service\"\n"
	T := runContainerdScript(t, map[string]string{
		"bin/containerd":                       "#!/bin/sh\n",
		"bin/containerd-rootless-setuptool.sh": setuptool,
	}, "LIMA_CIDATA_CONTAINERD_USER=1", "SANDBOX_UID="+uid,
		"LIMA_CIDATA_USER=limatest", "LIMA_CIDATA_UID="+uid)
	for _, n := range []string{"out.1", "out.2"} {
		if rc := readOut(t, T, n+"/rc"); rc != "0" {
			t.Fatalf("%s: exit %s\nfailure marker: %s\n%s", n, rc, readOut(t, T, n+"/lima-containerd-failed"), readOut(t, T, n+"/log"))
		}
		if got := readOut(t, T, n+"/lima-containerd-ready"); got != "iid-containerd" {
			t.Errorf("%s: ready marker %q", n, got)
		}
	}
	cfg := filepath.Join(T, "home", ".config", "containerd", "config.toml")
	if got := readOut(t, T, "home/.config/containerd/config.toml"); got != "version = 2" {
		t.Errorf("%s: %q, want %q", cfg, got, "version = 2")
	}
	if st, err := os.Stat(cfg); err == nil {
		if got := fmt.Sprint(st.Sys().(*syscall.Stat_t).Uid); got != uid {
			t.Errorf("%s is owned by uid %s, want the user's (%s)", cfg, got, uid)
		}
	}
	if got := readOut(t, T, "home/setuptool.log"); got != uid+" install" {
		t.Errorf("setup tool runs: %q, want %q once", got, uid+" install")
	}
	if !strings.Contains(readOut(t, T, "home/systemctl.log"), uid+" --user start containerd.service") {
		t.Errorf("the second boot did not start the user's containerd; user's systemctl calls:\n%s", readOut(t, T, "home/systemctl.log"))
	}
}

// TestContainerdScriptUnexpectedFailure: a command failing outside fail() (here systemctl
// daemon-reload, under set -e) still leaves a failure marker, so that the host's containerd step
// reports it at once instead of waiting for the ready marker until the start times out.
func TestContainerdScriptUnexpectedFailure(t *testing.T) {
	T := runContainerdScript(t, map[string]string{"bin/containerd": "#!/bin/sh\n"},
		"LIMA_CIDATA_CONTAINERD_SYSTEM=1", "FAIL_DAEMON_RELOAD=1")
	if rc := readOut(t, T, "out.1/rc"); rc != "1" {
		t.Errorf("exit %s, want 1 (the failed command's)\n%s", rc, readOut(t, T, "out.1/log"))
	}
	want := "the boot script failed (exit status 1; see /var/log/cloud-init-output.log) (archive nerdctl-full-test.tgz)"
	if got := readOut(t, T, "out.1/lima-containerd-failed"); got != want {
		t.Errorf("failure marker %q, want %q", got, want)
	}
	if got := readOut(t, T, "out.1/lima-containerd-ready"); got != "" {
		t.Errorf("ready marker %q after a failure", got)
	}
}
