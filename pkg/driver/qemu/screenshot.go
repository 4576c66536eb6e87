package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/driver"
)

// maxScreenshot caps the PNG read back from QEMU. The guest picks its resolution; 128 MiB is far
// above any display QEMU's adapters offer, and keeps a hostile guest from filling memory.
const maxScreenshot = 128 << 20

// Screenshot implements driver.Screenshotter with QMP's screendump (format png, QEMU 7.1 and later).
// QEMU writes the image into a private directory inside the instance directory that limactl made:
// QEMU is never given a path from the user (QEMU gives some paths, such as /dev/fdset/N, meanings
// of their own).
func (d *Driver) Screenshot(ctx context.Context) ([]byte, error) {
	var png []byte
	ran, err := d.withQMP(ctx, func(q *QMP) (err error) {
		png, err = screendump(ctx, q, d.cfg.InstanceDir)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ran {
		return nil, fmt.Errorf("instance %q: %w", d.cfg.Name, driver.ErrNotRunning)
	}
	return png, nil
}

// screendump asks QEMU for a PNG of its console in a new directory under dir, and returns it.
func screendump(ctx context.Context, q *QMP, dir string) ([]byte, error) {
	tmp, err := os.MkdirTemp(dir, ".screenshot-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "screen.png")
	cmd, err := json.Marshal(map[string]any{
		"execute":   "screendump",
		"arguments": map[string]string{"filename": path, "format": "png"},
	})
	if err != nil {
		return nil, err
	}
	if err := q.do(ctx, func() error { _, err := q.mon.Run(cmd); return err }); err != nil {
		// QEMU's words when the machine has no display device.
		if strings.Contains(err.Error(), "no console") {
			return nil, fmt.Errorf("QEMU: %w; the instance has no display (set video.display in lima.yaml, e.g. \"vnc\" or \"default\"): %w", err, driver.ErrUnsupported)
		}
		return nil, fmt.Errorf("QEMU screendump: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("QEMU wrote no screenshot: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScreenshot+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxScreenshot {
		return nil, errors.New("the screenshot is larger than 128 MiB")
	}
	return data, nil
}
