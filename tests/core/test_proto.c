/*
 * Tests for core/proto (spec yggdrasil-link-routing.md §2.4, §3.1, §4, §11), part 1: the
 * deterministic frames of §11 rebuilt from the test seeds (selftest.py in C) and found byte for
 * byte in the streams real yggdrasil 0.5.12 daemons sent (tests/data/vectors/, copied from
 * vectors-link), then malformed input: unknown types, N == 0, oversize, bloom flags, uvarints,
 * paths, preimage bounds and the strict meta TLV rules. Whole captured streams, the fields an
 * independent decoder read from them, and truncation of every frame are in test_proto_frames.c.
 */
#include "core/addr.h"
#include "core/bloom.h"
#include "core/proto.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "lib/wire.h"
#include "support/hex.h"
#include "support/speckeys.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

enum { BUF = 4096, MAX_STREAMS = 8, MAX_FRAMES = 64 };

/* ---- helpers ---- */

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(proto, .init = setup);

/* The keypair of a test key; keys_from_hex wants seed || pub and checks they agree. */
static struct keypair *kp_of(char name)
{
	const struct ts_spec_key *k = ts_spec_key(name);
	uint8_t seed[32];
	char hex[129];
	struct keypair *kp;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(k->first + i);
	th_hex(seed, 32, hex);
	memcpy(hex + 64, k->pub, 65);
	kp = keys_from_hex(hex, NULL);
	cr_assert_not_null(kp);
	return kp;
}

/* uvarint(len) || type || body as on the stream, from an encoder's output. */
static size_t with_len(const uint8_t *frame, size_t n, uint8_t *out, size_t cap)
{
	struct wire_wr wr;

	wire_wr_init(&wr, out, cap);
	wire_put_uvarint(&wr, n);
	wire_put_bytes(&wr, frame, n);
	cr_assert(wire_wr_ok(&wr));
	return wr.len;
}

static void assert_frame_hex(const struct wire_wr *wr, const char *want_hex, const char *what)
{
	uint8_t got[BUF], want[BUF];
	size_t gn, wn = ts_unhex(want_hex, want, sizeof(want));

	cr_assert(wire_wr_ok(wr), "%s: encoder overflow", what);
	gn = with_len(wr->p, wr->len, got, sizeof(got));
	ts_assert_bytes(got, gn, want, wn, what);
}

/* ---- §11 frames rebuilt from the seeds (selftest.py) ---- */

/* ---- the captured streams (captured-streams.txt: "name: hex" lines) ---- */

/* True if the stream called name contains frame[0..n). */
static bool stream_has(const char *name, const uint8_t *frame, size_t n)
{
	char *buf = th_read_file(VECTORS "captured-streams.txt", NULL), *line, *save = NULL;
	bool found = false;

	cr_assert_not_null(buf);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t nl = strlen(name), hl;
		uint8_t *b;

		if (strncmp(line, name, nl) != 0 || line[nl] != ':')
			continue;
		hl = strlen(line + nl + 1);
		b = malloc(hl / 2 + 1);
		hl = ts_unhex(line + nl + 1, b, hl / 2 + 1);
		found = memmem(b, hl, frame, n) != NULL;
		free(b);
	}
	free(buf);
	return found;
}

static void assert_in_stream(const struct wire_wr *wr, const char *stream)
{
	uint8_t f[BUF];
	size_t n = with_len(wr->p, wr->len, f, sizeof(f));

	cr_assert(stream_has(stream, f, n), "frame not found in %s", stream);
}

static void meta_of(char name, uint8_t prio, const char *password, uint8_t out[PROTO_META_LEN])
{
	struct keypair *kp = kp_of(name);
	struct proto_meta m = {.major = 0, .minor = 5, .priority = prio};
	uint8_t d[64];

	keys_public(kp, m.key);
	cr_assert(hash_meta_digest(password, m.key, d));
	sign_detached(kp, d, sizeof(d), m.sig);
	proto_meta_encode(out, &m);
	keys_free(kp);
}

