#!/bin/sh
# Adds the hostResolver.hosts entries (host.lima.internal and the user's names) to /etc/hosts, so they
# resolve even without the host agent's DNS server. The block is replaced on every boot.
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
lima_block_replace /etc/hosts "${LIMA_CIDATA_MNT}/etc_hosts" "limactl hostResolver.hosts" >/dev/null
