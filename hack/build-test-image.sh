#!/usr/bin/env bash
# build-test-image.sh: build the limactl test guest image (Debian 12 bookworm, amd64)
# from Debian packages only, without loop mounts: mmdebstrap into a directory,
# mke2fs -d to turn it into an ext4 disk, qemu-img to make it qcow2, plus the kernel
# and a tiny busybox initrd for direct kernel boot. See docs/test-image.md.
#
# Usage: hack/build-test-image.sh [--print-dir] [--force] [--keep-rootfs]
#   --print-dir    print the output directory for the current recipe and exit (no build)
#   --force        rebuild even if the output directory already exists
#   --keep-rootfs  keep the unpacked root filesystem as rootfs/ next to the image
#
# Output: ${LIMA_TEST_IMAGE_CACHE:-/var/cache/limactl-test-image}/<recipe-hash>/ holding
# disk.qcow2, vmlinuz, initrd.img and test-image.yaml (a Lima template pointing at them),
# and, from hack/build-test-nerdctl-archive.sh, nerdctl-full-test.tgz (+ .sha256: an offline
# test stand-in for Lima's nerdctl-full archive) and hello-image.tar (a tiny OCI image).
# <cache>/latest links to the newest build. The last line on stdout is the directory.
# <recipe-hash> is a sha256 over this script, hack/build-test-nerdctl-archive.sh and every
# file under hack/test-image/, so an unchanged recipe makes a second run instant and a
# changed one rebuilds. Only the newest LIMA_TEST_IMAGE_KEEP (default 2) builds are kept.
#
# Needs root (mmdebstrap mounts /proc and /dev in its chroot) and the host packages of
# hack/install-host-deps.sh. Packages come from the Debian mirror configured in the
# host's apt sources (override: LIMA_TEST_IMAGE_MIRROR, LIMA_TEST_IMAGE_SECURITY_MIRROR).
set -euo pipefail

hack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
recipe=$hack/test-image
cache=${LIMA_TEST_IMAGE_CACHE:-/var/cache/limactl-test-image}
suite=bookworm
packages=(
	systemd systemd-sysv udev dbus kmod e2fsprogs util-linux procps linux-image-amd64
	cloud-init openssh-server openssh-sftp-server sudo sshfs fuse3 iproute2 ca-certificates
	netbase libpam-systemd dbus-user-session iptables rsync python3 socat tzdata
)

print_dir=0 force=0 keep_rootfs=0
for arg in "$@"; do
	case "$arg" in
	--print-dir) print_dir=1 ;;
	--force) force=1 ;;
	--keep-rootfs) keep_rootfs=1 ;;
	-h | --help)
		sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build-test-image.sh: unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

log() { echo "build-test-image.sh: $*" >&2; }

# The cache key: file names and contents of the recipe, in a fixed order.
recipe_hash() {
	(
		cd "$hack"
		{
			echo build-test-image.sh
			echo build-test-nerdctl-archive.sh
			find test-image -type f
		} | LC_ALL=C sort | while read -r f; do
			printf '%s  %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
		done
	) | sha256sum | cut -c1-16
}
hash=$(recipe_hash)
out=$cache/$hash

if [ "$print_dir" = 1 ]; then
	echo "$out"
	exit 0
fi
if [ "$force" = 0 ] && [ -f "$out/disk.qcow2" ] && [ -f "$out/test-image.yaml" ] && [ -f "$out/nerdctl-full-test.tgz" ]; then
	echo "$out"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	log "must run as root (mmdebstrap mounts /proc and /dev inside its chroot); try: sudo $0 $*"
	exit 1
fi
for tool in mmdebstrap mke2fs qemu-img busybox cpio gzip; do
	command -v "$tool" >/dev/null || {
		log "$tool not found: run hack/install-host-deps.sh first"
		exit 1
	}
done

