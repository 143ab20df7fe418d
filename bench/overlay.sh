#!/usr/bin/env bash
# bench/overlay.sh — IPv6 overlay throughput, packet rate, latency and cost of ygg64 against
# yggdrasil-go 0.5.12, in one run on the same machine.
#
# For each pair in BENCH_PAIRS a fresh pair of network namespaces joined by a veth (the same
# topology and the same two identities for every pair): node 1 listens on tcp://, node 2 dials
# it, both run TUNs (ygg0, MTU 65535); iperf3's client runs in namespace 1, its server in
# namespace 2, between the nodes' 200::/7 addresses. All pairs are up at once and take turns
# run by run (pair A's run 1, pair B's run 1, ..., pair A's run 2, ...; for udp64 each probe
# and each confirming run), so that a slow spell of the host falls on every pair alike
# instead of on the one pair measured then; only one pair carries load at a time. Pairs:
#   ygg64-ygg64   both nodes ygg64
#   go-go         both yggdrasil-go (the baseline the ratios divide by)
#   ygg64-go      node 1 (client side, encrypting) ygg64, node 2 yggdrasil-go
#   go-ygg64      the converse (not in the default list)
#   ygg64-tun4    both ygg64 with tunnel routing (TunnelRouting): node 1 owns 10.5.0.1/32,
#                 node 2 10.1.0.3/32, each routes the other's /16 to its key, and iperf3 runs
#                 between those IPv4 addresses, in the same sessions as ygg64-ygg64's IPv6
#                 (its "/ygg64" ratios compare the two; the target is >= 0.9)
# Measured per pair, after the nodes are up and idle:
#   idle          RSS (VmRSS) and CPU of each daemon over BENCH_IDLE_T s (5) before any load;
#   ping          RTT: 40 echo requests at 50 ms after a warm-up (mean of ping's avg);
#   tcp1 / tcp4   iperf3 TCP, 1 and 4 streams, BENCH_T s; receiver's bit rate;
#   udp64         64-byte UDP datagrams: the highest offered rate with < 1 % loss. One
#                 unpaced run (-b 0) gives the sender's ceiling and the loss there; if that
#                 loses < 1 % the path outruns the sender ("sender-bound") and its rate is the
#                 figure; else BENCH_KNEE_STEPS (6) bisection probes of BENCH_KNEE_T s (3),
#                 then BENCH_REPS confirming runs of BENCH_T s at the rate found, stepping the
#                 rate down 10 % (at most 3 times) while their median loss is still >= 1 %.
#                 Socket buffers -w 4 MiB (capped by net.core.[rw]mem_max).
#                 First, iperf3 alone: the same unpaced UDP run over the first pair's veth,
#                 with no overlay, BENCH_REPS times. It is the harness's own ceiling (iperf3
#                 and the kernel on these cores): no pair's figure can pass it.
#   CPU           seconds of CPU (utime + stime) each daemon used over all the load tests of
#                 the pair, and % of one core during the tcp1 and udp64 runs; from these,
#                 each daemon's CPU per packet at the UDP knee and per GB of tcp1 (the cost
#                 of the work, whatever share of the machine iperf3 takes).
#   steal         % of the machine's CPU time the hypervisor took during the pair's tcp and
#                 udp runs (/proc/stat); a few % is usual here, much more makes them low.
# Each figure is the median of BENCH_REPS (3) runs of BENCH_T s (10). Before every run the
# script waits (BENCH_QUIET_MAX s at most) for the machine to be quiet. It prints one table
# with every pair and the ratios to the go-go pair; raw values and iperf3 JSON in $BENCH_OUT.
# This is a benchmark: it reports, it never fails on a figure.
#
#   sudo bench/overlay.sh                                   # all three pairs, ~10 min
#   sudo BENCH_T=3 BENCH_REPS=1 bench/overlay.sh            # quick look, ~2 min
#   sudo BENCH_PAIRS=go-go BENCH_T=3 BENCH_REPS=1 bench/overlay.sh   # baseline only
#   sudo Y64_IMPL=real bench/overlay.sh                     # ygg64 replaced by yggdrasil-go
#   BENCH_TESTS="ping tcp1"                                 # a subset of the tests
#   bench/overlay.sh --table DIR        # print the table again from DIR/results.tsv
if [[ "${1:-}" == --table ]]; then
	[[ -f "${2:-}/results.tsv" ]] || { echo "usage: $0 --table DIR (with DIR/results.tsv)" >&2; exit 2; }
	BENCH_NO_HARNESS=1 BENCH_OUT="$2"
