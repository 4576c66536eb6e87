package vz

import (
	"fmt"
	"path/filepath"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/driver"
)

// Additional disks (pkg/disk): Start locks each one for this instance (the in_use_by symlink, as the
// qemu driver does), so no second instance attaches it, and checks that it is raw, the only format
// Virtualization.framework reads; finish releases the locks.

// diskIdentifier is the virtio-blk identifier of additional disk name: "lima-NAME", which the guest
// shows as /dev/disk/by-id/virtio-lima-NAME. Virtualization.framework allows at most 20 ASCII
// bytes, the same limit virtio-blk serials have under QEMU.
func diskIdentifier(name string) string {
	id := "lima-" + name
	if len(id) > 20 {
		id = id[:20]
	}
	return id
}

// lockDisks locks the instance's additional disks. On failure it releases the locks it took.
func (d *Driver) lockDisks() error {
	if d.cfg.Config == nil {
		return nil
	}
	for _, ad := range d.cfg.Config.AdditionalDisks {
		if err := disk.LockForInstance(ad.Name, d.cfg.InstanceDir); err != nil {
			d.unlockDisks()
			return err
		}
		dir, err := disk.Path(ad.Name)
		if err != nil {
			d.unlockDisks()
			return err
		}
		img := filepath.Join(dir, disk.DataDisk)
		if format, err := DetectFormat(img); err != nil || format != FormatRaw {
			d.unlockDisks()
			if err != nil {
				return fmt.Errorf("additional disk %q: %w", ad.Name, err)
			}
			return fmt.Errorf("additional disk %q is %s, and vz reads raw disks only: convert it with `qemu-img convert -O raw %s %s.raw`, then `limactl disk import NAME %s.raw`, or create it with `limactl disk create %s --format raw`: %w",
				ad.Name, format, img, ad.Name, ad.Name, ad.Name, driver.ErrUnsupported)
		}
	}
	return nil
}

// unlockDisks releases the locks this instance holds on its additional disks.
func (d *Driver) unlockDisks() {
	if d.cfg.Config == nil {
		return
	}
	disk.UnlockAllForInstance(d.cfg.Config.AdditionalDisks, d.cfg.InstanceDir)
}
