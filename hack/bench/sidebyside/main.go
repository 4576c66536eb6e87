// Command sidebyside boots the test image with limactl (and, when given, another limactl, in
// alternation, one VM at a time) and prints what issue 15 measures, each next to a baseline taken
// in the same run: start-to-READY and restart-to-READY against the guest's own SSH banner,
// `limactl shell VM true` against OpenSSH through a ControlMaster running the same command and
// running it through a login shell (what `limactl shell` does upstream), and against a model of
// upstream's `limactl shell` (measureShell), forward throughput both ways against the guest's own
// loopback, OpenSSH's `ssh -L` and ours over SSH with the tunnel off (on the restart),
// listen-to-reachable, and the host agent's RSS with ten forwards open. Not a test; run it through
// hack/bench/sidebyside.sh.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
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
	"time"

	"github.com/limactl/limactl/pkg/sshutil"
)

const (
	instName    = "bench"
	xferSize    = 64 << 20
	sinkPort    = 8101 // pfbench.py server
	sourcePort  = 8102
	holdBase    = 8300 // ten held listeners for the RSS figure
	listenPorts = 8200 // listen-to-reachable samples use 8200, 8201, ...
)

type options struct {
	image, pfbench, work string
	modelBin             string // the Go CLI of the upstream shell model: ours
	rounds, shells       int
	xferRounds, samples  int
}

// result is one binary's figures in one round.
type result struct {
	label                          string
	firstBanner, firstReady        time.Duration
	restartBanner, restartReady    time.Duration
	shell, sshTrue, sshLogin       time.Duration
	upModel                        time.Duration // a model of upstream's `limactl shell` (measureShell)
	fwdIn, fwdOut, loopIn, loopOut float64       // MB/s
	sshLIn, sshLOut                float64
	fwdInSSH, fwdOutSSH            float64 // ours with the tunnel off (restart), 0 when not measured
	listen                         time.Duration
	rssMiB                         float64
	errs                           []string
}

func main() {
	var o options
	flag.StringVar(&o.image, "image", "", "test image directory (hack/build-test-image.sh --print-dir)")
	flag.StringVar(&o.pfbench, "pfbench", "hack/bench/pfbench.py", "the guest-side benchmark script")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds; each boots every binary twice (start, restart)")
	flag.IntVar(&o.shells, "shells", 20, "`limactl shell VM true` runs per round (and as many of each baseline)")
	flag.IntVar(&o.xferRounds, "xfer", 3, "throughput transfers per direction and path (median)")
	flag.IntVar(&o.samples, "listen", 7, "listen-to-reachable samples (median)")
	flag.Parse()
	if flag.NArg() < 1 || o.image == "" {
		fmt.Fprintln(os.Stderr, "usage: sidebyside -image DIR LIMACTL [OTHER_LIMACTL]")
		os.Exit(2)
	}
	var err error
	if o.work, err = os.MkdirTemp("", "sbs."); err != nil { // short: unix socket paths
		fatal(err)
	}
	defer os.RemoveAll(o.work)
	bins := flag.Args()
	o.modelBin = bins[0]
	var all [][]result // [round][binary]
	for r := 1; r <= o.rounds; r++ {
		var row []result
		for i, bin := range bins {
			label := "ours"
			if i > 0 {
				label = "other"
			}
			fmt.Fprintf(os.Stderr, "== round %d: %s (%s)\n", r, label, bin)
			res := o.round(bin, label, filepath.Join(o.work, fmt.Sprintf("home%d", i)))
			for _, e := range res.errs {
				fmt.Fprintf(os.Stderr, "   %s: %s\n", label, e)
			}
			row = append(row, res)
		}
		all = append(all, row)
	}
	report(all)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sidebyside:", err)
	os.Exit(1)
}

