# bench/lib.sh — sourced by bench/overlay.sh, bench/nat64.sh, bench/fused.sh and bench/idle.sh
# (benchmarks, not tests: they measure and print, they assert nothing about speed).
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
# when iperf3 produced no result. Used by overlay.sh, nat64.sh and fused.sh.
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

# --- shared by nat64.sh and fused.sh -----------------------------------------------------------

# lossy LOSS: true when LOSS (%) is 1 or more (the UDP knee's limit).
lossy() { awk -v l="$1" 'BEGIN { exit !(l >= 1) }'; }

# udp_knees GROUP...: the udp64 figure of every group (a translator, a path), each step taken
# by all of them in turn. The script defines udp_run GROUP PPS SECS TAG (one UDP run at PPS
# packets/s, 0 = unpaced, that sets U_RX, U_TX and U_LOSS and records its CPU under TAG) and
# may define udp_knee_cpu GROUP TAG (records the group's CPU at the knee from the run(s)
# tagged TAG: udp-unpaced when sender-bound, else udp-kneeB.BENCH_REPS, the last confirming
# run of step-back B). Method: one unpaced run; if it loses < 1 % the path outruns the sender
# and its rate is the figure ("sender_bound"); else BENCH_KNEE_STEPS bisection probes of
# BENCH_KNEE_T s, then BENCH_REPS confirming runs of BENCH_T s at the rate found, stepping it
# down 10 % (at most 3 times) while their median loss (the higher middle value of an even
# count) is still >= 1 %. Records GROUP
# udp-unpaced rx_kpps / loss_pct and GROUP udp knee_kpps / loss_pct (one line per run).
udp_knees() {
	local x k rep back ml left
	declare -A lo=() hi=() mid=() fin=()
	for x in "$@"; do
		udp_run "$x" 0 "$BENCH_T" udp-unpaced
		blog "$x udp$BENCH_UDP_LEN unpaced: rx $U_RX kpps, tx $U_TX kpps, loss $U_LOSS %"
		rec "$x" udp-unpaced rx_kpps "$U_RX"
		rec "$x" udp-unpaced loss_pct "$U_LOSS"
		if ! lossy "$U_LOSS" && awk -v r="$U_RX" 'BEGIN { exit !(r > 0) }'; then
			rec "$x" udp knee_kpps "$U_RX"
			rec "$x" udp loss_pct "$U_LOSS"
			rec "$x" udp sender_bound 1
			! declare -F udp_knee_cpu >/dev/null || udp_knee_cpu "$x" udp-unpaced
			fin[$x]=1
			continue
		fi
		lo[$x]=0
		hi[$x]="$(awk -v t="$U_TX" 'BEGIN { printf "%d", t * 1000 * 1.05 }')"
		((hi[$x] > 0)) || hi[$x]=1000000
		mid[$x]="$(awk -v r="$U_RX" 'BEGIN { printf "%d", r * 1000 }')"
		((mid[$x] > 0 && mid[$x] < hi[$x])) || mid[$x]=$((hi[$x] / 2))
	done
	for ((k = 1; k <= BENCH_KNEE_STEPS; k++)); do
		for x in "$@"; do
			[[ -z "${fin[$x]:-}" ]] || continue
			udp_run "$x" "${mid[$x]}" "$BENCH_KNEE_T" "udp-probe$k"
			blog "$x udp probe $k: offered $((mid[$x] / 1000)) kpps -> rx $U_RX kpps," \
				"loss $U_LOSS %"
			if lossy "$U_LOSS"; then hi[$x]=${mid[$x]}; else lo[$x]=${mid[$x]}; fi
			mid[$x]=$(((lo[$x] + hi[$x]) / 2))
		done
	done
	for x in "$@"; do
		[[ -n "${fin[$x]:-}" ]] || ((lo[$x] > 0)) || lo[$x]=$((hi[$x] / 2))
	done
	for ((back = 0; back <= 3; back++)); do
		left=0
		for x in "$@"; do
			[[ -z "${fin[$x]:-}" ]] || continue
			: >"$BENCH_OUT/.knee.$x"
			left=$((left + 1))
		done
		((left > 0)) || break
		for ((rep = 1; rep <= BENCH_REPS; rep++)); do
			for x in "$@"; do
				[[ -z "${fin[$x]:-}" ]] || continue
				udp_run "$x" "${lo[$x]}" "$BENCH_T" "udp-knee$back.$rep"
				blog "$x udp at $((lo[$x] / 1000)) kpps, run $rep: rx $U_RX kpps," \
					"loss $U_LOSS %"
				echo "$U_RX $U_LOSS" >>"$BENCH_OUT/.knee.$x"
			done
		done
		for x in "$@"; do
			[[ -z "${fin[$x]:-}" ]] || continue
			# the median loss; of an even count the higher one (of 2 runs, both must pass)
			ml="$(awk '{ print $2 }' "$BENCH_OUT/.knee.$x" | sort -g |
				awk '{ v[++n] = $1 } END { print v[int(n / 2) + 1] }')"
			if lossy "$ml" && ((back < 3)); then
				lo[$x]=$((lo[$x] * 9 / 10))
				continue
			fi
			while read -r r l; do
				rec "$x" udp knee_kpps "$r"
				rec "$x" udp loss_pct "$l"
			done <"$BENCH_OUT/.knee.$x"
			! declare -F udp_knee_cpu >/dev/null || udp_knee_cpu "$x" "udp-knee$back.$BENCH_REPS"
			fin[$x]=1
		done
	done
}

