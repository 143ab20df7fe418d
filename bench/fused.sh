#!/usr/bin/env bash
# bench/fused.sh — issue 13's benchmark: the fused path (NAT64 + tunnel routing + overlay in
# one ygg64 process) against the IPv6 overlay alone on the same pair, and against the seed's
# glue (tayga + iptables MASQUERADE + TCPMSS) feeding ygg64's tunnel routing, in one run.
#
# Two copies of one topology, all up at once: namespaces R and M joined by a veth (MTU 1500),
# M dialling R's tcp:// listener, both ygg64 with TUNs (ygg0, IfMTU BENCH_MTU = 65535), the
# same two identities in both copies, and tunnel routing on both: R owns 10.5.0.1/32 and
# routes 10.0.0.0/8 to M's key, M owns 10.1.0.3/32 (on its TUN) and routes 10.5.0.0/16 to
# R's key. iperf3's client runs in R's namespace, its server in M's (bound to the address
# named below); nothing else is started or addressed outside these namespaces.
#   copy f   R also runs the NAT64 fused with tunnel routing (Prefix 2001:db8:64::/96, pool
#            10.5.0.1 = its IPv4LocalSubnets /32, DataDir in the run's temporary folder). It
#            routes the prefix into its TUN itself, so R's own sockets are the IPv6 client.
#   copy g   R without NAT64; tayga 0.9.2 (Debian) on a second TUN (nat64, MTU TAYGA_MTU =
#            1500, dynamic pool 100.100.0.0/16, the same prefix routed into it), the kernel's
#            NAT44 of the pool onto 10.5.0.1 (iptables MASQUERADE -o ygg0), TCPMSS
#            --clamp-mss-to-pmtu in mangle FORWARD, IPv4 forwarding on in R: the seed's glue
#            with ygg64 in yggdrasil's place.
# Paths (BENCH_PATHS, in this order by default), taking turns run by run (each ping, TCP and
# UDP run, each probe of the knee search), so a slow spell of the host falls on all of them:
#   fused    copy f: R -> 2001:db8:64::a01:3 (10.1.0.3 in the prefix) -> M's 10.1.0.3
#   overlay  copy f, the same daemons and peering: R's 200::/7 address -> M's
#   glue     copy g: R -> 2001:db8:64::a01:3 -> tayga -> MASQUERADE -> ygg64 -> M's 10.1.0.3
# Tests (BENCH_TESTS):
#   ping     RTT: 40 echo requests at 50 ms after a warm-up (ping's avg);
#   tcp1     iperf3 TCP, 1 stream, BENCH_T s, client (R) -> server (M); receiver's bit rate;
#   tcp1r    the same with -R: M sends to R over the connection R opened;
#   udp64    BENCH_UDP_LEN (64) byte UDP datagrams R -> M: the highest offered rate with < 1 %
#            loss (udp_knees in bench/lib.sh: one unpaced run, BENCH_KNEE_STEPS bisection
#            probes of BENCH_KNEE_T s, BENCH_REPS confirming runs, stepping down 10 % while
#            their median loss is >= 1 %). Socket buffers -w 4 MiB.
# CPU: utime + stime (/proc/PID/stat) of the path's processes over each run: R's and M's
# ygg64, plus tayga for glue. CPU per packet = their CPU time over the run / the datagrams the
# server received (UDP); CPU per GB = their CPU time / the GB received (TCP). The kernel's
# share (TUN queues, forwarding, and for glue conntrack + MASQUERADE, in softirq) belongs to no
# process and is in no figure, so glue's real cost is above its row.
# Each figure is the median of BENCH_REPS (2) runs of BENCH_T s (4); before each run the
# script waits (BENCH_QUIET_MAX = 2 s at most) for the machine to be quiet. It prints one
# table with the ratios fused/overlay and fused/glue and the issue's targets (fused/overlay
# >= 0.85 on TCP and 64-byte UDP; fused/glue >= 2 on TCP and a lower CPU per packet), each
# marked met or not. The defaults take about 4 minutes. A benchmark: it reports, it never
# fails on a figure. Raw values and every iperf3 JSON stay in $BENCH_OUT.
#
#   sudo YGG64_BIN=build-bench/ygg64 bench/fused.sh
#   sudo BENCH_T=10 BENCH_REPS=3 bench/fused.sh            # longer, steadier (~10 min)
#   sudo BENCH_PATHS="overlay glue" bench/fused.sh          # no NAT64 in copy f's R
#   bench/fused.sh --table DIR       # print the table again from DIR/results.tsv
if [[ "${1:-}" == --table ]]; then
	[[ -f "${2:-}/results.tsv" ]] || {
		echo "usage: $0 --table DIR (with DIR/results.tsv)" >&2
		exit 2
	}
	BENCH_NO_HARNESS=1 BENCH_OUT="$2"
