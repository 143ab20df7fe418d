/*
 * tls: OpenSSL behind tls.h (spec yggdrasil-link-routing.md §2.3).
 *
 * Owns: the two SSL_CTXs (client, server), our X.509 certificate and its EVP_PKEY (made from the
 * node's Ed25519 seed inside this file; the seed is read in place from the keypair and never
 * copied), per connection one SSL with two memory BIOs, and the process-wide table of OpenSSL
 * functions (ossl).
 *
 * OpenSSL is not linked into the binary. The first tls_ctx_new dlopens libcrypto and libssl
 * (SONAMEs chosen at configure time from the OpenSSL whose headers we compile against) and
 * resolves every function this file calls into ossl; all calls go through it. A node without
 * tls:// peers or listeners thus never maps the two libraries, which cost about 1.7 MiB of
 * resident pages once the dynamic loader has relocated them. The table and its load state are
 * the mutable globals here (STYLE.md §16): like the mapping they describe, they belong to the
 * process, not to a daemon.
 *
 * Invariants:
 * - ossl is all or nothing: it is written once, after every symbol resolved. Only tls_ctx_new
 *   runs before that (it loads first); every other entry point takes a ctx or a conn, which
 *   exist only once the table is complete.
 * - No call in this file reaches OpenSSL except through ossl, including the header macros that
 *   expand to OpenSSL calls (SSL_CTX_set_mode and friends): those are spelt out as the *_ctrl
 *   calls they stand for. The binary links no OpenSSL library, so a direct call fails to link.
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
 * No timers; no I/O (the caller moves the bytes). Loop thread only, like the rest of the daemon.
 */
#define YGG64_CRYPTO_INTERNAL
#include "crypto/tls.h"

#include "crypto/keys.h"
#include "lib/mem.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only for types, constants and prototypes: nothing declared here is called directly. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#if !defined(Y64_LIBCRYPTO_SONAME) || !defined(Y64_LIBSSL_SONAME)
#error "Y64_LIBCRYPTO_SONAME and Y64_LIBSSL_SONAME are set by CMakeLists.txt for this file"
#endif

/*
 * Every OpenSSL function called below, by the library that defines it. Each must be a real
 * function, not a macro of the headers, or the member declared for it would be wrong.
 */
#define OSSL_CRYPTO_FUNCS(X)                                                                       \
	X(ASN1_INTEGER_set)                                                                        \
	X(ASN1_TIME_set)                                                                           \
	X(ASN1_TIME_set_string)                                                                    \
	X(BIO_ctrl)                                                                                \
	X(BIO_ctrl_pending)                                                                        \
	X(BIO_free)                                                                                \
	X(BIO_new)                                                                                 \
	X(BIO_read)                                                                                \
	X(BIO_s_mem)                                                                               \
	X(BIO_write)                                                                               \
	X(ERR_clear_error)                                                                         \
	X(ERR_error_string_n)                                                                      \
	X(ERR_peek_error)                                                                          \
	X(EVP_PKEY_free)                                                                           \
	X(EVP_PKEY_new_raw_private_key)                                                            \
	X(X509V3_EXT_nconf_nid)                                                                    \
	X(X509_EXTENSION_free)                                                                     \
	X(X509_NAME_add_entry_by_NID)                                                              \
	X(X509_NAME_free)                                                                          \
	X(X509_NAME_new)                                                                           \
	X(X509_add_ext)                                                                            \
	X(X509_free)                                                                               \
	X(X509_get_serialNumber)                                                                   \
	X(X509_getm_notAfter)                                                                      \
	X(X509_getm_notBefore)                                                                     \
	X(X509_new)                                                                                \
	X(X509_set_issuer_name)                                                                    \
	X(X509_set_pubkey)                                                                         \
	X(X509_set_subject_name)                                                                   \
	X(X509_set_version)                                                                        \
	X(X509_sign)                                                                               \
	X(i2d_X509)

