package vz

import (
	"runtime"
	"strings"

	"github.com/limactl/limactl/pkg/limayaml"
)

// RosettaBootScript is the cidata path of the script that mounts the Rosetta share in the guest and,
// with vmOpts.vz.rosetta.binfmt, registers it as the interpreter of x86_64 ELF binaries.
const RosettaBootScript = "boot.Linux/05-rosetta.sh"

// rosettaBinfmt is the binfmt_misc registration Apple documents for Rosetta in Linux guests: the
// x86_64 ELF header magic and mask, and the flags O (open the binary), C (credentials of the binary)
// and F (keep the interpreter open, so it works in containers too).
const rosettaBinfmt = `:rosetta:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:` +
	RosettaMountPoint + `/rosetta:OCF`

// BootScripts implements driver.Driver: with Rosetta enabled on an Apple silicon host, a script that
// mounts the Rosetta share (and registers binfmt_misc when asked). Pure: it depends on the config and
// the host arch only.
func (d *Driver) BootScripts() map[string][]byte {
	y := d.cfg.Config
	if y == nil || !rosettaEnabled(y) {
		return nil
	}
	hostArch := limayaml.GoArchToLima(runtime.GOARCH)
	if d.opts.Host != nil {
		hostArch = d.opts.Host.Arch
	}
	if hostArch != limayaml.AARCH64 {
		return nil
	}
	return map[string][]byte{RosettaBootScript: []byte(rosettaScript(rosettaBinFmt(y)))}
}

func rosettaScript(binfmt bool) string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
# Mount Apple's Rosetta for Linux, shared by vz over virtiofs (tag ` + RosettaTag + `).
set -eu
mkdir -p ` + RosettaMountPoint + `
if ! mountpoint -q ` + RosettaMountPoint + `; then
	mount -t virtiofs ` + RosettaTag + ` ` + RosettaMountPoint + `
fi
`)
	if binfmt {
		b.WriteString(`# Run x86_64 binaries through Rosetta.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/rosetta ]; then
	# Rosetta replaces qemu-user for x86_64, so drop a registration that would win over it.
	if [ -e /proc/sys/fs/binfmt_misc/qemu-x86_64 ]; then
		echo -1 >/proc/sys/fs/binfmt_misc/qemu-x86_64
	fi
	# binfmt_misc decodes the \x escapes itself: printf passes them through untouched.
	printf '%s\n' '` + rosettaBinfmt + `' >/proc/sys/fs/binfmt_misc/register
fi
`)
	}
	return b.String()
}
