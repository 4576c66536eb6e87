package limayaml

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ValidateJSONSchema checks the YAML document doc against schema, a JSON schema as JSONSchema
// returns it. It implements the part of JSON Schema (draft 2020-12) that JSONSchema generates:
// type, enum, properties, additionalProperties, required, items, minItems, maxItems, minimum,
// anyOf and $ref into $defs; any other keyword in schema is an error, so a generator change that
// needs more is caught by the tests, not skipped. (A full validator library compiled every draft's
// meta-schema at start-up, in every limactl process: about 2 MB and several ms per process.)
func ValidateJSONSchema(schema, doc []byte) error {
	var root any
	if err := json.Unmarshal(schema, &root); err != nil {
		return fmt.Errorf("cannot read the schema: %w", err)
	}
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return err
	}
	// Through JSON, so that the validator sees JSON's types (float64 numbers, string keys).
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var inst any
	if err := json.Unmarshal(j, &inst); err != nil {
		return err
	}
	s := schemaValidator{root: root}
	return errors.Join(s.validate(root, inst, "", 0)...)
}

type schemaValidator struct{ root any }

// maxSchemaDepth bounds $ref chains that consume no part of the document.
const maxSchemaDepth = 64

// schemaAnnotations are keywords that do not constrain a value.
var schemaAnnotations = []string{"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "deprecated"}

func (s schemaValidator) validate(schema, v any, path string, depth int) []error {
	at := "at '" + path + "'" // the library Lima uses words its errors so; scripts may match them
	if depth > maxSchemaDepth {
		return []error{fmt.Errorf("%s: schema references nest too deep", at)}
	}
	switch sc := schema.(type) {
	case bool:
		if !sc {
			return []error{fmt.Errorf("%s: not allowed", at)}
		}
		return nil
	case map[string]any:
		return s.validateObject(sc, v, path, at, depth)
	default:
		return []error{fmt.Errorf("%s: the schema is neither an object nor a boolean", at)}
	}
}

func (s schemaValidator) validateObject(sc map[string]any, v any, path, at string, depth int) []error {
	var errs []error
	keys := make([]string, 0, len(sc))
	for k := range sc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv := sc[k]
		switch k {
		case "$ref":
			ref, _ := kv.(string)
			target, err := s.resolve(ref)
			if err != nil {
				return []error{fmt.Errorf("%s: %w", at, err)}
			}
			errs = append(errs, s.validate(target, v, path, depth+1)...)
		case "type":
			if err := checkType(kv, v); err != nil {
				return []error{fmt.Errorf("%s: %w", at, err)}
			}
		case "enum":
			list, _ := kv.([]any)
			if !slices.ContainsFunc(list, func(e any) bool { return reflect.DeepEqual(e, v) }) {
				errs = append(errs, fmt.Errorf("%s: value must be one of %s", at, quotedList(list)))
			}
		case "properties", "additionalProperties", "required":
			// Object keywords: together below.
		case "items", "minItems", "maxItems":
			// Array keywords: together below.
		case "minimum":
			min, _ := kv.(float64)
			if n, ok := v.(float64); ok && n < min {
				errs = append(errs, fmt.Errorf("%s: minimum: got %v, want %v", at, n, min))
			}
		case "anyOf":
			alts, _ := kv.([]any)
			var altErrs []string
			matched := false
			for _, alt := range alts {
				e := s.validate(alt, v, path, depth+1)
				if len(e) == 0 {
					matched = true
					break
				}
				altErrs = append(altErrs, errors.Join(e...).Error())
			}
			if !matched {
				errs = append(errs, fmt.Errorf("%s: anyOf failed: %s", at, strings.Join(altErrs, "; ")))
			}
		default:
			if !slices.Contains(schemaAnnotations, k) {
				return []error{fmt.Errorf("%s: the schema uses %q, which this validator does not implement", at, k)}
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		errs = append(errs, s.validateProperties(sc, obj, path, at, depth)...)
	}
	if arr, ok := v.([]any); ok {
		errs = append(errs, s.validateItems(sc, arr, path, at, depth)...)
	}
	return errs
}

func (s schemaValidator) validateProperties(sc map[string]any, obj map[string]any, path, at string, depth int) []error {
	var errs []error
	props, _ := sc["properties"].(map[string]any)
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	var extra []any
	for _, k := range names {
		child := path + "/" + k
		if ps, ok := props[k]; ok {
			errs = append(errs, s.validate(ps, obj[k], child, depth+1)...)
			continue
		}
		if ap, ok := sc["additionalProperties"]; ok {
			if b, isBool := ap.(bool); isBool && !b {
				extra = append(extra, k)
				continue
			}
			errs = append(errs, s.validate(ap, obj[k], child, depth+1)...)
		}
	}
	if len(extra) > 0 {
		errs = append(errs, fmt.Errorf("%s: additional properties %s not allowed", at, quotedList(extra)))
	}
	if req, ok := sc["required"].([]any); ok {
		for _, r := range req {
			if name, _ := r.(string); name != "" {
				if _, ok := obj[name]; !ok {
					errs = append(errs, fmt.Errorf("%s: missing property '%s'", at, name))
				}
			}
		}
	}
	return errs
}

func (s schemaValidator) validateItems(sc map[string]any, arr []any, path, at string, depth int) []error {
	var errs []error
	if n, ok := sc["minItems"].(float64); ok && float64(len(arr)) < n {
		errs = append(errs, fmt.Errorf("%s: minItems: got %d, want %v", at, len(arr), n))
	}
	if n, ok := sc["maxItems"].(float64); ok && float64(len(arr)) > n {
		errs = append(errs, fmt.Errorf("%s: maxItems: got %d, want %v", at, len(arr), n))
	}
	if items, ok := sc["items"]; ok {
		for i, e := range arr {
			errs = append(errs, s.validate(items, e, fmt.Sprintf("%s/%d", path, i), depth+1)...)
		}
	}
	return errs
}

// resolve finds a "#/$defs/NAME" (or "#") reference in the root schema.
func (s schemaValidator) resolve(ref string) (any, error) {
	if ref == "#" {
		return s.root, nil
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil, fmt.Errorf("unsupported reference %q", ref)
	}
	root, _ := s.root.(map[string]any)
	defs, _ := root["$defs"].(map[string]any)
	target, ok := defs[name]
	if !ok {
		return nil, fmt.Errorf("reference %q names no definition", ref)
	}
	return target, nil
}

// checkType checks v against a "type" keyword: a type name or a list of them.
func checkType(t, v any) error {
	var want []string
	switch tt := t.(type) {
	case string:
		want = []string{tt}
	case []any:
		for _, e := range tt {
			if s, ok := e.(string); ok {
				want = append(want, s)
			}
		}
	}
	got := jsonType(v)
	for _, w := range want {
		if w == got || (w == "number" && got == "integer") {
			return nil
		}
	}
	if got == "integer" {
		got = "number" // the library Lima uses says so of a whole number that fits no type
	}
	return fmt.Errorf("got %s, want %s", got, strings.Join(want, " or "))
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// quotedList writes values as 'a', 'b' (JSON text for what is not a string).
func quotedList(list []any) string {
	parts := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			parts = append(parts, "'"+s+"'")
			continue
		}
		b, _ := json.Marshal(e)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ", ")
}
