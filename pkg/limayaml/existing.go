package limayaml

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/limactl/limactl/pkg/store/filenames"
)

// Instances created by old Lima versions keep the defaults they were created with. The instance
// directory tells: it exists once one of these files does, and lima-version records the creator.

// isExistingInstanceDir reports whether dir holds an instance that has been started or prepared
// (lima.yaml alone is written before that, so it does not count).
func isExistingInstanceDir(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range []string{filenames.HostAgentStdout, filenames.HostAgentStderr, filenames.VZIdentifier,
		filenames.BaseDisk, filenames.DiffDisk, filenames.CIDataISO} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// createdBefore reports whether the instance in dir exists and was created by a Lima (or limactl)
// older than version. An existing instance without lima-version predates Lima 0.20.
func createdBefore(dir, version string) bool {
	if !isExistingInstanceDir(dir) {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, filenames.LimaVersion))
	if err != nil {
		return true
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
	if !isSemver(v) || strings.HasPrefix(v, "0.0.0-") {
		return false // a development build (no release tag in its history): treat it as current
	}
	// `git describe` counts commits after a release: "2.0.0-3-gabc1234" comes after 2.0.0, as in Lima.
	if m := describeRE().FindStringSubmatch(v); m != nil {
		return compareSemver(m[1], version) < 0
	}
	return compareSemver(v, version) < 0
}

var describeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+\.\d+\.\d+)-\d+-g[0-9a-f]+`)
})