Test(proto, seed_metas)
{
	uint8_t got[PROTO_META_LEN], want[PROTO_META_LEN];

	meta_of('B', 0, NULL, got);
	ts_unhex("6d657461 0075 0000 0002 0000 0001 0002 0005 0002 0020"
	      "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7 0003 0001 00"
	      "ebccd3e77d07fb4ed9834cd79e17cbb4eaab98c45eb5ed516359ddd58a890d52"
	      "0e332299e378eca19d3b83c2116d6a31df6b96d6ddc87e7c329de6a1f6353f0d",
	      want, sizeof(want));
	ts_assert_bytes(got, sizeof(got), want, sizeof(want), "meta B");
	cr_assert(stream_has("run1 B->A", got, sizeof(got)));
	meta_of('A', 0, NULL, got);
	cr_assert(stream_has("run1 A->B", got, sizeof(got)));
	meta_of('B', 3, "hunter2", got);
	cr_assert_eq(got[PROTO_META_LEN - 65], 3);
	cr_assert(stream_has("run2 B->A", got, sizeof(got)));
	meta_of('A', 2, "hunter2", got);
	cr_assert(stream_has("run2 A->B", got, sizeof(got)));
	meta_of('C', 0, NULL, got);
	cr_assert(stream_has("chain C->B", got, sizeof(got)));
}

Test(proto, seed_sigreq_sigres)
{
	struct keypair *a = kp_of('A'), *b = kp_of('B');
	uint8_t ka[32], kb[32], pre[94], buf[BUF];
	struct proto_sigreq rq = {.seq = 2, .nonce = 12145589019528732728ULL};
	struct proto_sigres rs = {.seq = 2, .nonce = 11764014675478157507ULL, .port = 1};
	struct wire_wr wr;
	size_t n;

	keys_public(a, ka);
	keys_public(b, kb);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_sigreq_encode(&wr, &rq);
	assert_frame_hex(&wr, "0c0202b8c094c7cf9bf3c6a801", "SigReq A->B");

	/* psig = Sign_A(B || A || 02 || c3b1eec2cda08ba1a301 || 01), §11. */
	n = proto_sig_preimage(pre, kb, ka, rs.seq, rs.nonce, rs.port);
	cr_assert_eq(n, 32 + 32 + 1 + 10 + 1);
	ts_assert_bytes(pre + 64, n - 64,
		     (const uint8_t *)"\x02\xc3\xb1\xee\xc2\xcd\xa0\x8b\xa1\xa3\x01\x01", 12,
		     "preimage tail");
	sign_detached(a, pre, n, rs.psig);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_sigres_encode(&wr, &rs);
	assert_frame_hex(&wr,
			 "4d0302c3b1eec2cda08ba1a30101"
			 "5079464ac92ab8002d2d7bc37c2c2f74b358ea62e169ea0fb3127b954ad53462"
			 "7593a9b54673de2845dc7e5bef973d409e1174034d1a1d392d5d190980f7de05",
			 "SigRes A->B");
	assert_in_stream(&wr, "run1 A->B");

	/* And B's answer to A's request: node = A, parent = B. */
	rs.nonce = rq.nonce;
	n = proto_sig_preimage(pre, ka, kb, rs.seq, rs.nonce, rs.port);
	sign_detached(b, pre, n, rs.psig);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_sigres_encode(&wr, &rs);
	assert_in_stream(&wr, "run1 B->A");
	keys_free(a);
	keys_free(b);
}

