#!/usr/bin/env bash
# bench/idle.sh — idle cost and tree convergence of a transit node, ygg64 against yggdrasil-go,
# in one run on the same machine.
#
# The line  A (real) — X — B (real)  in three network namespaces; X dials A over tcp:// and
# B over tls://. Keys are sorted so that A has the lowest key: A is the root, X its child and B
# two hops down. Run 1 has X = ygg64, run 2 X = yggdrasil-go, with the same identities and
# configs, every node restarted between runs. For each run:
#   - peers up: from X's start until X lists both peers as up;
#   - tree converged: from X's start until all three getTree views agree (one root, each key
#     with one parent and sequence everywhere; polled, so the resolution is ~0.2 s);
#   - then, after 2 s, BENCH_IDLE_T s (30) of idle with two peers: X's CPU (utime + stime,
#     % of one core), its context switches per second (all threads; a rough count of
#     wake-ups), its RSS and its number of threads.
# Prints a side-by-side table (ratio = ygg64 / yggdrasil-go); raw values in $BENCH_OUT.
#
#   sudo bench/idle.sh                          # YGG64_BIN defaults to build/ygg64
#   sudo BENCH_IDLE_T=10 bench/idle.sh
#   sudo Y64_IMPL=real bench/idle.sh            # both runs use yggdrasil-go (harness check)
. "$(dirname "$0")/lib.sh"
need_ygg64_bin

BENCH_IDLE_T="${BENCH_IDLE_T:-30}"
ns_line 3
node_conf_sorted a x b
node_patch a '.Listen = [$l]' --arg l "tcp://[$(ns_addr6 1 2)]:7001"
node_patch b '.Listen = [$l]' --arg l "tls://[$(ns_addr6 3 2)]:7002"
node_patch x '.Peers = [$p, $q]' --arg p "tcp://[$(ns_addr6 1 2)]:7001" \
	--arg q "tls://[$(ns_addr6 3 2)]:7002"
ka="$(node_key a)" kb="$(node_key b)"

# run_idle LABEL KIND: one run with X of KIND (sut or real), recorded under LABEL.
run_idle() {
	local label="$1" kind="$2" t0 i pid c0 c1 w0 w1 conv=""
	blog "=== X = $label"
	node_start a 1 real
	node_start b 3 real
	t0="$(now_s)"
	node_start x 2 "$kind"
	wait_peer_up x "$ka" 20
	wait_peer_up x "$kb" 20
	rec "$label" start peers_up_s "$(since "$t0")"
	for ((i = 0; i < 300; i++)); do
		if tree_converged a x b; then
			conv="$(since "$t0")"
			break
		fi
		sleep 0.05
	done
	[[ -n "$conv" ]] || fail "X = $label: the tree did not converge within about a minute"
	rec "$label" start converged_s "$conv"
	blog "X = $label: peers up after $(median "$label" start peers_up_s) s, tree converged" \
		"after $conv s; idle for $BENCH_IDLE_T s"
	sleep 2
	pid="${NODE_PID[x]}"
	c0="$(proc_ticks "$pid")" w0="$(proc_ctxsw "$pid")"
	sleep "$BENCH_IDLE_T"
	c1="$(proc_ticks "$pid")" w1="$(proc_ctxsw "$pid")"
	rec "$label" idle cpu_pct "$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v s="$BENCH_IDLE_T" \
		'BEGIN { printf "%.2f", 100 * d / hz / s }')"
	rec "$label" idle cpu_s "$(ticks_to_s $((c1 - c0)))"
	rec "$label" idle ctxsw_per_s "$(awk -v d=$((w1 - w0)) -v s="$BENCH_IDLE_T" \
		'BEGIN { printf "%.1f", d / s }')"
	rec "$label" idle rss_mib "$(awk -v k="$(proc_rss_kb "$pid")" \
		'BEGIN { printf "%.1f", k / 1024 }')"
	rec "$label" idle threads "$(proc_threads "$pid")"
	rec "$label" idle up_peers "$(ctl x getPeers | jq '[.peers[] | select(.up)] | length')"
	node_stop x
	node_stop a
	node_stop b
}

run_idle ygg64 sut
run_idle yggdrasil-go real

# table LABEL-A LABEL-B
{
	[[ "$Y64_IMPL" != real ]] || echo "(Y64_IMPL=real: the 'ygg64' column ran yggdrasil-go too)"
	echo "idle transit node X in the line A — X — B (A, B: yggdrasil-go 0.5.12);" \
		"idle window $BENCH_IDLE_T s"
	printf '%-34s %12s %14s %8s\n' metric ygg64 yggdrasil-go ratio
	for m in "start peers_up_s peers up after start (s)" \
		"start converged_s tree converged after start (s)" \
		"idle cpu_pct idle CPU (% of one core)" \
		"idle cpu_s idle CPU time (s)" \
		"idle ctxsw_per_s context switches per s" \
		"idle rss_mib RSS (MiB)" \
		"idle threads threads" \
		"idle up_peers up peers"; do
		read -r t k what <<<"$m"
		a="$(median ygg64 "$t" "$k")" b="$(median yggdrasil-go "$t" "$k")"
		printf '%-34s %12s %14s %8s\n' "$what" "${a:--}" "${b:--}" \
			"$(awk -v a="$a" -v b="$b" \
				'BEGIN { if (a != "" && b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
	done
} | tee "$BENCH_OUT/idle-table.txt"
echo "(raw results: $BENCH_OUT/results.tsv)"
