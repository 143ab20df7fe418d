/*
 * router: ironwood's routing layer as one pure state machine. It joins the spanning tree
 * (tree.c), the per-peer bloom filter state, the path finder (pathfinder.c) and the greedy
 * tree-distance forwarding of Traffic, PathNotify and PathBroken (§7.2). Spec:
 * yggdrasil-link-routing.md §5, §6.3, §7.
 *
 * Pure (STYLE.md §7): no fds, no libuv, no clock, no globals. Time comes in as now_ms
 * (monotonic milliseconds, from uv_now) and through cbs.unix_time (path-notify seqs are Unix
 * seconds); randomness through cbs.random. Everything it sends leaves through cbs.send as a
 * frame (type || body, no length prefix) in a pool pkt.
 *
 * Links are identified by a link_id chosen by the caller (unique while the link is up).
 * Several links may lead to the same peer key; they share that key's port (§5.2).
 *
 * Ownership: every struct pkt * argument is consumed (forwarded or freed) on every path,
 * errors included. The keypair must outlive the router.
 *
 * Re-entrancy: callbacks may call router_send() and router_lookup(). A router_link_down()
 * made from inside a callback (e.g. a send that fails) only marks the link dead, so nothing
 * more is sent on it, and is carried out when the outermost router call returns. Callbacks
 * must not call router_link_up() or router_free().
 */
#ifndef YGG64_CORE_ROUTER_H
#define YGG64_CORE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

struct keypair;
struct pkt;
struct pkt_pool;
struct router;

struct router_cbs {
	void *ctx;
	/* Sends frame (type || body) on link_id. Consumes frame. */
	void (*send)(void *ctx, uint32_t link_id, struct pkt *frame);
	/* A Traffic payload addressed to us arrived from source. Consumes payload. */
	void (*deliver)(void *ctx, const uint8_t source[32], struct pkt *payload);
	/* A PathNotify from key was accepted: we now have a path to that full key. */
	void (*path_found)(void *ctx, const uint8_t key[32]);
	/* Uniformly random 64-bit value (nonces). */
	uint64_t (*random)(void *ctx);
	/* Current Unix time in seconds. */
	uint64_t (*unix_time)(void *ctx);
};

/* Counters, one per reason (STYLE.md §10). */
struct router_stats {
	uint64_t frames_in[PROTO_TYPE_COUNT];
	uint64_t frames_out[PROTO_TYPE_COUNT];
	uint64_t bad_frames;        /* decode failures and failed checks (the link is closed) */
	uint64_t traffic_delivered;
	uint64_t traffic_forwarded;
	uint64_t traffic_unroutable; /* became PathBroken */
	uint64_t traffic_buffered;   /* waited for a lookup */
	uint64_t notify_bad_sig;
	uint64_t lookups_sent;
	uint64_t no_pkt;             /* pool empty: dropped */
};

struct router_self_info {
	uint8_t key[32];
	uint8_t root[32];
	struct proto_path coords;
	uint64_t seq;            /* our own info's sequence number */
	size_t routing_entries;  /* entries in the info table (getSelf "routing_entries") */
};

struct router_link_info {
	uint8_t key[32];
	uint64_t port;       /* the port we assigned to this peer key */
	uint64_t cost;       /* max(1, lag in ms) */
	uint64_t latency_ns; /* the lag estimate; 0 before the first sample */
	uint8_t priority;
	bool is_parent;
};

struct router_tree_info {
	uint8_t key[32];
	uint8_t parent[32];
	uint64_t seq;
};

struct router_path_info {
	uint8_t key[32];
	struct proto_path path;
	uint64_t seq;
	bool is_broken;
};

typedef void router_tree_cb(void *ctx, const struct router_tree_info *info);
typedef void router_path_cb(void *ctx, const struct router_path_info *info);

struct router *router_new(const struct keypair *kp, struct pkt_pool *pool,
			  const struct router_cbs *cbs, uint64_t now_ms);
void router_free(struct router *r);

/*
 * A link finished its meta handshake with peer key (never our own). prio is the link's
 * effective priority (max of ours and the remote's). Sends the replayed Announces, the
 * initial SigReq and our Bloom (§5.3). Returns 0, -EEXIST if link_id is already up, -EINVAL
 * for our own key, or -ENOSPC when the tree holds too many peer keys (the link is not up).
 */
int router_link_up(struct router *r, uint32_t link_id, const uint8_t key[32], uint8_t prio,
		   uint64_t now_ms);
void router_link_down(struct router *r, uint32_t link_id, uint64_t now_ms);
/*
 * A frame (type || body) received on link_id; KeepAlive and Dummy are the link layer's (they
 * are ignored here). Consumes frame. Returns 0, -EPROTO when the frame was malformed or
 * failed a check that makes the Go side close the link (§3.1): the caller must close it, or
 * -ENOENT when link_id is not up (the frame is dropped).
 */
int router_handle_frame(struct router *r, uint32_t link_id, struct pkt *frame,
			uint64_t now_ms);
/* The 1 s maintenance tick: parent selection, announces, blooms, expiry (§5.5–§5.7, §6.3). */
void router_tick(struct router *r, uint64_t now_ms);
/*
 * Sends payload to the full key dest: along the cached path, or after a lookup (only the
 * newest packet waits, §7.6). Consumes payload.
 */
void router_send(struct router *r, const uint8_t dest[32], struct pkt *payload,
		 uint64_t now_ms);
/* Starts a lookup for a (possibly partial) key, throttled as in §7.6. */
void router_lookup(struct router *r, const uint8_t key[32], uint64_t now_ms);

void router_get_self(const struct router *r, struct router_self_info *out);
bool router_get_link(const struct router *r, uint32_t link_id, struct router_link_info *out);
void router_foreach_tree(const struct router *r, router_tree_cb *cb, void *ctx);
void router_foreach_path(const struct router *r, router_path_cb *cb, void *ctx);
const struct router_stats *router_get_stats(const struct router *r);

#endif
