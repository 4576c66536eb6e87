package hostagent

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// nextEvents reads the watcher until it reports something that passes the filter.
func nextEvents(t *testing.T, w pathWatcher, mounts []mountMapping, f *mtimeFilter) []api.InotifyEvent {
	t.Helper()
	for {
		paths, err := w.Next()
		if err != nil {
			t.Fatal(err)
		}
		if evs, _ := inotifyEvents(mounts, f, paths); len(evs) > 0 {
			return evs
		}
	}
}

// A host write is reported with its mtime; the guest's touch, which sets the same mtime again
// (through 9p or virtiofs), is not reported back; a new directory is watched at once.
func TestInotifyWatcherLoopAvoidance(t *testing.T) {
	root := t.TempDir()
	mounts := []mountMapping{{Location: root, MountPoint: "/mnt/share"}}
	w, err := newPathWatcher([]string{root}, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := newMtimeFilter(100)

	file := filepath.Join(root, "a.txt")
	if err := os.WriteFile(file, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	evs := nextEvents(t, w, mounts, f)
	st, _ := os.Stat(file)
	if diff := cmp.Diff([]api.InotifyEvent{{Path: "/mnt/share/a.txt", MTime: st.ModTime().UTC()}}, evs); diff != "" {
		t.Fatalf("events of a host write (-want +got):\n%s", diff)
	}

	// The guest touches the file with the mtime it was sent: the host sees IN_ATTRIB, which must
	// not be sent again. A marker written afterwards shows that nothing came in between.
	if err := os.Chtimes(file, time.Time{}, st.ModTime()); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(root, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	evs = nextEvents(t, w, mounts, f)
	if len(evs) != 1 || evs[0].Path != "/mnt/share/marker" {
		t.Fatalf("after the guest's touch: %+v, want only the marker", evs)
	}

	sub := filepath.Join(root, "new dir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	nextEvents(t, w, mounts, f) // the directory itself
	if err := os.WriteFile(filepath.Join(sub, "b.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		evs = nextEvents(t, w, mounts, f)
		if evs[len(evs)-1].Path == "/mnt/share/new dir/b.txt" {
			break
		}
	}
}

func TestInotifyWatcherBound(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/deep", "b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w, err := newPathWatcher([]string{root}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	iw := w.(*inotifyWatcher)
	var got []string
	for _, d := range iw.dirs {
		rel, _ := filepath.Rel(root, d)
		got = append(got, rel)
	}
	// Breadth first: the root and two of its subdirectories; never a/deep before c.
	if len(got) != 3 {
		t.Errorf("watched %q, want 3 directories", got)
	}
	for _, d := range got {
		if d == filepath.Join("a", "deep") {
			t.Errorf("watched %q, deeper than an unwatched sibling", got)
		}
	}
}

// Events reach the guest agent on the connection the port forwarder opened, once the agent has
// answered, and the forwarder's own writes still get through.
func TestInotifyOverGuestAgentConn(t *testing.T) {
	root := t.TempDir()
	host, guest := net.Pipe()
	link := &gaLink{}
	dial := link.wrap(func(context.Context) (io.ReadWriteCloser, error) { return host, nil })
	conn, err := dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := link.send(api.Message{Type: api.TypeInotify}); err == nil {
		t.Error("sent before the guest agent answered")
	}
	guestEnc, guestDec := api.NewEncoder(guest), api.NewDecoder(guest)
	go func() { _ = guestEnc.Encode(api.Message{Type: api.TypeInfo}) }()
	if _, err := api.NewDecoder(conn).Decode(); err != nil { // the forwarder reads the Info
		t.Fatal(err)
	}

	w, err := newPathWatcher([]string{root}, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go propagateInotify(ctx, w, []mountMapping{{Location: root, MountPoint: "/tmp/lima"}}, func(evs []api.InotifyEvent) error {
		return link.send(api.Message{Type: api.TypeInotify, Inotify: evs})
	})
	go func() { _ = api.NewEncoder(conn).Encode(api.Message{Type: api.TypeGetInfo}) }() // the forwarder's own write
	if m, err := guestDec.Decode(); err != nil || m.Type != api.TypeGetInfo {
		t.Fatalf("guest read %+v, %v; want getInfo", m, err)
	}
	if err := os.WriteFile(filepath.Join(root, "x y.txt"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := guestDec.Decode()
	if err != nil || m.Type != api.TypeInotify || len(m.Inotify) == 0 || m.Inotify[0].Path != "/tmp/lima/x y.txt" {
		t.Fatalf("guest read %+v, %v; want an inotify message for /tmp/lima/x y.txt", m, err)
	}
	_ = conn.Close()
	if err := link.send(api.Message{Type: api.TypeInotify}); err == nil {
		t.Error("sent on a closed connection")
	}
}
