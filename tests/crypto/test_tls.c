/*
 * Tests for crypto/tls: OpenSSL stays unmapped until the first tls_ctx_new, the certificate byte
 * for byte against the one the real yggdrasil 0.5.12 TLS listener presented for key A
 * (tls-cert-A.pem, spec vectors-link/tls-quic-ws.txt), its fields parsed back with OpenSSL for a
 * random key, in-memory handshakes between our client and server with data both ways, refusal
 * of a TLS 1.2-only client (alert 70, as from Go), our client against a TLS 1.2 server with an
 * unrelated certificate (nothing is verified), and garbage input.
 *
 * Like the daemon, this binary links no OpenSSL library (only y64crypto), or libssl would be
 * mapped from the start and the first test would prove nothing. The checks that parse
 * certificates or play the other end with OpenSSL therefore reach it through their own table,
 * resolved (ossl_attach) from the libssl that tls_ctx_new has loaded; they never load it. libssl,
 * not libcrypto, is the witness: Criterion's own dependencies (libgit2, libssh2) map libcrypto
 * at start.
 *
 * Criterion runs each test in a fresh process, so every test starts with OpenSSL unloaded.
 */
#include "crypto/keys.h"
#include "crypto/tls.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

/* Types, constants and prototypes only; calls go through ossl. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Every OpenSSL function the tests call (real functions; the header macros are spelt out). */
#define OSSL_FUNCS(X)                                                                              \
	X(ASN1_BIT_STRING_free)                                                                    \
	X(ASN1_INTEGER_get)                                                                        \
	X(ASN1_INTEGER_set)                                                                        \
	X(ASN1_TIME_compare)                                                                       \
	X(ASN1_TIME_free)                                                                          \
	X(ASN1_TIME_new)                                                                           \
	X(ASN1_TIME_set)                                                                           \
	X(ASN1_TIME_set_string)                                                                    \
	X(BASIC_CONSTRAINTS_free)                                                                  \
	X(BIO_free)                                                                                \
	X(BIO_new)                                                                                 \
	X(BIO_new_file)                                                                            \
	X(BIO_read)                                                                                \
	X(BIO_s_mem)                                                                               \
	X(BIO_write)                                                                               \
	X(CRYPTO_free)                                                                             \
	X(d2i_X509)                                                                                \
	X(ERR_clear_error)                                                                         \
	X(EVP_PKEY_free)                                                                           \
	X(EVP_PKEY_get_id)                                                                         \
	X(EVP_PKEY_get_raw_public_key)                                                             \
	X(EVP_PKEY_Q_keygen)                                                                       \
	X(EXTENDED_KEY_USAGE_free)                                                                 \
	X(i2d_X509)                                                                                \
	X(OBJ_obj2nid)                                                                             \
	X(OPENSSL_sk_num)                                                                          \
	X(OPENSSL_sk_value)                                                                        \
	X(PEM_read_bio_X509)                                                                       \
	X(X509_free)                                                                               \
	X(X509_get0_notAfter)                                                                      \
	X(X509_get0_notBefore)                                                                     \
	X(X509_get0_pubkey)                                                                        \
	X(X509_get0_serialNumber)                                                                  \
	X(X509_get_ext_count)                                                                      \
	X(X509_get_ext_d2i)                                                                        \
	X(X509_get_issuer_name)                                                                    \
	X(X509_get_key_usage)                                                                      \
	X(X509_get_serialNumber)                                                                   \
	X(X509_get_signature_nid)                                                                  \
	X(X509_get_subject_name)                                                                   \
	X(X509_get_version)                                                                        \
	X(X509_getm_notAfter)                                                                      \
	X(X509_getm_notBefore)                                                                     \
	X(X509_gmtime_adj)                                                                         \
	X(X509_NAME_add_entry_by_txt)                                                              \
	X(X509_NAME_cmp)                                                                           \
	X(X509_NAME_get_text_by_NID)                                                               \
	X(X509_new)                                                                                \
	X(X509_set_issuer_name)                                                                    \
	X(X509_set_pubkey)                                                                         \
	X(X509_set_version)                                                                        \
	X(X509_sign)                                                                               \
	X(X509_verify)                                                                             \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_use_certificate)                                                                 \
	X(SSL_CTX_use_PrivateKey)                                                                  \
	X(SSL_do_handshake)                                                                        \
	X(SSL_free)                                                                                \
	X(SSL_get_error)                                                                           \
	X(SSL_new)                                                                                 \
	X(SSL_set_accept_state)                                                                    \
	X(SSL_set_bio)                                                                             \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_write)                                                                               \
	X(TLS_client_method)                                                                       \
	X(TLS_server_method)

