package instance

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// UnixPathMax is the size of sockaddr_un.sun_path on this host; a socket path must be shorter.
func UnixPathMax() int { return osutil.UnixPathMax(runtime.GOOS) }

// ValidateName checks that name is a valid instance name and that the instance directory it gives
// under $LIMA_HOME leaves room for the longest socket limactl puts there.
func ValidateName(name string) error {
	if err := identifiers.ValidateInstName(name); err != nil {
		return err
	}
	dir, err := dirnames.InstanceDir(name)
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, filenames.LongestSock)
	if limit := UnixPathMax(); len(sock) >= limit {
		return fmt.Errorf("instance name %#q too long: %#q must be less than UNIX_PATH_MAX=%d characters, but is %d; "+
			"use a shorter name or a shorter LIMA_HOME", name, sock, limit, len(sock))
	}
	return nil
}
