/*
 * lpm: the edge cases of the contract (/0, host routes, -EINVAL, -EEXIST, host bits, find vs
 * lookup), then large random IPv4 and IPv6 tables with nested and clustered prefixes checked
 * against a brute-force reference (a linear scan for the longest containing prefix), through
 * random removals and re-insertions, in any insertion order, ending empty with the memory of a
 * fresh table. The memory per prefix quoted in lpm.c is measured here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lpm.h"
#include "support/rng.h"

/* A reference prefix: its bits as one 128-bit number (IPv4 in the top 32 bits of hi). */
struct pfx {
	uint64_t hi, lo;   /* masked to len */
	uint64_t mhi, mlo; /* the netmask */
	unsigned len;
	bool in; /* currently stored in the table under test */
};

/* A width-bit random test set: n unique prefixes, sorted in the documented foreach order. */
struct set {
	unsigned width;
	struct pfx *p;
	size_t n;
};

static uint64_t mask_hi(unsigned len)
{
	return len == 0 ? 0 : len >= 64 ? UINT64_MAX : UINT64_MAX << (64 - len);
}

static uint64_t mask_lo(unsigned len)
{
	return len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
}

static struct pfx mkpfx(uint64_t hi, uint64_t lo, unsigned len)
{
	struct pfx p = {.mhi = mask_hi(len), .mlo = mask_lo(len), .len = len};

	p.hi = hi & p.mhi;
	p.lo = lo & p.mlo;
	return p;
}

static void to_bytes(unsigned width, uint64_t hi, uint64_t lo, uint8_t *out)
{
	for (unsigned i = 0; i < width / 8; i++)
		out[i] = (uint8_t)(i < 8 ? hi >> (56 - 8 * i) : lo >> (56 - 8 * (i - 8)));
}

static void from_bytes(unsigned width, const uint8_t *in, uint64_t *hi, uint64_t *lo)
{
	*hi = *lo = 0;
	for (unsigned i = 0; i < width / 8; i++) {
		if (i < 8)
			*hi |= (uint64_t)in[i] << (56 - 8 * i);
		else
			*lo |= (uint64_t)in[i] << (56 - 8 * (i - 8));
	}
}

static bool contains(const struct pfx *p, uint64_t hi, uint64_t lo)
{
	return ((hi ^ p->hi) & p->mhi) == 0 && ((lo ^ p->lo) & p->mlo) == 0;
}

/* The reference: the index of the longest stored prefix containing hi:lo, or -1. */
static long brute(const struct set *s, uint64_t hi, uint64_t lo)
{
	long best = -1;

	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].in && contains(&s->p[i], hi, lo) &&
		    (best < 0 || s->p[i].len > s->p[best].len))
			best = (long)i;
	return best;
}

static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->len > y->len) - (x->len < y->len);
}

static unsigned rnd_below(uint64_t *rng, unsigned n)
{
	return (unsigned)(th_xorshift64(rng) % n);
}

/* Random bits in the top `width` bits of the 128. */
static void rnd_addr(unsigned width, uint64_t *rng, uint64_t *hi, uint64_t *lo)
{
	*hi = th_xorshift64(rng) & mask_hi(width);
	*lo = th_xorshift64(rng) & mask_lo(width);
}

/*
 * At least n unique prefixes: 40 % of the candidates extend an earlier prefix (so prefixes
 * nest many levels deep), 30 % share their first width/2 bits with one of eight cluster bases,
 * 30 % are uniform. Lengths are spread over 0..width. Candidates are drawn in batches, sorted
 * and deduplicated until there are enough.
 */
static struct set gen(unsigned width, size_t n, uint64_t seed)
{
	struct set s = {.width = width, .p = calloc(2 * n, sizeof(struct pfx))};
	uint64_t rng = seed, bhi[8], blo[8];

