/*
 * pathfinder: ironwood's path lookups and path cache (yggdrasil-link-routing.md §7.3-§7.6).
 * Lookups travel by bloom "multicast" over tree edges; the node whose key transform matches
 * answers with a signed PathNotify routed back greedily; the requester caches the responder's
 * coordinates per full key and sends Traffic along them. Rumors (keyed by the key transform)
 * throttle lookups and hold the newest packet waiting for an answer.
 *
 * Pure (STYLE.md §7): time comes in as now_ms and through cbs.unix_time (notify seqs are Unix
 * seconds); routing, multicast and traffic leave through cbs (the router implements them).
 *
 * Ownership: the keypair, the pool and cbs.ctx must outlive the pathfinder. Every struct pkt *
 * argument is consumed. Other pointers are borrowed for the call. Callbacks may call
 * pathfinder_handle_broken/pathfinder_handle_notify re-entrantly (the router does, when a
 * routed packet turns out unroutable); they must not free the pathfinder.
 */
#ifndef YGG64_CORE_PATHFINDER_H
#define YGG64_CORE_PATHFINDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct keypair;
struct pathfinder;
struct pkt;
struct pkt_pool;

enum {
	PF_PATH_TIMEOUT_MS = 60000, /* PATH_TIMEOUT (§7.6) */
	PF_THROTTLE_MS = 1000,	    /* PATH_THROTTLE (§7.6) */
	PF_RETRY_MS = 2000,	    /* repeat the lookup of a rumor holding a packet (local) */
	PF_RETRY_BATCH = 64,	    /* at most this many repeated lookups per tick */
	PF_PATHS_MAX = 2048,	    /* path cache cap: the oldest-expiring entry is evicted */
	PF_RUMORS_MAX = 1024,	    /* rumor cap: likewise */
	/* pool pkts held at once: per-path copies of the last packet plus packets waiting in
	 * rumors; past it, copies are skipped and waiting packets dropped (the pool is shared) */
	PF_HELD_MAX = 256,
};

struct pathfinder_cbs {
	void *ctx;
	/* Our current tree coordinates (§5.8). */
	void (*coords)(void *ctx, struct proto_path *out);
	/*
	 * Sends l to every on-tree peer key except from_key whose received filter matches
	 * xform(l->dest) (§7.3). from_key is our own key for a lookup we start.
	 */
	void (*multicast)(void *ctx, const struct proto_lookup *l, const uint8_t from_key[32]);
	/*
	 * The next-hop step of §7.2 for a notify / broken: returns true if it was sent on to a
	 * peer, false if no peer is closer (n->watermark is updated either way).
	 */
	bool (*forward_notify)(void *ctx, struct proto_notify *n);
	bool (*forward_broken)(void *ctx, struct proto_broken *b);
	/*
	 * Sends payload to dest as Traffic along path (from = our coordinates, watermark MAX),
	 * handled as if received (§7.2). Consumes payload.
	 */
	void (*send_traffic)(void *ctx, const uint8_t dest[32], const struct proto_path *path,
			     struct pkt *payload);
	/* A notify from key was accepted: we have a path to that full key. */
	void (*path_found)(void *ctx, const uint8_t key[32]);
	/* Current Unix time in seconds. */
	uint64_t (*unix_time)(void *ctx);
};

/* What became of a notify or an outgoing packet. */
enum pathfinder_verdict {
	PF_FORWARDED, /* sent on toward its path */
	PF_ACCEPTED,  /* a notify for us, stored */
	PF_IGNORED,   /* not for us, stale, same path, or unrequested */
	PF_BAD_SIG,   /* a notify for us whose signature failed */
	PF_SENT,      /* a packet went out along a cached path */
	PF_BUFFERED,  /* a packet waits in a rumor for a lookup answer */
};

struct pathfinder_path_info {
	uint8_t key[PROTO_KEY_LEN];
	struct proto_path path;
	uint64_t seq;
	bool is_broken;
};

struct pathfinder_stats {
	uint64_t lookups_started;
	uint64_t lookups_retried; /* repeated for a waiting packet (PF_RETRY_MS) */
	uint64_t notifies_sent;	 /* answers to lookups for us */
	uint64_t paths_evicted;	 /* the cache was full */
	uint64_t rumors_evicted; /* likewise */
	uint64_t buffered_dropped; /* a waiting packet replaced, expired or over PF_HELD_MAX */
};

typedef void pathfinder_path_cb(void *ctx, const struct pathfinder_path_info *info);

struct pathfinder *pathfinder_new(const struct keypair *kp, struct pkt_pool *pool,
				  const struct pathfinder_cbs *cbs);
/* Frees every held packet. */
void pathfinder_free(struct pathfinder *pf);

/* A lookup from the on-tree peer from_key (the caller drops off-tree ones, §7.3). */
void pathfinder_handle_lookup(struct pathfinder *pf, const uint8_t from_key[32],
			      const struct proto_lookup *l, uint64_t now_ms);
/* A notify (received, or made by us): routed on, or checked and stored (§7.4). */
enum pathfinder_verdict pathfinder_handle_notify(struct pathfinder *pf, struct proto_notify *n,
						 uint64_t now_ms);
/* A broken (received or made by the router for unroutable traffic, §7.5). */
void pathfinder_handle_broken(struct pathfinder *pf, struct proto_broken *b, uint64_t now_ms);
/* Sends payload to the full key dest (§7.6). Consumes payload. */
enum pathfinder_verdict pathfinder_send(struct pathfinder *pf, const uint8_t dest[32],
					struct pkt *payload, uint64_t now_ms);
/* rumorLookup of §7.6 for a full or partial key. */
void pathfinder_lookup(struct pathfinder *pf, const uint8_t key[32], uint64_t now_ms);
/* Traffic from key reached us: its path lives on (unless broken). */
void pathfinder_reset_timeout(struct pathfinder *pf, const uint8_t key[32], uint64_t now_ms);
/* Expires paths and rumors (PF_PATH_TIMEOUT_MS). */
void pathfinder_tick(struct pathfinder *pf, uint64_t now_ms);

bool pathfinder_find_path(const struct pathfinder *pf, const uint8_t key[32],
			  struct pathfinder_path_info *out);
size_t pathfinder_path_count(const struct pathfinder *pf);
size_t pathfinder_rumor_count(const struct pathfinder *pf);
/* Every path, in key order. The callback must not modify the pathfinder. */
void pathfinder_foreach_path(const struct pathfinder *pf, pathfinder_path_cb *cb, void *ctx);
const struct pathfinder_stats *pathfinder_get_stats(const struct pathfinder *pf);

#endif