Test(proto, seed_announces)
{
	struct keypair *a = kp_of('A'), *b = kp_of('B');
	struct proto_announce an = {.seq = 1, .nonce = 2591935916302609934ULL, .port = 0};
	uint8_t pre[94], buf[BUF], want[BUF], got[BUF];
	struct wire_wr wr;
	size_t n, wn, gn;

	/* Root A: key = parent = A, port 0, sig = psig. */
	keys_public(a, an.key);
	keys_public(a, an.parent);
	n = proto_sig_preimage(pre, an.key, an.parent, an.seq, an.nonce, an.port);
	sign_detached(a, pre, n, an.psig);
	sign_detached(a, pre, n, an.sig);
	cr_assert_eq(memcmp(an.sig, an.psig, 64), 0);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_announce_encode(&wr, &an);
	gn = with_len(buf, wr.len, got, sizeof(got));
	cr_assert_eq(gn, 206);
	/* cc01 04 || A || A || 01 8edcac9ebbff99fc23 00 || sig || sig */
	wn = ts_unhex("cc0104", want, sizeof(want));
	memcpy(want + wn, an.key, 32);
	memcpy(want + wn + 32, an.key, 32);
	wn += 64;
	wn += ts_unhex("018edcac9ebbff99fc2300", want + wn, sizeof(want) - wn);
	memcpy(want + wn, an.sig, 64);
	memcpy(want + wn + 64, an.sig, 64);
	wn += 128;
	ts_assert_bytes(got, gn, want, wn, "Announce A root");
	assert_in_stream(&wr, "run1 A->B");

	/* B, child of A: psig by A, sig by B, over the same preimage. */
	an = (struct proto_announce){.seq = 2, .nonce = 11764014675478157507ULL, .port = 1};
	keys_public(b, an.key);
	keys_public(a, an.parent);
	n = proto_sig_preimage(pre, an.key, an.parent, an.seq, an.nonce, an.port);
	sign_detached(a, pre, n, an.psig);
	sign_detached(b, pre, n, an.sig);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_announce_encode(&wr, &an);
	gn = with_len(buf, wr.len, got, sizeof(got));
	cr_assert_eq(gn, 207);
	cr_assert_eq(got[0], 0xcd);
	cr_assert_eq(got[1], 0x01);
	assert_in_stream(&wr, "run1 B->A");
	keys_free(a);
	keys_free(b);
}

Test(proto, seed_lookup_partial_key)
{
	struct proto_lookup lk = {.from = {.len = 1, .port = {1}}};
	uint8_t ka[32], addr[16], mask[32], buf[BUF], want[32];
	struct wire_wr wr;

	ts_spec_pub('B', lk.source);
	ts_spec_pub('A', ka);
	/* The partial key of A recovered from its IPv6 address (unknown low bits are 1). */
	addr_from_key(ka, addr);
	addr_partial_key(addr, sizeof(addr), lk.dest, mask);
	memset(want, 0xff, sizeof(want));
	ts_unhex("03a107bff3ce10be1d70dd18e74bc1", want, 15);
	ts_assert_bytes(lk.dest, 32, want, 32, "partial key of A");
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_lookup_encode(&wr, &lk);
	cr_assert(wire_wr_ok(&wr));
	cr_assert_eq(wr.len, 1 + 64 + 2);
	cr_assert_eq(buf[wr.len - 2], 0x01);
	cr_assert_eq(buf[wr.len - 1], 0x00);
	assert_in_stream(&wr, "run1 B->A");
}

Test(proto, seed_notify)
{
	struct keypair *a = kp_of('A'), *b = kp_of('B');
	struct proto_notify nt = {
	    .path = {.len = 1, .port = {1}},
	    .watermark = 1,
	    .info_seq = 1795675959,
	};
	uint8_t pre[64], buf[BUF];
	struct wire_wr wr;
	size_t n;

	keys_public(a, nt.source);
	keys_public(b, nt.dest);
	/* Signed: uv(seq) || path incl. its 00 (§4.6): b7ae9fd806 00. */
	n = proto_notify_preimage(pre, sizeof(pre), nt.info_seq, &nt.info_path);
	ts_assert_bytes(pre, n, (const uint8_t *)"\xb7\xae\x9f\xd8\x06\x00", 6, "notify preimage");
	sign_detached(a, pre, n, nt.info_sig);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_notify_encode(&wr, &nt);
	assert_in_stream(&wr, "run1 A->B");

	/* B -> A: path [], coords [1]. */
	nt.path.len = 0;
	nt.info_path = (struct proto_path){.len = 1, .port = {1}};
	keys_public(b, nt.source);
	keys_public(a, nt.dest);
	n = proto_notify_preimage(pre, sizeof(pre), nt.info_seq, &nt.info_path);
	cr_assert_eq(n, 7);
	sign_detached(b, pre, n, nt.info_sig);
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_notify_encode(&wr, &nt);
	assert_in_stream(&wr, "run1 B->A");
	/* A short buffer gives 0. */
	cr_assert_eq(proto_notify_preimage(pre, 6, nt.info_seq, &nt.info_path), 0);
	keys_free(a);
	keys_free(b);
}

