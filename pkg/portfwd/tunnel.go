package portfwd

// The host side of the guest agent's tunnel (protocol: pkg/guestagent/api, tunnel.go): forwarded TCP
// connections as yamux streams over a virtio-serial port, so that the guest's sshd does not encrypt
// their bytes. The guest is untrusted: the host only opens streams, every buffer the guest can fill
// is bounded, and any misbehaviour ends the session (new connections then go over SSH).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/shmring"
	"github.com/limactl/limactl/pkg/textutil"
)

// GuestDialer carries forwarded TCP connections to the guest without SSH. DialGuest returns an error
// wrapping api.ErrTunnelRefused when the guest's dial was refused (the connection fails, as it would
// over SSH); any other error means "use SSH instead".
type GuestDialer interface {
	DialGuest(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrTunnelDown: there is no tunnel session now.
var ErrTunnelDown = errors.New("the guest-agent tunnel is down")

// ErrNoReply marks a stream whose request reached the guest but whose answer did not reach the
// host (a timeout, the session dropped): the guest may have acted on it (an exec stream's command
// may run).
var ErrNoReply = errors.New("the guest agent did not answer")

// ErrNoTunnel is what a Tunnel's dial function returns when the driver has no tunnel channel at all;
// Run then stops for good.
var ErrNoTunnel = errors.New("the driver has no guest-agent tunnel")

// Bounds and timings of the host side. Variables so that tests can shorten them.
var (
	// MaxTunnelStreams bounds the streams the host has open at once (including those waiting for
	// the guest to end an aborted stream); beyond it, connections go over SSH.
	MaxTunnelStreams = 1024
	// tunnelWindow is each stream's receive window: what the guest can make the host buffer per
	// stream. 256 KiB keeps up with the guest (the host drains it at native speed); with 1 MiB a
	// fast guest grew each stream's buffer to megabytes, which stayed in the host agent's RSS.
	tunnelWindow uint32 = 256 << 10
	// tunnelOpenTimeout bounds a stream's request and the guest's answer (the guest dials within 10 s).
	tunnelOpenTimeout = 15 * time.Second
	// tunnelAbortTimeout is how long the guest has to end a stream the host stopped reading, before
	// the host drops the session.
	tunnelAbortTimeout = 30 * time.Second
	// tunnelAckGap: HELLOs with a new nonce are answered at most this often (a HELLO flood costs the
	// host one ACK per gap).
	tunnelAckGap = 100 * time.Millisecond
	// tunnelWriteTimeout bounds each write to the port: a guest that stops reading ends the session.
	// Generous, as a guest under TCG on a busy host can stall for seconds, and a dropped session
	// ends the connections it carries.
	tunnelWriteTimeout = 30 * time.Second
	// tunnelKeepAlive is yamux's ping interval; a guest that does not answer within
	// tunnelWriteTimeout ends the session.
	tunnelKeepAlive = 10 * time.Second
	// tunnelMinBackoff, tunnelMaxBackoff bound the wait between sessions.
	tunnelMinBackoff = 100 * time.Millisecond
	tunnelMaxBackoff = 5 * time.Second
	// tunnelPingBurst and tunnelPingEvery bound the guest's pings (yamux answers each in a goroutine).
	tunnelPingBurst = 64
	tunnelPingEvery = 100 * time.Millisecond
)

// Tunnel is the host side of the tunnel: it keeps a session up (dial, handshake, yamux) and opens a
// stream for each forwarded connection.
type Tunnel struct {
	dial func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex
	sess *yamux.Session

	streams chan struct{} // semaphore: MaxTunnelStreams
	upLog   textutil.Limiter
	dropLog *textutil.Limiter // warnings that the guest dropped a session
	ups     atomic.Int64      // sessions that came up (tests)
	shm     atomic.Bool       // the last session's host bytes went through shared memory
}

// NewTunnel returns a Tunnel that reaches the port through dial (driver.GuestAgentTunnelConn); Run
// starts it.
func NewTunnel(dial func(ctx context.Context) (net.Conn, error)) *Tunnel {
	return &Tunnel{dial: dial, streams: make(chan struct{}, MaxTunnelStreams),
		upLog: textutil.Limiter{Burst: 5, Every: time.Minute}, dropLog: &textutil.Limiter{Burst: 5, Every: time.Minute}}
}

// warnDrop logs why the host dropped a session: a warning within lim (the guest can make the host
// drop a session as often as the backoff lets it come back), else at debug level.
func warnDrop(lim *textutil.Limiter, err error, msg string) {
	ok, suppressed := lim.Allow()
	if !ok {
		logrus.WithError(err).Debug(msg)
		return
	}
	if suppressed > 0 {
		msg = fmt.Sprintf("%s (and %d times more, not logged)", msg, suppressed)
	}
	logrus.WithError(err).Warn(msg)
}

// Run keeps a session up until ctx is done, redialling with a backoff after every failure. It
// returns at once when dial returns ErrNoTunnel.
func (t *Tunnel) Run(ctx context.Context) error {
	backoff := tunnelMinBackoff
	for ctx.Err() == nil {
		conn, err := t.dial(ctx)
		if errors.Is(err, ErrNoTunnel) {
			logrus.WithError(err).Debug("no guest-agent tunnel; forwarded ports go over SSH")
			return nil
		}
		if err == nil {
			start := time.Now()
			err = t.serve(ctx, conn)
			if time.Since(start) > time.Minute {
				backoff = tunnelMinBackoff
			}
		}
		if ctx.Err() != nil {
			break
		}
		logrus.WithError(err).Debug("guest-agent tunnel: no session; forwarded ports go over SSH until it is back")
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, tunnelMaxBackoff)
	}
	return ctx.Err()
}

// Up reports whether a session is live.
func (t *Tunnel) Up() bool { return t.session() != nil }

func (t *Tunnel) session() *yamux.Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sess != nil && t.sess.IsClosed() {
		return nil
	}
	return t.sess
}

