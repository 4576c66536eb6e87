package limayaml

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"
)

// Unmarshal parses data (a lima.yaml, a template, or _config/default.yaml / override.yaml) into y.
// filename prefixes every message, so errors read `lima.yaml:12:8: field "cpus": cannot use "four"
// as an integer`. Keys that no field matches are not errors, as in Lima: each gives a warning
// `lima.yaml:3: unknown field "foo" (ignored)`. All type errors are returned together, as
// ValidationErrors; a syntax error is one FieldError with an empty Field.
func Unmarshal(data []byte, y *LimaYAML, filename string) (warnings []string, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(data, filename, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty document: nothing set
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	c := &checker{file: filename}
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "", "the file must be a mapping of fields (key: value), got %s", describe(root))
		return nil, c.errs
	}
	normalizeTPM(root, c)
	c.check(root, reflect.TypeFor[LimaYAML](), "")
	if len(c.errs) > 0 {
		return c.warnings, c.errs
	}
	if err := root.Decode(y); err != nil {
		return c.warnings, decodeError(filename, err)
	}
	return c.warnings, nil
}

var lineRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
})

// syntaxError turns a yaml.v3 parse error into FILE:LINE:COL: message. yaml.v3 does not keep the
// column (and sometimes not the line), so the position comes from a second parser.
func syntaxError(data []byte, filename string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := ""
	if m := lineRE().FindStringSubmatch(err.Error()); m != nil {
		line = m[1]
		msg = strings.TrimPrefix(err.Error(), m[0])
	}
	if _, perr := goccyparser.ParseBytes(data, 0); perr != nil {
		var ge goccy.Error
		if errors.As(perr, &ge) && ge.GetToken() != nil {
			p := ge.GetToken().Position
			return ValidationErrors{{File: filename, Line: p.Line, Column: p.Column, Msg: "invalid YAML: " + msg}}
		}
	}
	n, _ := strconv.Atoi(line)
	return ValidationErrors{{File: filename, Line: n, Msg: "invalid YAML: " + msg}}
}

// decodeError is the fallback for a decode failure the checker did not foresee.
func decodeError(filename string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs ValidationErrors
		for _, e := range te.Errors {
			fe := &FieldError{File: filename, Msg: e}
			if m := lineRE().FindStringSubmatch(e); m != nil {
				fe.Line, _ = strconv.Atoi(m[1])
				fe.Msg = strings.TrimPrefix(e, m[0])
			}
			errs = append(errs, fe)
		}
		return errs.orNil()
	}
	return fmt.Errorf("%s: %w", filename, err)
}

// Marshal writes y as YAML with a 2-space indent, leaving out unset fields.
func Marshal(y *LimaYAML) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(y); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// normalizeTPM reads `tpm: {enabled: BOOL}`, the form Lima's templates use (Lima's
// experimental/windows template writes `tpm: {enabled: true}`), as `tpm: BOOL`, limactl's form,
// so that a template written either way loads. Other keys under tpm are warned about and
// ignored, as Lima ignores fields it does not know.
func normalizeTPM(root *yaml.Node, c *checker) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != "tpm" || v.Kind != yaml.MappingNode {
			continue
		}
		enabled := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: v.Line, Column: v.Column}
		for j := 0; j+1 < len(v.Content); j += 2 {
			sk, sv := v.Content[j], v.Content[j+1]
			if sk.Kind == yaml.ScalarNode && sk.Value == "enabled" {
				enabled = sv
				continue
			}
			c.warnings = append(c.warnings, fmt.Sprintf("%s:%d: unknown field %q (ignored)", c.file, sk.Line, "tpm."+sk.Value))
		}
		root.Content[i+1] = enabled
	}
}
