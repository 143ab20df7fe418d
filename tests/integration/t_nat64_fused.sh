#!/usr/bin/env bash
# NAT64 fused with tunnel routing and the overlay (issue 13, the seed scenario end to end;
# nat64-requirements §2, §3, §F): five namespaces in a line,
#   C  IPv6-only client     2001:db8:1::2/64, 2001:db8:64::/96 via R
#   R  ygg64 router          2001:db8:1::1/64 toward C, IPv6 forwarding on; TUN ygg0 (IfMTU
#                            1400) with TunnelRouting 10.5.0.1/32 local, 10.0.0.0/8 -> M's key,
#                            and NAT64 Prefix 2001:db8:64::/96 with an empty Pool4 (the pool is
#                            10.5.0.1) and DataDir $T_TMP/r-state
#   T  real yggdrasil 0.5.12, transit only (IfName none), listening for R and M
#   M  remote ygg64          TUN ygg0 (IfMTU 1400), tunnel routing only: 10.1.0.0/24 local,
#                            10.5.0.0/16 -> R's key; 10.1.0.1/24 toward S, IPv4 forwarding on
#   S  IPv4-only server     10.1.0.3/24, default via M; IPv6 off
# What C sends to 2001:db8:64::10.1.0.3 is translated in R straight onto 10.5.0.1:<61001-65535>,
# tunnel-routed over the overlay session through T to M, whose kernel forwards it to S; the
# replies come back the same way. The ygg64 nodes are started with -notifyfd: each start waits
# for the readiness line, never for a guessed delay.
# Checks:
#  1. R's kernel state: 10.5.0.1/32 on ygg0, 10.0.0.0/8 into ygg0 with src 10.5.0.1, the prefix
#     into ygg0; getNAT64 says mode "fused" with pool4 [10.5.0.1];
#  2. ping -6 2001:db8:64::10.1.0.3 from C;
#  3. 50 MiB of TCP each way with a SHA-256 match (C to S, then S to C over C's connection);
#  4. a UDP datagram and its reply, S seeing 10.5.0.1 and a port of 61001-65535;
#  5. traceroute -6 from C ends at the destination;
#  1b. NAT64.Blackhole 2001:db8:64::/64: R's blackhole route for it; C's ping to an address of
#     it outside the prefix is dropped;
#  6. MSS clamping: C's SYN reaches S and S's SYN-ACK reaches C with an MSS <= 1400 - 60;
#  6b. with M's link to S at MTU 1300, M's Fragmentation Needed travels the overlay back to R
#     and reaches C as a Packet Too Big: C caches mtu 1320 (E 43);
#  7. R's own sockets on 10.5.0.1 (ping, UDP from an ephemeral port outside PortRange, TCP)
#     reach 10.1.0.3 while a NAT64 transfer C -> S runs, which then ends intact;
#  8. a paced TCP transfer C -> S (~10 s) survives SIGTERM of R and a new R with the same
#     config and key: "saved N sessions" at stop, "restored R of N" (R >= 1) at start, one
#     connection from start to end, SHA-256 intact;
#  9. a snapshot of garbage, then a truncated copy of a real one: each start logs
#     "NAT64: ignoring <path>: ...", R stays up and C's ping gets through again;
# 10. after the final SIGTERM R's TUN and its routes (the blackhole too) are gone, and its
#     data-path totals show IPv4 carried NAT64 -> tunnel and overlay -> NAT64, none via the
#     kernel (no TUN -> NAT64 4to6).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
command -v tcpdump >/dev/null || skip "needs tcpdump (scripts/deps.sh installs it)"
command -v traceroute >/dev/null || skip "needs traceroute (scripts/deps.sh installs it)"
PY=python3
[[ ! -x /usr/bin/python3 ]] || PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip "needs python3"
. "$(dirname "$0")/netns.sh"
need_tunnel_impl
need_nat64_impl
NS_PREFIX="y64f$$-" # our own namespace names

IFN=ygg0
PREFIX=2001:db8:64::/96
BLACKHOLE=2001:db8:64::/64 # the routed /64 around the prefix (NAT64.Blackhole)
C6=2001:db8:1::2 R6=2001:db8:1::1
POOL=10.5.0.1
S4=10.1.0.3 M4=10.1.0.1
DST=2001:db8:64::a01:3 # 10.1.0.3 under the prefix (RFC 6052 §2.2)
SNAP="$T_TMP/r-state/nat64-state.msgpack"

