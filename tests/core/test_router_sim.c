/*
 * Tests for core/router as a network (spec yggdrasil-link-routing.md §5-§7): N routers whose
 * cbs.send puts frames on a queue that delivers them to the peer router's
 * router_handle_frame, with a fake clock ticking every router each second. Convergence of a
 * line, a ring and a star to one tree under the lowest key with consistent coordinates;
 * lookups, notifies and transit traffic; link and parent loss; expiry and refresh timers;
 * the hourly forced bloom resend. Keys come from the spec §11 seeds (00.., 20.., 40.., ...).
 */
#include "core/proto.h"
#include "core/router.h"
#include "crypto/keys.h"
#include "lib/pkt.h"

#include <criterion/criterion.h>

#include "support/rng.h"
#include "support/seedkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys from seeds (PKCS#8 PEM) ---- */

static struct keypair *seed_key(uint8_t first)
{
	return ts_seed_key(first);
}

/* ---- an in-memory network ---- */

enum { SIM_NODES = 6, SIM_LINKS = 16 };

struct sim;

struct snode {
	struct sim *s;
	int idx;
	struct router *r;
	struct keypair *kp;
	uint8_t key[32];
	uint64_t rnd;
	int delivered;
	uint8_t dsrc[32];
	uint8_t dlast[64];
	size_t dlen;
	int found;
};

struct slink {
	int a, b;
	bool is_up;
};

struct sim {
	struct pkt_pool *pool;
	struct pkt_queue q;
	struct snode n[SIM_NODES];
	int nn;
	struct slink l[SIM_LINKS]; /* link id = index + 1 at both ends */
	int nl;
	uint64_t now;
};

struct qmeta {
	int dest;
	uint32_t link;
};

static struct sim S;

static void s_send(void *ctx, uint32_t link_id, struct pkt *frame)
{
	struct snode *n = ctx;
	struct slink *l = &n->s->l[link_id - 1];
	struct qmeta m;

	cr_assert(proto_frame_is_valid(frame->data, frame->len));
	if (!l->is_up) {
		pkt_free(frame);
		return;
	}
	m.dest = l->a == n->idx ? l->b : l->a;
	m.link = link_id;
	memcpy(frame->cb, &m, sizeof(m));
	pkt_queue_push(&n->s->q, frame);
}

static void s_deliver(void *ctx, const uint8_t source[32], struct pkt *payload)
{
	struct snode *n = ctx;

	n->delivered++;
	memcpy(n->dsrc, source, 32);
	n->dlen = payload->len < sizeof(n->dlast) ? payload->len : sizeof(n->dlast);
	memcpy(n->dlast, payload->data, n->dlen);
	pkt_free(payload);
}

static void s_found(void *ctx, const uint8_t key[32])
{
	(void)key;
	((struct snode *)ctx)->found++;
}

static uint64_t s_random(void *ctx)
{
	struct snode *n = ctx;

	return th_xorshift64(&n->rnd); /* deterministic per node */
}

static uint64_t s_unix(void *ctx)
{
	return 1700000000 + ((struct snode *)ctx)->s->now / 1000;
}

static void sim_run(void)
{
	struct pkt *p;
	int guard = 0;

	while ((p = pkt_queue_pop(&S.q))) {
		struct qmeta m;
		int rc;

		cr_assert_lt(++guard, 200000, "the network does not quiesce");
		memcpy(&m, p->cb, sizeof(m));
		if (!S.l[m.link - 1].is_up) {
			pkt_free(p);
			continue;
		}
		rc = router_handle_frame(S.n[m.dest].r, m.link, p, S.now);
		cr_assert_eq(rc, 0, "node %d link %u: %d", m.dest, m.link, rc);
	}
}

static void sim_init(int nodes)
{
	static const uint8_t seeds[SIM_NODES] = {0x00, 0x20, 0x40, 0x60, 0x80, 0xa0};

	memset(&S, 0, sizeof(S));
	S.pool = pkt_pool_new(2048, 2048);
	cr_assert_not_null(S.pool);
	pkt_queue_init(&S.q, 0);
	S.now = 1000;
	S.nn = nodes;
	for (int i = 0; i < nodes; i++) {
		struct snode *n = &S.n[i];
		const struct router_cbs cbs = {
			.ctx = n,
			.send = s_send,
			.deliver = s_deliver,
			.path_found = s_found,
			.random = s_random,
			.unix_time = s_unix,
		};

		n->s = &S;
		n->idx = i;
		n->rnd = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		n->kp = seed_key(seeds[i]);
		keys_public(n->kp, n->key);
		n->r = router_new(n->kp, S.pool, &cbs, S.now);
	}
}

