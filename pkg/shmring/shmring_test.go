package shmring

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

const (
	nonceA = "0123456789abcdef0123456789abcdef"
	nonceB = "fedcba9876543210fedcba9876543210"

	// smallRegion gives a ring of 4096 bytes, so that streams wrap around often.
	smallRegion = DataOffset + 4096

	guardLen  = 256
	guardByte = 0xA5
)

// errWouldBlock is what the doorbell's wait returns in sequential tests, where a Read that blocks
// would hang the test.
var errWouldBlock = errors.New("test: Read would block")

// region is a shared memory region inside a larger allocation: the bytes before and after it are
// a guard that the host must never touch. The region's capacity runs into the guard after it, so
// that a write past len(mem) is caught by the guard rather than by a bounds check.
type region struct {
	mem []byte
	all []byte
}

func newRegion(t *testing.T, size int) *region {
	t.Helper()
	words := make([]uint64, (size+2*guardLen+7)/8)
	all := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	for i := range all {
		all[i] = guardByte
	}
	mem := all[guardLen : guardLen+size]
	clear(mem)
	rg := &region{mem: mem, all: all}
	t.Cleanup(func() { rg.checkGuard(t) })
	return rg
}

// checkGuard fails the test when anything outside the region changed.
func (rg *region) checkGuard(t *testing.T) {
	t.Helper()
	for i, b := range rg.all[:guardLen] {
		if b != guardByte {
			t.Fatalf("guard byte %d before the region changed to %#x", guardLen-i, b)
		}
	}
	for i, b := range rg.all[guardLen+len(rg.mem):] {
		if b != guardByte {
			t.Fatalf("guard byte %d after the region changed to %#x", i, b)
		}
	}
}

func (rg *region) w() uint64        { return counter(rg.mem, offW).Load() }
func (rg *region) setR(r uint64)    { counter(rg.mem, offR).Store(r) }
func (rg *region) setS(s uint32)    { flag(rg.mem, offSleep).Store(s) }
func (rg *region) ring() []byte     { return rg.mem[DataOffset:] }
func (rg *region) snapshot() []byte { return bytes.Clone(rg.mem) }

// bell is a doorbell: ring never blocks (a buffered channel of one), wait receives.
type bell struct {
	ch    chan struct{}
	rings atomic.Int64
	// waiting, when set, receives a value each time the reader is about to block.
	waiting chan struct{}
	// noBlock makes wait return errWouldBlock instead of blocking.
	noBlock bool
}

func newBell() *bell { return &bell{ch: make(chan struct{}, 1)} }

func (b *bell) ring() error {
	b.rings.Add(1)
	select {
	case b.ch <- struct{}{}:
	default:
	}
	return nil
}

func (b *bell) wait() error {
	if b.noBlock {
		select {
		case <-b.ch:
			return nil
		default:
			return errWouldBlock
		}
	}
	if b.waiting != nil {
		b.waiting <- struct{}{}
	}
	<-b.ch
	return nil
}

func mustWriter(t *testing.T, mem []byte, nonce string, ring func() error) *Writer {
	t.Helper()
	wr, err := NewWriter(mem, nonce, ring)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	return wr
}

func mustReader(t *testing.T, mem []byte, nonce string, wait func() error) *Reader {
	t.Helper()
	rd, err := NewReader(mem, nonce, wait)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return rd
}

func pattern(n int, seed int64) []byte {
	p := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(p)
	return p
}

