package hostagent

// The SSH mux: once the guest is ready, the host agent serves an SSH server on <instDir>/ssh.mux.sock
// that hands each session to one long-lived SSH connection to the guest, so `limactl shell` and
// `limactl copy` skip the key exchange and login that cost seconds in an emulated guest. The server
// presents the guest's own pinned host key and accepts only the user's key, so clients verify it
// exactly as they verify the guest. Any failure here only means clients dial the guest themselves.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// startSSHMux serves the mux from when ready is closed (the guest user's session is final) until
// ctx is done. up is closed once the socket listens or the mux has given up; the returned channel
// is closed once the socket is gone. Failures are logged and leave clients dialling the guest.
func (a *agent) startSSHMux(ctx context.Context, ready <-chan struct{}, up chan<- struct{}) <-chan struct{} {
	done := make(chan struct{})
	signalUp := sync.OnceFunc(func() { close(up) })
	go func() {
		defer close(done)
		defer signalUp()
		select {
		case <-ready:
		case <-ctx.Done():
			return
		}
		if ctx.Err() != nil {
			return
		}
		path := filepath.Join(a.inst.Dir, filenames.SSHMuxSock)
		if len(path) >= osutil.UnixPathMax(runtime.GOOS) {
			logrus.Debugf("no SSH mux: %s is too long for a unix socket", path)
			return
		}
		hostKey, err := loadHostSigner(a.inst.Dir)
		if err != nil {
			logrus.WithError(err).Debug("no SSH mux: cannot load the guest's host key")
			return
		}
		guest := &muxGuest{dial: a.dialMuxGuest}
		if !envknob.LimaGuestAgentExec.Off() {
			guest.exec = &guestExec{tunnel: a.tunnel.Load}
		}
		m, err := listenSSHMux(path, hostKey, a.signer.PublicKey(), a.user, guest)
		if err != nil {
			logrus.WithError(err).Debug("no SSH mux")
			return
		}
		logrus.Debugf("SSH mux on %s", path)
		signalUp()
		// Log in now, so the first client after READY does not pay for it; the client waits for
		// this dial (guest.mu) rather than making its own.
		go func() {
			if _, err := guest.client(ctx); err != nil {
				logrus.WithError(err).Debug("SSH mux: first dial to the guest failed; clients will retry")
			}
		}()
		<-ctx.Done()
		m.Close()
	}()
	return done
}

// dialMuxGuest gives the mux its connection to the guest: at first the host agent's own, which the
// user-session step vouched for (saving a second key exchange, login and PAM session, seconds of an
// emulated CPU, before READY), when it still answers; a fresh login otherwise and after it drops.
func (a *agent) dialMuxGuest(ctx context.Context) (*ssh.Client, error) {
	if c := a.takeSessionClient(); c != nil {
		if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			logrus.Debug("SSH mux: sharing the host agent's connection to the guest")
			return c, nil
		}
		_ = c.Close() // broken, and closeSSH leaves it to the mux
	}
	return a.dialSSH(ctx)
}

func loadHostSigner(instDir string) (ssh.Signer, error) {
	pem, err := os.ReadFile(filepath.Join(instDir, cidata.HostKeyFile))
	if err != nil {
		return nil, err
	}
	return ssh.ParsePrivateKey(pem)
}

// muxGuest is the mux's own connection to the guest, dialled as soon as the guest is ready (so the
// guest user's environment is final) and again whenever it drops.
type muxGuest struct {
	dial func(context.Context) (*ssh.Client, error)
	// exec, when set, runs commands without a terminal through the guest agent (sshexec.go),
	// with what it learns from each new connection.
	exec *guestExec
	mu   sync.Mutex
	c    *ssh.Client
}

func (g *muxGuest) client(ctx context.Context) (*ssh.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c != nil {
		return g.c, nil
	}
	c, err := g.dial(ctx)
	if err != nil {
		return nil, err
	}
	g.c = c
	if g.exec != nil {
		g.exec.setClient(c)
	}
	go func() {
		_ = c.Wait()
		g.mu.Lock()
		if g.c == c {
			g.c = nil
			if g.exec != nil {
				g.exec.setClient(nil) // its session's cgroup and environment are gone
			}
		}
		g.mu.Unlock()
	}()
	return c, nil
}

// drop forgets c (broken) and closes it, so the next client call dials again.
func (g *muxGuest) drop(c *ssh.Client) {
	g.mu.Lock()
	if g.c == c {
		g.c = nil
		if g.exec != nil {
			g.exec.setClient(nil)
		}
	}
	g.mu.Unlock()
	_ = c.Close()
}

func (g *muxGuest) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c != nil {
		_ = g.c.Close()
		g.c = nil
	}
}

