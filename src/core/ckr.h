/*
 * ckr: crypto-key routing, "tunnel routing" (yggdrasil v0.3's TunnelRouting, removed in v0.4;
 * spec sessions-core-admin §7.4; nat64-requirements §F 45-50). IPv4 and non-Yggdrasil IPv6
 * subnets are routed to the Ed25519 keys of the nodes that own them, and their packets travel
 * in those nodes' Yggdrasil sessions as the core payload [0x01] || raw IP packet, told apart
 * from the node's own IPv6 only by the version nibble (the wire format of v0.3 and of
 * yggdrasilckr 0.5, §F 48).
 *
 * Outbound (TUN -> overlay, §F 46): the source must lie in a local subnet and the destination
 * must have a route (longest prefix match, lib/lpm); the route's key names the session. A
 * packet larger than the MTU is answered with Fragmentation Needed (IPv4 with DF) or Packet
 * Too Big (IPv6), or cut into fragments (IPv4 without DF), as a router would. Anything else is
 * dropped and counted, and an ICMP error goes back to the sender on the TUN: no route is
 * Destination Unreachable "net unreachable" (3/0; ICMPv6 1/0), a foreign source is
 * "administratively prohibited" (3/13; ICMPv6 1/1). ICMP errors are rate-limited.
 *
 * Inbound (overlay -> TUN, §F 47): the route for the packet's source must name the key that
 * sent it, and the destination must lie in a local subnet (yggdrasilckr skips this second
 * check; it is what keeps a peer from using us as an open relay). Anything else is dropped and
 * counted. A packet larger than the MTU is answered over the overlay (Fragmentation Needed or
 * Packet Too Big, from the packet's destination, as yggdrasil's receiver answers for IPv6,
 * §5.2 step 2) or, for IPv4 without DF, fragmented into the TUN.
 *
 * Yggdrasil destinations (200::/7) never come here (core.c sends them to rwc), and no route
 * may overlap 200::/7.
 *
 * Pure (STYLE.md §7): no I/O, no clock; time comes in as now_ms (the ICMP rate limit).
 * Ownership: pool and cbs.ctx outlive the ckr; every struct pkt * argument is consumed on every
 * path; prefixes and keys are borrowed for the call. Callbacks must not free the ckr or change
 * its routes.
 */
#ifndef YGG64_CORE_CKR_H
#define YGG64_CORE_CKR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inet_prefix;
struct pkt;
struct pkt_pool;
struct ckr;

enum {
	CKR_TYPE_TRAFFIC = 0x01, /* core payload type (sessions spec §3.1), as for IPv6 */
	CKR_ICMP_RATE = 100,	 /* ICMP errors per second, sustained ... */
	CKR_ICMP_BURST = 50,	 /* ... and in a burst (a token bucket, as the kernel's) */
	CKR_MTU_MIN = 1280,	 /* the MTU given to ckr_new is clamped, as rwc's */
	CKR_MTU_MAX = 65535,
};

struct ckr_cbs {
	void *ctx;
	/* A core payload ([0x01] || IP packet) for the node with key dest. Consumes pkt. */
	void (*send)(void *ctx, const uint8_t dest[32], struct pkt *pkt);
	/* An IP packet for the TUN. Consumes pkt. */
	void (*to_tun)(void *ctx, struct pkt *pkt);
};

/* What became of a packet (STYLE.md §10). */
enum ckr_verdict {
	CKR_PASS,   /* sent to its key (whole or in fragments), or written to the TUN */
	CKR_DROP,   /* dropped and counted */
	CKR_REJECT, /* dropped and counted, and an ICMP error was sent (or rate-limited) */
};

