package sshutil

import "strings"

// The login environment cache.
//
// `limactl shell VM CMD` must give CMD what `$SHELL -l -c CMD` gives it, but a login shell reads
// /etc/profile, /etc/profile.d/*.sh, ~/.profile and friends, and under an emulated CPU that costs
// more than the rest of the session. So the first run (per boot, user, shell and TTY/no-TTY) runs
// the real login shell, which also writes down what its login files exported, unset or left as
// umask, relative to the environment it started with; later runs apply that record and run CMD
// with `$SHELL -c`. The record is a POSIX shell fragment the guest's shell sources with `.`, and
// everything on the fast path is done by shell builtins inside the shell sshd starts. When that
// shell is bash or zsh and the one asked for, it then runs CMD itself as the last command of its
// -c string, which both exec (no process after sshd's shell but CMD's); otherwise it execs
// `$SHELL -c CMD`.
//
// The record is ignored when it is not a regular file owned by the user, when a login file is
// newer than it, when it is newer than the session (the clock went back), or when its key (boot
// id, $SHELL, the chosen shell, TTY or not) differs.

// loginEnvVersion is part of the cache key: bump it when the record's format changes.
const loginEnvVersion = "v1"

// loginEnvDir is where a guest user's records live: tmpfs per boot under $XDG_RUNTIME_DIR when
// pam_systemd gives one, else under ~/.cache. Never /tmp, which other users share.
const loginEnvDir = `${XDG_RUNTIME_DIR:-$HOME/.cache}/` + LoginEnvDirName

// LoginEnvDirName is the name of the records' directory. The guest agent's spare shells
// (guestagent/spare.go) watch it: a spare started before a record was written would take the
// record for one from the future.
const LoginEnvDirName = "lima-shellenv"

// loginFiles are the files whose change invalidates a record: what bash, sh/dash and zsh read as
// login shells, for all three (a stat each, cheaper than deciding which shell reads what).
var loginFiles = []string{
	"/etc/profile", "/etc/profile.d", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc", "/etc/environment",
	"/etc/zsh", "/etc/zsh/*", "/etc/zshenv", "/etc/zprofile", "/etc/zlogin", "/etc/zshrc",
	`"$HOME/.profile"`, `"$HOME/.bash_profile"`, `"$HOME/.bash_login"`, `"$HOME/.bashrc"`,
	`"${ZDOTDIR:-$HOME}/.zshenv"`, `"${ZDOTDIR:-$HOME}/.zprofile"`, `"${ZDOTDIR:-$HOME}/.zlogin"`, `"${ZDOTDIR:-$HOME}/.zshrc"`,
}

// sessionVars differ from one session to the next: they always come from the live session, never
// from a record, even when a login file set them.
var sessionVars = []string{
	"_", "PWD", "OLDPWD", "SHLVL", "TERM", "COLUMNS", "LINES",
	"SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_AUTH_SOCK",
}

// sessionValueVars hold per-session values: a login file that copies one into another variable
// (GPG_TTY=$(tty)) cannot be replayed, so no record is written and every run is a login shell.
var sessionValueVars = []string{"SSH_TTY", "SSH_CLIENT", "SSH_CONNECTION"}

// specialVars are read-only or magic in bash or zsh: exporting one could fail or do something
// else in the shell that sources the record, so a login that changes one gets no record.
var specialVars = []string{
	"BASHOPTS", "BASH_VERSINFO", "EUID", "PPID", "SHELLOPTS", "UID",
	"ARGC", "EGID", "ERRNO", "GID", "HISTCMD", "LINENO", "RANDOM", "SECONDS", "USERNAME",
	"cdpath", "fpath", "mailpath", "manpath", "module_path", "path", "pipestatus", "psvar", "status",
}

