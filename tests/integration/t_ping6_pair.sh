#!/usr/bin/env bash
# The IPv6 overlay between the node under test S (namespace 1) and a real node R (namespace 2),
# both with TUNs (IfName ygg0, set up by each daemon itself), S dialling R over tcp://.
# 1. Each TUN is up with the node's 200::/7 address and route, and the configured MTU (§5.4).
# 2. S pings R's address and R pings S's (§5.1, §5.2, the key cache of §5.3 both ways).
# 3. Each namespace puts <subnet>::1/64 of its own node on lo; they ping each other from
#    subnet address to subnet address: destinations 300::/8 are looked up by subnet (§5.1),
#    the subnet is accepted as source and as destination (§5.2), and the TUN's 200::/7 route
#    covers 300::/8.
# 4. Packet Too Big (§2.8, §5.2: the *receiver* answers a packet longer than its TUN MTU, with
#    src = the packet's dst, MTU = its own): first S has IfMTU 1280 and R 65535: R's DF ping
#    of 65000 bytes to S must teach R's kernel the path MTU 1280 (a PTB made by S, delivered
#    by R); 20000-byte fragmented pings then work both ways. Then both restart with the MTUs
#    swapped: S's 65000-byte DF ping to R (the largest packet the TUN MTU allows, carried whole
#    by S) must teach S's kernel mtu 1280 (a PTB made by R, delivered by S to its TUN).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

ns_line 2
uri="tcp://[$(ns_addr6 2 1)]:7001"
node_conf r '.IfName = "ygg0" | .IfMTU = 65535 | .Listen = [$l]' --arg l "$uri"
node_conf s '.IfName = "ygg0" | .IfMTU = 1280 | .Peers = [$p]' --arg p "$uri"
ks="$(node_key s)" kr="$(node_key r)"
addr_s="$(node_addr s)" addr_r="$(node_addr r)"
t0="$(now_s)"
node_start r 2 real
node_start s 1 sut
pair_wait_up s r
pass "S and R peered, both TUNs up with their 200::/7 address and route ($(since "$t0") s)"
expect_eq "S's TUN has the configured MTU" "$(tun_mtu s)" 1280
expect_eq "R's TUN has the configured MTU" "$(tun_mtu r)" 65535

ping_expect_ok "S pings R's address $addr_r" 1 "$addr_r" 3
ping_expect_ok "R pings S's address $addr_s" 2 "$addr_s" 3

subnet_add s
subnet_add r
sub_s="$(subnet_host s)" sub_r="$(subnet_host r)"
ping_expect_ok "S pings R's subnet host $sub_r from its own $sub_s" 1 "$sub_r" 3 -I "$sub_s"
ping_expect_ok "R pings S's subnet host $sub_s from its own $sub_r" 2 "$sub_s" 3 -I "$sub_r"
ping_expect_ok "S pings R's subnet host from its 200::/7 address" 1 "$sub_r" 2 -I "$addr_s"

# Sessions on both sides (getSessions, §6.3).
for pair in "s $kr" "r $ks"; do
	read -r n k <<<"$pair"
	ctl "$n" getSessions | jq -e --arg k "$k" 'any(.sessions[]; .key == $k)' >/dev/null || {
		ctl "$n" getSessions || true
		fail "$n's getSessions does not list its peer"
	}
	pass "$n's getSessions lists the other node"
done

# PTB made by S: R (MTU 65535) sends S (MTU 1280) a 65048-byte packet.
ptb_learnt 2 "$addr_s" 65000 1280 || {
	cat "$T_TMP/ptb.out"
	ns_exec 2 ip -6 route get "$addr_s" || true
	fail "R's kernel did not learn mtu 1280 towards S from a Packet Too Big"
}
pass "S answers R's oversized packet with Packet Too Big: R caches mtu 1280 towards S"
expect_eq "the Packet Too Big comes from the oversized packet's destination (S)" "$PTB_FROM" \
	"$addr_s"
ping_expect_ok "R pings S with 20000 bytes (fragmented to the learnt MTU)" 2 "$addr_s" 3 -s 20000
ping_expect_ok "S pings R with 20000 bytes (fragmented at its own TUN MTU)" 1 "$addr_r" 3 -s 20000

# Swap the MTUs: S 65535, R 1280; PTB made by R, carried to S and written to S's TUN.
node_stop s
node_stop r
node_patch s '.IfMTU = 65535'
node_patch r '.IfMTU = 1280'
node_start r 2 real
node_start s 1 sut
wait_peer_up s "$kr"
tun_wait s
tun_wait r
expect_eq "S's TUN has the new MTU after a restart" "$(tun_mtu s)" 65535
ping_expect_ok "after the restart, S pings R" 1 "$addr_r" 3
ptb_learnt 1 "$addr_r" 65000 1280 || {
	cat "$T_TMP/ptb.out"
	ns_exec 1 ip -6 route get "$addr_r" || true
	fail "S's kernel did not learn mtu 1280 towards R from R's Packet Too Big"
}
pass "R's Packet Too Big reaches S's kernel through S: mtu 1280 cached towards R"
expect_eq "ping reports R's Packet Too Big, from R's address" "$PTB_FROM" "$addr_r"
ping_expect_ok "S pings R with 20000 bytes after learning the MTU" 1 "$addr_r" 3 -s 20000
done_ok
