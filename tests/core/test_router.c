/*
 * Tests for core/router (spec yggdrasil-link-routing.md §5-§7):
 * - replays of streams captured between real yggdrasil 0.5.12 daemons (captured-streams.txt):
 *   our router, given the same keys, nonces and clock, must emit the same frames byte for
 *   byte (run1 as A and as B; the middle node B of the 3-node chain, forwarding transit
 *   traffic, notifies and lookups);
 * - frame checks that make the Go side close a link (-EPROTO);
 * - ports (§5.2) and the next-hop choice with watermark and tree distance (§7.1, §7.2);
 * - the bloom filters' keep-the-1s rule (zDirty, §6.3, §12).
 * The in-memory network of routers is in test_router_sim.c.
 */
#include "core/bloom.h"
#include "core/proto.h"
#include "core/router.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "support/hex.h"
#include "support/seedkey.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

/* ---- keys from seeds (PKCS#8 PEM) ---- */

static struct keypair *seed_key(uint8_t first)
{
	return ts_seed_key(first);
}

/* ---- captured streams: meta, then uvarint-framed frames ---- */

enum { STREAM_FRAMES = 64, OUT_MAX = 512, FRAME_BUF = 4096 };

struct stream {
	uint8_t buf[8192];
	int n;
	const uint8_t *f[STREAM_FRAMES];
	size_t flen[STREAM_FRAMES];
};

static void stream_load(struct stream *s, const char *name)
{
	char *txt = th_read_file(VECTORS "captured-streams.txt", NULL);
	char *line, *save = NULL, *hex = NULL;
	struct wire_rd rd;
	size_t nl = strlen(name);
	long n;

	cr_assert_not_null(txt, "cannot read captured-streams.txt");
	for (line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			hex = line + nl + 1;
			break;
		}
	cr_assert_not_null(hex, "no stream %s", name);
	n = th_unhex(hex, s->buf, sizeof(s->buf));
	free(txt);
	cr_assert_gt(n, PROTO_META_LEN);
	s->n = 0;
	wire_rd_init(&rd, s->buf + PROTO_META_LEN, (size_t)n - PROTO_META_LEN);
	while (wire_remaining(&rd) && s->n < STREAM_FRAMES) {
		uint64_t flen;
		const uint8_t *span;

		if (!wire_get_uvarint(&rd, &flen) || !wire_get_span(&rd, flen, &span))
			break; /* a capture may end inside a frame */
		s->f[s->n] = span;
		s->flen[s->n] = flen;
		s->n++;
	}
}

/* Index of the k-th (0-based) frame of type in s. */
static int nth(const struct stream *s, unsigned type, int k)
{
	for (int i = 0; i < s->n; i++)
		if (s->flen[i] && s->f[i][0] == type && k-- == 0)
			return i;
	cr_assert_fail("stream has no frame %d of type %u", k, type);
	return -1;
}

/* ---- a fake environment for one router ---- */

struct out {
	uint32_t link;
	size_t len;
	uint8_t data[FRAME_BUF];
};

struct renv {
	struct pkt_pool *pool;
	struct out *outs;
	int nout;
	uint64_t rnd[8];
	int nrnd, rnd_i;
	uint64_t ctr;
	uint64_t unix_now;
	int ndeliver;
	uint8_t dsrc[32];
	uint8_t dpayload[FRAME_BUF];
	size_t dlen;
	int nfound;
	uint8_t found[32];
};

static struct renv R;
static struct keypair *KA, *KB, *KC, *KD;
static uint8_t ka[32], kb[32], kc[32], kd[32];

static void r_send(void *ctx, uint32_t link_id, struct pkt *frame)
{
	struct renv *e = ctx;
	struct out *o;

	cr_assert_lt(e->nout, OUT_MAX);
	cr_assert_leq(frame->len, FRAME_BUF);
	cr_assert(proto_frame_is_valid(frame->data, frame->len), "router sent an invalid frame");
	o = &e->outs[e->nout++];
	o->link = link_id;
	o->len = frame->len;
	memcpy(o->data, frame->data, frame->len);
	pkt_free(frame);
}

static void r_deliver(void *ctx, const uint8_t source[32], struct pkt *payload)
{
	struct renv *e = ctx;

	e->ndeliver++;
	memcpy(e->dsrc, source, 32);
	cr_assert_leq(payload->len, FRAME_BUF);
	e->dlen = payload->len;
	memcpy(e->dpayload, payload->data, payload->len);
	pkt_free(payload);
}

static void r_found(void *ctx, const uint8_t key[32])
{
	struct renv *e = ctx;

	e->nfound++;
	memcpy(e->found, key, 32);
}

static uint64_t r_random(void *ctx)
{
	struct renv *e = ctx;

	if (e->rnd_i < e->nrnd)
		return e->rnd[e->rnd_i++];
	return 0x5eed0000 + e->ctr++;
}

static uint64_t r_unix(void *ctx)
{
	return ((struct renv *)ctx)->unix_now;
}

