/*
 * core: the facade of the Yggdrasil protocol implementation. Code outside src/core includes
 * only this header (STYLE.md §2). The core joins the peer table (links: transports, meta
 * handshake, framing; core/peer.c) to the routing state machine (core/router.c) and runs the
 * 1 s router tick. It registers its handles on a loop it is given and never runs it.
 *
 * Snapshots for the admin socket are plain values (*_info), copied out through callbacks; no
 * pointer into core state escapes.
 */
#ifndef YGG64_CORE_CORE_H
#define YGG64_CORE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "lib/inet.h"

struct config;
struct keypair;
struct pkt;
struct pkt_pool;
struct core;
typedef struct uv_loop_s uv_loop_t;

/*
 * Size of the packet buffers the core needs: a whole ironwood frame (yggdrasil's maximum
 * message size, spec link-routing §3.1), so a received frame is never too big for a pkt.
 */
enum { CORE_PKT_CAP = 131070 };

/* getSelf */
struct core_self_info {
	uint8_t key[32];
	uint8_t address[16];
	uint8_t subnet[8];
	size_t routing_entries;
};

/* getPeers: one entry per link, up or down (configured peers that are backing off too). */
struct core_peer_info {
	char remote[512];  /* URI as configured; inbound: tcp://ip:port of the remote end */
	bool is_up;
	bool is_inbound;
	bool has_key;
	uint8_t key[32];
	uint64_t port;
	uint8_t priority;
	uint64_t cost;
	uint64_t bytes_recvd;
	uint64_t bytes_sent;
	uint64_t rate_recvd; /* bytes/s */
	uint64_t rate_sent;
	uint64_t uptime_ms;
	uint64_t latency_ns;
	bool has_error;
	uint64_t last_error_age_ms;
	char last_error[256];
};

/* getTree */
struct core_tree_info {
	uint8_t key[32];
	uint8_t parent[32];
	uint64_t seq;
};

/* getPaths */
struct core_path_info {
	uint8_t key[32];
	uint64_t path[128];
	size_t path_len;
	uint64_t seq;
};

/* getSessions */
struct core_session_info {
	uint8_t key[32];
	uint64_t bytes_recvd;
	uint64_t bytes_sent;
	uint64_t uptime_ms;
};

/* Remote queries (getNodeInfo, debug_remoteGet*), answered over the overlay (spec §3.2). */
enum core_query {
	CORE_QUERY_NODEINFO,
	CORE_QUERY_SELF,
	CORE_QUERY_PEERS,
	CORE_QUERY_TREE,
};

/*
 * The answer to a remote query: err 0 and the raw response body (NodeInfo JSON; debug GetSelf
 * JSON; concatenated 32-byte keys for peers/tree), or err -ETIMEDOUT after 6 s, or another
 * negative errno. body is valid only during the call.
 */
typedef void core_query_cb(void *ctx, int err, const uint8_t *body, size_t len);

typedef void core_peer_cb(void *ctx, const struct core_peer_info *info);
typedef void core_session_cb(void *ctx, const struct core_session_info *info);
typedef void core_tree_cb(void *ctx, const struct core_tree_info *info);
typedef void core_path_cb(void *ctx, const struct core_path_info *info);
typedef void core_closed_cb(void *arg);

/*
 * Builds the core from cfg (Peers, InterfacePeers, Listen, AllowedPublicKeys). cfg, kp and pool
 * must outlive it. NULL after logging why.
 */
struct core *core_new(uv_loop_t *loop, const struct config *cfg, const struct keypair *kp,
		      struct pkt_pool *pool);
/*
 * Opens the listeners and starts dialling the configured peers. 0 or a negative errno. Once it
 * has been called, successful or not, core_close() must run before core_free().
 */
int core_start(struct core *c);
/* Closes every link, listener and timer; done(arg) runs once all handles are closed. */
void core_close(struct core *c, core_closed_cb *done, void *arg);
/* Frees a core whose close has completed, or that was never started (core_new opens nothing). */
void core_free(struct core *c);

/* addPeer / removePeer. 0, or a negative errno with *err set to a message for the admin. */
int core_add_peer(struct core *c, const char *uri, const char *iface, const char **err);
int core_remove_peer(struct core *c, const char *uri, const char *iface, const char **err);

void core_get_self(const struct core *c, struct core_self_info *out);
void core_foreach_peer(const struct core *c, core_peer_cb *cb, void *ctx);
void core_foreach_tree(const struct core *c, core_tree_cb *cb, void *ctx);
void core_foreach_path(const struct core *c, core_path_cb *cb, void *ctx);
void core_foreach_session(const struct core *c, core_session_cb *cb, void *ctx);

