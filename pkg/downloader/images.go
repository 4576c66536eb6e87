package downloader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// SelectImages returns the images to try for arch, in order, as Lima picks them: the variant is
// the one of the first image for arch, and only images for arch with that variant are kept. An
// image without an arch counts as one for arch (FillDefault sets it to .arch).
func SelectImages(images []limayaml.Image, arch string) []limayaml.Image {
	imgArch := func(img limayaml.Image) string {
		if img.Arch == "" {
			return arch
		}
		return img.Arch
	}
	variant, found := "", false
	for _, img := range images {
		if imgArch(img) == arch {
			variant, found = img.Variant, true
			break
		}
	}
	if !found {
		return nil
	}
	var out []limayaml.Image
	for _, img := range images {
		if imgArch(img) == arch && img.Variant == variant {
			out = append(out, img)
		}
	}
	return out
}

// DownloadImage tries the images selected for arch (see SelectImages) in order until one
// downloads, and returns it. The image goes to <instDir>/image (decompressed), its kernel to
// <instDir>/kernel, its initrd to <instDir>/initrd and the kernel command line to
// <instDir>/kernel.cmdline. opts are passed to every Download (typically WithCache and
// WithProgress); digests, decompression and descriptions are set here. On failure, the error
// lists each location tried and why it failed, and no partial files are left in instDir.
func DownloadImage(ctx context.Context, instDir string, images []limayaml.Image, arch string, opts ...Opt) (limayaml.Image, error) {
	candidates := SelectImages(images, arch)
	if len(candidates) == 0 {
		return limayaml.Image{}, fmt.Errorf("no image for arch %q in the template (images are listed for: %s); pick another arch or add an image",
			arch, strings.Join(imageArches(images), ", "))
	}
	var failures []string
	for _, img := range candidates {
		err := downloadImageFiles(ctx, instDir, img, opts)
		if err == nil {
			return img, nil
		}
		if ctx.Err() != nil {
			return limayaml.Image{}, err
		}
		logrus.Warnf("Cannot use the image %s: %v", img.Location, err)
		failures = append(failures, fmt.Sprintf("  - %s: %v", img.Location, err))
	}
	return limayaml.Image{}, fmt.Errorf("cannot download an image for %s; tried %d location(s):\n%s\ncheck the network and the image URLs in the template",
		arch, len(candidates), strings.Join(failures, "\n"))
}

func imageArches(images []limayaml.Image) []string {
	seen := map[string]bool{}
	var out []string
	for _, img := range images {
		if img.Arch != "" && !seen[img.Arch] {
			seen[img.Arch] = true
			out = append(out, img.Arch)
		}
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

// downloadImageFiles fetches one image with its kernel and initrd; on failure it removes what
// this attempt created.
func downloadImageFiles(ctx context.Context, instDir string, img limayaml.Image, opts []Opt) (err error) {
	var created []string
	defer func() {
		if err != nil {
			for _, p := range created {
				_ = os.Remove(p)
			}
		}
	}()
	fetch := func(name string, f limayaml.File, decompress bool, what string) error {
		dst := filepath.Join(instDir, name)
		o := append(append([]Opt{}, opts...), WithExpectedDigest(f.Digest), WithDecompress(decompress), WithDescription(what))
		log := logrus.NewEntry(logrus.StandardLogger())
		if f.Digest != "" {
			log = log.WithField("digest", f.Digest)
		}
		log.Infof("Attempting to download %s from %q", what, f.Location)
		res, err := Download(ctx, dst, f.Location, o...)
		if err != nil {
			return err
		}
		switch res.Status {
		case StatusSkipped:
			log.Infof("%s already exists at %q", capitalize(what), dst)
		case StatusUsedCache:
			created = append(created, dst)
			log.Infof("Using cache %q", res.CachePath)
		default:
			created = append(created, dst)
			if res.CachePath != "" {
				log.Infof("Downloaded %s from %q (cached at %q)", what, f.Location, res.CachePath)
			} else {
				log.Infof("Downloaded %s from %q", what, f.Location)
			}
		}
		return nil
	}
	if err := fetch(filenames.Image, img.File, true, "the image"); err != nil {
		return err
	}
	if img.Kernel != nil {
		if err := fetch(filenames.Kernel, img.Kernel.File, false, "the kernel"); err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		if img.Kernel.Cmdline != "" {
			p := filepath.Join(instDir, filenames.KernelCmdline)
			if err := writeAtomic(p, []byte(img.Kernel.Cmdline)); err != nil {
				return err
			}
			created = append(created, p)
		}
	}
	if img.Initrd != nil {
		if err := fetch(filenames.Initrd, *img.Initrd, false, "the initrd"); err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
	}
	return nil
}

// DownloadFirmware puts the first firmware image for arch (and for vmType, when the entry names
// one) that downloads at dest (e.g. <instDir>/qemu-efi-code.fd) and returns it. It returns
// ErrNoFirmware when no entry fits, so the caller can fall back to the system firmware.
func DownloadFirmware(ctx context.Context, dest string, files []limayaml.FileWithVMType, arch, vmType string, opts ...Opt) (limayaml.FileWithVMType, error) {
	var failures []string
	for _, f := range files {
		if (f.Arch != "" && f.Arch != arch) || (f.VMType != "" && f.VMType != vmType) {
			continue
		}
		o := append(append([]Opt{}, opts...), WithExpectedDigest(f.Digest), WithDecompress(true), WithDescription("the firmware"))
		if _, err := Download(ctx, dest, f.Location, o...); err != nil {
			if ctx.Err() != nil {
				return limayaml.FileWithVMType{}, err
			}
			failures = append(failures, fmt.Sprintf("  - %s: %v", f.Location, err))
			continue
		}
		return f, nil
	}
	if len(failures) == 0 {
		return limayaml.FileWithVMType{}, ErrNoFirmware
	}
	return limayaml.FileWithVMType{}, fmt.Errorf("cannot download the firmware; tried:\n%s", strings.Join(failures, "\n"))
}

// ErrNoFirmware means firmware.images has no entry for the arch and vmType.
var ErrNoFirmware = errors.New("no firmware image for this arch and vmType")

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
