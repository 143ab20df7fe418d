/*
 * Tests for crypto/box (spec yggdrasil-sessions-core-admin.md §1, §2.3, §2.4):
 * - the fixed-input INIT and TRAFFIC of session-vectors-demo.txt, byte for byte;
 * - every INIT/ACK captured between real 0.5.12 nodes (decode-*.txt) opens and verifies with
 *   the recipient's key and gives the decoded fields; tampering, a wrong sender or recipient
 *   fails;
 * - B's TRAFFIC from the relay run (mitm-link.1.s2c.bin) opens with the relay's keys, nonce
 *   16 x 00 || BE64(n), and holds B's next key and B's ICMPv6 echo request;
 * - in-place seal/open round trips, nonce and key separation, the small-order refusals;
 * - box_seal gives libsodium's crypto_box_easy_afternm bytes for every size class of salsa.c
 *   and poly.c (short, the four-wide tail, the wide runs, both sides of POLY_WIDE_MIN).
 * Vectors: tests/data/vectors/session/ (copied from shared/spec/vectors-core, see README.md).
 */
#include "crypto/box.h"
#include "crypto/keys.h"
#include "crypto/poly.h"
#include "lib/wire.h"
#include "support/hex.h"

#include <criterion/criterion.h>
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC YGG64_TEST_DATA "/vectors/session/"

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(box, .init = setup);

/* ---- vector file helpers ---- */

static char *slurp(const char *name)
{
	char *s = th_read_file(name, NULL);

	cr_assert_not_null(s, "cannot read %s", name);
	return s;
}

/* The hex after prefix on the first line of text starting with prefix (after blanks). */
static long hex_after(const char *text, const char *prefix, uint8_t *out, size_t cap)
{
	const char *p = text;
	char buf[1024];

	while (p && *p) {
		const char *line = p, *eol = strchr(p, '\n');

		while (*line == ' ')
			line++;
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			size_t n = strcspn(line + strlen(prefix), " \n");

			cr_assert_lt(n, sizeof(buf));
			memcpy(buf, line + strlen(prefix), n);
			buf[n] = 0;
			return th_unhex(buf, out, cap);
		}
		p = eol ? eol + 1 : NULL;
	}
	cr_assert_fail("no line %s", prefix);
	return -1;
}

/* The node keypair of a .conf file (PrivateKey: 128 hex). */
static struct keypair *conf_key(const char *name)
{
	char *s = slurp(name), hex[129];
	const char *p = strstr(s, "PrivateKey: ");
	struct keypair *kp;

	cr_assert_not_null(p);
	memcpy(hex, p + 12, 128);
	hex[128] = 0;
	kp = keys_from_hex(hex, NULL);
	cr_assert_not_null(kp);
	free(s);
	return kp;
}

/* th_unhex of the n hex chars at p (not NUL-terminated). */
static long unhex_n(const char *p, size_t n, uint8_t *out, size_t cap)
{
	char buf[512];

	cr_assert_lt(n, sizeof(buf));
	memcpy(buf, p, n);
	buf[n] = 0;
	return th_unhex(buf, out, cap);
}

/* ---- session-vectors-demo.txt ---- */

