/*
 * Tests for lib/crc32: the CRC-32 of zlib, PNG and Ethernet. The check value of "123456789"
 * (0xCBF43926) and other published vectors, empty input, chaining, and the residue property.
 */
#include "lib/crc32.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

/* Inline text: Criterion may run a parameterized test in another process (no pointers). */
struct vec {
	char s[48];
	size_t len; /* 0: strlen(s) */
	uint32_t crc;
};

static struct vec vecs[] = {
    {"123456789", 0, 0xcbf43926}, /* the check value of the CRC catalogues */
    {"a", 0, 0xe8b7be43},
    {"abc", 0, 0x352441c2},
    {"message digest", 0, 0x20159d7f},
    {"The quick brown fox jumps over the lazy dog", 0, 0x414fa339},
    {"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32, 0x190a55ad},
};

ParameterizedTestParameters(crc32, vectors)
{
	return cr_make_param_array(struct vec, vecs, sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct vec *v, crc32, vectors)
{
	size_t n = v->len ? v->len : strlen(v->s);

	cr_expect_eq(crc32_update(0, v->s, n), v->crc, "%s: %08x", v->s, crc32_update(0, v->s, n));
}

Test(crc32, all_ones_and_every_byte)
{
	uint8_t b[256];

	memset(b, 0xff, 32);
	cr_expect_eq(crc32_update(0, b, 32), 0xff6cab0b);
	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	cr_expect_eq(crc32_update(0, b, 256), 0x29058c73);
}

Test(crc32, empty)
{
	cr_expect_eq(crc32_update(0, "", 0), 0);
	cr_expect_eq(crc32_update(0, NULL, 0), 0);
	/* Nothing more: the running value passes through unchanged. */
	cr_expect_eq(crc32_update(0xcbf43926, "x", 0), 0xcbf43926);
}

Test(crc32, incremental_equals_one_shot)
{
	uint8_t b[1000];
	uint32_t whole;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 131 + 7);
	whole = crc32_update(0, b, sizeof(b));
	for (size_t cut = 0; cut <= sizeof(b); cut += 37) {
		uint32_t c = crc32_update(0, b, cut);

		cr_assert_eq(crc32_update(c, b + cut, sizeof(b) - cut), whole, "cut at %zu", cut);
	}
	uint32_t c = 0;

	for (size_t i = 0; i < sizeof(b); i++)
		c = crc32_update(c, b + i, 1);
	cr_expect_eq(c, whole, "byte by byte");
	cr_expect_eq(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926);
}

/* Appending the CRC (little-endian) gives the fixed residue 0x2144DF1C: a property of CRC-32. */
Test(crc32, residue)
{
	uint8_t b[13] = "123456789";
	uint32_t c = crc32_update(0, b, 9);

	for (int i = 0; i < 4; i++)
		b[9 + i] = (uint8_t)(c >> (8 * i));
	cr_expect_eq(crc32_update(0, b, 13), 0x2144df1c);
}

/* Any single bit flip changes the CRC (a CRC detects every 1-bit error). */
Test(crc32, single_bit_flips)
{
	uint8_t b[64];
	uint32_t c;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i ^ 0x5a);
	c = crc32_update(0, b, sizeof(b));
	for (size_t bit = 0; bit < sizeof(b) * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_neq(crc32_update(0, b, sizeof(b)), c, "bit %zu", bit);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}
