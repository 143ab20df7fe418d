/*
 * Tests for core/pathfinder (spec yggdrasil-link-routing.md §7.3-§7.6) with fake routing
 * callbacks and a fake clock: lookup throttling, answers to full and partial keys, notify
 * acceptance rules and signatures, the waiting packet, path expiry, PathBroken handling, the
 * caps, and that every pool pkt comes back.
 */
#include "core/bloom.h"
#include "core/pathfinder.h"
#include "core/proto.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/seedkey.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys from seeds (PKCS#8 PEM) ---- */

static struct keypair *seed_key(uint8_t first)
{
	return ts_seed_key(first);
}

/* ---- fake router ---- */

enum { MAXREC = 64 };

struct traffic_rec {
	uint8_t dest[32];
	struct proto_path path;
	uint8_t first; /* first payload byte */
	size_t len;
};

struct env {
	struct keypair *a, *b;
	uint8_t ka[32], kb[32];
	struct pkt_pool *pool;
	struct pathfinder *pf;
	struct proto_path coords;
	int nlookups;
	struct proto_lookup lookup;
	uint8_t lookup_from[32];
	bool fwd_notify, fwd_broken;
	int nnotifies;
	struct proto_notify notify; /* the last one offered for forwarding */
	int nbrokens;
	int ntraffic;
	struct traffic_rec traffic[MAXREC];
	int nfound;
	uint8_t found[32];
	uint64_t unix_now;
};

static struct env E;

static void f_coords(void *ctx, struct proto_path *out)
{
	*out = ((struct env *)ctx)->coords;
}

static void f_multicast(void *ctx, const struct proto_lookup *l, const uint8_t from[32])
{
	struct env *e = ctx;

	e->nlookups++;
	e->lookup = *l;
	memcpy(e->lookup_from, from, 32);
}

static bool f_forward_notify(void *ctx, struct proto_notify *n)
{
	struct env *e = ctx;

	e->nnotifies++;
	e->notify = *n;
	return e->fwd_notify;
}

static bool f_forward_broken(void *ctx, struct proto_broken *b)
{
	struct env *e = ctx;

	(void)b;
	e->nbrokens++;
	return e->fwd_broken;
}

static void f_send_traffic(void *ctx, const uint8_t dest[32], const struct proto_path *path,
			   struct pkt *payload)
{
	struct env *e = ctx;
	struct traffic_rec *t;

	cr_assert_lt(e->ntraffic, MAXREC);
	t = &e->traffic[e->ntraffic++];
	memcpy(t->dest, dest, 32);
	t->path = *path;
	t->len = payload->len;
	t->first = payload->len ? payload->data[0] : 0;
	pkt_free(payload);
}

static void f_path_found(void *ctx, const uint8_t key[32])
{
	struct env *e = ctx;

	e->nfound++;
	memcpy(e->found, key, 32);
}

static uint64_t f_unix_time(void *ctx)
{
	return ((struct env *)ctx)->unix_now;
}

static void setup(void)
{
	const struct pathfinder_cbs cbs = {
		.ctx = &E,
		.coords = f_coords,
		.multicast = f_multicast,
		.forward_notify = f_forward_notify,
		.forward_broken = f_forward_broken,
		.send_traffic = f_send_traffic,
		.path_found = f_path_found,
		.unix_time = f_unix_time,
	};

	cr_assert_eq(keys_init(), 0);
	memset(&E, 0, sizeof(E));
	E.a = seed_key(0x00);
	E.b = seed_key(0x20);
	keys_public(E.a, E.ka);
	keys_public(E.b, E.kb);
	E.pool = pkt_pool_new(PF_HELD_MAX + 64, 512);
	cr_assert_not_null(E.pool);
	E.unix_now = 1795675959;
	E.pf = pathfinder_new(E.a, E.pool, &cbs);
}

static void teardown(void)
{
	struct pkt_pool_info pi;

	pathfinder_free(E.pf);
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 0, "%zu pkts leaked", pi.in_use);
	pkt_pool_free(E.pool);
	keys_free(E.a);
	keys_free(E.b);
}

