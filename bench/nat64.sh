#!/usr/bin/env bash
# bench/nat64.sh — stateful NAT64 (ygg64's plain mode) against the seed stack (Debian's tayga
# 0.9.2 + iptables MASQUERADE + TCPMSS) and against the kernel alone, in one run on the same
# machine.
#
# Each translator in BENCH_XLATS gets its own copy of one topology (tests/integration/netns.sh
# nat64_topo): an IPv6-only client C (2001:db8:1::2), a router R, an IPv4-only server S
# (192.0.2.2, default route via R's 192.0.2.1); veths at MTU 1500. All copies are up at once
# and take turns run by run (each ping, TCP and UDP run, each probe of the knee search), so a
# slow spell of the host falls on all of them alike; only one carries load at a time.
#   ygg64   ygg64 in NAT64 plain mode in R: it routes 2001:db8:64::/96 and its Pool4
#           (203.0.113.1) into its TUN (IfMTU 1500), translates, and the kernel forwards the
#           IPv4 side (PortRange 61001-65535, endpoint-independent filtering, MSSClamp on);
#   tayga   tayga 0.9.2 in R with its own TUN (nat64, MTU 1500), prefix 2001:db8:64::/96,
#           dynamic pool 203.0.113.128/25 (tayga refuses the well-known prefix for these
#           non-global IPv4 addresses), then the kernel's NAT44 onto 192.0.2.1
#           (iptables -t nat MASQUERADE of the pool) and TCPMSS --clamp-mss-to-pmtu in
#           mangle FORWARD: the NAT part of the seed stack (nft backend; see
#           shared/lab/BASELINE.md §4 for how it was first measured);
#   kernel  the harness's ceiling: S also has 2001:db8:2::2, C routes 2001:db8:2::/64 via R,
#           and the same traffic crosses R by plain IPv6 forwarding, no translator at all.
# The client always talks to 2001:db8:64::192.0.2.2 (kernel: 2001:db8:2::2).
# Measured per translator, after it is up and idle:
#   idle          VmRSS and CPU of the translator process over BENCH_IDLE_T s (5);
#   ping          RTT: 40 echo requests at 50 ms after a warm-up (ping's avg);
#   tcp1 / tcp1r  iperf3 TCP, 1 stream, BENCH_T s, client -> server and (-R) server -> client
#                 over the connection the client opened; receiver's bit rate;
#   tcp4          the same with 4 streams, client -> server;
#   udp64         BENCH_UDP_LEN (64) byte UDP datagrams, client -> server: the highest offered
#                 rate with < 1 % loss (as bench/overlay.sh: one unpaced run; if it loses
#                 < 1 % the path outruns the sender ("sender-bound"), else BENCH_KNEE_STEPS
#                 bisection probes of BENCH_KNEE_T s, then BENCH_REPS confirming runs, stepping
#                 down 10 % while their median loss is >= 1 %). Socket buffers -w 4 MiB;
#   CPU           utime + stime of the translator process (/proc/PID/stat) over each run: %
#                 of one core, CPU per packet at the UDP knee and per GB of 1-stream TCP. Only
#                 the process is counted: the kernel's share (TUN queues, forwarding, and for
#                 tayga conntrack + MASQUERADE in softirq) cannot be attributed to a process
#                 and is in no figure;
#   RSS           VmRSS idle, VmRSS after the load tests and VmHWM (peak);
#   sessions      ygg64 only, restarted afterwards with a wider pool (Pool4 two addresses,
#                 PortRange 1024-65535, larger tables): a UDP sender in C opens
#                 BENCH_SESSIONS (10000 100000) live sessions, BENCH_SESS_FANOUT (10) per
#                 client port, to ports 7400.. of S (dropped there by iptables, so no ICMP
#                 comes back); the count is read from getNAT64, then VmRSS and VmHWM;
#   steal         % of the machine's CPU time the hypervisor took during the load runs.
# Each figure is the median of BENCH_REPS (3) runs of BENCH_T s (10). Before every run the
# script waits (BENCH_QUIET_MAX s at most) for the machine to be quiet. It prints one table,
# with the ratios ygg64/tayga and ygg64/kernel; raw values and iperf3 JSON in $BENCH_OUT.
# This is a benchmark: it reports, it never fails on a figure.
#
#   sudo bench/nat64.sh                                     # all three, ~10 min
#   sudo BENCH_T=3 BENCH_REPS=1 bench/nat64.sh              # quick look, ~3 min
#   sudo BENCH_XLATS="tayga kernel" bench/nat64.sh          # no ygg64 needed
#   sudo BENCH_TESTS="ping tcp1" bench/nat64.sh             # a subset of the tests
#   bench/nat64.sh --table DIR       # print the table again from DIR/results.tsv
if [[ "${1:-}" == --table ]]; then
	[[ -f "${2:-}/results.tsv" ]] || {
		echo "usage: $0 --table DIR (with DIR/results.tsv)" >&2
		exit 2
	}
	BENCH_NO_HARNESS=1 BENCH_OUT="$2"
