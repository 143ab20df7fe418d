/*
 * Tests for nat64/frag: bounded virtual reassembly (nat64-requirements §2 B 19, B 20, B 53).
 * The ports of a first fragment for its later ones, in and out of order; held fragments
 * released oldest first; eviction of the oldest fragment and of the oldest datagram when full;
 * the 2 s timers at their edge; and the collection of zero-checksum UDP/IPv4 datagrams, whose
 * checksum is verified with support/refcsum (not lib/csum) over the datagram rebuilt from the
 * released pieces. Every test ends with every pool pkt returned.
 *
 * The datagrams go from 192.0.2.1 to 198.51.100.2; data is a counting pattern.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "lib/pkt.h"
#include "nat64/frag.h"
#include "support/refcsum.h"

enum { CAP = 2048, COUNT = 64, MAXREL = 64 };

static struct pkt_pool *pool;

static struct {
	struct pkt *p[MAXREL];
	int n;
} got;

static void setup(void)
{
	pool = pkt_pool_new(COUNT, CAP);
	cr_assert_not_null(pool);
	memset(&got, 0, sizeof(got));
}

static void teardown(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(pool, &info);
	cr_expect_eq(info.in_use, 0, "test leaked %zu pkts", info.in_use);
	pkt_pool_free(pool);
	pool = NULL;
}

TestSuite(frag, .init = setup, .fini = teardown);

static void collect_cb(void *ctx, struct pkt *p)
{
	cr_assert_eq(ctx, &got, "ctx passed through");
	cr_assert_lt(got.n, MAXREL);
	got.p[got.n++] = p;
}

static void free_got(void)
{
	for (int i = 0; i < got.n; i++)
		pkt_free(got.p[i]);
	got.n = 0;
}

static struct frag_key key4(uint32_t id)
{
	struct frag_key k = {.ver = 4, .proto = 17, .id = id};

	memcpy(k.src, (uint8_t[]){192, 0, 2, 1}, 4);
	memcpy(k.dst, (uint8_t[]){198, 51, 100, 2}, 4);
	return k;
}

/* A pkt carrying only a tag byte: hold and first never look inside. */
static struct pkt *tagged(uint8_t tag)
{
	struct pkt *p = pkt_alloc(pool);

	cr_assert_not_null(p);
	*pkt_put(p, 1) = tag;
	return p;
}

/* The tags of the released pkts are tags[0..n), in that order; frees them. */
static void expect_tags(const uint8_t *tags, int n)
{
	cr_assert_eq(got.n, n, "released %d, want %d", got.n, n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(got.p[i]->data[0], tags[i], "release %d", i);
	free_got();
}

static struct frag_stats stats(const struct frag_table *ft)
{
	struct frag_stats st;

	frag_get_stats(ft, &st);
	return st;
}

Test(frag, new_and_free)
{
	struct frag_table *ft = frag_new(16);
	struct frag_stats st;

	cr_assert_null(frag_new(0));
	cr_assert_not_null(ft);
	st = stats(ft);
	cr_assert_eq(st.max_pkts, 16);
	cr_assert_gt(st.memory, 16 * 2 * sizeof(struct frag_key), "both arrays counted");
	cr_assert_eq(st.pkts_now + st.dgrams_now + st.held + st.evicted + st.expired, 0);
	frag_free(ft);
	frag_free(NULL);
}

Test(frag, in_order)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	uint16_t sp = 0, dp = 0;

	cr_assert_not(frag_find(ft, &k, 0, &sp, &dp), "nothing known yet");
	cr_assert_eq(frag_first(ft, &k, 40000, 53, 0, collect_cb, &got), 0);
	cr_assert_eq(got.n, 0);
	cr_assert(frag_find(ft, &k, 10, &sp, &dp));
	cr_assert_eq(sp, 40000);
	cr_assert_eq(dp, 53);
	cr_assert(frag_find(ft, &k, 20, &sp, &dp), "and for every later fragment");
	cr_assert_eq(stats(ft).dgrams_now, 1);
	cr_assert_eq(stats(ft).pkts_now, 0);
	frag_free(ft);
}

