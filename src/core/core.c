/*
 * core: the facade (see core.h). It owns the peer table (links), the router (routing state),
 * the session table (end-to-end encryption), the IPv6 adapter (rwc), tunnel routing (ckr, when
 * TunnelRouting is enabled) and the protocol messages (ctrl), and is the only place where they
 * meet:
 *
 *   TUN → core_send_ip → rwc (IPv6 to 200::/7) or ckr (the rest) → [01] → session → router
 *       → peer (link)
 *   link → peer → router → session → [01] rwc or ckr (by destination, as on the way out)
 *       → TUN output / [02] ctrl
 *
 * A [01] payload is one raw IP packet, IPv6 or IPv4 (tunnel routing's wire format is
 * yggdrasilckr's: no other header). Where it goes is decided by is_overlay6() alone, in both
 * directions, so a packet can never reach the other module's checks.
 *
 * Frames flow peer → router through router_handle_frame() and router → peer through
 * peer_send(); link events become router_link_up()/router_link_down(); path notifies teach the
 * rwc key cache.
 *
 * Invariants: every link_id the router knows is up in the peer table; the core never holds a
 * pkt across callbacks. core_new() opens no handle; core_start() opens the tick timer and the
 * peer table's sockets. Close is two-phase: core_close() (only after core_start(), even a
 * failed one) closes the tick timer and the peer table; done() runs when both have reported,
 * and only then may core_free() run.
 *
 * Timers: one 1 s repeating tick (ironwood's maintenance tick, spec link-routing §5.5).
 */
#include "core/core.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config/config.h"
#include "core/ckr.h"
#include "core/peer.h"
#include "core/router.h"
#include "core/rwc.h"
#include "core/ctrl.h"
#include "core/session.h"
#include "crypto/keys.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"

enum { CORE_TICK_MS = 1000 };

struct core {
	uv_loop_t *loop;
	const struct config *cfg;
	const struct keypair *kp;
	struct pkt_pool *pool;
	struct router *router;
	struct peer_table *peers;
	struct session_table *sessions;
	struct rwc *rwc;
	struct ckr *ckr; /* NULL unless TunnelRouting is enabled */
	struct ctrl *ctrl;
	core_ip_cb *ip_out;
	void *ip_ctx;
	core_route_hook *route_hook;
	void *route_ctx;
	bool ygg_routing; /* YggdrasilRouting (always true without tunnel routing) */
	uint64_t ygg_out_dropped, ygg_in_dropped, off_dropped, loop_refused;
	uv_timer_t tick;
	uint8_t key[32];
	uint64_t bad_core_type; /* decrypted payloads of an unknown core type */
	uint64_t no_tun;        /* IP packets for us while no TUN is attached */
	unsigned closing;       /* close completions still awaited */
	core_closed_cb *done;
	void *done_arg;
};

/* ---- peer table → router ---- */

static void on_link_up(void *ctx, uint32_t link_id, const uint8_t key[32], uint8_t prio)
{
	struct core *c = ctx;

	int r = router_link_up(c->router, link_id, key, prio, uv_now(c->loop));

	if (r < 0) {
		log_warn("link %u: the router refused it: %s", (unsigned)link_id, strerror(-r));
		peer_close_link(c->peers, link_id, "refused by the router");
	}
}

static void on_link_down(void *ctx, uint32_t link_id)
{
	struct core *c = ctx;

	router_link_down(c->router, link_id, uv_now(c->loop));
}

static int on_frame(void *ctx, uint32_t link_id, struct pkt *frame)
{
	struct core *c = ctx;

	return router_handle_frame(c->router, link_id, frame, uv_now(c->loop));
}

/* ---- router → peer table / upper layers ---- */

static void on_send(void *ctx, uint32_t link_id, struct pkt *frame)
{
	struct core *c = ctx;

	peer_send(c->peers, link_id, frame);
}

static void on_deliver(void *ctx, const uint8_t source[32], struct pkt *payload)
{
	struct core *c = ctx;

	session_handle(c->sessions, source, payload, uv_now(c->loop));
}

static void on_path_found(void *ctx, const uint8_t key[32])
{
	struct core *c = ctx;

	rwc_key_found(c->rwc, key, uv_now(c->loop));
}