# --- topology ----------------------------------------------------------------------------------
ns_new c r t m s
for n in c r t m s; do
	ns_exec "$n" sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0
done
ns_exec m sysctl -qw net.ipv4.ip_forward=1
ns_exec s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# C - R (IPv6 only) and M - S (IPv4 only): veths named e<peer>, as ns_link names them.
ip link add er netns "$(ns_name c)" type veth peer name ec netns "$(ns_name r)" ||
	fail "cannot create veth c-r"
ip link add es netns "$(ns_name m)" type veth peer name em netns "$(ns_name s)" ||
	fail "cannot create veth m-s"
ip -n "$(ns_name c)" addr add "$C6/64" dev er nodad
ip -n "$(ns_name r)" addr add "$R6/64" dev ec nodad
ip -n "$(ns_name m)" addr add "$M4/24" dev es
ip -n "$(ns_name s)" addr add "$S4/24" dev em
for l in c:er r:ec m:es s:em; do ip -n "$(ns_name "${l%:*}")" link set "${l#*:}" up; done
for l in c:er r:ec m:es s:em; do ns_wait_up "${l%:*}" "${l#*:}"; done
# The whole routed /64 via R, as upstream routes the seed's /64 to its router.
ip -n "$(ns_name c)" -6 route add "$BLACKHOLE" via "$R6" dev er
ip -n "$(ns_name s)" -4 route add default via "$M4" dev em
# R - T - M: the peering links (2001:db8:1:1::/64 and 2001:db8:1:2::/64).
ns_link r t
ns_link t m

ut_r="tcp://[$(ns_addr6 t r)]:7001"
ut_m="tcp://[$(ns_addr6 t m)]:7002"
node_conf t '.Listen = [$a, $b]' --arg a "$ut_r" --arg b "$ut_m"
node_conf r '.IfName = $i | .IfMTU = 1400 | .Peers = [$p]' --arg i "$IFN" --arg p "$ut_r"
node_conf m '.IfName = $i | .IfMTU = 1400 | .Peers = [$p]' --arg i "$IFN" --arg p "$ut_m"
kr="$(node_key r)" km="$(node_key m)" kt="$(node_key t)"
node_patch r '.TunnelRouting = {Enable: true, IPv4LocalSubnets: [$pool],
		IPv4RemoteSubnets: {"10.0.0.0/8": $m}} |
	.NAT64 = {Enable: true, Prefix: $pfx, DataDir: $dir, Blackhole: $bh}' \
	--arg pool "$POOL/32" --arg m "$km" --arg pfx "$PREFIX" --arg dir "$T_TMP/r-state" \
	--arg bh "$BLACKHOLE"
node_patch m '.TunnelRouting = {Enable: true, IPv4LocalSubnets: ["10.1.0.0/24"],
	IPv4RemoteSubnets: {"10.5.0.0/16": $r}}' --arg r "$kr"
mkdir -p "$T_TMP/r-state"

# The helpers in Python: UDP exchanges with each socket opened in the namespace it belongs to
# (setns before socket()), and a paced TCP sender. Each command prints one JSON object.
cat >"$T_TMP/fused.py" <<'EOF'
import ctypes, json, os, select, socket, sys, time

libc = ctypes.CDLL(None, use_errno=True)
PREFIX = sys.argv[1]


def enter(label):  # this thread into namespace PREFIX+label
    fd = os.open("/run/netns/" + PREFIX + label, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + label)
    finally:
        os.close(fd)


def sock(label, addr, port, kind=socket.SOCK_DGRAM):
    enter(label)
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, kind)
    s.bind((addr, port))
    return s


def recv(s, timeout):  # {"data", "addr", "port"} or {"timeout": true}
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return {"timeout": True}
    data, addr = s.recvfrom(65535)
    return {"data": data.decode(), "addr": addr[0], "port": addr[1]}


