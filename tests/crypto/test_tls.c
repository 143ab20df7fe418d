/*
 * Tests for crypto/tls: the certificate byte for byte against the one the real yggdrasil 0.5.12
 * TLS listener presented for key A (tls-cert-A.pem, spec vectors-link/tls-quic-ws.txt), its
 * fields parsed back with OpenSSL for a random key, in-memory handshakes between our client and
 * server with data both ways, refusal of a TLS 1.2-only client (alert 70, as from Go), our
 * client against a TLS 1.2 server with an unrelated certificate (nothing is verified), and
 * garbage input.
 */
#include "crypto/keys.h"
#include "crypto/tls.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define VECTORS YGG64_TEST_DATA "/vectors/"

/* Test key A of the link spec (§11): seed 00..1f. */
static const char a_priv_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
				 "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char a_pub_hex[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
/* NotBefore of the captured certificate: 2026-11-26 06:54:50 UTC. */
static const int64_t a_not_before = 1795676090;

static void setup(void)
{
	cr_assert_eq(keys_init(), 0);
}

TestSuite(tls, .init = setup);

static struct tls_ctx *ctx_for(struct keypair **kp_out)
{
	const char *why = NULL;
	struct keypair *kp = keys_generate();
	struct tls_ctx *ctx = tls_ctx_new(kp, 1700000000, &why);

	cr_assert_not_null(ctx, "tls_ctx_new: %s", why ? why : "?");
	if (kp_out)
		*kp_out = kp;
	else
		keys_free(kp);
	return ctx;
}

/* Moves every pending ciphertext byte from a to b; returns how many. */
static size_t pump(struct tls_conn *from, struct tls_conn *to)
{
	uint8_t buf[4096];
	size_t total = 0, n;

	while ((n = tls_conn_take_out(from, buf, sizeof(buf))) > 0) {
		cr_assert_eq(tls_conn_feed_in(to, buf, n), 0);
		total += n;
	}
	return total;
}

static void handshake(struct tls_conn *cli, struct tls_conn *srv)
{
	int rc = -EAGAIN, rs = -EAGAIN;

	for (int i = 0; i < 20 && (rc != 0 || rs != 0); i++) {
		rc = tls_conn_handshake(cli);
		cr_assert(rc == 0 || rc == -EAGAIN, "client: %s", tls_conn_error(cli));
		pump(cli, srv);
		rs = tls_conn_handshake(srv);
		cr_assert(rs == 0 || rs == -EAGAIN, "server: %s", tls_conn_error(srv));
		pump(srv, cli);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(rs, 0);
	cr_assert(tls_conn_is_done(cli));
	cr_assert(tls_conn_is_done(srv));
}

/* Reads exactly n plaintext bytes from c into out. */
static void read_exact(struct tls_conn *c, uint8_t *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = tls_conn_read(c, out + got, n - got);

		cr_assert_gt(r, 0, "read: %zd (%s)", r, tls_conn_error(c));
		got += (size_t)r;
	}
}

Test(tls, certificate_matches_yggdrasil_byte_for_byte)
{
	const char *why = NULL;
	struct keypair *kp = keys_from_hex(a_priv_hex, &why);
	struct tls_ctx *ctx;
	uint8_t der[1024], *ref_der = NULL;
	int n, ref_n;
	BIO *bio;
	X509 *ref;

	cr_assert_not_null(kp, "%s", why ? why : "");
	ctx = tls_ctx_new(kp, a_not_before, &why);
	cr_assert_not_null(ctx);
	n = tls_ctx_cert_der(ctx, der, sizeof(der));
	cr_assert_gt(n, 0);
	cr_assert_eq(tls_ctx_cert_der(ctx, der, 16), -ENOSPC);

	bio = BIO_new_file(VECTORS "tls-cert-A.pem", "r");
	cr_assert_not_null(bio);
	ref = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	cr_assert_not_null(ref);
	ref_n = i2d_X509(ref, &ref_der);
	cr_assert_eq(n, ref_n, "DER length %d, yggdrasil's %d", n, ref_n);
	cr_assert_eq(memcmp(der, ref_der, (size_t)n), 0, "certificate differs from yggdrasil's");

	OPENSSL_free(ref_der);
	X509_free(ref);
	BIO_free(bio);
	tls_ctx_free(ctx);
	keys_free(kp);
}

