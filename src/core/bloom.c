/*
 * bloom: ironwood's bloom filters of reachable keys (see bloom.h), bit-exact with
 * bits-and-blooms/bloom v3.7.0 as yggdrasil-go 0.5.12 uses it (spec
 * yggdrasil-link-routing.md §6.1, §6.2; §13 item 1 lists the traps).
 *
 * Owns nothing: struct bloom is a plain value (128 words, no pointers) that callers embed. No
 * allocation, no clock, no I/O. Timers: none.
 *
 * Invariants:
 * - Filter bit b lives in bit (b % 64), LSB first, of w[b / 64]; bloom_locations() returns only
 *   values below BLOOM_BITS, so every index is in range.
 * - MurmurHash3 reads input as little-endian 64-bit lanes assembled byte by byte, so the result
 *   is the same on any host byte order and unaligned input is fine.
 * - Keys are public: nothing here is secret.
 */
#include "core/bloom.h"

#include <string.h>

_Static_assert(BLOOM_WORDS * 64 == BLOOM_BITS, "filter size");
_Static_assert((BLOOM_BITS & (BLOOM_BITS - 1)) == 0, "locations are reduced with a mask");

enum { KEY_LEN = 32, KEY_BITS = 8 * KEY_LEN };

/* ---- MurmurHash3_x64_128 (Austin Appleby's public-domain algorithm, seed 0), §6.1 ---- */

static const uint64_t c1 = 0x87c37b91114253d5ULL;
static const uint64_t c2 = 0x4cf5ad432745937fULL;

static uint64_t rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* n (0..8) bytes at p as a little-endian integer. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static uint64_t mix_k1(uint64_t k1)
{
	k1 *= c1;
	k1 = rotl64(k1, 31);
	return k1 * c2;
}

static uint64_t mix_k2(uint64_t k2)
{
	k2 *= c2;
	k2 = rotl64(k2, 33);
	return k2 * c1;
}

void bloom_murmur3(const uint8_t *data, size_t len, uint64_t out[2])
{
	size_t nblocks = len / 16, rest = len % 16;
	const uint8_t *tail = data + 16 * nblocks;
	uint64_t h1 = 0, h2 = 0;

	for (size_t i = 0; i < nblocks; i++) {
		const uint8_t *b = data + 16 * i;

		h1 ^= mix_k1(load_le(b, 8));
		h1 = rotl64(h1, 27);
		h1 += h2;
		h1 = h1 * 5 + 0x52dce729;
		h2 ^= mix_k2(load_le(b + 8, 8));
		h2 = rotl64(h2, 31);
		h2 += h1;
		h2 = h2 * 5 + 0x38495ab5;
	}
	/* Tail: bytes 8..15 go to k2, bytes 0..7 to k1, both little-endian. */
	if (rest > 8)
		h2 ^= mix_k2(load_le(tail + 8, rest - 8));
	if (rest > 0)
		h1 ^= mix_k1(load_le(tail, rest > 8 ? 8 : rest));

	h1 ^= (uint64_t)len;
	h2 ^= (uint64_t)len;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	h2 += h1;
	out[0] = h1;
	out[1] = h2;
}

/* ---- locations (bits-and-blooms baseHashes + location), §6.1 ---- */

void bloom_locations(const uint8_t x[static 32], unsigned loc[static BLOOM_HASHES])
{
	uint8_t buf[KEY_LEN + 1];
	uint64_t h[4];

	/* h2, h3 hash the value with one 0x01 byte appended (the library's second digest). */
	memcpy(buf, x, KEY_LEN);
	buf[KEY_LEN] = 0x01;
	bloom_murmur3(buf, KEY_LEN, h);
	bloom_murmur3(buf, sizeof(buf), h + 2);
	for (unsigned i = 0; i < BLOOM_HASHES; i++) {
		/* j alternates 2,3,3,2 for i = 0..3 and repeats: the library's odd pattern. */
		unsigned j = 2 + ((i + i % 2) % 4) / 2;
		uint64_t v = h[i % 2] + (uint64_t)i * h[j]; /* mod 2^64 by unsigned wrap-around */

		loc[i] = (unsigned)(v & (BLOOM_BITS - 1));
	}
}

