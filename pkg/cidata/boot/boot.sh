#!/bin/sh
# Runs on every boot, as root, from /var/lib/cloud/scripts/per-boot/00-lima.boot.sh with the cidata
# volume mounted at LIMA_CIDATA_MNT: started by the transient unit lima-boot.service (queued by
# cloud-init's bootcmd, it runs once cloud-init's init stage is done), or by cloud-init's final stage
# where that unit did not run. Order: boot.essential.Linux/*, then
# boot.Linux/* (not in plain mode), then provisioning (dependency, data, yq, system, user), then the
# boot-done marker. A failing script is recorded in /run/lima-boot-failed and announced; the rest still
# runs, as every script must be idempotent.
# shellcheck disable=SC2153,SC2154 # LIMA_CIDATA_* come from lima.env, the rest from eval
set -eu
LC_ALL=C
export LC_ALL
LIMA_CIDATA_MNT=${LIMA_CIDATA_MNT:-/mnt/lima-cidata}
export LIMA_CIDATA_MNT
set -a
# shellcheck source=/dev/null
. "${LIMA_CIDATA_MNT}/lima.env"
# shellcheck source=/dev/null
[ ! -f "${LIMA_CIDATA_MNT}/param.env" ] || . "${LIMA_CIDATA_MNT}/param.env"
set +a
LIMA_CIDATA_IID=$(sed -n 's/^instance-id: *//p' "${LIMA_CIDATA_MNT}/meta-data")
export LIMA_CIDATA_IID
# shellcheck source=util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"

# Once per boot: from the lima-boot unit that cloud-init's bootcmd queues (early, beside sshd), or
# from cloud-init's final stage when that unit did not run; whichever comes second stops here. The
# boot id keeps the claim to this boot even where /run is not a tmpfs.
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
if ! mkdir "/run/lima-boot.${boot_id}" 2>/dev/null; then
	INFO "the boot scripts already run in this boot (see the lima-boot unit); nothing to do"
	exit 0
fi
if [ "${LIMA_BOOT_UNIT:-}" = 1 ]; then
	# Where cloud-init's final stage would have sent the output: its log and the console.
	_out="/run/lima-boot.${boot_id}/output"
	if mkfifo -m 600 "${_out}" 2>/dev/null; then
		tee -a /var/log/cloud-init-output.log <"${_out}" >>/dev/console 2>/dev/null &
		exec >"${_out}" 2>&1
	else
		exec >>/var/log/cloud-init-output.log 2>&1
	fi
fi

rm -f /run/lima-boot-done /run/lima-boot-failed
# The first SSH login of a boot waits for the user's systemd instance to start (about 2 s under
# emulation, in the middle of the host agent's first connection): start it now, beside sshd, as
# lingering would. It stops as usual after the user's last session ends.
if [ -d /run/systemd/system ] && [ -n "${LIMA_CIDATA_UID:-}" ]; then
	systemctl start --no-block "user@${LIMA_CIDATA_UID}.service" 2>/dev/null || :
fi
lima_announce "boot-start ${LIMA_CIDATA_IID}"
failures=0

# record_failure NAME STATUS
record_failure() {
	failures=$((failures + 1))
	WARNING "$1 failed with exit status $2"
	printf '%s %s\n' "$1" "$2" >>/run/lima-boot-failed
	lima_announce "script-failed ${LIMA_CIDATA_IID} $1 $2"
}

# run_script FILE: runs one script as root; a shebang-less file runs under /bin/sh.
run_script() {
	_name=${1#"${LIMA_CIDATA_MNT}/"}
	# The guest's uptime (read without a fork) dates each script in the log.
	_up='?'
	read -r _up _ </proc/uptime 2>/dev/null || :
	INFO "running ${_name} (uptime ${_up} s)"
	if "$1"; then :; else record_failure "${_name}" "$?"; fi
}

for dir in boot.essential.Linux boot.Linux; do
	if [ "${dir}" = boot.Linux ] && [ "${LIMA_CIDATA_PLAIN:-}" = 1 ]; then
		continue
	fi
	for f in "${LIMA_CIDATA_MNT}/${dir}"/*; do
		[ -f "$f" ] || continue
		run_script "$f"
	done
done

# The lima-boot unit runs Lima's own scripts at nice -10, ahead of cloud-init's stages; the user's
# provisioning runs at the usual priority.
if [ -n "${LIMA_BOOT_UNIT:-}" ]; then
	renice 0 -p $$ >/dev/null 2>&1 || :
fi

# Provisioning, in Lima's order.
for f in "${LIMA_CIDATA_MNT}"/provision.dependency/*; do
	[ -f "$f" ] || continue
	lima_announce "provision dependency ${f##*/}"
	run_script "$f"
