/*
 * tree: ironwood's spanning tree (yggdrasil-link-routing.md §5; see tree.h).
 *
 * Owns: the info table (struct tinfo, sorted by key for binary search; each entry also holds a
 * slot number, its bit in every peer's sent set), the per-peer-key state (struct tpeer: port,
 * sent set, current SigReq and stored SigRes) and the per-link state (struct tlink: lag,
 * SigReq send time, responded flag).
 *
 * Invariants:
 * - infos.n <= TREE_INFOS_MAX; by_slot[i->slot] == i for every info; a peer's sent set only has
 *   bits of live slots (a slot's bit is cleared in every peer when its info changes or goes).
 * - every tpeer has at least one tlink; every tlink's peer is in peers[].
 * - the update rule (§5.4) is the only way infos change, apart from expiry.
 *
 * Timers (swept in tree_tick, no per-entry timers): our own info sets refresh after
 * TREE_REFRESH_MS; any other info is deleted TREE_TIMEOUT_MS after its last accepted update.
 * The doRoot1/doRoot2 flags make a node that lost its parent its own root 1 to 2 ticks later.
 */
#include "core/tree.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sign.h"
#include "crypto/keys.h"
#include "lib/kvec.h"
#include "lib/list.h"
#include "lib/mem.h"

enum { SLOT_WORDS = TREE_INFOS_MAX / 64, PREIMAGE_MAX = 94 };

struct tinfo {
	struct proto_announce ann; /* first: ann.key is the sort key (lib/kvec) */
	uint64_t deadline;	   /* own: refresh time; others: expiry time (ms) */
	uint32_t slot;
	uint32_t mark; /* walk stamp, for repeat detection */
};

struct tpeer {
	uint8_t key[PROTO_KEY_LEN];
	uint64_t port;
	struct list_node links; /* struct tlink.peer_node */
	struct proto_sigreq req;
	struct proto_sigres res;
	bool has_req;
	bool has_res;
	uint64_t sent[SLOT_WORDS]; /* §5.1 sent[P]: bit i = by_slot[i] is known to P */
};

struct tlink {
	uint32_t id;
	struct tpeer *peer;
	struct list_node peer_node;
	uint64_t lag_ns;
	uint64_t srst_ms; /* when the current SigReq went out on this link */
	bool has_responded;
};

struct tree {
	struct tree_cbs cbs;
	const struct keypair *kp;
	uint8_t self[PROTO_KEY_LEN];
	struct kvec infos; /* struct tinfo, sorted by key (lib/kvec) */
	struct tinfo *by_slot[TREE_INFOS_MAX];
	struct tpeer **peers;
	size_t npeers, peers_cap;
	struct tlink **links;
	size_t nlinks, links_cap;
	/* scratch for walks (each TREE_INFOS_MAX entries) */
	struct tinfo **walk;
	struct tinfo **anc_self;
	struct tinfo **to_send;
	uint32_t mark;
	bool refresh, do_root1, do_root2;
	uint64_t gen;
	struct tree_stats stats;
};

/* ---- info table ---- */

/* Binary search: the entry for key, or NULL with *pos = where it would go. */
static struct tinfo *info_lookup(const struct tree *t, const uint8_t key[32], size_t *pos)
{
	return kvec_find(&t->infos, key, pos);
}

static struct tinfo *info_find(const struct tree *t, const uint8_t key[32])
{
	return info_lookup(t, key, NULL);
}

