/*
 * salsa: Salsa20/20 four blocks wide (see salsa.h).
 *
 * State words (Salsa20 specification, D. J. Bernstein): 0, 5, 10, 15 the constant
 * "expand 32-byte k"; 1-4 and 11-14 the key; 6, 7 the nonce; 8, 9 the 64-bit block counter, all
 * little-endian. Vector x[i] holds word i of four consecutive blocks, block ic + j in lane j, so
 * a round is the scalar round done on vectors, and the output is a 4x4 transpose per group of
 * four words. Owns no state; wipes its copies of the key before returning.
 */
#include "crypto/salsa.h"

#include <string.h>

#include <sodium.h>

#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define SALSA_VECTOR 1
#include <immintrin.h>
#endif

static void x4_sodium(uint8_t out[static SALSA_X4_LEN], const uint8_t n8[static 8], uint64_t ic,
		      const uint8_t key[static 32])
{
	memset(out, 0, SALSA_X4_LEN);
	crypto_stream_salsa20_xor_ic(out, out, SALSA_X4_LEN, n8, ic, key);
}

#ifdef SALSA_VECTOR

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline __m128i bcast(uint32_t w)
{
	return _mm_set1_epi32((int)w);
}

/* The state words every block shares: constant, key and nonce (8 and 9, the counter, are 0). */
static void words(uint32_t w[16], const uint8_t n8[8], const uint8_t key[32])
{
	w[0] = 0x61707865;  /* "expa" */
	w[5] = 0x3320646e;  /* "nd 3" */
	w[10] = 0x79622d32; /* "2-by" */
	w[15] = 0x6b206574; /* "te k" */
	for (int i = 0; i < 4; i++) {
		w[1 + i] = load_le32(key + 4 * i);
		w[11 + i] = load_le32(key + 16 + 4 * i);
	}
	w[6] = load_le32(n8);
	w[7] = load_le32(n8 + 4);
	w[8] = w[9] = 0;
}

/* Counter words 8 and 9 of blocks ic .. ic+n-1, one block per lane. */
static void counters(uint32_t lo[], uint32_t hi[], uint64_t ic, int n)
{
	for (int j = 0; j < n; j++) {
		uint64_t c = ic + (uint64_t)j; /* wraps as libsodium's counter does */

		lo[j] = (uint32_t)c;
		hi[j] = (uint32_t)(c >> 32);
	}
}

static inline void state(__m128i s[16], const uint8_t n8[8], uint64_t ic, const uint8_t key[32])
{
	uint32_t w[16], lo[4], hi[4];

	words(w, n8, key);
	for (int i = 0; i < 16; i++)
		s[i] = bcast(w[i]);
	counters(lo, hi, ic, 4);
	s[8] = _mm_loadu_si128((const __m128i *)(const void *)lo);
	s[9] = _mm_loadu_si128((const __m128i *)(const void *)hi);
	sodium_memzero(w, sizeof(w));
}

/* x += s, then block j's 16 words (lane j of x[0..15]) to out + 64 j. */
static inline void finish(uint8_t out[SALSA_X4_LEN], __m128i x[16], const __m128i s[16])
{
	for (int i = 0; i < 16; i++)
		x[i] = _mm_add_epi32(x[i], s[i]);
	for (int g = 0; g < 4; g++) {
		__m128i ab_lo = _mm_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
		__m128i cd_lo = _mm_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
		__m128i ab_hi = _mm_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
		__m128i cd_hi = _mm_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
		uint8_t *o = out + 16 * g;

		_mm_storeu_si128((__m128i *)(void *)(o + 0 * SALSA_BLOCK),
				 _mm_unpacklo_epi64(ab_lo, cd_lo));
		_mm_storeu_si128((__m128i *)(void *)(o + 1 * SALSA_BLOCK),
				 _mm_unpackhi_epi64(ab_lo, cd_lo));
		_mm_storeu_si128((__m128i *)(void *)(o + 2 * SALSA_BLOCK),
				 _mm_unpacklo_epi64(ab_hi, cd_hi));
		_mm_storeu_si128((__m128i *)(void *)(o + 3 * SALSA_BLOCK),
				 _mm_unpackhi_epi64(ab_hi, cd_hi));
	}
}