static const struct router_cbs RCBS = {
	.ctx = &R,
	.send = r_send,
	.deliver = r_deliver,
	.path_found = r_found,
	.random = r_random,
	.unix_time = r_unix,
};

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
	memset(&R, 0, sizeof(R));
	R.outs = calloc(OUT_MAX, sizeof(*R.outs));
	R.pool = pkt_pool_new(1024, 2048);
	cr_assert_not_null(R.pool);
	R.unix_now = 1795675959; /* the notify seq of run1 */
	KA = seed_key(0x00);
	KB = seed_key(0x20);
	KC = seed_key(0x40);
	KD = seed_key(0x60);
	keys_public(KA, ka);
	keys_public(KB, kb);
	keys_public(KC, kc);
	keys_public(KD, kd);
}

static void teardown(void)
{
	struct pkt_pool_info pi;

	pkt_pool_info(R.pool, &pi);
	cr_assert_eq(pi.in_use, 0, "%zu pkts leaked", pi.in_use);
	pkt_pool_free(R.pool);
	free(R.outs);
	keys_free(KA);
	keys_free(KB);
	keys_free(KC);
	keys_free(KD);
}

TestSuite(router, .init = setup, .fini = teardown);

static int feed(struct router *r, uint32_t link, const uint8_t *frame, size_t len, uint64_t now)
{
	struct pkt *p = pkt_alloc(R.pool);

	cr_assert_not_null(p);
	cr_assert_not_null(pkt_put(p, len));
	memcpy(p->data, frame, len);
	return router_handle_frame(r, link, p, now);
}

static void feed_ok(struct router *r, uint32_t link, const struct stream *s, int i, uint64_t now)
{
	cr_assert_lt(i, s->n);
	cr_assert_eq(feed(r, link, s->f[i], s->flen[i], now), 0, "frame %d (type %u)", i,
		     s->f[i][0]);
}

static void assert_frame(int out_i, uint32_t link, const uint8_t *want, size_t len,
			 const char *what)
{
	const struct out *o;

	cr_assert_lt(out_i, R.nout, "%s: only %d frames sent", what, R.nout);
	o = &R.outs[out_i];
	cr_assert_eq(o->link, link, "%s: sent on link %u", what, o->link);
	if (o->len != len || memcmp(o->data, want, len) != 0) {
		char *h1 = malloc(2 * o->len + 1), *h2 = malloc(2 * len + 1);

		th_hex(o->data, o->len, h1);
		th_hex(want, len, h2);
		cr_log_error("%s\n got  %s\n want %s", what, h1, h2);
		free(h1);
		free(h2);
		cr_assert_fail("%s differs from the capture", what);
	}
}

static void assert_stream_frame(int out_i, uint32_t link, const struct stream *s, int i,
				const char *what)
{
	cr_assert_lt(i, s->n);
	assert_frame(out_i, link, s->f[i], s->flen[i], what);
}

/* Sends payload bytes to dest through router_send. */
static void send_bytes(struct router *r, const uint8_t dest[32], const uint8_t *b, size_t n,
		       uint64_t now)
{
	struct pkt *p = pkt_alloc(R.pool);

	cr_assert_not_null(p);
	cr_assert_not_null(pkt_put(p, n));
	memcpy(p->data, b, n);
	router_send(r, dest, p, now);
}

/* ---- replays of real captures ---- */

