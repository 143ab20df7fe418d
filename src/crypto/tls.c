/*
 * tls: OpenSSL behind tls.h (spec yggdrasil-link-routing.md §2.3).
 *
 * Owns: the two SSL_CTXs (client, server), our X.509 certificate and its EVP_PKEY (made from the
 * node's Ed25519 seed inside this file; the seed is read in place from the keypair and never
 * copied), and per connection one SSL with two memory BIOs.
 *
 * Invariants:
 * - OpenSSL's error queue is per thread and shared: it is cleared before every SSL call and
 *   drained after, so one connection's failure never leaks into another's report.
 * - The certificate matches yggdrasil-go's byte for byte (field order, PrintableString CN,
 *   UTCTime NotBefore, GeneralizedTime NotAfter, extension order), so with the same key and
 *   NotBefore the DER is identical (Ed25519 signatures are deterministic); test_tls checks it
 *   against a certificate captured from the real 0.5.12 listener.
 * - Servers accept TLS 1.3 only (a 1.2 ClientHello gets alert 70, as from Go); clients offer 1.2
 *   and 1.3. No verification either way, no client certificates, no ALPN, no session
 *   resumption (each link is a fresh handshake).
 *
 * No timers; no I/O (the caller moves the bytes).
 */
#define YGG64_CRYPTO_INTERNAL
#include "crypto/tls.h"

#include "crypto/keys.h"
#include "lib/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* §2.3: NotAfter of Go's certificate, as GeneralizedTime (the year is past 2049). */
static const char not_after[] = "99991231235959Z";

/* §2.3 extensions, in the order Go writes them. */
static const struct {
	int nid;
	const char *value;
} cert_exts[] = {
    {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
    {NID_ext_key_usage, "serverAuth"},
    {NID_basic_constraints, "critical,CA:FALSE"},
};

struct tls_ctx {
	SSL_CTX *client;
	SSL_CTX *server;
	X509 *cert;
	EVP_PKEY *pkey;
};

struct tls_conn {
	SSL *ssl;
	BIO *rbio; /* network -> SSL; owned by ssl */
	BIO *wbio; /* SSL -> network; owned by ssl */
	bool is_done;
	bool is_failed;
	char err[200];
	char desc[80];
};

static void fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
}

static X509 *make_cert(EVP_PKEY *pkey, const uint8_t pub[static 32], int64_t not_before)
{
	static const char hexdig[] = "0123456789abcdef";
	char cn[65];
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	bool ok = x && name;

	for (int i = 0; i < 32; i++) {
		cn[2 * i] = hexdig[pub[i] >> 4];
		cn[2 * i + 1] = hexdig[pub[i] & 15];
	}
	cn[64] = 0;
	ok = ok && X509_set_version(x, X509_VERSION_3);
	ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	/* Go writes the CN as a PrintableString, not OpenSSL's default UTF8String. */
	ok = ok && X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_PRINTABLESTRING,
					      (const unsigned char *)cn, 64, -1, 0);
	ok = ok && X509_set_issuer_name(x, name);
	/* ASN1_TIME_set picks UTCTime for 1950..2049 and GeneralizedTime after, as RFC 5280. */
	ok = ok && ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before);
	ok = ok && ASN1_TIME_set_string(X509_getm_notAfter(x), not_after);
	ok = ok && X509_set_subject_name(x, name);
	ok = ok && X509_set_pubkey(x, pkey);
	for (size_t i = 0; ok && i < sizeof(cert_exts) / sizeof(cert_exts[0]); i++) {
		X509_EXTENSION *ext =
		    X509V3_EXT_nconf_nid(NULL, NULL, cert_exts[i].nid, cert_exts[i].value);

		ok = ext && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	/* Ed25519 takes no digest. */
	ok = ok && X509_sign(x, pkey, NULL) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static SSL_CTX *make_ssl_ctx(bool is_server)
{
	SSL_CTX *s = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());

	if (!s)
		return NULL;
	/* §2.3: Go listeners speak 1.3 only; Go dialers offer 1.3 and 1.2. */
	if (!SSL_CTX_set_min_proto_version(s, is_server ? TLS1_3_VERSION : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION)) {
		SSL_CTX_free(s);
		return NULL;
	}
	/* Nothing is verified (the meta handshake authenticates), nothing is resumed. */
	SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	if (is_server)
		SSL_CTX_set_num_tickets(s, 0);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
	return s;
}

