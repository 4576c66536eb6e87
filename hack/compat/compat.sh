#!/usr/bin/env bash
# hack/compat/compat.sh: compare two limactl binaries on commands that need no VM.
#
# Usage:
#   hack/compat/compat.sh [-s] LIMACTL_A LIMACTL_B
#
#   LIMACTL_A, LIMACTL_B  paths of the two binaries, e.g. _output/bin/limactl and an
#                         upstream Lima 2.2 limactl (/opt/homebrew/bin/limactl).
#   -s                    compare standard error too (off by default: wording differs).
#
# Each binary gets its own temporary HOME, LIMA_HOME and cache directory; the same list of
# commands runs against each (list, list --format json/yaml, --list-fields, validate of every
# template A lists, template copy, create/edit/clone/delete of a stopped instance whose image
# is a local path, disk create/list/delete, and error cases). Outputs are normalised (the
# temporary directories, the binary's path, log timestamps, the version string) and compared:
# the script prints a unified diff of the outputs and one line per exit-code mismatch.
#
# COMPAT_KEEP=1 keeps the temporary directory (outputs in DIR/a/out and DIR/b/out, exit codes in
# DIR/a/codes and DIR/b/codes) and prints its path.
#
# Exit status: 0 when nothing differs, 1 when something does, 2 on a usage error.
# Needs bash, diff, sed and mktemp. Nothing outside the temporary directories is touched,
# and no VM is started.
set -eu

compare_stderr=0
if [ "${1:-}" = "-s" ]; then
	compare_stderr=1
	shift
fi
if [ $# -ne 2 ]; then
	sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
fi

abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*/*) printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")" ;;
	*) command -v "$1" ;;
	esac
}

bin_a=$(abspath "$1") || {
	echo "compat: $1 not found" >&2
	exit 2
}
bin_b=$(abspath "$2") || {
	echo "compat: $2 not found" >&2
	exit 2
}
for b in "$bin_a" "$bin_b"; do
	if [ ! -x "$b" ]; then
		echo "compat: $b is not an executable file" >&2
		exit 2
	fi
done

root=$(mktemp -d "${TMPDIR:-/tmp}/limactl-compat.XXXXXX")
if [ -n "${COMPAT_KEEP:-}" ]; then
	echo "compat: outputs kept in $root" >&2
else
	trap 'rm -rf "$root"' EXIT
fi

# setup SIDE: a fresh HOME, LIMA_HOME, cache and a template booting a local image.
setup() {
	local dir="$root/$1"
	mkdir -p "$dir/home" "$dir/cache" "$dir/work"
	: >"$dir/work/disk.img"
	cat >"$dir/work/local.yaml" <<EOF
images:
- location: $dir/work/disk.img
  arch: x86_64
- location: $dir/work/disk.img
  arch: aarch64
mounts: []
EOF
	printf 'cpus: [\n' >"$dir/work/broken.yaml"
}

# run SIDE BIN CASE ARGS...: runs BIN ARGS in SIDE's environment, in SIDE/work, saving the
# normalised stdout (and stderr) under SIDE/out/CASE and appending "CASE EXIT" to SIDE/codes.
run() {
	local side="$1" bin="$2" name="$3"
	shift 3
	local dir="$root/$side" code=0
	mkdir -p "$dir/out"
	(
		cd "$dir/work"
		env -u LIMA_TEMPLATES_PATH -u LIMA_INSTANCE -u LIMA_SHELL -u LIMA_WORKDIR \
			HOME="$dir/home" LIMA_HOME="$dir/home/.lima" XDG_CACHE_HOME="$dir/cache" \
			LIMA_CACHE_HOME="$dir/cache" VISUAL=true EDITOR=true \
			"$bin" "$@" </dev/null >"$dir/out/$name.stdout" 2>"$dir/out/$name.stderr"
	) || code=$?
	printf '%s %s\n' "$name" "$code" >>"$dir/codes"
	for f in "$dir/out/$name.stdout" "$dir/out/$name.stderr"; do
		sed -i \
			-e "s#$dir#<ROOT>#g" \
			-e "s#$bin#<LIMACTL>#g" \
			-e 's/time="[^"]*" //' \
			-e 's/limactl version .*/limactl version <VERSION>/' \
			-e 's/"limaVersion":"[^"]*"/"limaVersion":"<VERSION>"/g' \
			-e 's/^\( *limaVersion:\) .*/\1 <VERSION>/' \
			"$f"
	done
}

