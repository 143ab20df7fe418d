/*
 * Tests for core/ctrl, yggdrasil's protocol messages (spec yggdrasil-sessions-core-admin.md
 * §3.2), with fake callbacks and a fake clock: every request gets its exact response bytes
 * (GetSelf/GetPeers/GetTree bodies compared with what the real 0.5.12 answered, captured in
 * ctl-A-debug_remote*.json), dummies and unknown types are ignored, and our queries are
 * matched, timed out, cancelled and replaced. The NodeInfo JSON builder is checked against
 * the captured getNodeInfo answers of a node with NodeInfoPrivacy (B) and one without (C).
 */
#include "config/config.h"
#include "core/ctrl.h"
#include "lib/pkt.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The captured 0.5.12 answers, shared with the admin tests. */
#define VECTORS YGG64_TEST_DATA "/admin/"

/* keys of the captured run (ctl-A-*.json) */
#define KEY_B "7e3e82978401b10bec857834006eabd880920796696410826218ade6a5db55f5"
#define KEY_C "aeeac450b3dac63e07af52d12094f361ad6bb2ac2d49f2d2c6236dd8627f6a9b"

enum { MAXREC = CTRL_PENDING_MAX + 8, KEEP = 1024, MAXKEYS = 8 };

struct sent {
	uint8_t key[32];
	size_t len;
	uint8_t b[KEEP];
};

struct reply {
	void *ctx;
	int err;
	size_t len;
	uint8_t b[KEEP];
};

struct env {
	struct pkt_pool *pool;
	struct ctrl *c;
	uint8_t kb[32], kc[32], kx[32];
	int nsent;
	struct sent sent[MAXREC];
	int nreplies;
	struct reply replies[MAXREC];
	uint64_t routing_entries;
	uint8_t peers[MAXKEYS][32];
	size_t npeers;
	uint8_t tree[MAXKEYS][32];
	size_t ntree;
	int foreach_calls; /* keys offered to the ctrl's callback */
	bool query_again;  /* the reply callback queries kx again */
};

static struct env E;

static void f_send(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct env *e = ctx;
	struct sent *s;

	if (e->nsent++ >= MAXREC) { /* counted, not kept */
		pkt_free(p);
		return;
	}
	s = &e->sent[e->nsent - 1];
	memcpy(s->key, dest, 32);
	s->len = p->len;
	memcpy(s->b, p->data, p->len < KEEP ? p->len : KEEP);
	pkt_free(p);
}

static uint64_t f_routing_entries(void *ctx)
{
	return ((struct env *)ctx)->routing_entries;
}

static void each(struct env *e, uint8_t (*keys)[32], size_t n, ctrl_key_cb *cb, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		e->foreach_calls++;
		if (!cb(arg, keys[i]))
			return;
	}
}

static void f_foreach_peer(void *ctx, ctrl_key_cb *cb, void *arg)
{
	struct env *e = ctx;

	each(e, e->peers, e->npeers, cb, arg);
}

static void f_foreach_tree(void *ctx, ctrl_key_cb *cb, void *arg)
{
	struct env *e = ctx;

	each(e, e->tree, e->ntree, cb, arg);
}

static void on_reply(void *ctx, int err, const uint8_t *body, size_t len)
{
	struct reply *r;

	cr_assert_lt(E.nreplies, MAXREC);
	r = &E.replies[E.nreplies++];
	r->ctx = ctx;
	r->err = err;
	r->len = len;
	if (len)
		memcpy(r->b, body, len < KEEP ? len : KEEP);
	if (E.query_again) {
		E.query_again = false;
		cr_assert_gt(ctrl_query(E.c, E.kx, CTRL_SELF, on_reply, NULL, 0), 0);
	}
}

static void unhex32(const char *hex, uint8_t out[32])
{
	cr_assert_eq(th_unhex(hex, out, 32), 32);
}