/* ---- sessions → router / upper layers ---- */

static void on_session_send(void *ctx, const uint8_t dest[32], struct pkt *msg)
{
	struct core *c = ctx;

	router_send(c->router, dest, msg, uv_now(c->loop));
}

/*
 * Which module takes an IP packet, in both directions: the IPv6 adapter for IPv6 to 200::/7
 * (and for IPv6 too short to tell, which rwc counts as malformed), tunnel routing for IPv4 and
 * for IPv6 to anywhere else (sessions spec §7.4: Yggdrasil destinations never use it).
 */
static bool is_overlay6(const struct pkt *p)
{
	return p->len >= 1 && p->data[0] >> 4 == 6 &&
	       (p->len < 40 || (p->data[24] & 0xfe) == ADDR_PREFIX);
}

/* A [01] payload from the authenticated key source. Consumes p. */
static void ip_from_core(struct core *c, const uint8_t source[32], struct pkt *p)
{
	uint64_t now = uv_now(c->loop);

	if (is_overlay6(p)) {
		if (c->ygg_routing) {
			rwc_from_core(c->rwc, source, p, now);
			return;
		}
		c->ygg_in_dropped++;
	} else if (c->ckr) {
		ckr_from_core(c->ckr, source, p, now);
		return;
	} else {
		c->off_dropped++;
	}
	pkt_free(p);
}

/* A decrypted core payload: its first byte says who takes it (sessions spec §3.1). */
static void on_session_deliver(void *ctx, const uint8_t source[32], struct pkt *payload)
{
	struct core *c = ctx;
	uint8_t type;

	if (payload->len < 1) {
		pkt_free(payload);
		return;
	}
	type = payload->data[0];
	pkt_pull(payload, 1);
	if (type == RWC_TYPE_TRAFFIC) {
		ip_from_core(c, source, payload);
	} else if (type == CTRL_CORE_TYPE) {
		ctrl_handle(c->ctrl, source, payload, uv_now(c->loop));
	} else {
		/* 0x00 is a dummy; anything else is unknown. Both are dropped. */
		c->bad_core_type += type != 0;
		pkt_free(payload);
	}
}

/* ---- rwc / ctrl → sessions, router, TUN ---- */

static void on_core_payload(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct core *c = ctx;

	session_send(c->sessions, dest, p, uv_now(c->loop));
}

static void on_rwc_lookup(void *ctx, const uint8_t partial[32])
{
	struct core *c = ctx;

	router_lookup(c->router, partial, uv_now(c->loop));
}

static void on_to_tun(void *ctx, struct pkt *p)
{
	struct core *c = ctx;

	if (!c->ip_out) {
		c->no_tun++;
		pkt_free(p);
		return;
	}
	c->ip_out(c->ip_ctx, p);
}

static uint64_t on_routing_entries(void *ctx)
{
	struct core *c = ctx;
	struct router_self_info si;

	router_get_self(c->router, &si);
	return si.routing_entries;
}

struct key_walk {
	ctrl_key_cb *cb;
	void *arg;
	bool is_done;
};

static void peer_key_one(void *ctx, const struct peer_link_info *pl)
{
	struct key_walk *w = ctx;

	if (pl->is_up && !w->is_done)
		w->is_done = !w->cb(w->arg, pl->key);
}

static void on_foreach_peer(void *ctx, ctrl_key_cb *cb, void *arg)
{
	struct core *c = ctx;
	struct key_walk w = {cb, arg, false};

	peer_foreach(c->peers, peer_key_one, &w);
}

static void tree_key_one(void *ctx, const struct router_tree_info *ti)
{
	struct key_walk *w = ctx;

	if (!w->is_done)
		w->is_done = !w->cb(w->arg, ti->key);
}

static void on_foreach_tree(void *ctx, ctrl_key_cb *cb, void *arg)
{
	struct core *c = ctx;
	struct key_walk w = {cb, arg, false};

	router_foreach_tree(c->router, tree_key_one, &w);
}

static uint64_t on_random(void *ctx)
{
	(void)ctx;
	return keys_random_u64();
}

static uint64_t on_unix_time(void *ctx)
{
	(void)ctx;
	return (uint64_t)time(NULL);
}

/* ---- tunnel routing: set-up and the loop guard ---- */