Test(box, demo_init_bytes)
{
	char *d = slurp(VEC "session-vectors-demo.txt"), hex[129];
	uint8_t sk_a[64], sk_b[64], eph_sk[32], want[BOX_INIT_LEN], out[BOX_INIT_LEN];
	struct box_keypair eph, self_b;
	struct keypair *a, *b;
	struct box_init in, got;
	uint8_t pub_a[32], pub_b[32];

	cr_assert_eq(hex_after(d, "A (sender) sk=", sk_a, 64), 64);
	cr_assert_eq(hex_after(d, "B (recipient) sk=", sk_b, 64), 64);
	cr_assert_eq(hex_after(d, "ephemeral x25519 sk=", eph_sk, 32), 32);
	cr_assert_eq(hex_after(d, "current pk=", in.current, 32), 32);
	cr_assert_eq(hex_after(d, "next pk=", in.next, 32), 32);
	cr_assert_eq(hex_after(d, "INIT A->B (193 bytes)=", want, sizeof(want)), BOX_INIT_LEN);
	in.key_seq = 0;
	in.seq = 1700000000;
	th_hex(sk_a, 64, hex);
	a = keys_from_hex(hex, NULL);
	th_hex(sk_b, 64, hex);
	b = keys_from_hex(hex, NULL);
	cr_assert(a && b);
	keys_public(a, pub_a);
	keys_public(b, pub_b);

	box_keypair_from_secret(&eph, eph_sk);
	cr_assert(box_init_seal(a, pub_b, 1, &in, &eph, out));
	cr_assert_eq(memcmp(out, want, BOX_INIT_LEN), 0, "INIT bytes differ from the vector");

	cr_assert(box_keypair_from_node(&self_b, b));
	cr_assert(box_init_open(&self_b, pub_a, out, &got));
	cr_assert_eq(memcmp(got.current, in.current, 32), 0);
	cr_assert_eq(memcmp(got.next, in.next, 32), 0);
	cr_assert_eq(got.key_seq, 0);
	cr_assert_eq(got.seq, 1700000000);
	/* The wrong claimed sender fails the signature. */
	cr_assert_not(box_init_open(&self_b, pub_b, out, &got));
	box_keypair_wipe(&eph);
	box_keypair_wipe(&self_b);
	keys_free(a);
	keys_free(b);
	free(d);
}

Test(box, demo_traffic_bytes)
{
	char *d = slurp(VEC "session-vectors-demo.txt");
	uint8_t cur_sk[32], cur_pk[32], next_pk[32], b_sk[32], b_pk[32], want[128], buf[128];
	static const uint8_t msg[] = {0x01, 0x60, 0, 0, 0, 0, 0, 59, 64};
	struct box_keypair cur, bcur;
	struct box_shared k_ab, k_ba;
	long wlen;
	size_t hl = 5, mlen = 32 + sizeof(msg);

	cr_assert_eq(hex_after(d, "current sk=", cur_sk, 32), 32);
	cr_assert_eq(hex_after(d, "current pk=", cur_pk, 32), 32);
	cr_assert_eq(hex_after(d, "next pk=", next_pk, 32), 32);
	cr_assert_eq(hex_after(d, "B current sk=", b_sk, 32), 32);
	cr_assert_eq(hex_after(d, "B current pk=", b_pk, 32), 32);
	wlen = hex_after(d, "TRAFFIC bytes=", want, sizeof(want));
	cr_assert_eq(wlen, (long)(hl + 16 + mlen));

	box_keypair_from_secret(&cur, cur_sk);
	cr_assert_eq(memcmp(cur.pub, cur_pk, 32), 0, "x25519 base point mult");
	box_keypair_from_secret(&bcur, b_sk);
	cr_assert_eq(memcmp(bcur.pub, b_pk, 32), 0);

	/* 03 | uv(1) | uv(1) | uv(300) | tag | box(next pub || msg), nonce 300 */
	memcpy(buf, "\x03\x01\x01\xac\x02", hl);
	memcpy(buf + hl + 16, next_pk, 32);
	memcpy(buf + hl + 16 + 32, msg, sizeof(msg));
	cr_assert(box_precompute(&k_ab, b_pk, &cur));
	box_seal(&k_ab, 300, buf + hl, mlen);
	cr_assert_eq(memcmp(buf, want, (size_t)wlen), 0, "TRAFFIC bytes differ from the vector");

	/* B opens with DH(A's current pub, B's current secret), the same nonce, in place. */
	cr_assert(box_precompute(&k_ba, cur_pk, &bcur));
	cr_assert_not(box_open(&k_ba, 299, buf + hl, mlen));
	memcpy(buf, want, (size_t)wlen);
	cr_assert(box_open(&k_ba, 300, buf + hl, mlen));
	cr_assert_eq(memcmp(buf + hl + 16, next_pk, 32), 0);
	cr_assert_eq(memcmp(buf + hl + 16 + 32, msg, sizeof(msg)), 0);
	box_shared_wipe(&k_ab);
	box_shared_wipe(&k_ba);
	free(d);
}

