// Package shmring carries one direction of a byte stream, host to guest, through memory that QEMU
// shares with the guest (an ivshmem-plain device backed by the host's memfd). It is the fast path of
// the guest agent's tunnel (pkg/guestagent/api, tunnel.go): under TCG, QEMU's main thread feeds a
// virtio-serial port 4 KiB at a time and is busy on every chunk; through shared memory the host
// writes at native speed and the guest reads without a virtqueue, a wake-up or a system call per page.
//
// Layout of the region (offsets in bytes; counters are little-endian uint64 read and written
// atomically):
//
//	0      Magic (16 bytes), written by the host when a session starts, cleared when it ends
//	16     the session's nonce (32 hex digits), written by the host
//	64     W: bytes the host has written since the session started
//	128    R: bytes the guest has consumed
//	192    S: non-zero while the guest waits for a doorbell (uint32)
//	256    E: a counter only the host changes, as a memory barrier
//	4096   the ring
//
// The ring holds DataSize(len) bytes; byte i of the stream is at DataOffset + i%DataSize. The host
// trusts nothing in the region: it only ever reads R and S, checks R (the guest may write anything
// there) and never reads the ring back. Wake-ups travel on the side: when the guest sees no data it
// sets S, looks at W again, and then blocks on a doorbell (a byte on the virtio-serial port); the
// host rings after it publishes data while S is set. When the ring is full the host polls R with a
// growing sleep (it is the native side, and a full ring means the guest is the bottleneck).
package shmring

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Offsets in the region.
const (
	offMagic   = 0
	offNonce   = 16
	offW       = 64
	offR       = ReadCounterOffset
	offSleep   = SleepFlagOffset
	offEpoch   = 256
	DataOffset = 4096
)

// The words the guest writes, for tests that play a hostile guest.
const (
	// ReadCounterOffset holds R, the bytes the guest has consumed (uint64).
	ReadCounterOffset = 128
	// SleepFlagOffset holds S, non-zero while the guest waits for a doorbell (uint32).
	SleepFlagOffset = 192
)

// Magic marks a region whose host side is in a session.
const Magic = "LIMA-SHMRING-1\x00\x00"

// Size is the region the host allocates: a power of two, as a PCI BAR must be.
const Size = 2 << 20

// DataSize is the ring's capacity in a region of size bytes: the largest power of two that fits
// after the header.
func DataSize(size int) uint64 {
	if size <= DataOffset {
		return 0 // no room; and size-DataOffset would wrap below
	}
	d := uint64(1)
	for d*2 <= uint64(size-DataOffset) {
		d *= 2
	}
	return d
}

// NonceLen is the length of a session's nonce (the tunnel handshake's, hex).
const NonceLen = 32

func counter(mem []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off]))
}

func flag(mem []byte, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
}

// checkRegion panics on a region the layout does not fit: a programming error, not a guest's.
func checkRegion(mem []byte) {
	if len(mem) < 2*DataOffset || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		panic(fmt.Sprintf("shmring: a region of %d bytes does not fit the layout", len(mem)))
	}
}

// ErrGuest marks what the guest did to the shared counters that the protocol does not allow.
var ErrGuest = errors.New("shmring: the guest broke the ring protocol")

// ErrTimeout is what Write returns when the guest made no room for its timeout.
var ErrTimeout = errors.New("shmring: the guest did not read the ring in time")

// Writer is the host's end: Write copies into the ring and rings the doorbell when the guest waits.
// One goroutine writes at a time (yamux's send loop).
type Writer struct {
	mem  []byte
	size uint64
	w    uint64
	// Ring wakes the guest (writes a doorbell byte to the port).
	ring func() error
	// Timeout bounds the time one Write spends waiting for room in the ring, in all (a guest that
	// frees a byte now and then does not keep a Write going for ever).
	Timeout time.Duration
	// mu is held while bytes go into the ring, so that after Close nothing does (the next
	// session's writer owns the region).
	mu     sync.Mutex
	closed bool
}

// NewWriter starts a session in mem for nonce: it resets the counters and writes the magic and the
// nonce last, so a guest that sees them sees a fresh ring. ring sends one doorbell.
func NewWriter(mem []byte, nonce string, ring func() error) (*Writer, error) {
	checkRegion(mem)
	if len(nonce) != NonceLen {
		return nil, fmt.Errorf("shmring: a nonce of %d bytes", len(nonce))
	}
	clear(mem[offMagic : offMagic+len(Magic)])
	counter(mem, offW).Store(0)
	counter(mem, offR).Store(0)
	flag(mem, offSleep).Store(0)
	copy(mem[offNonce:], nonce)
	copy(mem[offMagic:], Magic)
	counter(mem, offEpoch).Add(1) // a full barrier after the magic
	return &Writer{mem: mem, size: DataSize(len(mem)), ring: ring, Timeout: 30 * time.Second}, nil
}

// room returns how many bytes the ring can take now, or ErrGuest when R is not between W-size and W.
func (wr *Writer) room() (uint64, error) {
	r := counter(wr.mem, offR).Load()
	used := wr.w - r // unsigned: an R ahead of W wraps to a huge value
	if used > wr.size {
		return 0, fmt.Errorf("%w: read counter %d, written %d", ErrGuest, r, wr.w)
	}
	return wr.size - used, nil
}

