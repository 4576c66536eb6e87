package limatmpl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/templates"
)

// TemplateFile returns the path of a file holding template NAME as template:NAME reads it: the
// file in the search path when there is one, else a copy of the embedded template written
// under extractDir (rewritten only when its content differs), so that `limactl info` can give
// every template a location a script can open, as Lima's does.
func TemplateFile(name, extractDir string) (string, error) {
	if err := validateTemplateName(name); err != nil {
		return "", err
	}
	dirs, err := TemplateSearchPath()
	if err != nil {
		return "", err
	}
	file := filepath.FromSlash(name + ".yaml")
	for _, dir := range dirs {
		p := filepath.Join(dir, file)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	b, err := templates.Read(name)
	if err != nil {
		return "", fmt.Errorf("template %q not found: %w", name, err)
	}
	p := filepath.Join(extractDir, file)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
		return "", err
	}
	return p, nil
}
