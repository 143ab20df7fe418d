#!/usr/bin/env bash
# Link passwords and AllowedPublicKeys between the node under test S and the real yggdrasil R:
# the meta signature is keyed with the URI's ?password= (BLAKE2b, Go url.Query decoding), so the
# same password on both ends peers and a different one never does; AllowedPublicKeys on S's
# listener refuses an unlisted key and accepts a listed one. Each phase restarts both nodes.
# Spec: link-routing §2.1 (password=), §2.4 (signature, steps 3 and 5).
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
. "$(dirname "$0")/netns.sh"

ns_line 2
a1="$(ns_addr6 1 2)" a2="$(ns_addr6 2 1)"
node_conf s
node_conf r
ks="$(node_key s)" kr="$(node_key r)"

stop_both() {
	node_stop s
	node_stop r
}

# 1. S dials R, same password on both ends.
node_patch r '.Listen = [$l]' --arg l "tcp://[$a2]:7001?password=hunter2"
node_patch s '.Peers = [$p]' --arg p "tcp://[$a2]:7001?password=hunter2"
node_start r 2 real
node_start s 1 sut
wait_peer_up s "$kr"
wait_peer_up r "$ks"
pass "S dials R with the same password: up on both sides"
stop_both

# 2. R dials S's listener; the password is URL-encoded differently on each side but decodes to
#    the same bytes ("correct horse battery").
node_patch s '.Peers = [] | .Listen = [$l]' \
	--arg l "tcp://[$a1]:7002?password=correct+horse%20battery"
node_patch r '.Listen = [] | .Peers = [$p]' \
	--arg p "tcp://[$a1]:7002?password=correct%20horse+battery"
node_start s 1 sut
node_start r 2 real
wait_peer_up r "$ks"
wait_peer_up s "$kr"
pass "R dials S's listener with the same (URL-decoded) password: up on both sides"
stop_both

# 3. Wrong passwords, both directions at once: S dials R with another password, R dials S with
#    another password. Nothing may come up (R retries after 2 s: the window covers a redial).
pw_s_out="tcp://[$a2]:7001?password=wrong"
node_patch r '.Listen = [$l] | .Peers = [$p]' \
	--arg l "tcp://[$a2]:7001?password=hunter2" --arg p "tcp://[$a1]:7002?password=hunter3"
node_patch s '.Listen = [$l] | .Peers = [$p]' \
	--arg l "tcp://[$a1]:7002?password=hunter2" --arg p "$pw_s_out"
node_start r 2 real
node_start s 1 sut
expect_never_up r "$ks" 5
expect_never_up s "$kr" 0
pass "wrong passwords both ways: R lists no up peer for S's key during 5 s"
expect_eq "wrong passwords: S lists no up peer" \
	"$(ctl s getPeers | jq '[.peers[] | select(.up)] | length')" 0
# The entry is keyed by the URI without its query (link-routing §2.1).
expect_eq "wrong password: S still lists its configured peer, down" \
	"$(ctl s getPeers | jq -c --arg u "${pw_s_out%%\?*}" '[.peers[] | select(.remote == $u) | .up]')" \
	'[false]'
echo "# S's last_error for it: $(ctl s getPeers | jq -c '[.peers[].last_error]')"
# R did reach S's listener and saw its meta: a wrong signature, not a refused connection.
expect_eq "wrong password: R's dial reached S and failed on the meta signature" \
	"$(ctl r getPeers | jq -r '.peers[] | select(.inbound == false) | .last_error')" \
	"password does not match remote side"
# A password on one end only is a mismatch too (empty key vs "hunter2").
stop_both
node_patch r '.Peers = [$p]' --arg p "tcp://[$a1]:7002"
node_patch s '.Peers = []'
node_start s 1 sut
node_start r 2 real
expect_never_up s "$kr" 3
expect_never_up r "$ks" 0
pass "password on S's listener only: never up"
expect_eq "password on S's listener only: R's dial failed on the meta signature" \
	"$(ctl r getPeers | jq -r '.peers[] | select(.inbound == false) | .last_error')" \
	"password does not match remote side"
stop_both

# 4. AllowedPublicKeys on S that lists another key: R's inbound link is refused.
other="$("$YGG" -genconf -json | jq -r .PrivateKey | cut -c65-128)"
node_patch s '.Listen = [$l] | .Peers = [] | .AllowedPublicKeys = [$o]' \
	--arg l "tcp://[$a1]:7003" --arg o "$other"
node_patch r '.Listen = [] | .Peers = [$p]' --arg p "tcp://[$a1]:7003"
node_start s 1 sut
node_start r 2 real
expect_never_up s "$kr" 4
expect_never_up r "$ks" 0
pass "AllowedPublicKeys without R's key: R's link is refused (never up in 4 s)"
# R reached S's listener (a refused or failed dial would make the check above vacuous).
err="$(ctl r getPeers | jq -r '.peers[] | select(.inbound == false) | .last_error // ""')"
[[ -n "$err" && "$err" != *"dial "* ]] || fail "R's link to S failed for another reason: '$err'"
pass "AllowedPublicKeys without R's key: S closed R's link after connecting ($err)"
stop_both

# 5. ... and one that lists it (among others) lets it in.
node_patch s '.AllowedPublicKeys = [$o, $k]' --arg o "$other" --arg k "$kr"
node_start s 1 sut
node_start r 2 real
wait_peer_up s "$kr"
wait_peer_up r "$ks"
expect_peer s "$kr" "AllowedPublicKeys with R's key: R is an up inbound peer of S" \
	'.inbound == true'
done_ok
