package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
)

// frame returns a QEMU-framed Ethernet frame from src with payload size n.
func frame(src byte, n int) []byte {
	f := make([]byte, 4+14+n)
	binary.BigEndian.PutUint32(f, uint32(14+n))
	copy(f[4:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x55, 0, 0, src})
	return f
}

func TestFrameFilter(t *testing.T) {
	var in bytes.Buffer
	for i := range MaxMACsPerConn + 2 {
		in.Write(frame(byte(i), 10)) // the last two come from one address too many
	}
	in.Write(frame(0, 20)) // a known address again
	short := make([]byte, 4+6)
	binary.BigEndian.PutUint32(short, 6)
	in.Write(short) // too short for Ethernet: dropped
	mcast := frame(1, 10)
	mcast[4+6] = 0x01 // a multicast source: dropped
	in.Write(mcast)
	c1, c2 := net.Pipe()
	go func() { _, _ = c2.Write(in.Bytes()); c2.Close() }()
	out, err := io.ReadAll(&frameFilter{Conn: c1})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := range MaxMACsPerConn {
		want.Write(frame(byte(i), 10))
	}
	want.Write(frame(0, 20))
	if !bytes.Equal(out, want.Bytes()) {
		t.Errorf("filtered stream is %d bytes, want %d", len(out), want.Len())
	}

	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, MaxFrame+1)
	c3, c4 := net.Pipe()
	go func() { _, _ = c4.Write(huge); c4.Close() }()
	if _, err := io.ReadAll(&frameFilter{Conn: c3}); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("an oversized frame: %v", err)
	}
}
