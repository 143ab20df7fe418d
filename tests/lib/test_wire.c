/*
 * Tests for lib/wire: big-endian getters and putters, Go-compatible uvarints, the
 * "no advance on failure" rule of the readers and the sticky error of the writer.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "lib/wire.h"
#include "support/hex.h"

static const uint8_t be[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

Test(wire, get_ints_exact)
{
	struct wire_rd rd;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	wire_rd_init(&rd, be, 1);
	cr_assert(wire_get_u8(&rd, &u8));
	cr_assert_eq(u8, 0x01);
	cr_assert_eq(rd.off, 1);
	cr_assert_eq(wire_remaining(&rd), 0);

	wire_rd_init(&rd, be, 2);
	cr_assert(wire_get_u16(&rd, &u16));
	cr_assert_eq(u16, 0x0102);
	cr_assert_eq(wire_remaining(&rd), 0);

	wire_rd_init(&rd, be, 4);
	cr_assert(wire_get_u32(&rd, &u32));
	cr_assert_eq(u32, 0x01020304);
	cr_assert_eq(wire_remaining(&rd), 0);

	wire_rd_init(&rd, be, 8);
	cr_assert(wire_get_u64(&rd, &u64));
	cr_assert_eq(u64, 0x0102030405060708ull);
	cr_assert_eq(wire_remaining(&rd), 0);
}

Test(wire, get_ints_sequence)
{
	static const uint8_t in[] = {0xff, 0xab, 0xcd, 0xde, 0xad, 0xbe, 0xef};
	struct wire_rd rd;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	wire_rd_init(&rd, in, sizeof(in));
	cr_assert(wire_get_u8(&rd, &u8));
	cr_assert(wire_get_u16(&rd, &u16));
	cr_assert(wire_get_u32(&rd, &u32));
	cr_assert_eq(u8, 0xff);
	cr_assert_eq(u16, 0xabcd);
	cr_assert_eq(u32, 0xdeadbeef);
	cr_assert_eq(rd.off, sizeof(in));
	cr_assert_not(wire_get_u8(&rd, &u8));
}

/* Every getter, one byte short of what it needs, fails and leaves off and *out alone. */
Test(wire, get_short_does_not_advance)
{
	struct wire_rd rd;
	uint8_t u8 = 0x5a, dst[8] = {0};
	uint16_t u16 = 0x5a5a;
	uint32_t u32 = 0x5a5a5a5a;
	uint64_t u64 = 0x5a;
	const uint8_t *span = NULL;

	wire_rd_init(&rd, be, 8);
	cr_assert(wire_skip(&rd, 1)); /* off = 1, 7 remain */

	cr_assert_not(wire_get_u64(&rd, &u64));
	cr_assert_eq(rd.off, 1);
	cr_assert_eq(u64, 0x5a);
	cr_assert_not(wire_get_bytes(&rd, dst, 8));
	cr_assert_eq(rd.off, 1);
	cr_assert_eq(dst[0], 0);
	cr_assert_not(wire_get_span(&rd, 8, &span));
	cr_assert_eq(rd.off, 1);
	cr_assert_null(span);
	cr_assert_not(wire_skip(&rd, 8));
	cr_assert_eq(rd.off, 1);

	cr_assert(wire_skip(&rd, 4)); /* 3 remain */
	cr_assert_not(wire_get_u32(&rd, &u32));
	cr_assert_eq(rd.off, 5);
	cr_assert_eq(u32, 0x5a5a5a5a);

	cr_assert(wire_skip(&rd, 2)); /* 1 remains */
	cr_assert_not(wire_get_u16(&rd, &u16));
	cr_assert_eq(rd.off, 7);
	cr_assert_eq(u16, 0x5a5a);

	cr_assert(wire_get_u8(&rd, &u8));
	cr_assert_eq(u8, 0x08);
	cr_assert_not(wire_get_u8(&rd, &u8));
	cr_assert_eq(rd.off, 8);
	cr_assert_eq(u8, 0x08);
}

Test(wire, bytes_span_skip)
{
	struct wire_rd rd;
	uint8_t dst[3];
	const uint8_t *span;

	wire_rd_init(&rd, be, sizeof(be));
	cr_assert(wire_get_bytes(&rd, dst, 3));
	cr_assert_arr_eq(dst, be, 3);
	cr_assert(wire_get_span(&rd, 2, &span));
	cr_assert_eq(span, be + 3, "span is zero-copy into the input");
	cr_assert(wire_skip(&rd, 3));
	cr_assert_eq(wire_remaining(&rd), 0);
	/* Zero-length reads succeed even at the end and on an empty reader. */
	cr_assert(wire_get_span(&rd, 0, &span));
	cr_assert(wire_get_bytes(&rd, NULL, 0));
	wire_rd_init(&rd, NULL, 0);
	cr_assert(wire_skip(&rd, 0));
	cr_assert(wire_get_span(&rd, 0, &span));
	cr_assert_not_null(span);
	cr_assert_not(wire_skip(&rd, 1));
}

