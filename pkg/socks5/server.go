// Package socks5 is a minimal SOCKS5 server (RFC 1928): no authentication, CONNECT only, IPv4,
// IPv6 and domain name addresses. Every connection is made by a caller-supplied dial function, so
// `limactl tunnel` can open them from inside a guest over SSH ("direct-tcpip" channels); a domain
// name is passed on unresolved, the guest resolves it (socks5h:// for curl and the like).
package socks5

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// DialFunc opens a TCP connection to addr (host:port; host may be a name).
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// HandshakeTimeout bounds the greeting and the request of one client.
const HandshakeTimeout = 30 * time.Second

const (
	version5 = 0x05

	methodNoAuth       = 0x00
	methodNoAcceptable = 0xff

	cmdConnect = 0x01

	atypIPv4   = 0x01
	atypDomain = 0x03
	atypIPv6   = 0x04

	repSucceeded           = 0x00
	repGeneralFailure      = 0x01
	repCommandNotSupported = 0x07
	repAddrNotSupported    = 0x08
)

// Serve accepts SOCKS5 clients on ln until ln is closed or ctx is done, dialling each CONNECT
// target with dial. It returns nil when stopped by ctx, else the Accept error.
func Serve(ctx context.Context, ln net.Listener, dial DialFunc) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, dial)
		}()
	}
}

func serveConn(ctx context.Context, c net.Conn, dial DialFunc) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(HandshakeTimeout))
	addr, err := handshake(c)
	if err != nil {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	remote, err := dial(dctx, addr)
	cancel()
	if err != nil {
		_ = reply(c, repGeneralFailure)
		return
	}
	defer remote.Close()
	if err := reply(c, repSucceeded); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	// Closing both ends when ctx ends (the tunnel stops) unblocks the copies.
	stop := context.AfterFunc(ctx, func() { c.Close(); remote.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(remote, c); closeWrite(remote); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, remote); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// handshake reads the greeting and the request and returns the CONNECT target as host:port. It
// answers refusals itself.
func handshake(rw io.ReadWriter) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(rw, hdr[:]); err != nil {
		return "", err
	}
	if hdr[0] != version5 {
		return "", fmt.Errorf("socks version %d is not supported", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(rw, methods); err != nil {
		return "", err
	}
	method := byte(methodNoAcceptable)
	for _, m := range methods {
		if m == methodNoAuth {
			method = methodNoAuth
		}
	}
	if _, err := rw.Write([]byte{version5, method}); err != nil {
		return "", err
	}
	if method == methodNoAcceptable {
		return "", errors.New("the client offers no method without authentication")
	}
	var req [4]byte
	if _, err := io.ReadFull(rw, req[:]); err != nil {
		return "", err
	}
	if req[0] != version5 {
		return "", fmt.Errorf("socks version %d is not supported", req[0])
	}
	var host string
	switch req[3] {
	case atypIPv4, atypIPv6:
		n := net.IPv4len
		if req[3] == atypIPv6 {
			n = net.IPv6len
		}
		ip := make(net.IP, n)
		if _, err := io.ReadFull(rw, ip); err != nil {
			return "", err
		}
		host = ip.String()
	case atypDomain:
		var l [1]byte
		if _, err := io.ReadFull(rw, l[:]); err != nil {
			return "", err
		}
		name := make([]byte, l[0])
		if _, err := io.ReadFull(rw, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		_ = reply(rw, repAddrNotSupported)
		return "", fmt.Errorf("address type %d is not supported", req[3])
	}
	var port [2]byte
	if _, err := io.ReadFull(rw, port[:]); err != nil {
		return "", err
	}
	if req[1] != cmdConnect {
		_ = reply(rw, repCommandNotSupported)
		return "", fmt.Errorf("command %d is not supported (CONNECT only)", req[1])
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), nil
}

// reply sends a reply with a zero IPv4 bound address: the clients in use ignore it.
func reply(w io.Writer, rep byte) error {
	_, err := w.Write([]byte{version5, rep, 0x00, atypIPv4, 0, 0, 0, 0, 0, 0})
	return err
}