static void env_init_full(const uint8_t self[32], uint32_t mtu, const char *nodeinfo, size_t npkts)
{
	static const struct ctrl_cbs cbs = {
	    .ctx = &E,
	    .send = f_send,
	    .routing_entries = f_routing_entries,
	    .foreach_peer = f_foreach_peer,
	    .foreach_tree = f_foreach_tree,
	};

	E.pool = pkt_pool_new(npkts, 65536);
	cr_assert_not_null(E.pool);
	E.c = ctrl_new(self, mtu, nodeinfo, strlen(nodeinfo), E.pool, &cbs);
	cr_assert_not_null(E.c);
}

static void env_init(void)
{
	memset(&E, 0, sizeof(E));
	unhex32(KEY_B, E.kb);
	unhex32(KEY_C, E.kc);
	memset(E.kx, 0x77, 32);
	env_init_full(E.kc, 65535, "{\"name\":\"node-C\"}", 8);
}

static size_t in_use(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(E.pool, &info);
	return info.in_use;
}

static void env_fini(void)
{
	ctrl_free(E.c);
	cr_assert_eq(in_use(), 0, "pkts leaked");
	pkt_pool_free(E.pool);
}

/* Delivers a protocol message (the bytes after the 0x02 core type) from key. */
static void deliver(const uint8_t key[32], const void *msg, size_t len, uint64_t now)
{
	struct pkt *p = pkt_alloc(E.pool);
	uint8_t *b;

	cr_assert_not_null(p);
	b = pkt_put(p, len);
	cr_assert(b || !len);
	if (len)
		memcpy(b, msg, len);
	ctrl_handle(E.c, key, p, now);
}

/* The file with whitespace outside strings removed (the compact form of pretty JSON). */
static char *compact_file(const char *name)
{
	char path[512], *s, *o;
	bool in_str = false;

	snprintf(path, sizeof(path), VECTORS "%s", name);
	s = th_read_file(path, NULL);
	cr_assert_not_null(s, "cannot read %s", path);
	o = s;
	for (const char *p = s; *p; p++) {
		if (in_str && *p == '\\' && p[1]) {
			*o++ = *p++;
			*o++ = *p;
			continue;
		}
		if (*p == '"')
			in_str = !in_str;
		if (!in_str && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
			continue;
		*o++ = *p;
	}
	*o = '\0';
	return s;
}

/* The value of the single top-level key of a captured admin answer, compact. */
static char *inner_object(const char *name)
{
	char *s = compact_file(name), *v = strstr(s, "\":");
	size_t n;

	cr_assert_not_null(v);
	v += 2;
	n = strlen(v);
	cr_assert_eq(v[n - 1], '}');
	memmove(s, v, n - 1);
	s[n - 1] = '\0';
	return s;
}

/* 32-byte keys listed in a captured debug_remoteGet{Peers,Tree} answer, in order. */
static size_t captured_keys(const char *name, uint8_t (*out)[32], size_t max)
{
	char *s = compact_file(name), *p = strstr(s, "\"keys\":[");
	size_t n = 0;

	cr_assert_not_null(p);
	p += strlen("\"keys\":[");
	while (*p == '"' && n < max) {
		char hex[65];

		memcpy(hex, p + 1, 64);
		hex[64] = '\0';
		cr_assert_eq(th_unhex(hex, out[n], 32), 32);
		n++;
		p += 66;
		if (*p == ',')
			p++;
	}
	free(s);
	return n;
}

/* ---- requests ---- */

Test(ctrl, nodeinfo_request_answered)
{
	static const char json[] = "{\"name\":\"node-C\"}";
	static const uint8_t req[] = {0x01}, req_trailing[] = {0x01, 0xaa, 0xbb};

	env_init();
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_arr_eq(E.sent[0].key, E.kb, 32);
	cr_assert_eq(E.sent[0].len, 2 + strlen(json));
	cr_assert_eq(E.sent[0].b[0], 0x02);
	cr_assert_eq(E.sent[0].b[1], 0x02);
	cr_assert_arr_eq(E.sent[0].b + 2, json, strlen(json));
	/* trailing bytes of a request are ignored (§3.2) */
	deliver(E.kx, req_trailing, sizeof(req_trailing), 0);
	cr_assert_eq(E.nsent, 2);
	cr_assert_arr_eq(E.sent[1].key, E.kx, 32);
	cr_assert_eq(E.sent[1].len, 2 + strlen(json));
	cr_assert_eq(ctrl_get_stats(E.c)->answered[CTRL_NODEINFO], 2);
	env_fini();
}

Test(ctrl, getself_answer_matches_capture)
{
	static const uint8_t req[] = {0xff, 0x01};
	char *want = inner_object("ctl-A-debug_remoteGetSelf-C.json");

	env_init(); /* we are C */
	E.routing_entries = 2;
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].b[0], 0x02);
	cr_assert_eq(E.sent[0].b[1], 0xff);
	cr_assert_eq(E.sent[0].b[2], 0x02);
	cr_assert_eq(E.sent[0].len, 3 + strlen(want));
	cr_assert_arr_eq(E.sent[0].b + 3, want, strlen(want), "got %.*s", (int)E.sent[0].len - 3,
			 (char *)E.sent[0].b + 3);
	free(want);
	env_fini();
}