/* ---- INIT/ACK captured between real 0.5.12 nodes ---- */

struct node {
	char name;
	uint8_t pub[32];
	struct keypair *kp;
	struct box_keypair x;
};

static void load_nodes(struct node nodes[3])
{
	char *keys = slurp(VEC "keys.txt");
	static const char names[3] = {'A', 'B', 'C'};

	for (int i = 0; i < 3; i++) {
		char conf[256], prefix[8];

		nodes[i].name = names[i];
		snprintf(conf, sizeof(conf), VEC "%c.conf", names[i]);
		snprintf(prefix, sizeof(prefix), "%c pub=", names[i]);
		nodes[i].kp = conf_key(conf);
		cr_assert_eq(hex_after(keys, prefix, nodes[i].pub, 32), 32);
		{
			uint8_t pub[32];

			keys_public(nodes[i].kp, pub);
			cr_assert_eq(memcmp(pub, nodes[i].pub, 32), 0, "conf key of %c", names[i]);
		}
		cr_assert(box_keypair_from_node(&nodes[i].x, nodes[i].kp));
	}
	free(keys);
}

static void free_nodes(struct node nodes[3])
{
	for (int i = 0; i < 3; i++) {
		keys_free(nodes[i].kp);
		box_keypair_wipe(&nodes[i].x);
	}
}

static struct node *node_by_prefix(struct node nodes[3], const char *hex8)
{
	uint8_t p[4];

	cr_assert_eq(th_unhex(hex8, p, 4), 4);
	for (int i = 0; i < 3; i++)
		if (memcmp(nodes[i].pub, p, 4) == 0)
			return &nodes[i];
	cr_assert_fail("no node %s", hex8);
	return NULL;
}

/* Opens every "raw payload" of a decode-*.txt file; returns how many. */
static int check_decode_file(const char *name, struct node nodes[3])
{
	char *text = slurp(name), *save = NULL;
	struct node *src = NULL, *dst = NULL;
	uint8_t raw[BOX_INIT_LEN + 1];
	int count = 0, type = 0, fields = 0;
	struct box_init got;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char s8[9], d8[9], ty[16];
		unsigned long long ks, sq;
		uint8_t v[32];

		if (sscanf(line,
			   "frame len=%*d path=%*s from=%*s src=%8s dst=%8s watermark=%*s "
			   "payload=%*s type=%15s",
			   s8, d8, ty) == 3) {
			src = node_by_prefix(nodes, s8);
			dst = node_by_prefix(nodes, d8);
			type = !strcmp(ty, "INIT") ? 1 : !strcmp(ty, "ACK") ? 2 : 0;
		} else if (strstr(line, "raw payload: ")) {
			cr_assert(type == 1 || type == 2);
			cr_assert_eq(th_unhex(strstr(line, ": ") + 2, raw, sizeof(raw)),
				     BOX_INIT_LEN);
			cr_assert_eq(raw[0], type);
			/* Opened with the recipient's key, verified with the header's source. */
			cr_assert(box_init_open(&dst->x, src->pub, raw, &got), "%s: %c->%c", name,
				  src->name, dst->name);
			count++;
			/* Not with another recipient, not as from another sender. */
			for (int i = 0; i < 3; i++) {
				struct box_init bad;

				if (&nodes[i] != dst)
					cr_assert_not(
					    box_init_open(&nodes[i].x, src->pub, raw, &bad));
				if (&nodes[i] != src)
					cr_assert_not(
					    box_init_open(&dst->x, nodes[i].pub, raw, &bad));
			}
		} else if (strncmp(line, "   current=", 11) == 0 && count) {
			cr_assert_eq(th_unhex(line + 11, v, 32), 32);
			cr_assert_eq(memcmp(v, got.current, 32), 0);
			fields++;
		} else if (strncmp(line, "   next=", 8) == 0 && count) {
			cr_assert_eq(th_unhex(line + 8, v, 32), 32);
			cr_assert_eq(memcmp(v, got.next, 32), 0);
			fields++;
		} else if (sscanf(line, " keySeq=%llu seq=%llu", &ks, &sq) == 2) {
			cr_assert_eq(got.key_seq, ks);
			cr_assert_eq(got.seq, sq);
			fields++;
		}
	}
	cr_assert_eq(fields, 3 * count, "every decoded field compared");
	free(text);
	return count;
}

