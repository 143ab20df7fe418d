# netns.sh — sourced by the network-namespace tests after lib.sh (". lib.sh; . netns.sh").
#
# Builds small topologies of network namespaces and runs real yggdrasil 0.5.12 nodes and the
# node under test in them, then queries them through their admin sockets with the real
# yggdrasilctl. Everything stays inside namespaces this file creates:
#   - namespaces are named y64<pid>-N (unique per test run), recorded in T_NETNS, and deleted
#     by lib.sh's exit trap; veth pairs are created directly inside them, so nothing is added to
#     the root namespace;
#   - addresses come from documentation ranges only: link L joins I<J with 2001:db8:1:L::1/64
#     on I and ::2 on J (nodad), and 198.51.100.(4(L-1)+1|2)/30; the veth in I towards J is
#     named eJ (names are per namespace);
#   - every process is started here, recorded in T_PIDS and stopped by PID;
#   - admin sockets are unix sockets in $T_TMP (unix sockets are not namespaced, so
#     yggdrasilctl runs in the root namespace).
#
# The node under test ("sut" nodes) is $YGG64_BIN, or the real yggdrasil when Y64_IMPL=real:
# that mode checks the harness and the tests themselves against the reference implementation.
# Both read the same JSON config (yggdrasil's -genconf -json, patched with jq; only keys both
# know). Nodes are named by the test (a word such as "a" or "sut"); their files are
# $T_TMP/<name>.{json,sock,log}.
#
# Needs: need_yggdrasil and need_root_netns called first (they set YGG and YGGCTL); jq.
command -v jq >/dev/null || skip "needs jq"

Y64_IMPL="${Y64_IMPL:-ygg64}"
case "$Y64_IMPL" in
real) echo "# Y64_IMPL=real: the nodes under test run the reference yggdrasil" ;;
ygg64) ;;
*) fail "Y64_IMPL must be 'ygg64' (default) or 'real', not '$Y64_IMPL'" ;;
esac

NS_PREFIX="y64$$-"
NS_NLINKS=0
declare -gA NS_ADDR6=() NS_ADDR4=()
declare -gA NODE_NS=() NODE_PID=() NODE_IMPL=()
NODE_NAMES=()

# --- namespaces and links --------------------------------------------------------------------

ns_name() { echo "$NS_PREFIX$1"; }
# ns_exec I CMD...: runs CMD inside namespace I.
ns_exec() {
	local i="$1"
	shift
	ip netns exec "$(ns_name "$i")" "$@"
}

# ns_new I...: creates namespaces with lo up, IPv6 DAD off and forwarding on.
ns_new() {
	local i n
	for i in "$@"; do
		n="$(ns_name "$i")"
		ip netns add "$n" || fail "cannot create namespace $n"
		T_NETNS+=("$n")
		ip -n "$n" link set lo up
		ns_exec "$i" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding=1
	done
}

# ns_link I J: a veth pair between namespaces I and J (both already created).
ns_link() {
	local i="$1" j="$2" l a4
	l=$((++NS_NLINKS))
	((l <= 64)) || fail "ns_link: too many links"
	ip link add "e$j" netns "$(ns_name "$i")" type veth peer name "e$i" netns "$(ns_name "$j")" ||
		fail "cannot create veth $i-$j"
	NS_ADDR6[$i,$j]="2001:db8:1:$l::1"
	NS_ADDR6[$j,$i]="2001:db8:1:$l::2"
	a4=$((4 * (l - 1)))
	NS_ADDR4[$i,$j]="198.51.100.$((a4 + 1))"
	NS_ADDR4[$j,$i]="198.51.100.$((a4 + 2))"
	ip -n "$(ns_name "$i")" addr add "${NS_ADDR6[$i,$j]}/64" dev "e$j" nodad
	ip -n "$(ns_name "$j")" addr add "${NS_ADDR6[$j,$i]}/64" dev "e$i" nodad
	ip -n "$(ns_name "$i")" addr add "${NS_ADDR4[$i,$j]}/30" dev "e$j"
	ip -n "$(ns_name "$j")" addr add "${NS_ADDR4[$j,$i]}/30" dev "e$i"
	ip -n "$(ns_name "$i")" link set "e$j" up
	ip -n "$(ns_name "$j")" link set "e$i" up
	ns_wait_up "$i" "e$j"
	ns_wait_up "$j" "e$i"
}

# ns_wait_up I IFNAME: waits (5 s at most) for the carrier of a veth.
ns_wait_up() {
	local t
	for ((t = 0; t < 50; t++)); do
		ip -n "$(ns_name "$1")" -o link show dev "$2" | grep -q 'state UP' && return 0
		sleep 0.1
	done
	fail "veth $2 in namespace $1 is not up after 5 s"
}

# ns_line N: namespaces 1..N joined in a line 1 - 2 - ... - N.
ns_line() {
	local i
	for ((i = 1; i <= $1; i++)); do ns_new "$i"; done
	for ((i = 1; i < $1; i++)); do ns_link "$i" $((i + 1)); done
}

# ns_star N: hub 1 joined to each of 2..N.
ns_star() {
	local i
	for ((i = 1; i <= $1; i++)); do ns_new "$i"; done
	for ((i = 2; i <= $1; i++)); do ns_link 1 "$i"; done
}

# ns_addr6 I J / ns_addr4 I J: the address namespace I has on its link to J.
ns_addr6() {
	[[ -n "${NS_ADDR6[$1,$2]:-}" ]] || fail "no link between namespaces $1 and $2"
	echo "${NS_ADDR6[$1,$2]}"
}
ns_addr4() {
	[[ -n "${NS_ADDR4[$1,$2]:-}" ]] || fail "no link between namespaces $1 and $2"
	echo "${NS_ADDR4[$1,$2]}"
}

# --- node configuration ------------------------------------------------------------------------

node_conf_file() { echo "$T_TMP/$1.json"; }
node_sock() { echo "$T_TMP/$1.sock"; }
node_log() { echo "$T_TMP/$1.log"; }

