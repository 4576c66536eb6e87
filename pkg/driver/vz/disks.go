package vz

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/driver"
)

// Additional disks (pkg/disk): Start locks each one for this instance (the in_use_by symlink, as the
// qemu driver does), so no second instance attaches it, and checks that its recorded format
// (pkg/disk) is raw, the only format Virtualization.framework reads; finish releases the locks.

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
func (d *Driver) lockDisks(ctx context.Context) error {
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
		// The recorded format, not the image's header: the guest writes the image.
		format, _, err := disk.Format(ad.Name)
		if err == nil && format == FormatRaw {
			_, err = disk.Prepare(ctx, ad.Name) // records the format of a disk made by Lima or an older limactl
		}
		if err != nil || format != FormatRaw {
			d.unlockDisks()
			if err != nil {
				return err // names the disk
			}
			return fmt.Errorf("additional disk %q is %s, and vz reads raw disks only: convert it with `qemu-img convert -f %s -O raw %s %s.raw`, then `limactl disk import NAME %s.raw`, or create it with `limactl disk create %s --format raw`: %w",
				ad.Name, format, format, img, ad.Name, ad.Name, ad.Name, driver.ErrUnsupported)
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