done

for f in "${LIMA_CIDATA_MNT}"/provision.data/*; do
	[ -f "$f" ] || continue
	n=${f##*/}
	eval "path=\${LIMA_CIDATA_DATAFILE_${n}_PATH}"
	eval "owner=\${LIMA_CIDATA_DATAFILE_${n}_OWNER:-root:root}"
	eval "perms=\${LIMA_CIDATA_DATAFILE_${n}_PERMISSIONS:-644}"
	eval "overwrite=\${LIMA_CIDATA_DATAFILE_${n}_OVERWRITE:-true}"
	if [ -e "${path}" ] && [ "${overwrite}" = false ]; then
		INFO "provision.data/${n}: ${path} exists, not overwriting"
		continue
	fi
	lima_announce "provision data ${n}"
	if mkdir -p "$(dirname "${path}")" && cp "$f" "${path}.lima-tmp" && chown "${owner}" "${path}.lima-tmp" &&
		chmod "${perms}" "${path}.lima-tmp" && mv -f "${path}.lima-tmp" "${path}"; then :; else
		record_failure "provision.data/${n}" "$?"
	fi
done

for f in "${LIMA_CIDATA_MNT}"/provision.yq/*; do
	[ -f "$f" ] || continue
	n=${f##*/}
	if ! command -v yq >/dev/null 2>&1; then
		WARNING "provision.yq/${n}: skipped, there is no yq binary in the guest (install yq in the image)"
		continue
	fi
	eval "path=\${LIMA_CIDATA_YQ_PROVISION_${n}_PATH}"
	eval "format=\${LIMA_CIDATA_YQ_PROVISION_${n}_FORMAT:-auto}"
	eval "owner=\${LIMA_CIDATA_YQ_PROVISION_${n}_OWNER:-}"
	eval "perms=\${LIMA_CIDATA_YQ_PROVISION_${n}_PERMISSIONS:-}"
	lima_announce "provision yq ${n}"
	mkdir -p "$(dirname "${path}")"
	[ -e "${path}" ] || : >"${path}"
	if [ "${format}" = auto ]; then
		set -- -i
	else
		set -- -i -p "${format}" -o "${format}"
	fi
	if yq "$@" "$(cat "$f")" "${path}"; then :; else record_failure "provision.yq/${n}" "$?"; fi
	if [ -n "${owner}" ]; then chown "${owner}" "${path}" || record_failure "provision.yq/${n}" "$?"; fi
	if [ -n "${perms}" ]; then chmod "${perms}" "${path}" || record_failure "provision.yq/${n}" "$?"; fi
done

for f in "${LIMA_CIDATA_MNT}"/provision.system/*; do
	[ -f "$f" ] || continue
	lima_announce "provision system ${f##*/}"
	run_script "$f"
done

user_scripts=
for f in "${LIMA_CIDATA_MNT}"/provision.user/*; do
	[ -f "$f" ] && user_scripts=1
done
if [ -n "${user_scripts}" ]; then
	# Let the user's systemd instance come up, for scripts that use `systemctl --user`; lingering
	# starts it without a login. Bounded: a guest without libpam-systemd never gets one.
	if [ -d /run/systemd/system ] && command -v loginctl >/dev/null 2>&1; then
		loginctl enable-linger "${LIMA_CIDATA_USER}" || :
		i=0
		while [ ! -e "/run/user/${LIMA_CIDATA_UID}/systemd/private" ] && [ "$i" -lt 60 ]; do
			sleep 0.5
			i=$((i + 1))
		done
	fi
	params=$(sed -n 's/^\(PARAM_[A-Za-z0-9_]*\)=.*/\1/p' "${LIMA_CIDATA_MNT}/param.env" 2>/dev/null | tr '\n' ',' | sed 's/,$//')
	for f in "${LIMA_CIDATA_MNT}"/provision.user/*; do
		[ -f "$f" ] || continue
		lima_announce "provision user ${f##*/}"
		# The cidata mount is root-only: run a copy the user owns.
		tmp=$(mktemp /tmp/lima-provision-user.XXXXXX)
		cp "$f" "${tmp}"
		chown "${LIMA_CIDATA_USER}" "${tmp}"
		chmod 700 "${tmp}"
		if sudo -iu "${LIMA_CIDATA_USER}" ${params:+"--preserve-env=${params}"} "${tmp}"; then :; else
			record_failure "provision.user/${f##*/}" "$?"
		fi
		rm -f "${tmp}"
	done
fi

if [ -e /run/lima-reboot-required ]; then
	lima_announce "reboot-required ${LIMA_CIDATA_IID}"
else
	lima_marker /run/lima-boot-done boot-done
fi
[ "${failures}" -eq 0 ]
