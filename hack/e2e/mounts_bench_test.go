//go:build linux

package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSize is the size of the file read through each mount.
const benchSize = 64 << 20

// benchRuns is how many cold reads each figure is the median of.
const benchRuns = 3

// opensshSFTPServer is Debian's OpenSSH SFTP server (package openssh-sftp-server), the server Lima's
// reverse-sshfs runs on the host; the benchmark compares limactl's in-process server with it.
const opensshSFTPServer = "/usr/lib/openssh/sftp-server"

// mountBench is not a timed test: it logs read throughput (MB/s, median of benchRuns cold reads:
// caches dropped before each) of a 64 MiB host file through the mount, next to the same read from
// the guest's own disk, and for reverse-sshfs also through sshfs fed by OpenSSH's sftp-server.
// Run it with LIMACTL_E2E_BENCH=1; docs/performance.md ("Mounts") records the figures as ratios.
func mountBench(t *testing.T, name, mountType, base string) {
	host := filepath.Join(base, "ro", "bench.bin")
	f, err := os.Create(host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, benchSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	must(t, 2*time.Minute, "shell", name, "sh", "-c", fmt.Sprintf("dd if=/dev/urandom of=$HOME/bench.bin bs=1M count=%d status=none && sync", benchSize>>20))

	disk := readMBps(t, name, "$HOME/bench.bin")
	if mountType != "reverse-sshfs" {
		mount := readMBps(t, name, shellQuote(host))
		t.Logf("BENCH %s: guest disk %.1f MB/s, %s %.1f MB/s, ratio %.3f", mountType, disk, mountType, mount, mount/disk)
		return
	}
	// The reverse-sshfs instance serves its writable folder with the builtin SFTP server and its
	// read-only one with OpenSSH's sftp-server (sshfs.sftpDriver), over the same host agent SSH
	// connection: the same file through both compares the two servers and nothing else.
	rwHost := filepath.Join(base, "rw dir", "bench.bin")
	if err := copyFile(host, rwHost); err != nil {
		t.Fatal(err)
	}
	mount := readMBps(t, name, shellQuote(rwHost))
	viaDriver := readMBps(t, name, shellQuote(host))
	t.Logf("BENCH %s: guest disk %.1f MB/s, %s %.1f MB/s, ratio %.3f", mountType, disk, mountType, mount, mount/disk)
	t.Logf("BENCH reverse-sshfs over limactl's SSH: builtin SFTP %.1f MB/s, sftpDriver openssh-sftp-server %.1f MB/s, ratio %.3f", mount, viaDriver, mount/viaDriver)
	if !fileExists(opensshSFTPServer) {
		t.Logf("BENCH %s missing: no comparison with OpenSSH's sftp-server", opensshSFTPServer)
		return
	}
	stop := opensshSSHFS(t, name, filepath.Dir(host), "/tmp/ossh")
	defer stop()
	ossh := readMBps(t, name, "/tmp/ossh/bench.bin")
	t.Logf("BENCH reverse-sshfs: in-process SFTP %.1f MB/s, OpenSSH sftp-server %.1f MB/s, ratio %.3f", mount, ossh, mount/ossh)
}

// readMBps reads path in the guest benchRuns times, each after dropping the guest's caches, and
// returns the median throughput.
func readMBps(t *testing.T, name, path string) float64 {
	t.Helper()
	script := "sync; echo 3 | sudo tee /proc/sys/vm/drop_caches >/dev/null; s=$(date +%s.%N); dd if=" + path +
		" of=/dev/null bs=1M status=none || exit 1; e=$(date +%s.%N); echo \"$s $e\""
	var rates []float64
	for range benchRuns {
		r := must(t, 5*time.Minute, "shell", name, "sh", "-c", script)
		fields := strings.Fields(r.stdout)
		if len(fields) != 2 {
			t.Fatalf("timing output %q", r.stdout)
		}
		s, _ := strconv.ParseFloat(fields[0], 64)
		e, _ := strconv.ParseFloat(fields[1], 64)
		rates = append(rates, float64(benchSize)/1e6/(e-s))
	}
	slices.Sort(rates)
	t.Logf("%s: %.1f MB/s (runs %.1f)", path, rates[len(rates)/2], rates)
	return rates[len(rates)/2]
}

// opensshSSHFS mounts hostDir read-only on guestDir with sshfs in slave mode, fed by OpenSSH's
// sftp-server through the ssh command (the way Lima does it), and returns a function that unmounts.
func opensshSSHFS(t *testing.T, name, hostDir, guestDir string) func() {
	t.Helper()
	sshArgs := []string{"-F", filepath.Join(instDir(name), "ssh.config"), "lima-" + name}
	server := exec.Command(opensshSFTPServer)
	client := exec.Command("ssh", append(sshArgs, "mkdir -p "+guestDir+" && exec sshfs -f -o slave,ro "+shellQuote(":"+hostDir)+" "+guestDir)...)
	var err error
	if client.Stdin, err = server.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if server.Stdin, err = client.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	client.Stderr, server.Stderr = os.Stderr, os.Stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		_ = server.Process.Kill()
		t.Fatal(err)
	}
	waitFor(t, "the OpenSSH-fed sshfs mount", time.Minute, func() bool {
		r, err := limactl(t.Context(), nil, "shell", name, "mountpoint", "-q", guestDir)
		return err == nil && r.code == 0
	})
	return func() {
		_, _ = limactl(t.Context(), nil, "shell", name, "fusermount3", "-u", guestDir)
		done := make(chan struct{})
		go func() { _ = client.Wait(); _ = server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = client.Process.Kill()
			_ = server.Process.Kill()
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
