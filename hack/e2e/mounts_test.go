//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mountCase is one instance of TestMounts: a mount type and the guest file system type it shows.
type mountCase struct {
	mountType, fsType string
	// skip explains why the case cannot run on this host ("" when it can).
	skip func() string
}

var mountCases = []mountCase{
	{"reverse-sshfs", "fuse.sshfs", nil},
	{"9p", "9p", nil},
	{"virtiofs", "virtiofs", func() string {
		if os.Getuid() != 0 {
			return "the C virtiofsd QEMU 7.2 ships needs root"
		}
		for _, p := range []string{"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/lib/virtiofsd"} {
			if fileExists(p) {
				return ""
			}
		}
		if _, err := exec.LookPath("virtiofsd"); err == nil {
			return ""
		}
		return "no virtiofsd on this host"
	}},
}

// TestMounts boots one instance per mount type (one after the other, each deleted before the next)
// with two host folders given by the --mount and --mount-type flags: a writable one whose path has a
// space, and a read-only one. In the guest it reads a host file from both, writes into the writable
// one and sees the file on the host, and checks that writing into the read-only one fails, for root
// too. With LIMACTL_E2E_BENCH=1 it also measures reads of a 64 MiB file (see mountBench).
func TestMounts(t *testing.T) {
	requireVM(t)
	for _, mc := range mountCases {
		t.Run(mc.mountType, func(t *testing.T) {
			if mc.skip != nil {
				if why := mc.skip(); why != "" {
					t.Skip(why)
				}
			}
			testMountType(t, mc)
		})
	}
}

