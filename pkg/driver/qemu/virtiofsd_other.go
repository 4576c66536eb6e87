//go:build !linux

package qemu

import (
	"fmt"
	"os/exec"

	"github.com/limactl/limactl/pkg/driver"
)

// startReadOnlyBound needs Linux mount namespaces; virtiofs mounts are planned only on Linux hosts.
func startReadOnlyBound(cmd *exec.Cmd, dir string) (<-chan error, error) {
	return nil, fmt.Errorf("a read-only bind mount of %s for virtiofsd needs a Linux host: %w", dir, driver.ErrUnsupported)
}

// unixListening cannot be told without /proc/net/unix; the caller goes by the socket file alone.
func unixListening(string) (listening, ok bool) { return false, false }
