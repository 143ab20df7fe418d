#!/usr/bin/env bash
# Loss and return of a peer. S (node under test) dials R (real) over tcp://.
# 1. R is killed (SIGKILL): S notices at once (the socket closes) and lists it down; R comes back
#    with the same key and port: S redials (backoff 2^n s, the first redial 2 s after a drop) and
#    the peer is up again on both sides.
# 2. The converse: S is killed, R notices; S restarts and redials R; up again on both sides.
# 3. Silent death (the 3 s peer timeout): R is frozen (SIGSTOP), then a real node T with a lower
#    key than all joins S, so S changes root and sends R new requests that nobody answers: S must
#    drop R about 3 s later. R resumes (SIGCONT) and S redials it.
# 4. The converse: S is frozen, T joins R instead; R drops S; S resumes, finds its link closed
#    and redials R.
# Spec: link-routing §2.5 (reconnection), §3.2 (liveness), §5.3 (SendReqs), §8.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
. "$(dirname "$0")/netns.sh"

ns_new 1 2 3
ns_link 1 2
ns_link 1 3
ns_link 2 3
uri="tcp://[$(ns_addr6 2 1)]:7001"
# Identities: the lowest key goes to T, then R, then S.
node_conf_sorted t r s
node_patch s '.Peers = [$p] | .Listen = [$l]' --arg p "$uri" --arg l "tcp://[$(ns_addr6 1 3)]:7002"
node_patch r '.Listen = [$l, $l2]' --arg l "$uri" --arg l2 "tcp://[$(ns_addr6 2 3)]:7003"
ks="$(node_key s)" kr="$(node_key r)" kt="$(node_key t)"

# redial_took WHAT T0: the peer came back SECS after the drop at T0; a redial honours the 2 s
# first backoff (§2.5): not before 1.5 s, and (with the 4 s second step) by 7 s.
redial_took() {
	local took
	took="$(since "$2")"
	awk -v t="$took" 'BEGIN { exit !(t >= 1.5 && t <= 7) }' ||
		fail "$1: the peer came back $took s after the drop (want the 2 s backoff: 1.5..7 s)"
	pass "$1: up again $took s after the drop (backoff 2 s)"
}
node_start r 2 real
node_start s 1 sut
wait_peer_up s "$kr"
wait_peer_up r "$ks"
pass "S — R up"

# 1. Kill R.
node_stop r KILL
wait_peer_gone s "$kr" 3
pass "R killed: S shows it down after $WAITED s (≤ 3 s)"
expect_eq "S keeps its configured peer listed (down)" \
	"$(ctl s getPeers | jq -c --arg u "$uri" '[.peers[] | select(.remote == $u) | .up]')" '[false]'
t0="$(now_s)"
node_start r 2 real
wait_peer_up s "$kr" 20
wait_peer_up r "$ks" 5
redial_took "R restarted, S redialled" "$t0"

# 2. Kill S.
node_stop s KILL
wait_peer_gone r "$ks" 3
pass "S killed: R no longer lists it up after $WAITED s (≤ 3 s)"
t0="$(now_s)"
node_start s 1 sut
wait_peer_up s "$kr" 10
wait_peer_up r "$ks" 5
pass "S restarted: it dialled R again, up after $(since "$t0") s"

# 3. Freeze R; T (lowest key) dials S, whose new root makes it send R requests (§5.3).
sleep 2 # let the tree settle so that the link is idle
kill -STOP "${NODE_PID[r]}"
node_patch t '.Peers = [$p]' --arg p "tcp://[$(ns_addr6 1 3)]:7002"
node_start t 3 real
wait_peer_up s "$kt" 10
wait_peer_gone s "$kr" 8
t0="$(now_s)"
pass "R frozen, T joined S: S dropped the silent R $WAITED s after T came up (3 s timeout + tick)"
kill -CONT "${NODE_PID[r]}"
wait_peer_up s "$kr" 20
wait_peer_up r "$ks" 5
redial_took "R resumed, S redialled it" "$t0"
node_stop t

# 4. Freeze S; T dials R instead.
sleep 2
kill -STOP "${NODE_PID[s]}"
node_patch t '.Peers = [$p]' --arg p "tcp://[$(ns_addr6 2 3)]:7003"
node_start t 3 real
wait_peer_up r "$kt" 10
wait_peer_gone r "$ks" 8
pass "S frozen, T joined R: R dropped the silent S $WAITED s after T came up"
kill -CONT "${NODE_PID[s]}"
t0="$(now_s)"
wait_peer_up r "$ks" 20
wait_peer_up s "$kr" 5
redial_took "S resumed, found its link closed and redialled R" "$t0"
done_ok
