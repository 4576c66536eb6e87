package reversesshfs

import "testing"

func TestCommands(t *testing.T) {
	o := Options{Location: "/home/u/my dir", MountPoint: "/mnt/it's here", Cache: true, User: "u"}
	for _, tc := range []struct {
		o        Options
		nonempty bool
		want     string
	}{
		{o, false, `exec sshfs -f -o 'slave,allow_other,ro' ':/home/u/my dir' '/mnt/it'\''s here'`},
		{Options{Location: "/a", MountPoint: "/b", Writable: true, FollowSymlinks: true}, true,
			`exec sshfs -f -o 'slave,allow_other,cache=no,follow_symlinks,nonempty' ':/a' '/b'`},
	} {
		if got := SSHFSCommand(tc.o, tc.nonempty); got != tc.want {
			t.Errorf("SSHFSCommand:\ngot  %s\nwant %s", got, tc.want)
		}
	}
	want := `if [ ! -d '/mnt/it'\''s here' ]; then sudo mkdir -p '/mnt/it'\''s here'; fi; if [ ! -w '/mnt/it'\''s here' ]; then sudo chown 'u' '/mnt/it'\''s here'; fi; if mountpoint -q '/mnt/it'\''s here'; then fusermount3 -u -z '/mnt/it'\''s here' 2>/dev/null || sudo umount -l '/mnt/it'\''s here'; fi; true`
	if got := PrepareCommand(o); got != want {
		t.Errorf("PrepareCommand:\ngot  %s\nwant %s", got, want)
	}
}
