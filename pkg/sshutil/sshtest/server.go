// Package sshtest runs a fake guest for tests: an SSH server on 127.0.0.1 (golang.org/x/crypto/ssh)
// that runs "exec" commands on the local machine with `sh -c`, serves the "sftp" subsystem
// (github.com/pkg/sftp) rooted at a home directory, honours "env", "pty-req", "window-change" and
// "signal" requests, answers keepalives and opens "direct-tcpip" and
// "direct-streamlocal@openssh.com" channels (local port and socket forwarding). Tests of sshutil,
// copytool and the host agent reach it over a real TCP connection, exactly as they reach a guest.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Home is the commands' working directory and $HOME, and the SFTP start directory;
	// default t.TempDir().
	Home string
	// Shell is $SHELL for commands; default /bin/sh.
	Shell string
	// AuthorizedKeys are accepted for public key auth, in addition to Server.ClientSigner.
	AuthorizedKeys []ssh.PublicKey
	// HostSigner is the server's host key; default a fresh ed25519 key.
	HostSigner ssh.Signer
}

// PTYRequest records one "pty-req" the server accepted.
type PTYRequest struct {
	Term       string
	Cols, Rows int
}

// Server is a running fake guest. It is closed by t.Cleanup.
type Server struct {
	Host         string     // 127.0.0.1
	Port         int        // the listening port
	Home         string     // see Options.Home
	HostSigner   ssh.Signer // the server's host key
	ClientSigner ssh.Signer // an ed25519 client key the server accepts

	shell      string
	clientKey  ed25519.PrivateKey
	ln         net.Listener
	cfg        *ssh.ServerConfig
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]struct{}
	ptys       []PTYRequest
	resizes    []PTYRequest
	sessions   int
	keepalives int
	logins     int
	closed     bool
}

// Start starts a server on 127.0.0.1:0 and registers its Close with t.Cleanup.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := New(o, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// New starts a server outside a test (tempDir makes the default home); call Close when done.
func New(o Options, tempDir func() string) (*Server, error) {
	if o.Home == "" {
		o.Home = tempDir()
	}
	if o.Shell == "" {
		o.Shell = "/bin/sh"
	}
	if o.HostSigner == nil {
		_, o.HostSigner = newKey()
	}
	clientKey, clientSigner := newKey()
	s := &Server{
		Host:         "127.0.0.1",
		Home:         o.Home,
		HostSigner:   o.HostSigner,
		ClientSigner: clientSigner,
		clientKey:    clientKey,
		shell:        o.Shell,
		conns:        map[net.Conn]struct{}{},
	}
	authorized := append([]ssh.PublicKey{s.ClientSigner.PublicKey()}, o.AuthorizedKeys...)
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range authorized {
				if string(k.Marshal()) == string(key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("unauthorized key")
		},
	}
	s.cfg.AddHostKey(s.HostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.Port = ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func newKey() (ed25519.PrivateKey, ssh.Signer) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err)
	}
	return priv, signer
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// KnownHostsLine returns a known_hosts line pinning the server's host key under each of hosts
// (e.g. "lima-NAME", or "[127.0.0.1]:PORT" from s.Addr()), with a newline.
func (s *Server) KnownHostsLine(hosts ...string) string {
	return knownhosts.Line(hosts, s.HostSigner.PublicKey()) + "\n"
}

// WriteKnownHosts writes a known_hosts file at path pinning the host key under hosts.
func (s *Server) WriteKnownHosts(t testing.TB, path string, hosts ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s.KnownHostsLine(hosts...)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ClientPrivateKeyPEM returns ClientSigner's private key in the OpenSSH PEM format, for tests
// that need a key file (e.g. $LIMA_HOME/_config/user).
func (s *Server) ClientPrivateKeyPEM() []byte {
	block, err := ssh.MarshalPrivateKey(s.clientKey, "sshtest")
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(block)
}

// PTYRequests returns the PTY requests accepted so far.
func (s *Server) PTYRequests() []PTYRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PTYRequest(nil), s.ptys...)
}

// WindowChanges returns the window-change requests received so far.
func (s *Server) WindowChanges() []PTYRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PTYRequest(nil), s.resizes...)
}

// Sessions returns how many session channels were opened.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Logins returns how many connections completed the handshake and authentication.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// KeepAlives returns how many keepalive@openssh.com requests arrived.
func (s *Server) KeepAlives() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keepalives
}

// Close stops listening, drops every connection and waits for the handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// DropConnections closes every open connection (the guest "vanishing"), keeping the listener.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer sc.Close()
	s.mu.Lock()
	s.logins++
	s.mu.Unlock()
	go func() {
		for r := range reqs {
			if r.Type == "keepalive@openssh.com" {
				s.mu.Lock()
				s.keepalives++
				s.mu.Unlock()
			}
			_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
		}
	}()
	var wg sync.WaitGroup
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, creqs, err := nc.Accept()
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.sessions++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveSession(ch, creqs)
			}()
		case "direct-tcpip", "direct-streamlocal@openssh.com":
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveDirect(nc)
			}()
		default:
			_ = nc.Reject(ssh.UnknownChannelType, "unsupported channel type")
		}
	}
	wg.Wait()
}

// serveDirect opens a forwarded connection: a TCP address for "direct-tcpip" (ssh -L port), a Unix
// socket for "direct-streamlocal@openssh.com" (ssh -L socket).
func serveDirect(nc ssh.NewChannel) {
	var network, addr string
	if nc.ChannelType() == "direct-tcpip" {
		var p struct {
			Host       string
			Port       uint32
			OriginHost string
			OriginPort uint32
		}
		if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
			_ = nc.Reject(ssh.ConnectionFailed, "bad payload")
			return
		}
		network, addr = "tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
	} else {
		var p struct {
			Path      string
			Reserved0 string
			Reserved1 uint32
		}
		if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
			_ = nc.Reject(ssh.ConnectionFailed, "bad payload")
			return
		}
		network, addr = "unix", p.Path
	}
	conn, err := net.Dial(network, addr)
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(ch, conn); _ = ch.CloseWrite(); done <- struct{}{} }()
	go func() {
		_, _ = io.Copy(conn, ch)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
	ch.Close()
	conn.Close()
}

func (s *Server) env() []string {
	return []string{
		"HOME=" + s.Home,
		"SHELL=" + s.shell,
		"PATH=" + os.Getenv("PATH"),
		"USER=" + os.Getenv("USER"),
		"LOGNAME=" + os.Getenv("USER"),
	}
}
