#!/usr/bin/env bash
# NAT64 in plain mode end to end (nat64-requirements §2, §3; RFC 6146, RFC 7915, RFC 4787):
# ygg64 alone in a router namespace R between an IPv6-only client C and an IPv4-only server S
# (netns.sh nat64_topo), with no overlay peers and TunnelRouting off. ygg64 routes the prefix
# 2001:db8:64::/96 and its Pool4 203.0.113.1 into its TUN; what C sends to the prefix comes back
# out of the TUN as IPv4 from 203.0.113.1 and the kernel forwards it to S; S's answers to the
# pool address come back through the TUN and are translated back. Started with -notifyfd: each
# start waits for the readiness line, never for a guessed delay.
# Run 1 (IfMTU 1400, PortRange 61001-65535, endpoint-independent filtering, MSSClamp on):
#  1. the readiness line comes once the routes to the prefix and the pool lead into the TUN;
#     getNAT64 reports the configuration;
#  2. ping -6 2001:db8:64::192.0.2.2; 50 MiB of TCP each way with a SHA-256 match (client to
#     server, then server to client over a connection the client opened); a UDP datagram and
#     its reply, the server seeing the pool address and a port of PortRange;
#  3. traceroute -6 to 2001:db8:64::192.0.2.2 ends at the destination (the hops inside R are
#     the router's kernel, the translator, then the kernel's IPv4 forwarding);
#  4. MSS clamping both ways (the TUN's 1400 is the narrowest link): the client's SYN reaches
#     S and S's SYN-ACK reaches C with an MSS of at most 1400 - 60 (a segment either way must
#     fit the TUN in its IPv6 form: min(mtu4 - 40, mtu6 - 60));
#  5. Packet Too Big: with R's IPv4 link at MTU 1300, R's kernel answers a 1400-byte DF packet
#     with Fragmentation Needed (mtu 1300) to the pool address; ygg64 turns it into a PTB for C
#     whose kernel then caches mtu 1320 for the destination, and 1320-byte packets pass;
#  6. endpoint-independent mapping (RFC 4787 REQ-1): one client port talking to two servers
#     (addresses and ports) gets one outside port, seen by both and listed by
#     getNAT64Sessions; endpoint-independent filtering (REQ-8): a third IPv4 host reaches the
#     client through that mapping;
#  7. hairpinning (RFC 6146 §3.8, RFC 4787 REQ-9): a second client address reaches the first
#     through 2001:db8:64::203.0.113.1 and the first's outside port, and gets its answer;
#  8. after SIGTERM the TUN and the routes to the prefix and the pool are gone;
#  9. (checked last) the clamped MSS made every segment of the transfers fit: no too_big drop
#     in either direction, no PMTU below the link's learnt by the server for the pool address.
# Run 2 (Filtering: address-dependent; sd_notify READY=1 on NOTIFY_SOCKET): the third host is
# refused (ICMPv4 3/13 back to it, counter 4to6 "filtered") while the server the client
# contacted still reaches it from another port.
# Run 3 (PortRange 61001-61004): four UDP flows from four client ports get the four outside
# ports; the fifth gets ICMPv6 1/3 (address unreachable) and counter 6to4 "no_port" grows.
. "$(dirname "$0")/lib.sh"
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
command -v tcpdump >/dev/null || skip "needs tcpdump (scripts/deps.sh installs it)"
command -v traceroute >/dev/null || skip "needs traceroute (scripts/deps.sh installs it)"
PY=python3
[[ ! -x /usr/bin/python3 ]] || PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip "needs python3"
# The real yggdrasilctl when it is installed; nat64_ctl speaks JSON over socat otherwise.
YGG="${YGG64_YGGDRASIL:-${XDG_CACHE_HOME:-$HOME/.cache}/ygg-ref/usr/sbin/yggdrasil}"
YGGCTL="$(dirname "$YGG")/yggdrasilctl"
[[ -x "$YGGCTL" ]] || YGGCTL=""
. "$(dirname "$0")/netns.sh"
need_nat64_impl
NS_PREFIX="y64n$$-" # our own namespace names