func TestDataSize(t *testing.T) {
	for _, c := range []struct {
		size int
		want uint64
	}{
		{2 * DataOffset, 4096},
		{smallRegion, 4096},
		{DataOffset + 8191, 4096},
		{DataOffset + 8192, 8192},
		{Size, Size / 2},
	} {
		if got := DataSize(c.size); got != c.want {
			t.Errorf("DataSize(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

// 1. Round trip.

func TestRoundTrip(t *testing.T) {
	t.Run("small", func(t *testing.T) { roundTrip(t, smallRegion, 3<<20) })
	t.Run("small-odd-size", func(t *testing.T) { roundTrip(t, DataOffset+6000, 1<<20) })
	t.Run("real", func(t *testing.T) { roundTrip(t, Size, 2*int(DataSize(Size))+3<<20+12345) })
}

func roundTrip(t *testing.T, size, total int) {
	rg := newRegion(t, size)
	b := newBell()
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	rd := mustReader(t, rg.mem, nonceA, b.wait)
	data := pattern(total, 1)

	werr := make(chan error, 1)
	go func() {
		rnd := rand.New(rand.NewSource(2))
		for off := 0; off < len(data); {
			k := min(1+rnd.Intn(9000)|1, len(data)-off)
			n, err := wr.Write(data[off : off+k])
			if err != nil || n != k {
				werr <- errors.Join(err, errors.New("short write"))
				return
			}
			off += k
		}
		werr <- nil
	}()

	got := make([]byte, 0, total)
	rnd := rand.New(rand.NewSource(3))
	buf := make([]byte, 10000)
	for len(got) < total {
		n, err := rd.Read(buf[:1+rnd.Intn(len(buf)-1)|1])
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
		if n == 0 {
			t.Fatalf("Read returned 0 bytes and no error after %d bytes", len(got))
		}
		got = append(got, buf[:n]...)
	}
	if err := <-werr; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < len(got) && got[i] == data[i] {
			i++
		}
		t.Fatalf("the stream differs at byte %d of %d", i, total)
	}
	if w := rg.w(); w != uint64(total) {
		t.Fatalf("W = %d, want %d", w, total)
	}
	// Everything was read; Close then gives EOF.
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := rd.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read after Close = %d, %v; want 0, EOF", n, err)
	}
}

// 2. EOF.

func TestEOFAfterClose(t *testing.T) {
	rg := newRegion(t, smallRegion)
	b := newBell()
	b.noBlock = true
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	rd := mustReader(t, rg.mem, nonceA, b.wait)
	data := pattern(3000, 4)
	if n, err := wr.Write(data); n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { return rd.Read(p[:min(len(p), 700)]) }))
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not what was written (%d bytes)", len(got), len(data))
	}
	for range 2 {
		if n, err := rd.Read(make([]byte, 10)); n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("Read after drain = %d, %v; want 0, EOF", n, err)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A Reader blocked on the doorbell reads EOF once Close ended the session and anything wakes it:
// a doorbell byte, or the port's EOF (Close does not ring: the host closes the port too).
func TestEOFWakesBlockedReader(t *testing.T) {
	for _, portEOF := range []bool{false, true} {
		rg := newRegion(t, smallRegion)
		b := newBell()
		b.waiting = make(chan struct{})
		wr := mustWriter(t, rg.mem, nonceA, b.ring)
		var closed atomic.Bool
		rd := mustReader(t, rg.mem, nonceA, func() error {
			if err := b.wait(); err != nil {
				return err
			}
			if closed.Load() {
				return io.EOF
			}
			return nil
		})
		type result struct {
			n   int
			err error
		}
		res := make(chan result, 1)
		go func() {
			n, err := rd.Read(make([]byte, 10))
			res <- result{n, err}
		}()
		<-b.waiting // the reader set S and is about to block
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		closed.Store(portEOF)
		b.ch <- struct{}{} // the wake-up
		if r := <-res; r.n != 0 || !errors.Is(r.err, io.EOF) {
			t.Fatalf("port EOF %v: Read = %d, %v; want 0, EOF", portEOF, r.n, r.err)
		}
	}
}

// A Reader of an old session reads EOF once another session started in the region.
func TestEOFNewSession(t *testing.T) {
	for _, c := range []struct {
		name     string
		consumed int // bytes the old session's reader consumed
		closed   bool
		newData  int // bytes the new session wrote before the old reader reads
	}{
		{"consumed-some", 100, false, 0},
		{"consumed-none", 0, false, 0},
		{"consumed-some-closed", 100, true, 0},
		{"consumed-none-closed", 0, true, 0},
		{"consumed-all-of-a-wrapped-ring", 5000, false, 0},
		// The new session already wrote as much as or more than the old reader consumed.
		{"consumed-some-new-data", 100, false, 300},
		{"consumed-none-new-data", 0, false, 300},
		{"consumed-some-closed-new-data", 100, true, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			rg := newRegion(t, smallRegion)
			b := newBell()
			b.noBlock = true
			wr := mustWriter(t, rg.mem, nonceA, b.ring)
			rd := mustReader(t, rg.mem, nonceA, b.wait)
			old := pattern(c.consumed, 5)
			for off := 0; off < len(old); {
				k := min(len(old)-off, 1000)
				if n, err := wr.Write(old[off : off+k]); n != k || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				buf := make([]byte, k)
				if _, err := io.ReadFull(rd, buf); err != nil {
					t.Fatalf("Read: %v", err)
				}
				if !bytes.Equal(buf, old[off:off+k]) {
					t.Fatalf("old session data differs at %d", off)
				}
				off += k
			}
			if c.closed {
				if err := wr.Close(); err != nil {
					t.Fatal(err)
				}
			}
			wr2 := mustWriter(t, rg.mem, nonceB, b.ring)
			if c.newData > 0 {
				if n, err := wr2.Write(pattern(c.newData, 6)); n != c.newData || err != nil {
					t.Fatalf("Write in the new session = %d, %v", n, err)
				}
			}
			rBefore := counter(rg.mem, offR).Load()
			buf := make([]byte, 1000)
			n, err := rd.Read(buf)
			if n != 0 || !errors.Is(err, io.EOF) {
				t.Fatalf("old session's Read = %d, %v; want 0, EOF (it read the new session's stream)", n, err)
			}
			if r := counter(rg.mem, offR).Load(); r != rBefore {
				t.Fatalf("old session's reader moved the new session's R from %d to %d", rBefore, r)
			}
		})
	}
}

