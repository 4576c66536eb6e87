package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	// ProgressBar draws download progress bars on stderr; set it only when stderr is a terminal
	// and the user did not ask for --tty=false.
	ProgressBar bool
}

// Prepare makes what the driver needs before a boot: the image for the instance's arch, with its
// kernel and initrd, in the instance directory (downloaded through the cache, digest-checked, or
// copied from a local file), the driver's own state (driver.Create) and the boot disk
// (driver.CreateDisk: an overlay on the instance's copy of the image, grown to `disk:`, never shrunk).
//
// The instance keeps its own copy of the image, so pruning the download cache or moving the file a
// template pointed at never breaks an instance. Prepare is idempotent: an existing disk is kept and
// nothing is downloaded again.
func Prepare(ctx context.Context, inst *store.Instance, opts PrepareOptions) error {
	y := inst.Config
	if y == nil {
		return fmt.Errorf("instance %#q has no readable lima.yaml: %w", inst.Name, errors.Join(inst.Errors...))
	}
	if !exists(filepath.Join(inst.Dir, filenames.Disk)) && !exists(filepath.Join(inst.Dir, filenames.Image)) {
		if _, err := downloader.DownloadImage(ctx, inst.Dir, y.Images, inst.Arch,
			downloader.WithCache(), downloader.WithProgress(os.Stderr, opts.ProgressBar)); err != nil {
			return fmt.Errorf("instance %#q: %w", inst.Name, err)
		}
	}
	if y.Containerd.Enabled() {
		if _, _, err := downloader.NerdctlArchive(ctx, y.Containerd.Archives, inst.Arch,
			downloader.WithCache(), downloader.WithProgress(os.Stderr, opts.ProgressBar)); err != nil {
			return fmt.Errorf("instance %#q: %w", inst.Name, err)
		}
	}
	drv, err := registry.New(inst.VMType, driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: y})
	if err != nil {
		return err
	}
	if err := drv.Validate(ctx); err != nil {
		return err
	}
	if err := drv.Create(ctx); err != nil {
		return err
	}
	return drv.CreateDisk(ctx)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
