// Package pipe copies a byte stream between two connections.
package pipe

import (
	"io"
	"sync"
)

// Buffer sizes of Copy.
const (
	smallBuffer = 32 << 10
	bulkBuffer  = 256 << 10
)

// bulkBuffers holds the large buffers between transfers, so that a process forwarding one bulk
// transfer after another reuses a few buffers instead of leaving each one to the garbage collector
// (a host agent's RSS is part of what is measured).
var bulkBuffers = sync.Pool{New: func() any { return new([bulkBuffer]byte) }}

// Copy copies from src to dst until EOF or an error, as io.Copy does, but it moves to a 256 KiB
// buffer after two reads in a row fill its 32 KiB one, and back (returning the large one to a
// pool) after a read that fills less than half of it. A bulk transfer then moves in large writes,
// which costs fewer system calls and wake-ups on both sides than io.Copy's 32 KiB (under an
// emulated guest CPU, each one is dear), while a connection that trickles, or waits after a
// burst, holds 32 KiB. It does not use io.WriterTo or io.ReaderFrom: the connections it serves
// (TCP, yamux streams, SSH channels) have no zero-copy path between them.
func Copy(dst io.Writer, src io.Reader) (written int64, err error) {
	small := make([]byte, smallBuffer)
	buf := small
	var bulk *[bulkBuffer]byte
	defer func() {
		if bulk != nil {
			bulkBuffers.Put(bulk)
		}
	}()
	full := 0 // reads in a row that filled the small buffer
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
			if w != n {
				return written, io.ErrShortWrite
			}
		}
		switch {
		case bulk == nil && n == len(small):
			if full++; full == 2 {
				bulk = bulkBuffers.Get().(*[bulkBuffer]byte)
				buf = bulk[:]
			}
		case bulk == nil:
			full = 0
		case n < bulkBuffer/2:
			bulkBuffers.Put(bulk)
			bulk, buf, full = nil, small, 0
		}
		switch {
		case rerr == io.EOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}