# The Debian mirror the host already uses (deb822 .sources and one-line .list files).
# Prints "URI SUITE" pairs for the deb entries.
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { print $2, $3 }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() { if (deb && uris != "") { n = split(uris, u, " "); m = split(suites, s, " ");
				for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
				deb = 0; uris = ""; suites = ""; enabled = 1 }
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "enabled:" && tolower($2) == "no" { deb = 0 }
			END { flush() }' "$f"
	done
}
mirror_for() { host_sources | awk -v s="$1" '$2 == s { print $1; exit }'; }
mirror=${LIMA_TEST_IMAGE_MIRROR:-$(mirror_for "$suite")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${LIMA_TEST_IMAGE_SECURITY_MIRROR:-$(mirror_for "$suite-security")}
security=${security:-http://deb.debian.org/debian-security}

mkdir -p "$cache"
exec 9>"$cache/.lock-$hash"
if ! flock -n 9; then
	log "another build of $hash is running; waiting for it"
	flock 9
fi
if [ "$force" = 0 ] && [ -f "$out/disk.qcow2" ] && [ -f "$out/test-image.yaml" ] && [ -f "$out/nerdctl-full-test.tgz" ]; then
	echo "$out"
	exit 0
fi

# Remove a build tree safely: an interrupted mmdebstrap may leave /proc, /sys or /dev/pts
# mounted in its chroot, and rm must never walk into those.
remove_tree() {
	local dir=$1 mnt
	[ -e "$dir" ] || return 0
	findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0 "/", d) == 1' | sort -r |
		while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
	rm -rf --one-file-system "$dir"
}

# Build next to the final directory and rename at the end, so a directory named
# <hash> is always complete. Leftovers of interrupted builds are removed here.
for old in "$cache/.build-$hash".*; do remove_tree "$old"; done
tmp=$(mktemp -d "$cache/.build-$hash.XXXXXX")
trap 'remove_tree "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
rootfs=$tmp/rootfs
start=$(date +%s)

log "building $out from $mirror ($suite, $suite-updates) and $security ($suite-security)"
include=$(
	IFS=,
	echo "${packages[*]}"
)
mmdebstrap_log=$tmp/mmdebstrap.log
# initramfs-tools comes with the kernel; keep its (unused, deleted later) initrd small and quick.
# shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook shell
essential_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\nCOMPRESS=gzip\n" >"$1/etc/initramfs-tools/conf.d/limactl-test.conf"'
if ! mmdebstrap --variant=minbase --mode=root --format=directory \
	--include="$include" \
	--aptopt='Acquire::Languages "none"' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/lintian/*' \
	--essential-hook="$essential_hook" \
	--customize-hook="\"$recipe/customize.sh\" \"\$1\"" \
	"$suite" "$rootfs" \
	"deb $mirror $suite main" \
	"deb $mirror $suite-updates main" \
	"deb $security $suite-security main" \
	>"$mmdebstrap_log" 2>&1; then
	tail -n 40 "$mmdebstrap_log" >&2
	log "mmdebstrap failed (full log above was cut to 40 lines); check that $mirror is reachable"
	exit 1
fi
log "rootfs ready after $(($(date +%s) - start)) s ($(du -sm "$rootfs" | cut -f1) MB)"

cp -L "$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -n1)" "$tmp/vmlinuz"
"$recipe/mkinitrd-tiny.sh" "$rootfs" "$tmp/initrd.img"

# ext4 straight from the directory: no loop device, no partition table. cloud-init's
# resizefs grows it when the instance disk is larger.
truncate -s 2G "$tmp/disk.raw"
mke2fs -q -t ext4 -L root -m 0 -d "$rootfs" -F "$tmp/disk.raw"
qemu-img convert -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2"
rm -f "$tmp/disk.raw"

[ "$keep_rootfs" = 1 ] || remove_tree "$rootfs"

# The offline stand-in for Lima's nerdctl-full archive, from the same mirrors, and a tiny OCI
# image for it: nerdctl-full-test.tgz, nerdctl-full-test.tgz.sha256, hello-image.tar.
TMPDIR=$tmp LIMA_TEST_IMAGE_MIRROR=$mirror LIMA_TEST_IMAGE_SECURITY_MIRROR=$security \
	"$hack/build-test-nerdctl-archive.sh" "$tmp"
mv "$mmdebstrap_log" "$tmp/build.log"
"$recipe/gen-template.sh" "$out" "$hash" >"$tmp/test-image.yaml"
{
	echo "recipe=$hash"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "seconds=$(($(date +%s) - start))"
	echo "mirror=$mirror"
	echo "security=$security"
	echo "nerdctl_archive_sha256=$(cat "$tmp/nerdctl-full-test.tgz.sha256")"
} >"$tmp/build-info"
chmod 0755 "$tmp"

# Publish: swap the finished directory in, then point latest at it.
if [ -e "$out" ]; then
	rm -rf "$out.old"
	mv "$out" "$out.old"
fi
mv "$tmp" "$out"
trap - EXIT
rm -rf "$out.old"
ln -sfn "$hash" "$cache/latest.tmp"
mv -T "$cache/latest.tmp" "$cache/latest"

# Keep the newest builds only (LIMA_TEST_IMAGE_KEEP, default 2: this one and the one
# before, for switching branches); each is ~450 MB.
keep=${LIMA_TEST_IMAGE_KEEP:-2}
ls -1dt "$cache"/[0-9a-f]*/ 2>/dev/null | tail -n +"$((keep + 1))" | while read -r old; do
	old=${old%/}
	case "${old##*/}" in *[!0-9a-f]*) continue ;; esac
	rm -rf "$old" "$cache/.lock-${old##*/}"
done
log "done in $(($(date +%s) - start)) s"
echo "$out"
