package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limatmpl"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// CreateOptions are the inputs of `limactl create`.
type CreateOptions struct {
	IO            *iostreams.IOStreams
	Name          string
	Locator       string
	ListTemplates bool
	ListDrivers   bool
	// EditFlags holds the create edit flags (--cpus, --set, ...), turned into yq expressions.
	EditFlags *pflag.FlagSet
}

func newCreateCommand(ios *iostreams.IOStreams, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{IO: ios}
	cmd := &cobra.Command{
		Use: "create FILE.yaml|URL|template:NAME|-",
		Example: `  To create an instance "default" from the default template:
  $ limactl create

  To create an instance "default" with the docker template:
  $ limactl create template:docker

  To create an instance "foo" from a local file:
  $ limactl create --name=foo ./foo.yaml

  To create an instance from stdin:
  $ cat foo.yaml | limactl create --name=foo -`,
		Short:             "Create an instance of Lima",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeTemplateLocators,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Locator = args[0]
			}
			opts.EditFlags = cmd.Flags()
			if runF != nil {
				return runF(opts)
			}
			return runCreate(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "Override the instance name")
	registerListFlags(cmd, &opts.ListTemplates, &opts.ListDrivers)
	deps.RegisterCreateFlags(cmd, "")
	return cmd
}

// registerListFlags adds --list-templates and --list-drivers, which create and start share.
func registerListFlags(cmd *cobra.Command, templates, drivers *bool) {
	cmd.Flags().BoolVar(templates, "list-templates", false, "List available templates and exit")
	cmd.Flags().BoolVar(drivers, "list-drivers", false, "List available drivers and exit")
}

// listAndExit prints what --list-templates or --list-drivers asks for, one name a line as Lima
// does (templates without the hidden _-prefixed bases), and reports whether it printed anything.
func listAndExit(w io.Writer, templates, drivers bool) bool {
	var names []string
	switch {
	case templates:
		names = userTemplateNames()
	case drivers:
		names = registry.List()
	default:
		return false
	}
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
	return true
}

func runCreate(ctx context.Context, opts *CreateOptions) error {
	if listAndExit(opts.IO.Out, opts.ListTemplates, opts.ListDrivers) {
		return nil
	}
	name, locator := opts.Name, opts.Locator
	if locator != "" && looksLikeInstanceName(locator) {
		var err error
		if name, err = instanceNameForm(ctx, name, locator); err != nil {
			return err
		}
		locator = "template:default"
	}
	tmpl, written, err := loadTemplateText(ctx, name, locator, opts.EditFlags)
	if err != nil {
		return err
	}
	edited := false
	if opts.IO.CanPrompt() {
		readFrom := tmpl.Locator
		tmpl, edited, err = reviewTemplate(ctx, opts, tmpl)
		if err != nil || tmpl == nil {
			return err
		}
		if tmpl.Locator != readFrom {
			written = nil // another template was chosen: the text read first says nothing about it
		}
	}
	inst, err := instance.Create(ctx, tmpl.Name, tmpl.Bytes, edited)
	if err != nil {
		return reportConfigErrors(tmpl.Locator, written, err)
	}
	logrus.Infof("Run `limactl start %s` to start the instance.", inst.Name)
	return nil
}

// retiredTemplates are the templates Lima 1.0 merged into template:default or removed, with what
// Lima says when one is asked for (reading it then fails: it no longer exists).
var retiredTemplates = map[string]string{
	"experimental/vz":             "template:experimental/vz was merged into the default template in Lima v1.0. See also <https://lima-vm.io/docs/config/vmtype/>.",
	"experimental/riscv64":        "template:experimental/riscv64 was merged into the default template in Lima v1.0. Use `limactl create --arch=riscv64 template:default` instead.",
	"experimental/armv7l":         "template:experimental/armv7l was merged into the default template in Lima v1.0. Use `limactl create --arch=armv7l template:default` instead.",
	"vmnet":                       "template:vmnet was removed in Lima v1.0. Use `limactl create --network=lima:shared template:default` instead. See also <https://lima-vm.io/docs/config/network/>.",
	"experimental/net-user-v2":    "template:experimental/net-user-v2 was removed in Lima v1.0. Use `limactl create --network=lima:user-v2 template:default` instead. See also <https://lima-vm.io/docs/config/network/>.",
	"experimental/9p":             "template:experimental/9p was removed in Lima v1.0. Use `limactl create --vm-type=qemu --mount-type=9p template:default` instead. See also <https://lima-vm.io/docs/config/mount/>.",
	"experimental/virtiofs-linux": "template:experimental/virtiofs-linux was removed in Lima v1.0. Use `limactl create --mount-type=virtiofs template:default` instead. See also <https://lima-vm.io/docs/config/mount/>.",
}