static void sim_fini(void)
{
	struct pkt_pool_info pi;

	pkt_queue_purge(&S.q);
	for (int i = 0; i < S.nn; i++) {
		router_free(S.n[i].r);
		keys_free(S.n[i].kp);
	}
	pkt_pool_info(S.pool, &pi);
	cr_assert_eq(pi.in_use, 0, "%zu pkts leaked", pi.in_use);
	pkt_pool_free(S.pool);
}

static int sim_link(int a, int b)
{
	int id = ++S.nl;

	cr_assert_leq(S.nl, SIM_LINKS);
	S.l[id - 1] = (struct slink){.a = a, .b = b, .is_up = true};
	cr_assert_eq(router_link_up(S.n[a].r, (uint32_t)id, S.n[b].key, 0, S.now), 0);
	cr_assert_eq(router_link_up(S.n[b].r, (uint32_t)id, S.n[a].key, 0, S.now), 0);
	sim_run();
	return id;
}

static void sim_unlink(int id)
{
	struct slink *l = &S.l[id - 1];

	l->is_up = false;
	router_link_down(S.n[l->a].r, (uint32_t)id, S.now);
	router_link_down(S.n[l->b].r, (uint32_t)id, S.now);
	sim_run();
}

static void sim_ticks(int k)
{
	while (k-- > 0) {
		S.now += 1000;
		for (int i = 0; i < S.nn; i++)
			router_tick(S.n[i].r, S.now);
		sim_run();
	}
}

static int lowest(const int *set, int count)
{
	int best = set[0];

	for (int i = 1; i < count; i++)
		if (memcmp(S.n[set[i]].key, S.n[best].key, 32) < 0)
			best = set[i];
	return best;
}

/*
 * Every node of set has root = the lowest key of set, and coords(child) = coords(parent) +
 * [the port the parent gave the child].
 */
static void check_tree(const int *set, int count)
{
	int root = lowest(set, count);

	for (int k = 0; k < count; k++) {
		int i = set[k], parent = -1;
		uint32_t plink = 0;
		struct router_self_info si, pi;
		struct router_link_info li;

		router_get_self(S.n[i].r, &si);
		cr_assert_arr_eq(si.root, S.n[root].key, 32, "node %d has another root", i);
		if (i == root) {
			cr_assert_eq(si.coords.len, 0);
			continue;
		}
		for (int id = 1; id <= S.nl; id++) {
			const struct slink *l = &S.l[id - 1];

			if (l->is_up && (l->a == i || l->b == i) &&
			    router_get_link(S.n[i].r, (uint32_t)id, &li) && li.is_parent) {
				parent = l->a == i ? l->b : l->a;
				plink = (uint32_t)id;
			}
		}
		cr_assert_geq(parent, 0, "node %d has no parent link", i);
		router_get_self(S.n[parent].r, &pi);
		cr_assert(router_get_link(S.n[parent].r, plink, &li));
		cr_assert_eq(si.coords.len, pi.coords.len + 1, "node %d depth", i);
		for (int d = 0; d < pi.coords.len; d++)
			cr_assert_eq(si.coords.port[d], pi.coords.port[d]);
		cr_assert_eq(si.coords.port[pi.coords.len], li.port, "node %d: last port", i);
	}
}

static void sim_send(int from, int to, uint8_t tag)
{
	struct pkt *p = pkt_alloc(S.pool);
	uint8_t *d;

	cr_assert_not_null(p);
	d = pkt_put(p, 16);
	memset(d, tag, 16);
	router_send(S.n[from].r, S.n[to].key, p, S.now);
	sim_run();
}

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(sim, .init = setup);

