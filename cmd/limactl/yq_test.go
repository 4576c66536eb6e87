package main

import "testing"

func TestIsYQName(t *testing.T) {
	for argv0, want := range map[string]bool{
		"yq": true, "/usr/local/bin/yq": true, "yq.exe": true, "yq.lima.exe": true,
		"limactl": false, "yqx": false, "myq": false, "/opt/yq/limactl": false,
	} {
		if got := isYQName(argv0); got != want {
			t.Errorf("isYQName(%q) = %v, want %v", argv0, got, want)
		}
	}
}
