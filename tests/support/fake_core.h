/*
 * fake_core: a seam fake of the core facade's admin queries (core/core.h: core_get_self,
 * core_foreach_peer/tree/path, core_add_peer, core_remove_peer) for tests that link the admin
 * socket without y64core. struct core is transparent here: a test fills its arrays, and
 * addPeer/removePeer keep a list of configured URIs with yggdrasil's error texts.
 */
#ifndef YGG64_TESTS_SUPPORT_FAKE_CORE_H
#define YGG64_TESTS_SUPPORT_FAKE_CORE_H

#include "core/core.h"

enum { FAKE_CORE_MAX = 8 };

struct core {
	struct core_self_info self;
	struct core_peer_info peers[FAKE_CORE_MAX];
	size_t n_peers;
	struct core_tree_info tree[FAKE_CORE_MAX];
	size_t n_tree;
	struct core_path_info paths[FAKE_CORE_MAX];
	size_t n_paths;
	char uris[FAKE_CORE_MAX][128]; /* configured by addPeer */
	char ifaces[FAKE_CORE_MAX][32];
	size_t n_uris;
	unsigned n_calls; /* every core_* call, to prove a request reached (or not) the core */
};

/* A zeroed fake core; fill it, then free() it. */
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

#endif
