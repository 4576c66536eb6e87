#!/bin/sh
# Installs the guest agent from cidata into ${LIMA_CIDATA_GUEST_INSTALL_PREFIX}/bin and runs it as the
# systemd service lima-guestagent (restarted only when the binary or the unit changed).
# shellcheck disable=SC2153 # LIMA_CIDATA_* come from lima.env
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
src="${LIMA_CIDATA_MNT}/lima-guestagent"
[ -f "${src}" ] || exit 0
if [ ! -d /run/systemd/system ]; then
	WARNING "not starting the guest agent: this guest does not run systemd"
	exit 0
fi
bin="${LIMA_CIDATA_GUEST_INSTALL_PREFIX:-/usr/local}/bin/lima-guestagent"
# The digest of the binary an earlier boot installed, recorded next to the host's (lima.env): when
# they match and the binary has not changed since the record (another tool may install one at the
# same path), it is not read again (several MB from the cidata disk, half a second or more under an
# emulated CPU).
stamp=/var/lib/lima/guestagent.sha256
digest=${LIMA_CIDATA_GUESTAGENT_SHA256:-}
installed=
[ -z "${digest}" ] || read -r installed 2>/dev/null <"${stamp}" || installed=
changed=
# shellcheck disable=SC3013 # -nt: dash, busybox sh, bash and zsh all have it
if [ -n "${digest}" ] && [ "${installed}" = "${digest} ${bin}" ] && [ -x "${bin}" ] && [ ! "${bin}" -nt "${stamp}" ]; then
	:
elif ! cmp -s "${src}" "${bin}"; then
	mkdir -p "$(dirname "${bin}")"
	cp "${src}" "${bin}.tmp"
	chmod 755 "${bin}.tmp"
	mv -f "${bin}.tmp" "${bin}"
	changed=1
fi
if [ -z "${digest}" ]; then
	rm -f "${stamp}"
elif [ -n "${changed}" ] || [ "${installed}" != "${digest} ${bin}" ]; then
	# Written after the binary, so that the binary is not newer than its record.
	{ mkdir -p "$(dirname "${stamp}")" && printf '%s %s\n' "${digest}" "${bin}" >"${stamp}.tmp" && mv -f "${stamp}.tmp" "${stamp}"; } ||
		WARNING "cannot record the guest agent's digest in ${stamp}; the next boot compares the binary again"
fi
args="daemon"
if [ -n "${LIMA_CIDATA_VSOCK_PORT:-}" ] && [ "${LIMA_CIDATA_VSOCK_PORT}" != 0 ]; then
	args="${args} --vsock-port ${LIMA_CIDATA_VSOCK_PORT}"
fi
if [ -n "${LIMA_CIDATA_VIRTIO_PORT:-}" ]; then
	args="${args} --virtio-port ${LIMA_CIDATA_VIRTIO_PORT}"
fi
unit=/etc/systemd/system/lima-guestagent.service
tmp=$(mktemp "${unit}.XXXXXX")
cat >"${tmp}" <<UNIT
[Unit]
Description=lima-guestagent (port watcher and forwarder for limactl)
After=network.target

[Service]
ExecStart=${bin} ${args}
Type=simple
Restart=on-failure
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
UNIT
reload=
if cmp -s "${tmp}" "${unit}"; then
	rm -f "${tmp}"
else
	# systemd reads a unit file it has never loaded when the unit is first named, so a new file
	# needs no daemon-reload (each costs about 2 s under TCG); a changed one does.
	[ ! -e "${unit}" ] || reload=1
	chmod 644 "${tmp}"
	mv -f "${tmp}" "${unit}"
	changed=1
fi
if [ -n "${changed}" ]; then
	[ -z "${reload}" ] || systemctl daemon-reload
	systemctl --no-reload enable lima-guestagent.service
	if ! systemctl restart lima-guestagent.service; then
		systemctl daemon-reload
		systemctl restart lima-guestagent.service
	fi
else
	systemctl start lima-guestagent.service
fi