# node_conf NAME [JQ-FILTER [JQ-ARGS...]]: a fresh identity from the real yggdrasil, with no
# TUN, no multicast, no peers or listeners, the admin socket in $T_TMP and NodeInfo naming
# the node; then the optional filter (e.g. '.Listen = [$l]' --arg l tcp://...).
node_conf() {
	local name="$1" f
	shift
	f="$(node_conf_file "$name")"
	"$YGG" -genconf -json | jq --arg admin "unix://$(node_sock "$name")" --arg name "$name" \
		'.IfName = "none" | .AdminListen = $admin | .MulticastInterfaces = [] |
		 .Peers = [] | .Listen = [] | .NodeInfo = {"name": $name}' >"$f" ||
		fail "cannot generate a config for $name"
	(($# == 0)) || node_patch "$name" "$@"
}

# node_conf_sorted NAME...: as node_conf for each NAME, with keys in increasing order: the first
# NAME gets the lowest public key (the tree root among them, link-routing §5.5).
node_conf_sorted() {
	local n i keys=() sorted
	for n in "$@"; do
		node_conf "$n"
		keys+=("$(jq -r .PrivateKey "$(node_conf_file "$n")")")
	done
	mapfile -t sorted < <(printf '%s\n' "${keys[@]}" | LC_ALL=C sort -k1.65)
	i=0
	for n in "$@"; do
		node_patch "$n" '.PrivateKey = $k' --arg k "${sorted[i++]}"
	done
}

# node_patch NAME JQ-FILTER [JQ-ARGS...]: edits the node's config in place.
node_patch() {
	local f
	f="$(node_conf_file "$1")"
	jq "${@:3}" "$2" "$f" >"$f.new" || fail "jq filter '$2' failed on $1's config"
	mv "$f.new" "$f"
}

# node_key NAME / node_addr NAME: identity from the config (the node need not run).
node_key() { "$YGG" -useconffile "$(node_conf_file "$1")" -publickey; }
node_addr() { "$YGG" -useconffile "$(node_conf_file "$1")" -address; }

# --- node processes ----------------------------------------------------------------------------

# node_start NAME NS real|sut: starts the node in namespace NS and waits (10 s at most) until
# its admin socket answers getSelf with the configured key.
node_start() {
	local name="$1" ns="$2" kind="$3" bin i sock key
	case "$kind" in
	real) bin="$YGG" ;;
	sut) if [[ "$Y64_IMPL" == real ]]; then bin="$YGG"; else bin="$YGG64_BIN"; fi ;;
	*) fail "node_start: kind must be real or sut, not '$kind'" ;;
	esac
	sock="$(node_sock "$name")"
	rm -f "$sock" # left by a node we killed: yggdrasil would wait 2 s before replacing it
	[[ -n "${NODE_NS[$name]:-}" ]] || NODE_NAMES+=("$name")
	NODE_NS[$name]="$ns"
	NODE_IMPL[$name]="$kind:$(basename "$bin")"
	echo "# start $name ($kind: $(basename "$bin")) in namespace $ns" >>"$(node_log "$name")"
	ip netns exec "$(ns_name "$ns")" "$bin" -useconffile "$(node_conf_file "$name")" \
		>>"$(node_log "$name")" 2>&1 &
	NODE_PID[$name]=$!
	T_PIDS+=("${NODE_PID[$name]}")
	key="$(node_key "$name")"
	for ((i = 0; i < 100; i++)); do
		kill -0 "${NODE_PID[$name]}" 2>/dev/null || fail "node $name ($kind) exited at start"
		if [[ -S "$sock" ]] &&
			[[ "$(ctl "$name" getSelf 2>/dev/null | jq -r .key 2>/dev/null)" == "$key" ]]; then
			return 0
		fi
		sleep 0.1
	done
	fail "node $name ($kind) does not answer getSelf on $sock within 10 s"
}

# node_stop NAME [SIGNAL]: signals the node (TERM by default), waits for it to exit (10 s, then
# KILL) and forgets its PID.
node_stop() {
	local name="$1" sig="${2:-TERM}" pid i
	pid="${NODE_PID[$name]:-}"
	[[ -n "$pid" ]] || fail "node_stop: $name is not running"
	{ # stderr off: bash reports a child killed by SIGKILL ("... Killed ...") when it reaps it
		kill -"$sig" "$pid" || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		if kill -0 "$pid"; then kill -KILL "$pid"; fi
		wait "$pid" || true
	} 2>/dev/null
	pid_forget "$pid"
	NODE_PID[$name]=""
}

# pid_forget PID: drops a reaped child from T_PIDS, so that cleanup never signals a reused PID.
pid_forget() {
	local p keep=()
	for p in "${T_PIDS[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
	T_PIDS=("${keep[@]}")
}