func testMountType(t *testing.T, mc mountCase) {
	name := "mnt-" + strings.ReplaceAll(mc.mountType, "-", "")
	base := t.TempDir()
	// Guest users must be able to enter the folders: t.TempDir is 0700.
	rw, ro := filepath.Join(base, "rw dir"), filepath.Join(base, "ro")
	for _, d := range []string{base, rw, ro} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "hello.txt"), []byte("hello from "+filepath.Base(d)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = limactl(t.Context(), nil, "delete", "-f", name) })

	// 9p and virtiofs pass host ownership through (securityModel none): the guest user may only
	// write into a folder it owns, so the writable folder belongs to the guest user's uid, which is
	// the host uid, or 1000 when limactl runs as root. It must be set before the guest mounts the
	// folder: the guest keeps the attributes of a mount's root.
	guestUID := os.Getuid()
	if guestUID == 0 {
		guestUID = 1000
	}
	if err := os.Chown(rw, guestUID, -1); err != nil {
		t.Fatal(err)
	}

	args := []string{"start", "--tty=false", "--name=" + name, "--mount-type=" + mc.mountType,
		"--mount=" + ro, "--mount=" + rw + ":w", "--mount-inotify"}
	if mc.mountType == "reverse-sshfs" {
		// The read-only folder is served by OpenSSH's sftp-server (-R), the writable one by the
		// builtin server, which follows symlinks for the guest (HostileGuest checks it stays inside).
		args = append(args, "--set", `(.mounts[] | select(.location == "`+ro+`") | .sshfs.sftpDriver) = "openssh-sftp-server"`,
			"--set", `(.mounts[] | select(.location == "`+rw+`") | .sshfs.followSymlinks) = true`)
	}
	// A host file outside both mounts, readable by anyone on the host: the guest must not reach it.
	secret := filepath.Join(base, "secret.txt")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Provision mode ansible, when the host has ansible-playbook (hack/install-host-deps.sh installs
	// ansible-core, so CI runs it): a playbook that writes a file in the guest, run by the host
	// agent before READY.
	var ansibleMarker string
	if _, err := exec.LookPath("ansible-playbook"); err == nil && mc.mountType == "9p" {
		ansibleMarker = "/tmp/from-ansible"
		playbook := filepath.Join(base, "site.yml")
		pb := "- hosts: all\n  tasks:\n  - ansible.builtin.copy:\n      dest: " + ansibleMarker + "\n      content: ansible ran\n"
		if err := os.WriteFile(playbook, []byte(pb), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--set", `.provision += [{"mode": "ansible", "playbook": "`+playbook+`"}]`)
	}
	begin := time.Now()
	must(t, bootTimeout, append(args, filepath.Join(imageDir, "test-image.yaml"))...)
	if ansibleMarker != "" {
		if r := must(t, time.Minute, "shell", name, "cat", ansibleMarker); r.stdout != "ansible ran" {
			t.Errorf("the ansible playbook's file in the guest: %q", r.stdout)
		}
	}
	t.Logf("boot to READY with %s mounts: %s", mc.mountType, time.Since(begin).Round(time.Second))
	if got := strings.TrimSpace(must(t, time.Minute, "shell", name, "id", "-u").stdout); got != strconv.Itoa(guestUID) {
		t.Fatalf("the guest user's uid is %s, want %d", got, guestUID)
	}

	sh := guestShell(t, name)
	q := shellQuote

	t.Run("FSType", func(t *testing.T) {
		for _, mp := range []string{rw, ro} {
			r := sh("findmnt -n -o FSTYPE --mountpoint " + q(mp))
			if got := strings.TrimSpace(r.stdout); got != mc.fsType {
				t.Errorf("%s: file system %q, want %q\n%s", mp, got, mc.fsType, r)
			}
		}
	})
	t.Run("ReadHostFile", func(t *testing.T) {
		for _, d := range []string{rw, ro} {
			r := sh("cat " + q(filepath.Join(d, "hello.txt")))
			if want := "hello from " + filepath.Base(d) + "\n"; r.code != 0 || r.stdout != want {
				t.Errorf("reading %s/hello.txt in the guest: %q, want %q\n%s", d, r.stdout, want, r)
			}
		}
	})
	t.Run("WriteWritable", func(t *testing.T) {
		f := filepath.Join(rw, "from the guest.txt")
		if r := sh("echo written in the guest > " + q(f) + " && mkdir " + q(filepath.Join(rw, "sub dir"))); r.code != 0 {
			t.Fatalf("writing into the writable mount failed:\n%s", r)
		}
		if b, err := os.ReadFile(f); err != nil || string(b) != "written in the guest\n" {
			t.Errorf("the guest's file on the host: %q, %v", b, err)
		}
		if st, err := os.Stat(filepath.Join(rw, "sub dir")); err != nil || !st.IsDir() {
			t.Errorf("the guest's directory on the host: %v", err)
		}
		// A file the host writes now shows in the guest.
		if err := os.WriteFile(filepath.Join(rw, "later.txt"), []byte("later\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := sh("cat " + q(filepath.Join(rw, "later.txt"))); r.stdout != "later\n" {
			t.Errorf("a file written on the host after mounting: %s", r)
		}
	})
	t.Run("ReadOnlyRefusesWrites", func(t *testing.T) {
		for _, cmd := range []string{"echo x > ", "sudo sh -c 'echo x > \"$1\"' sh ", "touch ", "sudo rm -f "} {
			target := filepath.Join(ro, "nope.txt")
			if strings.HasPrefix(cmd, "sudo rm") {
				target = filepath.Join(ro, "hello.txt")
			}
			if r := sh(cmd + q(target)); r.code == 0 {
				t.Errorf("%s%s succeeded on the read-only mount", cmd, target)
			}
		}
		if fileExists(filepath.Join(ro, "nope.txt")) || !fileExists(filepath.Join(ro, "hello.txt")) {
			t.Error("the read-only host folder was changed from the guest")
		}
	})
	t.Run("HostileGuest", func(t *testing.T) { testHostileGuestMounts(t, name, mc, rw, ro, secret) })
	t.Run("Inotify", func(t *testing.T) { testMountInotify(t, name, rw) })
	if os.Getenv("LIMACTL_E2E_BENCH") != "" {
		t.Run("Bench", func(t *testing.T) { mountBench(t, name, mc.mountType, base) })
	}

	must(t, 4*time.Minute, "stop", name)
	if mc.mountType == "reverse-sshfs" {
		b, _ := os.ReadFile(filepath.Join(instDir(name), "ha.stderr.log"))
		var openssh bool
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "mount") {
				t.Logf("host agent: %s", l)
			}
			if strings.Contains(l, "mounted "+ro+" ") && strings.Contains(l, "sftp-server") {
				openssh = true
			}
		}
		if !openssh {
			t.Errorf("the host agent's log does not say that %s was mounted with OpenSSH's sftp-server", ro)
		}
	}
	must(t, time.Minute, "delete", name)
}

// shellQuote quotes s for the guest's sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// inotifyWatcher is a guest program (python3 with ctypes: the test image has no inotify-tools) that
// watches the directory argv[1], prints "ready" once the watch is in place, then one line per
// event ("MASK NAME"), and exits when an event names argv[2].
const inotifyWatcher = `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
# IN_MODIFY IN_ATTRIB IN_CLOSE_WRITE IN_MOVED_TO IN_CREATE
wd = libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x2 | 0x4 | 0x8 | 0x80 | 0x100)
if fd < 0 or wd < 0:
    print("inotify failed: errno", ctypes.get_errno(), flush=True)
    sys.exit(1)
print("ready", flush=True)
while True:
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        _, mask, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
        i += 16 + n
        print(hex(mask), name, flush=True)
        if name == sys.argv[2]:
            sys.exit(0)
`

