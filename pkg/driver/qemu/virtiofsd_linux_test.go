package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/limayaml"
)

// needRoot skips a test that mounts: bind mounts and mount namespaces need root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mount namespaces and bind mounts (as another user a read-only virtiofs mount needs a virtiofsd with --readonly, see TestPlanVirtiofsReadOnly)")
	}
}

// mountTmpfs mounts a tmpfs on dir in the host's namespace until the test ends.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs for the submount case: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
}

// The real virtiofsd, started as Start starts it for a read-only and a writable mount, with a
// vhost-user client connected (the C virtiofsd sets up its sandbox only then). Seen from the
// process that serves the guest, the read-only folder and a mount below it refuse every write
// (EROFS) and every mount in its namespace is ro; the writable one accepts writes. The host's own
// mount table and its view of the folder are unchanged.
func TestVirtiofsdReadOnlySource(t *testing.T) {
	needRoot(t)
	bin := findVirtiofsd()
	if bin == "" {
		t.Skip("no virtiofsd on this host (Debian: /usr/lib/qemu/virtiofsd from qemu-system-common)")
	}
	base, err := os.MkdirTemp("", "vfsd") // short: socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	ro, rw := filepath.Join(base, "ro dir"), filepath.Join(base, "rw")
	for _, d := range []string{ro, rw} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "marker"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mountTmpfs(t, filepath.Join(ro, "sub"))
	// thread-self: the thread that entered virtiofsd's namespace may be the main thread, which
	// /proc/self follows; this goroutine's thread is always in the host's namespace.
	hostBefore, err := mountPointsUnder("/proc/thread-self/mountinfo", base)
	if err != nil {
		t.Fatal(err)
	}

	y := &limayaml.LimaYAML{MountType: ptr(limayaml.VIRTIOFS), Mounts: []limayaml.Mount{
		{Location: ro, Writable: ptr(false)},
		{Location: rw, Writable: ptr(true)},
	}}
	p := &Plan{Sockets: Sockets{Virtiofsd: []string{filepath.Join(base, "v0.sock"), filepath.Join(base, "v1.sock")}}}
	// The bind mount is what is tested, so no --readonly even if this virtiofsd has it.
	if err := mountArgs(p, y, HostFacts{OS: "linux", Virtiofsd: bin, UID: 0}, 256); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(base, "qemu.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for i, v := range p.Virtiofsd {
		writable := i == 1
		t.Run(fmt.Sprintf("writable=%v", writable), func(t *testing.T) {
			stop, err := startVirtiofsd(ctx, v, logf, logPath)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			conn, err := net.Dial("unix", v.Socket)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			root := servingRoot(t, y.Mounts[i].Location, logPath)

			err = os.WriteFile(filepath.Join(root, "from-guest"), []byte("x"), 0o644)
			switch {
			case writable && err != nil:
				t.Errorf("the writable folder refused a write: %v", err)
			case !writable && !errors.Is(err, syscall.EROFS):
				t.Errorf("writing into the read-only folder from virtiofsd's namespace: err = %v, want EROFS", err)
			}
			if !writable {
				if err := os.WriteFile(filepath.Join(root, "sub", "from-guest"), []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) {
					t.Errorf("writing into a mount below the read-only folder: err = %v, want EROFS", err)
				}
				for _, op := range []struct {
					name string
					fn   func() error
				}{
					{"chmod", func() error { return os.Chmod(filepath.Join(root, "marker"), 0o666) }},
					{"mkdir", func() error { return os.Mkdir(filepath.Join(root, "d"), 0o755) }},
					{"open for writing", func() error {
						f, err := os.OpenFile(filepath.Join(root, "marker"), os.O_WRONLY, 0)
						if err == nil {
							f.Close()
						}
						return err
					}},
					{"remove", func() error { return os.Remove(filepath.Join(root, "marker")) }},
				} {
					if err := op.fn(); !errors.Is(err, syscall.EROFS) {
						t.Errorf("%s in the read-only folder: err = %v, want EROFS", op.name, err)
					}
				}
			}
			// Every mount virtiofsd can reach (its namespace holds only the shared tree) has the
			// mount's mode.
			pid := strings.TrimSuffix(strings.TrimPrefix(root, "/proc/"), "/root")
			info, err := os.ReadFile("/proc/" + pid + "/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(info)), "\n") {
				f := strings.Fields(l)
				if len(f) < 6 {
					continue
				}
				if mode := strings.Split(f[5], ",")[0]; mode != map[bool]string{true: "rw", false: "ro"}[writable] {
					t.Errorf("virtiofsd's namespace has a %s mount: %s", mode, l)
				}
			}
		})
	}

	// The host is untouched: the read-only folder is writable from here, no mount was added.
	if err := os.WriteFile(filepath.Join(ro, "from-host"), []byte("x"), 0o644); err != nil {
		t.Errorf("the host can no longer write its folder: %v", err)
	}
	hostAfter, err := mountPointsUnder("/proc/thread-self/mountinfo", base)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hostBefore, hostAfter); diff != "" {
		t.Errorf("the host's mounts under %s changed (-before +after):\n%s", base, diff)
	}
}

