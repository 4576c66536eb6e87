#!/usr/bin/env bash
# demo.sh: `make demo`. Sets up the host, builds the test guest image, boots it as the instance
# "demo" with the freshly built limactl (_output/bin), runs a command in it and leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
limactl=_output/bin/limactl

sudo_if_needed() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

case "$(uname -s)" in
Darwin)
	if ! command -v qemu-system-x86_64 >/dev/null && ! command -v qemu-system-aarch64 >/dev/null; then
		echo "QEMU is missing. Install it with:" >&2
		echo "  brew install qemu" >&2
		exit 1
	fi
	echo "The demo's test guest image is built with Debian tools (mmdebstrap); run make demo on a Debian or Ubuntu host." >&2
	exit 1
	;;
Linux)
	if command -v apt-get >/dev/null; then
		sudo_if_needed hack/install-host-deps.sh
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		echo "QEMU is missing: install qemu-system-x86 and qemu-utils with your package manager." >&2
		exit 1
	fi
	;;
esac

echo "==> Building the test guest image (about a minute the first time)" >&2
dir=$(sudo_if_needed hack/build-test-image.sh | tail -n 1)

if "$limactl" list --format '{{.Name}}' 2>/dev/null | grep -qx demo; then
	echo "==> Deleting the previous demo instance" >&2
	"$limactl" delete -f demo
fi
echo "==> Booting the instance \"demo\" (under TCG this takes one to two minutes)" >&2
"$limactl" start --tty=false --name=demo "$dir/test-image.yaml"
echo "==> limactl shell demo uname -a" >&2
"$limactl" shell demo uname -a
cat >&2 <<MSG

The instance "demo" is running. Try:
  $limactl shell demo
  $limactl list
Stop it with:    $limactl stop demo
Delete it with:  $limactl delete -f demo
MSG