// 3. NewReader.

func TestNewReaderRefuses(t *testing.T) {
	b := newBell()

	rg := newRegion(t, smallRegion)
	if _, err := NewReader(rg.mem, nonceA, b.wait); err == nil {
		t.Fatal("NewReader accepted a region without a session")
	}
	if Session(rg.mem, nonceA) {
		t.Fatal("Session is true for a zero region")
	}

	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	if _, err := NewReader(rg.mem, nonceB, b.wait); err == nil {
		t.Fatal("NewReader accepted a session for another nonce")
	}
	if _, err := NewReader(rg.mem, nonceA[:10], b.wait); err == nil {
		t.Fatal("NewReader accepted a prefix of the nonce")
	}
	mustReader(t, rg.mem, nonceA, b.wait)

	// A corrupted magic is no session.
	rg.mem[offMagic+3] ^= 1
	if _, err := NewReader(rg.mem, nonceA, b.wait); err == nil {
		t.Fatal("NewReader accepted a region with a corrupted magic")
	}
	rg.mem[offMagic+3] ^= 1
	mustReader(t, rg.mem, nonceA, b.wait)

	// A closed session is no session.
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(rg.mem, nonceA, b.wait); err == nil {
		t.Fatal("NewReader accepted a closed session")
	}
}

func TestNewWriterRejectsBadNonce(t *testing.T) {
	rg := newRegion(t, smallRegion)
	for _, n := range []string{"", "abc", nonceA + "0"} {
		if _, err := NewWriter(rg.mem, n, newBell().ring); err == nil {
			t.Errorf("NewWriter accepted a nonce of %d bytes", len(n))
		}
	}
}

// 4. Hostile guest.