/* run1, our router in A's place (the root): every frame A sent up to its first Traffic. */
Test(router, replay_run1_as_A)
{
	static struct stream ab, ba;
	struct proto_traffic tr;
	struct router *r;
	int i;

	stream_load(&ab, "run1 A->B");
	stream_load(&ba, "run1 B->A");
	R.rnd[0] = 2591935916302609934ULL;  /* A's root nonce (its Announce) */
	R.rnd[1] = 12145589019528732728ULL; /* A's SigReq nonce */
	R.nrnd = 2;
	r = router_new(KA, R.pool, &RCBS, 0);
	cr_assert_eq(R.nout, 0);
	cr_assert_eq(router_link_up(r, 1, kb, 0, 0), 0);
	assert_stream_frame(0, 1, &ab, 0, "SigReq");
	assert_stream_frame(1, 1, &ab, 1, "empty Bloom");
	feed_ok(r, 1, &ba, 0, 0); /* B's SigReq */
	assert_stream_frame(2, 1, &ab, 2, "SigRes to B's SigReq");
	feed_ok(r, 1, &ba, 1, 0);
	feed_ok(r, 1, &ba, 2, 1);
	router_tick(r, 498);
	assert_stream_frame(3, 1, &ab, 3, "root Announce");
	cr_assert_eq(R.nout, 4);
	feed_ok(r, 1, &ba, 3, 1000); /* SigReq seq 3 */
	assert_stream_frame(4, 1, &ab, 4, "SigRes seq 3");
	feed_ok(r, 1, &ba, 4, 1000); /* B's Announce (parent A) */
	feed_ok(r, 1, &ba, 5, 1000); /* Bloom {B} */
	router_tick(r, 1499);
	assert_stream_frame(5, 1, &ab, 5, "Bloom {A}");
	cr_assert_eq(R.nout, 6);
	/* B's lookup for A's partial key: answered with the captured notify (same Unix second) */
	i = nth(&ba, PROTO_LOOKUP, 0);
	feed_ok(r, 1, &ba, i, 6002);
	assert_stream_frame(6, 1, &ab, nth(&ab, PROTO_NOTIFY, 0), "PathNotify");
	/* A's yggdrasil looks B up */
	router_lookup(r, kb, 6005);
	assert_stream_frame(7, 1, &ab, nth(&ab, PROTO_LOOKUP, 0), "PathLookup for B");
	cr_assert_eq(router_get_stats(r)->lookups_sent, 1);
	/* B's first Traffic is delivered to us */
	i = nth(&ba, PROTO_TRAFFIC, 0);
	feed_ok(r, 1, &ba, i, 6003);
	cr_assert_eq(R.ndeliver, 1);
	cr_assert_arr_eq(R.dsrc, kb, 32);
	cr_assert(proto_traffic_decode(ba.f[i] + 1, ba.flen[i] - 1, &tr));
	cr_assert_eq(R.dlen, tr.payload_len);
	cr_assert_arr_eq(R.dpayload, tr.payload, tr.payload_len);
	/* B's notify gives us the path to B */
	feed_ok(r, 1, &ba, nth(&ba, PROTO_NOTIFY, 0), 6005);
	cr_assert_eq(R.nfound, 1);
	cr_assert_arr_eq(R.found, kb, 32);
	/* and our Traffic to B has the captured header */
	i = nth(&ab, PROTO_TRAFFIC, 0);
	cr_assert(proto_traffic_decode(ab.f[i] + 1, ab.flen[i] - 1, &tr));
	send_bytes(r, kb, tr.payload, tr.payload_len, 6005);
	assert_stream_frame(8, 1, &ab, i, "Traffic to B");
	cr_assert_eq(router_get_stats(r)->traffic_delivered, 1);
	cr_assert_eq(router_get_stats(r)->traffic_forwarded, 0);
	router_free(r);
}

/* run1, our router in B's place (the child). */
Test(router, replay_run1_as_B)
{
	static struct stream ab, ba;
	struct proto_lookup lk;
	struct proto_traffic tr;
	struct router_self_info si;
	struct router_link_info li;
	struct router *r;
	int i;

	stream_load(&ab, "run1 A->B");
	stream_load(&ba, "run1 B->A");
	R.rnd[0] = 1;			    /* B's first root nonce: never on the wire */
	R.rnd[1] = 11764014675478157507ULL; /* SigReq seq 2 */
	R.rnd[2] = 10458567534177563506ULL; /* SigReq seq 3, after adopting A */
	R.nrnd = 3;
	r = router_new(KB, R.pool, &RCBS, 0);
	cr_assert_eq(router_link_up(r, 1, ka, 0, 0), 0);
	assert_stream_frame(0, 1, &ba, 0, "SigReq");
	assert_stream_frame(1, 1, &ba, 1, "empty Bloom");
	feed_ok(r, 1, &ab, 0, 0);
	assert_stream_frame(2, 1, &ba, 2, "SigRes to A's SigReq");
	feed_ok(r, 1, &ab, 1, 0);
	feed_ok(r, 1, &ab, 2, 1);
	feed_ok(r, 1, &ab, 3, 498); /* A's root Announce */
	router_tick(r, 1000);
	assert_stream_frame(3, 1, &ba, 3, "SigReq seq 3");
	assert_stream_frame(4, 1, &ba, 4, "Announce B (parent A)");
	assert_stream_frame(5, 1, &ba, 5, "Bloom {B}");
	cr_assert_eq(R.nout, 6);
	router_get_self(r, &si);
	cr_assert_arr_eq(si.root, ka, 32);
	cr_assert_eq(si.coords.len, 1);
	cr_assert_eq(si.coords.port[0], 1);
	cr_assert_eq(si.seq, 2);
	cr_assert_eq(si.routing_entries, 2);
	cr_assert(router_get_link(r, 1, &li));
	cr_assert(li.is_parent);
	cr_assert_eq(li.port, 1);
	cr_assert_eq(li.latency_ns, 2000000, "first sample: 2 x rtt (1 ms)");
	feed_ok(r, 1, &ab, 4, 1001);
	feed_ok(r, 1, &ab, 5, 1499);
	/* our lookup for A's partial key (from the IPv6 address) */
	i = nth(&ba, PROTO_LOOKUP, 0);
	cr_assert(proto_lookup_decode(ba.f[i] + 1, ba.flen[i] - 1, &lk));
	router_lookup(r, lk.dest, 6002);
	assert_stream_frame(6, 1, &ba, i, "PathLookup for A's partial key");
	/* A's notify answers it: full key learnt */
	feed_ok(r, 1, &ab, nth(&ab, PROTO_NOTIFY, 0), 6003);
	cr_assert_eq(R.nfound, 1);
	cr_assert_arr_eq(R.found, ka, 32);
	/* A's lookup for B: our notify equals the captured one */
	feed_ok(r, 1, &ab, nth(&ab, PROTO_LOOKUP, 0), 6005);
	assert_stream_frame(7, 1, &ba, nth(&ba, PROTO_NOTIFY, 0), "PathNotify");
	/* our Traffic to A */
	i = nth(&ba, PROTO_TRAFFIC, 0);
	cr_assert(proto_traffic_decode(ba.f[i] + 1, ba.flen[i] - 1, &tr));
	send_bytes(r, ka, tr.payload, tr.payload_len, 6006);
	assert_stream_frame(8, 1, &ba, i, "Traffic to A");
	/* A's Traffic for us is delivered */
	i = nth(&ab, PROTO_TRAFFIC, 0);
	feed_ok(r, 1, &ab, i, 6007);
	cr_assert_eq(R.ndeliver, 1);
	cr_assert_arr_eq(R.dsrc, ka, 32);
	router_free(r);
}

