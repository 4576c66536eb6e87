#!/bin/bash
# nerdctl: limactl's TEST stand-in for nerdctl, shipped as bin/nerdctl in the offline test
# archive nerdctl-full-test.tgz (hack/build-test-nerdctl-archive.sh). It is NOT nerdctl: it
# speaks just enough of nerdctl's command line for the e2e tests, through containerd's `ctr`
# against the system containerd. See share/doc/nerdctl-full/README.md in the archive.
#
#   nerdctl --version | -v                         nerdctl version 0.0.0-limactl-test
#   nerdctl version                                that line, then `ctr version`
#   nerdctl load [-i FILE] | image load [-i FILE]  ctr images import (stdin without -i)
#   nerdctl images [-q] | image ls [-q]            ctr images ls, nerdctl-like columns
#   nerdctl ps [-a] [-q] | container ls            ctr containers ls + tasks ls
#   nerdctl run [--rm] [-i] [-t] [--name N] [-e K=V] [--net host] IMAGE [CMD...]
#                                                  ctr run; the command's exit code is kept
#   nerdctl completion SHELL                       a trivial completion function, exit 0
#
# Global flags: -a/--address/-H/--host, -n/--namespace, --snapshotter; environment:
# CONTAINERD_ADDRESS (default /run/containerd/containerd.sock), CONTAINERD_NAMESPACE
# (default "default"), CONTAINERD_SNAPSHOTTER (default: containerd's, overlayfs).
# Not root: the stand-in re-executes itself with `sudo -n` (the Lima guest user has
# passwordless sudo), passing those three variables along.
set -euo pipefail

version=0.0.0-limactl-test
self=$(readlink -f "${BASH_SOURCE[0]}")
me="nerdctl (limactl test stand-in, not the real nerdctl)"

die() {
	echo "$me: $*" >&2
	exit 1
}
unsupported() {
	die "$* is not supported by this stand-in; it knows only: version, --version, load, image load, images, image ls, ps, run, completion (see /usr/local/share/doc/nerdctl-full/README.md)"
}

# Global flags, before the command.
while [ $# -gt 0 ]; do
	case "$1" in
	-a | --address | -H | --host)
		[ $# -ge 2 ] || die "$1 needs a value"
		export CONTAINERD_ADDRESS=${2#unix://}
		shift 2
		;;
	--address=* | --host=*)
		export CONTAINERD_ADDRESS=${1#*=}
		CONTAINERD_ADDRESS=${CONTAINERD_ADDRESS#unix://}
		shift
		;;
	-n | --namespace)
		[ $# -ge 2 ] || die "$1 needs a value"
		export CONTAINERD_NAMESPACE=$2
		shift 2
		;;
	--namespace=*)
		export CONTAINERD_NAMESPACE=${1#*=}
		shift
		;;
	--snapshotter | --storage-driver)
		[ $# -ge 2 ] || die "$1 needs a value"
		export CONTAINERD_SNAPSHOTTER=$2
		shift 2
		;;
	--snapshotter=* | --storage-driver=*)
		export CONTAINERD_SNAPSHOTTER=${1#*=}
		shift
		;;
	--debug | --debug-full) shift ;;
	--) shift && break ;;
	*) break ;;
	esac
done

cmd=${1:-}
if [ $# -gt 0 ]; then shift; fi

# Commands that need no containerd (and no root).
case "$cmd" in
-v | --version)
	echo "nerdctl version $version"
	exit 0
	;;
"" | help | -h | --help)
	sed -n '2,20p' "$self" | sed 's/^# \{0,1\}//'
	exit 0
	;;
completion)
	# Lima's boot script may write this to /etc/bash_completion.d; keep it harmless.
	echo "# $me: no completion"
	echo "_nerdctl_limactl_test() { COMPREPLY=(); }"
	echo "complete -F _nerdctl_limactl_test nerdctl"
	exit 0
	;;
esac

if [ "$(id -u)" != 0 ]; then
	pass=()
	for v in CONTAINERD_ADDRESS CONTAINERD_NAMESPACE CONTAINERD_SNAPSHOTTER; do
		if [ -n "${!v:-}" ]; then pass+=("$v=${!v}"); fi
	done
	exec sudo -n -- env "${pass[@]}" "$self" "$cmd" "$@"
fi

export CONTAINERD_ADDRESS=${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}
export CONTAINERD_NAMESPACE=${CONTAINERD_NAMESPACE:-default}
# ctr reads CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE and CONTAINERD_SNAPSHOTTER itself.
ctr=$(dirname "$self")/ctr
[ -x "$ctr" ] || ctr=ctr

# docker.io normalisation as nerdctl does it: hello:test -> docker.io/library/hello:test.
normalize() {
	local ref=$1 first rest
	case "$ref" in
	*/*)
		first=${ref%%/*} rest=${ref#*/}
		case "$first" in
		*.* | *:* | localhost) ;;
		*) ref=docker.io/$first/$rest ;;
		esac
		;;
	*) ref=docker.io/library/$ref ;;
	esac
	case "${ref##*/}" in
	*:* | *@*) ;;
	*) ref=$ref:latest ;;
	esac
	echo "$ref"
}