func (t *Tunnel) setSession(s *yamux.Session) {
	t.mu.Lock()
	t.sess = s
	t.mu.Unlock()
}

// serve runs one handshake and session on conn until the session ends, and closes conn.
func (t *Tunnel) serve(ctx context.Context, conn net.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()
	_ = conn.SetWriteDeadline(time.Now().Add(tunnelWriteTimeout))
	if _, err := io.WriteString(conn, api.TunnelResetLine); err != nil {
		return err
	}
	_ = conn.SetWriteDeadline(time.Time{})
	br := bufio.NewReaderSize(conn, 4096)
	var mem []byte
	if rc, ok := conn.(RingConn); ok {
		mem = rc.TunnelRing()
	}
	ring, err := handshake(conn, br, mem)
	if ring != nil {
		defer func() { _ = ring.Close() }()
	}
	if err != nil {
		return err
	}
	buffered, _ := br.Peek(br.Buffered())
	guard := &frameGuard{r: io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), conn),
		pings: textutil.Limiter{Burst: tunnelPingBurst, Every: tunnelPingEvery}, log: t.dropLog}
	tc := &tunnelConn{Reader: guard, Conn: conn}
	how := "its port"
	if ring != nil {
		tc.ring = ring
		how = "shared memory to the guest"
	}
	sess, err := yamux.Client(tc, hostYamuxConfig())
	if err != nil {
		return err
	}
	t.setSession(sess)
	t.ups.Add(1)
	t.shm.Store(ring != nil)
	if ok, _ := t.upLog.Allow(); ok {
		logrus.Infof("guest-agent tunnel is up (%s): forwarded TCP ports bypass SSH", how)
	} else {
		logrus.Debugf("guest-agent tunnel is up (%s)", how)
	}
	<-sess.CloseChan()
	t.setSession(nil)
	if err := guard.err.Load(); err != nil {
		return *err
	}
	return errors.New("the session ended")
}

