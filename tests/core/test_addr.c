/*
 * Tests for core/addr (spec yggdrasil-sessions-core-admin.md §4): every row of the vectors the
 * real yggdrasil 0.5.12 produced (addr-vectors.tsv) and of refimpl.py's derived values
 * (derived-vectors.tsv), edge keys past 143 leading zero bits, and a bit-by-bit reference over
 * pseudo-random keys. Expected addresses are parsed with libc inet_pton, not with our lib/inet.
 */
#include "core/addr.h"
#include "support/hex.h"
#include "support/rng.h"
#include "support/tsv.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

/* Loads a vector file or fails the test. */
static void tsv_load(struct tsv *t, const char *path)
{
	cr_assert(ts_tsv_load(t, path), "cannot read %s (or more than %d rows)", path,
		  TSV_MAX_ROWS);
}

static void unhex_exact(const char *hex, uint8_t *out, size_t n)
{
	cr_assert_eq(th_unhex(hex, out, n), (long)n, "bad hex vector %s", hex);
}

/* Asserts a == b, printing both in hex. */
static void assert_bytes(const uint8_t *a, const uint8_t *b, size_t n, const char *what, int row)
{
	char ha[2 * 32 + 1], hb[2 * 32 + 1];

	cr_assert_leq(n, 32);
	th_hex(a, n, ha);
	th_hex(b, n, hb);
	cr_assert_eq(memcmp(a, b, n), 0, "row %d %s: got %s, want %s", row, what, ha, hb);
}

/* Test(addr, …): address and subnet of every key the real binary printed. */
Test(addr, vectors_address_and_subnet)
{
	struct tsv t;

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	cr_assert_eq(t.nrows, 16, "expected the 16 keys of spec §4.4");
	for (int i = 0; i < t.nrows; i++) {
		uint8_t pub[32], want[16], got[16], wsub[16], gsub[8];
		char snet[64], *slash;

		cr_assert_geq(t.ncols[i], 4);
		unhex_exact(t.rows[i][1], pub, sizeof(pub));
		cr_assert_eq(inet_pton(AF_INET6, t.rows[i][2], want), 1, "row %d", i);
		addr_from_key(pub, got);
		assert_bytes(got, want, 16, "address", i);
		cr_assert(addr_is_valid(got), "row %d", i);
		cr_assert_not(addr_is_valid_subnet(got), "row %d", i);

		/* "3xx:…::/64": parse the prefix part; bytes 8..15 must be zero. */
		snprintf(snet, sizeof(snet), "%s", t.rows[i][3]);
		slash = strchr(snet, '/');
		cr_assert_not_null(slash, "row %d", i);
		cr_assert_str_eq(slash, "/64", "row %d", i);
		*slash = '\0';
		cr_assert_eq(inet_pton(AF_INET6, snet, wsub), 1, "row %d", i);
		addr_subnet_from_key(pub, gsub);
		assert_bytes(gsub, wsub, 8, "subnet", i);
		for (int j = 8; j < 16; j++)
			cr_assert_eq(wsub[j], 0, "row %d", i);
		cr_assert(addr_is_valid_subnet(gsub), "row %d", i);
		cr_assert_not(addr_is_valid(wsub), "row %d", i);
		/* §4.2: subnet = address bytes 1..7 under a 0x03 first byte. */
		assert_bytes(gsub + 1, got + 1, 7, "subnet body", i);
	}
	ts_tsv_free(&t);
}

/* Partial key, mask and xKey from refimpl.py for every key (§4.3). */
Test(addr, vectors_partial_key_mask_xkey)
{
	struct tsv t;

	tsv_load(&t, VECTORS "derived-vectors.tsv");
	cr_assert_eq(t.nrows, 16);
	for (int i = 0; i < t.nrows; i++) {
		uint8_t pub[32], wkey[32], wmask[32], wx[32];
		uint8_t a[16], s[8], s16[16] = {0}, key[32], mask[32], x[32], k2[32], m2[32];

		cr_assert_geq(t.ncols[i], 4);
		unhex_exact(t.rows[i][0], pub, 32);
		unhex_exact(t.rows[i][1], wkey, 32);
		unhex_exact(t.rows[i][2], wmask, 32);
		unhex_exact(t.rows[i][3], wx, 32);

		addr_from_key(pub, a);
		addr_partial_key(a, sizeof(a), key, mask);
		assert_bytes(key, wkey, 32, "partial key", i);
		assert_bytes(mask, wmask, 32, "mask", i);
		cr_assert(addr_key_matches(key, mask, pub), "row %d", i);

		addr_xkey(pub, x);
		assert_bytes(x, wx, 32, "xKey", i);

		/* xKey is the partial key of the 8-byte subnet ... */
		addr_subnet_from_key(pub, s);
		addr_partial_key(s, sizeof(s), k2, m2);
		assert_bytes(k2, wx, 32, "partial key of subnet", i);
		cr_assert(addr_key_matches(k2, m2, pub), "row %d", i);
		/* ... and of the subnet written as 16 bytes with a zero tail (§4.3). */
		memcpy(s16, s, sizeof(s));
		addr_partial_key(s16, sizeof(s16), k2, m2);
		assert_bytes(k2, wx, 32, "partial key of 16-byte subnet", i);
	}
	ts_tsv_free(&t);
}

