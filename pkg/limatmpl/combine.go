package limatmpl

import (
	"gopkg.in/yaml.v3"
)

// wildcardKey is the list-entry key whose fields apply to every other entry.
const wildcardKey = "*"

// listCombiner says how the entries of one top-level list are matched.
type listCombiner struct {
	list string
	// key returns an entry's key; "" means the entry is never combined.
	key func(entry *yaml.Node) string
	// keyFields are not copied from a wildcard entry.
	keyFields []string
	// exclusive groups fields of which an entry may set only one: a wildcard's fields from the
	// group are copied only to entries that set none of them.
	exclusive []string
}

var combiners = []listCombiner{
	{
		list:      "additionalDisks",
		key:       func(e *yaml.Node) string { return scalarString(mapGet(e, "name")) },
		keyFields: []string{"name"},
	},
	{
		list: "mounts",
		key: func(e *yaml.Node) string {
			if mp := scalarString(mapGet(e, "mountPoint")); mp != "" {
				return mp
			}
			return scalarString(mapGet(e, "location"))
		},
		keyFields: []string{"location", "mountPoint"},
	},
	{
		list:      "networks",
		key:       func(e *yaml.Node) string { return scalarString(mapGet(e, "interface")) },
		keyFields: []string{"interface"},
		exclusive: []string{"lima", "socket", "vzNAT"},
	},
}

// combineListEntries merges list entries that share a key (see Embed). It runs once, after all
// bases are merged, so a wildcard in a base reaches the entries of the templates above it.
func combineListEntries(root *yaml.Node) {
	if disks := mapGet(root, "additionalDisks"); disks != nil && disks.Kind == yaml.SequenceNode {
		for i, d := range disks.Content {
			if d.Kind == yaml.ScalarNode && !isNull(d) {
				m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: d.HeadComment, LineComment: d.LineComment, FootComment: d.FootComment}
				d.HeadComment, d.LineComment, d.FootComment = "", "", ""
				m.Content = []*yaml.Node{strNode("name"), d}
				disks.Content[i] = m
			}
		}
	}
	for _, c := range combiners {
		seq := mapGet(root, c.list)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		c.combine(seq)
	}
}

func (c listCombiner) combine(seq *yaml.Node) {
	var out, wildcards []*yaml.Node
	byKey := map[string]*yaml.Node{}
	for _, e := range seq.Content {
		if e.Kind != yaml.MappingNode {
			out = append(out, e)
			continue
		}
		k := c.key(e)
		switch {
		case k == wildcardKey:
			wildcards = append(wildcards, e)
			continue
		case k == "":
		case byKey[k] != nil:
			fillMissing(byKey[k], e, nil, c.exclusive)
			continue
		default:
			byKey[k] = e
		}
		out = append(out, e)
	}
	for _, w := range wildcards {
		for _, e := range out {
			if e.Kind == yaml.MappingNode {
				fillMissing(e, w, c.keyFields, c.exclusive)
			}
		}
	}
	seq.Content = out
}

// fillMissing copies into dst the fields of src that dst lacks (or has as null), recursing
// into mappings present in both. Fields in skip are never copied.
func fillMissing(dst, src *yaml.Node, skip, exclusive []string) {
	hasExclusive := false
	for _, f := range exclusive {
		if !isNull(mapGet(dst, f)) {
			hasExclusive = true
		}
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		sk, sv := src.Content[i], src.Content[i+1]
		if contains(skip, sk.Value) || (hasExclusive && contains(exclusive, sk.Value)) {
			continue
		}
		di := mapIndex(dst, sk.Value)
		switch {
		case di < 0:
			dst.Content = append(dst.Content, deepCopy(sk), deepCopy(sv))
		case isNull(dst.Content[di+1]):
			dst.Content[di+1] = deepCopy(sv)
		case dst.Content[di+1].Kind == yaml.MappingNode && sv.Kind == yaml.MappingNode:
			fillMissing(dst.Content[di+1], sv, nil, nil)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
