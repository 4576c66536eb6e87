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
		return fmt.Errorf("instance name %q is too long for this LIMA_HOME: the socket path %q would be %d characters, "+
			"and Unix socket paths must be shorter than %d on %s; use a shorter name or a shorter LIMA_HOME",
			name, sock, len(sock), limit, runtime.GOOS)
	}
	return nil
}
