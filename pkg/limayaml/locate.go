package limayaml

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Source is one YAML text a config was built from, kept as a parsed tree so field paths can be
// found in it.
type Source struct {
	File  string // the name to show the user
	Layer string // "" for the user's document, else filenames.Default or filenames.Override
	root  *yaml.Node
}

// NewSource parses data for Locate. A text that does not parse gives a Source that finds nothing.
func NewSource(file, layer string, data []byte) *Source {
	s := &Source{File: file, Layer: layer}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
		s.root = deref(doc.Content[0])
	}
	return s
}

// ConfigLayerSources returns the $LIMA_HOME/_config/default.yaml and override.yaml that exist,
// in that order. Files that cannot be read are left out.
func ConfigLayerSources() []*Source {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return nil
	}
	var out []*Source
	for _, name := range []string{filenames.Default, filenames.Override} {
		p := filepath.Join(dir, name)
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, NewSource(p, name, b))
		}
	}
	return out
}

// Locate fills in where each error's field was written. Errors that already have a line (from
// Unmarshal) keep it, except that errors of the user's document are renamed to file and moved to
// where the field sits in data (data may differ from what was loaded: an embedded template, for
// one). Other errors are looked up by field path, layer by layer as FillDefault merges them:
//   - a scalar or map field set in override.yaml came from there; else from data; else from
//     default.yaml;
//   - an element of a list is counted off the layers in the order FillDefault concatenates them;
//   - portForwards' hostPortRange and guestPortRange are found as hostPort and guestPort when the
//     user wrote those;
//   - a field written nowhere points at its nearest parent that data has, or at no line at all.
//
// The layers are read from $LIMA_HOME/_config. data may be nil (then only the file is named); with
// an empty file, errors of the user's document keep the file they were given.
func Locate(errs []*FieldError, data []byte, file string) {
	user := NewSource(file, "", data)
	layers := ConfigLayerSources()
	for _, fe := range errs {
		locateOne(fe, user, layers)
	}
}

func locateOne(fe *FieldError, user *Source, layers []*Source) {
	if fe.Layer != "" {
		return // found in a _config layer by Unmarshal: already named and placed
	}
	if fe.Line > 0 {
		if user.File != "" {
			fe.File = user.File
		}
		if fe.Field != "" {
			if n, exact := user.findAt(parsePath(fe.Field), true); exact {
				fe.Line, fe.Column = n.Line, n.Column
			}
		}
		return
	}
	var def, over *Source
	for _, l := range layers {
		switch l.Layer {
		case filenames.Default:
			def = l
		case filenames.Override:
			over = l
		}
	}
	path := parsePath(fe.Field)
	src, local := pickLayer(path, user, def, over)
	n, exact := src.find(local)
	if !exact && src != user {
		// Not where the counting says: try the user's document as written.
		if un, uexact := user.find(path); uexact {
			src, n = user, un
		}
	}
	if src.File != "" {
		fe.File = src.File
	}
	fe.Layer = src.Layer
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
}

// listsLowFirst are the lists FillDefault walks default, user, override (merging entries with the
// same key); every other list is override + user + default.
var listsLowFirst = map[string]bool{"mounts": true, "networks": true}

// pickLayer chooses the source a field's value came from, and the path to look up in it.
func pickLayer(path []pathStep, user, def, over *Source) (*Source, []pathStep) {
	if len(path) == 0 {
		return user, path
	}
	if path[0].index < 0 {
		// A scalar or a map: override wins, then the user's document, then default.yaml.
		for _, s := range []*Source{over, user, def} {
			if s == nil {
				continue
			}
			if _, exact := s.find(path); exact {
				return s, path
			}
		}
		return user, path
	}
	order := []*Source{over, user, def}
	if listsLowFirst[path[0].key] {
		order = []*Source{def, user, over}
	}
	i := path[0].index
	for _, s := range order {
		if s == nil {
			continue
		}
		n := s.listLen(path[0].key)
		if i < n {
			local := append([]pathStep{{key: path[0].key, index: i}}, path[1:]...)
			return s, local
		}
		i -= n
	}
	return user, path
}

func (s *Source) listLen(key string) int {
	if s.root == nil {
		return 0
	}
	v := mapValue(s.root, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return 0
	}
	return len(v.Content)
}

// pathStep is one `key` or `key[i]` of a field path; an index alone (`[1]` after another index)
// has an empty key. index is -1 when there is none.
type pathStep struct {
	key   string
	index int
}

// parsePath splits "portForwards[0].hostPortRange[1]" into its steps.
func parsePath(field string) []pathStep {
	var out []pathStep
	if field == "" {
		return nil
	}
	for _, part := range strings.Split(field, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if rest == "" {
			out = append(out, pathStep{key: key, index: -1})
			continue
		}
		first := true
		for _, idx := range strings.Split(rest, "[") {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil {
				i = -1
			}
			k := ""
			if first {
				k = key
				first = false
			}
			out = append(out, pathStep{key: k, index: i})
		}
	}
	return out
}

// fieldAliases are the fields a user may write in place of another: a single port instead of a
// range of one.
var fieldAliases = map[string]string{"hostPortRange": "hostPort", "guestPortRange": "guestPort"}

// find walks path from the document root. It returns the node of the field and true, or the
// deepest node on the way that exists and false (nil when not even the first step exists). A
// scalar value is placed at its value; a list or mapping at its key, which is where the user looks.
func (s *Source) find(path []pathStep) (*yaml.Node, bool) { return s.findAt(path, false) }

// findAt is find; with atValue, every field is placed at its value (as Unmarshal places type
// errors).
func (s *Source) findAt(path []pathStep, atValue bool) (*yaml.Node, bool) {
	if s == nil || s.root == nil || s.root.Kind != yaml.MappingNode {
		return nil, false
	}
	cur := s.root
	var found *yaml.Node
	for _, st := range path {
		if st.key != "" {
			if cur.Kind != yaml.MappingNode {
				return found, false
			}
			k, v := mapEntry(cur, st.key)
			if v == nil {
				if alias, ok := fieldAliases[st.key]; ok {
					if ak, av := mapEntry(cur, alias); av != nil {
						return placeOf(ak, av, atValue), true
					}
				}
				return found, false
			}
			cur, found = v, placeOf(k, v, atValue)
		}
		if st.index >= 0 {
			if cur.Kind != yaml.SequenceNode || st.index >= len(cur.Content) {
				return found, false
			}
			cur = deref(cur.Content[st.index])
			found = cur
		}
	}
	return found, found != nil
}

func placeOf(k, v *yaml.Node, atValue bool) *yaml.Node {
	if atValue || v.Kind == yaml.ScalarNode {
		return v
	}
	return k
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mapEntry(n, key)
	return v
}

// mapEntry returns the key and (dereferenced) value nodes of key in mapping n.
func mapEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], deref(n.Content[i+1])
		}
	}
	return nil, nil
}
