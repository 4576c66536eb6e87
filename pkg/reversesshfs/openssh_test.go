package reversesshfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pkg/sftp"
)

func TestFindSFTPServer(t *testing.T) {
	dir := t.TempDir()
	notExec, exe := filepath.Join(dir, "a", "sftp-server"), filepath.Join(dir, "b", "sftp-server")
	for p, mode := range map[string]os.FileMode{notExec: 0o644, exe: 0o755} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir) // no sftp-server on PATH
	got, err := findSFTPServer([]string{filepath.Join(dir, "missing"), notExec, exe})
	if err != nil || got != exe {
		t.Errorf("findSFTPServer = %q, %v; want %q", got, err, exe)
	}
	_, err = findSFTPServer([]string{filepath.Join(dir, "missing"), notExec})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("want an error listing the places looked in, got %v", err)
	}
	if diff := cmp.Diff([]string{"-R"}, SFTPServerArgs(Options{})); diff != "" {
		t.Errorf("read-only args (-want +got):\n%s", diff)
	}
	if args := SFTPServerArgs(Options{Writable: true}); len(args) != 0 {
		t.Errorf("writable args: %q", args)
	}
}

// openSSHClient runs the host's sftp-server through serveSFTP, as a mount does, and returns a
// client talking to it.
func openSSHClient(t *testing.T, o Options) *sftp.Client {
	t.Helper()
	p, err := FindSFTPServer()
	if err != nil {
		t.Skip(err)
	}
	o.SFTPDriver, o.SFTPServer = DriverOpenSSH, p
	toServerR, toServerW := io.Pipe()
	fromServerR, fromServerW := io.Pipe()
	stop, err := serveSFTP(o, toServerR, fromServerW)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sftp.NewClientPipe(fromServerR, toServerW)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = toServerW.Close(); stop() })
	return c
}

func TestOpenSSHDriver(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := openSSHClient(t, Options{Location: dir})
	f, err := ro.Open(filepath.Join(dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	_ = f.Close()
	if string(b) != "hello\n" {
		t.Errorf("read %q", b)
	}
	if _, err := ro.Create(filepath.Join(dir, "nope")); err == nil {
		t.Error("sftp-server -R let a file be created")
	}

	// What the read-only mount exposes: sftp-server has no root, so a path outside the mount's
	// folder is served too (read-only). The host agent's warning says so (OpenSSHExposure).
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := ro.Open(outside); err == nil {
		_ = f.Close()
	} else {
		t.Logf("sftp-server did not serve a path outside the mount: %v", err)
	}
	if err := ro.Remove(outside); err == nil {
		t.Error("sftp-server -R removed a file outside the mount")
	}
	if w := OpenSSHExposure(Options{Location: dir, SFTPDriver: DriverOpenSSH}); !strings.Contains(w, "any host file") || !strings.Contains(w, dir) {
		t.Errorf("OpenSSHExposure = %q", w)
	}
}

// A writable mount is never served by OpenSSH's sftp-server: it could write anywhere.
func TestOpenSSHWritableRefused(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	fake := filepath.Join(t.TempDir(), "sftp-server")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Location: t.TempDir(), MountPoint: "/mnt/rw", Writable: true, SFTPDriver: DriverOpenSSH, SFTPServer: fake}
	_, err := serveSFTP(o, strings.NewReader(""), nopCloser{io.Discard})
	if !errors.Is(err, ErrOpenSSHWritable) || !strings.Contains(err.Error(), DriverBuiltin) {
		t.Errorf("serveSFTP = %v; want ErrOpenSSHWritable pointing to the builtin driver", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("sftp-server was started for a writable mount")
	}
	if err := CheckOpenSSH(Options{Writable: true}); err != nil {
		t.Errorf("the builtin driver on a writable mount: %v", err)
	}
}

// The sftp-server process of a read-only mount runs with -R: what it was really started with.
func TestOpenSSHCommandLine(t *testing.T) {
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "sftp-server")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+argsFile+".tmp && mv "+argsFile+".tmp "+argsFile+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Location: dir, MountPoint: "/mnt/ro", SFTPDriver: DriverOpenSSH, SFTPServer: fake}
	kill, err := serveSFTP(o, strings.NewReader(""), nopCloser{io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(argsFile)
		if err == nil {
			if got := strings.Fields(string(b)); !slices.Contains(got, "-R") {
				t.Errorf("sftp-server for a read-only mount ran with %q, want -R", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in sftp-server did not run")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnknownDriver(t *testing.T) {
	_, err := serveSFTP(Options{SFTPDriver: "proftpd"}, strings.NewReader(""), nopCloser{io.Discard})
	if err == nil || !strings.Contains(err.Error(), "sftpDriver") {
		t.Errorf("want an error naming sftpDriver, got %v", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
