/*
 * rwc: the IPv6 adapter between the TUN and the core (yggdrasil-go's ipv6rwc; spec
 * yggdrasil-sessions-core-admin.md §5, MTU §2.8). Outbound it checks a packet from the TUN,
 * maps its 200::/7 destination address or 300::/64 subnet to a full key through the key cache
 * and hands [0x01] || packet to the session layer; unknown destinations keep their last packet
 * while a lookup runs. Inbound it checks that a packet from key K is for us and comes from
 * K's address or subnet (anti-spoofing, §5.2), and answers oversized packets with ICMPv6
 * Packet Too Big.
 *
 * Pure (STYLE.md §7): no I/O, no clock; time comes in as now_ms and expiry is rwc_tick's sweep.
 *
 * Ownership: the pool and cbs.ctx must outlive the rwc. Every struct pkt * argument is consumed
 * on every path. Key and address arguments are borrowed for the call. Callbacks may call
 * rwc_key_found re-entrantly but must not free the rwc.
 */
#ifndef YGG64_CORE_RWC_H
#define YGG64_CORE_RWC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkt;
struct pkt_pool;
struct rwc;

enum {
	RWC_MTU_MIN = 1280,		 /* IPv6 minimum; the MTU given to rwc_new is clamped */
	RWC_MTU_MAX = 65535,		 /* core MTU cap (§2.8) */
	RWC_TYPE_TRAFFIC = 0x01,	 /* core payload type of an IPv6 packet (§3.1) */
	RWC_CACHE_MAX = 4096,		 /* key cache entries; the LRU one is evicted */
	RWC_CACHE_TIMEOUT_MS = 120000,	 /* 2 min after the last use (§5.3) */
	RWC_PENDING_MAX = 128,		 /* destinations with a packet waiting for a lookup */
	RWC_PENDING_TIMEOUT_MS = 120000, /* a waiting packet lives 2 min (§5.1 step 5) */
	RWC_LOOKUP_THROTTLE_MS = 1000,	 /* at most one lookup per destination per second */
	RWC_PTB_QUOTE_MAX = 512,	 /* bytes of the offending packet a PTB quotes (§5.2) */
};

struct rwc_cbs {
	void *ctx;
	/* A core payload ([0x01] || IPv6 packet) for the full key dest. Consumes pkt. */
	void (*send)(void *ctx, const uint8_t dest[32], struct pkt *pkt);
	/* Asks the network for the key whose known bits are those of partial (§4.3, §5.3a). */
	void (*lookup)(void *ctx, const uint8_t partial[32]);
	/* An IPv6 packet for the TUN. Consumes pkt. */
	void (*to_tun)(void *ctx, struct pkt *pkt);
};

/* What became of a packet (STYLE.md §10): one counter per reason in struct rwc_stats. */
enum rwc_verdict {
	RWC_PASS,    /* sent to its key, or written to the TUN */
	RWC_PENDING, /* kept as the waiting packet of its destination while a lookup runs */
	RWC_DROP,    /* dropped and counted */
	RWC_REJECT,  /* dropped, and a Packet Too Big went back to its source */
};

struct rwc_stats {
	/* outbound (TUN -> core) */
	uint64_t out_sent;
	uint64_t out_pending;
	uint64_t out_malformed; /* not IPv6, shorter than 40, or payload length past the end */
	uint64_t out_bad_src;	/* source is neither our address nor in our subnet */
	uint64_t out_bad_dst;	/* destination outside 200::/7 */
	uint64_t out_too_big;	/* longer than the MTU: PTB written to the TUN */
	/* inbound (core -> TUN) */
	uint64_t in_delivered;
	uint64_t in_malformed;
	uint64_t in_bad_dst; /* not our address, not in our subnet */
	uint64_t in_bad_src; /* not derived from the sender's key */
	uint64_t in_too_big; /* longer than the MTU: PTB sent back to the sender */
	/* tables */
	uint64_t lookups;
	uint64_t pending_replaced; /* a waiting packet replaced by a newer one */
	uint64_t pending_evicted;  /* the pending table was full: the oldest one dropped */
	uint64_t pending_expired;
	uint64_t pending_flushed; /* waiting packets sent once their key was found */
	uint64_t cache_evicted;
	uint64_t cache_expired;
	uint64_t no_pkt; /* pool empty for a PTB, or a pkt without headroom for the type byte */
};

/*
 * our_key is our ed pub. mtu is the TUN MTU, clamped to [RWC_MTU_MIN, RWC_MTU_MAX]. The
 * arrays are allocated here (xcalloc); the data path never allocates.
 */
struct rwc *rwc_new(const uint8_t our_key[static 32], uint32_t mtu, struct pkt_pool *pool,
		    const struct rwc_cbs *cbs);
/* Frees every waiting packet. NULL is a no-op. */
void rwc_free(struct rwc *r);
uint32_t rwc_mtu(const struct rwc *r);

/* An IPv6 packet read from the TUN (§5.1). Consumes pkt. */
enum rwc_verdict rwc_from_tun(struct rwc *r, struct pkt *pkt, uint64_t now_ms);
/*
 * A core type 0x01 payload (the type byte already stripped: one IPv6 packet) from the
 * authenticated ed pub src (§5.2). Consumes pkt.
 */
enum rwc_verdict rwc_from_core(struct rwc *r, const uint8_t src[static 32], struct pkt *pkt,
			       uint64_t now_ms);
/*
 * The router accepted a path notify from the full key (§5.3): the key is cached and the
 * packets waiting for its address and its subnet are sent to it.
 */
void rwc_key_found(struct rwc *r, const uint8_t key[static 32], uint64_t now_ms);
/* Expires cache entries and waiting packets. */
void rwc_tick(struct rwc *r, uint64_t now_ms);

/*
 * The cached key for an address (ip[0] == 0x02) or for the /64 of ip (ip[0] == 0x03; bytes
 * 8..15 ignored). false when none. Does not refresh the entry.
 */
bool rwc_find_key(const struct rwc *r, const uint8_t ip[static 16], uint8_t key[static 32]);
size_t rwc_cache_count(const struct rwc *r);
size_t rwc_pending_count(const struct rwc *r);
const struct rwc_stats *rwc_get_stats(const struct rwc *r);

#endif
