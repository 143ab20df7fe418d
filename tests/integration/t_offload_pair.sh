#!/usr/bin/env bash
# The TUN offloads against a real node: the node under test S (namespace 1) and a real node R
# (namespace 2), both with IfMTU 1280, so TCP segments are small and the offloads matter:
# - S -> R: S's kernel hands its TUN 64 KB TSO packets; S cuts them into 1280-byte packets
#   that R, which knows nothing of offloads, must deliver (vnet_seg_*);
# - R -> S: R sends 1280-byte packets; S merges those of one flow that arrive together into
#   one GSO write (vnet_gro_*), which S's kernel must take as the same byte stream;
# - UDP: 64 datagrams of 1000 bytes from R to S in one burst, each one intact (UDP merges).
# Each TCP direction moves 20 MiB with a SHA-256 match (socat). When S stops, its log's TUN
# line must show GSO packets cut and merged writes, or the test proves nothing about them.
# Spec: sessions-core-admin §5 (IPv6 data path), §5.4 (TUN).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

MIB=20
ns_line 2
uri="tcp://[$(ns_addr6 1 2)]:7001"
node_conf s '.IfName = "ygg0" | .IfMTU = 1280 | .Listen = [$l]' --arg l "$uri"
node_conf r '.IfName = "ygg0" | .IfMTU = 1280 | .Peers = [$p]' --arg p "$uri"
addr_s="$(node_addr s)" addr_r="$(node_addr r)"
node_start s 1 sut
node_start r 2 real
pair_wait_up s r
ping_expect_ok "S pings R (session set up)" 1 "$addr_r" 3
grep -q "tun ygg0: up, MTU 1280, offloads csum tso" "$(node_log s)" ||
	fail "S's log does not show the TUN offloads: $(grep 'tun ygg0: up' "$(node_log s)")"
pass "S's TUN is up with checksum and TSO offloads"

transfer 1 2 "$addr_r" $((MIB * 1024)) 60
pass "S sends R $MIB MiB over TCP at MTU 1280, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 2 1 "$addr_s" $((MIB * 1024)) 60
pass "R sends S $MIB MiB over TCP at MTU 1280, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"

# UDP burst R -> S: the receiver writes each datagram on a line of its own (hex), in order.
n=64
dst="$T_TMP/udp.dst"
bg_start 1 socat -u "UDP6-RECV:7200,bind=[$addr_s]" "CREATE:$dst"
upid="$BG_PID"
for ((i = 0; i < 50; i++)); do
	ns_exec 1 ss -Hlun 'sport = :7200' | grep -q . && break
	sleep 0.1
done
src="$T_TMP/udp.src"
for ((i = 0; i < n; i++)); do printf 'datagram %04d %0984d\n' "$i" "$i"; done >"$src"
# One datagram per 1000-byte line: socat -b 1000 reads (and sends) one line per datagram.
ns_exec 2 socat -u -b 1000 "OPEN:$src" "UDP6-SENDTO:[$addr_s]:7200" ||
	fail "sending the UDP burst failed"
for ((i = 0; i < 50; i++)); do
	[[ "$(stat -c %s "$dst" 2>/dev/null || echo 0)" -ge $((n * 1000)) ]] && break
	sleep 0.1
done
kill "$upid" 2>/dev/null || true
wait "$upid" 2>/dev/null || true
pid_forget "$upid"
cmp -s "$src" "$dst" ||
	fail "the $n UDP datagrams arrived damaged, lost or out of order ($(stat -c %s "$dst") of $((n * 1000)) bytes)"
pass "R sends S $n UDP datagrams in one burst, all intact and in order"

node_stop s
line="$(grep "tun ygg0: closed" "$(node_log s)")" || fail "S did not log its TUN counters"
echo "# $line"
gso="$(sed -E 's/.*\(([0-9]+) GSO cut[,)].*/\1/' <<<"$line")"
merged="$(sed -E 's/.* in ([0-9]+) merged writes.*/\1/' <<<"$line")"
((gso > 0)) || fail "S cut no GSO packet: the S -> R transfer did not use TSO"
((merged > 0)) || fail "S merged no writes: the R -> S transfer did not use GRO"
pass "S cut $gso TSO packets and made $merged merged writes"
done_ok
