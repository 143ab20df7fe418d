/*
 * router: joins links to the spanning tree (tree.c), the bloom filters of §6.3 and the
 * pathfinder (pathfinder.c), and forwards Traffic, PathNotify and PathBroken greedily in tree
 * space with the watermark rule (yggdrasil-link-routing.md §7.1, §7.2; see router.h).
 *
 * Owns: the link table (struct rlink, sorted by link_id), the peer-key table (struct rpeer:
 * the port of §5.2, the send/recv filters and onTree/zDirty/cnt of §6.3, and a coordinate
 * cache), the tree and the pathfinder.
 *
 * Invariants:
 * - every rpeer has nlinks >= 1 links, all with the same port; ports are the lowest unused
 *   integer >= 1 when a key first appears (§5.2).
 * - frames are encoded only here, always whole and valid (§3.1: never a frame Go refuses).
 * - depth counts nested public calls; a link_down arriving from inside a callback only marks
 *   the link dead (nothing more is sent on it) and is carried out when the outermost call
 *   returns, so no table changes under an iteration.
 *
 * Timers: none of its own; router_tick (1 s) drives the tree, the filters (forced resend
 * every ROUTER_BLOOM_RESEND ticks) and the pathfinder's expiry.
 */
#include "core/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bloom.h"
#include "core/pathfinder.h"
#include "core/tree.h"
#include "crypto/keys.h"
#include "lib/list.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	ROUTER_BLOOM_RESEND = 3600, /* ticks between forced filter resends (§6.3) */
	/* type + two deepest paths + two keys + the longest watermark (§4.8) */
	TRAFFIC_HDR_MAX = 1 + 2 * (PROTO_PATH_MAX * WIRE_UVARINT_MAX + 1) + 2 * PROTO_KEY_LEN +
			  WIRE_UVARINT_MAX,
};

struct rpeer {
	uint8_t key[PROTO_KEY_LEN];
	uint64_t port;
	struct list_node links; /* struct rlink.peer_node */
	struct bloom send;	/* the last filter sent (§6.3) */
	struct bloom recv;	/* the last filter received, kept even off-tree */
	bool is_on_tree;
	bool is_zdirty;
	uint32_t cnt;
	bool has_coords;
	uint64_t coords_gen;
	struct proto_path coords;
};

struct rlink {
	uint32_t id;
	struct rpeer *peer;
	struct list_node peer_node;
	uint8_t prio;
	uint64_t order; /* lower = older */
	uint64_t cost;	/* tree_link_cost, refreshed when a SigRes arrives */
	bool is_dead;	/* link_down came from inside a callback */
};

struct router {
	struct router_cbs cbs;
	const struct keypair *kp;
	struct pkt_pool *pool;
	uint8_t self[PROTO_KEY_LEN];
	uint8_t self_x[PROTO_KEY_LEN];
	struct tree *tree;
	struct pathfinder *pf;
	struct rlink **links; /* sorted by id */
	size_t nlinks, links_cap;
	struct rpeer **peers;
	size_t npeers, peers_cap;
	uint64_t next_order;
	bool has_self_coords;
	uint64_t self_gen;
	struct proto_path self_coords;
	unsigned depth;
	bool has_dead;
	uint64_t now_ms; /* of the current public call, for callbacks */
	struct router_stats stats;
};

/* ---- tables ---- */

