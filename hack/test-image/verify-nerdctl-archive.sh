#!/usr/bin/env bash
# verify-nerdctl-archive.sh [DIR]: check the offline test archive on the host, without a VM.
# DIR holds nerdctl-full-test.tgz(.sha256) and hello-image.tar (a test image directory, or
# any OUTDIR of hack/build-test-nerdctl-archive.sh); without DIR they are built into a
# temporary directory first.
#
# The archive is extracted into a temporary prefix, its containerd is started with a private
# root, state and socket (the host's own containerd, if any, is not touched), and its bin/nerdctl
# stand-in is pointed at that socket with CONTAINERD_ADDRESS. Then: nerdctl version, nerdctl
# load -i hello-image.tar, nerdctl images, nerdctl run --rm hello:test echo hello (must print
# hello), nerdctl run --rm hello:test sh -c 'exit 3' (must exit 3), nerdctl ps -a (must be
# empty). The containerd started here is stopped by its pid, its mounts are removed.
#
# Needs root, and the host's libseccomp2 for runc (Debian: apt-get install libseccomp2; the
# containerd and runc packages themselves are not needed). CONTAINERD_SNAPSHOTTER=native
# works where overlayfs cannot be mounted. Exits 0 only when every check passed.
set -euo pipefail

hack=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { echo "verify-nerdctl-archive.sh: $*" >&2; }
[ "$(id -u)" = 0 ] || {
	log "must run as root (containerd and runc)"
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/verify-nerdctl.XXXXXX")
pid=""
# ctr and the shim keep fifos, shim sockets and runc state under /run/containerd whatever the
# containerd address; if this run creates that directory, its empty leftovers are removed.
run_existed=0
if [ -e /run/containerd ]; then run_existed=1; fi
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local p mnt
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" || true
		wait "$pid" 2>/dev/null || true
	fi
	# shims of this containerd (found by our socket on their command line); none if all went well
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-address $tmp/containerd.sock"; then
			kill "${p#/proc/}" 2>/dev/null || true
		fi
	done
	findmnt -rn -o TARGET | awk -v d="$tmp/" 'index($0 "/", d) == 1' | sort -r |
		while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
	rm -rf --one-file-system "$tmp"
	if [ "$run_existed" = 0 ] && [ -d /run/containerd ]; then
		find /run/containerd -depth -type d -empty -delete 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

dir=${1:-}
if [ -z "$dir" ]; then
	dir=$tmp/out
	"$hack/build-test-nerdctl-archive.sh" "$dir"
fi
for f in nerdctl-full-test.tgz nerdctl-full-test.tgz.sha256 hello-image.tar; do
	[ -f "$dir/$f" ] || {
		log "$dir/$f is missing"
		exit 1
	}
done

fail=0
check() { # check NAME CONDITION...: report one check
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else
		echo "FAIL $name"
		fail=1
	fi
}

want=$(cat "$dir/nerdctl-full-test.tgz.sha256")
got=$(sha256sum <"$dir/nerdctl-full-test.tgz" | cut -d' ' -f1)
echo "archive: $dir/nerdctl-full-test.tgz ($(stat -c %s "$dir/nerdctl-full-test.tgz") bytes, sha256 $got)"
check "sha256 matches nerdctl-full-test.tgz.sha256" [ "$want" = "$got" ]

prefix=$tmp/usr-local
mkdir -p "$prefix"
tar -C "$prefix" -xzf "$dir/nerdctl-full-test.tgz"
for b in containerd containerd-shim-runc-v2 ctr runc rootlesskit rootlessctl slirp4netns nerdctl; do
	check "bin/$b is executable" [ -x "$prefix/bin/$b" ]
done
check "lib/systemd/system/containerd.service runs /usr/local/bin/containerd" \
	grep -qx 'ExecStart=/usr/local/bin/containerd' "$prefix/lib/systemd/system/containerd.service"
check "share/doc/nerdctl-full/README.md says it is a test archive" \
	grep -q 'NOT nerdctl-full' "$prefix/share/doc/nerdctl-full/README.md"
check "no rootless scripts" [ ! -e "$prefix/bin/containerd-rootless-setuptool.sh" ]

sock=$tmp/containerd.sock
cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"
EOF
# The archive's bin first: containerd finds the shim, and the shim finds runc, through PATH.
export PATH=$prefix/bin:$PATH
containerd --config "$tmp/config.toml" --root "$tmp/root" --state "$tmp/state" --address "$sock" \
	>"$tmp/containerd.log" 2>&1 &
pid=$!
export CONTAINERD_ADDRESS=$sock
unset CONTAINERD_NAMESPACE
for _ in $(seq 100); do
	[ -S "$sock" ] && ctr version >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if ! ctr version >/dev/null 2>&1; then
	tail -n 20 "$tmp/containerd.log" >&2
	log "containerd did not come up"
	exit 1
fi
echo "containerd: pid $pid, $(readlink "/proc/$pid/exe"), socket $sock"

run() { # run CMD ARG...: print the command, its output and its exit code; sets out and rc
	local cmd=$1
	shift
	printf '$ %s' "${cmd##*/}"
	printf ' %q' "$@"
	echo
	set +e
	out=$("$cmd" "$@" 2>&1)
	rc=$?
	set -e
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  /'
	echo "  (exit $rc)"
}
nerdctl=$prefix/bin/nerdctl

run "$nerdctl" --version
check "nerdctl --version" [ "$rc" = 0 ] && check "nerdctl --version names the test version" [ "$out" = "nerdctl version 0.0.0-limactl-test" ]
run "$nerdctl" version
check "nerdctl version reaches containerd" [ "$rc" = 0 ]
run "$nerdctl" load -i "$dir/hello-image.tar"
check "nerdctl load -i hello-image.tar" [ "$rc" = 0 ]
run "$nerdctl" images
check "nerdctl images lists hello:test" grep -Eq '^hello +test ' <<<"$out"
run "$nerdctl" run --rm hello:test echo hello
check "nerdctl run --rm hello:test echo hello prints hello" [ "$rc" = 0 ] && check "  ... and only hello" [ "$out" = hello ]
run "$nerdctl" run --rm hello:test sh -c 'exit 3'
check "nerdctl run --rm hello:test sh -c 'exit 3' exits 3" [ "$rc" = 3 ]
run "$nerdctl" run --rm --name quoting hello:test sh -c 'printf "[%s]" "$@"' sh 'a b' '' "c'd"
check "arguments keep their quoting" [ "$out" = "[a b][][c'd]" ]
run "$nerdctl" ps -a
check "nerdctl ps -a: no containers left (--rm)" [ "$(wc -l <<<"$out")" = 1 ]
run "$nerdctl" completion bash
check "nerdctl completion bash exits 0" [ "$rc" = 0 ]
run "$nerdctl" build .
check "nerdctl build fails, naming the stand-in" [ "$rc" != 0 ] && check "  ... naming the stand-in" grep -q 'stand-in' <<<"$out"

kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
if [ "$fail" = 0 ]; then
	echo "all checks passed"
else
	echo "SOME CHECKS FAILED (containerd log: kept below)"
	tail -n 30 "$tmp/containerd.log"
fi
exit "$fail"
