// Package deps is the one file through which pkg/instance and cmd/limactl reach pkg/limayaml
// (Validate, Marshal, JSONSchema), pkg/limatmpl (Read, Embed, ApplyYQ, RunYQ) and
// pkg/limatmpl/editflags. It began as an adapter while those packages were being written; now
// every function is a one-line forward, kept so callers have one import for template handling.
package deps

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/limatmpl"
	"github.com/limactl/limactl/pkg/limatmpl/editflags"
	"github.com/limactl/limactl/pkg/limayaml"
)

// Validate checks a loaded config (limayaml.Validate).
func Validate(y *limayaml.LimaYAML, warn bool) error { return limayaml.Validate(y, warn) }

// ValidateTemplate checks a loaded template whatever the host (limayaml.ValidateTemplate).
func ValidateTemplate(y *limayaml.LimaYAML, warn bool) error {
	return limayaml.ValidateTemplate(y, warn)
}

// LoadAs loads a config as if it were the lima.yaml at filePath, naming displayName in its
// messages (limayaml.LoadAs).
func LoadAs(data []byte, filePath, displayName string) (*limayaml.LimaYAML, error) {
	return limayaml.LoadAs(data, filePath, displayName)
}

// CheckTypes reports the syntax and type errors of a YAML text, naming it name, without loading
// it (no defaults, no warnings): a check of the text exactly as the user wrote it.
func CheckTypes(data []byte, name string) error {
	var y limayaml.LimaYAML
	_, err := limayaml.Unmarshal(data, &y, name)
	return err
}

// ValidateAgainstLatestConfig rejects edits the instance cannot take, such as a smaller disk.
func ValidateAgainstLatestConfig(yNew, yLatest []byte) error {
	return limayaml.ValidateAgainstLatestConfig(yNew, yLatest)
}

// Marshal renders a config as YAML.
func Marshal(y *limayaml.LimaYAML) ([]byte, error) { return limayaml.Marshal(y) }

// JSONSchema returns the JSON schema of lima.yaml.
func JSONSchema() ([]byte, error) { return limayaml.JSONSchema() }

// ValidateJSONSchema checks a YAML document against a JSON schema (limayaml.ValidateJSONSchema).
func ValidateJSONSchema(schema, doc []byte) error { return limayaml.ValidateJSONSchema(schema, doc) }

// Template is a template read from a locator.
type Template = limatmpl.Template

// ReadTemplate reads a template from template:NAME, a file, a URL, or "-" (stdin).
func ReadTemplate(ctx context.Context, name, locator string) (*Template, error) {
	return limatmpl.Read(ctx, name, locator)
}

// Embed inlines the `base:` chain of t (and, with embedAll, the files it refers to).
func Embed(ctx context.Context, t *Template, embedAll, defaultBase bool) error {
	return t.Embed(ctx, embedAll, defaultBase)
}

// UseAbsLocators rewrites t's relative `base:` and `file:` locators into absolute ones.
func UseAbsLocators(t *Template) error { return t.UseAbsLocators() }

// ApplyYQ applies yq expressions to t.Bytes.
func ApplyYQ(t *Template, exprs ...string) error { return t.ApplyYQ(exprs...) }

// EvalYQ evaluates one yq expression on a YAML document.
func EvalYQ(doc []byte, expr string) ([]byte, error) { return limatmpl.EvaluateExpression(expr, doc) }

// YQOutput says how EvalYQAs writes its results: YAML or JSON, indentation, colours.
type YQOutput = limatmpl.Output

// EvalYQAs evaluates a yq expression on each document of doc in turn and writes the results as out
// says; the error is yq's own (limatmpl.Evaluate).
func EvalYQAs(doc []byte, expr string, out YQOutput) ([]byte, error) {
	return limatmpl.Evaluate(expr, doc, out)
}

// RunYQ runs yq with a command line (multi-call `limactl yq`).
func RunYQ(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return limatmpl.RunYQ(args, stdin, stdout, stderr)
}

// RegisterCreateFlags adds the create/start edit flags.
func RegisterCreateFlags(cmd *cobra.Command, prefix string) { editflags.RegisterCreate(cmd, prefix) }

// RegisterEditFlags adds the flags shared by create/edit/clone/rename.
func RegisterEditFlags(cmd *cobra.Command, prefix string) { editflags.RegisterEdit(cmd, prefix) }

// CheckParams refuses a --param KEY that the template (or lima.yaml) tmplBytes does not define.
func CheckParams(tmplBytes []byte, flags *pflag.FlagSet) error {
	return editflags.ValidateParams(tmplBytes, flags)
}

// YQExpressions turns the edit flags that were set into yq expressions.
func YQExpressions(flags *pflag.FlagSet, newInstance bool) ([]string, error) {
	return editflags.YQExpressions(flags, newInstance)
}