/* b ^= (a + d) <<< 7; c ^= (b + a) <<< 9; d ^= (c + b) <<< 13; a ^= (d + c) <<< 18. */
#define QUARTER(ADD, XOR, ROTL, a, b, c, d)                                                        \
	do {                                                                                       \
		(b) = XOR((b), ROTL(ADD((a), (d)), 7));                                            \
		(c) = XOR((c), ROTL(ADD((b), (a)), 9));                                            \
		(d) = XOR((d), ROTL(ADD((c), (b)), 13));                                           \
		(a) = XOR((a), ROTL(ADD((d), (c)), 18));                                           \
	} while (0)

/* Ten double rounds: a column round, then a row round. */
#define ROUNDS(ADD, XOR, ROTL, x)                                                                  \
	for (int r = 0; r < 10; r++) {                                                             \
		QUARTER(ADD, XOR, ROTL, x[0], x[4], x[8], x[12]);                                  \
		QUARTER(ADD, XOR, ROTL, x[5], x[9], x[13], x[1]);                                  \
		QUARTER(ADD, XOR, ROTL, x[10], x[14], x[2], x[6]);                                 \
		QUARTER(ADD, XOR, ROTL, x[15], x[3], x[7], x[11]);                                 \
		QUARTER(ADD, XOR, ROTL, x[0], x[1], x[2], x[3]);                                   \
		QUARTER(ADD, XOR, ROTL, x[5], x[6], x[7], x[4]);                                   \
		QUARTER(ADD, XOR, ROTL, x[10], x[11], x[8], x[9]);                                 \
		QUARTER(ADD, XOR, ROTL, x[15], x[12], x[13], x[14]);                               \
	}

#define ROTL_SSE2(v, n) _mm_or_si128(_mm_slli_epi32((v), (n)), _mm_srli_epi32((v), 32 - (n)))
#define ROTL_AVX512(v, n) _mm_rol_epi32((v), (n))

/* The keystream function for one rotate (and target): the same body for every instruction set. */
#define DEFINE_X4(name, ROTL, ATTR)                                                                \
	ATTR static void name(uint8_t out[static SALSA_X4_LEN], const uint8_t n8[static 8],        \
			      uint64_t ic, const uint8_t key[static 32])                           \
	{                                                                                          \
		__m128i s[16], x[16];                                                              \
                                                                                                   \
		state(s, n8, ic, key);                                                             \
		memcpy(x, s, sizeof(x));                                                           \
		ROUNDS(_mm_add_epi32, _mm_xor_si128, ROTL, x);                                     \
		finish(out, x, s);                                                                 \
		sodium_memzero(s, sizeof(s));                                                      \
		sodium_memzero(x, sizeof(x));                                                      \
	}

DEFINE_X4(x4_sse2, ROTL_SSE2, )
DEFINE_X4(x4_avx512vl, ROTL_AVX512, __attribute__((target("avx512f,avx512vl"))))

/*
 * Sixteen blocks at a time for long keystreams, XORed straight into the message: vector x[i]
 * holds word i of blocks ic .. ic+15 (512-bit AVX-512F, whose rotate is one instruction where
 * AVX2, libsodium's widest Salsa20, needs three). The unpacks work within each 128-bit lane, so
 * after them lane q of r[j] holds words 4g .. 4g+3 of block j + 4q.
 */
#define ADD512 _mm512_add_epi32
#define XOR512 _mm512_xor_si512
#define ROTL512(v, n) _mm512_rol_epi32((v), (n))

__attribute__((target("avx512f"))) static inline void xor16(uint8_t *m, __m128i v)
{
	__m128i *p = (__m128i *)(void *)m;

	_mm_storeu_si128(p, _mm_xor_si128(_mm_loadu_si128(p), v));
}

