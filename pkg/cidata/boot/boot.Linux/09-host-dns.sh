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
if ! command -v iptables-restore >/dev/null 2>&1 || ! command -v iptables-save >/dev/null 2>&1; then
	WARNING "iptables is missing: DNS goes to the hypervisor's resolver, not to the host agent (install iptables in the image)"
	exit 0
fi
# One iptables-save and one iptables-restore instead of an iptables run per rule: each run reads the
# whole ruleset, and under an emulated CPU costs a tenth of a second or more. Declaring the chain in
# the restore input creates it, or flushes it when an earlier run in this boot made it; the hooks are
# added unless they are there (the nat table starts empty at boot).
chain=LIMA-DNS
saved=$(iptables-save -t nat 2>/dev/null || :)
rules=":${chain} - [0:0]"
for hook in OUTPUT PREROUTING; do
	case "${saved}" in
	*"-A ${hook} -j ${chain}"*) ;;
	*) rules="${rules}
-I ${hook} 1 -j ${chain}" ;;
	esac
done
if [ "${udp}" != 0 ]; then
	rules="${rules}
-A ${chain} -d ${LIMA_CIDATA_SLIRP_DNS} -p udp --dport 53 -j DNAT --to-destination ${LIMA_CIDATA_SLIRP_GATEWAY}:${udp}"
fi
if [ "${tcp}" != 0 ]; then
	rules="${rules}
-A ${chain} -d ${LIMA_CIDATA_SLIRP_DNS} -p tcp --dport 53 -j DNAT --to-destination ${LIMA_CIDATA_SLIRP_GATEWAY}:${tcp}"
fi
printf '*nat\n%s\nCOMMIT\n' "${rules}" | iptables-restore --noflush