fi
. "$(dirname "$0")/lib.sh"
BENCH_T="${BENCH_T:-10}"
BENCH_REPS="${BENCH_REPS:-3}"
BENCH_PAIRS="${BENCH_PAIRS:-ygg64-ygg64 ygg64-tun4 go-go ygg64-go}"
BENCH_TESTS="${BENCH_TESTS:-ping tcp1 tcp4 udp64}"
BENCH_IDLE_T="${BENCH_IDLE_T:-5}"
BENCH_KNEE_STEPS="${BENCH_KNEE_STEPS:-6}"
BENCH_KNEE_T="${BENCH_KNEE_T:-3}"
BENCH_UDP_LEN="${BENCH_UDP_LEN:-64}"
BENCH_UDP_WIN="${BENCH_UDP_WIN:-$(awk 'NR == 1 { r = $1 } NR == 2 { w = $1 } END {
	m = 4194304; if (r < m) m = r; if (w < m) m = w; print m }' \
	/proc/sys/net/core/rmem_max /proc/sys/net/core/wmem_max)}"
((BENCH_UDP_WIN >= 4194304)) ||
	blog "warning: net.core.[rw]mem_max cap UDP socket buffers at $BENCH_UDP_WIN bytes"


# The pair being measured: its daemons (node names), namespaces and node 2's address.
PAIR_NODES=()
PS1="" PS2="" PA2=""
declare -A TICKS0=() STEAL0=() STEAL_D=() TOTAL_D=()
declare -A P_N1=() P_N2=() P_S1=() P_S2=() P_A2=() P_LOAD0_1=() P_LOAD0_2=()
pair_use() {
	PAIR_NODES=("${P_N1[$1]}" "${P_N2[$1]}")
	PS1="${P_S1[$1]}" PS2="${P_S2[$1]}" PA2="${P_A2[$1]}"
}
# ticks_mark PAIR: the daemons' CPU ticks and the host's steal at the start of a run.
ticks_mark() {
	local n
	for n in "${PAIR_NODES[@]}"; do TICKS0[$n]="$(proc_ticks "${NODE_PID[$n]}")"; done
	STEAL0[$1]="$(cpu_steal_total)"
}
# ticks_rec PAIR TEST SECONDS: records each daemon's CPU % of one core since ticks_mark, and
# adds the run's steal and total jiffies to the pair's.
ticks_rec() {
	local n s t
	for n in "${PAIR_NODES[@]}"; do
		rec "$1" "$2" "cpu_pct_${n##*-}" "$(awk -v d=$(($(proc_ticks "${NODE_PID[$n]}") - \
			TICKS0[$n])) -v hz="$HZ" -v s="$3" 'BEGIN { printf "%.1f", 100 * d / hz / s }')"
	done
	read -r s t <<<"$(cpu_steal_total)"
	STEAL_D[$1]=$((${STEAL_D[$1]:-0} + s - ${STEAL0[$1]% *}))
	TOTAL_D[$1]=$((${TOTAL_D[$1]:-0} + t - ${STEAL0[$1]#* }))
}

# udp_run PAIR PPS SECS TAG: UDP at PPS packets/s (0 = as fast as the sender can) on the pair
# (pair_use first); sets U_RX and U_TX (kpps) and U_LOSS (%).
udp_run() {
	local pair="$1" pps="$2" secs="$3" tag="$4" out bw
	out="$BENCH_OUT/raw/$pair.$tag.json"
	bw="$(awk -v p="$pps" -v l="$BENCH_UDP_LEN" 'BEGIN { printf "%d", p * l * 8 }')"
	wait_quiet
	ticks_mark "$pair"
	if ! iperf "$PS2" "" "$PS1" "$PA2" "$out" -u -l "$BENCH_UDP_LEN" -w "$BENCH_UDP_WIN" \
		-b "$bw" -t "$secs"; then
		U_RX=0 U_TX=0 U_LOSS=100
		blog "$pair $tag: iperf3 failed:" \
			"$(jq -r '.error // empty' "$out" 2>/dev/null | head -c 200)"
		return 0
	fi
	udp_figures "$out"
	ticks_rec "$pair" "$tag" "$secs"
}

# udp_step PAIR PPS SECS TAG WHAT: udp_run on the pair, logged as "PAIR WHAT rx ..., loss ...".
udp_step() {
	pair_use "$1"
	udp_run "$1" "$2" "$3" "$4"
	blog "$1 $5 rx $U_RX kpps, loss $U_LOSS %"
}

# udp_bare: the unpaced UDP rate of iperf3 alone, over the first pair's veth (no overlay).
udp_bare() {
	local out rep
	pair_use "${BENCH_PAIRS%% *}"
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		out="$BENCH_OUT/raw/veth.udp-unpaced.$rep.json"
		wait_quiet
		if ! iperf "$PS2" "" "$PS1" "$(ns_addr6 "$PS2" "$PS1")" "$out" -u -l "$BENCH_UDP_LEN" \
			-w "$BENCH_UDP_WIN" -b 0 -t "$BENCH_T"; then
			blog "veth udp$BENCH_UDP_LEN unpaced run $rep: iperf3 failed"
			continue
		fi
		udp_figures "$out"
		rec veth udp-unpaced rx_kpps "$U_RX"
		rec veth udp-unpaced loss_pct "$U_LOSS"
		blog "iperf3 alone over the veth, udp$BENCH_UDP_LEN unpaced run $rep: rx $U_RX kpps," \
			"loss $U_LOSS %"
	done
}

# udp_knees: the udp64 figure of every pair (see the header). Each step (the unpaced run,
# each bisection probe, each confirming run) is taken by every pair in turn.
udp_knees() {
	local p k rep back ml n left
	declare -A lo=() hi=() mid=() fin=()
	for p in $BENCH_PAIRS; do
		pair_use "$p"
		udp_run "$p" 0 "$BENCH_T" udp-unpaced
		blog "$p udp$BENCH_UDP_LEN unpaced: rx $U_RX kpps, tx $U_TX kpps, loss $U_LOSS %"
		rec "$p" udp-unpaced rx_kpps "$U_RX"
		rec "$p" udp-unpaced loss_pct "$U_LOSS"
		if ! lossy "$U_LOSS" && awk -v r="$U_RX" 'BEGIN { exit !(r > 0) }'; then
			rec "$p" udp knee_kpps "$U_RX"
			rec "$p" udp loss_pct "$U_LOSS"
			rec "$p" udp sender_bound 1
			fin[$p]=1
			continue
		fi
		lo[$p]=0
		hi[$p]="$(awk -v t="$U_TX" 'BEGIN { printf "%d", t * 1000 * 1.05 }')"
		((hi[$p] > 0)) || hi[$p]=1000000
		mid[$p]="$(awk -v r="$U_RX" 'BEGIN { printf "%d", r * 1000 }')"
		((mid[$p] > 0 && mid[$p] < hi[$p])) || mid[$p]=$((hi[$p] / 2))
	done
	for ((k = 1; k <= BENCH_KNEE_STEPS; k++)); do
		for p in $BENCH_PAIRS; do
			[[ -z "${fin[$p]:-}" ]] || continue
			udp_step "$p" "${mid[$p]}" "$BENCH_KNEE_T" "udp-probe$k" \
				"udp probe $k: offered $((mid[$p] / 1000)) kpps ->"
			if lossy "$U_LOSS"; then hi[$p]=${mid[$p]}; else lo[$p]=${mid[$p]}; fi
			mid[$p]=$(((lo[$p] + hi[$p]) / 2))
		done
	done
	for p in $BENCH_PAIRS; do
		[[ -n "${fin[$p]:-}" ]] || ((lo[$p] > 0)) || lo[$p]=$((hi[$p] / 2))
	done
	# Confirming runs at lo, stepping a pair's rate down 10 % (at most 3 times) while the
	# median loss of its runs is still >= 1 %.
	for ((back = 0; back <= 3; back++)); do
		left=0
		for p in $BENCH_PAIRS; do
			[[ -z "${fin[$p]:-}" ]] || continue
			: >"$BENCH_OUT/.knee.$p"
			left=$((left + 1))
		done
		((left > 0)) || break
		for ((rep = 1; rep <= BENCH_REPS; rep++)); do
			for p in $BENCH_PAIRS; do
				[[ -z "${fin[$p]:-}" ]] || continue
				udp_step "$p" "${lo[$p]}" "$BENCH_T" "udp-knee$back.$rep" \
					"udp at $((lo[$p] / 1000)) kpps, run $rep:"
				echo "$U_RX $U_LOSS" >>"$BENCH_OUT/.knee.$p"
			done
		done
		for p in $BENCH_PAIRS; do
			[[ -z "${fin[$p]:-}" ]] || continue
			ml="$(awk '{ print $2 }' "$BENCH_OUT/.knee.$p" | sort -g |
				awk '{ v[++n] = $1 } END { print v[int((n + 1) / 2)] }')"
			if lossy "$ml" && ((back < 3)); then
				lo[$p]=$((lo[$p] * 9 / 10))
				continue
			fi
			while read -r r l; do
				rec "$p" udp knee_kpps "$r"
				rec "$p" udp loss_pct "$l"
			done <"$BENCH_OUT/.knee.$p"
			# the CPU of the last confirming run stands for the knee
			pair_use "$p"
			for n in "${PAIR_NODES[@]}"; do
				rec "$p" udp "cpu_pct_${n##*-}" "$(median "$p" \
					"udp-knee$back.$BENCH_REPS" "cpu_pct_${n##*-}")"
			done
			fin[$p]=1
		done
	done
}

# pair_up PAIR: builds the pair's namespaces, starts its nodes and measures them idle.
NPAIR=0
pair_up() {
	local pair="$1" k1 k2 n1 n2 s1 s2 a2 n
	case "$pair" in
	ygg64-ygg64) k1=sut k2=sut ;;
	go-go) k1=real k2=real ;;
	ygg64-go) k1=sut k2=real ;;
	go-ygg64) k1=real k2=sut ;;
	ygg64-tun4)
		k1=sut k2=sut
		[[ "$Y64_IMPL" == ygg64 ]] || fail "ygg64-tun4 needs ygg64 (Y64_IMPL=real has no tunnel routing)"
		;;
	*) fail "unknown pair '$pair' (ygg64-ygg64, go-go, ygg64-go, go-ygg64, ygg64-tun4)" ;;
	esac
	NPAIR=$((NPAIR + 1))
	s1=$((2 * NPAIR - 1)) s2=$((2 * NPAIR))
	ns_new "$s1" "$s2"
	ns_link "$s1" "$s2"
	n1="$pair-1" n2="$pair-2"
	cp "$(node_conf_file base1)" "$(node_conf_file "$n1")"
	cp "$(node_conf_file base2)" "$(node_conf_file "$n2")"
	node_patch "$n1" '.Listen = [$l] | .AdminListen = $a' \
		--arg l "tcp://[$(ns_addr6 "$s1" "$s2")]:7001" --arg a "unix://$(node_sock "$n1")"
	node_patch "$n2" '.Peers = [$p] | .AdminListen = $a' \
		--arg p "tcp://[$(ns_addr6 "$s1" "$s2")]:7001" --arg a "unix://$(node_sock "$n2")"
	a2="$(node_addr "$n2")"
	if [[ "$pair" == ygg64-tun4 ]]; then
		node_patch "$n1" '.TunnelRouting = {Enable: true, IPv4LocalSubnets: ["10.5.0.1/32"],
			IPv4RemoteSubnets: {"10.1.0.0/16": $k}}' --arg k "$(node_key "$n2")"
		node_patch "$n2" '.TunnelRouting = {Enable: true, IPv4LocalSubnets: ["10.1.0.3/32"],
			IPv4RemoteSubnets: {"10.5.0.0/16": $k}}' --arg k "$(node_key "$n1")"
		a2=10.1.0.3
	fi
	blog "=== $pair: node 1 $k1, node 2 $k2 (namespaces $s1, $s2)"
	node_start "$n1" "$s1" "$k1"
	node_start "$n2" "$s2" "$k2"
	P_N1[$pair]="$n1" P_N2[$pair]="$n2" P_S1[$pair]="$s1" P_S2[$pair]="$s2" P_A2[$pair]="$a2"
	pair_use "$pair"
	wait_peer_up "$n2" "$(node_key "$n1")" 20
	tun_wait "$n1"
	tun_wait "$n2"
	ns_exec "$s1" ping "$(ip_fam "$a2")" -n -q -c 3 -i 0.2 -w 20 "$a2" >/dev/null ||
		fail "$pair: node 1 cannot ping node 2 ($a2)"
	rec "$pair" info impl "${NODE_IMPL[$n1]} ${NODE_IMPL[$n2]}"

	# idle, before any load
	sleep 1
	ticks_mark "$pair"
	sleep "$BENCH_IDLE_T"
	ticks_rec "$pair" idle "$BENCH_IDLE_T"
	STEAL_D[$pair]=0 TOTAL_D[$pair]=0
	for n in "$n1" "$n2"; do
		rec "$pair" idle "rss_mib_${n##*-}" "$(awk -v k="$(proc_rss_kb "${NODE_PID[$n]}")" \
			'BEGIN { printf "%.1f", k / 1024 }')"
	done
	P_LOAD0_1[$pair]="$(proc_ticks "${NODE_PID[$n1]}")"
	P_LOAD0_2[$pair]="$(proc_ticks "${NODE_PID[$n2]}")"
}