def cmd_udp(cns, caddr, cport, dst, dport, sns, saddr):
    # cns's socket (caddr:cport) -> dst:dport, which reaches sns's socket on saddr:dport;
    # the server's reply goes back to where the datagram came from. Up to 3 tries.
    srv = sock(sns, saddr, int(dport))
    cli = sock(cns, caddr, int(cport))
    out = {"server": {"timeout": True}}
    for i in range(3):
        cli.sendto(b"udp", (dst, int(dport)))
        out["server"] = recv(srv, 1)
        if "data" in out["server"]:
            break
    got = out["server"]
    if "data" in got:
        srv.sendto(b"re:udp", (got["addr"], got["port"]))
        out["client"] = recv(cli, 3)
    return out


def cmd_send(dst, port, path, rate):
    # Connects from the current namespace, sends the file at about RATE bytes/s in 64 KiB
    # writes, half-closes and waits for the server to close.
    s = socket.create_connection((dst, int(port)), timeout=10)
    s.settimeout(90)
    print(json.dumps({"local_port": s.getsockname()[1]}), flush=True)
    t0, sent, rate = time.monotonic(), 0, float(rate)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(65536)
            if not chunk:
                break
            s.sendall(chunk)
            sent += len(chunk)
            delay = t0 + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    return {"sent": sent, "seconds": round(time.monotonic() - t0, 1)}


cmd, args = sys.argv[2], sys.argv[3:]
print(json.dumps({"udp": cmd_udp, "send": cmd_send}[cmd](*args)), flush=True)
EOF
# fudp ARGS...: one UDP exchange (cmd_udp); its JSON in $T_TMP/udp.json.
fudp() {
	"$PY" "$T_TMP/fused.py" "$NS_PREFIX" udp "$@" >"$T_TMP/udp.json" 2>"$T_TMP/udp.err" || {
		cat "$T_TMP/udp.err"
		fail "the UDP helper failed ($*)"
	}
}
uq() { jq -r "$1" "$T_TMP/udp.json"; }
# paced_start NAME KBYTES RATE: S listens on 10.1.0.3:PORT (7101 for "a", 7102 for "b") and
# writes what arrives to $T_TMP/NAME.dst; C sends KBYTES of random data to [DST]:PORT at RATE
# bytes/s (fused.py send). Sets P_LPID (listener) and P_SPID (sender).
declare -A P_PORT=([a]=7101 [b]=7102)
paced_start() {
	local name="$1" port="${P_PORT[$1]}"
	head -c "$(($2 * 1024))" /dev/urandom >"$T_TMP/$name.src"
	rm -f "$T_TMP/$name.dst"
	bg_start s socat -u "TCP4-LISTEN:$port,bind=$S4,reuseaddr" "CREATE:$T_TMP/$name.dst"
	P_LPID="$BG_PID"
	listen_wait s "$port"
	bg_start c timeout 90 "$PY" "$T_TMP/fused.py" "$NS_PREFIX" send "$DST" "$port" \
		"$T_TMP/$name.src" "$3" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	P_SPID="$BG_PID"
}
# paced_wait NAME SPID LPID SECONDS: waits for both ends and checks the SHA-256.
paced_wait() {
	local name="$1" got
	wait_exit "$2" "$4" || fail "the paced sender $name did not finish within $4 s" \
		"($(stat -c %s "$T_TMP/$name.dst" 2>/dev/null || echo 0) bytes arrived)"
	pid_forget "$2"
	[[ "$RC" == 0 ]] || {
		cat "$T_TMP/$name.out" "$T_TMP/$name.err"
		fail "the paced sender $name exited with $RC" \
			"($(stat -c %s "$T_TMP/$name.dst" 2>/dev/null || echo 0) bytes arrived)"
	}
	wait_exit "$3" 10 || fail "the receiver of $name did not finish within 10 s of the sender"
	pid_forget "$3"
	[[ "$RC" == 0 ]] || fail "the receiver of $name exited with $RC"
	got="$(stat -c %s "$T_TMP/$name.dst")"
	[[ "$(sha256sum <"$T_TMP/$name.src")" == "$(sha256sum <"$T_TMP/$name.dst")" ]] ||
		fail "transfer $name: the $got bytes received differ from the" \
			"$(stat -c %s "$T_TMP/$name.src") sent"
}
# c_ping: 3 echo replies from DST at C (through R, T and M); ping's output in $T_TMP/ping.out.
c_ping() { ping_ok c "$DST" 3 >"$T_TMP/ping.out" 2>&1; }
kernel_state() { # what R's kernel holds for the TUN, on one line
	echo "addr: $(ns_exec r ip -4 -o addr show dev "$IFN" 2>/dev/null | awk '{ print $4 }' | xargs)" \
		"| 10/8: $(ns_exec r ip -4 route show 10.0.0.0/8 | xargs)" \
		"| prefix: $(ns_exec r ip -6 route show "$PREFIX" | xargs)"
}

