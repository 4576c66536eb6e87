// Package pipe copies a byte stream between two connections.
package pipe

import "io"

// Buffer sizes of Copy.
const (
	minBuffer = 32 << 10
	maxBuffer = 256 << 10
)

// Copy copies from src to dst until EOF or an error, as io.Copy does, but its buffer doubles (up
// to 256 KiB) each time a read fills it. A bulk transfer then moves in large writes, which costs
// fewer system calls and wake-ups on both sides than io.Copy's 32 KiB (under an emulated guest
// CPU, each one is dear), while a connection that trickles keeps a 32 KiB buffer. It does not use
// io.WriterTo or io.ReaderFrom: the connections it serves (TCP, yamux streams, SSH channels) have
// no zero-copy path between them.
func Copy(dst io.Writer, src io.Reader) (written int64, err error) {
	buf := make([]byte, minBuffer)
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
			if n == len(buf) && len(buf) < maxBuffer {
				buf = make([]byte, 2*len(buf))
			}
		}
		switch {
		case rerr == io.EOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}
