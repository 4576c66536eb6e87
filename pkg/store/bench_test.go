package store

import (
	"context"
	"fmt"
	"io"
	"testing"
)

func benchFixture(b *testing.B, n int) {
	b.Helper()
	home := b.TempDir()
	b.Setenv("HOME", home)
	b.Setenv("LIMA_HOME", home+"/.lima")
	f := &fixture{t: &testing.T{}, home: home, limaHome: home + "/.lima"}
	for i := range n {
		f.instance(fmt.Sprintf("inst-%d", i), "mounts:\n- location: \"~\"\n")
	}
}

func BenchmarkInspectAndPrint100(b *testing.B) {
	benchFixture(b, 100)
	ctx := context.Background()
	for b.Loop() {
		names, err := Instances()
		if err != nil {
			b.Fatal(err)
		}
		insts, err := InspectAll(ctx, names)
		if err != nil {
			b.Fatal(err)
		}
		if err := PrintInstances(io.Discard, insts, "table", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspectSerial100(b *testing.B) {
	benchFixture(b, 100)
	ctx := context.Background()
	for b.Loop() {
		names, _ := Instances()
		for _, n := range names {
			if _, err := Inspect(ctx, n); err != nil {
				b.Fatal(err)
			}
		}
	}
}