// loginEnvAwk prints the record from the login shell: it compares its own environment (what the
// login files left exported) with /proc/$_LIMA_PID/environ (what the login shell started with),
// and exits non-zero, so that no record is written, when the difference cannot be replayed.
// It runs under mawk, gawk or busybox awk (whose RS="\0" reads one record: no cache, still right).
// It holds no single quote, as it travels in single quotes.
var loginEnvAwk = strings.Join([]string{
	`function q(s,  r,i){r="";while((i=index(s,"\047"))>0){r=r substr(s,1,i-1) "\047\\\047\047";s=substr(s,i+1)};return "\047" r s "\047"}`,
	`function ok(v){return v~/^[A-Za-z_][A-Za-z0-9_]*$/&&!(v in sp)}`,
	`function dep(x,  i,t){for(i in dv){t=ENVIRON[dv[i]];if(t!=""&&index(x,t))return 1};return 0}`,
	`BEGIN{RS="\0";f="/proc/" ENVIRON["_LIMA_PID"] "/environ";` +
		`while((getline e<f)>0){i=index(e,"=");if(i>1){o[substr(e,1,i-1)]=substr(e,i+1);n++}};` +
		`if(n<2||!("_LIMA_KEY" in o))exit 1;` +
		`split("_LIMA_KEY _LIMA_FILE _LIMA_PID ` + strings.Join(sessionVars, " ") + `",a," ");for(i in a)sv[a[i]]=1;` +
		`split("` + strings.Join(specialVars, " ") + `",a," ");for(i in a)sp[a[i]]=1;` +
		`split("` + strings.Join(sessionValueVars, " ") + `",dv," ");` +
		`print "if [ \"$_lima_k\" = " q(ENVIRON["_LIMA_KEY"]) " ]; then";` +
		`for(v in ENVIRON){if(v in sv)continue;x=ENVIRON[v];if((v in o)&&o[v]==x)continue;if(!ok(v)||dep(x))exit 1;print "export " q(v "=" x)};` +
		`for(v in o)if(!(v in ENVIRON)&&!(v in sv)){if(!ok(v))exit 1;print "unset " v}}`,
}, "")

// loginEnvCapture runs in the login shell after its login files and before the command: it writes
// the record to $_LIMA_FILE (mode 0600, through a temporary file and mv) and removes the two
// variables that carried the key and the path, all without touching the command's stdin, stdout,
// stderr, umask or variables.
var loginEnvCapture = `(_lima_u=$(umask); umask 077; _LIMA_PID=$$ awk ` + ShellQuote(loginEnvAwk) +
	` >"$_LIMA_FILE.$$" && printf 'umask %s\n_lima_ok=1\nfi\n' "$_lima_u" >>"$_LIMA_FILE.$$" && mv -f "$_LIMA_FILE.$$" "$_LIMA_FILE" || rm -f "$_LIMA_FILE.$$")` +
	` </dev/null >/dev/null 2>&1; unset _LIMA_KEY _LIMA_FILE; `

