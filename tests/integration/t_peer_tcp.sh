#!/usr/bin/env bash
# The node under test peers with the real yggdrasil 0.5.12 over tcp://, in both directions: it
# dials a real listener (IPv6), and a real node dials its listener (IPv4). Both ends list each
# other as up peers, checked with the real yggdrasilctl on every admin socket, the node under
# test's included. Spec: link-routing §2.1, §2.4, §3.2; sessions-core-admin §6.3.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
. "$(dirname "$0")/netns.sh"

peering_both_ways tcp
done_ok
