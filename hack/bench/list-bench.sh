#!/bin/sh
# Measures `limactl list` over 100 instances and `limactl validate` of every shipped template,
# against the floor of starting the process at all (`limactl --version`), all in one run.
# Needs hyperfine (apt-get install -y hyperfine); prints a markdown table for docs/performance.md.
# Usage: hack/bench/list-bench.sh [N_INSTANCES]
set -eu
n=${1:-100}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/limactl" "$root/cmd/limactl"
L=$work/limactl
export HOME="$work/home" LIMA_HOME="$work/home/.lima"
mkdir -p "$HOME"
cat >"$work/mini.yaml" <<'YAML'
images:
- location: https://example.com/debian-amd64.qcow2
  arch: x86_64
- location: https://example.com/debian-arm64.qcow2
  arch: aarch64
mounts:
- location: "~"
YAML
# The first instance is created from the full default template, the rest by copying a small one.
"$L" create -y --name=inst-0 template:default >/dev/null 2>&1
"$L" create -y --name=inst-1 "$work/mini.yaml" >/dev/null 2>&1
i=2
while [ "$i" -lt "$n" ]; do
	cp -r "$LIMA_HOME/inst-0" "$LIMA_HOME/inst-$i"
	i=$((i + 1))
done
test "$("$L" list -q | wc -l)" -eq "$n"

set --
for t in $("$L" template list --short); do
	set -- "$@" -n "validate $t" "$L validate template:$t"
done
hyperfine -N --style none --warmup 3 --min-runs 30 --export-json "$work/result.json" \
	-n "limactl --version (floor)" "$L --version" \
	-n "list ($n instances)" "$L list" \
	-n "list --json ($n)" "$L list --json" \
	-n "list -q ($n)" "$L list -q" \
	"$@" >/dev/null
# Wall time is noisy on a shared machine; CPU time (user+sys) is steadier. Both are shown, each
# also as a ratio to the process start-up floor.
python3 - "$work/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
floor = r[0]
fw, fc = floor["median"], floor["user"] + floor["system"]
print("| Command | median wall [ms] | min wall [ms] | CPU user+sys [ms] | wall / floor | CPU / floor |")
print("|:---|---:|---:|---:|---:|---:|")
for x in r:
    cpu = x["user"] + x["system"]
    print(f"| `{x['command']}` | {x['median']*1e3:.1f} | {x['min']*1e3:.1f} | {cpu*1e3:.1f} | {x['median']/fw:.2f} | {cpu/fc:.2f} |")
PY