# --- start -------------------------------------------------------------------------------------
t0="$(now_s)"
node_start t t real
sut_start_ready m m
sut_start_ready r r
wait_peer_up t "$kr"
wait_peer_up t "$km"
wait_peer_up r "$kt"
wait_peer_up m "$kt"
pass "T (real transit) peers with R and M, both ygg64 ready on -notifyfd ($(since "$t0") s)"

# 1. R's kernel state and getNAT64.
got="$(ns_exec r ip -4 -o addr show dev "$IFN")"
grep -q "inet $POOL/32 " <<<"$got" || {
	ns_exec r ip addr show || true
	fail "no $POOL/32 on R's $IFN"
}
got="$(ns_exec r ip -4 route show 10.0.0.0/8)"
[[ "$got" == *"dev $IFN"*"src $POOL"* ]] || fail "R's route to 10.0.0.0/8: '$got'"
got6="$(ns_exec r ip -6 route show "$PREFIX")"
[[ "$got6" == *"dev $IFN"* ]] || {
	ns_exec r ip -6 route show || true
	fail "R's route to $PREFIX: '$got6'"
}
pass "R's kernel: $POOL/32 on $IFN, '$got', '$got6'"
got="$(ns_exec r ip -6 route show type blackhole)"
[[ "$got" == "blackhole $BLACKHOLE "* ]] || fail "R's blackhole route for $BLACKHOLE: '$got'"
# Without it R would answer "no route" (ICMPv6 1/0); a blackhole drops without a word.
if ns_exec c ping -6 -n -c 2 -i 0.2 -w 2 2001:db8:64:0:1::1 >"$T_TMP/ping.out" 2>&1 ||
	grep -qi unreachable "$T_TMP/ping.out"; then
	cat "$T_TMP/ping.out"
	fail "C's ping to 2001:db8:64:0:1::1 (in $BLACKHOLE, outside the prefix) was not silently dropped"
fi
pass "the rest of $BLACKHOLE is blackholed on R: C's ping to 2001:db8:64:0:1::1 is dropped silently"
got="$(nat64_ctl r getNAT64)" || fail "getNAT64 on R failed"
expect_eq "getNAT64 on R: mode, prefix, pool4" \
	"$(jq -c '[.mode, .prefix, .pool4]' <<<"$got")" "[\"fused\",\"$PREFIX\",[\"$POOL\"]]"

# 2. ping through the prefix.
ping_expect_ok "C pings $DST (10.1.0.3 through the prefix, the tunnel and the overlay)" c "$DST" 3

# 3. 50 MiB each way.
transfer_via c s "$S4" "$DST" $((50 * 1024)) 90 up
pass "C sends S 50 MiB over TCP, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer_via c s "$S4" "$DST" $((50 * 1024)) 90 down
pass "S sends C 50 MiB over C's connection, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"

# 4. UDP both ways.
fudp c "$C6" 40001 "$DST" 7201 s "$S4"
[[ "$(uq .server.addr)" == "$POOL" ]] && in_range "$(uq .server.port)" 61001 65535 || {
	cat "$T_TMP/udp.json"
	fail "S did not get C's datagram from $POOL and a port of 61001-65535"
}
[[ "$(uq .client.data)" == re:udp && "$(uq .client.addr)" == "$DST" &&
	"$(uq .client.port)" == 7201 ]] || {
	cat "$T_TMP/udp.json"
	fail "C did not get S's reply from [$DST]:7201"
}
pass "UDP both ways: S sees $POOL:$(uq .server.port), its reply reaches C from [$DST]:7201"

# 5. traceroute.
trace6_ends c "$DST" 10
pass "traceroute -6 ends at the destination: $TRACE_HOPS"

