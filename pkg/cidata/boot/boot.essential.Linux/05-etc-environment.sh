#!/bin/sh
# Puts env (and the propagated proxy variables) into /etc/environment, ends the user's sessions that
# started before the change (they would keep the old environment), then marks the user session ready:
# /run/lima-ssh-ready holds the instance id and "LIMA| ssh-ready <iid>" goes to the console.
# shellcheck disable=SC2153 # LIMA_CIDATA_* come from lima.env
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
changed=$(lima_block_replace /etc/environment "${LIMA_CIDATA_MNT}/etc_environment" "limactl env")
if [ -n "${changed}" ]; then
	INFO "/etc/environment changed; ending sessions of ${LIMA_CIDATA_USER} opened before"
	if command -v pkill >/dev/null 2>&1; then
		pkill -KILL -u "${LIMA_CIDATA_USER}" -x 'sshd|sshd-session' || :
	elif command -v loginctl >/dev/null 2>&1; then
		loginctl terminate-user "${LIMA_CIDATA_USER}" 2>/dev/null || :
	fi
fi
lima_marker /run/lima-ssh-ready ssh-ready
