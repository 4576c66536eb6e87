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
	# pkill exits 0 or 1 when it could look (matched or not); 2 or more when it could not (busybox's
	# has no -u): then loginctl, whose sessions are what sshd opened.
	rc=2
	if command -v pkill >/dev/null 2>&1; then
		rc=0
		pkill -KILL -u "${LIMA_CIDATA_USER}" -x 'sshd|sshd-session' 2>/dev/null || rc=$?
	fi
	if [ "${rc}" -ge 2 ] && command -v loginctl >/dev/null 2>&1; then
		loginctl terminate-user "${LIMA_CIDATA_USER}" 2>/dev/null || :
	fi
fi
lima_marker /run/lima-ssh-ready ssh-ready