/*
 * The 3-node chain A -- B -- C with our router as B: B's SigRes to C carries port 2, and B
 * forwards A's and C's notify, lookup and traffic with exactly the bytes the real B sent.
 */
Test(router, replay_chain_as_middle_node)
{
	static struct stream ba, ab, cb, bc;
	struct router *r;
	const struct router_stats *st;

	stream_load(&ba, "chain B->A");
	stream_load(&ab, "chain A->B");
	stream_load(&cb, "chain C->B");
	stream_load(&bc, "chain B->C");
	R.rnd[0] = 1;
	R.rnd[1] = 14156409182989393717ULL; /* SigReq to A, seq 2 */
	R.rnd[2] = 1845578532773646741ULL;  /* SigReq to A, seq 3 (after adopting A) */
	R.rnd[3] = 14711489722879889066ULL; /* SigReq to C, seq 3 */
	R.nrnd = 4;
	r = router_new(KB, R.pool, &RCBS, 0);
	cr_assert_eq(router_link_up(r, 1, ka, 0, 0), 0);
	assert_stream_frame(0, 1, &ba, 0, "SigReq to A");
	for (int i = 0; i < 4; i++)
		feed_ok(r, 1, &ab, i, 10);
	assert_stream_frame(2, 1, &ba, 2, "SigRes to A");
	router_tick(r, 1000);
	assert_stream_frame(3, 1, &ba, 3, "SigReq seq 3 to A");
	assert_stream_frame(4, 1, &ba, 4, "Announce B");
	assert_stream_frame(5, 1, &ba, 5, "Bloom {B}");
	feed_ok(r, 1, &ab, 4, 1001);
	feed_ok(r, 1, &ab, 5, 2000);
	/* C connects: port 2 */
	R.nout = 0;
	cr_assert_eq(router_link_up(r, 2, kc, 0, 3000), 0);
	assert_stream_frame(0, 2, &bc, 0, "SigReq to C");
	assert_stream_frame(1, 2, &bc, 1, "empty Bloom to C");
	feed_ok(r, 2, &cb, 0, 3000);
	assert_stream_frame(2, 2, &bc, 2, "SigRes to C, port 2");
	for (int i = 1; i < 4; i++)
		feed_ok(r, 2, &cb, i, 3001);
	router_tick(r, 4000);
	assert_stream_frame(3, 2, &bc, 3, "Announce A to C");
	assert_stream_frame(4, 2, &bc, 4, "Announce B to C");
	cr_assert_eq(R.nout, 5, "nothing for A: C is in no ancestry A needs");
	feed_ok(r, 2, &cb, 4, 5000); /* SigReq seq 3 */
	assert_stream_frame(5, 2, &bc, nth(&bc, PROTO_SIGRES, 1), "SigRes seq 3 to C");
	feed_ok(r, 2, &cb, 5, 5000); /* Announce C (parent B) */
	feed_ok(r, 2, &cb, 6, 5000); /* Bloom {C} */
	router_tick(r, 6000);
	assert_stream_frame(6, 1, &ba, nth(&ba, PROTO_BLOOM, 2), "Bloom {B,C} to A");
	assert_stream_frame(7, 2, &bc, nth(&bc, PROTO_BLOOM, 1), "Bloom {A,B} to C");
	cr_assert_eq(R.nout, 8);
	/* transit, A -> C: notify, lookup and traffic leave with the watermark lowered */
	R.nout = 0;
	feed_ok(r, 1, &ab, nth(&ab, PROTO_NOTIFY, 0), 8010);
	assert_stream_frame(0, 2, &bc, nth(&bc, PROTO_NOTIFY, 0), "PathNotify A->C");
	feed_ok(r, 1, &ab, nth(&ab, PROTO_LOOKUP, 0), 8013);
	assert_stream_frame(1, 2, &bc, nth(&bc, PROTO_LOOKUP, 0), "PathLookup A->C");
	for (int k = 0; k < 3; k++) {
		feed_ok(r, 1, &ab, nth(&ab, PROTO_TRAFFIC, k), 8014);
		assert_stream_frame(2 + k, 2, &bc, nth(&bc, PROTO_TRAFFIC, k), "Traffic A->C");
	}
	/* transit, C -> A */
	R.nout = 0;
	feed_ok(r, 2, &cb, nth(&cb, PROTO_LOOKUP, 0), 8020);
	assert_stream_frame(0, 1, &ba, nth(&ba, PROTO_LOOKUP, 0), "PathLookup C->A");
	feed_ok(r, 2, &cb, nth(&cb, PROTO_TRAFFIC, 0), 8021);
	assert_stream_frame(1, 1, &ba, nth(&ba, PROTO_TRAFFIC, 0), "Traffic C->A");
	feed_ok(r, 2, &cb, nth(&cb, PROTO_NOTIFY, 0), 8022);
	assert_stream_frame(2, 1, &ba, nth(&ba, PROTO_NOTIFY, 0), "PathNotify C->A");
	st = router_get_stats(r);
	cr_assert_eq(st->traffic_forwarded, 4);
	cr_assert_eq(st->traffic_delivered, 0);
	cr_assert_eq(st->bad_frames, 0);
	router_free(r);
}