fi
. "$(dirname "$0")/lib.sh"
BENCH_T="${BENCH_T:-10}"
BENCH_REPS="${BENCH_REPS:-3}"
BENCH_XLATS="${BENCH_XLATS:-ygg64 tayga kernel}"
BENCH_TESTS="${BENCH_TESTS:-ping tcp1 tcp1r tcp4 udp64 sessions}"
BENCH_IDLE_T="${BENCH_IDLE_T:-5}"
BENCH_KNEE_STEPS="${BENCH_KNEE_STEPS:-6}"
BENCH_KNEE_T="${BENCH_KNEE_T:-3}"
BENCH_UDP_LEN="${BENCH_UDP_LEN:-64}"
BENCH_SESSIONS="${BENCH_SESSIONS:-10000 100000}"
BENCH_SESS_FANOUT="${BENCH_SESS_FANOUT:-10}"
if [[ -z "${BENCH_NO_HARNESS:-}" ]]; then
	BENCH_UDP_WIN="${BENCH_UDP_WIN:-$(awk 'NR == 1 { r = $1 } NR == 2 { w = $1 } END {
		m = 4194304; if (r < m) m = r; if (w < m) m = w; print m }' \
		/proc/sys/net/core/rmem_max /proc/sys/net/core/wmem_max)}"
	((BENCH_UDP_WIN >= 4194304)) ||
		blog "warning: net.core.[rw]mem_max cap UDP socket buffers at $BENCH_UDP_WIN bytes"
	# Our own namespace names (y64n<pid>-<label>), apart from the overlay scripts' y64<pid>-N.
	NS_PREFIX="y64n$$-"
fi
PY=python3
[[ ! -x /usr/bin/python3 ]] || PY=/usr/bin/python3