/* Flipping any known bit breaks the match; flipping an unknown bit does not. */
Test(addr, key_matches_respects_mask)
{
	struct tsv t;

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	for (int i = 0; i < t.nrows; i++) {
		uint8_t pub[32], a[16], key[32], mask[32];

		unhex_exact(t.rows[i][1], pub, 32);
		addr_from_key(pub, a);
		addr_partial_key(a, sizeof(a), key, mask);
		for (int bit = 0; bit < 256; bit++) {
			uint8_t k2[32];
			bool known = mask[bit / 8] & (0x80 >> (bit % 8));

			memcpy(k2, pub, 32);
			k2[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			cr_assert_eq(addr_key_matches(key, mask, k2), !known, "row %d bit %d", i,
				     bit);
		}
	}
	ts_tsv_free(&t);
}

/*
 * Keys with many leading zero bits, where fewer than 14 body bytes exist (§4.1 step 4), and the
 * all-zero key whose count 256 wraps to 0. Keys, addresses, subnets, partial keys and xKeys were
 * computed with vectors-core/refimpl.py; masks count only the body bits that carry key bits
 * (addr.h). The all-zero key cannot be recovered from its address (ones wraps to 0).
 */
static const struct edge {
	const char *name, *key, *addr, *subnet, *partial, *mask, *xkey;
	bool matches;
} edges[] = {
	{ "all-zero",
	  "0000000000000000000000000000000000000000000000000000000000000000",
	  "02000000000000000000000000000000", "0300000000000000",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "ffffffffffffffffffffffffffff800000000000000000000000000000000000",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", false },
	{ "all-ff",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "02000000000000000000000000000000", "0300000000000000",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "ffffffffffffffffffffffffffff800000000000000000000000000000000000",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", true },
	{ "143 zero bits",
	  "000000000000000000000000000000000001a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
	  "028f5a5a5a5a5a5a5a5a5a5a5a5a5a5a", "038f5a5a5a5a5a5a",
	  "000000000000000000000000000000000001a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "000000000000000000000000000000000001a5a5a5a5a5a5ffffffffffffffff", true },
	{ "144 zero bits",
	  "000000000000000000000000000000000000d2d2d2d2d2d2d2d2d2d2d2d2d2d2",
	  "02905a5a5a5a5a5a5a5a5a5a5a5a5a00", "03905a5a5a5a5a5a",
	  "000000000000000000000000000000000000d2d2d2d2d2d2d2d2d2d2d2d2d2ff",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80",
	  "000000000000000000000000000000000000d2d2d2d2d2d2ffffffffffffffff", true },
	{ "150 zero bits",
	  "000000000000000000000000000000000000034b4b4b4b4b4b4b4b4b4b4b4b4b",
	  "02965a5a5a5a5a5a5a5a5a5a5a5a5a00", "03965a5a5a5a5a5a",
	  "000000000000000000000000000000000000034b4b4b4b4b4b4b4b4b4b4b4b4b",
	  "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe",
	  "000000000000000000000000000000000000034b4b4b4b4b4bffffffffffffff", true },
	{ "200 zero bits",
	  "00000000000000000000000000000000000000000000000000d2d2d2d2d2d2d2",
	  "02c85a5a5a5a5a5a0000000000000000", "03c85a5a5a5a5a5a",
	  "00000000000000000000000000000000000000000000000000d2d2d2d2d2d2ff",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80",
	  "00000000000000000000000000000000000000000000000000d2d2d2d2d2d2ff", true },
	{ "207 zero bits",
	  "0000000000000000000000000000000000000000000000000001a5a5a5a5a5a5",
	  "02cf5a5a5a5a5a5a0000000000000000", "03cf5a5a5a5a5a5a",
	  "0000000000000000000000000000000000000000000000000001a5a5a5a5a5a5",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "0000000000000000000000000000000000000000000000000001a5a5a5a5a5a5", true },
	{ "208 zero bits",
	  "0000000000000000000000000000000000000000000000000000d2d2d2d2d2d2",
	  "02d05a5a5a5a5a000000000000000000", "03d05a5a5a5a5a00",
	  "0000000000000000000000000000000000000000000000000000d2d2d2d2d2ff",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80",
	  "0000000000000000000000000000000000000000000000000000d2d2d2d2d2ff", true },
	{ "255 zero bits",
	  "0000000000000000000000000000000000000000000000000000000000000001",
	  "02ff0000000000000000000000000000", "03ff000000000000",
	  "0000000000000000000000000000000000000000000000000000000000000001",
	  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "0000000000000000000000000000000000000000000000000000000000000001", true },
};

Test(addr, edge_keys)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		const struct edge *e = &edges[i];
		uint8_t key[32], wa[16], ws[8], wp[32], wm[32], wx[32];
		uint8_t a[16], s[8], p[32], m[32], x[32];

		cr_log_info("edge key: %s", e->name);
		unhex_exact(e->key, key, 32);
		unhex_exact(e->addr, wa, 16);
		unhex_exact(e->subnet, ws, 8);
		unhex_exact(e->partial, wp, 32);
		unhex_exact(e->mask, wm, 32);
		unhex_exact(e->xkey, wx, 32);

		addr_from_key(key, a);
		assert_bytes(a, wa, 16, e->name, (int)i);
		addr_subnet_from_key(key, s);
		assert_bytes(s, ws, 8, e->name, (int)i);
		addr_partial_key(a, sizeof(a), p, m);
		assert_bytes(p, wp, 32, e->name, (int)i);
		assert_bytes(m, wm, 32, e->name, (int)i);
		addr_xkey(key, x);
		assert_bytes(x, wx, 32, e->name, (int)i);
		cr_assert_eq(addr_key_matches(p, m, key), e->matches, "%s", e->name);
	}
}

/*
 * Bit-by-bit reference of §4.1 and §4.3, written independently of addr.c's byte shifting, for
 * pseudo-random keys with every leading-zero count 0..256.
 */
static int bit_of(const uint8_t *b, unsigned i)
{
	return b[i / 8] >> (7 - i % 8) & 1;
}

static void set_bit(uint8_t *b, unsigned i, int v)
{
	if (v)
		b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	else
		b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static void ref_addr(const uint8_t key[32], uint8_t out[16])
{
	unsigned ones = 0, o = 16;

	while (ones < 256 && !bit_of(key, ones))
		ones++;
	memset(out, 0, 16);
	out[0] = 0x02;
	out[1] = (uint8_t)ones;
	for (unsigned i = ones + 1; i < 256 && o < 128; i++, o++)
		set_bit(out, o, !bit_of(key, i));
	/* Only whole bytes are kept: clear a partial trailing byte. */
	while (o % 8)
		set_bit(out, --o, 0);
}

static void ref_partial(const uint8_t *a, size_t len, uint8_t key[32])
{
	unsigned ones = a[1], k = 0;

	memset(key, 0, 32);
	for (; k < ones; k++)
		set_bit(key, k, 1);
	k++; /* the 0 bit */
	for (unsigned i = 16; i < 8 * len && k < 256; i++, k++)
		set_bit(key, k, bit_of(a, i));
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)~key[i];
}

Test(addr, random_keys_against_bitwise_reference)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (unsigned lz = 0; lz <= 256; lz++) {
		for (int rep = 0; rep < 8; rep++) {
			uint8_t key[32], a[16], ra[16], s[8], p[32], m[32], rp[32], x[32], rx[32];
			unsigned known = 0;

			for (int i = 0; i < 32; i++)
				key[i] = (uint8_t)th_xorshift64(&seed);
			for (unsigned b = 0; b < lz; b++)
				set_bit(key, b, 0);
			if (lz < 256)
				set_bit(key, lz, 1);

			addr_from_key(key, a);
			ref_addr(key, ra);
			cr_assert_eq(memcmp(a, ra, 16), 0, "address, %u leading zeros", lz);

			addr_partial_key(a, sizeof(a), p, m);
			ref_partial(a, sizeof(a), rp);
			cr_assert_eq(memcmp(p, rp, 32), 0, "partial key, %u leading zeros", lz);
			/* The mask is a prefix of ones that covers at least the ones and 0 bit. */
			while (known < 256 && bit_of(m, known))
				known++;
			for (unsigned b = known; b < 256; b++)
				cr_assert_eq(bit_of(m, b), 0, "mask not a prefix, %u zeros", lz);
			cr_assert_geq(known, (lz & 255) + 1);
			cr_assert_eq(addr_key_matches(p, m, key), lz != 256, "%u leading zeros",
				     lz);

			addr_subnet_from_key(key, s);
			ref_partial(s, sizeof(s), rx);
			addr_xkey(key, x);
			cr_assert_eq(memcmp(x, rx, 32), 0, "xKey, %u leading zeros", lz);
		}
	}
}

Test(addr, validity_predicates)
{
	uint8_t a[16] = {0x02}, s[8] = {0x03};

	cr_assert(addr_is_valid(a));
	cr_assert(addr_is_valid_subnet(s));
	a[0] = 0x03;
	s[0] = 0x02;
	cr_assert_not(addr_is_valid(a));
	cr_assert_not(addr_is_valid_subnet(s));
	a[0] = 0x00;
	s[0] = 0x00;
	cr_assert_not(addr_is_valid(a));
	cr_assert_not(addr_is_valid_subnet(s));
	a[0] = 0xfe;
	cr_assert_not(addr_is_valid(a));
}