static void sent_clear_slot(struct tree *t, uint32_t slot)
{
	for (size_t i = 0; i < t->npeers; i++)
		t->peers[i]->sent[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
}

static bool sent_test(const struct tpeer *p, uint32_t slot)
{
	return p->sent[slot / 64] & (UINT64_C(1) << (slot % 64));
}

static void sent_add(struct tpeer *p, uint32_t slot)
{
	p->sent[slot / 64] |= UINT64_C(1) << (slot % 64);
}

static struct tinfo *info_insert(struct tree *t, size_t pos, const uint8_t key[32])
{
	struct tinfo *i;
	uint32_t slot;

	if (t->infos.n >= TREE_INFOS_MAX)
		return NULL;
	for (slot = 0; t->by_slot[slot]; slot++)
		;
	i = xcalloc(1, sizeof(*i));
	memcpy(i->ann.key, key, PROTO_KEY_LEN);
	i->slot = slot;
	t->by_slot[slot] = i;
	kvec_insert(&t->infos, pos, i);
	return i;
}

static void info_remove(struct tree *t, size_t pos)
{
	struct tinfo *i = t->infos.v[pos];

	sent_clear_slot(t, i->slot);
	t->by_slot[i->slot] = NULL;
	kvec_remove_at(&t->infos, pos);
	free(i);
	t->gen++;
}

static void info_snapshot(const struct tinfo *i, struct tree_info *out)
{
	memcpy(out->key, i->ann.key, PROTO_KEY_LEN);
	memcpy(out->parent, i->ann.parent, PROTO_KEY_LEN);
	out->seq = i->ann.seq;
	out->nonce = i->ann.nonce;
	out->port = i->ann.port;
}

/* §5.4: "The source comment insists this rule is identical on every node". */
bool tree_info_wins(const struct tree_info *old, const struct tree_info *cand)
{
	int c;

	if (old->seq > cand->seq)
		return false;
	if (old->seq < cand->seq)
		return true;
	c = memcmp(old->parent, cand->parent, PROTO_KEY_LEN);
	if (c < 0)
		return false; /* same seq, the old parent is lower (better) */
	if (c > 0)
		return true;
	return cand->nonce < old->nonce;
}

/* update(ann) of §5.4. ann has passed its check (or is our own). */
static bool update(struct tree *t, const struct proto_announce *ann, uint64_t now_ms)
{
	size_t pos;
	struct tinfo *i = info_lookup(t, ann->key, &pos);

	if (i) {
		struct tree_info old, cand;

		info_snapshot(i, &old);
		memcpy(cand.parent, ann->parent, PROTO_KEY_LEN);
		cand.seq = ann->seq;
		cand.nonce = ann->nonce;
		if (!tree_info_wins(&old, &cand))
			return false;
	} else {
		i = info_insert(t, pos, ann->key);
		if (!i) {
			t->stats.infos_full++;
			return false;
		}
	}
	sent_clear_slot(t, i->slot);
	i->ann = *ann; /* same key: found or inserted under ann->key */
	if (memcmp(ann->key, t->self, PROTO_KEY_LEN) == 0)
		i->deadline = now_ms + TREE_REFRESH_MS;
	else
		i->deadline = now_ms + TREE_TIMEOUT_MS;
	t->gen++;
	return true;
}

/* §4.3: port 0 only for a root; both signatures over key || parent || seq || nonce || port. */
static bool announce_check(const struct proto_announce *a)
{
	uint8_t m[PREIMAGE_MAX];
	size_t n;

	if (a->port == 0 && memcmp(a->key, a->parent, PROTO_KEY_LEN) != 0)
		return false;
	n = proto_sig_preimage(m, a->key, a->parent, a->seq, a->nonce, a->port);
	return sign_verify(a->key, m, n, a->sig) && sign_verify(a->parent, m, n, a->psig);
}

/* ---- walks through parents ---- */

static uint32_t next_mark(struct tree *t)
{
	if (++t->mark == 0) {
		for (size_t i = 0; i < t->infos.n; i++)
			((struct tinfo *)t->infos.v[i])->mark = 0;
		t->mark = 1;
	}
	return t->mark;
}

/*
 * Follows parents from key into out[] (key's info first) until a key repeats or has no info
 * (§5.5 rootAndDists, §5.6 anc). Returns the count; out[n - 1] is the "root" reached.
 */
static size_t walk_up(struct tree *t, const uint8_t key[32], struct tinfo **out)
{
	uint32_t m = next_mark(t);
	const uint8_t *k = key;
	size_t n = 0;
	struct tinfo *i;

	while ((i = info_find(t, k)) && i->mark != m) {
		i->mark = m;
		out[n++] = i;
		k = i->ann.parent;
	}
	return n;
}

/* True if the last walk_up passed through our own info. */
static bool walk_has_self(const struct tree *t)
{
	const struct tinfo *s = info_find(t, t->self);

	return s && s->mark == t->mark;
}

bool tree_coords(const struct tree *t, const uint8_t key[32], struct proto_path *out)
{
	const uint8_t *k = key;
	uint16_t n = 0;

	out->len = 0;
	/* A loop-free chain reaches a root within PROTO_PATH_MAX hops, or we cannot encode it. */
	for (unsigned hops = 0; hops <= PROTO_PATH_MAX; hops++) {
		const struct tinfo *i = info_find(t, k);

		if (!i)
			return false;
		if (memcmp(i->ann.parent, i->ann.key, PROTO_KEY_LEN) == 0) {
			/* Root reached: reverse into root-first order (§5.8). */
			for (uint16_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) {
				uint64_t tmp = out->port[a];

				out->port[a] = out->port[b];
				out->port[b] = tmp;
			}
			out->len = n;
			return true;
		}
		if (n == PROTO_PATH_MAX)
			break;
		out->port[n++] = i->ann.port;
		k = i->ann.parent;
	}
	out->len = 0;
	return false;
}

/* ---- peers and links ---- */

static struct tpeer *peer_find(const struct tree *t, const uint8_t key[32])
{
	for (size_t i = 0; i < t->npeers; i++)
		if (memcmp(t->peers[i]->key, key, PROTO_KEY_LEN) == 0)
			return t->peers[i];
	return NULL;
}

static struct tlink *link_find(const struct tree *t, uint32_t id, size_t *pos)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (t->links[i]->id == id) {
			if (pos)
				*pos = i;
			return t->links[i];
		}
	return NULL;
}

