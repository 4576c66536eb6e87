package portfwd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent/sockets"

	"github.com/limactl/limactl/pkg/guestagent"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

const agentEnv = "PORTFWD_TEST_GUESTAGENT"

// TestMain doubles as the guest's lima-guestagent (`stdio`, `udp-relay ADDR`) when agentEnv is
// set: the fake SSH server runs commands on this machine.
func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) != "" {
		args := os.Args[len(os.Args)-2:]
		var err error
		switch {
		case args[1] == "stdio":
			a := guestagent.New(sockets.Scan, 50*time.Millisecond)
			go func() { _ = a.Run(context.Background()) }()
			err = a.ServeConn(context.Background(), stdio{})
		case args[0] == "udp-relay":
			err = guestagent.UDPRelay(context.Background(), args[1], os.Stdin, os.Stdout)
		default:
			err = fmt.Errorf("unknown guest agent command %q", args)
		}
		if err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return nil }

// fakeGuestAgent writes a script standing for lima-guestagent in the fake guest: this test binary
// in agent mode.
func fakeGuestAgent(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lima-guestagent")
	script := "#!/bin/sh\nexec env " + agentEnv + "=1 " + sshutil.ShellQuote(os.Args[0]) + " -test.run='^$' \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// testRelay is the relay command for the fake guest.
func testRelay(t testing.TB) func(string) string {
	agent := fakeGuestAgent(t)
	return func(guestAddr string) string { return RelayCommand(agent, guestAddr) }
}

// guest starts a fake guest and returns a ClientFunc connected to it.
func guest(t testing.TB) ClientFunc {
	t.Helper()
	srv := sshtest.Start(t, sshtest.Options{})
	cfg := &ssh.ClientConfig{
		User:            "u",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(srv.ClientSigner)},
		HostKeyCallback: ssh.FixedHostKey(srv.HostSigner.PublicKey()),
	}
	c, err := ssh.Dial("tcp", srv.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return func(context.Context) (*ssh.Client, error) { return c, nil }
}

// echoTCP serves "echo:" + each line on a TCP or Unix listener.
func echoStream(t testing.TB, ln net.Listener) {
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_, _ = io.Copy(c, io.MultiReader(strings.NewReader("echo:"), c))
			}()
		}
	}()
}

func roundTrip(t *testing.T, network, addr, msg string) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "echo:"+msg {
		t.Errorf("through %s: got %q, want %q", addr, got, "echo:"+msg)
	}
}

func TestForwardTCP(t *testing.T) {
	client := guest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, ln)
	f, err := ForwardTCP(context.Background(), "127.0.0.1:0", ln.Addr().String(), client, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 1<<20)} {
		roundTrip(t, "tcp", f.Addr(), msg)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", f.Addr()); err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts after Close", f.Addr())
	}
}

func TestForwardTCPGuestNotListening(t *testing.T) {
	client := guest(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	_ = ln.Close()
	f, err := ForwardTCP(context.Background(), "127.0.0.1:0", dead, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	c, err := net.Dial("tcp", f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// The forwarder closes the connection: the read ends instead of hanging.
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Errorf("read %d bytes from a forward to a closed guest port", n)
	}
}

func TestForwardUDP(t *testing.T) {
	client := guest(t)
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = echo.Close() }()
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = echo.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	f, err := ForwardUDP(context.Background(), "127.0.0.1:0", echo.LocalAddr().String(), client, testRelay(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	// Two host peers get their own replies.
	for _, peer := range []string{"a", "b"} {
		c, err := net.Dial("udp", f.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		buf := make([]byte, 65535)
		for i, msg := range []string{peer + "1", peer + "2", strings.Repeat(peer, 60000)} {
			if _, err := c.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("peer %s datagram %d: %v", peer, i, err)
			}
			if got := string(buf[:n]); got != "echo:"+msg {
				t.Errorf("peer %s datagram %d: got %d bytes %.20q, want %.20q", peer, i, n, got, "echo:"+msg)
			}
		}
	}
}

func TestForwardUnix(t *testing.T) {
	client := guest(t)
	dir := t.TempDir()
	guestSock := filepath.Join(dir, "guest.sock")
	ln, err := net.Listen("unix", guestSock)
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, ln)
	hostSock := filepath.Join(dir, "sock", "host.sock")
	// A stale socket file from an earlier run is replaced.
	if err := os.MkdirAll(filepath.Dir(hostSock), 0o700); err != nil {
		t.Fatal(err)
	}
	stale, err := net.Listen("unix", hostSock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = stale.Close()
	f, err := ForwardUnix(context.Background(), hostSock, guestSock, client)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	roundTrip(t, "unix", hostSock, "over a socket")

	// A regular file in the way is an error, not silently deleted.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := ForwardUnix(context.Background(), file, guestSock, client); err == nil {
		_ = f.Close()
		t.Error("ForwardUnix over a regular file succeeded")
	}
}

// BenchmarkTCPForward compares a loopback TCP stream through the forwarder (SSH direct-tcpip to the
// fake guest, which connects on to the sink) with the same stream straight to the sink.
func BenchmarkTCPForward(b *testing.B) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sink.Close() }()
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				_, _ = c.Write([]byte{byte(n)})
				_ = c.Close()
			}()
		}
	}()
	client := guest(b)
	f, err := ForwardTCP(context.Background(), "127.0.0.1:0", sink.Addr().String(), client, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	const size = 32 << 20
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	send := func(b *testing.B, addr string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if _, err := io.ReadAll(c); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct{ name, addr string }{{"direct", sink.Addr().String()}, {"forwarded", f.Addr()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				send(b, bc.addr)
			}
		})
	}
}
