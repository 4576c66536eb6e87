package portfwd

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
)

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// fakeAgent hands the Manager one end of a pipe per connection, after failing the first attempts
// like a guest agent that has not started yet.
type fakeAgent struct {
	mu    sync.Mutex
	fails int
	conns chan net.Conn // the guest ends
}

func (f *fakeAgent) dial(ctx context.Context) (io.ReadWriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return nil, errors.New("connection refused")
	}
	host, guest := net.Pipe()
	f.conns <- guest
	return host, nil
}

func TestManager(t *testing.T) {
	gaMinBackoff, gaMaxBackoff = time.Millisecond, 5*time.Millisecond
	client := guest(t)
	// The "guest" is this machine: an echo server stands for a guest listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, ln)
	guestPort := ln.Addr().(*net.TCPAddr).Port
	hostPort := freeTCPPort(t)
	staticGuest, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, staticGuest)
	staticPort := staticGuest.Addr().(*net.TCPAddr).Port
	staticHost := freeTCPPort(t)
	dir := t.TempDir()
	guestSock := filepath.Join(dir, "g.sock")
	sockLn, err := net.Listen("unix", guestSock)
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, sockLn)
	hostSock := filepath.Join(dir, "h.sock")

	fa := &fakeAgent{fails: 3, conns: make(chan net.Conn, 1)}
	evs := make(chan events.PortForwardEvent, 16)
	m := NewManager(ManagerOptions{
		Rules: []limayaml.PortForward{
			{GuestPort: guestPort, HostPort: hostPort, Proto: "tcp"},
			{GuestPort: staticPort, HostPort: staticHost, Static: true},
			{GuestSocket: guestSock, HostSocket: hostSock},
			{GuestPort: 9999, Ignore: true},
		},
		SSHLocalPort: 60022,
		Client:       client,
		GuestAgent:   fa.dial,
		Event:        func(e events.PortForwardEvent) { evs <- e },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	next := func(want events.PortForwardEvent) {
		t.Helper()
		select {
		case got := <-evs:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("event (-want +got):\n%s", diff)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no event; want %+v", want)
		}
	}
	staticHostAddr := "127.0.0.1:" + strconv.Itoa(staticHost)
	next(events.PortForwardEvent{Type: "forwarding", Protocol: "tcp", GuestAddr: "127.0.0.1:" + strconv.Itoa(staticPort), HostAddr: staticHostAddr})
	next(events.PortForwardEvent{Type: "forwarding", Protocol: "unix", GuestAddr: guestSock, HostAddr: hostSock})
	roundTrip(t, "tcp", staticHostAddr, "static")
	roundTrip(t, "unix", hostSock, "socket")

	g := <-fa.conns
	dec, enc := api.NewDecoder(g), api.NewEncoder(g)
	if msg, err := dec.Decode(); err != nil || msg.Type != api.TypeGetInfo {
		t.Fatalf("first message from the host = %+v, %v; want getInfo", msg, err)
	}
	send := func(m api.Message) {
		t.Helper()
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	go drain(dec)
	listener := api.Port{IP: "0.0.0.0", Port: guestPort, Proto: "tcp"}
	send(api.Message{Type: api.TypeInfo, LocalPorts: []api.Port{
		{IP: "0.0.0.0", Port: 22, Proto: "tcp"}, // built-in ignore: no event
		listener,
	}})
	hostAddr := "127.0.0.1:" + strconv.Itoa(hostPort)
	next(events.PortForwardEvent{Type: "forwarding", Protocol: "tcp", GuestAddr: listener.Addr(), HostAddr: hostAddr})
	roundTrip(t, "tcp", hostAddr, "dynamic")

	ignored := api.Port{IP: "127.0.0.1", Port: 9999, Proto: "tcp"}
	send(api.Message{Type: api.TypeEvent, Added: []api.Port{ignored}})
	next(events.PortForwardEvent{Type: "not-forwarding", Protocol: "tcp", GuestAddr: ignored.Addr()})

	// The same host address from a second (v6) listener is shared, and survives the first's removal.
	v6 := api.Port{IP: "::", Port: guestPort, Proto: "tcp"}
	send(api.Message{Type: api.TypeEvent, Added: []api.Port{v6}})
	send(api.Message{Type: api.TypeEvent, Removed: []api.Port{listener}})
	// Reconnect: the snapshot drops everything but the v6 listener... then it goes too.
	_ = g.Close()
	g = <-fa.conns
	dec2 := api.NewDecoder(g)
	enc = api.NewEncoder(g)
	if msg, err := dec2.Decode(); err != nil || msg.Type != api.TypeGetInfo {
		t.Fatalf("first message after reconnecting = %+v, %v; want getInfo", msg, err)
	}
	go drain(dec2)
	send(api.Message{Type: api.TypeInfo, LocalPorts: []api.Port{}})
	next(events.PortForwardEvent{Type: "stopping", Protocol: "tcp", GuestAddr: v6.Addr(), HostAddr: hostAddr})
	if c, err := net.Dial("tcp", hostAddr); err == nil {
		_ = c.Close()
		t.Errorf("%s still forwarded after the guest port went away", hostAddr)
	}

	// A host port that cannot be bound is reported as failed.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	p := api.Port{IP: "127.0.0.1", Port: busyPort, Proto: "tcp"}
	send(api.Message{Type: api.TypeEvent, Added: []api.Port{p}})
	select {
	case ev := <-evs:
		if ev.Type != "failed" || ev.HostAddr != p.Addr() || ev.Error == "" {
			t.Errorf("binding a busy port: event %+v, want failed with an error", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no event for a busy host port")
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v", err)
	}
	if c, err := net.Dial("tcp", staticHostAddr); err == nil {
		_ = c.Close()
		t.Errorf("static forward %s still listens after Run returned", staticHostAddr)
	}
}

// drain reads the host's further GetInfo requests.
func drain(dec *api.Decoder) {
	for {
		if _, err := dec.Decode(); err != nil {
			return
		}
	}
}

func TestManagerForwardingDisabledDoesNotDialTheAgent(t *testing.T) {
	m := NewManager(ManagerOptions{
		Rules: []limayaml.PortForward{{GuestIP: "0.0.0.0", Ignore: true}},
		GuestAgent: func(context.Context) (io.ReadWriteCloser, error) {
			t.Error("dialled the guest agent")
			return nil, errors.New("no")
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = m.Run(ctx)
}

// TestManagerHostileGuestAgent: a guest agent that sends an oversized line, a line that is not
// JSON, malformed ports (an escape sequence for an IP, port 0), more ports to forward than the host
// allows and more sockets than it tracks. The connection survives the bad lines, only well-formed
// ports count, the caps hold, and nothing the guest wrote reaches the log with its control
// characters. On the previous code the oversized line ended the connection, and the malformed
// ports were logged and handed to the forwarder.
func TestManagerHostileGuestAgent(t *testing.T) {
	gaMinBackoff, gaMaxBackoff = time.Millisecond, 5*time.Millisecond
	hook := logtest.NewGlobal()
	defer hook.Reset()
	hp := []int{freeTCPPort(t), freeTCPPort(t), freeTCPPort(t)}
	fa := &fakeAgent{conns: make(chan net.Conn, 1)}
	evs := make(chan events.PortForwardEvent, 64)
	m := NewManager(ManagerOptions{
		Rules: []limayaml.PortForward{
			{GuestPort: 1001, HostPort: hp[0]}, {GuestPort: 1002, HostPort: hp[1]}, {GuestPort: 1003, HostPort: hp[2]},
			{GuestPortRange: limayaml.PortRange{2000, 2999}, Ignore: true},
		},
		Client:     guest(t),
		GuestAgent: fa.dial,
		Event:      func(e events.PortForwardEvent) { evs <- e },
	})
	m.maxForwards, m.maxPorts = 2, 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = m.Run(ctx) }()
	g := <-fa.conns
	dec := api.NewDecoder(g)
	if msg, err := dec.Decode(); err != nil || msg.Type != api.TypeGetInfo {
		t.Fatalf("first message from the host = %+v, %v; want getInfo", msg, err)
	}
	go drain(dec)
	write := func(s string) {
		t.Helper()
		if _, err := io.WriteString(g, s); err != nil {
			t.Fatal(err)
		}
	}
	write(strings.Repeat("x", api.MaxLine+10) + "\n")
	write("not json \x1b]0;pwned\x07\n")
	port := func(n int) api.Port { return api.Port{IP: "127.0.0.1", Port: n, Proto: "tcp"} }
	if err := api.NewEncoder(g).Encode(api.Message{Type: api.TypeInfo, Errors: []string{"scan failed \x1b[2J"}, LocalPorts: []api.Port{
		{IP: "\x1b[31m127.0.0.1", Port: 1001, Proto: "tcp"}, {IP: "127.0.0.1", Port: 0, Proto: "tcp"},
		port(1001), port(1002), port(1003), port(2001), port(2002), port(2003), port(2004),
	}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 5 {
		select {
		case e := <-evs:
			got = append(got, string(e.Type)+" "+e.GuestAddr)
			if e.Type == events.PortForwardFailed && !strings.Contains(e.Error, "most allowed") {
				t.Errorf("failed event: %+v, want the cap named", e)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("events so far %q; want 5", got)
		}
	}
	want := []string{"forwarding 127.0.0.1:1001", "forwarding 127.0.0.1:1002", "failed 127.0.0.1:1003",
		"not-forwarding 127.0.0.1:2001", "not-forwarding 127.0.0.1:2002"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	select {
	case e := <-evs:
		t.Errorf("unexpected event %+v (beyond the tracked sockets)", e)
	case <-time.After(200 * time.Millisecond):
	}
	var logged []string
	for _, e := range hook.AllEntries() {
		logged = append(logged, e.Message)
	}
	all := strings.Join(logged, "\n")
	for _, w := range []string{"longer than", "bad line", "malformed port", "scan failed [2J", "more than 5 listening sockets"} {
		if !strings.Contains(all, w) {
			t.Errorf("log does not mention %q:\n%s", w, all)
		}
	}
	if strings.ContainsAny(all, "\x1b\x07") {
		t.Errorf("log carries the guest's control characters:\n%q", all)
	}
}
