package limatmpl

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// hasScheme reports whether locator starts with a URL scheme. One-letter schemes are Windows
// drive letters, not schemes.
func hasScheme(locator string) bool {
	if strings.HasPrefix(locator, "template:") {
		return true
	}
	u, err := url.Parse(locator)
	return err == nil && len(u.Scheme) > 1
}

// absLocator returns the canonical form of a template's own locator: local paths become
// absolute, everything else is kept.
func absLocator(locator string) (string, error) {
	if locator == "" || locator == "-" || hasScheme(locator) {
		return locator, nil
	}
	p, err := expandTilde(locator)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// resolveLocator resolves a `base:` or `file:` locator found in the template at parent:
// URLs and absolute paths are kept, relative ones are taken relative to the parent's own
// location (its directory, its URL, or its template:DIR).
func resolveLocator(locator, parent string) (string, error) {
	if locator == "" {
		return "", fmt.Errorf("empty locator in %s", describe(parent))
	}
	if hasScheme(locator) {
		return locator, nil
	}
	if locator == "~" || strings.HasPrefix(locator, "~/") {
		return expandTilde(locator)
	}
	if filepath.IsAbs(locator) || path.IsAbs(locator) {
		return filepath.Clean(locator), nil
	}
	switch parent {
	case "-":
		return "", fmt.Errorf("relative locator %q cannot be used in a template read from stdin: use an absolute path or a URL", locator)
	case "":
		return filepath.Abs(locator)
	}
	if ok, name := SeemsTemplateURL(parent); ok {
		joined := path.Join(path.Dir(name), filepath.ToSlash(locator))
		if err := validateTemplateName(joined); err != nil {
			return "", fmt.Errorf("relative locator %q in %s leaves the template directory: %w", locator, parent, err)
		}
		return "template:" + joined, nil
	}
	if hasScheme(parent) {
		base, err := url.Parse(parent)
		if err != nil {
			return "", fmt.Errorf("cannot parse %q: %w", parent, err)
		}
		ref, err := url.Parse(filepath.ToSlash(locator))
		if err != nil {
			return "", fmt.Errorf("cannot parse locator %q in %s: %w", locator, parent, err)
		}
		return base.ResolveReference(ref).String(), nil
	}
	abs, err := absLocator(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(abs), locator), nil
}

func describe(locator string) string {
	switch locator {
	case "":
		return "the template"
	case "-":
		return "the template from stdin"
	}
	return fmt.Sprintf("%q", locator)
}