/* B 19: later fragments before their first are held, then released in arrival order */
Test(frag, out_of_order)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(7);
	uint16_t sp, dp;
	struct frag_stats st;

	frag_hold(ft, &k, tagged(1), 0);
	cr_assert_not(frag_find(ft, &k, 5, &sp, &dp), "held, but still no ports");
	frag_hold(ft, &k, tagged(2), 5);
	frag_hold(ft, &k, tagged(3), 10);
	st = stats(ft);
	cr_assert_eq(st.held, 3);
	cr_assert_eq(st.pkts_now, 3);
	cr_assert_eq(st.dgrams_now, 1);

	cr_assert_eq(frag_first(ft, &k, 1000, 2000, 20, collect_cb, &got), 3);
	expect_tags((uint8_t[]){1, 2, 3}, 3);
	st = stats(ft);
	cr_assert_eq(st.released, 3);
	cr_assert_eq(st.pkts_now, 0);
	cr_assert_eq(st.dgrams_now, 1, "the ports stay remembered");
	cr_assert(frag_find(ft, &k, 30, &sp, &dp));
	cr_assert_eq(sp, 1000);
	cr_assert_eq(dp, 2000);
	/* a second first releases nothing more */
	cr_assert_eq(frag_first(ft, &k, 1000, 2000, 40, collect_cb, &got), 0);
	frag_free(ft);
}

struct reenter {
	struct frag_table *ft;
	struct frag_key k, other;
	int n;
	bool found;
};

/* release may call into the table: find the datagram released, hold another one's pkt */
static void reenter_cb(void *ctx, struct pkt *p)
{
	struct reenter *r = ctx;
	uint16_t sp, dp;

	r->found = frag_find(r->ft, &r->k, 1, &sp, &dp) && sp == 9;
	frag_hold(r->ft, &r->other, tagged((uint8_t)(100 + r->n)), 1);
	r->n++;
	pkt_free(p);
}

Test(frag, release_may_reenter)
{
	struct reenter r = {.ft = frag_new(4), .k = key4(1), .other = key4(2)};

	/* a full table: each hold in the callback must find room, evicting nothing released */
	for (uint8_t i = 0; i < 4; i++)
		frag_hold(r.ft, &r.k, tagged(i), 0);
	cr_assert_eq(frag_first(r.ft, &r.k, 9, 9, 1, reenter_cb, &r), 4);
	cr_assert_eq(r.n, 4);
	cr_assert(r.found);
	cr_assert_eq(stats(r.ft).evicted, 0);
	cr_assert_eq(frag_first(r.ft, &r.other, 1, 1, 2, collect_cb, &got), 4);
	expect_tags((uint8_t[]){100, 101, 102, 103}, 4);
	frag_free(r.ft);
}

/* B 53: at most max_pkts held; the oldest goes first, whichever datagram it belongs to */
Test(frag, eviction_when_full)
{
	struct frag_table *ft = frag_new(4);
	struct frag_key a = key4(0xa), b = key4(0xb), c = key4(0xc);
	struct frag_stats st;

	frag_hold(ft, &a, tagged(1), 0);
	frag_hold(ft, &b, tagged(2), 1);
	frag_hold(ft, &a, tagged(3), 2);
	frag_hold(ft, &b, tagged(4), 3);
	cr_assert_eq(stats(ft).evicted, 0);
	frag_hold(ft, &c, tagged(5), 4); /* evicts 1 (a's oldest) */
	st = stats(ft);
	cr_assert_eq(st.evicted, 1);
	cr_assert_eq(st.pkts_now, 4);
	frag_hold(ft, &c, tagged(6), 5); /* evicts 2 (b's oldest), not a's 3 nor b's 4 */
	st = stats(ft);
	cr_assert_eq(st.evicted, 2);
	cr_assert_eq(st.pkts_now, 4);
	cr_assert_eq(st.dgrams_now, 3);

	cr_assert_eq(frag_first(ft, &a, 1, 1, 6, collect_cb, &got), 1);
	expect_tags((uint8_t[]){3}, 1);
	cr_assert_eq(frag_first(ft, &b, 1, 1, 6, collect_cb, &got), 1);
	expect_tags((uint8_t[]){4}, 1);
	cr_assert_eq(frag_first(ft, &c, 1, 1, 6, collect_cb, &got), 2);
	expect_tags((uint8_t[]){5, 6}, 2);
	frag_free(ft);
}

