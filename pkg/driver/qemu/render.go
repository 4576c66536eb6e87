package qemu

import (
	"fmt"
	"strings"
)

// String renders the plan as text for logs and golden files: each option with its value on one line.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "binary: %s\naccel: %s\nargs:\n", p.Binary, p.Accel)
	for i := 0; i < len(p.Args); i++ {
		line := p.Args[i]
		if strings.HasPrefix(line, "-") && i+1 < len(p.Args) && !strings.HasPrefix(p.Args[i+1], "-") {
			i++
			line += " " + p.Args[i]
		}
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "pidfile: %s\nserial log: %s\n", p.PIDFile, p.SerialLog)
	fmt.Fprintf(&b, "sockets: dir=%s qmp=%s serial=%s ga=%s gat=%s\n", p.Sockets.Dir, p.Sockets.QMP, p.Sockets.Serial, p.Sockets.GuestAgent, p.Sockets.GuestAgentTunnel)
	for _, s := range p.Sockets.Virtiofsd {
		fmt.Fprintf(&b, "  virtiofsd socket: %s\n", s)
	}
	for _, d := range p.Dirs {
		fmt.Fprintf(&b, "dir: %s\n", d)
	}
	for _, l := range p.Symlinks {
		fmt.Fprintf(&b, "symlink: %s -> %s\n", l.Link, l.Target)
	}
	for _, f := range p.Files {
		fmt.Fprintf(&b, "file: %s = %q\n", f.Path, f.Content)
	}
	for _, r := range p.Requires {
		fmt.Fprintf(&b, "requires: %s (made by %s)\n", r.Path, r.MadeBy)
	}
	for _, v := range p.Virtiofsd {
		fmt.Fprintf(&b, "virtiofsd: %s %s\n", v.Binary, strings.Join(v.Args, " "))
		if v.ReadOnlyBind != "" {
			fmt.Fprintf(&b, "  in a private mount namespace, %s bound read-only\n", v.ReadOnlyBind)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
