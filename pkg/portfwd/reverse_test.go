package portfwd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// streamLocalServer is a minimal SSH server for reverse socket forwarding, which sshtest does not
// serve: it honours streamlocal-forward@openssh.com (listening on this machine) and runs "exec"
// sessions with sh -c.
func streamLocalServer(t *testing.T) ClientFunc {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveStreamLocal(c, cfg)
		}
	}()
	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return func(context.Context) (*ssh.Client, error) { return client, nil }
}

func serveStreamLocal(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer func() { _ = sc.Close() }()
	listeners := map[string]net.Listener{}
	go func() {
		for r := range reqs {
			var p struct{ SocketPath string }
			switch r.Type {
			case "streamlocal-forward@openssh.com":
				if ssh.Unmarshal(r.Payload, &p) != nil {
					_ = r.Reply(false, nil)
					continue
				}
				l, err := net.Listen("unix", p.SocketPath)
				if err != nil {
					_ = r.Reply(false, nil)
					continue
				}
				listeners[p.SocketPath] = l
				_ = r.Reply(true, nil)
				go func(path string) {
					for {
						conn, err := l.Accept()
						if err != nil {
							return
						}
						ch, creqs, err := sc.OpenChannel("forwarded-streamlocal@openssh.com", ssh.Marshal(struct{ SocketPath, Reserved string }{path, ""}))
						if err != nil {
							_ = conn.Close()
							continue
						}
						go ssh.DiscardRequests(creqs)
						go func() { _, _ = io.Copy(ch, conn); _ = ch.CloseWrite() }()
						go func() { _, _ = io.Copy(conn, ch); _ = conn.Close() }()
					}
				}(p.SocketPath)
			case "cancel-streamlocal-forward@openssh.com":
				if ssh.Unmarshal(r.Payload, &p) == nil && listeners[p.SocketPath] != nil {
					_ = listeners[p.SocketPath].Close()
				}
				_ = r.Reply(true, nil)
			default:
				_ = r.Reply(false, nil)
			}
		}
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer func() { _ = ch.Close() }()
			for r := range creqs {
				if r.Type != "exec" {
					_ = r.Reply(false, nil)
					continue
				}
				var p struct{ Command string }
				_ = ssh.Unmarshal(r.Payload, &p)
				_ = r.Reply(true, nil)
				cmd := exec.Command("sh", "-c", p.Command)
				cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
				status := 0
				if err := cmd.Run(); err != nil {
					status = 1
				}
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
				return
			}
		}()
	}
}

func TestReverseUnix(t *testing.T) {
	reverseRetry = 10 * time.Millisecond
	client := streamLocalServer(t)
	dir := t.TempDir()
	hostSock := filepath.Join(dir, "host.sock")
	ln, err := net.Listen("unix", hostSock)
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, ln)
	// The guest socket's directory does not exist yet, and a stale file sits in the second run's way.
	guestSock := filepath.Join(dir, "run", "guest.sock")
	for i := 0; i < 2; i++ {
		f := ReverseUnix(context.Background(), guestSock, hostSock, client)
		var c net.Conn
		for {
			c, err = net.Dial("unix", guestSock)
			if err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = c.Close()
		roundTrip(t, "unix", guestSock, "reverse")
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		// Leave a stale socket file behind, as a crashed guest process would.
		stale, err := net.Listen("unix", guestSock)
		if err != nil {
			t.Fatal(err)
		}
		stale.(*net.UnixListener).SetUnlinkOnClose(false)
		_ = stale.Close()
	}
}