static uint64_t lag_cost(uint64_t lag_ns)
{
	uint64_t ms = lag_ns / 1000000;

	return ms ? ms : 1;
}

/* linkcost(P, d) of §5.5: min over P's links of d * cost. */
static uint64_t peer_cost(const struct tpeer *p, uint64_t d)
{
	uint64_t best = UINT64_MAX;
	const struct list_node *n;

	list_foreach(n, &p->links) {
		const struct tlink *l = list_entry(n, struct tlink, peer_node);
		uint64_t c = d * lag_cost(l->lag_ns);

		if (c < best)
			best = c;
	}
	return best;
}

static void send_sigreq(struct tree *t, struct tlink *l, uint64_t now_ms)
{
	l->has_responded = false;
	l->srst_ms = now_ms;
	t->cbs.send(t->cbs.ctx, l->id, PROTO_SIGREQ, &l->peer->req);
}

static void new_req(struct tree *t, struct proto_sigreq *req)
{
	const struct tinfo *s = info_find(t, t->self);

	req->seq = (s ? s->ann.seq : 0) + 1;
	req->nonce = t->cbs.random(t->cbs.ctx);
}

/* SendReqs() of §5.3: after every change of our own info. */
static void send_reqs(struct tree *t, uint64_t now_ms)
{
	for (size_t i = 0; i < t->npeers; i++) {
		struct tpeer *p = t->peers[i];
		struct list_node *n;

		new_req(t, &p->req);
		p->has_req = true;
		p->has_res = false;
		list_foreach(n, &p->links)
			send_sigreq(t, list_entry(n, struct tlink, peer_node), now_ms);
	}
}

