#!/usr/bin/env bash
# Bulk TCP over the overlay between the node under test S (namespace 1) and a real node R
# (namespace 2), both with TUNs at the default MTU 65535 (so bulk TCP uses 64 KB segments, the
# path that the TUN offloads and the session layer carry at full size): 50 MiB of random data
# from S to R, then 50 MiB from R to S, each with a SHA-256 match (socat on both ends).
# Before that, 65000-byte unfragmented pings both ways (the largest packets the MTU allows).
# Both sides' getSessions list the other with at least 50 MiB counted in each direction, and
# getTun on S reports its TUN. R dials S's tls:// listener, so S is also the TLS server here.
# Spec: sessions-core-admin §2.4, §2.6 (traffic), §5 (IPv6), §6.3 (getSessions, getTun).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

MIB=50
ns_line 2
uri="tls://[$(ns_addr6 1 2)]:7001"
node_conf s '.IfName = "ygg0" | .Listen = [$l]' --arg l "$uri"
node_conf r '.IfName = "ygg0" | .Peers = [$p]' --arg p "$uri"
ks="$(node_key s)" kr="$(node_key r)"
addr_s="$(node_addr s)" addr_r="$(node_addr r)"
t0="$(now_s)"
node_start s 1 sut
node_start r 2 real
pair_wait_up s r
pass "S and R peered over tls://, both TUNs up ($(since "$t0") s)"
expect_eq "S's getTun: enabled, name and MTU" "$(ctl s getTun | jq -c '[.enabled, .name, .mtu]')" \
	'[true,"ygg0",65535]'
ping_expect_ok "S pings R (session set up)" 1 "$addr_r" 3
# The largest echo the MTU allows, unfragmented (-M do): a 65048-byte IPv6 packet each way.
ping_expect_ok "S pings R with 65000 bytes, unfragmented" 1 "$addr_r" 3 -M "do" -s 65000
ping_expect_ok "R pings S with 65000 bytes, unfragmented" 2 "$addr_s" 3 -M "do" -s 65000

transfer 1 2 "$addr_r" $((MIB * 1024)) 60
pass "S sends R $MIB MiB over TCP, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer 2 1 "$addr_s" $((MIB * 1024)) 60
pass "R sends S $MIB MiB over TCP, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"

# getSessions counts core payload bytes (§2.5 rx/tx); TCP/IPv6 headers add to the data.
min=$((MIB * 1024 * 1024))
for pair in "s $kr $addr_r" "r $ks $addr_s"; do
	read -r n k a <<<"$pair"
	got="$(ctl "$n" getSessions | jq -c --arg k "$k" \
		'[.sessions[] | select(.key == $k) | {address, bytes_sent, bytes_recvd, uptime}]')"
	jq -e --arg a "$a" --argjson m "$min" 'length == 1 and .[0].address == $a and
		.[0].bytes_sent >= $m and .[0].bytes_recvd >= $m and .[0].uptime > 0' \
		<<<"$got" >/dev/null || {
		ctl "$n" getSessions || true
		fail "$n's getSessions entry for its peer is wrong: $got (want >= $min bytes each way)"
	}
	pass "$n's getSessions lists the other with $(jq -r '"\(.[0].bytes_sent) bytes sent," +
		" \(.[0].bytes_recvd) received"' <<<"$got")"
done
done_ok