# Per translator: its three namespace labels, the client's destination, the server's bind
# address, the translator's PID ("" for kernel) and CPU/steal bookkeeping of the current run.
declare -A X_C=() X_R=() X_S=() X_DST=() X_BIND=() X_PID=() X_LOAD0=()
declare -A TICKS0=() STEAL0=() STEAL_D=() TOTAL_D=()
XC="" XR="" XS="" XDST="" XBIND="" XPID=""
xlat_use() {
	XC="${X_C[$1]}" XR="${X_R[$1]}" XS="${X_S[$1]}" XDST="${X_DST[$1]}"
	XBIND="${X_BIND[$1]}" XPID="${X_PID[$1]}"
}
# ticks_mark X / ticks_rec X TEST SECONDS: the translator's CPU % of one core over a run, and
# the run's steal and total jiffies added to the translator's.
ticks_mark() {
	[[ -z "$XPID" ]] || TICKS0[$1]="$(proc_ticks "$XPID")"
	STEAL0[$1]="$(cpu_steal_total)"
}
ticks_rec() {
	local s t
	[[ -z "$XPID" ]] ||
		rec "$1" "$2" cpu_pct "$(awk -v d=$(($(proc_ticks "$XPID") - TICKS0[$1])) -v hz="$HZ" \
			-v s="$3" 'BEGIN { printf "%.1f", 100 * d / hz / s }')"
	read -r s t <<<"$(cpu_steal_total)"
	STEAL_D[$1]=$((${STEAL_D[$1]:-0} + s - ${STEAL0[$1]% *}))
	TOTAL_D[$1]=$((${TOTAL_D[$1]:-0} + t - ${STEAL0[$1]#* }))
}

# udp_run X PPS SECS TAG: UDP at PPS packets/s (0 = unpaced) through translator X; sets U_RX,
# U_TX (kpps) and U_LOSS (%), and records the translator's CPU under TAG.
udp_run() {
	local x="$1" pps="$2" secs="$3" tag="$4" out bw
	xlat_use "$x"
	out="$BENCH_OUT/raw/$x.$tag.json"
	bw="$(awk -v p="$pps" -v l="$BENCH_UDP_LEN" 'BEGIN { printf "%d", p * l * 8 }')"
	wait_quiet
	ticks_mark "$x"
	if ! iperf "$XS" "$XBIND" "$XC" "$XDST" "$out" -u -l "$BENCH_UDP_LEN" -w "$BENCH_UDP_WIN" \
		-b "$bw" -t "$secs"; then
		U_RX=0 U_TX=0 U_LOSS=100
		blog "$x $tag: iperf3 failed: $(jq -r '.error // empty' "$out" 2>/dev/null | head -c 200)"
		return 0
	fi
	udp_figures "$out"
	ticks_rec "$x" "$tag" "$secs"
}
# udp_knee_cpu X TAG: the translator's CPU at the knee (udp_knees in lib.sh calls it).
udp_knee_cpu() {
	[[ -z "${X_PID[$1]}" ]] || rec "$1" udp cpu_pct "$(median "$1" "$2" cpu_pct)"
}

# xlat_up X: builds X's namespaces, starts its translator, checks the path and measures X idle.
xlat_up() {
	local x="$1" p c r s
	p="${x:0:1}"
	c="${p}c" r="${p}r" s="${p}s"
	X_C[$x]="$c" X_R[$x]="$r" X_S[$x]="$s"
	X_DST[$x]="$(nat64_addr6 "$NAT64_S4")" X_BIND[$x]="$NAT64_S4" X_PID[$x]=""
	blog "=== $x (namespaces $NS_PREFIX{$c,$r,$s})"
	case "$x" in
	ygg64)
		nat64_topo "$c" "$r" "$s"
		nat64_conf x-ygg64
		nat64_start x-ygg64 "$r"
		X_PID[$x]="${NODE_PID[x-ygg64]}"
		rec "$x" info impl "$YGG64_BIN, version $("$YGG64_BIN" -version 2>/dev/null |
			sed -n 's/^Build version: *//p')"
		;;
	tayga)
		nat64_topo "$c" "$r" "$s"
		tayga_start "$r" "e$s" 203.0.113.128/25 203.0.113.129
		X_PID[$x]="$TAYGA_PID"
		rec "$x" info impl "$(dpkg-query -W -f='tayga ${Version}' tayga 2>/dev/null)"
		;;
	kernel)
		nat64_topo "$c" "$r" "$s" native
		X_DST[$x]="$NAT64_S6" X_BIND[$x]="$NAT64_S6"
		rec "$x" info impl "IPv6 forwarding"
		;;
	*) fail "unknown translator '$x' (ygg64, tayga, kernel)" ;;
	esac
	xlat_use "$x"
	ns_exec "$c" ping -6 -n -q -c 3 -i 0.2 -w 20 "$XDST" >/dev/null ||
		fail "$x: the client cannot ping $XDST"
	[[ -n "$XPID" ]] || return 0
	sleep 1
	ticks_mark "$x"
	sleep "$BENCH_IDLE_T"
	ticks_rec "$x" idle "$BENCH_IDLE_T"
	STEAL_D[$x]=0 TOTAL_D[$x]=0
	rec "$x" idle rss_mib "$(awk -v k="$(proc_rss_kb "$XPID")" 'BEGIN { printf "%.1f", k / 1024 }')"
	X_LOAD0[$x]="$(proc_ticks "$XPID")"
}