Test(frag, eviction_empties_a_datagram)
{
	struct frag_table *ft = frag_new(2);
	struct frag_key a = key4(0xa), b = key4(0xb);

	frag_hold(ft, &a, tagged(1), 0);
	frag_hold(ft, &b, tagged(2), 1);
	frag_hold(ft, &b, tagged(3), 2); /* a's only fragment goes, and a with it */
	cr_assert_eq(stats(ft).evicted, 1);
	cr_assert_eq(stats(ft).dgrams_now, 1);
	cr_assert_eq(frag_first(ft, &a, 1, 1, 3, collect_cb, &got), 0);
	cr_assert_eq(frag_first(ft, &b, 1, 1, 3, collect_cb, &got), 2);
	expect_tags((uint8_t[]){2, 3}, 2);
	frag_free(ft);
}

/* B 53: as many datagrams remembered as fragments held; the least recently seen goes first */
Test(frag, datagram_eviction_when_full)
{
	struct frag_table *ft = frag_new(2);
	struct frag_key a = key4(0xa), b = key4(0xb), c = key4(0xc);
	uint16_t sp, dp;
	struct frag_stats st;

	frag_first(ft, &a, 1, 1, 0, collect_cb, &got);
	frag_first(ft, &b, 2, 2, 1, collect_cb, &got);
	cr_assert(frag_find(ft, &a, 2, &sp, &dp), "a is now the more recently seen");
	frag_first(ft, &c, 3, 3, 3, collect_cb, &got);
	st = stats(ft);
	cr_assert_eq(st.dgrams_evicted, 1);
	cr_assert_eq(st.dgrams_now, 2);
	cr_assert_not(frag_find(ft, &b, 4, &sp, &dp), "b was the oldest");
	cr_assert(frag_find(ft, &a, 4, &sp, &dp));
	cr_assert_eq(sp, 1);
	cr_assert(frag_find(ft, &c, 4, &sp, &dp));
	cr_assert_eq(sp, 3);

	/* a datagram evicted with fragments held: they count as evicted */
	frag_hold(ft, &b, tagged(1), 5);	       /* the oldest, a, goes */
	frag_first(ft, &a, 1, 1, 6, collect_cb, &got); /* c goes */
	frag_first(ft, &c, 1, 1, 7, collect_cb, &got); /* b goes, with its fragment */
	st = stats(ft);
	cr_assert_eq(st.dgrams_evicted, 4);
	cr_assert_eq(st.evicted, 1);
	cr_assert_eq(st.pkts_now, 0);
	cr_assert_eq(got.n, 0);
	frag_free(ft);
}

/* B 19: a held fragment lives FRAG_TIMEOUT_MS, accepted up to 1999 ms, dropped at 2000 */
Test(frag, expiry_at_2s)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(1), l = key4(2);
	struct frag_stats st;

	cr_assert_eq(FRAG_TIMEOUT_MS, 2000);
	frag_hold(ft, &k, tagged(1), 1000);
	frag_expire(ft, 2999);
	cr_assert_eq(stats(ft).pkts_now, 1, "not yet at 1.999 s");
	cr_assert_eq(stats(ft).expired, 0);
	frag_expire(ft, 3000);
	st = stats(ft);
	cr_assert_eq(st.expired, 1, "at 2 s");
	cr_assert_eq(st.pkts_now, 0);
	cr_assert_eq(st.dgrams_now, 0, "nothing left to remember");
	cr_assert_eq(frag_first(ft, &k, 1, 1, 3001, collect_cb, &got), 0);

	/* the first may come up to 1999 ms late; no explicit sweep needed either way */
	frag_hold(ft, &l, tagged(2), 5000);
	cr_assert_eq(frag_first(ft, &l, 1, 1, 6999, collect_cb, &got), 1);
	expect_tags((uint8_t[]){2}, 1);
	frag_hold(ft, &l, tagged(3), 10000);
	cr_assert_eq(frag_first(ft, &l, 1, 1, 12000, collect_cb, &got), 0, "expired on the way");
	cr_assert_eq(stats(ft).expired, 2);
	frag_free(ft);
}

