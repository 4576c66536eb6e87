package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

// TestSnapshotError: each driver error kind gets the hint that says what to do next.
func TestSnapshotError(t *testing.T) {
	ninep, rsshfs := limayaml.NINEP, limayaml.REVSSHFS
	mounts := []limayaml.Mount{{Location: "~"}}
	qemuInst := func(status string, mt *string, m []limayaml.Mount) *store.Instance {
		return &store.Instance{Name: "vm", VMType: limayaml.QEMU, Status: status,
			Config: &limayaml.LimaYAML{MountType: mt, Mounts: m}}
	}
	hmp := fmt.Errorf("savevm: Error: Migration is disabled when VirtFS export path '/home' is mounted: %w", driver.ErrUnsupported)
	tests := []struct {
		name   string
		inst   *store.Instance
		action string
		err    error
		want   string // a substring of the result; "" means err comes back unchanged
	}{
		{"unknown tag", qemuInst("Stopped", nil, nil), "apply", driver.ErrNotFound, "run `limactl snapshot list vm` to see the tags"},
		{"no disk", qemuInst("Stopped", nil, nil), "create", driver.ErrNotFound, "start the instance once"},
		{"duplicate", qemuInst("Stopped", nil, nil), "create", driver.ErrAlreadyExists, "pick another tag, or delete it first with `limactl snapshot delete --tag t vm`"},
		{"other driver", &store.Instance{Name: "vm", VMType: limayaml.VZ}, "list", driver.ErrUnsupported, "uses vmType `vz`, which has no snapshots"},
		{"9p default", qemuInst("Running", nil, mounts), "create", hmp, "QEMU cannot save or load a running guest's state while a 9p share is mounted"},
		{"9p explicit", qemuInst("Running", &ninep, mounts), "apply", hmp, "limactl edit --mount-type reverse-sshfs vm"},
		{"9p but stopped", qemuInst("Stopped", &ninep, mounts), "create", hmp, ""},
		{"reverse-sshfs", qemuInst("Running", &rsshfs, mounts), "create", hmp, ""},
		{"no mounts", qemuInst("Running", nil, nil), "create", hmp, ""},
		{"other error", qemuInst("Running", nil, mounts), "create", errors.New("boom"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapshotError(tt.inst, &SnapshotOptions{Action: tt.action, Tag: "t"}, tt.err)
			if !errors.Is(got, tt.err) {
				t.Fatalf("the kind is lost: %v", got)
			}
			if tt.want == "" {
				if got.Error() != tt.err.Error() {
					t.Fatalf("got %q, want the error unchanged", got)
				}
				return
			}
			if !strings.Contains(got.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