/*
 * Sends a remote query to key and calls cb exactly once (answer, timeout or error), unless the
 * query is cancelled first. Returns a query id > 0, or a negative errno (cb not called).
 */
int64_t core_query(struct core *c, const uint8_t key[32], enum core_query q, core_query_cb *cb,
		   void *ctx);
/* Cancels a pending query (e.g. its admin client went away): cb will not be called. */
void core_query_cancel(struct core *c, int64_t id);

/*
 * The data path. The daemon connects the TUN: packets read from it go to core_send_ip;
 * packets for the TUN come out of the callback set with core_set_ip_output. An IPv6 packet to
 * 200::/7 is the node's own overlay traffic (the IPv6 adapter, rwc); an IPv4 packet, or an
 * IPv6 one to any other address, is tunnel-routed when TunnelRouting is enabled (ckr), and
 * dropped (counted) otherwise.
 */
typedef void core_ip_cb(void *ctx, struct pkt *p);
void core_set_ip_output(struct core *c, core_ip_cb *cb, void *ctx);
/* An IPv4 or IPv6 packet from the TUN. Consumes p. */
void core_send_ip(struct core *c, struct pkt *p);
/* The MTU the TUN should use for the overlay (min of IfMTU and the session MTU). */
uint32_t core_ip_mtu(const struct core *c);

/* ---- tunnel routing (TunnelRouting; core/ckr.c) ---- */

/* One direction's counters (ckr.h's struct ckr_dir_stats). */
struct core_tunnel_dir {
	uint64_t passed, bytes, malformed, link_scoped, bad_src, bad_dst, too_big, fragmented;
	uint64_t frag_failed;
};

/* getTunnelRouting */
struct core_tunnel_info {
	bool is_enabled;
	bool ygg_routing;    /* YggdrasilRouting */
	bool install_routes; /* InstallRoutes */
	uint32_t mtu;
	size_t routes;
	struct core_tunnel_dir out; /* TUN -> overlay */
	struct core_tunnel_dir in;  /* overlay -> TUN */
	uint64_t icmp_sent, icmp_limited, icmp_suppressed, no_pkt;
	uint64_t ygg_out_dropped; /* 200::/7 packets dropped because YggdrasilRouting is false */
	uint64_t ygg_in_dropped;
	uint64_t off_dropped;  /* IPv4 / non-200::/7 packets while tunnel routing is off */
	uint64_t loop_refused; /* addresses not dialled, links refused by the loop guard */
};

/* A remote subnet (key = the node it is routed to) or a local subnet (key NULL). */
typedef void core_subnet_cb(void *ctx, const struct inet_prefix *p, const uint8_t *key);

void core_get_tunnel(const struct core *c, struct core_tunnel_info *out);
/* True when tunnel routing is on and a remote subnet holds the IPv4 address dst. */
bool core_tunnel_routed4(const struct core *c, const uint8_t dst[4]);
/* Remote subnets, then (core_foreach_local_subnet) local ones: IPv4 first, in prefix order. */
void core_foreach_remote_subnet(const struct core *c, core_subnet_cb *cb, void *ctx);
void core_foreach_local_subnet(const struct core *c, core_subnet_cb *cb, void *ctx);

/*
 * The kernel's side of the routes, kept by the daemon: called for every remote subnet added
 * or removed at run time (addRemoteSubnet / removeRemoteSubnet), before the change takes
 * effect; a negative errno from an add refuses the change. The configured subnets are there
 * from core_new on; the daemon installs their kernel routes itself (core_foreach_remote_subnet).
 */
typedef int core_route_hook(void *ctx, bool is_add, const struct inet_prefix *p);
void core_set_route_hook(struct core *c, core_route_hook *hook, void *ctx);
/*
 * addRemoteSubnet / removeRemoteSubnet. Sessions are untouched. 0, or a negative errno with a
 * message for the admin in err (errlen bytes): tunnel routing off, a bad or Yggdrasil prefix,
 * our own key, a prefix already routed (or, for remove, not routed to key when key is not
 * NULL), a subnet that covers the address of a peer, listener or open link (the loop guard),
 * or the kernel's refusal.
 */
int core_add_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t key[32],
			   char *err, size_t errlen);
int core_remove_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t *key,
			      char *err, size_t errlen);
/*
 * The loop guard's socket mark (tun.h's tun_guard): every TCP socket the peer table opens
 * from now on carries it. Call before core_start.
 */
void core_set_sock_mark(struct core *c, uint32_t mark);

#endif