Test(frag, each_fragment_has_its_own_timer)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(1);

	frag_hold(ft, &k, tagged(1), 0);
	frag_hold(ft, &k, tagged(2), 1500);
	frag_expire(ft, 2000);
	cr_assert_eq(stats(ft).expired, 1);
	cr_assert_eq(stats(ft).pkts_now, 1);
	cr_assert_eq(frag_first(ft, &k, 1, 1, 3499, collect_cb, &got), 1);
	expect_tags((uint8_t[]){2}, 1);
	frag_free(ft);
}

/* The ports live FRAG_TIMEOUT_MS after the datagram's latest fragment */
Test(frag, datagram_memory_refresh)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(1), l = key4(2);
	uint16_t sp, dp;

	frag_first(ft, &k, 7, 8, 0, collect_cb, &got);
	cr_assert(frag_find(ft, &k, 1999, &sp, &dp));
	cr_assert(frag_find(ft, &k, 3998, &sp, &dp), "refreshed at 1999");
	cr_assert(frag_find(ft, &k, 5997, &sp, &dp), "refreshed at 3998");
	cr_assert_not(frag_find(ft, &k, 7997, &sp, &dp), "2 s after 5997");
	cr_assert_eq(stats(ft).dgrams_now, 0);

	/* without a fragment in between */
	frag_first(ft, &l, 7, 8, 10000, collect_cb, &got);
	frag_expire(ft, 11999);
	cr_assert_eq(stats(ft).dgrams_now, 1);
	frag_expire(ft, 12000);
	cr_assert_eq(stats(ft).dgrams_now, 0);
	cr_assert_not(frag_find(ft, &l, 12000, &sp, &dp));
	cr_assert_eq(stats(ft).expired, 0, "no fragment was dropped");
	frag_free(ft);
}

/* The key is all five fields: a datagram differing in any one is another datagram */
Test(frag, keys_differing_in_each_field_are_distinct)
{
	struct frag_table *ft = frag_new(16);
	struct frag_key k[6];
	uint16_t sp, dp;

	for (int i = 0; i < 6; i++)
		k[i] = key4(0x01020304);
	k[1].ver = 6;
	k[2].proto = 6;
	k[3].src[3] ^= 1;
	k[4].dst[15] ^= 1; /* even in the bytes an IPv4 key leaves zero */
	k[5].id ^= 0x80000000;
	for (int i = 0; i < 6; i++)
		frag_hold(ft, &k[i], tagged((uint8_t)i), 0);
	cr_assert_eq(stats(ft).dgrams_now, 6);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(frag_first(ft, &k[i], (uint16_t)i, 0, 1, collect_cb, &got), 1, "%d",
			     i);
		expect_tags((uint8_t[]){(uint8_t)i}, 1);
		for (int j = i + 1; j < 6; j++)
			cr_assert_not(frag_find(ft, &k[j], 1, &sp, &dp), "%d known after %d", j, i);
	}
	for (int i = 0; i < 6; i++) {
		cr_assert(frag_find(ft, &k[i], 2, &sp, &dp));
		cr_assert_eq(sp, i);
	}
	frag_free(ft);
}

Test(frag, many_datagrams)
{
	/* more datagrams than hash buckets would hold one each: chains work */
	struct frag_table *ft = frag_new(50);
	uint16_t sp, dp;

	for (uint32_t i = 0; i < 50; i++) {
		struct frag_key k = key4(i * 65537);

		frag_first(ft, &k, (uint16_t)i, (uint16_t)~i, 0, collect_cb, &got);
	}
	for (uint32_t i = 0; i < 50; i++) {
		struct frag_key k = key4(i * 65537);

		cr_assert(frag_find(ft, &k, 1, &sp, &dp), "%u", i);
		cr_assert_eq(sp, i);
		cr_assert_eq(dp, (uint16_t)~i);
	}
	cr_assert_eq(stats(ft).dgrams_evicted, 0);
	frag_free(ft);
}

