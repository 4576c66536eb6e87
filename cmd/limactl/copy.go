package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/copytool"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// CopyOptions are the inputs of `limactl copy`.
type CopyOptions struct {
	IO        *iostreams.IOStreams
	Args      []string // SRC... DST
	Recursive bool
	Verbose   bool
	Backend   string
}

func newCopyCommand(ios *iostreams.IOStreams, runF func(*CopyOptions) error) *cobra.Command {
	opts := &CopyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:     "copy SOURCE ... TARGET",
		Aliases: []string{"cp"},
		Short:   "Copy files between host and guest",
		Long: `Copy files between host and guest, or between two guests.

Prefix guest paths with the instance name and a colon, e.g. "default:/etc/os-release"; a relative
guest path is relative to the guest user's home. Write a host path that contains a colon as
"./a:b". Permission bits (without setuid, setgid and sticky bits; on the host under the umask)
and modification times are kept; a directory that already exists keeps its own. Symbolic links are
followed on the source side, as scp does. On the host a copy never writes through a symbolic link:
a file replaces one, a directory stops the copy. See docs/security.md for the limits on what a copy
takes from a guest.`,
		Example: `  $ limactl copy default:/etc/os-release .
  $ limactl copy -r ./src default:~/src
  $ limactl copy vm1:/tmp/out.tar vm2:/tmp/`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: completeCopyArgs,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return runCopy(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Recursive, "recursive", "r", false, "Copy directories recursively")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "Print each file copied")
	f.StringVar(&opts.Backend, "backend", "auto", "Copy backend: auto or sftp (scp and rsync are accepted and use sftp)")
	return cmd
}

func completeCopyArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	names, _ := store.Instances()
	res := make([]string, 0, len(names))
	for _, n := range names {
		res = append(res, n+":")
	}
	return res, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveDefault
}

func runCopy(ctx context.Context, opts *CopyOptions) error {
	switch opts.Backend {
	case "auto", "sftp":
	case "scp", "rsync":
		logrus.Warnf("--backend=%s is not available: limactl copies over its built-in SFTP client", opts.Backend)
	default:
		return fmt.Errorf("unknown --backend %q: want auto or sftp", opts.Backend)
	}
	locs, err := copytool.ParseArgs(opts.Args)
	if err != nil {
		return err
	}
	insts := map[string]*store.Instance{}
	for _, l := range locs {
		if l.IsLocal() || insts[l.Instance] != nil {
			continue
		}
		inst, err := runningInstance(ctx, nil, l.Instance, false)
		if err != nil {
			return err
		}
		insts[l.Instance] = inst
	}
	if len(insts) == 0 {
		return errors.New("no instance path given: write guest paths as INSTANCE:PATH")
	}
	dial := func(ctx context.Context, name string) (*ssh.Client, error) {
		return dialInstance(ctx, insts[name])
	}
	return copytool.Copy(ctx, locs[:len(locs)-1], locs[len(locs)-1], dial, copytool.Options{
		Recursive: opts.Recursive,
		Verbose:   opts.Verbose,
		Out:       opts.IO.Out,
	})
}