# keep SIDE FILE: saves SIDE/work/FILE, normalised, with the outputs (a missing file is
# compared as empty).
keep() {
	local dir="$root/$1"
	mkdir -p "$dir/out"
	if [ -f "$dir/work/$2" ]; then
		sed -e "s#$dir#<ROOT>#g" "$dir/work/$2" >"$dir/out/file-$2"
	else
		: >"$dir/out/file-$2"
	fi
}

# cases SIDE BIN: the command list, run against one binary.
cases() {
	local s="$1" b="$2"
	run "$s" "$b" version --version
	run "$s" "$b" list-empty list
	run "$s" "$b" list-fields list --list-fields
	run "$s" "$b" validate-local validate local.yaml
	run "$s" "$b" template-copy template copy template:default -
	run "$s" "$b" template-copy-file template copy local.yaml copied.yaml
	keep "$s" copied.yaml
	run "$s" "$b" create create --tty=false --name=vm1 local.yaml
	run "$s" "$b" list list
	run "$s" "$b" list-json list --format json
	run "$s" "$b" list-yaml list --format yaml
	run "$s" "$b" list-go list --format '{{.Name}} {{.Status}} {{.CPUs}} {{.Memory}} {{.Disk}}'
	run "$s" "$b" edit edit --tty=false vm1 --cpus 3 --memory 3
	run "$s" "$b" list-after-edit list vm1 --format '{{.Name}} {{.CPUs}} {{.Memory}}'
	run "$s" "$b" clone clone --tty=false vm1 vm2
	run "$s" "$b" list-after-clone list --format '{{.Name}} {{.Status}} {{.CPUs}}'
	run "$s" "$b" delete-clone delete vm2
	run "$s" "$b" delete delete --force vm1
	run "$s" "$b" list-after-delete list
	run "$s" "$b" disk-create disk create d1 --size 1GiB
	run "$s" "$b" disk-list disk list
	run "$s" "$b" disk-list-json disk list --json
	run "$s" "$b" disk-delete disk delete d1
	run "$s" "$b" disk-list-after-delete disk list
	# Error cases: the exit codes matter most.
	run "$s" "$b" err-unknown-command no-such-command
	run "$s" "$b" err-unknown-flag list --no-such-flag
	run "$s" "$b" err-list-missing list no-such-instance
	run "$s" "$b" err-delete-missing delete no-such-instance
	run "$s" "$b" err-edit-missing edit --tty=false no-such-instance
	run "$s" "$b" err-create-bad-name create --tty=false --name=bad_name! local.yaml
	run "$s" "$b" err-create-missing-template create --tty=false template:no-such-template
	run "$s" "$b" err-validate-missing validate no-such-file.yaml
	run "$s" "$b" err-validate-broken validate broken.yaml
	run "$s" "$b" err-disk-delete-missing disk delete no-such-disk
	run "$s" "$b" err-disk-create-nosize disk create d2
	local t
	for t in $templates; do
		run "$s" "$b" "validate-${t//\//_}" validate "template:$t"
	done
}

setup a
setup b
# The templates to validate: those binary A lists.
templates=$(env -u LIMA_TEMPLATES_PATH HOME="$root/a/home" LIMA_HOME="$root/a/home/.lima" \
	XDG_CACHE_HOME="$root/a/cache" LIMA_CACHE_HOME="$root/a/cache" "$bin_a" create --list-templates 2>/dev/null || true)
cases a "$bin_a"
cases b "$bin_b"

status=0
while read -r name code_a; do
	code_b=$(awk -v n="$name" '$1 == n { print $2 }' "$root/b/codes")
	if [ "$code_a" != "$code_b" ]; then
		echo "exit code: $name: A=$code_a B=$code_b"
		status=1
	fi
done <"$root/a/codes"
if [ "$compare_stderr" = 0 ]; then
	rm -f "$root"/a/out/*.stderr "$root"/b/out/*.stderr
fi
(cd "$root" && diff -ru a/out b/out) || status=1
exit "$status"