struct tls_ctx *tls_ctx_new(const struct keypair *kp, int64_t not_before, const char **why)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof(*ctx));
	uint8_t pub[KEYS_PUB_LEN];

	ERR_clear_error();
	keys_public(kp, pub);
	/* The seed is the first half of kp->sk; OpenSSL keeps its own (wiped) copy. */
	ctx->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, kp->sk, KEYS_SEED_LEN);
	if (!ctx->pkey) {
		fail(why, "cannot load the Ed25519 key into OpenSSL");
		goto err_free;
	}
	ctx->cert = make_cert(ctx->pkey, pub, not_before);
	if (!ctx->cert) {
		fail(why, "cannot build the TLS certificate");
		goto err_free;
	}
	ctx->client = make_ssl_ctx(false);
	ctx->server = make_ssl_ctx(true);
	if (!ctx->client || !ctx->server) {
		fail(why, "cannot create the TLS contexts");
		goto err_free;
	}
	if (SSL_CTX_use_certificate(ctx->server, ctx->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx->server, ctx->pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx->server) != 1) {
		fail(why, "cannot install the TLS certificate");
		goto err_free;
	}
	ERR_clear_error();
	return ctx;

err_free:
	ERR_clear_error();
	tls_ctx_free(ctx);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->client);
	SSL_CTX_free(ctx->server);
	X509_free(ctx->cert);
	EVP_PKEY_free(ctx->pkey);
	free(ctx);
}

int tls_ctx_cert_der(const struct tls_ctx *ctx, uint8_t *out, size_t cap)
{
	int n = i2d_X509(ctx->cert, NULL);
	unsigned char *p = out;

	if (n <= 0 || (size_t)n > cap)
		return -ENOSPC;
	return i2d_X509(ctx->cert, &p);
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, bool is_server, const char *sni)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));

	ERR_clear_error();
	c->ssl = SSL_new(is_server ? ctx->server : ctx->client);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio)
		goto err_free;
	/* An empty input BIO means "retry later", never EOF. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	if (is_server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (sni && *sni && SSL_set_tlsext_host_name(c->ssl, sni) != 1)
			goto err_ssl;
	}
	return c;

err_free:
	BIO_free(c->rbio);
	BIO_free(c->wbio);
err_ssl:
	SSL_free(c->ssl);
	ERR_clear_error();
	free(c);
	return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl); /* frees both BIOs */
	free(c);
}

/* Records why c failed: the first queued OpenSSL error, or what SSL_get_error said. */
static int set_failed(struct tls_conn *c, int ssl_err)
{
	unsigned long e = ERR_peek_error();

	c->is_failed = true;
	if (e) {
		ERR_error_string_n(e, c->err, sizeof(c->err));
	} else if (ssl_err == SSL_ERROR_SYSCALL) {
		snprintf(c->err, sizeof(c->err), "unexpected end of the TLS stream");
	} else {
		snprintf(c->err, sizeof(c->err), "TLS error %d", ssl_err);
	}
	ERR_clear_error();
	return -EPROTO;
}

int tls_conn_feed_in(struct tls_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		int w = BIO_write(c->rbio, p, chunk);

		if (w <= 0) {
			ERR_clear_error();
			return -ENOMEM;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tls_conn_handshake(struct tls_conn *c)
{
	int r, e;

	if (c->is_failed)
		return -EPROTO;
	if (c->is_done)
		return 0;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->is_done = true;
		snprintf(c->desc, sizeof(c->desc), "%s %s", SSL_get_version(c->ssl),
			 SSL_get_cipher_name(c->ssl));
		return 0;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return -EAGAIN;
	}
	return set_failed(c, e);
}

bool tls_conn_is_done(const struct tls_conn *c)
{
	return c->is_done;
}

ssize_t tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	int r, e;

	if (c->is_failed)
		return -EPROTO;
	if (cap == 0)
		return -EAGAIN;
	ERR_clear_error();
	r = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;
	default:
		return set_failed(c, e);
	}
}

int tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n)
{
	if (c->is_failed || !c->is_done)
		return -EPROTO;
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		int r;

		ERR_clear_error();
		/* A memory BIO never blocks, so SSL_write takes everything or fails. */
		r = SSL_write(c->ssl, p, chunk);
		if (r <= 0)
			return set_failed(c, SSL_get_error(c->ssl, r));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

size_t tls_conn_pending_out(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->wbio);
}

size_t tls_conn_take_out(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap && BIO_ctrl_pending(c->wbio) > 0) {
		size_t want = cap - got;
		int r = BIO_read(c->wbio, buf + got, want > INT_MAX ? INT_MAX : (int)want);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ERR_clear_error();
	return got;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

const char *tls_conn_describe(const struct tls_conn *c)
{
	return c->desc;
}