// round boots bin's instance twice (create+start, stop+start) and measures the rest in between.
func (o options) round(bin, label, home string) (res result) {
	res.label = label
	l := limactl{bin: bin, home: home}
	_ = os.MkdirAll(home, 0o755)
	port := freePort()
	defer func() {
		_, _ = l.run(context.Background(), nil, "delete", "-f", instName)
	}()
	yaml := filepath.Join(o.image, "test-image.yaml")
	var err error
	res.firstBanner, res.firstReady, err = l.timedStart(port, "start", "--tty=false", "--name="+instName,
		"--set", fmt.Sprintf(".ssh.localPort = %d", port), yaml)
	if err != nil {
		res.errs = append(res.errs, "start: "+err.Error())
		return res
	}
	o.measureShell(l, &res)
	o.measureForwards(l, &res)
	if _, err := l.run(context.Background(), nil, "stop", instName); err != nil {
		res.errs = append(res.errs, "stop: "+err.Error())
		return res
	}
	// Ours restarts with the guest-agent tunnel off, so that the forwards can be measured over
	// SSH (the path before the tunnel) in the same round; READY does not wait for the tunnel.
	lr := l
	if label == "ours" {
		lr.env = []string{"LIMA_GUESTAGENT_TUNNEL=0"}
	}
	res.restartBanner, res.restartReady, err = lr.timedStart(port, "start", "--tty=false", instName)
	if err != nil {
		res.errs = append(res.errs, "restart: "+err.Error())
	} else if label == "ours" {
		o.measureSSHForwards(lr, &res)
	}
	_, _ = l.run(context.Background(), nil, "stop", instName)
	return res
}

type limactl struct {
	bin, home string
	env       []string // added to the environment of every command
}

func (l limactl) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, l.bin, args...)
	c.Env = append(append(os.Environ(), "LIMA_HOME="+l.home), l.env...)
	return c
}

func (l limactl) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	c := l.cmd(ctx, args...)
	c.Stdin = stdin
	out, err := c.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, lastLines(string(ee.Stderr), 5))
		}
	}
	return string(out), err
}

func (l limactl) instDir() string { return filepath.Join(l.home, instName) }

