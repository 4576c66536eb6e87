#!/bin/sh
# Written by limactl through cloud-init write_files; run on every boot by the lima-boot unit that
# cloud-init's bootcmd queues, and by cloud-init's final stage (scripts-per-boot).
# It mounts the cidata volume read-only, root-only, and hands over to its boot.sh.
set -eu
LIMA_CIDATA_MNT=/mnt/lima-cidata
export LIMA_CIDATA_MNT
dev=/dev/disk/by-label/cidata
[ -e "${dev}" ] || dev=$(blkid -L cidata 2>/dev/null || echo /dev/disk/by-label/CIDATA)
[ -d "${LIMA_CIDATA_MNT}" ] || mkdir -m 700 "${LIMA_CIDATA_MNT}"
if ! mountpoint -q "${LIMA_CIDATA_MNT}"; then
	# The early lima-boot unit and cloud-init's final stage may both get here: the loser of a mount
	# race finds the volume mounted.
	mount -o ro,mode=0700,dmode=0700,overriderockperm,exec,uid=0 "${dev}" "${LIMA_CIDATA_MNT}" ||
		mount -o ro "${dev}" "${LIMA_CIDATA_MNT}" || mountpoint -q "${LIMA_CIDATA_MNT}"
fi
exec "${LIMA_CIDATA_MNT}/boot.sh"