// testMountInotify checks mountInotify: a file the host writes into the writable mount is seen by
// an inotify watcher in the guest (9p, virtiofs and sshfs do not report host changes by themselves).
func testMountInotify(t *testing.T, name, dir string) {
	const file = "from the host (inotify).txt"
	out := "/tmp/inotify-watch.out"
	q := shellQuote
	start := "rm -f " + out + "; setsid -f timeout 120 python3 -c " + q(inotifyWatcher) + " " + q(dir) + " " + q(file) +
		" >" + out + " 2>&1 </dev/null"
	if r := must(t, time.Minute, "shell", name, "sh", "-c", start); r.code != 0 {
		t.Fatalf("starting the guest watcher: %s", r)
	}
	guestOut := func() string {
		r, err := limactl(t.Context(), nil, "shell", name, "cat", out)
		if err != nil {
			t.Fatalf("shell: %v", err)
		}
		return r.stdout
	}
	waitFor := func(what string, ok func(string) bool) string {
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := guestOut()
			if ok(got) {
				return got
			}
			if time.Now().After(deadline) {
				ha, _ := os.ReadFile(filepath.Join(instDir(name), "ha.stderr.log"))
				var lines []string
				for _, l := range strings.Split(string(ha), "\n") {
					if strings.Contains(l, "notify") || strings.Contains(l, "guest agent") {
						lines = append(lines, l)
					}
				}
				r, _ := limactl(t.Context(), nil, "shell", name, "sudo", "journalctl", "-u", "lima-guestagent", "--no-pager", "-n", "30")
				t.Fatalf("the guest watcher did not report %s; its output:\n%s\nhost agent:\n%s\nguest agent:\n%s",
					what, got, strings.Join(lines, "\n"), r.stdout)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitFor("ready", func(s string) bool { return strings.Contains(s, "ready") })
	begin := time.Now()
	if err := os.WriteFile(filepath.Join(dir, file), []byte("written on the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := waitFor("the host's file", func(s string) bool { return strings.Contains(s, " "+file) })
	t.Logf("the guest's watcher saw the host's write within %s:\n%s", time.Since(begin).Round(100*time.Millisecond), got)
}

// testHostileGuestMounts plays a guest that turns against the host through its mounts (security.md):
// appending (which once killed the host agent through the builtin SFTP server), a symlink to a host
// folder outside the mounts, and guest root remounting the read-only share read-write.
func testHostileGuestMounts(t *testing.T, name string, mc mountCase, rw, ro, secret string) {
	sh := guestShell(t, name)
	q := shellQuote
	f := filepath.Join(rw, "appended.log")
	if r := sh("echo a >> " + q(f) + " && echo b >> " + q(f)); r.code != 0 {
		t.Errorf("appending twice in the writable mount failed:\n%s", r)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "a\nb\n" {
		t.Errorf("the appended file on the host holds %q (%v), want both lines", b, err)
	}
	if got := status(t, name); got != "Running" {
		t.Fatalf("status after the guest appended to a file = %q, want Running", got)
	}

	link := filepath.Join(rw, "escape")
	r := sh("ln -s " + q(filepath.Dir(secret)) + " " + q(link) + " && cat " + q(filepath.Join(link, filepath.Base(secret))))
	if strings.Contains(r.stdout, "host secret") {
		t.Errorf("the guest read a host file outside the mounts through a symlink in %s:\n%s", rw, r)
	}
	r = sh("ln -s ../../../../../../.. " + q(filepath.Join(rw, "up")) + " && cat " + q(filepath.Join(rw, "up", secret)))
	if strings.Contains(r.stdout, "host secret") {
		t.Errorf("the guest read a host file outside the mounts through a relative symlink:\n%s", r)
	}

	// Guest root drops the read-only mount option; the host folder must not change all the same.
	target := filepath.Join(ro, "remounted.txt")
	r = sh("sudo mount -o remount,rw " + q(ro) + "; sudo sh -c 'echo x > \"$1\"' sh " + q(target) + "; sudo rm -f " + q(filepath.Join(ro, "hello.txt")))
	if fileExists(target) || !fileExists(filepath.Join(ro, "hello.txt")) {
		t.Errorf("guest root changed the read-only host folder after remounting it read-write (%s):\n%s", mc.mountType, r)
	}
}

// guestShell returns a runner of `sh -c SCRIPT` in the instance's guest; a non-zero exit is only
// reported in the result.
func guestShell(t *testing.T, name string) func(script string) result {
	return func(script string) result {
		t.Helper()
		r, err := limactl(t.Context(), nil, "shell", name, "sh", "-c", script)
		if err != nil {
			t.Fatalf("shell: %v", err)
		}
		return r
	}
}
