/*
 * Tests for core/tree (spec yggdrasil-link-routing.md §5): the update rule as a table, the
 * SigRes of the real 0.5.12 capture (run1, key A answering B), signature checks, latency
 * estimates, parent adoption, coordinates, gossip bookkeeping, expiry and refresh timers.
 * Keys come from the spec §11 seeds (A 00..1f, B 20..3f, C 40..5f, D 60..7f).
 */
#include "core/proto.h"
#include "core/tree.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/wire.h"
#include "support/hex.h"
#include "support/seedkey.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys from seeds (PKCS#8 PEM, the form keys_from_pem reads) ---- */

static struct keypair *seed_key(uint8_t first)
{
	return ts_seed_key(first);
}

/* ---- a fake environment: recorded sends and scripted randomness ---- */

struct sent {
	uint32_t link;
	enum proto_type type;
	struct proto_sigreq req;
	struct proto_sigres res;
	struct proto_announce ann;
};

struct env {
	struct keypair *a, *b, *c, *d;
	uint8_t ka[32], kb[32], kc[32], kd[32];
	struct sent *msgs;
	int n;
	uint64_t rnd[8];
	int nrnd, rnd_i;
	uint64_t ctr;
};

static struct env E;

static void fake_send(void *ctx, uint32_t link_id, enum proto_type type, const void *msg)
{
	struct env *e = ctx;
	struct sent *s;

	cr_assert_lt(e->n, 4096);
	s = &e->msgs[e->n++];
	memset(s, 0, sizeof(*s));
	s->link = link_id;
	s->type = type;
	if (type == PROTO_SIGREQ)
		s->req = *(const struct proto_sigreq *)msg;
	else if (type == PROTO_SIGRES)
		s->res = *(const struct proto_sigres *)msg;
	else if (type == PROTO_ANNOUNCE)
		s->ann = *(const struct proto_announce *)msg;
	else
		cr_assert_fail("tree sent type %d", type);
}

static uint64_t fake_random(void *ctx)
{
	struct env *e = ctx;

	if (e->rnd_i < e->nrnd)
		return e->rnd[e->rnd_i++];
	return 0x1000 + e->ctr++;
}

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
	memset(&E, 0, sizeof(E));
	E.msgs = calloc(4096, sizeof(*E.msgs));
	E.a = seed_key(0x00);
	E.b = seed_key(0x20);
	E.c = seed_key(0x40);
	E.d = seed_key(0x60);
	keys_public(E.a, E.ka);
	keys_public(E.b, E.kb);
	keys_public(E.c, E.kc);
	keys_public(E.d, E.kd);
}

static void teardown(void)
{
	keys_free(E.a);
	keys_free(E.b);
	keys_free(E.c);
	keys_free(E.d);
	free(E.msgs);
}

static struct tree *new_tree(const struct keypair *kp)
{
	const struct tree_cbs cbs = {.ctx = &E, .send = fake_send, .random = fake_random};

	return tree_new(kp, &cbs);
}

static void make_ann(struct proto_announce *a, const struct keypair *node,
		     const struct keypair *parent, uint64_t seq, uint64_t nonce, uint64_t port)
{
	uint8_t m[94];
	size_t n;

	keys_public(node, a->key);
	keys_public(parent, a->parent);
	a->seq = seq;
	a->nonce = nonce;
	a->port = port;
	n = proto_sig_preimage(m, a->key, a->parent, seq, nonce, port);
	sign_detached(node, m, n, a->sig);
	sign_detached(parent, m, n, a->psig);
}

/* The SigRes that parent would send to node for req, as tree_handle_sigres expects it. */
static void make_res(struct proto_sigres *r, const struct keypair *parent, const uint8_t node[32],
		     const struct proto_sigreq *req, uint64_t port)
{
	uint8_t m[94], pk[32];
	size_t n;

	keys_public(parent, pk);
	r->seq = req->seq;
	r->nonce = req->nonce;
	r->port = port;
	n = proto_sig_preimage(m, node, pk, r->seq, r->nonce, port);
	sign_detached(parent, m, n, r->psig);
}