struct uv_vec {
	char hex[32];
	uint64_t v;
};

ParameterizedTestParameters(wire, uvarint_vectors)
{
	static struct uv_vec v[] = {
	    {"00", 0},
	    {"01", 1},
	    {"7f", 127},
	    {"8001", 128},
	    {"ff01", 255},
	    {"ac02", 300},
	    {"ff7f", 16383},
	    {"808001", 16384},
	    {"ffffffff0f", 0xffffffffull},
	    {"ffffffffffffffff7f", 0x7fffffffffffffffull},
	    {"ffffffffffffffffff01", UINT64_MAX},
	};

	return cr_make_param_array(struct uv_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct uv_vec *t, wire, uvarint_vectors)
{
	uint8_t want[16], buf[16];
	long n = th_unhex(t->hex, want, sizeof(want));
	struct wire_rd rd;
	struct wire_wr wr;
	uint64_t got = 0;

	cr_assert_gt(n, 0);
	cr_assert_eq(wire_uvarint_len(t->v), (size_t)n, "len of %s", t->hex);

	/* Encode: exact bytes, exactly n of them. */
	wire_wr_init(&wr, buf, sizeof(buf));
	wire_put_uvarint(&wr, t->v);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, (size_t)n);
	cr_assert_arr_eq(buf, want, (size_t)n, "encoding of %s", t->hex);

	/* Decode: value and consumed length, with a trailing byte left alone. */
	want[n] = 0xee;
	wire_rd_init(&rd, want, (size_t)n + 1);
	cr_assert(wire_get_uvarint(&rd, &got));
	cr_assert_eq(got, t->v, "decoding of %s", t->hex);
	cr_assert_eq(rd.off, (size_t)n);

	/* Every truncation is short input: false, no advance, *out untouched. */
	for (long cut = 0; cut < n; cut++) {
		got = 42;
		wire_rd_init(&rd, want, (size_t)cut);
		cr_assert_not(wire_get_uvarint(&rd, &got), "%s cut at %ld", t->hex, cut);
		cr_assert_eq(rd.off, 0);
		cr_assert_eq(got, 42);
	}
}

Test(wire, uvarint_rejects_overflow_and_overlong)
{
	static const char *bad[] = {
	    "ffffffffffffffffff02",   /* tenth byte carries more than the 64th bit */
	    "ffffffffffffffffff7f",   /* ditto */
	    "ffffffffffffffffff8001", /* eleven bytes */
	    "8080808080808080808000", /* overlong zero: continuation on the tenth byte */
	};
	uint8_t in[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long n = th_unhex(bad[i], in, sizeof(in));
		struct wire_rd rd;
		uint64_t v = 7;

		cr_assert_gt(n, 0);
		wire_rd_init(&rd, in, (size_t)n);
		cr_assert_not(wire_get_uvarint(&rd, &v), "%s accepted", bad[i]);
		cr_assert_eq(rd.off, 0);
		cr_assert_eq(v, 7);
	}
}

/* Go's binary.Uvarint accepts padded encodings up to ten bytes; so must we (wire compatible). */
Test(wire, uvarint_non_minimal_like_go)
{
	static const uint8_t pad0[] = {0x80, 0x00};
	static const uint8_t pad1[] = {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	struct wire_rd rd;
	uint64_t v;

	wire_rd_init(&rd, pad0, sizeof(pad0));
	cr_assert(wire_get_uvarint(&rd, &v));
	cr_assert_eq(v, 0);
	cr_assert_eq(rd.off, 2);

	wire_rd_init(&rd, pad1, sizeof(pad1));
	cr_assert(wire_get_uvarint(&rd, &v));
	cr_assert_eq(v, 1);
	cr_assert_eq(rd.off, 10);
}

Test(wire, put_ints)
{
	uint8_t buf[15], want[15];
	struct wire_wr wr;

	wire_wr_init(&wr, buf, sizeof(buf));
	wire_put_u8(&wr, 0xa1);
	wire_put_u16(&wr, 0xb1b2);
	wire_put_u32(&wr, 0xc1c2c3c4);
	wire_put_u64(&wr, 0xd1d2d3d4d5d6d7d8ull);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 15);
	cr_assert_eq(th_unhex("a1 b1b2 c1c2c3c4 d1d2d3d4d5d6d7d8", want, sizeof(want)), 15);
	cr_assert_arr_eq(buf, want, 15);
}