// servingRoot waits for the virtiofsd process that serves the connection (the C virtiofsd forks it
// into new namespaces and pivots into the shared folder) and returns its /proc/PID/root: the
// shared folder as virtiofsd sees it.
func servingRoot(t *testing.T, source, logPath string) string {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(source, "marker"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if filepath.Base(exe) != "virtiofsd" {
				continue
			}
			root := fmt.Sprintf("/proc/%d/root", pid)
			// Inside the sandbox the shared folder is "/": the marker is at the top.
			if got, err := os.ReadFile(root + "/marker"); err == nil && string(got) == string(want) {
				return root
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(logPath)
	t.Fatalf("no virtiofsd serving %s appeared; its log:\n%s", source, log)
	return ""
}

// enterReadOnlyNamespace on a thread of its own: the folder and a mount below it are read-only there,
// with mount_setattr and with the remount fallback of kernels before 5.12.
func TestEnterReadOnlyNamespace(t *testing.T) {
	needRoot(t)
	enosys := func(int, string, uint, *unix.MountAttr) error { return unix.ENOSYS }
	for name, setattr := range map[string]mountSetattrFunc{"mount_setattr": unix.MountSetattr, "remount fallback": enosys} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			mountTmpfs(t, filepath.Join(dir, "sub"))
			if err := unix.Mount("", filepath.Join(dir, "sub"), "", unix.MS_REMOUNT|unix.MS_NODEV|unix.MS_NOSUID, ""); err != nil {
				t.Fatal(err)
			}
			errs := make(chan []error, 1)
			go func() {
				runtime.LockOSThread() // never unlocked: the thread, in its namespace, ends with the goroutine
				if err := enterReadOnlyNamespace(dir, setattr); err != nil {
					errs <- []error{err}
					return
				}
				var got []error
				for _, p := range []string{filepath.Join(dir, "f"), filepath.Join(dir, "sub", "f")} {
					err := os.WriteFile(p, nil, 0o644)
					if !errors.Is(err, syscall.EROFS) {
						got = append(got, fmt.Errorf("writing %s: %w, want EROFS", p, err))
					}
				}
				var st unix.Statfs_t
				if err := unix.Statfs(filepath.Join(dir, "sub"), &st); err != nil || st.Flags&unix.ST_NODEV == 0 || st.Flags&unix.ST_NOSUID == 0 {
					got = append(got, fmt.Errorf("the submount lost nodev/nosuid: flags %#x, %w", st.Flags, err))
				}
				errs <- got
			}()
			for _, err := range <-errs {
				t.Error(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "host"), nil, 0o644); err != nil {
				t.Errorf("the host's view changed: %v", err)
			}
		})
	}
}

func TestMountPointsUnder(t *testing.T) {
	info := filepath.Join(t.TempDir(), "mountinfo")
	lines := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:30 / /srv/a\040b rw,relatime shared:2 - tmpfs tmpfs rw
31 30 0:31 / /srv/a\040b/c rw - tmpfs tmpfs rw
32 22 0:32 / /srv/a\040bc rw - tmpfs tmpfs rw
33 22 0:30 / /srv/a\040b rw - tmpfs tmpfs rw
`
	if err := os.WriteFile(info, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := mountPointsUnder(info, "/srv/a b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/srv/a b", "/srv/a b/c"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestUnixListening: a socket that is bound but not yet listening (where virtiofsd is between bind
// and listen, and QEMU's connect would be refused, as a CI run once saw) does not count as ready.
func TestUnixListening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	listening, ok := unixListening(path)
	if !ok {
		t.Skip("/proc/net/unix is not readable here")
	}
	if listening {
		t.Fatal("a bound socket counts as listening")
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	if listening, _ := unixListening(path); !listening {
		t.Fatal("a listening socket is not seen")
	}
	if unixListeningIn("Num RefCount Protocol Flags Type St Inode Path\n0000: 00000002 00000000 00010000 0001 01 1 /a b\n", "/a b") != true {
		t.Error("a path with a space")
	}
}
