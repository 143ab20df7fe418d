/*
 * Tests for crypto/keys: PrivateKey hex of every vector key of the real yggdrasil 0.5.12
 * (addr-vectors.tsv), the -exportkey PEM byte for byte (A.pem, written by the real binary),
 * malformed hex and PEM inputs, and the X25519 conversions against derived-vectors.tsv.
 */
#define YGG64_CRYPTO_INTERNAL /* keys_x25519_secret is crypto-internal */
#include "crypto/keys.h"
#include "support/hex.h"
#include "support/tsv.h"

#include <criterion/criterion.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

/* The key of cli/A.pem (spec vectors-core): PrivateKey and its public key. */
static const char a_priv[] =
	"825890d2a87a7c8e593e0282aaba5a1fb583ed2b50c8f7775808cc99fd492e88"
	"ea9b934036ab90d2f1d7d780782fd336302a8296c34f309735296056fece846d";
static const char a_seed[] = "825890d2a87a7c8e593e0282aaba5a1fb583ed2b50c8f7775808cc99fd492e88";
static const char a_pub[] = "ea9b934036ab90d2f1d7d780782fd336302a8296c34f309735296056fece846d";
static const char a_b64[] = "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I";
static const char mismatch_why[] = "public key half does not match the seed";

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(keys, .init = setup);

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

static void assert_pub(const struct keypair *kp, const char *want_hex, int row)
{
	uint8_t pub[32];
	char got[65];

	keys_public(kp, pub);
	th_hex(pub, 32, got);
	cr_assert_str_eq(got, want_hex, "row %d", row);
}

/* Minimal RFC 4648 base64 with padding, to build malformed DER test inputs. */
static void b64(const uint8_t *in, size_t n, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? al[v & 63] : '=';
	}
	out[o] = '\0';
}

