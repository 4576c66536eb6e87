//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// newUserInstance is the name `limactl start` gives the instance it creates from template:default.
const newUserInstance = "default"

// newUserGuestSocket is the guest end of the socket rule TestNewUser adds; the host end is
// newUserHostSocket under the instance's sock/ directory.
const (
	newUserGuestSocket = "/tmp/limactl-e2e-newuser.sock"
	newUserHostSocket  = "newuser.sock"
)

// TestNewUser is the "tried as a new user would": `limactl start` with no template
// argument (what a Lima user types first; it creates the instance "default" from template:default),
// then the user's home folder in the guest (and no /tmp/lima, which Lima 2 no longer mounts), and a
// web server in the guest reached on the host's localhost. One boot; the same instance then carries a Unix socket forward and, with
// LIMACTL_E2E_BENCH=1, the port-forwarding benchmarks (portfwd_bench_test.go).
//
// What is changed from a plain `limactl start`, and why:
//   - `.images` is replaced by the local test image (qcow2 + kernel + initrd + cmdline from
//     $LIMACTL_E2E_IMAGE_DIR/test-image.yaml) and `.firmware.legacyBIOS` is set as that file sets
//     it: the default template downloads Ubuntu from cloud-images.ubuntu.com, and there is no
//     internet here. The guest is the Debian 12 test image, not Ubuntu.
//   - One `portForwards` rule is added, guestSocket /tmp/limactl-e2e-newuser.sock to hostSocket
//     newuser.sock (under the instance's sock/ directory), for the socket case. Rules added with
//     --set come before the default rule, which stays in force.
//   - `.param.internal_netplanOptional = "false"`: the default's Ubuntu 26.04 image block sets it
//     for Ubuntu's NIC rename bug; on the Debian test image it would make networkd's wait-online
//     wait for nothing until its 120 s timeout.
//   - `.containerd.user = false`: the default rootless containerd would download nerdctl-full from
//     github.com. TestVM runs containerd from a stand-in archive served on the loopback instead.
//   - Nothing else: mounts (home read-only, mount type 9p) and port forwarding are the template's
//     defaults.
//
// The environment is that of a new user, not root's: HOME for limactl is a fresh folder (not /root,
// which is 0700), owned by the uid the guest user gets, as it would be for a non-root user (Lima
// refuses to run as root; limactl as root gives the guest user uid 1000, which could not enter /root).
func TestNewUser(t *testing.T) {
	requireVM(t)
	u := newNewUser(t)
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Start", u.start},
		{"HomeFolder", u.homeFolder},
		{"HTTPServer", u.httpServer},
		{"UnixSocket", u.unixSocket},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("%s failed; the later cases depend on it", s.name)
		}
	}
	if os.Getenv("LIMACTL_E2E_BENCH") != "" {
		t.Run("Bench", func(t *testing.T) { portForwardBench(t, u) })
	}
	u.must(t, 4*time.Minute, "delete", "-f", newUserInstance)
}

// newUser runs limactl as the new user: the suite's LIMA_HOME, its own HOME.
type newUser struct {
	home     string
	guestUID int
}

func newNewUser(t *testing.T) *newUser {
	t.Helper()
	u := &newUser{home: filepath.Join(t.TempDir(), "home", "newuser"), guestUID: os.Getuid()}
	if u.guestUID == 0 {
		u.guestUID = 1000 // limayaml.DefaultRootUID
	}
	if err := os.MkdirAll(u.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(u.home, u.guestUID, -1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		_, _ = u.limactl(ctx, nil, "delete", "-f", newUserInstance)
	})
	return u
}

func (u *newUser) limactl(ctx context.Context, stdin io.Reader, args ...string) (result, error) {
	return limactlWithEnv(ctx, u.env(), stdin, args...)
}

func (u *newUser) env() []string {
	return append(env(), "HOME="+u.home, "XDG_CACHE_HOME=", "XDG_CONFIG_HOME=")
}

