// Package dirnames resolves the directories limactl keeps its state in. It imports nothing of ours,
// so every package (limayaml included) can use it.
package dirnames

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// DotLima is the default $LIMA_HOME under the user's home directory.
const DotLima = ".lima"

// LimaDir returns $LIMA_HOME, or ~/.lima, with symlinks resolved when it exists.
func LimaDir() (string, error) {
	dir := envknob.LimaHome.Get()
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home directory for $LIMA_HOME; set LIMA_HOME: %w", err)
		}
		dir = filepath.Join(home, DotLima)
	}
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		dir = abs
	}
	if real, ok := resolved.Load(dir); ok {
		return real.(string), nil
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		resolved.Store(dir, real)
		dir = real
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cannot resolve LIMA_HOME %q: %w", dir, err)
	}
	return dir, nil
}

// resolved memoizes EvalSymlinks of an existing LIMA_HOME (an lstat per path component), which
// `limactl list` would otherwise repeat several times per instance.
var resolved sync.Map

// LimaConfigDir returns $LIMA_HOME/_config.
func LimaConfigDir() (string, error) { return sub(filenames.ConfigDir) }

// LimaDisksDir returns $LIMA_HOME/_disks.
func LimaDisksDir() (string, error) { return sub(filenames.DisksDir) }

// LimaTemplatesDir returns $LIMA_HOME/_templates.
func LimaTemplatesDir() (string, error) { return sub(filenames.TemplatesDir) }

// InstanceDir returns $LIMA_HOME/NAME. It does not validate NAME.
func InstanceDir(name string) (string, error) { return sub(name) }

func sub(name string) (string, error) {
	dir, err := LimaDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}