# measure TEST: one test (ping, tcp1, tcp1r, tcp4) on every translator, taking turns run by run.
measure() {
	local t="$1" rep x args
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for x in $BENCH_XLATS; do
			xlat_use "$x"
			case "$t" in
			ping) ping_rtt "$x" "$XC" "$XDST" "$rep" ;;
			tcp1 | tcp1r | tcp4)
				case "$t" in
				tcp1) args=(-P 1) ;;
				tcp1r) args=(-P 1 -R) ;;
				tcp4) args=(-P 4) ;;
				esac
				tcp_rate "$x" "$t" "$rep" "$XS" "$XBIND" "$XC" "$XDST" "${args[@]}"
				;;
			esac
		done
	done
}

# xlat_down X: the translator's load figures (CPU over all load tests, RSS, peak RSS).
xlat_down() {
	local x="$1"
	xlat_use "$x"
	rec "$x" load steal_pct "$(awk -v s="${STEAL_D[$x]:-0}" -v t="${TOTAL_D[$x]:-0}" \
		'BEGIN { printf "%.1f", 100 * s / (t > 0 ? t : 1) }')"
	[[ -n "$XPID" ]] || return 0
	rec "$x" load cpu_s "$(ticks_to_s $(($(proc_ticks "$XPID") - X_LOAD0[$x])))"
	rec "$x" load rss_mib "$(awk -v k="$(proc_rss_kb "$XPID")" 'BEGIN { printf "%.1f", k / 1024 }')"
	rec "$x" load hwm_mib "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$XPID/status")"
}

