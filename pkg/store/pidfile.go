package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/limactl/limactl/pkg/osutil"
)

// ReadPIDFile returns the pid recorded in path when that process is alive. A missing file gives 0.
// A file naming a dead process is stale: it is removed and 0 is returned. Alive means
// osutil.ProcessAlive: signal 0 is delivered or refused with EPERM (the process belongs to someone
// else), and the process is not a zombie.
func ReadPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s does not hold a pid (%q); remove it if no process is using the instance", path, strings.TrimSpace(string(b)))
	}
	if osutil.ProcessAlive(pid) {
		return pid, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("cannot remove the stale pid file %s: %w", path, err)
	}
	return 0, nil
}
