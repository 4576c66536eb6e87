// Package dns is the host agent's DNS server for the guest (hostResolver): it answers the names of
// hostResolver.hosts (host.lima.internal, lima-INSTANCE and the user's entries) itself, looks up
// A/AAAA/CNAME/TXT/NS/MX/SRV through the host's resolver (so the host's /etc/hosts, VPN and split
// DNS apply) and forwards every other query to the host's nameservers, as Lima's host agent does.
//
// The guest is not trusted: anyone root in the guest can send it anything. Every input is bounded:
// UDP queries are read into a 512-byte buffer (larger ones are dropped) and answered in at most 512
// bytes (truncated with TC set, as Lima does for busybox's nslookup); TCP queries are at most 4 KiB,
// each must arrive within a deadline, and the number of connections is capped (a new one evicts the
// oldest); queries in flight are capped by a semaphore (UDP queries beyond it are dropped, TCP ones
// wait up to the query budget, then get SERVFAIL); each query has one time budget for its lookups
// and forwards.
package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Limits. The UDP ones are those of plain DNS (RFC 1035) and of Lima's server.
const (
	maxUDPQuery = 512  // larger UDP queries are dropped
	maxUDPReply = 512  // larger UDP replies are truncated (TC)
	maxTCPQuery = 4096 // larger TCP length prefixes close the connection
	maxTCPReply = 65535
	minMessage  = 12 // a DNS header
)

// Defaults of Options.
const (
	DefaultQueryTimeout   = 4 * time.Second // under glibc's 5 s, so the guest gets the answer before it asks again
	DefaultMaxInFlight    = 64
	DefaultMaxTCPConns    = 16
	DefaultTCPIdleTimeout = 10 * time.Second
	tcpReadTimeout        = 5 * time.Second // from the length prefix to the whole message
	tcpWriteTimeout       = 5 * time.Second
)

