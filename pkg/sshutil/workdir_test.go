package sshutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGuestWorkdir(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip(err)
	}
	mounts := []Mount{
		{Location: "/host/src", MountPoint: "/mnt/src"},
		{Location: "/host/src/inner", MountPoint: "/inner"},
		{Location: "/same"},
		{Location: "~/proj", MountPoint: "/proj"},
	}
	tests := []struct {
		host   string
		want   string
		wantOK bool
	}{
		{"/host/src", "/mnt/src", true},
		{"/host/src/a/b", "/mnt/src/a/b", true},
		{"/host/src/inner/x", "/inner/x", true},
		{"/host/srcx", "", false},
		{"/same/dir", "/same/dir", true},
		{filepath.Join(home, "proj", "x"), "/proj/x", true},
		{"/elsewhere", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := GuestWorkdir(tt.host, mounts)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("GuestWorkdir(%q) = %q, %v; want %q, %v", tt.host, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestFilterShellEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "HOME=/h", "SSH_AUTH_SOCK=/s", "EDITOR=vi", "FOO=1", "XDG_X=1", "LANG=C", "_=x", "weird-name=1"}
	tests := []struct {
		block, allow string
		want         []string
	}{
		{"", "", []string{"EDITOR=vi", "FOO=1", "LANG=C"}},
		{"+FOO", "", []string{"EDITOR=vi", "LANG=C"}},
		{"FOO,LANG", "", []string{"EDITOR=vi", "HOME=/h", "PATH=/bin", "SSH_AUTH_SOCK=/s", "XDG_X=1", "_=x"}},
		{"", "SSH_*", []string{"EDITOR=vi", "FOO=1", "LANG=C", "SSH_AUTH_SOCK=/s"}},
	}
	for _, tt := range tests {
		got := FilterShellEnv(environ, tt.block, tt.allow)
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("FilterShellEnv(block=%q, allow=%q) (-want +got):\n%s", tt.block, tt.allow, d)
		}
	}
}
