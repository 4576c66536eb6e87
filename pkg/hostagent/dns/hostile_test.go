package dns

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// malformed returns hostile packets: random bytes, cut and mutated queries, compression loops,
// huge counts, responses, wrong opcodes.
func malformed(r *rand.Rand, valid []byte) []byte {
	switch r.IntN(8) {
	case 0: // random bytes
		b := make([]byte, r.IntN(600))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 1: // a cut query
		return append([]byte(nil), valid[:r.IntN(len(valid))]...)
	case 2: // flipped bytes
		b := append([]byte(nil), valid...)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		return b
	case 3: // a name that points at itself (compression loop)
		return []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}
	case 4: // counts far beyond the data
		b := append([]byte(nil), valid...)
		binary.BigEndian.PutUint16(b[4:], 0xffff)
		binary.BigEndian.PutUint16(b[10:], 0xffff)
		return b
	case 5: // a response (must not be answered)
		b := append([]byte(nil), valid...)
		b[2] |= 0x80
		return b
	case 6: // opcode 15
		b := append([]byte(nil), valid...)
		b[2] |= 0x78
		return b
	default: // a label longer than 63 and a name longer than 255
		b := append([]byte(nil), valid[:12]...)
		for range 5 {
			b = append(b, 63)
			for range 63 {
				b = append(b, 'a')
			}
		}
		return append(b, 0, 0, 1, 0, 1)
	}
}