Test(frag, free_with_held_pkts_leaks_nothing)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key a = key4(1), b = key4(2);
	struct pkt_pool_info info;

	for (uint8_t i = 0; i < 5; i++)
		frag_hold(ft, i % 2 ? &a : &b, tagged(i), i);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 5);
	frag_free(ft);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 0);
}

/*
 * B 20: zero-checksum UDP over IPv4. A datagram is built whole here (IPv4 header, UDP header
 * with checksum 0, data), then cut into fragments by hand.
 */
enum { DG_MAX = 4096 };

struct dgram {
	uint8_t b[20 + DG_MAX]; /* IPv4 header + UDP datagram */
	size_t ulen;		/* UDP length: header + data */
	uint16_t want;		/* the checksum it should get */
};

static const uint8_t hdr4[20] = {0x45, 0, 0,   0, 0x12, 0x34, 0,   0,  64,  17,
				 0,    0, 192, 0, 2,	1,    198, 51, 100, 2};

/* A UDP datagram from port 40000 to 53 with dlen bytes of pattern; want computed by refcsum. */
static void mk_dgram(struct dgram *d, size_t dlen)
{
	size_t tot;

	cr_assert_leq(8 + dlen, DG_MAX);
	memcpy(d->b, hdr4, 20);
	d->ulen = 8 + dlen;
	tot = 20 + d->ulen;
	d->b[2] = (uint8_t)(tot >> 8);
	d->b[3] = (uint8_t)tot;
	memcpy(d->b + 20,
	       (uint8_t[]){0x9c, 0x40, 0x00, 0x35, (uint8_t)(d->ulen >> 8), (uint8_t)d->ulen, 0, 0},
	       8);
	for (size_t i = 0; i < dlen; i++)
		d->b[28 + i] = (uint8_t)(i * 7 + 3);
	d->want = (uint16_t)~ref_l4_sum(d->b, tot);
	if (d->want == 0)
		d->want = 0xffff;
}

/* A fragment of d: its UDP bytes [off, off + len), MF as given, header checksum right. */
static struct pkt *mk_frag(const struct dgram *d, size_t off, size_t len, bool mf)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *b;
	uint16_t fw = (uint16_t)((mf ? 0x2000 : 0) | off / 8), c;

	cr_assert_not_null(p);
	cr_assert_eq(off % 8, 0, "bad fixture");
	b = pkt_put(p, 20 + len);
	cr_assert_not_null(b);
	memcpy(b, hdr4, 20);
	b[2] = (uint8_t)((20 + len) >> 8);
	b[3] = (uint8_t)(20 + len);
	b[6] = (uint8_t)(fw >> 8);
	b[7] = (uint8_t)fw;
	c = (uint16_t)~ref_csum(b, 20, 0);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	memcpy(b + 20, d->b + 20 + off, len);
	return p;
}

/*
 * got holds d's pieces in offset order, their data is d's with the checksum filled in, and
 * the datagram rebuilt from them checks (refcsum over pseudo-header and all of it). Frees them.
 */
static void expect_collected(const struct dgram *d, int n)
{
	static uint8_t re[20 + DG_MAX];
	size_t pos = 0;

	cr_assert_eq(got.n, n, "released %d, want %d", got.n, n);
	memcpy(re, d->b, 20);
	for (int i = 0; i < n; i++) {
		const uint8_t *b = got.p[i]->data;
		size_t off = (size_t)((b[6] << 8 | b[7]) & 0x1fff) * 8, len = got.p[i]->len - 20;

		cr_assert_eq(off, pos, "piece %d at %zu, want %zu", i, off, pos);
		cr_assert_eq(ref_csum(b, 20, 0), 0xffff, "piece %d: IPv4 header untouched", i);
		memcpy(re + 20 + pos, b + 20, len);
		pos += len;
	}
	cr_assert_eq(pos, d->ulen);
	cr_assert_eq(re[26] << 8 | re[27], d->want, "checksum %04x, want %04x",
		     re[26] << 8 | re[27], d->want);
	cr_assert_eq(ref_l4_sum(re, 20 + d->ulen), 0xffff, "the whole datagram checks");
	cr_assert_arr_eq(re + 20, d->b + 20, 6, "ports and length as they were");
	cr_assert_arr_eq(re + 28, d->b + 28, d->ulen - 8, "data as it was");
	free_got();
}

