/*
 * poly: Poly1305 (see poly.h).
 *
 * Arithmetic modulo p = 2^130 - 5. The accumulator h and the clamped key half r are kept in
 * three limbs of 44, 44 and 42 bits (bit positions 0, 44, 88); a product term that lands at
 * 2^132 or above is folded back times 20 (2^132 = 4 * 2^130, 2^130 = 5 mod p). Limbs may run a
 * few bits over their width between blocks; the 128-bit products have room for it, and
 * finish() carries fully and subtracts p once (by mask) before adding the pad s.
 *
 * The eight-lane code keeps eight accumulators in 26-bit limbs (five __m512i of eight 64-bit
 * lanes): lane l takes every eighth block of the message, H = H * r^8 + M per 128 bytes; at the
 * end each lane is multiplied by the power of r its last block still lacks and the lanes are
 * summed into h. The two 64-byte loads of a group leave the blocks in lane order 0 4 1 5 2 6 3 7
 * (unpacking within 128-bit lanes), hence the order of the final powers.
 */
#include "crypto/poly.h"

#include <endian.h>
#include <string.h>

#include <sodium.h>

#ifdef __SIZEOF_INT128__ /* the scalar code needs 128-bit products; without them, libsodium */
#define POLY_OURS 1
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POLY_WIDE 1
#include <immintrin.h>
#endif
#endif

#ifdef POLY_OURS
__extension__ typedef unsigned __int128 u128;

enum { BLOCK = 16 };

#define M44 ((uint64_t)0xfffffffffff)
#define M42 ((uint64_t)0x3ffffffffff)

struct poly {
	uint64_t r[3], s1, s2; /* s1 = 20 r1, s2 = 20 r2 */
	uint64_t h[3];
	uint64_t pad[2];
};

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static void poly_init(struct poly *st, const uint8_t key[static POLY_KEY_LEN])
{
	uint64_t t0 = le64(key) & 0x0ffffffc0fffffffULL, t1 = le64(key + 8) & 0x0ffffffc0ffffffcULL;

	st->r[0] = t0 & M44;
	st->r[1] = (t0 >> 44 | t1 << 20) & M44;
	st->r[2] = t1 >> 24;
	st->s1 = st->r[1] * 20;
	st->s2 = st->r[2] * 20;
	st->h[0] = st->h[1] = st->h[2] = 0;
	st->pad[0] = le64(key + 16);
	st->pad[1] = le64(key + 24);
}

/* One carry pass: limbs 0 and 1 to 44 bits, limb 2 to 42, its overflow times 5 into limb 0. */
static void carry(uint64_t h[3])
{
	uint64_t c;

	c = h[0] >> 44;
	h[0] &= M44;
	h[1] += c;
	c = h[1] >> 44;
	h[1] &= M44;
	h[2] += c;
	c = h[2] >> 42;
	h[2] &= M42;
	h[0] += c * 5;
}

/* h = h * r, carried back to about 44/44/42 bits. */
static void mul_r(uint64_t h[3], const struct poly *st)
{
	const uint64_t *r = st->r;
	u128 d0 = (u128)h[0] * r[0] + (u128)h[1] * st->s2 + (u128)h[2] * st->s1;
	u128 d1 = (u128)h[0] * r[1] + (u128)h[1] * r[0] + (u128)h[2] * st->s2;
	u128 d2 = (u128)h[0] * r[2] + (u128)h[1] * r[1] + (u128)h[2] * r[0];
	uint64_t c;

	c = (uint64_t)(d0 >> 44);
	h[0] = (uint64_t)d0 & M44;
	d1 += c;
	c = (uint64_t)(d1 >> 44);
	h[1] = (uint64_t)d1 & M44;
	d2 += c;
	c = (uint64_t)(d2 >> 42);
	h[2] = (uint64_t)d2 & M42;
	h[0] += c * 5;
	c = h[0] >> 44;
	h[0] &= M44;
	h[1] += c;
}

/* h = (h + the 16 bytes at b + hibit) * r. */
static void block(struct poly *st, const uint8_t b[static BLOCK], uint64_t hibit)
{
	uint64_t t0 = le64(b), t1 = le64(b + 8);

	st->h[0] += t0 & M44;
	st->h[1] += (t0 >> 44 | t1 << 20) & M44;
	st->h[2] += (t1 >> 24) | hibit;
	mul_r(st->h, st);
}

/* Whole 16-byte blocks (hibit 2^128, at bit 40 of limb 2). */
static void blocks(struct poly *st, const uint8_t *m, size_t n)
{
	for (; n >= BLOCK; m += BLOCK, n -= BLOCK)
		block(st, m, (uint64_t)1 << 40);
}

/* The last, short block: its bytes, then 1, then zeros (no hibit). */
static void tail(struct poly *st, const uint8_t *m, size_t n)
{
	uint8_t b[BLOCK] = {0};

	memcpy(b, m, n);
	b[n] = 1;
	block(st, b, 0);
	sodium_memzero(b, sizeof(b));
}

