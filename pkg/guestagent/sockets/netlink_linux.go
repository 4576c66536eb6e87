package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// Scan lists the sockets with netlink, or from /proc/net when netlink fails (the error is returned
// only when both fail).
func Scan() ([]api.Port, error) {
	ps, err := ScanNetlink()
	if err == nil {
		return ps, nil
	}
	ps, perr := ScanProc("/proc/net")
	if perr != nil {
		return nil, errors.Join(err, perr)
	}
	return ps, nil
}

// Kernel socket states (include/net/tcp_states.h).
const (
	stateEstablished = 1
	stateClose       = 7 // an unconnected UDP socket
	stateListen      = 10
)

// Sizes of the inet_diag structures (include/uapi/linux/inet_diag.h).
const (
	sizeofNlMsghdr    = 16
	sizeofSockID      = 48
	sizeofReqV2       = 8 + sizeofSockID
	sizeofInetDiagMsg = 4 + sizeofSockID + 20
)

// nlSocket is one NETLINK_SOCK_DIAG socket, reused across scans (opening one per scan costs more
// than the dump itself). It is guarded by nlMu.
var (
	nlMu  sync.Mutex
	nlFD  = -1
	nlBuf = make([]byte, 64<<10)
	nlSeq uint32
)

// ScanNetlink lists the sockets with four sock_diag dumps: TCP LISTEN and UDP CLOSE, for AF_INET
// and AF_INET6.
func ScanNetlink() ([]api.Port, error) {
	nlMu.Lock()
	defer nlMu.Unlock()
	if nlFD < 0 {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return nil, fmt.Errorf("netlink sock_diag socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			_ = unix.Close(fd)
			return nil, fmt.Errorf("netlink sock_diag bind: %w", err)
		}
		nlFD = fd
	}
	var ps []api.Port
	for _, q := range []struct {
		family, proto uint8
		states        uint32
		name          string
	}{
		{unix.AF_INET, unix.IPPROTO_TCP, 1 << stateListen, api.ProtoTCP},
		{unix.AF_INET6, unix.IPPROTO_TCP, 1 << stateListen, api.ProtoTCP},
		{unix.AF_INET, unix.IPPROTO_UDP, 1 << stateClose, api.ProtoUDP},
		{unix.AF_INET6, unix.IPPROTO_UDP, 1 << stateClose, api.ProtoUDP},
	} {
		got, err := dump(nlFD, q.family, q.proto, q.states, q.name)
		if err != nil {
			_ = unix.Close(nlFD)
			nlFD = -1
			return nil, err
		}
		ps = append(ps, got...)
	}
	return dedupe(ps), nil
}

// dump sends one SOCK_DIAG_BY_FAMILY dump request and parses the replies.
func dump(fd int, family, proto uint8, states uint32, protoName string) ([]api.Port, error) {
	nlSeq++
	seq := nlSeq
	req := make([]byte, sizeofNlMsghdr+sizeofReqV2)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	r := req[sizeofNlMsghdr:]
	r[0], r[1] = family, proto
	ne.PutUint32(r[4:], states)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink sock_diag request: %w", err)
	}
	var ps []api.Port
	for {
		n, _, err := unix.Recvfrom(fd, nlBuf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("netlink sock_diag reply: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(nlBuf[:n])
		if err != nil {
			return nil, fmt.Errorf("netlink sock_diag reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return ps, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := int32(ne.Uint32(m.Data)); errno != 0 {
						return nil, fmt.Errorf("netlink sock_diag: %w", os.NewSyscallError("sock_diag", syscall.Errno(-errno)))
					}
				}
				return ps, nil
			}
			if p, ok := parseDiagMsg(m.Data, protoName); ok {
				ps = append(ps, p)
			}
		}
	}
}

// parseDiagMsg reads one inet_diag_msg; ok is false for sockets that are not listeners (a UDP
// socket with a peer, port 0).
func parseDiagMsg(b []byte, protoName string) (api.Port, bool) {
	if len(b) < sizeofInetDiagMsg {
		return api.Port{}, false
	}
	family, state := b[0], b[1]
	id := b[4 : 4+sizeofSockID]
	sport := int(binary.BigEndian.Uint16(id[0:]))
	dport := binary.BigEndian.Uint16(id[2:])
	if sport == 0 {
		return api.Port{}, false
	}
	switch protoName {
	case api.ProtoTCP:
		if state != stateListen {
			return api.Port{}, false
		}
	case api.ProtoUDP:
		if state == stateEstablished || dport != 0 {
			return api.Port{}, false
		}
	}
	var ip net.IP
	if family == unix.AF_INET {
		ip = net.IP(append([]byte(nil), id[4:8]...))
	} else {
		ip = net.IP(append([]byte(nil), id[4:20]...))
	}
	return api.Port{IP: ip.String(), Port: sport, Proto: protoName}, true
}