static int count_type(enum proto_type type, uint32_t link)
{
	int k = 0;

	for (int i = 0; i < E.n; i++)
		if (E.msgs[i].type == type && E.msgs[i].link == link)
			k++;
	return k;
}

static const struct sent *last_of(enum proto_type type)
{
	for (int i = E.n; i-- > 0;)
		if (E.msgs[i].type == type)
			return &E.msgs[i];
	return NULL;
}

static void path_is(const struct proto_path *p, int len, const uint64_t *ports)
{
	cr_assert_eq(p->len, len, "path length %u, want %d", p->len, len);
	for (int i = 0; i < len; i++)
		cr_assert_eq(p->port[i], ports[i], "port %d: %llu, want %llu", i,
			     (unsigned long long)p->port[i], (unsigned long long)ports[i]);
}

TestSuite(tree, .init = setup, .fini = teardown);

/* ---- §5.4 update rule ---- */

struct rule_row {
	uint64_t old_seq;
	uint8_t old_parent;
	uint64_t old_nonce;
	uint64_t seq;
	uint8_t parent;
	uint64_t nonce;
	bool wins;
};

Test(tree, update_rule_table)
{
	static const struct rule_row rows[] = {
		{5, 0x10, 7, 4, 0x01, 0, false}, /* older seq loses whatever else */
		{5, 0x10, 7, 6, 0xff, 99, true}, /* newer seq wins whatever else */
		{5, 0x10, 7, 5, 0x11, 0, false}, /* same seq: higher parent loses */
		{5, 0x10, 7, 5, 0x0f, 99, true}, /* same seq: lower parent wins */
		{5, 0x10, 7, 5, 0x10, 6, true},	 /* same seq and parent: lower nonce wins */
		{5, 0x10, 7, 5, 0x10, 7, false}, /* identical */
		{5, 0x10, 7, 5, 0x10, 8, false}, /* higher nonce */
		{0, 0x00, 0, 0, 0x00, 0, false},
		{UINT64_MAX, 0x10, 0, 0, 0x00, 0, false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct tree_info old = {0}, cand = {0};

		old.seq = rows[i].old_seq;
		memset(old.parent, rows[i].old_parent, 32);
		old.nonce = rows[i].old_nonce;
		cand.seq = rows[i].seq;
		memset(cand.parent, rows[i].parent, 32);
		cand.nonce = rows[i].nonce;
		cr_assert_eq(tree_info_wins(&old, &cand), rows[i].wins, "row %zu", i);
	}
}

Test(tree, update_rule_through_announces)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	struct tree_info ti;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.ka, 1, 0), 0);
	make_ann(&a, E.a, E.a, 5, 100, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert(tree_find_info(t, E.ka, &ti));
	cr_assert_eq(ti.seq, 5);
	/* same seq and parent, lower nonce: accepted */
	make_ann(&a, E.a, E.a, 5, 50, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert(tree_find_info(t, E.ka, &ti));
	cr_assert_eq(ti.nonce, 50);
	/* higher nonce: refused, and ours goes back on that link at once */
	E.n = 0;
	make_ann(&a, E.a, E.a, 5, 70, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert(tree_find_info(t, E.ka, &ti));
	cr_assert_eq(ti.nonce, 50);
	cr_assert_eq(E.n, 1);
	cr_assert_eq(E.msgs[0].type, PROTO_ANNOUNCE);
	cr_assert_eq(E.msgs[0].ann.nonce, 50);
	/* the identical info: nothing sent back */
	E.n = 0;
	make_ann(&a, E.a, E.a, 5, 50, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert_eq(E.n, 0);
	tree_free(t);
}

/* ---- start, SigReq/SigRes ---- */

Test(tree, first_tick_makes_us_root)
{
	struct tree *t = new_tree(E.a);
	struct tree_info self;
	struct proto_path p;
	uint8_t root[32];

	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 0);
	E.rnd[0] = 2591935916302609934ULL;
	E.nrnd = 1;
	tree_tick(t, 0);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 1);
	cr_assert_eq(self.nonce, 2591935916302609934ULL);
	cr_assert_eq(self.port, 0);
	cr_assert_arr_eq(self.parent, E.ka, 32);
	cr_assert(tree_coords(t, E.ka, &p));
	cr_assert_eq(p.len, 0);
	tree_get_root(t, root);
	cr_assert_arr_eq(root, E.ka, 32);
	cr_assert_eq(tree_info_count(t), 1);
	cr_assert_eq(E.n, 0, "no peers, nothing sent");
	tree_free(t);
}

/* run1 of captured-streams.txt: A's SigReq and A's SigRes to B's SigReq (spec §11). */
Test(tree, sigreq_and_sigres_match_capture)
{
	static const char psig_hex[] =
		"5079464ac92ab8002d2d7bc37c2c2f74b358ea62e169ea0fb3127b954ad53462"
		"7593a9b54673de2845dc7e5bef973d409e1174034d1a1d392d5d190980f7de05";
	struct tree *t = new_tree(E.a);
	struct proto_sigreq breq = {.seq = 2, .nonce = 11764014675478157507ULL};
	uint8_t psig[64];

	E.rnd[0] = 2591935916302609934ULL;
	E.rnd[1] = 12145589019528732728ULL;
	E.nrnd = 2;
	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 7, E.kb, 1, 0), 0);
	cr_assert_eq(E.n, 1);
	cr_assert_eq(E.msgs[0].type, PROTO_SIGREQ);
	cr_assert_eq(E.msgs[0].link, 7);
	cr_assert_eq(E.msgs[0].req.seq, 2);
	cr_assert_eq(E.msgs[0].req.nonce, 12145589019528732728ULL);
	tree_handle_sigreq(t, 7, &breq);
	cr_assert_eq(E.n, 2);
	cr_assert_eq(E.msgs[1].type, PROTO_SIGRES);
	cr_assert_eq(E.msgs[1].res.seq, 2);
	cr_assert_eq(E.msgs[1].res.nonce, 11764014675478157507ULL);
	cr_assert_eq(E.msgs[1].res.port, 1);
	cr_assert_eq(th_unhex(psig_hex, psig, sizeof(psig)), 64);
	cr_assert_arr_eq(E.msgs[1].res.psig, psig, 64);
	/* unknown links are ignored */
	tree_handle_sigreq(t, 99, &breq);
	cr_assert_eq(E.n, 2);
	tree_free(t);
}

