package limatmpl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/limactl/limactl/templates"
)

// ListTemplates lists the names template:NAME can take, from the search path and the embedded
// templates, sorted and without duplicates. Building blocks (names with a path element starting
// with "_") are left out unless all is set.
func ListTemplates(all bool) ([]string, error) {
	seen := map[string]bool{}
	add := func(name string) {
		if !all {
			for _, elem := range strings.Split(name, "/") {
				if strings.HasPrefix(elem, "_") || strings.HasPrefix(elem, ".") {
					return
				}
			}
		}
		seen[name] = true
	}
	dirs, err := TemplateSearchPath()
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
					return nil
				}
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			add(strings.TrimSuffix(filepath.ToSlash(rel), ".yaml"))
			return nil
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	for _, name := range templates.Names() {
		add(name)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
