package portfwd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent"
	"github.com/limactl/limactl/pkg/guestagent/api"
)

// fakeSerial stands for a virtio-serial port: the host end (dialHost, QEMU's chardev socket) and the
// guest end (openGuest, /dev/virtio-ports/NAME) come and go independently. As with the real port,
// the host end stays connected when the guest closes its end; a guest read returns EOF while no
// host is connected and a guest write waits for one; and bytes the host sent that no guest read
// yet reach the next opener.
type fakeSerial struct {
	mu      sync.Mutex
	cond    *sync.Cond
	host    net.Conn // the broker's side of the current host connection
	toGuest []byte
	// noEOF: the guest does not see the host go (it came back before the guest read).
	noEOF bool
	// pumped counts the bytes the host sent through the port.
	pumped atomic.Int64
}

func (f *fakeSerial) init() {
	f.mu.Lock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	f.mu.Unlock()
}

func (f *fakeSerial) dialHost(t testing.TB) func(context.Context) (net.Conn, error) {
	f.init()
	return func(ctx context.Context) (net.Conn, error) {
		mine, broker := socketPair(t)
		f.mu.Lock()
		if f.host != nil {
			f.mu.Unlock()
			_ = mine.Close()
			_ = broker.Close()
			return nil, errors.New("the chardev has a client already")
		}
		f.host = broker
		f.cond.Broadcast()
		f.mu.Unlock()
		go f.pump(broker)
		return mine, nil
	}
}

// pump moves what the host writes into the guest's queue (at most 1 MiB waits there).
func (f *fakeSerial) pump(broker net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := broker.Read(buf)
		f.mu.Lock()
		for len(f.toGuest) > 1<<20 && f.host == broker {
			f.cond.Wait()
		}
		f.toGuest = append(f.toGuest, buf[:n]...)
		f.pumped.Add(int64(n))
		if err != nil && f.host == broker {
			f.host = nil
		}
		f.cond.Broadcast()
		f.mu.Unlock()
		if err != nil {
			_ = broker.Close()
			return
		}
	}
}

func (f *fakeSerial) openGuest(t testing.TB) guestagent.PortOpener {
	f.init()
	return func() (io.ReadWriteCloser, error) { return &fakeGuestPort{f: f}, nil }
}

// fakeGuestPort is one open of the guest end.
type fakeGuestPort struct {
	f      *fakeSerial
	closed bool // under f.mu
}

func (p *fakeGuestPort) Read(b []byte) (int, error) {
	f := p.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.toGuest) == 0 {
		switch {
		case p.closed:
			return 0, net.ErrClosed
		case f.host == nil && !f.noEOF:
			return 0, io.EOF
		}
		f.cond.Wait()
	}
	if p.closed {
		return 0, net.ErrClosed
	}
	n := copy(b, f.toGuest)
	f.toGuest = f.toGuest[n:]
	f.cond.Broadcast()
	return n, nil
}

func (p *fakeGuestPort) Write(b []byte) (int, error) {
	f := p.f
	f.mu.Lock()
	for f.host == nil && !p.closed {
		f.cond.Wait()
	}
	h, closed := f.host, p.closed
	f.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	_, _ = h.Write(b) // if the host went away meanwhile, the bytes are lost, as in a real port
	return len(b), nil
}

func (p *fakeGuestPort) Close() error {
	p.f.mu.Lock()
	p.closed = true
	p.f.cond.Broadcast()
	p.f.mu.Unlock()
	return nil
}

// hashServer answers each connection, once its client half-closed, with the number and SHA-256 of
// the bytes it read. It returns its address.
func hashServer(t testing.TB) string {
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
			go func() {
				defer func() { _ = c.Close() }()
				h := sha256.New()
				n, _ := io.Copy(h, c)
				_, _ = fmt.Fprintf(c, "%d %x\n", n, h.Sum(nil))
			}()
		}
	}()
	return ln.Addr().String()
}

func hashOf(b []byte) string { return fmt.Sprintf("%d %x\n", len(b), sha256.Sum256(b)) }