	cr_assert_not_null(s.p);
	for (int i = 0; i < 8; i++)
		rnd_addr(width, &rng, &bhi[i], &blo[i]);
	while (s.n < n) {
		size_t end = s.n + (n - s.n) * 3 / 2 + 1; /* < 2 * n */

		for (size_t i = s.n; i < end; i++) {
			unsigned r = rnd_below(&rng, 10), len;
			uint64_t hi, lo;

			rnd_addr(width, &rng, &hi, &lo);
			if (r < 4 && i > 0) {
				const struct pfx *up = &s.p[rnd_below(&rng, (unsigned)i)];

				len = up->len + rnd_below(&rng, width - up->len + 1);
				hi = up->hi | (hi & ~up->mhi);
				lo = up->lo | (lo & ~up->mlo);
			} else {
				len = rnd_below(&rng, width + 1);
				if (r < 7) {
					unsigned c = rnd_below(&rng, 8);
					uint64_t mh = mask_hi(width / 2), ml = mask_lo(width / 2);

					hi = (bhi[c] & mh) | (hi & ~mh);
					lo = (blo[c] & ml) | (lo & ~ml);
				}
			}
			s.p[i] = mkpfx(hi, lo, len);
		}
		qsort(s.p, end, sizeof(*s.p), cmp_pfx);
		s.n = 0;
		for (size_t i = 0; i < end; i++)
			if (s.n == 0 || cmp_pfx(&s.p[s.n - 1], &s.p[i]) != 0)
				s.p[s.n++] = s.p[i];
	}
	return s;
}

/* The order of insertion i: a Fisher-Yates shuffle of 0..n-1. */
static size_t *shuffled(size_t n, uint64_t seed)
{
	size_t *o = malloc(n * sizeof(*o));
	uint64_t rng = seed;

	cr_assert_not_null(o);
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = th_xorshift64(&rng) % i, x = o[i - 1];

		o[i - 1] = o[j];
		o[j] = x;
	}
	return o;
}

static void insert_ref(struct lpm *t, struct set *s, size_t i)
{
	uint8_t a[16];

	to_bytes(s->width, s->p[i].hi, s->p[i].lo, a);
	cr_assert_eq(lpm_insert(t, a, s->p[i].len, &s->p[i]), 0, "insert #%zu", i);
	s->p[i].in = true;
}

static void remove_ref(struct lpm *t, struct set *s, size_t i)
{
	uint8_t a[16];

	to_bytes(s->width, s->p[i].hi, s->p[i].lo, a);
	cr_assert_eq(lpm_remove(t, a, s->p[i].len), &s->p[i], "remove #%zu", i);
	cr_assert_null(lpm_remove(t, a, s->p[i].len), "second remove #%zu", i);
	s->p[i].in = false;
}

static struct lpm *build(struct set *s, uint64_t seed)
{
	struct lpm *t = lpm_new(s->width);
	size_t *o = shuffled(s->n, seed);

	for (size_t i = 0; i < s->n; i++)
		insert_ref(t, s, o[i]);
	free(o);
	return t;
}

/* Adds delta (+1 or -1) to hi:lo as a width-bit number, wrapping. */
static void step(unsigned width, uint64_t *hi, uint64_t *lo, int delta)
{
	if (width == 32) {
		uint32_t v = (uint32_t)(*hi >> 32) + (uint32_t)delta;

		*hi = (uint64_t)v << 32;
		return;
	}
	if (delta > 0)
		*hi += ++*lo == 0;
	else
		*hi -= (*lo)-- == 0;
}

/*
 * A lookup address: uniform, or derived from a stored prefix: inside it, its first and last
 * address, one address outside either edge, its sibling (last bit flipped), or one of its
 * bits flipped.
 */
static void probe(const struct set *s, uint64_t *rng, uint64_t *hi, uint64_t *lo)
{
	const struct pfx *p = &s->p[rnd_below(rng, (unsigned)s->n)];
	unsigned kind = rnd_below(rng, 8), b;
	uint64_t rhi, rlo;

	rnd_addr(s->width, rng, &rhi, &rlo);
	*hi = p->hi | (rhi & ~p->mhi);
	*lo = p->lo | (rlo & ~p->mlo);
	switch (kind) {
	case 0:
		*hi = rhi, *lo = rlo;
		break;
	case 1:
		break;
	case 2:
	case 4:
		*hi = p->hi, *lo = p->lo;
		if (kind == 4)
			step(s->width, hi, lo, -1);
		break;
	case 3:
	case 5:
		*hi = p->hi | (~p->mhi & mask_hi(s->width));
		*lo = p->lo | (~p->mlo & mask_lo(s->width));
		if (kind == 5)
			step(s->width, hi, lo, +1);
		break;
	default:
		if (p->len == 0)
			break;
		b = kind == 6 ? p->len - 1 : rnd_below(rng, p->len);
		if (b < 64)
			*hi ^= 1ull << (63 - b);
		else
			*lo ^= 1ull << (127 - b);
	}
}

