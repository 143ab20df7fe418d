/*
 * Tests for core/bloom (spec yggdrasil-link-routing.md §6.1, §6.2, §4.4, §11): MurmurHash3 check
 * values and every tail length, then each key of bloom-vectors.txt (copied from the vectors the
 * real 0.5.12 daemons confirmed): xform, h0..h3, the 8 locations and the {key} filter on the
 * wire byte for byte, the A+B+C filter, the transform against core/addr's addr_xkey for every
 * leading-zero count, and the filter operations.
 */
#include "core/addr.h"
#include "core/bloom.h"
#include "core/proto.h"
#include "lib/wire.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

static void assert_bytes(const uint8_t *got, const uint8_t *want, size_t n, const char *what)
{
	char hg[2 * 600 + 1], hw[2 * 600 + 1];

	cr_assert_leq(n, 600);
	th_hex(got, n, hg);
	th_hex(want, n, hw);
	cr_assert_eq(memcmp(got, want, n), 0, "%s: got %s, want %s", what, hg, hw);
}

/* ---- MurmurHash3_x64_128 ---- */

Test(bloom, murmur3_check_values)
{
	uint64_t h[2];

	/* §6.1 check value. */
	bloom_murmur3((const uint8_t *)"hello", 5, h);
	cr_assert_eq(h[0], 0xcbd8a7b341bd9b02ULL);
	cr_assert_eq(h[1], 0x5b1e906a48ae1d19ULL);
	/* The widely published value: two blocks and an 11-byte tail reaching k2. */
	bloom_murmur3((const uint8_t *)"The quick brown fox jumps over the lazy dog", 43, h);
	cr_assert_eq(h[0], 0xe34bbc7bbc071b6cULL);
	cr_assert_eq(h[1], 0x7a433ca9c49a9347ULL);
	/* Empty input with seed 0 hashes to zero (fmix64(0) == 0). */
	bloom_murmur3(NULL, 0, h);
	cr_assert_eq(h[0], 0);
	cr_assert_eq(h[1], 0);
}

/* Input 00 01 02 .. n-1; values from yggwire.py's independent implementation (vectors-link). */
/* clang-format off */
static const struct {
	size_t n;
	uint64_t h1, h2;
} murmur_lengths[] = {
	{ 1, 0x4610abe56eff5cb5ULL, 0x51622daa78f83583ULL },
	{ 7, 0xbd4c6987ca4b0d68ULL, 0x613addd4bd25c787ULL },
	{ 8, 0x47a7e1bdd68e2fc8ULL, 0x60e6ee02ec31dcc7ULL },
	{ 9, 0xfbb4cb0f6e812d32ULL, 0x78de751d0200ffb9ULL },
	{ 15, 0x47231598fd4925e9ULL, 0xcd846dee88c67de9ULL },
	{ 16, 0x444924b591903f30ULL, 0xab906456762fe845ULL },
	{ 17, 0x5c76f40f9fe7c20eULL, 0xc15f026b9edaa824ULL },
	{ 31, 0x053dd3e1a32cd094ULL, 0x9ee59aefb4005490ULL },
	{ 32, 0xc66d9022b62f500fULL, 0x1c050a6e34c31151ULL },
	{ 33, 0x7d41281bfaba4612ULL, 0x55ac8073a7d6a30bULL },
	{ 40, 0xc3a054d8418c8064ULL, 0xa001ca30974c12adULL },
};
/* clang-format on */

Test(bloom, murmur3_every_tail_shape)
{
	uint8_t buf[40];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(murmur_lengths) / sizeof(murmur_lengths[0]); i++) {
		uint64_t h[2];
		uint8_t *copy = malloc(murmur_lengths[i].n);

		/* An exact-size heap copy, so ASan sees any read past the tail. */
		memcpy(copy, buf, murmur_lengths[i].n);
		bloom_murmur3(copy, murmur_lengths[i].n, h);
		free(copy);
		cr_assert_eq(h[0], murmur_lengths[i].h1, "len %zu h1 %016llx", murmur_lengths[i].n,
			     (unsigned long long)h[0]);
		cr_assert_eq(h[1], murmur_lengths[i].h2, "len %zu h2", murmur_lengths[i].n);
	}
}

