package guestagent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// inotifyDir watches dir for attribute changes and returns the watch's fd.
func inotifyDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_ATTRIB|unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	return fd
}

// nextEventName blocks until the watch reports an event and returns the file name it names.
func nextEventName(t *testing.T, fd int) (string, uint32) {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if err != nil || n < unix.SizeofInotifyEvent {
		t.Fatalf("reading inotify: %d bytes, %v", n, err)
	}
	ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
	name := strings.TrimRight(string(buf[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
	return name, ev.Mask
}

func TestTouchFiresInotify(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "changed on the host.txt")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// t.TempDir is no shared folder: touch refuses it.
	if err := touch(f, time.Now()); err == nil || !strings.Contains(err.Error(), "not on a shared folder") {
		t.Fatalf("touch outside a shared folder = %v", err)
	}
	saved := sharedFS
	t.Cleanup(func() { sharedFS = saved })
	sharedFS = func(string) (bool, error) { return true, nil }

	fd := inotifyDir(t, dir)
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	if err := touch(f, mtime); err != nil {
		t.Fatal(err)
	}
	if name, mask := nextEventName(t, fd); name != filepath.Base(f) || mask&unix.IN_MODIFY == 0 {
		t.Errorf("event %q mask %#x; want IN_MODIFY on %q", name, mask, filepath.Base(f))
	}
	if st, err := os.Stat(f); err != nil || !st.ModTime().Equal(mtime) {
		t.Errorf("mtime after touch: %v, %v; want %v", st.ModTime(), err, mtime)
	}
	if err := touch(filepath.Join(dir, "gone"), mtime); err != nil {
		t.Errorf("touching a missing file: %v, want nil", err)
	}
	if err := touch("relative", mtime); err == nil {
		t.Error("touched a relative path")
	}
}

// The host's Inotify message, sent on a connection, reaches the guest's watchers.
func TestServeConnInotify(t *testing.T) {
	saved := sharedFS
	t.Cleanup(func() { sharedFS = saved })
	sharedFS = func(string) (bool, error) { return true, nil }
	dir := t.TempDir()
	f := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := inotifyDir(t, dir)

	a := New((&fakeScan{}).scan, time.Hour)
	host, guest := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.ServeConn(ctx, guest) }()
	go func() { // drain the guest's Info
		dec := api.NewDecoder(host)
		for {
			if _, err := dec.Decode(); err != nil {
				return
			}
		}
	}()
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := api.NewEncoder(host).Encode(api.Message{Type: api.TypeInotify, Inotify: []api.InotifyEvent{{Path: f, MTime: mtime}}}); err != nil {
		t.Fatal(err)
	}
	if name, mask := nextEventName(t, fd); name != "a.txt" || mask&unix.IN_MODIFY == 0 {
		t.Errorf("event %q mask %#x; want IN_MODIFY on a.txt", name, mask)
	}
	_ = host.Close()
}

func TestFSTypeOf(t *testing.T) {
	const mountinfo = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /tmp rw,nosuid shared:5 - tmpfs tmpfs rw
40 25 0:35 / /tmp/a/rw\040dir rw,relatime shared:20 - 9p lima-abc rw,trans=virtio
41 25 0:36 / /tmp/a/ro rw,relatime shared:21 - fuse.sshfs :/tmp/a/ro ro,user_id=0
42 22 0:37 / /mnt/vfs rw - virtiofs tag0 rw
43 25 0:38 / /tmp/a/ro rw - tmpfs tmpfs rw
`
	for dir, want := range map[string]string{
		"/tmp/a/rw dir":       "9p",
		"/tmp/a/rw dir/sub/x": "9p",
		"/tmp/a/rw dirx":      "tmpfs",
		"/tmp/a/ro/f":         "tmpfs", // mounted over the sshfs one
		"/mnt/vfs/x":          "virtiofs",
		"/etc":                "ext4",
	} {
		if got := fsTypeOf(mountinfo, dir); got != want {
			t.Errorf("fsTypeOf(%q) = %q, want %q", dir, got, want)
		}
	}
}
