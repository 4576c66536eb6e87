// Package guestagent is the daemon half of lima-guestagent, the program that runs in Linux guests:
// it watches the guest's listening sockets (package sockets) and reports additions and removals to
// the host agent over the virtio-serial port or vsock, speaking the protocol of package api. It also
// serves the tunnel (tunnel.go), which carries forwarded TCP connections over a second virtio-serial
// port instead of SSH, and holds the UDP relay the host's UDP port forwarder runs in the guest over
// SSH.
package guestagent