/* ---- bloom-vectors.txt ---- */

struct key_vec {
	uint8_t key[32], xform[32];
	uint64_t h[4];
	unsigned loc[BLOOM_HASHES];
	uint8_t wire[1200];
	size_t wire_len;
};

/* Parses the block "X: key ..." of bloom-vectors.txt. */
static void load_key_vec(const char *buf, char name, struct key_vec *v)
{
	char label[8], hex[2500];
	const char *p;
	unsigned long long h[4];
	long n;

	snprintf(label, sizeof(label), "\n%c: key", name);
	p = strstr(buf, label);
	cr_assert_not_null(p, "no vector for key %c", name);
	cr_assert_eq(sscanf(p + strlen(label), " %64s", hex), 1);
	cr_assert_eq(th_unhex(hex, v->key, 32), 32);
	p = strstr(p, "xform");
	cr_assert_eq(sscanf(p, "xform %64s", hex), 1);
	cr_assert_eq(th_unhex(hex, v->xform, 32), 32);
	p = strstr(p, "h0 ");
	cr_assert_eq(sscanf(p, "h0 %llx h1 %llx h2 %llx h3 %llx", &h[0], &h[1], &h[2], &h[3]), 4);
	for (int i = 0; i < 4; i++)
		v->h[i] = h[i];
	p = strstr(p, "loc[0..7] [");
	p += strlen("loc[0..7] [");
	for (int i = 0; i < BLOOM_HASHES; i++) {
		char *end;

		v->loc[i] = (unsigned)strtoul(p, &end, 10);
		cr_assert_neq(end, p);
		p = end + 1; /* ", " or "]" */
	}
	p = strstr(p, "): ");
	cr_assert_eq(sscanf(p + 3, "%2400s", hex), 1);
	n = th_unhex(hex, v->wire, sizeof(v->wire));
	cr_assert_gt(n, 0);
	v->wire_len = (size_t)n;
}

/* A whole frame as on the stream: uvarint(N) || type || body. */
static size_t bloom_frame(const struct bloom *b, uint8_t *out, size_t cap)
{
	uint8_t body[1 + 32 + 8 * BLOOM_WORDS];
	struct wire_wr wr, fr;

	wire_wr_init(&wr, body, sizeof(body));
	proto_bloom_encode(&wr, b);
	cr_assert(wire_wr_ok(&wr));
	wire_wr_init(&fr, out, cap);
	wire_put_uvarint(&fr, wr.len);
	wire_put_bytes(&fr, body, wr.len);
	cr_assert(wire_wr_ok(&fr));
	return fr.len;
}

static char *load_vectors(void)
{
	char *buf = th_read_file(VECTORS "bloom-vectors.txt", NULL);

	cr_assert_not_null(buf);
	return buf;
}

Test(bloom, key_vectors)
{
	char *buf = load_vectors();

	for (const char *k = "ABC"; *k; k++) {
		struct key_vec v;
		uint8_t x[32], ext[33], wire[1200];
		uint64_t h[4];
		unsigned loc[BLOOM_HASHES];
		struct bloom b, back;
		size_t n;

		load_key_vec(buf, *k, &v);
		bloom_xform(v.key, x);
		assert_bytes(x, v.xform, 32, "xform");
		bloom_murmur3(x, 32, h);
		memcpy(ext, x, 32);
		ext[32] = 0x01;
		bloom_murmur3(ext, 33, h + 2);
		for (int i = 0; i < 4; i++)
			cr_assert_eq(h[i], v.h[i], "key %c h%d", *k, i);
		bloom_locations(x, loc);
		for (int i = 0; i < BLOOM_HASHES; i++)
			cr_assert_eq(loc[i], v.loc[i], "key %c loc%d %u", *k, i, loc[i]);

		/* The filter holding only this key, on the wire exactly as the daemons sent it. */
		bloom_clear(&b);
		bloom_add_key(&b, v.key);
		n = bloom_frame(&b, wire, sizeof(wire));
		cr_assert_eq(n, v.wire_len, "key %c frame length %zu", *k, n);
		assert_bytes(wire, v.wire, n, "filter frame");
		cr_assert(bloom_test_key(&b, v.key));
		cr_assert(bloom_test(&b, x));

		/* And back: the captured bytes decode to the same filter. */
		cr_assert_eq(v.wire[0], v.wire_len - 1); /* one-byte uvarint length */
		cr_assert_eq(v.wire[1], PROTO_BLOOM);
		cr_assert(proto_bloom_decode(v.wire + 2, v.wire_len - 2, &back));
		cr_assert(bloom_equal(&back, &b));
	}
	free(buf);
}

