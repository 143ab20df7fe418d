/*
 * ctrl: yggdrasil's protocol messages, the core payloads of type 0x02 (spec
 * yggdrasil-sessions-core-admin.md §3.2): it answers NodeInfo and debug GetSelf / GetPeers /
 * GetTree requests from any node, and sends our own queries (getNodeInfo, debug_remoteGet*)
 * and matches their responses, one pending query per (key, kind).
 *
 * Pure (STYLE.md §7): time comes in as now_ms; messages leave through cbs.send, and the data
 * for answers comes from cbs.
 *
 * Ownership: the pool and cbs.ctx must outlive the ctrl; the NodeInfo bytes are copied. Every
 * struct pkt * argument is consumed. Keys are borrowed for the call. A query's ctx is the
 * caller's and must stay valid until its callback runs or the query is cancelled.
 */
#ifndef YGG64_CORE_CTRL_H
#define YGG64_CORE_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct ctrl;
struct pkt;
struct pkt_pool;

enum {
	CTRL_CORE_TYPE = 0x02,	      /* core payload type of protocol messages (§3.1) */
	CTRL_NODEINFO_MAX = 16384,    /* NodeInfo JSON limit (§3.2) */
	CTRL_QUERY_TIMEOUT_MS = 6000, /* the admin handlers give up after 6 s (§3.2) */
	CTRL_PENDING_MAX = 256,	      /* pending queries at once */
};

/* The four queries; the order matches enum core_query. */
enum ctrl_kind {
	CTRL_NODEINFO, /* 01 -> 02 NodeInfo JSON */
	CTRL_SELF,     /* FF 01 -> FF 02 {"key":...,"routing_entries":...} */
	CTRL_PEERS,    /* FF 03 -> FF 04 concatenated 32-byte keys of up peers */
	CTRL_TREE,     /* FF 05 -> FF 06 concatenated 32-byte keys of the tree table */
	CTRL_KIND_COUNT,
};

/*
 * The outcome of a query, called exactly once unless the query is cancelled first: err 0 with
 * the raw response body (valid during the call only), -ETIMEDOUT after CTRL_QUERY_TIMEOUT_MS,
 * or -ECANCELED (replaced by a newer query for the same key and kind, or ctrl_free). It may
 * call ctrl_query and ctrl_cancel.
 */
typedef void ctrl_reply_cb(void *ctx, int err, const uint8_t *body, size_t len);

/* One key of a foreach; return false to stop early. */
typedef bool ctrl_key_cb(void *arg, const uint8_t key[32]);

struct ctrl_cbs {
	void *ctx;
	/* A core payload ([0x02] || message) for ed pub dest. Consumes msg. */
	void (*send)(void *ctx, const uint8_t dest[32], struct pkt *msg);
	/* GetSelf's routing_entries: the size of our routing (tree) table. */
	uint64_t (*routing_entries)(void *ctx);
	/* Calls cb for the key of every peer link that is up, until cb returns false. */
	void (*foreach_peer)(void *ctx, ctrl_key_cb *cb, void *arg);
	/* Calls cb for the key of every entry of the tree table, until cb returns false. */
	void (*foreach_tree)(void *ctx, ctrl_key_cb *cb, void *arg);
};

struct ctrl_stats {
	uint64_t answered[CTRL_KIND_COUNT]; /* requests answered, per kind */
	uint64_t queries_sent;
	uint64_t replies;     /* responses matched to a pending query */
	uint64_t unsolicited; /* responses with no pending query: dropped */
	uint64_t timeouts;
	uint64_t replaced; /* a pending query replaced by a newer one (-ECANCELED) */
	uint64_t ignored;  /* dummies, unknown types, empty messages */
	uint64_t no_pkt;   /* pool empty or a response too big for its pkt */
};

/*
 * self is our ed pub; mtu is the core MTU (§2.8) that limits GetPeers/GetTree answers;
 * nodeinfo (len bytes, at most CTRL_NODEINFO_MAX) is what NodeInfo requests get: see
 * ctrl_nodeinfo_json. NULL with errno EMSGSIZE when nodeinfo is too long.
 */
struct ctrl *ctrl_new(const uint8_t self[static 32], uint32_t mtu, const void *nodeinfo, size_t len,
		      struct pkt_pool *pool, const struct ctrl_cbs *cbs);
/* Calls every pending query back with -ECANCELED, then frees. NULL is a no-op. */
void ctrl_free(struct ctrl *c);

/*
 * A protocol message from ed pub src: the core payload after its 0x02 byte. Requests are
 * answered (to any sender, no rate limit, even with NodeInfoPrivacy: §3.2), reusing msg for
 * the answer; responses go to their pending query. Consumes msg.
 */
void ctrl_handle(struct ctrl *c, const uint8_t src[static 32], struct pkt *msg, uint64_t now_ms);

/*
 * Sends the request of kind to key and remembers it until its response, a newer query for
 * the same (key, kind) (this one then gets -ECANCELED), the timeout or ctrl_cancel. Returns
 * the query id (> 0), or -EINVAL (bad kind), -ENOBUFS (pool empty) or -ENOSPC
 * (CTRL_PENDING_MAX queries pending); cb is not called then. If cbs.send answers
 * synchronously, cb may run before this returns.
 */
int64_t ctrl_query(struct ctrl *c, const uint8_t key[static 32], enum ctrl_kind kind,
		   ctrl_reply_cb *cb, void *ctx, uint64_t now_ms);
/* Forgets a pending query; its callback will not be called. Unknown ids are ignored. */
void ctrl_cancel(struct ctrl *c, int64_t id);
/* Calls back timed-out queries with -ETIMEDOUT. */
void ctrl_tick(struct ctrl *c, uint64_t now_ms);

size_t ctrl_pending_count(const struct ctrl *c);
const struct ctrl_stats *ctrl_get_stats(const struct ctrl *c);

/*
 * Our NodeInfo bytes (§3.2): cfg's NodeInfo with, unless NodeInfoPrivacy, buildname "ygg64",
 * buildversion, buildplatform "linux" and buildarch (Go's GOARCH name of this build); compact
 * JSON, keys sorted. Returns a heap string (caller frees) and its length in *len, or NULL with
 * errno EMSGSIZE when it is longer than CTRL_NODEINFO_MAX (a fatal startup error).
 */
char *ctrl_nodeinfo_json(const struct config *cfg, size_t *len);

#endif
