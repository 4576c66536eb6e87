package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// errFrameTooLarge ends a connection that announces a frame over MaxFrame.
var errFrameTooLarge = errors.New("usernet: frame too large")

// frameFilter is a QEMU stream connection (4-byte big-endian length, then the frame) that passes on
// only well-formed frames from at most MaxMACsPerConn source addresses. Reads buffer at most one
// frame.
type frameFilter struct {
	net.Conn
	buf  []byte // the rest of the current frame, with its length prefix
	macs [][6]byte
}

func (f *frameFilter) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// next reads one frame into buf, or leaves buf empty when the frame is dropped.
func (f *frameFilter) next() error {
	var hdr [4]byte
	if _, err := io.ReadFull(f.Conn, hdr[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > MaxFrame {
		return fmt.Errorf("%w: %d bytes", errFrameTooLarge, size)
	}
	frame := make([]byte, 4+int(size))
	copy(frame, hdr[:])
	if _, err := io.ReadFull(f.Conn, frame[4:]); err != nil {
		return err
	}
	if size < 14 || !f.allowSource(frame[4+6:4+12]) {
		return nil // too short for Ethernet, or from one address too many: dropped
	}
	f.buf = frame
	return nil
}

func (f *frameFilter) allowSource(src []byte) bool {
	var mac [6]byte
	copy(mac[:], src)
	if mac[0]&1 == 1 {
		return false // a multicast source address is never valid
	}
	for _, m := range f.macs {
		if m == mac {
			return true
		}
	}
	if len(f.macs) >= MaxMACsPerConn {
		return false
	}
	f.macs = append(f.macs, mac)
	return true
}
