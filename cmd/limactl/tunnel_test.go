package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadTunnelStatus(t *testing.T) {
	if p, err := readTunnelStatus(strings.NewReader("ok 41234\n"), time.Second); err != nil || p != 41234 {
		t.Errorf("ok line: %d, %v", p, err)
	}
	if _, err := readTunnelStatus(strings.NewReader("error instance `vm` is stopped\n"), time.Second); err == nil || err.Error() != "instance `vm` is stopped" {
		t.Errorf("error line: %v", err)
	}
	if _, err := readTunnelStatus(strings.NewReader(""), time.Second); err == nil || !strings.Contains(err.Error(), "ended before the tunnel was up") {
		t.Errorf("EOF: %v", err)
	}
	r, w := ioPipe()
	defer w.Close()
	if _, err := readTunnelStatus(r, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not come up") {
		t.Errorf("timeout: %v", err)
	}
}

func TestPrintTunnelSettings(t *testing.T) {
	for goos, want := range map[string]string{
		"linux":   "Set `ALL_PROXY=socks5h://127.0.0.1:1080`, etc.\n",
		"darwin":  "- Server: 127.0.0.1\n- Port: 1080\n",
		"windows": "- Address: socks=127.0.0.1\n- Port: 1080\n",
	} {
		var b bytes.Buffer
		printTunnelSettings(&b, goos, 1080, "lima-vm")
		if !strings.Contains(b.String(), want) || !strings.HasSuffix(b.String(), "<http://lima-vm.internal> via a web browser.\n") {
			t.Errorf("%s: %q", goos, b.String())
		}
	}
}

func TestCheckTunnelOptions(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		port int
		err  string
	}{
		{"socks", 0, ""},
		{"socks", 1024, ""},
		{"socks", 65535, ""},
		{"socks", 1023, "invalid socks port 1023"},
		{"socks", 65536, "invalid socks port 65536"},
		{"vpn", 0, `unknown tunnel type: "vpn"`},
	} {
		err := checkTunnelOptions(&TunnelOptions{Type: tc.typ, SOCKSPort: tc.port})
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%s %d: %v, want %q", tc.typ, tc.port, err, tc.err)
		}
	}
}

func ioPipe() (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	return r, w
}
