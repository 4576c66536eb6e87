#!/usr/bin/env bash
# install-host-deps.sh: install the Debian host packages that limactl's tests,
# the test guest image build (hack/build-test-image.sh) and `make demo` need.
#
# Idempotent: packages already installed are left alone, `apt-get update` runs
# only when something is missing, and nothing is printed when all is in place.
# Must run as root (or through sudo) on Debian 12.
#
# Usage: hack/install-host-deps.sh [--print]
#   --print             list the packages that would be installed and exit
set -euo pipefail

want=(
	qemu-system-x86     # qemu-system-x86_64
	qemu-system-arm     # qemu-system-aarch64: the aarch64 KVM probe guest's tests run it under TCG
	binutils            # as, ld, objcopy: the KVM probe tests re-assemble pkg/driver/qemu/probe/x86_64.S
	binutils-aarch64-linux-gnu # the same for probe/aarch64.S
	qemu-utils          # qemu-img
	ovmf                # UEFI firmware for x86_64 guests booted through firmware
	mmdebstrap          # builds the test guest rootfs
	e2fsprogs           # mke2fs -d: ext4 from a directory without a loop mount
	busybox-static      # the tiny initrd of the test image
	cpio                # packs that initrd
	openssh-client      # only for comparison benchmarks against OpenSSH
	openssh-sftp-server # the host side of reverse-sshfs mounts
	socat               # QMP and virtio-serial sockets in scripts
	genisoimage         # isoinfo: the cidata ISO tests read our images back with it
	libarchive-tools    # bsdtar: a second, independent ISO reader in the cidata tests
	shellcheck          # lints the guest boot scripts in the cidata tests
	iptables            # the cidata sandbox test runs the host-DNS redirect script
	sudo                # the cidata sandbox test runs user provisioning through sudo -iu
	wine64              # runs the wsl2 driver's Windows tests (make test-windows)
	gcc-mingw-w64-x86-64-win32 # builds the bcryptprimitives.dll stand-in Go binaries need under wine 8
	ansible-core        # ansible-playbook: the e2e runs a provision `mode: ansible` playbook
)
optional=(
	qemu-efi-aarch64    # aarch64 UEFI firmware, installed when the mirror has it
)

print_only=0
for arg in "$@"; do
	case "$arg" in
	--print) print_only=1 ;;
	-h | --help)
		sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-host-deps.sh: unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done
missing_optional=()
for p in "${optional[@]}"; do
	installed "$p" || missing_optional+=("$p")
done

if [ "$print_only" = 1 ]; then
	printf '%s\n' "${missing[@]}" "${missing_optional[@]}" | sed '/^$/d'
	exit 0
fi
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- "$0" "$@"
	fi
	echo "install-host-deps.sh: must run as root to install: ${missing[*]} ${missing_optional[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)

# Refresh the lists once: packages are missing, and the lists may be absent or stale.
echo "install-host-deps.sh: installing ${missing[*]} ${missing_optional[*]}" >&2
aptlog=$(mktemp)
trap 'rm -f "$aptlog"' EXIT
quietly() {
	if ! "$@" >"$aptlog" 2>&1; then
		cat "$aptlog" >&2
		echo "install-host-deps.sh: failed: $*" >&2
		exit 1
	fi
}
quietly apt-get "${apt_opts[@]}" -q update

# Optional packages are kept only when the configured mirror offers them.
for p in "${missing_optional[@]}"; do
	if apt-cache show "$p" >/dev/null 2>&1; then
		missing+=("$p")
	else
		echo "install-host-deps.sh: $p is not offered by the configured mirror; skipping it" >&2
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0
quietly apt-get "${apt_opts[@]}" -q install -y --no-install-recommends "${missing[@]}"
