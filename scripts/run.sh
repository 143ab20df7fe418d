#!/usr/bin/env bash
# run.sh — install the build dependencies, build ygg64, and run it in the foreground on a
# generated default configuration (build/ygg64.yaml, kept across runs so the key stays the same).
# Extra arguments are passed to ygg64 (e.g. -loglevel debug). Stop it with Ctrl-C.
set -euo pipefail
YGG64_TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$YGG64_TOP/scripts/deps.sh"

need_pkgs "${BUILD_PKGS[@]}"
mkdir -p "$YGG64_TOP/build"
cmake_build "$YGG64_TOP/build" -DYGG64_TESTS=OFF
conf="$YGG64_TOP/build/ygg64.yaml"
if [[ ! -s "$conf" ]]; then
	(umask 077 && "$YGG64_TOP/build/ygg64" -genconf >"$conf.tmp" && mv "$conf.tmp" "$conf")
	echo "generated $conf" >&2
fi
exec "$YGG64_TOP/build/ygg64" -useconffile "$conf" "$@"