/* nprobe lookups against the brute force. */
static void check_lookups(const struct lpm *t, const struct set *s, uint64_t seed, int nprobe)
{
	uint64_t rng = seed, hi, lo;
	uint8_t a[16];

	for (int i = 0; i < nprobe; i++) {
		unsigned len = 999;
		long want;
		void *got;

		probe(s, &rng, &hi, &lo);
		to_bytes(s->width, hi, lo, a);
		want = brute(s, hi, lo);
		got = lpm_lookup(t, a, &len);
		if (want < 0) {
			cr_assert_null(got, "probe %d %016llx:%016llx: none expected", i,
				       (unsigned long long)hi, (unsigned long long)lo);
			cr_assert_eq(len, 999, "len untouched when nothing matches");
			continue;
		}
		cr_assert_eq(got, &s->p[want], "probe %d %016llx:%016llx: want /%u", i,
			     (unsigned long long)hi, (unsigned long long)lo, s->p[want].len);
		cr_assert_eq(len, s->p[want].len);
		cr_assert_eq(lpm_lookup(t, a, NULL), got, "len may be NULL");
	}
}

/* What lpm_foreach reported, in order. */
struct seen {
	unsigned width;
	size_t n, cap, stop_after;
	struct {
		uint64_t hi, lo;
		unsigned len;
		void *value;
	} * e;
};

static bool collect(void *ctx, const uint8_t *addr, unsigned len, void *value)
{
	struct seen *sn = ctx;
	uint64_t hi, lo;

	if (sn->n == sn->cap) {
		sn->cap = sn->cap ? 2 * sn->cap : 64;
		sn->e = realloc(sn->e, sn->cap * sizeof(*sn->e));
		cr_assert_not_null(sn->e);
	}
	from_bytes(sn->width, addr, &hi, &lo);
	cr_assert_eq(hi & ~mask_hi(len), 0, "host bits zero");
	cr_assert_eq(lo & ~mask_lo(len), 0, "host bits zero");
	sn->e[sn->n].hi = hi;
	sn->e[sn->n].lo = lo;
	sn->e[sn->n].len = len;
	sn->e[sn->n].value = value;
	sn->n++;
	return sn->n != sn->stop_after;
}

static struct seen walk(const struct lpm *t, unsigned width)
{
	struct seen sn = {.width = width};

	lpm_foreach(t, collect, &sn);
	return sn;
}

/*
 * foreach reports exactly the stored prefixes, ascending by address and then by length (the
 * documented order: a prefix before the longer ones it contains), which is the set's order.
 */
static void check_foreach(const struct lpm *t, const struct set *s)
{
	struct seen sn = walk(t, s->width);
	size_t j = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->p[i].in)
			continue;
		cr_assert_lt(j, sn.n, "foreach stopped early");
		cr_assert_eq(sn.e[j].value, &s->p[i], "foreach #%zu", j);
		cr_assert_eq(sn.e[j].hi, s->p[i].hi);
		cr_assert_eq(sn.e[j].lo, s->p[i].lo);
		cr_assert_eq(sn.e[j].len, s->p[i].len);
		if (j > 0) {
			bool up =
			    sn.e[j - 1].hi < sn.e[j].hi ||
			    (sn.e[j - 1].hi == sn.e[j].hi &&
			     (sn.e[j - 1].lo < sn.e[j].lo ||
			      (sn.e[j - 1].lo == sn.e[j].lo && sn.e[j - 1].len < sn.e[j].len)));

			cr_assert(up, "foreach order at #%zu", j);
		}
		j++;
	}
	cr_assert_eq(j, sn.n, "foreach reported more");
	cr_assert_eq(lpm_count(t), j);
	free(sn.e);
}