IFN=n64
POOL=203.0.113.1
DST="$(nat64_addr6 "$NAT64_S4")" # 2001:db8:64::c000:202
POOL6="$(nat64_addr6 "$POOL")"  # 2001:db8:64::cb00:7101
C6B=2001:db8:1::3               # the second client address (hairpinning)

nat64_topo c r s
ns_exec c ip -6 addr add "$C6B/64" dev er nodad
# Three more IPv4 hosts on S's link: 192.0.2.3 the outsider, .4 a second server.
ns_exec s ip addr add 192.0.2.3/24 dev er
ns_exec s ip addr add 192.0.2.4/24 dev er

# The UDP checks: one Python process that opens each socket in the namespace it belongs to
# (setns before socket()), so that one scenario sees both ends; every socket has IP_RECVERR /
# IPV6_RECVERR, so an ICMP error for it is read from its error queue with type and code. Each
# command prints one JSON object.
cat >"$T_TMP/n64udp.py" <<'EOF'
import ctypes, ipaddress, json, os, select, socket, struct, sys, time

libc = ctypes.CDLL(None, use_errno=True)
PREFIX = sys.argv[1]
C6, C6B = "2001:db8:1::2", "2001:db8:1::3"
IP_RECVERR, IPV6_RECVERR = 11, 25
ORIGIN = {2: "icmp", 3: "icmp6"}


def v6(a4):  # the address of a4 under 2001:db8:64::/96
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("2001:db8:64::"))
                                     | int(ipaddress.IPv4Address(a4))))


def udp(label, addr, port):  # a UDP socket bound in namespace PREFIX+label
    fd = os.open("/run/netns/" + PREFIX + label, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + label)
    finally:
        os.close(fd)
    six = ":" in addr
    s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
    if six:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    s.bind((addr, port))
    return s


