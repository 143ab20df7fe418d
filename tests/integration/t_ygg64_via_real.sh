#!/usr/bin/env bash
# Two nodes under test talk through a real transit node: the line  O1 — R — O2  (O1 dials R
# over tcp://, O2 over tls://; R has no TUN and only forwards). O1's TUN has the default MTU
# 65535, O2's IfMTU is 1280.
# 1. O1 and O2 ping each other's 200::/7 address, and each other's <subnet>::1 from their own
#    subnet address (§5.1 lookups by address and by subnet, through R's tree and bloom filters).
# 2. O1's 3000-byte DF ping to O2 is answered by O2 with a Packet Too Big (§5.2) that crosses R
#    and is written to O1's TUN: O1's kernel caches mtu 1280 towards O2.
# 3. 10 MiB over TCP each way, SHA-256 intact; both list each other in getSessions while R,
#    which only forwards (sessions are end to end, §2.1), lists no session, and R's link to O2
#    carried the bytes.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

ns_line 3
u1="tcp://[$(ns_addr6 2 1)]:7001"
u2="tls://$(ns_addr4 2 3):7002"
node_conf r '.Listen = [$l1, $l2]' --arg l1 "$u1" --arg l2 "$u2"
node_conf o1 '.IfName = "ygg0" | .Peers = [$p]' --arg p "$u1"
node_conf o2 '.IfName = "ygg0" | .IfMTU = 1280 | .Peers = [$p]' --arg p "$u2"
k1="$(node_key o1)" k2="$(node_key o2)" kr="$(node_key r)"
a1="$(node_addr o1)" a2="$(node_addr o2)"
t0="$(now_s)"
node_start r 2 real
node_start o1 1 sut
node_start o2 3 sut
wait_peer_up r "$k1"
wait_peer_up r "$k2"
wait_peer_up o1 "$kr"
wait_peer_up o2 "$kr"
tun_wait o1
tun_wait o2
pass "O1 — R — O2 peered, both TUNs up ($(since "$t0") s)"
expect_eq "O2's TUN has its configured MTU" "$(tun_mtu o2)" 1280

ping_expect_ok "O1 pings O2's address $a2 through R" 1 "$a2" 3
ping_expect_ok "O2 pings O1's address $a1 through R" 3 "$a1" 3
subnet_add o1
subnet_add o2
s1="$(subnet_host o1)" s2="$(subnet_host o2)"
ping_expect_ok "O1 pings O2's subnet host $s2 from $s1" 1 "$s2" 3 -I "$s1"
ping_expect_ok "O2 pings O1's subnet host $s1 from $s2" 3 "$s1" 3 -I "$s2"

ptb_learnt 1 "$a2" 3000 1280 || {
	cat "$T_TMP/ptb.out"
	ns_exec 1 ip -6 route get "$a2" || true
	fail "O1's kernel did not learn mtu 1280 towards O2 from a Packet Too Big"
}
pass "O2's Packet Too Big crosses R and reaches O1's kernel: mtu 1280 cached towards O2"
expect_eq "the Packet Too Big comes from O2's address" "$PTB_FROM" "$a2"
ping_expect_ok "O1 pings O2 with 20000 bytes (fragmented to the learnt MTU)" 1 "$a2" 3 -s 20000

via0="$(ctl r getPeers | jq --arg k "$k2" '[.peers[] | select(.key == $k) | .bytes_sent] | add')"
transfer 1 3 "$a2" 10240 60
pass "O1 sends O2 10 MiB over TCP through R, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 3 1 "$a1" 10240 60
pass "O2 sends O1 10 MiB over TCP through R, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
via1="$(ctl r getPeers | jq --arg k "$k2" '[.peers[] | select(.key == $k) | .bytes_sent] | add')"
(((via1 - via0) >= 10 * 1024 * 1024)) || fail "R sent O2 only $((via1 - via0)) bytes"
pass "R's link to O2 carried the transfer ($((via1 - via0)) bytes)"

for pair in "o1 $k2" "o2 $k1"; do
	read -r n k <<<"$pair"
	ctl "$n" getSessions | jq -e --arg k "$k" --argjson m $((10 * 1024 * 1024)) \
		'any(.sessions[]; .key == $k and .bytes_sent >= $m and .bytes_recvd >= $m)' \
		>/dev/null || {
		ctl "$n" getSessions || true
		fail "$n's getSessions lacks the other node with >= 10 MiB each way"
	}
	pass "$n's getSessions lists the other node with >= 10 MiB each way"
done
expect_eq "R (transit only) has no session" "$(ctl r getSessions | jq '.sessions | length')" 0
done_ok