TestSuite(pathfinder, .init = setup, .fini = teardown);

static struct pkt *payload(uint8_t first, size_t len)
{
	struct pkt *p = pkt_alloc(E.pool);
	uint8_t *d;

	cr_assert_not_null(p);
	d = pkt_put(p, len);
	cr_assert_not_null(d);
	memset(d, first, len);
	return p;
}

static void set_path(struct proto_path *p, int len, const uint64_t *ports)
{
	p->len = (uint16_t)len;
	for (int i = 0; i < len; i++)
		p->port[i] = ports[i];
}

/* A notify from src to dest with info (seq, coords), signed by src. */
static void make_notify(struct proto_notify *n, const struct keypair *src, const uint8_t dest[32],
			uint64_t seq, int len, const uint64_t *ports)
{
	uint8_t m[1400];
	size_t ml;

	memset(n, 0, sizeof(*n));
	n->watermark = UINT64_MAX;
	keys_public(src, n->source);
	memcpy(n->dest, dest, 32);
	n->info_seq = seq;
	set_path(&n->info_path, len, ports);
	ml = proto_notify_preimage(m, sizeof(m), seq, &n->info_path);
	cr_assert_gt(ml, 0);
	sign_detached(src, m, ml, n->info_sig);
}

/* ---- lookups (§7.3, §7.6) ---- */

Test(pathfinder, lookup_is_throttled_per_rumor)
{
	const uint64_t c[] = {1, 4};

	set_path(&E.coords, 2, c);
	pathfinder_lookup(E.pf, E.kb, 10000);
	cr_assert_eq(E.nlookups, 1);
	cr_assert_arr_eq(E.lookup_from, E.ka, 32, "our own lookup: from_key is us");
	cr_assert_arr_eq(E.lookup.source, E.ka, 32);
	cr_assert_arr_eq(E.lookup.dest, E.kb, 32);
	cr_assert(proto_path_equal(&E.lookup.from, &E.coords));
	pathfinder_lookup(E.pf, E.kb, 10999);
	cr_assert_eq(E.nlookups, 1, "PATH_THROTTLE");
	pathfinder_lookup(E.pf, E.kb, 11000);
	cr_assert_eq(E.nlookups, 2);
	cr_assert_eq(pathfinder_rumor_count(E.pf), 1);
	cr_assert_eq(pathfinder_get_stats(E.pf)->lookups_started, 2);
	/* the rumor lives 60 s after its last lookup */
	pathfinder_tick(E.pf, 70999);
	cr_assert_eq(pathfinder_rumor_count(E.pf), 1);
	pathfinder_tick(E.pf, 71000);
	cr_assert_eq(pathfinder_rumor_count(E.pf), 0);
}

static void check_notify_answer(const struct proto_notify *n, const uint64_t *from, int from_len)
{
	uint8_t m[1400];
	size_t ml;
	struct proto_path want;

	set_path(&want, from_len, from);
	cr_assert(proto_path_equal(&n->path, &want));
	cr_assert_eq(n->watermark, UINT64_MAX);
	cr_assert_arr_eq(n->source, E.ka, 32);
	cr_assert_arr_eq(n->dest, E.kb, 32);
	cr_assert_eq(n->info_seq, 1795675959);
	cr_assert(proto_path_equal(&n->info_path, &E.coords));
	ml = proto_notify_preimage(m, sizeof(m), n->info_seq, &n->info_path);
	cr_assert(sign_verify(E.ka, m, ml, n->info_sig));
}

