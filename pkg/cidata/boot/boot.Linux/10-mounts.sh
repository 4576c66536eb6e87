#!/bin/sh
# Mounts the 9p and virtiofs shares that are not mounted yet, and creates the mount points of
# reverse-sshfs shares, owned by the user, for the host agent to mount onto. This is the reliable path
# for shares: cloud-init's mounts module runs only when the instance id changes, and cloud-init 22.4
# (Debian 12) skips a tag such as lima-1a2b3c4d because it is neither a block device nor host:path.
# shellcheck disable=SC2153,SC2154 # LIMA_CIDATA_* come from lima.env, the rest from eval
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
rc=0
i=0
while [ "$i" -lt "${LIMA_CIDATA_MOUNTS:-0}" ]; do
	eval "mp=\${LIMA_CIDATA_MOUNTS_${i}_MOUNTPOINT}"
	eval "type=\${LIMA_CIDATA_MOUNTS_${i}_TYPE}"
	eval "tag=\${LIMA_CIDATA_MOUNTS_${i}_TAG:-}"
	eval "opts=\${LIMA_CIDATA_MOUNTS_${i}_OPTIONS:-}"
	i=$((i + 1))
	case "${type}" in
	9p | virtiofs)
		if mountpoint -q "${mp}" 2>/dev/null; then
			continue
		fi
		mkdir -p "${mp}"
		if ! mount -t "${type}" -o "${opts}" "${tag}" "${mp}"; then
			WARNING "could not mount ${type} share ${tag} on ${mp}"
			rc=1
		fi
		;;
	reverse-sshfs)
		if [ ! -d "${mp}" ]; then
			mkdir -p "${mp}"
			chown "${LIMA_CIDATA_USER}" "${mp}"
		fi
		;;
	esac
done
exit "${rc}"