# measure TEST: one test (ping, tcp1, tcp4) on every pair, the pairs taking turns run by run.
measure() {
	local t="$1" rep p
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for p in $BENCH_PAIRS; do
			pair_use "$p"
			case "$t" in
			ping) ping_rtt "$p" "$PS1" "$PA2" "$rep" ;;
			tcp1 | tcp4) tcp_rate "$p" "$t" "$rep" "$PS2" "" "$PS1" "$PA2" -P "${t#tcp}" ;;
			esac
		done
	done
}

# pair_down PAIR: the pair's load figures, then stops its nodes.
pair_down() {
	local pair="$1" n1="${P_N1[$1]}" n2="${P_N2[$1]}" n
	rec "$pair" load steal_pct "$(awk -v s="${STEAL_D[$pair]}" -v t="${TOTAL_D[$pair]}" \
		'BEGIN { printf "%.1f", 100 * s / (t > 0 ? t : 1) }')"
	rec "$pair" load cpu_s_1 "$(ticks_to_s $(($(proc_ticks "${NODE_PID[$n1]}") - \
		P_LOAD0_1[$pair])))"
	rec "$pair" load cpu_s_2 "$(ticks_to_s $(($(proc_ticks "${NODE_PID[$n2]}") - \
		P_LOAD0_2[$pair])))"
	for n in "$n1" "$n2"; do
		rec "$pair" load "hwm_mib_${n##*-}" "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' \
			"/proc/${NODE_PID[$n]}/status")"
	done
	node_stop "$n2"
	node_stop "$n1"
}