# bg_start NS CMD...: a helper process in namespace NS, recorded for cleanup; sets BG_PID.
bg_start() {
	local ns="$1"
	shift
	ip netns exec "$(ns_name "$ns")" "$@" &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# On exit: resume nodes a test froze (SIGSTOP) and stop every node still running (TERM, as
# node_stop does), so that a sanitizer build writes its exit-time reports (leaks) to the
# node's log; a sanitizer report in any node's log turns a passing test into a failure. On a
# failure, show the end of every node's log. Then clean up as lib.sh does (t_cleanup).
SANITIZER_RE='==[0-9]+==ERROR: [A-Za-z]+Sanitizer|: runtime error: '
netns_on_exit() {
	local rc=$? n p log
	# Finish the cleanup even if stdout is gone (EPIPE), a command fails or ^C comes again.
	set +e
	trap '' PIPE INT TERM HUP
	for p in "${T_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; done # frozen nodes
	for n in "${NODE_NAMES[@]}"; do
		[[ -z "${NODE_PID[$n]:-}" ]] || node_stop "$n"
	done
	for n in "${NODE_NAMES[@]}"; do
		log="$(node_log "$n")"
		grep -qE "$SANITIZER_RE" "$log" 2>/dev/null || continue
		echo "--- sanitizer report in $n's log (${NODE_IMPL[$n]}):"
		grep -E -A 30 "$SANITIZER_RE" "$log" | head -n 120
		if ((rc == 0)); then
			echo "FAIL $T_NAME: $n's log holds a sanitizer report"
			rc=1
		fi
	done
	if ((rc != 0 && rc != 77 && rc < 129)); then # a failure, not a skip or a signal
		for n in "${NODE_NAMES[@]}"; do
			echo "--- last lines of $n's log (${NODE_IMPL[$n]}):"
			tail -n 25 "$(node_log "$n")" 2>/dev/null || true
		done
	fi
	t_cleanup
	exit "$rc"
}
trap netns_on_exit EXIT
# Signals end the script through the EXIT trap (bash skips it when killed by an untrapped one).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# --- admin queries (the real yggdrasilctl, on every node) --------------------------------------

# ctl NAME COMMAND [key=value...]: the JSON response of the node's admin socket.
ctl() {
	local name="$1"
	shift
	timeout 10 "$YGGCTL" -json -endpoint="unix://$(node_sock "$name")" "$@"
}

# peer_state NAME KEY: prints "up", "down" (listed but not up) or "none" (not listed).
peer_state() {
	local out
	out="$(ctl "$1" getPeers 2>/dev/null)" || {
		echo none
		return 0
	}
	jq -r --arg k "$2" '[.peers[] | select(.key == $k)] |
		if any(.up) then "up" elif length > 0 then "down" else "none" end' <<<"$out"
}

# now_s: seconds since the epoch with microseconds.
now_s() { echo "$EPOCHREALTIME"; }
# since T0: seconds elapsed since T0 (from now_s), with one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# wait_peer_up NAME KEY [SECONDS]: polls until NAME lists KEY as an up peer; sets WAITED.
wait_peer_up() {
	local t0 deadline
	t0="$(now_s)"
	deadline=$((SECONDS + ${3:-15}))
	while ((SECONDS <= deadline)); do
		if [[ "$(peer_state "$1" "$2")" == up ]]; then
			WAITED="$(since "$t0")"
			return 0
		fi
		sleep 0.2
	done
	ctl "$1" getPeers || true
	fail "$1 does not list peer ${2:0:16}… as up within ${3:-15} s"
}

# wait_peer_gone NAME KEY [SECONDS]: polls until NAME no longer lists KEY as up; sets WAITED.
wait_peer_gone() {
	local t0 deadline
	t0="$(now_s)"
	deadline=$((SECONDS + ${3:-15}))
	while ((SECONDS <= deadline)); do
		if [[ "$(peer_state "$1" "$2")" != up ]]; then
			WAITED="$(since "$t0")"
			return 0
		fi
		sleep 0.1
	done
	ctl "$1" getPeers || true
	fail "$1 still lists peer ${2:0:16}… as up after ${3:-15} s"
}

# expect_never_up NAME KEY SECONDS: NAME must not list KEY as up at any poll during SECONDS.
# (at least one poll when SECONDS is 0).
expect_never_up() {
	local deadline=$((SECONDS + $3))
	while :; do
		[[ "$(peer_state "$1" "$2")" != up ]] || {
			ctl "$1" getPeers || true
			fail "$1 lists peer ${2:0:16}… as up, which it must not"
		}
		((SECONDS < deadline)) || return 0
		sleep 0.25
	done
}

# expect_peer NAME KEY WHAT JQ-TEST: NAME's up entry for KEY satisfies the jq boolean test
# (e.g. '.inbound == true').
expect_peer() {
	local got
	got="$(ctl "$1" getPeers | jq --arg k "$2" "[.peers[] | select(.key == \$k and .up)] |
		length > 0 and all($4)")"
	[[ "$got" == true ]] || {
		ctl "$1" getPeers || true
		fail "$3"
	}
	pass "$3"
}

# has_path NAME KEY: true when NAME's getPaths holds KEY.
has_path() {
	ctl "$1" getPaths | jq -e --arg k "$2" 'any(.paths[]; .key == $k)' >/dev/null
}

# --- TUN and subnet (sessions-core-admin §4.2, §5.4) -------------------------------------------

# node_subnet NAME: the node's routed /64 (e.g. 300:1a2b:3c4d:5e6f::/64), from its config.
node_subnet() { "$YGG" -useconffile "$(node_conf_file "$1")" -subnet; }
# subnet_host NAME: <subnet>::1, the address subnet_add puts in the node's namespace.
subnet_host() {
	local s
	s="$(node_subnet "$1")"
	echo "${s%/64}1"
}
# subnet_add NAME: adds subnet_host/64 to lo in the node's namespace. The node owns the key of
# that /64, so it accepts packets to it (§5.2); the TUN's 200::/7 route covers other nodes'
# 300::/8 destinations (§4.2), so no route is added.
subnet_add() {
	ns_exec "${NODE_NS[$1]}" ip -6 addr add "$(subnet_host "$1")/64" dev lo nodad ||
		fail "cannot add $(subnet_host "$1")/64 in $1's namespace"
}

# node_ifname NAME: the IfName of the node's config.
node_ifname() { jq -r .IfName "$(node_conf_file "$1")"; }

# tun_wait NAME [SECONDS]: waits (10 s) until the node's TUN is up in its namespace, holds the
# node's address as /7 and carries the route 200::/7 (the node sets them up itself, §5.4).
tun_wait() {
	local name="$1" ifn addr i ns
	ifn="$(node_ifname "$name")"
	addr="$(node_addr "$name")"
	ns="${NODE_NS[$name]}"
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		if ns_exec "$ns" ip -6 -o addr show dev "$ifn" 2>/dev/null | grep -q "inet6 $addr/7 " &&
			ns_exec "$ns" ip -o link show dev "$ifn" | grep -qE '[<,]UP[,>]' &&
			ns_exec "$ns" ip -6 route show dev "$ifn" | grep -q '^200::/7 '; then
			return 0
		fi
		sleep 0.1
	done
	ns_exec "$ns" ip addr show || true
	ns_exec "$ns" ip -6 route show || true
	fail "$name's TUN $ifn is not up with $addr/7 and a route to 200::/7 within ${2:-10} s"
}

# pair_wait_up A B: A and B list each other as up peers, then both TUNs are up (tun_wait).
pair_wait_up() {
	wait_peer_up "$1" "$(node_key "$2")"
	wait_peer_up "$2" "$(node_key "$1")"
	tun_wait "$1"
	tun_wait "$2"
}

# tun_mtu NAME: the MTU the kernel has for the node's TUN.
tun_mtu() {
	ns_exec "${NODE_NS[$1]}" cat "/sys/class/net/$(node_ifname "$1")/mtu"
}

# --- traffic -----------------------------------------------------------------------------------

# ip_fam ADDR: -6 for an IPv6 address, -4 for an IPv4 one.
ip_fam() { if [[ "$1" == *:* ]]; then echo -6; else echo -4; fi; }

# ping_ok NS ADDR [COUNT [PING-ARGS...]]: COUNT (3) echo replies from ADDR (IPv6 or IPv4)
# within 20 s, from namespace NS (e.g. ping_ok 1 "$addr" 3 -I "$src" -s 1000).
ping_ok() {
	ns_exec "$1" ping "$(ip_fam "$2")" -n -q -c "${3:-3}" -i 0.2 -w 20 "${@:4}" "$2"
}

# ping_expect_fail WHAT NS ADDR [COUNT [PING-ARGS...]]: no echo reply at all from ADDR in
# COUNT (3) tries with a 2 s deadline; passes WHAT with what ping reported instead (e.g.
# "Packet filtered"). Leaves ping's output in $T_TMP/ping.out.
ping_expect_fail() {
	local what="$1" out="$T_TMP/ping.out" why
	shift
	if ns_exec "$1" ping "$(ip_fam "$2")" -n -c "${3:-3}" -i 0.2 -w 2 "${@:4}" "$2" \
		>"$out" 2>&1; then
		cat "$out"
		fail "$what: got echo replies"
	fi
	why="$(grep -m1 -oE '(Packet filtered|Destination [A-Za-z ]*Unreachable|Communication [a-z ]*|[0-9]+ received)' "$out" || true)"
	pass "$what (${why:-no reply})"
}

# ping_expect_ok WHAT NS ADDR [COUNT [PING-ARGS...]]: ping_ok, or fail showing ping's output;
# passes WHAT with the reply count.
ping_expect_ok() {
	local what="$1" out="$T_TMP/ping.out"
	shift
	ping_ok "$@" >"$out" 2>&1 || {
		cat "$out"
		fail "$what"
	}
	pass "$what: $(grep -o '[0-9]* received' "$out")"
}

# ptb_learnt NS-FROM DST SIZE MTU: sends echo requests of SIZE bytes of payload with DF
# semantics (ping -M do) from NS-FROM to DST; true once the sending kernel knows the path MTU
# MTU towards DST, from an ICMPv6 Packet Too Big (§2.8, §5.2): ping reports "Packet too big"
# or "message too long, mtu=MTU", and `ip -6 route get` shows the cached mtu. Leaves ping's
# output in $T_TMP/ptb.out and sets PTB_FROM to the source of the first Packet Too Big ping
# reported ("" if none).
ptb_learnt() {
	local from="$1" dst="$2" size="$3" mtu="$4" i
	: >"$T_TMP/ptb.out"
	PTB_FROM=""
	for ((i = 0; i < 5; i++)); do
		ns_exec "$from" ping -6 -n -M "do" -s "$size" -c 2 -i 0.5 -W 2 "$dst" \
			>>"$T_TMP/ptb.out" 2>&1 || true
		if ns_exec "$from" ip -6 route get "$dst" | grep -q " mtu $mtu "; then
			PTB_FROM="$(sed -n 's/^From \([0-9a-f:]*\) .*Packet too big.*/\1/p' \
				"$T_TMP/ptb.out" | head -n1)"
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# transfer NS-FROM NS-TO ADDR KBYTES [SECONDS]: sends KBYTES of random data over TCP from
# namespace NS-FROM to a listener on ADDR (IPv6 or IPv4, port 7100) in NS-TO within SECONDS
# (30), and fails unless the SHA-256 of what arrived equals that of what was sent. Sets WAITED
# to the transfer time and MBITS to the rate (Mbit/s).
transfer() {
	local from="$1" to="$2" addr="$3" kb="$4" src="$T_TMP/xfer.src" dst="$T_TMP/xfer.dst" i t0
	local listen="TCP6-LISTEN:7100,bind=[$addr]" connect="TCP6:[$addr]:7100"
	command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
	if [[ "$addr" != *:* ]]; then
		listen="TCP4-LISTEN:7100,bind=$addr" connect="TCP4:$addr:7100"
	fi
	head -c "$((kb * 1024))" /dev/urandom >"$src"
	rm -f "$dst"
	bg_start "$to" socat -u "$listen,reuseaddr" "CREATE:$dst"
	local lpid="$BG_PID"
	for ((i = 0; i < 50; i++)); do
		ns_exec "$to" ss -Hltn 'sport = :7100' | grep -q . && break
		sleep 0.1
	done
	t0="$(now_s)"
	ns_exec "$from" timeout "${5:-30}" socat -u "OPEN:$src" "$connect" ||
		fail "sending $kb KiB to [$addr]:7100 failed or took more than ${5:-30} s" \
			"($(stat -c %s "$dst" 2>/dev/null || echo 0) of $((kb * 1024)) bytes arrived)"
	wait_exit "$lpid" 10 || fail "the receiver did not finish within 10 s of the sender" \
		"($(stat -c %s "$dst" 2>/dev/null || echo 0) of $((kb * 1024)) bytes arrived)"
	pid_forget "$lpid"
	WAITED="$(since "$t0")"
	MBITS="$(awk -v k="$kb" -v t="$WAITED" \
		'BEGIN { printf "%.0f", k * 8.192 / 1000 / (t > 0 ? t : 0.1) }')"
	[[ "$RC" == 0 ]] || fail "the receiver exited with $RC"
	[[ "$(sha256sum <"$src")" == "$(sha256sum <"$dst")" ]] ||
		fail "the $kb KiB received differ from what was sent ($(stat -c %s "$dst") bytes arrived)"
	rm -f "$src" "$dst"
}

# --- link recording ----------------------------------------------------------------------------

# relay_start NS LISTEN-ADDR LPORT TARGET-ADDR TPORT NAME: a TCP relay in namespace NS (socat,
# one connection) that records both byte streams of the link through it: what the dialler
# sends to $T_TMP/NAME.c2s and what the target answers to $T_TMP/NAME.s2c. Meant for tcp://
# links, whose frames are plain (link-routing §2.4, §3.1). Sets BG_PID.
relay_start() {
	local ns="$1" la="$2" lp="$3" ta="$4" tp="$5" name="$6" i
	bg_start "$ns" socat -r "$T_TMP/$name.c2s" -R "$T_TMP/$name.s2c" \
		"TCP6-LISTEN:$lp,bind=[$la],reuseaddr" "TCP6:[$ta]:$tp"
	for ((i = 0; i < 50; i++)); do
		ns_exec "$ns" ss -Hltn "sport = :$lp" | grep -q . && return 0
		sleep 0.1
	done
	fail "the relay in namespace $ns does not listen on [$la]:$lp"
}

# link_traffic_headers FILE: reads one recorded direction of a link (the meta message, then
# frames uvarint(N) || type || body, link-routing §2.4, §3.1) and prints one line
# "SRC DST senderKeySeq receiverKeySeq nonce" per session TRAFFIC message (sessions-core-admin
# §2.4) carried in a Traffic frame (type 9: path, from, source and destination keys,
# watermark, payload; §4.8), in stream order; SRC and DST are the first 8 hex digits of the
# keys. A truncated last frame is ignored.
link_traffic_headers() {
	# gawk reads the file as one binary string (-b, C locale); the bytes of a frame's body that
	# are not parsed are skipped by index arithmetic, so megabytes of bulk traffic take well
	# under a second.
	LC_ALL=C gawk -b '
	function uv(b) { # one byte of a uvarint: returns 1 when the value (in V) is complete
		V += (b % 128) * VM
		VM *= 128
		return b < 128
	}
	function byte() { return ORD[substr(D, p++, 1)] }
	BEGIN { RS = "^$"; for (i = 0; i < 256; i++) ORD[sprintf("%c", i)] = i }
	{
		D = $0; n = length(D); p = 1
		if (n < 6 || substr(D, 1, 4) != "meta") { print "no meta message" > "/dev/stderr"; exit 2 }
		p = 7 + ORD[substr(D, 5, 1)] * 256 + ORD[substr(D, 6, 1)]
		while (p <= n) {
			V = 0; VM = 1
			while (p <= n && !uv(byte())) {}
			if (p > n) break
			if (V == 0) { print "bad frame length 0" > "/dev/stderr"; exit 2 }
			end = p + V # first byte after the frame
			if (end > n + 1) break # truncated last frame
			if (byte() != 9) { p = end; continue }
			for (f = 0; f < 2; f++) { # path, then from: uvarints up to a 0
				do { V = 0; VM = 1; while (p < end && !uv(byte())) {} } while (V != 0 && p < end)
			}
			src = dst = ""
			for (i = 0; i < 4; i++) src = src sprintf("%02x", ORD[substr(D, p + i, 1)])
			for (i = 0; i < 4; i++) dst = dst sprintf("%02x", ORD[substr(D, p + 32 + i, 1)])
			p += 64
			V = 0; VM = 1; while (p < end && !uv(byte())) {} # watermark
			if (p < end && byte() == 3) {
				for (f = 0; f < 3; f++) {
					V = 0; VM = 1; while (p < end && !uv(byte())) {}
					h[f] = V
				}
				if (p <= end) printf "%s %s %d %d %d\n", src, dst, h[0], h[1], h[2]
			}
			p = end
		}
	}' "$1"
}

# --- shared scenarios --------------------------------------------------------------------------

# peering_both_ways SCHEME: t_peer_tcp / t_peer_tls. A star of three namespaces: the node under
# test S in 1 dials the real listener R1 in 2 over IPv6, and the real R2 in 3 dials S's
# listener over IPv4. Every node must list its peer(s) as up, with the right direction and
# address, as the real yggdrasilctl sees them on each admin socket (spec link-routing §2.1,
# sessions-core-admin §6.3).
peering_both_ways() {
	local sch="$1" t0 ks k1 k2 u1 u2
	ns_star 3
	u1="$sch://[$(ns_addr6 2 1)]:7001"
	u2="$sch://$(ns_addr4 1 3):7002"
	node_conf r1 '.Listen = [$l]' --arg l "$sch://[$(ns_addr6 2 1)]:7001"
	node_conf s '.Peers = [$p] | .Listen = [$l]' --arg p "$u1" --arg l "$u2"
	node_conf r2 '.Peers = [$p]' --arg p "$u2"
	ks="$(node_key s)" k1="$(node_key r1)" k2="$(node_key r2)"
	t0="$(now_s)"
	node_start r1 2 real
	node_start s 1 sut
	node_start r2 3 real
	expect_eq "getSelf on the node under test: key" "$(ctl s getSelf | jq -r .key)" "$ks"
	expect_eq "getSelf on the node under test: address" "$(ctl s getSelf | jq -r .address)" \
		"$(node_addr s)"

	wait_peer_up r1 "$ks"
	wait_peer_up s "$k1"
	pass "$sch: node under test dials a real listener: up on both sides after $(since "$t0") s"
	expect_peer r1 "$ks" "real listener: peer is inbound, with the address of the node under test" \
		".inbound == true and .address == \"$(node_addr s)\""
	expect_peer s "$k1" "node under test: outbound peer with the URI it dialled and its address" \
		".inbound == false and .remote == \"$u1\" and .address == \"$(node_addr r1)\""

	wait_peer_up r2 "$ks"
	wait_peer_up s "$k2"
	pass "$sch: a real node dials the node under test's IPv4 listener:" \
		"up on both sides after $(since "$t0") s"
	expect_peer s "$k2" "node under test: inbound peer with the real node's address" \
		".inbound == true and .address == \"$(node_addr r2)\""
	expect_peer r2 "$ks" "real dialer: outbound peer with the URI it dialled" \
		".inbound == false and .remote == \"$u2\" and .address == \"$(node_addr s)\""
	expect_eq "node under test lists exactly two up peers" \
		"$(ctl s getPeers | jq '[.peers[] | select(.up)] | length')" 2

	# Still up a few keepalive periods later (3 s peer timeout, link-routing §3.2).
	sleep 4
	for n in r1 r2; do
		[[ "$(peer_state "$n" "$ks")" == up ]] || fail "$n lost the node under test after 4 s"
	done
	[[ "$(peer_state s "$k1")" == up && "$(peer_state s "$k2")" == up ]] ||
		fail "the node under test lost a peer after 4 s"
	pass "$sch: all links still up 4 s later (past the 3 s peer timeout)"
}

# --- resource use ------------------------------------------------------------------------------

# idle_usage SECONDS NAME...: prints each node's CPU use over SECONDS (utime + stime from
# /proc/PID/stat, in % of one core) and its resident set size (VmRSS), for the notes.
idle_usage() {
	local secs="$1" n pid hz
	shift
	hz="$(getconf CLK_TCK)"
	declare -A c0=()
	for n in "$@"; do
		pid="${NODE_PID[$n]}"
		c0[$n]="$(awk '{ print $14 + $15 }' "/proc/$pid/stat")"
	done
	sleep "$secs"
	for n in "$@"; do
		pid="${NODE_PID[$n]}"
		awk -v c0="${c0[$n]}" -v hz="$hz" -v s="$secs" -v n="$n" -v impl="${NODE_IMPL[$n]}" \
			-v peers="$(ctl "$n" getPeers | jq '[.peers[] | select(.up)] | length')" \
			-v rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" \
			'{ printf "# idle %d s: %s (%s, %d up peers): cpu %.2f%%, rss %.1f MiB\n", s, n,
			   impl, peers, 100 * ($14 + $15 - c0) / hz / s, rss / 1024 }' "/proc/$pid/stat"
	done
}

# --- tunnel routing (TunnelRouting; ygg64 only) ------------------------------------------------

# need_tunnel_impl: tunnel routing is ygg64's; with Y64_IMPL=real the nodes under test would be
# the reference yggdrasil 0.5.12, which removed it in 0.4, so such a test cannot run.
need_tunnel_impl() {
	[[ "$Y64_IMPL" == ygg64 ]] ||
		skip "tunnel routing: the reference yggdrasil (Y64_IMPL=real) has none to test"
}

# tunnel_get NAME JQ-FILTER: a field of the node's getTunnelRouting (e.g. .send.packets).
tunnel_get() { ctl "$1" getTunnelRouting | jq -r "$2"; }

# tunnel_expect_more NAME JQ-FILTER BEFORE WHAT: the field grew past BEFORE; passes WHAT.
tunnel_expect_more() {
	local now
	now="$(tunnel_get "$1" "$2")"
	((now > $3)) || {
		ctl "$1" getTunnelRouting || true
		fail "$4: $1's getTunnelRouting $2 is $now, not above $3"
	}
	pass "$4 ($1: $2 $3 -> $now)"
}

# --- NAT64 plain mode (t_nat64_plain, bench/nat64.sh) ------------------------------------------
#
# Three namespaces in a line, addressed as a stateful NAT64 gateway sees its world (documentation
# ranges only, RFC 3849 / RFC 5737):
#   client C (IPv6 only)        2001:db8:1::2/64 on e<R>, 2001:db8:64::/96 via 2001:db8:1::1
#   translator R                2001:db8:1::1/64 on e<C>, 192.0.2.1/24 on e<S>, forwarding on
#   server S (IPv4 only)        192.0.2.2/24 on e<R>, default via 192.0.2.1 (so it reaches the
#                               pool 203.0.113.0/24 through R); IPv6 off
# The translator itself (ygg64 with NAT64, or tayga in the bench) is started separately: it
# routes the prefix and its pool into its own TUN. With "native", S also gets 2001:db8:2::2/64
# (R 2001:db8:2::1/64, S's default route) and keeps IPv6, and C routes 2001:db8:2::/64 via R:
# the same path with the kernel alone forwarding (the bench's ceiling). ICMP rate limits are
# off in all three, so that traceroute's probes and the translator's errors are never thinned
# by the kernel.
NAT64_PREFIX="2001:db8:64::/96"
NAT64_C6="2001:db8:1::2" NAT64_R6="2001:db8:1::1"
NAT64_R4="192.0.2.1" NAT64_S4="192.0.2.2"
NAT64_S6="2001:db8:2::2" NAT64_RS6="2001:db8:2::1"

# nat64_topo C R S [native]: creates the namespaces C, R and S and their two links (above).
nat64_topo() {
	local c="$1" r="$2" s="$3" native="${4:-}" n
	ns_new "$c" "$r" "$s"
	ip link add "e$r" netns "$(ns_name "$c")" type veth peer name "e$c" netns "$(ns_name "$r")" ||
		fail "cannot create veth $c-$r"
	ip link add "e$s" netns "$(ns_name "$r")" type veth peer name "e$r" netns "$(ns_name "$s")" ||
		fail "cannot create veth $r-$s"
	for n in "$c" "$r" "$s"; do
		ns_exec "$n" sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0
	done
	ns_exec "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$(ns_name "$c")" addr add "$NAT64_C6/64" dev "e$r" nodad
	ip -n "$(ns_name "$r")" addr add "$NAT64_R6/64" dev "e$c" nodad
	ip -n "$(ns_name "$r")" addr add "$NAT64_R4/24" dev "e$s"
	ip -n "$(ns_name "$s")" addr add "$NAT64_S4/24" dev "e$r"
	if [[ "$native" == native ]]; then
		ip -n "$(ns_name "$r")" addr add "$NAT64_RS6/64" dev "e$s" nodad
		ip -n "$(ns_name "$s")" addr add "$NAT64_S6/64" dev "e$r" nodad
	else
		ns_exec "$s" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	fi
	ip -n "$(ns_name "$c")" link set "e$r" up
	ip -n "$(ns_name "$r")" link set "e$c" up
	ip -n "$(ns_name "$r")" link set "e$s" up
	ip -n "$(ns_name "$s")" link set "e$r" up
	ns_wait_up "$c" "e$r"
	ns_wait_up "$r" "e$c"
	ns_wait_up "$r" "e$s"
	ns_wait_up "$s" "e$r"
	ip -n "$(ns_name "$c")" -6 route add "$NAT64_PREFIX" via "$NAT64_R6" dev "e$r"
	ip -n "$(ns_name "$s")" -4 route add default via "$NAT64_R4" dev "e$r"
	if [[ "$native" == native ]]; then
		ip -n "$(ns_name "$c")" -6 route add 2001:db8:2::/64 via "$NAT64_R6" dev "e$r"
		ip -n "$(ns_name "$s")" -6 route add default via "$NAT64_RS6" dev "e$r"
	fi
}

# nat64_addr6 IPV4: the IPv4 address embedded in NAT64_PREFIX (RFC 6052 §2.2, /96), in the
# form the kernel and inet_ntop print (2001:db8:64::c000:202 for 192.0.2.2).
nat64_addr6() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	printf '2001:db8:64::%x:%x\n' $((a * 256 + b)) $((c * 256 + d))
}