cmd_load() {
	local input=- a
	while [ $# -gt 0 ]; do
		a=$1
		case "$a" in
		-i | --input)
			[ $# -ge 2 ] || die "$a needs a value"
			input=$2
			shift 2
			;;
		--input=*)
			input=${a#*=}
			shift
			;;
		--all-platforms | -q | --quiet) shift ;;
		*) unsupported "load $a" ;;
		esac
	done
	[ "$input" = - ] || [ -f "$input" ] || die "load: $input: no such file"
	exec "$ctr" images import "$input"
}

cmd_images() {
	local quiet=0 a
	for a in "$@"; do
		case "$a" in
		-q | --quiet) quiet=1 ;;
		*) unsupported "images $a" ;;
		esac
	done
	# ctr: REF TYPE DIGEST SIZE(2 words) PLATFORMS LABELS
	"$ctr" images ls | awk -v q="$quiet" '
		NR == 1 { if (!q) printf "%-40s %-20s %-14s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"; next }
		{
			ref = $1; id = substr($3, 8, 12); tag = "<none>"
			if (match(ref, /:[^:\/]+$/)) { tag = substr(ref, RSTART + 1); ref = substr(ref, 1, RSTART - 1) }
			sub(/^docker\.io\/library\//, "", ref); sub(/^docker\.io\//, "", ref)
			if (q) print id; else printf "%-40s %-20s %-14s %s %s\n", ref, tag, id, $4, $5
		}'
}

cmd_ps() {
	local all=0 quiet=0 a
	for a in "$@"; do
		case "$a" in
		-a | --all) all=1 ;;
		-q | --quiet) quiet=1 ;;
		-aq | -qa) all=1 quiet=1 ;;
		*) unsupported "ps $a" ;;
		esac
	done
	local tasks
	tasks=$("$ctr" tasks ls)
	"$ctr" containers ls | awk -v all="$all" -v q="$quiet" -v tasks="$tasks" '
		BEGIN {
			n = split(tasks, t, "\n")
			for (i = 2; i <= n; i++) { split(t[i], f, " "); status[f[1]] = f[3] }
			if (!q) printf "%-20s %-40s %s\n", "CONTAINER ID", "IMAGE", "STATUS"
		}
		NR == 1 { next }
		{
			s = ($1 in status) ? status[$1] : "CREATED"
			if (!all && s != "RUNNING") next
			img = $2; sub(/^docker\.io\/library\//, "", img)
			if (q) print substr($1, 1, 12); else printf "%-20s %-40s %s\n", substr($1, 1, 12), img, s
		}'
}

cmd_run() {
	local rm=0 interactive=0 tty=0 name="" a opts=()
	while [ $# -gt 0 ]; do
		a=$1
		case "$a" in
		--rm) rm=1 ;;
		-i | --interactive) interactive=1 ;;
		-t | --tty) tty=1 ;;
		-it | -ti) interactive=1 tty=1 ;;
		--name)
			[ $# -ge 2 ] || die "--name needs a value"
			name=$2
			shift
			;;
		--name=*) name=${a#*=} ;;
		-e | --env)
			[ $# -ge 2 ] || die "$a needs a value"
			opts+=(--env "$2")
			shift
			;;
		--env=*) opts+=(--env "${a#*=}") ;;
		--net=host | --network=host) opts+=(--net-host) ;;
		--net | --network)
			[ "${2:-}" = host ] || unsupported "run $a ${2:-}"
			opts+=(--net-host)
			shift
			;;
		--) shift && break ;;
		-*) unsupported "run $a" ;;
		*) break ;;
		esac
		shift
	done
	[ $# -gt 0 ] || die "run: an image is required"
	local image
	image=$(normalize "$1")
	shift
	if [ -z "$name" ]; then
		name=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	fi
	if [ "$rm" = 1 ]; then opts+=(--rm); fi
	if [ "$tty" = 1 ]; then opts+=(--tty); fi
	# ctr run keeps the command's exit code as its own.
	if [ "$interactive" = 1 ] || [ "$tty" = 1 ]; then
		exec "$ctr" run "${opts[@]}" -- "$image" "$name" "$@"
	fi
	exec "$ctr" run "${opts[@]}" -- "$image" "$name" "$@" </dev/null
}

case "$cmd" in
version)
	[ $# -eq 0 ] || unsupported "version $*"
	echo "nerdctl version $version"
	echo "Client: limactl test stand-in for nerdctl (containerd's ctr underneath)"
	exec "$ctr" version
	;;
load) cmd_load "$@" ;;
images) cmd_images "$@" ;;
ps) cmd_ps "$@" ;;
run) cmd_run "$@" ;;
image)
	sub=${1:-}
	if [ $# -gt 0 ]; then shift; fi
	case "$sub" in
	load) cmd_load "$@" ;;
	ls | list) cmd_images "$@" ;;
	*) unsupported "image $sub" ;;
	esac
	;;
container)
	sub=${1:-}
	if [ $# -gt 0 ]; then shift; fi
	case "$sub" in
	ls | list | ps) cmd_ps "$@" ;;
	run) cmd_run "$@" ;;
	*) unsupported "container $sub" ;;
	esac
	;;
*) unsupported "command \"$cmd\"" ;;
esac