def errqueue(s):  # the next ICMP error queued on s, or None
    try:
        _, anc, _, _ = s.recvmsg(2048, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    for level, typ, d in anc:
        if (level, typ) not in ((socket.IPPROTO_IP, IP_RECVERR),
                                (socket.IPPROTO_IPV6, IPV6_RECVERR)):
            continue
        err, origin, itype, icode, _, info, _ = struct.unpack_from("=IBBBBII", d)
        off, frm = d[16:], ""
        fam = struct.unpack_from("=H", off)[0] if len(off) >= 2 else 0
        if fam == socket.AF_INET6 and len(off) >= 24:
            frm = socket.inet_ntop(socket.AF_INET6, off[8:24])
        elif fam == socket.AF_INET and len(off) >= 8:
            frm = socket.inet_ntop(socket.AF_INET, off[4:8])
        return {"icmp": ORIGIN.get(origin, str(origin)), "type": itype, "code": icode,
                "info": info, "from": frm, "errno": err}
    return None


def recv(s, timeout):  # {"data", "addr", "port"}, {"icmp", ...} or {"timeout": true}
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return {"timeout": True}
        r, _, x = select.select([s], [], [s], left)
        if not r and not x:
            continue
        e = errqueue(s)
        if e:
            return e
        try:
            data, addr = s.recvfrom(65535, socket.MSG_DONTWAIT)
            return {"data": data.decode(), "addr": addr[0], "port": addr[1]}
        except (BlockingIOError, InterruptedError):
            time.sleep(0.01)
        except OSError:  # the error itself (sk_err); its details are in the queue
            e = errqueue(s)
            if e:
                return e


def exchange(cli, srv, dst, msg):  # cli -> dst (translated) -> srv, then srv's reply -> cli
    cli.sendto(msg.encode(), dst)
    got = recv(srv, 3)
    out = {"server": got}
    if "data" in got:
        srv.sendto(("re:" + msg).encode(), (got["addr"], got["port"]))
        out["client"] = recv(cli, 3)
    return out


def cmd_udp(cport, sport):
    srv = udp("s", "192.0.2.2", sport)
    cli = udp("c", C6, cport)
    return exchange(cli, srv, (v6("192.0.2.2"), sport), "udp")


def cmd_eim(cport):
    cli = udp("c", C6, cport)
    s1, s2 = udp("s", "192.0.2.2", 7301), udp("s", "192.0.2.4", 7302)
    other, same = udp("s", "192.0.2.3", 7303), udp("s", "192.0.2.2", 7304)
    out = {"s1": exchange(cli, s1, (v6("192.0.2.2"), 7301), "eim1"),
           "s2": exchange(cli, s2, (v6("192.0.2.4"), 7302), "eim2")}
    m = out["s1"]["server"]
    if "data" not in m:
        return out
    mapped = (m["addr"], m["port"])
    other.sendto(b"from-other-host", mapped)  # EIF: anyone may use the mapping
    out["other"] = recv(cli, 2)
    out["other_icmp"] = recv(other, 1)
    same.sendto(b"from-same-host", mapped)  # ADF: the contacted host, from another port
    out["same_host"] = recv(cli, 2)
    return out


def cmd_hairpin():
    a, b = udp("c", C6, 40011), udp("c", C6B, 40012)
    srv = udp("s", "192.0.2.2", 7311)
    out = {"a": exchange(a, srv, (v6("192.0.2.2"), 7311), "hp")}
    m = out["a"]["server"]
    if "data" not in m:
        return out
    b.sendto(b"hairpin", (v6(m["addr"]), m["port"]))
    got = recv(a, 3)
    out["a_got"] = got
    if "data" in got:
        a.sendto(b"hairpin-reply", (got["addr"], got["port"]))
        out["b_got"] = recv(b, 3)
    return out


def cmd_exhaust(n):
    srv = udp("s", "192.0.2.2", 7321)
    flows, keep = [], []
    for i in range(n):
        c = udp("c", C6, 42001 + i)
        keep.append(c)
        c.connect((v6("192.0.2.2"), 7321))
        c.send(b"flow%d" % i)
        got = recv(srv, 1.5)
        f = {"port6": 42001 + i, "server": got}
        if "data" in got:
            srv.sendto(b"re", (got["addr"], got["port"]))
        f["client"] = recv(c, 2)
        flows.append(f)
    return {"flows": flows}


cmd, args = sys.argv[2], [int(a) for a in sys.argv[3:]]
print(json.dumps({"udp": cmd_udp, "eim": cmd_eim, "hairpin": cmd_hairpin,
                  "exhaust": cmd_exhaust}[cmd](*args)))
EOF
# n64udp CMD ARGS...: runs one scenario of the Python helper; its JSON in $T_TMP/udp.json.
n64udp() {
	"$PY" "$T_TMP/n64udp.py" "$NS_PREFIX" "$@" >"$T_TMP/udp.json" 2>"$T_TMP/udp.err" || {
		cat "$T_TMP/udp.err"
		fail "the UDP helper failed ($*)"
	}
}
# uq JQ-FILTER: a value of the last scenario's JSON.
uq() { jq -r "$1" "$T_TMP/udp.json"; }
# counter NAME DIRECTION REASON: a drop counter of getNAT64 (0 when absent).
counter() { nat64_get "$1" ".counters[\"$2\"].dropped[\"$3\"] // 0"; }

# --- run 1: endpoint-independent, IfMTU 1400 ---------------------------------------------------
nat64_conf r mtu=1400
t0="$(now_s)"
nat64_start r r
routes="$(nat64_routes r "$IFN" "$POOL")"
[[ "$(wc -l <<<"$routes")" == 2 ]] || {
	ns_exec r ip -6 route show || true
	ns_exec r ip -4 route show || true
	fail "ready, but the prefix and the pool are not both routed into $IFN: '$routes'"
}
pass "ready after $(since "$t0") s (-notifyfd), with the prefix and $POOL routed into $IFN"
expect_eq "the TUN's MTU is IfMTU" "$(ns_exec r cat "/sys/class/net/$IFN/mtu")" 1400
got="$(nat64_ctl r getNAT64)" || fail "getNAT64 failed"
expect_eq "getNAT64: prefix, pool4, port_range, filtering, mss_clamp" \
	"$(jq -c '[.prefix, .pool4, .port_range, .filtering, .mss_clamp]' <<<"$got")" \
	'["2001:db8:64::/96",["203.0.113.1"],"61001-65535","endpoint-independent",true]'
jq -e '(.bib | has("tcp") and has("udp") and has("icmp")) and
	(.sessions | has("tcp") and has("udp") and has("icmp")) and
	(.max_bib > 0) and (.max_sessions > 0) and (.ports.udp.total > 0) and
	(.counters["6to4"] | has("packets") and has("bytes") and has("dropped")) and
	(.counters["4to6"] | has("packets") and has("bytes") and has("dropped"))' \
	<<<"$got" >/dev/null || {
	echo "$got"
	fail "getNAT64 lacks bib/sessions/max_*/ports/counters"
}
pass "getNAT64 has bib, sessions, max_bib ($(jq .max_bib <<<"$got")), max_sessions," \
	"ports (udp total $(jq .ports.udp.total <<<"$got")) and the counters of both directions"

