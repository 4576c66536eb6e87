package sockets

import (
	"net"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

func TestScanProcGolden(t *testing.T) {
	// testdata has no udp6: a guest with IPv6 disabled.
	got, err := ScanProc("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Port{
		{IP: "0.0.0.0", Port: 22, Proto: "tcp"},
		{IP: "127.0.0.1", Port: 8000, Proto: "tcp"},
		{IP: "::", Port: 80, Proto: "tcp"},
		{IP: "::1", Port: 3306, Proto: "tcp"},
		{IP: "127.0.0.53", Port: 53, Proto: "udp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanProc(testdata) (-want +got):\n%s", diff)
	}
}

// scanners are both implementations, run against this host's real sockets.
var scanners = map[string]Scanner{
	"netlink": ScanNetlink,
	"proc":    func() ([]api.Port, error) { return ScanProc("/proc/net") },
	"default": Scan,
}

func TestScanSeesListenersAppearAndGo(t *testing.T) {
	for name, scan := range scanners {
		t.Run(name, func(t *testing.T) {
			type sock struct {
				port   api.Port
				closer func() error
			}
			var socks []sock
			for _, c := range []struct{ network, addr string }{
				{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}, {"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"},
			} {
				var s sock
				switch c.network[:3] {
				case "tcp":
					l, err := net.Listen(c.network, c.addr)
					if err != nil {
						t.Skipf("cannot listen on %s %s: %v", c.network, c.addr, err)
					}
					a := l.Addr().(*net.TCPAddr)
					s = sock{api.Port{IP: a.IP.String(), Port: a.Port, Proto: "tcp"}, l.Close}
				case "udp":
					l, err := net.ListenPacket(c.network, c.addr)
					if err != nil {
						t.Skipf("cannot listen on %s %s: %v", c.network, c.addr, err)
					}
					a := l.LocalAddr().(*net.UDPAddr)
					s = sock{api.Port{IP: a.IP.String(), Port: a.Port, Proto: "udp"}, l.Close}
				}
				socks = append(socks, s)
			}
			// A connected UDP socket and an accepted TCP connection are not listeners.
			cu, err := net.Dial("udp4", "127.0.0.1:9")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cu.Close() }()
			connected := api.Port{IP: "127.0.0.1", Port: cu.LocalAddr().(*net.UDPAddr).Port, Proto: "udp"}

			got, err := scan()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range socks {
				if !slices.Contains(got, s.port) {
					t.Errorf("scan did not list %v; got %v", s.port, got)
				}
			}
			if slices.Contains(got, connected) {
				t.Errorf("scan listed the connected UDP socket %v", connected)
			}
			for _, s := range socks {
				if err := s.closer(); err != nil {
					t.Fatal(err)
				}
			}
			got, err = scan()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range socks {
				if slices.Contains(got, s.port) {
					t.Errorf("scan still lists closed %v", s.port)
				}
			}
		})
	}
}

// BenchmarkScan measures one full scan (4 netlink dumps, or 4 /proc files) with this host's sockets.
func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"netlink", "proc"} {
		scan := scanners[name]
		b.Run(name, func(b *testing.B) {
			if _, err := scan(); err != nil {
				b.Skip(err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				ps, err := scan()
				if err != nil {
					b.Fatal(err)
				}
				n = len(ps)
			}
			b.ReportMetric(float64(n), "sockets")
		})
	}
}
