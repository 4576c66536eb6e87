package sockets

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// ScanProc lists the sockets from dir/{tcp,tcp6,udp,udp6} (dir is /proc/net). A missing tcp6/udp6
// (IPv6 disabled) is not an error.
func ScanProc(dir string) ([]api.Port, error) {
	var ps []api.Port
	for _, f := range []struct {
		name, proto string
		v6          bool
	}{
		{"tcp", api.ProtoTCP, false}, {"tcp6", api.ProtoTCP, true},
		{"udp", api.ProtoUDP, false}, {"udp6", api.ProtoUDP, true},
	} {
		got, err := parseProcFile(filepath.Join(dir, f.name), f.proto)
		if err != nil {
			if f.v6 && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		ps = append(ps, got...)
	}
	return dedupe(ps), nil
}

func parseProcFile(path, proto string) ([]api.Port, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	ps, err := parseProc(bufio.NewScanner(f), proto)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// parseProc reads the table format of /proc/net/tcp: a header line, then
// "sl local_address rem_address st ...", addresses as hex IP (in host byte order per 32-bit word)
// ':' hex port.
func parseProc(s *bufio.Scanner, proto string) ([]api.Port, error) {
	var ps []api.Port
	first := true
	for s.Scan() {
		if first {
			first = false
			continue
		}
		fields := strings.Fields(s.Text())
		if len(fields) < 4 {
			continue
		}
		ip, port, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, err
		}
		_, rport, err := parseProcAddr(fields[2])
		if err != nil {
			return nil, err
		}
		st, err := strconv.ParseUint(fields[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad state %q", fields[3])
		}
		if port == 0 {
			continue
		}
		if proto == api.ProtoTCP && st != stateListen {
			continue
		}
		if proto == api.ProtoUDP && (st != stateClose || rport != 0) {
			continue
		}
		ps = append(ps, api.Port{IP: ip.String(), Port: port, Proto: proto})
	}
	return ps, s.Err()
}

func parseProcAddr(s string) (net.IP, int, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("bad port in %q", s)
	}
	// Each 32-bit word is printed in host byte order.
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	return ip, int(port), nil
}
