package qemu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// mountArgs exports the mounts when mountType is 9p or virtiofs; reverse-sshfs needs nothing from QEMU.
// Each share's tag is driver.MountTag, which cidata's mount entries use too.
func mountArgs(p *Plan, y *limayaml.LimaYAML, host HostFacts, memMiB int64) error {
	add := func(args ...string) { p.Args = append(p.Args, args...) }
	mountType := deref(y.MountType)
	switch mountType {
	case "", limayaml.REVSSHFS:
		return nil
	case limayaml.NINEP:
		for _, m := range y.Mounts {
			mp := mountPoint(m)
			model := deref(m.NineP.SecurityModel)
			if model == "" {
				model = "none"
			}
			tag := driver.MountTag(m.Location, mp)
			p.MountDirs = append(p.MountDirs, m.Location)
			opt := "local,mount_tag=" + tag + ",path=" + qemuOptEscape(m.Location) + ",security_model=" + model + ",id=" + tag
			if !deref(m.Writable) {
				opt += ",readonly=on"
			}
			add("-virtfs", opt)
		}
		if len(y.Mounts) > 0 {
			p.Notes = append(p.Notes, "9p shares mounted in the guest block snapshots of a running instance")
		}
		return nil
	case limayaml.VIRTIOFS:
		if len(y.Mounts) == 0 {
			return nil
		}
		if host.OS != "linux" {
			return fmt.Errorf("qemu: mountType virtiofs needs a Linux host (virtiofsd); use 9p or reverse-sshfs: %w", driver.ErrUnsupported)
		}
		if host.Virtiofsd == "" {
			return fmt.Errorf("qemu: mountType virtiofs needs virtiofsd, which was not found (Debian: /usr/lib/qemu/virtiofsd from qemu-system-common, or the virtiofsd package); install it or use 9p: %w", driver.ErrNotFound)
		}
		// vhost-user needs guest RAM QEMU can share with virtiofsd; its size must equal -m.
		add("-object", fmt.Sprintf("memory-backend-memfd,id=virtiofs-shm,size=%dM,share=on", memMiB))
		add("-numa", "node,memdev=virtiofs-shm")
		for i, m := range y.Mounts {
			sock := p.Sockets.Virtiofsd[i]
			tag := driver.MountTag(m.Location, mountPoint(m))
			p.MountDirs = append(p.MountDirs, m.Location)
			v := VirtiofsdProcess{
				Binary: host.Virtiofsd,
				Args:   []string{"--socket-path=" + sock, "-o", "source=" + strings.ReplaceAll(m.Location, ",", `\,`), "-o", "cache=auto"},
				Socket: sock,
			}
			if !deref(m.Writable) {
				if err := virtiofsReadOnly(&v, i, m, host); err != nil {
					return err
				}
			}
			p.Virtiofsd = append(p.Virtiofsd, v)
			queue := 1024
			if q := deref(m.Virtiofs.QueueSize); q > 0 {
				queue = q
			}
			id := "char-virtiofs-" + strconv.Itoa(i)
			add("-chardev", "socket,id="+id+",path="+sock)
			add("-device", "vhost-user-fs-pci,queue-size="+strconv.Itoa(queue)+",chardev="+id+",tag="+tag)
		}
		return nil
	}
	return fmt.Errorf("qemu: mountType %q is not available with vmType qemu; use reverse-sshfs, 9p or virtiofs: %w", mountType, driver.ErrInvalidConfig)
}

// virtiofsReadOnly makes the host keep the guest from changing a read-only virtiofs mount, since
// root in the guest can remount it read-write: as root, virtiofsd runs where the folder is a
// read-only bind mount (the kernel refuses every change); a virtiofsd with --readonly gets it too
// (its own checks, the only defence when limactl is not root). With neither, the mount is refused.
func virtiofsReadOnly(v *VirtiofsdProcess, i int, m limayaml.Mount, host HostFacts) error {
	if host.UID != 0 && !host.VirtiofsdReadOnly {
		return fmt.Errorf("qemu: mounts[%d].writable is false, but with mountType virtiofs nothing on this host would keep the guest from writing to %s "+
			"(%s has no --readonly option, and a read-only bind mount for it needs root): use mountType 9p (QEMU enforces readonly=on), "+
			"install a virtiofsd with --readonly, run limactl as root, or set mounts[%d].writable: true: %w",
			i, m.Location, host.Virtiofsd, i, driver.ErrUnsupported)
	}
	if host.VirtiofsdReadOnly {
		v.Args = append(v.Args, "--readonly")
	}
	if host.UID == 0 {
		v.ReadOnlyBind = m.Location
	}
	return nil
}

func mountPoint(m limayaml.Mount) string {
	if m.MountPoint != nil && *m.MountPoint != "" {
		return *m.MountPoint
	}
	return m.Location
}

// qemuOptEscape escapes a value for QEMU's key=value,... option syntax (a comma is doubled).
func qemuOptEscape(v string) string { return strings.ReplaceAll(v, ",", ",,") }