/* A -- B -- C as in the chain capture: root A, coords [], [1], [1, 2]. */
Test(sim, line_of_three)
{
	const int all[] = {0, 1, 2};
	struct router_self_info si;
	const struct router_stats *sa, *sb, *sc;

	sim_init(3);
	sim_link(0, 1);
	sim_link(1, 2);
	sim_ticks(5);
	check_tree(all, 3);
	router_get_self(S.n[2].r, &si);
	cr_assert_eq(si.coords.len, 2);
	cr_assert_eq(si.coords.port[0], 1);
	cr_assert_eq(si.coords.port[1], 2);
	/* blooms need a tick more to cover the far end; then A -> C */
	sim_ticks(2);
	sim_send(0, 2, 0x42);
	cr_assert_eq(S.n[2].delivered, 1, "payload not delivered");
	cr_assert_arr_eq(S.n[2].dsrc, S.n[0].key, 32);
	cr_assert_eq(S.n[2].dlen, 16);
	cr_assert_eq(S.n[2].dlast[0], 0x42);
	cr_assert_eq(S.n[0].found, 1, "A learnt C's key");
	sa = router_get_stats(S.n[0].r);
	sb = router_get_stats(S.n[1].r);
	sc = router_get_stats(S.n[2].r);
	cr_assert_eq(sa->lookups_sent, 1);
	cr_assert_eq(sa->traffic_buffered, 1);
	cr_assert_geq(sb->traffic_forwarded, 1);
	cr_assert_eq(sb->frames_in[PROTO_LOOKUP], 1);
	cr_assert_eq(sb->frames_out[PROTO_NOTIFY], 1, "B forwarded C's notify");
	cr_assert_eq(sc->traffic_delivered, 1);
	/* the path is cached now: straight through */
	sim_send(0, 2, 0x43);
	cr_assert_eq(S.n[2].delivered, 2);
	cr_assert_eq(S.n[2].dlast[0], 0x43);
	cr_assert_eq(sa->lookups_sent, 1);
	/* and back, C -> A */
	sim_send(2, 0, 0x44);
	cr_assert_eq(S.n[0].delivered, 1);
	cr_assert_eq(S.n[0].dlast[0], 0x44);
	cr_assert_eq(sa->bad_frames + sb->bad_frames + sc->bad_frames, 0);
	sim_fini();
}

/* A ring of five converges; a failed link re-converges and traffic finds its way again. */
Test(sim, ring_of_five_and_link_failure)
{
	const int all[] = {0, 1, 2, 3, 4};
	int ids[5], root, victim = -1, before;

	sim_init(5);
	for (int i = 0; i < 5; i++)
		ids[i] = sim_link(i, (i + 1) % 5);
	sim_ticks(8);
	check_tree(all, 5);
	root = lowest(all, 5);
	sim_ticks(2);
	sim_send(1, 3, 1);
	cr_assert_eq(S.n[3].delivered, 1);
	sim_send(3, 1, 2);
	cr_assert_eq(S.n[1].delivered, 1);
	/* cut a link of the root's */
	for (int i = 0; i < 5; i++)
		if (S.l[ids[i] - 1].a == root || S.l[ids[i] - 1].b == root)
			victim = ids[i];
	cr_assert_geq(victim, 1);
	sim_unlink(victim);
	sim_ticks(12);
	check_tree(all, 5);
	/* old paths may point into the void: broken, looked up again, resent from the cache */
	before = S.n[3].delivered;
	for (int k = 0; k < 5 && S.n[3].delivered == before; k++) {
		sim_send(1, 3, 3);
		sim_ticks(1);
	}
	cr_assert_gt(S.n[3].delivered, before);
	sim_fini();
}

Test(sim, star_of_five)
{
	const int all[] = {0, 1, 2, 3, 4};

	sim_init(5);
	for (int i = 1; i < 5; i++)
		sim_link(2, i == 2 ? 0 : i);
	sim_ticks(6);
	check_tree(all, 5);
	sim_send(1, 4, 9);
	cr_assert_eq(S.n[4].delivered, 1);
	cr_assert_geq(router_get_stats(S.n[2].r)->traffic_forwarded, 1);
	sim_fini();
}

/* A -- B -- C; cut A -- B: B becomes root within 2 ticks; A's info dies 5 min later. */
Test(sim, parent_loss_and_expiry)
{
	const int bc[] = {1, 2}, a_only[] = {0};
	struct router_self_info si;
	int ab;
	uint64_t cut;

	sim_init(3);
	ab = sim_link(0, 1);
	sim_link(1, 2);
	sim_ticks(6);
	cut = S.now;
	sim_unlink(ab);
	sim_ticks(1);
	router_get_self(S.n[1].r, &si);
	cr_assert_arr_eq(si.root, S.n[0].key, 32, "one tick of grace");
	sim_ticks(1);
	router_get_self(S.n[1].r, &si);
	cr_assert_arr_eq(si.root, S.n[1].key, 32, "root after 2 ticks");
	sim_ticks(6);
	check_tree(bc, 2);
	check_tree(a_only, 1);
	/* C still holds A's (stale) info for up to 5 min, then it expires */
	while (S.now < cut + 60000)
		sim_ticks(1);
	router_get_self(S.n[2].r, &si);
	cr_assert_eq(si.routing_entries, 3);
	while (S.now < cut + 301000)
		sim_ticks(1);
	router_get_self(S.n[2].r, &si);
	cr_assert_eq(si.routing_entries, 2, "A's info expired");
	sim_fini();
}