# sessions_open N: sends one datagram from the ygg64 copy's client for each of N sessions:
# client ports 10000.. (N / BENCH_SESS_FANOUT of them), each to BENCH_SESS_FANOUT server ports
# 7400.., paced at about 100 kpps; sockets are closed after use (the sessions stay in the NAT).
sessions_open() {
	ns_exec "$XC" "$PY" - "$1" "$BENCH_SESS_FANOUT" "$NAT64_C6" "$XDST" <<-'EOF'
		import socket, sys, time
		n, fan, src, dst = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
		sent = 0
		t0 = time.monotonic()
		for i in range((n + fan - 1) // fan):
		    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
		    s.bind((src, 10000 + i))
		    for j in range(min(fan, n - i * fan)):
		        s.sendto(b"s", (dst, 7400 + j))
		        sent += 1
		        if sent % 1000 == 0:
		            ahead = sent / 100000.0 - (time.monotonic() - t0)
		            if ahead > 0:
		                time.sleep(ahead)
		    s.close()
	EOF
}

# sessions_bench: ygg64 restarted with a wide pool; RSS at each count of BENCH_SESSIONS.
sessions_bench() {
	local x=ygg64 n max got last i pid
	max=0
	for n in $BENCH_SESSIONS; do ((n > max)) && max=$n; done
	xlat_use "$x"
	node_stop x-ygg64
	nat64_conf x-ygg64 pool4="203.0.113.1 203.0.113.2" ports=1024-65535 \
		nat64="MaxBIBEntries: $((max / BENCH_SESS_FANOUT * 2 + 1024))
MaxSessions: $((max * 2 + 1024))"
	nat64_start x-ygg64 "$XR"
	pid="${NODE_PID[x-ygg64]}"
	command -v iptables >/dev/null || skip "needs iptables (scripts/deps.sh installs it)"
	ns_exec "$XS" iptables -A INPUT -p udp --dport 7400:$((7400 + BENCH_SESS_FANOUT - 1)) \
		-j DROP || fail "iptables DROP failed in namespace $XS"
	ns_exec "$XC" ping -6 -n -q -c 2 -i 0.2 -w 10 "$XDST" >/dev/null || fail "ygg64 restarted: no ping"
	sleep 1
	rec "$x" sess0 rss_mib "$(awk -v k="$(proc_rss_kb "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')"
	for n in $BENCH_SESSIONS; do
		got=0
		for ((i = 0; i < 3; i++)); do # a pass refreshes what exists and adds what is missing
			sessions_open "$n"
			last=-1
			while :; do # until the count stops growing (the TUN queue may still hold some)
				sleep 0.5
				got="$(nat64_get x-ygg64 '.sessions.udp')"
				[[ "$got" =~ ^[0-9]+$ ]] || fail "getNAT64 gives no sessions.udp: '$got'"
				((got != last)) || break
				last="$got"
			done
			((got < n)) || break
			blog "sessions: $got of $n after pass $((i + 1))"
		done
		rec "$x" "sess$n" count "$got"
		rec "$x" "sess$n" bib "$(nat64_get x-ygg64 '.bib.udp')"
		rec "$x" "sess$n" rss_mib "$(awk -v k="$(proc_rss_kb "$pid")" \
			'BEGIN { printf "%.1f", k / 1024 }')"
		rec "$x" "sess$n" hwm_mib "$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' \
			"/proc/$pid/status")"
		blog "ygg64 with $got live UDP sessions ($(nat64_get x-ygg64 '.bib.udp') BIB entries):" \
			"VmRSS $(proc_rss_kb "$pid") KiB"
	done
}

# --- the table (fig, info_get, ratio and fmt are lib.sh's) ------------------------------------
print_table() {
	local BENCH_XLATS BENCH_T BENCH_REPS BENCH_UDP_LEN hdr x v n
	BENCH_XLATS="$(info_get xlats)" BENCH_T="$(info_get t)" BENCH_REPS="$(info_get reps)"
	BENCH_UDP_LEN="$(info_get udp_len)"
	echo "NAT64: client -> translator -> server, BENCH_T=$BENCH_T s, BENCH_REPS=$BENCH_REPS" \
		"(medians); CPU and RSS are the translator process's"
	hdr="$(printf '%-34s' metric)"
	for x in $BENCH_XLATS; do hdr+="$(printf ' %12s' "$x")"; done
	hdr+="$(printf ' %12s %12s' ygg64/tayga ygg64/kernel)"
	echo "$hdr"
	row() { # WHAT TEST METRIC [no-ratio]
		local line x v
		declare -A val=()
		line="$(printf '%-34s' "$1")"
		for x in $BENCH_XLATS; do
			v="$(fmt "$(fig "$x" "$2" "$3")")"
			val[$x]="$(fig "$x" "$2" "$3")"
			line+="$(printf ' %12s' "$v")"
		done
		if [[ "${4:-}" != no-ratio ]]; then
			line+="$(printf ' %12s %12s' "$(ratio "${val[ygg64]:-}" "${val[tayga]:-}")" \
				"$(ratio "${val[ygg64]:-}" "${val[kernel]:-}")")"
		fi
		echo "$line"
	}
	# eff_row WHAT CPU-TEST RATE-TEST RATE-METRIC K: K * cpu_pct / rate.
	eff_row() {
		local line x r c
		declare -A val=()
		line="$(printf '%-34s' "$1")"
		for x in $BENCH_XLATS; do
			r="$(fig "$x" "$3" "$4")" c="$(fig "$x" "$2" cpu_pct)"
			val[$x]="$(awk -v r="$r" -v c="$c" -v k="$5" 'BEGIN {
				if (r + 0 <= 0 || c !~ /^[0-9.]+$/) print "-"; else printf "%.4g", k * c / r }')"
			line+="$(printf ' %12s' "$(fmt "${val[$x]}")")"
		done
		line+="$(printf ' %12s %12s' "$(ratio "${val[ygg64]:-}" "${val[tayga]:-}")" \
			"$(ratio "${val[ygg64]:-}" "${val[kernel]:-}")")"
		echo "$line"
	}
	row "ping RTT (ms)" ping rtt_ms
	row "TCP 1 stream 6->4 (Gbit/s)" tcp1 gbps
	row "TCP 1 stream 4->6, -R (Gbit/s)" tcp1r gbps
	row "TCP 4 streams 6->4 (Gbit/s)" tcp4 gbps
	row "UDP $BENCH_UDP_LEN B, <1% loss (kpps)" udp knee_kpps
	row "  loss at that rate (%)" udp loss_pct no-ratio
	row "  unpaced: rx (kpps)" udp-unpaced rx_kpps
	row "idle RSS (MiB)" idle rss_mib
	row "idle CPU (% of a core)" idle cpu_pct no-ratio
	row "CPU during tcp1 (%)" tcp1 cpu_pct
	row "CPU during tcp1r (%)" tcp1r cpu_pct
	row "CPU at the UDP knee (%)" udp cpu_pct
	row "CPU s over all load tests" load cpu_s
	eff_row "CPU per packet at knee (us)" udp udp knee_kpps 10
	eff_row "CPU per GB, tcp1 (s)" tcp1 tcp1 gbps 0.08
	eff_row "CPU per GB, tcp1r (s)" tcp1r tcp1r gbps 0.08
	row "RSS after load (MiB)" load rss_mib
	row "peak RSS, VmHWM (MiB)" load hwm_mib
	row "host steal during load (%)" load steal_pct no-ratio
	if [[ "$(fig ygg64 sess0 rss_mib)" != - ]]; then
		row "ygg64 RSS, wide pool, 0 sessions" sess0 rss_mib no-ratio
		for n in $(awk -F'\t' '$1 == "ygg64" && $2 ~ /^sess[1-9]/ && $3 == "count" {
			sub(/^sess/, "", $2); print $2 }' "$BENCH_OUT/results.tsv" | sort -un); do
			v="$(fig ygg64 "sess$n" count)"
			row "ygg64 RSS, $v UDP sessions (MiB)" "sess$n" rss_mib no-ratio
			echo "    ($(fig ygg64 "sess$n" bib) BIB entries; VmHWM $(fig ygg64 "sess$n" hwm_mib)" \
				"MiB; $(awk -v a="$(fig ygg64 "sess$n" rss_mib)" -v b="$(fig ygg64 sess0 \
				rss_mib)" -v n="$v" 'BEGIN { if (n > 0) printf "%.0f", (a - b) * 1048576 / n;
				else print "-" }') bytes per session over the empty daemon)"
		done
	fi
	for x in $BENCH_XLATS; do
		[[ "$(fig "$x" udp sender_bound)" == - ]] ||
			echo "note: $x: the unpaced UDP run lost < 1 %: sender-bound, the figure is a floor"
	done
	echo "note: CPU is the translator process only (utime + stime); the kernel's work (TUN" \
		"queues, IPv4 forwarding, and for tayga conntrack + MASQUERADE in softirq) is not" \
		"attributable to a process and is in no figure"
	for x in $BENCH_XLATS; do
		echo "note: $x: $(awk -F'\t' -v x="$x" '$1 == x && $2 == "info" && $3 == "impl" {
			print $4 }' "$BENCH_OUT/results.tsv" | tail -n1)"
	done
}