int tree_link_up(struct tree *t, uint32_t link_id, const uint8_t key[32], uint64_t port,
		 uint64_t now_ms)
{
	struct tpeer *p;
	struct tlink *l;

	if (link_find(t, link_id, NULL))
		return -EEXIST;
	if (port == 0 || memcmp(key, t->self, PROTO_KEY_LEN) == 0)
		return -EINVAL;
	l = xcalloc(1, sizeof(*l));
	l->id = link_id;
	l->lag_ns = TREE_UNKNOWN_LAG_NS;
	p = peer_find(t, key);
	if (!p) {
		if (t->npeers >= TREE_PEERS_MAX) {
			free(l);
			return -ENOSPC;
		}
		p = xcalloc(1, sizeof(*p));
		memcpy(p->key, key, PROTO_KEY_LEN);
		p->port = port;
		list_init(&p->links);
		if (t->npeers == t->peers_cap) {
			t->peers_cap = t->peers_cap ? 2 * t->peers_cap : 8;
			t->peers = xreallocarray(t->peers, t->peers_cap, sizeof(*t->peers));
		}
		t->peers[t->npeers++] = p;
	} else {
		/* §5.3 step 1: replay everything P already has over the new link. */
		for (uint32_t s = 0; s < TREE_INFOS_MAX; s++) {
			if (!sent_test(p, s))
				continue;
			assert(t->by_slot[s]);
			t->cbs.send(t->cbs.ctx, link_id, PROTO_ANNOUNCE, &t->by_slot[s]->ann);
		}
	}
	l->peer = p;
	list_add_tail(&p->links, &l->peer_node);
	if (t->nlinks == t->links_cap) {
		t->links_cap = t->links_cap ? 2 * t->links_cap : 8;
		t->links = xreallocarray(t->links, t->links_cap, sizeof(*t->links));
	}
	t->links[t->nlinks++] = l;
	if (!p->has_req) {
		new_req(t, &p->req);
		p->has_req = true;
	}
	send_sigreq(t, l, now_ms);
	return 0;
}

void tree_link_down(struct tree *t, uint32_t link_id)
{
	size_t pos;
	struct tlink *l = link_find(t, link_id, &pos);
	struct tpeer *p;

	if (!l)
		return;
	p = l->peer;
	list_del(&l->peer_node);
	t->links[pos] = t->links[--t->nlinks];
	free(l);
	if (!list_empty(&p->links))
		return;
	for (size_t i = 0; i < t->npeers; i++)
		if (t->peers[i] == p) {
			t->peers[i] = t->peers[--t->npeers];
			break;
		}
	free(p);
}

/* ---- messages ---- */

void tree_handle_sigreq(struct tree *t, uint32_t link_id, const struct proto_sigreq *req)
{
	struct tlink *l = link_find(t, link_id, NULL);
	struct proto_sigres res;
	uint8_t m[PREIMAGE_MAX];
	size_t n;

	if (!l)
		return;
	/* §4.2: psig over requester || responder || seq || nonce || the requester's port. */
	res.seq = req->seq;
	res.nonce = req->nonce;
	res.port = l->peer->port;
	n = proto_sig_preimage(m, l->peer->key, t->self, res.seq, res.nonce, res.port);
	sign_detached(t->kp, m, n, res.psig);
	t->cbs.send(t->cbs.ctx, link_id, PROTO_SIGRES, &res);
}

int tree_handle_sigres(struct tree *t, uint32_t link_id, const struct proto_sigres *res,
		       uint64_t now_ms)
{
	struct tlink *l = link_find(t, link_id, NULL);
	struct tpeer *p;
	uint8_t m[PREIMAGE_MAX];
	uint64_t rtt_ns;
	size_t n;
	bool is_match;

	if (!l)
		return 0;
	p = l->peer;
	n = proto_sig_preimage(m, t->self, p->key, res->seq, res->nonce, res->port);
	if (!sign_verify(p->key, m, n, res->psig)) {
		t->stats.bad_sigres++;
		return -EPROTO;
	}
	is_match = p->has_req && p->req.seq == res->seq && p->req.nonce == res->nonce;
	if (!is_match)
		return 0; /* stale: ignored without closing (§3.1) */
	if (!p->has_res) {
		p->res = *res;
		p->has_res = true;
	}
	if (!l->has_responded) {
		/* §5.3: the first sample counts double, then an EWMA with a 2x cap per sample. */
		rtt_ns = (now_ms > l->srst_ms ? now_ms - l->srst_ms : 0) * 1000000;
		l->has_responded = true;
		if (l->lag_ns == TREE_UNKNOWN_LAG_NS) {
			l->lag_ns = 2 * rtt_ns;
		} else {
			uint64_t prev = l->lag_ns;
			uint64_t cap = 2 * prev;

			l->lag_ns = prev * 7 / 8 + (rtt_ns < cap ? rtt_ns : cap) / 8;
		}
	}
	return 0;
}

