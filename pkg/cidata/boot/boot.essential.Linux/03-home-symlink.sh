#!/bin/sh
# The guest user's home is /home/NAME.guest (Lima 2.x); /home/NAME.linux, the home of Lima 1.x,
# becomes a symlink to it so paths written for either keep working. Nothing is done for any other
# home, or when /home/NAME.linux already exists.
# shellcheck disable=SC2154 # LIMA_CIDATA_* come from lima.env
set -eu
home="${LIMA_CIDATA_HOME:-}"
case "${home}" in
/home/*.guest) ;;
*) exit 0 ;;
esac
old="${home%.guest}.linux"
if [ -d "${home}" ] && [ ! -e "${old}" ] && [ ! -L "${old}" ]; then
	ln -s "$(basename "${home}")" "${old}"
fi
