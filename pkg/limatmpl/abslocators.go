package limatmpl

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// UseAbsLocators rewrites the relative `base:` and `file:` locators of the template into
// absolute ones (paths, URLs or template: names), resolved against the template's own locator,
// so the template keeps working when copied elsewhere (`limactl template copy`).
func (tmpl *Template) UseAbsLocators() error {
	doc, err := parseDoc(tmpl.Bytes, describe(tmpl.Locator))
	if err != nil {
		return err
	}
	root := doc.Content[0]
	changed := false
	rewrite := func(n *yaml.Node, where string) error {
		loc, _, err := locatorNode(n)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		abs, err := resolveLocator(loc, tmpl.Locator)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if abs != loc {
			setLocator(n, abs)
			changed = true
		}
		return nil
	}
	if i := mapIndex(root, "base"); i >= 0 && !isNull(root.Content[i+1]) {
		v := root.Content[i+1]
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, n := range items {
			if err := rewrite(n, "base"); err != nil {
				return err
			}
		}
	}
	for _, list := range []string{"provision", "probes"} {
		seq := mapGet(root, list)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for i, entry := range seq.Content {
			if f := mapGet(entry, "file"); f != nil && !isNull(f) {
				if err := rewrite(f, fmt.Sprintf("%s[%d].file", list, i)); err != nil {
					return err
				}
			}
		}
	}
	if !changed {
		return nil
	}
	b, err := encodeDoc(doc)
	if err != nil {
		return err
	}
	tmpl.Bytes = b
	return nil
}