#define OSSL_SSL_FUNCS(X)                                                                          \
	X(SSL_CIPHER_get_name)                                                                     \
	X(SSL_CTX_check_private_key)                                                               \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_set_num_tickets)                                                                 \
	X(SSL_CTX_set_options)                                                                     \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_use_PrivateKey)                                                                  \
	X(SSL_CTX_use_certificate)                                                                 \
	X(SSL_ctrl)                                                                                \
	X(SSL_do_handshake)                                                                        \
	X(SSL_free)                                                                                \
	X(SSL_get_current_cipher)                                                                  \
	X(SSL_get_error)                                                                           \
	X(SSL_get_version)                                                                         \
	X(SSL_new)                                                                                 \
	X(SSL_read)                                                                                \
	X(SSL_set_accept_state)                                                                    \
	X(SSL_set_bio)                                                                             \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_write)                                                                               \
	X(TLS_client_method)                                                                       \
	X(TLS_server_method)

/* One pointer per function, typed from its real prototype so every call is still checked. */
#define OSSL_MEMBER(f) __typeof__(f) *f;
struct ossl_funcs {
	OSSL_CRYPTO_FUNCS(OSSL_MEMBER)
	OSSL_SSL_FUNCS(OSSL_MEMBER)
};
#undef OSSL_MEMBER

static struct ossl_funcs ossl;

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

/* Why loading OpenSSL failed; written at most once, since the failure is remembered. */
static char ossl_err[300];

static void *ossl_open(const char *lib)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		snprintf(ossl_err, sizeof(ossl_err), "cannot load OpenSSL's %s: %s", lib,
			 dlerror());
	return h;
}

static void *ossl_sym(void *h, const char *lib, const char *name)
{
	const char *e;
	void *p;

	dlerror();
	p = dlsym(h, name);
	if (!p) {
		e = dlerror();
		snprintf(ossl_err, sizeof(ossl_err), "OpenSSL's %s has no usable %s: %s", lib, name,
			 e ? e : "null address");
	}
	return p;
}

/* Resolves f in the library handle h (named lib) into t, unless an earlier step failed. */
#define OSSL_RESOLVE(f) ok = ok && (t.f = (__typeof__(t.f))ossl_sym(h, lib, #f)) != NULL;

/*
 * Fills ossl on the first call; 0, or -1 with *why set. RTLD_NOW finds a missing symbol here
 * rather than in the middle of a handshake; RTLD_LOCAL keeps OpenSSL's symbols out of the global
 * namespace, where nothing else should bind to them by accident.
 *
 * A failure is remembered rather than retried: every later tls:// peer or listener gets the same
 * reason (ossl_err, which therefore never changes once *why points to it), and installing
 * OpenSSL needs a restart. The handles are never dlclosed, not even after a partial failure:
 * OpenSSL registers exit handlers and thread-local destructors that point into its own code and
 * does not support being unloaded (its libraries are linked with -z nodelete for that reason),
 * and the mapping is wanted for the rest of the process anyway.
 */
static int ossl_load(const char **why)
{
	static enum { OSSL_UNTRIED, OSSL_LOADED, OSSL_FAILED } state;
	struct ossl_funcs t = {0};
	const char *lib;
	void *h;
	bool ok;

	if (state == OSSL_UNTRIED) {
		/* libcrypto first: libssl depends on it, and half of the table comes from it. */
		lib = Y64_LIBCRYPTO_SONAME;
		h = ossl_open(lib);
		ok = h != NULL;
		OSSL_CRYPTO_FUNCS(OSSL_RESOLVE)
		lib = Y64_LIBSSL_SONAME;
		h = ok ? ossl_open(lib) : NULL;
		ok = h != NULL;
		OSSL_SSL_FUNCS(OSSL_RESOLVE)
		if (ok)
			ossl = t;
		state = ok ? OSSL_LOADED : OSSL_FAILED;
	}
	if (state == OSSL_FAILED) {
		fail(why, ossl_err);
		return -1;
	}
	return 0;
}
#undef OSSL_RESOLVE