func (u *newUser) must(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := u.limactl(ctx, nil, args...)
	if err != nil || r.code != 0 {
		t.Fatalf("limactl %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

// sh runs a script in the guest with `limactl shell default sh -c`, failing the test unless it exits 0.
func (u *newUser) sh(t *testing.T, script string) string {
	t.Helper()
	return u.must(t, 2*time.Minute, "shell", newUserInstance, "sh", "-c", script).stdout
}

// offlineImageSets returns the --set expressions that point the template at the local test image.
func offlineImageSets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(imageDir, "test-image.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var y struct {
		Images   []map[string]any `yaml:"images"`
		Firmware map[string]any   `yaml:"firmware"`
	}
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	images, err := json.Marshal(y.Images)
	if err != nil {
		t.Fatal(err)
	}
	sets := []string{".images = " + string(images)}
	if lb, ok := y.Firmware["legacyBIOS"].(bool); ok {
		sets = append(sets, ".firmware.legacyBIOS = "+strconv.FormatBool(lb))
	}
	return sets
}

func (u *newUser) start(t *testing.T) {
	args := []string{"start", "--tty=false"}
	for _, s := range offlineImageSets(t) {
		args = append(args, "--set", s)
	}
	rule, _ := json.Marshal(map[string]string{"guestSocket": newUserGuestSocket, "hostSocket": newUserHostSocket})
	args = append(args, "--set", ".portForwards += ["+string(rule)+"]", "--set", ".containerd.user = false",
		"--set", `.param.internal_netplanOptional = "false"`)
	begin := time.Now()
	r := u.must(t, bootTimeout, args...)
	t.Logf("boot of template:default to READY: %s", time.Since(begin).Round(time.Second))
	if !strings.Contains(r.stderr, "READY. Run `limactl shell "+newUserInstance+"` to open the shell.") {
		t.Errorf("start output lacks READY:\n%s", r.stderr)
	}
	if got := strings.TrimSpace(u.must(t, time.Minute, "list", "--format", "{{.Status}}", newUserInstance).stdout); got != "Running" {
		t.Fatalf("status of %s after start = %q, want Running", newUserInstance, got)
	}
	// The defaults are in force: mount type 9p, the home folder read-only, no /tmp/lima (Lima 2).
	want := "9p " + u.home + " ro\n"
	got := u.sh(t, "for m in "+shellQuote(u.home)+" /tmp/lima; do findmnt -n -o FSTYPE,TARGET,OPTIONS --mountpoint $m | awk '{split($3,o,\",\"); print $1, $2, o[1]}'; done; true")
	if got != want {
		t.Errorf("guest mounts:\n%s\nwant:\n%s", got, want)
	}
}

// homeFolder creates and edits a file in the host home folder and reads it at the same path in the
// guest; the guest cannot write there (the home mount is read-only).
//
// It also logs, without failing, whether a second host edit of a file the guest has already read
// shows up: with the default mount type 9p, read-only mounts use cache=fscache (Lima's default
// too), which does not revalidate with the host, so the guest may keep serving what it read first.
func (u *newUser) homeFolder(t *testing.T) {
	// The user looks around in the guest first: the folder listing is cached from here on.
	u.sh(t, "ls -la "+shellQuote(u.home))
	f := filepath.Join(u.home, "notes.txt")
	if err := os.WriteFile(f, []byte("first line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	af, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := af.WriteString("edited on the host\n"); err != nil {
		t.Fatal(err)
	}
	if err := af.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := u.sh(t, "cat "+shellQuote(f)), "first line\nedited on the host\n"; got != want {
		t.Errorf("the guest reads %q at %s, want the host's %q", got, f, want)
	}
	if got := u.sh(t, "ls "+shellQuote(u.home)); !strings.Contains(got, "notes.txt") {
		t.Errorf("the guest's listing of the home folder lacks the host's new notes.txt:\n%s", got)
	}
	// A further edit of the file the guest has read: logged only (see above).
	if err := os.WriteFile(f, []byte("rewritten on the host, longer than before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	t.Logf("after a second host edit, the guest (9p, cache=fscache) reads %q", u.sh(t, "cat "+shellQuote(f)))
	r, err := u.limactl(t.Context(), nil, "shell", newUserInstance, "sh", "-c", "echo x > "+shellQuote(filepath.Join(u.home, "from-guest.txt")))
	if err != nil || r.code == 0 {
		t.Errorf("writing into the read-only home mount from the guest: %v\n%s", err, r)
	}
	// `limactl shell` starts in the current directory when the guest has it: the home folder.
	cmd := exec.CommandContext(t.Context(), limactlBin, "shell", newUserInstance, "pwd")
	cmd.Env, cmd.Dir = u.env(), u.home
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != u.home {
		t.Errorf("limactl shell run from %s starts in %q (%v), want the same folder", u.home, out, err)
	}
}

// httpServer runs `python3 -m http.server 8000` in the guest and fetches it from the host's
// 127.0.0.1:8000.
func (u *newUser) httpServer(t *testing.T) {
	if err := os.WriteFile(filepath.Join(u.home, "index.html"), []byte("<p>served from the guest</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Served from the home folder, as a user who runs it in the shell `limactl shell` opens would.
	u.sh(t, "cd "+shellQuote(u.home)+" && setsid python3 -m http.server 8000 </dev/null >/tmp/limactl-e2e-http.log 2>&1 & echo $! > /tmp/limactl-e2e-http.pid")
	defer u.sh(t, "kill $(cat /tmp/limactl-e2e-http.pid); rm -f /tmp/limactl-e2e-http.pid")
	begin := time.Now()
	body := getWhenUp(t, "http://127.0.0.1:8000/", "the guest's python3 -m http.server on the host's 127.0.0.1:8000", time.Minute)
	t.Logf("guest server reachable on the host %s after `limactl shell` returned", time.Since(begin).Round(10*time.Millisecond))
	if body != "<p>served from the guest</p>\n" {
		t.Errorf("http://127.0.0.1:8000/ from the host = %q, want the guest's index.html", body)
	}
}

// unixSocket checks the socket rule added at start: the host socket exists from READY on, and a
// connection made before anything listens in the guest is closed at once (as with Lima's ssh -L);
// then it starts a listener on the guest socket and talks to it through the host socket: a line
// each way, then 1 MiB from the host and the guest's reply after the host half-closes.
func (u *newUser) unixSocket(t *testing.T) {
	host := filepath.Join(instDir(newUserInstance), "sock", newUserHostSocket)
	// The host socket is there from READY on, whether or not anything listens in the guest yet
	// (as with Lima's ssh -L): a connection made now is closed at once.
	fi, err := os.Stat(host)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the host socket %s is missing after READY: %v", host, err)
	}
	if early, err := net.DialTimeout("unix", host, 10*time.Second); err != nil {
		t.Errorf("connecting to %s before the guest listens: %v", host, err)
	} else {
		_ = early.SetDeadline(time.Now().Add(time.Minute))
		if n, err := early.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("a connection made before the guest listens should end at once; read %d bytes, %v", n, err)
		}
		early.Close()
	}
	const server = `
import os, socket, sys
p = sys.argv[1]
try:
    os.unlink(p)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(p)
s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    line = f.readline()
    c.sendall(b"guest got: " + line)
    rest = f.read()
    c.sendall(b"guest got %d more bytes\n" % len(rest))
    f.close()
    c.shutdown(socket.SHUT_RDWR)
    c.close()
`
	u.sh(t, "cat > /tmp/limactl-e2e-sock.py <<'PY'\n"+server+"PY\n"+
		"setsid python3 /tmp/limactl-e2e-sock.py "+newUserGuestSocket+" </dev/null >/tmp/limactl-e2e-sock.log 2>&1 & echo $! > /tmp/limactl-e2e-sock.pid\n"+
		"for i in $(seq 100); do [ -S "+newUserGuestSocket+" ] && exit 0; sleep 0.1; done; cat /tmp/limactl-e2e-sock.log; exit 1")
	defer u.sh(t, "kill $(cat /tmp/limactl-e2e-sock.pid); rm -f /tmp/limactl-e2e-sock.* "+newUserGuestSocket)

	c, err := net.DialTimeout("unix", host, 10*time.Second)
	if err != nil {
		t.Fatalf("connecting to the host socket %s: %v", host, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, "hello from the host\n"); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil || line != "guest got: hello from the host\n" {
		t.Fatalf("first reply through %s: %q, %v", host, line, err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rd)
	if want := "guest got " + strconv.Itoa(len(payload)) + " more bytes\n"; err != nil || string(rest) != want {
		t.Errorf("after the host half-closed: %q, %v; want %q", rest, err, want)
	}
	if !hasEventIn(t, newUserInstance, `"protocol":"unix"`, `"guestAddr":"`+newUserGuestSocket+`"`) {
		t.Errorf("no portForward event for the socket rule in ha.stdout.log")
	}
}

// hasEventIn reports whether a line of the instance's ha.stdout.log contains every one of parts.
func hasEventIn(t *testing.T, name string, parts ...string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(instDir(name), "ha.stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
lines:
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue lines
			}
		}
		return true
	}
	return false
}
