package portfwd

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/sshutil"
)

// UDPIdleTimeout ends a host peer's relay after this long without a datagram in either direction.
var UDPIdleTimeout = 2 * time.Minute

// RelayCommand returns the guest command line of the UDP relay for guestAddr, given the guest path
// of lima-guestagent.
func RelayCommand(guestAgentPath, guestAddr string) string {
	return sshutil.ShellQuoteCommand([]string{guestAgentPath, "udp-relay", guestAddr})
}

// udpForwarder relays datagrams between a host UDP socket and a guest UDP address. Each host peer
// (source address) gets its own relay process in the guest, over an SSH session, so replies find
// their way back to the peer that asked.
type udpForwarder struct {
	pc      net.PacketConn
	target  atomic.Pointer[string]
	relay   func(guestAddr string) string
	client  ClientFunc
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	peers   map[string]*udpPeer
	wg      sync.WaitGroup
	closing atomic.Bool
}

type udpPeer struct {
	addr    net.Addr
	sess    *ssh.Session
	stdin   io.WriteCloser
	last    atomic.Int64 // unix nanos of the last datagram
	closeMu sync.Once
}

// ForwardUDP listens on the host UDP address hostAddr and relays datagrams to guestAddr in the guest
// through `relay(guestAddr)` run over SSH (RelayCommand).
func ForwardUDP(ctx context.Context, hostAddr, guestAddr string, client ClientFunc, relay func(guestAddr string) string) (Forwarder, error) {
	pc, err := net.ListenPacket("udp", hostAddr)
	if err != nil {
		return nil, err
	}
	f := &udpForwarder{pc: pc, relay: relay, client: client, peers: map[string]*udpPeer{}}
	f.target.Store(&guestAddr)
	f.ctx, f.cancel = context.WithCancel(ctx)
	f.wg.Add(2)
	go f.readLoop()
	go f.reapLoop()
	return f, nil
}

func (f *udpForwarder) Addr() string          { return f.pc.LocalAddr().String() }
func (f *udpForwarder) SetTarget(addr string) { f.target.Store(&addr) }

func (f *udpForwarder) Close() error {
	f.closing.Store(true)
	f.cancel()
	err := f.pc.Close()
	f.mu.Lock()
	for k, p := range f.peers {
		p.close()
		delete(f.peers, k)
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}

func (f *udpForwarder) readLoop() {
	defer f.wg.Done()
	buf := make([]byte, api.MaxDatagram)
	for {
		n, from, err := f.pc.ReadFrom(buf)
		if err != nil {
			if !f.closing.Load() && !errors.Is(err, net.ErrClosed) {
				logrus.WithError(err).Warnf("UDP forward %s stopped", f.Addr())
			}
			return
		}
		p, err := f.peer(from)
		if err != nil {
			logrus.WithError(err).Debugf("UDP forward %s: cannot start the guest relay", f.Addr())
			continue
		}
		p.last.Store(time.Now().UnixNano())
		if err := api.WriteDatagram(p.stdin, buf[:n]); err != nil {
			f.drop(from.String(), p)
		}
	}
}

// peer returns the relay for a host peer, starting one when needed.
func (f *udpForwarder) peer(from net.Addr) (*udpPeer, error) {
	key := from.String()
	f.mu.Lock()
	p := f.peers[key]
	f.mu.Unlock()
	if p != nil {
		return p, nil
	}
	cl, err := f.client(f.ctx)
	if err != nil {
		return nil, err
	}
	sess, err := cl.NewSession()
	if err != nil {
		return nil, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	if err := sess.Start(f.relay(*f.target.Load())); err != nil {
		_ = sess.Close()
		return nil, err
	}
	p = &udpPeer{addr: from, sess: sess, stdin: stdin}
	p.last.Store(time.Now().UnixNano())
	f.mu.Lock()
	if f.closing.Load() {
		f.mu.Unlock()
		p.close()
		return nil, net.ErrClosed
	}
	f.peers[key] = p
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, api.MaxDatagram)
		for {
			d, err := api.ReadDatagram(stdout, buf)
			if err != nil {
				f.drop(key, p)
				return
			}
			p.last.Store(time.Now().UnixNano())
			if _, err := f.pc.WriteTo(d, from); err != nil && f.closing.Load() {
				return
			}
		}
	}()
	return p, nil
}

func (f *udpForwarder) drop(key string, p *udpPeer) {
	f.mu.Lock()
	if f.peers[key] == p {
		delete(f.peers, key)
	}
	f.mu.Unlock()
	p.close()
}

func (p *udpPeer) close() {
	p.closeMu.Do(func() {
		_ = p.stdin.Close()
		_ = p.sess.Close()
	})
}

// reapLoop ends the relays of peers idle for UDPIdleTimeout.
func (f *udpForwarder) reapLoop() {
	defer f.wg.Done()
	t := time.NewTicker(UDPIdleTimeout/4 + time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		cutoff := time.Now().Add(-UDPIdleTimeout).UnixNano()
		f.mu.Lock()
		for k, p := range f.peers {
			if p.last.Load() < cutoff {
				delete(f.peers, k)
				go p.close()
			}
		}
		f.mu.Unlock()
	}
}