static X509 *make_cert(EVP_PKEY *pkey, const uint8_t pub[static 32], int64_t not_before)
{
	static const char hexdig[] = "0123456789abcdef";
	char cn[65];
	X509 *x = ossl.X509_new();
	X509_NAME *name = ossl.X509_NAME_new();
	bool ok = x && name;

	for (int i = 0; i < 32; i++) {
		cn[2 * i] = hexdig[pub[i] >> 4];
		cn[2 * i + 1] = hexdig[pub[i] & 15];
	}
	cn[64] = 0;
	ok = ok && ossl.X509_set_version(x, X509_VERSION_3);
	ok = ok && ossl.ASN1_INTEGER_set(ossl.X509_get_serialNumber(x), 1);
	/* Go writes the CN as a PrintableString, not OpenSSL's default UTF8String. */
	ok = ok && ossl.X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_PRINTABLESTRING,
						   (const unsigned char *)cn, 64, -1, 0);
	ok = ok && ossl.X509_set_issuer_name(x, name);
	/* ASN1_TIME_set picks UTCTime for 1950..2049 and GeneralizedTime after, as RFC 5280. */
	ok = ok && ossl.ASN1_TIME_set(ossl.X509_getm_notBefore(x), (time_t)not_before);
	ok = ok && ossl.ASN1_TIME_set_string(ossl.X509_getm_notAfter(x), not_after);
	ok = ok && ossl.X509_set_subject_name(x, name);
	ok = ok && ossl.X509_set_pubkey(x, pkey);
	for (size_t i = 0; ok && i < sizeof(cert_exts) / sizeof(cert_exts[0]); i++) {
		X509_EXTENSION *ext =
		    ossl.X509V3_EXT_nconf_nid(NULL, NULL, cert_exts[i].nid, cert_exts[i].value);

		ok = ext && ossl.X509_add_ext(x, ext, -1);
		ossl.X509_EXTENSION_free(ext);
	}
	/* Ed25519 takes no digest. */
	ok = ok && ossl.X509_sign(x, pkey, NULL) > 0;
	ossl.X509_NAME_free(name);
	if (!ok) {
		ossl.X509_free(x);
		return NULL;
	}
	return x;
}

static SSL_CTX *make_ssl_ctx(bool is_server)
{
	SSL_CTX *s =
	    ossl.SSL_CTX_new(is_server ? ossl.TLS_server_method() : ossl.TLS_client_method());

	if (!s)
		return NULL;
	/*
	 * §2.3: Go listeners speak 1.3 only; Go dialers offer 1.3 and 1.2. The SSL_CTX_set_*
	 * macros of ssl.h would call SSL_CTX_ctrl directly, so the ctrl calls are written out.
	 */
	if (!ossl.SSL_CTX_ctrl(s, SSL_CTRL_SET_MIN_PROTO_VERSION,
			       is_server ? TLS1_3_VERSION : TLS1_2_VERSION, NULL) ||
	    !ossl.SSL_CTX_ctrl(s, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION, NULL)) {
		ossl.SSL_CTX_free(s);
		return NULL;
	}
	/* Nothing is verified (the meta handshake authenticates), nothing is resumed. */
	ossl.SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
	ossl.SSL_CTX_ctrl(s, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, NULL);
	ossl.SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	if (is_server)
		ossl.SSL_CTX_set_num_tickets(s, 0);
	ossl.SSL_CTX_ctrl(s, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, NULL);
	return s;
}

struct tls_ctx *tls_ctx_new(const struct keypair *kp, int64_t not_before, const char **why)
{
	struct tls_ctx *ctx;
	uint8_t pub[KEYS_PUB_LEN];

	if (ossl_load(why) < 0)
		return NULL;
	ctx = xcalloc(1, sizeof(*ctx));
	ossl.ERR_clear_error();
	keys_public(kp, pub);
	/* The seed is the first half of kp->sk; OpenSSL keeps its own (wiped) copy. */
	ctx->pkey =
	    ossl.EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, kp->sk, KEYS_SEED_LEN);
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
	if (ossl.SSL_CTX_use_certificate(ctx->server, ctx->cert) != 1 ||
	    ossl.SSL_CTX_use_PrivateKey(ctx->server, ctx->pkey) != 1 ||
	    ossl.SSL_CTX_check_private_key(ctx->server) != 1) {
		fail(why, "cannot install the TLS certificate");
		goto err_free;
	}
	ossl.ERR_clear_error();
	return ctx;

