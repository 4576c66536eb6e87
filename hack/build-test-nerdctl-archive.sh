#!/usr/bin/env bash
# build-test-nerdctl-archive.sh OUTDIR: build limactl's offline TEST stand-in for Lima's
# nerdctl-full archive, from Debian 12 packages, plus a tiny OCI image to run in it. Writes:
#
#   OUTDIR/nerdctl-full-test.tgz         the nerdctl-full layout (extracted into /usr/local):
#                                        bin/{containerd,containerd-shim-runc-v2,ctr,runc,
#                                        rootlesskit,rootlessctl,slirp4netns,nerdctl},
#                                        lib/systemd/system/containerd.service,
#                                        share/doc/nerdctl-full/README.md
#   OUTDIR/nerdctl-full-test.tgz.sha256  its sha256, hex digits alone on one line
#   OUTDIR/hello-image.tar               an OCI image archive of docker.io/library/hello:test
#                                        (linux/amd64, busybox-static, Cmd ["/bin/sh"])
#
# bin/nerdctl is not nerdctl: it is hack/test-image/nerdctl-standin.sh, a shell script that
# speaks a little of nerdctl's CLI through ctr. See docs/test-image.md.
#
# Needs only apt-get (update and download, with a private package list in a temporary
# directory: the host's apt state is neither used nor changed), dpkg-deb, tar, gzip and
# sha256sum; no root. Packages come from bookworm, bookworm-updates and bookworm-security on
# LIMA_TEST_IMAGE_MIRROR (default http://deb.debian.org/debian) and
# LIMA_TEST_IMAGE_SECURITY_MIRROR (default http://deb.debian.org/debian-security);
# hack/build-test-image.sh passes the mirrors it uses. Entries are sorted, owned by 0:0 and
# dated 1970-01-01, and gzip stores no name or time, so the same package versions give the
# same digests.
set -euo pipefail