static void bloom_of(const char *names, struct wire_wr *wr, uint8_t *buf, size_t cap)
{
	struct bloom b;

	bloom_clear(&b);
	for (; *names; names++) {
		uint8_t k[32];

		ts_spec_pub(*names, k);
		bloom_add_key(&b, k);
	}
	wire_wr_init(wr, buf, cap);
	proto_bloom_encode(wr, &b);
	cr_assert(wire_wr_ok(wr));
}

Test(proto, seed_blooms_and_keepalive)
{
	uint8_t buf[BUF];
	struct wire_wr wr;

	bloom_of("", &wr, buf, sizeof(buf));
	assert_frame_hex(&wr,
			 "2105 ffffffffffffffffffffffffffffffff 00000000000000000000000000000000",
			 "empty bloom");
	assert_in_stream(&wr, "run1 A->B");
	bloom_of("A", &wr, buf, sizeof(buf));
	assert_frame_hex(&wr,
			 "6105 fbfffffffffffffffffffeeffcfbfbbf 00000000000000000000000000000000"
			 "0000000000010000 0000000000020000 0040000000000000 0200000000000000"
			 "0000000000000400 0010000000000000 0000010000000000 0000000000000100",
			 "bloom {A}");
	assert_in_stream(&wr, "run1 A->B");
	bloom_of("B", &wr, buf, sizeof(buf));
	assert_in_stream(&wr, "run1 B->A");
	bloom_of("BC", &wr, buf, sizeof(buf));
	assert_in_stream(&wr, "chain B->A");
	bloom_of("AB", &wr, buf, sizeof(buf));
	assert_in_stream(&wr, "chain B->C");
	wire_wr_init(&wr, buf, sizeof(buf));
	proto_keepalive_encode(&wr);
	assert_frame_hex(&wr, "0101", "keepalive");
}

/* ---- malformed input ---- */

Test(proto, frame_level_rejects)
{
	uint8_t f[4] = {0};
	uint8_t *big;

	cr_assert_not(proto_frame_is_valid(f, 0)); /* N == 0 */
	for (unsigned t = PROTO_TYPE_COUNT; t < 256; t++) {
		f[0] = (uint8_t)t;
		cr_assert_not(proto_frame_is_valid(f, 1), "type %u", t);
		cr_assert_str_eq(proto_type_name(t), "unknown");
	}
	/* Dummy and KeepAlive bodies are ignored by Go, whatever they hold. */
	f[0] = PROTO_DUMMY;
	cr_assert(proto_frame_is_valid(f, 4));
	f[0] = PROTO_KEEPALIVE;
	cr_assert(proto_frame_is_valid(f, 1));
	cr_assert(proto_frame_is_valid(f, 3));
	/* Size limit (§3.1): a Traffic frame of exactly 131070 bytes passes, one more does not. */
	big = calloc(1, PROTO_FRAME_MAX + 1);
	big[0] = PROTO_TRAFFIC;
	cr_assert(proto_frame_is_valid(big, PROTO_FRAME_MAX));
	cr_assert_not(proto_frame_is_valid(big, PROTO_FRAME_MAX + 1));
	free(big);
	/* Bodies shorter than any valid one. */
	for (unsigned t = PROTO_SIGREQ; t < PROTO_TYPE_COUNT; t++) {
		f[0] = (uint8_t)t;
		cr_assert_not(proto_frame_is_valid(f, 1), "%s with no body", proto_type_name(t));
	}
}