Test(bloom, filter_abc)
{
	char *buf = load_vectors();
	const char *p = strstr(buf, "A+B+C filter frame: ");
	uint8_t want[1200], got[1200];
	struct key_vec v[3];
	struct bloom b, ab, c;
	long n;
	char hex[2500];

	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p + strlen("A+B+C filter frame: "), "%2400s", hex), 1);
	n = th_unhex(hex, want, sizeof(want));
	cr_assert_gt(n, 0);
	bloom_clear(&b);
	bloom_clear(&ab);
	bloom_clear(&c);
	for (int i = 0; i < 3; i++) {
		load_key_vec(buf, (char)('A' + i), &v[i]);
		bloom_add_key(&b, v[i].key);
	}
	cr_assert_eq(bloom_frame(&b, got, sizeof(got)), (size_t)n);
	assert_bytes(got, want, (size_t)n, "A+B+C frame");

	/* Merge = bitwise OR: {A, B} | {C} == {A, B, C}. */
	bloom_add_key(&ab, v[0].key);
	bloom_add_key(&ab, v[1].key);
	bloom_add_key(&c, v[2].key);
	cr_assert_not(bloom_equal(&ab, &b));
	bloom_merge(&ab, &c);
	cr_assert(bloom_equal(&ab, &b));
	for (int i = 0; i < 3; i++)
		cr_assert(bloom_test_key(&b, v[i].key));
	cr_assert_not(bloom_test_key(&c, v[0].key));
	free(buf);
}

/* Spec §11: filter {A} sets bit 336 = word 5, bit 16. */
Test(bloom, bit_layout_lsb_first)
{
	uint8_t a[32];
	struct bloom b;
	unsigned set = 0;

	cr_assert_eq(
	    th_unhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", a, 32),
	    32);
	bloom_clear(&b);
	cr_assert(bloom_is_empty(&b));
	bloom_add_key(&b, a);
	cr_assert_not(bloom_is_empty(&b));
	cr_assert_eq(b.w[5], 0x10000ULL);
	for (int i = 0; i < BLOOM_WORDS; i++)
		set += (unsigned)__builtin_popcountll(b.w[i]);
	cr_assert_eq(set, 8); /* A's 8 locations are distinct */
	/* Adding again changes nothing. */
	{
		struct bloom again = b;

		bloom_add_key(&again, a);
		cr_assert(bloom_equal(&again, &b));
	}
}

/* ---- xform ---- */

Test(bloom, xform_spec_example)
{
	uint8_t key[32], want[32], got[32];

	cr_assert_eq(
	    th_unhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8", key, 32),
	    32);
	memset(want, 0xff, 32);
	cr_assert_eq(th_unhex("03a107bff3ce11", want, 7), 7);
	bloom_xform(key, got);
	assert_bytes(got, want, 32, "xform(A)");
	/* In place. */
	bloom_xform(key, key);
	assert_bytes(key, want, 32, "xform(A) in place");
	/* Idempotent: the transform of a transformed key is itself. */
	bloom_xform(got, key);
	assert_bytes(key, want, 32, "xform(xform(A))");
}

Test(bloom, xform_matches_derived_vectors)
{
	char *buf = th_read_file(VECTORS "derived-vectors.tsv", NULL);
	char *line, *save = NULL;
	int rows = 0;

	cr_assert_not_null(buf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pub[65], partial[65], mask[65], xk[65];
		uint8_t key[32], want[32], got[32], ax[32];

		if (line[0] == '#')
			continue;
		cr_assert_eq(sscanf(line, "%64s %64s %64s %64s", pub, partial, mask, xk), 4);
		cr_assert_eq(th_unhex(pub, key, 32), 32);
		cr_assert_eq(th_unhex(xk, want, 32), 32);
		bloom_xform(key, got);
		assert_bytes(got, want, 32, "xKey column");
		addr_xkey(key, ax);
		assert_bytes(got, ax, 32, "addr_xkey");
		rows++;
	}
	cr_assert_geq(rows, 16);
	free(buf);
}

