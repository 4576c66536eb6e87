// Package deps adapts, in this one file, the APIs of pkg/limayaml (Validate, Marshal, JSONSchema),
// pkg/limatmpl (Read, Embed, ApplyYQ, RunYQ) and pkg/limatmpl/editflags that pkg/instance and
// cmd/limactl call. Those packages are written concurrently; until each API lands, the fallback
// here does the minimum. When one lands, replace the body with the one-line call noted above it.
package deps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/go-units"
	yqcmd "github.com/mikefarah/yq/v4/cmd"
	"github.com/mikefarah/yq/v4/pkg/yqlib"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/templates"
)

// Validate checks a loaded config. Switch: limayaml.Validate(y, warn).
func Validate(y *limayaml.LimaYAML, _ bool) error {
	var errs []error
	if len(y.Images) == 0 {
		errs = append(errs, errors.New("field `images` must be set"))
	}
	if y.CPUs != nil && *y.CPUs == 0 {
		errs = append(errs, errors.New("field `cpus` must be set"))
	}
	for field, v := range map[string]*string{"memory": y.Memory, "disk": y.Disk} {
		if v != nil {
			if _, err := units.RAMInBytes(*v); err != nil {
				errs = append(errs, fmt.Errorf("field `%s` has an invalid value: %w", field, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateAgainstLatestConfig rejects edits that cannot be applied (shrinking the disk).
// Switch: limayaml.ValidateAgainstLatestConfig(yNew, yLatest).
func ValidateAgainstLatestConfig(yNew, yLatest []byte) error {
	var n, l struct {
		Disk *string `yaml:"disk"`
	}
	if err := yaml.Unmarshal(yNew, &n); err != nil {
		return err
	}
	if err := yaml.Unmarshal(yLatest, &l); err != nil {
		return err
	}
	if n.Disk == nil || l.Disk == nil {
		return nil
	}
	nb, err1 := units.RAMInBytes(*n.Disk)
	lb, err2 := units.RAMInBytes(*l.Disk)
	if err1 == nil && err2 == nil && nb < lb {
		return fmt.Errorf("field `disk`: shrinking the disk (%s --> %s) is not supported", *l.Disk, *n.Disk)
	}
	return nil
}

// Marshal renders a config as YAML. Switch: limayaml.Marshal(y).
func Marshal(y *limayaml.LimaYAML) ([]byte, error) { return yaml.Marshal(y) }

// JSONSchema returns the JSON schema of lima.yaml. Switch: limayaml.JSONSchema().
func JSONSchema() ([]byte, error) {
	return nil, errors.New("the JSON schema generator is not available yet (pkg/limayaml.JSONSchema)")
}

// Template is a template read from a locator. Switch: type Template = limatmpl.Template.
type Template struct {
	Name    string
	Locator string
	Bytes   []byte
}

// ReadTemplate reads a template from template:NAME, a file, a URL, or "-" (stdin).
// Switch: limatmpl.Read(ctx, name, locator).
func ReadTemplate(ctx context.Context, name, locator string) (*Template, error) {
	t := &Template{Name: name, Locator: locator}
	var err error
	switch {
	case strings.HasPrefix(locator, "template:"):
		tn := strings.TrimPrefix(locator, "template:")
		t.Bytes, err = templates.Read(tn)
		if err != nil {
			return nil, fmt.Errorf("template %q not found; see `limactl create --list-templates`: %w", tn, err)
		}
		if t.Name == "" {
			t.Name = path.Base(tn)
		}
	case locator == "-":
		t.Bytes, err = io.ReadAll(os.Stdin)
		if err != nil {
			return nil, err
		}
	case strings.HasPrefix(locator, "http://") || strings.HasPrefix(locator, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, locator, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("cannot fetch %s: %s", locator, resp.Status)
		}
		if t.Bytes, err = io.ReadAll(resp.Body); err != nil {
			return nil, err
		}
		if t.Name == "" {
			t.Name = strings.TrimSuffix(strings.TrimSuffix(path.Base(locator), ".yaml"), ".yml")
		}
	default:
		t.Bytes, err = os.ReadFile(locator)
		if err != nil {
			return nil, err
		}
		if t.Name == "" {
			t.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(locator), ".yaml"), ".yml")
		}
	}
	return t, nil
}

// Embed inlines the `base:` chain of t. Switch: t.Embed(ctx, embedAll, defaultBase).
func Embed(_ context.Context, t *Template, _, _ bool) error {
	if bytes.Contains(t.Bytes, []byte("\nbase:")) || bytes.HasPrefix(t.Bytes, []byte("base:")) {
		return errors.New("templates with `base:` need pkg/limatmpl, which is not available yet")
	}
	return nil
}

// ApplyYQ applies yq expressions to t.Bytes. Switch: t.ApplyYQ(exprs...) (or limatmpl's equivalent).
func ApplyYQ(t *Template, exprs ...string) error {
	if len(exprs) == 0 {
		return nil
	}
	out, err := EvalYQ(t.Bytes, strings.Join(exprs, " | "))
	if err != nil {
		return err
	}
	t.Bytes = out
	return nil
}

// EvalYQ evaluates one yq expression on a YAML document.
func EvalYQ(doc []byte, expr string) ([]byte, error) {
	prefs := yqlib.ConfiguredYamlPreferences
	out, err := yqlib.NewStringEvaluator().Evaluate(expr, string(doc), yqlib.NewYamlEncoder(prefs), yqlib.NewYamlDecoder(prefs))
	if err != nil {
		return nil, fmt.Errorf("yq expression %q failed: %w", expr, err)
	}
	return []byte(out), nil
}

// RunYQ runs yq with a command line. Switch: limatmpl.RunYQ(args, stdin, stdout, stderr).
func RunYQ(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := yqcmd.New()
	c.SetArgs(args)
	c.SetIn(stdin)
	c.SetOut(stdout)
	c.SetErr(stderr)
	return c.Execute()
}

// RegisterCreateFlags adds the create/start edit flags. Switch: editflags.RegisterCreate(cmd, prefix).
func RegisterCreateFlags(cmd *cobra.Command, prefix string) {
	RegisterEditFlags(cmd, prefix)
	f := cmd.Flags()
	f.String("arch", "", prefix+"Machine architecture (x86_64, aarch64, riscv64, armv7l, s390x, ppc64le)")
	f.Bool("plain", false, prefix+"Plain mode: disable mounts, port forwarding, containerd, etc.")
}

// RegisterEditFlags adds the flags shared by create/edit/clone. Switch: editflags.RegisterEdit(cmd, prefix).
func RegisterEditFlags(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.Int("cpus", 0, prefix+"Number of CPUs")
	f.Float32("memory", 0, prefix+"Memory size in GiB")
	f.Float32("disk", 0, prefix+"Disk size in GiB")
	f.String("vm-type", "", prefix+"Virtual machine type (qemu, vz, wsl2)")
	f.StringArray("set", nil, prefix+"Modify the template inplace, using yq syntax. Can be specified multiple times.")
}

// YQExpressions turns the edit flags that were set into yq expressions.
// Switch: editflags.YQExpressions(flags, newInstance).
func YQExpressions(flags *pflag.FlagSet, newInstance bool) ([]string, error) {
	var exprs []string
	if flags.Changed("cpus") {
		n, _ := flags.GetInt("cpus")
		exprs = append(exprs, fmt.Sprintf(".cpus = %d", n))
	}
	for _, name := range []string{"memory", "disk"} {
		if flags.Changed(name) {
			v, _ := flags.GetFloat32(name)
			exprs = append(exprs, fmt.Sprintf(".%s = %q", name, fmt.Sprintf("%gGiB", v)))
		}
	}
	for _, name := range []string{"vm-type", "arch"} {
		if flags.Lookup(name) != nil && flags.Changed(name) {
			v, _ := flags.GetString(name)
			field := map[string]string{"vm-type": "vmType", "arch": "arch"}[name]
			if name == "arch" && !newInstance {
				continue
			}
			exprs = append(exprs, fmt.Sprintf(".%s = %q", field, v))
		}
	}
	if flags.Lookup("plain") != nil && flags.Changed("plain") && newInstance {
		v, _ := flags.GetBool("plain")
		exprs = append(exprs, fmt.Sprintf(".plain = %v", v))
	}
	if flags.Changed("set") {
		sets, _ := flags.GetStringArray("set")
		exprs = append(exprs, sets...)
	}
	return exprs, nil
}
