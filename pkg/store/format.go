package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/docker/go-units"
	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// PrintOptions tune PrintInstances.
type PrintOptions struct {
	// AllFields shows every table column even when the terminal is narrow.
	AllFields bool
	// TerminalWidth is the width of the terminal the table goes to, or 0 when it is not a terminal.
	// Only then may uniform columns (VMTYPE, ARCH) be dropped to fit.
	TerminalWidth int
}

// FormatData is what a --format Go template sees for each instance: the instance plus host facts.
// The host facts are deprecated, as in Lima (`limactl info` has them as hostOS, hostArch, limaHome
// and identityFile): templates may still use them, --list-fields does not offer them. A field
// tagged lima:"deprecated" is left out of ListFields.
type FormatData struct {
	*Instance    `yaml:",inline"`
	HostOS       string `json:"HostOS" yaml:"HostOS" lima:"deprecated"`
	HostArch     string `json:"HostArch" yaml:"HostArch" lima:"deprecated"`
	LimaHome     string `json:"LimaHome" yaml:"LimaHome" lima:"deprecated"`
	IdentityFile string `json:"IdentityFile" yaml:"IdentityFile" lima:"deprecated"`
}

// MarshalJSON writes the instance's fields followed by the host facts, as Lima's `limactl list
// --format json` does since Lima 2.0 (the embedded Instance's own MarshalJSON would drop them).
func (d FormatData) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		instanceJSON
		HostOS       string `json:"HostOS"`
		HostArch     string `json:"HostArch"`
		LimaHome     string `json:"LimaHome"`
		IdentityFile string `json:"IdentityFile"`
	}{d.jsonView(), d.HostOS, d.HostArch, d.LimaHome, d.IdentityFile})
}

// NewFormatData returns what --format json, yaml and Go templates see for inst.
func NewFormatData(inst *Instance) FormatData { return newFormatData(inst) }

func newFormatData(inst *Instance) FormatData {
	limaHome, _ := dirnames.LimaDir()
	cfg, _ := dirnames.LimaConfigDir()
	return FormatData{
		Instance:     inst,
		HostOS:       runtime.GOOS,
		HostArch:     HostArch(),
		LimaHome:     limaHome,
		IdentityFile: cfg + string(os.PathSeparator) + filenames.UserPrivateKey,
	}
}

// ListFields names the fields a --format template may use, sorted, without the deprecated ones
// (`limactl list --list-fields`).
func ListFields() []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			switch {
			case f.Tag.Get("lima") == "deprecated":
			case f.Anonymous:
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft)
			case f.IsExported():
				names = append(names, f.Name)
			}
		}
	}
	walk(reflect.TypeFor[FormatData]())
	slices.Sort(names)
	return names
}

// PrintInstances writes insts to w as "table", "json" (one object per line), "yaml" (documents
// separated by ---), or as a Go template executed once per instance and followed by a newline.
func PrintInstances(w io.Writer, insts []*Instance, format string, opts *PrintOptions) error {
	if opts == nil {
		opts = &PrintOptions{}
	}
	switch format {
	case "", "table":
		return printTable(w, insts, opts)
	case "json":
		for _, inst := range insts {
			b, err := json.Marshal(newFormatData(inst))
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(w, string(b)); err != nil {
				return err
			}
		}
		return nil
	case "yaml":
		for i, inst := range insts {
			b, err := ToYAML(newFormatData(inst))
			if err != nil {
				return err
			}
			if i > 0 {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	tmpl, err := ParseTemplate(format)
	if err != nil {
		return fmt.Errorf("invalid go template %q: %w", format, err)
	}
	for _, inst := range insts {
		var b bytes.Buffer
		if err := tmpl.Execute(&b, newFormatData(inst)); err != nil {
			return fmt.Errorf("cannot execute the template %q for instance %q: %w", format, inst.Name, err)
		}
		b.WriteByte('\n')
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// ParseTemplate parses a --format template with the helper functions json, yaml and indent.
func ParseTemplate(format string) (*template.Template, error) {
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"yaml": func(v any) (string, error) {
			b, err := ToYAML(v)
			return string(b), err
		},
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad)
		},
	}
	return template.New("format").Funcs(funcs).Parse(format)
}

// ToYAML renders v as block YAML with the same field names as its JSON form.
func ToYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	blockStyle(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

func printTable(w io.Writer, insts []*Instance, opts *PrintOptions) error {
	home, _ := os.UserHomeDir()
	cols := []string{"NAME", "STATUS", "SSH", "VMTYPE", "ARCH", "CPUS", "MEMORY", "DISK", "DIR"}
	rows := make([][]string, 0, len(insts))
	for _, inst := range insts {
		dir := inst.Dir
		if home != "" && (dir == home || strings.HasPrefix(dir, home+string(os.PathSeparator))) {
			dir = "~" + strings.TrimPrefix(dir, home)
		}
		rows = append(rows, []string{
			inst.Name,
			inst.Status,
			fmt.Sprintf("%s:%d", sshAddress(inst), inst.SSHLocalPort),
			inst.VMType,
			inst.Arch,
			fmt.Sprint(inst.CPUs),
			units.BytesSize(float64(inst.Memory)),
			units.BytesSize(float64(inst.Disk)),
			dir,
		})
	}
	hidden := hiddenColumns(cols, rows, opts)
	tw := tabwriter.NewWriter(w, 4, 8, 4, ' ', 0)
	writeRow := func(r []string) {
		var kept []string
		for i, c := range r {
			if !hidden[i] {
				kept = append(kept, c)
			}
		}
		fmt.Fprintln(tw, strings.Join(kept, "\t"))
	}
	writeRow(cols)
	for _, r := range rows {
		writeRow(r)
	}
	return tw.Flush()
}

func sshAddress(inst *Instance) string {
	if inst.SSHAddress == "" {
		return "127.0.0.1"
	}
	return inst.SSHAddress
}

// hiddenColumns drops VMTYPE and then ARCH when the table would not fit the terminal and every
// instance has the same value (ARCH only when that value is the host's).
func hiddenColumns(cols []string, rows [][]string, opts *PrintOptions) map[int]bool {
	hidden := map[int]bool{}
	if opts.AllFields || opts.TerminalWidth <= 0 {
		return hidden
	}
	width := func() int {
		total := 0
		for i := range cols {
			if hidden[i] {
				continue
			}
			w := len(cols[i])
			for _, r := range rows {
				w = max(w, len(r[i]))
			}
			total += w + 4
		}
		return total
	}
	uniform := func(i int) (string, bool) {
		if len(rows) == 0 {
			return "", true
		}
		for _, r := range rows[1:] {
			if r[i] != rows[0][i] {
				return "", false
			}
		}
		return rows[0][i], true
	}
	if width() > opts.TerminalWidth {
		if _, ok := uniform(3); ok {
			hidden[3] = true
		}
	}
	if width() > opts.TerminalWidth {
		if v, ok := uniform(4); ok && (v == HostArch() || v == "") {
			hidden[4] = true
		}
	}
	return hidden
}
