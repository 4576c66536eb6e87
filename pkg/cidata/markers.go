package cidata

import "strings"

// Files the boot scripts write in the guest; each holds the instance id and a newline (see the
// package doc). A marker whose content differs from Seed.InstanceID is from another configuration.
const (
	MarkerSSHReady       = "/run/lima-ssh-ready"
	MarkerFuseReady      = "/run/lima-fuse-ready"
	MarkerBootDone       = "/run/lima-boot-done"
	MarkerBootFailed     = "/run/lima-boot-failed"     // "<path> <status>" lines, not the id
	MarkerRebootRequired = "/run/lima-reboot-required" // created by the guest, not by us
	// boot.Linux/40-containerd.sh: ready holds the id; failed says which step failed, for which archive.
	MarkerContainerdReady  = "/run/lima-containerd-ready"
	MarkerContainerdFailed = "/run/lima-containerd-failed"
)

// ConsolePrefix starts every line the boot scripts write to the guest console.
const ConsolePrefix = "LIMA| "

// Console events, the first word after ConsolePrefix.
const (
	EventBootStart      = "boot-start"      // <iid>
	EventSSHReady       = "ssh-ready"       // <iid>
	EventFuseReady      = "fuse-ready"      // <iid>
	EventProvision      = "provision"       // <mode> <NNNNNNNN> (no iid)
	EventScriptFailed   = "script-failed"   // <iid> <path> <status>
	EventRebootRequired = "reboot-required" // <iid>
	EventBootDone       = "boot-done"       // <iid>
	// boot.Linux/40-containerd.sh
	EventContainerdInstall = "containerd-install" // <iid> <archive name>
	EventContainerdReady   = "containerd-ready"   // <iid>
)

// ConsoleEvent is one parsed console line.
type ConsoleEvent struct {
	Event string   // one of the Event* constants (or a newer one this version does not know)
	IID   string   // instance id, "" for events that carry none
	Args  []string // the remaining words
}

// ParseConsoleLine parses a console line written by the boot scripts. It tolerates a carriage return
// and leading noise on the line (kernel messages may share the serial port), and reports false for
// any other line.
func ParseConsoleLine(line string) (ConsoleEvent, bool) {
	i := strings.Index(line, ConsolePrefix)
	if i < 0 {
		return ConsoleEvent{}, false
	}
	f := strings.Fields(strings.TrimRight(line[i+len(ConsolePrefix):], "\r\n"))
	if len(f) == 0 {
		return ConsoleEvent{}, false
	}
	ev := ConsoleEvent{Event: f[0], Args: f[1:]}
	if ev.Event != EventProvision && len(ev.Args) > 0 && strings.HasPrefix(ev.Args[0], "iid-") {
		ev.IID, ev.Args = ev.Args[0], ev.Args[1:]
	}
	return ev, true
}
