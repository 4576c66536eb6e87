package vz

import (
	"errors"
	"io"
	"net"

	"github.com/sirupsen/logrus"
)

// forwardToVsock listens on hostAddr and connects each accepted connection to port on the guest's
// vsock. It runs until the listener is closed. vzNAT gives the guest no forwarded host port, so this
// is how 127.0.0.1:<ssh.localPort> reaches the guest's sshd; the guest must accept SSH on vsock port
// 22 (systemd 256+ does by itself; otherwise the guest agent bridges it).
func forwardToVsock(hostAddr string, m Machine, port uint32) (net.Listener, error) {
	ln, err := net.Listen("tcp", hostAddr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					logrus.Debugf("vz: ssh forwarder on %s: %v", hostAddr, err)
				}
				return
			}
			go func() {
				defer c.Close()
				g, err := m.ConnectVsock(port)
				if err != nil {
					logrus.Debugf("vz: ssh forwarder: connecting to vsock port %d: %v", port, err)
					return
				}
				defer g.Close()
				// The first side to finish ends the connection; SSH needs no half-close.
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(g, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, g); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return ln, nil
}