/* find agrees with the set for every stored and removed prefix. */
static void check_find(const struct lpm *t, const struct set *s)
{
	uint8_t a[16];

	for (size_t i = 0; i < s->n; i++) {
		to_bytes(s->width, s->p[i].hi, s->p[i].lo, a);
		if (s->p[i].in)
			cr_assert_eq(lpm_find(t, a, s->p[i].len), &s->p[i], "find #%zu", i);
		else
			cr_assert_null(lpm_find(t, a, s->p[i].len), "find removed #%zu", i);
	}
}

static const uint8_t v4_10[4] = {10, 0, 0, 0};
static const uint8_t v4_10_1[4] = {10, 1, 0, 0};
static const uint8_t v4_10_1_2_3[4] = {10, 1, 2, 3};
static const uint8_t v4_11[4] = {11, 0, 0, 0};

Test(lpm, new_only_32_or_128)
{
	static const unsigned bad[] = {0, 1, 8, 31, 33, 64, 96, 127, 129, 256};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(lpm_new(bad[i]), "width %u", bad[i]);
	for (unsigned w = 32; w <= 128; w += 96) {
		struct lpm *t = lpm_new(w);
		uint8_t a[16] = {0};

		cr_assert_not_null(t);
		cr_assert_eq(lpm_count(t), 0);
		cr_assert_gt(lpm_memory(t), 0);
		cr_assert_null(lpm_lookup(t, a, NULL), "empty");
		cr_assert_null(lpm_find(t, a, 0));
		cr_assert_null(lpm_remove(t, a, 0));
		lpm_free(t);
	}
	lpm_free(NULL);
}

Test(lpm, invalid_arguments)
{
	struct lpm *t = lpm_new(32);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
	int x;

	cr_assert_eq(lpm_insert(t, v4_10, 33, &x), -EINVAL, "len > width");
	cr_assert_eq(lpm_insert(t, v4_10, 8, NULL), -EINVAL, "NULL value");
	cr_assert_eq(lpm_count(t), 0);
	cr_assert_null(lpm_find(t, v4_10, 8), "nothing was stored");
	cr_assert_null(lpm_find(t, v4_10, 33));
	cr_assert_null(lpm_remove(t, v4_10, 33));
	lpm_free(t);

	t = lpm_new(128);
	cr_assert_eq(lpm_insert(t, a6, 129, &x), -EINVAL);
	cr_assert_eq(lpm_insert(t, a6, 32, NULL), -EINVAL);
	cr_assert_eq(lpm_insert(t, a6, 128, &x), 0, "a /128 is fine");
	cr_assert_eq(lpm_count(t), 1);
	lpm_free(t);
}

Test(lpm, default_route_matches_everything)
{
	struct lpm *t = lpm_new(32);
	int dflt, ten;
	unsigned len = 99;

	cr_assert_eq(lpm_insert(t, v4_10_1_2_3, 0, &dflt), 0, "host bits of a /0 ignored");
	cr_assert_eq(lpm_lookup(t, v4_11, &len), &dflt);
	cr_assert_eq(len, 0);
	cr_assert_eq(lpm_insert(t, v4_10, 8, &ten), 0);
	cr_assert_eq(lpm_lookup(t, v4_10_1_2_3, &len), &ten);
	cr_assert_eq(len, 8);
	cr_assert_eq(lpm_lookup(t, v4_11, &len), &dflt);
	cr_assert_eq(lpm_insert(t, v4_11, 0, &ten), -EEXIST, "one /0");
	cr_assert_eq(lpm_find(t, v4_11, 0), &dflt);
	cr_assert_eq(lpm_remove(t, v4_10, 0), &dflt);
	cr_assert_null(lpm_remove(t, v4_10, 0));
	cr_assert_null(lpm_lookup(t, v4_11, &len));
	cr_assert_eq(lpm_lookup(t, v4_10, &len), &ten);
	cr_assert_eq(lpm_count(t), 1);
	lpm_free(t);
}

