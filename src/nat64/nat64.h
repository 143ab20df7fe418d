/*
 * nat64: the stateful NAT64 (RFC 6146, headers by RFC 7915, addresses by RFC 6052), the facade
 * of src/nat64. It takes IPv6 packets to the NAT64 prefix and IPv4 packets to the pool, and
 * hands translated packets (and the ICMP errors it generates) to two output callbacks. The
 * pipeline of one packet: parse (xlat) -> fragments (frag) -> BIB and session (table) ->
 * translate in place (xlat) -> fragment for the next hop (lib/ipfrag) -> output.
 *
 * No libuv and no I/O here: the daemon calls nat64_input6/4 from its TUN (and, fused, from
 * tunnel routing) and nat64_tick from a timer, with the time in milliseconds from any fixed
 * origin (uv_now). Everything is bounded by the NAT64 caps (config_nat64: G 53).
 *
 * The addresses the NAT64 speaks from: ICMPv4 errors it generates come from the pool address
 * the packet was sent to (D 40); ICMPv6 errors it generates come from the prefix plus the
 * first pool address (so traceroute names the NAT64 as a hop); a translated ICMPv4 error comes
 * from the prefix plus the IPv4 router that sent it (D 39, traceroute-friendly).
 *
 * Ownership: input functions consume their pkt (translated and passed to an output callback,
 * held as a fragment or a stored SYN, or freed and counted). Output callbacks own what they
 * get.
 */
#ifndef YGG64_NAT64_NAT64_H
#define YGG64_NAT64_NAT64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat64/snap.h" /* the state on disk: part of the facade */
#include "nat64/table.h"

struct config_nat64;
struct pkt;
struct pkt_pool;

/* A translated or generated packet: IPv4 (out4) or IPv6 (out6) at p->data. */
typedef void nat64_out_cb(void *ctx, struct pkt *p);

struct nat64_params {
	const struct config_nat64 *cfg; /* borrowed for nat64_new (the pool must be set) */
	uint32_t mtu6;			/* IPv6 side: the MTU toward the clients (the TUN's) */
	uint32_t mtu4;			/* IPv4 side: the next hop's MTU (plain mode: the TUN's) */
	struct pkt_pool *pool;		/* for fragments and ICMP errors; outlives the nat64 */
	nat64_out_cb *out4, *out6;
	void *ctx;
	const uint8_t *secret; /* 16 bytes keying ports and IPv4 IDs; NULL: random */
};

/* Why a packet was not translated: one counter per reason and direction (G 51). */
enum nat64_reason {
	NAT64_R_MALFORMED,  /* not a well-formed packet */
	NAT64_R_HOP_LIMIT,  /* TTL or hop limit ran out: Time Exceeded sent */
	NAT64_R_HOP_ZERO,   /* arrived with TTL 0 */
	NAT64_R_PROTO,	    /* not TCP, UDP or ICMP */
	NAT64_R_ICMP_TYPE,  /* an ICMP type the RFC 7915 tables drop */
	NAT64_R_ICMP_INNER, /* an ICMP error whose quoted packet cannot be mapped */
	NAT64_R_ICMP_FRAG,  /* fragmented ICMP */
	NAT64_R_MULTICAST,  /* multicast or broadcast */
	NAT64_R_OPTIONS,    /* source route (3/5) or segments left (4/0): error sent */
	NAT64_R_TOO_BIG,    /* larger than the next hop with DF: PTB / Frag Needed sent */
	NAT64_R_WKP,	    /* non-global IPv4 under 64:ff9b::/96 (A 4) */
	NAT64_R_NO_PORT,    /* pool exhausted: ICMPv6 1/3 sent (B 11) */
	NAT64_R_BIB_FULL,   /* MaxBIBEntries reached: ICMPv6 1/3 sent */
	NAT64_R_SESS_FULL,  /* MaxSessions reached */
	NAT64_R_NO_BIB,	    /* 4->6 to an unbound (T,t); 6->4 TCP non-SYN without a mapping */
	NAT64_R_FILTERED,   /* address-dependent filtering: ICMPv4 3/13 sent */
	NAT64_R_NO_SESSION, /* 4->6 TCP non-SYN without a session */
	NAT64_R_NOT_OURS,   /* 4->6 to an address or port that is not the pool's */
	NAT64_R_FRAG,	    /* fragment dropped: evicted, expired, or its datagram unusable */
	NAT64_R_SYN_UNANSWERED, /* a stored unsolicited SYN expired: ICMPv4 3/3 sent (B 16) */
	NAT64_R_SYN_DROPPED,	/* an unsolicited SYN not stored (MaxStoredSYNs full) */
	NAT64_R_NO_BUFFER,	/* the pkt pool was empty (fragments, errors) */
	NAT64_NREASONS
};
/* "malformed", "hop_limit", ...: the names getNAT64 uses. */
const char *nat64_reason_name(int r);