Test(pathfinder, answers_lookups_for_full_and_partial_keys)
{
	/* A's partial key from its address 206:2f7c:... (spec §11, captured PathLookup B->A) */
	static const char partial_a[] =
		"03a107bff3ce10be1d70dd18e74bc1ffffffffffffffffffffffffffffffffff";
	const uint64_t from[] = {1};
	struct proto_lookup l;

	memcpy(l.source, E.kb, 32);
	memcpy(l.dest, E.ka, 32);
	set_path(&l.from, 1, from);
	pathfinder_handle_lookup(E.pf, E.kb, &l, 0);
	cr_assert_eq(E.nlookups, 1, "the multicast goes on");
	cr_assert_arr_eq(E.lookup_from, E.kb, 32);
	cr_assert_eq(E.nnotifies, 1);
	check_notify_answer(&E.notify, from, 1);
	cr_assert_eq(th_unhex(partial_a, l.dest, 32), 32);
	pathfinder_handle_lookup(E.pf, E.kb, &l, 10);
	cr_assert_eq(E.nnotifies, 2);
	check_notify_answer(&E.notify, from, 1);
	/* another key: multicast only */
	memcpy(l.dest, E.kb, 32);
	pathfinder_handle_lookup(E.pf, E.kb, &l, 20);
	cr_assert_eq(E.nlookups, 3);
	cr_assert_eq(E.nnotifies, 2);
	cr_assert_eq(pathfinder_get_stats(E.pf)->notifies_sent, 2);
	/* new coordinates: a new info, signed again, still valid */
	set_path(&E.coords, 1, from);
	memcpy(l.dest, E.ka, 32);
	pathfinder_handle_lookup(E.pf, E.kb, &l, 30);
	check_notify_answer(&E.notify, from, 1);
}

/* ---- notify (§7.4) ---- */

Test(pathfinder, notify_rules)
{
	const uint64_t p1[] = {1}, p2[] = {2, 3};
	struct proto_notify n;
	struct pathfinder_path_info info;

	/* unrequested */
	make_notify(&n, E.b, E.ka, 100, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_IGNORED);
	cr_assert_eq(pathfinder_path_count(E.pf), 0);
	/* forwarded: never looked at */
	E.fwd_notify = true;
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_FORWARDED);
	E.fwd_notify = false;
	/* requested, but the signature fails */
	pathfinder_lookup(E.pf, E.kb, 0);
	n.info_sig[3] ^= 4;
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_BAD_SIG);
	cr_assert_eq(pathfinder_path_count(E.pf), 0);
	/* not for us */
	make_notify(&n, E.b, E.kb, 100, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_IGNORED);
	/* accepted */
	make_notify(&n, E.b, E.ka, 100, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_ACCEPTED);
	cr_assert_eq(E.nfound, 1);
	cr_assert_arr_eq(E.found, E.kb, 32);
	cr_assert(pathfinder_find_path(E.pf, E.kb, &info));
	cr_assert_eq(info.seq, 100);
	cr_assert(proto_path_equal(&info.path, &n.info_path));
	cr_assert_not(info.is_broken);
	/* same seq; newer seq with the same path; both ignored */
	make_notify(&n, E.b, E.ka, 100, 2, p2);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_IGNORED);
	make_notify(&n, E.b, E.ka, 101, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_IGNORED);
	/* newer seq, new path, bad signature */
	make_notify(&n, E.b, E.ka, 101, 2, p2);
	n.info_sig[0] ^= 1;
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_BAD_SIG);
	/* newer seq, new path */
	make_notify(&n, E.b, E.ka, 101, 2, p2);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_ACCEPTED);
	cr_assert(pathfinder_find_path(E.pf, E.kb, &info));
	cr_assert_eq(info.seq, 101);
	cr_assert_eq(info.path.len, 2);
	cr_assert_eq(E.nfound, 2);
}

/* A rumor for a partial key (from an address) accepts the full key's notify. */
Test(pathfinder, partial_key_rumor)
{
	static const char partial_b[] =
		"29acbae141bccaf0b22e1a94d34d0bc7ffffffffffffffffffffffffffffffff";
	const uint64_t p1[] = {1};
	uint8_t pk[32];
	struct proto_notify n;

	cr_assert_eq(th_unhex(partial_b, pk, 32), 32);
	pathfinder_lookup(E.pf, pk, 0);
	cr_assert_eq(E.nlookups, 1);
	cr_assert_arr_eq(E.lookup.dest, pk, 32, "the lookup carries the partial key");
	make_notify(&n, E.b, E.ka, 5, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_ACCEPTED);
	cr_assert(pathfinder_find_path(E.pf, E.kb, NULL), "paths are keyed by the full key");
	cr_assert_not(pathfinder_find_path(E.pf, pk, NULL));
}