# tayga_start NS OUT-IF POOL4 ADDR4: the seed stack's NAT64 in namespace NS: Debian's tayga
# with its own TUN "nat64" (MTU TAYGA_MTU, default 1500), prefix NAT64_PREFIX, dynamic pool
# POOL4 (tayga's own address ADDR4 inside it), both routed into that TUN, then the kernel's
# NAT44 of the pool onto OUT-IF's address (iptables -t nat MASQUERADE -o OUT-IF) and TCPMSS
# --clamp-mss-to-pmtu in mangle FORWARD. The data directory is $T_TMP/tayga-NS. Sets
# TAYGA_PID. IPv4 forwarding in NS is the caller's.
tayga_start() {
	local ns="$1" out="$2" pool="$3" a4="$4" d="$T_TMP/tayga-$1"
	command -v tayga >/dev/null || skip "needs tayga (scripts/deps.sh installs it)"
	command -v iptables >/dev/null || skip "needs iptables (scripts/deps.sh installs it)"
	mkdir -p "$d"
	cat >"$d/tayga.conf" <<-EOT
		tun-device nat64
		ipv4-addr $a4
		prefix $NAT64_PREFIX
		dynamic-pool $pool
		data-dir $d
	EOT
	ns_exec "$ns" tayga -c "$d/tayga.conf" --mktun >"$d/tayga.log" 2>&1 ||
		fail "tayga --mktun failed: $(cat "$d/tayga.log")"
	ns_exec "$ns" ip link set nat64 mtu "${TAYGA_MTU:-1500}" up
	ns_exec "$ns" ip -6 route add "$NAT64_PREFIX" dev nat64
	ns_exec "$ns" ip -4 route add "$pool" dev nat64
	ns_exec "$ns" iptables -t nat -A POSTROUTING -s "$pool" -o "$out" -j MASQUERADE ||
		fail "iptables MASQUERADE failed in namespace $ns"
	ns_exec "$ns" iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN \
		-j TCPMSS --clamp-mss-to-pmtu || fail "iptables TCPMSS failed in namespace $ns"
	bg_start "$ns" tayga -c "$d/tayga.conf" --nodetach >>"$d/tayga.log" 2>&1
	TAYGA_PID="$BG_PID"
}

# --- tables ------------------------------------------------------------------------------------

# fig GROUP TEST METRIC: the median or "-"; info_get KEY: a setting of the run, as recorded
# ("run info KEY VALUE"); ratio A B: A / B with two decimals or "-"; fmt V: three significant
# digits (none after the point from 100 up) or "-".
fig() { local v; v="$(median "$@")"; echo "${v:--}"; }
info_get() {
	awk -F'\t' -v k="$1" '$1 == "run" && $2 == "info" && $3 == k { v = $4 } END { print v }' \
		"$BENCH_OUT/results.tsv"
}
ratio() {
	awk -v a="$1" -v b="$2" \
		'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}
fmt() {
	awk -v v="$1" 'BEGIN { if (v !~ /^[0-9.]+$/) { print "-"; exit }
		printf (v >= 100 ? "%.0f" : (v >= 10 ? "%.1f" : "%.3g")), v }'
}

# ping_rtt GROUP NS DST REP: the RTT from NS to DST (40 pings 50 ms apart, the first run after
# 3 warm-up pings for neighbours, keys and sessions), recorded as GROUP ping rtt_ms. The
# ping and tcp tests of overlay.sh, nat64.sh and fused.sh.
ping_rtt() {
	local g out
	(($4 > 1)) || ns_exec "$2" ping "$(ip_fam "$3")" -n -q -c 3 -i 0.2 -W 2 "$3" \
		>/dev/null 2>&1 || true
	out="$(ns_exec "$2" timeout 30 ping "$(ip_fam "$3")" -n -q -c 40 -i 0.05 -W 2 "$3" \
		2>&1 || true)"
	g="$(sed -n 's#.*= [0-9.]*/\([0-9.]*\)/.*#\1#p' <<<"$out")"
	[[ -n "$g" ]] && rec "$1" ping rtt_ms "$g"
	blog "$1 ping run $4: ${g:-FAILED} ms"
}

# tcp_rate GROUP TEST REP NS-SERVER BIND NS-CLIENT DST IPERF-ARGS...: one iperf3 run of
# BENCH_T seconds between the script's ticks_mark GROUP and ticks_rec GROUP TEST SECONDS BYTES
# (scripts that count no bytes ignore the fourth), recorded as GROUP TEST gbps.
tcp_rate() {
	local x="$1" t="$2" rep="$3" out="$BENCH_OUT/raw/$1.$2.$3.json" t0 g
	shift 3
	wait_quiet
	ticks_mark "$x"
	t0="$(now_s)"
	if iperf "$1" "$2" "$3" "$4" "$out" -t "$BENCH_T" "${@:5}"; then
		ticks_rec "$x" "$t" "$(since "$t0")" "$(jq '.end.sum_received.bytes' "$out")"
		g="$(jq -r '.end.sum_received.bits_per_second / 1e9' "$out")"
		rec "$x" "$t" gbps "$g"
		blog "$x $t run $rep: $(printf '%.3f' "$g") Gbit/s"
	else
		blog "$x $t run $rep: iperf3 failed:" \
			"$(jq -r '.error // empty' "$out" 2>/dev/null | head -c 200)"
	fi
}