Test(lpm, host_routes_32_and_128)
{
	struct lpm *t4 = lpm_new(32), *t6 = lpm_new(128);
	uint8_t a6[16] = {0x02, 0x00, 0xaa, 0xbb, [15] = 0x01}, b6[16];
	uint8_t a4[4] = {192, 0, 2, 1}, b4[4] = {192, 0, 2, 0};
	int h4, h6, net6;
	unsigned len;

	cr_assert_eq(lpm_insert(t4, a4, 32, &h4), 0);
	cr_assert_eq(lpm_lookup(t4, a4, &len), &h4);
	cr_assert_eq(len, 32);
	cr_assert_null(lpm_lookup(t4, b4, NULL), "the last bit counts in a /32");
	cr_assert_null(lpm_find(t4, a4, 31));

	memcpy(b6, a6, 16);
	b6[15] ^= 1;
	cr_assert_eq(lpm_insert(t6, a6, 128, &h6), 0);
	cr_assert_eq(lpm_insert(t6, a6, 127, &net6), 0);
	cr_assert_eq(lpm_lookup(t6, a6, &len), &h6);
	cr_assert_eq(len, 128);
	cr_assert_eq(lpm_lookup(t6, b6, &len), &net6);
	cr_assert_eq(len, 127);
	cr_assert_eq(lpm_remove(t6, a6, 128), &h6);
	cr_assert_eq(lpm_lookup(t6, a6, &len), &net6);
	lpm_free(t4);
	lpm_free(t6);
}

Test(lpm, duplicate_keeps_the_old_value)
{
	struct lpm *t = lpm_new(32);
	int first, second;

	cr_assert_eq(lpm_insert(t, v4_10, 8, &first), 0);
	cr_assert_eq(lpm_insert(t, v4_10, 8, &second), -EEXIST);
	cr_assert_eq(lpm_insert(t, v4_10_1_2_3, 8, &second), -EEXIST, "same /8, host bits set");
	cr_assert_eq(lpm_find(t, v4_10, 8), &first);
	cr_assert_eq(lpm_count(t), 1);
	cr_assert_eq(lpm_insert(t, v4_10, 9, &second), 0, "another length is another prefix");
	cr_assert_eq(lpm_count(t), 2);
	lpm_free(t);
}

Test(lpm, host_bits_ignored)
{
	struct lpm *t = lpm_new(32);
	uint8_t other[4] = {10, 200, 7, 9};
	int v;
	struct seen sn;

	cr_assert_eq(lpm_insert(t, v4_10_1_2_3, 8, &v), 0);
	cr_assert_eq(lpm_find(t, other, 8), &v, "find masks");
	cr_assert_eq(lpm_lookup(t, other, NULL), &v);
	sn = walk(t, 32);
	cr_assert_eq(sn.n, 1);
	cr_assert_eq(sn.e[0].hi, 10ull << 56, "stored as 10.0.0.0/8");
	free(sn.e);
	cr_assert_eq(lpm_remove(t, other, 8), &v, "remove masks");
	cr_assert_eq(lpm_count(t), 0);
	lpm_free(t);
}

Test(lpm, remove_absent_is_null)
{
	struct lpm *t = lpm_new(32);
	uint8_t a[4] = {10, 128, 0, 0};
	int x, y;

	cr_assert_null(lpm_remove(t, v4_10, 8), "empty table");
	cr_assert_eq(lpm_insert(t, v4_10_1, 16, &x), 0);
	cr_assert_eq(lpm_insert(t, a, 16, &y), 0); /* a branch node at 10.0.0.0/8 */
	cr_assert_null(lpm_remove(t, v4_10, 8), "the branch holds no value");
	cr_assert_null(lpm_find(t, v4_10, 8));
	cr_assert_null(lpm_remove(t, v4_10_1, 24), "longer");
	cr_assert_null(lpm_remove(t, v4_10_1, 15), "shorter");
	cr_assert_null(lpm_remove(t, v4_11, 16), "elsewhere");
	cr_assert_eq(lpm_count(t), 2);
	cr_assert_eq(lpm_remove(t, v4_10_1, 16), &x);
	cr_assert_null(lpm_remove(t, v4_10_1, 16), "twice");
	cr_assert_eq(lpm_lookup(t, a, NULL), &y, "the sibling survives the merge");
	lpm_free(t);
}