Test(ctrl, getpeers_answer_matches_capture)
{
	static const uint8_t req[] = {0xff, 0x03};

	env_init();
	E.npeers = captured_keys("ctl-A-debug_remoteGetPeers-B.json", E.peers, MAXKEYS);
	cr_assert_eq(E.npeers, 2);
	deliver(E.kc, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 3 + 64);
	cr_assert_eq(E.sent[0].b[0], 0x02);
	cr_assert_eq(E.sent[0].b[1], 0xff);
	cr_assert_eq(E.sent[0].b[2], 0x04);
	cr_assert_arr_eq(E.sent[0].b + 3, E.peers[0], 32);
	cr_assert_arr_eq(E.sent[0].b + 35, E.peers[1], 32);
	env_fini();
}

Test(ctrl, gettree_answer_matches_capture)
{
	static const uint8_t req[] = {0xff, 0x05};

	env_init();
	E.ntree = captured_keys("ctl-A-debug_remoteGetTree-C.json", E.tree, MAXKEYS);
	cr_assert_eq(E.ntree, 2);
	cr_assert_arr_eq(E.tree[0], E.kc, 32);
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 3 + 64);
	cr_assert_eq(E.sent[0].b[2], 0x06);
	cr_assert_arr_eq(E.sent[0].b + 3, E.tree, 64);
	/* an empty table is an empty list */
	E.ntree = 0;
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 2);
	cr_assert_eq(E.sent[1].len, 3);
	env_fini();
}

Test(ctrl, key_lists_are_cut_at_the_mtu)
{
	static const uint8_t req[] = {0xff, 0x03};

	memset(&E, 0, sizeof(E));
	for (size_t i = 0; i < 5; i++)
		memset(E.peers[i], (int)(i + 1), 32);
	E.npeers = 5;
	/* 2 + 3 keys fit, the fourth would need one byte more */
	env_init_full(E.peers[0], 2 + 3 * 32 + 31, "{}", 4);
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 3 + 3 * 32);
	cr_assert_arr_eq(E.sent[0].b + 3, E.peers, 3 * 32);
	cr_assert_eq(E.foreach_calls, 4, "the walk stops at the first key that does not fit");
	env_fini();

	memset(&E, 0, sizeof(E));
	for (size_t i = 0; i < 5; i++)
		memset(E.peers[i], (int)(i + 1), 32);
	E.npeers = 5;
	env_init_full(E.peers[0], 2 + 4 * 32, "{}", 4); /* exactly 4 */
	deliver(E.kb, req, sizeof(req), 0);
	cr_assert_eq(E.sent[0].len, 3 + 4 * 32);
	env_fini();
}

Test(ctrl, dummies_and_unknown_types_ignored)
{
	static const uint8_t msgs[][3] = {{0x00}, {0xff, 0x00}, {0xff},
					  {0x03}, {0xff, 0x07}, {0xfe, 0x01}};
	static const size_t lens[] = {1, 2, 1, 1, 2, 2};

	env_init();
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		deliver(E.kb, msgs[i], lens[i], 0);
	deliver(E.kb, NULL, 0, 0);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.nreplies, 0);
	cr_assert_eq(ctrl_get_stats(E.c)->ignored, 7);
	env_fini();
}