#define OSSL_MEMBER(f) __typeof__(f) *f;
static struct {
	OSSL_FUNCS(OSSL_MEMBER)
} ossl;
#undef OSSL_MEMBER

/* The file name prefix of the witness library (any version). */
static const char libssl_prefix[] = "libssl.so.";

struct mapped_lib {
	const char *prefix;
	char path[PATH_MAX];
};

static int find_mapped(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct mapped_lib *m = arg;
	const char *base = strrchr(info->dlpi_name, '/');

	(void)size;
	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, m->prefix, strlen(m->prefix)) != 0)
		return 0;
	snprintf(m->path, sizeof(m->path), "%s", info->dlpi_name);
	return 1;
}

/* Whether an object whose file name starts with prefix is mapped; its path goes to m->path. */
static bool is_mapped(struct mapped_lib *m, const char *prefix)
{
	m->prefix = prefix;
	m->path[0] = 0;
	return dl_iterate_phdr(find_mapped, m) != 0;
}

/* Fills ossl from the libssl tls_ctx_new mapped (RTLD_NOLOAD: the test never loads it). */
static void ossl_attach(void)
{
	struct mapped_lib m;
	void *h;

	if (ossl.TLS_server_method)
		return;
	cr_assert(is_mapped(&m, libssl_prefix), "libssl is not mapped after tls_ctx_new");
	h = dlopen(m.path, RTLD_NOW | RTLD_NOLOAD);
	cr_assert_not_null(h, "%s", dlerror());
	/* A handle's lookups cover its dependencies, so libcrypto's functions come from it too. */
#define OSSL_RESOLVE(f)                                                                            \
	ossl.f = (__typeof__(ossl.f))dlsym(h, #f);                                                 \
	cr_assert_not_null(ossl.f, "%s", dlerror());
	OSSL_FUNCS(OSSL_RESOLVE)
#undef OSSL_RESOLVE
}

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
	ossl_attach();
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

Test(tls, openssl_is_loaded_on_first_use)
{
	struct keypair *kp = keys_generate();
	struct tls_ctx *ctx, *again;
	const char *why = NULL, *soname;
	struct mapped_lib m;

	/* keys_init (the suite's setup) and key generation are libsodium only. */
	cr_assert_not(is_mapped(&m, libssl_prefix), "%s is mapped before any TLS use", m.path);
	ctx = tls_ctx_new(kp, 1700000000, &why);
	cr_assert_not_null(ctx, "tls_ctx_new: %s", why ? why : "?");
	cr_assert(is_mapped(&m, libssl_prefix), "tls_ctx_new did not map libssl");
	/* The dynamic loader knows it by its SONAME, the name tls.c asked for. */
	soname = strrchr(m.path, '/');
	soname = soname ? soname + 1 : m.path;
	cr_assert_not_null(dlopen(soname, RTLD_NOW | RTLD_NOLOAD), "%s: %s", soname, dlerror());

	/* The second context reuses the table loaded by the first. */
	again = tls_ctx_new(kp, 1700000000, &why);
	cr_assert_not_null(again, "tls_ctx_new: %s", why ? why : "?");
	tls_ctx_free(again);
	tls_ctx_free(ctx);
	keys_free(kp);
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
	ossl_attach();
	n = tls_ctx_cert_der(ctx, der, sizeof(der));
	cr_assert_gt(n, 0);
	cr_assert_eq(tls_ctx_cert_der(ctx, der, 16), -ENOSPC);

	bio = ossl.BIO_new_file(VECTORS "tls-cert-A.pem", "r");
	cr_assert_not_null(bio);
	ref = ossl.PEM_read_bio_X509(bio, NULL, NULL, NULL);
	cr_assert_not_null(ref);
	ref_n = ossl.i2d_X509(ref, &ref_der);
	cr_assert_eq(n, ref_n, "DER length %d, yggdrasil's %d", n, ref_n);
	cr_assert_eq(memcmp(der, ref_der, (size_t)n), 0, "certificate differs from yggdrasil's");

	ossl.CRYPTO_free(ref_der, OPENSSL_FILE, OPENSSL_LINE); /* OPENSSL_free */
	ossl.X509_free(ref);
	ossl.BIO_free(bio);
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
	x = ossl.d2i_X509(NULL, &p, n);
	cr_assert_not_null(x);
	keys_public(kp, pub);
	th_hex(pub, 32, hex);

	cr_assert_eq(ossl.X509_get_version(x), X509_VERSION_3);
	cr_assert_eq(ossl.ASN1_INTEGER_get(ossl.X509_get0_serialNumber(x)), 1);
	cr_assert_gt(ossl.X509_NAME_get_text_by_NID(ossl.X509_get_subject_name(x), NID_commonName,
						    cn, sizeof(cn)),
		     0);
	cr_assert_str_eq(cn, hex);
	cr_assert_eq(
	    ossl.X509_NAME_cmp(ossl.X509_get_subject_name(x), ossl.X509_get_issuer_name(x)), 0);
	cr_assert_eq(ossl.X509_get_signature_nid(x), NID_ED25519);

	/* NotBefore as given, NotAfter 9999-12-31 23:59:59 UTC. */
	t = ossl.ASN1_TIME_new();
	ossl.ASN1_TIME_set(t, 1700000000);
	cr_assert_eq(ossl.ASN1_TIME_compare(ossl.X509_get0_notBefore(x), t), 0);
	cr_assert_eq(ossl.ASN1_TIME_set_string(t, "99991231235959Z"), 1);
	cr_assert_eq(ossl.ASN1_TIME_compare(ossl.X509_get0_notAfter(x), t), 0);
	ossl.ASN1_TIME_free(t);

	/* The certificate key is the node key and the certificate verifies with it. */
	pk = ossl.X509_get0_pubkey(x);
	cr_assert_eq(ossl.EVP_PKEY_get_id(pk), EVP_PKEY_ED25519);
	cr_assert_eq(ossl.EVP_PKEY_get_raw_public_key(pk, raw, &rawlen), 1);
	cr_assert_eq(memcmp(raw, pub, 32), 0);
	cr_assert_eq(ossl.X509_verify(x, pk), 1);

	ku = ossl.X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	cr_assert_not_null(ku);
	cr_assert_eq(crit, 1);
	cr_assert_eq(ossl.X509_get_key_usage(x),
		     (uint32_t)(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
	ossl.ASN1_BIT_STRING_free(ku);
	eku = ossl.X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	cr_assert_not_null(eku);
	cr_assert_eq(crit, 0);
	/* sk_ASN1_OBJECT_num and _value are macros over the generic stack calls. */
	cr_assert_eq(ossl.OPENSSL_sk_num((const OPENSSL_STACK *)eku), 1);
	cr_assert_eq(ossl.OBJ_obj2nid(ossl.OPENSSL_sk_value((const OPENSSL_STACK *)eku, 0)),
		     NID_server_auth);
	ossl.EXTENDED_KEY_USAGE_free(eku);
	bc = ossl.X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	cr_assert_not_null(bc);
	cr_assert_eq(crit, 1);
	cr_assert_eq(bc->ca, 0);
	ossl.BASIC_CONSTRAINTS_free(bc);
	cr_assert_eq(ossl.X509_get_ext_count(x), 3);

	ossl.X509_free(x);
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
	SSL_CTX *raw_ctx = ossl.SSL_CTX_new(ossl.TLS_client_method());
	SSL *raw;
	BIO *rin = ossl.BIO_new(ossl.BIO_s_mem()), *rout = ossl.BIO_new(ossl.BIO_s_mem());
	uint8_t buf[8192];
	int n, r = -EAGAIN;

	cr_assert_not_null(raw_ctx);
	ossl.SSL_CTX_ctrl(raw_ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	ossl.SSL_CTX_ctrl(raw_ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_2_VERSION, NULL);
	ossl.SSL_CTX_set_verify(raw_ctx, SSL_VERIFY_NONE, NULL);
	raw = ossl.SSL_new(raw_ctx);
	ossl.SSL_set_bio(raw, rin, rout);
	ossl.SSL_set_connect_state(raw);
	cr_assert_leq(ossl.SSL_do_handshake(raw), 0); /* ClientHello written */

	while ((n = ossl.BIO_read(rout, buf, sizeof(buf))) > 0)
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
	ossl.BIO_write(rin, buf, n);
	cr_assert_leq(ossl.SSL_do_handshake(raw), 0);
	cr_assert(ossl.SSL_get_error(raw, -1) == SSL_ERROR_SSL);
	ossl.ERR_clear_error();

	ossl.SSL_free(raw);
	ossl.SSL_CTX_free(raw_ctx);
	tls_conn_free(srv);
	tls_ctx_free(sctx);
}

/* A TLS 1.2-only server with a throwaway certificate of an unrelated key. */
static SSL_CTX *tls12_server(void)
{
	SSL_CTX *s = ossl.SSL_CTX_new(ossl.TLS_server_method());
	EVP_PKEY *pk = ossl.EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = ossl.X509_new();

	cr_assert(s && pk && x);
	ossl.X509_set_version(x, X509_VERSION_3);
	ossl.ASN1_INTEGER_set(ossl.X509_get_serialNumber(x), 42);
	ossl.X509_NAME_add_entry_by_txt(ossl.X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)"not-a-node", -1, -1, 0);
	ossl.X509_set_issuer_name(x, ossl.X509_get_subject_name(x));
	ossl.X509_gmtime_adj(ossl.X509_getm_notBefore(x), -3600);
	ossl.X509_gmtime_adj(ossl.X509_getm_notAfter(x), 3600);
	ossl.X509_set_pubkey(x, pk);
	cr_assert_gt(ossl.X509_sign(x, pk, NULL), 0);
	cr_assert_eq(ossl.SSL_CTX_use_certificate(s, x), 1);
	cr_assert_eq(ossl.SSL_CTX_use_PrivateKey(s, pk), 1);
	ossl.SSL_CTX_ctrl(s, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	ossl.SSL_CTX_ctrl(s, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_2_VERSION, NULL);
	ossl.X509_free(x);
	ossl.EVP_PKEY_free(pk);
	return s;
}

Test(tls, client_accepts_tls12_and_any_certificate)
{
	struct tls_ctx *cctx = ctx_for(NULL);
	struct tls_conn *cli = tls_conn_new(cctx, false, NULL);
	SSL_CTX *sctx = tls12_server();
	SSL *srv = ossl.SSL_new(sctx);
	BIO *sin = ossl.BIO_new(ossl.BIO_s_mem()), *sout = ossl.BIO_new(ossl.BIO_s_mem());
	uint8_t buf[8192];
	int rc = -EAGAIN, rs = 0, n;

	ossl.SSL_set_bio(srv, sin, sout);
	ossl.SSL_set_accept_state(srv);
	for (int i = 0; i < 20 && (rc != 0 || rs != 1); i++) {
		size_t m;

		rc = tls_conn_handshake(cli);
		cr_assert(rc == 0 || rc == -EAGAIN, "client: %s", tls_conn_error(cli));
		while ((m = tls_conn_take_out(cli, buf, sizeof(buf))) > 0)
			ossl.BIO_write(sin, buf, (int)m);
		rs = ossl.SSL_do_handshake(srv);
		while ((n = ossl.BIO_read(sout, buf, sizeof(buf))) > 0)
			cr_assert_eq(tls_conn_feed_in(cli, buf, (size_t)n), 0);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(rs, 1);
	cr_assert(strncmp(tls_conn_describe(cli), "TLSv1.2 ", 8) == 0, "%s",
		  tls_conn_describe(cli));

	/* Data from the server arrives in plaintext at our client. */
	cr_assert_eq(ossl.SSL_write(srv, "hello", 5), 5);
	while ((n = ossl.BIO_read(sout, buf, sizeof(buf))) > 0)
		cr_assert_eq(tls_conn_feed_in(cli, buf, (size_t)n), 0);
	read_exact(cli, buf, 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);

	ossl.SSL_free(srv);
	ossl.SSL_CTX_free(sctx);
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
	char cn[80];
	X509 *x;

	ossl_attach();
	x = ossl.d2i_X509(NULL, &p, n);
	cr_assert_not_null(x);
	ossl.X509_NAME_get_text_by_NID(ossl.X509_get_subject_name(x), NID_commonName, cn,
				       sizeof(cn));
	cr_assert_str_eq(cn, a_pub_hex);
	ossl.X509_free(x);
	tls_ctx_free(ctx);
	keys_free(kp);
}
