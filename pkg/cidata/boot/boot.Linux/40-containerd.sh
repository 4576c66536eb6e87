#!/bin/sh
# containerd (containerd.system, containerd.user): installs the nerdctl-full archive from the cidata
# volume into ${LIMA_CIDATA_GUEST_INSTALL_PREFIX} once per archive (by its digest, recorded in
# /var/lib/lima/containerd-archive), then, on every boot, makes sure the system containerd and/or the
# guest user's rootless containerd (set up with the archive's containerd-rootless-setuptool.sh) run,
# with BuildKit when the archive has it. Done: /run/lima-containerd-ready holds the instance id and
# "LIMA| containerd-ready <iid>" goes to the console. Failed: /run/lima-containerd-failed says which
# step and which archive, and the host's "containerd" start-up step reports it.
# shellcheck disable=SC2153 # LIMA_CIDATA_* come from lima.env
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
ready=/run/lima-containerd-ready
failed=/run/lima-containerd-failed
rm -f "${ready}" "${failed}"
if [ "${LIMA_CIDATA_CONTAINERD_SYSTEM:-}" != 1 ] && [ "${LIMA_CIDATA_CONTAINERD_USER:-}" != 1 ]; then
	exit 0
fi
archive_name=${LIMA_CIDATA_CONTAINERD_ARCHIVE_NAME:-nerdctl-full.tgz}
# on_exit: any other failure (set -e) still leaves a failure marker; without one the host's
# "containerd" start-up step would wait for the ready marker until the start times out.
on_exit() {
	rc=$?
	if [ "${rc}" != 0 ] && [ ! -e "${failed}" ]; then
		printf 'the boot script failed (exit status %s; see /var/log/cloud-init-output.log) (archive %s)\n' "${rc}" "${archive_name}" >"${failed}.tmp"
		mv -f "${failed}.tmp" "${failed}"
	fi
}
trap on_exit EXIT

# fail WHAT: records why containerd is not ready and ends the script.
fail() {
	WARNING "containerd: $1 (archive ${archive_name})"
	printf '%s (archive %s)\n' "$1" "${archive_name}" >"${failed}.tmp"
	mv -f "${failed}.tmp" "${failed}"
	exit 1
}

if [ ! -d /run/systemd/system ]; then
	# As Lima: without systemd there is nothing to run containerd with; the image brings its own or none.
	WARNING "containerd: not installed, this guest does not run systemd"
	lima_marker "${ready}" containerd-ready
	exit 0
fi
archive="${LIMA_CIDATA_MNT}/${LIMA_CIDATA_CONTAINERD_ARCHIVE:-nerdctl-full.tgz}"
if [ -z "${LIMA_CIDATA_CONTAINERD_ARCHIVE:-}" ] || [ ! -f "${archive}" ]; then
	fail "the cidata volume holds no nerdctl-full archive"
fi
prefix=${LIMA_CIDATA_GUEST_INSTALL_PREFIX:-/usr/local}
PATH="${prefix}/bin:${prefix}/sbin:${PATH}"
export PATH
uid=${LIMA_CIDATA_UID}
runtime_dir=/run/user/${uid}

# as_user CMD...: runs CMD as the guest user, in a login shell, with the user's systemd reachable.
as_user() {
	sudo -iu "${LIMA_CIDATA_USER}" env "XDG_RUNTIME_DIR=${runtime_dir}" "PATH=${PATH}" "$@"
}