// fill writes n bytes and plays a well-behaved guest that consumes everything (R = W).
func fill(t *testing.T, rg *region, wr *Writer, n int) {
	t.Helper()
	p := pattern(n, 7)
	for off := 0; off < n; {
		k := min(n-off, 1000)
		if m, err := wr.Write(p[off : off+k]); m != k || err != nil {
			t.Fatalf("Write = %d, %v", m, err)
		}
		rg.setR(rg.w())
		off += k
	}
}

// expectGuestError checks that Write fails with ErrGuest and leaves the region as it was.
func expectGuestError(t *testing.T, rg *region, wr *Writer, r uint64) {
	t.Helper()
	rg.setR(r)
	wr.Timeout = 10 * time.Millisecond // a wrong verdict ends quickly
	before := rg.snapshot()
	w := rg.w()
	n, err := wr.Write(pattern(100, 8))
	if !errors.Is(err, ErrGuest) {
		t.Fatalf("R = %d, W = %d: Write error = %v, want ErrGuest", r, w, err)
	}
	if n != 0 {
		t.Fatalf("R = %d, W = %d: Write wrote %d bytes", r, w, n)
	}
	if !bytes.Equal(rg.mem, before) {
		t.Fatalf("R = %d, W = %d: Write changed the region", r, w)
	}
	rg.checkGuard(t)
}

func TestHostileReadCounterAhead(t *testing.T) {
	for _, pre := range []int{0, 10, 4096, 4096 + 300, 3*4096 + 17} {
		rg := newRegion(t, smallRegion)
		wr := mustWriter(t, rg.mem, nonceA, newBell().ring)
		fill(t, rg, wr, pre)
		w := rg.w()
		for _, r := range []uint64{w + 1, w + 4096, w + 4097, 1 << 63, 1<<63 + w, w + 1<<62, ^uint64(0) - 4096} {
			expectGuestError(t, rg, wr, r)
		}
	}
}

func TestHostileReadCounterTooFarBehind(t *testing.T) {
	for _, pre := range []int{4096 + 1, 4096 + 300, 3*4096 + 17} {
		rg := newRegion(t, smallRegion)
		wr := mustWriter(t, rg.mem, nonceA, newBell().ring)
		fill(t, rg, wr, pre)
		w := rg.w()
		for _, r := range []uint64{0, w - 4096 - 1, w - 4096 - 100} {
			expectGuestError(t, rg, wr, r)
		}
		// R = W - DataSize is a full ring, which is allowed: it times out, not ErrGuest.
		rg.setR(w - 4096)
		wr.Timeout = 10 * time.Millisecond
		if n, err := wr.Write([]byte{1}); n != 0 || !errors.Is(err, ErrTimeout) {
			t.Fatalf("full ring: Write = %d, %v; want 0, ErrTimeout", n, err)
		}
	}
}

// A guest moving R backwards (but within the ring) merely takes room away.
func TestHostileReadCounterBackwards(t *testing.T) {
	rg := newRegion(t, smallRegion)
	wr := mustWriter(t, rg.mem, nonceA, newBell().ring)
	wr.Timeout = 10 * time.Millisecond
	fill(t, rg, wr, 5000)
	w := rg.w()
	rg.setR(w - 4000) // 96 bytes of room
	n, err := wr.Write(make([]byte, 200))
	if n != 96 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Write = %d, %v; want 96, ErrTimeout", n, err)
	}
	if rg.w() != w+96 {
		t.Fatalf("W = %d, want %d", rg.w(), w+96)
	}
}

func TestHostileNoProgressTimeout(t *testing.T) {
	rg := newRegion(t, smallRegion)
	b := newBell()
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	wr.Timeout = 50 * time.Millisecond
	p := pattern(4096+10, 9)
	n, err := wr.Write(p)
	if n != 4096 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Write = %d, %v; want 4096, ErrTimeout", n, err)
	}
	if !bytes.Equal(rg.ring()[:4096], p[:4096]) {
		t.Fatal("the ring does not hold what was written")
	}
	// Still full: nothing more goes in.
	n, err = wr.Write([]byte{1, 2, 3})
	if n != 0 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Write = %d, %v; want 0, ErrTimeout", n, err)
	}
	if rg.w() != 4096 {
		t.Fatalf("W = %d, want 4096", rg.w())
	}
	if b.rings.Load() != 0 {
		t.Fatalf("rang %d times with S clear", b.rings.Load())
	}
}