// sshMux is a running mux server.
type sshMux struct {
	ln    net.Listener
	path  string
	cfg   *ssh.ServerConfig
	guest *muxGuest
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// listenSSHMux serves on the unix socket path (0600, replacing a stale one): clients authenticate
// as user with the key authorized, see hostKey, and get their channels proxied to guest.
func listenSSHMux(path string, hostKey ssh.Signer, authorized ssh.PublicKey, user string, guest *muxGuest) (*sshMux, error) {
	want := string(authorized.Marshal())
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if md.User() != user || string(key.Marshal()) != want {
				return nil, errors.New("unauthorized")
			}
			return &ssh.Permissions{}, nil
		},
	}
	cfg.AddHostKey(hostKey)
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		_ = os.Remove(path)
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &sshMux{ln: ln, path: path, cfg: cfg, guest: guest, ctx: ctx, stop: stop, conns: map[net.Conn]struct{}{}}
	m.wg.Add(1)
	go m.accept()
	return m, nil
}

// Close stops listening, ends every client connection and the guest connection, and removes the
// socket.
func (m *sshMux) Close() {
	m.stop()
	_ = m.ln.Close()
	m.mu.Lock()
	for c := range m.conns {
		_ = c.Close()
	}
	m.mu.Unlock()
	m.guest.close() // unblocks proxies waiting on the guest
	m.wg.Wait()
	_ = os.Remove(m.path)
}

func (m *sshMux) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		if m.ctx.Err() != nil {
			m.mu.Unlock()
			_ = c.Close()
			return
		}
		m.conns[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go func() {
			defer m.wg.Done()
			m.serveConn(c)
			m.mu.Lock()
			delete(m.conns, c)
			m.mu.Unlock()
			_ = c.Close()
		}()
	}
}

func (m *sshMux) serveConn(nc net.Conn) {
	conn, chans, reqs, err := ssh.NewServerConn(nc, m.cfg)
	if err != nil {
		logrus.WithError(err).Debug("SSH mux: handshake")
		return
	}
	defer conn.Close()
	go func() {
		for r := range reqs {
			if r.WantReply {
				_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for ch := range chans {
		switch ch.ChannelType() {
		case "session", "direct-tcpip":
		default:
			_ = ch.Reject(ssh.UnknownChannelType, "unsupported channel type")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.proxy(ch)
		}()
	}
}

// proxy opens the same channel on the guest connection and relays data, stderr, requests, EOF
// and close between the two.
func (m *sshMux) proxy(nc ssh.NewChannel) {
	if nc.ChannelType() == "session" && m.guest.exec != nil {
		m.session(nc)
		return
	}
	gch, greqs, err := m.openGuest(nc)
	if err != nil {
		var oe *ssh.OpenChannelError
		if errors.As(err, &oe) {
			_ = nc.Reject(oe.Reason, oe.Message)
		} else {
			_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		}
		return
	}
	cch, creqs, err := nc.Accept()
	if err != nil {
		go ssh.DiscardRequests(greqs)
		_ = gch.Close()
		return
	}
	relayChannel(cch, creqs, gch, greqs)
}

// relayChannel relays data, stderr, requests, EOF and close between a client's channel and the
// same channel on the guest connection.
func relayChannel(cch ssh.Channel, creqs <-chan *ssh.Request, gch ssh.Channel, greqs <-chan *ssh.Request) {
	var out sync.WaitGroup
	out.Add(3)
	go func() { // guest stdout -> client, then EOF
		defer out.Done()
		_, _ = io.Copy(cch, gch)
		_ = cch.CloseWrite()
	}()
	go func() { // guest stderr -> client
		defer out.Done()
		_, _ = io.Copy(cch.Stderr(), gch.Stderr())
	}()
	go func() { // exit-status, exit-signal, eow@openssh.com...; ends when the guest closes
		defer out.Done()
		forwardRequests(greqs, cch)
	}()
	go func() { // client stdin -> guest, then EOF
		_, _ = io.Copy(gch, cch)
		_ = gch.CloseWrite()
	}()
	go func() { // pty-req, env, exec, shell, window-change, signal, subsystem...; ends when the client closes
		forwardRequests(creqs, gch)
		_ = gch.Close()
	}()
	out.Wait()
	_ = cch.Close()
	_ = gch.Close()
}

// openGuest opens nc's channel on the guest connection, redialling once when the connection broke.
func (m *sshMux) openGuest(nc ssh.NewChannel) (ssh.Channel, <-chan *ssh.Request, error) {
	var lastErr error
	for range 2 {
		c, err := m.guest.client(m.ctx)
		if err != nil {
			return nil, nil, err
		}
		gch, greqs, err := c.OpenChannel(nc.ChannelType(), nc.ExtraData())
		var oe *ssh.OpenChannelError
		if err == nil || errors.As(err, &oe) {
			return gch, greqs, err
		}
		lastErr = err
		m.guest.drop(c) // broken: the next call dials again
	}
	return nil, nil, lastErr
}

func forwardRequests(in <-chan *ssh.Request, to ssh.Channel) {
	for r := range in {
		ok, err := to.SendRequest(r.Type, r.WantReply, r.Payload)
		if r.WantReply {
			_ = r.Reply(ok && err == nil, nil)
		}
	}
}
