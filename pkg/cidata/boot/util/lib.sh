# shellcheck shell=sh
# Helpers sourced by boot.sh and every boot script. Scripts run as root with lima.env and param.env
# already exported by boot.sh (LIMA_CIDATA_*, PARAM_*) and LIMA_CIDATA_MNT pointing at the mounted
# cidata volume.

# INFO and WARNING write to the script's output, which cloud-init keeps in
# /var/log/cloud-init-output.log.
INFO() { printf 'LIMA: %s\n' "$*"; }
WARNING() { printf 'LIMA WARNING: %s\n' "$*" >&2; }

# lima_announce writes one "LIMA| <event> ..." line to the console (the serial port the host agent logs
# to serial.log) so the host can follow start-up without polling. See pkg/cidata's doc for the events.
lima_announce() {
	printf 'LIMA| %s\n' "$*" >>/dev/console 2>/dev/null || :
	INFO "$*"
}

# lima_marker writes the instance id to a marker file under /run, atomically, and announces it.
# $1 = marker file, $2 = event name.
lima_marker() {
	printf '%s\n' "${LIMA_CIDATA_IID}" >"$1.tmp"
	mv -f "$1.tmp" "$1"
	lima_announce "$2 ${LIMA_CIDATA_IID}"
}

# lima_block_replace FILE BLOCKFILE TAG: replaces the lines between "# BEGIN TAG" and "# END TAG" in FILE
# with the content of BLOCKFILE (or removes the block when BLOCKFILE is empty or missing). Prints
# "changed" when FILE was rewritten. Idempotent.
lima_block_replace() {
	_f=$1
	_blk=$2
	_begin="# BEGIN $3"
	_end="# END $3"
	[ -e "$_f" ] || : >"$_f"
	_tmp=$(mktemp "$_f.lima.XXXXXX")
	awk -v b="$_begin" -v e="$_end" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$_f" >"$_tmp"
	if [ -s "$_blk" ]; then
		{
			printf '%s\n' "$_begin"
			cat "$_blk"
			printf '%s\n' "$_end"
		} >>"$_tmp"
	fi
	if cmp -s "$_tmp" "$_f"; then
		rm -f "$_tmp"
	else
		chmod 644 "$_tmp"
		mv -f "$_tmp" "$_f"
		echo changed
	fi
}
