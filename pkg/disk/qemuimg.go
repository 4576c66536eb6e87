package disk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// imgInfo is the part of `qemu-img info --output=json` this package reads.
type imgInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	BackingFile string `json:"backing-filename,omitempty"`
}

// ErrNoQEMUImg is wrapped when the qemu-img binary is not installed.
var ErrNoQEMUImg = errors.New("qemu-img is not installed; install qemu-utils (Debian/Ubuntu), qemu-img (Fedora) or qemu (Homebrew)")

func qemuImg(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "qemu-img", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, ErrNoQEMUImg
		}
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func qemuImgInfo(ctx context.Context, path string) (*imgInfo, error) {
	// -U (force-share) lets us read the header of a disk a running QEMU holds open.
	out, err := qemuImg(ctx, "info", "-U", "--output=json", path)
	if err != nil {
		return nil, err
	}
	var info imgInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("parsing `qemu-img info` of %s: %w", path, err)
	}
	return &info, nil
}
