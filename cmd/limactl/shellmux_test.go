package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// TestDialInstanceMuxFallback: a mux socket that answers without speaking SSH, or a stale socket
// file, makes dialInstance dial the guest's TCP port; LIMA_SSH_MUX=0 skips the socket altogether.
func TestDialInstanceMuxFallback(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	fakeRunningInstance(t, "vm", t.TempDir())
	inst, err := store.Inspect(context.Background(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(inst.Dir, filenames.SSHMuxSock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close() // hangs up before the SSH banner
		}
	}()
	dialAndRun := func(name string) {
		t.Helper()
		c, err := dialInstance(context.Background(), inst)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer c.Close()
		if _, ok := c.RemoteAddr().(*net.TCPAddr); !ok {
			t.Errorf("%s: connected to %v, want the guest's TCP port", name, c.RemoteAddr())
		}
		if code, err := sshutil.RunShell(context.Background(), c, sshutil.ShellOptions{Args: []string{"true"}}); err != nil || code != 0 {
			t.Errorf("%s: true = %d, %v", name, code, err)
		}
	}
	dialAndRun("broken mux")
	t.Setenv("LIMA_SSH_MUX", "0")
	if c := dialMux(context.Background(), inst, sshutil.DialOptions{}); c != nil {
		c.Close()
		t.Error("LIMA_SSH_MUX=0 still dialled the mux")
	}
	t.Setenv("LIMA_SSH_MUX", "")
	ln.Close()
	_ = os.WriteFile(sock, nil, 0o600) // stale: no listener
	dialAndRun("stale socket")
}