static bool sigreq_hex(const char *hex, struct proto_sigreq *r)
{
	uint8_t b[64];
	size_t n = ts_unhex(hex, b, sizeof(b));
	uint8_t *copy = malloc(n ? n : 1);
	bool ok;

	memcpy(copy, b, n);
	ok = proto_sigreq_decode(copy, n, r);
	free(copy);
	return ok;
}

Test(proto, uvarint_limits)
{
	struct proto_sigreq r;

	/* 2^64 - 1 is the largest: ff x9 01. */
	cr_assert(sigreq_hex("ffffffffffffffffff01 00", &r));
	cr_assert_eq(r.seq, UINT64_MAX);
	cr_assert_eq(r.nonce, 0);
	/* Overflow in the tenth byte, eleven bytes, and an unterminated varint. */
	cr_assert_not(sigreq_hex("ffffffffffffffffff02 00", &r));
	cr_assert_not(sigreq_hex("ffffffffffffffffffff01 00", &r));
	cr_assert_not(sigreq_hex("01 80", &r));
	/* Go accepts a non-minimal encoding; we re-encode it minimally. */
	cr_assert(sigreq_hex("8100 00", &r));
	cr_assert_eq(r.seq, 1);
	cr_assert_not(sigreq_hex("01 01 00", &r)); /* trailing */
}

Test(proto, bloom_rejects)
{
	uint8_t b[32 + 8 * 2 + 1] = {0};
	struct bloom f;

	/* Empty filter, then word 0 flagged both zero and all-ones. */
	memset(b, 0xff, 16);
	memset(b + 16, 0, 16);
	cr_assert(proto_bloom_decode(b, 32, &f));
	cr_assert(bloom_is_empty(&f));
	b[16] = 0x80;
	cr_assert_not(proto_bloom_decode(b, 32, &f));
	/* Word 0 all ones via flags1 only. */
	b[0] = 0x7f;
	cr_assert(proto_bloom_decode(b, 32, &f));
	cr_assert_eq(f.w[0], UINT64_MAX);
	cr_assert_eq(f.w[1], 0);
	/* Words 0 and 1 explicit: missing, present, leftover. */
	b[0] = 0x3f;
	b[16] = 0;
	memset(b + 32, 0, 16);
	b[39] = 0x01;
	b[47] = 0xff;
	cr_assert_not(proto_bloom_decode(b, 40, &f));
	cr_assert(proto_bloom_decode(b, 48, &f));
	cr_assert_eq(f.w[0], 1);
	cr_assert_eq(f.w[1], 0xff);
	cr_assert_not(proto_bloom_decode(b, 49, &f));
	/* An explicit zero word is accepted (as Go does) and re-encoded flagged. */
	b[39] = 0;
	cr_assert(proto_bloom_decode(b, 48, &f));
	cr_assert_eq(f.w[0], 0);
	cr_assert_not(proto_bloom_decode(b, 31, &f));
}

/* A PathLookup body with a from-path of n ports (all 1). */
static size_t lookup_with_path(uint8_t *b, size_t cap, size_t nports)
{
	struct wire_wr wr;

	wire_wr_init(&wr, b, cap);
	for (int i = 0; i < 64; i++)
		wire_put_u8(&wr, (uint8_t)i);
	for (size_t i = 0; i < nports; i++)
		wire_put_u8(&wr, 1);
	wire_put_u8(&wr, 0);
	cr_assert(wire_wr_ok(&wr));
	return wr.len;
}

Test(proto, path_depth_and_terminator)
{
	uint8_t b[512], out[512];
	struct proto_lookup *lk = malloc(sizeof(*lk));
	struct wire_wr wr;
	size_t n = lookup_with_path(b, sizeof(b), PROTO_PATH_MAX);

	cr_assert(proto_lookup_decode(b, n, lk));
	cr_assert_eq(lk->from.len, PROTO_PATH_MAX);
	wire_wr_init(&wr, out, sizeof(out));
	proto_lookup_encode(&wr, lk);
	ts_assert_bytes(out + 1, wr.len - 1, b, n, "deepest path round trip");
	n = lookup_with_path(b, sizeof(b), PROTO_PATH_MAX + 1);
	cr_assert_not(proto_lookup_decode(b, n, lk));
	/* The decoder stops at the first zero: a second 00 is a trailing byte. */
	n = lookup_with_path(b, sizeof(b), 1);
	b[n] = 0;
	cr_assert(proto_lookup_decode(b, n, lk));
	cr_assert_not(proto_lookup_decode(b, n + 1, lk));
	/* A non-minimal zero (80 00) still terminates; the re-encoding is canonical. */
	b[n - 1] = 0x80;
	b[n] = 0x00;
	cr_assert(proto_lookup_decode(b, n + 1, lk));
	cr_assert_eq(lk->from.len, 1);
	free(lk);
}

