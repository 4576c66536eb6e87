//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Port-forwarding benchmarks against a real guest, run by TestNewUser in its instance when
// LIMACTL_E2E_BENCH=1. Nothing is asserted; the figures are logged with a "BENCH" prefix and
// docs/performance.md ("Port forwarding") records them as ratios against the same run's baseline.

const (
	pfBenchSize   = 64 << 20 // bytes per throughput transfer
	pfBenchRounds = 3        // throughput rounds; each figure is the median
	pfBenchListen = 15       // listen-to-reachable samples
	pfSinkPort    = 8101     // guest: reads to EOF, answers the byte count
	pfSourcePort  = 8102     // guest: reads a byte count, sends that many bytes, closes
)

// pfBenchServer is the guest side, shared with hack/bench/sidebyside: see hack/bench/pfbench.py.
var pfBenchServer = func() string {
	b, err := os.ReadFile(filepath.Join("..", "bench", "pfbench.py"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func portForwardBench(t *testing.T, u *newUser) {
	u.sh(t, "cat > /tmp/pfbench.py <<'PY'\n"+pfBenchServer+"PY\n"+
		"setsid python3 /tmp/pfbench.py server </dev/null >/tmp/pfbench.log 2>&1 & echo $! > /tmp/pfbench.pid")
	defer u.sh(t, "kill $(cat /tmp/pfbench.pid); rm -f /tmp/pfbench.*")
	for _, p := range []int{pfSinkPort, pfSourcePort} {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		waitFor(t, "the forward of the guest's "+addr, time.Minute, func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	t.Run("Throughput", func(t *testing.T) { pfThroughput(t, u) })
	t.Run("ListenToReachable", func(t *testing.T) { pfListenLatency(t, u) })
}

// pfThroughput logs the median MB/s of pfBenchRounds transfers of pfBenchSize bytes each way
// through limactl's forwarded ports, next to the guest's own loopback (python client to the same
// servers: the limit) and, as a second reference, OpenSSH's `ssh -L` to the same guest ports
// (Lima's SSH forwarder), once with OpenSSH's default cipher and once with the cipher limactl's Go
// SSH client negotiates (aes128-gcm). All are measured in alternation in the same rounds.
func pfThroughput(t *testing.T, u *newUser) {
	type path struct {
		name    string
		in, out func() time.Duration
		inR     []float64
		outR    []float64
	}
	loop := func(mode string, port int) func() time.Duration {
		return func() time.Duration { return u.guestLoopback(t, mode, port) }
	}
	paths := []*path{
		{name: "guest loopback", in: loop("sink", pfSinkPort), out: loop("source", pfSourcePort)},
		{name: "limactl forward", in: func() time.Duration { return hostToGuest(t, pfSinkPort) }, out: func() time.Duration { return guestToHost(t, pfSourcePort) }},
	}
	for i, cipher := range []string{"", "aes128-gcm@openssh.com"} {
		base := 18100 + 10*i
		if openSSHForward(t, u, cipher, base) {
			name := "ssh -L (OpenSSH default cipher)"
			if cipher != "" {
				name = "ssh -L -c " + cipher
			}
			paths = append(paths, &path{name: name,
				in:  func() time.Duration { return hostToGuest(t, base+1) },
				out: func() time.Duration { return guestToHost(t, base+2) }})
		}
	}
	mbps := func(d time.Duration) float64 { return float64(pfBenchSize) / 1e6 / d.Seconds() }
	for round := range pfBenchRounds {
		var line []string
		for _, p := range paths {
			p.inR = append(p.inR, mbps(p.in()))
			p.outR = append(p.outR, mbps(p.out()))
			line = append(line, fmt.Sprintf("%s in %.1f / out %.1f", p.name, p.inR[round], p.outR[round]))
		}
		t.Logf("round %d (MB/s; in = host->guest, out = guest->host): %s", round+1, strings.Join(line, "; "))
	}
	li, lo := median(paths[0].inR), median(paths[0].outR)
	for _, p := range paths {
		t.Logf("BENCH port forward TCP, %d MiB, median of %d: %s: host->guest %.1f MB/s (%.3f of guest loopback), guest->host %.1f MB/s (%.3f)",
			pfBenchSize>>20, pfBenchRounds, p.name, median(p.inR), median(p.inR)/li, median(p.outR), median(p.outR)/lo)
	}
}

// openSSHForward runs `ssh -N -L` with the instance's ssh.config (its own connection, no
// ControlMaster) from host ports base+1 and base+2 to the guest's sink and source, until the test
// ends; cipher "" keeps OpenSSH's default. It reports whether the forward came up.
func openSSHForward(t *testing.T, u *newUser, cipher string, base int) bool {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Log("no ssh on PATH: no OpenSSH reference")
		return false
	}
	args := []string{"-F", filepath.Join(instDir(newUserInstance), "ssh.config"), "-o", "ControlMaster=no", "-o", "ControlPath=none",
		"-o", "ExitOnForwardFailure=yes", "-N",
		"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", base+1, pfSinkPort),
		"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", base+2, pfSourcePort)}
	if cipher != "" {
		args = append(args, "-c", cipher)
	}
	cmd := exec.Command("ssh", append(args, "lima-"+newUserInstance)...)
	cmd.Env = u.env()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Logf("ssh -L: %v", err)
		return false
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", base+2), time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ssh -L %s did not come up within a minute", cipher)
	return false
}

// guestLoopback runs the guest's own client against its server and returns the guest-timed duration.
func (u *newUser) guestLoopback(t *testing.T, mode string, port int) time.Duration {
	t.Helper()
	out := u.sh(t, fmt.Sprintf("python3 /tmp/pfbench.py client %s %d %d", mode, port, pfBenchSize))
	s, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		t.Fatalf("guest loopback %s: %q", mode, out)
	}
	return time.Duration(s * float64(time.Second))
}