/* A PEM "PRIVATE KEY" block around the given base64 text, as yggdrasil would frame it. */
static char *pem_of(const char *body)
{
	size_t cap = strlen(body) + 128;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	snprintf(s, cap, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", body);
	return s;
}

/* ---- PrivateKey hex ---------------------------------------------------------------------- */

Test(keys, from_hex_every_vector)
{
	struct tsv t;

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	cr_assert_eq(t.nrows, 16);
	for (int i = 0; i < t.nrows; i++) {
		const char *priv = t.rows[i][0], *why = NULL;
		char upper[129], back[129];
		struct keypair *kp;

		cr_assert_geq(t.ncols[i], 2);
		kp = keys_from_hex(priv, &why);
		cr_assert_not_null(kp, "row %d: %s", i, why);
		assert_pub(kp, t.rows[i][1], i);
		/* The PrivateKey text round-trips (lower case, as -genconf prints it). */
		cr_assert_eq(keys_private_hex(kp, back), back);
		cr_assert_str_eq(back, priv, "row %d", i);
		keys_free(kp);

		for (int j = 0; j < 129; j++)
			upper[j] = (char)toupper((unsigned char)priv[j]);
		kp = keys_from_hex(upper, NULL);
		cr_assert_not_null(kp, "row %d upper case", i);
		assert_pub(kp, t.rows[i][1], i);
		keys_free(kp);
	}
	ts_tsv_free(&t);
}

Test(keys, from_hex_rejects_mismatched_public_half)
{
	struct tsv t;

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	for (int i = 0; i < t.nrows; i++) {
		char bad[129];
		const char *why = NULL;

		/* One flipped bit in the last hex digit of the pub half. */
		memcpy(bad, t.rows[i][0], 129);
		bad[127] = bad[127] == '0' ? '1' : '0';
		cr_assert_null(keys_from_hex(bad, &why), "row %d", i);
		cr_assert_str_eq(why, mismatch_why);

		/* The next row's public key behind this row's seed. */
		memcpy(bad + 64, t.rows[(i + 1) % t.nrows][1], 64);
		why = NULL;
		cr_assert_null(keys_from_hex(bad, &why), "row %d", i);
		cr_assert_str_eq(why, mismatch_why);
	}
	ts_tsv_free(&t);
}

Test(keys, from_hex_rejects_bad_length_and_characters)
{
	char buf[300];
	struct {
		const char *label;
		size_t cut;	/* truncate a_priv to this length (0 = keep 128) */
		const char *append;
		int pos;	/* overwrite one char at pos (-1 = none) */
		char c;
		const char *why_has;
	} cases[] = {
		{ "empty", 0, NULL, 0, '\0', "exactly 128" },
		{ "127 chars", 127, NULL, -1, 0, "exactly 128" },
		{ "129 chars", 0, "0", -1, 0, "exactly 128" },
		{ "130 chars", 0, "00", -1, 0, "exactly 128" },
		{ "256 chars", 0, a_priv, -1, 0, "exactly 128" }, /* the key twice */
		{ "trailing newline", 0, "\n", -1, 0, "exactly 128" },
		{ "g at 0", 0, NULL, 0, 'g', "not valid hex" },
		{ "z at 127", 0, NULL, 127, 'z', "not valid hex" },
		{ "space inside", 0, NULL, 64, ' ', "not valid hex" },
		{ "colon inside", 0, NULL, 10, ':', "not valid hex" },
		{ "0x prefix", 0, NULL, 1, 'x', "not valid hex" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;

		snprintf(buf, sizeof(buf), "%s%s", a_priv, cases[i].append ? cases[i].append : "");
		if (cases[i].cut)
			buf[cases[i].cut] = '\0';
		if (cases[i].pos >= 0)
			buf[cases[i].pos] = cases[i].c;
		cr_assert_null(keys_from_hex(buf, &why), "%s", cases[i].label);
		cr_assert_not_null(why, "%s", cases[i].label);
		cr_assert_not_null(strstr(why, cases[i].why_has), "%s: why = \"%s\"",
				   cases[i].label, why);
	}
	/* why may be NULL. */
	cr_assert_null(keys_from_hex("00", NULL));
}

Test(keys, pub_from_hex)
{
	struct tsv t;
	uint8_t pub[32], want[32], keep[32];
	char bad[80];

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	for (int i = 0; i < t.nrows; i++) {
		char upper[65];

		unhex_exact(t.rows[i][1], want, 32);
		cr_assert(keys_pub_from_hex(t.rows[i][1], pub), "row %d", i);
		cr_assert_eq(memcmp(pub, want, 32), 0, "row %d", i);
		for (int j = 0; j < 65; j++)
			upper[j] = (char)toupper((unsigned char)t.rows[i][1][j]);
		memset(pub, 0, 32);
		cr_assert(keys_pub_from_hex(upper, pub), "row %d", i);
		cr_assert_eq(memcmp(pub, want, 32), 0, "row %d", i);
	}
	ts_tsv_free(&t);

	memset(pub, 0x5a, 32);
	memcpy(keep, pub, 32);
	snprintf(bad, sizeof(bad), "%.63s", a_pub);
	cr_assert_not(keys_pub_from_hex(bad, pub));
	snprintf(bad, sizeof(bad), "%s0", a_pub);
	cr_assert_not(keys_pub_from_hex(bad, pub));
	snprintf(bad, sizeof(bad), "%s", a_pub);
	bad[63] = 'G';
	cr_assert_not(keys_pub_from_hex(bad, pub));
	cr_assert_not(keys_pub_from_hex("", pub));
	cr_assert_not(keys_pub_from_hex(a_priv, pub)); /* a 128-char PrivateKey is not a pub */
	cr_assert_eq(memcmp(pub, keep, 32), 0, "output untouched on failure");
}

/* ---- PEM (-exportkey / PrivateKeyPath) ---------------------------------------------------- */

Test(keys, export_pem_matches_real_yggdrasil)
{
	struct keypair *kp = keys_from_hex(a_priv, NULL);
	size_t flen = 0;
	char *want = th_read_file(VECTORS "A.pem", &flen);
	char out[KEYS_PEM_LEN + 1];
	int n;

	cr_assert_not_null(kp);
	cr_assert_not_null(want);
	n = keys_export_pem(kp, out, sizeof(out));
	cr_assert_eq(n, KEYS_PEM_LEN);
	cr_assert_eq(flen, (size_t)KEYS_PEM_LEN, "A.pem from yggdrasil 0.5.12 is 120 bytes");
	cr_assert_eq(strlen(out), (size_t)n);
	cr_assert_eq(memcmp(out, want, flen), 0, "got:\n%s\nwant:\n%s", out, want);
	/* The exact framing: one 64-char body line and a final empty line (fmt.Println). */
	cr_assert_eq(strncmp(out, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
	cr_assert_eq(strncmp(out + 28, a_b64, 64), 0);
	cr_assert_str_eq(out + 92, "\n-----END PRIVATE KEY-----\n\n");
	free(want);
	keys_free(kp);
}

Test(keys, export_pem_needs_room)
{
	struct keypair *kp = keys_from_hex(a_priv, NULL);
	char out[KEYS_PEM_LEN + 8];

	cr_assert_not_null(kp);
	memset(out, 'x', sizeof(out));
	cr_assert_eq(keys_export_pem(kp, out, KEYS_PEM_LEN), -ENOSPC);
	cr_assert_eq(keys_export_pem(kp, out, 0), -ENOSPC);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(out[i], 'x', "untouched at %zu", i);
	cr_assert_eq(keys_export_pem(kp, out, KEYS_PEM_LEN + 1), KEYS_PEM_LEN);
	cr_assert_eq(out[KEYS_PEM_LEN], '\0');
	cr_assert_eq(out[KEYS_PEM_LEN + 1], 'x');
	keys_free(kp);
}

Test(keys, from_pem_real_file)
{
	size_t len = 0;
	char *pem = th_read_file(VECTORS "A.pem", &len);
	const char *why = NULL;
	struct keypair *kp;
	char hex[129];

	cr_assert_not_null(pem);
	kp = keys_from_pem(pem, len, &why);
	cr_assert_not_null(kp, "%s", why);
	assert_pub(kp, a_pub, 0);
	cr_assert_str_eq(keys_private_hex(kp, hex), a_priv);
	keys_free(kp);

	kp = keys_from_pem_file(VECTORS "A.pem", &why);
	cr_assert_not_null(kp, "%s", why);
	assert_pub(kp, a_pub, 0);
	keys_free(kp);
	free(pem);
}

Test(keys, pem_round_trip_every_vector)
{
	struct tsv t;

	tsv_load(&t, VECTORS "addr-vectors.tsv");
	for (int i = 0; i < t.nrows + 4; i++) {
		/* Every vector key, then a few fresh ones. */
		struct keypair *kp = i < t.nrows ? keys_from_hex(t.rows[i][0], NULL)
						 : keys_generate();
		struct keypair *back;
		char pem[KEYS_PEM_LEN + 1], h1[129], h2[129];
		const char *why = NULL;

		cr_assert_not_null(kp, "row %d", i);
		cr_assert_eq(keys_export_pem(kp, pem, sizeof(pem)), KEYS_PEM_LEN);
		back = keys_from_pem(pem, KEYS_PEM_LEN, &why);
		cr_assert_not_null(back, "row %d: %s", i, why);
		cr_assert_str_eq(keys_private_hex(back, h2), keys_private_hex(kp, h1), "row %d", i);
		keys_free(back);
		keys_free(kp);
	}
	ts_tsv_free(&t);
}

/* CRLF, other line wrapping and surrounding whitespace are accepted. */
Test(keys, from_pem_tolerates_layout)
{
	const char *ok[] = {
		/* CRLF throughout, as a file edited on Windows */
		"-----BEGIN PRIVATE KEY-----\r\n"
		"MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\r\n"
		"-----END PRIVATE KEY-----\r\n\r\n",
		/* wrapped at 16 columns */
		"-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2Vw\nBCIEIIJYkNKoenyO\nWT4Cgqq6Wh+1g+0r\nUMj3d1gIzJn9SS6I\n"
		"-----END PRIVATE KEY-----\n",
		/* CRLF, uneven wrapping, no final newline */
		"-----BEGIN PRIVATE KEY-----\r\nMC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4C\r\n"
		"gqq6Wh+1g+0rUMj3d1gIzJn9SS6I\r\n-----END PRIVATE KEY-----",
		/* blank lines and blanks around everything */
		"\n\n  -----BEGIN PRIVATE KEY-----  \n"
		" MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I \t\n"
		"-----END PRIVATE KEY-----\n\t\n ",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		struct keypair *kp = keys_from_pem(ok[i], strlen(ok[i]), &why);

		cr_assert_not_null(kp, "case %zu: %s", i, why);
		assert_pub(kp, a_pub, (int)i);
		keys_free(kp);
	}
}

/* Length-delimited: bytes past len are never read, and no NUL terminator is needed. */
Test(keys, from_pem_honours_length)
{
	char buf[KEYS_PEM_LEN + 16];
	char *copy;
	struct keypair *kp;

	snprintf(buf, sizeof(buf), "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
		 a_b64);
	/* Exactly-sized heap copy without a NUL: ASan catches any overread. */
	copy = malloc(strlen(buf));
	cr_assert_not_null(copy);
	memcpy(copy, buf, strlen(buf));
	kp = keys_from_pem(copy, strlen(buf), NULL);
	cr_assert_not_null(kp);
	assert_pub(kp, a_pub, 0);
	keys_free(kp);
	/* Cut inside the END marker: truncated. */
	cr_assert_null(keys_from_pem(copy, strlen(buf) - 5, NULL));
	free(copy);
}

/* der = prefix || A's seed, padded with zero bytes up to seed_len. */
static void der_variant(uint8_t der[64], size_t *n, const char *prefix_hex, size_t seed_len)
{
	uint8_t seed[32];
	long p = th_unhex(prefix_hex, der, 32);

	cr_assert_geq(p, 0);
	unhex_exact(a_seed, seed, 32);
	cr_assert_leq((size_t)p + seed_len, 64);
	memcpy(der + p, seed, seed_len < 32 ? seed_len : 32);
	if (seed_len > 32)
		memset(der + p + 32, 0, seed_len - 32);
	*n = (size_t)p + seed_len;
}

struct pem_case {
	const char *label, *pem, *why_has;
	char *owned;
};

Test(keys, from_pem_rejects_malformed)
{
	struct pem_case cases[24];
	size_t nc = 0;
	char body[128];
	uint8_t der[64];
	size_t dn;

#define CASE(l, p, w) (cases[nc++] = (struct pem_case){ (l), (p), (w), NULL })
#define OWNED(l, p, w)                                                                             \
	do {                                                                                       \
		char *o_ = (p);                                                                    \
		cases[nc++] = (struct pem_case){ (l), o_, (w), o_ };                               \
	} while (0)

	CASE("empty", "", "empty");
	CASE("whitespace only", " \r\n\t\n", "empty");
	CASE("no PEM at all", "825890d2a87a7c8e593e0282aaba5a1f", "BEGIN");
	CASE("RSA header",
	     "-----BEGIN RSA PRIVATE KEY-----\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n"
	     "-----END RSA PRIVATE KEY-----\n",
	     "type");
	CASE("encrypted PKCS#8",
	     "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n"
	     "-----END ENCRYPTED PRIVATE KEY-----\n",
	     "encrypted");
	CASE("junk after BEGIN marker",
	     "-----BEGIN PRIVATE KEY-----X\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n"
	     "-----END PRIVATE KEY-----\n",
	     "type");
	CASE("RFC 1421 headers",
	     "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
	     "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n"
	     "-----END PRIVATE KEY-----\n",
	     "headers");
	OWNED("bad base64 character",
	      pem_of("MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6*"), "base64");
	OWNED("stray padding inside",
	      pem_of("MC4C=AQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I"),
	      "base64");
	OWNED("truncated body", pem_of("MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gI"),
	      "length");
	CASE("missing END line",
	     "-----BEGIN PRIVATE KEY-----\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n",
	     "END");
	CASE("trailing junk",
	     "-----BEGIN PRIVATE KEY-----\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I\n"
	     "-----END PRIVATE KEY-----\njunk\n",
	     "trailing");
	CASE("END not on its own line",
	     "-----BEGIN PRIVATE KEY-----\n"
	     "MC4CAQAwBQYDK2VwBCIEIIJYkNKoenyOWT4Cgqq6Wh+1g+0rUMj3d1gIzJn9SS6I"
	     "-----END PRIVATE KEY-----\n",
	     "line");

	/* Right size, wrong DER: the X25519 OID 1.3.101.110 instead of Ed25519 1.3.101.112. */
	der_variant(der, &dn, "302e020100300506032b656e04220420", 32);
	b64(der, dn, body);
	OWNED("X25519 key", pem_of(body), "PKCS#8");
	/* PKCS#8 version 1 (RFC 5958 OneAsymmetricKey) is not what yggdrasil writes. */
	der_variant(der, &dn, "302e020101300506032b657004220420", 32);
	b64(der, dn, body);
	OWNED("version 1", pem_of(body), "PKCS#8");
	/* 49-byte DER: one extra byte after the seed. */
	der_variant(der, &dn, "302f020100300506032b657004230421", 33);
	b64(der, dn, body);
	OWNED("49-byte DER", pem_of(body), "length");
#undef CASE
#undef OWNED

	cr_assert_leq(nc, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < nc; i++) {
		const char *why = NULL;

		cr_assert_null(keys_from_pem(cases[i].pem, strlen(cases[i].pem), &why), "%s",
			       cases[i].label);
		cr_assert_not_null(why, "%s", cases[i].label);
		cr_assert_not_null(strstr(why, cases[i].why_has), "%s: why = \"%s\"",
				   cases[i].label, why);
		free(cases[i].owned);
	}
}

/* An embedded NUL is not whitespace, even though libsodium's ignore list would skip it. */
Test(keys, from_pem_rejects_embedded_nul)
{
	char buf[200];
	int n = snprintf(buf, sizeof(buf),
			 "-----BEGIN PRIVATE KEY-----\n%.32s%c%s\n-----END PRIVATE KEY-----\n",
			 a_b64, '\0', a_b64 + 32);
	const char *why = NULL;

	cr_assert_gt(n, 0);
	cr_assert_null(keys_from_pem(buf, (size_t)n, &why));
	cr_assert_not_null(strstr(why, "base64"), "%s", why);
}

Test(keys, from_pem_file_errors)
{
	const char *why = NULL;

	errno = 0;
	cr_assert_null(keys_from_pem_file(VECTORS "does-not-exist.pem", &why));
	cr_assert_eq(errno, ENOENT);
	cr_assert_not_null(why);
	/* A directory opens but cannot be read. */
	why = NULL;
	errno = 0;
	cr_assert_null(keys_from_pem_file(VECTORS, &why));
	cr_assert_eq(errno, EISDIR);
	cr_assert_not_null(why);
	/* A file that is not PEM gives the parser's reason. */
	why = NULL;
	cr_assert_null(keys_from_pem_file(VECTORS "addr-vectors.tsv", &why));
	cr_assert_not_null(why);
	cr_assert_not_null(strstr(why, "BEGIN"), "%s", why);
}

/* ---- Generation ---------------------------------------------------------------------------- */

Test(keys, generate_gives_consistent_distinct_keys)
{
	struct keypair *a = keys_generate(), *b = keys_generate(), *again;
	uint8_t pa[32], pb[32], pagain[32];
	char hex[129];

	keys_public(a, pa);
	keys_public(b, pb);
	cr_assert_neq(memcmp(pa, pb, 32), 0);
	/* The generated pub half is the seed's: from_hex accepts the key and agrees. */
	again = keys_from_hex(keys_private_hex(a, hex), NULL);
	cr_assert_not_null(again);
	keys_public(again, pagain);
	cr_assert_eq(memcmp(pa, pagain, 32), 0);
	keys_free(again);
	keys_free(a);
	keys_free(b);
	keys_free(NULL);
}

/* ---- Ed25519 -> X25519 (spec §1) --------------------------------------------------------- */

Test(keys, x25519_every_vector)
{
	struct tsv av, dv;

	tsv_load(&av, VECTORS "addr-vectors.tsv");
	tsv_load(&dv, VECTORS "derived-vectors.tsv");
	cr_assert_eq(dv.nrows, av.nrows);
	cr_assert_eq(dv.nrows, 16);
	for (int i = 0; i < dv.nrows; i++) {
		uint8_t pub[32], cpub[32], want_pub[32], raw[32], want_sk[32], sk[32];
		struct keypair *kp;

		cr_assert_geq(dv.ncols[i], 7);
		/* derived-vectors rows follow addr-vectors rows. */
		cr_assert_str_eq(dv.rows[i][0], av.rows[i][1], "row %d", i);
		unhex_exact(dv.rows[i][0], pub, 32);
		unhex_exact(dv.rows[i][4], want_pub, 32);
		unhex_exact(dv.rows[i][5], raw, 32);
		unhex_exact(dv.rows[i][6], want_sk, 32);

		cr_assert(keys_x25519_public(pub, cpub), "row %d", i);
		cr_assert_eq(memcmp(cpub, want_pub, 32), 0, "row %d curve25519_pub", i);

		kp = keys_from_hex(av.rows[i][0], NULL);
		cr_assert_not_null(kp);
		cr_assert(keys_x25519_secret(kp, sk), "row %d", i);
		cr_assert_eq(memcmp(sk, want_sk, 32), 0, "row %d curve_sk_libsodium", i);
		/* Spec §1: libsodium's scalar is Go's raw e2c scalar, clamped. */
		raw[0] &= 248;
		raw[31] = (uint8_t)((raw[31] & 127) | 64);
		cr_assert_eq(memcmp(sk, raw, 32), 0, "row %d clamp", i);
		keys_free(kp);
	}
	ts_tsv_free(&av);
	ts_tsv_free(&dv);
}

Test(keys, x25519_rejects_small_order_points)
{
	static const char *bad[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000", /* identity */
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = -1 */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t ed[32], out[32];

		unhex_exact(bad[i], ed, 32);
		memset(out, 0xaa, sizeof(out));
		cr_assert_not(keys_x25519_public(ed, out), "case %zu", i);
		for (int j = 0; j < 32; j++)
			cr_assert_eq(out[j], 0, "case %zu: out zeroed", i);
	}
}

Test(keys, random_u64_varies)
{
	uint64_t seen[8];
	int distinct = 0;

	/* 8 draws from a CSPRNG: a repeat has probability ~2^-58, all-equal output means a bug. */
	for (int i = 0; i < 8; i++) {
		bool is_new = true;

		seen[i] = keys_random_u64();
		for (int j = 0; j < i; j++)
			is_new &= seen[j] != seen[i];
		distinct += is_new;
	}
	cr_expect_eq(distinct, 8);
}

Test(keys, from_seed_gives_the_spec_test_keys)
{
	/* link-routing spec §11: A = seed 00..1f, B = seed 20..3f. */
	static const char *const pub_hex[] = {
	    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
	    "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"};
	for (int k = 0; k < 2; k++) {
		uint8_t seed[32], pub[32];
		char hex[65];
		struct keypair *kp;

		for (int i = 0; i < 32; i++)
			seed[i] = (uint8_t)(0x20 * k + i);
		kp = keys_from_seed(seed);
		keys_public(kp, pub);
		th_hex(pub, 32, hex);
		cr_expect_str_eq(hex, pub_hex[k]);
		keys_free(kp);
	}
}