Test(box, captured_init_ack_open_and_verify)
{
	struct node nodes[3];

	load_nodes(nodes);
	/* A->B INIT, A->B ACK, A->C INIT, A->C ACK; B->A ACK, C->A ACK (spec §2.7) */
	cr_assert_eq(check_decode_file(VEC "decode-A-to-B.txt", nodes), 4);
	cr_assert_eq(check_decode_file(VEC "decode-B-to-A.txt", nodes), 2);
	free_nodes(nodes);
}

Test(box, captured_init_tampered_bytes_fail)
{
	char *text = slurp(VEC "decode-A-to-B.txt");
	const char *p = strstr(text, "raw payload: ");
	struct node nodes[3];
	uint8_t raw[BOX_INIT_LEN];
	struct box_init got;

	load_nodes(nodes);
	cr_assert_not_null(p);
	cr_assert_eq(unhex_n(p + 13, 2 * BOX_INIT_LEN, raw, sizeof(raw)), BOX_INIT_LEN);
	cr_assert(box_init_open(&nodes[1].x, nodes[0].pub, raw, &got));
	/* Byte 0 (the type) is outside the box and not authenticated (§2.2); all others are. */
	for (size_t i = 1; i < BOX_INIT_LEN; i++) {
		raw[i] ^= 0x20;
		cr_assert_not(box_init_open(&nodes[1].x, nodes[0].pub, raw, &got), "byte %zu", i);
		for (size_t j = 0; j < sizeof(got); j++)
			cr_assert_eq(((uint8_t *)&got)[j], 0, "out zeroed on failure");
		raw[i] ^= 0x20;
	}
	raw[0] = 2;
	cr_assert(box_init_open(&nodes[1].x, nodes[0].pub, raw, &got));
	free_nodes(nodes);
	free(text);
}

/* ---- TRAFFIC of the relay run (§2.7) ---- */

struct bkey {
	uint8_t pub[32];
	char label[16];
};