Test(lpm, find_is_exact_lookup_is_longest)
{
	struct lpm *t = lpm_new(32);
	int eight, sixteen;
	unsigned len;

	cr_assert_eq(lpm_insert(t, v4_10, 8, &eight), 0);
	cr_assert_eq(lpm_insert(t, v4_10_1, 16, &sixteen), 0);
	cr_assert_null(lpm_find(t, v4_10_1_2_3, 24), "no /24 stored");
	cr_assert_eq(lpm_lookup(t, v4_10_1_2_3, &len), &sixteen);
	cr_assert_eq(len, 16);
	cr_assert_eq(lpm_find(t, v4_10_1_2_3, 8), &eight);
	cr_assert_null(lpm_find(t, v4_10, 0));
	cr_assert_null(lpm_lookup(t, v4_11, NULL));
	lpm_free(t);
}

/* Every length 0..width along one address: the deepest path a lookup can take. */
Test(lpm, full_chain_of_nested_prefixes)
{
	for (unsigned w = 32; w <= 128; w += 96) {
		struct lpm *t = lpm_new(w);
		uint8_t a[16], b[16];
		uint64_t rng = 0x5eed0000 + w;
		static int v[129];
		unsigned len;

		th_rnd_bytes(&rng, a, sizeof(a));
		for (unsigned l = 0; l <= w; l++)
			cr_assert_eq(lpm_insert(t, a, w - l, &v[w - l]), 0, "/%u", w - l);
		cr_assert_eq(lpm_count(t), w + 1);
		cr_assert_eq(lpm_lookup(t, a, &len), &v[w]);
		cr_assert_eq(len, w);
		/* flipping bit i leaves exactly the prefixes of length <= i */
		for (unsigned i = 0; i < w; i++) {
			memcpy(b, a, sizeof(b));
			b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
			cr_assert_eq(lpm_lookup(t, b, &len), &v[i], "bit %u", i);
			cr_assert_eq(len, i);
		}
		/* removing the odd lengths leaves the even ones answering */
		for (unsigned l = 1; l <= w; l += 2)
			cr_assert_eq(lpm_remove(t, a, l), &v[l]);
		for (unsigned i = 0; i < w; i++) {
			memcpy(b, a, sizeof(b));
			b[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
			cr_assert_eq(lpm_lookup(t, b, &len), &v[i & ~1u], "bit %u", i);
		}
		lpm_free(t);
	}
}

Test(lpm, foreach_order_and_stop)
{
	static const struct {
		uint8_t a[4];
		unsigned len;
	} in[] = {
	    {{10, 1, 0, 0}, 16},  {{0, 0, 0, 0}, 0},	 {{10, 0, 0, 0}, 16}, {{10, 0, 0, 0}, 8},
	    {{192, 0, 2, 0}, 24}, {{10, 0, 128, 0}, 17}, {{10, 0, 0, 0}, 24},
	};
	/* by address, then shorter first */
	static const unsigned want[] = {1, 3, 2, 6, 5, 0, 4};
	struct lpm *t = lpm_new(32);
	struct seen sn = {.width = 32};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		cr_assert_eq(lpm_insert(t, in[i].a, in[i].len, (void *)&in[i]), 0);
	lpm_foreach(t, collect, &sn);
	cr_assert_eq(sn.n, 7);
	for (size_t j = 0; j < 7; j++)
		cr_assert_eq(sn.e[j].value, &in[want[j]], "#%zu", j);
	sn.n = 0;
	sn.stop_after = 3;
	lpm_foreach(t, collect, &sn);
	cr_assert_eq(sn.n, 3, "false stops the walk");
	free(sn.e);
	lpm_free(t);
}

static void random_table(unsigned width, uint64_t seed)
{
	struct set s = gen(width, 20000, seed);
	struct lpm *t = build(&s, seed + 1);
	uint8_t a[16];
	int x;

	cr_log_info("lpm: %u-bit random table: %zu unique prefixes", width, s.n);
	cr_assert_geq(s.n, 20000);
	cr_assert_eq(lpm_count(t), s.n);
	for (size_t i = 0; i < s.n; i += 7) {
		to_bytes(width, s.p[i].hi, s.p[i].lo, a);
		cr_assert_eq(lpm_insert(t, a, s.p[i].len, &x), -EEXIST);
	}
	check_find(t, &s);
	check_lookups(t, &s, seed + 2, 30000);
	check_foreach(t, &s);
	lpm_free(t);
	free(s.p);
}

Test(lpm, random_ipv4_against_brute_force)
{
	random_table(32, 0x1234567);
}

Test(lpm, random_ipv6_against_brute_force)
{
	random_table(128, 0x7654321);
}

/*
 * Same set, different histories: shuffled insertions, and one table that also saw unrelated
 * prefixes come and go. Lookups and the walk must be identical.
 */
static void order_independence(unsigned width, uint64_t seed)
{
	struct set s = gen(width, 8000, seed), noise = gen(width, 3000, seed + 100);
	struct lpm *a = build(&s, seed + 1), *b = lpm_new(width);
	size_t *o = shuffled(s.n, seed + 2), *on = shuffled(noise.n, seed + 3), k = 0;
	uint64_t rng = seed + 4, hi, lo;
	uint8_t addr[16];
	struct seen sa, sb;

	for (size_t i = 0; i < s.n; i++) {
		/* noise that is also in s is skipped: it must stay */
		while (k < noise.n && rnd_below(&rng, 3) == 0) {
			to_bytes(width, noise.p[on[k]].hi, noise.p[on[k]].lo, addr);
			if (bsearch(&noise.p[on[k]], s.p, s.n, sizeof(*s.p), cmp_pfx) == NULL)
				insert_ref(b, &noise, on[k]);
			k++;
		}
		to_bytes(width, s.p[o[i]].hi, s.p[o[i]].lo, addr);
		cr_assert_eq(lpm_insert(b, addr, s.p[o[i]].len, &s.p[o[i]]), 0);
		if (rnd_below(&rng, 4) == 0) { /* drop some noise in between */
			size_t j = on[rnd_below(&rng, (unsigned)noise.n)];

			if (noise.p[j].in)
				remove_ref(b, &noise, j);
		}
	}
	for (size_t j = 0; j < noise.n; j++)
		if (noise.p[j].in)
			remove_ref(b, &noise, j);
	cr_assert_eq(lpm_count(a), s.n);
	cr_assert_eq(lpm_count(b), s.n);
	for (int i = 0; i < 30000; i++) {
		unsigned la = 999, lb = 999;

		probe(i % 2 ? &s : &noise, &rng, &hi, &lo);
		to_bytes(width, hi, lo, addr);
		cr_assert_eq(lpm_lookup(a, addr, &la), lpm_lookup(b, addr, &lb), "probe %d", i);
		cr_assert_eq(la, lb);
	}
	sa = walk(a, width);
	sb = walk(b, width);
	cr_assert_eq(sa.n, sb.n);
	for (size_t i = 0; i < sa.n; i++) {
		cr_assert_eq(sa.e[i].hi, sb.e[i].hi, "same walk at #%zu", i);
		cr_assert_eq(sa.e[i].lo, sb.e[i].lo);
		cr_assert_eq(sa.e[i].len, sb.e[i].len);
		cr_assert_eq(sa.e[i].value, sb.e[i].value);
	}
	check_foreach(b, &s);
	free(sa.e);
	free(sb.e);
	free(o);
	free(on);
	lpm_free(a);
	lpm_free(b);
	free(s.p);
	free(noise.p);
}

Test(lpm, insertion_order_does_not_matter_ipv4)
{
	order_independence(32, 0xabcdef);
}

Test(lpm, insertion_order_does_not_matter_ipv6)
{
	order_independence(128, 0xfedcba);
}

/*
 * Rounds of removing about half of what is stored and re-inserting about a quarter of what is
 * not, checked against the brute force each time; then everything goes and the table is back
 * to the memory of a fresh one.
 */
static void churn(unsigned width, uint64_t seed)
{
	struct set s = gen(width, 20000, seed);
	struct lpm *t = build(&s, seed + 1), *fresh = lpm_new(width);
	uint64_t rng = seed + 2;
	size_t full = lpm_memory(t), *o;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < s.n; i++) {
			unsigned r = rnd_below(&rng, 4);

			if (s.p[i].in && r < 2)
				remove_ref(t, &s, i);
			else if (!s.p[i].in && r == 0)
				insert_ref(t, &s, i);
		}
		check_find(t, &s);
		check_lookups(t, &s, seed + 10 + (uint64_t)round, 10000);
		check_foreach(t, &s);
	}
	o = shuffled(s.n, seed + 3);
	for (size_t i = 0; i < s.n; i++)
		if (s.p[o[i]].in)
			remove_ref(t, &s, o[i]);
	free(o);
	cr_assert_eq(lpm_count(t), 0);
	check_lookups(t, &s, seed + 20, 1000);
	check_foreach(t, &s);
	cr_log_info("lpm: %u-bit churn: %zu bytes full, %zu empty", width, full, lpm_memory(t));
	cr_assert_eq(lpm_memory(t), lpm_memory(fresh), "an emptied table shrinks back");
	/* and it still works */
	insert_ref(t, &s, 0);
	check_lookups(t, &s, seed + 21, 1000);
	lpm_free(t);
	lpm_free(fresh);
	free(s.p);
}