// cachedLoginScript is the POSIX shell script that runs o.Args with the cached login environment
// when the record is valid, and otherwise through the login shell, writing the record. It ends in
// exec (or exit), on one line, except on the fast path when the shell running it is the one to run
// the command: then it returns, having applied the record and removed its own variables, and the
// caller's line runs the command next, as its last command. cd is the working-directory command,
// sh the shell to run.
func cachedLoginScript(o ShellOptions, cd, sh string) string {
	tty := "notty"
	if o.TTY {
		tty = "tty"
	}
	slow := `exec "$_lima_sh" -l -c "$_lima_c"`
	steps := []string{
		cd,
		"_lima_sh=" + sh,
		"_lima_c=" + ShellQuote(commandLine(o.Args, ShellQuote)),
		// Only shells whose login files we know take the fast path.
		`case ${_lima_sh##*/} in bash|sh|dash|zsh) ;; *) ` + slow + `;; esac`,
		`read -r _lima_b 2>/dev/null </proc/sys/kernel/random/boot_id || ` + slow,
		`_lima_k="` + loginEnvVersion + ` $_lima_b $SHELL $_lima_sh ` + tty + `"`,
		`_lima_f="` + loginEnvDir + `/${_lima_sh##*/}.` + tty + `"`,
		// zsh fails a command whose glob matches nothing.
		`_lima_m=; [ -z "$ZSH_VERSION" ] || { [[ -o nomatch ]] && _lima_m=on; setopt nonomatch; }`,
		// The fast path: a regular file of ours, written before this shell started (/proc/$$ is as
		// old as the process: a record from the future means the clock went back, and a login
		// file edited since could look older), no login file newer, and the same key.
		// The command runs in this very shell (the caller's line ends with it, and bash and zsh
		// exec the last command of a -c string) when this shell is the one to run it: bash or zsh,
		// as $SHELL, and $SHELL is the shell asked for. Else it execs a new one.
		// $SHELL alone does not tell which shell runs this (a ~/.bashrc may export another).
		`_lima_i=; if [ "$_lima_sh" = "$SHELL" ]; then case ${_lima_sh##*/}:${BASH_VERSION:+bash}${ZSH_VERSION:+zsh} in bash:bash|zsh:zsh) _lima_i=1;; esac; fi`,
		`_lima_r=; if [ -f "$_lima_f" ] && [ ! -h "$_lima_f" ] && [ -O "$_lima_f" ] && [ -r "$_lima_f" ] && [ ! "$_lima_f" -nt "/proc/$$" ]; then _lima_n=; ` +
			`for _lima_x in ` + strings.Join(loginFiles, " ") + `; do if [ "$_lima_x" -nt "$_lima_f" ]; then _lima_n=1; break; fi; done; ` +
			`if [ -z "$_lima_n" ]; then _lima_ok=; . "$_lima_f"; if [ "$_lima_ok" = 1 ]; then ` +
			// `bash -c` reads $BASH_ENV first: a login environment that sets it gets a new bash.
			`if [ -n "$_lima_i" ] && [ -z "${BASH_ENV-}" ]; then _lima_r=1; else exec "$_lima_sh" -c "$_lima_c"; fi; fi; fi; fi`,
		// The slow path, leaving a record for the next run when the directory is ours.
		`if [ -z "$_lima_r" ]; then _lima_d="${_lima_f%/*}"; ` +
			`[ -d "$_lima_d" ] || mkdir -p -m 700 "$_lima_d" 2>/dev/null; ` +
			`if [ -d "$_lima_d" ] && [ ! -h "$_lima_d" ] && [ -O "$_lima_d" ]; then export _LIMA_KEY="$_lima_k" _LIMA_FILE="$_lima_f"; ` +
			`exec "$_lima_sh" -l -c ` + ShellQuote(loginEnvCapture) + `"$_lima_c"; fi; ` + slow + `; fi`,
		// Here only to run the command in this shell (a failed exec returns here too when bash's
		// execfail is set): leave the shell as it found it.
		`[ -n "$_lima_r" ] || exit 127`,
		`[ "$_lima_m" != on ] || setopt nomatch`,
		`unset _lima_sh _lima_c _lima_b _lima_k _lima_f _lima_i _lima_r _lima_n _lima_x _lima_ok _lima_m _lima_e`,
	}
	if d := execDecision(o.Args); d != "" {
		steps = append(steps, d)
	}
	if cd == "" {
		steps = steps[1:]
	}
	return strings.Join(steps, "; ")
}

// quoteNoBackslash quotes s for a POSIX shell like ShellQuote, but leaves no backslash inside
// single quotes: each is written `'\\'`, outside them. fish (and csh) read that the same way,
// while they read a backslash inside single quotes as an escape (of \ and ' in fish).
func quoteNoBackslash(s string) string {
	return "'" + noBackslash.Replace(s) + "'"
}

var noBackslash = strings.NewReplacer(`\`, `'\\'`, `'`, `'\''`)

// execDecision is the last step: it sets _lima_e to exec when bash would exec the command on its
// own as the last command of a -c string, that is for a program (`hash -t` finds programs only,
// and none that an enabled builtin or a function hides), and the caller's line puts $_lima_e
// (unquoted: nothing when unset) before the command's words. A name starting with "-" is left
// alone: exec would take it for an option. The explicit exec keeps that behaviour when the line
// runs some other way than as -c's last command (the guest agent's spare shells run it through
// eval, which bash never ends with an exec): the command replaces the shell, takes its signals,
// has no shell to report its death, and sees SHLVL as bash lowers it for an exec. _lima_e is left
// set only then, so nothing is left behind for a builtin. "" when there is no command word.
func execDecision(args []string) string {
	name := commandName(args)
	if name == "" {
		return ""
	}
	n := ShellQuote(name)
	return `if [ -n "${BASH_VERSION-}" ]; then case ` + n + ` in -*) ;; */*) if [ -f ` + n + ` ] && [ -x ` + n + ` ]; then _lima_e=exec; fi;; ` +
		`*) if hash -- ` + n + ` 2>/dev/null && hash -t -- ` + n + ` >/dev/null 2>&1; then _lima_e=exec; fi;; esac; fi`
}

// commandName is the command word of args: the first after the leading NAME=value assignments
// (commandLine's rule); "" when there is none.
func commandName(args []string) string {
	for _, a := range args {
		if name, _, ok := strings.Cut(a, "="); ok && envNameRE.MatchString(name) {
			continue
		}
		return a
	}
	return ""
}
