package limayaml

import (
	"fmt"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

var (
	baseTemplatesType = reflect.TypeFor[BaseTemplates]()
	locatorType       = reflect.TypeFor[LocatorWithDigest]()
	diskType          = reflect.TypeFor[Disk]()
)

// checker walks a YAML node tree beside the Go type it will decode into. It reports type mismatches
// as errors with line and column, and unknown keys as warnings (Lima ignores them).
type checker struct {
	file     string
	warnings []string
	errs     ValidationErrors
	active   map[*yaml.Node]bool // alias targets being walked, to stop on self-reference
	visits   int                 // nodes walked, to stop alias bombs
}

// maxVisits bounds the nodes walked once aliases are followed; a real lima.yaml has a few hundred.
const maxVisits = 100000

func (c *checker) errorf(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{File: c.file, Line: n.Line, Column: n.Column, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	c.visits++
	if c.visits == maxVisits {
		c.errorf(n, path, "the document expands to too many nodes (aliases?): simplify it")
	}
	if c.visits >= maxVisits {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		if c.active[n.Alias] {
			c.errorf(n, path, "the alias *%s refers to a node that contains it: remove the loop", n.Value)
			return
		}
		if c.active == nil {
			c.active = map[*yaml.Node]bool{}
		}
		c.active[n.Alias] = true
		defer delete(c.active, n.Alias)
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	switch t {
	case baseTemplatesType:
		if n.Kind == yaml.SequenceNode {
			for i, e := range n.Content {
				c.check(e, locatorType, fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		c.check(n, locatorType, path)
		return
	case locatorType:
		if n.Kind == yaml.ScalarNode {
			return
		}
		c.checkStruct(n, reflect.TypeFor[locatorFields](), path, "a string (URL or path) or a mapping with url and digest")
		return
	case diskType:
		if n.Kind == yaml.ScalarNode {
			return
		}
		c.checkStruct(n, reflect.TypeFor[diskFields](), path, "a disk name or a mapping with name, format, fsType, fsArgs")
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.check(n, t.Elem(), path)
	case reflect.Struct:
		c.checkStruct(n, t, path, "a mapping of fields")
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.errorf(n, path, "expected a mapping (key: value), got %s", describe(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				c.errorf(k, path, "a key must be a plain string, got %s", describe(k))
				continue
			}
			if line, dup := seen[k.Value]; dup {
				c.errorf(k, path, "key %q appears twice (first on line %d): keep one", k.Value, line)
				continue
			}
			seen[k.Value] = k.Line
			c.check(v, t.Elem(), join(path, k.Value))
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			c.errorf(n, path, "expected a list, got %s", describe(n))
			return
		}
		if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
			c.errorf(n, path, "expected a list of exactly %d items, got %d", t.Len(), len(n.Content))
			return
		}
		for i, e := range n.Content {
			c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Interface:
	default:
		c.checkScalar(n, t, path)
	}
}

func (c *checker) checkStruct(n *yaml.Node, t reflect.Type, path, want string) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, path, "expected %s, got %s", want, describe(n))
		return
	}
	c.checkFields(n, t, path, map[string]int{})
}

func (c *checker) checkFields(n *yaml.Node, t reflect.Type, path string, seen map[string]int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			c.checkMerge(v, t, path, seen)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.errorf(k, path, "a key must be a plain string, got %s", describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			c.errorf(k, path, "field %#q appears twice (first on line %d): keep one", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fieldByName(t, k.Value)
		if !ok {
			c.warnings = append(c.warnings, fmt.Sprintf("%s:%d: unknown field %q (ignored)", c.file, k.Line, join(path, k.Value)))
			continue
		}
		c.check(v, f.Type, join(path, k.Value))
	}
}

// checkMerge follows a YAML merge key (`<<: *anchor`), whose mappings add fields to this one.
func (c *checker) checkMerge(v *yaml.Node, t reflect.Type, path string, seen map[string]int) {
	c.visits++
	if c.visits >= maxVisits {
		return
	}
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		if c.active[v.Alias] {
			c.errorf(v, path, "the alias *%s refers to a node that contains it: remove the loop", v.Value)
			return
		}
		if c.active == nil {
			c.active = map[*yaml.Node]bool{}
		}
		c.active[v.Alias] = true
		defer delete(c.active, v.Alias)
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		c.checkFields(v, t, path, map[string]int{})
	case yaml.SequenceNode:
		for _, e := range v.Content {
			c.checkMerge(e, t, path, seen)
		}
	default:
		c.errorf(v, path, "a merge key (<<) needs a mapping, got %s", describe(v))
	}
}

// checkScalar decodes n into a fresh value of leaf type t, exactly as the real decode will.
func (c *checker) checkScalar(n *yaml.Node, t reflect.Type, path string) {
	want := "a string"
	switch t.Kind() {
	case reflect.Bool:
		want = "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = fmt.Sprintf("an integer from 0 to %d", uint64(1)<<(t.Bits())-1)
	case reflect.Float32, reflect.Float64:
		want = "a number"
	}
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, path, "expected %s, got %s", want, describe(n))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		c.errorf(n, path, "cannot use %q as %s", n.Value, want)
	}
}
