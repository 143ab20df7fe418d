/*
 * Tests for lib/ipfrag: IPv4 fragmentation (RFC 791 §2.3, §3.1, §3.2) checked against headers
 * written out by hand, checksums included (and verified by support/refcsum, not lib/csum);
 * copied and dropped options; the input being itself a fragment; the 8-byte boundaries; the
 * refusals; and that a pool too small for the whole datagram emits nothing and loses nothing.
 * Every test ends with every pool pkt returned.
 *
 * The datagrams go from 192.0.2.10 to 198.51.100.20; their data is a counting pattern, so that
 * reassembly can be checked byte for byte.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "lib/ipfrag.h"
#include "lib/pkt.h"
#include "support/hex.h"
#include "support/refcsum.h"

enum { CAP = 3072, COUNT = IPFRAG_MAX + 8 };

static struct pkt_pool *pool;

/* What emit was given, in order; the test frees them. */
static struct {
	struct pkt *p[IPFRAG_MAX + 1];
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

TestSuite(ipfrag, .init = setup, .fini = teardown);

static void collect(void *ctx, struct pkt *frag)
{
	cr_assert_eq(ctx, &got, "ctx passed through");
	cr_assert_lt(got.n, IPFRAG_MAX);
	got.p[got.n++] = frag;
}

static void free_got(void)
{
	for (int i = 0; i < got.n; i++)
		pkt_free(got.p[i]);
	got.n = 0;
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

/* A pool pkt holding the header hdr (hlen bytes, as given) and dlen bytes of pattern. */
static struct pkt *mk(const uint8_t *hdr, size_t hlen, size_t dlen)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *b = pkt_put(p, hlen + dlen);

	cr_assert_not_null(b);
	memcpy(b, hdr, hlen);
	for (size_t i = 0; i < dlen; i++)
		b[hlen + i] = pattern(i);
	return p;
}

/*
 * A datagram built here: 20 fixed bytes (TOS 0, ID 0x5555, TTL 64, UDP), then opts (optlen,
 * a multiple of 4), flags and offset fw, dlen bytes of data; lengths and checksum right.
 */
static struct pkt *mk_opts(const uint8_t *opts, size_t optlen, uint16_t fw, size_t dlen)
{
	uint8_t h[60] = {0x45, 0x00, 0,	  0, 0x55, 0x55, 0,   0,  64,  17,
			 0,    0,    192, 0, 2,	   10,	 198, 51, 100, 20};
	size_t hlen = 20 + optlen, tot = hlen + dlen;
	uint16_t c;

	h[0] = (uint8_t)(0x40 | hlen / 4);
	h[2] = (uint8_t)(tot >> 8);
	h[3] = (uint8_t)tot;
	h[6] = (uint8_t)(fw >> 8);
	h[7] = (uint8_t)fw;
	if (optlen)
		memcpy(h + 20, opts, optlen);
	c = (uint16_t)~ref_csum(h, hlen, 0);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	return mk(h, hlen, dlen);
}

static size_t hlen_of(const struct pkt *f)
{
	return (size_t)(f->data[0] & 0x0f) * 4;
}

static uint16_t fword_of(const struct pkt *f)
{
	return (uint16_t)(f->data[6] << 8 | f->data[7]);
}

/*
 * The fragments in got are well formed (at most mtu bytes, total length, valid header
 * checksum, at PKT_HEADROOM, data of all but the last a multiple of 8, offsets contiguous from
 * off0 bytes) and their data, concatenated, is the pattern of dlen bytes.
 */
static void check_pieces(size_t mtu, size_t off0, size_t dlen)
{
	size_t pos = 0;

	for (int i = 0; i < got.n; i++) {
		const struct pkt *f = got.p[i];
		size_t hl = hlen_of(f), fd = f->len - hl;

		cr_assert_leq(f->len, mtu, "fragment %d: %zu bytes", i, f->len);
		cr_assert_eq(pkt_headroom(f), PKT_HEADROOM);
		cr_assert_eq((size_t)(f->data[2] << 8 | f->data[3]), f->len, "total length");
		cr_assert_eq(ref_csum(f->data, hl, 0), 0xffff, "fragment %d header checksum", i);
		cr_assert_eq((size_t)(fword_of(f) & 0x1fff) * 8, off0 + pos, "fragment %d offset",
			     i);
		if (i + 1 < got.n)
			cr_assert_eq(fd % 8, 0, "fragment %d: %zu data bytes", i, fd);
		for (size_t j = 0; j < fd; j++)
			cr_assert_eq(f->data[hl + j], pattern(pos + j), "fragment %d byte %zu", i,
				     j);
		pos += fd;
	}
	cr_assert_eq(pos, dlen, "the data reassembles whole");
}

/* A pool pkt holding the header written in hex (its own checksum checked) and dlen of pattern. */
static struct pkt *mk_hex(const char *hex, size_t dlen)
{
	uint8_t h[60];
	long n = th_unhex(hex, h, sizeof(h));