# 6. MSS clamping both ways: ygg0 at 1400 on R, so a segment must fit 1400 as IPv6.
syn_mss c er s em "$S4" "$DST"
mss_s="$MSS_S" mss_c="$MSS_C"
((mss_s <= 1400 - 60 && mss_c <= 1400 - 60)) || {
	cat "$T_TMP/cap.s" "$T_TMP/cap.c"
	fail "MSS not clamped to IfMTU 1400: SYN at S $mss_s, SYN-ACK at C $mss_c (want <= 1340" \
		"both; unclamped they would be 1440 and 1460)"
}
pass "MSS clamped both ways: C's SYN reaches S with $mss_s, S's SYN-ACK reaches C with $mss_c" \
	"(<= 1400 - 60)"

# 6b. Fragmentation Needed from M's kernel, over the overlay, becomes a Packet Too Big for C
# (E 43): with M's link to S at MTU 1300, a 1400-byte DF ping from C (1380 bytes as IPv4)
# is refused by M with mtu 1300, and C's kernel caches 1320 for the destination.
ns_exec m ip link set es mtu 1300
if ! ptb_learnt c "$DST" 1352 1320; then
	cat "$T_TMP/ptb.out"
	ns_exec c ip -6 route get "$DST" || true
	fail "with M's link to S at MTU 1300 C's kernel did not learn mtu 1320 for $DST"
fi
pass "M's IPv4 link at MTU 1300: C gets a Packet Too Big${PTB_FROM:+ from $PTB_FROM} and caches" \
	"$(ns_exec c ip -6 route get "$DST" | grep -o 'mtu [0-9]*') for $DST"
ping_expect_ok "then 1320-byte DF packets pass" c "$DST" 2 -M "do" -s 1272
ns_exec m ip link set es mtu 1500
ns_exec c ip -6 route flush cache >/dev/null 2>&1 || true

# 7. R's own sockets on 10.5.0.1 beside a NAT64 transfer (6 MiB at 1.5 MB/s, ~4 s).
paced_start a $((6 * 1024)) 1500000
spid="$P_SPID" lpid="$P_LPID"
for ((i = 0; i < 50; i++)); do
	(($(stat -c %s "$T_TMP/a.dst" 2>/dev/null || echo 0) > 0)) && break
	sleep 0.1
done
(($(stat -c %s "$T_TMP/a.dst" 2>/dev/null || echo 0) > 0)) ||
	fail "the NAT64 transfer C -> S did not start within 5 s"
# (ping -e: an ICMP id inside PortRange, as iputils' random ids for raw sockets are one time in
# 14; an echo is the translator's only when the BIB binds its id, so the host keeps this one.)
ping_expect_ok "R's own ping from $POOL (ICMP id 62000, in PortRange) reaches $S4 during the NAT64 transfer" r "$S4" 3 -e 62000
fudp r 0.0.0.0 0 "$S4" 7202 s "$S4"
[[ "$(uq .server.addr)" == "$POOL" && "$(uq .client.data)" == re:udp ]] &&
	in_range "$(uq .server.port)" 1 61000 || {
	cat "$T_TMP/udp.json"
	fail "R's UDP socket: S should see $POOL and a port outside 61001-65535, and R get the reply"
}
pass "R's own UDP socket: S sees $POOL:$(uq .server.port) (outside PortRange), R gets the reply"
transfer r s "$S4" 2048 30
pass "R's own TCP socket sends S 2 MiB from $POOL, SHA-256 intact ($WAITED s)"
kill -0 "$spid" 2>/dev/null ||
	fail "the NAT64 transfer had ended before R's own sockets were done: not at the same time"
paced_wait a "$spid" "$lpid" 30
pass "the NAT64 transfer that ran meanwhile (6 MiB C -> S) ends with its SHA-256 intact"

# 8. Restart of R under a running NAT64 transfer (24 MiB at 2.4 MB/s, ~10 s).
paced_start b $((24 * 1024)) 2400000
spid="$P_SPID" lpid="$P_LPID"
for ((i = 0; i < 50; i++)); do
	(($(stat -c %s "$T_TMP/b.dst" 2>/dev/null || echo 0) > 2 * 1024 * 1024)) && break
	sleep 0.1
done
conn0="$(ns_exec s ss -Htn state established 'sport = :7102' | awk '{ print $4 }')"
[[ "$conn0" == "$POOL":* ]] || fail "S has no connection on port 7102 from $POOL: '$conn0'"
size0="$(stat -c %s "$T_TMP/b.dst")"
((size0 > 0 && size0 < 24 * 1024 * 1024)) && kill -0 "$spid" 2>/dev/null ||
	fail "the paced transfer is not under way before the restart ($size0 bytes arrived)"