Test(proto, path_cursor_and_encoder_errors)
{
	uint8_t b[16] = {0x05, 0x81}, out[16];
	struct proto_path p = {.len = 2, .port = {3, 0}}, q;
	struct wire_rd rd;
	struct wire_wr wr;

	/* A failed decode leaves the cursor where it was. */
	wire_rd_init(&rd, b, 2);
	cr_assert_not(proto_path_decode(&rd, &q));
	cr_assert_eq(rd.off, 0);
	b[2] = 0x01;
	b[3] = 0x00;
	wire_rd_init(&rd, b, 4);
	cr_assert(proto_path_decode(&rd, &q));
	cr_assert_eq(rd.off, 4);
	cr_assert_eq(q.len, 2);
	cr_assert_eq(q.port[1], 129);
	/* Encoders refuse what would not decode: a zero port, an over-long path. */
	wire_wr_init(&wr, out, sizeof(out));
	proto_path_encode(&wr, &p);
	cr_assert_not(wire_wr_ok(&wr));
	p.len = PROTO_PATH_MAX + 1;
	wire_wr_init(&wr, out, sizeof(out));
	proto_path_encode(&wr, &p);
	cr_assert_not(wire_wr_ok(&wr));
	/* Equality looks at len ports only. */
	p = (struct proto_path){.len = 1, .port = {3, 7}};
	q = (struct proto_path){.len = 1, .port = {3, 9}};
	cr_assert(proto_path_equal(&p, &q));
	q.len = 2;
	cr_assert_not(proto_path_equal(&p, &q));
}

Test(proto, traffic_payload)
{
	uint8_t b[256];
	struct proto_traffic *t = malloc(sizeof(*t));
	struct wire_wr wr;
	size_t hdr;

	memset(t, 0, sizeof(*t));
	t->path.len = 1;
	t->path.port[0] = 2;
	t->watermark = UINT64_MAX;
	memset(t->source, 0x11, 32);
	memset(t->dest, 0x22, 32);
	wire_wr_init(&wr, b, sizeof(b));
	proto_traffic_encode_header(&wr, t);
	cr_assert(wire_wr_ok(&wr));
	hdr = wr.len - 1;
	cr_assert_eq(hdr, 2 + 1 + 64 + 10);
	/* Empty payload is a valid Traffic frame. */
	cr_assert(proto_traffic_decode(b + 1, hdr, t));
	cr_assert_eq(t->payload_len, 0);
	cr_assert_eq(t->header_len, hdr);
	wire_put_bytes(&wr, "\x03hello", 6);
	cr_assert(proto_traffic_decode(b + 1, wr.len - 1, t));
	cr_assert_eq(t->payload_len, 6);
	cr_assert_eq(t->payload, b + 1 + hdr);
	cr_assert_eq(memcmp(t->payload, "\x03hello", 6), 0);
	cr_assert_eq(t->watermark, UINT64_MAX);
	free(t);
}

Test(proto, sig_preimage_bounds)
{
	uint8_t k[32], p[32], out[94];
	size_t n;

	memset(k, 1, sizeof(k));
	memset(p, 2, sizeof(p));
	n = proto_sig_preimage(out, k, p, UINT64_MAX, UINT64_MAX, UINT64_MAX);
	cr_assert_eq(n, 94);
	cr_assert_eq(memcmp(out, k, 32), 0);
	cr_assert_eq(memcmp(out + 32, p, 32), 0);
	cr_assert_eq(out[93], 0x01);
	n = proto_sig_preimage(out, k, p, 0, 0, 0);
	cr_assert_eq(n, 67);
}