Test(ctrl, request_answered_even_with_a_small_pool)
{
	static const uint8_t req[] = {0x01};

	memset(&E, 0, sizeof(E));
	unhex32(KEY_B, E.kb);
	/* one pkt: the answer reuses the request's */
	env_init_full(E.kb, 65535, "{}", 1);
	deliver(E.kb, req, 1, 0);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 4);
	cr_assert_arr_eq(E.sent[0].b, "\x02\x02{}", 4);
	env_fini();
}

/* ---- queries ---- */

Test(ctrl, query_sends_request_bytes)
{
	static const uint8_t want[CTRL_KIND_COUNT][3] = {
	    {0x02, 0x01}, {0x02, 0xff, 0x01}, {0x02, 0xff, 0x03}, {0x02, 0xff, 0x05}};
	static const size_t wlen[CTRL_KIND_COUNT] = {2, 3, 3, 3};
	int64_t last = 0;

	env_init();
	for (int k = 0; k < CTRL_KIND_COUNT; k++) {
		int64_t id = ctrl_query(E.c, E.kb, (enum ctrl_kind)k, on_reply, NULL, 0);

		cr_assert_gt(id, last);
		last = id;
		cr_assert_eq(E.nsent, k + 1);
		cr_assert_arr_eq(E.sent[k].key, E.kb, 32);
		cr_assert_eq(E.sent[k].len, wlen[k]);
		cr_assert_arr_eq(E.sent[k].b, want[k], wlen[k]);
	}
	cr_assert_eq(ctrl_pending_count(E.c), 4, "one per kind for the same key");
	cr_assert_eq(ctrl_query(E.c, E.kb, CTRL_KIND_COUNT, on_reply, NULL, 0), -EINVAL);
	cr_assert_eq(ctrl_query(E.c, E.kb, CTRL_SELF, NULL, NULL, 0), -EINVAL);
	env_fini();
}

Test(ctrl, response_matched_to_query)
{
	static const char json[] = "{\"name\":\"node-B\"}";
	uint8_t res[64] = {0x02};
	int tag;

	env_init();
	cr_assert_gt(ctrl_query(E.c, E.kb, CTRL_NODEINFO, on_reply, &tag, 100), 0);
	memcpy(res + 1, json, strlen(json));
	/* from another key, or a response of another kind: not ours */
	deliver(E.kx, res, 1 + strlen(json), 200);
	deliver(E.kb, "\xff\x02{}", 4, 200);
	cr_assert_eq(E.nreplies, 0);
	cr_assert_eq(ctrl_get_stats(E.c)->unsolicited, 2);
	deliver(E.kb, res, 1 + strlen(json), 300);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].ctx, &tag);
	cr_assert_eq(E.replies[0].err, 0);
	cr_assert_eq(E.replies[0].len, strlen(json));
	cr_assert_arr_eq(E.replies[0].b, json, strlen(json));
	cr_assert_eq(ctrl_pending_count(E.c), 0);
	/* a second answer finds nothing pending */
	deliver(E.kb, res, 1 + strlen(json), 400);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(ctrl_get_stats(E.c)->unsolicited, 3);
	cr_assert_eq(ctrl_get_stats(E.c)->replies, 1);
	env_fini();
}

Test(ctrl, debug_responses_matched)
{
	uint8_t res[3 + 64] = {0xff, 0x04};

	env_init();
	ctrl_query(E.c, E.kb, CTRL_PEERS, on_reply, NULL, 0);
	ctrl_query(E.c, E.kb, CTRL_TREE, on_reply, NULL, 0);
	memcpy(res + 2, E.kb, 32);
	memcpy(res + 34, E.kc, 32);
	deliver(E.kb, res, 66, 10);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].len, 64);
	cr_assert_arr_eq(E.replies[0].b, res + 2, 64);
	cr_assert_eq(ctrl_pending_count(E.c), 1, "the tree query still waits");
	res[1] = 0x06;
	deliver(E.kb, res, 2, 10); /* an empty tree */
	cr_assert_eq(E.nreplies, 2);
	cr_assert_eq(E.replies[1].err, 0);
	cr_assert_eq(E.replies[1].len, 0);
	env_fini();
}

