package limayaml

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Lima accepts several spellings for a few fields. The types below read every spelling and write
// the shortest one that keeps the meaning.

// UnmarshalYAML reads `base:` as one string, a list of strings, or a list of {url, digest}
// (strings and objects may be mixed).
func (b *BaseTemplates) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode, yaml.MappingNode:
		var l LocatorWithDigest
		if err := n.Decode(&l); err != nil {
			return err
		}
		*b = BaseTemplates{l}
		return nil
	case yaml.SequenceNode:
		var list []LocatorWithDigest
		if err := n.Decode(&list); err != nil {
			return err
		}
		*b = list
		return nil
	}
	return fmt.Errorf("line %d: base must be a string or a list", n.Line)
}

// MarshalYAML writes a single digest-less locator as a plain string.
func (b BaseTemplates) MarshalYAML() (any, error) {
	if len(b) == 1 && b[0].Digest == nil {
		return b[0].URL, nil
	}
	return []LocatorWithDigest(b), nil
}

// locatorFields has the fields of LocatorWithDigest without its methods, to decode the object form.
type locatorFields LocatorWithDigest

// UnmarshalYAML reads a bare URL string or {url, digest}.
func (l *LocatorWithDigest) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = LocatorWithDigest{URL: n.Value}
		return nil
	}
	var f locatorFields
	if err := n.Decode(&f); err != nil {
		return err
	}
	*l = LocatorWithDigest(f)
	return nil
}

// MarshalYAML writes a digest-less locator as a plain string.
func (l LocatorWithDigest) MarshalYAML() (any, error) {
	if l.Digest == nil {
		return l.URL, nil
	}
	return locatorFields(l), nil
}

type diskFields Disk

// UnmarshalYAML reads an additionalDisks entry as a bare name or an object.
func (d *Disk) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*d = Disk{Name: n.Value}
		return nil
	}
	var f diskFields
	if err := n.Decode(&f); err != nil {
		return err
	}
	*d = Disk(f)
	return nil
}

// MarshalYAML writes a disk that has only a name as that name.
func (d Disk) MarshalYAML() (any, error) {
	if d.Format == nil && d.FSType == nil && len(d.FSArgs) == 0 {
		return d.Name, nil
	}
	return diskFields(d), nil
}
