/*
 * tls: TLS for tls:// peerings (spec yggdrasil-link-routing.md §2.3), over OpenSSL. This is the
 * only file set that uses OpenSSL; nothing else sees an SSL object or a certificate.
 *
 * OpenSSL is loaded on first use, not linked: the first tls_ctx_new maps libcrypto and libssl
 * (dlopen), so a node without tls:// peers or listeners never has them in memory. Make the
 * context only when TLS is actually wanted; once loaded, OpenSSL stays for the process's life.
 *
 * A struct tls_ctx holds our self-signed Ed25519 certificate (made from the node key, as
 * yggdrasil-go makes it) and one client and one server configuration: servers speak TLS 1.3
 * only, clients offer 1.3 and 1.2; nothing is verified on either side, no ALPN. The identity of
 * a peer comes from the meta handshake that runs inside the TLS stream, not from TLS.
 *
 * A struct tls_conn is one connection driven through memory buffers, so the caller owns all
 * I/O: feed received ciphertext with tls_conn_feed_in, call tls_conn_handshake until it returns
 * 0, then move plaintext with tls_conn_read / tls_conn_write, and after every call send what
 * tls_conn_take_out hands back.
 *
 * Errors: 0 or a negative errno; -EAGAIN means "feed more input"; -EPROTO means the TLS session
 * failed (tls_conn_error says why; the conn is then unusable). Pointer arguments are borrowed
 * for the call unless stated otherwise.
 */
#ifndef YGG64_CRYPTO_TLS_H
#define YGG64_CRYPTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct keypair;
struct tls_ctx;
struct tls_conn;

/*
 * Builds the certificate of §2.3 for kp (serial 1, CN = 64 lowercase hex of the public key as
 * subject and issuer, NotBefore = not_before in Unix seconds, NotAfter 9999-12-31 23:59:59 UTC,
 * KeyUsage DigitalSignature|KeyEncipherment critical, ExtKeyUsage serverAuth, BasicConstraints
 * CA:FALSE critical) and both TLS configurations. kp is read during the call only. The first call
 * loads OpenSSL; if that fails (library or symbol missing), this and every later call fail with
 * the same reason, naming the library and symbol, without retrying. Returns NULL with *why set
 * (static string) on failure.
 */
struct tls_ctx *tls_ctx_new(const struct keypair *kp, int64_t not_before, const char **why);
/* Frees ctx; NULL is a no-op. Every tls_conn made from it must be freed first. */
void tls_ctx_free(struct tls_ctx *ctx);
/* Copies the DER certificate into out[0..cap). Returns its length, or -ENOSPC. */
int tls_ctx_cert_der(const struct tls_ctx *ctx, uint8_t *out, size_t cap);

/*
 * A new connection on ctx (borrowed; must outlive the conn). sni: the server name a client
 * sends (copied; NULL or "" for none; the caller has already dropped IP literals, §2.1);
 * ignored for servers. NULL on allocation failure.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, bool is_server, const char *sni);
void tls_conn_free(struct tls_conn *c);

/* Hands ciphertext received from the network to c. 0, or -ENOMEM. */
int tls_conn_feed_in(struct tls_conn *c, const uint8_t *p, size_t n);
/* Advances the handshake: 0 once complete, -EAGAIN while it needs input, -EPROTO on failure. */
int tls_conn_handshake(struct tls_conn *c);
bool tls_conn_is_done(const struct tls_conn *c);
/*
 * Decrypts into buf[0..cap): the number of bytes (> 0), 0 when the peer sent close_notify,
 * -EAGAIN when no whole record is buffered, -EPROTO on failure.
 */
ssize_t tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap);
/* Encrypts all n bytes (after the handshake). 0, or -EPROTO. */
int tls_conn_write(struct tls_conn *c, const uint8_t *p, size_t n);
/* Ciphertext waiting to be sent. */
size_t tls_conn_pending_out(const struct tls_conn *c);
/* Moves up to cap bytes of pending ciphertext into buf; returns how many. */
size_t tls_conn_take_out(struct tls_conn *c, uint8_t *buf, size_t cap);

/* The reason of the last -EPROTO ("" if none). Valid until the next call on c. */
const char *tls_conn_error(const struct tls_conn *c);
/* "TLSv1.3 TLS_AES_128_GCM_SHA256" once the handshake is done, else "". */
const char *tls_conn_describe(const struct tls_conn *c);

#endif
