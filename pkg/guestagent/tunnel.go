package guestagent

// The guest side of the tunnel (the protocol is in package api, tunnel.go): forwarded TCP
// connections arrive as yamux streams over a second virtio-serial port and are dialled here, so
// their bytes are not encrypted by the guest's sshd.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/pipe"
	"github.com/limactl/limactl/pkg/shmring"
)

// Bounds on the tunnel's guest side.
const (
	// MaxTunnelStreams is how many forwarded connections the guest agent carries at once; one more
	// is answered with an error (the host then falls back to SSH).
	MaxTunnelStreams = 1024
	// tunnelDialTimeout bounds the dial of a forwarded connection's guest address.
	tunnelDialTimeout = 10 * time.Second
	// tunnelRequestTimeout bounds the wait for a stream's request line.
	tunnelRequestTimeout = 10 * time.Second
	// tunnelWindow is each stream's receive window (yamux's MaxStreamWindowSize).
	tunnelWindow = 1 << 20
)

// Timings of ServeTunnel, variables for tests.
var (
	// tunnelHelloEvery is how often HELLO is repeated until the host answers.
	tunnelHelloEvery = time.Second
	// tunnelReopenMax caps the wait between attempts to open a port that is not there (an older
	// host's QEMU has no tunnel port).
	tunnelReopenMax = 30 * time.Second
)

// ServeTunnel serves the tunnel on a virtio-serial port until ctx is done; it never gives up on its
// own. Each time the port is opened it says HELLO with a fresh nonce until the host acknowledges it,
// then serves the host's streams until the session ends (the host went away, or either side saw an
// error), and starts over.
func ServeTunnel(ctx context.Context, open PortOpener) error {
	return ServeTunnelRings(ctx, open, tunnelRings)
}

// ServeTunnelRings is ServeTunnel with the function that finds the shared memory regions that may
// hold the host's ring (tunnelRings maps the guest's ivshmem devices; tests pass their own).
func ServeTunnelRings(ctx context.Context, open PortOpener, rings func() [][]byte) error {
	wait := minBackoff
	logged := false
	for ctx.Err() == nil {
		port, err := open()
		if err != nil {
			if !logged {
				logrus.WithError(err).Info("no tunnel port; the host forwards ports over SSH only")
				logged = true
			}
			wait = min(wait*2, tunnelReopenMax)
		} else {
			logged = false
			wait = minBackoff
			if err := serveTunnelConn(ctx, port, rings); err != nil && ctx.Err() == nil {
				logrus.WithError(err).Debug("tunnel session ended")
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return ctx.Err()
}

// ServeTunnelConn runs one handshake and session on an open port, and closes it.
func ServeTunnelConn(ctx context.Context, port io.ReadWriteCloser) error {
	return serveTunnelConn(ctx, port, tunnelRings)
}

func serveTunnelConn(ctx context.Context, port io.ReadWriteCloser, rings func() [][]byte) error {
	stop := context.AfterFunc(ctx, func() { _ = port.Close() })
	defer stop()
	defer func() { _ = port.Close() }()
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(&eofRetryReader{ctx: ctx, r: port}, 4096)
	var ring *shmring.Reader
	if err := tunnelHandshake(ctx, port, br, nonce, func() string {
		ring = sharedRing(rings(), nonce)
		if ring != nil {
			return api.TunnelReadyShm
		}
		return api.TunnelReady
	}); err != nil {
		return err
	}
	// Whatever the host sent after the ACK is already yamux (or doorbells), and some of it may be
	// in br.
	buffered, _ := br.Peek(br.Buffered())
	fromHost := io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), port)
	conn := &tunnelPort{Reader: fromHost, port: port}
	how := "its port"
	if ring != nil {
		ring.SetWait(doorbellWait(fromHost))
		conn.Reader = ring
		how = "shared memory to the guest, its port back"
	}
	sess, err := yamux.Server(conn, guestYamuxConfig())
	if err != nil {
		return err
	}
	defer func() { _ = sess.Close() }()
	logrus.Infof("tunnel: the host is connected (%s)", how)
	s := &tunnelServer{sem: make(chan struct{}, MaxTunnelStreams), live: map[uint32]io.Closer{}}
	defer s.spares.close()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return err
		}
		go s.serveStream(ctx, st)
	}
}

