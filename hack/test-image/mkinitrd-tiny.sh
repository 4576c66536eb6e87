#!/usr/bin/env bash
# mkinitrd-tiny.sh ROOTFS OUT.img: build a tiny busybox initramfs for the test guest image.
#
# The Debian generic kernel has virtio-blk, ext4 and friends as modules, so it needs an
# initrd to reach root=/dev/vda. initramfs-tools makes a 7-36 MB one that costs seconds
# under TCG; this one holds only busybox, the modules below (and whatever they depend
# on, as the rootfs's own modprobe reports) and a small /init. Built in about a second.
set -euo pipefail

rootfs=${1:?usage: mkinitrd-tiny.sh ROOTFS OUT.img}
out=${2:?usage: mkinitrd-tiny.sh ROOTFS OUT.img}
here=$(cd "$(dirname "$0")" && pwd)

# Loaded in this order, before the root filesystem is mounted. The first group is what
# it takes to mount root; the second is cheap and lets a Lima guest find its devices
# (cidata on a virtio-scsi CD, the virtio console and serial ports, the NIC, the RNG)
# without waiting for udev. 9p, virtiofs and fuse load later from the rootfs.
modules=(
	virtio_pci virtio_blk virtio_scsi sd_mod crc32c_generic ext4
	sr_mod isofs virtio_net virtio_console virtio-rng
)

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
	echo "mkinitrd-tiny.sh: busybox not found: install busybox-static (hack/install-host-deps.sh)" >&2
	exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitrd-tiny.sh: $busybox is dynamically linked: install busybox-static" >&2
	exit 1
fi

kver=$(basename "$(ls -d "$rootfs"/lib/modules/*/ | sort -V | tail -n1)")
[ -n "$kver" ] || { echo "mkinitrd-tiny.sh: no kernel modules in $rootfs/lib/modules" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mkinitrd-tiny.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,root,lib/modules}
cp "$busybox" "$work/bin/busybox"
for applet in sh mount umount insmod sleep switch_root cat mkdir echo findfs ls; do
	ln -s busybox "$work/bin/$applet"
done

# The rootfs's modprobe (the host may have no kmod) resolves dependencies; its output is
# "insmod /lib/modules/KVER/...ko [opts]" lines, deps first. "builtin" lines are skipped.
: >"$work/modules"
for m in "${modules[@]}"; do
	chroot "$rootfs" /sbin/modprobe --show-depends --set-version "$kver" "$m" |
		awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
	rel=${path#/lib/modules/}
	mkdir -p "$work/lib/modules/$(dirname "$rel")"
	cp "$rootfs$path" "$work/lib/modules/$rel"
	echo "/lib/modules/$rel" >>"$work/modules"
done
[ -s "$work/modules" ] || { echo "mkinitrd-tiny.sh: modprobe listed no modules for $kver" >&2; exit 1; }

install -m 0755 "$here/init" "$work/init"
(cd "$work" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 -n >"$out"