/* ---- sending (§7.6) ---- */

Test(pathfinder, newest_packet_waits_and_goes_with_the_notify)
{
	const uint64_t p1[] = {1}, p2[] = {7};
	struct proto_notify n;
	struct pkt_pool_info pi;

	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xa1, 10), 0), PF_BUFFERED);
	cr_assert_eq(E.nlookups, 1);
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xa2, 20), 300), PF_BUFFERED);
	cr_assert_eq(E.nlookups, 1, "throttled");
	cr_assert_eq(pathfinder_get_stats(E.pf)->buffered_dropped, 1);
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 1, "only the newest waits");
	make_notify(&n, E.b, E.ka, 9, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 400), PF_ACCEPTED);
	cr_assert_eq(E.ntraffic, 1);
	cr_assert_arr_eq(E.traffic[0].dest, E.kb, 32);
	cr_assert_eq(E.traffic[0].first, 0xa2);
	cr_assert_eq(E.traffic[0].len, 20);
	cr_assert(proto_path_equal(&E.traffic[0].path, &n.info_path));
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 1, "a copy is cached on the path");
	/* with a path: straight out, and the cache holds the newest */
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xa3, 30), 500), PF_SENT);
	cr_assert_eq(E.ntraffic, 2);
	cr_assert_eq(E.traffic[1].first, 0xa3);
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 1);
	/* a new route: the cached packet is sent again along it */
	make_notify(&n, E.b, E.ka, 10, 1, p2);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 600), PF_ACCEPTED);
	cr_assert_eq(E.ntraffic, 3);
	cr_assert_eq(E.traffic[2].first, 0xa3);
	cr_assert_eq(E.traffic[2].path.port[0], 7);
}

Test(pathfinder, one_copy_per_millisecond_stands_for_a_batch)
{
	const uint64_t p1[] = {1}, p2[] = {7}, p3[] = {5};
	struct proto_notify n;
	struct pkt_pool_info pi;

	pathfinder_lookup(E.pf, E.kb, 0);
	make_notify(&n, E.b, E.ka, 9, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 100), PF_ACCEPTED);
	/* three packets in one millisecond: all go out, the first is the one kept */
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb1, 10), 2000), PF_SENT);
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb2, 10), 2000), PF_SENT);
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb3, 10), 2000), PF_SENT);
	cr_assert_eq(E.ntraffic, 3);
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 1, "one copy held");
	make_notify(&n, E.b, E.ka, 10, 1, p2);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 2000), PF_ACCEPTED);
	cr_assert_eq(E.ntraffic, 4);
	cr_assert_eq(E.traffic[3].first, 0xb1);
	cr_assert_eq(E.traffic[3].path.port[0], 7);
	/* a later millisecond: the newest packet is kept again */
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb4, 10), 2001), PF_SENT);
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb5, 10), 2002), PF_SENT);
	make_notify(&n, E.b, E.ka, 11, 1, p3);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 2003), PF_ACCEPTED);
	cr_assert_eq(E.ntraffic, 7);
	cr_assert_eq(E.traffic[6].first, 0xb5);
	cr_assert_eq(E.traffic[6].path.port[0], 5);
}

