# bench/lib.sh — sourced by bench/overlay.sh, bench/nat64.sh and bench/idle.sh (benchmarks,
# not tests: they measure and print, they assert nothing about speed).
#
# Reuses the integration harness (tests/integration/lib.sh + netns.sh): namespaces y64<pid>-N
# with veths created inside them, nodes started from patched `yggdrasil -genconf -json`
# configs, queries with the real yggdrasilctl, cleanup of every PID and namespace on exit.
# All traffic stays between the namespaces a script creates. Raw results are kept in
# $BENCH_OUT (a new /tmp/ygg64-bench.XXXXXX unless set), one TSV line per measurement.
#
# Environment: YGG64_BIN (default build/ygg64 of this tree), YGG64_YGGDRASIL (the reference
# binary, as for the tests), Y64_IMPL=real (the real yggdrasil stands in for ygg64 everywhere),
# BENCH_QUIET_PCT / BENCH_QUIET_MAX (wait, at most MAX s, before each run until the machine
# is less than PCT % busy; 25 and 30). BENCH_NO_HARNESS=1 leaves the harness out (no root
# needed), for scripts that only print tables from an existing $BENCH_OUT.

BENCH_TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${YGG64_BIN:=$BENCH_TOP/build/ygg64}"
export YGG64_BIN
# need_ygg64_bin: exits unless ygg64 is built (not needed with Y64_IMPL=real).
need_ygg64_bin() {
	[[ "${Y64_IMPL:-ygg64}" == real || -x "$YGG64_BIN" ]] ||
		fail "no ygg64 binary at $YGG64_BIN (build it, set YGG64_BIN, or use Y64_IMPL=real)"
}
if [[ -z "${BENCH_NO_HARNESS:-}" ]]; then
	. "$BENCH_TOP/tests/integration/lib.sh"
	need_yggdrasil
	need_root_netns
	. "$BENCH_TOP/tests/integration/netns.sh"
else
	set -euo pipefail
	fail() {
		echo "FAIL: $*" >&2
		exit 1
	}
fi

BENCH_OUT="${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ygg64-bench.XXXXXX")}"
mkdir -p "$BENCH_OUT"
BENCH_QUIET_PCT="${BENCH_QUIET_PCT:-25}"
BENCH_QUIET_MAX="${BENCH_QUIET_MAX:-30}"
HZ="$(getconf CLK_TCK)"

blog() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# rec GROUP TEST METRIC VALUE: one line of $BENCH_OUT/results.tsv.
rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_OUT/results.tsv"; }

# median GROUP TEST METRIC: the median of the recorded values, or "" if none.
median() {
	awk -F'\t' -v g="$1" -v t="$2" -v m="$3" '$1 == g && $2 == t && $3 == m { print $4 }' \
		"$BENCH_OUT/results.tsv" 2>/dev/null | sort -g |
		awk '{ v[++n] = $1 }
		     END { if (n) print (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }'
}

# --- processes ---------------------------------------------------------------------------------

# proc_ticks PID: user + system CPU ticks of the process (all threads).
proc_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# proc_rss_kb PID / proc_threads PID: resident set size (KiB) and number of threads.
proc_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
proc_threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
# proc_ctxsw PID: voluntary + involuntary context switches of all the process's threads (each
# voluntary switch is a sleep, so its rate counts wake-ups).
proc_ctxsw() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
# ticks_to_s TICKS: CPU seconds.
ticks_to_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# --- machine load ------------------------------------------------------------------------------

# cpu_busy_total: busy and total jiffies of all cores (/proc/stat; idle and iowait are not busy).
cpu_busy_total() {
	awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat
}
# cpu_steal_total: steal and total jiffies of all cores; steal is time the hypervisor gave
# our vCPUs' turn to someone else, which no process here can see or help.
cpu_steal_total() {
	awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# machine_busy_1s: % of all cores busy over about one second.
machine_busy_1s() {
	local a b
	a="$(cpu_busy_total)"
	sleep 1
	b="$(cpu_busy_total)"
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2] > 0 ? y[2] - x[2] : 1) }'
}

# wait_quiet: waits (BENCH_QUIET_MAX s at most) until the machine is less than
# BENCH_QUIET_PCT % busy, so that runs do not overlap other people's jobs.
wait_quiet() {
	local t0=$SECONDS busy
	while :; do
		busy="$(machine_busy_1s)"
		((busy < BENCH_QUIET_PCT)) && return 0
		if ((SECONDS - t0 >= BENCH_QUIET_MAX)); then
			blog "machine still ${busy}% busy after ${BENCH_QUIET_MAX} s — measuring anyway"
			return 0
		fi
	done
}

# --- trees -------------------------------------------------------------------------------------

# tree_converged NAME...: true when the union of the nodes' getTree views holds every node,
# each key with one (parent, sequence) in all views, under a single root, and every node lists
# itself and all its up peers (link-routing §5.6).
declare -gA BENCH_KEY=()
tree_converged() {
	local n all="" view peers k
	for n in "$@"; do
		[[ -n "${BENCH_KEY[$n]:-}" ]] || BENCH_KEY[$n]="$(node_key "$n")"
		view="$(ctl "$n" getTree 2>/dev/null |
			jq -r '.tree[] | "\(.key) \(.parent) \(.sequence)"')" || return 1
		[[ -n "$view" ]] || return 1
		peers="$(ctl "$n" getPeers 2>/dev/null | jq -r '.peers[] | select(.up) | .key')" || return 1
		for k in "${BENCH_KEY[$n]}" $peers; do grep -q "^$k " <<<"$view" || return 1; done
		all+="$view"$'\n'
	done
	all="$(sed '/^$/d' <<<"$all" | sort -u)"
	[[ -z "$(cut -d' ' -f1 <<<"$all" | uniq -d)" ]] &&
		[[ "$(wc -l <<<"$all")" == "$#" ]] &&
		[[ "$(awk '$1 == $2' <<<"$all" | wc -l)" == 1 ]]
}

# iperf NS-SERVER BIND NS-CLIENT DST OUT ARGS...: one iperf3 run (BENCH_T seconds unless ARGS
# say -t), its server in NS-SERVER bound to BIND ("" for any address); JSON in OUT. Returns 1
# when iperf3 produced no result. Used by overlay.sh and nat64.sh.
iperf() {
	local nss="$1" bind="$2" nsc="$3" dst="$4" out="$5" spid i
	shift 5
	bg_start "$nss" timeout 120 iperf3 -s -1 ${bind:+-B "$bind"} -p 5201 >/dev/null 2>&1
	spid="$BG_PID"
	for ((i = 0; i < 50; i++)); do
		ns_exec "$nss" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.1
	done
	ns_exec "$nsc" timeout 120 iperf3 -c "$dst" -p 5201 -J "$@" >"$out" 2>"$out.err" || true
	wait_exit "$spid" 10 || kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	pid_forget "$spid"
	jq -e '.end.sum_received.bytes > 0' "$out" >/dev/null 2>&1
}

# udp_figures OUT: U_RX and U_TX (kpps) and U_LOSS (%) of the iperf3 UDP JSON in OUT
# (BENCH_UDP_LEN bytes per datagram).
udp_figures() {
	# shellcheck disable=SC2034 # read by the sourcing script
	read -r U_RX U_TX U_LOSS < <(jq -r --argjson l "$BENCH_UDP_LEN" '.end | [
		.sum_received.bytes / $l / .sum_received.seconds / 1000,
		.sum_sent.bytes / $l / .sum_sent.seconds / 1000, .sum_received.lost_percent] |
		map(. * 100 | round / 100) | join(" ")' "$1")
}