// timedStart runs `limactl ARGS` and polls 127.0.0.1:port for the guest's SSH banner meanwhile.
// It returns the time from launch to the banner and to READY (start exiting 0).
func (l limactl) timedStart(port int, args ...string) (banner, ready time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	begin := time.Now()
	got := make(chan time.Duration, 1)
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go func() {
		for pollCtx.Err() == nil {
			if sshBanner(port) {
				got <- time.Since(begin)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if _, err := l.run(ctx, nil, args...); err != nil {
		return 0, 0, err
	}
	ready = time.Since(begin)
	select {
	case banner = <-got:
	case <-time.After(5 * time.Second):
		return 0, ready, errors.New("READY, but the SSH banner was never seen on the fixed port")
	}
	return banner, ready, nil
}

// sshBanner reports whether a connection to port reads "SSH-" (QEMU's user network accepts a
// connection before the guest listens, so a connect alone proves nothing).
func sshBanner(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b := make([]byte, 4)
	_, err = io.ReadFull(c, b)
	return err == nil && string(b) == "SSH-"
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// measureShell times `limactl shell VM true` against OpenSSH with a ControlMaster running `true`
// (the floor of a command over an open connection) and `bash -lc true` (a login shell per command,
// as upstream's `limactl shell` runs it), in alternating blocks, after one warm-up of each. It also
// times a model of upstream's `limactl shell VM true` made of the steps upstream's code takes: a Go
// CLI starting (this limactl's `--version`; upstream's binary is larger), `ssh -V` (upstream runs
// it once per process to pick options), and OpenSSH through a ControlMaster running upstream's
// remote command (`cd <host cwd> || cd <host home> ; exec "$SHELL" --login -c true`).
func (o options) measureShell(l limactl, res *result) {
	cp := filepath.Join(l.home, "cm.sock")
	sshArgs := func(cmd ...string) []string {
		return append([]string{"-F", filepath.Join(l.instDir(), "ssh.config"), "-o", "ControlMaster=auto",
			"-o", "ControlPath=" + cp, "-o", "ControlPersist=120", "lima-" + instName}, cmd...)
	}
	defer func() { _ = exec.Command("ssh", append([]string{"-O", "exit"}, sshArgs()...)...).Run() }()
	type runner struct {
		out *time.Duration
		run func() error
	}
	runners := []runner{
		{&res.shell, func() error { _, err := l.run(context.Background(), nil, "shell", instName, "true"); return err }},
		{&res.sshTrue, func() error { return exec.Command("ssh", sshArgs("true")...).Run() }},
		{&res.sshLogin, func() error { return exec.Command("ssh", sshArgs("bash", "-lc", "true")...).Run() }},
		{&res.upModel, func() error {
			if err := exec.Command(o.modelBin, "--version").Run(); err != nil {
				return err
			}
			if err := exec.Command("ssh", "-o", "GSSAPIAuthentication=no", "-V").Run(); err != nil {
				return err
			}
			return exec.Command("ssh", sshArgs(upstreamScript())...).Run()
		}},
	}
	times := make([][]time.Duration, len(runners))
	for i, r := range runners {
		if err := r.run(); err != nil { // warm-up: the mux, the master, the login environment cache
			res.errs = append(res.errs, fmt.Sprintf("shell warm-up %d: %v", i, err))
			return
		}
	}
	const block = 5
	for done := 0; done < o.shells; done += block {
		for i, r := range runners {
			for k := 0; k < block; k++ {
				begin := time.Now()
				if err := r.run(); err != nil {
					res.errs = append(res.errs, fmt.Sprintf("shell %d: %v", i, err))
					continue
				}
				times[i] = append(times[i], time.Since(begin))
			}
		}
	}
	for i, r := range runners {
		*r.out = median(times[i])
	}
}

// upstreamScript is the remote command upstream's `limactl shell VM true` sends when the host's
// home is mounted.
func upstreamScript() string {
	cwd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return fmt.Sprintf(`cd %s || cd %s ; exec "$SHELL" --login -c true`, sshutil.ShellQuote(cwd), sshutil.ShellQuote(home))
}

// measureSSHForwards measures the forward throughput both ways, as measureForwards does, on an
// instance whose host agent forwards over SSH.
func (o options) measureSSHForwards(l limactl, res *result) {
	if err := o.startGuestServers(l); err != nil {
		res.errs = append(res.errs, "over SSH: "+err.Error())
		return
	}
	var in, out []float64
	for range o.xferRounds {
		in = appendRate(in, res, "forward in over SSH", func() (time.Duration, error) { return sink(sinkPort) })
		out = appendRate(out, res, "forward out over SSH", func() (time.Duration, error) { return source(sourcePort) })
	}
	res.fwdInSSH, res.fwdOutSSH = medianF(in), medianF(out)
}

// startGuestServers starts pfbench.py's servers in the guest and waits for their forwards.
func (o options) startGuestServers(l limactl) error {
	script, err := os.ReadFile(o.pfbench)
	if err != nil {
		return err
	}
	setup := "cat >/tmp/pfbench.py && (setsid python3 /tmp/pfbench.py server </dev/null >/tmp/pfbench.log 2>&1 &) && " +
		fmt.Sprintf("(setsid python3 /tmp/pfbench.py hold %s </dev/null >/dev/null 2>&1 &)", holdPorts())
	if _, err := l.run(context.Background(), strings.NewReader(string(script)), "shell", instName, "sh", "-c", setup); err != nil {
		return fmt.Errorf("guest servers: %w", err)
	}
	for _, p := range []int{sinkPort, sourcePort} {
		if err := waitReachable(p, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// measureForwards runs the guest servers of pfbench.py and measures throughput, listen-to-reachable
// and the host agent's RSS with ten forwards.
func (o options) measureForwards(l limactl, res *result) {
	if err := o.startGuestServers(l); err != nil {
		res.errs = append(res.errs, err.Error())
		return
	}
	// OpenSSH's -L to the same guest ports, its own connection.
	pIn, pOut := freePort(), freePort()
	sshL := exec.Command("ssh", "-F", filepath.Join(l.instDir(), "ssh.config"), "-o", "ControlMaster=no",
		"-o", "ExitOnForwardFailure=yes", "-N",
		"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", pIn, sinkPort),
		"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", pOut, sourcePort), "lima-"+instName)
	if err := sshL.Start(); err == nil {
		defer func() { _ = sshL.Process.Kill(); _ = sshL.Wait() }()
		_ = waitReachable(pIn, 30*time.Second)
	}
	var fin, fout, lin, lout, sin, sout []float64
	for range o.xferRounds {
		fin = appendRate(fin, res, "forward in", func() (time.Duration, error) { return sink(sinkPort) })
		fout = appendRate(fout, res, "forward out", func() (time.Duration, error) { return source(sourcePort) })
		lin = appendRate(lin, res, "loopback in", func() (time.Duration, error) { return l.guestClient("sink", sinkPort) })
		lout = appendRate(lout, res, "loopback out", func() (time.Duration, error) { return l.guestClient("source", sourcePort) })
		sin = appendRate(sin, res, "ssh -L in", func() (time.Duration, error) { return sink(pIn) })
		sout = appendRate(sout, res, "ssh -L out", func() (time.Duration, error) { return source(pOut) })
	}
	res.fwdIn, res.fwdOut, res.loopIn, res.loopOut = medianF(fin), medianF(fout), medianF(lin), medianF(lout)
	res.sshLIn, res.sshLOut = medianF(sin), medianF(sout)

	res.listen = o.listenToReachable(l, res)

	for i := range 10 {
		if err := waitReachable(holdBase+i, time.Minute); err != nil {
			res.errs = append(res.errs, err.Error())
			return
		}
	}
	res.rssMiB = rssMiB(filepath.Join(l.instDir(), "ha.pid"))
}

func holdPorts() string {
	var ps []string
	for i := range 10 {
		ps = append(ps, strconv.Itoa(holdBase+i))
	}
	return strings.Join(ps, " ")
}

func appendRate(rates []float64, res *result, what string, f func() (time.Duration, error)) []float64 {
	d, err := f()
	if err != nil {
		res.errs = append(res.errs, what+": "+err.Error())
		return rates
	}
	return append(rates, float64(xferSize)/1e6/d.Seconds())
}

// waitReachable waits until the host's 127.0.0.1:port accepts and the guest end answers (a forward
// listens on the host before its guest end is known to exist only when it is static).
func waitReachable(port int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("127.0.0.1:%d never became reachable", port)
}

// sink writes xferSize bytes to port, half-closes, and reads the guest's byte count.
func sink(port int) (time.Duration, error) {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	begin := time.Now()
	buf := make([]byte, 1<<20)
	for left := xferSize; left > 0; left -= len(buf) {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(line)); n != xferSize {
		return 0, fmt.Errorf("the guest counted %q bytes, want %d", line, xferSize)
	}
	return time.Since(begin), nil
}

// source asks port for xferSize bytes and reads them to EOF.
func source(port int) (time.Duration, error) {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	begin := time.Now()
	if _, err := fmt.Fprintf(c, "%d\n", xferSize); err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return 0, err
	}
	if n != xferSize {
		return 0, fmt.Errorf("read %d bytes, want %d", n, xferSize)
	}
	return time.Since(begin), nil
}

// guestClient runs the transfer inside the guest (its own loopback) and returns the guest's timing.
func (l limactl) guestClient(mode string, port int) (time.Duration, error) {
	out, err := l.run(context.Background(), nil, "shell", instName, "python3", "/tmp/pfbench.py", "client", mode,
		strconv.Itoa(port), strconv.Itoa(xferSize))
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		return 0, fmt.Errorf("guest client printed %q", out)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// listenToReachable: a guest process listens on a new port after a random pause; from the moment
// the host reads its "listening" the host port is tried every 5 ms until a connection brings back
// the byte the guest sends on accept.
func (o options) listenToReachable(l limactl, res *result) time.Duration {
	cmd := l.cmd(context.Background(), "shell", instName, "python3", "/tmp/pfbench.py", "listen")
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		res.errs = append(res.errs, "listen: "+err.Error())
		return 0
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
	out := bufio.NewReader(outPipe)
	var samples []time.Duration
	for i := range o.samples {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		port := listenPorts + i
		fmt.Fprintf(in, "open %d\n", port)
		if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "listening" {
			res.errs = append(res.errs, fmt.Sprintf("listen: %q %v", line, err))
			return median(samples)
		}
		begin := time.Now()
		for time.Since(begin) < 10*time.Second {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				b := make([]byte, 1)
				_, rerr := io.ReadFull(c, b)
				c.Close()
				if rerr == nil {
					samples = append(samples, time.Since(begin))
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprintln(in, "close")
		_, _ = out.ReadString('\n')
	}
	return median(samples)
}

func rssMiB(pidFile string) float64 {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	st, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(b)), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	if len(fs) == 0 {
		return 0
	}
	s := slices.Clone(fs)
	slices.Sort(s)
	return s[len(s)/2]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }
func ms(d time.Duration) string   { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// report prints markdown tables: each figure with its baseline from the same round.
func report(all [][]result) {
	fmt.Println("\n### Start-up (seconds from `limactl start`; banner = the guest's sshd answers on the fixed SSH port)")
	fmt.Println()
	fmt.Println("| round | limactl | boot | SSH banner | READY | READY - banner |")
	fmt.Println("|--:|:--|:--|--:|--:|--:|")
	for i, row := range all {
		for _, r := range row {
			fmt.Printf("| %d | %s | first | %s | %s | %s |\n", i+1, r.label, secs(r.firstBanner), secs(r.firstReady), secs(r.firstReady-r.firstBanner))
			fmt.Printf("| %d | %s | restart | %s | %s | %s |\n", i+1, r.label, secs(r.restartBanner), secs(r.restartReady), secs(r.restartReady-r.restartBanner))
		}
	}
	fmt.Println("\n### `shell VM true` (median ms; OpenSSH through a ControlMaster in the same round)")
	fmt.Println()
	fmt.Println("| round | limactl | `limactl shell` | ssh `true` | ssh `bash -lc true` | upstream model | shell / ssh `bash -lc` | shell / upstream model | shell / ssh `true` |")
	fmt.Println("|--:|:--|--:|--:|--:|--:|--:|--:|--:|")
	for i, row := range all {
		for _, r := range row {
			fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", i+1, r.label, ms(r.shell), ms(r.sshTrue), ms(r.sshLogin), ms(r.upModel),
				ratio(float64(r.shell), float64(r.sshLogin)), ratio(float64(r.shell), float64(r.upModel)), ratio(float64(r.shell), float64(r.sshTrue)))
		}
	}
	fmt.Println("\n### Forwarded TCP port (MB/s, median; in = host to guest)")
	fmt.Println()
	fmt.Println("| round | limactl | forward in / out | over SSH (tunnel off) in / out | guest loopback in / out | `ssh -L` in / out | forward / over SSH | forward / `ssh -L` | forward / loopback | listen → reachable (ms) | host agent RSS, 10 forwards (MiB) |")
	fmt.Println("|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for i, row := range all {
		for _, r := range row {
			fmt.Printf("| %d | %s | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %s / %s | %s / %s | %s / %s | %s | %.1f |\n", i+1, r.label,
				r.fwdIn, r.fwdOut, r.fwdInSSH, r.fwdOutSSH, r.loopIn, r.loopOut, r.sshLIn, r.sshLOut,
				ratio(r.fwdIn, r.fwdInSSH), ratio(r.fwdOut, r.fwdOutSSH),
				ratio(r.fwdIn, r.sshLIn), ratio(r.fwdOut, r.sshLOut), ratio(r.fwdIn, r.loopIn), ratio(r.fwdOut, r.loopOut),
				ms(r.listen), r.rssMiB)
		}
	}
	if len(all) > 0 && len(all[0]) > 1 {
		fmt.Println("\n### Ours against the other limactl, same round")
		fmt.Println()
		fmt.Println("| round | first READY | restart READY | shell | forward in | forward out |")
		fmt.Println("|--:|--:|--:|--:|--:|--:|")
		for i, row := range all {
			a, b := row[0], row[1]
			fmt.Printf("| %d | %s | %s | %s | %s | %s |\n", i+1, ratio(float64(a.firstReady), float64(b.firstReady)),
				ratio(float64(a.restartReady), float64(b.restartReady)), ratio(float64(a.shell), float64(b.shell)),
				ratio(a.fwdIn, b.fwdIn), ratio(a.fwdOut, b.fwdOut))
		}
	}
}