if [[ -n "${BENCH_NO_HARNESS:-}" ]]; then
	print_table
	exit 0
fi
command -v iperf3 >/dev/null || skip "needs iperf3 (scripts/deps.sh installs it)"
command -v ping >/dev/null || skip "needs ping (scripts/deps.sh installs it)"
if [[ " $BENCH_XLATS " == *" ygg64 "* ]]; then
	need_ygg64_bin
	need_nat64_impl
fi
mkdir -p "$BENCH_OUT/raw"
rec run info xlats "$BENCH_XLATS"
rec run info t "$BENCH_T"
rec run info reps "$BENCH_REPS"
rec run info udp_len "$BENCH_UDP_LEN"
for x in $BENCH_XLATS; do xlat_up "$x"; done
for t in $BENCH_TESTS; do
	case "$t" in
	ping | tcp1 | tcp1r | tcp4) measure "$t" ;;
	udp64 | udp)
		# shellcheck disable=SC2086 # a list of words
		udp_knees $BENCH_XLATS
		;;
	sessions) ;;
	*) fail "unknown test '$t' (ping tcp1 tcp1r tcp4 udp64 sessions)" ;;
	esac
done
for x in $BENCH_XLATS; do xlat_down "$x"; done
[[ " $BENCH_TESTS " != *" sessions "* || " $BENCH_XLATS " != *" ygg64 "* ]] || sessions_bench
print_table | tee "$BENCH_OUT/nat64-table.txt"
echo "(raw results: $BENCH_OUT/results.tsv, iperf3 JSON in $BENCH_OUT/raw/)"