// sendHalfClose writes data to c, half-closes, and returns everything read back.
func sendHalfClose(t testing.TB, c net.Conn, data []byte) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		_, _ = c.Write(data)
		_ = c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return string(got)
}

// startTunnel runs a Tunnel over dial until the test ends.
func startTunnel(t testing.TB, dial func(context.Context) (net.Conn, error)) *Tunnel {
	ctx, cancel := context.WithCancel(context.Background())
	tun := NewTunnel(dial)
	done := make(chan struct{})
	go func() { defer close(done); _ = tun.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return tun
}

func waitUntil(t testing.TB, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// realGuest runs the real guest agent's tunnel on f until the returned cancel.
func realGuest(t testing.TB, f *fakeSerial) context.CancelFunc {
	return realGuestRings(t, f, func() [][]byte { return nil })
}

// realGuestRings is realGuest with shared memory regions for the guest to look in.
func realGuestRings(t testing.TB, f *fakeSerial, rings func() [][]byte) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = guestagent.ServeTunnelRings(ctx, f.openGuest(t), rings) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return sync.OnceFunc(stop)
}

// noSSH is a ClientFunc that counts its calls and fails: a connection that works did not use SSH.
func noSSH(calls *atomic.Int32) ClientFunc {
	return func(context.Context) (*ssh.Client, error) {
		calls.Add(1)
		return nil, errors.New("no SSH in this test")
	}
}

// TestTunnelRoundTrip: the real guest-agent code carries a forwarded connection, with half-close,
// and SSH is not used.
func TestTunnelRoundTrip(t *testing.T) {
	f := &fakeSerial{}
	realGuest(t, f)
	tun := startTunnel(t, f.dialHost(t))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	forwardRoundTrips(t, tun, bytes.Repeat([]byte("0123456789abcdef"), 300<<10)) // 4.8 MB: several windows
}

// forwardRoundTrips sends data through a forward of tun three times, half-closing each time, and
// checks the answers; SSH must not be used.
func forwardRoundTrips(t *testing.T, tun *Tunnel, data []byte) {
	t.Helper()
	var sshCalls atomic.Int32
	fw, err := ForwardTCP(context.Background(), "127.0.0.1:0", hashServer(t), noSSH(&sshCalls), tun)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fw.Close() }()
	for range 3 {
		c, err := net.Dial("tcp", fw.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sendHalfClose(t, c, data), hashOf(data); got != want {
			t.Errorf("through the tunnel: got %q, want %q", got, want)
		}
		_ = c.Close()
	}
	if n := sshCalls.Load(); n != 0 {
		t.Errorf("SSH was asked for %d times; every connection should have used the tunnel", n)
	}
}

// TestTunnelRefused: a guest port nobody listens on fails the connection, as SSH would, without
// falling back to SSH.
func TestTunnelRefused(t *testing.T) {
	f := &fakeSerial{}
	realGuest(t, f)
	tun := startTunnel(t, f.dialHost(t))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	_ = ln.Close()
	_, err := tun.DialGuest(context.Background(), "tcp", dead)
	if !errors.Is(err, api.ErrTunnelRefused) {
		t.Fatalf("DialGuest to a closed port: %v, want ErrTunnelRefused", err)
	}
	var sshCalls atomic.Int32
	fw, err := ForwardTCP(context.Background(), "127.0.0.1:0", dead, noSSH(&sshCalls), tun)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fw.Close() }()
	c, err := net.Dial("tcp", fw.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("a refused guest dial: read %d bytes, %v; want the connection closed", n, err)
	}
	_ = c.Close()
	if n := sshCalls.Load(); n != 0 {
		t.Errorf("a refused tunnel dial fell back to SSH (%d calls)", n)
	}
	if !tun.Up() {
		t.Error("a refused dial took the tunnel down")
	}
}

