package sshutil

import "strings"

// ShellQuote quotes s for a POSIX shell with single quotes, so that spaces, quotes, `$`, globs and
// newlines reach the command unchanged.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellQuoteCommand quotes each argument with ShellQuote and joins them with spaces.
func ShellQuoteCommand(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// commandLine quotes a command's arguments as `limactl shell` passes them to the guest's shell:
// each one with quote, except that leading NAME=value arguments stay assignments, NAME bare and the
// value quoted, so `limactl shell VM FOO=1 env` runs env with FOO set, as Lima does. An argument
// whose part before = is not a variable name is a command word, quoted whole (Lima leaves that
// part bare, which runs it through the shell).
func commandLine(args []string, quote func(string) string) string {
	q := make([]string, len(args))
	assignments := true
	for i, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if assignments = assignments && ok && envNameRE.MatchString(name); assignments {
			q[i] = name + "=" + quote(value)
		} else {
			q[i] = quote(a)
		}
	}
	return strings.Join(q, " ")
}

// commandLineAt is commandLine with word (unquoted) before the command word, after the
// assignments; without a command word, it is commandLine.
func commandLineAt(args []string, quote func(string) string, word string) string {
	for i, a := range args {
		if name, _, ok := strings.Cut(a, "="); ok && envNameRE.MatchString(name) {
			continue
		}
		head := commandLine(args[:i], quote)
		if head != "" {
			head += " "
		}
		return head + word + " " + commandLine(args[i:], quote)
	}
	return commandLine(args, quote)
}

// shellQuoteIfNeeded quotes s only when it holds characters a shell would interpret.
func shellQuoteIfNeeded(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("/._-+=:,@%", r)
	}) < 0 {
		return s
	}
	return ShellQuote(s)
}