fi
BENCH_QUIET_MAX="${BENCH_QUIET_MAX:-2}"
. "$(dirname "$0")/lib.sh"
BENCH_T="${BENCH_T:-4}"
BENCH_REPS="${BENCH_REPS:-2}"
BENCH_PATHS="${BENCH_PATHS:-fused overlay glue}"
BENCH_TESTS="${BENCH_TESTS:-ping tcp1 tcp1r udp64}"
BENCH_KNEE_STEPS="${BENCH_KNEE_STEPS:-5}"
BENCH_KNEE_T="${BENCH_KNEE_T:-2}"
BENCH_UDP_LEN="${BENCH_UDP_LEN:-64}"
BENCH_MTU="${BENCH_MTU:-65535}"
TAYGA_MTU="${TAYGA_MTU:-1500}"
if [[ -z "${BENCH_NO_HARNESS:-}" ]]; then
	BENCH_UDP_WIN="${BENCH_UDP_WIN:-$(awk 'NR == 1 { r = $1 } NR == 2 { w = $1 } END {
		m = 4194304; if (r < m) m = r; if (w < m) m = w; print m }' \
		/proc/sys/net/core/rmem_max /proc/sys/net/core/wmem_max)}"
	((BENCH_UDP_WIN >= 4194304)) ||
		blog "warning: net.core.[rw]mem_max cap UDP socket buffers at $BENCH_UDP_WIN bytes"
	# Our own namespace names (y64f<pid>-<label>), apart from the other scripts'.
	NS_PREFIX="y64f$$-"
fi
LOCAL4=10.5.0.1 REMOTE4=10.1.0.3 GLUE_POOL=100.100.0.0/16 GLUE_ADDR4=100.100.0.1
ROLES="r m tayga"

# Per path: client and server namespaces, the client's destination, the server's bind
# address, the PIDs counted (role=pid words) and CPU/steal bookkeeping of the current run.
declare -A P_C=() P_S=() P_DST=() P_BIND=() P_PIDS=() LOAD_T=()
declare -A TICKS0=() STEAL0=() STEAL_D=() TOTAL_D=()
PC="" PS="" PDST="" PBIND="" PPIDS=""
path_use() {
	PC="${P_C[$1]}" PS="${P_S[$1]}" PDST="${P_DST[$1]}" PBIND="${P_BIND[$1]}"
	PPIDS="${P_PIDS[$1]}"
}

