// Package usrlocal finds what is installed next to the limactl binary: <prefix>/share/lima (guest
// agents, templates) and <prefix>/libexec/lima (plugins, external drivers), <prefix> being the
// parent of the directory limactl is in, and the limactl-<name> plugins.
package usrlocal

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// SelfDirs lists the directories this binary is in: the one it was invoked through (os.Args[0],
// a symlink kept as is, as Homebrew installs it) and the one it really is in, without duplicates.
func SelfDirs() []string {
	var dirs []string
	if len(os.Args) > 0 && os.Args[0] != "" {
		if p, err := exec.LookPath(os.Args[0]); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				dirs = append(dirs, filepath.Dir(abs))
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if d := filepath.Dir(exe); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// nonEmptyDirs returns, for each self dir, <prefix>/<rel> for every rel that is a non-empty directory.
func nonEmptyDirs(rels ...string) []string {
	dirs := []string{}
	for _, self := range SelfDirs() {
		prefix := filepath.Dir(self)
		for _, rel := range rels {
			d := filepath.Join(prefix, rel)
			if ents, err := os.ReadDir(d); err == nil && len(ents) > 0 && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// ShareLima lists the existing, non-empty <prefix>/share/lima directories (never nil).
func ShareLima() []string { return nonEmptyDirs(filepath.Join("share", "lima")) }

// LibexecLima lists the existing, non-empty <prefix>/libexec/lima directories, and
// <prefix>/lib/lima as Homebrew names it (never nil).
func LibexecLima() []string {
	return nonEmptyDirs(filepath.Join("libexec", "lima"), filepath.Join("lib", "lima"))
}

// Plugin is one limactl-<name> executable, `limactl <name>` for the user.
type Plugin struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Description string `json:"description,omitempty"`
}

// PluginDirs lists where plugins are looked for, in order: the self dirs, then $PATH, then the
// libexec dirs (as Lima's).
func PluginDirs() []string {
	dirs := SelfDirs()
	dirs = append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
	return append(dirs, LibexecLima()...)
}

// PluginPath is the $PATH a plugin runs with: PluginDirs joined, so a plugin finds this limactl
// and the other plugins first (as Lima sets it).
func PluginPath() string {
	var dirs []string
	for _, d := range PluginDirs() {
		if d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, string(filepath.ListSeparator))
}

// FindPlugin returns the plugin called name (limactl-<name>), or nil.
func FindPlugin(name string) *Plugin {
	for _, p := range Plugins() {
		if p.Name == name {
			return &p
		}
	}
	return nil
}

// Plugins finds the limactl-<name> executables in PluginDirs; the first of a name wins. Sorted by
// name, never nil.
func Plugins() []Plugin {
	dirs := PluginDirs()
	seen := map[string]bool{}
	plugins := []Plugin{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), "limactl-")
			if runtime.GOOS == "windows" {
				name = strings.TrimSuffix(name, filepath.Ext(name))
			}
			if !ok || name == "" || e.IsDir() || seen[name] {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if !isExecutable(p) {
				continue
			}
			seen[name] = true
			plugins = append(plugins, Plugin{Name: name, Path: p, Description: description(p)})
		}
	}
	slices.SortFunc(plugins, func(a, b Plugin) int { return strings.Compare(a.Name, b.Name) })
	return plugins
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	if runtime.GOOS == "windows" {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".exe", ".bat", ".cmd", ".com":
			return true
		}
		return false
	}
	return st.Mode()&0o111 != 0
}

var descRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<limactl-desc>(.*?)</limactl-desc>`)
})

// description is the <limactl-desc>...</limactl-desc> text of a script plugin (a file starting
// with #!), or "".
func description(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, _ := f.Read(buf)
	b := buf[:n]
	if !strings.HasPrefix(string(b), "#!") {
		return ""
	}
	if m := descRE().FindSubmatch(b); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return ""
}
