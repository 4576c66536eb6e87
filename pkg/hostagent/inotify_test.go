package hostagent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
)

func TestInotifyMounts(t *testing.T) {
	p := func(s string) *string { return &s }
	b := func(v bool) *bool { return &v }
	mounts := []limayaml.Mount{
		{Location: "/home/u"}, // read-only: cannot be touched in the guest
		{Location: "/tmp/lima", Writable: b(true)},
		{Location: "/home/u/src/proj", MountPoint: p("/mnt/proj"), Writable: b(true)},
	}
	for name, tc := range map[string]struct {
		y    limayaml.LimaYAML
		want []mountMapping
	}{
		"on": {y: limayaml.LimaYAML{MountInotify: b(true), Mounts: mounts}, want: []mountMapping{
			{Location: "/home/u/src/proj", MountPoint: "/mnt/proj"},
			{Location: "/tmp/lima", MountPoint: "/tmp/lima"},
		}},
		"off":   {y: limayaml.LimaYAML{Mounts: mounts}},
		"plain": {y: limayaml.LimaYAML{MountInotify: b(true), Plain: b(true), Mounts: mounts}},
	} {
		if diff := cmp.Diff(tc.want, inotifyMounts(&tc.y)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestGuestPath(t *testing.T) {
	mounts := []mountMapping{ // longest location first, as inotifyMounts orders them
		{Location: "/home/u/src/proj", MountPoint: "/mnt/proj/"},
		{Location: "/home/u", MountPoint: "/home/u.host"},
		{Location: "/tmp/lima", MountPoint: "/tmp/lima"},
	}
	for host, want := range map[string]string{
		"/home/u/a.txt":                "/home/u.host/a.txt",
		"/home/u":                      "/home/u.host",
		"/home/u/src/proj/main.go":     "/mnt/proj/main.go",
		"/home/u/src/proj":             "/mnt/proj/",
		"/home/u/src/project/x":        "/home/u.host/src/project/x",
		"/tmp/lima/dir with space/f g": "/tmp/lima/dir with space/f g",
		"/tmp/lima2/f":                 "", // not under /tmp/lima
		"/home/user/f":                 "",
	} {
		got, ok := guestPath(mounts, host)
		if ok != (want != "") || got != want {
			t.Errorf("guestPath(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	if got, ok := guestPath([]mountMapping{{Location: "/", MountPoint: "/mnt/host"}}, "/etc/hosts"); !ok || got != "/mnt/host/etc/hosts" {
		t.Errorf("under /: %q, %v", got, ok)
	}
}

func TestMtimeFilter(t *testing.T) {
	f := newMtimeFilter(2)
	t1, t2 := time.Unix(1, 0), time.Unix(2, 0)
	steps := []struct {
		path string
		t    time.Time
		want bool
	}{
		{"/a", t1, true},
		{"/a", t1, false}, // the echo of the guest's touch
		{"/a", t2, true},
		{"/b", t1, true},
		{"/c", t1, true}, // over the bound: the memory is cleared
		{"/a", t2, true}, // forgotten, so sent again (harmless)
	}
	for i, s := range steps {
		if got := f.changed(s.path, s.t); got != s.want {
			t.Errorf("step %d: changed(%s, %v) = %v, want %v", i, s.path, s.t.Unix(), got, s.want)
		}
	}
}
