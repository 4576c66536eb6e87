#!/bin/sh
# The wsl2 driver's boot script (embedded in limactl; Plan.BootScript prepends the variables and the
# list of mounts). WSL runs no cloud-init, so on every start this does, idempotently, what
# user-data does on the other drivers, then hands over to the cidata boot.sh like they do:
#   1. bind-mount the cidata directory (a host folder, seen under /mnt/<drive>) at LIMA_CIDATA_MNT;
#   2. create the user (lima.env) with passwordless sudo when asked;
#   3. install the user's authorized keys and the pinned ed25519 host key from user-data;
#   4. start sshd when systemd does not run it;
#   5. bind-mount host folders whose mount point is not their /mnt/<drive> path;
#   6. exec boot.sh (boot scripts, provisioning, the /run readiness markers).
# shellcheck disable=SC2153,SC2154 # LIMA_CIDATA_* come from lima.env, LIMA_WSL2_* and LIMA_CIDATA_MNT from the header
set -eu
export LIMA_CIDATA_MNT

lima_wsl2_log() { printf 'LIMA: wsl2: %s\n' "$*" >&2; }

# 1. cidata
if [ ! -d "${LIMA_WSL2_CIDATA_SRC}" ]; then
	lima_wsl2_log "the cidata folder ${LIMA_WSL2_CIDATA_SRC} is not visible in the distro; is [automount] disabled in /etc/wsl.conf?"
	exit 2
fi
[ -d "${LIMA_CIDATA_MNT}" ] || mkdir -m 700 "${LIMA_CIDATA_MNT}"
if ! mountpoint -q "${LIMA_CIDATA_MNT}" 2>/dev/null; then
	if mount --bind "${LIMA_WSL2_CIDATA_SRC}" "${LIMA_CIDATA_MNT}"; then
		mount -o remount,bind,ro "${LIMA_CIDATA_MNT}" 2>/dev/null || :
	else
		lima_wsl2_log "bind mount of cidata failed; copying it instead"
		cp -R "${LIMA_WSL2_CIDATA_SRC}/." "${LIMA_CIDATA_MNT}/"
	fi
fi
set -a
# shellcheck source=/dev/null
. "${LIMA_CIDATA_MNT}/lima.env"
set +a

# 2. the user
u=${LIMA_CIDATA_USER}
home=${LIMA_CIDATA_HOME}
shell=${LIMA_CIDATA_SHELL:-/bin/sh}
[ -x "${shell}" ] || shell=/bin/sh
if ! id "${u}" >/dev/null 2>&1; then
	if command -v useradd >/dev/null 2>&1; then
		useradd --create-home --uid "${LIMA_CIDATA_UID}" --home-dir "${home}" --shell "${shell}" \
			--comment "${LIMA_CIDATA_COMMENT:-}" "${u}"
	else
		adduser -D -u "${LIMA_CIDATA_UID}" -h "${home}" -s "${shell}" -g "${LIMA_CIDATA_COMMENT:-}" "${u}"
	fi
fi
if [ "${LIMA_CIDATA_PASSWORDLESS_SUDO:-}" = 1 ]; then
	mkdir -p /etc/sudoers.d
	printf '%s ALL=(ALL) NOPASSWD:ALL\n' "${u}" >/etc/sudoers.d/90-lima-user
	chmod 0440 /etc/sudoers.d/90-lima-user
fi

# 3. SSH keys, read from user-data's ssh_authorized_keys and ssh_keys.ed25519_*
ud=${LIMA_CIDATA_MNT}/user-data
mkdir -p "${home}/.ssh"
sed -n '/^ *ssh_authorized_keys:/,/^ *[a-z_]*:/s/^ *- *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "${ud}" >"${home}/.ssh/authorized_keys"
chmod 700 "${home}/.ssh"
chmod 600 "${home}/.ssh/authorized_keys"
chown -R "${u}" "${home}/.ssh"
if [ -d /etc/ssh ]; then
	awk '/^  ed25519_private: \|/ { f = 1; next } f && /^    / { sub(/^    /, ""); print; next } f { exit }' "${ud}" >/etc/ssh/ssh_host_ed25519_key.lima-tmp
	if [ -s /etc/ssh/ssh_host_ed25519_key.lima-tmp ]; then
		chmod 600 /etc/ssh/ssh_host_ed25519_key.lima-tmp
		mv -f /etc/ssh/ssh_host_ed25519_key.lima-tmp /etc/ssh/ssh_host_ed25519_key
		sed -n 's/^  ed25519_public: //p' "${ud}" >/etc/ssh/ssh_host_ed25519_key.pub
	else
		rm -f /etc/ssh/ssh_host_ed25519_key.lima-tmp
	fi
fi

# 4. sshd
if [ -d /run/systemd/system ]; then
	systemctl try-restart ssh.service sshd.service 2>/dev/null || :
elif [ -x /usr/sbin/sshd ]; then
	if ! pgrep -x sshd >/dev/null 2>&1; then
		mkdir -p /run/sshd
		/usr/sbin/sshd || lima_wsl2_log "sshd did not start"
	fi
else
	lima_wsl2_log "no /usr/sbin/sshd in the distro: add openssh-server to the root filesystem"
fi

# 5. host folders
lima_wsl2_mount() {
	if mountpoint -q "$2" 2>/dev/null; then
		return 0
	fi
	mkdir -p "$2"
	if ! mount --bind "$1" "$2"; then
		lima_wsl2_log "could not bind-mount $1 on $2"
		return 0
	fi
	[ "$3" = rw ] || mount -o remount,bind,ro "$2" || lima_wsl2_log "$2 stays writable"
}
lima_wsl2_mounts

# 6. boot scripts and provisioning
exec "${LIMA_CIDATA_MNT}/boot.sh"