	cr_assert(n >= 20 && n % 4 == 0, "bad fixture");
	cr_assert_eq(ref_csum(h, (size_t)n, 0), 0xffff, "the fixture's own checksum");
	return mk(h, (size_t)n, dlen);
}

/* Fragment i of got has the length len and starts with the header written in hex. */
static void expect_frag(int i, size_t len, const char *hex)
{
	uint8_t h[60];
	long n = th_unhex(hex, h, sizeof(h));

	cr_assert(n >= 20, "bad fixture");
	cr_assert_lt(i, got.n);
	cr_assert_eq(got.p[i]->len, len, "fragment %d: %zu bytes", i, got.p[i]->len);
	cr_assert_arr_eq(got.p[i]->data, h, (size_t)n, "fragment %d header", i);
}

/* The addresses of every datagram here, 192.0.2.10 -> 198.51.100.20. */
#define ADDRS " c000020a c6336414"

/*
 * 3000 bytes (20 + 2980) at MTU 1280: (1280 - 20) rounded down to 8 is 1256, so 1256 + 1256 +
 * 468 at offsets 0, 157, 314 (in 8-byte units); MF on all but the last.
 */
Test(ipfrag, datagram_of_3000_at_1280)
{
	static uint8_t before[3000];
	struct pkt *in = mk_hex("45000bb8 1c460000 4011669d" ADDRS, 2980);

	memcpy(before, in->data, 3000);
	cr_assert_eq(ipfrag_split4(in, 1280, pool, collect, &got), 3);
	cr_assert_eq(got.n, 3);
	expect_frag(0, 1276, "450004fc 1c462000 40114d59" ADDRS);
	expect_frag(1, 1276, "450004fc 1c46209d 40114cbc" ADDRS);
	expect_frag(2, 488, "450001e8 1c46013a 40116f33" ADDRS);
	check_pieces(1280, 0, 2980);
	cr_assert_eq(in->len, 3000);
	cr_assert_arr_eq(in->data, before, 3000, "the input is borrowed, not changed");
	free_got();
	pkt_free(in);
}

/*
 * RFC 791 §3.1 options: Record Route (7, not copied), NOP, Loose Source Route (0x83, copied),
 * Router Alert (0x94, copied, RFC 2113), EOL: 20 bytes, IHL 10. The first fragment keeps all;
 * the others keep LSRR and Router Alert (11 bytes), padded with one EOL to 12: IHL 8. 1000
 * bytes of data at MTU 500: 456 (500 - 40, rounded down to 8), 464 (500 - 32), 80.
 */
Test(ipfrag, options_copied_or_not)
{
	struct pkt *in = mk_hex("4a000410 beef0000 40112d36" ADDRS
				" 07070400 00000001 830704c0 00020294 04000000",
				1000);

	cr_assert_eq(ipfrag_split4(in, 500, pool, collect, &got), 3);
	expect_frag(0, 496,
		    "4a0001f0 beef2000 40110f56" ADDRS
		    " 07070400 00000001 830704c0 00020294 04000000");
	expect_frag(1, 496, "480001f0 beef2039 40111c25" ADDRS " 830704c0 00020294 04000000");
	expect_frag(2, 112, "48000070 beef0073 40113d6b" ADDRS " 830704c0 00020294 04000000");
	check_pieces(500, 0, 1000);
	free_got();
	pkt_free(in);
}

/* The options of a datagram, and those its non-first fragments must carry. */
struct opt_vec {
	char name[48];
	char opts[96];
	char rest[96];
};

ParameterizedTestParameters(ipfrag, option_layouts)
{
	static struct opt_vec v[] = {
	    {"router alert only: no padding", "94040000", "94040000"},
	    {"record route only: none", "07070400000000 00", ""},
	    {"nops only: none", "01010101", ""},
	    {"lsrr: padded by one", "830704c0000202 00", "830704c0000202 00"},
	    {"nop then security (11 bytes)", "01 820b000000000000000000",
	     "820b000000000000000000 00"},
	    {"eol first: the rest is padding", "00 940400 00000000", ""},
	    {"stream id, timestamp", "88041234 440c0500 0000000000000000", "88041234"},
	    {"copied, no data", "8a02 0000", "8a02 0000"},
	    {"two lsrr: padded by two", "830704c0000202 830704c0000203 0000",
	     "830704c0000202 830704c0000203 0000"},
	    {"40 bytes, all copied",
	     "8327 04 c0000201 c0000202 c0000203 c0000204 c0000205 c0000206 c0000207 c0000208 "
	     "c0000209 00",
	     "8327 04 c0000201 c0000202 c0000203 c0000204 c0000205 c0000206 c0000207 c0000208 "
	     "c0000209 00"},
	};
	return cr_make_param_array(struct opt_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct opt_vec *t, ipfrag, option_layouts)
{
	uint8_t opts[40], rest[40];
	long no = th_unhex(t->opts, opts, sizeof(opts)), nr = th_unhex(t->rest, rest, sizeof(rest));
	struct pkt *in;
	size_t hl0;

	cr_assert(no >= 0 && no % 4 == 0 && nr >= 0 && nr % 4 == 0, "%s: bad fixture", t->name);
	in = mk_opts(opts, (size_t)no, 0, 200);
	hl0 = 20 + (size_t)no;
	/* 8 bytes of data in the first fragment, 8 or more in the others */
	cr_assert_gt(ipfrag_split4(in, hl0 + 8, pool, collect, &got), 2, "%s", t->name);
	/* the first keeps the whole header: only length, MF and checksum change */
	cr_assert_eq(hlen_of(got.p[0]), hl0);
	cr_assert_arr_eq(got.p[0]->data + 12, in->data + 12, hl0 - 12, "%s: first keeps all",
			 t->name);
	for (int i = 1; i < got.n; i++) {
		cr_assert_eq(hlen_of(got.p[i]), 20 + (size_t)nr, "%s: fragment %d IHL", t->name, i);
		cr_assert_arr_eq(got.p[i]->data + 20, rest, (size_t)nr, "%s: fragment %d options",
				 t->name, i);
	}
	check_pieces(hl0 + 8, 0, 200);
	free_got();
	pkt_free(in);
}

struct bad_opt_vec {
	char name[48];
	char opts[96];
};

ParameterizedTestParameters(ipfrag, malformed_options)
{
	static struct bad_opt_vec v[] = {
	    {"length 0", "83000000"},
	    {"length 1", "83010000"},
	    {"length past the header", "830a04c0 00020200"},
	    {"a type without its length", "01010183"},
	    {"record route cut short", "07070400"},
	    {"after a good option", "94040000 440c0500"},
	};
	return cr_make_param_array(struct bad_opt_vec, v, sizeof(v) / sizeof(v[0]));
}

ParameterizedTest(struct bad_opt_vec *t, ipfrag, malformed_options)
{
	uint8_t opts[40];
	long no = th_unhex(t->opts, opts, sizeof(opts));
	struct pkt *in;

	cr_assert(no > 0 && no % 4 == 0, "%s: bad fixture", t->name);
	in = mk_opts(opts, (size_t)no, 0, 200);
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), -EINVAL, "%s", t->name);
	cr_assert_eq(got.n, 0);
	pkt_free(in);
}

