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

// shellQuoteIfNeeded quotes s only when it holds characters a shell would interpret.
func shellQuoteIfNeeded(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("/._-+=:,@%", r)
	}) < 0 {
		return s
	}
	return ShellQuote(s)
}