static bool info_equals_announce(const struct tinfo *i, const struct proto_announce *a)
{
	return memcmp(i->ann.parent, a->parent, PROTO_KEY_LEN) == 0 && i->ann.seq == a->seq &&
	       i->ann.nonce == a->nonce && i->ann.port == a->port &&
	       memcmp(i->ann.psig, a->psig, PROTO_SIG_LEN) == 0 &&
	       memcmp(i->ann.sig, a->sig, PROTO_SIG_LEN) == 0;
}

int tree_handle_announce(struct tree *t, uint32_t link_id, const struct proto_announce *ann,
			 uint64_t now_ms)
{
	struct tlink *l = link_find(t, link_id, NULL);
	struct tinfo *i;

	if (!announce_check(ann)) {
		t->stats.bad_announce++;
		return -EPROTO;
	}
	if (!l)
		return 0;
	if (update(t, ann, now_ms)) {
		/* Our old info survived a restart of ours: outbid it at the next tick. */
		if (memcmp(ann->key, t->self, PROTO_KEY_LEN) == 0)
			t->refresh = true;
		sent_add(l->peer, info_find(t, ann->key)->slot);
		return 0;
	}
	i = info_find(t, ann->key);
	if (!i)
		return 0; /* refused for lack of room */
	sent_add(l->peer, i->slot);
	if (!info_equals_announce(i, ann)) /* they sent something worse: tell them ours (§5.4) */
		t->cbs.send(t->cbs.ctx, link_id, PROTO_ANNOUNCE, &i->ann);
	return 0;
}

/* ---- parent selection (§5.5) ---- */

static bool use_response(struct tree *t, const struct tpeer *p, uint64_t now_ms)
{
	struct proto_announce a;
	uint8_t m[PREIMAGE_MAX];
	size_t n;

	memcpy(a.key, t->self, PROTO_KEY_LEN);
	memcpy(a.parent, p->key, PROTO_KEY_LEN);
	a.seq = p->res.seq;
	a.nonce = p->res.nonce;
	a.port = p->res.port;
	memcpy(a.psig, p->res.psig, PROTO_SIG_LEN);
	n = proto_sig_preimage(m, t->self, p->key, a.seq, a.nonce, a.port);
	sign_detached(t->kp, m, n, a.sig);
	return update(t, &a, now_ms);
}

static void become_root(struct tree *t, uint64_t now_ms)
{
	struct proto_sigreq req;
	struct proto_announce a;
	uint8_t m[PREIMAGE_MAX];
	size_t n;
	bool ok;

	new_req(t, &req);
	memcpy(a.key, t->self, PROTO_KEY_LEN);
	memcpy(a.parent, t->self, PROTO_KEY_LEN);
	a.seq = req.seq;
	a.nonce = req.nonce;
	a.port = 0;
	n = proto_sig_preimage(m, t->self, t->self, a.seq, a.nonce, 0);
	sign_detached(t->kp, m, n, a.psig);
	memcpy(a.sig, a.psig, PROTO_SIG_LEN);
	ok = update(t, &a, now_ms); /* seq is above ours, so this always wins */
	assert(ok);
	(void)ok;
}