/* One direction's counters: each packet is counted once, under what became of it. */
struct ckr_dir_stats {
	uint64_t passed;      /* sent on (out) or delivered (in); a fragmented one counts once */
	uint64_t bytes;	      /* IP bytes of those */
	uint64_t malformed;   /* not a whole IPv4 (header checksum included) or IPv6 packet */
	uint64_t link_scoped; /* out: link-scoped traffic no router forwards (IPv6 from or to
				 fe80::/10 or to interface/link-local multicast ff01::/16,
				 ff02::/16; IPv4 to 224.0.0.0/24 or 255.255.255.255): the
				 host's own chatter on every interface, dropped without an error */
	uint64_t bad_src;     /* out: source outside the local subnets; in: no route for the
				 source, or its route names another key */
	uint64_t bad_dst;     /* out: no route for the destination; in: not a local address */
	uint64_t too_big;     /* larger than the MTU with DF, or IPv6: ICMP sent */
	uint64_t fragmented;  /* IPv4 without DF, larger than the MTU: passed in fragments */
	uint64_t frag_failed; /* could not be fragmented (pool empty, bad options): dropped */
};

struct ckr_stats {
	struct ckr_dir_stats out; /* TUN -> overlay */
	struct ckr_dir_stats in;  /* overlay -> TUN */
	uint64_t icmp_sent;
	uint64_t icmp_limited;	  /* over the rate limit: not sent */
	uint64_t icmp_suppressed; /* RFC 1812 §4.3.2.7 / RFC 4443 §2.4 (e): must not answer */
	uint64_t no_pkt;	  /* pool empty for an ICMP error, or no headroom for the type */
};

/* A route, for the admin socket. */
struct ckr_route_info {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t len;
	uint8_t addr[16];
	uint8_t key[32];
};

/* mtu: the TUN's (the session MTU of v0.5, where no MTU is negotiated), clamped. */
struct ckr *ckr_new(uint32_t mtu, struct pkt_pool *pool, const struct ckr_cbs *cbs);
/* NULL is a no-op. */
void ckr_free(struct ckr *c);
uint32_t ckr_mtu(const struct ckr *c);

/*
 * Routes prefix p (host bits ignored) to key. 0; -EEXIST when p is routed already (to any
 * key: remove it first); -EINVAL for a bad family or length, or an IPv6 prefix that overlaps
 * 200::/7.
 */
int ckr_add_route(struct ckr *c, const struct inet_prefix *p, const uint8_t key[32]);
/*
 * Removes the route for exactly p. key NULL: whatever it names; else only when it names key.
 * 0; -ENOENT when p is not routed (or not to key). The key it named goes to old (if not NULL).
 */
int ckr_remove_route(struct ckr *c, const struct inet_prefix *p, const uint8_t *key,
		     uint8_t old[32]);
/*
 * The route that would carry packets to address a (a->len ignored): true and *route filled,
 * or false. Used by the loop guard.
 */
bool ckr_route_for(const struct ckr *c, const struct inet_prefix *a, struct ckr_route_info *route);
/* Adds a local subnet (host bits ignored). 0, or -EEXIST when present; -EINVAL as above. */
int ckr_add_local(struct ckr *c, const struct inet_prefix *p);
/* True when address a lies in a local subnet. */
bool ckr_is_local(const struct ckr *c, const struct inet_prefix *a);

/* Routes, IPv4 then IPv6, each in prefix order (lib/lpm's). */
typedef void ckr_route_cb(void *ctx, const struct ckr_route_info *r);
void ckr_foreach_route(const struct ckr *c, ckr_route_cb *cb, void *ctx);
/* Local subnets likewise (r->key is all zero). */
void ckr_foreach_local(const struct ckr *c, ckr_route_cb *cb, void *ctx);
size_t ckr_route_count(const struct ckr *c);
const struct ckr_stats *ckr_get_stats(const struct ckr *c);

/* An IPv4 or non-Yggdrasil IPv6 packet read from the TUN. Consumes pkt. */
enum ckr_verdict ckr_from_tun(struct ckr *c, struct pkt *pkt, uint64_t now_ms);
/*
 * A core type 0x01 payload (the type byte stripped) holding an IPv4 or non-Yggdrasil IPv6
 * packet, from the authenticated key src. Consumes pkt.
 */
enum ckr_verdict ckr_from_core(struct ckr *c, const uint8_t src[static 32], struct pkt *pkt,
			       uint64_t now_ms);

#endif
