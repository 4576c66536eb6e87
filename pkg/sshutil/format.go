package sshutil

import (
	"fmt"
	"io"
	"strings"
)

// Format is an output format of `limactl show-ssh`.
type Format = string

const (
	FormatCmd     Format = "cmd"     // a full ssh command line
	FormatArgs    Format = "args"    // the -o arguments only
	FormatOptions Format = "options" // one KEY=VALUE per line
	FormatConfig  Format = "config"  // an ssh_config Host block
)

// Formats lists the show-ssh formats, default first.
var Formats = []Format{FormatCmd, FormatArgs, FormatOptions, FormatConfig}

// WriteFormat writes opts for instance name in format f, as `limactl show-ssh --format` prints them.
func WriteFormat(w io.Writer, name string, opts []Option, f Format) error {
	switch f {
	case FormatCmd, FormatArgs:
		args := make([]string, 0, 2*len(opts)+2)
		if f == FormatCmd {
			args = append(args, "ssh")
		}
		for _, o := range opts {
			args = append(args, "-o", quoteOptionArg(o.Key+"="+o.Value))
		}
		if f == FormatCmd {
			args = append(args, HostKeyAlias(name))
		}
		_, err := fmt.Fprintln(w, strings.Join(args, " "))
		return err
	case FormatOptions:
		for _, o := range opts {
			if _, err := fmt.Fprintf(w, "%s=%s\n", o.Key, o.Value); err != nil {
				return err
			}
		}
		return nil
	case FormatConfig:
		if _, err := fmt.Fprintf(w, "Host %s\n", HostKeyAlias(name)); err != nil {
			return err
		}
		for _, o := range opts {
			if _, err := fmt.Fprintf(w, "  %s %s\n", o.Key, o.Value); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown format %q: want one of %s", f, strings.Join(Formats, ", "))
}

// quoteOptionArg protects a KEY="VALUE" argument from the shell when it holds double quotes or
// other characters a shell would interpret.
func quoteOptionArg(s string) string {
	return shellQuoteIfNeeded(s)
}
