#!/bin/sh
# Lets the user pass allow_other to FUSE mounts (reverse-sshfs mounts use it), then marks it done:
# /run/lima-fuse-ready holds the instance id and "LIMA| fuse-ready <iid>" goes to the console.
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
conf=/etc/fuse.conf
if [ ! -e "${conf}" ]; then
	echo user_allow_other >"${conf}"
elif ! grep -q '^[[:space:]]*user_allow_other' "${conf}"; then
	if grep -q '^#[[:space:]]*user_allow_other' "${conf}"; then
		sed -i 's/^#[[:space:]]*user_allow_other.*/user_allow_other/' "${conf}"
	else
		echo user_allow_other >>"${conf}"
	fi
fi
lima_marker /run/lima-fuse-ready fuse-ready