Test(ctrl, unsolicited_response_dropped)
{
	env_init();
	deliver(E.kb, "\x02{}", 3, 0);
	deliver(E.kb, "\xff\x02{}", 4, 0);
	deliver(E.kb, "\xff\x04", 2, 0);
	deliver(E.kb, "\xff\x06", 2, 0);
	cr_assert_eq(ctrl_get_stats(E.c)->unsolicited, 4);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.nreplies, 0);
	env_fini();
}

Test(ctrl, query_times_out_after_6s)
{
	env_init();
	ctrl_query(E.c, E.kb, CTRL_SELF, on_reply, NULL, 1000);
	ctrl_tick(E.c, 6999);
	cr_assert_eq(E.nreplies, 0);
	ctrl_tick(E.c, 7000);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].err, -ETIMEDOUT);
	cr_assert_eq(E.replies[0].len, 0);
	cr_assert_eq(ctrl_get_stats(E.c)->timeouts, 1);
	/* a late answer is unsolicited, and the callback is not called twice */
	deliver(E.kb, "\xff\x02{}", 4, 7001);
	ctrl_tick(E.c, 20000);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(ctrl_get_stats(E.c)->unsolicited, 1);
	env_fini();
}

Test(ctrl, cancelled_query_never_called)
{
	int64_t id;

	env_init();
	id = ctrl_query(E.c, E.kb, CTRL_NODEINFO, on_reply, NULL, 0);
	ctrl_cancel(E.c, id);
	ctrl_cancel(E.c, id);	    /* twice: harmless */
	ctrl_cancel(E.c, id + 100); /* unknown */
	cr_assert_eq(ctrl_pending_count(E.c), 0);
	deliver(E.kb, "\x02{}", 3, 10);
	ctrl_tick(E.c, 100000);
	cr_assert_eq(E.nreplies, 0);
	env_fini();
}

Test(ctrl, newer_query_replaces_older)
{
	int a, b;
	int64_t ida, idb;

	env_init();
	ida = ctrl_query(E.c, E.kb, CTRL_SELF, on_reply, &a, 0);
	idb = ctrl_query(E.c, E.kb, CTRL_SELF, on_reply, &b, 10);
	cr_assert_gt(idb, ida);
	cr_assert_eq(E.nsent, 2, "the request is sent again");
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].ctx, &a);
	cr_assert_eq(E.replies[0].err, -ECANCELED);
	cr_assert_eq(ctrl_pending_count(E.c), 1);
	cr_assert_eq(ctrl_get_stats(E.c)->replaced, 1);
	/* cancelling the old id does nothing to the new one */
	ctrl_cancel(E.c, ida);
	deliver(E.kb, "\xff\x02{}", 4, 20);
	cr_assert_eq(E.nreplies, 2);
	cr_assert_eq(E.replies[1].ctx, &b);
	cr_assert_eq(E.replies[1].err, 0);
	/* the new deadline counts from the new query */
	env_fini();
}

Test(ctrl, replaced_query_deadline_restarts)
{
	int a, b;

	env_init();
	ctrl_query(E.c, E.kb, CTRL_TREE, on_reply, &a, 0);
	ctrl_query(E.c, E.kb, CTRL_TREE, on_reply, &b, 5000);
	ctrl_tick(E.c, 6000);
	cr_assert_eq(E.nreplies, 1); /* only a's -ECANCELED */
	ctrl_tick(E.c, 11000);
	cr_assert_eq(E.nreplies, 2);
	cr_assert_eq(E.replies[1].ctx, &b);
	cr_assert_eq(E.replies[1].err, -ETIMEDOUT);
	env_fini();
}

