package limayaml

import (
	"reflect"
	"strings"
	"sync"
)

// yamlField is one key a struct accepts in YAML, with inline (embedded) structs flattened.
type yamlField struct {
	Name string
	Type reflect.Type
	Flow bool
}

var fieldCache sync.Map // reflect.Type -> []yamlField

// yamlFields lists the YAML keys of struct type t in declaration order.
func yamlFields(t reflect.Type) []yamlField {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]yamlField)
	}
	var out []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		name := parts[0]
		inline, flow := false, false
		for _, p := range parts[1:] {
			switch p {
			case "inline":
				inline = true
			case "flow":
				flow = true
			}
		}
		if inline {
			out = append(out, yamlFields(f.Type)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, yamlField{Name: name, Type: f.Type, Flow: flow})
	}
	fieldCache.Store(t, out)
	return out
}

func fieldByName(t reflect.Type, name string) (yamlField, bool) {
	for _, f := range yamlFields(t) {
		if f.Name == name {
			return f, true
		}
	}
	return yamlField{}, false
}