# need_nat64_impl: the reference yggdrasil has no translator.
need_nat64_impl() {
	[[ "$Y64_IMPL" == ygg64 ]] || skip "NAT64: the reference yggdrasil (Y64_IMPL=real) has none"
}

# nat64_conf NAME [key=value...]: writes $T_TMP/NAME.yaml, a plain-mode ygg64 config (no
# peers, no listeners, no multicast, TunnelRouting off, a fresh identity at each start): IfName
# (ifname, default n64), IfMTU (mtu, 1500), the admin socket $T_TMP/NAME.sock, and the NAT64
# block: Prefix NAT64_PREFIX, Pool4 (pool4, space-separated, default 203.0.113.1), PortRange
# (ports, 61001-65535), Filtering (filtering, endpoint-independent), MSSClamp (mss, true); any
# other NAT64 keys as raw YAML lines (nat64="MaxSessions: 200000").
nat64_conf() {
	local name="$1" kv ifname=n64 mtu=1500 pool4=203.0.113.1 ports=61001-65535
	local filtering=endpoint-independent mss=true nat64="" p list=""
	shift
	for kv in "$@"; do
		case "$kv" in
		ifname=*) ifname="${kv#*=}" ;;
		mtu=*) mtu="${kv#*=}" ;;
		pool4=*) pool4="${kv#*=}" ;;
		ports=*) ports="${kv#*=}" ;;
		filtering=*) filtering="${kv#*=}" ;;
		mss=*) mss="${kv#*=}" ;;
		nat64=*) nat64="${kv#*=}" ;;
		*) fail "nat64_conf: unknown setting '$kv'" ;;
		esac
	done
	for p in $pool4; do list+="${list:+, }$p"; done
	{
		echo "# $name: ygg64 in NAT64 plain mode ($T_NAME)"
		echo "IfName: $ifname"
		echo "IfMTU: $mtu"
		echo "Peers: []"
		echo "Listen: []"
		echo "MulticastInterfaces: []"
		echo "AdminListen: unix://$(node_sock "$name")"
		echo "NAT64:"
		echo "  Enable: true"
		echo "  Prefix: $NAT64_PREFIX"
		echo "  Pool4: [$list]"
		echo "  PortRange: $ports"
		echo "  Filtering: $filtering"
		echo "  MSSClamp: $mss"
		[[ -z "$nat64" ]] || sed 's/^/  /' <<<"$nat64"
	} >"$T_TMP/$name.yaml"
}

