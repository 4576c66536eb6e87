package limatmpl

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// inlineScripts replaces the `file:` of every provision and probe entry of root (the template
// at locator) by the file's content: `script:` for most modes, `content:` for data provisioning
// and `expression:` for yq provisioning. With embedAll off, template: files stay references.
func (e *embedder) inlineScripts(root *yaml.Node, locator string) error {
	for _, list := range []string{"provision", "probes"} {
		seq := mapGet(root, list)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for i, entry := range seq.Content {
			if entry.Kind != yaml.MappingNode {
				continue
			}
			fi := mapIndex(entry, "file")
			if fi < 0 || isNull(entry.Content[fi+1]) {
				continue
			}
			where := fmt.Sprintf("%s[%d] of %s", list, i, describe(locator))
			loc, hasDigest, err := locatorNode(entry.Content[fi+1])
			if err != nil {
				return fmt.Errorf("%s: file: %w", where, err)
			}
			if hasDigest {
				return fmt.Errorf("%s: file %q has a digest: digests on files are not yet supported, remove the digest", where, loc)
			}
			abs, err := resolveLocator(loc, locator)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if isTmpl, _ := SeemsTemplateURL(abs); isTmpl && !e.embedAll {
				setLocator(entry.Content[fi+1], abs)
				continue
			}
			field := "script"
			if list == "provision" {
				switch scalarString(mapGet(entry, "mode")) {
				case "data":
					field = "content"
				case "yq":
					field = "expression"
				}
			}
			if !isNull(mapGet(entry, field)) {
				return fmt.Errorf("%s sets both file and %s: keep only one", where, field)
			}
			b, err := readLocator(e.ctx, abs, true)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			mapDelete(entry, field)
			fi = mapIndex(entry, "file")
			entry.Content[fi].Value = field
			entry.Content[fi+1] = strNode(string(b))
		}
	}
	return nil
}