func TestHostileSleepFlagStuck(t *testing.T) {
	for _, s := range []uint32{1, 0xFFFFFFFF} {
		rg := newRegion(t, smallRegion)
		b := newBell()
		wr := mustWriter(t, rg.mem, nonceA, b.ring)
		rg.setS(s)
		const writes = 50
		for i := range writes {
			if n, err := wr.Write(pattern(300+i, int64(i))); n != 300+i || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rg.setR(rg.w())
			if got := b.rings.Load(); got != int64(i+1) {
				t.Fatalf("after %d writes with S stuck at %#x: %d rings, want %d", i+1, s, got, i+1)
			}
		}
		// A full ring with S stuck: the Write rings on each poll, a bounded number of times.
		wr.Timeout = 50 * time.Millisecond
		before := b.rings.Load()
		n, err := wr.Write(make([]byte, 5000))
		if n != 4096 || !errors.Is(err, ErrTimeout) {
			t.Fatalf("Write = %d, %v; want 4096, ErrTimeout", n, err)
		}
		if rings := b.rings.Load() - before; rings < 1 || rings > 100 {
			t.Fatalf("a timed-out Write rang %d times", rings)
		}
	}
}

func TestHostileScribbles(t *testing.T) {
	rg := newRegion(t, smallRegion)
	b := newBell()
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	rnd := rand.New(rand.NewSource(10))
	var want uint64
	for i := range 200 {
		// The guest consumes everything, then scribbles over the header (but R) and the ring.
		rg.setR(want)
		switch i % 5 {
		case 0:
			rnd.Read(rg.mem[offMagic:offW])
		case 1:
			rnd.Read(rg.ring())
		case 2:
			counter(rg.mem, offW).Store(rnd.Uint64())
		case 3:
			counter(rg.mem, offEpoch).Store(rnd.Uint64())
			rnd.Read(rg.mem[offSleep+4 : DataOffset])
		case 4:
			rnd.Read(rg.mem[offW+8 : offR])
			rnd.Read(rg.mem[offR+8 : offSleep])
		}
		p := pattern(1+rnd.Intn(4096), int64(i))
		pos := want % 4096
		n, err := wr.Write(p)
		if n != len(p) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
		want += uint64(len(p))
		if rg.w() != want {
			t.Fatalf("W = %d, want %d", rg.w(), want)
		}
		// The bytes are where they belong, whatever the guest did before.
		for j := range p {
			if rg.ring()[(pos+uint64(j))%4096] != p[j] {
				t.Fatalf("Write %d: byte %d misplaced", i, j)
			}
		}
		rg.checkGuard(t)
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
}

// A guest storing random values in R and S while the host writes: every Write ends, with ErrGuest
// or ErrTimeout if not nil, and nothing outside the ring changes.
func TestHostileRandomCounters(t *testing.T) {
	rg := newRegion(t, smallRegion)
	b := newBell()
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	wr.Timeout = 2 * time.Millisecond
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewSource(11))
		for {
			select {
			case <-stop:
				return
			default:
			}
			w := counter(rg.mem, offW).Load()
			var r uint64
			switch rnd.Intn(4) {
			case 0:
				r = rnd.Uint64()
			case 1:
				r = w - uint64(rnd.Intn(4200))
			case 2:
				r = w + uint64(rnd.Intn(10))
			default:
				r = w
			}
			counter(rg.mem, offR).Store(r)
			flag(rg.mem, offSleep).Store(rnd.Uint32() % 3)
		}
	}()
	rnd := rand.New(rand.NewSource(12))
	for i := range 300 {
		p := pattern(1+rnd.Intn(6000), int64(i))
		w := rg.w()
		n, err := wr.Write(p)
		if err != nil && !errors.Is(err, ErrGuest) && !errors.Is(err, ErrTimeout) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if n < 0 || n > len(p) || rg.w() != w+uint64(n) {
			t.Fatalf("Write = %d of %d, W went from %d to %d", n, len(p), w, rg.w())
		}
		rg.checkGuard(t)
	}
	close(stop)
	wg.Wait()
}