# --- the table ---------------------------------------------------------------------------------
# fig, info_get, ratio and lossy are lib.sh's; sum2 A B: A + B.
sum2() {
	awk -v a="$1" -v b="$2" \
		'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) print a + b; else print "-" }'
}
# print_table: the table of $BENCH_OUT/results.tsv, with the run's settings recorded there.
print_table() {
	local BENCH_PAIRS BENCH_T BENCH_REPS BENCH_UDP_LEN impl hdr p
	BENCH_PAIRS="$(info_get pairs)" BENCH_T="$(info_get t)" BENCH_REPS="$(info_get reps)"
	BENCH_UDP_LEN="$(info_get udp_len)" impl="$(info_get impl)"
	[[ "$impl" != real ]] || echo "(Y64_IMPL=real: every 'ygg64' node ran yggdrasil-go)"
	echo "overlay pairs, BENCH_T=$BENCH_T s, BENCH_REPS=$BENCH_REPS (medians); per-node" \
		"figures are node 1 (iperf3 client) / node 2 (server); ratios to go-go on the totals"
	hdr="$(printf '%-30s' metric)"
	for p in $BENCH_PAIRS; do hdr+="$(printf ' %15s' "$p")"; done
	for p in $BENCH_PAIRS; do [[ "$p" == go-go ]] || hdr+="$(printf ' %9s' "$p/go")"; done
	echo "$hdr"
	row() { # WHAT TEST METRIC [per-node|no-ratio]
		local what="$1" t="$2" m="$3" line p v x y
		line="$(printf '%-30s' "$what")"
		declare -A tot=()
		for p in $BENCH_PAIRS; do
			if [[ "${4:-}" == per-node* ]]; then
				x="$(fig "$p" "$t" "${m}_1")" y="$(fig "$p" "$t" "${m}_2")"
				v="$x/$y"
				tot[$p]="$(sum2 "$x" "$y")"
			else
				v="$(fig "$p" "$t" "$m")"
				[[ "$v" == - ]] || v="$(awk -v v="$v" 'BEGIN {
					printf (v >= 100 ? "%.0f" : (v >= 10 ? "%.1f" : "%.3g")), v }')"
				tot[$p]="$v"
			fi
			line+="$(printf ' %15s' "$v")"
		done
		for p in $BENCH_PAIRS; do
			[[ "$p" == go-go ]] && continue
			if [[ "${4:-}" == *no-ratio ]]; then
				line+="$(printf ' %9s' '')"
			else
				line+="$(printf ' %9s' "$(ratio "${tot[$p]}" "${tot[go-go]:-}")")"
			fi
		done
		echo "$line"
	}
	# eff_row WHAT CPU-TEST RATE-TEST RATE-METRIC K: per node K * cpu_pct / rate; the ratio on
	# the sum of both nodes.
	eff_row() {
		local line p x y r tx ty
		line="$(printf '%-30s' "$1")"
		declare -A tot=()
		for p in $BENCH_PAIRS; do
			r="$(fig "$p" "$3" "$4")"
			tx="$(fig "$p" "$2" cpu_pct_1)" ty="$(fig "$p" "$2" cpu_pct_2)"
			read -r x y tot[$p] < <(awk -v r="$r" -v a="$tx" -v b="$ty" -v k="$5" 'BEGIN {
				if (r + 0 <= 0 || a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) { print "- - -"; exit }
				x = k * a / r; y = k * b / r
				printf "%.3g %.3g %.4g\n", x, y, x + y }')
			line+="$(printf ' %15s' "$x/$y")"
		done
		for p in $BENCH_PAIRS; do
			[[ "$p" == go-go ]] && continue
			line+="$(printf ' %9s' "$(ratio "${tot[$p]}" "${tot[go-go]:-}")")"
		done
		echo "$line"
	}
	row "ping RTT (ms)" ping rtt_ms
	row "TCP 1 stream (Gbit/s)" tcp1 gbps
	row "TCP 4 streams (Gbit/s)" tcp4 gbps
	row "UDP $BENCH_UDP_LEN B, <1% loss (kpps)" udp knee_kpps
	row "  loss at that rate (%)" udp loss_pct no-ratio
	row "  unpaced: rx (kpps)" udp-unpaced rx_kpps
	row "idle RSS (MiB)" idle rss_mib per-node
	row "idle CPU (% of a core)" idle cpu_pct per-node-no-ratio
	row "CPU during tcp1 (%)" tcp1 cpu_pct per-node
	row "CPU at the UDP knee (%)" udp cpu_pct per-node
	row "CPU s over all load tests" load cpu_s per-node
	# Cost per unit of work: CPU % of a core over the rate of the same runs (medians).
	eff_row "CPU per packet at knee (us)" udp udp knee_kpps 10
	eff_row "CPU per GB, tcp1 (s)" tcp1 tcp1 gbps 0.08
	row "peak RSS (MiB)" load hwm_mib per-node
	row "host steal during load (%)" load steal_pct no-ratio
	for p in $BENCH_PAIRS; do
		[[ -z "$(fig "$p" udp sender_bound)" || "$(fig "$p" udp sender_bound)" == - ]] ||
			echo "note: $p: the unpaced UDP run lost < 1 %: sender-bound, the figure is a floor"
	done
	if [[ " $BENCH_PAIRS " == *" ygg64-tun4 "* && " $BENCH_PAIRS " == *" ygg64-ygg64 "* ]]; then
		echo "note: IPv4 tunnel / IPv6 overlay, both ygg64 pairs (target >= 0.9):" \
			"TCP 1 stream $(ratio "$(fig ygg64-tun4 tcp1 gbps)" "$(fig ygg64-ygg64 tcp1 gbps)")," \
			"TCP 4 streams $(ratio "$(fig ygg64-tun4 tcp4 gbps)" "$(fig ygg64-ygg64 tcp4 gbps)")," \
			"UDP $(ratio "$(fig ygg64-tun4 udp knee_kpps)" "$(fig ygg64-ygg64 udp knee_kpps)")," \
			"ping RTT $(ratio "$(fig ygg64-tun4 ping rtt_ms)" "$(fig ygg64-ygg64 ping rtt_ms)")"
	fi
	p="$(fig veth udp-unpaced rx_kpps)"
	[[ "$p" == - ]] ||
		echo "note: iperf3 alone over the veth (no overlay), unpaced: $p kpps" \
			"(loss $(fig veth udp-unpaced loss_pct) %): the harness's ceiling for the UDP row"
}

