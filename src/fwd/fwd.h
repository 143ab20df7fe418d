/*
 * fwd: where a packet goes next, decided in one place (issue 13). The daemon has three
 * sources of IP packets and five places to send them; fwd_classify names the next stage of a
 * packet from its origin and its header, and the daemon only carries it there. Nothing else
 * in the daemon looks at a packet to route it.
 *
 *   origin      packet                                             next stage
 *   TUN         IPv6 to 200::/7 (the node's own overlay traffic)    OVERLAY6 (core: rwc)
 *   TUN         IPv6 to the NAT64 prefix                            NAT64_6TO4
 *   TUN         other IPv6                                          TUNNEL (core: ckr)
 *   TUN         IPv4 the NAT64 claims (a Pool4 routed to the TUN)    NAT64_4TO6
 *   TUN         other IPv4                                          TUNNEL
 *   OVERLAY     IPv4 the NAT64 claims (pool address, port or ICMP   NAT64_4TO6
 *               id in PortRange, or an error quoting one)
 *   OVERLAY     anything else (delivered to this host)              TUN
 *   NAT64       IPv4 (translated 6->4, or an ICMPv4 error it made)  TUNNEL when tunnel routing
 *               with a remote subnet for its destination            (straight into the overlay)
 *   NAT64       other IPv4                                          TUN when v4_to_tun (the pool
 *               is not a host address: the kernel routes it), else TUNNEL (tunnel routing
 *               answers 3/0, which the NAT64 turns into ICMPv6 1/0 for the client, F 46)
 *   NAT64       IPv6 (translated 4->6, or an ICMPv6 error it made)  TUN
 * A packet too short to read its addresses, or of another version, is dropped (MALFORMED).
 * Nothing the NAT64 made goes back into it: it turns hairpinned packets around itself (B 18).
 * OVERLAY is what the core hands the host: packets delivered by a session, and the ICMP errors
 * tunnel routing or the IPv6 adapter generate for the TUN side (such an error about a
 * translated packet is addressed to the pool, so it goes back through the NAT64 to the client:
 * F 43).
 * Without NAT64 (ops.wants6/wants4 NULL) TUN packets go to the core and OVERLAY ones to the TUN,
 * as before issue 13. Without tunnel routing (ops.routed4 NULL) the NAT64's IPv4 goes to the
 * TUN (plain mode).
 *
 * Pure: lib only, no I/O; the predicates are the NAT64's and tunnel routing's own
 * (nat64_wants6/4, core_tunnel_routed), given as callbacks so that the table above is the
 * only decision here. Counters per origin and stage.
 */
#ifndef YGG64_FWD_FWD_H
#define YGG64_FWD_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fwd_origin { FWD_FROM_TUN, FWD_FROM_OVERLAY, FWD_FROM_NAT64, FWD_NORIGINS };

enum fwd_stage {
	FWD_OVERLAY6,	/* core_send_ip: IPv6 to 200::/7 */
	FWD_TUNNEL,	/* core_send_ip: tunnel routing */
	FWD_NAT64_6TO4, /* nat64_input6 */
	FWD_NAT64_4TO6, /* nat64_input4 */
	FWD_TUN,	/* tun_write */
	FWD_DROP,	/* freed; the reason is counted */
	FWD_NSTAGES
};

enum fwd_drop { FWD_D_MALFORMED, FWD_NDROPS };

/* "overlay6", "tunnel", "nat64_6to4", ... and "malformed": for logs and admin. */
const char *fwd_stage_name(int s);
const char *fwd_drop_name(int d);

/* b: the IP packet, len >= 1 bytes. Each NULL when its module is off. */
struct fwd_ops {
	void *ctx;
	bool (*wants6)(void *ctx, const uint8_t *b, size_t len); /* IPv6 to the NAT64 prefix */
	bool (*wants4)(void *ctx, const uint8_t *b, size_t len); /* IPv4 the NAT64 takes */
	bool (*routed4)(void *ctx, const uint8_t dst[4]);	 /* a remote subnet holds dst */
};

struct fwd {
	struct fwd_ops ops;
	bool v4_to_tun; /* the NAT64's unrouted IPv4 goes to the kernel (see the table) */
	uint64_t n[FWD_NORIGINS][FWD_NSTAGES];
	uint64_t dropped[FWD_NDROPS];
};

void fwd_init(struct fwd *f, const struct fwd_ops *ops, bool v4_to_tun);
/* The next stage of the packet b (len bytes, len may be 0) from origin o; counted. */
enum fwd_stage fwd_classify(struct fwd *f, enum fwd_origin o, const uint8_t *b, size_t len);

#endif