Test(box, mitm_traffic_opens_with_relay_keys)
{
	size_t len;
	char *bin = th_read_file(VEC "mitm-link.1.s2c.bin", &len);
	char *jsonl = slurp(VEC "mitm-link.rewrites.jsonl"), *save = NULL;
	struct keypair *ka = conf_key(VEC "A.conf"), *kb = conf_key(VEC "B.conf");
	struct box_keypair proxies[8], xa;
	char proxy_of[8][9];
	struct bkey bkeys[16];
	size_t nproxy = 0, nb = 0;
	uint8_t pa[32], pb[32];
	struct wire_rd rd;
	uint16_t hl;
	int opened = 0, handshakes = 0;
	static const struct {
		uint64_t a, b, n;
		const char *key, *next;
	} want[] = {
	    {1, 1, 1, "B.next@0", "B.next@1"},
	    {1, 1, 2, "B.next@0", "B.next@1"},
	    {2, 1, 3, "B.next@1", "B.next@2"},
	    {2, 1, 4, "B.next@1", "B.next@2"},
	};
	/* B's and A's addresses (keys.txt): 201:705:f5a1:eff9:3bd0:4dea:1f2f:fe45, 200:2ac8:... */
	static const uint8_t addr_b[16] = {0x02, 0x01, 0x07, 0x05, 0xf5, 0xa1, 0xef, 0xf9,
					   0x3b, 0xd0, 0x4d, 0xea, 0x1f, 0x2f, 0xfe, 0x45};
	static const uint8_t addr_a[16] = {0x02, 0x00, 0x2a, 0xc8, 0xd9, 0x7f, 0x92, 0xa8,
					   0xde, 0x5a, 0x1c, 0x50, 0x50, 0xff, 0x0f, 0xa0};

	cr_assert_not_null(bin);
	keys_public(ka, pa);
	keys_public(kb, pb);
	cr_assert(box_keypair_from_node(&xa, ka));
	for (char *l = strtok_r(jsonl, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *pp = strstr(l, "\"proxy_priv\": \""),
			   *ra = strstr(l, "\"real_A_key\": \"");
		uint8_t sk[32];

		if (!pp)
			continue;
		cr_assert_lt(nproxy, 8);
		cr_assert_eq(unhex_n(pp + 15, 64, sk, 32), 32);
		box_keypair_from_secret(&proxies[nproxy], sk);
		snprintf(proxy_of[nproxy], sizeof(proxy_of[0]), "%.8s", ra + 15);
		nproxy++;
	}
	cr_assert_eq(nproxy, 3);

	/* "meta" || BE16 length || handshake, then uvarint-framed frames; type 9 is traffic. */
	wire_rd_init(&rd, bin, len);
	cr_assert(wire_skip(&rd, 4) && wire_get_u16(&rd, &hl) && wire_skip(&rd, hl));
	for (;;) {
		uint64_t flen, v, a, b, n;
		const uint8_t *fr, *src, *dst, *pl;
		struct wire_rd f;
		uint8_t type;
		size_t plen;

		if (!wire_get_uvarint(&rd, &flen) || !wire_get_span(&rd, flen, &fr))
			break;
		wire_rd_init(&f, fr, flen);
		cr_assert(wire_get_u8(&f, &type));
		if (type != 9)
			continue;
		for (int part = 0; part < 2; part++) /* path, from: uvarints ending in 0 */
			do
				cr_assert(wire_get_uvarint(&f, &v));
			while (v);
		cr_assert(wire_get_span(&f, 32, &src) && wire_get_span(&f, 32, &dst));
		cr_assert(wire_get_uvarint(&f, &v));
		plen = wire_remaining(&f);
		cr_assert(wire_get_span(&f, plen, &pl));
		if (memcmp(src, pb, 32) || memcmp(dst, pa, 32) || plen == 0)
			continue;
		if (pl[0] == 1 || pl[0] == 2) {
			/* B's own INIT/ACK to A's real key (the relay left them alone). */
			struct box_init in;

			cr_assert_eq(plen, BOX_INIT_LEN);
			cr_assert(box_init_open(&xa, pb, pl, &in));
			cr_assert_lt(nb + 2, 16);
			memcpy(bkeys[nb].pub, in.current, 32);
			snprintf(bkeys[nb++].label, 16, "B.cur@%llu",
				 (unsigned long long)in.key_seq);
			memcpy(bkeys[nb].pub, in.next, 32);
			snprintf(bkeys[nb++].label, 16, "B.next@%llu",
				 (unsigned long long)in.key_seq);
			handshakes++;
			continue;
		}
		cr_assert_eq(pl[0], 3);
		{
			struct wire_rd h;
			uint8_t buf[256];
			bool done = false;

			wire_rd_init(&h, pl + 1, plen - 1);
			cr_assert(wire_get_uvarint(&h, &a) && wire_get_uvarint(&h, &b) &&
				  wire_get_uvarint(&h, &n));
			cr_assert_lt(opened, 4);
			cr_assert_eq(a, want[opened].a);
			cr_assert_eq(b, want[opened].b);
			cr_assert_eq(n, want[opened].n);
			cr_assert_leq(plen - 1 - h.off, sizeof(buf));
			for (size_t i = 0; i < nb && !done; i++) {
				for (size_t j = 0; j < nproxy && !done; j++) {
					struct box_shared k;
					size_t clen = plen - 1 - h.off - BOX_TAG_LEN;
					const uint8_t *in = buf + BOX_TAG_LEN;
					const struct bkey *nx = NULL;

					memcpy(buf, pl + 1 + h.off, plen - 1 - h.off);
					box_precompute(&k, bkeys[i].pub, &proxies[j]);
					if (!box_open(&k, n, buf, clen))
						continue;
					done = true;
					cr_assert_str_eq(bkeys[i].label, want[opened].key);
					cr_assert_str_eq(proxy_of[j], "bff6ebf5");
					/* inner = B's next key || 01 || IPv6 echo request B -> A */
					cr_assert_eq(clen, 32 + 105);
					for (size_t m = 0; m < nb; m++)
						if (!memcmp(bkeys[m].pub, in, 32))
							nx = &bkeys[m];
					cr_assert_not_null(nx, "inner key is one B advertised");
					cr_assert_str_eq(nx->label, want[opened].next);
					cr_assert_eq(in[32], 0x01);
					cr_assert_eq(in[33] >> 4, 6);
					cr_assert_eq(in[33 + 6], 58);
					cr_assert_eq(memcmp(in + 33 + 8, addr_b, 16), 0);
					cr_assert_eq(memcmp(in + 33 + 24, addr_a, 16), 0);
					cr_assert_eq(in[33 + 40], 128);
					/* one bit off anywhere: no longer opens */
					memcpy(buf, pl + 1 + h.off, plen - 1 - h.off);
					buf[clen] ^= 1;
					cr_assert_not(box_open(&k, n, buf, clen));
				}
			}
			cr_assert(done, "TRAFFIC n=%llu did not open", (unsigned long long)n);
			opened++;
		}
	}
	cr_assert_eq(opened, 4);
	cr_assert_eq(handshakes, 4); /* INIT@0, ACK@1, ACK@2, ACK@3 */
	keys_free(ka);
	keys_free(kb);
	box_keypair_wipe(&xa);
	free(bin);
	free(jsonl);
}

/* ---- primitives ---- */

Test(box, seal_open_round_trip_in_place)
{
	static const size_t sizes[] = {0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 1000, 65535};
	struct box_keypair a, b;
	struct box_shared kab, kba, kother;
	uint8_t *buf = malloc(BOX_TAG_LEN + 65535), *ref = malloc(65535);

	box_keypair_generate(&a);
	box_keypair_generate(&b);
	cr_assert_neq(memcmp(a.pub, b.pub, 32), 0);
	cr_assert(box_precompute(&kab, b.pub, &a));
	cr_assert(box_precompute(&kba, a.pub, &b));
	cr_assert(box_precompute(&kother, a.pub, &a));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		for (size_t j = 0; j < n; j++)
			ref[j] = (uint8_t)(j * 31 + i);
		memcpy(buf + BOX_TAG_LEN, ref, n);
		box_seal(&kab, 1000 + i, buf, n);
		if (n >= 16)
			cr_assert_neq(memcmp(buf + BOX_TAG_LEN, ref, n), 0, "encrypted in place");
		/* Only the right key and nonce open it. */
		cr_assert_not(box_open(&kother, 1000 + i, buf, n));
		cr_assert_not(box_open(&kba, 1001 + i, buf, n));
		box_seal(&kab, 1000 + i, (memcpy(buf + BOX_TAG_LEN, ref, n), buf), n);
		cr_assert(box_open(&kba, 1000 + i, buf, n), "size %zu", n);
		cr_assert_eq(memcmp(buf + BOX_TAG_LEN, ref, n), 0, "size %zu", n);
	}
	free(buf);
	free(ref);
}