// tunnelHandshake says HELLO every tunnelHelloEvery until it reads the host's ACK of nonce, then
// says the word ready returns (READY, or READYSHM when the host's shared memory is in use).
// Everything else it reads is discarded.
func tunnelHandshake(ctx context.Context, port io.WriteCloser, br *bufio.Reader, nonce string, ready func() string) error {
	hctx, stopHello := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if _, err := io.WriteString(port, api.TunnelLine(api.TunnelHello, nonce)); err != nil {
				if hctx.Err() == nil {
					_ = port.Close() // the reader ends too; the caller reopens the port
				}
				return
			}
			select {
			case <-hctx.Done():
				return
			case <-time.After(tunnelHelloEvery):
			}
		}
	})
	sc := api.LineScanner{R: br, Max: api.MaxTunnelLine}
	var err error
	for {
		var line []byte
		line, err = sc.Next()
		if err != nil {
			break
		}
		if word, n, ok := api.ParseTunnelLine(line); ok && word == api.TunnelAck && n == nonce {
			break
		}
	}
	stopHello()
	if err != nil {
		return err // the caller closes the port, which ends a blocked HELLO
	}
	wg.Wait() // no HELLO after READY
	_, err = io.WriteString(port, api.TunnelLine(ready(), nonce))
	return err
}

// sharedRing returns a reader of the host's ring when the host started a session for nonce in one of
// the shared memory regions (it does before its ACK); nil when there is none.
func sharedRing(regions [][]byte, nonce string) *shmring.Reader {
	for _, mem := range regions {
		if r, err := shmring.NewReader(mem, nonce, nil); err == nil {
			return r
		}
	}
	return nil
}

// errHostReset: the host sent something other than a doorbell on the port while the ring carries
// its bytes (a new host's RESET line): the session is over.
var errHostReset = errors.New("tunnel: the host started over")

// doorbellWait returns the ring's wait: it reads what the port has, which must be doorbells (zero
// bytes). An error or EOF (no host on the port) ends the session.
func doorbellWait(port io.Reader) func() error {
	var buf [64]byte
	return func() error {
		n, err := port.Read(buf[:])
		for _, b := range buf[:n] {
			if b != 0 {
				return errHostReset
			}
		}
		return err
	}
}

func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// eofRetryReader turns the EOF a virtio-serial port reads while no host is connected into a wait:
// during the handshake the host may come later.
type eofRetryReader struct {
	ctx context.Context
	r   io.Reader
}

func (e *eofRetryReader) Read(p []byte) (int, error) {
	wait := minBackoff
	for {
		n, err := e.r.Read(p)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		select {
		case <-e.ctx.Done():
			return 0, e.ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, maxBackoff)
	}
}

// tunnelPort is the port as yamux sees it: reads start with what the handshake had buffered.
type tunnelPort struct {
	io.Reader
	port io.ReadWriteCloser
}

func (t *tunnelPort) Write(p []byte) (int, error) { return t.port.Write(p) }
func (t *tunnelPort) Close() error                { return t.port.Close() }

func guestYamuxConfig() *yamux.Config {
	return &yamux.Config{
		AcceptBacklog:          MaxTunnelStreams, // the host opens up to as many at once (portfwd.MaxTunnelStreams)
		EnableKeepAlive:        true,
		KeepAliveInterval:      15 * time.Second,
		ConnectionWriteTimeout: 30 * time.Second,
		MaxStreamWindowSize:    tunnelWindow,
		// The host closes every stream it opened (and aborts those it stopped reading).
		StreamCloseTimeout: 0,
		StreamOpenTimeout:  0, // the guest opens no streams
		Logger:             YamuxLogger{},
	}
}