// TestTunnelFallsBackToSSH: with no session (here a guest that says HELLO and never READY), TCP
// forwards go over SSH.
func TestTunnelFallsBackToSSH(t *testing.T) {
	host, g := socketPair(t)
	defer func() { _ = g.Close() }()
	go func() { // HELLO, and then nothing but reading
		_, _ = io.WriteString(g, api.TunnelLine(api.TunnelHello, strings.Repeat("ab", 16)))
		_, _ = io.Copy(io.Discard, g)
	}()
	var once atomic.Bool
	tun := startTunnel(t, func(ctx context.Context) (net.Conn, error) {
		if once.Swap(true) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return host, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, ln)
	fw, err := ForwardTCP(context.Background(), "127.0.0.1:0", ln.Addr().String(), guest(t), tun)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fw.Close() }()
	roundTrip(t, "tcp", fw.Addr(), "over ssh")
	if tun.Up() {
		t.Error("the tunnel is up without READY")
	}
}

// TestTunnelGuestAgentRestarts: the guest agent restarts in the middle of a transfer (the host end
// of the port stays connected, and reads the new agent's HELLO where it expects yamux frames). The
// transfer fails instead of hanging, and the tunnel comes back.
func TestTunnelGuestAgentRestarts(t *testing.T) {
	// The old session may be in the middle of a frame that the new agent's HELLOs fill: only the
	// keepalive ends it then. Shorten it.
	defer func(k, w time.Duration) { tunnelKeepAlive, tunnelWriteTimeout = k, w }(tunnelKeepAlive, tunnelWriteTimeout)
	tunnelKeepAlive, tunnelWriteTimeout = time.Second, 5*time.Second
	f := &fakeSerial{}
	stop := realGuest(t, f)
	tun := startTunnel(t, f.dialHost(t))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)

	// A server that sends forever.
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
		defer func() { _ = c.Close() }()
		chunk := make([]byte, 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c, err := tun.DialGuest(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	stop()
	realGuest(t, f) // the new guest agent
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, c); copied <- err }()
	select {
	case <-copied:
	case <-time.After(30 * time.Second):
		t.Fatal("a transfer through the old session still runs 30 s after the guest agent restarted")
	}
	_ = c.Close()
	waitUntil(t, "a second session", 30*time.Second, func() bool { return tun.ups.Load() >= 2 && tun.Up() })
	srv := hashServer(t)
	waitUntil(t, "a stream through the new session", 30*time.Second, func() bool {
		c, err = tun.DialGuest(context.Background(), "tcp", srv)
		return err == nil
	})
	defer func() { _ = c.Close() }()
	if got, want := sendHalfClose(t, c, []byte("after restart")), hashOf([]byte("after restart")); got != want {
		t.Errorf("after the restart: got %q, want %q", got, want)
	}
}