Test(box, seal_is_crypto_box_easy_afternm)
{
	static const size_t sizes[] = {
	    0,
	    1,
	    100,
	    224,
	    225,
	    1023,
	    1024,
	    1500,
	    POLY_WIDE_MIN - 1,
	    POLY_WIDE_MIN,
	    POLY_WIDE_MIN + 129,
	    4096 + 7,
	    65535,
	};
	static const uint64_t nonces[] = {0, 1, 0x0102030405060708ULL, UINT64_MAX};
	uint8_t pa[32], sa[32], pb[32], sb[32], kab[crypto_box_BEFORENMBYTES], n24[24] = {0};
	uint8_t *buf = malloc(BOX_TAG_LEN + 65535), *want = malloc(BOX_TAG_LEN + 65535);
	uint8_t *m = malloc(65535);
	struct box_keypair a;
	struct box_shared k;

	cr_assert(buf && want && m);
	crypto_box_keypair(pa, sa);
	crypto_box_keypair(pb, sb);
	box_keypair_from_secret(&a, sa);
	cr_assert_arr_eq(a.pub, pa, 32);
	cr_assert(box_precompute(&k, pb, &a));
	cr_assert_eq(crypto_box_beforenm(kab, pb, sa), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(nonces) / sizeof(nonces[0]); j++) {
			size_t n = sizes[i];

			randombytes_buf(m, n);
			for (int b = 0; b < 8; b++) /* §2.4: 16 zero bytes || BE64(nonce) */
				n24[16 + b] = (uint8_t)(nonces[j] >> (56 - 8 * b));
			cr_assert_eq(crypto_box_easy_afternm(want, m, n, n24, kab), 0);
			memcpy(buf + BOX_TAG_LEN, m, n);
			box_seal(&k, nonces[j], buf, n);
			cr_assert_arr_eq(buf, want, BOX_TAG_LEN + n, "size %zu nonce %zu", n, j);
			cr_assert(box_open(&k, nonces[j], buf, n));
			cr_assert_arr_eq(buf + BOX_TAG_LEN, m, n);
		}
	}
	free(buf);
	free(want);
	free(m);
}

