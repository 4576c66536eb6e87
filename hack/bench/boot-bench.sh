#!/bin/bash
# Measures how long limactl takes to boot the test image to READY against the floor of QEMU
# booting the same image with the same arguments by hand, and what `limactl shell NAME true`
# costs against plain OpenSSH on the same guest. Not a test: it prints markdown tables for
# docs/performance.md ("Boot and shell").
#
# Usage: hack/bench/boot-bench.sh [ROUNDS]      (default 1; each round boots 5 VMs, one at a time)
#
# One round, with a fresh LIMA_HOME instance:
#   1. `limactl start` of a new instance, timed from invocation to exit 0 (READY); meanwhile the
#      instance's SSH port is polled so the time the guest's sshd first answers is known too.
#      The exact QEMU argv limactl used is copied from /proc/PID/cmdline, and cidata.iso from the
#      instance directory.
#   2. 20 x `limactl shell NAME true`, `ssh -F ssh.config lima-NAME true` with a ControlMaster
#      (opened by one warm-up, kept by ControlPersist) and the same ssh without a master
#      (hyperfine, medians); host agent RSS after READY and after the shells.
#   3. `limactl stop`, then `limactl start NAME` again (restart of a stopped instance), stop.
#   4. The floor: qemu-system-x86_64 with limactl's argv (paths moved to a scratch dir, another
#      host port, a new overlay on the same base image, the same cidata.iso), timed from launch to
#      reading the "SSH-2.0" banner (slirp accepts TCP before sshd listens, so a connect is not
#      enough). The guest is then powered off over SSH and booted again: the restart floor.
# Every boot holds `flock $VM_LOCK` (default /work/coord/vm.lock when it exists) so one VM runs
# at a time on a shared machine. Needs qemu-system-x86_64, qemu-img, hyperfine, ssh, python3.
# Set KEEP=1 to keep the scratch directory (logs, serial output) for inspection.
set -eu
rounds=${1:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
img=$("$root/hack/build-test-image.sh" --print-dir)
lockfile=${VM_LOCK:-}
if [ -z "$lockfile" ] && [ -d /work/coord ]; then lockfile=/work/coord/vm.lock; fi
# Short path: QEMU's unix sockets must fit in sun_path (108 bytes).
work=$(mktemp -d /tmp/bb.XXXXXX)
export LIMA_HOME=$work/home
L=$work/out/bin/limactl
floor_pid=
instances=()

cleanup() {
	set +e
	if [ -n "$floor_pid" ] && kill -0 "$floor_pid" 2>/dev/null; then kill "$floor_pid"; wait "$floor_pid"; fi
	for n in "${instances[@]}"; do "$L" delete -f "$n" >/dev/null 2>&1 9>&-; done
	unlock
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
lock() { if [ -n "$lockfile" ]; then exec 9>"$lockfile" && flock 9; fi; }
unlock() { if [ -n "$lockfile" ]; then exec 9>&-; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[$(date -u +%T)] $*" >&2; }
load() { cut -d' ' -f1 /proc/loadavg; }

# banner PORT: succeeds once the guest's sshd has sent its identification string.
banner() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 7 <&3" 2>/dev/null | grep -q '^SSH-2.0'
}
# wait_banner PORT T0 PID: seconds from T0 until the banner, or "fail" when PID dies first.
wait_banner() {
	while ! banner "$1"; do
		kill -0 "$3" 2>/dev/null || { echo fail; return; }
		sleep 0.1
	done
	since "$2"
}
# steps INSTDIR T0 READY SSHD: one table row of when each start-up step of the host agent finished
# (from the events in ha.stdout.log), in seconds since T0.
steps() {
	python3 - "$@" <<'PY'
import json, sys, datetime
inst, t0, ready, sshd = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
done = {}
for line in open(inst + "/ha.stdout.log"):
    ev = json.loads(line)
    p = ev.get("status", {}).get("progress")
    if p and p.get("done"):
        t = ev["time"]
        sec = t[:19] + "." + (t[20:-1] + "000000")[:6] if "." in t else t[:19] + ".0"
        ts = datetime.datetime.strptime(sec, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        done[p["step"]] = "%.1f" % (ts - t0)
print(" | ".join([sshd] + [done.get(k, "-") for k in ("ssh", "user-session", "boot-scripts")] + [ready]))
PY
}
rss_mib() { awk '{ printf "%.1f", $1 / 1024 }' <<<"$(ps -o rss= -p "$(cat "$1/ha.pid")")"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

log "building limactl and the guest agent into $work/out"
make -s -C "$root" limactl guestagent OUT="$work/out" >/dev/null

# limactl_start LABEL INSTANCE ARGS...: prints "READY_SECONDS SSHD_SECONDS T0"; saves QEMU's argv to
# $work/LABEL.argv.
limactl_start() {
	local name=$1 t0 poller inst=$LIMA_HOME/$2
	shift 2
	t0=$(now)
	"$L" start --tty=false "$@" >"$work/$name.start.log" 2>&1 9>&- &
	local lpid=$!
	# Poll the instance's SSH port (and grab QEMU's argv) while limactl waits for READY.
	(
		until [ -s "$inst/qemu.pid" ] && grep -q '^  Port ' "$inst/ssh.config" 2>/dev/null; do
			kill -0 "$lpid" 2>/dev/null || exit 0
			sleep 0.05
		done
		cat "/proc/$(cat "$inst/qemu.pid")/cmdline" >"$work/$name.argv" 2>/dev/null
		wait_banner "$(awk '$1 == "Port" { print $2 }' "$inst/ssh.config")" "$t0" "$lpid" >"$work/$name.sshd"
	) 9>&- &
	poller=$!
	if ! wait "$lpid"; then
		log "limactl start $name failed:"
		tail -20 "$work/$name.start.log" >&2
		return 1
	fi
	echo "$(since "$t0") $(cat "$work/$name.sshd" 2>/dev/null || echo -) $t0"
	wait "$poller" || true
}

# floor_boot DIR: boots QEMU with the argv in DIR/argv; sets floor_pid, floor_secs to the seconds
# until the SSH banner and floor_done to the seconds until the boot scripts print "LIMA| boot-done"
# on the serial console (what READY waits for; no host agent answers the guest here).
floor_boot() {
	local t0
	mapfile -d '' -t args <"$1/argv"
	t0=$(now)
	"${args[@]}" >>"$1/qemu.log" 2>&1 9>&- &
	floor_pid=$!
	floor_secs=$(wait_banner "$fport" "$t0" "$floor_pid")
	if [ "$floor_secs" = fail ]; then
		log "raw QEMU exited before sshd answered:"
		tail -20 "$1/qemu.log" >&2
		exit 1
	fi
	local i=0
	while ! grep -aq 'LIMA| boot-done' "$1/serial.log" 2>/dev/null && [ $i -lt 1800 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	floor_done=$(since "$t0")
	if [ $i -ge 1800 ]; then floor_done=-; fi
}
floor_poweroff() {
	ssh -F "$1/ssh.config" -o ControlMaster=no -o ControlPath=none "lima-$2" sudo poweroff >/dev/null 2>&1 || true
	local i=0
	while kill -0 "$floor_pid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$floor_pid" 2>/dev/null; then kill "$floor_pid"; fi
	wait "$floor_pid" 2>/dev/null || true
	floor_pid=
}

boot_rows=()
steps_rows=()
shell_rows=()
for r in $(seq 1 "$rounds"); do
	name=bb$r
	inst=$LIMA_HOME/$name
	instances+=("$name")

	lock
	l0=$(load)
	log "round $r: limactl start (fresh), load $l0"
	out=$(limactl_start "$name" "$name" --name="$name" "$img/test-image.yaml") || exit 1
	read -r fresh fresh_sshd t0 <<<"$out"
	steps_rows+=("| $r | fresh | $(steps "$inst" "$t0" "$fresh" "$fresh_sshd") |")
	rss_ready=$(rss_mib "$inst")
	log "round $r: fresh READY ${fresh}s (sshd answered at ${fresh_sshd}s); shells"
	cfg=$inst/ssh.config
	hyperfine -N --style none --runs 20 --warmup 1 --export-json "$work/$name.shell.json" \
		-n "limactl shell" "$L shell $name true" \
		-n "ssh ControlMaster" "ssh -F $cfg lima-$name true" \
		-n "ssh no master" "ssh -F $cfg -o ControlMaster=no -o ControlPath=none lima-$name true" \
		>/dev/null 9>&-
	rss_shells=$(rss_mib "$inst")
	ssh -F "$cfg" -O exit "lima-$name" >/dev/null 2>&1 || true
	t0=$(now)
	"$L" stop "$name" >"$work/$name.stop.log" 2>&1 9>&-
	stop1=$(since "$t0")
	unlock

	lock
	l1=$(load)
	log "round $r: limactl start (restart), load $l1"
	out=$(limactl_start "$name.2" "$name" "$name") || exit 1
	read -r restart restart_sshd t0 <<<"$out"
	steps_rows+=("| $r | restart | $(steps "$inst" "$t0" "$restart" "$restart_sshd") |")
	"$L" stop "$name" >>"$work/$name.stop.log" 2>&1 9>&-
	unlock
	log "round $r: restart READY ${restart}s (sshd at ${restart_sshd}s)"

	# The floor: limactl's own QEMU argv, moved to a scratch dir with a new overlay and port.
	fdir=$work/f$r
	mkdir -p "$fdir"
	cp "$inst/cidata.iso" "$fdir/"
	ln -s "$inst/kernel" "$fdir/kernel"
	ln -s "$inst/initrd" "$fdir/initrd"
	qemu-img create -q -f qcow2 -F qcow2 -b "$inst/image" "$fdir/disk" "$(qemu-img info -U --output=json "$inst/disk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
	oport=$(grep -ao 'hostfwd=tcp:127.0.0.1:[0-9]*' "$work/$name.argv" | cut -d: -f3)
	fport=$(free_port)
	python3 - "$work/$name.argv" "$inst" "$fdir" "$oport" "$fport" >"$fdir/argv" <<'PY'
import sys
src, inst, fdir, oport, fport = sys.argv[1:]
args = open(src, "rb").read().decode().split("\0")[:-1]
out = []
skip = False
for a in args:
    if skip:
        skip = False
        continue
    if a == "-pidfile":
        skip = True
        continue
    a = a.replace(inst + "/", fdir + "/").replace("127.0.0.1:%s-" % oport, "127.0.0.1:%s-" % fport)
    out.append(a)
sys.stdout.write("\0".join(out) + "\0")
PY
	sed "s/^  Port .*/  Port $fport/; s/^  ControlMaster .*/  ControlMaster no/" "$cfg" >"$fdir/ssh.config"

	lock
	l2=$(load)
	log "round $r: raw QEMU (fresh overlay), load $l2"
	floor_boot "$fdir"
	ffresh=$floor_secs ffresh_done=$floor_done
	log "round $r: raw QEMU banner at ${ffresh}s; powering off"
	floor_poweroff "$fdir" "$name"
	unlock
	lock
	l3=$(load)
	log "round $r: raw QEMU (second boot), load $l3"
	floor_boot "$fdir"
	frestart=$floor_secs frestart_done=$floor_done
	floor_poweroff "$fdir" "$name"
	unlock
	log "round $r: raw QEMU second boot banner at ${frestart}s"

	boot_rows+=("$(awk -v r="$r" -v ff="$ffresh" -v ffd="$ffresh_done" -v f="$fresh" -v fs="$fresh_sshd" \
		-v fr="$frestart" -v frd="$frestart_done" -v rs="$restart" -v rss="$restart_sshd" -v l="$l0/$l1/$l2/$l3" 'BEGIN {
		printf "| %s | fresh | %.1f | %s | %s | %.1f | %+.1f | %.2f | %+.1f | %s |\n", r, ff, ffd, fs, f, f - ff, f / ff, f - ffd, l
		printf "| %s | restart | %.1f | %s | %s | %.1f | %+.1f | %.2f | %+.1f | |", r, fr, frd, rss, rs, rs - fr, rs / fr, rs - frd }')")
	shell_rows+=("$(python3 - "$work/$name.shell.json" "$r" "$rss_ready" "$rss_shells" <<'PY'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = res["ssh ControlMaster"]["median"]
for n in ("limactl shell", "ssh ControlMaster", "ssh no master"):
    x = res[n]
    print("| %s | `%s` | %.1f | %.1f | %.2f |" % (sys.argv[2], n, x["median"] * 1e3, x["min"] * 1e3, x["median"] / base))
print("| %s | host agent RSS after READY / after the shells | %s MiB / %s MiB | | |" % tuple(sys.argv[2:5]))
PY
)")
	log "round $r: stop took ${stop1}s; deleting"
	"$L" delete -f "$name" >/dev/null 2>&1 9>&-
done

echo
echo "Boot (seconds from launch; floor = raw QEMU to the SSH-2.0 banner; load = 1-min load average before each boot)"
echo
echo "| round | boot | raw QEMU: SSH banner (floor) [s] | raw QEMU: boot-done on console [s] | limactl: guest sshd answers [s] | limactl READY [s] | READY - floor [s] | READY / floor | READY - raw boot-done [s] | load (lima fresh/restart/raw fresh/restart) |"
echo "|:--|:--|--:|--:|--:|--:|--:|--:|--:|:--|"
printf '%s\n' "${boot_rows[@]}"
echo
echo "Where limactl's start-up time goes (seconds since \`limactl start\`; host agent events)"
echo
echo "| round | boot | guest sshd answers | first SSH command ok | ssh-ready marker | boot-done marker | READY (exit 0) |"
echo "|:--|:--|--:|--:|--:|--:|--:|"
printf '%s\n' "${steps_rows[@]}"
echo
echo "Shell (20 runs each after 1 warm-up, hyperfine; ratio against OpenSSH with a ControlMaster)"
echo
echo "| round | command | median [ms] | min [ms] | median / ssh ControlMaster |"
echo "|:--|:--|--:|--:|--:|"
printf '%s\n' "${shell_rows[@]}"
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), accel: $(grep -ao 'tcg\|kvm' "$work/bb1.argv" | head -1)"