# 2. Traffic.
ping_expect_ok "the client pings $DST (192.0.2.2 through the prefix)" c "$DST" 3
transfer_via c s "$NAT64_S4" "$DST" $((50 * 1024)) 60 up
pass "the client sends the server 50 MiB over TCP, SHA-256 intact ($WAITED s, $MBITS Mbit/s)"
transfer_via c s "$NAT64_S4" "$DST" $((50 * 1024)) 60 down
pass "the server sends the client 50 MiB over the client's connection, SHA-256 intact" \
	"($WAITED s, $MBITS Mbit/s)"
# With the MSS clamped, no segment of either transfer may be too big for the translator (checked
# at the end, after the other checks: see 9.).
too_big="$(counter r 6to4 too_big) $(counter r 4to6 too_big)"
pmtu_s="$(ns_exec s ip -4 route get "$POOL" | grep -o 'mtu [0-9]*' || true)"
n64udp udp 40001 7201
[[ "$(uq .server.addr)" == "$POOL" ]] && in_range "$(uq .server.port)" 61001 65535 || {
	cat "$T_TMP/udp.json"
	fail "the server did not get the datagram from $POOL and a port of 61001-65535"
}
[[ "$(uq .client.data)" == re:udp && "$(uq .client.addr)" == "$DST" &&
	"$(uq .client.port)" == 7201 ]] || {
	cat "$T_TMP/udp.json"
	fail "the client did not get the server's reply from [$DST]:7201"
}
pass "UDP both ways: the server sees $POOL:$(uq .server.port), its reply reaches the client" \
	"from [$DST]:7201"
c6="$(nat64_get r '.counters["6to4"].packets')" c4="$(nat64_get r '.counters["4to6"].packets')"
((c6 > 1000 && c4 > 1000)) || fail "getNAT64 counted only $c6 packets 6to4 and $c4 4to6"
pass "getNAT64 counters: $c6 packets 6to4, $c4 4to6; sessions $(nat64_get r '.sessions | tojson')"

# 3. traceroute.
trace6_ends c "$DST" 8
pass "traceroute -6 ends at the destination: $TRACE_HOPS (hop_limit drops counted:" \
	"$(counter r 6to4 hop_limit) 6to4, $(counter r 4to6 hop_limit) 4to6)"

