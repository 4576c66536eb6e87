package qemu

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// threeMounts is read-only, writable, read-only: each mount's setting must reach its own export.
func threeMounts(mountType limayaml.MountType) *limayaml.LimaYAML {
	y := baseConfig(limayaml.X8664)
	y.MountType = ptr(mountType)
	y.Mounts = []limayaml.Mount{
		{Location: "/home/u", Writable: ptr(false)},
		{Location: "/tmp/lima", Writable: ptr(true)},
		{Location: "/srv/ro,comma", Writable: nil}, // unset: read-only
	}
	return y
}

// 9p: QEMU itself refuses writes to every read-only export (readonly=on), and only to those.
func TestPlan9pReadOnly(t *testing.T) {
	y := threeMounts(limayaml.NINEP)
	p, err := MakePlan(cfgFor(y), linuxHost(AccelKVM))
	if err != nil {
		t.Fatal(err)
	}
	var virtfs []string
	for i, a := range p.Args {
		if a == "-virtfs" {
			virtfs = append(virtfs, p.Args[i+1])
		}
	}
	if len(virtfs) != len(y.Mounts) {
		t.Fatalf("%d -virtfs options for %d mounts: %q", len(virtfs), len(y.Mounts), virtfs)
	}
	for i, m := range y.Mounts {
		opts := strings.Split(virtfs[i], ",")
		if !strings.Contains(virtfs[i], "path="+qemuOptEscape(m.Location)+",") {
			t.Errorf("mounts[%d]: -virtfs %s does not export %s", i, virtfs[i], m.Location)
		}
		if got, want := slices.Contains(opts, "readonly=on"), !deref(m.Writable); got != want {
			t.Errorf("mounts[%d] (writable %v): readonly=on is %v in -virtfs %s", i, deref(m.Writable), got, virtfs[i])
		}
	}
}

// virtiofs: a read-only mount is read-only on the host, by a read-only bind mount (root) and by
// virtiofsd's --readonly where it has one; a writable mount gets neither. Without root and
// --readonly, a read-only mount is refused, naming mounts[N].writable and 9p.
func TestPlanVirtiofsReadOnly(t *testing.T) {
	tests := []struct {
		name      string
		uid       int
		hasRO     bool
		wantBind  bool
		wantFlag  bool
		wantError bool
	}{
		{name: "root, C virtiofsd", uid: 0, wantBind: true},
		{name: "root, virtiofsd with --readonly", uid: 0, hasRO: true, wantBind: true, wantFlag: true},
		{name: "user, virtiofsd with --readonly", uid: 1000, hasRO: true, wantFlag: true},
		{name: "user, C virtiofsd", uid: 1000, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := threeMounts(limayaml.VIRTIOFS)
			h := linuxHost(AccelKVM)
			h.Virtiofsd, h.UID, h.VirtiofsdReadOnly = "/usr/lib/qemu/virtiofsd", tt.uid, tt.hasRO
			p, err := MakePlan(cfgFor(y), h)
			if tt.wantError {
				if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "mounts[0].writable") || !strings.Contains(err.Error(), "9p") {
					t.Fatalf("err = %v; want ErrUnsupported naming mounts[0].writable and 9p", err)
				}
				// Writable mounts alone need nothing from the host.
				y.Mounts = y.Mounts[1:2]
				if _, err := MakePlan(cfgFor(y), h); err != nil {
					t.Errorf("a writable mount alone: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Virtiofsd) != len(y.Mounts) {
				t.Fatalf("%d virtiofsd for %d mounts", len(p.Virtiofsd), len(y.Mounts))
			}
			for i, m := range y.Mounts {
				v, ro := p.Virtiofsd[i], !deref(m.Writable)
				if !slices.Contains(v.Args, "source="+strings.ReplaceAll(m.Location, ",", `\,`)) {
					t.Errorf("mounts[%d]: virtiofsd %q does not serve %s", i, v.Args, m.Location)
				}
				wantBind := ""
				if ro && tt.wantBind {
					wantBind = m.Location
				}
				if v.ReadOnlyBind != wantBind {
					t.Errorf("mounts[%d] (writable %v): ReadOnlyBind = %q, want %q", i, !ro, v.ReadOnlyBind, wantBind)
				}
				if got := slices.Contains(v.Args, "--readonly"); got != (ro && tt.wantFlag) {
					t.Errorf("mounts[%d] (writable %v): --readonly in %q is %v", i, !ro, v.Args, got)
				}
			}
			if s := p.String(); strings.Contains(s, "enforced by the guest") {
				t.Errorf("the plan still says read-only is left to the guest:\n%s", s)
			}
		})
	}
}