static struct dgram dg;

/* 3000 bytes of UDP in 1480 + 1480 + 40, in order */
Test(frag, collect_in_order)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	uint16_t sp, dp;

	mk_dgram(&dg, 2992);
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got),
		     0);
	cr_assert(frag_is_collecting(ft, &k));
	cr_assert_not(frag_find(ft, &k, 1, &sp, &dp), "no ports while collecting");
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 1, collect_cb, &got), 0);
	cr_assert_eq(stats(ft).pkts_now, 2);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 2, collect_cb, &got), 3);
	expect_collected(&dg, 3);
	cr_assert_eq(stats(ft).collected, 1);
	cr_assert_eq(stats(ft).pkts_now, 0);
	cr_assert_not(frag_is_collecting(ft, &k));
	/* a duplicate fragment afterwards is mapped with the datagram's ports */
	cr_assert(frag_find(ft, &k, 3, &sp, &dp));
	cr_assert_eq(sp, 40000);
	cr_assert_eq(dp, 53);
	frag_free(ft);
}

/* Pieces before the first: held, then taken over by the first; released in offset order */
Test(frag, collect_out_of_order)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);

	mk_dgram(&dg, 2992);
	/* the caller cannot know yet: one with frag_hold, one with frag_collect(!first) */
	frag_hold(ft, &k, mk_frag(&dg, 2960, 40, false), 0);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 1, collect_cb, &got), 0);
	cr_assert_not(frag_is_collecting(ft, &k));
	cr_assert_eq(stats(ft).held, 2);
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 2, collect_cb, &got),
		     3);
	expect_collected(&dg, 3);

	/* first, last, then the middle ones backwards */
	mk_dgram(&dg, 1000);
	k.id = 2;
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 256, true), true, 10, collect_cb, &got),
		     0);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 768, 240, false), false, 11, collect_cb, &got), 0);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 512, 256, true), false, 12, collect_cb, &got), 0);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 256, 256, true), false, 13, collect_cb, &got), 4);
	expect_collected(&dg, 4);
	cr_assert_eq(stats(ft).collected, 2);
	cr_assert_eq(stats(ft).collect_failed, 0);
	frag_free(ft);
}

/* An unfragmented datagram given anyway is complete at once */
Test(frag, collect_single_piece)
{
	struct frag_table *ft = frag_new(2);
	struct frag_key k = key4(0x1234);

	mk_dgram(&dg, 100);
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 108, false), true, 0, collect_cb, &got),
		     1);
	expect_collected(&dg, 1);
	frag_free(ft);
}

/* RFC 768: a computed checksum of zero is sent as all ones */
Test(frag, collect_zero_sum_is_sent_as_ffff)
{
	struct frag_table *ft = frag_new(4);
	struct frag_key k = key4(0x1234);
	uint16_t s;

	/* the last two data bytes make the sum 0xffff, so the complement 0 */
	mk_dgram(&dg, 600);
	dg.b[28 + 598] = dg.b[28 + 599] = 0;
	s = ref_l4_sum(dg.b, 20 + dg.ulen);
	s = (uint16_t)~s;
	dg.b[28 + 598] = (uint8_t)(s >> 8);
	dg.b[28 + 599] = (uint8_t)s;
	cr_assert_eq(ref_l4_sum(dg.b, 20 + dg.ulen), 0xffff, "bad fixture");
	dg.want = 0xffff;
	frag_collect(ft, &k, mk_frag(&dg, 0, 304, true), true, 0, collect_cb, &got);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 304, 304, false), false, 0, collect_cb, &got), 2);
	expect_collected(&dg, 2);
	frag_free(ft);
}

