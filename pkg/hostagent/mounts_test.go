package hostagent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/reversesshfs"
	"github.com/limactl/limactl/pkg/store"
)

func TestReverseSSHFSOptions(t *testing.T) {
	p := func(s string) *string { return &s }
	b := func(v bool) *bool { return &v }
	mounts := []limayaml.Mount{
		{Location: "/home/u"},
		{Location: "/tmp/lima", MountPoint: p("/mnt/my dir"), Writable: b(true),
			SSHFS: limayaml.SSHFS{Cache: b(false), FollowSymlinks: b(true), SFTPDriver: p("openssh-sftp-server")}},
	}
	for name, tc := range map[string]struct {
		y    limayaml.LimaYAML
		want []reversesshfs.Options
	}{
		"reverse-sshfs": {
			y: limayaml.LimaYAML{MountType: p(limayaml.REVSSHFS), Mounts: mounts},
			want: []reversesshfs.Options{
				{Location: "/home/u", MountPoint: "/home/u", Cache: true, User: "u"},
				{Location: "/tmp/lima", MountPoint: "/mnt/my dir", Writable: true, FollowSymlinks: true, User: "u", SFTPDriver: "openssh-sftp-server"},
			},
		},
		"9p":    {y: limayaml.LimaYAML{MountType: p(limayaml.NINEP), Mounts: mounts}},
		"plain": {y: limayaml.LimaYAML{MountType: p(limayaml.REVSSHFS), Plain: b(true), Mounts: mounts}},
	} {
		tc.y.User.Name = p("u")
		if diff := cmp.Diff(tc.want, reverseSSHFSOptions(&tc.y)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// Without reverse-sshfs mounts there are no steps, and unmounting is a no-op; with them, the steps
// are kept by the agent so that unmountReverseSSHFS finds them (here nothing was mounted yet).
func TestMountStepsRegistration(t *testing.T) {
	p := func(s string) *string { return &s }
	y := &limayaml.LimaYAML{MountType: p(limayaml.NINEP), Mounts: []limayaml.Mount{{Location: "/x"}}}
	a := &agent{inst: &store.Instance{Config: y}}
	if got := a.mountSteps(); got != nil {
		t.Errorf("9p: steps %v", got)
	}
	a.unmountReverseSSHFS()
	y.MountType = p(limayaml.REVSSHFS)
	steps := a.mountSteps()
	if len(steps) != 2 || steps[0].ID != "fuse" || steps[1].ID != "mounts" {
		t.Fatalf("reverse-sshfs steps: %+v", steps)
	}
	if a.mounts == nil {
		t.Fatal("the agent does not keep its mount set")
	}
	a.unmountReverseSSHFS()
	if a.mounts != nil {
		t.Error("the agent still holds the mount set after unmounting")
	}
}

// A mount asking for OpenSSH's sftp-server on a host without one fails at once, naming the field.
func TestMissingSFTPServer(t *testing.T) {
	saved := reversesshfs.SFTPServerPaths
	t.Cleanup(func() { reversesshfs.SFTPServerPaths = saved })
	reversesshfs.SFTPServerPaths = []string{filepath.Join(t.TempDir(), "sftp-server")}
	t.Setenv("PATH", t.TempDir())
	s := &mountSet{opts: []reversesshfs.Options{{MountPoint: "/a"}, {MountPoint: "/b", SFTPDriver: reversesshfs.DriverOpenSSH}}}
	ok, err := s.check(t.Context())
	if ok || !errors.Is(err, ErrFatal) || !strings.Contains(err.Error(), "mounts[1].sshfs.sftpDriver is openssh-sftp-server") {
		t.Errorf("check = %v, %v; want a fatal error naming mounts[1].sshfs.sftpDriver", ok, err)
	}
}

// A writable mount with OpenSSH's sftp-server fails at once, naming the mount, even if lima.yaml
// was edited past validation; a read-only one is announced with what it exposes.
func TestOpenSSHDriverConfined(t *testing.T) {
	s := &mountSet{opts: []reversesshfs.Options{{MountPoint: "/a"}, {MountPoint: "/b", Writable: true, SFTPDriver: reversesshfs.DriverOpenSSH, SFTPServer: "/bin/true"}}}
	ok, err := s.check(t.Context())
	if ok || !errors.Is(err, ErrFatal) || !errors.Is(err, reversesshfs.ErrOpenSSHWritable) || !strings.Contains(err.Error(), "mounts[1]") {
		t.Errorf("check = %v, %v; want a fatal ErrOpenSSHWritable naming mounts[1]", ok, err)
	}

	var logs bytes.Buffer
	logrus.SetOutput(&logs)
	t.Cleanup(func() { logrus.SetOutput(os.Stderr) })
	warnExposure([]reversesshfs.Options{{Location: "/srv/a"}, {Location: "/srv/ro", SFTPDriver: reversesshfs.DriverOpenSSH}})
	if got := logs.String(); !strings.Contains(got, "level=warning") || !strings.Contains(got, "mounts[1] uses openssh-sftp-server: the guest can read any host file the user can read, not only /srv/ro") || strings.Contains(got, "mounts[0]") {
		t.Errorf("warnings: %q", got)
	}
}