Test(ctrl, pending_table_bounded)
{
	uint8_t key[32] = {0};
	int64_t id;

	memset(&E, 0, sizeof(E));
	memset(E.kx, 0x77, 32);
	env_init_full(E.kx, 65535, "{}", 4);
	for (unsigned i = 0; i < CTRL_PENDING_MAX; i++) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		cr_assert_gt(ctrl_query(E.c, key, CTRL_NODEINFO, on_reply, NULL, 0), 0);
	}
	cr_assert_eq(ctrl_pending_count(E.c), CTRL_PENDING_MAX);
	key[0] = 0xee;
	key[1] = 0xee;
	cr_assert_eq(ctrl_query(E.c, key, CTRL_NODEINFO, on_reply, NULL, 0), -ENOSPC);
	cr_assert_eq(E.nreplies, 0);
	/* replacing one still works when full */
	key[0] = 5;
	key[1] = 0;
	id = ctrl_query(E.c, key, CTRL_NODEINFO, on_reply, NULL, 0);
	cr_assert_gt(id, 0);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].err, -ECANCELED);
	cr_assert_eq(ctrl_pending_count(E.c), CTRL_PENDING_MAX);
	/* ctrl_free calls every pending query back */
	ctrl_free(E.c);
	E.c = NULL;
	cr_assert_eq(E.nreplies, 1 + CTRL_PENDING_MAX);
	for (int i = 1; i < E.nreplies; i++)
		cr_assert_eq(E.replies[i].err, -ECANCELED);
	env_fini();
}

Test(ctrl, empty_pool_fails_query_and_keeps_old)
{
	struct pkt *hog;
	int a;

	memset(&E, 0, sizeof(E));
	unhex32(KEY_B, E.kb);
	env_init_full(E.kb, 65535, "{}", 1);
	cr_assert_gt(ctrl_query(E.c, E.kx, CTRL_SELF, on_reply, &a, 0), 0);
	hog = pkt_alloc(E.pool);
	cr_assert_not_null(hog);
	cr_assert_eq(ctrl_query(E.c, E.kx, CTRL_SELF, on_reply, NULL, 0), -ENOBUFS);
	cr_assert_eq(E.nreplies, 0, "the old query stays");
	cr_assert_eq(ctrl_pending_count(E.c), 1);
	cr_assert_eq(ctrl_get_stats(E.c)->no_pkt, 1);
	pkt_free(hog);
	deliver(E.kx, "\xff\x02{}", 4, 10);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(E.replies[0].ctx, &a);
	env_fini();
}

Test(ctrl, callback_may_query_again)
{
	env_init();
	ctrl_query(E.c, E.kx, CTRL_SELF, on_reply, NULL, 0);
	E.query_again = true;
	deliver(E.kx, "\xff\x02{}", 4, 10);
	cr_assert_eq(E.nreplies, 1);
	cr_assert_eq(ctrl_pending_count(E.c), 1, "the callback's query is pending");
	cr_assert_eq(E.nsent, 2);
	env_fini(); /* ctrl_free calls it back with -ECANCELED */
	cr_assert_eq(E.nreplies, 2);
	cr_assert_eq(E.replies[1].err, -ECANCELED);
}

Test(ctrl, new_refuses_oversized_nodeinfo)
{
	static const struct ctrl_cbs cbs = {0};
	static char big[CTRL_NODEINFO_MAX + 1];
	uint8_t self[32] = {0};

	memset(big, 'x', sizeof(big));
	errno = 0;
	cr_assert_null(ctrl_new(self, 65535, big, sizeof(big), NULL, &cbs));
	cr_assert_eq(errno, EMSGSIZE);
}

/* ---- NodeInfo JSON (§3.2) ---- */

static void load(struct config *cfg, const char *yaml)
{
	config_init(cfg);
	cr_assert_eq(config_load_buf(cfg, "t.yaml", yaml, strlen(yaml), stderr), 0, "%s", yaml);
}

Test(ctrl, nodeinfo_with_privacy_matches_capture)
{
	/* B.conf of the captured run */
	struct config cfg;
	char *want = inner_object("ctl-A-getNodeInfo-B.json"), *got;
	size_t len = 0;

	load(&cfg,
	     "NodeInfoPrivacy: true\nNodeInfo: {name: \"node-B\", \"location\": \"netns\"}\n");
	got = ctrl_nodeinfo_json(&cfg, &len);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want);
	cr_assert_eq(len, strlen(want));
	free(got);
	free(want);
	config_fini(&cfg);
}

