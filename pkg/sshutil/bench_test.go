package sshutil

import (
	"context"
	"testing"
)

// BenchmarkShellTrue measures `limactl shell vm true` against the in-process fake guest: a fresh
// dial plus exec, and an exec on an open connection. Compare with OpenSSH (with and without a
// ControlMaster) against a real guest: `hack/` benchmarks time `ssh -F ssh.config lima-NAME true`.
func BenchmarkShellTrue(b *testing.B) {
	_, opts := fakeGuest(b)
	o := ShellOptions{Args: []string{"true"}}
	b.Run("dial+exec", func(b *testing.B) {
		for b.Loop() {
			c, err := Dial(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			if code, err := RunShell(context.Background(), c, o); code != 0 || err != nil {
				b.Fatal(code, err)
			}
			c.Close()
		}
	})
	b.Run("exec", func(b *testing.B) {
		c := dial(b, opts)
		for b.Loop() {
			if code, err := RunShell(context.Background(), c, o); code != 0 || err != nil {
				b.Fatal(code, err)
			}
		}
	})
}