Test(box, every_tampered_byte_fails)
{
	struct box_keypair a, b;
	struct box_shared k;
	uint8_t buf[BOX_TAG_LEN + 40], sealed[sizeof(buf)];

	box_keypair_generate(&a);
	box_keypair_generate(&b);
	box_precompute(&k, b.pub, &a);
	memset(buf, 0x5a, sizeof(buf));
	box_seal(&k, 7, buf, 40);
	memcpy(sealed, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++) {
		memcpy(buf, sealed, sizeof(buf));
		buf[i] ^= 0x01;
		cr_assert_not(box_open(&k, 7, buf, 40), "byte %zu", i);
	}
	memcpy(buf, sealed, sizeof(buf));
	cr_assert(box_open(&k, 7, buf, 40));
}

/* Nonce n is 16 zero bytes || BE64(n): counters that differ only in high bytes stay apart. */
Test(box, nonce_is_big_endian_counter)
{
	struct box_keypair a, b;
	struct box_shared k;
	static const uint64_t ns[] = {0, 1, 0x100, 1ull << 56, UINT64_MAX};
	uint8_t ct[5][BOX_TAG_LEN + 8];

	box_keypair_generate(&a);
	box_keypair_generate(&b);
	box_precompute(&k, b.pub, &a);
	for (int i = 0; i < 5; i++) {
		memset(ct[i] + BOX_TAG_LEN, 0, 8);
		box_seal(&k, ns[i], ct[i], 8);
		for (int j = 0; j < i; j++)
			cr_assert_neq(memcmp(ct[i], ct[j], sizeof(ct[i])), 0);
	}
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++) {
			uint8_t t[sizeof(ct[0])];

			memcpy(t, ct[i], sizeof(t));
			cr_assert_eq(box_open(&k, ns[j], t, 8), i == j);
		}
}

