package portfwd

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
)

// eventLog collects a Manager's events and lets a test wait for one.
type eventLog struct {
	mu   sync.Mutex
	evs  []events.PortForwardEvent
	cond *sync.Cond
}

func newEventLog() *eventLog {
	l := &eventLog{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *eventLog) add(e events.PortForwardEvent) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	l.cond.Broadcast()
}

// wait blocks until an event of type typ for hostAddr arrived (the test's timeout bounds it).
func (l *eventLog) wait(typ events.PortForwardType, hostAddr string) events.PortForwardEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for _, e := range l.evs {
			if e.Type == typ && e.HostAddr == hostAddr {
				return e
			}
		}
		l.cond.Wait()
	}
}

// TestManagerWithRealGuestAgent runs the guest agent's socket watcher (this test binary over the
// fake guest's SSH, as `lima-guestagent stdio`) against this machine's sockets: a TCP and a UDP
// listener opened after the Manager started get forwarded, and closing them stops the forwards.
func TestManagerWithRealGuestAgent(t *testing.T) {
	client := guest(t)
	agent := fakeGuestAgent(t)
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guestTCP := tcpLn.Addr().(*net.TCPAddr).Port
	_ = tcpLn.Close() // reopened below, once the Manager watches
	udpGuest, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	guestUDP := udpGuest.LocalAddr().(*net.UDPAddr).Port
	_ = udpGuest.Close()
	hostTCP, hostUDP := freeTCPPort(t), freeTCPPort(t)

	log := newEventLog()
	m := NewManager(ManagerOptions{
		Rules: []limayaml.PortForward{
			{GuestPort: guestTCP, HostPort: hostTCP, Proto: "tcp"},
			{GuestPort: guestUDP, HostPort: hostUDP, Proto: "udp"},
			{GuestIP: "0.0.0.0", Proto: "any", Ignore: true}, // nothing else of this machine
		},
		Client:         client,
		GuestAgent:     SSHGuestAgent(client, agent),
		GuestAgentPath: agent,
		Event:          log.add,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tcpLn, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(guestTCP))
	if err != nil {
		t.Fatal(err)
	}
	echoStream(t, tcpLn)
	start := time.Now()
	hostTCPAddr := "127.0.0.1:" + strconv.Itoa(hostTCP)
	log.wait(events.PortForwardForwarding, hostTCPAddr)
	t.Logf("listen() to forwarding: %v", time.Since(start))
	roundTrip(t, "tcp", hostTCPAddr, "through the watcher")

	udpGuest, err = net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(guestUDP))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := udpGuest.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = udpGuest.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	hostUDPAddr := "127.0.0.1:" + strconv.Itoa(hostUDP)
	log.wait(events.PortForwardForwarding, hostUDPAddr)
	c, err := net.Dial("udp", hostUDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "echo:ping" {
		t.Errorf("UDP through the watcher: %q, %v", buf[:n], err)
	}

	_ = tcpLn.Close()
	_ = udpGuest.Close()
	log.wait(events.PortForwardStopping, hostTCPAddr)
	log.wait(events.PortForwardStopping, hostUDPAddr)
}