Test(tree, link_up_errors)
{
	struct tree *t = new_tree(E.a);

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kb, 1, 0), 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 2, 0), -EEXIST);
	cr_assert_eq(tree_link_up(t, 2, E.ka, 2, 0), -EINVAL);
	cr_assert_eq(tree_link_up(t, 3, E.kc, 0, 0), -EINVAL);
	tree_link_down(t, 42); /* unknown: ignored */
	tree_free(t);
}

Test(tree, bad_signatures_are_eproto)
{
	struct tree *t = new_tree(E.b);
	struct proto_announce a;
	struct proto_sigres res;
	const struct sent *req;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.ka, 1, 0), 0);
	req = last_of(PROTO_SIGREQ);
	cr_assert_not_null(req);
	/* SigRes signed by the wrong key, or for another node */
	make_res(&res, E.c, E.kb, &req->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 0), -EPROTO);
	make_res(&res, E.a, E.kc, &req->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 0), -EPROTO);
	make_res(&res, E.a, E.kb, &req->req, 1);
	res.psig[5] ^= 1;
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 0), -EPROTO);
	/* Announce: bad sig, bad psig, port 0 for a non-root */
	make_ann(&a, E.a, E.a, 1, 1, 0);
	a.sig[0] ^= 0x80;
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), -EPROTO);
	make_ann(&a, E.c, E.a, 1, 1, 3);
	a.psig[63] ^= 1;
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), -EPROTO);
	make_ann(&a, E.c, E.a, 1, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), -EPROTO);
	make_ann(&a, E.c, E.a, 1, 1, 3);
	a.seq = 2; /* signatures no longer cover the fields */
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), -EPROTO);
	cr_assert_eq(tree_get_stats(t)->bad_sigres, 3);
	cr_assert_eq(tree_get_stats(t)->bad_announce, 4);
	cr_assert_eq(tree_info_count(t), 1, "nothing stored");
	tree_free(t);
}

