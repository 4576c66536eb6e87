//go:build linux

package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

var tunnelPIDRE = regexp.MustCompile(`The tunnel runs as process (\d+)`)

// testTunnel: `limactl tunnel` starts a SOCKS5 proxy on the host whose connections are made from
// inside the guest. The request goes to an HTTP server on the host's loopback by the name
// host.lima.internal (resolved by the guest; slirp maps its address 192.168.5.2 to the host's
// 127.0.0.1), which only works when the connection leaves from the guest.
func testTunnel(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "limactl-e2e-tunnel")
	}))
	defer web.Close()
	_, webPort, _ := net.SplitHostPort(strings.TrimPrefix(web.URL, "http://"))

	port := freePort(t)
	r := must(t, 2*time.Minute, "tunnel", "--socks-port", strconv.Itoa(port), vm)
	if want := "ALL_PROXY=socks5h://127.0.0.1:" + strconv.Itoa(port); !strings.Contains(r.stdout, want) {
		t.Errorf("stdout does not say %q:\n%s", want, r)
	}
	m := tunnelPIDRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no tunnel pid in the output:\n%s", r)
	}
	pid, _ := strconv.Atoi(m[1])
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	defer stop()
	if !alive(pid) {
		t.Fatalf("the tunnel process %d is not running", pid)
	}

	d, err := proxy.SOCKS5("tcp", "127.0.0.1:"+strconv.Itoa(port), nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext},
		Timeout:   30 * time.Second,
	}
	for _, host := range []string{"host.lima.internal", "192.168.5.2"} {
		u := "http://" + net.JoinHostPort(host, webPort) + "/"
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s through the tunnel: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "limactl-e2e-tunnel" {
			t.Errorf("GET %s through the tunnel = %q", u, body)
		}
	}
	// Without the tunnel the same address is not the host's server (not routable, or not ours).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if c, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("192.168.5.2", webPort)); err == nil {
		c.Close()
		t.Logf("note: 192.168.5.2:%s is reachable from the host directly", webPort)
	}

	stop()
	waitFor(t, "the tunnel process to exit", 30*time.Second, func() bool { return !alive(pid) })
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 3*time.Second); err == nil {
		c.Close()
		t.Errorf("127.0.0.1:%d still accepts connections after the tunnel stopped", port)
	}

	// Lima's refusals.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	r, err = limactl(ctx2, nil, "tunnel", "--type", "vpn", vm)
	if err != nil || r.code == 0 || !strings.Contains(r.stderr, "unknown tunnel type") {
		t.Errorf("tunnel --type vpn: %v\n%s", err, r)
	}
}

// freePort is a TCP port on 127.0.0.1 nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