// 5. Write after Close.

func TestWriteAfterClose(t *testing.T) {
	rg := newRegion(t, smallRegion)
	b := newBell()
	wr := mustWriter(t, rg.mem, nonceA, b.ring)
	fill(t, rg, wr, 500)
	rg.setS(1)
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	rings := b.rings.Load()
	if err := wr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	before := rg.snapshot()
	for _, size := range []int{1, 100, 5000} {
		n, err := wr.Write(make([]byte, size))
		if n != 0 || !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("Write after Close = %d, %v; want 0, ErrClosedPipe", n, err)
		}
	}
	if !bytes.Equal(rg.mem, before) {
		t.Fatal("Write after Close changed the region")
	}
	if b.rings.Load() != rings {
		t.Fatalf("Write after Close rang (%d rings)", b.rings.Load()-rings)
	}
}

// 6. Close racing with Write.

func TestCloseEndsBlockedWrite(t *testing.T) {
	for i := range 20 {
		rg := newRegion(t, smallRegion)
		b := newBell()
		wr := mustWriter(t, rg.mem, nonceA, b.ring)
		wr.Timeout = 5 * time.Second // far longer than the test needs; a Write that ignores Close times out
		type result struct {
			n   int
			err error
		}
		res := make(chan result, 1)
		go func() {
			n, err := wr.Write(make([]byte, 10000))
			res <- result{n, err}
		}()
		for rg.w() != 4096 { // wait until the ring is full
			time.Sleep(10 * time.Microsecond)
		}
		if i%2 == 1 {
			time.Sleep(time.Duration(i) * 100 * time.Microsecond)
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		w := rg.w()
		r := <-res
		if !errors.Is(r.err, io.ErrClosedPipe) {
			t.Fatalf("blocked Write ended with %d, %v; want ErrClosedPipe", r.n, r.err)
		}
		if r.n != 4096 || w != 4096 || rg.w() != w {
			t.Fatalf("Write = %d; W = %d at Close, %d after", r.n, w, rg.w())
		}
	}
}

// Close while the guest is consuming and the Write makes progress: after Close returns, W does not
// move any more.
func TestCloseRacesProgressingWrite(t *testing.T) {
	for i := range 50 {
		rg := newRegion(t, smallRegion)
		b := newBell()
		wr := mustWriter(t, rg.mem, nonceA, b.ring)
		wr.Timeout = time.Minute
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a guest that consumes without reading
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				counter(rg.mem, offR).Store(counter(rg.mem, offW).Load())
				time.Sleep(5 * time.Microsecond)
			}
		}()
		type result struct {
			n   int
			err error
		}
		res := make(chan result, 1)
		go func() {
			total := 0
			for {
				n, err := wr.Write(make([]byte, 3000))
				total += n
				if err != nil {
					res <- result{total, err}
					return
				}
			}
		}()
		for rg.w() < uint64(i)*1000 {
			time.Sleep(10 * time.Microsecond)
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		w := rg.w()
		r := <-res
		after := rg.w()
		close(stop)
		wg.Wait()
		if !errors.Is(r.err, io.ErrClosedPipe) {
			t.Fatalf("Write ended with %v; want ErrClosedPipe", r.err)
		}
		if after != w || uint64(r.n) != w {
			t.Fatalf("W = %d at Close, %d after the Write ended; the Writes wrote %d", w, after, r.n)
		}
	}
}
