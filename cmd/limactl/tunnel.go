package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/socks5"
)

// TunnelOptions are the inputs of `limactl tunnel`.
type TunnelOptions struct {
	IO        *iostreams.IOStreams
	Instance  string
	Type      string
	SOCKSPort int
}

// tunnelChildEnv marks the detached process that serves a tunnel; its value is unused.
const tunnelChildEnv = "_LIMACTL_TUNNEL_CHILD"

// tunnelStartTimeout bounds how long `limactl tunnel` waits for its server process to report.
const tunnelStartTimeout = 90 * time.Second

func newTunnelCommand(ios *iostreams.IOStreams, runF func(*TunnelOptions) error) *cobra.Command {
	opts := &TunnelOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "tunnel [flags] INSTANCE",
		Short: "Create a tunnel for Lima",
		Long: `Create a tunnel for Lima

Create a SOCKS tunnel so that the host can join the guest network.

The SOCKS5 proxy listens on 127.0.0.1 and opens every connection from inside the guest (over the
instance's SSH connection); host names are resolved by the guest. The command returns once the
proxy is up; the proxy runs in the background until the instance stops or its process is killed.`,
		Example: `  $ limactl tunnel default
  $ limactl tunnel --socks-port 1080 default
  Then reach a server listening on the guest's own loopback, as the guest sees it:
  $ curl --proxy socks5h://127.0.0.1:1080 http://localhost:8080/`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmd.Root().PersistentPreRunE(cmd, args); err != nil {
				return err
			}
			if os.Getenv(tunnelChildEnv) == "" {
				logrus.Warn("`limactl tunnel` is experimental") // Lima's words
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance = args[0]
			if runF != nil {
				return runF(opts)
			}
			if os.Getenv(tunnelChildEnv) != "" {
				return serveTunnel(cmd.Context(), opts)
			}
			return runTunnel(cmd.Context(), opts)
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&opts.Type, "type", "socks", "Tunnel type, currently only \"socks\" is implemented")
	cmd.Flags().IntVar(&opts.SOCKSPort, "socks-port", 0, "SOCKS port, defaults to a random port")
	return cmd
}

// checkTunnelOptions refuses what Lima refuses, in its words.
func checkTunnelOptions(opts *TunnelOptions) error {
	if opts.Type != "socks" {
		return fmt.Errorf("unknown tunnel type: %q", opts.Type)
	}
	if opts.SOCKSPort != 0 && (opts.SOCKSPort < 1024 || opts.SOCKSPort > 65535) {
		return fmt.Errorf("invalid socks port %d", opts.SOCKSPort)
	}
	return nil
}

// runTunnel starts the proxy in a detached copy of this process (Lima runs `ssh -f -D`, which
// also returns once the tunnel is up) and prints the proxy settings.
func runTunnel(ctx context.Context, opts *TunnelOptions) error {
	if err := checkTunnelOptions(opts); err != nil {
		return err
	}
	inst, err := runningInstance(ctx, opts.IO, opts.Instance, false)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"tunnel", "--type", opts.Type, "--socks-port", strconv.Itoa(opts.SOCKSPort), inst.Name}
	if logrus.IsLevelEnabled(logrus.DebugLevel) {
		args = append([]string{"--debug"}, args...)
	}
	child := exec.Command(exe, args...)
	child.Env = append(os.Environ(), tunnelChildEnv+"=1")
	child.SysProcAttr = osutil.SysProcAttrDetached()
	// The child reports on its stdout ("ok PORT" or "error MESSAGE") and then closes it.
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	logrus.Debugf("starting the tunnel process: %v", child.Args)
	if err := child.Start(); err != nil {
		return err
	}
	port, err := readTunnelStatus(out, tunnelStartTimeout)
	if err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		return err
	}
	pid := child.Process.Pid
	// The child lives on; its exit status is nobody's business now.
	_ = child.Process.Release()
	printTunnelSettings(opts.IO.Out, runtime.GOOS, port, inst.Hostname)
	logrus.Infof("The tunnel runs as process %d (stop it with %s)", pid, killHint(pid))
	return nil
}

func killHint(pid int) string {
	if runtime.GOOS == "windows" {
		return fmt.Sprintf("`taskkill /PID %d`", pid)
	}
	return fmt.Sprintf("`kill %d`", pid)
}

// readTunnelStatus reads the child's one status line.
func readTunnelStatus(r io.Reader, timeout time.Duration) (int, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{line, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-time.After(timeout):
		return 0, fmt.Errorf("the tunnel did not come up within %v", timeout)
	}
	line := strings.TrimSpace(res.line)
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return 0, errors.New(msg)
	}
	if p, ok := strings.CutPrefix(line, "ok "); ok {
		port, err := strconv.Atoi(p)
		if err == nil {
			return port, nil
		}
	}
	if res.err != nil {
		return 0, fmt.Errorf("the tunnel process ended before the tunnel was up (run with --debug for details): %w", res.err)
	}
	return 0, fmt.Errorf("unexpected status from the tunnel process: %q", line)
}

// printTunnelSettings prints what to configure, in Lima's words.
func printTunnelSettings(w io.Writer, goos string, port int, hostname string) {
	switch goos {
	case "darwin":
		fmt.Fprint(w, "Open <System Settings> → <Network> → <Wi-Fi> (or whatever) → <Details> → <Proxies> → <SOCKS proxy>,\n")
		fmt.Fprint(w, "and specify the following configuration:\n")
		fmt.Fprint(w, "- Server: 127.0.0.1\n")
		fmt.Fprintf(w, "- Port: %d\n", port)
	case "windows":
		fmt.Fprint(w, "Open <Settings> → <Network & Internet> → <Proxy>,\n")
		fmt.Fprint(w, "and specify the following configuration:\n")
		fmt.Fprint(w, "- Address: socks=127.0.0.1\n")
		fmt.Fprintf(w, "- Port: %d\n", port)
	default:
		fmt.Fprintf(w, "Set `ALL_PROXY=socks5h://127.0.0.1:%d`, etc.\n", port)
	}
	fmt.Fprintf(w, "The instance can be connected from the host as <http://%s.internal> via a web browser.\n", hostname)
}

// serveTunnel is the detached process: it connects to the guest, listens, reports on stdout, and
// serves until the SSH connection ends or it is told to stop.
func serveTunnel(ctx context.Context, opts *TunnelOptions) error {
	status := os.Stdout
	fail := func(err error) error {
		fmt.Fprintf(status, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		status.Close()
		return err
	}
	if err := checkTunnelOptions(opts); err != nil {
		return fail(err)
	}
	inst, err := runningInstance(ctx, nil, opts.Instance, false)
	if err != nil {
		return fail(err)
	}
	client, err := dialInstance(ctx, inst)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.SOCKSPort)))
	if err != nil {
		return fail(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = client.Wait() // the guest went away (stopped, host agent gone)
		cancel()
	}()
	fmt.Fprintf(status, "ok %d\n", port)
	status.Close()
	return socks5.Serve(ctx, ln, func(ctx context.Context, addr string) (net.Conn, error) {
		return client.DialContext(ctx, "tcp", addr)
	})
}
