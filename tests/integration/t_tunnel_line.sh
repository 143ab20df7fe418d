#!/usr/bin/env bash
# Tunnel routing end to end (nat64-requirements §F, sessions-core-admin §7.4): three nodes under
# test around a real yggdrasil 0.5.12 transit node R (a star with R at the hub; R has no TUN and
# only forwards the sessions):
#   A (namespace 2): 10.5.0.1/32 and 2001:db8:a::1/128 local; 10.0.0.0/8 and 2001:db8:b::/48
#      routed to B (yggdrasil v0.3's spelling: IPv4RemoteSubnets / IPv4LocalSubnets ...);
#   B (namespace 3): yggdrasilckr's spelling (RemoteSubnets {key: [..]}, Addresses 10.1.0.3/24
#      and 2001:db8:b::3/64, no Enable key); 10.5.0.0/16 and 2001:db8:a::/48 routed to A;
#   C (namespace 4): 10.1.0.3/32 (B's address: a spoofer) and 10.77.0.7/32; 10.5.0.0/16 to A.
# Checks:
#  1. the kernel state each node installs itself: the local addresses on its TUN, a route per
#     remote subnet with the local address as preferred source, the loop guard's two policy
#     rules per family;
#  2. IPv4 ping and a SHA-256-checked TCP transfer both ways A <-> B, the same over the IPv6
#     non-Yggdrasil subnets, and plain 200::/7 pings beside them;
#  3. a source outside A's local subnets is refused on A ("Packet filtered", counted); C's
#     packets from 10.1.0.3, which A routes to B's key, are dropped and counted on A;
#  4. addRemoteSubnet over the admin socket (the real yggdrasilctl) routes 10.77.0.0/16 to C at
#     once, kernel route included; before, those packets went to B, which refused them (not
#     local: the open-relay check); removeRemoteSubnet stops the traffic again;
#  5. after SIGTERM A's TUN, routes and policy rules are gone.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"
need_tunnel_impl

ns_star 4
ua="tcp://[$(ns_addr6 1 2)]:7001"
ub="tls://$(ns_addr4 1 3):7002"
uc="tcp://[$(ns_addr6 1 4)]:7003"
node_conf r '.Listen = [$a, $b, $c]' --arg a "$ua" --arg b "$ub" --arg c "$uc"
node_conf a '.IfName = "ygg0" | .Peers = [$p]' --arg p "$ua"
node_conf b '.IfName = "ygg0" | .Peers = [$p]' --arg p "$ub"
node_conf c '.IfName = "ygg0" | .Peers = [$p]' --arg p "$uc"
ka="$(node_key a)" kb="$(node_key b)" kc="$(node_key c)" kr="$(node_key r)"
node_patch a '.TunnelRouting = {Enable: true,
	IPv4RemoteSubnets: {"10.0.0.0/8": $b}, IPv4LocalSubnets: ["10.5.0.1/32"],
	IPv6RemoteSubnets: {"2001:db8:b::/48": $b}, IPv6LocalSubnets: ["2001:db8:a::1/128"]}' \
	--arg b "$kb"
node_patch b '.TunnelRouting = {RemoteSubnets: {($a): ["10.5.0.0/16", "2001:db8:a::/48"]},
	Addresses: ["10.1.0.3/24", "2001:db8:b::3/64"]}' --arg a "$ka"
node_patch c '.TunnelRouting = {Enable: true, IPv4RemoteSubnets: {"10.5.0.0/16": $a},
	IPv4LocalSubnets: ["10.1.0.3/32", "10.77.0.7/32"]}' --arg a "$ka"

t0="$(now_s)"
node_start r 1 real
node_start a 2 sut
node_start b 3 sut
node_start c 4 sut
for k in "$ka" "$kb" "$kc"; do wait_peer_up r "$k"; done
for n in a b c; do wait_peer_up "$n" "$kr"; done
tun_wait a
tun_wait b
tun_wait c
pass "A, B and C peered with the real transit R, TUNs up ($(since "$t0") s)"