enum nat64_dir { NAT64_6TO4, NAT64_4TO6, NAT64_NDIRS };

struct nat64_dir_stats {
	uint64_t packets; /* translated (a GSO pkt counts once) */
	uint64_t bytes;	  /* their bytes after translation */
	uint64_t gso;	  /* GSO pkts among them */
	uint64_t hairpin; /* 6->4 packets turned back to a client (B 18) */
	uint64_t errors_sent; /* ICMP errors generated (toward the sender of the packet) */
	uint64_t errors_limited; /* ... not sent: over the rate limit (B 21) */
	uint64_t dropped[NAT64_NREASONS];
};

enum { NAT64_INFO_POOL_MAX = 64 }; /* pool addresses listed in nat64_info */

struct nat64_info {
	/* Configuration in effect */
	uint8_t prefix[16];
	uint8_t prefix_len;
	size_t npool; /* pool addresses (every /32 of Pool4) */
	uint8_t pool[NAT64_INFO_POOL_MAX][4]; /* the first of them */
	uint16_t port_min, port_max;
	bool is_adf, mss_clamp;
	uint32_t mtu4, mtu6;
	/* State */
	struct nat64_dir_stats dir[NAT64_NDIRS];
	struct nat64_table_info table;
	size_t frag_pkts, frag_max; /* fragments held now, cap */
	uint64_t frag_held, frag_evicted, frag_expired;
	size_t stored_syns, max_stored_syns;
	size_t memory; /* bytes: tables + fragments (not the pkt pool) */
};

struct nat64;

/* NULL after logging why (bad parameters, memory). */
struct nat64 *nat64_new(const struct nat64_params *p);
/* Frees the translator and every pkt it holds. NULL is a no-op. */
void nat64_free(struct nat64 *n);

/* True when the IPv6 packet b (len bytes) is addressed into the NAT64 prefix. */
bool nat64_wants6(const struct nat64 *n, const uint8_t *b, size_t len);
/*
 * True when the IPv4 packet b is the translator's (B 10): addressed to a pool address, and for
 * TCP/UDP a destination port in PortRange, for an ICMP echo an identifier in it that is bound
 * in the BIB, for an ICMP error a quoted source port in it (or a bound identifier); fragments
 * other than the first: any. The rest of a pool address that is also the host's belongs to
 * the host (its pings use random identifiers, which may fall in PortRange).
 */
bool nat64_wants4(const struct nat64 *n, const uint8_t *b, size_t len);

/* An IPv6 packet to the prefix (consumed). now: milliseconds. */
void nat64_input6(struct nat64 *n, struct pkt *p, uint64_t now);
/* An IPv4 packet to the pool (consumed). */
void nat64_input4(struct nat64 *n, struct pkt *p, uint64_t now);
/* Expiry of sessions, fragments and stored SYNs; call about once a second. */
void nat64_tick(struct nat64 *n, uint64_t now);

void nat64_get_info(const struct nat64 *n, struct nat64_info *out);
/* Sessions now, every protocol together. */
size_t nat64_session_count(const struct nat64 *n);
/* Sessions of proto (NAT64_NPROTO: all), as nat64_table_foreach. */
void nat64_foreach_session(const struct nat64 *n, int proto, nat64_session_cb *cb, void *ctx);
/*
 * Puts a session back (snapshot restore, nat64/snap.h): nat64_table_restore with s->expires in
 * the caller's clock, and now the translator's latest time if it was earlier. NAT64_T_OK or
 * the table's reason (enum nat64_table_result).
 */
int nat64_restore(struct nat64 *n, const struct nat64_session_info *s, uint64_t now);
/* The latest time an input or tick brought (the origin of the sessions' expires). */
uint64_t nat64_now(const struct nat64 *n);
/* The prefix as configured, for embedding addresses in admin output (16 bytes + length). */
void nat64_embed(const struct nat64 *n, const uint8_t v4[4], uint8_t out[16]);

#endif