static void fix(struct tree *t, uint64_t now_ms)
{
	uint8_t best_root[PROTO_KEY_LEN], best_parent[PROTO_KEY_LEN], self_parent[PROTO_KEY_LEN];
	uint64_t best_cost = UINT64_MAX;
	const struct tinfo *s = info_find(t, t->self);
	const struct tpeer *sp;
	struct tpeer *bp;

	memcpy(best_root, t->self, PROTO_KEY_LEN);
	memcpy(best_parent, t->self, PROTO_KEY_LEN);
	memset(self_parent, 0, PROTO_KEY_LEN);
	if (s)
		memcpy(self_parent, s->ann.parent, PROTO_KEY_LEN);
	/* Does our current parent still lead to a better root than ourselves? */
	if (s && (sp = peer_find(t, s->ann.parent))) {
		size_t n = walk_up(t, t->self, t->walk);
		const struct tinfo *root = t->walk[n - 1];

		if (memcmp(root->ann.key, best_root, PROTO_KEY_LEN) < 0) {
			memcpy(best_root, root->ann.key, PROTO_KEY_LEN);
			memcpy(best_parent, s->ann.parent, PROTO_KEY_LEN);
			best_cost = peer_cost(sp, n - 1);
		}
	}
	/* Any peer with a response: a lower root, or (same root) a cheaper parent. */
	for (size_t i = 0; i < t->npeers; i++) {
		const struct tpeer *p = t->peers[i];
		const struct tinfo *root;
		uint64_t c;
		size_t n;

		if (!p->has_res || !info_find(t, p->key))
			continue;
		n = walk_up(t, p->key, t->walk);
		if (walk_has_self(t))
			continue; /* P's ancestry runs through us */
		root = t->walk[n - 1];
		c = peer_cost(p, n - 1);
		if (memcmp(root->ann.key, best_root, PROTO_KEY_LEN) < 0) {
			memcpy(best_root, root->ann.key, PROTO_KEY_LEN);
			memcpy(best_parent, p->key, PROTO_KEY_LEN);
			best_cost = c;
		} else if (memcmp(root->ann.key, best_root, PROTO_KEY_LEN) != 0) {
			continue;
		}
		if ((t->refresh && c * 2 < best_cost) ||
		    (memcmp(best_parent, self_parent, PROTO_KEY_LEN) != 0 && c < best_cost)) {
			memcpy(best_root, root->ann.key, PROTO_KEY_LEN);
			memcpy(best_parent, p->key, PROTO_KEY_LEN);
			best_cost = c;
		}
	}
	if (!(t->refresh || t->do_root1 || t->do_root2 ||
	      memcmp(self_parent, best_parent, PROTO_KEY_LEN) != 0))
		return;
	bp = peer_find(t, best_parent);
	if (bp && bp->has_res && memcmp(best_root, t->self, PROTO_KEY_LEN) != 0 &&
	    use_response(t, bp, now_ms)) {
		if (s && memcmp(self_parent, best_parent, PROTO_KEY_LEN) != 0)
			t->stats.parent_changes++;
		t->refresh = t->do_root1 = t->do_root2 = false;
		send_reqs(t, now_ms);
	} else if (t->do_root2) {
		if (s && memcmp(self_parent, t->self, PROTO_KEY_LEN) != 0)
			t->stats.parent_changes++;
		become_root(t, now_ms);
		t->refresh = t->do_root1 = t->do_root2 = false;
		send_reqs(t, now_ms);
	} else if (!t->do_root1) {
		t->do_root1 = true; /* become root next tick unless a response rescues us */
	}
}

/* ---- gossip (§5.6) ---- */

static void send_announces(struct tree *t)
{
	size_t nself = walk_up(t, t->self, t->anc_self);

	for (size_t pi = 0; pi < t->npeers; pi++) {
		struct tpeer *p = t->peers[pi];
		size_t np = walk_up(t, p->key, t->walk);
		size_t nsend = 0;
		struct list_node *n;

		/* anc(self) then anc(P), both root first. */
		for (size_t k = nself; k-- > 0;)
			if (!sent_test(p, t->anc_self[k]->slot)) {
				sent_add(p, t->anc_self[k]->slot);
				t->to_send[nsend++] = t->anc_self[k];
			}
		for (size_t k = np; k-- > 0;)
			if (!sent_test(p, t->walk[k]->slot)) {
				sent_add(p, t->walk[k]->slot);
				t->to_send[nsend++] = t->walk[k];
			}
		list_foreach(n, &p->links) {
			const struct tlink *l = list_entry(n, struct tlink, peer_node);

			for (size_t k = 0; k < nsend; k++)
				t->cbs.send(t->cbs.ctx, l->id, PROTO_ANNOUNCE, &t->to_send[k]->ann);
		}
	}
}