// YamuxLogger routes yamux's log lines to logrus at debug level.
type YamuxLogger struct{}

func (YamuxLogger) Print(v ...any)                 { logrus.Debug(append([]any{"yamux: "}, v...)...) }
func (YamuxLogger) Printf(format string, v ...any) { logrus.Debugf(format, v...) }
func (YamuxLogger) Println(v ...any)               { logrus.Debug(v...) }

// tunnelServer serves the streams of one session.
type tunnelServer struct {
	sem    chan struct{}
	spares spareShells
	mu     sync.Mutex
	live   map[uint32]io.Closer // stream ID -> its guest connection or command, for "abort"
}

func (s *tunnelServer) serveStream(ctx context.Context, st *yamux.Stream) {
	defer func() { _ = st.Close() }()
	_ = st.SetReadDeadline(time.Now().Add(tunnelRequestTimeout))
	line, err := api.ReadTunnelLine(st, api.MaxTunnelRequest)
	_ = st.SetReadDeadline(time.Time{})
	if err != nil {
		return
	}
	// An abort takes no slot: the host sends it when it stops reading one of the connections that
	// fill the slots, and drops the whole session when the abort is not carried out.
	if id, ok := api.ParseTunnelAbort(line); ok {
		s.abort(id)
		_, _ = io.WriteString(st, api.TunnelReply(nil, false))
		return
	}
	if id, name, ok := api.ParseTunnelSignal(line); ok {
		s.mu.Lock()
		c, _ := s.live[id].(*execCmd)
		s.mu.Unlock()
		if c != nil {
			c.signal(name)
		}
		_, _ = io.WriteString(st, api.TunnelReply(nil, false))
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		_, _ = io.WriteString(st, api.TunnelReply(fmt.Errorf("the guest agent carries %d connections already", cap(s.sem)), false))
		return
	}
	if line == api.TunnelExecRequest {
		s.serveExec(st)
		return
	}
	network, addr, err := api.ParseTunnelRequest(line)
	if err != nil {
		_, _ = io.WriteString(st, api.TunnelReply(err, false))
		return
	}
	d := net.Dialer{Timeout: tunnelDialTimeout}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		_, _ = io.WriteString(st, api.TunnelReply(err, errors.Is(err, syscall.ECONNREFUSED)))
		return
	}
	defer func() { _ = c.Close() }()
	// Registered before the answer: the host may abort the stream as soon as it has read "ok".
	defer s.track(st.StreamID(), c)()
	if _, err := io.WriteString(st, api.TunnelReply(nil, false)); err != nil {
		return
	}
	pipeHalfClose(st, c)
}

// track registers c as stream id's connection or command, for "abort" and "signal", until the
// returned function is called.
func (s *tunnelServer) track(id uint32, c io.Closer) func() {
	s.mu.Lock()
	s.live[id] = c
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
	}
}

// abort closes the guest connection of stream id: the host stopped reading it.
func (s *tunnelServer) abort(id uint32) {
	s.mu.Lock()
	c := s.live[id]
	s.mu.Unlock()
	if c != nil {
		logrus.Debugf("tunnel: the host aborted stream %s", strconv.FormatUint(uint64(id), 10))
		_ = c.Close()
	}
}

// pipeHalfClose copies both ways between a stream and a guest connection, passing half-closes on,
// until both directions ended; an error in either direction closes both.
func pipeHalfClose(st *yamux.Stream, c net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := pipe.Copy(st, c)
		_ = st.Close() // FIN: yamux's Close is a half-close
		if err != nil {
			_ = c.Close()
		}
	}()
	_, err := pipe.Copy(c, st)
	if cw, ok := c.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
	} else {
		_ = c.Close()
	}
	<-done
}