Test(lpm, random_removals_and_reinsertions_ipv4)
{
	churn(32, 0x31415926);
}

Test(lpm, random_removals_and_reinsertions_ipv6)
{
	churn(128, 0x27182818);
}

/*
 * The figures quoted at the top of lpm.c: 10000 random prefixes, uniform addresses and
 * lengths in width/4..width. Bounded by 2 nodes per prefix and an array at least half full.
 */
Test(lpm, memory_per_prefix)
{
	for (unsigned w = 32; w <= 128; w += 96) {
		struct lpm *t = lpm_new(w);
		size_t node = w == 32 ? 24 : 40, n;
		uint64_t rng = 0x600d + w, hi, lo;
		uint8_t a[16];
		static int v;

		while (lpm_count(t) < 10000) {
			rnd_addr(w, &rng, &hi, &lo);
			to_bytes(w, hi, lo, a);
			lpm_insert(t, a, w / 4 + rnd_below(&rng, w - w / 4 + 1), &v);
		}
		n = lpm_count(t);
		cr_log_info("lpm: %u-bit: %zu prefixes in %zu bytes, %.1f bytes per prefix", w, n,
			    lpm_memory(t), (double)lpm_memory(t) / (double)n);
		cr_assert_leq(lpm_memory(t), 4 * node * n + 4096);
		lpm_free(t);
	}
}