/* ---- frames the Go side would close the link for ---- */

Test(router, bad_frames_are_eproto)
{
	static struct stream ab;
	uint8_t f[FRAME_BUF];
	struct router *r = router_new(KB, R.pool, &RCBS, 0);
	int i;

	stream_load(&ab, "run1 A->B");
	cr_assert_eq(router_link_up(r, 1, ka, 0, 0), 0);
	/* empty, unknown type */
	cr_assert_eq(feed(r, 1, f, 0, 0), -EPROTO);
	f[0] = 10;
	cr_assert_eq(feed(r, 1, f, 1, 0), -EPROTO);
	f[0] = 0xff;
	cr_assert_eq(feed(r, 1, f, 1, 0), -EPROTO);
	/* SigReq with a trailing byte, truncated SigRes */
	i = nth(&ab, PROTO_SIGREQ, 0);
	memcpy(f, ab.f[i], ab.flen[i]);
	f[ab.flen[i]] = 0;
	cr_assert_eq(feed(r, 1, f, ab.flen[i] + 1, 0), -EPROTO);
	i = nth(&ab, PROTO_SIGRES, 0);
	cr_assert_eq(feed(r, 1, ab.f[i], ab.flen[i] - 1, 0), -EPROTO);
	/* SigRes whose psig fails */
	memcpy(f, ab.f[i], ab.flen[i]);
	f[ab.flen[i] - 1] ^= 1;
	cr_assert_eq(feed(r, 1, f, ab.flen[i], 0), -EPROTO);
	/* Announce: truncated, bad sig, bad psig */
	i = nth(&ab, PROTO_ANNOUNCE, 0);
	cr_assert_eq(feed(r, 1, ab.f[i], ab.flen[i] - 10, 0), -EPROTO);
	memcpy(f, ab.f[i], ab.flen[i]);
	f[ab.flen[i] - 1] ^= 0x40;
	cr_assert_eq(feed(r, 1, f, ab.flen[i], 0), -EPROTO);
	memcpy(f, ab.f[i], ab.flen[i]);
	f[ab.flen[i] - 65] ^= 0x40;
	cr_assert_eq(feed(r, 1, f, ab.flen[i], 0), -EPROTO);
	/* the intact one is fine */
	cr_assert_eq(feed(r, 1, ab.f[i], ab.flen[i], 0), 0);
	/* a notify with a bad signature is only counted */
	i = nth(&ab, PROTO_NOTIFY, 0);
	memcpy(f, ab.f[i], ab.flen[i]);
	f[ab.flen[i] - 1] ^= 1;
	router_lookup(r, ka, 0);
	cr_assert_eq(feed(r, 1, f, ab.flen[i], 0), 0);
	cr_assert_eq(router_get_stats(r)->notify_bad_sig, 1);
	cr_assert_eq(R.nfound, 0);
	/* KeepAlive is harmless; an unknown link is -ENOENT */
	f[0] = PROTO_KEEPALIVE;
	cr_assert_eq(feed(r, 1, f, 1, 0), 0);
	cr_assert_eq(feed(r, 9, f, 1, 0), -ENOENT);
	cr_assert_eq(router_get_stats(r)->bad_frames, 9);
	cr_assert_eq(router_get_stats(r)->frames_in[PROTO_ANNOUNCE], 4);
	router_free(r);
}

/* ---- ports (§5.2) ---- */