Test(wire, put_roundtrip)
{
	uint8_t buf[64], raw[5] = {1, 2, 3, 4, 5}, got[5];
	struct wire_wr wr;
	struct wire_rd rd;
	uint16_t u16;
	uint64_t u64, uv;

	wire_wr_init(&wr, buf, sizeof(buf));
	wire_put_u16(&wr, 0xfffe);
	wire_put_uvarint(&wr, 1234567);
	wire_put_bytes(&wr, raw, sizeof(raw));
	wire_put_u64(&wr, UINT64_MAX - 1);
	cr_assert(wire_wr_ok(&wr));

	wire_rd_init(&rd, buf, wr.len);
	cr_assert(wire_get_u16(&rd, &u16));
	cr_assert(wire_get_uvarint(&rd, &uv));
	cr_assert(wire_get_bytes(&rd, got, sizeof(got)));
	cr_assert(wire_get_u64(&rd, &u64));
	cr_assert_eq(u16, 0xfffe);
	cr_assert_eq(uv, 1234567);
	cr_assert_arr_eq(got, raw, sizeof(raw));
	cr_assert_eq(u64, UINT64_MAX - 1);
	cr_assert_eq(wire_remaining(&rd), 0);
}

/* A put that does not fit writes nothing, sets is_err, and every later put is a no-op. */
Test(wire, writer_sticky_error)
{
	uint8_t buf[8];
	struct wire_wr wr;

	memset(buf, 0xee, sizeof(buf));
	wire_wr_init(&wr, buf, 5);
	wire_put_u32(&wr, 0x01020304);
	cr_assert(wire_wr_ok(&wr));
	wire_put_u16(&wr, 0xaaaa); /* needs 2, 1 left */
	cr_assert_not(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 4);
	cr_assert_eq(buf[4], 0xee, "a failed put must not write a partial value");
	wire_put_u8(&wr, 0x55); /* would fit, but the error is sticky */
	cr_assert_eq(wr.len, 4);
	cr_assert_eq(buf[4], 0xee);
	cr_assert_not(wire_wr_ok(&wr));
	cr_assert_null(wire_put_span(&wr, 0));
}

Test(wire, writer_overflow_each_putter)
{
	uint8_t buf[16], raw[4] = {0};
	struct wire_wr wr;

	wire_wr_init(&wr, buf, 0);
	wire_put_u8(&wr, 1);
	cr_assert_not(wire_wr_ok(&wr));

	wire_wr_init(&wr, buf, 7);
	wire_put_u64(&wr, 1);
	cr_assert_not(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 0);

	wire_wr_init(&wr, buf, 3);
	wire_put_u32(&wr, 1);
	cr_assert_not(wire_wr_ok(&wr));

	wire_wr_init(&wr, buf, 3);
	wire_put_bytes(&wr, raw, 4);
	cr_assert_not(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 0);

	/* uvarint: 16384 needs 3 bytes; with 2 it writes nothing. */
	memset(buf, 0, sizeof(buf));
	wire_wr_init(&wr, buf, 2);
	wire_put_uvarint(&wr, 16384);
	cr_assert_not(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 0);
	cr_assert_eq(buf[0], 0);

	/* Filling exactly to capacity is fine. */
	wire_wr_init(&wr, buf, 3);
	wire_put_uvarint(&wr, 16384);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 3);
}

Test(wire, put_span_reserves)
{
	uint8_t buf[8];
	struct wire_wr wr;
	uint8_t *len_field;

	wire_wr_init(&wr, buf, sizeof(buf));
	len_field = wire_put_span(&wr, 2);
	cr_assert_eq(len_field, buf);
	wire_put_u32(&wr, 0xcafef00d);
	len_field[0] = 0;
	len_field[1] = (uint8_t)(wr.len - 2);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(buf[1], 4);
	cr_assert_eq(buf[2], 0xca);
	cr_assert_null(wire_put_span(&wr, 3));
	cr_assert_not(wire_wr_ok(&wr));
}

Test(wire, uvarint_len_boundaries)
{
	cr_assert_eq(wire_uvarint_len(0), 1);
	cr_assert_eq(wire_uvarint_len(127), 1);
	cr_assert_eq(wire_uvarint_len(128), 2);
	cr_assert_eq(wire_uvarint_len(16383), 2);
	cr_assert_eq(wire_uvarint_len(16384), 3);
	cr_assert_eq(wire_uvarint_len(1ull << 63), WIRE_UVARINT_MAX);
	cr_assert_eq(wire_uvarint_len(UINT64_MAX), WIRE_UVARINT_MAX);
}