if [[ -n "${BENCH_NO_HARNESS:-}" ]]; then
	print_table
	exit 0
fi
command -v iperf3 >/dev/null || skip "needs iperf3 (scripts/deps.sh installs it)"
command -v ping >/dev/null || skip "needs ping (scripts/deps.sh installs it)"
[[ "$BENCH_PAIRS" != *ygg64* ]] || need_ygg64_bin
mkdir -p "$BENCH_OUT/raw"
rec run info pairs "$BENCH_PAIRS"
rec run info t "$BENCH_T"
rec run info reps "$BENCH_REPS"
rec run info udp_len "$BENCH_UDP_LEN"
rec run info impl "$Y64_IMPL"
# The two identities every pair uses (copied to "<pair>-1" and "<pair>-2").
node_conf base1 '.IfName = "ygg0" | .IfMTU = 65535'
node_conf base2 '.IfName = "ygg0" | .IfMTU = 65535'
for p in $BENCH_PAIRS; do pair_up "$p"; done
for t in $BENCH_TESTS; do
	case "$t" in
	ping | tcp1 | tcp4) measure "$t" ;;
	udp64 | udp)
		udp_bare
		udp_knees
		;;
	*) fail "unknown test '$t' (ping tcp1 tcp4 udp64)" ;;
	esac
done
for p in $BENCH_PAIRS; do pair_down "$p"; done
print_table | tee "$BENCH_OUT/overlay-table.txt"
echo "(raw results: $BENCH_OUT/results.tsv, iperf3 JSON in $BENCH_OUT/raw/)"