/*
 * Storing and removing prefixes one at a time beside a few fixed ones must not leave branch
 * nodes behind: the table stays at the size of a fresh one. (Lookups cannot see a stale branch,
 * memory can.)
 */
Test(lpm, insert_remove_cycles_leave_nothing_behind)
{
	for (unsigned w = 32; w <= 128; w += 96) {
		struct lpm *t = lpm_new(w);
		size_t fresh = lpm_memory(t);
		uint64_t rng = 0xc1c1e + w, hi, lo;
		uint8_t a[16], keep[16];
		static int v, k;

		th_rnd_bytes(&rng, keep, sizeof(keep));
		cr_assert_eq(lpm_insert(t, keep, w / 2, &k), 0);
		cr_assert_eq(lpm_insert(t, keep, w, &k), 0);
		for (int i = 0; i < 20000; i++) {
			unsigned len = rnd_below(&rng, w + 1);

			rnd_addr(w, &rng, &hi, &lo);
			to_bytes(w, hi, lo, a);
			if (lpm_insert(t, a, len, &v) == 0)
				cr_assert_eq(lpm_remove(t, a, len), &v);
			cr_assert_eq(lpm_count(t), 2);
		}
		cr_assert_eq(lpm_memory(t), fresh, "%u-bit", w);
		lpm_free(t);
	}
}