# 4. MSS clamping, both directions.
syn_mss c er s er "$NAT64_S4" "$DST"
mss_s="$MSS_S" mss_c="$MSS_C"
((mss_s <= 1400 - 60 && mss_c <= 1400 - 60)) || {
	cat "$T_TMP/cap.s" "$T_TMP/cap.c"
	fail "MSS not clamped to IfMTU 1400: SYN at the server $mss_s, SYN-ACK at the client" \
		"$mss_c (want <= 1340 both); unclamped they would be 1440 and 1460"
}
pass "MSS clamped both ways: the client's SYN reaches the server with $mss_s, the SYN-ACK" \
	"reaches the client with $mss_c (1400 - 60 = 1340: IPv6 on the TUN is the narrowest)"

# 5. Packet Too Big from a narrower IPv4 link.
ping_expect_ok "1400-byte DF packets pass while every link is >= 1400" c "$DST" 2 -M "do" -s 1352
ns_exec r ip link set es mtu 1300
before="$(counter r 4to6 too_big)"
if ! ptb_learnt c "$DST" 1352 1320; then
	cat "$T_TMP/ptb.out"
	ns_exec c ip -6 route get "$DST" || true
	fail "with R's IPv4 link at MTU 1300 the client's kernel did not learn mtu 1320 for $DST"
fi
pass "IPv4 link at MTU 1300: the client gets a Packet Too Big${PTB_FROM:+ from $PTB_FROM} and" \
	"caches mtu 1320 for $DST: $(ns_exec c ip -6 route get "$DST" | grep -o 'mtu [0-9]*')" \
	"(too_big 4to6: $before -> $(counter r 4to6 too_big))"
ping_expect_ok "then 1320-byte DF packets pass" c "$DST" 2 -M "do" -s 1272
ns_exec r ip link set es mtu 1500

# 6. Endpoint-independent mapping and filtering.
n64udp eim 40002
m1="$(uq '.s1.server.port')" m2="$(uq '.s2.server.port')"
[[ "$(uq .s1.client.data)" == re:eim1 && "$(uq .s2.client.data)" == re:eim2 ]] || {
	cat "$T_TMP/udp.json"
	fail "the client did not get both servers' replies"
}
[[ "$(uq .s1.server.addr)" == "$POOL" && "$(uq .s2.server.addr)" == "$POOL" ]] &&
	in_range "$m1" 61001 65535 && [[ "$m1" == "$m2" ]] || {
	cat "$T_TMP/udp.json"
	fail "endpoint-independent mapping: [2001:db8:1::2]:40002 appears as" \
		"$(uq .s1.server.addr):$m1 to 192.0.2.2:7301 and $(uq .s2.server.addr):$m2 to 192.0.2.4:7302"
}
pass "EIM: [2001:db8:1::2]:40002 appears as $POOL:$m1 to 192.0.2.2:7301 and to 192.0.2.4:7302"
got="$(nat64_ctl r getNAT64Sessions proto=udp)" || fail "getNAT64Sessions proto=udp failed"
# (The EIF and ADF probes of the same scenario added sessions of that mapping with 192.0.2.3:7303
# and 192.0.2.2:7304, which RFC 6146 §3.5.1.2 creates for allowed inbound packets.)
sel="$(jq -c '[.sessions[] | select(.addr6 == "2001:db8:1::2" and (.port6 | tostring) == "40002"
	and ("\(.raddr):\(.rport)" | IN("192.0.2.2:7301", "192.0.2.4:7302")))]' <<<"$got")"
[[ "$(jq length <<<"$sel")" == 2 &&
	"$(jq -c '[.[] | .port4 | tostring] | unique' <<<"$sel")" == "[\"$m1\"]" &&
	"$(jq -c '[.[] | .addr4] | unique' <<<"$sel")" == "[\"$POOL\"]" &&
	"$(jq -c '[.[] | .proto] | unique' <<<"$sel")" == '["udp"]' ]] || {
	echo "$got"
	fail "getNAT64Sessions does not list the two sessions of [2001:db8:1::2]:40002 on $POOL:$m1"
}
pass "getNAT64Sessions lists both sessions of [2001:db8:1::2]:40002 with $POOL:$m1" \
	"(remotes $(jq -c '[.[] | "\(.raddr):\(.rport)"]' <<<"$sel"), total $(jq .total <<<"$got"))"