/* §5.3: lag = 2 rtt at first, then lag*7/8 + min(rtt, 2 lag)/8; cost = max(1, ms). */
Test(tree, lag_and_cost)
{
	struct tree *t = new_tree(E.b);
	struct proto_announce a;
	struct proto_sigres res;
	const struct sent *req;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.ka, 1, 1000), 0);
	cr_assert_eq(tree_link_lag_ns(t, 1), TREE_UNKNOWN_LAG_NS);
	cr_assert_eq(tree_link_cost(t, 1), 4294);
	req = last_of(PROTO_SIGREQ);
	make_res(&res, E.a, E.kb, &req->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 1030), 0);
	cr_assert_eq(tree_link_lag_ns(t, 1), 60000000);
	cr_assert_eq(tree_link_cost(t, 1), 60);
	/* a second answer to the same request is no new sample */
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 1500), 0);
	cr_assert_eq(tree_link_lag_ns(t, 1), 60000000);
	/* adopting A re-requests (SendReqs); the next sample is averaged in */
	make_ann(&a, E.a, E.a, 1, 9, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 1100), 0);
	tree_tick(t, 2000);
	req = last_of(PROTO_SIGREQ);
	cr_assert_eq(req->req.seq, 3);
	make_res(&res, E.a, E.kb, &req->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 2010), 0);
	cr_assert_eq(tree_link_lag_ns(t, 1), 60000000 / 8 * 7 + 10000000 / 8);
	cr_assert_eq(tree_link_cost(t, 1), 53);
	/* rtt 0: cost floors at 1 */
	cr_assert_eq(tree_link_up(t, 2, E.kc, 2, 5000), 0);
	req = last_of(PROTO_SIGREQ);
	make_res(&res, E.c, E.kb, &req->req, 2);
	cr_assert_eq(tree_handle_sigres(t, 2, &res, 5000), 0);
	cr_assert_eq(tree_link_lag_ns(t, 2), 0);
	cr_assert_eq(tree_link_cost(t, 2), 1);
	tree_free(t);
}

/* §9: B adopts A on its next tick, re-requests (seq 3) and announces itself only. */
Test(tree, child_adopts_parent)
{
	struct tree *t = new_tree(E.b);
	struct proto_announce a;
	struct proto_sigres res;
	const struct sent *req;
	struct tree_info self;
	struct proto_path p;
	uint8_t root[32];
	const uint64_t one[] = {1};

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.ka, 1, 0), 0);
	req = last_of(PROTO_SIGREQ);
	cr_assert_eq(req->req.seq, 2);
	make_res(&res, E.a, E.kb, &req->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 10), 0);
	make_ann(&a, E.a, E.a, 1, 77, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 20), 0);
	E.n = 0;
	tree_tick(t, 1000);
	tree_get_self(t, &self);
	cr_assert_arr_eq(self.parent, E.ka, 32);
	cr_assert_eq(self.seq, 2);
	cr_assert_eq(self.port, 1);
	cr_assert_eq(self.nonce, res.nonce);
	cr_assert(tree_coords(t, E.kb, &p));
	path_is(&p, 1, one);
	tree_get_root(t, root);
	cr_assert_arr_eq(root, E.ka, 32);
	/* SigReq(3), then only our own announce (A's came from A) */
	cr_assert_eq(E.n, 2);
	cr_assert_eq(E.msgs[0].type, PROTO_SIGREQ);
	cr_assert_eq(E.msgs[0].req.seq, 3);
	cr_assert_eq(E.msgs[1].type, PROTO_ANNOUNCE);
	cr_assert_arr_eq(E.msgs[1].ann.key, E.kb, 32);
	cr_assert_arr_eq(E.msgs[1].ann.parent, E.ka, 32);
	/* the sent set holds: the next tick sends nothing */
	E.n = 0;
	tree_tick(t, 2000);
	cr_assert_eq(E.n, 0);
	cr_assert_eq(tree_get_stats(t)->parent_changes, 1);
	tree_free(t);
}