Test(ctrl, nodeinfo_build_keys_match_capture)
{
	/* C.conf had no NodeInfo and no privacy: the real node sent only its build keys */
	static const struct config_build_info real = {"yggdrasil", "0.5.12", "linux", "amd64"};
	struct config cfg;
	char *want = inner_object("ctl-A-getNodeInfo-C.json"), *got;
	size_t len;

	load(&cfg, "NodeInfoPrivacy: false\n");
	cr_assert_null(cfg.nodeinfo);
	got = config_nodeinfo_json(&cfg, &real, &len);
	cr_assert_str_eq(got, want);
	cr_assert_eq(len, strlen(want));
	free(got);
	free(want);
	config_fini(&cfg);
}

Test(ctrl, nodeinfo_ours_sorted_and_build_keys_win)
{
	struct config cfg;
	char *got, *arch_end;
	static const char head[] = "{\"alpha\":\"a\",\"buildarch\":\"";
	static const char tail[] = "\",\"buildname\":\"ygg64\",\"buildplatform\":\"linux\","
				   "\"buildversion\":\"" YGG64_VERSION "\",\"zeta\":1}";

	load(&cfg, "NodeInfo:\n  zeta: 1\n  buildname: mine\n  alpha: a\n");
	got = ctrl_nodeinfo_json(&cfg, NULL);
	cr_assert_not_null(got);
	cr_assert_eq(strncmp(got, head, strlen(head)), 0, "%s", got);
	arch_end = strchr(got + strlen(head), '"');
	cr_assert_not_null(arch_end);
	cr_assert_gt(arch_end - got, (long)strlen(head), "an architecture name");
	cr_assert_str_eq(arch_end, tail);
#if defined(__x86_64__)
	cr_assert_eq(strncmp(got + strlen(head), "amd64\"", 6), 0);
#endif
	free(got);
	config_fini(&cfg);
}

Test(ctrl, nodeinfo_nested_values_and_escapes)
{
	struct config cfg;
	char *got;

	load(&cfg, "NodeInfoPrivacy: true\nNodeInfo:\n  b: {y: 2.50, x: [1, \"s<&\"]}\n  a: true\n"
		   "  c: null\n");
	got = ctrl_nodeinfo_json(&cfg, NULL);
	cr_assert_str_eq(got, "{\"a\":true,\"b\":{\"x\":[1,\"s\\u003c\\u0026\"],\"y\":2.5},"
			      "\"c\":null}");
	free(got);
	config_fini(&cfg);
}

Test(ctrl, nodeinfo_null_with_privacy_is_empty_object)
{
	struct config cfg;
	char *got;
	size_t len;

	load(&cfg, "NodeInfoPrivacy: true\nNodeInfo: null\n");
	got = ctrl_nodeinfo_json(&cfg, &len);
	cr_assert_str_eq(got, "{}");
	cr_assert_eq(len, 2);
	free(got);
	/* config_nodeinfo_json without build info ignores privacy */
	got = config_nodeinfo_json(&cfg, NULL, NULL);
	cr_assert_str_eq(got, "{}");
	free(got);
	config_fini(&cfg);
}

Test(ctrl, nodeinfo_too_big_with_build_keys)
{
	struct config cfg;
	size_t n = CTRL_NODEINFO_MAX - 20; /* {"v":"..."} = n + 8 bytes: fits alone */
	char *yaml = malloc(n + 64), *got;

	strcpy(yaml, "NodeInfo:\n  v: ");
	memset(yaml + strlen(yaml), 'x', n);
	strcpy(yaml + strlen("NodeInfo:\n  v: ") + n, "\n");
	load(&cfg, yaml);
	errno = 0;
	cr_assert_null(ctrl_nodeinfo_json(&cfg, NULL));
	cr_assert_eq(errno, EMSGSIZE);
	cfg.nodeinfo_privacy = true;
	got = ctrl_nodeinfo_json(&cfg, NULL);
	cr_assert_not_null(got);
	cr_assert_eq(strlen(got), n + 8);
	free(got);
	free(yaml);
	config_fini(&cfg);
}