Test(router, ports_lowest_unused_shared_by_parallel_links)
{
	struct router *r = router_new(KD, R.pool, &RCBS, 0);
	struct router_link_info li;
	int blooms;

	cr_assert_eq(router_link_up(r, 10, ka, 0, 0), 0);
	cr_assert_eq(router_link_up(r, 11, kb, 0, 0), 0);
	cr_assert_eq(router_link_up(r, 12, kc, 3, 0), 0);
	cr_assert_eq(router_link_up(r, 13, kc, 5, 0), 0);
	cr_assert_eq(router_link_up(r, 13, kb, 0, 0), -EEXIST);
	cr_assert_eq(router_link_up(r, 14, kd, 0, 0), -EINVAL);
	cr_assert(router_get_link(r, 10, &li));
	cr_assert_eq(li.port, 1);
	cr_assert(router_get_link(r, 11, &li));
	cr_assert_eq(li.port, 2);
	cr_assert(router_get_link(r, 12, &li));
	cr_assert_eq(li.port, 3);
	cr_assert_eq(li.priority, 3);
	cr_assert_eq(li.cost, 4294, "unknown lag");
	cr_assert_eq(li.latency_ns, 0);
	cr_assert_arr_eq(li.key, kc, 32);
	cr_assert(router_get_link(r, 13, &li));
	cr_assert_eq(li.port, 3, "parallel link, same port");
	cr_assert_eq(li.priority, 5);
	/* A leaves: port 1 is free for the next new key */
	router_link_down(r, 10, 0);
	cr_assert_not(router_get_link(r, 10, &li));
	cr_assert_eq(router_link_up(r, 20, ka, 0, 0), 0);
	cr_assert(router_get_link(r, 20, &li));
	cr_assert_eq(li.port, 1);
	/* one of C's links leaves: the other keeps port 3 and gets our filter again */
	R.nout = 0;
	router_link_down(r, 12, 0);
	cr_assert(router_get_link(r, 13, &li));
	cr_assert_eq(li.port, 3);
	blooms = 0;
	for (int i = 0; i < R.nout; i++)
		if (R.outs[i].link == 13 && R.outs[i].data[0] == PROTO_BLOOM)
			blooms++;
	cr_assert_eq(blooms, 1);
	/* C leaves completely: a returning C gets the lowest free port */
	router_link_down(r, 13, 0);
	cr_assert_eq(router_link_up(r, 21, kc, 0, 0), 0);
	cr_assert(router_get_link(r, 21, &li));
	cr_assert_eq(li.port, 3);
	router_link_down(r, 11, 0);
	cr_assert_eq(router_link_up(r, 22, kc, 0, 0), 0);
	cr_assert(router_get_link(r, 22, &li));
	cr_assert_eq(li.port, 3, "same key as link 21");
	router_free(r);
}

/* ---- next hop (§7.1, §7.2) ---- */

/*
 * R (key D) under root A with port 9, so coords(R) = [9]. Peers: A (link 1), B = A's port 1
 * (link 2), C = A's port 2 (links 3 and 4, prio 1 and 0). Each link's lag comes from the
 * SigRes delay given in rtt_ms[] (lag = 2 rtt).
 */
static struct router *star(const uint64_t rtt_ms[4])
{
	static const uint8_t prios[4] = {0, 0, 1, 0};
	const uint8_t *keys[4] = {ka, kb, kc, kc};
	struct keypair *kps[4] = {KA, KB, KC, KC};
	struct router *r;
	struct proto_announce a;
	uint8_t m[94], f[FRAME_BUF];
	struct wire_wr wr;
	size_t n;

