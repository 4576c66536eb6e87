package hostagent

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/reversesshfs"
)

func TestReverseSSHFSOptions(t *testing.T) {
	p := func(s string) *string { return &s }
	b := func(v bool) *bool { return &v }
	mounts := []limayaml.Mount{
		{Location: "/home/u"},
		{Location: "/tmp/lima", MountPoint: p("/mnt/my dir"), Writable: b(true),
			SSHFS: limayaml.SSHFS{Cache: b(false), FollowSymlinks: b(true)}},
	}
	for name, tc := range map[string]struct {
		y    limayaml.LimaYAML
		want []reversesshfs.Options
	}{
		"reverse-sshfs": {
			y: limayaml.LimaYAML{MountType: p(limayaml.REVSSHFS), Mounts: mounts},
			want: []reversesshfs.Options{
				{Location: "/home/u", MountPoint: "/home/u", Cache: true, User: "u"},
				{Location: "/tmp/lima", MountPoint: "/mnt/my dir", Writable: true, FollowSymlinks: true, User: "u"},
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