# nat64_start NAME NS [VAR=VALUE...]: starts ygg64 with $T_TMP/NAME.yaml in namespace NS (with
# the environment variables given, e.g. NOTIFY_SOCKET=...) and waits (15 s at most) for the
# newline it writes to -notifyfd once its TUN is up and its routes are in place (no polling: a
# daemon that exits first closes the FIFO, and the read ends at once). Recorded like
# node_start's nodes (NODE_PID; the exit trap stops it and shows its log on a failure).
nat64_start() {
	local name="$1" ns="$2" fifo="$T_TMP/$1.ready"
	shift 2
	rm -f "$fifo" "$(node_sock "$name")"
	mkfifo "$fifo"
	[[ -n "${NODE_NS[$name]:-}" ]] || NODE_NAMES+=("$name")
	NODE_NS[$name]="$ns"
	NODE_IMPL[$name]="sut:$(basename "$YGG64_BIN")"
	echo "# start $name (ygg64 NAT64) in namespace $ns" >>"$(node_log "$name")"
	ip netns exec "$(ns_name "$ns")" env "$@" "$YGG64_BIN" -useconffile "$T_TMP/$name.yaml" \
		-notifyfd 3 3>"$fifo" >>"$(node_log "$name")" 2>&1 &
	NODE_PID[$name]=$!
	T_PIDS+=("${NODE_PID[$name]}")
	if ! read -r -t 15 _ <"$fifo"; then
		kill -0 "${NODE_PID[$name]}" 2>/dev/null ||
			fail "$name (ygg64 NAT64) exited before it was ready"
		fail "$name (ygg64 NAT64) wrote no readiness line to -notifyfd within 15 s"
	fi
	rm -f "$fifo"
}

