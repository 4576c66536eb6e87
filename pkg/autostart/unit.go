package autostart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
)

// SystemdUnitName is Lima's unit name for an instance: an instance of the lima-vm@ template name,
// so the unit's %i is the instance name.
func SystemdUnitName(instName string) string { return "lima-vm@" + instName + ".service" }

// SystemdUnitPath is where the user unit of instName lives: $XDG_CONFIG_HOME/systemd/user
// ($HOME/.config when XDG_CONFIG_HOME is unset).
func SystemdUnitPath(home, xdgConfigHome, instName string) string {
	if xdgConfigHome == "" {
		xdgConfigHome = filepath.Join(home, ".config")
	}
	return filepath.Join(xdgConfigHome, "systemd", "user", SystemdUnitName(instName))
}

// SystemdUnit is the user unit that runs `limactl start %i --foreground`, as Lima's does, with
// $LIMA_HOME set explicitly (systemd does not pass the registering shell's environment on).
func SystemdUnit(limactl, limaHome string) []byte {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	b.WriteString("Description=Lima instance %i\n")
	b.WriteString("\n[Service]\n")
	fmt.Fprintf(&b, "ExecStart=%s start %%i --foreground\n", systemdQuote(limactl, true))
	if limaHome != "" {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote("LIMA_HOME="+limaHome, false))
	}
	b.WriteString("WorkingDirectory=%h\n")
	b.WriteString("Type=simple\n")
	b.WriteString("TimeoutSec=10\n")
	b.WriteString("Restart=on-failure\n")
	b.WriteString("\n[Install]\n")
	b.WriteString("WantedBy=default.target\n")
	return []byte(b.String())
}

// systemdQuote makes s one word of a unit file setting: specifiers (%) are escaped, and so is
// variable expansion ($) in command lines; a word with other than plain path characters is quoted.
func systemdQuote(s string, command bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if command {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	plainRune := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+-:@=,%$", r)
	}
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool { return !plainRune(r) }) < 0
	if plain {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// LaunchdLabel is Lima's launchd agent label for an instance (login).
func LaunchdLabel(instName string) string { return "io.lima-vm.autostart." + instName }

// LaunchdDaemonLabel is Lima's launchd daemon label for an instance (boot).
func LaunchdDaemonLabel(instName string) string { return "io.lima-vm.daemon." + instName }

// LaunchAgentPath is where the launchd agent of instName lives.
func LaunchAgentPath(home, instName string) string {
	return filepath.Join(home, "Library", "LaunchAgents", LaunchdLabel(instName)+".plist")
}

// LaunchDaemonPath is where the launchd daemon of instName lives.
func LaunchDaemonPath(instName string) string {
	return "/Library/LaunchDaemons/" + LaunchdDaemonLabel(instName) + ".plist"
}

// LaunchdPlist is the launchd job that runs `limactl start NAME --foreground` in the instance
// directory, as Lima's does, with $LIMA_HOME set. userName is set for daemons only (the user the
// instance runs as).
func LaunchdPlist(label, userName, limactl, instName, workDir, limaHome string) []byte {
	var b bytes.Buffer
	str := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return "<string>" + e.String() + "</string>"
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	fmt.Fprintf(&b, "\t<key>Label</key>\n\t%s\n", str(label))
	if userName != "" {
		fmt.Fprintf(&b, "\t<key>UserName</key>\n\t%s\n", str(userName))
	}
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range []string{limactl, "start", instName, "--foreground"} {
		fmt.Fprintf(&b, "\t\t%s\n", str(a))
	}
	b.WriteString("\t</array>\n\t<key>RunAtLoad</key>\n\t<true/>\n")
	if limaHome != "" {
		fmt.Fprintf(&b, "\t<key>EnvironmentVariables</key>\n\t<dict>\n\t\t<key>LIMA_HOME</key>\n\t\t%s\n\t</dict>\n", str(limaHome))
	}
	b.WriteString("\t<key>StandardErrorPath</key>\n\t<string>launchd.stderr.log</string>\n")
	b.WriteString("\t<key>StandardOutPath</key>\n\t<string>launchd.stdout.log</string>\n")
	fmt.Fprintf(&b, "\t<key>WorkingDirectory</key>\n\t%s\n", str(workDir))
	b.WriteString("\t<key>ProcessType</key>\n\t<string>Background</string>\n</dict>\n</plist>\n")
	return b.Bytes()
}