# ticks_mark P / ticks_rec P TEST SECONDS [BYTES|-] [PACKETS]: each process's CPU % of one core
# over a run and the sum in CPU s (cpu_s); with BYTES, CPU s per GB received (s_per_gb); with
# PACKETS, CPU us per packet received (us_pkt); the run's steal and total jiffies added to P's.
ticks_mark() {
	local rp
	for rp in $PPIDS; do TICKS0[$1.${rp%=*}]="$(proc_ticks "${rp#*=}")"; done
	STEAL0[$1]="$(cpu_steal_total)"
}
ticks_rec() {
	local p="$1" t="$2" secs="$3" bytes="${4:--}" pkts="${5:-}" rp d sum=0 s tt
	for rp in $PPIDS; do
		d=$(($(proc_ticks "${rp#*=}") - TICKS0[$p.${rp%=*}]))
		sum=$((sum + d))
		rec "$p" "$t" "cpu_pct_${rp%=*}" "$(awk -v d="$d" -v hz="$HZ" -v s="$secs" \
			'BEGIN { printf "%.1f", 100 * d / hz / (s > 0 ? s : 1) }')"
	done
	LOAD_T[$p]=$((${LOAD_T[$p]:-0} + sum))
	rec "$p" "$t" cpu_s "$(ticks_to_s "$sum")"
	[[ "$bytes" == - ]] || rec "$p" "$t" s_per_gb "$(awk -v d="$sum" -v hz="$HZ" -v b="$bytes" \
		'BEGIN { if (b > 0) printf "%.4g", d / hz / (b / 1e9) }')"
	[[ -z "$pkts" ]] || rec "$p" "$t" us_pkt "$(awk -v d="$sum" -v hz="$HZ" -v n="$pkts" \
		'BEGIN { if (n > 0) printf "%.4g", d / hz * 1e6 / n }')"
	read -r s tt <<<"$(cpu_steal_total)"
	STEAL_D[$p]=$((${STEAL_D[$p]:-0} + s - ${STEAL0[$p]% *}))
	TOTAL_D[$p]=$((${TOTAL_D[$p]:-0} + tt - ${STEAL0[$p]#* }))
}

# udp_run P PPS SECS TAG: UDP at PPS packets/s (0 = unpaced) on path P; sets U_RX, U_TX (kpps)
# and U_LOSS (%), and records the path's CPU under TAG (for udp_knees in lib.sh).
udp_run() {
	local p="$1" pps="$2" secs="$3" tag="$4" out bw t0
	path_use "$p"
	out="$BENCH_OUT/raw/$p.$tag.json"
	bw="$(awk -v p="$pps" -v l="$BENCH_UDP_LEN" 'BEGIN { printf "%d", p * l * 8 }')"
	wait_quiet
	ticks_mark "$p"
	t0="$(now_s)"
	if ! iperf "$PS" "$PBIND" "$PC" "$PDST" "$out" -u -l "$BENCH_UDP_LEN" -w "$BENCH_UDP_WIN" \
		-b "$bw" -t "$secs"; then
		U_RX=0 U_TX=0 U_LOSS=100
		blog "$p $tag: iperf3 failed: $(jq -r '.error // empty' "$out" 2>/dev/null | head -c 200)"
		return 0
	fi
	udp_figures "$out"
	ticks_rec "$p" "$tag" "$(since "$t0")" - \
		"$(jq --argjson l "$BENCH_UDP_LEN" '.end.sum_received.bytes / $l | floor' "$out")"
}

# udp_knee_cpu P TAG: the knee's CPU figures (udp_knees calls it): each process's CPU % in
# the last confirming run (or the unpaced one, when sender-bound) and CPU per packet in every
# confirming run at the rate found.
udp_knee_cpu() {
	local p="$1" tag="$2" r rep
	for r in $ROLES; do
		[[ "$(fig "$p" "$tag" "cpu_pct_$r")" == - ]] ||
			rec "$p" udp "cpu_pct_$r" "$(fig "$p" "$tag" "cpu_pct_$r")"
	done
	if [[ "$tag" == udp-unpaced ]]; then
		rec "$p" udp us_pkt "$(fig "$p" udp-unpaced us_pkt)"
		return 0
	fi
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		r="$(fig "$p" "${tag%.*}.$rep" us_pkt)"
		[[ "$r" == - ]] || rec "$p" udp us_pkt "$r"
	done
}

# conf_yaml NAME: the node's JSON config under the name nat64_start reads ($T_TMP/NAME.yaml;
# ygg64 tells JSON from YAML by its content).
conf_yaml() { cp "$(node_conf_file "$1")" "$T_TMP/$1.yaml"; }

# copy_up TAG NAT64|plain: namespaces TAGr and TAGm, their veth, the two daemons (started on
# -notifyfd readiness), the peering and the TUNs up.
copy_up() {
	local tag="$1" mode="$2" r="$1r" m="$1m" nr="$1-r" nm="$1-m" l
	ns_new "$r" "$m"
	ns_link "$r" "$m"
	l="tcp://[$(ns_addr6 "$r" "$m")]:7001"
	cp "$(node_conf_file base-r)" "$(node_conf_file "$nr")"
	cp "$(node_conf_file base-m)" "$(node_conf_file "$nm")"
	node_patch "$nr" '.Listen = [$l] | .AdminListen = $a |
		.TunnelRouting = {Enable: true, IPv4LocalSubnets: [$l4 + "/32"],
			IPv4RemoteSubnets: {"10.0.0.0/8": $k}}' \
		--arg l "$l" --arg a "unix://$(node_sock "$nr")" --arg l4 "$LOCAL4" \
		--arg k "$(node_key "$nm")"
	if [[ "$mode" == nat64 ]]; then
		mkdir -p "$T_TMP/$nr.data"
		node_patch "$nr" '.NAT64 = {Enable: true, Prefix: $p, DataDir: $d}' \
			--arg p "$NAT64_PREFIX" --arg d "$T_TMP/$nr.data"
	fi
	node_patch "$nm" '.Peers = [$l] | .AdminListen = $a |
		.TunnelRouting = {Enable: true, IPv4LocalSubnets: [$l4 + "/32"],
			IPv4RemoteSubnets: {"10.5.0.0/16": $k}}' \
		--arg l "$l" --arg a "unix://$(node_sock "$nm")" --arg l4 "$REMOTE4" \
		--arg k "$(node_key "$nr")"
	blog "=== copy $tag: R ${mode/plain/tunnel routing only}, M (namespaces $NS_PREFIX{$r,$m})"
	conf_yaml "$nr"
	conf_yaml "$nm"
	nat64_start "$nr" "$r"
	nat64_start "$nm" "$m"
	wait_peer_up "$nm" "$(node_key "$nr")" 20
	tun_wait "$nr"
	tun_wait "$nm"
}

# path_check P: the client reaches the server's address (3 pings).
path_check() {
	path_use "$1"
	ns_exec "$PC" ping -6 -n -q -c 3 -i 0.2 -w 20 "$PDST" >/dev/null ||
		fail "$1: namespace $PC cannot ping $PDST"
}

# measure TEST: one test (ping, tcp1, tcp1r) on every path, taking turns run by run.
measure() {
	local t="$1" rep p args
	for ((rep = 1; rep <= BENCH_REPS; rep++)); do
		for p in $BENCH_PATHS; do
			path_use "$p"
			case "$t" in
			ping) ping_rtt "$p" "$PC" "$PDST" "$rep" ;;
			tcp1 | tcp1r)
				args=(-P 1)
				[[ "$t" == tcp1 ]] || args+=(-R)
				tcp_rate "$p" "$t" "$rep" "$PS" "$PBIND" "$PC" "$PDST" "${args[@]}"
				;;
			esac
		done
	done
}

# --- the table ---------------------------------------------------------------------------------
print_table() {
	local BENCH_PATHS BENCH_T BENCH_REPS BENCH_UDP_LEN hdr p
	BENCH_PATHS="$(info_get paths)" BENCH_T="$(info_get t)" BENCH_REPS="$(info_get reps)"
	BENCH_UDP_LEN="$(info_get udp_len)"
	echo "fused NAT64 + tunnel + overlay vs the overlay alone vs tayga glue, R -> M," \
		"BENCH_T=$BENCH_T s, BENCH_REPS=$BENCH_REPS (medians), IfMTU $(info_get mtu);" \
		"CPU = R's + M's ygg64 (+ tayga)"
	hdr="$(printf '%-32s' metric)"
	for p in $BENCH_PATHS; do hdr+="$(printf ' %14s' "$p")"; done
	hdr+="$(printf ' %13s %10s' fused/overlay fused/glue)"
	echo "$hdr"
	declare -gA VAL=()
	row() { # WHAT TEST METRIC [no-ratio]
		local line p v
		line="$(printf '%-32s' "$1")"
		for p in $BENCH_PATHS; do
			VAL[$p]="$(fig "$p" "$2" "$3")"
			line+="$(printf ' %14s' "$(fmt "${VAL[$p]}")")"
		done
		[[ "${4:-}" == no-ratio ]] ||
			line+="$(printf ' %13s %10s' "$(ratio "${VAL[fused]:-}" "${VAL[overlay]:-}")" \
				"$(ratio "${VAL[fused]:-}" "${VAL[glue]:-}")")"
		echo "$line"
	}
	roles_row() { # WHAT TEST: each process's CPU %, R/M/tayga
		local line p r v s
		line="$(printf '%-32s' "$1")"
		for p in $BENCH_PATHS; do
			s=""
			for r in $ROLES; do
				v="$(fig "$p" "$2" "cpu_pct_$r")"
				[[ "$v" == - && "$r" == tayga ]] && continue
				s+="${s:+/}$(fmt "$v")"
			done
			line+="$(printf ' %14s' "$s")"
		done
		echo "$line"
	}
	row "ping RTT (ms)" ping rtt_ms
	row "TCP 1 stream R->M (Gbit/s)" tcp1 gbps
	row "TCP 1 stream M->R, -R (Gbit/s)" tcp1r gbps
	row "UDP $BENCH_UDP_LEN B, <1% loss (kpps)" udp knee_kpps
	row "  loss at that rate (%)" udp loss_pct no-ratio
	row "  unpaced: rx (kpps)" udp-unpaced rx_kpps
	roles_row "CPU tcp1, R/M[/tayga] (%)" tcp1
	roles_row "CPU tcp1r, R/M[/tayga] (%)" tcp1r
	roles_row "CPU UDP knee, R/M[/tayga] (%)" udp
	row "CPU per packet, UDP knee (us)" udp us_pkt
	row "CPU per GB, tcp1 (s)" tcp1 s_per_gb
	row "CPU per GB, tcp1r (s)" tcp1r s_per_gb
	row "CPU s over the path's runs" load cpu_s
	row "host steal during load (%)" load steal_pct no-ratio
	echo
	echo "targets (issue 13)                            ratio    target   met"
	target() { # WHAT A B OP LIMIT: ratio A/B of the medians against "ge" or "lt" LIMIT
		local r ok
		r="$(ratio "$2" "$3")"
		ok="$(awk -v r="$r" -v op="$4" -v l="$5" 'BEGIN {
			if (r !~ /^[0-9.]+$/) print "-"
			else if (op == "ge") print (r + 0 >= l ? "yes" : "NO")
			else print (r + 0 < l ? "yes" : "NO") }')"
		printf '  %-42s %7s %9s %5s\n' "$1" "$r" "$([[ "$4" == ge ]] && echo ">= $5" || echo "< $5")" "$ok"
	}
	target "fused/overlay, TCP 1 stream R->M" "$(fig fused tcp1 gbps)" "$(fig overlay tcp1 gbps)" ge 0.85
	target "fused/overlay, TCP 1 stream M->R (-R)" "$(fig fused tcp1r gbps)" "$(fig overlay tcp1r gbps)" ge 0.85
	target "fused/overlay, UDP $BENCH_UDP_LEN B rate" "$(fig fused udp knee_kpps)" \
		"$(fig overlay udp knee_kpps)" ge 0.85
	target "fused/glue, TCP 1 stream R->M" "$(fig fused tcp1 gbps)" "$(fig glue tcp1 gbps)" ge 2
	target "fused/glue, TCP 1 stream M->R (-R)" "$(fig fused tcp1r gbps)" "$(fig glue tcp1r gbps)" ge 2
	target "fused/glue, CPU per packet (UDP $BENCH_UDP_LEN B)" "$(fig fused udp us_pkt)" \
		"$(fig glue udp us_pkt)" lt 1
	target "fused/glue, CPU per GB (tcp1)" "$(fig fused tcp1 s_per_gb)" "$(fig glue tcp1 s_per_gb)" lt 1
	for p in $BENCH_PATHS; do
		[[ "$(fig "$p" udp sender_bound)" == - ]] ||
			echo "note: $p: the unpaced UDP run lost < 1 %: sender-bound, the figure is a floor"
	done
	echo "note: CPU is the processes' utime + stime; the kernel's work (TUN queues, forwarding," \
		"and for glue conntrack + MASQUERADE in softirq) is in no figure, so glue's cost is above its row"
	p="$(info_get mode)"
	echo "note: $(info_get impl); $(info_get tayga); copy f's R: NAT64 ${p:-off}"
}

if [[ -n "${BENCH_NO_HARNESS:-}" ]]; then
	print_table
	exit 0
fi
command -v iperf3 >/dev/null || skip "needs iperf3 (scripts/deps.sh installs it)"
command -v ping >/dev/null || skip "needs ping (scripts/deps.sh installs it)"
[[ "$Y64_IMPL" == ygg64 ]] || skip "tunnel routing and NAT64: the reference yggdrasil has neither"
need_ygg64_bin
for p in $BENCH_PATHS; do
	case "$p" in
	fused | overlay | glue) ;;
	*) fail "unknown path '$p' (fused overlay glue)" ;;
	esac