/* ---- meta (§2.4, strict as 0.5.14, §10) ---- */

static bool meta_body(const char *tlv_hex, struct proto_meta *m)
{
	uint8_t b[512];
	size_t n = ts_unhex(tlv_hex, b, sizeof(b) - 64);
	uint8_t *copy = malloc(n + 64);
	bool ok;

	memset(b + n, 0x5a, 64); /* signature */
	memcpy(copy, b, n + 64);
	ok = proto_meta_decode(copy, n + 64, m);
	free(copy);
	return ok;
}

#define KEY_TLV "0002 0020 2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"

Test(proto, meta_header)
{
	uint8_t h[6] = {'m', 'e', 't', 'a', 0, 117};

	cr_assert_eq(proto_meta_header(h), 117);
	h[5] = 64;
	cr_assert_eq(proto_meta_header(h), 64);
	h[5] = 63;
	cr_assert_eq(proto_meta_header(h), -1);
	h[4] = 0xff;
	h[5] = 0xff;
	cr_assert_eq(proto_meta_header(h), 65535);
	h[0] = 'M';
	cr_assert_eq(proto_meta_header(h), -1);
}

Test(proto, meta_decode_strict)
{
	struct proto_meta m;

	cr_assert(meta_body("0000 0002 0000 0001 0002 0005" KEY_TLV "0003 0001 07", &m));
	cr_assert_eq(m.minor, 5);
	cr_assert_eq(m.priority, 7);
	cr_assert_eq(m.key[0], 0x25);
	cr_assert_eq(m.sig[0], 0x5a);
	/* Only the key is required; missing versions read 0 (the caller's check fails them). */
	cr_assert(meta_body(KEY_TLV, &m));
	cr_assert_eq(m.major, 0);
	cr_assert_eq(m.minor, 0);
	cr_assert_eq(m.priority, 0);
	cr_assert_not(meta_body("0000 0002 0000 0001 0002 0005", &m)); /* no key */
	cr_assert_not(meta_body("", &m));
	/* Unknown types are skipped, whatever their length; the last occurrence wins. */
	cr_assert(meta_body("0009 0003 aabbcc" KEY_TLV "0001 0002 0004 0001 0002 0006", &m));
	cr_assert_eq(m.minor, 6);
	/* Wrong lengths of known TLVs. */
	cr_assert_not(meta_body("0000 0003 000000" KEY_TLV, &m));
	cr_assert_not(meta_body(KEY_TLV "0003 0002 0000", &m));
	cr_assert_not(meta_body(
	    "0002 001f 2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca955", &m));
	/* A TLV that overruns the area before the signature. */
	cr_assert_not(meta_body(KEY_TLV "0009 0005 aabb", &m));
	/* 1..3 stray bytes after the TLVs. */
	cr_assert_not(meta_body(KEY_TLV "00", &m));
	cr_assert_not(meta_body(KEY_TLV "000300", &m));
	/* Shorter than a signature. */
	cr_assert_not(proto_meta_decode((const uint8_t *)"x", 1, &m));
}

Test(proto, meta_encode_layout)
{
	struct proto_meta m = {.major = 0, .minor = 5, .priority = 255}, back;
	uint8_t out[PROTO_META_LEN];

	memset(m.key, 0xab, 32);
	memset(m.sig, 0xcd, 64);
	proto_meta_encode(out, &m);
	cr_assert_eq(memcmp(out, "meta\x00\x75", 6), 0);
	cr_assert_eq(out[PROTO_META_LEN - 65], 255);
	cr_assert_eq(proto_meta_header(out), 117);
	cr_assert(proto_meta_decode(out + 6, 117, &back));
	cr_assert_eq(back.major, 0);
	cr_assert_eq(back.minor, 5);
	cr_assert_eq(back.priority, 255);
	cr_assert_eq(memcmp(back.key, m.key, 32), 0);
	cr_assert_eq(memcmp(back.sig, m.sig, 64), 0);
}