// Write copies p into the ring, waiting (polling) while it is full, and rings the doorbell once at
// the end if the guest is waiting for one.
func (wr *Writer) Write(p []byte) (int, error) {
	n := 0
	var waited time.Duration
	nap := 20 * time.Microsecond
	for n < len(p) {
		k, err := wr.put(p[n:])
		n += k
		if err != nil {
			return n, err
		}
		if k == 0 {
			// waited counts the wall time of the doorbell too: the guest decides how long the
			// port write takes, and a Sleep may oversleep.
			t0 := time.Now()
			if err := wr.doorbell(); err != nil { // the guest may sleep on a full ring it missed
				return n, err
			}
			if waited+time.Since(t0) >= wr.Timeout {
				return n, ErrTimeout
			}
			time.Sleep(nap)
			waited += time.Since(t0)
			nap = min(nap*2, 2*time.Millisecond)
			continue
		}
		nap = 20 * time.Microsecond
	}
	return n, wr.doorbell()
}

// put copies what fits of p into the ring and publishes it.
func (wr *Writer) put(p []byte) (int, error) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if wr.closed {
		return 0, io.ErrClosedPipe
	}
	room, err := wr.room()
	if err != nil || room == 0 {
		return 0, err
	}
	pos := wr.w % wr.size
	k := min(room, uint64(len(p)), wr.size-pos)
	copy(wr.mem[DataOffset+pos:DataOffset+pos+k], p[:k])
	wr.w += k
	counter(wr.mem, offW).Store(wr.w) // publishes the bytes; a full barrier before S is read
	return int(k), nil
}

func (wr *Writer) doorbell() error {
	wr.mu.Lock()
	closed := wr.closed
	wr.mu.Unlock()
	if closed || flag(wr.mem, offSleep).Load() == 0 {
		return nil
	}
	return wr.ring()
}

// Close ends the session: the magic goes, so the guest reads EOF once it looks again. It does not
// ring: the host closes the port too, which wakes the guest's wait with EOF.
func (wr *Writer) Close() error {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if wr.closed {
		return nil
	}
	wr.closed = true
	clear(wr.mem[offMagic : offMagic+len(Magic)])
	counter(wr.mem, offEpoch).Add(1) // a full barrier after the clear
	return nil
}

// Reader is the guest's end. One goroutine reads at a time (yamux's receive loop).
type Reader struct {
	mem   []byte
	size  uint64
	got   uint64
	nonce string
	// wait blocks until a doorbell (or anything else) arrives; an error ends the stream.
	wait func() error
}

// SetWait sets the function that blocks for a doorbell, before the first Read.
func (rd *Reader) SetWait(wait func() error) { rd.wait = wait }

// sameNonce reports whether the region still carries the reader's nonce (Close keeps it, so what
// was written before Close can be drained).
func (rd *Reader) sameNonce() bool {
	return string(rd.mem[offNonce:offNonce+NonceLen]) == rd.nonce
}

// Session reports whether mem holds a host session for nonce.
func Session(mem []byte, nonce string) bool {
	checkRegion(mem)
	return string(mem[offMagic:offMagic+len(Magic)]) == Magic && string(mem[offNonce:offNonce+NonceLen]) == nonce
}

// NewReader reads the session nonce from mem; wait blocks for a doorbell. Call it after the host
// acknowledged nonce (the host starts the session before it does).
func NewReader(mem []byte, nonce string, wait func() error) (*Reader, error) {
	if !Session(mem, nonce) {
		return nil, errors.New("shmring: no host session for this nonce in the shared memory")
	}
	return &Reader{mem: mem, size: DataSize(len(mem)), nonce: nonce, wait: wait}, nil
}

// Read copies what the host has written, waiting for a doorbell when there is nothing. It returns
// io.EOF once the host ended the session (or another one started).
func (rd *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		w := counter(rd.mem, offW).Load()
		avail := w - rd.got
		if avail > rd.size { // the host started over (a new session resets W)
			return 0, io.EOF
		}
		if avail > 0 {
			// A new session (another nonce) resets W: bytes past got may be its, not ours.
			if !rd.sameNonce() {
				return 0, io.EOF
			}
			pos := rd.got % rd.size
			k := min(avail, uint64(len(p)), rd.size-pos)
			copy(p, rd.mem[DataOffset+pos:DataOffset+pos+k])
			if !rd.sameNonce() || counter(rd.mem, offW).Load()-rd.got > rd.size {
				return 0, io.EOF
			}
			rd.got += k
			counter(rd.mem, offR).Store(rd.got)
			return int(k), nil
		}
		if !Session(rd.mem, rd.nonce) {
			return 0, io.EOF
		}
		s := flag(rd.mem, offSleep)
		s.Store(1)
		if counter(rd.mem, offW).Load() != rd.got || !Session(rd.mem, rd.nonce) {
			s.Store(0)
			continue
		}
		err := rd.wait()
		s.Store(0)
		if err != nil {
			return 0, err
		}
	}
}