[[ "$(uq .other.data)" == from-other-host && "$(uq .other.addr)" == "$(nat64_addr6 192.0.2.3)" &&
	"$(uq .other.port)" == 7303 ]] || {
	cat "$T_TMP/udp.json"
	fail "endpoint-independent filtering: 192.0.2.3:7303 did not reach the client through" \
		"$POOL:$m1"
}
pass "EIF: 192.0.2.3:7303, never contacted, reaches the client through $POOL:$m1" \
	"(from [$(uq .other.addr)]:7303)"

# 7. Hairpinning.
n64udp hairpin
ma="$(uq .a.server.port)"
[[ "$(uq .a_got.data)" == hairpin && "$(uq .a_got.addr)" == "$POOL6" ]] &&
	in_range "$(uq .a_got.port)" 61001 65535 || {
	cat "$T_TMP/udp.json"
	fail "hairpinning: [$C6B]:40012 -> [$POOL6]:$ma did not reach [2001:db8:1::2]:40011 from" \
		"[$POOL6] and a pool port"
}
[[ "$(uq .b_got.data)" == hairpin-reply && "$(uq .b_got.addr)" == "$POOL6" &&
	"$(uq .b_got.port)" == "$ma" ]] || {
	cat "$T_TMP/udp.json"
	fail "hairpinning: the reply did not come back to [$C6B]:40012 from [$POOL6]:$ma"
}
pass "hairpinning: [$C6B]:40012 reaches [2001:db8:1::2]:40011 at [$POOL6]:$ma, seen from" \
	"[$POOL6]:$(uq .a_got.port); the reply comes back from [$POOL6]:$ma"

# 8. SIGTERM.
node_stop r
routes="$(nat64_routes r "$IFN" "$POOL")"
[[ -z "$routes" ]] || fail "after SIGTERM these still lead into $IFN: $routes"
! ns_exec r ip link show "$IFN" >/dev/null 2>&1 || fail "after SIGTERM $IFN still exists"
pass "after SIGTERM $IFN is gone, and no route to the prefix or $POOL leads into it"

# --- run 2: address-dependent filtering, readiness over NOTIFY_SOCKET --------------------------
nat64_conf r filtering=address-dependent
bg_start r socat -u "UNIX-RECV:$T_TMP/notify.sock" "CREATE:$T_TMP/notify.out"
npid="$BG_PID"
for ((i = 0; i < 50; i++)); do
	[[ -S "$T_TMP/notify.sock" ]] && break
	sleep 0.1
done
nat64_start r r "NOTIFY_SOCKET=$T_TMP/notify.sock"
for ((i = 0; i < 50; i++)); do
	grep -q 'READY=1' "$T_TMP/notify.out" 2>/dev/null && break
	sleep 0.1
done
kill "$npid" 2>/dev/null || true
wait "$npid" 2>/dev/null || true
pid_forget "$npid"
grep -q 'READY=1' "$T_TMP/notify.out" 2>/dev/null ||
	fail "no READY=1 on NOTIFY_SOCKET: '$(cat "$T_TMP/notify.out" 2>/dev/null)'"
