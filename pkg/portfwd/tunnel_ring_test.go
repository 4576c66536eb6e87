package portfwd

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/shmring"
)

// ringConnT is a port that comes with shared memory, as the qemu driver's does.
type ringConnT struct {
	net.Conn
	mem []byte
}

func (c *ringConnT) TunnelRing() []byte { return c.mem }

// newRing is the memory QEMU would share: shmring.Size bytes (Go allocates it page-aligned).
func newRing() []byte { return make([]byte, shmring.Size) }

func ringsOf(mem []byte) func() [][]byte { return func() [][]byte { return [][]byte{mem} } }

// dialHostRing is dialHost whose connections carry mem.
func (f *fakeSerial) dialHostRing(t testing.TB, mem []byte) func(context.Context) (net.Conn, error) {
	dial := f.dialHost(t)
	return func(ctx context.Context) (net.Conn, error) {
		c, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		return &ringConnT{Conn: c, mem: mem}, nil
	}
}

// TestTunnelSharedRing: with shared memory on both sides, the host's bytes go through the ring (the
// port carries only doorbells, a few bytes each) and arrive whole, several rings' worth.
func TestTunnelSharedRing(t *testing.T) {
	f := &fakeSerial{}
	mem := newRing()
	realGuestRings(t, f, ringsOf(mem))
	tun := startTunnel(t, f.dialHostRing(t, mem))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	if !tun.shm.Load() {
		t.Fatal("the session does not use the shared ring")
	}
	before := f.pumped.Load()
	data := bytes.Repeat([]byte("0123456789abcdef"), 700<<10) // 11.5 MB: nearly three rings
	forwardRoundTrips(t, tun, data)
	if port := f.pumped.Load() - before; port > int64(len(data))/100 {
		t.Errorf("the host sent %d bytes through the port for 3 x %d through the ring", port, len(data))
	}
}

// TestTunnelSharedRingOldGuest: a guest agent that does not look for the ring (an older one, or a
// kernel that does not let it map the device) answers READY, and the port carries everything.
func TestTunnelSharedRingOldGuest(t *testing.T) {
	f := &fakeSerial{}
	realGuest(t, f)
	tun := startTunnel(t, f.dialHostRing(t, newRing()))
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	if tun.shm.Load() {
		t.Fatal("the session uses a ring the guest did not map")
	}
	forwardRoundTrips(t, tun, bytes.Repeat([]byte("x"), 1<<20))
}

// TestTunnelSharedRingHostRestarts: a new host (whose RESET the guest reads among the doorbells, or
// whose new ring session the guest finds) gets a session through the ring again at once.
func TestTunnelSharedRingHostRestarts(t *testing.T) {
	for _, noEOF := range []bool{false, true} {
		f := &fakeSerial{noEOF: noEOF}
		mem := newRing()
		realGuestRings(t, f, ringsOf(mem))
		ctx, cancel := context.WithCancel(context.Background())
		first := NewTunnel(f.dialHostRing(t, mem))
		done := make(chan struct{})
		go func() { defer close(done); _ = first.Run(ctx) }()
		waitUntil(t, "the first host's tunnel", 10*time.Second, first.Up)
		cancel()
		<-done
		second := startTunnel(t, f.dialHostRing(t, mem))
		waitUntil(t, "the second host's tunnel", 5*time.Second, second.Up)
		if !second.shm.Load() {
			t.Errorf("noEOF=%v: the second session does not use the ring", noEOF)
		}
		forwardRoundTrips(t, second, bytes.Repeat([]byte("y"), 5<<20))
	}
}

// newHostileRing is newHostile with shared memory on the host's side.
func newHostileRing(t testing.TB, mem []byte) (*Tunnel, *hostileGuest) {
	return newHostileWrap(t, func(c net.Conn) net.Conn { return &ringConnT{Conn: c, mem: mem} })
}

// TestTunnelSharedRingHostile plays guests that misuse the ring. The host never reads the ring
// back; what the guest controls is its read counter and its doorbell flag. Each trick must end in
// a session the host dropped, with the host's writes bounded by the ring.
func TestTunnelSharedRingHostile(t *testing.T) {
	defer func(d time.Duration) { tunnelWriteTimeout = d }(tunnelWriteTimeout)
	tunnelWriteTimeout = time.Second
	for _, tc := range []struct {
		name  string
		trick func(mem []byte)
	}{
		// The read counter ahead of what the host wrote.
		{"ReadCounterAhead", func(mem []byte) { storeU64(mem, shmring.ReadCounterOffset, 1<<62) }},
		// The doorbell flag set for good: one doorbell per write, nothing worse.
		{"AlwaysAsleep", func(mem []byte) {
			(*atomic.Uint32)(unsafe.Pointer(&mem[shmring.SleepFlagOffset])).Store(1)
		}},
		// The guest never reads: the ring fills and the host gives up after its write timeout.
		{"NeverReads", func([]byte) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := newRing()
			tun, h := newHostileRing(t, mem)
			h.handshakeWord(nonceA, api.TunnelReadyShm)
			waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
			if !tun.shm.Load() {
				t.Fatal("the session does not use the ring")
			}
			go func() { _, _ = io.Copy(io.Discard, h.br) }() // the guest reads its port (doorbells)
			tc.trick(mem)
			// A stream's SYN, then data: the host writes until the ring refuses.
			go func() {
				c, err := tun.DialGuest(context.Background(), "tcp", "127.0.0.1:1")
				if err == nil {
					_ = c.Close()
				}
			}()
			go func() {
				for range 40 {
					if sess := tun.session(); sess != nil {
						if st, err := sess.OpenStream(); err == nil {
							_, _ = st.Write(make([]byte, 200<<10))
						}
					}
				}
			}()
			waitUntil(t, "the host to drop the session", 20*time.Second, func() bool { return !tun.Up() })
		})
	}
}

// TestTunnelReadyShmWithoutRing: a guest that claims the ring when the host has none is not
// believed; the host waits for a READY.
func TestTunnelReadyShmWithoutRing(t *testing.T) {
	tun, h := newHostile(t)
	h.handshakeWord(nonceA, api.TunnelReadyShm)
	time.Sleep(200 * time.Millisecond)
	if tun.Up() {
		t.Fatal("the host took READYSHM without a ring")
	}
	if _, err := io.WriteString(h.conn, api.TunnelLine(api.TunnelReady, nonceA)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the tunnel", 10*time.Second, tun.Up)
	if tun.shm.Load() {
		t.Error("a session without a ring says it uses one")
	}
}

// storeU64 writes a counter of the shared region the way the guest would (atomically: the host
// reads it concurrently).
func storeU64(mem []byte, off int, v uint64) {
	(*atomic.Uint64)(unsafe.Pointer(&mem[off])).Store(v)
}
