package limatmpl

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// parseDoc parses a template into a document node whose content is one mapping. An empty
// document becomes an empty mapping.
func parseDoc(b []byte, what string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("template %s is not valid YAML: %w", what, err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, HeadComment: doc.HeadComment, FootComment: doc.FootComment}
	}
	if len(doc.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	root := doc.Content[0]
	if isNull(root) {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment, LineComment: root.LineComment, FootComment: root.FootComment}
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template %s must be a YAML mapping (key: value lines), found a %s", what, kindName(root))
	}
	return &doc, nil
}

// encodeDoc renders a document in Lima's style: two-space indentation, list items not indented
// under their key.
func encodeDoc(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return formatYAML(buf.Bytes())
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "scalar " + n.ShortTag()
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// mapIndex returns the index of key's key node in mapping m, or -1.
func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// mapGet returns the value of key in mapping m, or nil.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	if i := mapIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

// mapDelete removes key from mapping m. A head comment on the key moves to the next key, since
// it often is the document's own comment.
func mapDelete(m *yaml.Node, key string) {
	i := mapIndex(m, key)
	if i < 0 {
		return
	}
	if c := m.Content[i].HeadComment; c != "" && i+2 < len(m.Content) {
		next := m.Content[i+2]
		if next.HeadComment != "" {
			c += "\n\n" + next.HeadComment
		}
		next.HeadComment = c
	}
	m.Content = append(m.Content[:i], m.Content[i+2:]...)
}

// mapSet replaces key's value, or appends the pair.
func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	if i := mapIndex(m, key); i >= 0 {
		m.Content[i+1] = v
		return
	}
	m.Content = append(m.Content, strNode(key), v)
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if bytes.ContainsRune([]byte(s), '\n') {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// scalarString returns a scalar's value; non-scalars and nulls give "".
func scalarString(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = deepCopy(x)
		}
	}
	return &c
}

// locatorNode reads a `base:` or `file:` entry: a string, or a mapping {url, digest}.
func locatorNode(n *yaml.Node) (url string, hasDigest bool, err error) {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		return n.Value, false, nil
	case n.Kind == yaml.MappingNode:
		url = scalarString(mapGet(n, "url"))
		if url == "" {
			return "", false, errors.New("locator object has no url")
		}
		return url, !isNull(mapGet(n, "digest")), nil
	}
	return "", false, fmt.Errorf("locator must be a string or {url, digest}, found a %s", kindName(n))
}

// setLocator rewrites the URL of a locator entry in place.
func setLocator(n *yaml.Node, url string) {
	if n.Kind == yaml.MappingNode {
		mapSet(n, "url", strNode(url))
		return
	}
	n.Value, n.Tag, n.Style = url, "!!str", 0
}