/* §5.8 through a peer's ancestry: A root, B = A's port 1, C = B's port 2 (the chain capture). */
Test(tree, coords_chain_and_loop)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	struct proto_path p;
	const uint64_t c_ports[] = {1, 2};

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 1, 0), 0);
	make_ann(&a, E.a, E.a, 1, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	make_ann(&a, E.b, E.a, 2, 1, 1);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	make_ann(&a, E.c, E.b, 2, 1, 2);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert(tree_coords(t, E.kc, &p));
	path_is(&p, 2, c_ports);
	cr_assert(tree_coords(t, E.kb, &p));
	path_is(&p, 1, c_ports);
	cr_assert(tree_coords(t, E.ka, &p));
	cr_assert_eq(p.len, 0);
	/* an unknown key has no coordinates */
	{
		const uint8_t unknown[32] = {1};

		cr_assert_not(tree_coords(t, unknown, &p));
		cr_assert_eq(p.len, 0);
	}
	/* A now claims B as parent (seq 2): A -> B -> A is a loop, so no coordinates */
	make_ann(&a, E.a, E.b, 2, 1, 5);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	cr_assert_not(tree_coords(t, E.kc, &p));
	cr_assert_eq(p.len, 0);
	cr_assert_not(tree_coords(t, E.ka, &p));
	tree_free(t);
}

/* §5.6 and §5.3 step 1: gossip of ancestries, no echo, replay on a parallel link. */
Test(tree, gossip_and_replay)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	int before;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 1, 0), 0);
	cr_assert_eq(tree_link_up(t, 2, E.ka, 2, 0), 0);
	make_ann(&a, E.c, E.c, 1, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	make_ann(&a, E.a, E.a, 1, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 2, &a, 0), 0);
	E.n = 0;
	tree_tick(t, 1000);
	/*
	 * D has no responses, so it stays root. To C: anc(D) = [D], anc(C) = [C] already known
	 * by C. To A: [D] only.
	 */
	cr_assert_eq(count_type(PROTO_ANNOUNCE, 1), 1);
	cr_assert_eq(count_type(PROTO_ANNOUNCE, 2), 1);
	for (int i = 0; i < E.n; i++)
		if (E.msgs[i].type == PROTO_ANNOUNCE)
			cr_assert_arr_eq(E.msgs[i].ann.key, E.kd, 32);
	/* a parallel link to C gets the replay of sent[C] = {C, D} before its SigReq */
	E.n = 0;
	cr_assert_eq(tree_link_up(t, 3, E.kc, 1, 1000), 0);
	cr_assert_eq(E.n, 3);
	cr_assert_eq(E.msgs[0].type, PROTO_ANNOUNCE);
	cr_assert_eq(E.msgs[1].type, PROTO_ANNOUNCE);
	cr_assert_eq(E.msgs[2].type, PROTO_SIGREQ);
	cr_assert_eq(E.msgs[2].link, 3);
	/* the SigReq on the new link is the key's current one */
	cr_assert_eq(E.msgs[2].req.seq, last_of(PROTO_SIGREQ)->req.seq);
	/* C's new info came from C, and C is in neither anc(D) nor anc(A): nothing to send */
	before = E.n;
	make_ann(&a, E.c, E.c, 2, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 1000), 0);
	tree_tick(t, 2000);
	cr_assert_eq(E.n, before);
	tree_free(t);
}

