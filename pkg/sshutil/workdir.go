package sshutil

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Mount is a host directory shared with the guest, as far as the shell's working directory cares.
type Mount struct {
	Location   string // host path (a leading ~ is expanded)
	MountPoint string // guest path; "" means the same as Location
}

// GuestWorkdir maps the host directory hostDir to its guest path through mounts. It reports false
// when hostDir is not inside any mount; the innermost mount wins.
func GuestWorkdir(hostDir string, mounts []Mount) (string, bool) {
	if hostDir == "" {
		return "", false
	}
	candidates := []string{filepath.Clean(hostDir)}
	if real, err := filepath.EvalSymlinks(hostDir); err == nil && real != candidates[0] {
		candidates = append(candidates, real)
	}
	best, bestLen := "", -1
	for _, m := range mounts {
		loc := expandTilde(m.Location)
		if loc == "" {
			continue
		}
		mp := m.MountPoint
		if mp == "" {
			mp = filepath.ToSlash(loc)
		}
		locs := []string{filepath.Clean(loc)}
		if real, err := filepath.EvalSymlinks(loc); err == nil && real != locs[0] {
			locs = append(locs, real)
		}
		for _, l := range locs {
			for _, c := range candidates {
				rel, ok := within(l, c)
				if ok && len(l) > bestLen {
					best, bestLen = path.Join(mp, rel), len(l)
				}
			}
		}
	}
	return best, bestLen >= 0
}

// within reports whether p is base or below it, and p's path relative to base in slash form.
func within(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func expandTilde(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~\`) {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, p[1:])
}