err_free:
	ossl.ERR_clear_error();
	tls_ctx_free(ctx);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	ossl.SSL_CTX_free(ctx->client);
	ossl.SSL_CTX_free(ctx->server);
	ossl.X509_free(ctx->cert);
	ossl.EVP_PKEY_free(ctx->pkey);
	free(ctx);
}

int tls_ctx_cert_der(const struct tls_ctx *ctx, uint8_t *out, size_t cap)
{
	int n = ossl.i2d_X509(ctx->cert, NULL);
	unsigned char *p = out;

	if (n <= 0 || (size_t)n > cap)
		return -ENOSPC;
	return ossl.i2d_X509(ctx->cert, &p);
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, bool is_server, const char *sni)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));

	ossl.ERR_clear_error();
	c->ssl = ossl.SSL_new(is_server ? ctx->server : ctx->client);
	c->rbio = ossl.BIO_new(ossl.BIO_s_mem());
	c->wbio = ossl.BIO_new(ossl.BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio)
		goto err_free;
	/* An empty input BIO means "retry later", never EOF (BIO_set_mem_eof_return). */
	ossl.BIO_ctrl(c->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, NULL);
	ossl.SSL_set_bio(c->ssl, c->rbio, c->wbio);
	if (is_server) {
		ossl.SSL_set_accept_state(c->ssl);
	} else {
		ossl.SSL_set_connect_state(c->ssl);
		/* SSL_set_tlsext_host_name; OpenSSL copies the name, it never writes to it. */
		if (sni && *sni &&
		    ossl.SSL_ctrl(c->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
				  (void *)sni) != 1)
			goto err_ssl;
	}
	return c;

err_free:
	ossl.BIO_free(c->rbio);
	ossl.BIO_free(c->wbio);
err_ssl:
	ossl.SSL_free(c->ssl);
	ossl.ERR_clear_error();
	free(c);
	return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	ossl.SSL_free(c->ssl); /* frees both BIOs */
	free(c);
}

/* Records why c failed: the first queued OpenSSL error, or what SSL_get_error said. */
static int set_failed(struct tls_conn *c, int ssl_err)
{
	unsigned long e = ossl.ERR_peek_error();

	c->is_failed = true;
	if (e) {
		ossl.ERR_error_string_n(e, c->err, sizeof(c->err));
	} else if (ssl_err == SSL_ERROR_SYSCALL) {
		snprintf(c->err, sizeof(c->err), "unexpected end of the TLS stream");
	} else {
		snprintf(c->err, sizeof(c->err), "TLS error %d", ssl_err);
	}
	ossl.ERR_clear_error();
	return -EPROTO;
}

int tls_conn_feed_in(struct tls_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		int w = ossl.BIO_write(c->rbio, p, chunk);

		if (w <= 0) {
			ossl.ERR_clear_error();
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
	ossl.ERR_clear_error();
	r = ossl.SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->is_done = true;
		/* What the SSL_get_cipher_name macro expands to. */
		snprintf(c->desc, sizeof(c->desc), "%s %s", ossl.SSL_get_version(c->ssl),
			 ossl.SSL_CIPHER_get_name(ossl.SSL_get_current_cipher(c->ssl)));
		return 0;
	}
	e = ossl.SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ossl.ERR_clear_error();
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
	ossl.ERR_clear_error();
	r = ossl.SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0)
		return r;
	e = ossl.SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ossl.ERR_clear_error();
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ossl.ERR_clear_error();
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

		ossl.ERR_clear_error();
		/* A memory BIO never blocks, so SSL_write takes everything or fails. */
		r = ossl.SSL_write(c->ssl, p, chunk);
		if (r <= 0)
			return set_failed(c, ossl.SSL_get_error(c->ssl, r));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

size_t tls_conn_pending_out(const struct tls_conn *c)
{
	return ossl.BIO_ctrl_pending(c->wbio);
}

size_t tls_conn_take_out(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap && ossl.BIO_ctrl_pending(c->wbio) > 0) {
		size_t want = cap - got;
		int r = ossl.BIO_read(c->wbio, buf + got, want > INT_MAX ? INT_MAX : (int)want);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ossl.ERR_clear_error();
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