t0="$(now_s)"
node_stop r
saved="$(node_log_since r | grep -o "NAT64: saved [0-9]* sessions to $SNAP" || true)"
[[ -n "$saved" && -s "$SNAP" ]] || {
	node_log_since r | tail -n 20
	fail "R's stop did not log 'NAT64: saved N sessions to $SNAP' and write it"
}
sut_start_ready r r
restored="$(node_log_since r | grep -o "NAT64: restored [0-9]* of [0-9]* sessions from $SNAP.*" ||
	true)"
nrest="$(sed -n 's/^NAT64: restored \([0-9]*\) of.*/\1/p' <<<"$restored")"
[[ -n "$nrest" ]] && ((nrest >= 1)) || {
	node_log_since r | tail -n 20
	fail "R's start did not log 'NAT64: restored R of N sessions from $SNAP' with R >= 1"
}
pass "SIGTERM: '$saved'; the new R (same key) is ready $(since "$t0") s later: '$restored'"
wait_peer_up r "$kt"
paced_wait b "$spid" "$lpid" 60
pass "the TCP transfer C -> S ran through the restart (from $conn0, $size0 bytes before" \
	"the stop): 24 MiB, one connection, SHA-256 intact ($(jq -r .seconds "$T_TMP/b.out" 2>/dev/null |
		tail -n1) s)"

# 9. A corrupt snapshot, then a truncated one: reported and ignored, traffic flows.
node_stop r
[[ -s "$SNAP" ]] || fail "R's stop left no snapshot at $SNAP"
cp "$SNAP" "$T_TMP/real.msgpack"
head -c 4096 /dev/urandom >"$SNAP"
for kind in garbage truncated; do
	if [[ "$kind" == truncated ]]; then
		node_stop r
		head -c "$(($(stat -c %s "$T_TMP/real.msgpack") / 2))" "$T_TMP/real.msgpack" >"$SNAP"
	fi
	size="$(stat -c %s "$SNAP")"
	sut_start_ready r r
	why="$(node_log_since r | grep -o "NAT64: ignoring $SNAP: .*" || true)"
	[[ -n "$why" ]] || {
		node_log_since r | tail -n 20
		fail "R started on a $kind snapshot without logging 'NAT64: ignoring $SNAP: ...'"
	}
	wait_peer_up r "$kt"
	c_ping || {
		cat "$T_TMP/ping.out"
		fail "after starting on a $kind snapshot, C's ping to $DST does not get through"
	}
	kill -0 "${NODE_PID[r]}" || fail "R exited after starting on a $kind snapshot"
	pass "a $kind snapshot ($size bytes): '$why'; R is up and C's ping passes" \
		"($(grep -o '[0-9]* received' "$T_TMP/ping.out"))"
done

# 10. The final SIGTERM takes R's TUN and routes with it.
node_stop r
! ns_exec r ip link show "$IFN" >/dev/null 2>&1 || fail "after SIGTERM R's $IFN still exists"
[[ -z "$(ns_exec r ip -4 route show 10.0.0.0/8)" && -z "$(ns_exec r ip -6 route show "$PREFIX")" &&
	-z "$(ns_exec r ip -6 route show type blackhole)" ]] ||
	fail "after SIGTERM R still routes: $(kernel_state)"
pass "after SIGTERM R's $IFN is gone with its routes to 10.0.0.0/8 and $PREFIX, and the blackhole"
# The last R's totals per origin -> stage (fwd): translated IPv4 went straight into tunnel
# routing and the replies from the overlay straight into the NAT64, never through the kernel.
dp="$(node_log_since r | grep -o 'Data path: .*' || true)"
grep -qE 'nat64->tunnel [1-9]' <<<"$dp" && grep -qE 'overlay->nat64_4to6 [1-9]' <<<"$dp" &&
	grep -qE 'tun->nat64_6to4 [1-9]' <<<"$dp" && ! grep -q 'tun->nat64_4to6' <<<"$dp" ||
	fail "R's data path at stop: '$dp'"
pass "R's data path at stop: $dp"
done_ok