// handshake scans the guest's output for HELLO, answers ACK (once per nonce, at most one new nonce
// every tunnelAckGap) and returns at the READY of the nonce it acknowledged. Everything else is
// discarded with bounded memory. With mem (the shared memory of the driver's ring), each ACK is
// preceded by a ring session for its nonce, and the ring is returned when the guest answers
// READYSHM; the caller closes it. A guest that says READYSHM when there is no ring is ignored.
func handshake(conn net.Conn, br *bufio.Reader, mem []byte) (*shmring.Writer, error) {
	sc := api.LineScanner{R: br, Max: api.MaxTunnelLine}
	var acked string
	var lastAck time.Time
	var ring *shmring.Writer
	for {
		line, err := sc.Next()
		if err != nil {
			return ring, err
		}
		word, nonce, ok := api.ParseTunnelLine(line)
		switch {
		case !ok:
		case word == api.TunnelHello && nonce != acked && time.Since(lastAck) >= tunnelAckGap:
			if mem != nil {
				if ring != nil {
					_ = ring.Close()
				}
				if ring, err = shmring.NewWriter(mem, nonce, doorbell(conn)); err != nil {
					return nil, err
				}
				ring.Timeout = tunnelWriteTimeout
			}
			_ = conn.SetWriteDeadline(time.Now().Add(tunnelWriteTimeout))
			if _, err := io.WriteString(conn, api.TunnelLine(api.TunnelAck, nonce)); err != nil {
				return ring, err
			}
			_ = conn.SetWriteDeadline(time.Time{})
			acked, lastAck = nonce, time.Now()
		case word == api.TunnelReady && acked != "" && nonce == acked:
			if ring != nil {
				_ = ring.Close()
			}
			return nil, nil
		case word == api.TunnelReadyShm && ring != nil && nonce == acked:
			return ring, nil
		}
	}
}

// doorbell wakes the guest's ring reader: one zero byte on the port.
func doorbell(conn net.Conn) func() error {
	return func() error {
		_ = conn.SetWriteDeadline(time.Now().Add(tunnelWriteTimeout))
		_, err := conn.Write([]byte{0})
		return err
	}
}

// RingConn is a tunnel port that comes with shared memory for the host's direction (the qemu
// driver's ivshmem region, shmring.Size bytes).
type RingConn interface {
	net.Conn
	TunnelRing() []byte
}

func hostYamuxConfig() *yamux.Config {
	return &yamux.Config{
		// The host accepts no streams (frameGuard refuses the guest's SYNs), but yamux also bounds
		// the host's SYNs in flight by the backlog: 1 made every open wait for the one before it to
		// be answered.
		AcceptBacklog:          MaxTunnelStreams,
		EnableKeepAlive:        true,
		KeepAliveInterval:      tunnelKeepAlive,
		ConnectionWriteTimeout: tunnelWriteTimeout,
		MaxStreamWindowSize:    tunnelWindow,
		StreamOpenTimeout:      tunnelOpenTimeout,
		// A half-closed stream may carry the other direction for as long as it likes; streams the
		// host gives up on are aborted (tunnelStream.Close).
		StreamCloseTimeout: 0,
		Logger:             yamuxLogger{},
	}
}

// yamuxLogger routes yamux's log lines to logrus at debug level: they describe what the guest did.
type yamuxLogger struct{}

func (yamuxLogger) Print(v ...any)                 { logrus.Debug(append([]any{"yamux: "}, v...)...) }
func (yamuxLogger) Printf(format string, v ...any) { logrus.Debugf(format, v...) }
func (yamuxLogger) Println(v ...any)               { logrus.Debug(v...) }

// tunnelConn is the port as yamux sees it: reads go through the frameGuard, writes have a deadline
// and go through the shared ring when there is one.
type tunnelConn struct {
	io.Reader
	net.Conn
	ring *shmring.Writer
}

func (c *tunnelConn) Read(p []byte) (int, error) { return c.Reader.Read(p) }

func (c *tunnelConn) Write(p []byte) (int, error) {
	if c.ring != nil {
		return c.ring.Write(p)
	}
	_ = c.SetWriteDeadline(time.Now().Add(tunnelWriteTimeout))
	return c.Conn.Write(p)
}