__attribute__((target("avx512f"))) static void x16_avx512_xor(uint8_t *m, size_t groups,
							      const uint8_t n8[static 8],
							      uint64_t ic,
							      const uint8_t key[static 32])
{
	uint32_t w[16];
	__m512i s[16], x[16];

	words(w, n8, key);
	for (int i = 0; i < 16; i++)
		s[i] = _mm512_set1_epi32((int)w[i]);
	sodium_memzero(w, sizeof(w));
	for (; groups; groups--, ic += 16, m += 16 * SALSA_BLOCK) {
		uint32_t lo[16], hi[16];

		counters(lo, hi, ic, 16);
		s[8] = _mm512_loadu_si512(lo);
		s[9] = _mm512_loadu_si512(hi);
		memcpy(x, s, sizeof(x));
		ROUNDS(ADD512, XOR512, ROTL512, x);
		for (int i = 0; i < 16; i++)
			x[i] = _mm512_add_epi32(x[i], s[i]);
		for (int g = 0; g < 4; g++) {
			__m512i ab_lo = _mm512_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
			__m512i cd_lo = _mm512_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
			__m512i ab_hi = _mm512_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
			__m512i cd_hi = _mm512_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
			__m512i r[4] = {
			    _mm512_unpacklo_epi64(ab_lo, cd_lo),
			    _mm512_unpackhi_epi64(ab_lo, cd_lo),
			    _mm512_unpacklo_epi64(ab_hi, cd_hi),
			    _mm512_unpackhi_epi64(ab_hi, cd_hi),
			};

			for (int j = 0; j < 4; j++) {
				uint8_t *o = m + SALSA_BLOCK * j + 16 * g;

				xor16(o, _mm512_extracti32x4_epi32(r[j], 0));
				xor16(o + 4 * SALSA_BLOCK, _mm512_extracti32x4_epi32(r[j], 1));
				xor16(o + 8 * SALSA_BLOCK, _mm512_extracti32x4_epi32(r[j], 2));
				xor16(o + 12 * SALSA_BLOCK, _mm512_extracti32x4_epi32(r[j], 3));
			}
		}
	}
	sodium_memzero(s, sizeof(s));
	sodium_memzero(x, sizeof(x));
}

static bool have_avx512vl(void)
{
	/* libgcc reads CPUID once at start-up; this is a load and a test */
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

#endif /* SALSA_VECTOR */

bool salsa_x4_impl(enum salsa_impl impl, uint8_t out[static SALSA_X4_LEN],
		   const uint8_t n8[static 8], uint64_t ic, const uint8_t key[static 32])
{
	switch (impl) {
	case SALSA_IMPL_SODIUM:
		x4_sodium(out, n8, ic, key);
		return true;
#ifdef SALSA_VECTOR
	case SALSA_IMPL_SSE2:
		x4_sse2(out, n8, ic, key);
		return true;
	case SALSA_IMPL_AVX512VL:
		if (!have_avx512vl())
			return false;
		x4_avx512vl(out, n8, ic, key);
		return true;
#else
	case SALSA_IMPL_SSE2:
	case SALSA_IMPL_AVX512VL:
		return false;
#endif
	}
	return false;
}

void salsa_x4(uint8_t out[static SALSA_X4_LEN], const uint8_t n8[static 8], uint64_t ic,
	      const uint8_t key[static 32])
{
#ifdef SALSA_VECTOR
	if (have_avx512vl())
		x4_avx512vl(out, n8, ic, key);
	else
		x4_sse2(out, n8, ic, key);
#else
	x4_sodium(out, n8, ic, key);
#endif
}

void salsa_xor_bytes(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t a, b;

		memcpy(&a, dst + i, 8);
		memcpy(&b, src + i, 8);
		a ^= b;
		memcpy(dst + i, &a, 8);
	}
	for (; i < len; i++)
		dst[i] ^= src[i];
}

void salsa_xor_ic(uint8_t *m, size_t len, const uint8_t n8[static 8], uint64_t ic,
		  const uint8_t key[static 32])
{
	size_t bulk = len & ~(size_t)(SALSA_X4_LEN - 1);
	uint8_t ks[SALSA_X4_LEN];

#ifdef SALSA_VECTOR
	if (have_avx512vl()) { /* whole 1024-byte runs sixteen blocks wide, then x4 */
		size_t groups = len / SALSA_X16_LEN;

		if (groups) {
			x16_avx512_xor(m, groups, n8, ic, key);
			m += groups * SALSA_X16_LEN;
			len -= groups * SALSA_X16_LEN;
			ic += groups * 16;
		}
		bulk = 0;
	}
#endif
	if (bulk) { /* whole 256-byte runs: libsodium's wide paths */
		crypto_stream_salsa20_xor_ic(m, m, bulk, n8, ic, key);
		m += bulk;
		len -= bulk;
		ic += bulk / SALSA_BLOCK;
	}
	while (len) {
		size_t n = len < SALSA_X4_LEN ? len : SALSA_X4_LEN;

		salsa_x4(ks, n8, ic, key);
		salsa_xor_bytes(m, ks, n);
		m += n;
		len -= n;
		ic += SALSA_X4_LEN / SALSA_BLOCK;
	}
	sodium_memzero(ks, sizeof(ks));
}
