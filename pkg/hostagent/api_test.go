package hostagent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestServeAPIInfo(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ha.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil { // a stale file is replaced
		t.Fatal(err)
	}
	closeFn, err := serveAPI(sock, Info{SSHLocalPort: 60022})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://ha/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.SSHLocalPort != 60022 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	closeFn()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("ha.sock left after close: %v", err)
	}
}

func TestWritePIDFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha.pid")
	// A stale file (a pid that cannot be alive) is replaced.
	if err := os.WriteFile(path, []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePIDFile(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file holds %q", b)
	}
	// A live other host agent of the instance owns it: refused. The stand-in is a process whose
	// command line names the pid file as a host agent's does (--pidfile PATH).
	other := exec.Command("sh", "-c", "read x", "limactl", "hostagent", "--pidfile", path)
	if _, err := other.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	if err := os.WriteFile(path, []byte(strconv.Itoa(other.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePIDFile(path); err == nil || !strings.Contains(err.Error(), "another host agent") {
		t.Fatalf("writePIDFile over a live pid: %v", err)
	}
	// A live process that is not a host agent of the instance (its pid was reused): replaced.
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getppid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePIDFile(path); err != nil {
		t.Fatalf("writePIDFile over an unrelated live pid: %v", err)
	}
}
