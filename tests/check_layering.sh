#!/usr/bin/env bash
# The dependency rules of STYLE.md §2/§4, checked on the #include lines (a grep is the
# layering check): each directory may include only the headers listed for it, other
# directories only through their facades, and the third-party headers only where allowed.
set -uo pipefail
top="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$top/src" || exit 1
bad=0
checked=0

# rule DIR-or-FILE-glob ALLOWED-REGEX: every project include ("...") must match ALLOWED.
rule() {
	local files=() f inc
	# shellcheck disable=SC2206
	files=($1)
	for f in "${files[@]}"; do
		[[ -f "$f" ]] || continue
		checked=$((checked + 1))
		while IFS= read -r inc; do
			if ! [[ "$inc" =~ $2 ]]; then
				echo "layering: $f includes \"$inc\" (allowed: $2)"
				bad=1
			fi
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
}
# only FILES-regex may include <HEADER>
only() {
	local f
	while IFS= read -r f; do
		[[ "$f" =~ $2 ]] || { echo "layering: $f includes <$1> (only $2 may)"; bad=1; }
	done < <(grep -rlE "^#[[:space:]]*include[[:space:]]*<$1>" --include='*.[ch]' .)
}

facades='^(lib/[a-z_0-9]+\.h|crypto/[a-z_0-9]+\.h|config/config\.h|core/core\.h|tun/tun\.h|nat64/nat64\.h|fwd/fwd\.h|admin/admin\.h)$'
rule 'lib/*.[ch]' '^lib/'
rule 'crypto/*.[ch]' '^(lib|crypto)/'
rule 'config/*.[ch]' '^(lib|config)/'
rule 'core/*.[ch]' '^(lib/|crypto/[a-z_0-9]+\.h$|config/config\.h$|core/)'
rule 'tun/*.[ch]' '^(lib/|config/config\.h$|tun/)'
rule 'nat64/*.[ch]' '^(lib/|config/config\.h$|nat64/)'
rule 'fwd/*.[ch]' '^(lib/|fwd/)'
rule 'admin/*.[ch]' "^(admin/[a-z_0-9]+\.h|${facades:1:-1})\$"
rule 'main.c' "^(daemon\.h|${facades:1:-1})\$"
rule 'daemon.[ch]' "^(daemon\.h|${facades:1:-1})\$"
only 'sodium\.h' '^\./crypto/'
only 'sodium/[a-z_0-9]+\.h' '^\./crypto/'
only 'yaml\.h' '^\./config/config_yaml\.c$'
only 'uv\.h' '^\./(core/(link|peer|core)\.c|tun/tun_linux\.c|admin/admin\.c|daemon\.c)$'
only 'jansson\.h' '^\./admin/'
only 'msgpack\.h' '^\./nat64/snap\.c$'
only 'msgpack/[a-z_0-9]+\.h' '^\./nat64/snap\.c$'

((checked > 0)) || { echo "layering: no source files found under $top/src"; exit 1; }
if ((bad)); then
	echo "layering: FAILED"
	exit 1
fi
echo "layering: $checked files follow the include rules"
echo "1 passed, 0 failed"