	cr_assert_lt(memcmp(ka, kd, 32), 0, "A must be the lowest key");
	R.nout = 0;
	r = router_new(KD, R.pool, &RCBS, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(router_link_up(r, i + 1, keys[i], prios[i], 0), 0);
	cr_assert_eq(R.nout, 8, "SigReq + Bloom per link");
	for (int i = 0; i < 4; i++) {
		struct proto_sigreq req;
		struct proto_sigres res;
		uint64_t port = i == 0 ? 9 : 7;

		cr_assert_eq(R.outs[2 * i].data[0], PROTO_SIGREQ);
		cr_assert(proto_sigreq_decode(R.outs[2 * i].data + 1, R.outs[2 * i].len - 1, &req));
		res.seq = req.seq;
		res.nonce = req.nonce;
		res.port = port;
		n = proto_sig_preimage(m, kd, keys[i], req.seq, req.nonce, port);
		sign_detached(kps[i], m, n, res.psig);
		wire_wr_init(&wr, f, sizeof(f));
		proto_sigres_encode(&wr, &res);
		cr_assert(wire_wr_ok(&wr));
		cr_assert_eq(feed(r, i + 1, f, wr.len, rtt_ms[i]), 0);
	}
	/* infos: A root; B and C its children with ports 1 and 2 */
	for (int i = 0; i < 3; i++) {
		a.seq = 1;
		a.nonce = 1;
		memcpy(a.key, keys[i], 32);
		memcpy(a.parent, ka, 32);
		a.port = (uint64_t)i;
		n = proto_sig_preimage(m, a.key, a.parent, a.seq, a.nonce, a.port);
		sign_detached(kps[i], m, n, a.sig);
		sign_detached(KA, m, n, a.psig);
		wire_wr_init(&wr, f, sizeof(f));
		proto_announce_encode(&wr, &a);
		cr_assert(wire_wr_ok(&wr));
		cr_assert_eq(feed(r, i + 1, f, wr.len, 500), 0);
	}
	router_tick(r, 1000);
	{
		struct router_self_info si;

		router_get_self(r, &si);
		cr_assert_arr_eq(si.root, ka, 32);
		cr_assert_eq(si.coords.len, 1);
		cr_assert_eq(si.coords.port[0], 9);
	}
	return r;
}

/* A Traffic frame (header from the arguments, then 4 payload bytes). */
static size_t traffic_frame(uint8_t *f, int plen, const uint64_t *path, int flen,
			    const uint64_t *from, uint64_t wm, const uint8_t dest[32])
{
	struct proto_traffic t;
	struct wire_wr wr;

	memset(&t, 0, sizeof(t));
	t.path.len = (uint16_t)plen;
	for (int i = 0; i < plen; i++)
		t.path.port[i] = path[i];
	t.from.len = (uint16_t)flen;
	for (int i = 0; i < flen; i++)
		t.from.port[i] = from[i];
	memcpy(t.source, kb, 32);
	memcpy(t.dest, dest, 32);
	t.watermark = wm;
	wire_wr_init(&wr, f, FRAME_BUF);
	proto_traffic_encode_header(&wr, &t);
	wire_put_bytes(&wr, "\xde\xad\xbe\xef", 4);
	cr_assert(wire_wr_ok(&wr));
	return wr.len;
}

static const struct out *last_out(void)
{
	cr_assert_gt(R.nout, 0);
	return &R.outs[R.nout - 1];
}

Test(router, next_hop_distance_cost_prio_watermark)
{
	const uint64_t equal[4] = {10, 10, 10, 10}, cheap_a[4] = {1, 10, 50, 50};
	const uint64_t to_c[] = {2, 5}, from_b[] = {1}, to_b[] = {1, 6}, to_us[] = {9};
	struct proto_traffic t;
	uint8_t f[FRAME_BUF];
	const struct out *o;
	struct router *r;
	size_t n;

	/* equal costs: C (distance 1) beats A (2); of C's two links, the lower prio (link 4) */
	r = star(equal);
	R.nout = 0;
	n = traffic_frame(f, 2, to_c, 1, from_b, UINT64_MAX, kc);
	cr_assert_eq(feed(r, 2, f, n, 2000), 0);
	o = last_out();
	cr_assert_eq(o->link, 4);
	cr_assert(proto_traffic_decode(o->data + 1, o->len - 1, &t));
	cr_assert_eq(t.watermark, 3, "leaves with our own distance");
	cr_assert_eq(t.payload_len, 4);
	cr_assert_eq(router_get_stats(r)->traffic_forwarded, 1);
	/* a destination under B ([1, 6]) goes to B: 20/2 beats A's 20/1 */
	n = traffic_frame(f, 2, to_b, 1, from_b, UINT64_MAX, kc);
	cr_assert_eq(feed(r, 3, f, n, 2000), 0);
	cr_assert_eq(last_out()->link, 2);
	/* watermark not above our distance: unroutable, PathBroken back toward from = [1] (B) */
	R.nout = 0;
	n = traffic_frame(f, 2, to_c, 1, from_b, 3, kc);
	cr_assert_eq(feed(r, 2, f, n, 2000), 0);
	o = last_out();
	cr_assert_eq(o->data[0], PROTO_BROKEN);
	cr_assert_eq(o->link, 2);
	cr_assert_eq(router_get_stats(r)->traffic_unroutable, 1);
	/* our own coordinates and key: delivered */
	n = traffic_frame(f, 1, to_us, 1, from_b, UINT64_MAX, kd);
	cr_assert_eq(feed(r, 2, f, n, 2000), 0);
	cr_assert_eq(R.ndeliver, 1);
	cr_assert_eq(R.dlen, 4);
	cr_assert_arr_eq(R.dpayload, "\xde\xad\xbe\xef", 4);
	/* our coordinates but another key: PathBroken */
	R.nout = 0;
	n = traffic_frame(f, 1, to_us, 1, from_b, UINT64_MAX, kc);
	cr_assert_eq(feed(r, 2, f, n, 2000), 0);
	cr_assert_eq(last_out()->data[0], PROTO_BROKEN);
	router_free(r);

	/* a much cheaper link to A wins over C's shorter distance: 2/1 < 100/2 */
	r = star(cheap_a);
	R.nout = 0;
	n = traffic_frame(f, 2, to_c, 1, from_b, UINT64_MAX, kc);
	cr_assert_eq(feed(r, 2, f, n, 2000), 0);
	cr_assert_eq(last_out()->link, 1);
	router_free(r);
}

/* §7.3: a lookup is answered only when it comes from an on-tree peer. */
Test(router, lookups_only_from_tree_peers)
{
	const uint64_t equal[4] = {10, 10, 10, 10};
	struct proto_lookup lk;
	struct wire_wr wr;
	uint8_t f[FRAME_BUF];
	struct router *r = star(equal);

	memset(&lk, 0, sizeof(lk));
	memcpy(lk.source, kb, 32);
	memcpy(lk.dest, kd, 32);
	lk.from.len = 1;
	lk.from.port[0] = 1;
	wire_wr_init(&wr, f, sizeof(f));
	proto_lookup_encode(&wr, &lk);
	cr_assert(wire_wr_ok(&wr));
	R.nout = 0;
	cr_assert_eq(feed(r, 2, f, wr.len, 2000), 0); /* from B: off-tree */
	cr_assert_eq(R.nout, 0);
	cr_assert_eq(feed(r, 1, f, wr.len, 2000), 0); /* from A, our parent */
	cr_assert_eq(R.nout, 1);
	cr_assert_eq(R.outs[0].data[0], PROTO_NOTIFY);
	cr_assert_eq(R.outs[0].link, 2, "the notify goes toward [1], i.e. B");
	router_free(r);
}

/* The filters sent to link, decoded, in order. */
static int blooms_on(uint32_t link, struct bloom *out, int max)
{
	int n = 0;

	for (int i = 0; i < R.nout && n < max; i++) {
		const struct out *o = &R.outs[i];

		if (o->link == link && o->data[0] == PROTO_BLOOM)
			cr_assert(proto_bloom_decode(o->data + 1, o->len - 1, &out[n++]));
	}
	return n;
}

static void feed_bloom(struct router *r, uint32_t link, const uint8_t (*keys)[32], int n)
{
	struct bloom b;
	struct wire_wr wr;
	uint8_t f[FRAME_BUF];

	bloom_clear(&b);
	for (int i = 0; i < n; i++)
		bloom_add_key(&b, keys[i]);
	wire_wr_init(&wr, f, sizeof(f));
	proto_bloom_encode(&wr, &b);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(feed(r, link, f, wr.len, 3000), 0);
}

/*
 * §6.3 and §12: 1s are kept one extra round, 0s spread only when a 1 is added (zDirty is
 * saved only with a new filter). D's parent is A (star); B becomes D's child; what B reports
 * ends up in D's filter for A.
 */
Test(router, bloom_ones_outlive_zeros)
{
	const uint64_t equal[4] = {10, 10, 10, 10};
	uint8_t k[3][32];
	struct proto_announce a;
	struct bloom got[8];
	struct wire_wr wr;
	uint8_t m[94], f[FRAME_BUF];
	struct router *r = star(equal);
	size_t n;
	int nb;

	memcpy(k[0], kb, 32);
	memset(k[1], 0x51, 32); /* "C" */
	memset(k[2], 0x61, 32); /* "E" */
	/* B (seq 2) now hangs under D with port 2: D and B sign */
	memcpy(a.key, kb, 32);
	memcpy(a.parent, kd, 32);
	a.seq = 2;
	a.nonce = 5;
	a.port = 2;
	n = proto_sig_preimage(m, a.key, a.parent, a.seq, a.nonce, a.port);
	sign_detached(KB, m, n, a.sig);
	sign_detached(KD, m, n, a.psig);
	wire_wr_init(&wr, f, sizeof(f));
	proto_announce_encode(&wr, &a);
	cr_assert_eq(feed(r, 2, f, wr.len, 2000), 0);
	feed_bloom(r, 2, k, 2); /* B reaches B and C */
	R.nout = 0;
	router_tick(r, 3000);
	nb = blooms_on(1, got, 8);
	cr_assert_eq(nb, 1);
	cr_assert(bloom_test_key(&got[0], kd));
	cr_assert(bloom_test_key(&got[0], kb));
	cr_assert(bloom_test_key(&got[0], k[1]));
	cr_assert_eq(blooms_on(2, got, 8), 1, "B is on the tree now (A sent no filter: {D})");
	cr_assert(bloom_test_key(&got[0], kd));
	cr_assert_not(bloom_test_key(&got[0], kb));
	/* C goes away: only 0s would change, so nothing is sent, round after round */
	feed_bloom(r, 2, k, 1);
	R.nout = 0;
	router_tick(r, 4000);
	router_tick(r, 5000);
	cr_assert_eq(blooms_on(1, got, 8), 0);
	/*
	 * E appears: the 1 goes out at once, as the filter arrives (not a tick later), with C's
	 * stale 1 kept; C's 0 follows on the next tick.
	 */
	memcpy(k[1], k[2], 32);
	R.nout = 0;
	feed_bloom(r, 2, k, 2);
	nb = blooms_on(1, got, 8);
	cr_assert_eq(nb, 1, "a new 1 is passed on without waiting for the tick");
	cr_assert(bloom_test_key(&got[0], k[2]));
	cr_assert_eq(blooms_on(2, got + 1, 7), 0, "nothing goes back to the sender");
	{
		uint8_t c[32];

		memset(c, 0x51, 32);
		cr_assert(bloom_test_key(&got[0], c), "stale 1 kept one round");
		router_tick(r, 6000);
		nb = blooms_on(1, got, 8);
		cr_assert_eq(nb, 2);
		cr_assert_not(bloom_test_key(&got[1], c), "then cleared");
		cr_assert(bloom_test_key(&got[1], k[2]));
		cr_assert(bloom_test_key(&got[1], kd));
	}
	router_tick(r, 7000);
	cr_assert_eq(blooms_on(1, got, 8), 2, "stable");
	/* the same filter again changes nothing */
	feed_bloom(r, 2, k, 2);
	cr_assert_eq(blooms_on(1, got, 8), 2);
	router_free(r);
}
