package guestagent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/guestagent/sockets"
)

// DefaultInterval is how often the agent rescans the guest's sockets. One netlink scan costs about
// 0.1 ms (BenchmarkScan), so 300 ms costs well under 0.1% of a CPU and keeps "listen() to
// reachable from the host" well under a second.
const DefaultInterval = 300 * time.Millisecond

// subBuffer is how many messages a slow subscriber may fall behind before it gets a fresh Info
// instead of the missed events.
const subBuffer = 64

// Agent watches the sockets and fans changes out to subscribers.
type Agent struct {
	scan     sockets.Scanner
	interval time.Duration

	mu      sync.Mutex
	ports   []api.Port
	lastErr string
	subs    map[*Sub]struct{}

	touch toucher // mountInotify: touch.go
}

// New returns an Agent using scan every interval (DefaultInterval when 0).
func New(scan sockets.Scanner, interval time.Duration) *Agent {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Agent{scan: scan, interval: interval, subs: map[*Sub]struct{}{}}
}

// Sub is one consumer of the agent's messages (a host connection). Messages arrive on C in order.
type Sub struct {
	C      chan api.Message
	active bool // receives events; set by RequestInfo, cleared by Pause
	resync bool // fell behind: the next delivery is a full Info
}

// Subscribe registers a consumer. It receives nothing until RequestInfo.
func (a *Agent) Subscribe() *Sub {
	s := &Sub{C: make(chan api.Message, subBuffer)}
	a.mu.Lock()
	a.subs[s] = struct{}{}
	a.mu.Unlock()
	return s
}

// Unsubscribe removes s; C is not closed (a writer may still drain it).
func (a *Agent) Unsubscribe(s *Sub) {
	a.mu.Lock()
	delete(a.subs, s)
	a.mu.Unlock()
}

// RequestInfo queues a full Info for s and makes it receive events from now on.
func (a *Agent) RequestInfo(s *Sub) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.active = true
	s.resync = false
	a.sendLocked(s, a.infoLocked())
}

// Pause stops events to s until the next RequestInfo (the host went away).
func (a *Agent) Pause(s *Sub) {
	a.mu.Lock()
	s.active = false
	a.mu.Unlock()
}

// Ports returns the ports seen by the latest scan.
func (a *Agent) Ports() []api.Port {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ports)
}

func (a *Agent) infoLocked() api.Message {
	m := api.Message{Type: api.TypeInfo, Time: time.Now().UTC(), LocalPorts: slices.Clone(a.ports)}
	if m.LocalPorts == nil {
		m.LocalPorts = []api.Port{}
	}
	if a.lastErr != "" {
		m.Errors = []string{a.lastErr}
	}
	return m
}

// sendLocked queues m for s without blocking; a full queue marks s for a resync.
func (a *Agent) sendLocked(s *Sub, m api.Message) {
	select {
	case s.C <- m:
	default:
		s.resync = true
	}
}

// Run scans every interval until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		a.ScanOnce()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ScanOnce rescans and sends the difference, if any, to the active subscribers.
func (a *Agent) ScanOnce() {
	ports, err := a.scan()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if err.Error() != a.lastErr {
			logrus.WithError(err).Warn("cannot list the guest's sockets")
		}
		a.lastErr = err.Error()
		return
	}
	a.lastErr = ""
	api.SortPorts(ports)
	added, removed := Diff(a.ports, ports)
	a.ports = ports
	for s := range a.subs {
		if !s.active {
			continue
		}
		if s.resync {
			before := len(s.C)
			a.sendLocked(s, a.infoLocked())
			if len(s.C) > before {
				s.resync = false
			}
			continue
		}
		if len(added)+len(removed) > 0 {
			a.sendLocked(s, api.Message{Type: api.TypeEvent, Time: time.Now().UTC(), Added: added, Removed: removed})
		}
	}
	if len(added)+len(removed) > 0 {
		logrus.Debugf("sockets: added %v, removed %v", added, removed)
	}
}

// Diff returns the ports in next but not in prev, and those in prev but not in next, sorted.
func Diff(prev, next []api.Port) (added, removed []api.Port) {
	in := func(set []api.Port) map[api.Port]bool {
		m := make(map[api.Port]bool, len(set))
		for _, p := range set {
			m[p] = true
		}
		return m
	}
	p, n := in(prev), in(next)
	for _, x := range next {
		if !p[x] {
			added = append(added, x)
		}
	}
	for _, x := range prev {
		if !n[x] {
			removed = append(removed, x)
		}
	}
	api.SortPorts(added)
	api.SortPorts(removed)
	return added, removed
}
