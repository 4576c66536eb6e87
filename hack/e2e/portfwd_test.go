//go:build linux

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ignoredGuestPort is forwarded nowhere when the instance was started with the ignore rule
// `--set '.portForwards += [{"guestPort": 8888, "ignore": true}]'`; the ignore case checks it only then.
const ignoredGuestPort = "8888"

// testPortForward needs the running instance vm (run it as a TestVM step after Start): a TCP
// server, a UDP echo server and a listener on a non-loopback address are started in the guest;
// the first two become reachable on the host's 127.0.0.1, the third does not, and stopping the
// TCP server stops its forward. It reads the host agent's events to confirm what happened.
func testPortForward(t *testing.T) {
	// One helper script for the guest's servers (python3 is in the test image).
	const script = `
set -e
cd /tmp
[ -f /tmp/pf-e2e.pids ] && kill $(cat /tmp/pf-e2e.pids) 2>/dev/null || true
setsid python3 -m http.server 8000 --bind 127.0.0.1 --directory /tmp </dev/null >/tmp/limactl-e2e-pf-http.log 2>&1 &
echo $! >/tmp/pf-e2e-http.pid
echo $! >/tmp/pf-e2e.pids
cat >/tmp/pf-e2e-udp.py <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 9999))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(b"echo:" + d, a)
PY
setsid python3 /tmp/pf-e2e-udp.py </dev/null >/tmp/limactl-e2e-pf-udp.log 2>&1 &
echo $! >>/tmp/pf-e2e.pids
ip=$(hostname -I | cut -d' ' -f1)
setsid python3 -m http.server 8001 --bind "$ip" </dev/null >/tmp/limactl-e2e-pf-other.log 2>&1 &
echo $! >>/tmp/pf-e2e.pids
setsid python3 -m http.server ` + ignoredGuestPort + ` --bind 127.0.0.1 </dev/null >/tmp/limactl-e2e-pf-ignored.log 2>&1 &
echo $! >>/tmp/pf-e2e.pids
echo started
`
	begin := time.Now()
	must(t, time.Minute, "shell", vm, "sh", "-c", script)

	t.Run("TCP", func(t *testing.T) {
		body := getWhenUp(t, "http://127.0.0.1:8000/", "the guest's http.server on 127.0.0.1:8000", time.Minute)
		t.Logf("guest listen to host reachable: %s (including the shell round trip)", time.Since(begin).Round(10*time.Millisecond))
		if !strings.Contains(body, "limactl-e2e-pf-http.log") {
			t.Errorf("the page from the host's 127.0.0.1:8000 is not the guest's /tmp listing:\n%.500s", body)
		}
	})

	t.Run("UDP", func(t *testing.T) {
		c, err := net.Dial("udp", "127.0.0.1:9999")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 100)
		var got string
		waitFor(t, "a UDP echo through 127.0.0.1:9999", time.Minute, func() bool {
			if _, err := c.Write([]byte("ping")); err != nil {
				return false
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				return false
			}
			got = string(buf[:n])
			return true
		})
		if got != "echo:ping" {
			t.Errorf("UDP reply = %q, want echo:ping", got)
		}
	})

	t.Run("NotLoopbackNotForwarded", func(t *testing.T) {
		// By the time 8000 and 9999 are forwarded the guest agent has seen 8001 too.
		waitFor(t, "a not-forwarding event for guest port 8001", time.Minute, func() bool {
			return hasEvent(t, `"type":"not-forwarding"`, ":8001\"")
		})
		if c, err := net.DialTimeout("tcp", "127.0.0.1:8001", 2*time.Second); err == nil {
			c.Close()
			t.Error("a guest listener on a non-loopback address was forwarded to the host's 127.0.0.1:8001")
		}
	})

	t.Run("IgnoreRule", func(t *testing.T) {
		y, err := os.ReadFile(filepath.Join(instDir(vm), "lima.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(y), ignoredGuestPort) {
			t.Skip("the instance has no ignore rule for guest port " + ignoredGuestPort + `; start it with --set '.portForwards += [{"guestPort": ` + ignoredGuestPort + `, "ignore": true}]'`)
		}
		waitFor(t, "the guest agent to report port "+ignoredGuestPort, time.Minute, func() bool {
			return hasEvent(t, `"type":"not-forwarding"`, "127.0.0.1:"+ignoredGuestPort+`"`)
		})
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+ignoredGuestPort, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("guest port %s was forwarded despite the ignore rule", ignoredGuestPort)
		}
	})

	t.Run("StopsWithTheServer", func(t *testing.T) {
		must(t, time.Minute, "shell", vm, "sh", "-c", "kill $(cat /tmp/pf-e2e-http.pid)")
		waitFor(t, "the host's 127.0.0.1:8000 to close", time.Minute, func() bool {
			c, err := net.DialTimeout("tcp", "127.0.0.1:8000", 2*time.Second)
			if err != nil {
				return true
			}
			c.Close()
			return false
		})
		if !hasEvent(t, `"type":"stopping"`, `"hostAddr":"127.0.0.1:8000"`) {
			t.Errorf("no portForward stopping event for 127.0.0.1:8000 in ha.stdout.log:\n%s", hostAgentEvents(t))
		}
	})
	must(t, time.Minute, "shell", vm, "sh", "-c", "kill $(cat /tmp/pf-e2e.pids) 2>/dev/null; rm -f /tmp/pf-e2e*; true")
}

// hostAgentEvents returns the instance's event log (ha.stdout.log).
func hostAgentEvents(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(instDir(vm), "ha.stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hasEvent reports whether one line of vm's event log contains every one of parts.
func hasEvent(t *testing.T, parts ...string) bool {
	t.Helper()
	return hasEventIn(t, vm, parts...)
}