# install_packages PKG...: installs distribution packages, as Lima's boot scripts do when containerd is
# on (the guest needs network access then).
install_packages() {
	if command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
			{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
	elif command -v dnf >/dev/null 2>&1; then
		dnf install -y "$@"
	elif command -v zypper >/dev/null 2>&1; then
		zypper --non-interactive install "$@"
	elif command -v pacman >/dev/null 2>&1; then
		pacman -Sy --noconfirm --needed "$@"
	else
		return 1
	fi
}

# What containerd needs from the distribution: iptables (CNI networks, port publishing) for both
# modes; for rootless containerd also newuidmap/newgidmap and, on Debian and Ubuntu, a D-Bus user
# session for the user's systemd.
packages=
command -v iptables >/dev/null 2>&1 || packages=iptables
if [ "${LIMA_CIDATA_CONTAINERD_USER:-}" = 1 ]; then
	if ! command -v newuidmap >/dev/null 2>&1; then
		if command -v apt-get >/dev/null 2>&1; then
			packages="${packages} uidmap"
		elif command -v dnf >/dev/null 2>&1; then
			packages="${packages} shadow-utils"
		else
			packages="${packages} shadow"
		fi
	fi
	if command -v dpkg >/dev/null 2>&1 && ! dpkg -s dbus-user-session >/dev/null 2>&1; then
		packages="${packages} dbus-user-session"
	fi
fi
if [ -n "${packages}" ]; then
	INFO "containerd: installing ${packages# }"
	# shellcheck disable=SC2086 # packages is a list of names
	install_packages ${packages} || fail "installing the packages containerd needs (${packages# }) failed; the guest needs network access, or an image that has them"
fi

stamp=/var/lib/lima/containerd-archive
want=${LIMA_CIDATA_CONTAINERD_ARCHIVE_DIGEST:-unknown}
have=$(cat "${stamp}" 2>/dev/null || :)
if [ "${have}" = "${want}" ] && [ -x "${prefix}/bin/containerd" ]; then
	INFO "containerd: ${archive_name} is already installed in ${prefix}"
else
	if [ -n "${have}" ]; then
		INFO "containerd: replacing the installed archive (${have}) with ${archive_name}"
		systemctl disable --now containerd buildkit stargz-snapshotter >/dev/null 2>&1 || :
		if [ -e "${LIMA_CIDATA_HOME}/.config/systemd/user/containerd.service" ] && [ -x "${prefix}/bin/containerd-rootless-setuptool.sh" ]; then
			as_user containerd-rootless-setuptool.sh uninstall-buildkit-containerd >/dev/null 2>&1 || :
			as_user containerd-rootless-setuptool.sh uninstall || :
		fi
	fi
	lima_announce "containerd-install ${LIMA_CIDATA_IID} ${archive_name}"
	mkdir -p "${prefix}"
	tar -C "${prefix}" -xf "${archive}" || fail "extracting the archive into ${prefix} failed"
	[ -x "${prefix}/bin/containerd" ] || fail "the archive has no bin/containerd"
	if [ -x "${prefix}/bin/nerdctl" ]; then
		mkdir -p /etc/bash_completion.d
		"${prefix}/bin/nerdctl" completion bash >/etc/bash_completion.d/nerdctl 2>/dev/null || :
	fi
	mkdir -p /var/lib/lima
	printf '%s\n' "${want}" >"${stamp}.tmp"
	mv -f "${stamp}.tmp" "${stamp}"
fi

if [ "${LIMA_CIDATA_CONTAINERD_SYSTEM:-}" = 1 ]; then
	if [ ! -e /etc/containerd/config.toml ]; then
		mkdir -p /etc/containerd
		printf 'version = 2\n' >/etc/containerd/config.toml
	fi
	units=containerd
	if [ -f "${prefix}/lib/systemd/system/buildkit.service" ]; then
		if [ ! -e /etc/buildkit/buildkitd.toml ]; then
			# BuildKit builds into the system containerd's default namespace, where nerdctl finds the images.
			mkdir -p /etc/buildkit
			printf '[worker.oci]\n  enabled = false\n\n[worker.containerd]\n  enabled = true\n  namespace = "default"\n' >/etc/buildkit/buildkitd.toml
		fi
		units="${units} buildkit"
	fi
	if [ "${prefix}" != /usr/local ]; then
		# The archive's units run /usr/local/bin/...; systemd finds them only under /usr/local.
		for u in ${units}; do
			[ -f "${prefix}/lib/systemd/system/${u}.service" ] || continue
			if ! sed "s|/usr/local/|${prefix}/|g" "${prefix}/lib/systemd/system/${u}.service" >"/etc/systemd/system/${u}.service.tmp" ||
				! mv -f "/etc/systemd/system/${u}.service.tmp" "/etc/systemd/system/${u}.service"; then
				fail "installing ${u}.service for the install prefix ${prefix} failed"
			fi
		done
	fi
	systemctl daemon-reload
	# shellcheck disable=SC2086 # units is a list of names
	systemctl enable --now ${units} || fail "starting the system containerd (systemctl enable --now ${units}) failed"
fi

if [ "${LIMA_CIDATA_CONTAINERD_USER:-}" = 1 ]; then
	[ -x "${prefix}/bin/containerd-rootless-setuptool.sh" ] ||
		fail "the archive has no bin/containerd-rootless-setuptool.sh, which rootless containerd (containerd.user) needs"
	# Subordinate ids for the user namespace, delegated cgroups, unprivileged ports and ping.
	for f in /etc/subuid /etc/subgid; do
		grep -q "^${LIMA_CIDATA_USER}:" "$f" 2>/dev/null || printf '%s:100000:65536\n' "${LIMA_CIDATA_USER}" >>"$f"
	done
	dropin=/etc/systemd/system/user@.service.d/lima.conf
	if [ ! -e "${dropin}" ]; then
		mkdir -p "$(dirname "${dropin}")"
		printf '[Service]\nDelegate=yes\n' >"${dropin}"
		systemctl daemon-reload
	fi
	sysctl_conf=/etc/sysctl.d/99-lima-rootless.conf
	if [ ! -e "${sysctl_conf}" ]; then
		{
			[ ! -e /proc/sys/kernel/unprivileged_userns_clone ] || echo "kernel.unprivileged_userns_clone=1"
			echo "net.ipv4.ping_group_range = 0 2147483647"
			echo "net.ipv4.ip_unprivileged_port_start = 0"
		} >"${sysctl_conf}"
		sysctl --system >/dev/null || :
	fi
	# Ubuntu 23.10 and later let AppArmor restrict unprivileged user namespaces: allow rootlesskit.
	profile=/etc/apparmor.d/lima-rootlesskit
	if [ ! -e "${profile}" ] && [ -e /etc/apparmor.d/abi/4.0 ] && [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; then
		printf 'abi <abi/4.0>,\ninclude <tunables/global>\n\n%s/bin/rootlesskit flags=(unconfined) {\n  userns,\n}\n' "${prefix}" >"${profile}"
		systemctl reload apparmor.service || systemctl restart apparmor.service || :
	fi
	loginctl enable-linger "${LIMA_CIDATA_USER}"
	i=0
	while [ ! -e "${runtime_dir}/systemd/private" ]; do
		[ "$i" -lt 120 ] || fail "the user's systemd instance did not start (${runtime_dir}/systemd/private)"
		sleep 0.5
		i=$((i + 1))
	done
	if [ "$(as_user systemctl --user show --property=RefuseManualStart --value dbus 2>/dev/null || :)" = no ]; then
		as_user systemctl --user enable --now dbus >/dev/null 2>&1 || :
	fi
	if [ ! -e "${LIMA_CIDATA_HOME}/.config/systemd/user/containerd.service" ]; then
		if [ ! -e "${LIMA_CIDATA_HOME}/.config/containerd/config.toml" ]; then
			as_user mkdir -p "${LIMA_CIDATA_HOME}/.config/containerd"
			# Written by the user (root does not follow the user's symlinks). Not with sh -c '...$1...':
			# sudo -i (and sudo-rs) hand the command to the login shell without escaping "$", so that
			# shell would expand $1 (to nothing) before sh sees it.
			printf 'version = 2\n' | as_user tee "${LIMA_CIDATA_HOME}/.config/containerd/config.toml" >/dev/null ||
				fail "writing ${LIMA_CIDATA_HOME}/.config/containerd/config.toml as ${LIMA_CIDATA_USER} failed"
		fi
		as_user containerd-rootless-setuptool.sh install || fail "containerd-rootless-setuptool.sh install failed"
		if [ -x "${prefix}/bin/buildkitd" ]; then
			as_user CONTAINERD_NAMESPACE=default containerd-rootless-setuptool.sh install-buildkit-containerd ||
				fail "containerd-rootless-setuptool.sh install-buildkit-containerd failed"
		fi
	else
		as_user systemctl --user start containerd.service || fail "starting the user's containerd (systemctl --user start containerd.service) failed"
	fi
fi
lima_marker "${ready}" containerd-ready