// hostToGuest sends pfBenchSize bytes into the guest's sink through the forward and waits for the
// sink's count: the time from the first byte written to the count read.
func hostToGuest(t *testing.T, port int) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	begin := time.Now()
	for left := pfBenchSize; left > 0; left -= len(buf) {
		if _, err := c.Write(buf[:min(left, len(buf))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	d := time.Since(begin)
	if err != nil || strings.TrimSpace(line) != strconv.Itoa(pfBenchSize) {
		t.Fatalf("the guest's sink counted %q (%v), want %d", line, err, pfBenchSize)
	}
	return d
}

// guestToHost asks the guest's source for pfBenchSize bytes through the forward and reads them to EOF.
func guestToHost(t *testing.T, port int) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := time.Now()
	if _, err := fmt.Fprintf(c, "%d\n", pfBenchSize); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, c)
	d := time.Since(begin)
	if err != nil || n != pfBenchSize {
		t.Fatalf("read %d bytes from the guest's source (%v), want %d", n, err, pfBenchSize)
	}
	return d
}

// pfListenLatency times, on the host clock only, how long a guest listener takes to become
// reachable on the host. One `limactl shell` session runs the guest's `listen` loop; for each
// sample the host waits a random 0-300 ms (so that samples fall at random points of the guest
// agent's scan cycle), sends "open PORT", the guest calls listen() and answers "listening", and the
// host then connects to 127.0.0.1:PORT every 5 ms until a connection brings the guest's byte
// back. The figure starts when the answer arrives, so it leaves out the answer's trip out of the
// guest; that trip is at most the session's round trip ("ping" -> "pong"), logged beside it.
func pfListenLatency(t *testing.T, u *newUser) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, limactlBin, "shell", newUserInstance, "python3", "/tmp/pfbench.py", "listen")
	cmd.Env = u.env()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	out := bufio.NewReader(outPipe)
	ask := func(line, want string) time.Duration {
		t.Helper()
		begin := time.Now()
		if _, err := io.WriteString(in, line+"\n"); err != nil {
			t.Fatal(err)
		}
		got, err := out.ReadString('\n')
		if err != nil || strings.TrimSpace(got) != want {
			t.Fatalf("guest answered %q (%v) to %q, want %q", got, err, line, want)
		}
		return time.Since(begin)
	}
	ask("ping", "pong") // the session is up
	var lat, rtt []float64
	for i := range pfBenchListen {
		rtt = append(rtt, ask("ping", "pong").Seconds())
		port := 8300 + i
		addr := "127.0.0.1:" + strconv.Itoa(port)
		// A random pause puts the listen() at a random point of the guest agent's 300 ms scan
		// cycle: the loop would otherwise fall into step with it and always sample the same phase.
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		ask("open "+strconv.Itoa(port), "listening")
		begin := time.Now()
		waitReachable(t, addr)
		lat = append(lat, time.Since(begin).Seconds())
		ask("close", "closed")
		waitFor(t, "the host's "+addr+" to close", time.Minute, func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		t.Logf("sample %d: reachable %.0f ms after the guest's listen() answer; session round trip %.0f ms", i+1, lat[i]*1000, rtt[i]*1000)
	}
	t.Logf("BENCH guest listen() to host-reachable, median of %d: %.0f ms (min %.0f, max %.0f); session round trip median %.0f ms",
		pfBenchListen, median(lat)*1000, slices.Min(lat)*1000, slices.Max(lat)*1000, median(rtt)*1000)
}

// waitReachable connects to addr every 5 ms until a connection brings the guest server's byte.
func waitReachable(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	b := make([]byte, 1)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(b)
			c.Close()
			if n == 1 {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not become reachable within a minute", addr)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