// TestHostileGuest plays a guest that floods the server with malformed packets and slow queries,
// opens TCP connections that send a length prefix and stall, and opens more connections than
// allowed. Meanwhile a legitimate query is answered over UDP and TCP, and the server's goroutines
// stay within its caps.
func TestHostileGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for a few seconds")
	}
	const (
		maxInFlight = 8
		maxConns    = 8
		attack      = 4 * time.Second
	)
	slow := &fakeResolver{block: make(chan struct{})} // lookups end only with their context
	base := runtime.NumGoroutine()
	s := startServer(t, Options{
		Resolver:       slow,
		QueryTimeout:   1500 * time.Millisecond,
		MaxInFlight:    maxInFlight,
		MaxTCPConns:    maxConns,
		TCPIdleTimeout: 2 * time.Second,
	})
	udpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.UDPPort()))
	tcpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TCPPort()))
	valid := buildQuery(t, 1, "host.lima.internal.", dnsmessage.TypeA)

	ctx, cancel := context.WithTimeout(context.Background(), attack)
	defer cancel()
	var wg sync.WaitGroup
	var sent, stalled, opened atomic.Int64
	const attackers = 7
	// 3 goroutines of malformed UDP packets, 2 of slow queries (they fill the slots).
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			c, err := net.Dial("udp", udpAddr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for n := 0; ctx.Err() == nil; n++ {
				var b []byte
				if i < 3 {
					b = malformed(r, valid)
				} else {
					b = buildQuery(t, uint16(n), fmt.Sprintf("slow-%d.test.", n), dnsmessage.TypeA)
				}
				if _, err := c.Write(b); err == nil {
					sent.Add(1)
				}
				if n%8 == 0 {
					// Some thousands of packets a second per goroutine: more than a guest's
					// resolver sends, and a rate the server (even under -race) keeps up with, so
					// that a legitimate packet is not lost to a full socket buffer for seconds.
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	// TCP: connections that send a length prefix and stall, half a prefix, a 64 KiB prefix, or a
	// slow query; all held open from this one goroutine.
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		r := rand.New(rand.NewPCG(7, 42))
		for n := 0; ctx.Err() == nil; n++ {
			c, err := net.DialTimeout("tcp", tcpAddr, time.Second)
			if err != nil {
				continue
			}
			opened.Add(1)
			var b []byte
			switch n % 4 {
			case 0:
				b = []byte{0, 200} // promises 200 bytes, sends none
			case 1:
				b = []byte{1} // half a prefix
			case 2:
				b = append([]byte{0xff, 0xff}, malformed(r, valid)...)
			default:
				q := buildQuery(t, uint16(n), fmt.Sprintf("slow-tcp-%d.test.", n), dnsmessage.TypeA)
				b = append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)
			}
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(b)
			stalled.Add(1)
			conns = append(conns, c)
			if len(conns) > 200 { // the client's own file descriptors
				conns[0].Close()
				conns = conns[1:]
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Random garbage over TCP, one connection after another.
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 42))
		for ctx.Err() == nil {
			c, err := net.DialTimeout("tcp", tcpAddr, time.Second)
			if err != nil {
				continue
			}
			b := malformed(r, valid)
			_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
			_, _ = c.Read(make([]byte, 600))
			c.Close()
		}
	}()

	// The legitimate guest: every 100 ms, one UDP and one TCP query must be answered within 3 s
	// (UDP may be retried: a flooded socket drops packets).
	maxG := 0
	probes := 0
	legit := func(network string) error {
		deadline := time.Now().Add(3 * time.Second)
		var last error
		for time.Now().Before(deadline) {
			var raw []byte
			var err error
			if network == "udp" {
				raw, err = exchangeUDP(s.UDPPort(), valid, 300*time.Millisecond)
			} else {
				raw, err = exchangeTCP(s.TCPPort(), valid, 500*time.Millisecond)
			}
			if err == nil {
				var m dnsmessage.Message
				if err = m.Unpack(raw); err == nil {
					if got := answers(&m); len(got) == 1 && got[0] == "A 192.168.5.2" {
						return nil
					}
					err = fmt.Errorf("answers %v", answers(&m))
				}
			}
			last = err
		}
		return fmt.Errorf("%s: no answer within 3 s: %w", network, last)
	}
	for ctx.Err() == nil {
		for _, network := range []string{"udp", "tcp"} {
			if err := legit(network); err != nil {
				t.Error(err)
			}
		}
		probes++
		maxG = max(maxG, runtime.NumGoroutine())
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	// Goroutines: the server's reader, acceptor, queries in flight and connections (and evicted
	// ones closing), plus this test's attackers and the test's own few.
	bound := base + 2 + maxInFlight + maxConns + attackers + 16
	t.Logf("%d packets, %d stalled TCP connections (%d opened), %d probes; goroutines: base %d, max %d, bound %d",
		sent.Load(), stalled.Load(), opened.Load(), probes, base, maxG, bound)
	if maxG > bound {
		t.Errorf("goroutines reached %d, over %d", maxG, bound)
	}
	// The caps were reached, not merely configured.
	t.Logf("UDP queries dropped at the in-flight cap: %d; TCP connections evicted: %d", s.busy.Load(), s.evicted.Load())
	if s.busy.Load() == 0 || s.evicted.Load() == 0 {
		t.Errorf("the attack did not reach the caps (dropped %d, evicted %d)", s.busy.Load(), s.evicted.Load())
	}
	// Once the guest stops, the server is back to its reader and acceptor.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+2+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+2+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the attack (base %d):\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	if err := legit("udp"); err != nil {
		t.Error(err)
	}
}

// TestTCPLimits: a length prefix over the cap closes the connection; a prefix without its message
// is dropped at the read deadline; an idle connection is closed.
func TestTCPLimits(t *testing.T) {
	s := startServer(t, Options{TCPIdleTimeout: 300 * time.Millisecond})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TCPPort()))
	closedWithin := func(name string, send []byte, within time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(within + 2*time.Second))
		n, err := c.Read(make([]byte, 16))
		if err == nil {
			t.Errorf("%s: read %d bytes", name, n)
		}
		if d := time.Since(start); d > within+time.Second {
			t.Errorf("%s: closed after %v", name, d)
		}
	}
	closedWithin("64 KiB prefix", []byte{0xff, 0xff, 0, 0, 0}, 0)
	closedWithin("prefix over the cap", binary.BigEndian.AppendUint16(nil, maxTCPQuery+1), 0)
	closedWithin("prefix too short", []byte{0, 5, 1, 2, 3, 4, 5}, 0)
	closedWithin("idle", nil, 300*time.Millisecond)
	closedWithin("stalled message", []byte{0, 100, 1}, tcpReadTimeout)
}
