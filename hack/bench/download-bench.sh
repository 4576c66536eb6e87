#!/bin/sh
# Compares pkg/downloader with curl on one file served by `python3 -m http.server` on 127.0.0.1,
# in the same run. Our side is hack/bench/downloadbench (built once with `go build`, so compile
# time is not measured). Prints a markdown table for docs/performance.md.
# Usage: hack/bench/download-bench.sh [SIZE_MIB] [RUNS]
set -eu
size=${1:-256}
runs=${2:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/downloadbench" "$root/hack/bench/downloadbench"
mkdir -p "$work/srv"
head -c "$((size * 1024 * 1024))" /dev/urandom >"$work/srv/img"
digest="sha256:$(sha256sum "$work/srv/img" | cut -d' ' -f1)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/srv" && exec python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
server=$!
url="http://127.0.0.1:$port/img"
i=0
until curl -fsS -o /dev/null -r 0-0 "$url" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && { echo "http.server did not start" >&2; exit 1; }
	sleep 0.1
done

# best RUNS-time wall clock of a command, in seconds
best() {
	b=
	r=0
	while [ "$r" -lt "$runs" ]; do
		rm -rf "$work/out" && mkdir -p "$work/out"
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
		r=$((r + 1))
	done
	echo "$b"
}
curl_null=$(best curl -fsS -o /dev/null "$url")
curl_file=$(best curl -fsS -o "$work/out/img" "$url")
ours_direct=$(best "$work/downloadbench" "$url" "$work/out/img")
ours_digest=$(best "$work/downloadbench" -digest "$digest" "$url" "$work/out/img")
ours_cache=$(best "$work/downloadbench" -cache "$work/out/cache" -digest "$digest" "$url" "$work/out/img")
sha=$(best sha256sum "$work/srv/img")

row() { printf '| %s | %.3f | %.0f | %.2f |\n' "$1" "$2" "$(echo "$size / $2" | bc -l)" "$(echo "$2 / $curl_file" | bc -l)"; }
echo "$size MiB from python3 -m http.server on 127.0.0.1, best of $runs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| client | seconds | MiB/s | vs curl -o file |"
echo "|---|---:|---:|---:|"
row "curl -o /dev/null" "$curl_null"
row "curl -o file" "$curl_file"
row "downloader, no cache, no digest" "$ours_direct"
row "downloader, no cache, sha256" "$ours_digest"
row "downloader, cache + sha256 + copy to instance path" "$ours_cache"
row "sha256sum of the file (reference)" "$sha"
