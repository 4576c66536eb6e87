package reversesshfs

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

	rw := openSSHClient(t, Options{Location: dir, Writable: true})
	w, err := rw.Create(filepath.Join(dir, "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if b, err := os.ReadFile(filepath.Join(dir, "new.txt")); err != nil || string(b) != "new\n" {
		t.Errorf("written through sftp-server: %q, %v", b, err)
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
