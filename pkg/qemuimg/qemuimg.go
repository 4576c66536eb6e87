// Package qemuimg runs the qemu-img tool: the one wrapper that the qemu driver (boot disks,
// offline snapshots) and pkg/disk (additional disks) share.
package qemuimg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNotInstalled is returned (wrapped) when the qemu-img binary is not on PATH.
var ErrNotInstalled = errors.New("qemu-img is not installed; install qemu-utils (Debian/Ubuntu), qemu-img (Fedora) or qemu (Homebrew)")

// Run runs qemu-img with args and returns its stdout. A failure carries qemu-img's stderr.
func Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "qemu-img", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, ErrNotInstalled
		}
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Info is the part of `qemu-img info --output=json` limactl reads.
type Info struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	BackingFile string `json:"backing-filename,omitempty"`
}

// GetInfo runs `qemu-img info --output=json` on path. With forceShare (-U) it reads the header
// of an image that a running QEMU holds open (and locked).
func GetInfo(ctx context.Context, path string, forceShare bool) (*Info, error) {
	args := []string{"info", "--output=json", path}
	if forceShare {
		args = []string{"info", "-U", "--output=json", path}
	}
	out, err := Run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("parsing `qemu-img info` of %s: %w", path, err)
	}
	return &info, nil
}