done
mkdir -p "$BENCH_OUT/raw"
rec run info paths "$BENCH_PATHS"
rec run info t "$BENCH_T"
rec run info reps "$BENCH_REPS"
rec run info udp_len "$BENCH_UDP_LEN"
rec run info mtu "$BENCH_MTU"
rec run info impl "$YGG64_BIN, version $("$YGG64_BIN" -version 2>/dev/null |
	sed -n 's/^Build version: *//p')"
# The two identities both copies use.
node_conf base-r '.IfName = "ygg0" | .IfMTU = ($m | tonumber)' --arg m "$BENCH_MTU"
node_conf base-m '.IfName = "ygg0" | .IfMTU = ($m | tonumber)' --arg m "$BENCH_MTU"
if [[ " $BENCH_PATHS " == *" fused "* || " $BENCH_PATHS " == *" overlay "* ]]; then
	fmode=plain
	[[ " $BENCH_PATHS " != *" fused "* ]] || fmode=nat64
	copy_up f "$fmode"
	[[ "$fmode" == plain ]] ||
		rec run info mode "$(nat64_get f-r .mode 2>/dev/null || echo "getNAT64 failed")"
	for p in fused overlay; do
		P_C[$p]=fr P_S[$p]=fm P_PIDS[$p]="r=${NODE_PID[f-r]} m=${NODE_PID[f-m]}"
	done
	P_DST[fused]="$(nat64_addr6 "$REMOTE4")" P_BIND[fused]="$REMOTE4"
	P_DST[overlay]="$(node_addr f-m)" P_BIND[overlay]="$(node_addr f-m)"