Test(tls, certificate_fields)
{
	struct keypair *kp;
	struct tls_ctx *ctx = ctx_for(&kp);
	uint8_t der[1024], pub[32], raw[32];
	const unsigned char *p = der;
	char cn[80], hex[65];
	size_t rawlen = sizeof(raw);
	int n = tls_ctx_cert_der(ctx, der, sizeof(der)), crit = -1;
	X509 *x;
	EVP_PKEY *pk;
	ASN1_TIME *t;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;

	cr_assert_gt(n, 0);
	x = d2i_X509(NULL, &p, n);
	cr_assert_not_null(x);
	keys_public(kp, pub);
	th_hex(pub, 32, hex);

	cr_assert_eq(X509_get_version(x), X509_VERSION_3);
	cr_assert_eq(ASN1_INTEGER_get(X509_get0_serialNumber(x)), 1);
	cr_assert_gt(
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)), 0);
	cr_assert_str_eq(cn, hex);
	cr_assert_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	cr_assert_eq(X509_get_signature_nid(x), NID_ED25519);

	/* NotBefore as given, NotAfter 9999-12-31 23:59:59 UTC. */
	t = ASN1_TIME_new();
	ASN1_TIME_set(t, 1700000000);
	cr_assert_eq(ASN1_TIME_compare(X509_get0_notBefore(x), t), 0);
	cr_assert_eq(ASN1_TIME_set_string(t, "99991231235959Z"), 1);
	cr_assert_eq(ASN1_TIME_compare(X509_get0_notAfter(x), t), 0);
	ASN1_TIME_free(t);

	/* The certificate key is the node key and the certificate verifies with it. */
	pk = X509_get0_pubkey(x);
	cr_assert_eq(EVP_PKEY_get_id(pk), EVP_PKEY_ED25519);
	cr_assert_eq(EVP_PKEY_get_raw_public_key(pk, raw, &rawlen), 1);
	cr_assert_eq(memcmp(raw, pub, 32), 0);
	cr_assert_eq(X509_verify(x, pk), 1);

	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	cr_assert_not_null(ku);
	cr_assert_eq(crit, 1);
	cr_assert_eq(X509_get_key_usage(x), (uint32_t)(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
	ASN1_BIT_STRING_free(ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	cr_assert_not_null(eku);
	cr_assert_eq(crit, 0);
	cr_assert_eq(sk_ASN1_OBJECT_num(eku), 1);
	cr_assert_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	EXTENDED_KEY_USAGE_free(eku);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	cr_assert_not_null(bc);
	cr_assert_eq(crit, 1);
	cr_assert_eq(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);
	cr_assert_eq(X509_get_ext_count(x), 3);

	X509_free(x);
	tls_ctx_free(ctx);
	keys_free(kp);
}

Test(tls, handshake_and_data_both_ways)
{
	struct tls_ctx *cctx = ctx_for(NULL), *sctx = ctx_for(NULL);
	struct tls_conn *cli = tls_conn_new(cctx, false, "peer.example");
	struct tls_conn *srv = tls_conn_new(sctx, true, NULL);
	static uint8_t big[100000], back[100000];
	uint8_t buf[64];

	cr_assert_not_null(cli);
	cr_assert_not_null(srv);
	cr_assert_eq(tls_conn_read(cli, buf, sizeof(buf)), -EAGAIN);
	handshake(cli, srv);
	cr_assert(strncmp(tls_conn_describe(cli), "TLSv1.3 TLS_AES_", 16) == 0, "%s",
		  tls_conn_describe(cli));
	cr_assert_str_eq(tls_conn_describe(srv), tls_conn_describe(cli));

	/* The server talks first, as yggdrasil does with its meta. */
	cr_assert_eq(tls_conn_write(srv, (const uint8_t *)"meta", 4), 0);
	cr_assert_gt(tls_conn_pending_out(srv), 4);
	pump(srv, cli);
	read_exact(cli, buf, 4);
	cr_assert_eq(memcmp(buf, "meta", 4), 0);
	cr_assert_eq(tls_conn_read(cli, buf, sizeof(buf)), -EAGAIN);

	/* A large message crosses several records, fed back in small pieces. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(tls_conn_write(cli, big, sizeof(big)), 0);
	cr_assert_gt(pump(cli, srv), sizeof(big));
	read_exact(srv, back, sizeof(back));
	cr_assert_eq(memcmp(big, back, sizeof(big)), 0);
	cr_assert_eq(tls_conn_read(srv, buf, sizeof(buf)), -EAGAIN);

	tls_conn_free(cli);
	tls_conn_free(srv);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

Test(tls, server_refuses_tls12_client)
{
	struct tls_ctx *sctx = ctx_for(NULL);
	struct tls_conn *srv = tls_conn_new(sctx, true, NULL);
	SSL_CTX *raw_ctx = SSL_CTX_new(TLS_client_method());
	SSL *raw;
	BIO *rin = BIO_new(BIO_s_mem()), *rout = BIO_new(BIO_s_mem());
	uint8_t buf[8192];
	int n, r = -EAGAIN;

	cr_assert_not_null(raw_ctx);
	SSL_CTX_set_min_proto_version(raw_ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(raw_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(raw_ctx, SSL_VERIFY_NONE, NULL);
	raw = SSL_new(raw_ctx);
	SSL_set_bio(raw, rin, rout);
	SSL_set_connect_state(raw);
	cr_assert_leq(SSL_do_handshake(raw), 0); /* ClientHello written */

	while ((n = BIO_read(rout, buf, sizeof(buf))) > 0)
		cr_assert_eq(tls_conn_feed_in(srv, buf, (size_t)n), 0);
	r = tls_conn_handshake(srv);
	cr_assert_eq(r, -EPROTO);
	cr_assert(strstr(tls_conn_error(srv), "protocol") != NULL, "error: %s",
		  tls_conn_error(srv));
	cr_assert_not(tls_conn_is_done(srv));
	cr_assert_eq(tls_conn_handshake(srv), -EPROTO, "a failed conn stays failed");

	/* The alert reaches the client: protocol_version (70), as from a Go listener. */
	n = (int)tls_conn_take_out(srv, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[0], 21); /* alert record */
	cr_assert_eq(buf[n - 1], 70);
	BIO_write(rin, buf, n);
	cr_assert_leq(SSL_do_handshake(raw), 0);
	cr_assert(SSL_get_error(raw, -1) == SSL_ERROR_SSL);
	ERR_clear_error();

	SSL_free(raw);
	SSL_CTX_free(raw_ctx);
	tls_conn_free(srv);
	tls_ctx_free(sctx);
}

/* A TLS 1.2-only server with a throwaway certificate of an unrelated key. */
static SSL_CTX *tls12_server(void)
{
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();

	cr_assert(s && pk && x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"not-a-node", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	cr_assert_gt(X509_sign(x, pk, NULL), 0);
	cr_assert_eq(SSL_CTX_use_certificate(s, x), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(s, pk), 1);
	SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
	X509_free(x);
	EVP_PKEY_free(pk);
	return s;
}

Test(tls, client_accepts_tls12_and_any_certificate)
{
	struct tls_ctx *cctx = ctx_for(NULL);
	struct tls_conn *cli = tls_conn_new(cctx, false, NULL);
	SSL_CTX *sctx = tls12_server();
	SSL *srv = SSL_new(sctx);
	BIO *sin = BIO_new(BIO_s_mem()), *sout = BIO_new(BIO_s_mem());
	uint8_t buf[8192];
	int rc = -EAGAIN, rs = 0, n;

	SSL_set_bio(srv, sin, sout);
	SSL_set_accept_state(srv);
	for (int i = 0; i < 20 && (rc != 0 || rs != 1); i++) {
		size_t m;

		rc = tls_conn_handshake(cli);
		cr_assert(rc == 0 || rc == -EAGAIN, "client: %s", tls_conn_error(cli));
		while ((m = tls_conn_take_out(cli, buf, sizeof(buf))) > 0)
			BIO_write(sin, buf, (int)m);
		rs = SSL_do_handshake(srv);
		while ((n = BIO_read(sout, buf, sizeof(buf))) > 0)
			cr_assert_eq(tls_conn_feed_in(cli, buf, (size_t)n), 0);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(rs, 1);
	cr_assert(strncmp(tls_conn_describe(cli), "TLSv1.2 ", 8) == 0, "%s",
		  tls_conn_describe(cli));

	/* Data from the server arrives in plaintext at our client. */
	cr_assert_eq(SSL_write(srv, "hello", 5), 5);
	while ((n = BIO_read(sout, buf, sizeof(buf))) > 0)
		cr_assert_eq(tls_conn_feed_in(cli, buf, (size_t)n), 0);
	read_exact(cli, buf, 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);

	SSL_free(srv);
	SSL_CTX_free(sctx);
	tls_conn_free(cli);
	tls_ctx_free(cctx);
}

Test(tls, garbage_fails_cleanly)
{
	struct tls_ctx *sctx = ctx_for(NULL), *cctx = ctx_for(NULL);
	struct tls_conn *srv = tls_conn_new(sctx, true, NULL);
	struct tls_conn *cli = tls_conn_new(cctx, false, NULL);
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t meta[] = "meta\x00\x75";
	uint8_t buf[64];

	cr_assert_eq(tls_conn_feed_in(srv, http, sizeof(http) - 1), 0);
	cr_assert_eq(tls_conn_handshake(srv), -EPROTO);
	cr_assert_neq(tls_conn_error(srv)[0], 0);
	cr_assert_eq(tls_conn_read(srv, buf, sizeof(buf)), -EPROTO);
	cr_assert_eq(tls_conn_write(srv, buf, 1), -EPROTO);
	cr_assert_str_eq(tls_conn_describe(srv), "");

	/* A plain-TCP yggdrasil answering a TLS client: its meta is not a TLS record. */
	cr_assert_eq(tls_conn_handshake(cli), -EAGAIN);
	cr_assert_gt(tls_conn_pending_out(cli), 0);
	cr_assert_eq(tls_conn_write(cli, buf, 1), -EPROTO, "no data before the handshake");
	cr_assert_eq(tls_conn_feed_in(cli, meta, 6), 0);
	cr_assert_eq(tls_conn_handshake(cli), -EPROTO);

	tls_conn_free(srv);
	tls_conn_free(cli);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
}

Test(tls, key_a_public_is_the_cn)
{
	struct keypair *kp = keys_from_hex(a_priv_hex, NULL);
	struct tls_ctx *ctx = tls_ctx_new(kp, a_not_before, NULL);
	uint8_t der[1024];
	int n = tls_ctx_cert_der(ctx, der, sizeof(der));
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, n);
	char cn[80];

	cr_assert_not_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	cr_assert_str_eq(cn, a_pub_hex);
	X509_free(x);
	tls_ctx_free(ctx);
	keys_free(kp);
}