# 1. What each node put in its kernel.
# (Output is captured before grep -q reads it: with pipefail, ip's SIGPIPE would fail the pipe.)
expect_addr() { # NS FAMILY ADDR/LEN
	local out
	out="$(ns_exec "$1" ip "$2" -o addr show dev ygg0)"
	grep -q "inet6\? $3 " <<<"$out" || {
		ns_exec "$1" ip addr show dev ygg0 || true
		fail "no address $3 on ygg0 in namespace $1"
	}
}
expect_addr 2 -4 10.5.0.1/32
expect_addr 2 -6 2001:db8:a::1/128
expect_addr 3 -4 10.1.0.3/24
expect_addr 3 -6 2001:db8:b::3/64
pass "the local addresses are on the TUNs (A: 10.5.0.1/32 2001:db8:a::1/128; B: its Addresses)"
got="$(ns_exec 2 ip -4 route show 10.0.0.0/8)"
[[ "$got" == *"dev ygg0"*"src 10.5.0.1"* ]] || fail "A's route to 10.0.0.0/8: '$got'"
got6="$(ns_exec 2 ip -6 route show 2001:db8:b::/48)"
[[ "$got6" == *"dev ygg0"*"src 2001:db8:a::1"* ]] || fail "A's route to 2001:db8:b::/48: '$got6'"
pass "A routes its remote subnets into ygg0 with its local address as source: $got / $got6"
got="$(ns_exec 3 ip -4 route show 10.5.0.0/16)"
[[ "$got" == *"dev ygg0"*"src 10.1.0.3"* ]] || fail "B's route to 10.5.0.0/16: '$got'"
pass "B (yggdrasilckr spelling, no Enable key) routes 10.5.0.0/16 with src 10.1.0.3"
for f in -4 -6; do
	rules="$(ns_exec 2 ip "$f" rule show)"
	grep -qE '^32000:.*fwmark 0x796767 lookup main suppress_ifgroup' <<<"$rules" &&
		grep -qE '^32001:.*fwmark 0x796767 unreachable' <<<"$rules" || {
		echo "$rules"
		fail "A's $f loop-guard rules are missing"
	}
done
pass "A's loop guard: fwmark rules 32000 (suppress_ifgroup) and 32001 (unreachable), both families"

# 2. Traffic both ways, IPv4 and IPv6 subnets, with 200::/7 beside it.
ping_expect_ok "A pings B's 10.1.0.3 over the tunnel" 2 10.1.0.3 3
ping_expect_ok "B pings A's 10.5.0.1 over the tunnel" 3 10.5.0.1 3
ping_expect_ok "A pings B's 2001:db8:b::3 over the tunnel" 2 2001:db8:b::3 3
ping_expect_ok "B pings A's 2001:db8:a::1 over the tunnel" 3 2001:db8:a::1 3
ping_expect_ok "A pings B's 200::/7 address beside the tunnel" 2 "$(node_addr b)" 3
ping_expect_ok "B pings A's 200::/7 address beside the tunnel" 3 "$(node_addr a)" 3
transfer 2 3 10.1.0.3 $((32 * 1024)) 60
pass "A sends B 32 MiB over TCP/IPv4 in the tunnel, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 3 2 10.5.0.1 $((32 * 1024)) 60
pass "B sends A 32 MiB over TCP/IPv4 in the tunnel, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 2 3 2001:db8:b::3 $((16 * 1024)) 60
pass "A sends B 16 MiB over TCP/IPv6 in the tunnel, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 3 2 2001:db8:a::1 $((16 * 1024)) 60
pass "B sends A 16 MiB over TCP/IPv6 in the tunnel, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
sent="$(tunnel_get a .send.bytes)"
((sent > 32 * 1024 * 1024)) || fail "A's getTunnelRouting counts only $sent bytes sent"
pass "A's getTunnelRouting counted $sent bytes sent and $(tunnel_get a .receive.bytes) received"

# 3. Spoofed sources: on the sending side, and a wrong key on the receiving side.
ns_exec 2 ip addr add 10.9.9.9/32 dev lo
before="$(tunnel_get a .send.dropped_bad_source)"
ping_expect_fail "A's packet from 10.9.9.9 (not local) is refused" 2 10.1.0.3 3 -I 10.9.9.9
grep -q 'Packet filtered' "$T_TMP/ping.out" || {
	cat "$T_TMP/ping.out"
	fail "A's kernel got no ICMP 'administratively prohibited' (3/13) for the spoofed source"
}
tunnel_expect_more a .send.dropped_bad_source "$before" \
	"the spoofed source is counted on the sending side, with 3/13 sent back"