Test(pathfinder, path_expiry_and_reset)
{
	const uint64_t p1[] = {1};
	struct proto_notify n;

	pathfinder_lookup(E.pf, E.kb, 0);
	make_notify(&n, E.b, E.ka, 1, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 1000), PF_ACCEPTED);
	/* traffic received from B at 30 s keeps it until 90 s */
	pathfinder_reset_timeout(E.pf, E.kb, 30000);
	pathfinder_tick(E.pf, 89999);
	cr_assert(pathfinder_find_path(E.pf, E.kb, NULL));
	pathfinder_tick(E.pf, 90000);
	cr_assert_not(pathfinder_find_path(E.pf, E.kb, NULL));
	/* sending does not keep a path alive */
	pathfinder_lookup(E.pf, E.kb, 100000);
	make_notify(&n, E.b, E.ka, 2, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 100000), PF_ACCEPTED);
	for (uint64_t t = 101000; t < 160000; t += 1000)
		cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(1, 4), t), PF_SENT);
	pathfinder_tick(E.pf, 160000);
	cr_assert_not(pathfinder_find_path(E.pf, E.kb, NULL));
}

/* ---- broken (§7.5) ---- */

Test(pathfinder, broken_marks_path_and_looks_up_again)
{
	const uint64_t p1[] = {1}, p2[] = {2};
	struct proto_notify n;
	struct proto_broken b;
	struct pathfinder_path_info info;

	pathfinder_lookup(E.pf, E.kb, 0);
	make_notify(&n, E.b, E.ka, 1, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 0), PF_ACCEPTED);
	cr_assert_eq(E.nlookups, 1);
	memset(&b, 0, sizeof(b));
	b.watermark = UINT64_MAX;
	memcpy(b.source, E.ka, 32);
	memcpy(b.dest, E.kb, 32);
	/* forwarded, or not ours: nothing happens here */
	E.fwd_broken = true;
	pathfinder_handle_broken(E.pf, &b, 100);
	E.fwd_broken = false;
	memcpy(b.source, E.kb, 32);
	pathfinder_handle_broken(E.pf, &b, 100);
	cr_assert(pathfinder_find_path(E.pf, E.kb, &info));
	cr_assert_not(info.is_broken);
	/* ours: broken, and a lookup unless the entry is younger than PATH_THROTTLE */
	memcpy(b.source, E.ka, 32);
	pathfinder_handle_broken(E.pf, &b, 500);
	cr_assert(pathfinder_find_path(E.pf, E.kb, &info));
	cr_assert(info.is_broken);
	cr_assert_eq(E.nlookups, 1);
	pathfinder_handle_broken(E.pf, &b, 1000);
	cr_assert_eq(E.nlookups, 2);
	cr_assert_eq(E.nbrokens, 4);
	/* a broken path is not kept alive by traffic */
	pathfinder_reset_timeout(E.pf, E.kb, 50000);
	pathfinder_tick(E.pf, 60000);
	cr_assert_not(pathfinder_find_path(E.pf, E.kb, NULL));
	/* a fresh notify repairs a broken entry */
	pathfinder_lookup(E.pf, E.kb, 61000);
	make_notify(&n, E.b, E.ka, 3, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 61000), PF_ACCEPTED);
	pathfinder_handle_broken(E.pf, &b, 62500);
	make_notify(&n, E.b, E.ka, 4, 1, p2);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 63000), PF_ACCEPTED);
	cr_assert(pathfinder_find_path(E.pf, E.kb, &info));
	cr_assert_not(info.is_broken);
}

/* ---- caps ---- */

static void numbered_key(uint8_t k[32], unsigned i)
{
	memset(k, 0, 32);
	k[0] = 0x40;
	k[1] = (uint8_t)(i >> 8);
	k[2] = (uint8_t)i;
}

Test(pathfinder, rumors_are_capped)
{
	uint8_t k[32];

	for (unsigned i = 0; i <= PF_RUMORS_MAX; i++) {
		numbered_key(k, i);
		pathfinder_lookup(E.pf, k, 1000 + i);
	}
	cr_assert_eq(pathfinder_rumor_count(E.pf), PF_RUMORS_MAX);
	cr_assert_eq(pathfinder_get_stats(E.pf)->rumors_evicted, 1);
	/* the oldest went: looking it up again is not throttled */
	numbered_key(k, 0);
	pathfinder_lookup(E.pf, k, 1000 + PF_RUMORS_MAX + 1);
	cr_assert_eq(E.nlookups, PF_RUMORS_MAX + 2);
	/* the newest is still there: throttled */
	numbered_key(k, PF_RUMORS_MAX);
	pathfinder_lookup(E.pf, k, 1000 + PF_RUMORS_MAX + 2);
	cr_assert_eq(E.nlookups, PF_RUMORS_MAX + 2);
}