/*
 * The input is itself a middle fragment (MF, offset 100 = 800 bytes; TOS 0xb8, TTL 17, TCP):
 * 1480 bytes at MTU 600 are 576 + 576 + 328 at offsets 100, 172, 244, MF on every one.
 */
Test(ipfrag, middle_fragment_continues)
{
	struct pkt *in = mk_hex("45b805dc 42422064 1106546c" ADDRS, 1480);

	cr_assert_eq(ipfrag_split4(in, 600, pool, collect, &got), 3);
	expect_frag(0, 596, "45b80254 42422064 110657f4" ADDRS);
	expect_frag(1, 596, "45b80254 424220ac 110657ac" ADDRS);
	expect_frag(2, 348, "45b8015c 424220f4 1106585c" ADDRS);
	check_pieces(600, 800, 1480);
	free_got();
	pkt_free(in);
}

Test(ipfrag, last_fragment_keeps_mf_clear_and_df_as_is)
{
	/* DF | offset 100: the caller chose to cut it anyway; DF is copied, MF only as needed */
	struct pkt *in = mk_opts(NULL, 0, 0x4000 | 100, 1480);

	cr_assert_eq(ipfrag_split4(in, 600, pool, collect, &got), 3);
	cr_assert_eq(fword_of(got.p[0]), 0x6000 | 100);
	cr_assert_eq(fword_of(got.p[1]), 0x6000 | 172);
	cr_assert_eq(fword_of(got.p[2]), 0x4000 | 244);
	check_pieces(600, 800, 1480);
	free_got();
	pkt_free(in);
}

Test(ipfrag, exact_multiples)
{
	struct pkt *in;

	/* 2 * 1256 bytes: two full fragments of exactly 1276, no empty third */
	in = mk_opts(NULL, 0, 0, 2512);
	cr_assert_eq(ipfrag_split4(in, 1280, pool, collect, &got), 2);
	cr_assert_eq(got.p[0]->len, 1276);
	cr_assert_eq(got.p[1]->len, 1276);
	cr_assert_eq(fword_of(got.p[1]), 157);
	check_pieces(1280, 0, 2512);
	free_got();
	pkt_free(in);

	/* one byte over: 1256 + 5 */
	in = mk_opts(NULL, 0, 0, 1261);
	cr_assert_eq(in->len, 1281);
	cr_assert_eq(ipfrag_split4(in, 1280, pool, collect, &got), 2);
	cr_assert_eq(got.p[1]->len, 25);
	check_pieces(1280, 0, 1261);
	free_got();
	pkt_free(in);

	/* mtu = 20 + a multiple of 8: the first fragment is exactly mtu */
	in = mk_opts(NULL, 0, 0, 2000);
	cr_assert_eq(ipfrag_split4(in, 1276, pool, collect, &got), 2);
	cr_assert_eq(got.p[0]->len, 1276);
	check_pieces(1276, 0, 2000);
	free_got();
	/* and 7 more bytes of mtu buy nothing */
	cr_assert_eq(ipfrag_split4(in, 1283, pool, collect, &got), 2);
	cr_assert_eq(got.p[0]->len, 1276);
	check_pieces(1283, 0, 2000);
	free_got();
	pkt_free(in);
}