# nat64_ctl NAME COMMAND [key=value...]: the JSON response of the node's admin socket, with
# the real yggdrasilctl when need_yggdrasil found it (YGGCTL), else with socat: one request
# {"request": COMMAND, "arguments": {key: "value"}} as yggdrasilctl sends it (values as
# strings), and the "response" of the answer (exit 1 on an error status).
nat64_ctl() {
	local name="$1" cmd="$2" args='{}' kv out
	shift 2
	if [[ -n "${YGGCTL:-}" && -x "${YGGCTL:-}" ]]; then
		ctl "$name" "$cmd" "$@"
		return
	fi
	for kv in "$@"; do
		args="$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + {($k): $v}' <<<"$args")"
	done
	out="$(jq -cn --arg r "$cmd" --argjson a "$args" '{request: $r, arguments: $a}' |
		timeout 10 socat -t 10 - "UNIX-CONNECT:$(node_sock "$name")")" || return 1
	jq -e '.status == "success"' <<<"$out" >/dev/null || {
		echo "$out" >&2
		return 1
	}
	jq '.response' <<<"$out"
}

# nat64_get NAME JQ-FILTER: a field of the node's getNAT64 (e.g. '.counters["6to4"].packets').
nat64_get() { nat64_ctl "$1" getNAT64 | jq -r "$2"; }