/* The checksum field of the first fragment is treated as zero, whatever it held */
Test(frag, collect_ignores_a_stale_checksum)
{
	struct frag_table *ft = frag_new(4);
	struct frag_key k = key4(0x1234);
	struct pkt *p;

	mk_dgram(&dg, 600);
	p = mk_frag(&dg, 0, 304, true);
	p->data[26] = 0xde;
	p->data[27] = 0xad;
	frag_collect(ft, &k, p, true, 0, collect_cb, &got);
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 304, 304, false), false, 0, collect_cb, &got), 2);
	expect_collected(&dg, 2);
	frag_free(ft);
}

static void expect_failed(struct frag_table *ft, const struct frag_key *k, uint64_t n)
{
	struct frag_stats st = stats(ft);

	cr_assert_eq(st.collect_failed, n, "collect_failed %" PRIu64 ", want %" PRIu64,
		     st.collect_failed, n);
	cr_assert_eq(st.pkts_now, 0, "every piece dropped");
	cr_assert_not(frag_is_collecting(ft, k));
	cr_assert_eq(got.n, 0, "nothing released");
}

Test(frag, collect_overlap_dropped)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);

	mk_dgram(&dg, 2992);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	/* 8 bytes into the first piece */
	frag_collect(ft, &k, mk_frag(&dg, 1472, 1488, true), false, 1, collect_cb, &got);
	expect_failed(ft, &k, 1);

	/* overlapping the next piece instead */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 2, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1488, 1472, true), false, 2, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 16, true), false, 2, collect_cb, &got);
	expect_failed(ft, &k, 2);

	/* a duplicate */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 3, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 3, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 3, collect_cb, &got);
	expect_failed(ft, &k, 3);

	/* a second first */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 4, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 4, collect_cb, &got);
	expect_failed(ft, &k, 4);
	frag_free(ft);
}

Test(frag, collect_inconsistent_end_dropped)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);

	mk_dgram(&dg, 2992);
	/* two last pieces */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, false), false, 0, collect_cb, &got);
	expect_failed(ft, &k, 1);
	/* a piece with MF past the end (it cannot overlap the last piece and reach it) */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 1, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 1, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 3000, 8, true), false, 1, collect_cb, &got);
	expect_failed(ft, &k, 2);
	/* a last piece ending before a piece already there (and not overlapping it) */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 2, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2000, 960, true), false, 2, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 8, false), false, 2, collect_cb, &got);
	expect_failed(ft, &k, 3);
	frag_free(ft);
}

Test(frag, collect_malformed_dropped)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	struct pkt *p;

	mk_dgram(&dg, 2992);
	/* a piece with MF whose data is not a multiple of 8 */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1479, true), false, 0, collect_cb, &got);
	expect_failed(ft, &k, 1);
	/* a first that is not at offset 0 */
	frag_collect(ft, &k, mk_frag(&dg, 8, 1480, true), true, 0, collect_cb, &got);
	expect_failed(ft, &k, 2);
	/* a total length that is not the packet's */
	p = mk_frag(&dg, 0, 1480, true);
	p->data[3] ^= 1;
	frag_collect(ft, &k, p, true, 0, collect_cb, &got);
	expect_failed(ft, &k, 3);
	/* not UDP */
	p = mk_frag(&dg, 0, 1480, true);
	p->data[9] = 6;
	frag_collect(ft, &k, p, true, 0, collect_cb, &got);
	expect_failed(ft, &k, 4);
	/* a UDP length that is not the datagram's */
	dg.b[25]--;
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 0, collect_cb, &got);
	expect_failed(ft, &k, 5);
	frag_free(ft);
}

/* At most 65535 bytes: data may end at 65515 after a 20-byte header, not past it */
Test(frag, collect_too_long_dropped)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	struct pkt *p;

	mk_dgram(&dg, 2992);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	/* a last piece at 65512 (the largest offset, 8189 units) with 4 bytes: ends at 65516 */
	p = mk_frag(&dg, 0, 4, false);
	p->data[6] = 0x1f;
	p->data[7] = 0xfd;
	frag_collect(ft, &k, p, false, 0, collect_cb, &got);
	expect_failed(ft, &k, 1);

	/* 3 bytes there end at 65515 exactly: accepted, the datagram still incomplete */
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 1, collect_cb, &got);
	p = mk_frag(&dg, 0, 3, false);
	p->data[6] = 0x1f;
	p->data[7] = 0xfd;
	frag_collect(ft, &k, p, false, 1, collect_cb, &got);
	cr_assert(frag_is_collecting(ft, &k));
	cr_assert_eq(stats(ft).pkts_now, 2);
	frag_free(ft);
}

