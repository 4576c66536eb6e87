package portfwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/textutil"
)

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Rules are lima.yaml's portForwards (as FillDefault completed them).
	Rules []limayaml.PortForward
	// SSHLocalPort is the host port forwarded to the guest's SSH server; never forwarded back.
	SSHLocalPort int
	// Client returns the SSH connection to the guest.
	Client ClientFunc
	// Tunnel, when not nil, carries TCP forwards while it is up (the guest agent's tunnel); SSH
	// (Client) carries them otherwise, and carries Unix-socket and UDP forwards always.
	Tunnel GuestDialer
	// GuestAgent connects to the guest agent (driver.GuestAgentConn, or SSHGuestAgent); nil when
	// there is none (plain mode): then only static and socket rules are set up.
	GuestAgent func(ctx context.Context) (io.ReadWriteCloser, error)
	// GuestAgentPath is lima-guestagent's path in the guest, for the UDP relay; "" disables UDP.
	GuestAgentPath string
	// Event receives every portForward event; nil drops them.
	Event func(events.PortForwardEvent)
}

// Bounds on what the guest agent can make the host do (docs/security.md, "Bounds"): the guest is
// untrusted, and its agent's reports are its word.
const (
	// MaxGuestForwards is how many host listeners guest ports may open at once; a port beyond it is
	// reported as failed, and tried again when the guest reports it anew.
	MaxGuestForwards = 256
	// MaxGuestPorts is how many guest sockets the host keeps track of, forwarded or not; the guest's
	// reports of more are ignored.
	MaxGuestPorts = 4096
	// maxMessageErrors is how many of one message's Errors are logged.
	maxMessageErrors = 10
	// maxGuestText bounds each piece of guest text in a log line.
	maxGuestText = 512
)

// Manager runs the forwards of one instance: static and socket rules from the start, and guest
// ports as the guest agent reports them.
type Manager struct {
	o        ManagerOptions
	rules    []limayaml.PortForward
	builtins int // leading rules added by HostAgentRules (ignore 22 and SSHLocalPort)
	active   map[string]*entry
	byGuest  map[api.Port]string
	fixed    []Forwarder // static and socket forwards
	// lim bounds the log lines and events the guest agent's messages cause.
	lim *textutil.Limiter
	// maxForwards and maxPorts are MaxGuestForwards and MaxGuestPorts (lowered by tests).
	maxForwards, maxPorts int
}

// Guest-caused logging: a burst, then one line every 10 s (about 1 MB of log a day at most).
const (
	guestLogBurst = 200
	guestLogEvery = 10 * time.Second
)

type entry struct {
	fwd    Forwarder
	proto  string
	guests map[api.Port]string // guest port -> guest dial address
}

// NewManager returns a Manager; Run starts it.
func NewManager(o ManagerOptions) *Manager {
	m := &Manager{o: o, rules: HostAgentRules(o.Rules, o.SSHLocalPort), active: map[string]*entry{}, byGuest: map[api.Port]string{},
		lim: &textutil.Limiter{Burst: guestLogBurst, Every: guestLogEvery}, maxForwards: MaxGuestForwards, maxPorts: MaxGuestPorts}
	if o.SSHLocalPort > 0 {
		m.builtins = 2
	} else {
		m.builtins = 1
	}
	return m
}

// Guest-agent reconnect backoff, and how often GetInfo is repeated until the guest answers.
var (
	gaMinBackoff = 100 * time.Millisecond
	gaMaxBackoff = 2 * time.Second
	gaReask      = 2 * time.Second
)