static struct rlink *link_find(const struct router *r, uint32_t id, size_t *pos)
{
	size_t lo = 0, hi = r->nlinks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->links[mid]->id == id) {
			if (pos)
				*pos = mid;
			return r->links[mid];
		}
		if (r->links[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

static struct rpeer *peer_find(const struct router *r, const uint8_t key[32])
{
	for (size_t i = 0; i < r->npeers; i++)
		if (memcmp(r->peers[i]->key, key, PROTO_KEY_LEN) == 0)
			return r->peers[i];
	return NULL;
}

/* §5.2: the lowest integer >= 1 no current peer key holds. */
static uint64_t free_port(const struct router *r)
{
	for (uint64_t port = 1;; port++) {
		size_t i;

		for (i = 0; i < r->npeers && r->peers[i]->port != port; i++)
			;
		if (i == r->npeers)
			return port;
	}
}

/* ---- coordinates and distance (§5.8, §7.1) ---- */

static const struct proto_path *self_coords(struct router *r)
{
	uint64_t gen = tree_gen(r->tree);

	if (!r->has_self_coords || r->self_gen != gen) {
		tree_coords(r->tree, r->self, &r->self_coords);
		r->self_gen = gen;
		r->has_self_coords = true;
	}
	return &r->self_coords;
}

static const struct proto_path *peer_coords(struct router *r, struct rpeer *p)
{
	uint64_t gen = tree_gen(r->tree);

	if (!p->has_coords || p->coords_gen != gen) {
		/* No usable info gives [], which looks like the root (§7.1 quirk). */
		tree_coords(r->tree, p->key, &p->coords);
		p->coords_gen = gen;
		p->has_coords = true;
	}
	return &p->coords;
}

static uint64_t dist(const struct proto_path *dest, const struct proto_path *k)
{
	uint64_t d = (uint64_t)dest->len + k->len;
	uint16_t end = dest->len < k->len ? dest->len : k->len;

	for (uint16_t i = 0; i < end && dest->port[i] == k->port[i]; i++)
		d -= 2;
	return d;
}

/*
 * lookup(path, &wm) of §7.2: the link to a peer strictly closer to path than we are, by
 * cost per distance gained, then distance, then age; NULL when none (or no progress).
 */
static struct rlink *next_hop(struct router *r, const struct proto_path *path, uint64_t *wm)
{
	uint64_t self_d = dist(path, self_coords(r));
	uint64_t best_cpd = UINT64_MAX, best_d = UINT64_MAX;
	struct rlink *best = NULL;

	if (self_d >= *wm)
		return NULL;
	*wm = self_d;
	for (size_t i = 0; i < r->nlinks; i++) {
		struct rlink *l = r->links[i];
		uint64_t d, cpd;

		if (l->is_dead)
			continue;
		d = dist(path, peer_coords(r, l->peer));
		if (d >= self_d)
			continue;
		cpd = l->cost / (self_d - d);
		if (!best)
			goto take;
		if (l->peer == best->peer && l->prio != best->prio) {
			if (l->prio < best->prio)
				goto take;
			continue;
		}
		if (cpd != best_cpd) {
			if (cpd < best_cpd)
				goto take;
			continue;
		}
		if (d != best_d) {
			if (d < best_d)
				goto take;
			continue;
		}
		if (l->order >= best->order)
			continue;
take:
		best = l;
		best_cpd = cpd;
		best_d = d;
	}
	return best;
}

/* ---- sending ---- */

static void send_frame(struct router *r, struct rlink *l, struct pkt *frame)
{
	if (l->is_dead) {
		pkt_free(frame);
		return;
	}
	r->stats.frames_out[frame->data[0]]++;
	r->cbs.send(r->cbs.ctx, l->id, frame);
}

typedef void encode_fn(struct wire_wr *wr, const void *msg);

#define ENCODER(name, type)                                                                        \
	static void enc_##name(struct wire_wr *wr, const void *msg)                                \
	{                                                                                          \
		proto_##name##_encode(wr, (const type *)msg);                                      \
	}
ENCODER(sigreq, struct proto_sigreq)
ENCODER(sigres, struct proto_sigres)
ENCODER(announce, struct proto_announce)
ENCODER(bloom, struct bloom)
ENCODER(lookup, struct proto_lookup)
ENCODER(notify, struct proto_notify)
ENCODER(broken, struct proto_broken)

static encode_fn *const encoders[PROTO_TYPE_COUNT] = {
	[PROTO_SIGREQ] = enc_sigreq, [PROTO_SIGRES] = enc_sigres, [PROTO_ANNOUNCE] = enc_announce,
	[PROTO_BLOOM] = enc_bloom,   [PROTO_LOOKUP] = enc_lookup, [PROTO_NOTIFY] = enc_notify,
	[PROTO_BROKEN] = enc_broken,
};

/* Encodes msg (the struct for type) into a fresh pool pkt and sends it on l. */
static void send_msg(struct router *r, struct rlink *l, enum proto_type type, const void *msg)
{
	struct pkt *p;
	struct wire_wr wr;

	if (l->is_dead)
		return;
	p = pkt_alloc(r->pool);
	if (!p) {
		r->stats.no_pkt++;
		return;
	}
	wire_wr_init(&wr, p->data, pkt_tailroom(p));
	encoders[type](&wr, msg);
	if (!wire_wr_ok(&wr)) {
		/* the pool's pkts are too small for this frame: as good as no pkt */
		pkt_free(p);
		r->stats.no_pkt++;
		return;
	}
	pkt_put(p, wr.len);
	send_frame(r, l, p);
}

static void send_to_peer(struct router *r, struct rpeer *p, enum proto_type type,
			 const void *msg)
{
	struct list_node *n;

	list_foreach(n, &p->links)
		send_msg(r, list_entry(n, struct rlink, peer_node), type, msg);
}

/* Puts hdr[0..n) in front of p's data: in the headroom, else by moving the payload. */
static bool prepend(struct pkt *p, const uint8_t *hdr, size_t n)
{
	uint8_t *d = pkt_push(p, n);

	if (!d) {
		size_t len = p->len;

		if (!pkt_put(p, n))
			return false;
		memmove(p->data + n, p->data, len);
		d = p->data;
	}
	memcpy(d, hdr, n);
	return true;
}

/* ---- traffic (§7.2) ---- */

static void route_traffic(struct router *r, struct proto_traffic *tr, struct pkt *payload,
			  bool is_transit)
{
	struct rlink *l = next_hop(r, &tr->path, &tr->watermark);

	if (l) {
		uint8_t hdr[TRAFFIC_HDR_MAX];
		struct wire_wr wr;

		/* Forwarders change only the watermark: the header never outgrows the old one. */
		wire_wr_init(&wr, hdr, sizeof(hdr));
		proto_traffic_encode_header(&wr, tr);
		if (!wire_wr_ok(&wr) || !prepend(payload, hdr, wr.len)) {
			pkt_free(payload);
			r->stats.no_pkt++;
			return;
		}
		if (is_transit)
			r->stats.traffic_forwarded++;
		send_frame(r, l, payload);
	} else if (memcmp(tr->dest, r->self, PROTO_KEY_LEN) == 0) {
		pathfinder_reset_timeout(r->pf, tr->source, r->now_ms);
		r->stats.traffic_delivered++;
		r->cbs.deliver(r->cbs.ctx, tr->source, payload);
	} else {
		struct proto_broken b;

		pkt_free(payload);
		r->stats.traffic_unroutable++;
		b.path = tr->from;
		b.watermark = UINT64_MAX;
		memcpy(b.source, tr->source, PROTO_KEY_LEN);
		memcpy(b.dest, tr->dest, PROTO_KEY_LEN);
		pathfinder_handle_broken(r->pf, &b, r->now_ms);
	}
}

/* ---- callbacks from tree and pathfinder ---- */

static void tree_send(void *ctx, uint32_t link_id, enum proto_type type, const void *msg)
{
	struct router *r = ctx;
	struct rlink *l = link_find(r, link_id, NULL);

	if (l)
		send_msg(r, l, type, msg);
}

static uint64_t cb_random(void *ctx)
{
	struct router *r = ctx;

	return r->cbs.random(r->cbs.ctx);
}

static void pf_coords(void *ctx, struct proto_path *out)
{
	*out = *self_coords(ctx);
}

/* sendMulticast of §7.3: to each matching on-tree key, on its lowest-prio (then oldest) link. */
static void pf_multicast(void *ctx, const struct proto_lookup *lk, const uint8_t from_key[32])
{
	struct router *r = ctx;
	uint8_t x[PROTO_KEY_LEN];

	if (memcmp(from_key, r->self, PROTO_KEY_LEN) == 0)
		r->stats.lookups_sent++;
	bloom_xform(lk->dest, x);
	for (size_t i = 0; i < r->npeers; i++) {
		struct rpeer *p = r->peers[i];
		struct rlink *best = NULL;
		struct list_node *n;

		if (!p->is_on_tree || memcmp(p->key, from_key, PROTO_KEY_LEN) == 0 ||
		    !bloom_test(&p->recv, x))
			continue;
		list_foreach(n, &p->links) {
			struct rlink *l = list_entry(n, struct rlink, peer_node);

			if (!l->is_dead && (!best || l->prio < best->prio ||
					    (l->prio == best->prio && l->order < best->order)))
				best = l;
		}
		if (best)
			send_msg(r, best, PROTO_LOOKUP, lk);
	}
}

static bool pf_forward_notify(void *ctx, struct proto_notify *n)
{
	struct router *r = ctx;
	struct rlink *l = next_hop(r, &n->path, &n->watermark);

	if (l)
		send_msg(r, l, PROTO_NOTIFY, n);
	return l != NULL;
}

static bool pf_forward_broken(void *ctx, struct proto_broken *b)
{
	struct router *r = ctx;
	struct rlink *l = next_hop(r, &b->path, &b->watermark);

	if (l)
		send_msg(r, l, PROTO_BROKEN, b);
	return l != NULL;
}

static void pf_send_traffic(void *ctx, const uint8_t dest[32], const struct proto_path *path,
			    struct pkt *payload)
{
	struct router *r = ctx;
	struct proto_traffic tr;

	proto_path_copy(&tr.path, path);
	proto_path_copy(&tr.from, self_coords(r));
	memcpy(tr.source, r->self, PROTO_KEY_LEN);
	memcpy(tr.dest, dest, PROTO_KEY_LEN);
	tr.watermark = UINT64_MAX;
	route_traffic(r, &tr, payload, false);
}

static void pf_path_found(void *ctx, const uint8_t key[32])
{
	struct router *r = ctx;

	r->cbs.path_found(r->cbs.ctx, key);
}

static uint64_t pf_unix_time(void *ctx)
{
	struct router *r = ctx;

	return r->cbs.unix_time(r->cbs.ctx);
}

/* ---- bloom filters (§6.3) ---- */

static void blooms_fix_on_tree(struct router *r)
{
	struct tree_info self, info;

	tree_get_self(r->tree, &self);
	for (size_t i = 0; i < r->npeers; i++) {
		struct rpeer *p = r->peers[i];
		bool was_on = p->is_on_tree;

		p->is_on_tree = memcmp(self.parent, p->key, PROTO_KEY_LEN) == 0 ||
				(tree_find_info(r->tree, p->key, &info) &&
				 memcmp(info.parent, r->self, PROTO_KEY_LEN) == 0);
		if (was_on && !p->is_on_tree) {
			/* Off the tree: blank its view, so a return starts without false 1s. */
			bloom_clear(&p->send);
			send_to_peer(r, p, PROTO_BLOOM, &p->send);
		}
	}
}

/*
 * Step 2 of §6.3 for every on-tree key but skip. On the tick (is_tick) it also counts toward
 * the forced resend; between ticks it runs when a filter arrives (see frame_bloom).
 */
static void blooms_send_all(struct router *r, const struct rpeer *skip, bool is_tick)
{
	for (size_t i = 0; i < r->npeers; i++) {
		struct rpeer *p = r->peers[i];
		struct bloom b, n;
		bool is_zdirty, is_new;

		if (!p->is_on_tree || p == skip)
			continue;
		/* N = {xform(self)} and what every other on-tree peer can reach */
		bloom_clear(&n);
		bloom_add(&n, r->self_x);
		for (size_t j = 0; j < r->npeers; j++)
			if (j != i && r->peers[j]->is_on_tree)
				bloom_merge(&n, &r->peers[j]->recv);
		b = n;
		if (!p->is_zdirty) {
			/* keep the old 1s one more round: 1s spread faster than 0s */
			bloom_merge(&b, &p->send);
			is_zdirty = !bloom_equal(&b, &n);
		} else {
			is_zdirty = false;
		}
		is_new = !bloom_equal(&b, &p->send);
		if (is_new) {
			p->send = b;
			p->is_zdirty = is_zdirty; /* saved only with a new filter (§12 quirk) */
		}
		if (is_tick && ++p->cnt >= ROUTER_BLOOM_RESEND)
			is_new = true;
		if (is_new) {
			send_to_peer(r, p, PROTO_BLOOM, &p->send);
			p->cnt = 0;
		}
	}
}

/* ---- links ---- */

static void enter(struct router *r, uint64_t now_ms)
{
	if (r->depth++ == 0 || now_ms > r->now_ms)
		r->now_ms = now_ms;
}

static void link_remove(struct router *r, struct rlink *l)
{
	struct rpeer *p = l->peer;
	size_t pos;

	link_find(r, l->id, &pos);
	memmove(&r->links[pos], &r->links[pos + 1], (r->nlinks - pos - 1) * sizeof(*r->links));
	r->nlinks--;
	list_del(&l->peer_node);
	tree_link_down(r->tree, l->id);
	free(l);
	if (list_empty(&p->links)) {
		for (size_t i = 0; i < r->npeers; i++)
			if (r->peers[i] == p) {
				memmove(&r->peers[i], &r->peers[i + 1],
					(r->npeers - i - 1) * sizeof(*r->peers));
				r->npeers--;
				break;
			}
		free(p);
		return;
	}
	/* The remote may track a stale filter after a race: resend ours on the others. */
	send_to_peer(r, p, PROTO_BLOOM, &p->send);
}

static void leave(struct router *r)
{
	if (--r->depth > 0 || !r->has_dead)
		return;
	r->depth++;
	while (r->has_dead) {
		r->has_dead = false;
		for (size_t i = 0; i < r->nlinks; i++)
			if (r->links[i]->is_dead) {
				link_remove(r, r->links[i]);
				r->has_dead = true;
				break;
			}
	}
	r->depth--;
}

int router_link_up(struct router *r, uint32_t link_id, const uint8_t key[32], uint8_t prio,
		   uint64_t now_ms)
{
	struct rpeer *p;
	struct rlink *l;
	size_t pos;
	int rc;

	if (link_find(r, link_id, &pos))
		return -EEXIST;
	if (memcmp(key, r->self, PROTO_KEY_LEN) == 0)
		return -EINVAL;
	enter(r, now_ms);
	p = peer_find(r, key);
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		memcpy(p->key, key, PROTO_KEY_LEN);
		p->port = free_port(r);
		list_init(&p->links);
		if (r->npeers == r->peers_cap) {
			r->peers_cap = r->peers_cap ? 2 * r->peers_cap : 8;
			r->peers = xreallocarray(r->peers, r->peers_cap, sizeof(*r->peers));
		}
		r->peers[r->npeers++] = p;
	}
	l = xcalloc(1, sizeof(*l));
	l->id = link_id;
	l->peer = p;
	l->prio = prio;
	l->order = r->next_order++;
	l->cost = tree_link_cost(r->tree, link_id);
	list_add_tail(&p->links, &l->peer_node);
	if (r->nlinks == r->links_cap) {
		r->links_cap = r->links_cap ? 2 * r->links_cap : 8;
		r->links = xreallocarray(r->links, r->links_cap, sizeof(*r->links));
	}
	memmove(&r->links[pos + 1], &r->links[pos], (r->nlinks - pos) * sizeof(*r->links));
	r->links[pos] = l;
	r->nlinks++;
	/* §5.3: replayed announces and the SigReq, then our current filter for this key. */
	rc = tree_link_up(r->tree, link_id, key, p->port, now_ms);
	if (rc < 0) {
		l->is_dead = true;
		r->has_dead = true;
	} else {
		l->cost = tree_link_cost(r->tree, link_id);
		send_msg(r, l, PROTO_BLOOM, &p->send);
	}
	leave(r);
	return rc;
}

void router_link_down(struct router *r, uint32_t link_id, uint64_t now_ms)
{
	struct rlink *l = link_find(r, link_id, NULL);

	if (!l || l->is_dead)
		return;
	enter(r, now_ms);
	l->is_dead = true;
	r->has_dead = true;
	leave(r);
}

/* ---- received frames (§3.1): type -> handler ---- */

typedef int frame_handler(struct router *r, struct rlink *l, struct pkt *frame);

static int frame_ignore(struct router *r, struct rlink *l, struct pkt *frame)
{
	(void)r;
	(void)l;
	pkt_free(frame);
	return 0;
}

static int frame_sigreq(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_sigreq m;
	bool ok = proto_sigreq_decode(frame->data + 1, frame->len - 1, &m);

	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	tree_handle_sigreq(r->tree, l->id, &m);
	return 0;
}

static int frame_sigres(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_sigres m;
	bool ok = proto_sigres_decode(frame->data + 1, frame->len - 1, &m);
	int rc;

	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	rc = tree_handle_sigres(r->tree, l->id, &m, r->now_ms);
	l->cost = tree_link_cost(r->tree, l->id);
	return rc;
}

static int frame_announce(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_announce m;
	bool ok = proto_announce_decode(frame->data + 1, frame->len - 1, &m);

	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	return tree_handle_announce(r->tree, l->id, &m, r->now_ms);
}

static int frame_bloom(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct bloom b;
	bool ok = proto_bloom_decode(frame->data + 1, frame->len - 1, &b);

	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	if (bloom_equal(&l->peer->recv, &b))
		return 0;
	l->peer->recv = b; /* stored even while the peer is off-tree (§6.3) */
	/*
	 * ironwood passes a filter on only at its next tick, one hop per second. Until then a
	 * node behind us can be reached (its filter is here) but cannot reach back: it answers a
	 * session init once (repeats keep their seq), and that answer's lookup finds no filter
	 * and is lost for a minute. Passing the change on at once closes that window (§7.3).
	 */
	if (l->peer->is_on_tree)
		blooms_send_all(r, l->peer, false);
	return 0;
}

static int frame_lookup(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_lookup m;
	bool ok = proto_lookup_decode(frame->data + 1, frame->len - 1, &m);

	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	if (l->peer->is_on_tree) /* a lookup from an off-tree peer is dropped (§7.3) */
		pathfinder_handle_lookup(r->pf, l->peer->key, &m, r->now_ms);
	return 0;
}

static int frame_notify(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_notify m;
	bool ok = proto_notify_decode(frame->data + 1, frame->len - 1, &m);

	(void)l;
	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	/* A bad signature is ignored, not fatal (§3.1). */
	if (pathfinder_handle_notify(r->pf, &m, r->now_ms) == PF_BAD_SIG)
		r->stats.notify_bad_sig++;
	return 0;
}

static int frame_broken(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_broken m;
	bool ok = proto_broken_decode(frame->data + 1, frame->len - 1, &m);

	(void)l;
	pkt_free(frame);
	if (!ok)
		return -EPROTO;
	pathfinder_handle_broken(r->pf, &m, r->now_ms);
	return 0;
}

static int frame_traffic(struct router *r, struct rlink *l, struct pkt *frame)
{
	struct proto_traffic m;

	(void)l;
	if (!proto_traffic_decode(frame->data + 1, frame->len - 1, &m)) {
		pkt_free(frame);
		return -EPROTO;
	}
	pkt_pull(frame, 1 + m.header_len); /* the frame becomes the bare payload */
	route_traffic(r, &m, frame, true);
	return 0;
}

static frame_handler *const handlers[PROTO_TYPE_COUNT] = {
	[PROTO_DUMMY] = frame_ignore,	    [PROTO_KEEPALIVE] = frame_ignore,
	[PROTO_SIGREQ] = frame_sigreq,	    [PROTO_SIGRES] = frame_sigres,
	[PROTO_ANNOUNCE] = frame_announce, [PROTO_BLOOM] = frame_bloom,
	[PROTO_LOOKUP] = frame_lookup,	    [PROTO_NOTIFY] = frame_notify,
	[PROTO_BROKEN] = frame_broken,	    [PROTO_TRAFFIC] = frame_traffic,
};

int router_handle_frame(struct router *r, uint32_t link_id, struct pkt *frame, uint64_t now_ms)
{
	struct rlink *l = link_find(r, link_id, NULL);
	unsigned type;
	int rc;

	if (!l || l->is_dead) {
		pkt_free(frame);
		return -ENOENT;
	}
	if (frame->len == 0 || frame->data[0] >= PROTO_TYPE_COUNT) {
		pkt_free(frame);
		r->stats.bad_frames++;
		return -EPROTO;
	}
	enter(r, now_ms);
	type = frame->data[0];
	r->stats.frames_in[type]++;
	rc = handlers[type](r, l, frame);
	if (rc == -EPROTO)
		r->stats.bad_frames++;
	leave(r);
	return rc;
}

/* ---- the rest of the API ---- */

void router_tick(struct router *r, uint64_t now_ms)
{
	enter(r, now_ms);
	tree_tick(r->tree, now_ms);
	blooms_fix_on_tree(r);
	blooms_send_all(r, NULL, true);
	pathfinder_tick(r->pf, now_ms);
	leave(r);
}

void router_send(struct router *r, const uint8_t dest[32], struct pkt *payload, uint64_t now_ms)
{
	enter(r, now_ms);
	if (pathfinder_send(r->pf, dest, payload, now_ms) == PF_BUFFERED)
		r->stats.traffic_buffered++;
	leave(r);
}

void router_lookup(struct router *r, const uint8_t key[32], uint64_t now_ms)
{
	enter(r, now_ms);
	pathfinder_lookup(r->pf, key, now_ms);
	leave(r);
}

struct router *router_new(const struct keypair *kp, struct pkt_pool *pool,
			  const struct router_cbs *cbs, uint64_t now_ms)
{
	struct router *r = xcalloc(1, sizeof(*r));
	const struct tree_cbs tcbs = {.ctx = r, .send = tree_send, .random = cb_random};
	const struct pathfinder_cbs pcbs = {
		.ctx = r,
		.coords = pf_coords,
		.multicast = pf_multicast,
		.forward_notify = pf_forward_notify,
		.forward_broken = pf_forward_broken,
		.send_traffic = pf_send_traffic,
		.path_found = pf_path_found,
		.unix_time = pf_unix_time,
	};

	r->cbs = *cbs;
	r->kp = kp;
	r->pool = pool;
	keys_public(kp, r->self);
	bloom_xform(r->self, r->self_x);
	r->tree = tree_new(kp, &tcbs);
	r->pf = pathfinder_new(kp, pool, &pcbs);
	/* ironwood runs its maintenance once at start: we are our own root (seq 1) at once. */
	router_tick(r, now_ms);
	return r;
}

void router_free(struct router *r)
{
	if (!r)
		return;
	pathfinder_free(r->pf);
	tree_free(r->tree);
	for (size_t i = 0; i < r->nlinks; i++)
		free(r->links[i]);
	for (size_t i = 0; i < r->npeers; i++)
		free(r->peers[i]);
	free(r->links);
	free(r->peers);
	free(r);
}

void router_get_self(const struct router *r, struct router_self_info *out)
{
	struct tree_info self;

	tree_get_self(r->tree, &self);
	memcpy(out->key, r->self, PROTO_KEY_LEN);
	tree_get_root(r->tree, out->root);
	tree_coords(r->tree, r->self, &out->coords);
	out->seq = self.seq;
	out->routing_entries = tree_info_count(r->tree);
}

bool router_get_link(const struct router *r, uint32_t link_id, struct router_link_info *out)
{
	const struct rlink *l = link_find(r, link_id, NULL);
	struct tree_info self;
	uint64_t lag;

	if (!l || l->is_dead)
		return false;
	tree_get_self(r->tree, &self);
	lag = tree_link_lag_ns(r->tree, link_id);
	memcpy(out->key, l->peer->key, PROTO_KEY_LEN);
	out->port = l->peer->port;
	out->cost = tree_link_cost(r->tree, link_id);
	out->latency_ns = lag == TREE_UNKNOWN_LAG_NS ? 0 : lag;
	out->priority = l->prio;
	out->is_parent = memcmp(self.parent, l->peer->key, PROTO_KEY_LEN) == 0;
	return true;
}

struct tree_walk {
	router_tree_cb *cb;
	void *ctx;
};

static void tree_one(void *ctx, const struct tree_info *ti)
{
	const struct tree_walk *w = ctx;
	struct router_tree_info out;

	memcpy(out.key, ti->key, PROTO_KEY_LEN);
	memcpy(out.parent, ti->parent, PROTO_KEY_LEN);
	out.seq = ti->seq;
	w->cb(w->ctx, &out);
}

void router_foreach_tree(const struct router *r, router_tree_cb *cb, void *ctx)
{
	struct tree_walk w = {.cb = cb, .ctx = ctx};

	tree_foreach_info(r->tree, tree_one, &w);
}

struct path_walk {
	router_path_cb *cb;
	void *ctx;
};

static void path_one(void *ctx, const struct pathfinder_path_info *pi)
{
	const struct path_walk *w = ctx;
	struct router_path_info out;

	memcpy(out.key, pi->key, PROTO_KEY_LEN);
	out.path = pi->path;
	out.seq = pi->seq;
	out.is_broken = pi->is_broken;
	w->cb(w->ctx, &out);
}

void router_foreach_path(const struct router *r, router_path_cb *cb, void *ctx)
{
	struct path_walk w = {.cb = cb, .ctx = ctx};

	pathfinder_foreach_path(r->pf, path_one, &w);
}

const struct router_stats *router_get_stats(const struct router *r)
{
	return &r->stats;
}