static void on_ckr_send(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct core *c = ctx;

	session_send(c->sessions, dest, p, uv_now(c->loop));
}

/* A socket address as a host prefix; an IPv4-mapped IPv6 one as IPv4. */
static bool prefix_of_sa(const struct sockaddr *sa, struct inet_prefix *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		a->len = 32;
		memcpy(a->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a->family = AF_INET6;
	a->len = 128;
	memcpy(a->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	inet_addr_unmap4(a);
	return true;
}

/*
 * The loop guard (nat64-requirements §F 49), for peer.c: a link to or from an address that a
 * remote subnet covers would carry itself, once the kernel routes that address into our TUN.
 */
static bool on_addr_allowed(void *ctx, const struct sockaddr *sa, char *why, size_t len)
{
	struct core *c = ctx;
	char a[INET_ADDRSTRLEN_MAX], r[INET_PREFIXSTRLEN_MAX], k[17];
	struct inet_prefix ap, rp = {0};
	struct ckr_route_info ri;

	/* InstallRoutes: false: the kernel's routes are the admin's; the socket guard remains. */
	if (!c->ckr || !c->cfg->tunnel.install_routes || !prefix_of_sa(sa, &ap) ||
	    !ckr_route_for(c->ckr, &ap, &ri))
		return true;
	rp.family = ri.family;
	rp.len = ri.len;
	memcpy(rp.addr, ri.addr, sizeof(rp.addr));
	hex_encode(ri.key, 8, k);
	snprintf(why, len,
		 "%s is inside the tunnel-routed subnet %s (to %s...): a link there would be "
		 "routed into the overlay it carries",
		 inet_addr_format(&ap, a), inet_prefix_format(&rp, r), k);
	c->loop_refused++;
	return false;
}

struct cover_walk {
	const struct inet_prefix *p;
	char *err;
	size_t errlen;
	bool is_covered;
};

static bool cover_one(void *ctx, const struct sockaddr *sa, const char *what)
{
	struct cover_walk *w = ctx;
	char a[INET_ADDRSTRLEN_MAX], r[INET_PREFIXSTRLEN_MAX];
	struct inet_prefix ap;

	if (!prefix_of_sa(sa, &ap) || inet_addr_is_unspecified(&ap) ||
	    !inet_prefix_contains(w->p, &ap))
		return true;
	snprintf(w->err, w->errlen,
		 "%s covers %s, the address of %s: its link would be routed into the overlay it "
		 "carries",
		 inet_prefix_format(w->p, r), inet_addr_format(&ap, a), what);
	w->is_covered = true;
	return false;
}

/* The loop guard for a new remote subnet p: true (err set) when it covers a link's address. */
static bool covers_a_link(const struct core *c, const struct inet_prefix *p, char *err,
			  size_t errlen)
{
	struct cover_walk w = {p, err, errlen, false};

	if (!c->cfg->tunnel.install_routes)
		return false; /* as on_addr_allowed */
	peer_foreach_addr(c->peers, cover_one, &w);
	return w.is_covered;
}

static const char *ckr_add_error(int r)
{
	return r == -EEXIST ? "remote subnet already exists"
			    : "not an IPv4 or IPv6 prefix outside 200::/7 (Yggdrasil's own space)";
}

/*
 * Builds ckr from TunnelRouting: the remote subnets (each to a key that is not ours) and the
 * local subnets, plus each of Addresses as a host prefix. The config was checked when loaded
 * (config_check), so only what it cannot know fails here. false after logging why.
 */
static bool tunnel_new(struct core *c, const struct config *cfg)
{
	const struct config_tunnel *t = &cfg->tunnel;
	const struct ckr_cbs cbs = {.ctx = c, .send = on_ckr_send, .to_tun = on_to_tun};
	char s[INET_PREFIXSTRLEN_MAX];
	int r;

	c->ckr = ckr_new(rwc_mtu(c->rwc), c->pool, &cbs);
	for (int fam = 0; fam < 2; fam++) {
		const struct config_route *v = fam ? t->ipv6_remote : t->ipv4_remote;
		size_t n = fam ? t->n_ipv6_remote : t->n_ipv4_remote;

		for (size_t i = 0; i < n; i++) {
			inet_prefix_format(&v[i].prefix, s);
			if (!memcmp(v[i].key, c->key, sizeof(c->key))) {
				log_error(
				    "TunnelRouting: %s (at %u:%u) is routed to this node's own key",
				    s, v[i].pos.line, v[i].pos.col);
				return false;
			}
			r = ckr_add_route(c->ckr, &v[i].prefix, v[i].key);
			if (r < 0) {
				log_error("TunnelRouting: %s (at %u:%u): %s", s, v[i].pos.line,
					  v[i].pos.col, ckr_add_error(r));
				return false;
			}
		}
	}
	for (size_t i = 0; i < t->n_ipv4_local; i++)
		ckr_add_local(c->ckr, &t->ipv4_local[i]);
	for (size_t i = 0; i < t->n_ipv6_local; i++)
		ckr_add_local(c->ckr, &t->ipv6_local[i]);
	for (size_t i = 0; i < t->n_addresses; i++) {
		struct inet_prefix h = t->addresses[i];

		h.len = h.family == AF_INET ? 32 : 128;
		ckr_add_local(c->ckr, &h); /* -EEXIST: listed as a local subnet too */
	}
	return true;
}

static void on_tick(uv_timer_t *t)
{
	struct core *c = container_of(t, struct core, tick);
	uint64_t now = uv_now(c->loop);

	router_tick(c->router, now);
	session_tick(c->sessions, now);
	rwc_tick(c->rwc, now);
	ctrl_tick(c->ctrl, now);
}

struct core *core_new(uv_loop_t *loop, const struct config *cfg, const struct keypair *kp,
		      struct pkt_pool *pool)
{
	struct core *c = xcalloc(1, sizeof(*c));
	const struct router_cbs rcbs = {
		.ctx = c,
		.send = on_send,
		.deliver = on_deliver,
		.path_found = on_path_found,
		.random = on_random,
		.unix_time = on_unix_time,
	};
	const struct peer_cbs pcbs = {
		.ctx = c,
		.link_up = on_link_up,
		.link_down = on_link_down,
		.frame = on_frame,
		.addr_allowed = on_addr_allowed,
	};
	const struct session_cbs scbs = {
		.ctx = c,
		.send = on_session_send,
		.deliver = on_session_deliver,
		.unix_time = on_unix_time,
	};
	const struct rwc_cbs wcbs = {
		.ctx = c,
		.send = on_core_payload,
		.lookup = on_rwc_lookup,
		.to_tun = on_to_tun,
	};
	const struct ctrl_cbs ccbs = {
		.ctx = c,
		.send = on_core_payload,
		.routing_entries = on_routing_entries,
		.foreach_peer = on_foreach_peer,
		.foreach_tree = on_foreach_tree,
	};
	size_t nlen;
	char *nodeinfo = ctrl_nodeinfo_json(cfg, &nlen);
	uint32_t mtu = cfg->if_mtu > RWC_MTU_MAX ? RWC_MTU_MAX : (uint32_t)cfg->if_mtu;

	if (!nodeinfo) {
		/* sessions spec §3.2: an oversized NodeInfo is a fatal start-up error. */
		log_error("NodeInfo: longer than %d bytes as JSON", CTRL_NODEINFO_MAX);
		free(c);
		return NULL;
	}

	c->loop = loop;
	c->cfg = cfg;
	c->kp = kp;
	c->pool = pool;
	keys_public(kp, c->key);
	c->router = router_new(kp, pool, &rcbs, uv_now(loop));
	c->sessions = session_table_new(kp, pool, &scbs);
	c->rwc = rwc_new(c->key, mtu, pool, &wcbs);
	c->ctrl = ctrl_new(c->key, rwc_mtu(c->rwc), nodeinfo, nlen, pool, &ccbs);
	free(nodeinfo);
	c->ygg_routing = !cfg->tunnel.is_enabled || cfg->tunnel.ygg_routing;
	c->peers = peer_table_new(loop, cfg, kp, pool, &pcbs);
	if (!c->peers || !c->ctrl || (cfg->tunnel.is_enabled && !tunnel_new(c, cfg))) {
		core_free(c);
		return NULL;
	}
	return c;
}

int core_start(struct core *c)
{
	int r;

	uv_timer_init(c->loop, &c->tick);
	r = peer_table_start(c->peers);
	if (r < 0)
		return r;
	/* The first tick makes us our own root (doRoot2 starts true, §5.5). */
	uv_timer_start(&c->tick, on_tick, 0, CORE_TICK_MS);
	return 0;
}

static void close_step(struct core *c)
{
	if (--c->closing == 0 && c->done)
		c->done(c->done_arg);
}

static void on_tick_closed(uv_handle_t *h)
{
	close_step(container_of((uv_timer_t *)h, struct core, tick));
}

static void on_peers_closed(void *arg)
{
	close_step(arg);
}

void core_close(struct core *c, core_closed_cb *done, void *arg)
{
	c->done = done;
	c->done_arg = arg;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tick, on_tick_closed);
	peer_table_close(c->peers, on_peers_closed, c);
}

void core_free(struct core *c)
{
	if (!c)
		return;
	peer_table_free(c->peers);
	ctrl_free(c->ctrl);
	ckr_free(c->ckr);
	rwc_free(c->rwc);
	session_table_free(c->sessions);
	router_free(c->router);
	free(c);
}

int core_add_peer(struct core *c, const char *uri, const char *iface, const char **err)
{
	return peer_add(c->peers, uri, iface, err);
}

int core_remove_peer(struct core *c, const char *uri, const char *iface, const char **err)
{
	return peer_remove(c->peers, uri, iface, err);
}

void core_get_self(const struct core *c, struct core_self_info *out)
{
	struct router_self_info si;

	memset(out, 0, sizeof(*out));
	router_get_self(c->router, &si);
	memcpy(out->key, c->key, sizeof(out->key));
	addr_from_key(c->key, out->address);
	addr_subnet_from_key(c->key, out->subnet);
	out->routing_entries = si.routing_entries;
}

struct peer_walk {
	const struct core *c;
	core_peer_cb *cb;
	void *ctx;
};

static void peer_walk_one(void *ctx, const struct peer_link_info *pl)
{
	struct peer_walk *w = ctx;
	struct core_peer_info info;
	struct router_link_info rl;

	memset(&info, 0, sizeof(info));
	snprintf(info.remote, sizeof(info.remote), "%s", pl->remote);
	info.is_up = pl->is_up;
	info.is_inbound = pl->is_inbound;
	info.has_key = pl->is_up;
	if (pl->is_up)
		memcpy(info.key, pl->key, sizeof(info.key));
	info.priority = pl->priority;
	info.bytes_recvd = pl->bytes_recvd;
	info.bytes_sent = pl->bytes_sent;
	info.rate_recvd = pl->rate_recvd;
	info.rate_sent = pl->rate_sent;
	info.uptime_ms = pl->uptime_ms;
	info.has_error = pl->has_error;
	info.last_error_age_ms = pl->last_error_age_ms;
	snprintf(info.last_error, sizeof(info.last_error), "%s", pl->last_error);
	if (pl->is_up && router_get_link(w->c->router, pl->link_id, &rl)) {
		info.port = rl.port;
		info.cost = rl.cost;
		info.latency_ns = rl.latency_ns;
	}
	w->cb(w->ctx, &info);
}

void core_foreach_peer(const struct core *c, core_peer_cb *cb, void *ctx)
{
	struct peer_walk w = {c, cb, ctx};

	peer_foreach(c->peers, peer_walk_one, &w);
}

struct tree_walk {
	core_tree_cb *cb;
	void *ctx;
};

static void tree_walk_one(void *ctx, const struct router_tree_info *ti)
{
	struct tree_walk *w = ctx;
	struct core_tree_info info;

	memcpy(info.key, ti->key, sizeof(info.key));
	memcpy(info.parent, ti->parent, sizeof(info.parent));
	info.seq = ti->seq;
	w->cb(w->ctx, &info);
}

void core_foreach_tree(const struct core *c, core_tree_cb *cb, void *ctx)
{
	struct tree_walk w = {cb, ctx};

	router_foreach_tree(c->router, tree_walk_one, &w);
}

struct path_walk {
	core_path_cb *cb;
	void *ctx;
};

static void path_walk_one(void *ctx, const struct router_path_info *pi)
{
	struct path_walk *w = ctx;
	struct core_path_info info;

	memset(&info, 0, sizeof(info));
	memcpy(info.key, pi->key, sizeof(info.key));
	info.path_len = pi->path.len;
	if (info.path_len > sizeof(info.path) / sizeof(info.path[0]))
		info.path_len = sizeof(info.path) / sizeof(info.path[0]);
	memcpy(info.path, pi->path.port, info.path_len * sizeof(info.path[0]));
	info.seq = pi->seq;
	w->cb(w->ctx, &info);
}

void core_foreach_path(const struct core *c, core_path_cb *cb, void *ctx)
{
	struct path_walk w = {cb, ctx};

	router_foreach_path(c->router, path_walk_one, &w);
}

struct session_walk {
	const struct core *c;
	core_session_cb *cb;
	void *ctx;
};

static void session_walk_one(void *ctx, const struct session_info *si)
{
	struct session_walk *w = ctx;
	struct core_session_info info;

	memcpy(info.key, si->key, sizeof(info.key));
	info.bytes_recvd = si->bytes_recvd;
	info.bytes_sent = si->bytes_sent;
	info.uptime_ms = si->uptime_ms;
	w->cb(w->ctx, &info);
}

void core_foreach_session(const struct core *c, core_session_cb *cb, void *ctx)
{
	struct session_walk w = {c, cb, ctx};

	session_foreach(c->sessions, session_walk_one, &w, uv_now(c->loop));
}

int64_t core_query(struct core *c, const uint8_t key[32], enum core_query q, core_query_cb *cb,
		   void *ctx)
{
	/* enum core_query and enum ctrl_kind list the same queries in the same order. */
	static const enum ctrl_kind kinds[] = {
	    [CORE_QUERY_NODEINFO] = CTRL_NODEINFO,
	    [CORE_QUERY_SELF] = CTRL_SELF,
	    [CORE_QUERY_PEERS] = CTRL_PEERS,
	    [CORE_QUERY_TREE] = CTRL_TREE,
	};

	if ((unsigned)q >= sizeof(kinds) / sizeof(kinds[0]))
		return -EINVAL;
	return ctrl_query(c->ctrl, key, kinds[q], cb, ctx, uv_now(c->loop));
}

void core_query_cancel(struct core *c, int64_t id)
{
	ctrl_cancel(c->ctrl, id);
}

void core_set_ip_output(struct core *c, core_ip_cb *cb, void *ctx)
{
	c->ip_out = cb;
	c->ip_ctx = ctx;
}

void core_send_ip(struct core *c, struct pkt *p)
{
	uint64_t now = uv_now(c->loop);

	if (is_overlay6(p)) {
		if (c->ygg_routing) {
			rwc_from_tun(c->rwc, p, now);
			return;
		}
		c->ygg_out_dropped++;
	} else if (c->ckr) {
		ckr_from_tun(c->ckr, p, now);
		return;
	} else {
		c->off_dropped++;
	}
	pkt_free(p);
}

uint32_t core_ip_mtu(const struct core *c)
{
	return rwc_mtu(c->rwc);
}

/* ---- tunnel routing: the admin side ---- */

bool core_tunnel_routed4(const struct core *c, const uint8_t dst[4])
{
	struct inet_prefix a = {.family = AF_INET, .len = 32};
	struct ckr_route_info ri;

	if (!c->ckr)
		return false;
	memcpy(a.addr, dst, 4);
	return ckr_route_for(c->ckr, &a, &ri);
}

static void dir_info(struct core_tunnel_dir *d, const struct ckr_dir_stats *s)
{
	d->passed = s->passed;
	d->bytes = s->bytes;
	d->malformed = s->malformed;
	d->link_scoped = s->link_scoped;
	d->bad_src = s->bad_src;
	d->bad_dst = s->bad_dst;
	d->too_big = s->too_big;
	d->fragmented = s->fragmented;
	d->frag_failed = s->frag_failed;
}

void core_get_tunnel(const struct core *c, struct core_tunnel_info *out)
{
	memset(out, 0, sizeof(*out));
	out->ygg_routing = c->ygg_routing;
	out->install_routes = c->cfg->tunnel.install_routes;
	out->ygg_out_dropped = c->ygg_out_dropped;
	out->ygg_in_dropped = c->ygg_in_dropped;
	out->off_dropped = c->off_dropped;
	out->loop_refused = c->loop_refused;
	if (!c->ckr)
		return;
	const struct ckr_stats *s = ckr_get_stats(c->ckr);

	out->is_enabled = true;
	out->mtu = ckr_mtu(c->ckr);
	out->routes = ckr_route_count(c->ckr);
	dir_info(&out->out, &s->out);
	dir_info(&out->in, &s->in);
	out->icmp_sent = s->icmp_sent;
	out->icmp_limited = s->icmp_limited;
	out->icmp_suppressed = s->icmp_suppressed;
	out->no_pkt = s->no_pkt;
}

struct subnet_walk {
	core_subnet_cb *cb;
	void *ctx;
	bool has_key;
};

static void subnet_one(void *ctx, const struct ckr_route_info *ri)
{
	struct subnet_walk *w = ctx;
	struct inet_prefix p = {.family = ri->family, .len = ri->len};

	memcpy(p.addr, ri->addr, sizeof(p.addr));
	w->cb(w->ctx, &p, w->has_key ? ri->key : NULL);
}

void core_foreach_remote_subnet(const struct core *c, core_subnet_cb *cb, void *ctx)
{
	struct subnet_walk w = {cb, ctx, true};

	if (c->ckr)
		ckr_foreach_route(c->ckr, subnet_one, &w);
}

void core_foreach_local_subnet(const struct core *c, core_subnet_cb *cb, void *ctx)
{
	struct subnet_walk w = {cb, ctx, false};

	if (c->ckr)
		ckr_foreach_local(c->ckr, subnet_one, &w);
}

void core_set_route_hook(struct core *c, core_route_hook *hook, void *ctx)
{
	c->route_hook = hook;
	c->route_ctx = ctx;
}

/* The admin commands' common start: tunnel routing is on; s gets p's text. */
static int tunnel_cmd_begin(const struct core *c, const struct inet_prefix *p, char *s,
			    char *err, size_t errlen)
{
	if (!c->ckr) {
		snprintf(err, errlen, "tunnel routing is not enabled (TunnelRouting.Enable)");
		return -ENOTSUP;
	}
	inet_prefix_format(p, s);
	return 0;
}

int core_add_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t key[32],
			   char *err, size_t errlen)
{
	char s[INET_PREFIXSTRLEN_MAX];
	int r = tunnel_cmd_begin(c, p, s, err, errlen);

	if (r < 0)
		return r;
	if (!memcmp(key, c->key, sizeof(c->key))) {
		snprintf(err, errlen, "%s: that is this node's own key", s);
		return -EINVAL;
	}
	if (covers_a_link(c, p, err, errlen))
		return -EPERM;
	r = ckr_add_route(c->ckr, p, key);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", s, ckr_add_error(r));
		return r;
	}
	if (c->route_hook && (r = c->route_hook(c->route_ctx, true, p)) < 0) {
		ckr_remove_route(c->ckr, p, NULL, NULL);
		snprintf(err, errlen, "%s: the kernel refused the route: %s", s, strerror(-r));
		return r;
	}
	log_info("TunnelRouting: %s added (admin)", s);
	return 0;
}

int core_remove_remote_subnet(struct core *c, const struct inet_prefix *p, const uint8_t *key,
			      char *err, size_t errlen)
{
	char s[INET_PREFIXSTRLEN_MAX];
	int r = tunnel_cmd_begin(c, p, s, err, errlen);

	if (r < 0)
		return r;
	r = ckr_remove_route(c->ckr, p, key, NULL);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", s,
			 key ? "no such remote subnet for that key" : "no such remote subnet");
		return r;
	}
	/* The route is gone from the table either way; a kernel route already gone is fine. */
	if (c->route_hook && (r = c->route_hook(c->route_ctx, false, p)) < 0 && r != -ENOENT)
		log_warn("TunnelRouting: %s removed, but its kernel route stays: %s", s,
			 strerror(-r));
	log_info("TunnelRouting: %s removed (admin)", s);
	return 0;
}

void core_set_sock_mark(struct core *c, uint32_t mark)
{
	peer_table_set_sock_mark(c->peers, mark);
}
