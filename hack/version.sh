#!/bin/sh
# Print limactl's version as a semantic version, as `make` passes it to -ldflags:
#   at or after a release tag vX.Y.Z   X.Y.Z or X.Y.Z-N-gHASH  (".m" appended when the tree is modified)
#   in a history without such a tag    0.0.0-N-gHASH           (N = commits in the history)
#   outside a git checkout             0.0.0-dev
set -u
cd "$(dirname -- "$0")/.." || exit 1
if v=$(git describe --tags --match 'v[0-9]*' --dirty=.m 2>/dev/null); then
	echo "${v#v}"
	exit 0
fi
if hash=$(git rev-parse --short HEAD 2>/dev/null) && n=$(git rev-list --count HEAD 2>/dev/null); then
	dirty=
	git diff --quiet HEAD -- 2>/dev/null || dirty=.m
	echo "0.0.0-$n-g$hash$dirty"
	exit 0
fi
echo 0.0.0-dev