Test(tree, expiry_and_refresh)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	struct tree_info self;
	uint64_t now;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 1, 0), 0);
	make_ann(&a, E.b, E.b, 1, 1, 0); /* B is no peer: only refreshed if re-announced */
	cr_assert_eq(tree_handle_announce(t, 1, &a, 500), 0);
	for (now = 1000; now < 300500; now += 1000) {
		tree_tick(t, now);
		cr_assert(tree_find_info(t, E.kb, NULL), "expired early at %llu",
			  (unsigned long long)now);
	}
	tree_tick(t, 300500);
	cr_assert_not(tree_find_info(t, E.kb, NULL));
	cr_assert_eq(tree_get_stats(t)->infos_expired, 1);
	/* our own info was re-signed: refresh at 240 s, a root needs one more tick */
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 2);
	tree_free(t);

	t = new_tree(E.d);
	tree_tick(t, 0);
	for (now = 1000; now < 240000; now += 1000)
		tree_tick(t, now);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 1);
	tree_tick(t, 240000);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 1, "refresh flagged, doRoot1");
	tree_tick(t, 241000);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 2);
	cr_assert(tree_find_info(t, E.kd, NULL), "own info never expires");
	tree_free(t);
}

/* §5.5: a node that lost its parent becomes root 1 to 2 ticks later. */
Test(tree, parent_loss_root_within_two_ticks)
{
	struct tree *t = new_tree(E.b);
	struct proto_announce a;
	struct proto_sigres res;
	struct tree_info self;
	uint8_t root[32];

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.ka, 1, 0), 0);
	make_res(&res, E.a, E.kb, &last_of(PROTO_SIGREQ)->req, 1);
	cr_assert_eq(tree_handle_sigres(t, 1, &res, 0), 0);
	make_ann(&a, E.a, E.a, 1, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	tree_tick(t, 1000);
	tree_get_self(t, &self);
	cr_assert_arr_eq(self.parent, E.ka, 32);
	tree_link_down(t, 1);
	tree_tick(t, 2000);
	tree_get_self(t, &self);
	cr_assert_arr_eq(self.parent, E.ka, 32, "one tick of grace");
	tree_tick(t, 3000);
	tree_get_self(t, &self);
	cr_assert_arr_eq(self.parent, E.kb, 32);
	cr_assert_eq(self.seq, 3);
	tree_get_root(t, root);
	cr_assert_arr_eq(root, E.kb, 32);
	tree_free(t);
}

/* Our own old info coming back (we restarted) sets refresh: we outbid it. */
Test(tree, own_old_info_is_outbid)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	struct tree_info self;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 1, 0), 0);
	make_ann(&a, E.d, E.d, 40, 1, 0);
	cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 40);
	tree_tick(t, 1000); /* refresh: doRoot1 */
	tree_tick(t, 2000);
	tree_get_self(t, &self);
	cr_assert_eq(self.seq, 41);
	tree_free(t);
}

/* The table is capped: the excess is refused and counted, the link survives. */
Test(tree, infos_are_capped)
{
	struct tree *t = new_tree(E.d);
	struct proto_announce a;
	int refused = 0;

	tree_tick(t, 0);
	cr_assert_eq(tree_link_up(t, 1, E.kc, 1, 0), 0);
	for (int i = 0; i < TREE_INFOS_MAX + 2; i++) {
		struct keypair *k = keys_generate();

		make_ann(&a, k, k, 1, 1, 0);
		cr_assert_eq(tree_handle_announce(t, 1, &a, 0), 0);
		keys_free(k);
	}
	refused = (int)tree_get_stats(t)->infos_full;
	cr_assert_eq(tree_info_count(t), TREE_INFOS_MAX);
	cr_assert_eq(refused, 3, "own info + 4098 offered, %d refused", refused);
	/* expiry frees room again */
	tree_tick(t, 300000);
	cr_assert_eq(tree_info_count(t), 1);
	tree_free(t);
}