/* Refresh: own infos are re-signed every 4 min, so nothing expires in a live network. */
static void count_tree(void *ctx, const struct router_tree_info *ti)
{
	(void)ti;
	(*(int *)ctx)++;
}

Test(sim, refresh_keeps_infos_alive)
{
	const int all[] = {0, 1, 2};
	struct router_self_info si;
	uint64_t seq0, start;
	int count;

	sim_init(3);
	sim_link(0, 1);
	sim_link(1, 2);
	sim_ticks(6);
	router_get_self(S.n[0].r, &si);
	seq0 = si.seq;
	start = S.now;
	while (S.now < start + 660000) {
		sim_ticks(1);
		count = 0;
		router_foreach_tree(S.n[2].r, count_tree, &count);
		cr_assert_eq(count, 3, "C lost an info at %llu", (unsigned long long)S.now);
	}
	check_tree(all, 3);
	router_get_self(S.n[0].r, &si);
	cr_assert_eq(si.seq, seq0 + 2, "the root re-signed at 4 and 8 minutes");
	sim_fini();
}

/* §6.3: a filter that does not change is still resent exactly every 3600 ticks. */
Test(sim, bloom_forced_resend)
{
	uint64_t b0;
	int quiet = 0;

	sim_init(2);
	sim_link(0, 1);
	/* tick until A's last filter change is 10 ticks old */
	b0 = router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM];
	while (quiet < 10) {
		sim_ticks(1);
		if (router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM] != b0) {
			b0 = router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM];
			quiet = 0;
		} else {
			quiet++;
		}
	}
	cr_assert_gt(b0, 1, "A sent its filter to its child");
	sim_ticks(3600 - 10 - 1);
	cr_assert_eq(router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM], b0);
	sim_ticks(1);
	cr_assert_eq(router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM], b0 + 1);
	sim_ticks(3599);
	cr_assert_eq(router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM], b0 + 1);
	sim_ticks(1);
	cr_assert_eq(router_get_stats(S.n[0].r)->frames_out[PROTO_BLOOM], b0 + 2);
	sim_fini();
}

/*
 * The transit line of t_transit_line.sh in the order of its CI failure: S -- B first (S the
 * root, B its child), then A, with the lowest key, joins S. A's first filter reaches S on the
 * tick A takes S as its child; A may look B up at once (S's filter for B covers B) and send,
 * and B answers exactly once (a session ack: ironwood ignores A's repeated inits, which keep
 * their seq). That answer needs B's filter from S to cover A already: a transit node passes
 * new bits on when the filter arrives, not a tick later (§6.3, §7.3).
 */
Test(sim, late_root_joins_line)
{
	int a, s, b, order[3] = {0, 1, 2};
	struct router_self_info si;
	uint64_t blooms;

	sim_init(3);
	/* sort the three nodes by key: a < s < b */
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (memcmp(S.n[order[j]].key, S.n[order[i]].key, 32) < 0) {
				int t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
	a = order[0];
	s = order[1];
	b = order[2];
	sim_link(s, b);
	sim_ticks(3);
	router_get_self(S.n[b].r, &si);
	cr_assert_arr_eq(si.root, S.n[s].key, 32);
	sim_link(a, s);
	/* tick until A sends its first non-empty filter: S has it, B's view of S lags */
	blooms = router_get_stats(S.n[a].r)->frames_out[PROTO_BLOOM];
	for (int k = 0; router_get_stats(S.n[a].r)->frames_out[PROTO_BLOOM] == blooms; k++) {
		cr_assert_lt(k, 5, "A never takes S as its child");
		sim_ticks(1);
	}
	router_get_self(S.n[b].r, &si);
	cr_assert_arr_eq(si.root, S.n[a].key, 32);
	sim_send(a, b, 0x51);
	cr_assert_eq(S.n[b].delivered, 1, "A -> B");
	/* B's one answer: looked up at once, buffered, sent when the notify comes back */
	sim_send(b, a, 0x52);
	sim_ticks(3);
	cr_assert_eq(S.n[a].delivered, 1, "B's answer to A is lost: its lookup found no filter");
	cr_assert_eq(router_get_stats(S.n[b].r)->lookups_sent, 1);
	sim_fini();
}