/* ---- yggdrasil's key transform, §6.2 ---- */

static unsigned leading_zeros(const uint8_t key[static 32])
{
	unsigned z = 0;

	for (size_t i = 0; i < KEY_LEN; i++) {
		if (key[i] == 0) {
			z += 8;
			continue;
		}
		for (uint8_t b = key[i]; !(b & 0x80); b = (uint8_t)(b << 1))
			z++;
		break;
	}
	return z;
}

/*
 * xform(key) = SubnetForKey(key).GetKey(): the /64 subnet keeps the z leading zeros (as a count
 * in one byte), the 1 bit after them and the next 6 whole bytes of the key, so z + 1 + 48 bits
 * survive and everything after them reads back as 1 (§6.2). Two edges follow Go's byte
 * arithmetic rather than the spec's min(): past 207 leading zeros fewer than 6 whole bytes are
 * left, and only whole bytes are kept; the all-zero key (z = 256) wraps its count to 0 and
 * comes back as all ones. No real key gets near either edge; addr_xkey() agrees on both.
 */
void bloom_xform(const uint8_t key[static 32], uint8_t out[static 32])
{
	unsigned z = leading_zeros(key), body, kept;

	if (z == KEY_BITS) {
		memset(out, 0xff, KEY_LEN);
		return;
	}
	body = (KEY_BITS - 1 - z) / 8; /* whole bytes after the 1 bit */
	if (body > 6)
		body = 6;
	kept = z + 1 + 8 * body;
	for (unsigned i = 0; i < KEY_LEN; i++) {
		unsigned bits = kept > 8 * i ? kept - 8 * i : 0; /* bits of byte i to keep */

		if (bits >= 8)
			out[i] = key[i];
		else
			out[i] = (uint8_t)(key[i] | 0xff >> bits); /* low 8 - bits bits set */
	}
}

/* ---- filter operations ---- */

void bloom_clear(struct bloom *b)
{
	memset(b, 0, sizeof(*b));
}

void bloom_add(struct bloom *b, const uint8_t x[static 32])
{
	unsigned loc[BLOOM_HASHES];

	bloom_locations(x, loc);
	for (unsigned i = 0; i < BLOOM_HASHES; i++)
		b->w[loc[i] / 64] |= (uint64_t)1 << (loc[i] % 64);
}

bool bloom_test(const struct bloom *b, const uint8_t x[static 32])
{
	unsigned loc[BLOOM_HASHES];

	bloom_locations(x, loc);
	for (unsigned i = 0; i < BLOOM_HASHES; i++) {
		if (!(b->w[loc[i] / 64] >> (loc[i] % 64) & 1))
			return false;
	}
	return true;
}

void bloom_add_key(struct bloom *b, const uint8_t key[static 32])
{
	uint8_t x[KEY_LEN];

	bloom_xform(key, x);
	bloom_add(b, x);
}

bool bloom_test_key(const struct bloom *b, const uint8_t key[static 32])
{
	uint8_t x[KEY_LEN];

	bloom_xform(key, x);
	return bloom_test(b, x);
}

void bloom_merge(struct bloom *dst, const struct bloom *src)
{
	for (unsigned i = 0; i < BLOOM_WORDS; i++)
		dst->w[i] |= src->w[i];
}

bool bloom_equal(const struct bloom *a, const struct bloom *b)
{
	return memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

bool bloom_is_empty(const struct bloom *b)
{
	for (unsigned i = 0; i < BLOOM_WORDS; i++) {
		if (b->w[i])
			return false;
	}
	return true;
}
