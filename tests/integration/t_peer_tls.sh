#!/usr/bin/env bash
# As t_peer_tcp, over tls:// (TLS 1.3 with self-signed Ed25519 certificates, nothing verified;
# the identity comes from the meta handshake). Spec: link-routing §2.3, §2.4.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
need_root_netns
. "$(dirname "$0")/netns.sh"

peering_both_ways tls
done_ok
