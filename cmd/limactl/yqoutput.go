package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// JSON and YAML output of `limactl list`, `info` and `template`: every such output goes through
// yq, as in Lima, so --yq expressions apply to it and a terminal gets it coloured (and JSON
// indented by four); a pipe or a file gets it plain (one JSON object per line). The expressions
// cannot read the environment or files (see limatmpl.Evaluate).

// jsonIndentTTY is how far Lima indents JSON for a terminal.
const jsonIndentTTY = 4

// pruneEmptyMaps is the yq expression that deletes empty objects. Lima applies it to the JSON of
// `limactl list`: structs without omitempty leave {} behind (vmOpts.qemu, rosetta, ...).
const pruneEmptyMaps = `del(.. | select(tag == "!!map" and length == 0))`

// yqExpr joins expressions into one pipeline; none means the identity.
func yqExpr(exprs []string) string {
	if len(exprs) == 0 {
		return "."
	}
	return strings.Join(exprs, " | ")
}

// filterInstances keeps the instances every expression selects: each becomes select(EXPR), and an
// instance is kept when the pipeline yields anything from its JSON.
func filterInstances(insts []*store.Instance, filters []string) ([]*store.Instance, error) {
	if len(filters) == 0 {
		return insts, nil
	}
	selects := make([]string, len(filters))
	for i, f := range filters {
		selects[i] = "select(" + f + ")"
	}
	expr := yqExpr(selects)
	var kept []*store.Instance
	for _, inst := range insts {
		doc, err := json.Marshal(store.NewFormatData(inst))
		if err != nil {
			return nil, fmt.Errorf("failed to marshal instance %q: %w", inst.Name, err)
		}
		out, err := deps.EvalYQAs(doc, expr, deps.YQOutput{JSON: true})
		if err != nil {
			return nil, fmt.Errorf("failed to apply filter %q: %w", expr, err)
		}
		if len(bytes.TrimSpace(out)) > 0 {
			kept = append(kept, inst)
		}
	}
	return kept, nil
}

// printInstancesYQ writes insts as "json" (each instance's results on their own, without empty
// objects) or "yaml" (one stream of documents), after the expressions.
func printInstancesYQ(ios *iostreams.IOStreams, insts []*store.Instance, format string, exprs []string) error {
	expr := yqExpr(exprs)
	color := ios.ColorEnabled()
	if format == "yaml" {
		var b bytes.Buffer
		if err := store.PrintInstances(&b, insts, "yaml", nil); err != nil {
			return err
		}
		out, err := deps.EvalYQAs(b.Bytes(), expr, deps.YQOutput{Color: color})
		if err != nil {
			return err
		}
		_, err = ios.Out.Write(out)
		return err
	}
	final := deps.YQOutput{JSON: true}
	if color {
		final.Indent, final.Color = jsonIndentTTY, true
	}
	for _, inst := range insts {
		doc, err := json.Marshal(store.NewFormatData(inst))
		if err != nil {
			return err
		}
		if doc, err = pruneJSON(doc); err != nil {
			return err
		}
		out, err := deps.EvalYQAs(doc, expr, final)
		if err != nil {
			return err
		}
		if _, err := ios.Out.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// pruneJSON deletes empty objects until none are left (deleting one can empty its parent).
func pruneJSON(doc []byte) ([]byte, error) {
	for {
		out, err := deps.EvalYQAs(doc, pruneEmptyMaps, deps.YQOutput{JSON: true})
		if err != nil || len(out) >= len(doc) {
			return out, err
		}
		doc = out
	}
}

// printJSONYQ writes v as JSON after expr, indented by four as Lima's `limactl info` is, coloured
// for a terminal.
func printJSONYQ(ios *iostreams.IOStreams, v any, expr string) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if expr == "" {
		expr = "."
	}
	out, err := deps.EvalYQAs(doc, expr, deps.YQOutput{JSON: true, Indent: jsonIndentTTY, Color: ios.ColorEnabled()})
	if err != nil {
		return err
	}
	_, err = ios.Out.Write(out)
	return err
}

// writeYAML writes a YAML document (a template) to stdout; a terminal gets it through yq, coloured.
func writeYAML(ios *iostreams.IOStreams, doc []byte) error {
	if ios.ColorEnabled() {
		out, err := deps.EvalYQAs(doc, ".", deps.YQOutput{Color: true})
		if err != nil {
			return err
		}
		doc = out
	}
	_, err := ios.Out.Write(doc)
	return err
}
