#!/bin/bash
# Side-by-side benchmark for issue 15 (docs/performance.md, "Side by side"): boots the test image
# with this tree's limactl and, when OTHER_LIMACTL is given (for example upstream Lima's), with that
# one too, in alternation, one VM at a time, and prints markdown tables: start-to-READY and
# restart-to-READY against the guest's SSH banner on a fixed port, `limactl shell VM true` against
# OpenSSH through a ControlMaster (`true`, and `bash -lc true` as upstream runs commands) and a model
# of upstream's `limactl shell`, forward throughput both ways against the guest's loopback, `ssh -L`
# and our own forwards over SSH (the restart runs with the tunnel off), listen-to-reachable, and the
# host agent's RSS with ten forwards open. Every figure has its baseline from the same round.
#
# Usage: hack/bench/sidebyside.sh [-rounds N] [-shells N] [OTHER_LIMACTL]
# Needs what `make test` needs (QEMU, the test image), plus ssh and python3 in the guest image.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
make -s build >/dev/null
img=$(hack/build-test-image.sh | tail -n 1)
flags=()
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do
	flags+=("$1" "$2")
	shift 2
done
exec go run ./hack/bench/sidebyside -image "$img" -pfbench hack/bench/pfbench.py "${flags[@]}" \
	"$root/_output/bin/limactl" "$@"