// Run sets up the static and socket forwards, then follows the guest agent (reconnecting with a
// short backoff whenever it is unreachable) until ctx is done; then it closes every forward.
func (m *Manager) Run(ctx context.Context) error {
	defer m.closeAll()
	m.startFixed(ctx)
	if m.o.GuestAgent == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	if ForwardingDisabled(m.o.Rules) {
		logrus.Info("port forwarding is off: the first portForwards rule ignores every port")
		<-ctx.Done()
		return ctx.Err()
	}
	backoff := gaMinBackoff
	logged := false
	for ctx.Err() == nil {
		conn, err := m.o.GuestAgent(ctx)
		if err == nil {
			var got bool
			got, err = m.follow(ctx, conn)
			if got {
				backoff = gaMinBackoff
				logged = false
			}
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil && !logged {
			logrus.WithError(err).Debug("guest agent not reachable yet; retrying")
			logged = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, gaMaxBackoff)
	}
	return ctx.Err()
}

// follow reads one guest-agent connection until it ends; got says whether any message arrived.
func (m *Manager) follow(ctx context.Context, conn io.ReadWriteCloser) (got bool, err error) {
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	first := make(chan struct{})
	go func() {
		// Ask for a snapshot, again every gaReask until the guest answers: a guest agent that is not
		// running yet reads nothing.
		enc := api.NewEncoder(conn)
		t := time.NewTicker(gaReask)
		defer t.Stop()
		for {
			if enc.Encode(api.Message{Type: api.TypeGetInfo}) != nil {
				return
			}
			select {
			case <-first:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	dec := api.NewDecoder(conn)
	for {
		msg, err := dec.Decode()
		if errors.Is(err, api.ErrBadLine) {
			m.logf(logrus.WarnLevel, "guest agent: %v", err) // the line is skipped; the next one may be fine
			continue
		}
		if err != nil {
			if !got {
				close(first)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				err = io.EOF
			}
			return got, err
		}
		if !got {
			got = true
			close(first)
			logrus.Info("connected to the guest agent")
		}
		for i, e := range msg.Errors {
			if i == maxMessageErrors {
				m.logf(logrus.WarnLevel, "guest agent: %d more errors in the same message", len(msg.Errors)-i)
				break
			}
			m.logf(logrus.WarnLevel, "guest agent: %s", textutil.Line(e, maxGuestText))
		}
		switch msg.Type {
		case api.TypeInfo:
			added, removed := m.diffSnapshot(m.valid(msg.LocalPorts))
			m.apply(ctx, added, removed)
		case api.TypeEvent:
			m.apply(ctx, m.valid(msg.Added), m.valid(msg.Removed))
		}
	}
}

// valid returns the ports that are well-formed (api.Port.Valid), logging the others.
func (m *Manager) valid(ports []api.Port) []api.Port {
	ok := ports[:0:0]
	for _, p := range ports {
		if err := p.Valid(); err != nil {
			m.logf(logrus.WarnLevel, "guest agent: ignoring a malformed port: %v", err)
			continue
		}
		ok = append(ok, p)
	}
	return ok
}

// allow reports whether a log line (and event) caused by the guest may go out, saying first how
// many did not.
func (m *Manager) allow() bool {
	ok, suppressed := m.lim.Allow()
	if ok && suppressed > 0 {
		logrus.Warnf("(%d port-forwarding messages caused by the guest were not logged: too many)", suppressed)
	}
	return ok
}

// logf logs what a guest-agent message caused, within the limiter.
func (m *Manager) logf(level logrus.Level, format string, args ...any) {
	if m.allow() {
		logrus.StandardLogger().Logf(level, format, args...)
	}
}

// diffSnapshot turns a full list into additions and removals against what is known.
func (m *Manager) diffSnapshot(ports []api.Port) (added, removed []api.Port) {
	want := map[api.Port]bool{}
	for _, p := range ports {
		want[p] = true
		if _, ok := m.byGuest[p]; !ok {
			added = append(added, p)
		}
	}
	for p := range m.byGuest {
		if !want[p] {
			removed = append(removed, p)
		}
	}
	api.SortPorts(removed)
	return added, removed
}

func (m *Manager) apply(ctx context.Context, added, removed []api.Port) {
	for _, p := range removed {
		m.remove(p)
	}
	for _, p := range added {
		m.add(ctx, p)
	}
}

func (m *Manager) emit(ev events.PortForwardEvent) {
	if m.o.Event != nil {
		m.o.Event(ev)
	}
}

// note logs a guest port's change and writes its event (a line in ha.stdout.log), within the
// limiter.
func (m *Manager) note(level logrus.Level, ev events.PortForwardEvent, err error, format string, args ...any) {
	if !m.allow() {
		return
	}
	e := logrus.NewEntry(logrus.StandardLogger())
	if err != nil {
		e = e.WithError(err)
	}
	e.Logf(level, format, args...)
	m.emit(ev)
}

func (m *Manager) add(ctx context.Context, p api.Port) {
	if _, ok := m.byGuest[p]; ok {
		return
	}
	if len(m.byGuest) >= m.maxPorts {
		m.logf(logrus.WarnLevel, "not forwarding %s: the guest reports more than %d listening sockets", p, m.maxPorts)
		return
	}
	match := Lookup(m.rules, p)
	if match.Rule >= 0 && m.rules[match.Rule].Static {
		return // set up at start
	}
	if !match.Forward {
		m.byGuest[p] = "" // known, not forwarded
		if match.Rule < 0 || match.Rule >= m.builtins {
			m.note(logrus.InfoLevel, events.PortForwardEvent{Type: events.PortForwardNotForwarding, Protocol: p.Proto, GuestAddr: p.Addr()},
				nil, "not forwarding %s", p)
		}
		return
	}
	key := p.Proto + " " + match.HostAddr
	m.byGuest[p] = key
	if e, ok := m.active[key]; ok {
		e.guests[p] = match.GuestAddr
		return
	}
	var (
		f   Forwarder
		err error
	)
	switch {
	case len(m.active) >= m.maxForwards:
		err = fmt.Errorf("the guest's ports already hold %d host listeners, the most allowed", m.maxForwards)
	case p.Proto == api.ProtoTCP:
		f, err = ForwardTCP(ctx, match.HostAddr, match.GuestAddr, m.o.Client, m.o.Tunnel)
	case p.Proto == api.ProtoUDP:
		if m.o.GuestAgentPath == "" {
			err = errors.New("UDP forwarding needs the guest agent")
		} else {
			f, err = ForwardUDP(ctx, match.HostAddr, match.GuestAddr, m.o.Client, m.relay)
		}
	default:
		err = errors.New("unknown protocol " + strconv.Quote(p.Proto))
	}
	if err != nil {
		m.byGuest[p] = "" // known, not forwarded; retried when it comes back
		m.note(logrus.WarnLevel, events.PortForwardEvent{Type: events.PortForwardFailed, Protocol: p.Proto, GuestAddr: p.Addr(), HostAddr: match.HostAddr, Error: err.Error()},
			err, "cannot forward %s to %s", p, match.HostAddr)
		return
	}
	m.active[key] = &entry{fwd: f, proto: p.Proto, guests: map[api.Port]string{p: match.GuestAddr}}
	m.note(logrus.InfoLevel, events.PortForwardEvent{Type: events.PortForwardForwarding, Protocol: p.Proto, GuestAddr: p.Addr(), HostAddr: match.HostAddr},
		nil, "forwarding %s to %s", p, match.HostAddr)
}

func (m *Manager) relay(guestAddr string) string { return RelayCommand(m.o.GuestAgentPath, guestAddr) }

func (m *Manager) remove(p api.Port) {
	key, ok := m.byGuest[p]
	if !ok {
		return
	}
	delete(m.byGuest, p)
	e := m.active[key]
	if e == nil {
		return
	}
	delete(e.guests, p)
	if len(e.guests) > 0 {
		// Another guest listener maps to the same host address: send new connections there.
		for _, addr := range e.guests {
			if st, ok := e.fwd.(interface{ SetTarget(string) }); ok {
				st.SetTarget(addr)
			}
			break
		}
		return
	}
	delete(m.active, key)
	hostAddr := e.fwd.Addr()
	_ = e.fwd.Close()
	m.note(logrus.InfoLevel, events.PortForwardEvent{Type: events.PortForwardStopping, Protocol: p.Proto, GuestAddr: p.Addr(), HostAddr: hostAddr},
		nil, "stopped forwarding %s from %s", p, hostAddr)
}

// startFixed sets up static port rules and socket rules.
func (m *Manager) startFixed(ctx context.Context) {
	for _, r := range m.rules {
		if r.Ignore {
			continue
		}
		switch {
		case r.GuestSocket != "" && r.Reverse:
			f := ReverseUnix(ctx, r.GuestSocket, r.HostSocket, m.o.Client)
			m.fixed = append(m.fixed, f)
			logrus.Infof("forwarding guest socket %s to host socket %s", r.GuestSocket, r.HostSocket)
			m.emit(events.PortForwardEvent{Type: events.PortForwardForwarding, Protocol: "unix", GuestAddr: r.GuestSocket, HostAddr: r.HostSocket})
		case r.GuestSocket != "":
			f, err := ForwardUnix(ctx, r.HostSocket, r.GuestSocket, m.o.Client)
			m.fixedResult(f, err, "unix", r.GuestSocket, r.HostSocket)
		case r.Static:
			ip := net.ParseIP(r.GuestIP)
			for port := r.GuestPortRange[0]; port <= r.GuestPortRange[1] && port > 0; port++ {
				guest := guestDialAddr(ip, port)
				host := net.JoinHostPort(r.HostIP, strconv.Itoa(port+r.HostPortRange[0]-r.GuestPortRange[0]))
				if r.Proto == limayaml.ProtoUDP {
					logrus.Warnf("static UDP forwards are not supported; skipping guest port %d", port)
					continue
				}
				f, err := ForwardTCP(ctx, host, guest, m.o.Client, m.o.Tunnel)
				m.fixedResult(f, err, "tcp", guest, host)
			}
		}
	}
}

func (m *Manager) fixedResult(f Forwarder, err error, proto, guest, host string) {
	if err != nil {
		logrus.WithError(err).Warnf("cannot forward %s %s to %s", proto, guest, host)
		m.emit(events.PortForwardEvent{Type: events.PortForwardFailed, Protocol: proto, GuestAddr: guest, HostAddr: host, Error: err.Error()})
		return
	}
	m.fixed = append(m.fixed, f)
	logrus.Infof("forwarding %s %s to %s", proto, guest, host)
	m.emit(events.PortForwardEvent{Type: events.PortForwardForwarding, Protocol: proto, GuestAddr: guest, HostAddr: host})
}

func (m *Manager) closeAll() {
	for _, f := range m.fixed {
		_ = f.Close()
	}
	m.fixed = nil
	for k, e := range m.active {
		_ = e.fwd.Close()
		delete(m.active, k)
	}
	clear(m.byGuest)
}
