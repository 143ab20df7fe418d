/*
 * link: one peering connection (spec yggdrasil-link-routing.md §2.2–§2.4, §3): a libuv stream
 * (TCP or unix), optionally wrapped in TLS (crypto/tls.h), the meta handshake, uvarint framing,
 * liveness (keepalive / peer timeout), and a bounded, batched transmit queue.
 *
 * Lifecycle: link_new(), then exactly one of link_connect_tcp(), link_connect_unix() or
 * link_accept(). cbs.up runs once the remote meta passed every check; cbs.frame hands up each
 * received frame other than Dummy and KeepAlive (those stay here); cbs.closed runs exactly once
 * per link_new(), after every handle is closed, whatever happened (failed dial included), and
 * the link frees itself right after it returns. Nothing is reported synchronously from
 * link_new/connect/accept/close: the callbacks only ever run from the loop, except cbs.closed,
 * which is also always deferred to a close callback.
 *
 * Ownership: params and everything it points to are copied (kp, pool and tls must outlive the
 * link). struct pkt * arguments are consumed.
 */
#ifndef YGG64_CORE_LINK_H
#define YGG64_CORE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keypair;
struct link;
struct pkt;
struct pkt_pool;
struct sockaddr;
struct sockaddr_storage;
struct tls_ctx;
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_stream_s uv_stream_t;

enum {
	LINK_DIAL_MS = 5000,	  /* §2.2: TCP/unix connect (for TLS: connect + TLS handshake) */
	LINK_HANDSHAKE_MS = 6000, /* §2.4: the meta exchange (inbound TLS: TLS too) */
	LINK_KEEPALIVE_MS = 1000, /* §3.2 KEEPALIVE_DELAY */
	LINK_TIMEOUT_MS = 3000,	  /* §3.2 PEER_TIMEOUT */
	LINK_TXQ_DEFAULT = 4096,  /* frames queued per link before drops */
	LINK_PASSWORD_MAX = 64,	  /* §2.1: BLAKE2b key length */
	LINK_NAME_MAX = 300,
};

/* Delays of §2 and §3; tests shorten them. A zero field means the spec value above. */
struct link_timing {
	uint32_t dial_ms;
	uint32_t handshake_ms;
	uint32_t keepalive_ms;
	uint32_t timeout_ms;
};

struct link_params {
	const struct keypair *kp; /* borrowed: signs our meta; must outlive the link */
	struct pkt_pool *pool;	  /* borrowed: received frames are copied into its pkts */
	struct tls_ctx *tls;	  /* borrowed; NULL for a plain stream */
	const char *name; /* for logs, e.g. "tls://host:port"; NULL on accept = remote addr */
	const char *sni;  /* TLS client only; NULL or "" = none */
	const uint8_t *password; /* BLAKE2b key of the meta signature (may be NULL if len 0) */
	size_t password_len;	 /* <= LINK_PASSWORD_MAX */
	/*
	 * If n_keys > 0, the remote key must be one of keys: the key= pins of an outbound peer,
	 * or AllowedPublicKeys on an inbound (non-multicast) listener (§2.4 step 5).
	 */
	const uint8_t (*keys)[32];
	size_t n_keys;
	uint8_t priority; /* sent in our meta; the effective one is max(ours, theirs) */
	bool is_inbound;
	/*
	 * SO_MARK for a dialled TCP socket (0: none): the loop guard of tunnel routing (tun.h's
	 * tun_guard) keeps marked sockets off the routes through our own TUN.
	 */
	uint32_t sock_mark;
	size_t txq_limit;		  /* 0 = LINK_TXQ_DEFAULT */
	const struct link_timing *timing; /* NULL = spec values */
};

struct link_close_info {
	int err;	    /* negative errno (-ECONNRESET, -ETIMEDOUT, -EPROTO, ...) */
	const char *why;    /* human-readable reason; valid during the callback only */
	bool was_connected; /* the transport connected (a dial that fails before is retried on
			       the next address) */
	bool was_up;	    /* cbs.up ran (then this is the matching "down") */
};

struct link_cbs {
	void *ctx;
	/* The meta handshake succeeded: key is the remote key, prio the effective priority. */
	void (*up)(void *ctx, struct link *l, const uint8_t key[32], uint8_t prio);
	/* A frame (type || body, no length prefix). Consumes frame. Return < 0 to close the link.
	 */
	int (*frame)(void *ctx, struct link *l, struct pkt *frame);
	/* The link is gone; l is freed when this returns. */
	void (*closed)(void *ctx, struct link *l, const struct link_close_info *info);
};

struct link_info {
	bool is_up;
	bool is_inbound;
	uint8_t key[32]; /* valid when is_up */
	uint8_t priority;
	uint64_t uptime_ms;
	uint64_t bytes_recvd; /* stream bytes (after TLS), meta included */
	uint64_t bytes_sent;
	uint64_t rate_recvd; /* bytes in the last link_rate_tick() second */
	uint64_t rate_sent;
	uint64_t frames_recvd;
	uint64_t frames_sent;
	uint64_t tx_drops; /* queue full, link not up, or an invalid frame handed to link_send */
	uint64_t rx_drops; /* pool empty, or a frame longer than a pool buffer */
	uint64_t writes;   /* uv_write calls (each carries a whole batch) */
	size_t txq_len;
	char tls[80]; /* "TLSv1.3 TLS_AES_..." or "" */
};

/* A new, unconnected link. Never NULL. */
struct link *link_new(uv_loop_t *loop, const struct link_params *p, const struct link_cbs *cbs);
/*
 * Dials sa (copied). iface: InterfacePeers device to bind with SO_BINDTODEVICE, or NULL.
 * Failures arrive through cbs.closed.
 */
void link_connect_tcp(struct link *l, const struct sockaddr *sa, const char *iface);
void link_connect_unix(struct link *l, const char *path);
/* Accepts the pending connection of a listening uv_tcp_t or uv_pipe_t. */
void link_accept(struct link *l, uv_stream_t *server);

/*
 * Queues frame (type || body; the link prepends the uvarint length) for the next batched
 * write. Dropped and counted when the link is not up, the queue is full, or the frame is one
 * we must never send (empty, type >= 10, longer than 131070 bytes, §3.1). Consumes frame.
 */
void link_send(struct link *l, struct pkt *frame);
/* Starts closing (idempotent); cbs.closed follows. err < 0, why is copied. */
void link_close(struct link *l, int err, const char *why);

/* The remote IP address and port of a TCP link whose transport is open; false otherwise. */
bool link_remote_addr(const struct link *l, struct sockaddr_storage *out);
/* "tcp://1.2.3.4:5" (as given, or the remote address of an accepted link). */
const char *link_name(const struct link *l);
bool link_is_up(const struct link *l);
void link_get_info(const struct link *l, struct link_info *out);
/* Once a second: the byte counts since the previous call become the rates. */
void link_rate_tick(struct link *l);

#endif
