#!/usr/bin/env bash
# The line  O1 — R — O2  (O1, O2: nodes under test; R: the real yggdrasil) forms one spanning
# tree. Keys are chosen so that O1 has the lowest key: it must become the root, R its child and
# O2 R's child (depth 2), so the node under test is exercised both as the root and as a leaf
# two hops down. Every node lists its own ancestry and its peers' (link-routing §5.6), and
# wherever two nodes list the same key they agree on its parent and sequence; coordinates
# (parent ports, root first, §5.8) are derived from the agreed tree and the parents' getPeers
# ports. Prints how long convergence took. Spec: link-routing §5.2–§5.8.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
. "$(dirname "$0")/netns.sh"

ns_line 3
# Three identities, sorted by public key: the lowest goes to O1.
node_conf_sorted o1 r o2
node_patch o1 '.Listen = [$l]' --arg l "tcp://[$(ns_addr6 1 2)]:7001"
node_patch r '.Peers = [$p] | .Listen = [$l]' \
	--arg p "tcp://[$(ns_addr6 1 2)]:7001" --arg l "tls://[$(ns_addr6 2 3)]:7002"
node_patch o2 '.Peers = [$p]' --arg p "tls://[$(ns_addr6 2 3)]:7002"
declare -A key
for n in o1 r o2; do key[$n]="$(node_key "$n")"; done

# The expected tree: "key parent" for each node, and the keys each node must list.
expected="$(printf '%s %s\n' "${key[o1]}" "${key[o1]}" "${key[r]}" "${key[o1]}" \
	"${key[o2]}" "${key[r]}")"
declare -A must=([o1]="${key[o1]} ${key[r]}" [r]="${key[o1]} ${key[r]} ${key[o2]}"
	[o2]="${key[o1]} ${key[r]} ${key[o2]}")

t0="$(now_s)"
node_start o1 1 sut
node_start r 2 real
node_start o2 3 sut

# converged: every view is a subset of the expected tree holding the keys it must, and all
# views agree on each key's (parent, sequence).
converged() {
	local n k all="" view
	for n in o1 r o2; do
		view="$(ctl "$n" getTree 2>/dev/null | jq -r '.tree[] | "\(.key) \(.parent) \(.sequence)"')" ||
			return 1
		for k in ${must[$n]}; do grep -q "^$k " <<<"$view" || return 1; done
		[[ -z "$(comm -23 <(cut -d' ' -f1,2 <<<"$view" | sort) <(sort <<<"$expected"))" ]] ||
			return 1
		all+="$view"$'\n'
	done
	# One (parent, sequence) per key across the three views.
	[[ -z "$(sed '/^$/d' <<<"$all" | sort -u | cut -d' ' -f1 | uniq -d)" ]]
}
for ((i = 0; i < 150; i++)); do
	converged && break
	sleep 0.2
done
if ! converged; then
	for n in o1 r o2; do
		echo "getTree on $n (${key[$n]:0:8}):"
		ctl "$n" getTree | jq -c '.tree[] | [.key[0:8], .parent[0:8], .sequence]' || true
	done
	fail "no consistent tree with O1 (${key[o1]:0:8}) as root within 30 s"
fi
pass "one tree, root O1 (lowest key ${key[o1]:0:16}…), converged $(since "$t0") s after start"

for n in o1 r o2; do
	self="$(ctl "$n" getSelf)"
	expect_eq "$n getSelf: key" "$(jq -r .key <<<"$self")" "${key[$n]}"
	expect_eq "$n getSelf: address" "$(jq -r .address <<<"$self")" "$(node_addr "$n")"
	expect_eq "$n lists its root as O1" \
		"$(ctl "$n" getTree | jq -r '.tree[] | select(.key == .parent) | .key')" "${key[o1]}"
done

# Coordinates: the port a parent assigned to its child (getPeers "port", §5.2), root first.
port_of() {
	ctl "$1" getPeers | jq -r --arg k "$2" '[.peers[] | select(.key == $k and .up) | .port][0]'
}
p_r="$(port_of o1 "${key[r]}")" p_o2="$(port_of r "${key[o2]}")"
[[ "$p_r" =~ ^[1-9][0-9]*$ && "$p_o2" =~ ^[1-9][0-9]*$ ]] ||
	fail "parents report ports '$p_r' and '$p_o2' for their children (want integers ≥ 1)"
pass "coordinates: O1 [], R [$p_r], O2 [$p_r $p_o2]"
# Each node numbers its peer keys from 1, lowest unused first (§5.2).
expect_eq "R numbers its two peers 1 and 2" \
	"$(ctl r getPeers | jq -c '[.peers[] | select(.up) | .port] | sort')" '[1,2]'
expect_eq "O1 numbers its only peer 1" "$p_r" 1
expect_eq "O2 numbers its only peer 1" "$(port_of o2 "${key[r]}")" 1

idle_usage 3 r o1 o2
done_ok