Test(box, node_keypair_and_fresh_init)
{
	struct keypair *a = keys_generate(), *b = keys_generate();
	struct box_keypair xb, cur, nxt;
	struct box_init in = {.key_seq = 42, .seq = 1795676043}, got;
	uint8_t pa[32], pb[32], xpub[32], m1[BOX_INIT_LEN], m2[BOX_INIT_LEN];

	keys_public(a, pa);
	keys_public(b, pb);
	cr_assert(box_keypair_from_node(&xb, b));
	cr_assert(keys_x25519_public(pb, xpub));
	cr_assert_eq(memcmp(xb.pub, xpub, 32), 0, "node X25519 pub is e2c(ed pub)");
	box_keypair_generate(&cur);
	box_keypair_generate(&nxt);
	memcpy(in.current, cur.pub, 32);
	memcpy(in.next, nxt.pub, 32);
	/* A fresh ephemeral key every time: same fields, different bytes, both open. */
	cr_assert(box_init_seal(a, pb, 2, &in, NULL, m1));
	cr_assert(box_init_seal(a, pb, 2, &in, NULL, m2));
	cr_assert_eq(m1[0], 2);
	cr_assert_neq(memcmp(m1 + 1, m2 + 1, 32), 0);
	cr_assert(box_init_open(&xb, pa, m1, &got));
	cr_assert(box_init_open(&xb, pa, m2, &got));
	cr_assert_eq(memcmp(&got.current, cur.pub, 32), 0);
	cr_assert_eq(memcmp(&got.next, nxt.pub, 32), 0);
	cr_assert_eq(got.key_seq, 42);
	cr_assert_eq(got.seq, 1795676043);
	keys_free(a);
	keys_free(b);
	box_keypair_wipe(&xb);
	for (size_t i = 0; i < sizeof(xb); i++)
		cr_assert_eq(((uint8_t *)&xb)[i], 0);
}

/* Keys only a malicious peer would send (§1 notes): refused, never a usable key. */
Test(box, small_order_points_refused)
{
	struct keypair *a = keys_generate();
	struct box_keypair mine, xa;
	struct box_shared k1, k2;
	struct box_init in = {.key_seq = 0, .seq = 1};
	uint8_t zero[32] = {0}, ident[32] = {1}, out[BOX_INIT_LEN], pa[32];
	uint8_t buf[BOX_TAG_LEN + 4] = {0};

	box_keypair_generate(&mine);
	cr_assert_not(box_precompute(&k1, zero, &mine));
	cr_assert_not(box_precompute(&k2, zero, &mine));
	/* The stand-in keys are random: what one seals the other cannot open. */
	box_seal(&k1, 1, buf, 4);
	cr_assert_not(box_open(&k2, 1, buf, 4));
	/* An Ed25519 identity point has no X25519 form: no INIT can be built for it. */
	memset(out, 0xff, sizeof(out));
	cr_assert_not(box_init_seal(a, ident, 1, &in, NULL, out));
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(out[i], 0);
	/* An INIT whose ephemeral key is zero cannot be opened. */
	keys_public(a, pa);
	cr_assert(box_keypair_from_node(&xa, a));
	cr_assert(box_init_seal(a, pa, 1, &in, NULL, out));
	cr_assert(box_init_open(&xa, pa, out, &(struct box_init){0}));
	memset(out + 1, 0, 32);
	cr_assert_not(box_init_open(&xa, pa, out, &(struct box_init){0}));
	keys_free(a);
	box_keypair_wipe(&xa);
}