before="$(tunnel_get a .receive.dropped_bad_source)"
ping_expect_fail "C pings A from 10.1.0.3, which A routes to B" 4 10.5.0.1 3 -I 10.1.0.3
tunnel_expect_more a .receive.dropped_bad_source "$before" \
	"A drops packets from C's key whose source belongs to B"

# 4. addRemoteSubnet / removeRemoteSubnet at run time.
before="$(tunnel_get b .receive.dropped_bad_destination)"
ping_expect_fail "before addRemoteSubnet, A's 10.77.0.7 goes to B (10.0.0.0/8)" 2 10.77.0.7 3
tunnel_expect_more b .receive.dropped_bad_destination "$before" \
	"B refuses 10.77.0.7, which is not local to it (no open relay)"
sessions0="$(ctl a getSessions | jq -c '[.sessions[].key] | sort')"
ctl a addRemoteSubnet subnet=10.77.0.0/16 "key=$kc" >/dev/null ||
	fail "addRemoteSubnet on A failed: $(ctl a addRemoteSubnet subnet=10.77.0.0/16 "key=$kc")"
got="$(ns_exec 2 ip -4 route show 10.77.0.0/16)"
[[ "$got" == *"dev ygg0"*"src 10.5.0.1"* ]] || fail "no kernel route for 10.77.0.0/16: '$got'"
pass "yggdrasilctl addRemoteSubnet subnet=10.77.0.0/16 key=C: kernel route '$got'"
expect_eq "getTunnelRouting lists 10.77.0.0/16 to C" \
	"$(tunnel_get a '.remote_subnets[] | select(.subnet == "10.77.0.0/16") | .key')" "$kc"
ping_expect_ok "A reaches C's 10.77.0.7 at once" 2 10.77.0.7 3
[[ "$(ctl a getSessions | jq -c --argjson s "$sessions0" '[.sessions[].key] | sort |
	contains($s)')" == true ]] || fail "A lost a session when the route was added"
pass "A's earlier sessions survived the change"
ctl a removeRemoteSubnet subnet=10.77.0.0/16 >/dev/null || fail "removeRemoteSubnet failed"
[[ -z "$(ns_exec 2 ip -4 route show 10.77.0.0/16)" ]] || fail "the kernel route stayed"
ping_expect_fail "after removeRemoteSubnet 10.77.0.7 is unreachable again" 2 10.77.0.7 3
got="$(ctl a addRemoteSubnet subnet=2001:db8:b::/48 "key=$kc" 2>&1 || true)"
[[ "$got" == *"remote subnet already exists"* ]] || fail "a duplicate was not refused: $got"
pass "a duplicate remote subnet is refused: $got"
# A's link to R runs over IPv6: 2001:db8:1::/48 holds R's end of it.
got="$(ctl a addRemoteSubnet subnet=2001:db8:1::/48 "key=$kc" 2>&1 || true)"
[[ "$got" == *"2001:db8:1::/48 covers"*"overlay it carries"* ]] ||
	fail "a subnet over R's address was not refused by the loop guard: $got"
[[ -z "$(ns_exec 2 ip -6 route show 2001:db8:1::/48)" ]] || fail "its kernel route was added"
pass "the loop guard refuses a subnet that covers A's link to R: $got"

# 5. SIGTERM: everything A installed goes away with it.
node_stop a
ns_exec 2 ip link show ygg0 >/dev/null 2>&1 && fail "A's TUN survived SIGTERM"
[[ -z "$(ns_exec 2 ip -4 route show 10.0.0.0/8)" ]] || fail "A's route survived SIGTERM"
for f in -4 -6; do
	rules="$(ns_exec 2 ip "$f" rule show)"
	if grep -q 'fwmark 0x796767' <<<"$rules"; then
		echo "$rules"
		fail "A's $f policy rules survived SIGTERM"
	fi
done
pass "after SIGTERM A's TUN, addresses, routes and policy rules are gone"
grep -q 'Stopped' "$(node_log a)" || fail "A did not log a clean stop"
done_ok
