// Package templates holds the templates shipped inside the limactl binary.
//
// A template is addressed by its name without the .yaml suffix: "default", "debian-12",
// "_images/debian-12" and so on. Names starting with "_" are building blocks meant for `base:`
// and are not listed by `limactl template list`.
package templates

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed *.yaml _images/*.yaml _default/*.yaml experimental/*.yaml
var files embed.FS

// FS returns the embedded template tree. Paths are "NAME.yaml".
func FS() fs.FS { return files }

// Read returns the content of the embedded template NAME (without ".yaml").
func Read(name string) ([]byte, error) {
	return files.ReadFile(path.Clean(name) + ".yaml")
}

// Names lists every embedded template name, building blocks ("_images/...") included, sorted.
func Names() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		names = append(names, strings.TrimSuffix(p, ".yaml"))
		return nil
	})
	sort.Strings(names)
	return names
}
