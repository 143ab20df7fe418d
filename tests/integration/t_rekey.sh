#!/usr/bin/env bash
# Session key rotation under traffic, between the node under test S (namespace 1) and a real
# node R (namespace 2), both with TUNs. S dials R through a recording relay in its namespace
# (tcp://, so the frames are plain), and the test reads the TRAFFIC headers off the recorded
# link (sessions-core-admin §2.4: senderKeySeq, receiverKeySeq, nonce).
# Why a rotation must happen: after the handshake each side has a traffic-driven rotation
# stamped at the session's start (keySeq 2 or 3, depending on which side's packets arrived
# first); a side rotates again on the first packet that arrives from the peer's next key more
# than 60 s after its previous rotation (§2.6.4, rate limit §2.6.5), and the peer follows on
# the next packet back. So a two-way flow that lasts past ~61 s from the session's first
# packet must show a higher senderKeySeq at its end than during its bulk, both ways.
# The test: a ping sets the session up, then two paced TCP transfers (one each way, a 8 KiB
# write every 100 ms for 68 s) run through it. Checks: both SHA-256 match; both directions of
# the link carry TRAFFIC at a last keySeq K >= 3, with bulk traffic below K and after it (the
# transfers went on across the rotation); within one direction senderKeySeq never decreases
# and the nonce strictly increases while it is unchanged (no replay window, §2.6.5); both
# getSessions list the other, and the session is older than the rotation (not re-created).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
command -v ping >/dev/null || skip "needs ping (iputils-ping; scripts/deps.sh installs it)"
command -v socat >/dev/null || skip "needs socat (scripts/deps.sh installs it)"
command -v gawk >/dev/null || skip "needs gawk (scripts/deps.sh installs it)"
. "$(dirname "$0")/netns.sh"

CHUNK=8192 IVAL_US=100000 NCHUNK=680 # 68 s, 5.3 MiB each way
ns_line 2
node_conf r '.IfName = "ygg0" | .Listen = [$l]' --arg l "tcp://[$(ns_addr6 2 1)]:7001"
node_conf s '.IfName = "ygg0" | .Peers = [$p]' --arg p "tcp://[$(ns_addr6 1 2)]:7009"
ks="$(node_key s)" kr="$(node_key r)"
addr_s="$(node_addr s)" addr_r="$(node_addr r)"
node_start r 2 real
relay_start 1 "$(ns_addr6 1 2)" 7009 "$(ns_addr6 2 1)" 7001 link
node_start s 1 sut
pair_wait_up s r
pass "S peers with R through the recording relay; both TUNs up"
ping_expect_ok "S pings R: the session is set up" 1 "$addr_r" 2
t_sess="$(now_s)"

# paced_send FILE: writes FILE in CHUNK-byte pieces, one every IVAL_US microseconds (on a fixed
# schedule, so the total time does not drift).
paced_send() {
	local i t0 d
	t0="${EPOCHREALTIME/./}"
	for ((i = 0; i < NCHUNK; i++)); do
		dd if="$1" bs="$CHUNK" skip="$i" count=1 status=none
		d=$((t0 + (i + 1) * IVAL_US - ${EPOCHREALTIME/./}))
		((d <= 0)) || sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
	done
}
for d in sr rs; do head -c $((CHUNK * NCHUNK)) /dev/urandom >"$T_TMP/$d.src"; done
bg_start 2 socat -u "TCP6-LISTEN:7101,bind=[$addr_r],reuseaddr" "CREATE:$T_TMP/sr.dst"
rx_sr="$BG_PID"
bg_start 1 socat -u "TCP6-LISTEN:7102,bind=[$addr_s],reuseaddr" "CREATE:$T_TMP/rs.dst"
rx_rs="$BG_PID"
for ((i = 0; i < 50; i++)); do
	ns_exec 2 ss -Hltn 'sport = :7101' | grep -q . && ns_exec 1 ss -Hltn 'sport = :7102' |
		grep -q . && break
	sleep 0.1
