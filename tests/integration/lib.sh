# lib.sh — sourced by the integration tests (tests/integration/t_*.sh).
#
# Conventions: a test prints what it checks, calls fail() on the first mismatch (exit 1) and
# skip() when a prerequisite is missing (exit 77, which ctest reports as "Skipped"). Every
# process and namespace a test starts is recorded and removed on exit, by PID / by name it
# created itself, never by pattern.
set -euo pipefail

: "${YGG64_BIN:?YGG64_BIN must name the ygg64 binary under test}"
YGG64_SRC="${YGG64_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
T_NAME="$(basename "$0" .sh)"
T_TMP="$(mktemp -d "${TMPDIR:-/tmp}/ygg64-$T_NAME.XXXXXX")"
T_PIDS=()
T_NETNS=()
T_CHECKS=0

t_cleanup() {
	local p ns
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${T_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for ns in "${T_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

skip() {
	echo "SKIP $T_NAME: $*"
	exit 77
}
fail() {
	echo "FAIL $T_NAME: $*"
	exit 1
}
pass() {
	T_CHECKS=$((T_CHECKS + 1))
	echo "ok $T_CHECKS - $*"
}
# expect_eq WHAT GOT WANT
expect_eq() {
	if [[ "$2" != "$3" ]]; then
		printf 'FAIL %s: %s\n  got:  %q\n  want: %q\n' "$T_NAME" "$1" "$2" "$3"
		exit 1
	fi
	pass "$1"
}
done_ok() {
	((T_CHECKS > 0)) || fail "no check ran"
	echo "$T_CHECKS passed, 0 failed"
}

# The reference yggdrasil-go 0.5.12 (installed by scripts/get-yggdrasil.sh).
need_yggdrasil() {
	YGG="${YGG64_YGGDRASIL:-${XDG_CACHE_HOME:-$HOME/.cache}/ygg-ref/usr/sbin/yggdrasil}"
	[[ -x "$YGG" ]] || skip "reference yggdrasil not found at $YGG (run scripts/get-yggdrasil.sh)"
	local v
	v="$("$YGG" -version | sed -n 's/^Build version: *//p')"
	[[ "$v" == 0.5.12 ]] || skip "reference yggdrasil at $YGG is version '$v', not 0.5.12"
	YGGCTL="$(dirname "$YGG")/yggdrasilctl"
}

need_root_netns() {
	[[ $EUID -eq 0 ]] || skip "needs root for network namespaces"
	command -v ip >/dev/null || skip "needs iproute2"
	local probe="y64probe$$"
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
	ip netns del "$probe"
}

# wait_exit PID SECONDS: waits for the child PID to exit and sets RC to its exit status;
# returns 1 on timeout. (Not usable in $(...): the daemon is not a child of that subshell.)
wait_exit() {
	local pid="$1" i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			RC=0
			wait "$pid" || RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}
