//go:build !windows

package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startVirtiofsd against stand-in programs: one that creates its socket and stays, one that fails.
func TestStartVirtiofsd(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "qemu.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A stand-in that listens on its socket as virtiofsd does (start-up waits for listen(), not
	// only for the socket file).
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (hack/install-host-deps.sh installs it)")
	}
	sock := filepath.Join(dir, "ok.sock")
	good := script("good", `exec socat -u UNIX-LISTEN:"$1" OPEN:/dev/null`)
	stop, err := startVirtiofsd(ctx, VirtiofsdProcess{Binary: good, Args: []string{sock}, Socket: sock}, logf, logPath)
	if err != nil {
		t.Fatal(err)
	}
	stop() // returns only once the process has ended

	bad := script("bad", `echo "Could not create the pid file: Permission denied" >&2; exit 1`)
	_, err = startVirtiofsd(ctx, VirtiofsdProcess{Binary: bad, Socket: filepath.Join(dir, "bad.sock")}, logf, logPath)
	if !errors.Is(err, ErrVirtiofsd) || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("a virtiofsd that exits: err = %v, want ErrVirtiofsd quoting its output", err)
	}
	if ctx.Err() != nil {
		t.Error("the failing virtiofsd was only noticed at the timeout")
	}
}
