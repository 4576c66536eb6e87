package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Prepare makes what the driver needs before a boot: the image for the instance's arch (local files
// only for now), the kernel and initrd copied into the instance directory, the driver's own state
// (driver.Create) and the boot disk (driver.CreateDisk: an overlay on the image, grown to `disk:`,
// never shrunk). It is idempotent: an existing disk is kept.
func Prepare(ctx context.Context, inst *store.Instance) error {
	y := inst.Config
	if y == nil {
		return fmt.Errorf("instance %q has no readable lima.yaml: %w", inst.Name, errors.Join(inst.Errors...))
	}
	cfg := driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: y}
	_, diskErr := os.Stat(filepath.Join(inst.Dir, filenames.Disk))
	img := imageFor(y, inst.Arch)
	if img == nil && diskErr != nil {
		return fmt.Errorf("instance %q: images[] has no image for arch %s; add one", inst.Name, inst.Arch)
	}
	if img != nil {
		if diskErr != nil {
			base, err := localPath(img.Location)
			if err != nil {
				return err
			}
			cfg.BaseImage = base
		}
		if img.Kernel != nil {
			if err := copyLocal(img.Kernel.Location, filepath.Join(inst.Dir, filenames.Kernel)); err != nil {
				return fmt.Errorf("images[].kernel: %w", err)
			}
		}
		if img.Initrd != nil {
			if err := copyLocal(img.Initrd.Location, filepath.Join(inst.Dir, filenames.Initrd)); err != nil {
				return fmt.Errorf("images[].initrd: %w", err)
			}
		}
	}
	drv, err := registry.New(string(inst.VMType), cfg)
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

// imageFor returns the first images[] entry for arch (or without an arch).
func imageFor(y *limayaml.LimaYAML, arch limayaml.Arch) *limayaml.Image {
	for i := range y.Images {
		if y.Images[i].Arch == "" || y.Images[i].Arch == arch {
			return &y.Images[i]
		}
	}
	return nil
}

// localPath turns an image location into a host path: an absolute path, ~/path or a file:// URL.
func localPath(loc string) (string, error) {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		return "", fmt.Errorf("downloading images is not implemented yet: %s; download it yourself and set the location to the local file's absolute path", loc)
	case strings.HasPrefix(loc, "file://"):
		u, err := url.Parse(loc)
		if err != nil {
			return "", fmt.Errorf("image location %q: %w", loc, err)
		}
		loc = u.Path
	case strings.HasPrefix(loc, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		loc = filepath.Join(home, loc[2:])
	}
	if !filepath.IsAbs(loc) {
		return "", fmt.Errorf("image location %q is neither an absolute path nor a URL; use an absolute path", loc)
	}
	if _, err := os.Stat(loc); err != nil {
		return "", fmt.Errorf("image %s: %w", loc, err)
	}
	return loc, nil
}

// copyLocal copies the file at location to dst unless dst already has the same size.
func copyLocal(location, dst string) error {
	src, err := localPath(location)
	if err != nil {
		return err
	}
	sst, err := os.Stat(src)
	if err != nil {
		return err
	}
	if dst, err := os.Stat(dst); err == nil && dst.Size() == sst.Size() {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(out, in)
	if err := errors.Join(cerr, out.Close()); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