/* ---- lifecycle and tick ---- */

struct tree *tree_new(const struct keypair *kp, const struct tree_cbs *cbs)
{
	struct tree *t = xcalloc(1, sizeof(*t));

	t->cbs = *cbs;
	t->kp = kp;
	keys_public(kp, t->self);
	t->walk = xcalloc(TREE_INFOS_MAX, sizeof(*t->walk));
	t->anc_self = xcalloc(TREE_INFOS_MAX, sizeof(*t->anc_self));
	t->to_send = xcalloc(TREE_INFOS_MAX, sizeof(*t->to_send));
	t->do_root2 = true; /* a node is its own root from the first tick */
	return t;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	while (t->nlinks)
		tree_link_down(t, t->links[0]->id);
	for (size_t i = 0; i < t->infos.n; i++)
		free(t->infos.v[i]);
	kvec_free(&t->infos);
	free(t->walk);
	free(t->anc_self);
	free(t->to_send);
	free(t->peers);
	free(t->links);
	free(t);
}

static void expire(struct tree *t, uint64_t now_ms)
{
	for (size_t pos = t->infos.n; pos-- > 0;) {
		struct tinfo *i = t->infos.v[pos];

		if (i->deadline > now_ms)
			continue;
		if (memcmp(i->ann.key, t->self, PROTO_KEY_LEN) == 0) {
			t->refresh = true; /* ROUTER_REFRESH: re-sign at this tick */
			i->deadline = UINT64_MAX;
		} else {
			t->stats.infos_expired++;
			info_remove(t, pos);
		}
	}
}

void tree_tick(struct tree *t, uint64_t now_ms)
{
	expire(t, now_ms);
	t->do_root2 = t->do_root2 || t->do_root1;
	t->gen++;
	fix(t, now_ms);
	send_announces(t);
}

/* ---- queries ---- */

void tree_get_self(const struct tree *t, struct tree_info *out)
{
	const struct tinfo *s = info_find(t, t->self);

	memset(out, 0, sizeof(*out));
	if (s)
		info_snapshot(s, out);
	else
		memcpy(out->key, t->self, PROTO_KEY_LEN);
}

void tree_get_root(const struct tree *t, uint8_t root[32])
{
	/* rootAndDists(self).root, found without marks: a loop-free chain ends within infos.n. */
	const uint8_t *k = t->self;
	const struct tinfo *i;

	memcpy(root, t->self, PROTO_KEY_LEN);
	for (size_t hops = 0; hops <= t->infos.n && (i = info_find(t, k)); hops++) {
		memcpy(root, i->ann.key, PROTO_KEY_LEN);
		if (memcmp(i->ann.parent, i->ann.key, PROTO_KEY_LEN) == 0)
			return;
		k = i->ann.parent;
	}
}

bool tree_find_info(const struct tree *t, const uint8_t key[32], struct tree_info *out)
{
	const struct tinfo *i = info_find(t, key);

	if (i && out)
		info_snapshot(i, out);
	return i != NULL;
}

size_t tree_info_count(const struct tree *t)
{
	return t->infos.n;
}

void tree_foreach_info(const struct tree *t, tree_info_cb *cb, void *ctx)
{
	for (size_t i = 0; i < t->infos.n; i++) {
		struct tree_info ti;

		info_snapshot(t->infos.v[i], &ti);
		cb(ctx, &ti);
	}
}

uint64_t tree_gen(const struct tree *t)
{
	return t->gen;
}

uint64_t tree_link_lag_ns(const struct tree *t, uint32_t link_id)
{
	const struct tlink *l = link_find(t, link_id, NULL);

	return l ? l->lag_ns : TREE_UNKNOWN_LAG_NS;
}

uint64_t tree_link_cost(const struct tree *t, uint32_t link_id)
{
	return lag_cost(tree_link_lag_ns(t, link_id));
}

const struct tree_stats *tree_get_stats(const struct tree *t)
{
	return &t->stats;
}
