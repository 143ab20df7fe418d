/*
 * fake_core: a seam fake of the core facade's admin queries (core/core.h: core_get_self,
 * core_foreach_peer/tree/path/session, core_add_peer, core_remove_peer, core_query,
 * core_query_cancel, and tunnel routing's core_get_tunnel, core_foreach_*_subnet and
 * core_add/remove_remote_subnet, which keep subnets[] with the real core's error rules) and of
 * tun_get_info (tun/tun.h), for tests that link the admin socket without y64core and y64tun. struct
 * core and struct tun are transparent here: a test fills their fields, and addPeer/removePeer keep
 * a list of configured URIs with yggdrasil's error texts.
 *
 * Remote queries are recorded in queries[] and answered with answers[kind] (err and body):
 * at once inside core_query (answer_delay_ms == 0), after answer_delay_ms on loop (> 0; a
 * timer per query, closed when it fires or the query is cancelled), or only when the test
 * calls fake_core_answer (FAKE_NEVER, the default; also the case when loop is NULL).
 */
#ifndef YGG64_TESTS_SUPPORT_FAKE_CORE_H
#define YGG64_TESTS_SUPPORT_FAKE_CORE_H

#include <uv.h>

#include "core/core.h"
#include "tun/tun.h"

enum { FAKE_CORE_MAX = 8, FAKE_BODY_MAX = 1024, FAKE_NEVER = -1 };

struct fake_query {
	bool is_used;	 /* taken until the query ends and its timer has closed */
	bool is_pending; /* cb not yet called nor cancelled */
	bool has_timer;
	int64_t id;
	uint8_t key[32];
	enum core_query q;
	core_query_cb *cb;
	void *ctx;
	uv_timer_t timer;
	struct core *core;
	unsigned n_calls_at_answer; /* core->n_calls when the answer went out */
};

struct fake_answer {
	int err;
	uint8_t body[FAKE_BODY_MAX];
	size_t len;
};

/* The TUN as tun_get_info reports it. */
struct tun {
	struct tun_info info;
};

struct core {
	struct core_self_info self;
	struct core_peer_info peers[FAKE_CORE_MAX];
	size_t n_peers;
	struct core_tree_info tree[FAKE_CORE_MAX];
	size_t n_tree;
	struct core_path_info paths[FAKE_CORE_MAX];
	size_t n_paths;
	struct core_session_info sessions[FAKE_CORE_MAX];
	size_t n_sessions;
	/* remote queries */
	uv_loop_t *loop;
	int64_t answer_delay_ms; /* FAKE_NEVER, 0 (inside core_query) or a delay on loop */
	int query_err;		 /* < 0: core_query fails with it */
	struct fake_answer answers[CORE_QUERY_TREE + 1];
	struct fake_query queries[FAKE_CORE_MAX];
	int64_t next_id;
	unsigned n_queries, n_answered, n_cancels;
	char uris[FAKE_CORE_MAX][128]; /* configured by addPeer */
	char ifaces[FAKE_CORE_MAX][32];
	size_t n_uris;
	unsigned n_calls; /* every core_* call, to prove a request reached (or not) the core */
	/* tunnel routing: what getTunnelRouting shows; add/removeRemoteSubnet edit subnets[] */
	struct core_tunnel_info tunnel;
	struct fake_subnet {
		struct inet_prefix p;
		uint8_t key[32];
	} subnets[FAKE_CORE_MAX];
	size_t n_subnets;
	struct inet_prefix locals[FAKE_CORE_MAX];
	size_t n_locals;
};

/* A zeroed fake core (queries never answered); fill it, then free() it. */
struct core *fake_core_new(void);

/* The keys of nodes A, B and C of the 0.5.12 captures. */
#define FAKE_KEY_A "ea9b934036ab90d2f1d7d780782fd336302a8296c34f309735296056fece846d"
#define FAKE_KEY_B "7e3e82978401b10bec857834006eabd880920796696410826218ade6a5db55f5"
#define FAKE_KEY_C "aeeac450b3dac63e07af52d12094f361ad6bb2ac2d49f2d2c6236dd8627f6a9b"

/* 64 hex digits into out (asserts). */
void fake_core_key(const char *hex, uint8_t out[32]);
/* getSelf of the node with key hex: address and subnet derived (core/addr.h). */
void fake_core_self(struct core *c, const char *hex, size_t routing_entries);
/* Appends a zeroed peer with remote and (when hex is not NULL) a key; returns it to fill. */
struct core_peer_info *fake_core_peer(struct core *c, const char *remote, const char *hex);
/*
 * A's up peer B (ctl-A-getPeers.json with has_rates; admin-raw.txt's later getPeers, whose
 * counters differ and rates are zero, without).
 */
void fake_core_peer_b_of_a(struct core *c, uint64_t uptime_ms, bool has_rates);
/* Node A: self, peer B, tree and paths of the captures (tree and paths out of key order). */
struct core *fake_core_node_a(void);

/* The answer to kind q: err 0 and body (text, or n bytes when n > 0). */
void fake_core_set_answer(struct core *c, enum core_query q, const void *body, size_t n);
/* Answers the pending query in slot i now (asserts it is pending). */
void fake_core_answer(struct core *c, size_t i);
/* The slot of the only pending query (asserts there is exactly one). */
size_t fake_core_pending(const struct core *c);

#endif
