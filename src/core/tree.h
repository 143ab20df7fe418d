/*
 * tree: ironwood's spanning tree as a pure state machine (yggdrasil-link-routing.md §5). It
 * owns the info table (one signed {parent, seq, nonce, port} per key, our own included), the
 * per-peer-key gossip state (sent sets, the current SigReq and its stored SigRes), the per-link
 * latency estimate behind link costs, parent selection and our tree coordinates.
 *
 * Pure (STYLE.md §7): time comes in as now_ms, randomness through cbs.random, and SigReq,
 * SigRes and Announce messages leave through cbs.send as decoded structs (the caller encodes
 * them). Ports are assigned by the caller (router, §5.2) and handed in with each link.
 *
 * Ownership: the keypair and cbs.ctx must outlive the tree; every other pointer argument is
 * borrowed for the duration of the call. Messages passed to cbs.send are valid during the call
 * only. Callbacks must not call back into the tree.
 */
#ifndef YGG64_CORE_TREE_H
#define YGG64_CORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct keypair;
struct tree;

enum {
	TREE_INFOS_MAX = 4096,	     /* info table cap; further keys are refused and counted */
	TREE_PEERS_MAX = 4096,	     /* distinct peer keys */
	TREE_REFRESH_MS = 240000,    /* ROUTER_REFRESH: re-sign our own info (§5.7) */
	TREE_TIMEOUT_MS = 300000,    /* ROUTER_TIMEOUT: forget an unrefreshed info (§5.4) */
};

/* Lag of a link before its first SigRes sample: 2^32 - 1 ns (§5.3). */
#define TREE_UNKNOWN_LAG_NS UINT64_C(4294967295)

struct tree_cbs {
	void *ctx;
	/*
	 * Sends msg on link_id. type is PROTO_SIGREQ, PROTO_SIGRES or PROTO_ANNOUNCE and msg
	 * points to the matching struct proto_sigreq / proto_sigres / proto_announce.
	 */
	void (*send)(void *ctx, uint32_t link_id, enum proto_type type, const void *msg);
	/* Uniformly random 64-bit value (SigReq nonces). */
	uint64_t (*random)(void *ctx);
};

/* A snapshot of one info table entry. */
struct tree_info {
	uint8_t key[PROTO_KEY_LEN];
	uint8_t parent[PROTO_KEY_LEN]; /* == key for a root */
	uint64_t seq;
	uint64_t nonce;
	uint64_t port; /* the port the parent assigned to key; 0 for a root */
};

struct tree_stats {
	uint64_t infos_full;	 /* announces refused because the table was full */
	uint64_t infos_expired;	 /* entries dropped after TREE_TIMEOUT_MS */
	uint64_t bad_sigres;	 /* SigRes whose psig did not verify (-EPROTO) */
	uint64_t bad_announce;	 /* Announce that failed its check (-EPROTO) */
	uint64_t parent_changes; /* own info re-signed with another parent or as root */
};

typedef void tree_info_cb(void *ctx, const struct tree_info *info);

/*
 * The tree starts with no info at all: call tree_tick(now) once right away, as ironwood does
 * at start (doRoot2), to become our own root with seq 1.
 */
struct tree *tree_new(const struct keypair *kp, const struct tree_cbs *cbs);
void tree_free(struct tree *t);

/*
 * A link to peer key (not our own) came up; port is the one the caller assigned to that key
 * (the same for every parallel link). For a known key the announces already in its sent set
 * are replayed on the new link first; then the key's SigReq is sent on it (§5.3). Returns 0,
 * -EEXIST (link_id already up), -EINVAL (our own key, or port 0) or -ENOSPC (too many keys).
 */
int tree_link_up(struct tree *t, uint32_t link_id, const uint8_t key[32], uint64_t port,
		 uint64_t now_ms);
/* Forgets the link; the key's state goes with its last link. Unknown ids are ignored. */
void tree_link_down(struct tree *t, uint32_t link_id);

/* Answers a SigReq with a SigRes carrying the key's port (§4.2). Unknown links are ignored. */
void tree_handle_sigreq(struct tree *t, uint32_t link_id, const struct proto_sigreq *req);
/*
 * A SigRes: -EPROTO if its psig does not verify (the link must close); otherwise stored if it
 * answers the current request, and used as a latency sample (§5.3). Returns 0 or -EPROTO.
 */
int tree_handle_sigres(struct tree *t, uint32_t link_id, const struct proto_sigres *res,
		       uint64_t now_ms);
/* An Announce: -EPROTO if it fails its check (§4.3), else the update rule and gossip (§5.4). */
int tree_handle_announce(struct tree *t, uint32_t link_id, const struct proto_announce *ann,
			 uint64_t now_ms);

/*
 * The 1 s maintenance: expiry and refresh timers (§5.7), parent selection (§5.5) and the
 * announce gossip (§5.6).
 */
void tree_tick(struct tree *t, uint64_t now_ms);

/*
 * The update rule of §5.4, exposed for tests: true when cand replaces old (same key). Only
 * seq, parent and nonce take part.
 */
bool tree_info_wins(const struct tree_info *old, const struct tree_info *cand);

/* Coordinates of key (§5.8): false (and an empty path) without a loop-free chain to a root. */
bool tree_coords(const struct tree *t, const uint8_t key[32], struct proto_path *out);
/* Our own info (zeroed before the first tick) and root (§5.5 rootAndDists). */
void tree_get_self(const struct tree *t, struct tree_info *out);
void tree_get_root(const struct tree *t, uint8_t root[32]);
bool tree_find_info(const struct tree *t, const uint8_t key[32], struct tree_info *out);
size_t tree_info_count(const struct tree *t);
/* Every info, in key order. The callback must not modify the tree. */
void tree_foreach_info(const struct tree *t, tree_info_cb *cb, void *ctx);
/* Changes whenever an info changes or a tick passes: invalidates coordinate caches. */
uint64_t tree_gen(const struct tree *t);

/* Link cost max(1, lag in ms) and the raw lag (TREE_UNKNOWN_LAG_NS before a sample). */
uint64_t tree_link_cost(const struct tree *t, uint32_t link_id);
uint64_t tree_link_lag_ns(const struct tree *t, uint32_t link_id);

const struct tree_stats *tree_get_stats(const struct tree *t);

#endif
