#!/usr/bin/env bash
# Transit through the node under test: the line  A (real) — S — B (real), where S is the only
# link between A and B. A and B run TUNs (IfName set, as root in their namespaces); S has none.
# A pings B's 200::/7 address and sends B 2 MiB over TCP whose SHA-256 must match; A's only
# peer is S and A's bytes to S cover the transfer. Both real nodes list S in getTree, and A's
# getPaths holds B afterwards. A dials S, S dials B, so both link directions are used.
# Spec: link-routing §5 (tree), §6 (bloom), §7 (lookups, paths, traffic); sessions-core-admin §5.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

ns_line 3
node_conf a '.IfName = "ygg0" | .Peers = [$p]' --arg p "tcp://[$(ns_addr6 2 1)]:7001"
node_conf s '.Listen = [$l] | .Peers = [$p]' \
	--arg l "tcp://[$(ns_addr6 2 1)]:7001" --arg p "tls://$(ns_addr4 3 2):7002"
node_conf b '.IfName = "ygg0" | .Listen = [$l]' --arg l "tls://$(ns_addr4 3 2):7002"
ka="$(node_key a)" ks="$(node_key s)" kb="$(node_key b)"
addr_b="$(node_addr b)"
t0="$(now_s)"
node_start b 3 real
node_start s 2 sut
node_start a 1 real
wait_peer_up a "$ks"
wait_peer_up b "$ks"
wait_peer_up s "$ka"
wait_peer_up s "$kb"
pass "A — S — B: all links up after $(since "$t0") s"
# The real nodes set up their TUNs after they start peering: wait for address, link and route.
tun_wait a
tun_wait b

ping_ok 1 "$addr_b" 3 >"$T_TMP/ping.out" ||
	{ cat "$T_TMP/ping.out"; fail "A cannot ping B ($addr_b) through S"; }
pass "A pings B's $addr_b through S: $(grep -o '[0-9]* received' "$T_TMP/ping.out")" \
	"($(since "$t0") s after start)"

sent0="$(ctl a getPeers | jq --arg k "$ks" '[.peers[] | select(.key == $k) | .bytes_sent] | add')"
transfer 1 3 "$addr_b" 2048
pass "A sends 2 MiB over TCP to B through S, SHA-256 intact ($WAITED s)"
expect_eq "A's only peer is S" \
	"$(ctl a getPeers | jq -r '[.peers[].key] | unique | join(",")')" "$ks"
sent1="$(ctl a getPeers | jq --arg k "$ks" '[.peers[] | select(.key == $k) | .bytes_sent] | add')"
(((sent1 - sent0) >= 2 * 1024 * 1024)) ||
	fail "A sent only $((sent1 - sent0)) bytes to S during the 2 MiB transfer"
pass "A's link to S carried the transfer ($((sent1 - sent0)) bytes)"

for n in a b; do
	ctl "$n" getTree | jq -e --arg k "$ks" 'any(.tree[]; .key == $k)' >/dev/null ||
		fail "$n's getTree lacks S"
	pass "$n's getTree lists S"
done
has_path a "$kb" || { ctl a getPaths; fail "A's getPaths lacks B"; }
pass "A's getPaths holds B"
idle_usage 3 s a b
done_ok
