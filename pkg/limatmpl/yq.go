package limatmpl

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/mikefarah/yq/v4/pkg/yqlib"
)

// yqMu serialises every use of yqlib: its operators read package-level settings (security
// preferences, the expression parser), so two evaluations must not interleave with RunYQ.
var yqMu sync.Mutex

// restrictYQ disables the operators that reach outside the document: env() and strenv() (the
// host environment), load() (files), and system (commands). Callers hold yqMu.
func restrictYQ() {
	yqlib.ConfiguredSecurityPreferences.DisableEnvOps = true
	yqlib.ConfiguredSecurityPreferences.DisableFileOps = true
	yqlib.ConfiguredSecurityPreferences.EnableSystemOps = false
}

func yamlPrefs() yqlib.YamlPreferences {
	p := yqlib.NewDefaultYamlPreferences()
	p.Indent = 2
	p.CompactSequenceIndent = true
	p.ColorsEnabled = false
	return p
}

// EvaluateExpression runs one yq expression over a YAML document and returns the result in
// Lima's layout (two-space indentation, list items level with their key). Comments and key
// order are kept as yq keeps them; blank lines between keys are not. An empty expression
// returns content unchanged. The env, load and system operators are disabled.
func EvaluateExpression(expr string, content []byte) ([]byte, error) {
	if expr == "" {
		return content, nil
	}
	if len(bytes.TrimSpace(content)) == 0 {
		content = []byte("{}\n")
	}
	yqMu.Lock()
	defer yqMu.Unlock()
	restrictYQ()
	yqlib.InitExpressionParser()
	prefs := yamlPrefs()
	out, err := yqlib.NewStringEvaluator().EvaluateAll(expr, string(content), yqlib.NewYamlEncoder(prefs), yqlib.NewYamlDecoder(prefs))
	if err != nil {
		return nil, fmt.Errorf("yq expression %q failed: %w", expr, err)
	}
	return []byte(out), nil
}

// Output says how Evaluate writes its results.
type Output struct {
	// JSON writes JSON instead of YAML.
	JSON bool
	// Indent is the JSON indentation per level; 0 writes each result on one line. YAML is always
	// in Lima's layout (see EvaluateExpression).
	Indent int
	// Color adds the ANSI colours yq's own command line uses on a terminal (keys cyan, strings
	// green, numbers and booleans bright magenta).
	Color bool
}

func (o Output) encoder() yqlib.Encoder {
	if o.JSON {
		p := yqlib.NewDefaultJsonPreferences()
		p.Indent = o.Indent
		p.ColorsEnabled = o.Color
		p.UnwrapScalar = true
		return yqlib.NewJSONEncoder(p)
	}
	p := yamlPrefs()
	p.ColorsEnabled = o.Color
	return yqlib.NewYamlEncoder(p)
}

// Evaluate runs expr over each document of content in turn and writes every result as out says.
// content is YAML documents separated by ---; a JSON value is a YAML document, but JSON Lines are
// not a stream (give one line at a time). A scalar result is written bare on its own line, as
// `yq -r` does. The env, load and system operators are disabled, as in
// EvaluateExpression; unlike it, the error is yq's own, unwrapped (Lima prints it that way for
// `limactl list --yq` and `limactl info --yq`).
func Evaluate(expr string, content []byte, out Output) ([]byte, error) {
	yqMu.Lock()
	defer yqMu.Unlock()
	restrictYQ()
	yqlib.InitExpressionParser()
	res, err := yqlib.NewStringEvaluator().Evaluate(expr, string(content), out.encoder(), yqlib.NewYamlDecoder(yamlPrefs()))
	if err != nil {
		return nil, err
	}
	return []byte(res), nil
}

// formatYAML re-renders a document in Lima's layout.
func formatYAML(b []byte) ([]byte, error) {
	return EvaluateExpression(".", b)
}

// ApplyYQ applies each expression in turn to the template (empty ones are skipped).
func (tmpl *Template) ApplyYQ(exprs ...string) error {
	b := tmpl.Bytes
	for _, expr := range exprs {
		var err error
		if b, err = EvaluateExpression(expr, b); err != nil {
			return fmt.Errorf("cannot edit template %s: %w", describe(tmpl.Locator), err)
		}
	}
	if len(b) > MaxTemplateSize {
		return fmt.Errorf("template %s grew beyond the %d MiB limit", describe(tmpl.Locator), MaxTemplateSize>>20)
	}
	tmpl.Bytes = b
	return nil
}
