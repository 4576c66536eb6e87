package hostagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
)

// TestCopyToHost copies files from a fake SSH guest (commands run on the host): a present file,
// a missing one that may be skipped, a missing one that may not; then the stop deletes the copy
// marked deleteOnStop.
func TestCopyToHost(t *testing.T) {
	dir := t.TempDir()
	a, _ := fakeGuestAgent(t, dir, nil)
	src := filepath.Join(dir, "guest file")
	if err := os.WriteFile(src, []byte("kubeconfig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, "host", "kept")
	deleted := filepath.Join(dir, "host", "sub", "deleted")
	a.inst.Config.CopyToHost = []limayaml.CopyToHost{
		{GuestFile: src, HostFile: kept},
		{GuestFile: src, HostFile: deleted, DeleteOnStop: true},
		{GuestFile: filepath.Join(dir, "missing"), HostFile: filepath.Join(dir, "host", "skipped"), SkipIfMissing: true},
		{GuestFile: filepath.Join(dir, "missing"), HostFile: filepath.Join(dir, "host", "failed")},
	}
	fails := a.copyToHost(context.Background())
	if len(fails) != 1 || !strings.Contains(fails[0], "copyToHost[3]") || !strings.Contains(fails[0], "skipIfMissing") {
		t.Errorf("failures = %q, want one for copyToHost[3] naming skipIfMissing", fails)
	}
	for _, p := range []string{kept, deleted} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "kubeconfig\n" {
			t.Errorf("%s = %q, %v; want the guest file's content", p, b, err)
		}
	}
	for _, p := range []string{"skipped", "failed"} {
		if _, err := os.Stat(filepath.Join(dir, "host", p)); !os.IsNotExist(err) {
			t.Errorf("host file %s exists (%v), want none", p, err)
		}
	}
	a.deleteCopiedFiles()
	if _, err := os.Stat(deleted); !os.IsNotExist(err) {
		t.Errorf("%s still exists after stop (deleteOnStop)", deleted)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("%s was deleted, want it kept: %v", kept, err)
	}
}

func TestWithParamEnv(t *testing.T) {
	param := map[string]string{"B": "it's", "A": "1"}
	for _, tc := range []struct{ script, want string }{
		{"#!/bin/bash\ntrue\n", "#!/bin/bash\nexport PARAM_A='1'\nexport PARAM_B='it'\\''s'\ntrue\n"},
		{"#!/usr/bin/env sh\ntrue\n", "#!/usr/bin/env sh\nexport PARAM_A='1'\nexport PARAM_B='it'\\''s'\ntrue\n"},
		{"#!/usr/bin/python3\nprint(1)\n", "#!/usr/bin/python3\nprint(1)\n"},
	} {
		if diff := cmp.Diff(tc.want, withParamEnv(tc.script, param)); diff != "" {
			t.Errorf("withParamEnv(%q) (-want +got):\n%s", tc.script, diff)
		}
	}
}

// TestCopyToHostTooLarge: a guest file past copyToHostMax (here lowered to 1 MiB; the file is
// endless) fails its rule with the limit named, and leaves no host file, nor a temporary one. On
// the previous code the whole output was read into memory first: an endless file never ended.
func TestCopyToHostTooLarge(t *testing.T) {
	old := copyToHostMax
	copyToHostMax = 1 << 20
	defer func() { copyToHostMax = old }()
	dir := t.TempDir()
	a, _ := fakeGuestAgent(t, dir, nil)
	host := filepath.Join(dir, "host")
	a.inst.Config.CopyToHost = []limayaml.CopyToHost{{GuestFile: "/dev/zero", HostFile: filepath.Join(host, "zero")}}
	done := make(chan []string, 1)
	go func() { done <- a.copyToHost(context.Background()) }()
	select {
	case fails := <-done:
		if len(fails) != 1 || !strings.Contains(fails[0], "larger than 1 MiB") {
			t.Errorf("failures = %q, want one naming the limit", fails)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("copying an endless guest file did not end")
	}
	if entries, _ := os.ReadDir(host); len(entries) != 0 {
		t.Errorf("the host directory holds %v, want nothing", entries)
	}
}
