#!/usr/bin/env bash
# Tunnel routing's two config spellings and its loop guard (nat64-requirements §F 45, 49):
#  1. Two nodes under test P and Q (a pair, Q dials P over tcp:// on IPv4), each configured with
#     a real yggdrasil.conf (`yggdrasil -genconf`, HJSON with its comments) that carries a
#     TunnelRouting block: P in yggdrasil v0.3's spelling, Q in yggdrasilckr's (RemoteSubnets,
#     Addresses, YggdrasilRouting: false, no Enable key). The real yggdrasil still reads both
#     files. IPv4 pings pass both ways; Q's TUN has no 200::/7 address and P cannot reach Q's
#     Yggdrasil address. Q's IfMTU is 1280, P's 65535: P's 3000-byte DF ping to Q is answered
#     with Fragmentation Needed (mtu 1280, over the overlay, from Q's address) and P's kernel
#     caches that MTU; without DF it passes, Q fragmenting it into its TUN. 8 MiB of TCP each way
#     (SHA-256) then runs at MTU 1280, so each side cuts its kernel's TSO packets and merges the
#     other's 1280-byte ones into GSO writes (the TUN offloads on the IPv4 path). Then both
#     restart from `ygg64 -normaliseconf` (YAML) and the pings pass again.
#  2. The loop guard: a remote subnet that covers a peer's, a listener's or an interface peer's
#     literal address is refused at start (exit 1, the message names both); a peer host name
#     that resolves into a remote subnet (the namespace's /etc/hosts) is never dialled and
#     getPeers says why; a route into the TUN added by hand over the peer's address does not
#     capture the node's own peer socket (it fails as unreachable instead of riding the
#     tunnel) while other traffic follows the route, and the link comes back once it is gone.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v perl >/dev/null || skip "needs perl"
. "$(dirname "$0")/netns.sh"
need_tunnel_impl

ns_line 2
up="tcp://$(ns_addr4 1 2):7001" # P listens on its end of the veth

# hjson_conf NAME PEERS LISTEN BLOCK: a real `yggdrasil -genconf` file (made once per node, so
# the key stays) with our keys set by editing its text, and BLOCK (HJSON) added as its last
# key. The file is $T_TMP/NAME.conf; its JSON twin (node_conf_file, the real yggdrasil's
# -normaliseconf of it) is where the harness reads the node's key from.
hjson_conf() {
	local f="$T_TMP/$1.conf" base="$T_TMP/$1.genconf"
	[[ -s "$base" ]] || "$YGG" -genconf >"$base" || fail "yggdrasil -genconf failed"
	PEERS="$2" LISTEN="$3" ADMIN="unix://$(node_sock "$1")" BLOCK="$4" MTU="${5:-65535}" perl -0pe '
		s/^  MulticastInterfaces: \[.*?^  \]$/  MulticastInterfaces: []/ms;
		s/^  IfName: auto$/  IfName: ygg0/m;
		s/^  IfMTU: 65535$/  IfMTU: $ENV{MTU}/m;
		s/^  Peers: \[\]$/  Peers: $ENV{PEERS}/m;
		s/^  Listen: \[\]$/  Listen: $ENV{LISTEN}/m;
		s/\n\}\s*\z/\n  AdminListen: $ENV{ADMIN}\n$ENV{BLOCK}\n}\n/;' "$base" >"$f" ||
		fail "cannot write $f"
	[[ -z "$4" ]] || grep -q 'TunnelRouting' "$f" || fail "$f: the block was not added"
	grep -q "AdminListen: unix://" "$f" || fail "$f: AdminListen was not added"
	"$YGG" -useconffile "$f" -normaliseconf -json >"$(node_conf_file "$1")" ||
		fail "the real yggdrasil does not read $f"
}