Test(ipfrag, every_mtu_keeps_the_invariants)
{
	static const uint8_t opts[8] = {0x83, 0x07, 0x04, 192, 0, 2, 2, 0x00}; /* LSRR, EOL */
	struct pkt *plain = mk_opts(NULL, 0, 0, 1000), *opt = mk_opts(opts, 8, 0x2000 | 7, 1000);

	for (size_t mtu = 160; mtu < 1020; mtu++) {
		size_t first = (mtu - 20) / 8 * 8, step = first;

		cr_assert_eq(ipfrag_split4(plain, mtu, pool, collect, &got),
			     1 + (int)((1000 - first + step - 1) / step), "mtu %zu", mtu);
		check_pieces(mtu, 0, 1000);
		free_got();
		cr_assert_gt(ipfrag_split4(opt, mtu, pool, collect, &got), 1, "mtu %zu", mtu);
		check_pieces(mtu, 56, 1000);
		cr_assert_neq(fword_of(got.p[got.n - 1]) & 0x2000, 0, "MF stays set");
		free_got();
	}
	pkt_free(plain);
	pkt_free(opt);
}

Test(ipfrag, mtu_too_small)
{
	static const uint8_t opts[20] = {0x94, 0x04, 0, 0, 0x07, 0x0f, 0x04}; /* RA, RR, EOL */
	struct pkt *in = mk_opts(NULL, 0, 0, 24), *big = mk_opts(opts, 20, 0, 40);

	/* 20 + 8 is the least: three fragments of 8 bytes each */
	cr_assert_eq(ipfrag_split4(in, 27, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(ipfrag_split4(in, 20, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(ipfrag_split4(in, 0, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(ipfrag_split4(in, 28, pool, collect, &got), 3);
	check_pieces(28, 0, 24);
	free_got();

	/* a 40-byte header needs 48 for the first fragment; the others (24 + 8) then fit too */
	cr_assert_eq(ipfrag_split4(big, 47, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(ipfrag_split4(big, 48, pool, collect, &got), 3);
	cr_assert_eq(hlen_of(got.p[1]), 24);
	cr_assert_eq(got.p[1]->len, 48);
	check_pieces(48, 0, 40);
	free_got();
	pkt_free(in);
	pkt_free(big);
}

Test(ipfrag, too_many_fragments)
{
	/* at MTU 28 each fragment carries 8 bytes: 512 bytes are IPFRAG_MAX, 520 one more */
	struct pkt *in = mk_opts(NULL, 0, 0, 520), *fits = mk_opts(NULL, 0, 0, 8 * IPFRAG_MAX);
	struct pkt_pool_info info;

	cr_assert_eq(ipfrag_split4(in, 28, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 2, "nothing taken from the pool");
	cr_assert_eq(ipfrag_split4(fits, 28, pool, collect, &got), IPFRAG_MAX);
	check_pieces(28, 0, 8 * IPFRAG_MAX);
	free_got();
	pkt_free(in);
	pkt_free(fits);
}

Test(ipfrag, not_needed)
{
	struct pkt *in = mk_opts(NULL, 0, 0, 1260);

	cr_assert_eq(ipfrag_split4(in, 1280, pool, collect, &got), -EINVAL, "len == mtu");
	cr_assert_eq(ipfrag_split4(in, 1500, pool, collect, &got), -EINVAL, "len < mtu");
	cr_assert_eq(got.n, 0);
	pkt_free(in);
}

Test(ipfrag, malformed_header)
{
	struct pkt *in = mk_opts(NULL, 0, 0, 200);
	uint8_t *b = in->data;

	b[0] = 0x65; /* version 6 */
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), -EINVAL);
	b[0] = 0x44; /* IHL 4 */
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), -EINVAL);
	b[0] = 0x45;
	b[3]++; /* total length one more than the packet */
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), -EINVAL);
	b[3] -= 2; /* one less */
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), -EINVAL);
	b[3]++;
	cr_assert_eq(ipfrag_split4(in, 100, pool, collect, &got), 3, "the packet itself is fine");
	free_got();

	/* IHL 15 (60 bytes) in a 40-byte packet */
	pkt_trim(in, 40);
	b[0] = 0x4f;
	b[2] = 0;
	b[3] = 40;
	cr_assert_eq(ipfrag_split4(in, 30, pool, collect, &got), -EINVAL);
	/* shorter than a header */
	pkt_trim(in, 19);
	b[0] = 0x45;
	b[3] = 19;
	cr_assert_eq(ipfrag_split4(in, 10, pool, collect, &got), -EINVAL);
	cr_assert_eq(got.n, 0);
	pkt_free(in);
}

Test(ipfrag, data_past_65535_is_malformed)
{
	/* 64000 + 1000 ends inside a 65535-byte datagram; 64800 + 1000 would not */
	struct pkt *ok = mk_opts(NULL, 0, 8000, 1000), *bad = mk_opts(NULL, 0, 8100, 1000);

	cr_assert_eq(ipfrag_split4(ok, 600, pool, collect, &got), 2);
	check_pieces(600, 64000, 1000);
	free_got();
	cr_assert_eq(ipfrag_split4(bad, 600, pool, collect, &got), -EINVAL);
	cr_assert_eq(got.n, 0);
	pkt_free(ok);
	pkt_free(bad);
}

Test(ipfrag, pool_too_small_emits_nothing)
{
	struct pkt_pool *tiny = pkt_pool_new(2, CAP), *narrow = pkt_pool_new(4, 500);
	struct pkt *in = mk_opts(NULL, 0, 0, 2980), *hold;
	struct pkt_pool_info info;

	cr_assert(tiny && narrow);
	/* two pkts for three fragments */
	cr_assert_eq(ipfrag_split4(in, 1280, tiny, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0, "nothing emitted");
	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 0, "every pkt back in the pool");
	cr_assert_eq(info.alloc_failures, 1);

	/* three in the pool but one held elsewhere */
	pkt_pool_free(tiny);
	tiny = pkt_pool_new(3, CAP);
	hold = pkt_alloc(tiny);
	cr_assert_eq(ipfrag_split4(in, 1280, tiny, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 1);
	pkt_free(hold);
	cr_assert_eq(ipfrag_split4(in, 1280, tiny, collect, &got), 3, "enough once it is back");
	free_got();

	/* buffers of 500 + 64 bytes cannot hold 1276-byte fragments */
	cr_assert_eq(ipfrag_split4(in, 1280, narrow, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(narrow, &info);
	cr_assert_eq(info.in_use, 0);
	cr_assert_eq(ipfrag_split4(in, 500, narrow, collect, &got), -ENOBUFS, "7 of them");
	cr_assert_eq(ipfrag_split4(in, 1000, narrow, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(narrow, &info);
	cr_assert_eq(info.in_use, 0);

	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 0);
	pkt_pool_free(tiny);
	pkt_pool_free(narrow);
	pkt_free(in);
}

/* emit may free at once; the next fragments were already built */
static void drop(void *ctx, struct pkt *frag)
{
	(*(int *)ctx)++;
	pkt_free(frag);
}

Test(ipfrag, emit_owns_each_fragment)
{
	struct pkt *in = mk_opts(NULL, 0, 0, 2980);
	int n = 0;

	cr_assert_eq(ipfrag_split4(in, 1280, pool, drop, &n), 3);
	cr_assert_eq(n, 3);
	pkt_free(in);
}

/*
 * ipfrag_split6: IPv6 fragmentation at the source (RFC 8200 §4.5), for the NAT64's 4->6 side
 * (RFC 7915 §4, nat64-requirements §2 C 26, C 28). The packets go from 2001:db8:1::a to
 * 64:ff9b::198.51.100.20, with Traffic Class 0xb8 and Flow Label 0x12345 (to show that the
 * fixed header is kept), hop limit 63.
 */
#define ADDRS6 " 20010db800010000000000000000000a 0064ff9b0000000000000000c6336414"

enum { IP6H = 40, FRAGH = 8 };

/*
 * A pool pkt holding an IPv6 packet: the fixed header (next header nh, payload length right),
 * then, when fh is not NULL, the 8 bytes at fh as a Fragment Header, then dlen of pattern.
 */
static struct pkt *mk6(uint8_t nh, const uint8_t *fh, size_t dlen)
{
	uint8_t h[IP6H + FRAGH];
	size_t hl = IP6H + (fh ? FRAGH : 0), plen = hl - IP6H + dlen;
	long n = th_unhex("6b812345 0000 00 3f" ADDRS6, h, IP6H);

	cr_assert_eq(n, IP6H, "bad fixture");
	h[4] = (uint8_t)(plen >> 8);
	h[5] = (uint8_t)plen;
	h[6] = fh ? 44 : nh;
	if (fh)
		memcpy(h + IP6H, fh, FRAGH);
	return mk(h, hl, dlen);
}

/* A Fragment Header: next header nh, byte offset off (a multiple of 8), M, identification. */
static const uint8_t *fragh(uint8_t nh, size_t off, bool m, uint32_t id)
{
	static uint8_t b[FRAGH];

	b[0] = nh;
	b[1] = 0;
	b[2] = (uint8_t)((off | m) >> 8);
	b[3] = (uint8_t)(off | m);
	b[4] = (uint8_t)(id >> 24);
	b[5] = (uint8_t)(id >> 16);
	b[6] = (uint8_t)(id >> 8);
	b[7] = (uint8_t)id;
	return b;
}

static uint16_t fh_word(const struct pkt *f)
{
	return (uint16_t)(f->data[IP6H + 2] << 8 | f->data[IP6H + 3]);
}

static uint32_t fh_id(const struct pkt *f)
{
	const uint8_t *b = f->data + IP6H + 4;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/*
 * The IPv6 fragments in got are well formed: at most mtu bytes, at PKT_HEADROOM, the fixed
 * header of in (payload length and Next Header 44 aside), a Fragment Header with next header
 * nh, identification id, zero reserved fields, offsets contiguous from off0 bytes, M on all
 * but the last and on the last as last_m; the data of all but the last a multiple of 8; and
 * the data, concatenated, is the pattern of dlen bytes.
 */
static void check_pieces6(const struct pkt *in, size_t mtu, uint8_t nh, uint32_t id, size_t off0,
			  bool last_m, size_t dlen)
{
	size_t pos = 0;

	for (int i = 0; i < got.n; i++) {
		const struct pkt *f = got.p[i];
		size_t fd = f->len - IP6H - FRAGH;
		bool is_last = i + 1 == got.n;

		cr_assert_leq(f->len, mtu, "fragment %d: %zu bytes", i, f->len);
		cr_assert_eq(pkt_headroom(f), PKT_HEADROOM);
		cr_assert_arr_eq(f->data, in->data, 4, "fragment %d: version, class, flow", i);
		cr_assert_eq((size_t)(f->data[4] << 8 | f->data[5]), f->len - IP6H, "payload len");
		cr_assert_eq(f->data[6], 44, "fragment %d: Next Header", i);
		cr_assert_arr_eq(f->data + 7, in->data + 7, 33, "fragment %d: hops, addresses", i);
		cr_assert_eq(f->data[IP6H], nh, "fragment %d: Fragment Header's next header", i);
		cr_assert_eq(f->data[IP6H + 1], 0, "reserved");
		cr_assert_eq(fh_word(f) & 6, 0, "reserved bits");
		cr_assert_eq((size_t)(fh_word(f) & 0xfff8), off0 + pos, "fragment %d offset", i);
		cr_assert_eq(fh_word(f) & 1, is_last ? last_m : 1, "fragment %d M", i);
		cr_assert_eq(fh_id(f), id, "fragment %d identification", i);
		if (!is_last)
			cr_assert_eq(fd % 8, 0, "fragment %d: %zu data bytes", i, fd);
		for (size_t j = 0; j < fd; j++)
			cr_assert_eq(f->data[IP6H + FRAGH + j], pattern(pos + j),
				     "fragment %d byte %zu", i, j);
		pos += fd;
	}
	cr_assert_eq(pos, dlen, "the data reassembles whole");
}

/*
 * 3000 bytes (40 + 2960 of UDP) at MTU 1280: (1280 - 48) rounded down to 8 is 1232, so 1232 +
 * 1232 + 496 at offsets 0, 154, 308 (in 8-byte units, written as offset << 3 | M).
 */
Test(ipfrag, split6_datagram_of_3000_at_1280)
{
	static uint8_t before[3000];
	struct pkt *in = mk6(17, NULL, 2960);

	cr_assert_eq(in->len, 3000);
	memcpy(before, in->data, 3000);
	cr_assert_eq(ipfrag_split6(in, 1280, 0xdeadbeef, pool, collect, &got), 3);
	cr_assert_eq(got.n, 3);
	expect_frag(0, 1280, "6b812345 04d8 2c 3f" ADDRS6 " 11 00 0001 deadbeef");
	expect_frag(1, 1280, "6b812345 04d8 2c 3f" ADDRS6 " 11 00 04d1 deadbeef");
	expect_frag(2, 544, "6b812345 01f8 2c 3f" ADDRS6 " 11 00 09a0 deadbeef");
	check_pieces6(in, 1280, 17, 0xdeadbeef, 0, false, 2960);
	cr_assert_eq(in->len, 3000);
	cr_assert_arr_eq(in->data, before, 3000, "the input is borrowed, not changed");
	free_got();
	pkt_free(in);
}

/*
 * C 28: the input is already a middle fragment (TCP, offset 100 = 800 bytes, M, ID 0x01020304):
 * its 1480 bytes at MTU 600 are 552 + 552 + 376 at offsets 100, 169, 238, M on every one, and
 * the ID passed in is ignored.
 */
Test(ipfrag, split6_middle_fragment_continues)
{
	struct pkt *in = mk6(0, fragh(6, 800, true, 0x01020304), 1480);

	cr_assert_eq(ipfrag_split6(in, 600, 0xffffffff, pool, collect, &got), 3);
	expect_frag(0, 600, "6b812345 0230 2c 3f" ADDRS6 " 06 00 0321 01020304");
	expect_frag(1, 600, "6b812345 0230 2c 3f" ADDRS6 " 06 00 0549 01020304");
	expect_frag(2, 424, "6b812345 0180 2c 3f" ADDRS6 " 06 00 0771 01020304");
	check_pieces6(in, 600, 6, 0x01020304, 800, true, 1480);
	free_got();
	pkt_free(in);
}

Test(ipfrag, split6_last_fragment_keeps_m_clear)
{
	/* the last fragment of its datagram (M clear), the reserved fields set: zero in ours */
	uint8_t fh[FRAGH];
	struct pkt *in;

	memcpy(fh, fragh(17, 1600, false, 0xa5a5a5a5), FRAGH);
	fh[1] = 0xff;
	fh[3] |= 6;
	in = mk6(0, fh, 1001);
	cr_assert_eq(ipfrag_split6(in, 600, 7, pool, collect, &got), 2);
	cr_assert_eq(fh_word(got.p[0]), 1600 | 1);
	cr_assert_eq(fh_word(got.p[1]), 2152);
	check_pieces6(in, 600, 17, 0xa5a5a5a5, 1600, false, 1001);
	free_got();
	pkt_free(in);
}

Test(ipfrag, split6_exact_multiples)
{
	struct pkt *in;

	/* 2 * 1232 bytes: two fragments of exactly 1280, no empty third */
	in = mk6(17, NULL, 2464);
	cr_assert_eq(ipfrag_split6(in, 1280, 1, pool, collect, &got), 2);
	cr_assert_eq(got.p[0]->len, 1280);
	cr_assert_eq(got.p[1]->len, 1280);
	cr_assert_eq(fh_word(got.p[1]), 1232);
	check_pieces6(in, 1280, 17, 1, 0, false, 2464);
	free_got();
	pkt_free(in);

	/* one byte over the MTU: 1232 + 9 */
	in = mk6(17, NULL, 1241);
	cr_assert_eq(in->len, 1281);
	cr_assert_eq(ipfrag_split6(in, 1280, 1, pool, collect, &got), 2);
	cr_assert_eq(got.p[1]->len, 57);
	check_pieces6(in, 1280, 17, 1, 0, false, 1241);
	free_got();
	/* and 7 bytes of mtu less buy the same first piece */
	cr_assert_eq(ipfrag_split6(in, 1273, 1, pool, collect, &got), 2);
	cr_assert_eq(got.p[0]->len, 1272, "1273 - 48 rounded down to 1224");
	check_pieces6(in, 1273, 17, 1, 0, false, 1241);
	free_got();
	pkt_free(in);
}

Test(ipfrag, split6_every_mtu_keeps_the_invariants)
{
	struct pkt *plain = mk6(58, NULL, 1000), *frag = mk6(0, fragh(50, 56, true, 9), 1000);

	/* below 64, 8 bytes a piece are more than IPFRAG_MAX pieces */
	for (size_t mtu = 56; mtu < 1040; mtu++) {
		size_t step = (mtu - 48) / 8 * 8, n = (1000 + step - 1) / step;
		int want = n <= IPFRAG_MAX ? (int)n : -EMSGSIZE;

		cr_assert_eq(ipfrag_split6(plain, mtu, 0x11223344, pool, collect, &got), want,
			     "mtu %zu", mtu);
		check_pieces6(plain, mtu, 58, 0x11223344, 0, false, want > 0 ? 1000 : 0);
		free_got();
		cr_assert_eq(ipfrag_split6(frag, mtu, 0, pool, collect, &got), want, "mtu %zu",
			     mtu);
		check_pieces6(frag, mtu, 50, 9, 56, true, want > 0 ? 1000 : 0);
		free_got();
	}
	pkt_free(plain);
	pkt_free(frag);
}

Test(ipfrag, split6_mtu_too_small)
{
	struct pkt *in = mk6(17, NULL, 24);

	/* 48 + 8 is the least: three fragments of 8 bytes each */
	cr_assert_eq(ipfrag_split6(in, 55, 1, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(ipfrag_split6(in, 48, 1, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(ipfrag_split6(in, 0, 1, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(ipfrag_split6(in, 56, 1, pool, collect, &got), 3);
	check_pieces6(in, 56, 17, 1, 0, false, 24);
	free_got();
	pkt_free(in);
}

Test(ipfrag, split6_too_many_fragments)
{
	/* at MTU 56 each fragment carries 8 bytes: 512 bytes are IPFRAG_MAX, 513 one more */
	struct pkt *in = mk6(17, NULL, 8 * IPFRAG_MAX + 1), *fits = mk6(17, NULL, 8 * IPFRAG_MAX);
	struct pkt_pool_info info;

	cr_assert_eq(ipfrag_split6(in, 56, 1, pool, collect, &got), -EMSGSIZE);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 2, "nothing taken from the pool");
	cr_assert_eq(info.alloc_failures, 0);
	cr_assert_eq(ipfrag_split6(fits, 56, 1, pool, collect, &got), IPFRAG_MAX);
	check_pieces6(fits, 56, 17, 1, 0, false, 8 * IPFRAG_MAX);
	free_got();
	pkt_free(in);
	pkt_free(fits);
}

Test(ipfrag, split6_not_needed)
{
	struct pkt *in = mk6(17, NULL, 1240), *frag = mk6(0, fragh(17, 8, true, 1), 1232);

	cr_assert_eq(ipfrag_split6(in, 1280, 1, pool, collect, &got), -EINVAL, "len == mtu");
	cr_assert_eq(ipfrag_split6(in, 1500, 1, pool, collect, &got), -EINVAL, "len < mtu");
	cr_assert_eq(ipfrag_split6(frag, 1280, 1, pool, collect, &got), -EINVAL, "a fragment");
	cr_assert_eq(got.n, 0);
	pkt_free(in);
	pkt_free(frag);
}

Test(ipfrag, split6_malformed_header)
{
	struct pkt *in = mk6(17, NULL, 200);
	uint8_t *b = in->data;

	b[0] = 0x4b; /* version 4 */
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL);
	b[0] = 0x6b;
	b[5]++; /* payload length one more than the packet */
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL);
	b[5] -= 2; /* one less */
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL);
	b[5]++;
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), 5, "the packet is fine");
	free_got();
	/* shorter than the fixed header */
	pkt_trim(in, 39);
	cr_assert_eq(ipfrag_split6(in, 20, 1, pool, collect, &got), -EINVAL);
	cr_assert_eq(got.n, 0);
	pkt_free(in);
}

/* Next Header values: the Per-Fragment headers are refused, anything else is data */
Test(ipfrag, split6_extension_headers)
{
	static const uint8_t refused[] = {0, 43, 60};
	static const uint8_t carried[] = {6, 17, 58, 50, 51, 59, 135, 139, 253};

	for (size_t i = 0; i < sizeof(refused); i++) {
		struct pkt *in = mk6(refused[i], NULL, 200), *fr;

		cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL, "nh %u",
			     refused[i]);
		/* nor may they follow a Fragment Header (Hop-by-Hop must be first, §4.1) */
		fr = mk6(0, fragh(refused[i], 0, true, 1), 200);
		cr_assert_eq(ipfrag_split6(fr, 100, 1, pool, collect, &got), -EINVAL, "fh nh %u",
			     refused[i]);
		pkt_free(in);
		pkt_free(fr);
	}
	for (size_t i = 0; i < sizeof(carried); i++) {
		struct pkt *in = mk6(carried[i], NULL, 200);

		cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), 5, "nh %u",
			     carried[i]);
		check_pieces6(in, 100, carried[i], 1, 0, false, 200);
		free_got();
		pkt_free(in);
	}
	cr_assert_eq(got.n, 0);
}

Test(ipfrag, split6_malformed_fragment)
{
	struct pkt *in;

	/* a Fragment Header after a Fragment Header */
	in = mk6(0, fragh(44, 0, true, 1), 200);
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL);
	pkt_free(in);
	/* Next Header 44 but no room for the Fragment Header: payload length 4 */
	in = mk6(44, NULL, 4);
	cr_assert_eq(ipfrag_split6(in, 20, 1, pool, collect, &got), -EINVAL);
	pkt_free(in);
	/* §4.5: M set and a length that is not a multiple of 8 */
	in = mk6(0, fragh(17, 0, true, 1), 201);
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), -EINVAL);
	pkt_free(in);
	/* the same length without M is a last fragment, fine */
	in = mk6(0, fragh(17, 0, false, 1), 201);
	cr_assert_eq(ipfrag_split6(in, 100, 1, pool, collect, &got), 5);
	check_pieces6(in, 100, 17, 1, 0, false, 201);
	free_got();
	pkt_free(in);
	cr_assert_eq(got.n, 0);
}