done
paced_send "$T_TMP/sr.src" | ns_exec 1 timeout 100 socat -u STDIN "TCP6:[$addr_r]:7101" &
tx_sr=$!
T_PIDS+=("$tx_sr")
paced_send "$T_TMP/rs.src" | ns_exec 2 timeout 100 socat -u STDIN "TCP6:[$addr_s]:7102" &
tx_rs=$!
T_PIDS+=("$tx_rs")

# Half-way: both receivers are getting data.
sleep 30
for d in sr rs; do
	sz="$(stat -c %s "$T_TMP/$d.dst" 2>/dev/null || echo 0)"
	((sz > 0)) || fail "nothing arrived after 30 s of the paced transfer ($d)"
done
pass "30 s in, both paced transfers are flowing"

for p in "$tx_sr" "$tx_rs"; do
	wait_exit "$p" 60 || fail "a paced sender did not finish"
	pid_forget "$p"
	[[ "$RC" == 0 ]] || fail "a paced sender exited with $RC"
done
for p in "$rx_sr" "$rx_rs"; do
	wait_exit "$p" 15 || fail "a receiver did not finish within 15 s of its sender"
	pid_forget "$p"
done
for d in sr rs; do
	[[ "$(sha256sum <"$T_TMP/$d.src")" == "$(sha256sum <"$T_TMP/$d.dst")" ]] ||
		fail "transfer $d: the data differ ($(stat -c %s "$T_TMP/$d.dst") of" \
			"$((CHUNK * NCHUNK)) bytes arrived)"
done
pass "both paced transfers ($((CHUNK * NCHUNK / 1024)) KiB each way, $(since "$t_sess") s" \
	"after the session started) arrived with intact SHA-256"

# Sessions first (the session expires 60 s after the traffic stops).
for pair in "s $kr" "r $ks"; do
	read -r n k <<<"$pair"
	ctl "$n" getSessions | jq -e --arg k "$k" 'any(.sessions[]; .key == $k and .uptime >= 60)' \
		>/dev/null || {
		ctl "$n" getSessions || true
		fail "$n's getSessions lacks the other node with an uptime of at least 60 s"
	}
	pass "$n's getSessions lists the other node, session up for >= 60 s"
done

# The recorded link: S -> R is link.c2s, R -> S is link.s2c.
for dir in "c2s ${ks:0:8} ${kr:0:8} S->R" "s2c ${kr:0:8} ${ks:0:8} R->S"; do
	read -r f src dst what <<<"$dir"
	link_traffic_headers "$T_TMP/link.$f" | awk -v s="$src" -v d="$dst" '$1 == s && $2 == d' \
		>"$T_TMP/hdr.$f" || fail "cannot parse the recorded link ($what)"
	summary="$(awk '{ n[$3]++ } END { for (k in n) printf "%d:%d\n", k, n[k] }' "$T_TMP/hdr.$f" |
		sort -n | paste -sd' ')"
	awk 'NR > 1 && ($3 < a || ($3 == a && $5 <= n)) {
		printf "line %d: (%d,%d,%d) after (%d,%d)\n", NR, $3, $4, $5, a, n; bad = 1; exit }
		{ a = $3; n = $5 } END { exit bad }' "$T_TMP/hdr.$f" ||
		fail "$what: TRAFFIC headers go backwards ($summary)"
	pass "$what: senderKeySeq never decreases, nonces increase within a key" \
		"(keySeq:messages $summary)"
	# K: the last key; the rotation to it must fall inside the transfer.
	last="$(awk 'END { print $3 + 0 }' "$T_TMP/hdr.$f")"
	old="$(awk -v k="$last" '$3 < k' "$T_TMP/hdr.$f" | wc -l)"
	new="$(awk -v k="$last" '$3 == k' "$T_TMP/hdr.$f" | wc -l)"
	((last >= 3 && old >= 100 && new >= 20)) ||
		fail "$what: want a last keySeq >= 3 with >= 100 TRAFFIC messages before it and" \
			">= 20 at it, got keySeq $last, $old and $new ($summary)"
	pass "$what: the transfer went on across the rotation ($old TRAFFIC messages below" \
		"keySeq $last, then $new at it)"
done
done_ok
