package qemu

import (
	"context"

	"github.com/limactl/limactl/pkg/disk"
)

// Additional disks (pkg/disk): Start locks each one for this instance (the in_use_by symlink), so no
// second instance attaches it, and reads its recorded format for -drive (the guest writes the image,
// so its format is never guessed from it); cleanup releases the locks.

// lockDisks locks the instance's additional disks and returns their recorded formats by name
// (disk.Prepare: a disk without a record gets one, and an image that refers to another file is
// refused). On failure it releases the locks it took.
func (d *Driver) lockDisks(ctx context.Context) (map[string]string, error) {
	if d.cfg.Config == nil || len(d.cfg.Config.AdditionalDisks) == 0 {
		return nil, nil
	}
	formats := map[string]string{}
	for _, ad := range d.cfg.Config.AdditionalDisks {
		if err := disk.LockForInstance(ad.Name, d.cfg.InstanceDir); err != nil {
			d.unlockDisks()
			return nil, err
		}
		info, err := disk.Prepare(ctx, ad.Name)
		if err != nil {
			d.unlockDisks()
			return nil, err
		}
		formats[ad.Name] = info.Format
	}
	return formats, nil
}

// unlockDisks releases the locks this instance holds on its additional disks.
func (d *Driver) unlockDisks() {
	if d.cfg.Config == nil {
		return
	}
	disk.UnlockAllForInstance(d.cfg.Config.AdditionalDisks, d.cfg.InstanceDir)
}