Test(ipfrag, split6_data_past_65535_is_malformed)
{
	/* 64000 + 1535 ends the 65535-byte payload exactly; 64000 + 1536 would not fit */
	struct pkt *ok = mk6(0, fragh(17, 64000, false, 3), 1535),
		   *bad = mk6(0, fragh(17, 64000, false, 3), 1536);

	cr_assert_eq(ipfrag_split6(ok, 1280, 1, pool, collect, &got), 2);
	check_pieces6(ok, 1280, 17, 3, 64000, false, 1535);
	free_got();
	cr_assert_eq(ipfrag_split6(bad, 1280, 1, pool, collect, &got), -EINVAL);
	cr_assert_eq(got.n, 0);
	pkt_free(ok);
	pkt_free(bad);
}

Test(ipfrag, split6_pool_too_small_emits_nothing)
{
	struct pkt_pool *tiny = pkt_pool_new(2, CAP), *narrow = pkt_pool_new(8, 500);
	struct pkt *in = mk6(17, NULL, 2960), *hold;
	struct pkt_pool_info info;

	cr_assert(tiny && narrow);
	/* two pkts for three fragments */
	cr_assert_eq(ipfrag_split6(in, 1280, 1, tiny, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0, "nothing emitted");
	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 0, "every pkt back in the pool");
	cr_assert_eq(info.alloc_failures, 1);

	/* three in the pool but one held elsewhere */
	pkt_pool_free(tiny);
	tiny = pkt_pool_new(3, CAP);
	hold = pkt_alloc(tiny);
	cr_assert_eq(ipfrag_split6(in, 1280, 1, tiny, collect, &got), -ENOBUFS);
	cr_assert_eq(got.n, 0);
	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 1);
	pkt_free(hold);
	cr_assert_eq(ipfrag_split6(in, 1280, 1, tiny, collect, &got), 3, "enough once it is back");
	free_got();

	/* buffers of 500 + 64 bytes of tailroom hold no 1280-byte fragment, nor one of 600 */
	cr_assert_eq(ipfrag_split6(in, 1280, 1, narrow, collect, &got), -ENOBUFS);
	cr_assert_eq(ipfrag_split6(in, 600, 1, narrow, collect, &got), -ENOBUFS);
	cr_assert_eq(ipfrag_split6(in, 572, 1, narrow, collect, &got), -ENOBUFS, "48 + 520");
	cr_assert_eq(got.n, 0);
	pkt_pool_info(narrow, &info);
	cr_assert_eq(info.in_use, 0);
	/* but 48 + 512 do fit: six of them */
	cr_assert_eq(ipfrag_split6(in, 564, 1, narrow, collect, &got), 6);
	check_pieces6(in, 564, 17, 1, 0, false, 2960);
	free_got();

	pkt_pool_info(tiny, &info);
	cr_assert_eq(info.in_use, 0);
	pkt_pool_free(tiny);
	pkt_pool_free(narrow);
	pkt_free(in);
}

Test(ipfrag, split6_emit_owns_each_fragment)
{
	struct pkt *in = mk6(17, NULL, 2960);
	int n = 0;

	cr_assert_eq(ipfrag_split6(in, 1280, 1, pool, drop, &n), 3);
	cr_assert_eq(n, 3);
	pkt_free(in);
}
