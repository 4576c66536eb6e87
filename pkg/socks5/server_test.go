package socks5

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/proxy"

	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// startProxy serves SOCKS5 on 127.0.0.1:0 with dial and returns its address.
func startProxy(t *testing.T, dial DialFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, dial) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func httpClient(t *testing.T, proxyAddr string) *http.Client {
	t.Helper()
	d, err := proxy.SOCKS5("tcp", proxyAddr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	cd := d.(proxy.ContextDialer)
	return &http.Client{Transport: &http.Transport{DialContext: cd.DialContext}}
}

// TestThroughSSH proxies an HTTP request over "direct-tcpip" channels of an SSH connection, as
// `limactl tunnel` does, with the target given by name (resolved at the far end) and by address.
func TestThroughSSH(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	client, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{
		User:            "tester",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(srv.ClientSigner)},
		HostKeyCallback: ssh.FixedHostKey(srv.HostSigner.PublicKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	var (
		mu      sync.Mutex
		dialled []string
	)
	proxyAddr := startProxy(t, func(ctx context.Context, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		return client.DialContext(ctx, "tcp", addr)
	})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello from the far end")
	}))
	t.Cleanup(web.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(web.URL, "http://"))
	hc := httpClient(t, proxyAddr)
	for _, u := range []string{web.URL, "http://localhost:" + port} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "hello from the far end" {
			t.Errorf("GET %s = %q", u, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialled) != 2 || dialled[1] != "localhost:"+port {
		t.Errorf("dialled %q, want the name passed on unresolved last", dialled)
	}
}

func TestRefusals(t *testing.T) {
	proxyAddr := startProxy(t, func(context.Context, string) (net.Conn, error) {
		return nil, errors.New("no route")
	})
	exchange := func(t *testing.T, send []byte, want []byte) {
		t.Helper()
		c, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("reading the reply: %v", err)
		}
		if string(got) != string(want) {
			t.Errorf("reply %v, want %v", got, want)
		}
	}
	t.Run("auth only", func(t *testing.T) {
		exchange(t, []byte{5, 1, 2}, []byte{5, 0xff})
	})
	t.Run("bind", func(t *testing.T) {
		exchange(t, []byte{5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80}, []byte{5, 0, 5, 7})
	})
	t.Run("dial fails", func(t *testing.T) {
		exchange(t, []byte{5, 1, 0, 5, 1, 0, 3, 4, 'h', 'o', 's', 't', 0, 80}, []byte{5, 0, 5, 1})
	})
	t.Run("unknown address type", func(t *testing.T) {
		exchange(t, []byte{5, 1, 0, 5, 1, 0, 9}, []byte{5, 0, 5, 8})
	})
}