/* xorshift64*: deterministic pseudo-random bytes. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Every leading-zero count 0..256 (including the byte-arithmetic edges past 207), and random. */
Test(bloom, xform_equals_addr_xkey)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	for (unsigned z = 0; z <= 256; z++) {
		for (int rep = 0; rep < 8; rep++) {
			uint8_t key[32], a[32], b[32];

			for (int i = 0; i < 32; i++)
				key[i] = (uint8_t)rnd(&s);
			/* Force exactly z leading zeros, then a 1 bit. */
			for (unsigned bit = 0; bit < z && bit < 256; bit++)
				key[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
			if (z < 256)
				key[z / 8] |= (uint8_t)(0x80 >> (z % 8));
			bloom_xform(key, a);
			addr_xkey(key, b);
			assert_bytes(a, b, 32, "xform vs addr_xkey");
			/* Kept prefix unchanged, the rest ones (spec formula, z <= 207). */
			if (z <= 207) {
				unsigned kept = z + 49 < 256 ? z + 49 : 256;

				for (unsigned bit = 0; bit < 256; bit++) {
					int kb = key[bit / 8] >> (7 - bit % 8) & 1;
					int ab = a[bit / 8] >> (7 - bit % 8) & 1;

					cr_assert_eq(ab, bit < kept ? kb : 1, "z %u bit %u", z,
						     bit);
				}
			}
		}
	}
}

Test(bloom, xform_zero_key_is_all_ones)
{
	uint8_t key[32] = {0}, out[32], ones[32];

	memset(ones, 0xff, sizeof(ones));
	bloom_xform(key, out);
	assert_bytes(out, ones, 32, "xform(0)");
}

/* ---- operations ---- */

Test(bloom, add_key_is_add_of_xform)
{
	uint64_t s = 42;

	for (int rep = 0; rep < 64; rep++) {
		uint8_t key[32], x[32];
		struct bloom a, b;

		for (int i = 0; i < 32; i++)
			key[i] = (uint8_t)rnd(&s);
		bloom_xform(key, x);
		bloom_clear(&a);
		bloom_clear(&b);
		bloom_add_key(&a, key);
		bloom_add(&b, x);
		cr_assert(bloom_equal(&a, &b));
		cr_assert(bloom_test(&a, x));
		cr_assert(bloom_test_key(&b, key));
		/* A partial key with the same xform matches too (lookups, §6.2). */
		key[31] ^= 0x5a;
		cr_assert(bloom_test_key(&a, key));
	}
}

Test(bloom, test_needs_all_bits)
{
	uint8_t x[32] = {7};
	unsigned loc[BLOOM_HASHES];
	struct bloom b;

	bloom_locations(x, loc);
	for (int miss = 0; miss < BLOOM_HASHES; miss++) {
		bloom_clear(&b);
		for (int i = 0; i < BLOOM_HASHES; i++) {
			if (i != miss)
				b.w[loc[i] / 64] |= 1ULL << (loc[i] % 64);
		}
		/* Unless another location shares the missing bit, the test must fail. */
		bool shared = false;

		for (int i = 0; i < BLOOM_HASHES; i++)
			shared |= i != miss && loc[i] == loc[miss];
		cr_assert_eq(bloom_test(&b, x), shared, "missing location %d", miss);
	}
	for (int i = 0; i < BLOOM_HASHES; i++)
		cr_assert_lt(loc[i], BLOOM_BITS);
}

Test(bloom, full_filter_matches_everything)
{
	struct bloom b;
	uint8_t key[32] = {0x55};

	memset(&b, 0xff, sizeof(b));
	cr_assert(bloom_test_key(&b, key));
	cr_assert_not(bloom_is_empty(&b));
	bloom_clear(&b);
	cr_assert_not(bloom_test_key(&b, key));
}
