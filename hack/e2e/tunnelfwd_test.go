//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// tunnelGuestPort is the guest port of testTunnelForward's server (127.0.0.1 in the guest, forwarded
// to the same port on the host's 127.0.0.1).
const tunnelGuestPort = "8765"

// tunnelServerScript starts, in the guest, a server that answers each connection, once its client
// half-closed, with "N SHA256\n" of what it read; connections are served in threads, so one held
// open does not block the others.
const tunnelServerScript = `
set -e
[ -f /tmp/tunnel-e2e.pid ] && kill $(cat /tmp/tunnel-e2e.pid) 2>/dev/null || true
cat >/tmp/tunnel-e2e.py <<'PY'
import hashlib, socketserver
class H(socketserver.BaseRequestHandler):
    def handle(self):
        h, n = hashlib.sha256(), 0
        while True:
            d = self.request.recv(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        self.request.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("127.0.0.1", ` + tunnelGuestPort + `), H).serve_forever()
PY
setsid python3 /tmp/tunnel-e2e.py </dev/null >/tmp/tunnel-e2e.log 2>&1 &
echo $! >/tmp/tunnel-e2e.pid
echo started
`

// testTunnelForward needs the running instance vm (a TestVM step after Start, like testPortForward,
// with the host agent's tunnel on: LIMA_GUESTAGENT_TUNNEL unset). It proves that a forwarded TCP
// port carries its bytes through the guest agent's tunnel rather than the guest's sshd: while a
// forwarded connection is open, the guest's end of it belongs to lima-guestagent (`ss -p` in the
// guest), not to sshd; the host agent logged the tunnel coming up; a half-closed transfer comes back
// intact; and after `systemctl restart lima-guestagent` the forward still works, and the tunnel
// comes back. On a Linux host, the host's bytes go through the shared-memory ring.
func testTunnelForward(t *testing.T) {
	must(t, time.Minute, "shell", vm, "sh", "-c", tunnelServerScript)
	defer func() {
		_, _ = limactl(t.Context(), nil, "shell", vm, "sh", "-c", "kill $(cat /tmp/tunnel-e2e.pid) 2>/dev/null; rm -f /tmp/tunnel-e2e*; true")
	}()
	addr := "127.0.0.1:" + tunnelGuestPort
	small := []byte("limactl-e2e-tunnel")
	waitFor(t, "the guest's server on "+addr+" to be forwarded", time.Minute, func() bool {
		got, err := hashRoundTrip(addr, small)
		return err == nil && got == hashLine(small)
	})

	t.Run("HostAgentLog", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(instDir(vm), "ha.stderr.log"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "guest-agent tunnel is up") {
			t.Errorf("ha.stderr.log does not say the guest-agent tunnel came up:\n%s", lastLines(string(b), 40))
		}
		// On a Linux host the host's bytes go through the ivshmem ring (pkg/shmring).
		if runtime.GOOS == "linux" && !strings.Contains(string(b), "tunnel is up (shared memory to the guest)") {
			t.Errorf("ha.stderr.log does not say the tunnel uses the shared ring:\n%s", lastLines(string(b), 40))
		}
	})

	t.Run("ThroughTheTunnel", func(t *testing.T) {
		owner := connectionOwner(t, addr)
		if !strings.Contains(owner, "lima-guestagent") {
			t.Errorf("the guest's end of a forwarded connection does not belong to lima-guestagent (the tunnel); ss says:\n%s", owner)
		}
	})

	t.Run("HalfClose", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
		start := time.Now()
		got, err := hashRoundTrip(addr, data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("8 MiB host -> guest and the answer back: %s (%.1f MB/s)", time.Since(start).Round(time.Millisecond),
			float64(len(data))/1e6/time.Since(start).Seconds())
		if want := hashLine(data); got != want {
			t.Errorf("the guest read %q, want %q", got, want)
		}
	})

	t.Run("AfterGuestAgentRestart", func(t *testing.T) {
		// Through the guest's sshd: a command run by the guest agent that restarts it loses its
		// exit status with it (docs/shell.md).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if r, err := limactlWithEnv(ctx, append(env(), "LIMA_SSH_MUX=0"), nil, "shell", vm, "sudo", "systemctl", "restart", "lima-guestagent"); err != nil || r.code != 0 {
			t.Fatalf("restarting the guest agent: %v\n%s", err, r)
		}
		// Over the tunnel again or, until it is back, over SSH: either way the forward works.
		waitFor(t, "the forward to work after the guest agent restarted", time.Minute, func() bool {
			got, err := hashRoundTrip(addr, small)
			return err == nil && got == hashLine(small)
		})
		var owner string
		waitFor(t, "forwarded connections to go through the tunnel again", time.Minute, func() bool {
			owner = connectionOwner(t, addr)
			return strings.Contains(owner, "lima-guestagent")
		})
	})
}

// hashRoundTrip sends data to the forwarded addr, half-closes, and returns the server's answer.
func hashRoundTrip(addr string, data []byte) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		errc <- err
	}()
	got, err := io.ReadAll(c)
	if werr := <-errc; werr != nil {
		return "", werr
	}
	return string(got), err
}

func hashLine(b []byte) string { return fmt.Sprintf("%d %x\n", len(b), sha256.Sum256(b)) }

// connectionOwner holds a forwarded connection to addr open and returns what `ss -p` in the guest
// says about the guest's end of it (the client socket whose destination is the guest port).
func connectionOwner(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("held open")); err != nil {
		t.Fatal(err)
	}
	var out string
	waitFor(t, "the guest to see the forwarded connection", 30*time.Second, func() bool {
		r := must(t, time.Minute, "shell", vm, "sh", "-c", "sudo ss -Htnp state established '( dport = :"+tunnelGuestPort+" )'")
		out = r.stdout
		return strings.TrimSpace(out) != ""
	})
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