# in_range N LO HI: N is a number from LO to HI.
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }

# listen_wait NS PORT: waits (5 s) until a TCP socket listens on PORT in NS, else fails.
listen_wait() {
	local i
	for ((i = 0; i < 50; i++)); do
		ns_exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on port $2 in namespace $1"
}

# trace6_ends NS DST MAXHOPS: `traceroute -6` from NS to DST must end at DST, else fails
# showing its output; sets TRACE_HOPS to the hops, space-separated.
trace6_ends() {
	local last
	ns_exec "$1" timeout 60 traceroute -6 -n -q 1 -w 2 -m "$3" "$2" >"$T_TMP/trace.out" 2>&1 || {
		cat "$T_TMP/trace.out"
		fail "traceroute -6 $2 failed"
	}
	last="$(tail -n1 "$T_TMP/trace.out" | awk '{ print $2 }')"
	TRACE_HOPS="$(awk 'NR > 1 { printf "%s%s", (NR > 2 ? " " : ""), $2 }' "$T_TMP/trace.out")"
	[[ "$last" == "$2" ]] || {
		cat "$T_TMP/trace.out"
		fail "traceroute's last hop is '$last', not $2"
	}
}

# cap_start NS IFNAME FILTER: a tcpdump of one packet matching FILTER on IFNAME in NS, waited
# for until it listens; sets CAP_PID, output in $T_TMP/cap.NS. cap_mss NS PID: waits for that
# capture and prints the MSS option it saw ("" if none).
cap_start() {
	local ns="$1" i
	bg_start "$ns" timeout 15 tcpdump -n -l -v -i "$2" -c 1 "$3" >"$T_TMP/cap.$ns" \
		2>"$T_TMP/cap.$ns.err"
	CAP_PID="$BG_PID"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$T_TMP/cap.$ns.err" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$T_TMP/cap.$ns.err"
	fail "tcpdump in namespace $ns does not listen"
}
cap_mss() {
	wait_exit "$2" 10 || true
	pid_forget "$2"
	grep -o 'mss [0-9]*' "$T_TMP/cap.$1" | head -n1 | cut -d' ' -f2
}

