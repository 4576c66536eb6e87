package guestagent

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// tunnelHost plays the host end of the tunnel: it answers the guest's HELLO and returns a yamux
// client session.
func tunnelHost(t *testing.T, conn net.Conn) *yamux.Session {
	t.Helper()
	br := bufio.NewReader(conn)
	sc := api.LineScanner{R: br, Max: api.MaxTunnelLine}
	acked := ""
	for {
		line, err := sc.Next()
		if err != nil {
			t.Fatal(err)
		}
		w, n, ok := api.ParseTunnelLine(line)
		if ok && w == api.TunnelHello && acked == "" {
			acked = n
			if _, err := io.WriteString(conn, api.TunnelLine(api.TunnelAck, n)); err != nil {
				t.Fatal(err)
			}
		}
		if ok && w == api.TunnelReady && n == acked {
			break
		}
	}
	if br.Buffered() > 0 {
		t.Fatalf("the guest sent %d bytes after READY before the host spoke", br.Buffered())
	}
	sess, err := yamux.Client(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func ask(t *testing.T, sess *yamux.Session, req string) (string, net.Conn) {
	t.Helper()
	st, err := sess.Open()
	if err != nil {
		t.Fatal(err)
	}
	_ = st.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(st, req); err != nil {
		t.Fatal(err)
	}
	reply, err := api.ReadTunnelLine(st, api.MaxTunnelReply)
	if err != nil {
		t.Fatal(err)
	}
	return reply, st
}

// TestServeTunnelConn: the guest side dials what the host asks, answers errors as one line, and
// carries bytes both ways with half-close.
func TestServeTunnelConn(t *testing.T) {
	host, guest := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeTunnelConn(ctx, guest) }()
	defer func() { cancel(); <-done }()
	sess := tunnelHost(t, host)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		_, _ = io.WriteString(c, "got "+string(b))
		_ = c.Close()
	}()
	reply, st := ask(t, sess, "tcp "+ln.Addr().String()+"\n")
	if reply != "ok" {
		t.Fatalf("reply = %q, want ok", reply)
	}
	_, _ = io.WriteString(st, "hello")
	_ = st.Close() // yamux: half-close
	if b, err := io.ReadAll(st); err != nil || string(b) != "got hello" {
		t.Errorf("answer = %q, %v", b, err)
	}

	for req, want := range map[string]string{
		"udp 127.0.0.1:53\n":                        "error ",
		"tcp 127.0.0.1:1\n":                         "refused ",
		"\x00\x01" + strings.Repeat("x", 40) + "\n": "error ",
	} {
		if reply, st := ask(t, sess, req); !strings.HasPrefix(reply, want) {
			t.Errorf("request %q: reply %q, want %q...", req, reply, want)
		} else {
			_ = st.Close()
		}
	}
}

// TestTunnelStreamCap: past its limit of streams the guest answers with an error at once, and an
// abort of one of the streams that fill the slots is still carried out (else the host, which waits
// for the aborted stream to end, drops the session and every connection on it).
func TestTunnelStreamCap(t *testing.T) {
	hs, _ := serveTestSession(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	closed := make(chan struct{})
	go func() { // a guest server that never ends the connection on its own
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
		close(closed)
	}()
	reply, held := ask(t, hs, "tcp "+ln.Addr().String()+"\n") // takes the only slot
	if reply != "ok" {
		t.Fatalf("reply = %q, want ok", reply)
	}
	defer func() { _ = held.Close() }()
	if reply, _ := ask(t, hs, "tcp 127.0.0.1:1\n"); !strings.HasPrefix(reply, "error ") || !strings.Contains(reply, "connections already") {
		t.Errorf("a stream past the cap: reply %q, want the cap's error", reply)
	}
	id := held.(*yamux.Stream).StreamID()
	if reply, _ := ask(t, hs, api.TunnelAbortRequest(id)); reply != "ok" {
		t.Errorf("abort at the cap: reply %q, want ok", reply)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("the aborted stream's guest connection is still open")
	}
}

// serveTestSession serves a tunnel session in-process, with slots streams at once, and returns
// the host's yamux session and the guest's server.
func serveTestSession(t *testing.T, slots int) (*yamux.Session, *tunnelServer) {
	t.Helper()
	host, guest := net.Pipe()
	gs, err := yamux.Server(guest, guestYamuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := &tunnelServer{sem: make(chan struct{}, slots), live: map[uint32]io.Closer{}}
	go func() {
		defer srv.spares.close()
		for {
			st, err := gs.AcceptStream()
			if err != nil {
				return
			}
			go srv.serveStream(context.Background(), st)
		}
	}()
	hs, err := yamux.Client(host, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hs.Close(); _ = gs.Close() })
	return hs, srv
}