// Resolver is the part of *net.Resolver the server uses (a fake in tests).
type Resolver interface {
	LookupIP(ctx context.Context, network, host string) ([]net.IP, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupNS(ctx context.Context, name string) ([]*net.NS, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// IPv6 answers AAAA queries (hostResolver.ipv6); without it they get an empty answer.
	IPv6 bool
	// StaticHosts maps names to an IP address or to another name (hostResolver.hosts).
	StaticHosts map[string]string
	// Resolver looks names up on the host; default net.DefaultResolver.
	Resolver Resolver
	// Upstreams ("host:port") receive the queries the server does not answer itself; default the
	// nameservers of the host's /etc/resolv.conf, else 8.8.8.8 and 1.1.1.1 (as Lima).
	Upstreams []string
	// QueryTimeout bounds the time spent on one query (lookups and forwards together).
	QueryTimeout time.Duration
	// MaxInFlight caps the queries being answered at once (UDP and TCP together).
	MaxInFlight int
	// MaxTCPConns caps the open TCP connections; at the cap a new one evicts the oldest.
	MaxTCPConns int
	// TCPIdleTimeout closes a TCP connection that sends no new query for this long.
	TCPIdleTimeout time.Duration
	// UDPPort and TCPPort are the ports to listen on (`limactl debug dns`); 0 takes an ephemeral one.
	UDPPort, TCPPort int
}

// Server serves DNS on one UDP and one TCP port of a loopback address.
type Server struct {
	h      *handler
	opts   Options
	udp    *net.UDPConn
	tcp    *net.TCPListener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{} // queries in flight

	mu     sync.Mutex
	conns  map[net.Conn]*tcpConn // open TCP connections, at most opts.MaxTCPConns
	closed bool

	busy    atomic.Int64 // UDP queries dropped for want of a slot
	evicted atomic.Int64 // TCP connections closed to make room
}

type tcpConn struct {
	c      net.Conn
	cancel context.CancelFunc
	seq    uint64 // accept order: the lowest is evicted first
}

// Listen binds a UDP and a TCP socket on ip (ephemeral ports; see UDPPort, TCPPort) and serves
// them until Close.
func Listen(ip string, opts Options) (*Server, error) {
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Upstreams == nil {
		opts.Upstreams = hostNameservers()
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.MaxTCPConns <= 0 {
		opts.MaxTCPConns = DefaultMaxTCPConns
	}
	if opts.TCPIdleTimeout <= 0 {
		opts.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	uaddr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ip, strconv.Itoa(opts.UDPPort)))
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", uaddr)
	if err != nil {
		return nil, err
	}
	taddr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(ip, strconv.Itoa(opts.TCPPort)))
	if err != nil {
		udp.Close()
		return nil, err
	}
	tcp, err := net.ListenTCP("tcp", taddr)
	if err != nil {
		udp.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		h:      newHandler(opts),
		opts:   opts,
		udp:    udp,
		tcp:    tcp,
		ctx:    ctx,
		cancel: cancel,
		sem:    make(chan struct{}, opts.MaxInFlight),
		conns:  map[net.Conn]*tcpConn{},
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	logrus.Debugf("DNS server for the guest on udp %s, tcp %s", udp.LocalAddr(), tcp.Addr())
	return s, nil
}

// UDPPort is the UDP port the server listens on.
func (s *Server) UDPPort() int { return s.udp.LocalAddr().(*net.UDPAddr).Port }

// TCPPort is the TCP port the server listens on.
func (s *Server) TCPPort() int { return s.tcp.Addr().(*net.TCPAddr).Port }

// Close stops the server and waits for its goroutines. It may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, tc := range s.conns {
		tc.cancel()
		_ = tc.c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	err := errors.Join(s.udp.Close(), s.tcp.Close())
	s.wg.Wait()
	return err
}

// answerTCP runs one TCP query: what needs a lookup waits up to the query budget for a free slot
// (else SERVFAIL) and gives up when ctx (the connection's) ends.
func (s *Server) answerTCP(ctx context.Context, query []byte) []byte {
	reply, j := s.h.start(query, maxTCPReply)
	if j == nil {
		return reply
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		if s.ctx.Err() != nil {
			return nil
		}
		return busyReply(query)
	}
	defer func() { <-s.sem }()
	return s.h.run(ctx, j)
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, maxUDPQuery+1)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if n < minMessage || n > maxUDPQuery {
			continue
		}
		// Malformed queries and static names are answered here, without a goroutine: a flood of
		// slow lookups cannot keep them waiting.
		reply, j := s.h.start(buf[:n], maxUDPReply)
		if j == nil {
			if reply != nil {
				_, _ = s.udp.WriteToUDPAddrPort(reply, from)
			}
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.busy.Add(1)
			continue // busy: drop, the client retries
		}
		s.wg.Add(1)
		go func(from netip.AddrPort) {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			ctx, cancel := context.WithTimeout(s.ctx, s.opts.QueryTimeout)
			defer cancel()
			if reply := s.h.run(ctx, j); reply != nil {
				_, _ = s.udp.WriteToUDPAddrPort(reply, from)
			}
		}(from)
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	var seq uint64
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		seq++
		ctx, ok := s.track(c, seq)
		if !ok {
			_ = c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(ctx, c)
		}()
	}
}

// track registers a new connection. At the limit it evicts the oldest one, so that connections
// left open (stalled or idle) cannot lock a new client out.
func (s *Server) track(c net.Conn, seq uint64) (context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if len(s.conns) >= s.opts.MaxTCPConns {
		var oldest *tcpConn
		for _, tc := range s.conns {
			if oldest == nil || tc.seq < oldest.seq {
				oldest = tc
			}
		}
		oldest.cancel()
		_ = oldest.c.Close()
		s.evicted.Add(1)
		delete(s.conns, oldest.c)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.conns[c] = &tcpConn{c: c, cancel: cancel, seq: seq}
	return ctx, true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	if tc, ok := s.conns[c]; ok {
		tc.cancel()
		delete(s.conns, c)
	}
	s.mu.Unlock()
	_ = c.Close()
}

// serveConn answers the length-prefixed queries of one TCP connection, one at a time.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	var prefix [2]byte
	buf := make([]byte, maxTCPQuery)
	out := make([]byte, 0, 2+maxUDPReply)
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.opts.TCPIdleTimeout))
		if _, err := io.ReadFull(c, prefix[:1]); err != nil {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(tcpReadTimeout))
		if _, err := io.ReadFull(c, prefix[1:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(prefix[:]))
		if n < minMessage || n > maxTCPQuery {
			return
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		reply := s.answerTCP(ctx, buf[:n])
		if reply == nil {
			continue
		}
		out = binary.BigEndian.AppendUint16(out[:0], uint16(len(reply)))
		out = append(out, reply...)
		_ = c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
