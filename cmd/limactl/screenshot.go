package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// ScreenshotOptions are the inputs of `limactl screenshot`.
type ScreenshotOptions struct {
	IO       *iostreams.IOStreams
	Instance string
	Output   string
}

func newScreenshotCommand(ios *iostreams.IOStreams, runF func(*ScreenshotOptions) error) *cobra.Command {
	opts := &ScreenshotOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "screenshot INSTANCE",
		Short: "Capture a screenshot of the VM display",
		Long: `Capture the display of a running instance as a PNG or BMP image (qemu only). The instance needs a
display device: set video.display in lima.yaml (e.g. "vnc" or "default"); with the default "none"
there is nothing to capture.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runScreenshot(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "Output path; extension must be .png or .bmp (default: INSTANCE-screenshot.png)")
	return cmd
}

func runScreenshot(ctx context.Context, opts *ScreenshotOptions) error {
	inst, err := store.Inspect(ctx, opts.Instance)
	if err != nil {
		return err
	}
	if inst.Status != store.StatusRunning {
		return fmt.Errorf("instance %q is not running (status: %s)", inst.Name, inst.Status)
	}
	out := opts.Output
	if out == "" {
		out = inst.Name + "-screenshot.png"
	}
	ext := strings.ToLower(filepath.Ext(out))
	if ext != ".png" && ext != ".bmp" {
		return fmt.Errorf("unsupported output extension %q: must be .png or .bmp", filepath.Ext(out))
	}
	drv, err := registry.New(inst.VMType, driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: inst.Config})
	if err != nil {
		return err
	}
	s, ok := drv.(driver.Screenshotter)
	if !ok {
		return fmt.Errorf("screenshot failed: not supported by the %s driver: %w", inst.VMType, driver.ErrUnsupported)
	}
	data, err := s.Screenshot(ctx)
	if err != nil {
		return fmt.Errorf("screenshot failed: %w", err)
	}
	if ext == ".bmp" {
		if data, err = pngToBMP(data); err != nil {
			return fmt.Errorf("screenshot failed: %w", err)
		}
	}
	if err := atomicfile.WriteUserFile(out, data, 0o644); err != nil {
		return fmt.Errorf("failed to write %q: %w", out, err)
	}
	logrus.Infof("Screenshot saved to %q (%d bytes)", out, len(data))
	return nil
}

// maxPixels bounds the image pngToBMP converts (the guest picks the size): 8K by 8K.
const maxPixels = 8192 * 8192

// pngToBMP re-encodes a PNG as a 24-bit bottom-up BMP (BITMAPINFOHEADER), which every viewer reads.
func pngToBMP(data []byte) ([]byte, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("screenshot of %dx%d pixels: %w", cfg.Width, cfg.Height, errors.ErrUnsupported)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeBMP(&b, img)
	return b.Bytes(), nil
}

func writeBMP(w io.Writer, img image.Image) {
	r := img.Bounds()
	width, height := r.Dx(), r.Dy()
	stride := (width*3 + 3) &^ 3
	size := 14 + 40 + stride*height
	le := binary.LittleEndian
	hdr := make([]byte, 54)
	copy(hdr, "BM")
	le.PutUint32(hdr[2:], uint32(size))
	le.PutUint32(hdr[10:], 54)
	le.PutUint32(hdr[14:], 40)
	le.PutUint32(hdr[18:], uint32(width))
	le.PutUint32(hdr[22:], uint32(height))
	le.PutUint16(hdr[26:], 1)
	le.PutUint16(hdr[28:], 24)
	le.PutUint32(hdr[34:], uint32(stride*height))
	_, _ = w.Write(hdr)
	row := make([]byte, stride)
	for y := r.Max.Y - 1; y >= r.Min.Y; y-- {
		for x := 0; x < width; x++ {
			cr, cg, cb, _ := img.At(r.Min.X+x, y).RGBA()
			row[x*3], row[x*3+1], row[x*3+2] = byte(cb>>8), byte(cg>>8), byte(cr>>8)
		}
		_, _ = w.Write(row)
	}
}
