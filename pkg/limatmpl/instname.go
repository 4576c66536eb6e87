package limatmpl

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/identifiers"
)

// InstNameFromYAMLPath derives an instance name from a template path: the lower-cased base
// name without its .yaml/.yml suffix ("/x/Foo.yaml" -> "foo"). It fails when the result is not a
// valid instance name.
func InstNameFromYAMLPath(yamlPath string) (string, error) {
	base := filepath.Base(path.Base(filepath.ToSlash(yamlPath)))
	s := strings.ToLower(base)
	s = strings.TrimSuffix(s, ".yaml")
	s = strings.TrimSuffix(s, ".yml")
	if err := identifiers.ValidateInstName(s); err != nil {
		return "", fmt.Errorf("cannot derive an instance name from %q (pass one with --name): %w", yamlPath, err)
	}
	return s, nil
}

// InstNameFromURL derives an instance name from the last path element of a URL
// ("https://example.com/t/alpine.yaml" -> "alpine", "template:debian-12" -> "debian-12").
func InstNameFromURL(urlStr string) (string, error) {
	u, err := url.Parse(urlStr)
	if err != nil {
		return "", fmt.Errorf("cannot parse URL %q: %w", urlStr, err)
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return "", fmt.Errorf("cannot derive an instance name from %q, it has no file name (pass one with --name)", urlStr)
	}
	return InstNameFromYAMLPath(path.Base(p))
}
