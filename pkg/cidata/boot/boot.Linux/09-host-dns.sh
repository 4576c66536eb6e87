#!/bin/sh
# With hostResolver enabled, sends the guest's DNS queries for the slirp DNS address to the host agent's
# DNS server (on the gateway, at the ports chosen for this boot). Rules live in their own nat chain,
# flushed and refilled on every boot.
# shellcheck disable=SC2153 # LIMA_CIDATA_* come from lima.env
set -eu
# shellcheck source=../util/lib.sh
. "${LIMA_CIDATA_MNT}/util/lib.sh"
[ "${LIMA_CIDATA_HOST_RESOLVER:-}" = 1 ] || exit 0
udp=${LIMA_CIDATA_UDP_DNS_LOCAL_PORT:-0}
tcp=${LIMA_CIDATA_TCP_DNS_LOCAL_PORT:-0}
if [ "${udp}" = 0 ] && [ "${tcp}" = 0 ]; then
	exit 0
fi
if ! command -v iptables >/dev/null 2>&1; then
	WARNING "iptables is missing: DNS goes to the hypervisor's resolver, not to the host agent (install iptables in the image)"
	exit 0
fi
chain=LIMA-DNS
iptables -t nat -N "${chain}" 2>/dev/null || iptables -t nat -F "${chain}"
for hook in OUTPUT PREROUTING; do
	iptables -t nat -C "${hook}" -j "${chain}" 2>/dev/null || iptables -t nat -I "${hook}" 1 -j "${chain}"
done
if [ "${udp}" != 0 ]; then
	iptables -t nat -A "${chain}" -d "${LIMA_CIDATA_SLIRP_DNS}" -p udp --dport 53 -j DNAT --to-destination "${LIMA_CIDATA_SLIRP_GATEWAY}:${udp}"
fi
if [ "${tcp}" != 0 ]; then
	iptables -t nat -A "${chain}" -d "${LIMA_CIDATA_SLIRP_DNS}" -p tcp --dport 53 -j DNAT --to-destination "${LIMA_CIDATA_SLIRP_GATEWAY}:${tcp}"
fi