# syn_mss C C-IF S S-IF S4 DST: C opens a TCP connection to [DST]:7200, which reaches a
# listener on S4:7200 in S; sets MSS_S to the MSS of the SYN as it arrives on S-IF and MSS_C to
# that of the SYN-ACK as it arrives on C-IF, and fails when either has none.
syn_mss() {
	local lpid cap_s cap_c
	bg_start "$3" socat -u "TCP4-LISTEN:7200,bind=$5,reuseaddr" OPEN:/dev/null
	lpid="$BG_PID"
	cap_start "$3" "$4" 'tcp dst port 7200 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
	cap_s="$CAP_PID"
	cap_start "$1" "$2" 'ip6 and tcp src port 7200 and ip6[53] & 0x12 == 0x12'
	cap_c="$CAP_PID"
	listen_wait "$3" 7200
	echo hello | ns_exec "$1" timeout 10 socat -u - "TCP6:[$6]:7200" ||
		fail "TCP to [$6]:7200 failed"
	wait_exit "$lpid" 10 || true
	pid_forget "$lpid"
	MSS_S="$(cap_mss "$3" "$cap_s")" MSS_C="$(cap_mss "$1" "$cap_c")"
	[[ -n "$MSS_S" && -n "$MSS_C" ]] || {
		cat "$T_TMP/cap.$3" "$T_TMP/cap.$1"
		fail "no MSS option captured (SYN at $3: '$MSS_S', SYN-ACK at $1: '$MSS_C')"
	}
}

# nat64_routes NS IFNAME POOL4...: prints what `ip route get` says in NS for an address of
# NAT64_PREFIX and for each pool address, for the lookups that lead into IFNAME; nothing for
# one that does not (no route, or another device).
nat64_routes() {
	local ns="$1" ifn="$2" p
	shift 2
	for p in "$(nat64_addr6 "$NAT64_S4")" "$@"; do
		ns_exec "$ns" ip "$(ip_fam "$p")" -o route get "$p" 2>/dev/null | grep " dev $ifn " ||
			true
	done
}

# transfer_via NS-CLIENT NS-SERVER LISTEN-ADDR CONNECT-ADDR KBYTES SECONDS up|down: as transfer,
# for a path that changes the address (a translator): the server listens on LISTEN-ADDR port
# 7100, the client connects to CONNECT-ADDR port 7100; with "up" the client sends KBYTES of
# random data, with "down" the server sends them over the connection the client opened. Fails
# unless the SHA-256 of what arrived equals that of what was sent; sets WAITED and MBITS.
transfer_via() {
	local c="$1" s="$2" la="$3" ca="$4" kb="$5" secs="$6" dir="$7" i t0 lpid
	local src="$T_TMP/xfer.src" dst="$T_TMP/xfer.dst" listen connect
	command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
	listen="TCP6-LISTEN:7100,bind=[$la],reuseaddr" connect="TCP6:[$ca]:7100"
	[[ "$la" == *:* ]] || listen="TCP4-LISTEN:7100,bind=$la,reuseaddr"
	[[ "$ca" == *:* ]] || connect="TCP4:$ca:7100"
	head -c "$((kb * 1024))" /dev/urandom >"$src"
	rm -f "$dst"
	case "$dir" in
	up) bg_start "$s" socat -u "$listen" "CREATE:$dst" ;;
	down) bg_start "$s" socat -u "OPEN:$src" "$listen" ;;
	*) fail "transfer_via: direction must be up or down, not '$dir'" ;;
	esac
	lpid="$BG_PID"
	for ((i = 0; i < 50; i++)); do
		ns_exec "$s" ss -Hltn 'sport = :7100' | grep -q . && break
		sleep 0.1
	done
	t0="$(now_s)"
	if [[ "$dir" == up ]]; then
		ns_exec "$c" timeout "$secs" socat -u "OPEN:$src" "$connect" ||
			fail "sending $kb KiB to $ca:7100 failed or took more than $secs s" \
				"($(stat -c %s "$dst" 2>/dev/null || echo 0) of $((kb * 1024)) bytes arrived)"
	else
		ns_exec "$c" timeout "$secs" socat -u "$connect" "CREATE:$dst" ||
			fail "receiving $kb KiB from $ca:7100 failed or took more than $secs s" \
				"($(stat -c %s "$dst" 2>/dev/null || echo 0) of $((kb * 1024)) bytes arrived)"
	fi
	wait_exit "$lpid" 10 || fail "the server's socat did not finish within 10 s of the client" \
		"($(stat -c %s "$dst" 2>/dev/null || echo 0) of $((kb * 1024)) bytes arrived)"
	pid_forget "$lpid"
	WAITED="$(since "$t0")"
	MBITS="$(awk -v k="$kb" -v t="$WAITED" \
		'BEGIN { printf "%.0f", k * 8.192 / 1000 / (t > 0 ? t : 0.1) }')"
	[[ "$RC" == 0 ]] || fail "the server's socat exited with $RC"
	[[ "$(sha256sum <"$src")" == "$(sha256sum <"$dst")" ]] ||
		fail "the $kb KiB received differ from what was sent ($(stat -c %s "$dst") bytes arrived)"
	rm -f "$src" "$dst"
}

# --- nodes awaited on -notifyfd (t_nat64_fused) ------------------------------------------------

declare -gA NODE_LOG_FROM=()

# sut_start_ready NAME NS [VAR=VALUE...]: starts $YGG64_BIN with the node's node_conf config
# (JSON) in namespace NS with -notifyfd (and the environment variables given), and waits (15 s
# at most) for the readiness line it writes once its TUN, addresses and routes are in place, as
# nat64_start does for its YAML configs. Recorded like node_start's nodes; NODE_LOG_FROM[NAME]
# is the first line of NAME's log that belongs to this start (node_log_since).
sut_start_ready() {
	local name="$1" ns="$2" fifo="$T_TMP/$1.ready" log
	shift 2
	rm -f "$fifo" "$(node_sock "$name")"
	mkfifo "$fifo"
	log="$(node_log "$name")"
	[[ -n "${NODE_NS[$name]:-}" ]] || NODE_NAMES+=("$name")
	NODE_NS[$name]="$ns"
	NODE_IMPL[$name]="sut:$(basename "$YGG64_BIN")"
	echo "# start $name (ygg64, -notifyfd) in namespace $ns" >>"$log"
	NODE_LOG_FROM[$name]="$(wc -l <"$log")"
	ip netns exec "$(ns_name "$ns")" env "$@" "$YGG64_BIN" \
		-useconffile "$(node_conf_file "$name")" -notifyfd 3 3>"$fifo" >>"$log" 2>&1 &
	NODE_PID[$name]=$!
	T_PIDS+=("${NODE_PID[$name]}")
	if ! read -r -t 15 _ <"$fifo"; then
		kill -0 "${NODE_PID[$name]}" 2>/dev/null || fail "$name (ygg64) exited before it was ready"
		fail "$name (ygg64) wrote no readiness line to -notifyfd within 15 s"
	fi
	rm -f "$fifo"
}

# node_log_since NAME: the lines NAME logged since its last sut_start_ready (until now, so also
# what it logged when it stopped).
node_log_since() { tail -n "+$((${NODE_LOG_FROM[$1]:-0} + 1))" "$(node_log "$1")"; }