/* h fully reduced: carried to exact 44/44/42-bit limbs, then minus p if h >= p (by mask). */
static void reduce_full(uint64_t h[3])
{
	uint64_t c, g0, g1, g2, mask;

	carry(h);
	carry(h);
	c = h[0] >> 44;
	h[0] &= M44;
	h[1] += c;
	c = h[1] >> 44;
	h[1] &= M44;
	h[2] += c; /* now h < 2^130 + small, exact limbs but for h2's top */
	g0 = h[0] + 5;
	c = g0 >> 44;
	g0 &= M44;
	g1 = h[1] + c;
	c = g1 >> 44;
	g1 &= M44;
	g2 = h[2] + c - ((uint64_t)1 << 42);
	mask = (g2 >> 63) - 1; /* all ones when h + 5 - 2^130 did not borrow: h >= p */
	h[0] = (h[0] & ~mask) | (g0 & mask);
	h[1] = (h[1] & ~mask) | (g1 & mask);
	h[2] = (h[2] & ~mask) | (g2 & mask & M42);
}

static void finish(struct poly *st, uint8_t tag[static POLY_TAG_LEN])
{
	uint64_t *h = st->h, c, t0 = st->pad[0], t1 = st->pad[1];

	reduce_full(h);
	h[0] += t0 & M44;
	c = h[0] >> 44;
	h[0] &= M44;
	h[1] += ((t0 >> 44 | t1 << 20) & M44) + c;
	c = h[1] >> 44;
	h[1] &= M44;
	h[2] = (h[2] + (t1 >> 24) + c) & M42;
	put_le64(tag, h[0] | h[1] << 44);
	put_le64(tag + 8, h[1] >> 20 | h[2] << 24);
}

#ifdef POLY_WIDE

#define M26 ((uint64_t)0x3ffffff)

/* A value in exact 44-bit limbs (h0, h1 < 2^44) as five 26-bit limbs (the last unmasked). */
static void to26(uint32_t l[5], const uint64_t h[3])
{
	l[0] = (uint32_t)(h[0] & M26);
	l[1] = (uint32_t)((h[0] >> 26 | h[1] << 18) & M26);
	l[2] = (uint32_t)((h[1] >> 8) & M26);
	l[3] = (uint32_t)((h[1] >> 34 | h[2] << 10) & M26);
	l[4] = (uint32_t)(h[2] >> 16);
}

#define WIDE __attribute__((target("avx512f")))

/* H = H * R (S = 5 R), lane by lane, carried back to about 26 bits per limb. */
WIDE static inline void vmul(__m512i h[5], const __m512i r[5], const __m512i s[5])
{
	const __m512i m26 = _mm512_set1_epi64((long long)M26);
	__m512i d[5], c;

#define P(a, b) _mm512_mul_epu32((a), (b))
	d[0] = P(h[0], r[0]) + P(h[1], s[4]) + P(h[2], s[3]) + P(h[3], s[2]) + P(h[4], s[1]);
	d[1] = P(h[0], r[1]) + P(h[1], r[0]) + P(h[2], s[4]) + P(h[3], s[3]) + P(h[4], s[2]);
	d[2] = P(h[0], r[2]) + P(h[1], r[1]) + P(h[2], r[0]) + P(h[3], s[4]) + P(h[4], s[3]);
	d[3] = P(h[0], r[3]) + P(h[1], r[2]) + P(h[2], r[1]) + P(h[3], r[0]) + P(h[4], s[4]);
	d[4] = P(h[0], r[4]) + P(h[1], r[3]) + P(h[2], r[2]) + P(h[3], r[1]) + P(h[4], r[0]);
#undef P
#define CARRY(i, j)                                                                                \
	do {                                                                                       \
		c = _mm512_srli_epi64(d[i], 26);                                                   \
		d[i] = _mm512_and_si512(d[i], m26);                                                \
		d[j] = _mm512_add_epi64(d[j], c);                                                  \
	} while (0)
	CARRY(0, 1);
	CARRY(3, 4);
	CARRY(1, 2);
	c = _mm512_srli_epi64(d[4], 26); /* 2^130 = 5: into limb 0 times 5 */
	d[4] = _mm512_and_si512(d[4], m26);
	d[0] = _mm512_add_epi64(d[0], _mm512_add_epi64(c, _mm512_slli_epi64(c, 2)));
	CARRY(2, 3);
	CARRY(0, 1);
	CARRY(3, 4);
#undef CARRY
	for (int i = 0; i < 5; i++)
		h[i] = d[i];
}

/* H += the eight blocks at m (lanes in block order 0 4 1 5 2 6 3 7), hibit set. */
WIDE static inline void vadd_blocks(__m512i h[5], const uint8_t *m)
{
	const __m512i m26 = _mm512_set1_epi64((long long)M26);
	__m512i a = _mm512_loadu_si512(m), b = _mm512_loadu_si512(m + 64);
	__m512i t0 = _mm512_unpacklo_epi64(a, b), t1 = _mm512_unpackhi_epi64(a, b);

	h[0] += _mm512_and_si512(t0, m26);
	h[1] += _mm512_and_si512(_mm512_srli_epi64(t0, 26), m26);
	h[2] += _mm512_and_si512(
	    _mm512_or_si512(_mm512_srli_epi64(t0, 52), _mm512_slli_epi64(t1, 12)), m26);
	h[3] += _mm512_and_si512(_mm512_srli_epi64(t1, 14), m26);
	h[4] += _mm512_or_si512(_mm512_srli_epi64(t1, 40), _mm512_set1_epi64(1 << 24));
}