Test(pathfinder, held_packets_are_capped)
{
	struct pkt_pool_info pi;
	uint8_t k[32];

	for (unsigned i = 0; i < PF_HELD_MAX + 10; i++) {
		numbered_key(k, i);
		cr_assert_eq(pathfinder_send(E.pf, k, payload(1, 8), i), PF_BUFFERED);
	}
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, PF_HELD_MAX);
	cr_assert_eq(pathfinder_get_stats(E.pf)->buffered_dropped, 10);
	/* expiry hands them back */
	pathfinder_tick(E.pf, PF_PATH_TIMEOUT_MS + PF_HELD_MAX + 10);
	pkt_pool_info(E.pool, &pi);
	cr_assert_eq(pi.in_use, 0);
	cr_assert_eq(pathfinder_rumor_count(E.pf), 0);
}

Test(pathfinder, paths_are_capped)
{
	struct proto_notify n;
	const uint64_t p1[] = {1};
	struct keypair *first = NULL;
	uint8_t kfirst[32];

	/* fill the cache with real signed notifies from fresh keys */
	for (unsigned i = 0; i <= PF_PATHS_MAX; i++) {
		struct keypair *k = keys_generate();
		uint8_t pk[32];

		keys_public(k, pk);
		pathfinder_lookup(E.pf, pk, i);
		make_notify(&n, k, E.ka, 1, 1, p1);
		cr_assert_eq(pathfinder_handle_notify(E.pf, &n, i), PF_ACCEPTED);
		if (i == 0) {
			first = k;
			memcpy(kfirst, pk, 32);
		} else {
			keys_free(k);
		}
	}
	cr_assert_eq(pathfinder_path_count(E.pf), PF_PATHS_MAX);
	cr_assert_eq(pathfinder_get_stats(E.pf)->paths_evicted, 1);
	cr_assert_not(pathfinder_find_path(E.pf, kfirst, NULL), "the oldest was evicted");
	keys_free(first);
}

Test(pathfinder, waiting_packet_repeats_its_lookup)
{
	const uint64_t p1[] = {1};
	struct proto_notify n;

	/* A lone packet (say a session ACK) whose first lookup found nobody. */
	cr_assert_eq(pathfinder_send(E.pf, E.kb, payload(0xb1, 10), 1000), PF_BUFFERED);
	cr_assert_eq(E.nlookups, 1);
	pathfinder_tick(E.pf, 1000 + PF_RETRY_MS - 1);
	cr_assert_eq(E.nlookups, 1, "not before PF_RETRY_MS");
	pathfinder_tick(E.pf, 1000 + PF_RETRY_MS);
	cr_assert_eq(E.nlookups, 2, "the lookup is repeated while the packet waits");
	cr_assert_arr_eq(E.lookup.dest, E.kb, 32);
	cr_assert_eq(pathfinder_get_stats(E.pf)->lookups_retried, 1);
	/* the repeated lookup is answered: the packet goes out */
	make_notify(&n, E.b, E.ka, 9, 1, p1);
	cr_assert_eq(pathfinder_handle_notify(E.pf, &n, 3500), PF_ACCEPTED);
	cr_assert_eq(E.ntraffic, 1);
	cr_assert_eq(E.traffic[0].first, 0xb1);
	/* nothing waits any more: no further lookups */
	pathfinder_tick(E.pf, 10000);
	cr_assert_eq(E.nlookups, 2);
}

Test(pathfinder, plain_rumor_is_not_repeated)
{
	pathfinder_lookup(E.pf, E.kb, 1000);
	cr_assert_eq(E.nlookups, 1);
	pathfinder_tick(E.pf, 1000 + 3 * PF_RETRY_MS);
	cr_assert_eq(E.nlookups, 1, "no packet waits: no repeat");
}
