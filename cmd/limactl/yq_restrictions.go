package main

import "github.com/spf13/cobra"

// newYQRestrictionsHelpCommand is the help topic `limactl help yq-restrictions`: a command with
// no Run, so cobra lists it under "Additional help topics" and never runs it.
func newYQRestrictionsHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "yq-restrictions",
		Short: "Restrictions on yq expressions in Lima",
		Long: `Expressions given to --set (create, start, edit, clone, rename), to --yq and --filter
(list, info), to 'limactl template yq', and in provision scripts of mode "yq" are written in
yq v4 syntax. limactl evaluates them with the yq library linked into the binary, not with a yq
found on the PATH.

Operators that would let an expression look outside the YAML document it is given are turned
off, because expressions often come from templates written by someone else:

  - env, strenv, envsubst   read the host's environment variables
  - load, load_str          read files on the host
  - system                  run host commands (yq itself keeps it off; limactl never turns it on)

An expression that uses one of them fails with an error instead of reading anything. To bring a
value from the host into a template, expand it in your shell before calling limactl, e.g.
  limactl create --set ".env.TOKEN = \"$TOKEN\"" template:default

'limactl yq' is different: it is the yq command line itself, with yq's own defaults.

The rest of the language (paths, assignment, update, select, map, with_entries, ...) is
described at https://mikefarah.gitbook.io/yq/`,
	}
}
