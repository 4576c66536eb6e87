package guestagent

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// fakeScan returns whatever set() last stored.
type fakeScan struct {
	mu    sync.Mutex
	ports []api.Port
}

func (f *fakeScan) set(ps ...api.Port) {
	f.mu.Lock()
	f.ports = ps
	f.mu.Unlock()
}

func (f *fakeScan) scan() ([]api.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Port(nil), f.ports...), nil
}

var (
	p8000 = api.Port{IP: "127.0.0.1", Port: 8000, Proto: "tcp"}
	p53   = api.Port{IP: "0.0.0.0", Port: 53, Proto: "udp"}
	p80   = api.Port{IP: "::", Port: 80, Proto: "tcp"}
)

var ignoreTime = cmpopts.IgnoreFields(api.Message{}, "Time")

func TestDiff(t *testing.T) {
	added, removed := Diff([]api.Port{p8000, p53}, []api.Port{p53, p80})
	if diff := cmp.Diff([]api.Port{p80}, added); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]api.Port{p8000}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestServeConnSnapshotThenEvents(t *testing.T) {
	fs := &fakeScan{}
	fs.set(p8000)
	a := New(fs.scan, time.Hour)
	a.ScanOnce()
	host, guest := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.ServeConn(ctx, guest) }()
	dec := api.NewDecoder(host)
	expect(t, dec, api.Message{Type: "info", LocalPorts: []api.Port{p8000}})

	fs.set(p53, p80)
	a.ScanOnce()
	expect(t, dec, api.Message{Type: "event", Added: []api.Port{p80, p53}, Removed: []api.Port{p8000}})

	if err := api.NewEncoder(host).Encode(api.Message{Type: api.TypeGetInfo}); err != nil {
		t.Fatal(err)
	}
	expect(t, dec, api.Message{Type: "info", LocalPorts: []api.Port{p80, p53}})
	_ = host.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeConn after the host left = %v", err)
	}
}

func expect(t *testing.T, dec *api.Decoder, want api.Message) {
	t.Helper()
	got, err := dec.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Fatalf("message (-want +got):\n%s", diff)
	}
}

// fakePort behaves like the guest end of a virtio-serial port: while the host is away, reads return
// EOF at once; connect() makes the host's writes readable.
type fakePort struct {
	mu    sync.Mutex
	in    *io.PipeReader // nil: host not connected
	eofs  int            // reads answered with EOF
	out   *io.PipeWriter
	opens int
}

func (p *fakePort) Read(b []byte) (int, error) {
	p.mu.Lock()
	in := p.in
	if in == nil {
		p.eofs++
	}
	p.mu.Unlock()
	if in == nil {
		return 0, io.EOF
	}
	return in.Read(b)
}

func (p *fakePort) Write(b []byte) (int, error) { return p.out.Write(b) }
func (p *fakePort) Close() error                { return nil }

// connect attaches a host; it returns the host's writer.
func (p *fakePort) connect() *io.PipeWriter {
	r, w := io.Pipe()
	p.mu.Lock()
	p.in = r
	p.mu.Unlock()
	return w
}

// disconnect makes the blocked read return EOF and later reads too.
func (p *fakePort) disconnect(w *io.PipeWriter) {
	p.mu.Lock()
	p.in = nil
	p.mu.Unlock()
	_ = w.Close()
}

func (p *fakePort) eofCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.eofs
}

func TestServePortRetriesUntilHostConnects(t *testing.T) {
	minBackoff, maxBackoff = time.Millisecond, 5*time.Millisecond
	fs := &fakeScan{}
	fs.set(p8000)
	a := New(fs.scan, time.Hour)
	a.ScanOnce()
	outR, outW := io.Pipe()
	port := &fakePort{out: outW}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	openErrs := 2 // the port device appears late
	go func() {
		done <- a.ServePort(ctx, func() (io.ReadWriteCloser, error) {
			port.mu.Lock()
			defer port.mu.Unlock()
			port.opens++
			if openErrs > 0 {
				openErrs--
				return nil, io.ErrUnexpectedEOF
			}
			return port, nil
		})
	}()
	// The agent keeps reading EOF without giving up and without events leaking out.
	for port.eofCount() < 5 {
		time.Sleep(time.Millisecond)
	}
	fs.set(p8000, p53)
	a.ScanOnce() // not delivered: no host yet
	select {
	case err := <-done:
		t.Fatalf("ServePort returned %v while the host was away", err)
	default:
	}

	dec := api.NewDecoder(outR)
	hostW := port.connect()
	// The Info queued when the port opened arrives first (stale), then the answer to GetInfo.
	expect(t, dec, api.Message{Type: "info", LocalPorts: []api.Port{p8000}})
	enc := api.NewEncoder(hostW)
	if err := enc.Encode(api.Message{Type: api.TypeGetInfo}); err != nil {
		t.Fatal(err)
	}
	expect(t, dec, api.Message{Type: "info", LocalPorts: []api.Port{p8000, p53}})
	fs.set(p53)
	a.ScanOnce()
	expect(t, dec, api.Message{Type: "event", Removed: []api.Port{p8000}})

	// The host goes away and comes back: a fresh snapshot follows its GetInfo.
	port.disconnect(hostW)
	before := port.eofCount()
	for port.eofCount() < before+3 {
		time.Sleep(time.Millisecond)
	}
	fs.set(p53, p80)
	a.ScanOnce()
	hostW = port.connect()
	if err := api.NewEncoder(hostW).Encode(api.Message{Type: api.TypeGetInfo}); err != nil {
		t.Fatal(err)
	}
	expect(t, dec, api.Message{Type: "info", LocalPorts: []api.Port{p80, p53}})

	cancel()
	port.disconnect(hostW)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ServePort after cancel = %v, want context.Canceled", err)
	}
	if port.opens < 3 {
		t.Errorf("port opened %d times, want the 2 failed opens retried", port.opens)
	}
}