# The keys first: the blocks name each other's keys.
hjson_conf p '[]' "[\"$up\"]" ''
hjson_conf q "[\"$up\"]" '[]' ''
kp="$(node_key p)" kq="$(node_key q)"
hjson_conf p '[]' "[\"$up\"]" "  # yggdrasil v0.3's TunnelRouting, with Ed25519 keys
  TunnelRouting: {
    Enable: true
    IPv4RemoteSubnets: { \"10.1.0.0/16\": \"$kq\" }
    IPv4LocalSubnets: [ \"10.5.0.1/32\" ]
  }"
hjson_conf q "[\"$up\"]" '[]' "  # yggdrasilckr's TunnelRouting: no Enable key
  TunnelRouting: {
    InstallRoutes: true
    YggdrasilRouting: false
    Addresses: [ \"10.1.0.3/16\" ]
    RemoteSubnets: { \"$kp\": [ \"10.5.0.0/16\" ] }
  }" 1280
pass "two real yggdrasil.conf files with TunnelRouting blocks; yggdrasil 0.5.12 reads both"

# start_pq SUFFIX: starts P and Q from $T_TMP/{p,q}.SUFFIX and waits for the link and for
# Q's tunnel address (Q's TUN has no 200::/7 address: YggdrasilRouting is false).
start_pq() {
	local i
	node_start_file p 1 "$T_TMP/p.$1"
	node_start_file q 2 "$T_TMP/q.$1"
	wait_peer_up p "$kq"
	wait_peer_up q "$kp"
	for ((i = 0; i < 100; i++)); do
		[[ "$(ns_exec 2 ip -4 -o addr show dev ygg0 2>/dev/null)" == *"inet 10.1.0.3/16 "* ]] &&
			break
		sleep 0.1
	done
	((i < 100)) || fail "Q's TUN does not get 10.1.0.3/16"
}

# node_start_file NAME NS FILE: node_start (netns.sh), with the node under test reading FILE
# (HJSON or YAML) instead of its JSON twin, which still gives its key.
node_start_file() {
	local name="$1" ns="$2" file="$3" i key
	rm -f "$(node_sock "$name")"
	[[ -n "${NODE_NS[$name]:-}" ]] || NODE_NAMES+=("$name")
	NODE_NS[$name]="$ns"
	NODE_IMPL[$name]="sut:$(basename "$YGG64_BIN")"
	echo "# start $name from $(basename "$file") in namespace $ns" >>"$(node_log "$name")"
	ip netns exec "$(ns_name "$ns")" "$YGG64_BIN" -useconffile "$file" \
		>>"$(node_log "$name")" 2>&1 &
	NODE_PID[$name]=$!
	T_PIDS+=("${NODE_PID[$name]}")
	key="$(node_key "$name")"
	for ((i = 0; i < 100; i++)); do
		kill -0 "${NODE_PID[$name]}" 2>/dev/null || fail "node $name exited at start"
		if [[ "$(ctl "$name" getSelf 2>/dev/null | jq -r .key 2>/dev/null)" == "$key" ]]; then
			return 0
		fi
		sleep 0.1
	done
	fail "node $name does not answer getSelf within 10 s"
}

pq_checks() { # WHAT
	ping_expect_ok "$1: P pings Q's 10.1.0.3" 1 10.1.0.3 3
	ping_expect_ok "$1: Q pings P's 10.5.0.1" 2 10.5.0.1 3
	if [[ "$(ns_exec 2 ip -6 -o addr show dev ygg0)" == *" inet6 2"* ]]; then
		ns_exec 2 ip -6 addr show dev ygg0
		fail "$1: Q's TUN has a 200::/7 address although YggdrasilRouting is false"
	fi
	ping_expect_fail "$1: Q's Yggdrasil address is not served (YggdrasilRouting: false)" 1 \
		"$(node_addr q)" 2
	local d
	d="$(tunnel_get q .send.dropped_yggdrasil_routing_off).$(tunnel_get q \
		.receive.dropped_yggdrasil_routing_off)"
	[[ "$d" != 0.0 ]] || fail "$1: Q counted no 200::/7 packet dropped (send.receive: $d)"
	pass "$1: Q counts the 200::/7 packets it dropped (send.receive: $d)"
}

start_pq conf
expect_eq "Q (no Enable key) runs with tunnel routing enabled" "$(tunnel_get q .enabled)" true
pq_checks "HJSON"

# MTU: P 65535, Q 1280.
for ((i = 0; i < 5; i++)); do
	ns_exec 1 ping -4 -n -M do -s 3000 -c 2 -i 0.5 -W 2 10.1.0.3 >"$T_TMP/ptb.out" 2>&1 || true
	[[ "$(ns_exec 1 ip -4 route get 10.1.0.3)" == *" mtu 1280 "* ]] && break
done
((i < 5)) || {
	cat "$T_TMP/ptb.out"
	ns_exec 1 ip -4 route get 10.1.0.3 || true
	fail "P's kernel did not learn mtu 1280 towards 10.1.0.3 from Q's Fragmentation Needed"
}
pass "Q answers P's 3000-byte DF ping with Fragmentation Needed: P caches mtu 1280 for 10.1.0.3"
expect_more() { # NAME FILTER WHAT
	local v
	v="$(tunnel_get "$1" "$2")"
	((v > 0)) || fail "$3: $1's getTunnelRouting $2 is $v"
	pass "$3 ($1: $2 = $v)"
}
expect_more q .receive.dropped_too_big "Q counts the oversized DF packets it refused"
ns_exec 1 ip -4 route flush cache
ping_expect_ok "P's 3000-byte ping without DF passes (Q fragments it)" 1 10.1.0.3 3 -M dont -s 3000
expect_more q .receive.fragmented "Q cut them into its 1280-byte TUN"
transfer 1 2 10.1.0.3 8192 60
pass "P sends Q 8 MiB over TCP at MTU 1280, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 2 1 10.5.0.1 8192 60
pass "Q sends P 8 MiB over TCP at MTU 1280, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
node_stop p
node_stop q
# The TUN's closing line: "read N packets (G GSO cut, ...), wrote M (P in W merged writes)".
for n in p q; do
	line="$(grep 'tun ygg0: closed' "$(node_log "$n")" | tail -n1)"
	cut="$(sed -n 's/.*(\([0-9]*\) GSO cut.*/\1/p' <<<"$line")"
	merged="$(sed -n 's/.* in \([0-9]*\) merged writes.*/\1/p' <<<"$line")"
	((${cut:-0} > 0 && ${merged:-0} > 0)) || fail "$n's TUN offloads on the IPv4 path: $line"
	pass "$n's TUN cut TSO and merged writes on the IPv4 path: $line"
done

for n in p q; do
	"$YGG64_BIN" -useconffile "$T_TMP/$n.conf" -normaliseconf >"$T_TMP/$n.yaml" ||
		fail "-normaliseconf refuses $n.conf"
done
grep -q '^  Enable: true$' "$T_TMP/q.yaml" || fail "q.yaml: Enable is not true"
grep -q "10.5.0.0/16: $kp" "$T_TMP/q.yaml" || fail "q.yaml: RemoteSubnets not normalised"
grep -q '10.1.0.3/16' "$T_TMP/q.yaml" || fail "q.yaml: Addresses lost"
grep -q '^  YggdrasilRouting: false$' "$T_TMP/q.yaml" || fail "q.yaml: YggdrasilRouting lost"
pass "-normaliseconf turns both into YAML (Q: Enable true, IPv4RemoteSubnets, Addresses kept)"
start_pq yaml
pq_checks "YAML"

# 2a. The loop guard at start: literal addresses of a peer, a listener, an interface peer.
refuse() { # WHAT FILE NEEDLE...
	local what="$1" f="$2" out="$T_TMP/refuse.out" n
	shift 2
	if ip netns exec "$(ns_name 2)" "$YGG64_BIN" -useconffile "$f" >"$out" 2>&1; then
		cat "$out"
		fail "$what: the daemon started"
	fi
	for n in "$@"; do
		grep -qF -- "$n" "$out" || {
			cat "$out"
			fail "$what: the error does not name '$n'"
		}
	done
	pass "$what: refused ($(grep -m1 -F -- "$1" "$out"))"
}
# The guard configs are Q's, as JSON (ygg64 -normaliseconf -json), edited with jq.
"$YGG64_BIN" -useconffile "$T_TMP/q.conf" -normaliseconf -json >"$T_TMP/q.json" ||
	fail "-normaliseconf -json refuses q.conf"
guard_conf() { # OUT JQ-FILTER
	jq --arg k "$kp" "$2" "$T_TMP/q.json" >"$T_TMP/$1" || fail "jq failed on $1"
}
guard_conf guard1.json '.TunnelRouting.IPv4RemoteSubnets["198.51.100.0/24"] = $k'
refuse "a remote subnet over a peer's address" "$T_TMP/guard1.json" 198.51.100.0/24 \
	"Peers[0]" "$up"
guard_conf guard2.json '.TunnelRouting.IPv4RemoteSubnets["198.51.100.0/24"] = $k |
	.Peers = [] | .Listen = ["tcp://198.51.100.2:7009"]'
refuse "a remote subnet over a listener's address" "$T_TMP/guard2.json" 198.51.100.0/24 \
	"Listen[0]" "tcp://198.51.100.2:7009"
guard_conf guard3.json '.TunnelRouting.IPv6RemoteSubnets["2001:db8::/32"] = $k |
	.InterfacePeers = {e1: ["tcp://[2001:db8:1:1::1]:7001"]}'
refuse "an IPv6 remote subnet over an interface peer's address" "$T_TMP/guard3.json" \
	2001:db8::/32 'InterfacePeers["e1"][0]'

# 2b. A host name resolving into a remote subnet: not dialled, and getPeers says why.
# `ip netns exec` bind-mounts /etc/netns/<namespace>/hosts over /etc/hosts for the processes
# it starts, so the name resolves in Q's namespace only; the folder is ours and removed on exit.
node_stop q
T_ETC_NETNS="/etc/netns/$(ns_name 2)"
[[ -d /etc/netns ]] || T_ETC_NETNS_TOP=1
mkdir -p "$T_ETC_NETNS"
trap 'rc=$?; rm -rf "$T_ETC_NETNS"; [[ -z "${T_ETC_NETNS_TOP:-}" ]] || rmdir /etc/netns
	(exit $rc); netns_on_exit' EXIT
echo "$(ns_addr4 1 2) peer-p.example" >"$T_ETC_NETNS/hosts"
guard_conf guard4.json '.TunnelRouting.IPv4RemoteSubnets["198.51.100.0/24"] = $k |
	.Peers = ["tcp://peer-p.example:7001"]'
node_start_file q 2 "$T_TMP/guard4.json"
expect_never_up q "$kp" 3
err="$(ctl q getPeers | jq -r '.peers[0].last_error // ""')"
[[ "$err" == *"$(ns_addr4 1 2) is inside the tunnel-routed subnet 198.51.100.0/24"* ]] ||
	fail "Q's getPeers does not say why peer-p.example is not dialled: '$err'"
pass "a peer host name resolving into a remote subnet is never dialled: $err"
grep -q 'not dialling' "$(node_log q)" || fail "Q did not log the refusal"
node_stop q
rm -rf "$T_ETC_NETNS"

# 2c. The socket guard: a route over P's address into Q's TUN, added by hand, while Q redials.
node_start_file q 2 "$T_TMP/q.yaml"
wait_peer_up q "$kp"
ns_exec 2 ip route add "$(ns_addr4 1 2)/32" dev ygg0
node_stop p
node_start_file p 1 "$T_TMP/p.yaml"
expect_never_up q "$kp" 4
err="$(ctl q getPeers | jq -r '.peers[0].last_error // ""')"
[[ "$err" == *nreachable* ]] || fail "Q's redial did not fail as unreachable: '$err'"
pass "with a hand-made route over P's address into the TUN, Q's marked peer socket fails: $err"
ping_expect_fail "an ordinary socket does follow that route into the TUN" 2 "$(ns_addr4 1 2)" 2
grep -q 'Net Unreachable' "$T_TMP/ping.out" || {
	cat "$T_TMP/ping.out"
	fail "the ordinary ping did not get tunnel routing's 'net unreachable'"
}
pass "it reached tunnel routing, which has no route for it (3/0)"
ns_exec 2 ip route del "$(ns_addr4 1 2)/32" dev ygg0
wait_peer_up q "$kp" 40
pass "without the route, Q's link to P is back ($WAITED s)"
done_ok