pass "restarted with address-dependent filtering: READY=1 on NOTIFY_SOCKET as well"
expect_eq "getNAT64 reports the filtering" "$(nat64_get r .filtering)" address-dependent
before="$(counter r 4to6 filtered)"
n64udp eim 40003
m1="$(uq '.s1.server.port')"
[[ "$(uq .s1.client.data)" == re:eim1 && "$m1" == "$(uq '.s2.server.port')" ]] || {
	cat "$T_TMP/udp.json"
	fail "address-dependent filtering: the exchanges with the two servers failed"
}
[[ "$(uq '.other.data // empty')" == "" ]] || {
	cat "$T_TMP/udp.json"
	fail "address-dependent filtering: 192.0.2.3, never contacted, reached the client"
}
after="$(counter r 4to6 filtered)"
((after > before)) || fail "the refused packet was not counted (4to6 filtered $before -> $after)"
[[ "$(uq .other_icmp.icmp)" == icmp && "$(uq .other_icmp.type)" == 3 &&
	"$(uq .other_icmp.code)" == 13 ]] || {
	cat "$T_TMP/udp.json"
	fail "192.0.2.3 got no ICMPv4 3/13 (administratively prohibited) for the refused packet"
}
pass "ADF: 192.0.2.3 is refused with ICMPv4 3/13 from $(uq .other_icmp.from)" \
	"(4to6 filtered $before -> $after)"
[[ "$(uq .same_host.data)" == from-same-host && "$(uq .same_host.port)" == 7304 ]] || {
	cat "$T_TMP/udp.json"
	fail "address-dependent filtering: 192.0.2.2 (contacted) from port 7304 did not get through"
}
pass "ADF: 192.0.2.2, which the client contacted, still gets through from another port (7304)"
node_stop r

# --- run 3: pool exhaustion ----------------------------------------------------------------------
nat64_conf r ports=61001-61004
nat64_start r r
expect_eq "getNAT64: 4 UDP ports in the pool" \
	"$(nat64_get r '"\(.port_range) \(.ports.udp.total) \(.ports.udp.used)"')" "61001-61004 4 0"
before="$(counter r 6to4 no_port)"
n64udp exhaust 5
got="$(uq '[.flows[0:4][] | select(.client.data == "re") | .server.port] | sort | join(" ")')"
[[ "$got" == "61001 61002 61003 61004" ]] || {
	cat "$T_TMP/udp.json"
	fail "the first four UDP flows did not get the ports 61001-61004: '$got'"
}
pass "four UDP flows from four client ports get the four outside ports: $got"
[[ "$(uq '.flows[4].server.timeout')" == true && "$(uq .flows[4].client.icmp)" == icmp6 &&
	"$(uq .flows[4].client.type)" == 1 && "$(uq .flows[4].client.code)" == 3 ]] || {
	cat "$T_TMP/udp.json"
	fail "the fifth flow did not get ICMPv6 1/3 (address unreachable), or got through"
}
after="$(counter r 6to4 no_port)"
((after > before)) || fail "the fifth flow was not counted (6to4 no_port $before -> $after)"
pass "the fifth flow gets ICMPv6 1/3 from $(uq .flows[4].client.from) and is counted" \
	"(6to4 no_port $before -> $after; udp ports used $(nat64_get r .ports.udp.used))"
node_stop r

# 9. (From run 1.) The clamped MSS makes every segment of the 50 MiB transfers fit: the MSS in
# the client's SYN bounds what the server sends, and that must still fit the TUN once it is
# IPv6 (20 bytes longer), or the translator drops it as too big and the transfer depends on
# Path MTU Discovery on the IPv4 side (the stalls MSS clamping exists to avoid, nat64-
# requirements §2 E 42).
[[ "$too_big" == "0 0" && -z "$pmtu_s" ]] ||
	fail "during the TCP transfers ygg64 dropped segments as too big (6to4, 4to6: $too_big)" \
		"and the server learnt '${pmtu_s:-no mtu}' for $POOL: the MSS clamp ($mss_s in the SYN" \
		"to the server) lets the server send IPv4 segments whose IPv6 form exceeds the TUN's" \
		"IfMTU 1400 (want at most 1400 - 60 = 1340 there)"
pass "no segment of the TCP transfers was too big for the translator (too_big 6to4, 4to6:" \
	"$too_big; no PMTU below the link's cached at the server)"
done_ok
