package sshtest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func dialServer(t *testing.T, s *Server) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(s.ClientSigner)},
		HostKeyCallback: ssh.FixedHostKey(s.HostSigner.PublicKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoServer accepts connections on ln and echoes one line back.
func echoServer(t *testing.T, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "echo: "+line)
			}()
		}
	}()
}

func TestForwarding(t *testing.T) {
	s := Start(t, Options{})
	c := dialServer(t, s)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, tcp)
	sock := filepath.Join(t.TempDir(), "s.sock")
	unix, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, unix)
	for _, tt := range []struct{ network, addr string }{{"tcp", tcp.Addr().String()}, {"unix", sock}} {
		conn, err := c.Dial(tt.network, tt.addr)
		if err != nil {
			t.Fatalf("%s: %v", tt.network, err)
		}
		if _, err := io.WriteString(conn, "hi\n"); err != nil {
			t.Fatal(err)
		}
		got, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || got != "echo: hi\n" {
			t.Errorf("%s forward: %q, %v", tt.network, got, err)
		}
		conn.Close()
	}
	if ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil); !ok || err != nil {
		t.Errorf("keepalive: %v, %v", ok, err)
	}
}

func TestExec(t *testing.T) {
	s := Start(t, Options{})
	c := dialServer(t, s)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo $HOME; exit 5")
	var ee *ssh.ExitError
	if string(out) != s.Home+"\n" || !errors.As(err, &ee) || ee.ExitStatus() != 5 {
		t.Errorf("exec: %q, %v", out, err)
	}
}