fi
if [[ " $BENCH_PATHS " == *" glue "* ]]; then
	copy_up g plain
	ns_exec gr sysctl -qw net.ipv4.ip_forward=1
	tayga_start gr ygg0 "$GLUE_POOL" "$GLUE_ADDR4"
	rec run info tayga "$(dpkg-query -W -f='tayga ${Version}' tayga 2>/dev/null), TUN MTU $TAYGA_MTU"
	P_C[glue]=gr P_S[glue]=gm P_DST[glue]="$(nat64_addr6 "$REMOTE4")" P_BIND[glue]="$REMOTE4"
	P_PIDS[glue]="r=${NODE_PID[g-r]} m=${NODE_PID[g-m]} tayga=$TAYGA_PID"
fi
for p in $BENCH_PATHS; do path_check "$p"; done
for t in $BENCH_TESTS; do
	case "$t" in
	ping | tcp1 | tcp1r) measure "$t" ;;
	udp64 | udp)
		# shellcheck disable=SC2086 # a list of words
		udp_knees $BENCH_PATHS
		;;
	*) fail "unknown test '$t' (ping tcp1 tcp1r udp64)" ;;
	esac
done
for p in $BENCH_PATHS; do
	rec "$p" load steal_pct "$(awk -v s="${STEAL_D[$p]:-0}" -v t="${TOTAL_D[$p]:-0}" \
		'BEGIN { printf "%.1f", 100 * s / (t > 0 ? t : 1) }')"
	rec "$p" load cpu_s "$(ticks_to_s "${LOAD_T[$p]:-0}")"
done
print_table | tee "$BENCH_OUT/fused-table.txt"
echo "(raw results: $BENCH_OUT/results.tsv, iperf3 JSON in $BENCH_OUT/raw/; $SECONDS s)"
