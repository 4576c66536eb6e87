#!/usr/bin/env bash
# customize.sh ROOTFS: mmdebstrap customize hook for the test guest image.
# Runs on the host after all packages are installed into ROOTFS (a directory).
# Each block says which boot-time cost or pitfall it avoids; see docs/test-image.md.
set -euo pipefail
root=${1:?usage: customize.sh ROOTFS}
here=$(cd "$(dirname "$0")" && pwd)
in_root() { chroot "$root" "$@"; }

# Identity. mmdebstrap copies the host's hostname and resolv.conf (P2); cloud-init sets
# the real hostname. DNS is slirp's address on Lima's network, 192.168.5.3, which the
# hostResolver boot script redirects to the host agent: networkd learns it from DHCP too,
# but without systemd-resolved nothing writes it into resolv.conf.
echo localhost >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
rm -f "$root/etc/resolv.conf"
echo 'nameserver 192.168.5.3' >"$root/etc/resolv.conf"
echo 'LABEL=root / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"

# Every guest must get its own machine-id and ssh host keys (P3): systemd writes a fresh
# machine-id at first boot, cloud-init's ssh module generates host keys.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*

# Networking without ifupdown (P5): systemd-networkd does DHCP on any virtio NIC;
# cloud-init picks its networkd renderer because ifupdown is absent.
install -D -m 0644 /dev/stdin "$root/etc/systemd/network/99-default-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes

[DHCPv4]
UseDomains=true
NET
in_root systemctl enable systemd-networkd.service >/dev/null 2>&1
in_root systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1

# Units that cost seconds under TCG and do nothing useful in a throwaway test guest.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer getty@tty1.service systemd-pstore.service; do
	in_root systemctl disable "$unit" >/dev/null 2>&1 || true
done
in_root systemctl mask systemd-pstore.service e2scrub_reap.service >/dev/null 2>&1 || true

# cloud-init: NoCloud only, trimmed modules (see 99-limactl-test.cfg). ds-identify is a
# shell script that is slow under TCG; without its exec bit the generator enables
# cloud-init and the datasource_list decides.
install -m 0644 "$here/99-limactl-test.cfg" "$root/etc/cloud/cloud.cfg.d/99-limactl-test.cfg"
if [ -e "$root/usr/lib/cloud-init/ds-identify" ]; then
	in_root dpkg-statoverride --update --add root root 0644 /usr/lib/cloud-init/ds-identify
fi

# fuse: let sshfs mounts made by the login user be seen by other users when asked to.
if [ -e "$root/etc/fuse.conf" ]; then
	sed -i 's/^#\s*user_allow_other/user_allow_other/' "$root/etc/fuse.conf"
fi

# Kernel: drop the initramfs-tools initrd (the tiny one replaces it) and modules a QEMU
# guest never loads. Kept: virtio, block/scsi, net (netfilter for iptables), 9p, fuse
# (virtiofs), ext4, isofs, fat, overlay, squashfs, nls, crypto, lib.
rm -f "$root"/boot/initrd.img-*
for moddir in "$root"/lib/modules/*/kernel; do
	# kvm: -cpu max shows SVM/VMX, so udev would load kvm for nothing (no nested KVM under TCG).
	rm -rf "$moddir/sound" "$moddir/net/wireless" "$moddir/net/mac80211" "$moddir/net/bluetooth" \
		"$moddir/arch/x86/kvm"
	for d in gpu media infiniband staging bluetooth iio isdn mmc mtd nfc usb net/wireless \
		net/ethernet net/can net/usb net/ieee802154 net/wwan hwmon input/touchscreen \
		input/joystick input/misc thunderbolt comedi scsi/qla2xxx scsi/lpfc \
		scsi/mpt3sas scsi/bfa scsi/be2iscsi scsi/qedf scsi/qedi scsi/megaraid scsi/aacraid \
		md/bcache accel firewire fpga leds misc/habanalabs atm watchdog input/mouse edac; do
		rm -rf "$moddir/drivers/$d"
	done
	for d in "$moddir"/fs/*; do
		case "${d##*/}" in
		ext4 | jbd2 | mbcache.ko* | binfmt_misc.ko* | 9p | fuse | isofs | fat | overlayfs | squashfs | nls | netfs | fscache | autofs) ;;
		*) rm -rf "$d" ;;
		esac
	done
	kver=$(basename "$(dirname "$moddir")")
	in_root depmod -a "$kver"
done

# Leave nothing from the build behind.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
	"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/*.log \
	"$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/*
find "$root/var/cache/man" -mindepth 1 -delete 2>/dev/null || true