func (c *tunnelConn) Close() error {
	if c.ring != nil {
		_ = c.ring.Close()
	}
	return c.Conn.Close()
}

// yamux frame header (yamux spec.md): version, type, flags, stream ID, length.
const (
	yamuxHeaderSize = 12
	yamuxTypeData   = 0
	yamuxTypeWindow = 1
	yamuxTypePing   = 2
	yamuxTypeGoAway = 3
	yamuxFlagSYN    = 1
)

// frameGuard reads the guest's yamux frames before yamux does and fails the session on what yamux
// v0.1.2 would let a hostile guest do to the host: open streams (the host never accepts, so they
// would pile up with their buffers), send data frames longer than a window, or flood pings (yamux
// answers each in its own goroutine). A go-away ends the session too (yamux would keep a session
// that takes no streams). Bad versions and types it leaves to yamux, which refuses them.
type frameGuard struct {
	r     io.Reader
	hdr   [yamuxHeaderSize]byte
	nhdr  int
	skip  uint32 // payload bytes of the current data frame still to pass
	pings textutil.Limiter
	log   *textutil.Limiter
	err   atomic.Pointer[error]
}

func (g *frameGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if cerr := g.check(p[:n]); cerr != nil {
		g.err.CompareAndSwap(nil, &cerr)
		warnDrop(g.log, cerr, "guest-agent tunnel: dropping the session")
		return 0, cerr
	}
	return n, err
}

func (g *frameGuard) check(b []byte) error {
	for len(b) > 0 {
		if g.skip > 0 {
			k := min(uint32(len(b)), g.skip)
			g.skip -= k
			b = b[k:]
			continue
		}
		k := copy(g.hdr[g.nhdr:], b)
		g.nhdr += k
		b = b[k:]
		if g.nhdr < yamuxHeaderSize {
			return nil
		}
		g.nhdr = 0
		typ, flags := g.hdr[1], binary.BigEndian.Uint16(g.hdr[2:4])
		length := binary.BigEndian.Uint32(g.hdr[8:12])
		switch typ {
		case yamuxTypeData, yamuxTypeWindow:
			if flags&yamuxFlagSYN != 0 {
				return errors.New("the guest opened a stream; only the host may")
			}
			if typ == yamuxTypeData {
				if length > tunnelWindow {
					return fmt.Errorf("the guest sent a %d-byte frame, more than a window", length)
				}
				g.skip = length
			}
		case yamuxTypePing:
			if flags&yamuxFlagSYN != 0 {
				if ok, _ := g.pings.Allow(); !ok {
					return errors.New("the guest floods pings")
				}
			}
		case yamuxTypeGoAway:
			// A session the guest takes no new streams on is useless: start over.
			return errors.New("the guest ended the session (go away)")
		}
	}
	return nil
}

// DialGuest opens a stream to addr in the guest ("tcp" only). Errors: ErrTunnelDown (wrapped) when
// there is no session or no room for another stream, one wrapping api.ErrTunnelRefused when the
// guest's dial was refused, others when the stream or the guest's dial failed otherwise.
func (t *Tunnel) DialGuest(ctx context.Context, network, addr string) (net.Conn, error) {
	req, err := api.TunnelRequest(network, addr)
	if err != nil {
		return nil, err
	}
	return t.open(ctx, req, nil)
}

// Exec asks the guest agent to run req (api/exec.go); the stream returned carries its frames once
// the guest said it runs, and has a Signal method. Errors as DialGuest's, and one wrapping
// ErrNoReply when the guest may have started the command without the host learning it; the
// others (ErrTunnelDown, the guest agent's refusal: an older one, or the command could not start)
// mean it does not run.
func (t *Tunnel) Exec(ctx context.Context, req api.ExecRequest) (net.Conn, error) {
	return t.open(ctx, api.TunnelExecRequest+"\n", func(w io.Writer) error { return api.WriteExecRequest(w, req) })
}

