package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// startStopped starts an existing instance for `shell --start` and the --start flag of edit,
// clone and rename, with start's defaults.
func startStopped(ctx context.Context, ios *iostreams.IOStreams, name string) error {
	return instance.Start(ctx, name, instance.StartOptions{Timeout: instance.DefaultStartTimeout, ProgressBar: wantProgressBar(ios)})
}

// wantProgressBar reports whether download progress bars may be drawn: stderr is a terminal and
// the user did not pass --tty=false (or -y).
func wantProgressBar(ios *iostreams.IOStreams) bool {
	return ios != nil && ios.IsStderrTTY() && ios.CanPrompt()
}

// StartOptions are the inputs of `limactl start`.
type StartOptions struct {
	IO         *iostreams.IOStreams
	Name       string
	Locator    string
	Timeout    time.Duration
	Foreground bool
	Debug      bool
	Progress   bool // show the guest's cloud-init output while it boots
	// ListTemplates and ListDrivers print a list and exit, as with `limactl create`.
	ListTemplates bool
	ListDrivers   bool
	EditFlags     *pflag.FlagSet
}

func newStartCommand(ios *iostreams.IOStreams, runF func(*StartOptions) error) *cobra.Command {
	opts := &StartOptions{IO: ios}
	cmd := &cobra.Command{
		Use: "start NAME|FILE.yaml|URL|template:NAME",
		Example: `  To create and start the instance "default" from the default template:
  $ limactl start

  To start an existing instance "foo":
  $ limactl start foo

  To create and start an instance "foo" from a local file:
  $ limactl start --name=foo ./foo.yaml`,
		Short:             "Start an instance of Lima",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeTemplateLocators,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Locator = args[0]
			}
			opts.EditFlags = cmd.Flags()
			opts.Debug, _ = cmd.Flags().GetBool("debug")
			if runF != nil {
				return runF(opts)
			}
			return runStart(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "Override the instance name")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", instance.DefaultStartTimeout, "Duration to wait for the instance to be running before timing out")
	cmd.Flags().BoolVar(&opts.Foreground, "foreground", false, "Run the host agent in the foreground")
	cmd.Flags().BoolVar(&opts.Progress, "progress", false, "Show the guest's cloud-init output while it boots")
	registerListFlags(cmd, &opts.ListTemplates, &opts.ListDrivers)
	deps.RegisterCreateFlags(cmd, "")
	return cmd
}

func runStart(ctx context.Context, opts *StartOptions) error {
	if listAndExit(opts.IO.Out, opts.ListTemplates, opts.ListDrivers) {
		return nil
	}
	name, err := resolveOrCreate(ctx, opts)
	if err != nil || name == "" {
		return err
	}
	return instance.Start(ctx, name, instance.StartOptions{
		Timeout:     opts.Timeout,
		Foreground:  opts.Foreground,
		Debug:       opts.Debug,
		Progress:    opts.Progress,
		ProgressBar: wantProgressBar(opts.IO),
	})
}

// resolveOrCreate returns the instance to start: an existing one (with the edit flags applied to its
// lima.yaml), or one created from the locator as `limactl create` would. "" means the user exited
// the interactive review.
func resolveOrCreate(ctx context.Context, opts *StartOptions) (string, error) {
	name, locator := opts.Name, opts.Locator
	if locator != "" && looksLikeInstanceName(locator) {
		var err error
		if name, err = instanceNameForm(ctx, name, locator); err != nil {
			return "", err
		}
		locator = ""
	}
	if name == "" && locator == "" {
		name = "default"
	}
	if locator == "" {
		inst, err := store.Inspect(ctx, name)
		if err == nil {
			if err := checkParamFlags(opts.EditFlags, inst.Dir); err != nil {
				return "", err
			}
			exprs, err := deps.YQExpressions(opts.EditFlags, false)
			if err != nil {
				return "", err
			}
			if err := instance.ApplyEdits(ctx, inst, exprs); err != nil {
				return "", err
			}
			return name, nil
		}
		if !errors.Is(err, store.ErrNotExist) {
			return "", err
		}
		locator = "template:default"
	}
	tmpl, err := loadTemplate(ctx, name, locator, opts.EditFlags)
	if err != nil {
		return "", err
	}
	edited := false
	if opts.IO.CanPrompt() {
		copts := &CreateOptions{IO: opts.IO, Name: opts.Name, Locator: locator, EditFlags: opts.EditFlags}
		tmpl, edited, err = reviewTemplate(ctx, copts, tmpl)
		if err != nil || tmpl == nil {
			return "", err
		}
	}
	inst, err := instance.Create(ctx, tmpl.Name, tmpl.Bytes, edited)
	if err != nil {
		return "", err
	}
	logrus.Infof("Created instance %q (%s)", inst.Name, inst.Dir)
	return inst.Name, nil
}

// looksLikeInstanceName tells an instance name from a template locator (a path, URL, template:X
// or "-").
func looksLikeInstanceName(arg string) bool {
	if arg == "-" || strings.ContainsAny(arg, "/\\:") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return false
	}
	return instance.ValidateName(arg) == nil
}
