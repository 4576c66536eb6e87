#!/bin/sh
# Mounts the additional disks (additionalDisks in lima.yaml) at /mnt/lima-NAME, formatting an empty
# disk first unless its format is false. The host gives each disk's virtio-blk device the serial
# lima-NAME, so the disk is /dev/disk/by-id/virtio-lima-NAME whatever order the devices come in
# (virtio-blk keeps the first 20 bytes of a serial). A disk grown with `limactl disk resize` gets its
# ext4 or xfs filesystem grown here too.
# shellcheck disable=SC2154 # LIMA_CIDATA_* come from lima.env, the rest from eval
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
rc=0
i=0
while [ "$i" -lt "${LIMA_CIDATA_DISKS:-0}" ]; do
	eval "name=\${LIMA_CIDATA_DISK_${i}_NAME}"
	eval "format=\${LIMA_CIDATA_DISK_${i}_FORMAT:-}"
	eval "fstype=\${LIMA_CIDATA_DISK_${i}_FSTYPE:-ext4}"
	eval "fsargs=\${LIMA_CIDATA_DISK_${i}_FSARGS:-}"
	i=$((i + 1))
	mp="/mnt/lima-${name}"
	if mountpoint -q "${mp}" 2>/dev/null; then
		continue
	fi
	serial=$(printf 'lima-%s' "${name}" | cut -c1-20)
	dev="/dev/disk/by-id/virtio-${serial}"
	# udev may still be creating the link this early in boot.
	n=0
	while [ ! -e "${dev}" ] && [ "${n}" -lt 30 ]; do
		sleep 1
		n=$((n + 1))
	done
	if [ ! -e "${dev}" ]; then
		WARNING "additional disk ${name}: ${dev} does not exist (is the disk attached?)"
		rc=1
		continue
	fi
	fresh=
	if [ -n "${format}" ] && [ -z "$(blkid -o value -s TYPE "${dev}" 2>/dev/null || :)" ]; then
		INFO "formatting additional disk ${name} (${dev}) as ${fstype}"
		# shellcheck disable=SC2086 # fsargs are separate words
		if ! "mkfs.${fstype}" ${fsargs} "${dev}"; then
			WARNING "additional disk ${name}: mkfs.${fstype} failed"
			rc=1
			continue
		fi
		fresh=1
	fi
	mkdir -p "${mp}"
	if ! mount "${dev}" "${mp}"; then
		WARNING "additional disk ${name}: could not mount ${dev} on ${mp}"
		rc=1
		continue
	fi
	if [ -n "${fresh}" ]; then
		chown "${LIMA_CIDATA_USER}" "${mp}"
	fi
	# Grow the filesystem online to the disk's size (a no-op unless the disk was resized).
	src=$(findmnt -n -o SOURCE "${mp}" 2>/dev/null || :)
	case "$(findmnt -n -o FSTYPE "${mp}" 2>/dev/null || :)" in
	ext4 | ext3 | ext2) resize2fs "${src:-${dev}}" >/dev/null 2>&1 || WARNING "additional disk ${name}: resize2fs failed" ;;
	xfs) xfs_growfs "${mp}" >/dev/null 2>&1 || WARNING "additional disk ${name}: xfs_growfs failed" ;;
	esac
done
exit "${rc}"