hack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build-test-nerdctl-archive.sh OUTDIR}
packages=(containerd runc rootlesskit slirp4netns busybox-static)
arch=amd64
suite=bookworm
mirror=${LIMA_TEST_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${LIMA_TEST_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { echo "build-test-nerdctl-archive.sh: $*" >&2; }
for tool in apt-get dpkg-deb tar gzip sha256sum; do
	command -v "$tool" >/dev/null || {
		log "$tool not found"
		exit 1
	}
done

umask 022
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/nerdctl-test-archive.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
# reproducible tar: sorted names, fixed owner and time, no pax headers.
rtar() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"; }

# apt with its own state: package lists fetched now from the same mirrors as the image's
# (hack/build-test-image.sh passes them), so neither missing nor stale host lists matter, and
# the host's apt state is neither read nor changed.
apt=$work/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs"
signed=""
if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
	signed=" [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
fi
cat >"$apt/sources.list" <<EOF
deb$signed $mirror $suite main
deb$signed $mirror $suite-updates main
deb$signed $security $suite-security main
EOF
apt_opts=(
	-q=2
	-o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
	-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
	-o "Dir::Etc::Preferences=$apt/prefs/none" -o "Dir::Etc::PreferencesParts=$apt/prefs"
	-o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1"
	-o "Acquire::Languages=none"
)
# As root, apt fetches as the _apt user, which cannot write into our private directory.
if [ "$(id -u)" = 0 ]; then apt_opts+=(-o APT::Sandbox::User=root); fi
apt-get "${apt_opts[@]}" update || {
	log "apt-get update from $mirror and $security failed (set LIMA_TEST_IMAGE_MIRROR, LIMA_TEST_IMAGE_SECURITY_MIRROR)"
	exit 1
}
mkdir -p "$work/debs" "$work/x"
(
	cd "$work/debs"
	apt-get "${apt_opts[@]}" download "${packages[@]}"
) || {
	log "apt-get download ${packages[*]} from $mirror failed"
	exit 1
}
versions=()
for deb in "$work"/debs/*.deb; do
	dpkg-deb -x "$deb" "$work/x"
	versions+=("$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)")
done
x=$work/x

# --- nerdctl-full-test.tgz -------------------------------------------------------------
root=$work/root
mkdir -p "$root/bin" "$root/lib/systemd/system" "$root/share/doc/nerdctl-full"
for b in containerd containerd-shim-runc-v2 ctr rootlesskit rootlessctl slirp4netns runc; do
	src=$x/usr/bin/$b
	[ -e "$src" ] || src=$x/usr/sbin/$b
	install -m 0755 "$(readlink -f "$src")" "$root/bin/$b"
done
install -m 0755 "$hack/test-image/nerdctl-standin.sh" "$root/bin/nerdctl"

cat >"$root/lib/systemd/system/containerd.service" <<'EOF'
# containerd from limactl's offline test archive (nerdctl-full-test.tgz), extracted into /usr/local.
[Unit]
Description=containerd container runtime (limactl test archive)
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
# Non-zero Limit*s cost accounting overhead in the kernel; containers get their own limits.
LimitNPROC=infinity
LimitCORE=infinity
LimitNOFILE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
EOF

{
	cat <<'EOF'
# limactl offline TEST archive — this is NOT nerdctl-full

This archive has the layout of nerdctl's "nerdctl-full" release archive (it is extracted
into /usr/local), so that limactl's end-to-end tests can exercise Lima's containerd
provisioning on machines without internet access. It is built from Debian 12 (bookworm)
packages by hack/build-test-nerdctl-archive.sh in the limactl repository. Do not use it
for anything but those tests.

## Contents

- bin/containerd, bin/containerd-shim-runc-v2, bin/ctr: Debian's `containerd` package
- bin/runc: Debian's `runc` package (needs libseccomp2)
- bin/rootlesskit, bin/rootlessctl: Debian's `rootlesskit` package
- bin/slirp4netns: Debian's `slirp4netns` package (dynamically linked: needs libslirp0,
  libglib2.0-0 and libseccomp2, which the test image may not have)
- bin/nerdctl: NOT nerdctl. A small shell script (limactl's test stand-in) that speaks
  just enough of nerdctl's command line through `ctr`, against the system containerd
  (/run/containerd/containerd.sock, or $CONTAINERD_ADDRESS):
  `nerdctl --version`, `nerdctl version`, `nerdctl load -i FILE` / `nerdctl image load`,
  `nerdctl images`, `nerdctl ps [-a]`,
  `nerdctl run [--rm] [-i] [-t] [--name N] [-e K=V] [--net host] IMAGE [CMD...]`
  (the command's exit code is kept) and `nerdctl completion bash` (a no-op).
  Anything else fails with an error naming the stand-in. When not run as root it
  re-executes itself with `sudo -n` (the Lima guest user has passwordless sudo), so it
  always talks to the system (rootful) containerd.
- lib/systemd/system/containerd.service: ExecStart=/usr/local/bin/containerd, for
  `systemctl enable --now containerd` (system mode)
- share/doc/nerdctl-full/README.md: this file

## What the real nerdctl-full has and this archive does not

The real nerdctl, BuildKit (buildkitd, buildctl, buildkit.service), the rootless scripts
(containerd-rootless.sh, containerd-rootless-setuptool.sh), CNI plugins (libexec/cni),
the stargz snapshotter, fuse-overlayfs, bypass4netns, ipfs, tini and the rest. Rootless
mode (containerd.user) therefore does not work with this archive: use system mode.

## Package versions

(busybox-static went into the test image hello-image.tar built next to this archive.)

EOF
	for v in "${versions[@]}"; do echo "- $v"; done
} >"$root/share/doc/nerdctl-full/README.md"
chmod 0644 "$root/lib/systemd/system/containerd.service" "$root/share/doc/nerdctl-full/README.md"

rtar -C "$root" -cf - bin lib share | gzip -n >"$work/nerdctl-full-test.tgz"
sha256sum <"$work/nerdctl-full-test.tgz" | cut -d' ' -f1 >"$work/nerdctl-full-test.tgz.sha256"

# --- hello-image.tar ---------------------------------------------------------------------
# One layer: /bin/busybox (busybox-static) with /bin/sh and /bin/echo pointing at it.
img=$work/img
mkdir -p "$img/layer/bin" "$img/oci/blobs/sha256"
install -m 0755 "$x/bin/busybox" "$img/layer/bin/busybox"
ln -s busybox "$img/layer/bin/sh"
ln -s busybox "$img/layer/bin/echo"
rtar -C "$img/layer" -cf "$img/layer.tar" bin
digest() { sha256sum <"$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
blob() { # blob FILE: store FILE as a blob, print its digest
	local d
	d=$(digest "$1")
	cp "$1" "$img/oci/blobs/sha256/$d"
	echo "$d"
}
diff_id=$(digest "$img/layer.tar")
gzip -9n <"$img/layer.tar" >"$img/layer.tar.gz"
layer=$(blob "$img/layer.tar.gz")
layer_size=$(size "$img/layer.tar.gz")

printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"limactl hack/build-test-nerdctl-archive.sh: busybox-static"}]}' \
	"$diff_id" >"$img/config.json"
config=$(blob "$img/config.json")
config_size=$(size "$img/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
	"$config" "$config_size" "$layer" "$layer_size" >"$img/manifest.json"
manifest=$(blob "$img/manifest.json")
manifest_size=$(size "$img/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"docker.io/library/hello:test","org.opencontainers.image.ref.name":"test"}}]}' \
	"$manifest" "$manifest_size" >"$img/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci/oci-layout"
chmod 0644 "$img"/oci/blobs/sha256/* "$img/oci/index.json" "$img/oci/oci-layout"
rtar -C "$img/oci" -cf "$work/hello-image.tar" oci-layout index.json blobs

# Publish each file whole.
for f in nerdctl-full-test.tgz nerdctl-full-test.tgz.sha256 hello-image.tar; do
	chmod 0644 "$work/$f"
	mv -f "$work/$f" "$out/$f.tmp"
	mv -f "$out/$f.tmp" "$out/$f"
done
log "nerdctl-full-test.tgz: $(size "$out/nerdctl-full-test.tgz") bytes, sha256 $(cat "$out/nerdctl-full-test.tgz.sha256"); hello-image.tar: $(size "$out/hello-image.tar") bytes (manifest sha256:$manifest)"