Test(frag, collect_timeout_dropped)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	struct frag_stats st;

	mk_dgram(&dg, 2992);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 1000, collect_cb, &got);
	frag_expire(ft, 1999);
	cr_assert(frag_is_collecting(ft, &k), "not yet");
	frag_expire(ft, 2000);
	st = stats(ft);
	cr_assert_eq(st.expired, 2, "both pieces, once the oldest is 2 s old");
	expect_failed(ft, &k, 1);
	/* the missing piece, late: nothing to join, it is held like any orphan */
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 2001, collect_cb, &got), 0);
	cr_assert_eq(stats(ft).held, 1);
	frag_free(ft);
}

/* B 53: a collection that loses a piece to eviction is dropped whole */
Test(frag, collect_evicted_dropped)
{
	struct frag_table *ft = frag_new(2);
	struct frag_key k = key4(0x1234), o = key4(9);
	struct frag_stats st;

	mk_dgram(&dg, 2992);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 1480, 1480, true), false, 1, collect_cb, &got);
	frag_hold(ft, &o, tagged(1), 2);
	st = stats(ft);
	cr_assert_eq(st.evicted, 2);
	cr_assert_eq(st.collect_failed, 1);
	cr_assert_eq(st.pkts_now, 1);
	cr_assert_not(frag_is_collecting(ft, &k));
	cr_assert_eq(frag_first(ft, &o, 1, 1, 3, collect_cb, &got), 1);
	expect_tags((uint8_t[]){1}, 1);
	frag_free(ft);
}

/*
 * nat64.c's order for a zero-checksum first fragment: frag_collect(first), then frag_first with
 * its ports. The collection keeps its pieces (those held before included) and completes.
 */
Test(frag, collect_then_first_keeps_the_collection)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234);
	uint16_t sp, dp;

	mk_dgram(&dg, 2992);
	frag_hold(ft, &k, mk_frag(&dg, 1480, 1480, true), 0);
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 1, collect_cb, &got),
		     0);
	cr_assert_eq(frag_first(ft, &k, 40000, 53, 1, collect_cb, &got), 0, "nothing released");
	cr_assert(frag_is_collecting(ft, &k));
	cr_assert_eq(stats(ft).pkts_now, 2);
	cr_assert_not(frag_find(ft, &k, 2, &sp, &dp), "pieces go to frag_collect");
	cr_assert_eq(
	    frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 3, collect_cb, &got), 3);
	expect_collected(&dg, 3);
	cr_assert(frag_find(ft, &k, 4, &sp, &dp));
	cr_assert_eq(sp, 40000);
	/* and when frag_collect completed it at once, frag_first finds it done */
	k.id = 2;
	mk_dgram(&dg, 100);
	cr_assert_eq(frag_collect(ft, &k, mk_frag(&dg, 0, 108, false), true, 5, collect_cb, &got),
		     1);
	expect_collected(&dg, 1);
	cr_assert_eq(frag_first(ft, &k, 40000, 53, 5, collect_cb, &got), 0);
	cr_assert_eq(stats(ft).collected, 2);
	cr_assert_eq(stats(ft).collect_failed, 0);
	frag_free(ft);
}

Test(frag, free_while_collecting_leaks_nothing)
{
	struct frag_table *ft = frag_new(8);
	struct frag_key k = key4(0x1234), o = key4(1);
	struct pkt_pool_info info;

	mk_dgram(&dg, 2992);
	frag_collect(ft, &k, mk_frag(&dg, 0, 1480, true), true, 0, collect_cb, &got);
	frag_collect(ft, &k, mk_frag(&dg, 2960, 40, false), false, 0, collect_cb, &got);
	frag_hold(ft, &o, tagged(1), 0);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 3);
	frag_free(ft);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 0);
}
