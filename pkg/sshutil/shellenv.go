package sshutil

import (
	"sort"
	"strings"
)

// DefaultShellEnvBlock lists the host variables `limactl shell --preserve-env` never passes by
// default: they describe the host session, not the user's intent. A trailing `*` matches a prefix.
var DefaultShellEnvBlock = []string{
	"BASH*", "DISPLAY", "DYLD_*", "EUID", "FPATH", "GID", "GROUP", "HOME", "HOSTNAME", "LD_*",
	"LOGNAME", "OLDPWD", "PATH", "PWD", "SHELL", "SHLVL", "SSH_*", "TERM", "TERMINFO", "TMPDIR",
	"UID", "USER", "XAUTHORITY", "XDG_*", "ZDOTDIR", "ZSH*", "_*",
}

// FilterShellEnv returns the entries of environ ("NAME=value") that --preserve-env passes to the
// guest, sorted by name. block and allow are comma-separated pattern lists as in
// LIMA_SHELLENV_BLOCK and LIMA_SHELLENV_ALLOW: an empty block means DefaultShellEnvBlock, a block
// starting with "+" extends it, and allow wins over block.
func FilterShellEnv(environ []string, block, allow string) []string {
	blocked := DefaultShellEnvBlock
	if b := strings.TrimSpace(block); b != "" {
		if rest, ok := strings.CutPrefix(b, "+"); ok {
			blocked = append(append([]string(nil), DefaultShellEnvBlock...), splitPatterns(rest)...)
		} else {
			blocked = splitPatterns(b)
		}
	}
	allowed := splitPatterns(allow)
	var res []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !envNameRE.MatchString(name) {
			continue
		}
		if matchAny(name, blocked) && !matchAny(name, allowed) {
			continue
		}
		res = append(res, kv)
	}
	sort.Strings(res)
	return res
}

func splitPatterns(s string) []string {
	var res []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			res = append(res, p)
		}
	}
	return res
}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}
