package sshutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultDialTimeout bounds the TCP connect plus the SSH handshake when DialOptions.Timeout is 0.
const DefaultDialTimeout = 30 * time.Second

// KeepAliveInterval is how often Dial's client sends keepalive@openssh.com; after
// keepAliveMaxMissed unanswered intervals the connection is closed.
const KeepAliveInterval = 15 * time.Second

const keepAliveMaxMissed = 3

// DialOptions says how to reach a guest.
type DialOptions struct {
	Addr           string     // host to dial; default 127.0.0.1
	Port           int        // forwarded SSH port
	User           string     // guest user name
	Signer         ssh.Signer // client key; default UserSigner()
	KnownHostsFile string     // pinned host keys; required (KnownHostsFile(instDir))
	// HostKeyAlias is the name the host key is pinned under (HostKeyAlias(instance name)). When it
	// is empty, or the file has no line for it, the key is looked up under "[Addr]:Port".
	HostKeyAlias string
	Timeout      time.Duration // connect + handshake; default DefaultDialTimeout
	// KeepAlive overrides KeepAliveInterval; negative disables keepalives.
	KeepAlive time.Duration
	// UnixSocket, when set, is dialled instead of Addr:Port: the host agent's SSH mux
	// (ssh.mux.sock), which shows the guest's host key (the known_hosts check is unchanged).
	UnixSocket string
}

// Dial connects and authenticates to a guest with strict host key checking. The returned client
// sends keepalives until it is closed.
func Dial(ctx context.Context, o DialOptions) (*ssh.Client, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultDialTimeout
	}
	if o.UnixSocket == "" && (o.Port <= 0 || o.Port > 65535) {
		return nil, fmt.Errorf("invalid SSH port %d", o.Port)
	}
	if o.Signer == nil {
		s, err := UserSigner()
		if err != nil {
			return nil, err
		}
		o.Signer = s
	}
	hkcb, err := hostKeyCallback(o.KnownHostsFile, o.HostKeyAlias)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(o.Addr, strconv.Itoa(o.Port))
	if o.UnixSocket != "" {
		// known_hosts matching wants a TCP peer: check the key as if it came from Addr:Port.
		check, remote := hkcb, &net.TCPAddr{IP: net.ParseIP(o.Addr), Port: o.Port}
		hkcb = func(hostname string, _ net.Addr, key ssh.PublicKey) error { return check(hostname, remote, key) }
	}
	cfg := &ssh.ClientConfig{
		User:            o.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(o.Signer)},
		HostKeyCallback: hkcb,
		Timeout:         o.Timeout,
	}
	if o.UnixSocket != "" {
		// The host agent's mux is a local socket only the user can open: the post-quantum hybrid
		// key exchange x/crypto prefers would cost each limactl shell a millisecond or two of CPU
		// (and as much in the host agent) for nothing.
		cfg.KeyExchanges = []string{"curve25519-sha256", "curve25519-sha256@libssh.org"}
	}

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var d net.Dialer
	var conn net.Conn
	if o.UnixSocket != "" {
		if conn, err = d.DialContext(ctx, "unix", o.UnixSocket); err != nil {
			return nil, fmt.Errorf("cannot connect to %s: %w", o.UnixSocket, err)
		}
	} else if conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, fmt.Errorf("cannot connect to the guest's SSH port %s: %w", addr, err)
	}
	// The handshake has no context; a deadline plus closing on cancel bound it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		conn.Close()
		return nil, fmt.Errorf("SSH handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		conn.Close()
		if errors.Is(err, ErrHostKeyChanged) || errors.Is(err, ErrHostKeyUnknown) {
			return nil, err
		}
		return nil, fmt.Errorf("SSH handshake with %s as %q: %w", addr, o.User, err)
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(c, chans, reqs)
	interval := KeepAliveInterval
	if o.KeepAlive != 0 {
		interval = o.KeepAlive
	}
	if interval > 0 {
		go keepAlive(client, interval)
	}
	return client, nil
}

// keepAlive pings the server until the connection ends, closing it when the server stops answering.
func keepAlive(c *ssh.Client, interval time.Duration) {
	done := make(chan struct{})
	go func() {
		_ = c.Wait()
		close(done)
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-done:
			return
		case err := <-reply:
			if err != nil {
				c.Close()
				return
			}
			missed = 0
		case <-time.After(interval):
			missed++
			if missed >= keepAliveMaxMissed {
				c.Close()
				return
			}
		}
	}
}