// TestTunnelHostAgentRestarts: a new host agent (a new Tunnel on a new connection to the port)
// finds the guest agent that served the old one.
func TestTunnelHostAgentRestarts(t *testing.T) {
	f := &fakeSerial{}
	second := restartHost(t, f, 20*time.Second)
	c, err := second.DialGuest(context.Background(), "tcp", hashServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got, want := sendHalfClose(t, c, []byte("second host")), hashOf([]byte("second host")); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestTunnelAbort: a host client that goes away in the middle of a download ends the guest's
// connection too (yamux v0.1.2 has no reset: the host asks the guest agent to abort).
func TestTunnelAbort(t *testing.T) {
	f := &fakeSerial{}
	realGuest(t, f)
	tun := startTunnel(t, f.dialHost(t))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	serverDone := make(chan struct{})
	go func() {
		defer close(serverDone)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		chunk := make([]byte, 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c, err := tun.DialGuest(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	select {
	case <-serverDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the guest's connection still runs 10 s after the host closed its stream")
	}
	waitUntil(t, "the stream's slot to be free", 10*time.Second, func() bool { return len(tun.streams) == 0 })
	if !tun.Up() {
		t.Error("an abort took the tunnel down")
	}
}

// hostileGuest is a hand-made guest end: it speaks the handshake, then writes what a test wants.
type hostileGuest struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// newHostile returns a Tunnel whose only connection is to a hostile guest.
func newHostile(t testing.TB) (*Tunnel, *hostileGuest) {
	return newHostileWrap(t, func(c net.Conn) net.Conn { return c })
}

// newHostileWrap is newHostile with the host's end of the port passed through wrap.
func newHostileWrap(t testing.TB, wrap func(net.Conn) net.Conn) (*Tunnel, *hostileGuest) {
	host, g := socketPair(t)
	t.Cleanup(func() { _ = g.Close() })
	var once atomic.Bool
	tun := startTunnel(t, func(ctx context.Context) (net.Conn, error) {
		if once.Swap(true) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return wrap(host), nil
	})
	return tun, &hostileGuest{t: t, conn: g, br: bufio.NewReader(g)}
}

// handshake says HELLO and READY like the real guest, and returns once the host acknowledged.
func (h *hostileGuest) handshake(nonce string) {
	h.t.Helper()
	h.handshakeWord(nonce, api.TunnelReady)
}

// handshakeWord is handshake answering the ACK with word (READY or READYSHM).
func (h *hostileGuest) handshakeWord(nonce, word string) {
	h.t.Helper()
	if _, err := io.WriteString(h.conn, api.TunnelLine(api.TunnelHello, nonce)); err != nil {
		h.t.Fatal(err)
	}
	sc := api.LineScanner{R: h.br, Max: api.MaxTunnelLine}
	for {
		line, err := sc.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		if w, n, ok := api.ParseTunnelLine(line); ok && w == api.TunnelAck && n == nonce {
			break
		}
	}
	if _, err := io.WriteString(h.conn, api.TunnelLine(word, nonce)); err != nil {
		h.t.Fatal(err)
	}
}

// frame is a yamux frame header.
func frame(typ byte, flags uint16, id, length uint32) []byte {
	b := make([]byte, 12)
	b[1] = typ
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint32(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], length)
	return b
}

const nonceA = "0123456789abcdef0123456789abcdef"

// TestTunnelHostileGuest plays guests that try to hurt the host through the tunnel. Each must end
// in a session the host dropped (or never started), with the host agent's goroutines and memory
// bounded, and forwards falling back to SSH.
func TestTunnelHostileGuest(t *testing.T) {
	for _, tc := range []struct {
		name string
		// data is what the guest writes after the handshake (or instead of it, with up false).
		data func() []byte
		up   bool // the handshake completes before the trick
		// staysUp: yamux takes the trick in its stride (with bounded memory); the session may stay.
		staysUp bool
	}{
		{"FramesForUnknownStreams", func() []byte {
			var b []byte
			for id := range uint32(5000) {
				b = append(b, frame(yamuxTypeData, 0, id*2+1, 1000)...)
				b = append(b, bytes.Repeat([]byte("u"), 1000)...)
				b = append(b, frame(yamuxTypeWindow, 8 /* RST */, id*2+2, 1<<30)...)
			}
			return b
		}, true, true},
		{"OpensStreams", func() []byte {
			var b []byte
			for id := uint32(2); id < 2000; id += 2 {
				b = append(b, frame(yamuxTypeWindow, yamuxFlagSYN, id, 0)...)
			}
			return b
		}, true, false},
		{"OpensStreamsWithData", func() []byte {
			return append(frame(yamuxTypeData, yamuxFlagSYN, 2, 4), "evil"...)
		}, true, false},
		{"PingFlood", func() []byte {
			var b []byte
			for i := range uint32(100000) {
				b = append(b, frame(yamuxTypePing, yamuxFlagSYN, 0, i)...)
			}
			return b
		}, true, false},
		{"HugeFrame", func() []byte {
			return frame(yamuxTypeData, 0, 1, 0xffffffff)
		}, true, false},
		{"BadVersion", func() []byte {
			return []byte{9, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}
		}, true, false},
		{"GoAway", func() []byte {
			return frame(yamuxTypeGoAway, 0, 0, 0)
		}, true, false},
		{"GoAwayProtocolError", func() []byte {
			return frame(yamuxTypeGoAway, 0, 0, 1)
		}, true, false},
		{"GarbageNoNewline", func() []byte {
			return bytes.Repeat([]byte("x"), 16<<20)
		}, false, false},
		{"GarbageLongLines", func() []byte {
			return bytes.Repeat([]byte(strings.Repeat(api.TunnelMagic+" HELLO ", 1000)+"\n"), 1000)
		}, false, false},
		{"HelloFloodNeverReady", func() []byte {
			var b []byte
			for i := range 200000 {
				b = append(b, api.TunnelLine(api.TunnelHello, fmt.Sprintf("%032x", i))...)
			}
			return b
		}, false, false},
		{"ReadyWithoutAck", func() []byte {
			return []byte(api.TunnelLine(api.TunnelReady, nonceA))
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.data() // made before measuring: the guest's buffer is not the host's memory
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			baseG := runtime.NumGoroutine()
			tun, h := newHostile(t)
			if tc.up {
				h.handshake(nonceA)
				waitUntil(t, "the session", 10*time.Second, tun.Up)
			}
			go func() { _, _ = io.Copy(io.Discard, h.br) }() // read the host's output (ACKs, pings)
			played := make(chan struct{})
			go func() { defer close(played); _, _ = h.conn.Write(payload) }()
			maxG, maxHeap := 0, uint64(0)
			var ms runtime.MemStats
			watch := time.Second
			if tc.up {
				watch = 5 * time.Second
			}
			deadline := time.Now().Add(watch)
			for time.Now().Before(deadline) {
				maxG = max(maxG, runtime.NumGoroutine())
				runtime.ReadMemStats(&ms)
				maxHeap = max(maxHeap, ms.HeapInuse)
				if tc.up && !tc.staysUp && !tun.Up() {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tun.Up() && !tc.staysUp {
				t.Error("the session is still up")
			}
			if maxG > baseG+200 {
				t.Errorf("goroutines grew from %d to %d", baseG, maxG)
			}
			if grow := int64(maxHeap) - int64(before.HeapInuse); grow > 16<<20 {
				t.Errorf("the heap grew by up to %d MB", grow>>20)
			}
			_ = h.conn.Close()
			<-played
			// Forwards fall back to SSH.
			if !tc.staysUp {
				_, err := tun.DialGuest(context.Background(), "tcp", "127.0.0.1:1")
				if !errors.Is(err, ErrTunnelDown) {
					t.Errorf("DialGuest without a session: %v, want ErrTunnelDown", err)
				}
			}
		})
	}
}

// TestTunnelGarbageAfterHello: leftovers between the guest's HELLO and its READY (here a long run
// without a newline) are skipped, and the session starts at READY.
func TestTunnelGarbageAfterHello(t *testing.T) {
	tun, h := newHostile(t)
	if _, err := io.WriteString(h.conn, api.TunnelLine(api.TunnelHello, nonceA)); err != nil {
		t.Fatal(err)
	}
	sc := api.LineScanner{R: h.br, Max: api.MaxTunnelLine}
	for {
		line, err := sc.Next()
		if err != nil {
			t.Fatal(err)
		}
		if w, n, ok := api.ParseTunnelLine(line); ok && w == api.TunnelAck && n == nonceA {
			break
		}
	}
	junk := append(bytes.Repeat([]byte{0, 1, 2, 0xff}, 50<<10), api.TunnelLine(api.TunnelReady, strings.Repeat("e", 32))...)
	if _, err := h.conn.Write(append(junk, api.TunnelLine(api.TunnelReady, nonceA)...)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the session", 10*time.Second, tun.Up)
}

// TestTunnelWindowOverrun: a guest that sends more than a stream's window ends the session.
func TestTunnelWindowOverrun(t *testing.T) {
	tun, h := newHostile(t)
	h.handshake(nonceA)
	waitUntil(t, "the session", 10*time.Second, tun.Up)
	// Answer the host's stream like a guest would, then overrun it.
	go func() {
		hdr := make([]byte, 12)
		for {
			if _, err := io.ReadFull(h.br, hdr); err != nil {
				return
			}
			typ, id, n := hdr[1], binary.BigEndian.Uint32(hdr[4:]), binary.BigEndian.Uint32(hdr[8:])
			if typ == yamuxTypeData && n > 0 {
				_, _ = io.CopyN(io.Discard, h.br, int64(n))
				reply := append(frame(yamuxTypeData, 2 /* ACK */, id, 3), "ok\n"...)
				chunk := bytes.Repeat([]byte("z"), int(tunnelWindow))
				reply = append(reply, append(frame(yamuxTypeData, 0, id, tunnelWindow), chunk...)...)
				reply = append(reply, append(frame(yamuxTypeData, 0, id, tunnelWindow), chunk...)...)
				_, _ = h.conn.Write(reply)
			}
		}
	}()
	c, err := tun.DialGuest(context.Background(), "tcp", "127.0.0.1:80")
	if err == nil {
		defer func() { _ = c.Close() }()
	}
	waitUntil(t, "the session to end", 10*time.Second, func() bool { return !tun.Up() })
}

// TestTunnelGuestNeverAnswers: a guest that completes the handshake and then stays silent (no
// answer to pings, none to a stream's request) loses its session; the stream's dial fails.
func TestTunnelGuestNeverAnswers(t *testing.T) {
	defer func(k, w, o time.Duration) { tunnelKeepAlive, tunnelWriteTimeout, tunnelOpenTimeout = k, w, o }(tunnelKeepAlive, tunnelWriteTimeout, tunnelOpenTimeout)
	tunnelKeepAlive, tunnelWriteTimeout, tunnelOpenTimeout = 100*time.Millisecond, 500*time.Millisecond, time.Second
	tun, h := newHostile(t)
	h.handshake(nonceA)
	waitUntil(t, "the session", 10*time.Second, tun.Up)
	go func() { _, _ = io.Copy(io.Discard, h.br) }()
	start := time.Now()
	if _, err := tun.DialGuest(context.Background(), "tcp", "127.0.0.1:80"); err == nil || errors.Is(err, api.ErrTunnelRefused) {
		t.Errorf("DialGuest to a silent guest: %v, want a failure that falls back to SSH", err)
	}
	waitUntil(t, "the session to end", 10*time.Second, func() bool { return !tun.Up() })
	t.Logf("dropped after %v", time.Since(start).Round(time.Millisecond))
}

// TestTunnelGarbageBeforeHello: leftovers before the HELLO (an old session's frames, a long line)
// do not stop the handshake.
func TestTunnelGarbageBeforeHello(t *testing.T) {
	host, g := socketPair(t)
	defer func() { _ = g.Close() }()
	var once atomic.Bool
	tun := startTunnel(t, func(ctx context.Context) (net.Conn, error) {
		if once.Swap(true) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return host, nil
	})
	garbage := append(frame(yamuxTypeData, 0, 7, 5), "\x00\xff\n\n"...)
	garbage = append(garbage, bytes.Repeat([]byte("y"), 100<<10)...)
	garbage = append(garbage, "\n"+api.TunnelMagic+" ACK "+nonceA+"\n"...)
	if _, err := g.Write(garbage); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = guestagent.ServeTunnelConn(ctx, g) }()
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	c, err := tun.DialGuest(context.Background(), "tcp", hashServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got, want := sendHalfClose(t, c, []byte("x")), hashOf([]byte("x")); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// BenchmarkTunnelForward compares a forwarded connection through the tunnel (yamux over a
// socketpair, the real guest-agent code in-process) with one through SSH (the in-process fake
// sshd), both to a sink on loopback. It measures the host-side cost of each path, not a guest's
// CPU: under TCG the guest's share dominates.
func BenchmarkTunnelForward(b *testing.B) {
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
	host, g := socketPair(b) // a socketpair stands for the port: no broker in between
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = guestagent.ServeTunnelConn(ctx, g) }()
	var once atomic.Bool
	tun := startTunnel(b, func(ctx context.Context) (net.Conn, error) {
		if once.Swap(true) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return host, nil
	})
	waitUntil(b, "the tunnel", 10*time.Second, tun.Up)
	viaSSH, err := ForwardTCP(context.Background(), "127.0.0.1:0", sink.Addr().String(), guest(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = viaSSH.Close() }()
	viaTunnel, err := ForwardTCP(context.Background(), "127.0.0.1:0", sink.Addr().String(), nil, tun)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = viaTunnel.Close() }()
	const size = 32 << 20
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	for _, bc := range []struct{ name, addr string }{{"ssh", viaSSH.Addr()}, {"tunnel", viaTunnel.Addr()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				c, err := net.Dial("tcp", bc.addr)
				if err != nil {
					b.Fatal(err)
				}
				for sent := 0; sent < size; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						b.Fatal(err)
					}
				}
				_ = c.(*net.TCPConn).CloseWrite()
				if _, err := io.ReadAll(c); err != nil {
					b.Fatal(err)
				}
				_ = c.Close()
			}
		})
	}
}

// TestTunnelConcurrentOpens: streams opened at once reach the guest at once; one the guest is slow
// to answer does not hold up the others' SYNs (yamux bounds SYNs in flight by AcceptBacklog).
func TestTunnelConcurrentOpens(t *testing.T) {
	tun, h := newHostile(t)
	h.handshake(nonceA)
	waitUntil(t, "the session", 10*time.Second, tun.Up)
	var syns atomic.Int32
	go func() { // a guest that sees the SYNs and answers none of them
		hdr := make([]byte, 12)
		for {
			if _, err := io.ReadFull(h.br, hdr); err != nil {
				return
			}
			flags, n := binary.BigEndian.Uint16(hdr[2:]), binary.BigEndian.Uint32(hdr[8:])
			if flags&yamuxFlagSYN != 0 && hdr[1] != yamuxTypePing {
				syns.Add(1)
			}
			if hdr[1] == yamuxTypeData {
				_, _ = io.CopyN(io.Discard, h.br, int64(n))
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for range 3 {
		go func() {
			if c, err := tun.DialGuest(ctx, "tcp", "127.0.0.1:80"); err == nil {
				_ = c.Close()
			}
		}()
	}
	waitUntil(t, "three SYNs", 5*time.Second, func() bool { return syns.Load() == 3 })
}

// TestTunnelDropWarningsLimited: a guest that comes back only to misbehave again, as fast as the
// backoff lets it, does not fill the host agent's log with one warning per session.
func TestTunnelDropWarningsLimited(t *testing.T) {
	defer func(lo, hi time.Duration) { tunnelMinBackoff, tunnelMaxBackoff = lo, hi }(tunnelMinBackoff, tunnelMaxBackoff)
	tunnelMinBackoff, tunnelMaxBackoff = time.Millisecond, time.Millisecond
	hook := logtest.NewGlobal()
	defer hook.Reset()
	var sessions atomic.Int32
	startTunnel(t, func(ctx context.Context) (net.Conn, error) {
		host, g := socketPair(t)
		go func() {
			defer func() { _ = g.Close() }()
			h := &hostileGuest{t: t, conn: g, br: bufio.NewReader(g)}
			_, _ = io.WriteString(g, api.TunnelLine(api.TunnelHello, nonceA))
			sc := api.LineScanner{R: h.br, Max: api.MaxTunnelLine}
			for {
				line, err := sc.Next()
				if err != nil {
					return
				}
				if w, n, ok := api.ParseTunnelLine(line); ok && w == api.TunnelAck && n == nonceA {
					break
				}
			}
			_, _ = io.WriteString(g, api.TunnelLine(api.TunnelReady, nonceA))
			_, _ = g.Write(frame(yamuxTypeGoAway, 0, 0, 0))
			sessions.Add(1)
			_, _ = io.Copy(io.Discard, h.br)
		}()
		return host, nil
	})
	waitUntil(t, "20 sessions", 20*time.Second, func() bool { return sessions.Load() >= 20 })
	warnings := 0
	for _, e := range hook.AllEntries() {
		if e.Level <= logrus.WarnLevel {
			warnings++
		}
	}
	if warnings > 5 {
		t.Errorf("%d warnings for %d sessions the guest ended, want at most 5", warnings, sessions.Load())
	}
}

// TestTunnelStreamReset: a stream the guest resets (yamux does when its accept backlog is full)
// fails that connection only; the host does not take the reset for a guest that keeps an aborted
// stream open, and the session stays.
func TestTunnelStreamReset(t *testing.T) {
	tun, h := newHostile(t)
	h.handshake(nonceA)
	waitUntil(t, "the session", 10*time.Second, tun.Up)
	go func() {
		hdr := make([]byte, 12)
		for {
			if _, err := io.ReadFull(h.br, hdr); err != nil {
				return
			}
			typ, flags, id, n := hdr[1], binary.BigEndian.Uint16(hdr[2:]), binary.BigEndian.Uint32(hdr[4:]), binary.BigEndian.Uint32(hdr[8:])
			switch {
			case typ == yamuxTypePing && flags&yamuxFlagSYN != 0:
				_, _ = h.conn.Write(frame(yamuxTypePing, 2 /* ACK */, 0, n))
			case typ == yamuxTypeWindow && flags&yamuxFlagSYN != 0:
				_, _ = h.conn.Write(frame(yamuxTypeWindow, 8 /* RST */, id, 0))
			case typ == yamuxTypeData:
				_, _ = io.CopyN(io.Discard, h.br, int64(n))
			}
		}
	}()
	if c, err := tun.DialGuest(context.Background(), "tcp", "127.0.0.1:80"); err == nil {
		_ = c.Close()
		t.Fatal("DialGuest of a reset stream succeeded")
	}
	waitUntil(t, "the stream's slot to be free", 10*time.Second, func() bool { return len(tun.streams) == 0 })
	time.Sleep(100 * time.Millisecond)
	if !tun.Up() {
		t.Error("a reset stream took the session down")
	}
}

// TestTunnelRedialGuestMissedIt: when the guest did not see the host go (the host was back before
// the guest read), the host's RESET line ends the guest's old session at once, not at its
// keepalive's timeout (45 s with the guest's settings).
func TestTunnelRedialGuestMissedIt(t *testing.T) {
	restartHost(t, &fakeSerial{noEOF: true}, 5*time.Second)
}

// restartHost serves f with a real guest, brings a first host's tunnel up and stops it, then
// starts a second host's tunnel, which must be up within limit.
func restartHost(t *testing.T, f *fakeSerial, limit time.Duration) *Tunnel {
	t.Helper()
	realGuest(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	first := NewTunnel(f.dialHost(t))
	done := make(chan struct{})
	go func() { defer close(done); _ = first.Run(ctx) }()
	waitUntil(t, "the first host's tunnel", 10*time.Second, first.Up)
	cancel()
	<-done
	second := startTunnel(t, f.dialHost(t))
	waitUntil(t, "the second host's tunnel", limit, second.Up)
	return second
}

// TestTunnelExecNoReply: a guest that takes an exec request and never answers may run the
// command: Exec says so (ErrNoReply), so that the host does not run it a second time over SSH.
// A refusal is not ErrNoReply.
func TestTunnelExecNoReply(t *testing.T) {
	tun, h := newHostile(t)
	h.handshake(nonceA)
	waitUntil(t, "the session", 10*time.Second, tun.Up)
	go func() { _, _ = io.Copy(io.Discard, h.br) }()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := tun.Exec(ctx, api.ExecRequest{Shell: "/bin/sh", Command: "true"})
	if !errors.Is(err, ErrNoReply) || errors.Is(err, ErrTunnelDown) {
		t.Errorf("Exec to a silent guest: %v, want ErrNoReply", err)
	}
	if err := api.ParseTunnelReply("error nope"); errors.Is(err, ErrNoReply) {
		t.Errorf("a refusal reads as ErrNoReply: %v", err)
	}
}