// open opens a stream, sends the request line req and what header writes, and reads the guest's
// answer.
func (t *Tunnel) open(ctx context.Context, req string, header func(io.Writer) error) (net.Conn, error) {
	sess := t.session()
	if sess == nil {
		return nil, ErrTunnelDown
	}
	select {
	case t.streams <- struct{}{}:
	default:
		return nil, fmt.Errorf("%w: %d streams are open", ErrTunnelDown, cap(t.streams))
	}
	release := sync.OnceFunc(func() { <-t.streams })
	st, err := sess.OpenStream()
	if err != nil {
		release()
		if errors.Is(err, yamux.ErrRemoteGoAway) {
			_ = sess.Close() // the guest will take no more streams: start over
		}
		return nil, fmt.Errorf("%w: %w", ErrTunnelDown, err)
	}
	deadline := time.Now().Add(tunnelOpenTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = st.SetDeadline(deadline)
	_, err = io.WriteString(st, req)
	if err == nil && header != nil {
		err = header(st)
	}
	var reply string
	if err == nil {
		if reply, err = api.ReadTunnelLine(st, api.MaxTunnelReply); err != nil {
			err = fmt.Errorf("%w: %w", ErrNoReply, err)
		}
	}
	if err == nil {
		err = api.ParseTunnelReply(reply)
	}
	_ = st.SetDeadline(time.Time{})
	s := &tunnelStream{Stream: st, sess: sess, release: release, log: t.dropLog}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// tunnelStream is one forwarded connection: CloseWrite is yamux's half-close (FIN); Close ends it,
// and when the guest's side has not ended yet, asks the guest agent to abort it (yamux v0.1.2 has no
// reset) and drops the session if the guest does not within tunnelAbortTimeout.
type tunnelStream struct {
	*yamux.Stream
	sess    *yamux.Session
	release func()
	log     *textutil.Limiter
	eof     atomic.Bool
	once    sync.Once
}

func (s *tunnelStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if errors.Is(err, io.EOF) || errors.Is(err, yamux.ErrConnectionReset) {
		s.eof.Store(true) // the guest's side ended (a reset too: yamux's when its backlog is full)
	}
	return n, err
}

func (s *tunnelStream) CloseWrite() error { return s.Stream.Close() }

// Signal asks the guest agent to send the command of this exec stream the signal SSH names name,
// on a stream of its own (a command that does not read its stdin holds up this one).
func (s *tunnelStream) Signal(name string) error {
	req, err := api.TunnelSignalRequest(s.StreamID(), name)
	if err != nil {
		return err
	}
	st, err := s.sess.OpenStream()
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	_ = st.SetDeadline(time.Now().Add(tunnelOpenTimeout))
	if _, err := io.WriteString(st, req); err != nil {
		return err
	}
	reply, err := api.ReadTunnelLine(st, api.MaxTunnelReply)
	if err != nil {
		return err
	}
	return api.ParseTunnelReply(reply)
}

func (s *tunnelStream) Close() error {
	s.once.Do(func() {
		_ = s.Stream.Close()
		if s.eof.Load() || s.sess.IsClosed() {
			s.release()
			return
		}
		go s.abort()
	})
	return nil
}

func (s *tunnelStream) abort() {
	defer s.release()
	go func() {
		st, err := s.sess.OpenStream()
		if err != nil {
			return
		}
		defer func() { _ = st.Close() }()
		_ = st.SetDeadline(time.Now().Add(tunnelOpenTimeout))
		if _, err := io.WriteString(st, api.TunnelAbortRequest(s.StreamID())); err == nil {
			_, _ = api.ReadTunnelLine(st, api.MaxTunnelReply)
		}
	}()
	_ = s.SetReadDeadline(time.Now().Add(tunnelAbortTimeout))
	_, err := io.Copy(io.Discard, s.Stream)
	if err != nil && !errors.Is(err, yamux.ErrConnectionReset) && !s.sess.IsClosed() {
		warnDrop(s.log, err, "guest-agent tunnel: the guest kept an aborted stream open; dropping the session")
		_ = s.sess.Close()
	}
}