/*
 * The first groups * 128 bytes of a message, h = 0 before them (groups >= 1); h after them,
 * in 44-bit limbs a little over their width.
 */
WIDE static void wide(struct poly *st, const uint8_t *m, size_t groups)
{
	uint64_t pw[9][3];
	uint32_t l[9][5];
	__m512i h[5], r8[5], s8[5], rf[5], sf[5];
	uint64_t s[5];

	/* r^1 .. r^8 in exact 44-bit limbs (h2 may reach 2^42: one 26-bit limb just over) */
	memcpy(pw[1], st->r, sizeof(pw[1]));
	for (int k = 2; k <= 8; k++) {
		memcpy(pw[k], pw[k - 1], sizeof(pw[k]));
		mul_r(pw[k], st);
		pw[k][2] += pw[k][1] >> 44;
		pw[k][1] &= M44;
	}
	for (int k = 1; k <= 8; k++)
		to26(l[k], pw[k]);
	for (int i = 0; i < 5; i++) {
		r8[i] = _mm512_set1_epi64(l[8][i]);
		rf[i] = _mm512_set_epi64(l[1][i], l[5][i], l[2][i], l[6][i], l[3][i], l[7][i],
					 l[4][i], l[8][i]);
		s8[i] = r8[i] + _mm512_slli_epi64(r8[i], 2);
		sf[i] = rf[i] + _mm512_slli_epi64(rf[i], 2);
		h[i] = _mm512_setzero_si512();
	}
	vadd_blocks(h, m);
	for (m += 128, groups--; groups; m += 128, groups--) {
		vmul(h, r8, s8);
		vadd_blocks(h, m);
	}
	vmul(h, rf, sf);
	for (int i = 0; i < 5; i++)
		s[i] = (uint64_t)_mm512_reduce_add_epi64(h[i]);
	/* the sum (limbs under 2^30) back to 44-bit limbs, carried once */
	st->h[0] = s[0] + ((s[1] & 0x3ffff) << 26);
	st->h[1] = (s[1] >> 18) + (s[2] << 8) + ((s[3] & 0x3ff) << 34);
	st->h[2] = (s[3] >> 10) + (s[4] << 16);
	carry(st->h);
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(l, sizeof(l));
}

static bool have_avx512f(void)
{
	return __builtin_cpu_supports("avx512f"); /* libgcc read CPUID once at start-up */
}

#else
static bool have_avx512f(void)
{
	return false;
}
#endif /* POLY_WIDE */

static void mac_ours(uint8_t tag[static POLY_TAG_LEN], const uint8_t *m, size_t len,
		     const uint8_t key[static POLY_KEY_LEN], bool is_wide)
{
	struct poly st;

	poly_init(&st, key);
#ifdef POLY_WIDE
	if (is_wide && len >= 128) {
		size_t groups = len / 128;

		wide(&st, m, groups);
		m += groups * 128;
		len -= groups * 128;
	}
#else
	(void)is_wide;
#endif
	blocks(&st, m, len);
	if (len % BLOCK)
		tail(&st, m + (len & ~(size_t)(BLOCK - 1)), len % BLOCK);
	finish(&st, tag);
	sodium_memzero(&st, sizeof(st));
}

#endif /* POLY_OURS */

bool poly_mac_impl(enum poly_impl impl, uint8_t tag[static POLY_TAG_LEN], const uint8_t *m,
		   size_t len, const uint8_t key[static POLY_KEY_LEN])
{
	switch (impl) {
	case POLY_IMPL_SODIUM:
		crypto_onetimeauth_poly1305(tag, m, len, key);
		return true;
#ifdef POLY_OURS
	case POLY_IMPL_SCALAR:
		mac_ours(tag, m, len, key, false);
		return true;
	case POLY_IMPL_AVX512:
		if (!have_avx512f())
			return false;
		mac_ours(tag, m, len, key, true);
		return true;
#else
	case POLY_IMPL_SCALAR:
	case POLY_IMPL_AVX512:
		return false;
#endif
	}
	return false;
}

void poly_mac(uint8_t tag[static POLY_TAG_LEN], const uint8_t *m, size_t len,
	      const uint8_t key[static POLY_KEY_LEN])
{
#ifdef POLY_OURS
	if (len >= POLY_WIDE_MIN && have_avx512f()) {
		mac_ours(tag, m, len, key, true);
		return;
	}
#endif
	crypto_onetimeauth_poly1305(tag, m, len, key);
}

bool poly_verify(const uint8_t tag[static POLY_TAG_LEN], const uint8_t *m, size_t len,
		 const uint8_t key[static POLY_KEY_LEN])
{
	uint8_t want[POLY_TAG_LEN];
	bool ok;

	poly_mac(want, m, len, key);
	ok = crypto_verify_16(want, tag) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}