// instanceNameForm handles `limactl create|start NAME` for an instance NAME: it names the instance
// to create from template:default and, unless it exists or is "default", says (as Lima does) that
// this form is deprecated. flagName is --name, which must then be empty or NAME.
func instanceNameForm(ctx context.Context, flagName, arg string) (string, error) {
	if flagName != "" && flagName != arg {
		return "", fmt.Errorf("instance name %#q and CLI flag --name=%#q cannot be specified together", arg, flagName)
	}
	if arg == "default" {
		return arg, nil
	}
	if _, err := store.Inspect(ctx, arg); errors.Is(err, store.ErrNotExist) {
		logrus.Infof("Creating an instance %#q from template:default (Not from template:%s)", arg, arg)
		logrus.Warnf("This form is deprecated. Use `limactl create --name=%s template:default` instead", arg)
	}
	return arg, nil
}

// loadTemplate reads the template at locator (default template:default), embeds its base: chain,
// applies the edit flags, and settles the instance name (--name, else the template's name).
func loadTemplate(ctx context.Context, name, locator string, flags *pflag.FlagSet) (*deps.Template, error) {
	tmpl, _, err := loadTemplateText(ctx, name, locator, flags)
	return tmpl, err
}

// loadTemplateText is loadTemplate that also returns the text as read, which is what positions in
// error messages refer to.
func loadTemplateText(ctx context.Context, name, locator string, flags *pflag.FlagSet) (tmpl *deps.Template, written []byte, err error) {
	if locator == "" {
		locator = "template:default"
	}
	if ok, tmplName := limatmpl.SeemsTemplateURL(locator); ok {
		if hint, retired := retiredTemplates[tmplName]; retired {
			logrus.Warn(hint)
		}
	}
	if locator == "-" && name == "" {
		return nil, nil, errors.New("reading the template from stdin (-) requires --name")
	}
	if name != "" {
		if err := instance.ValidateName(name); err != nil {
			return nil, nil, err
		}
	}
	tmpl, err = deps.ReadTemplate(ctx, name, locator)
	if err != nil {
		return nil, nil, err
	}
	written = tmpl.Bytes
	if err := deps.CheckTypes(written, locator); err != nil {
		return nil, nil, reportConfigErrors(locator, written, err)
	}
	if tmpl.Name == "" {
		return nil, nil, fmt.Errorf("cannot derive an instance name from %q; pass --name", locator)
	}
	if _, err := store.Inspect(ctx, tmpl.Name); err == nil {
		return nil, nil, fmt.Errorf("instance %#q already exists; use `limactl start %s` or pick another --name", tmpl.Name, tmpl.Name)
	}
	if err := deps.Embed(ctx, tmpl, true, true); err != nil {
		return nil, nil, reportConfigErrors(locator, written, err)
	}
	if flags != nil {
		if err := deps.CheckParams(tmpl.Bytes, flags); err != nil {
			return nil, nil, err
		}
		exprs, err := deps.YQExpressions(flags, true)
		if err != nil {
			return nil, nil, err
		}
		if err := deps.ApplyYQ(tmpl, exprs...); err != nil {
			return nil, nil, err
		}
	}
	return tmpl, written, nil
}

// checkParamFlags refuses, as Lima does, a --param for a key that the lima.yaml of the instance in
// dir does not define.
func checkParamFlags(flags *pflag.FlagSet, dir string) error {
	if fl := flags.Lookup("param"); fl == nil || !fl.Changed {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, filenames.LimaYAML))
	if err != nil {
		return err
	}
	return deps.CheckParams(b, flags)
}

var createChoices = []string{
	"Proceed with the current configuration",
	"Open an editor to review or modify the current configuration",
	"Choose another template (docker, podman, archlinux, fedora, ...)",
	"Exit",
}

// reviewTemplate is the interactive step of create. It returns a nil template when the user exits.
func reviewTemplate(ctx context.Context, opts *CreateOptions, tmpl *deps.Template) (*deps.Template, bool, error) {
	for {
		choice, err := opts.IO.Select(fmt.Sprintf("Creating an instance %q", tmpl.Name), createChoices, 0)
		if err != nil {
			return nil, false, err
		}
		switch choice {
		case 0:
			return tmpl, false, nil
		case 1:
			header := fmt.Sprintf("Review and modify the configuration of the Lima instance %q.\n"+
				"To cancel, delete every line and save an empty file.", tmpl.Name)
			b, err := opts.IO.Edit(ctx, tmpl.Bytes, tmpl.Name+".yaml", header)
			if err != nil {
				return nil, false, err
			}
			if len(bytes.TrimSpace(b)) == 0 {
				logrus.Info("Aborting, as requested by saving the file with empty content")
				return nil, false, nil
			}
			tmpl.Bytes = b
			return tmpl, true, nil
		case 2:
			names := userTemplateNames()
			i, err := opts.IO.Select("Choose a template", names, max(0, indexOf(names, "default")))
			if err != nil {
				return nil, false, err
			}
			name := tmpl.Name
			if opts.Name == "" {
				name = ""
			}
			next, err := loadTemplate(ctx, name, "template:"+names[i], opts.EditFlags)
			if err != nil {
				return nil, false, err
			}
			tmpl = next
		default:
			return nil, false, nil
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}
