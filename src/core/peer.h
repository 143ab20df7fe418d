/*
 * peer: the peer table (spec yggdrasil-link-routing.md §2.1, §2.2, §2.5): peer URIs and their
 * options, the configured outbound peerings (Peers, InterfacePeers, addPeer) with DNS resolution
 * and reconnection backoff, the Listen listeners, and every link (core/link.h) they produce.
 * Upwards it speaks in link ids: small integers, unique for the table's lifetime, handed to
 * cbs.link_up and valid until the matching cbs.link_down.
 *
 * Ownership: cfg, kp and pool are borrowed and must outlive the table. String arguments are
 * read during the call only; *err receives a static string. struct pkt * are consumed.
 */
#ifndef YGG64_CORE_PEER_H
#define YGG64_CORE_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct keypair;
struct link_timing;
struct pkt;
struct pkt_pool;
struct peer_table;
struct sockaddr;
typedef struct uv_loop_s uv_loop_t;

enum peer_scheme {
	PEER_TCP,
	PEER_TLS,
	PEER_UNIX,
	PEER_QUIC, /* the rest parse, but are refused as not supported yet */
	PEER_WS,
	PEER_WSS,
	PEER_SOCKS,
	PEER_SOCKSTLS,
};

enum {
	PEER_URI_MAX = 512,
	PEER_HOST_MAX = 256,
	PEER_MAX_PINS = 16,
	PEER_PASSWORD_MAX = 64,
	PEER_BACKOFF_UNIT_MS = 1000,	       /* §2.5: 2^n seconds */
	PEER_BACKOFF_MIN_MS = 30 * 1000,       /* smallest maxbackoff= accepted (0.5.12) */
	PEER_BACKOFF_DEFAULT_MS = 4096 * 1000, /* default maxbackoff */
	PEER_BACKOFF_MAX_EXP = 32,	       /* n is capped at 32 */
};

/* A parsed peer or listener URI (§2.1). */
struct peer_uri {
	enum peer_scheme scheme;
	char base[PEER_URI_MAX];  /* the URI without query: the bookkeeping key, getPeers remote */
	char host[PEER_HOST_MAX]; /* tcp/tls: host, without brackets, zone kept ("fe80::1%eth0") */
	uint16_t port;
	char path[PEER_URI_MAX];	 /* unix: socket path */
	uint8_t pins[PEER_MAX_PINS][32]; /* key= */
	size_t n_pins;
	uint8_t priority;
	char password[PEER_PASSWORD_MAX + 1];
	size_t password_len;
	uint64_t maxbackoff_ms;
	char sni[PEER_HOST_MAX]; /* effective TLS SNI: sni= or the host name; "" for IP literals */
};

/*
 * Parses uri as yggdrasil does (Go url.Parse + Query(): %xx and '+' decoded, pairs with a bad
 * escape or a ';' ignored, unknown options ignored). is_listen: a Listen entry (only priority=
 * and password= apply). Returns 0; -EINVAL for a malformed URI or option value; -ENOTSUP for a
 * scheme we parse but do not speak yet (quic, ws, wss, socks, sockstls), *err saying so.
 */
int peer_uri_parse(const char *uri, bool is_listen, struct peer_uri *out, const char **err);

/*
 * Only the scheme, address and path of uri (removePeer ignores the options): fills out->base.
 * Errors as peer_uri_parse's for those parts; on -ENOTSUP out->base is still filled.
 */
int peer_uri_parse_base(const char *uri, struct peer_uri *out, const char **err);

/*
 * §2.5: the delay before redial number `failures` (>= 1): unit_ms * 2^min(failures, 32),
 * capped at max_ms. Pure.
 */
uint64_t peer_backoff_ms(unsigned failures, uint64_t max_ms, uint64_t unit_ms);

struct peer_cbs {
	void *ctx;
	/* A link passed the meta handshake with key (never ours); prio is its effective priority.
	 */
	void (*link_up)(void *ctx, uint32_t link_id, const uint8_t key[32], uint8_t prio);
	/* Exactly once per link_up; link_id is dead afterwards. */
	void (*link_down)(void *ctx, uint32_t link_id);
	/* A frame (type || body) other than Dummy/KeepAlive. Consumes frame. < 0 closes the link.
	 */
	int (*frame)(void *ctx, uint32_t link_id, struct pkt *frame);
	/*
	 * The loop guard of tunnel routing (optional; NULL allows everything): false when a link
	 * to or from sa must not exist, because traffic to sa is routed into the overlay itself;
	 * why (len bytes) then says so. Asked for every address a peer's host resolves to before
	 * it is dialled, and for the remote address of every accepted link.
	 */
	bool (*addr_allowed)(void *ctx, const struct sockaddr *sa, char *why, size_t len);
};

/* One getPeers row: a configured peer (up or not) or an inbound link that is up. */
struct peer_link_info {
	uint32_t link_id;	   /* 0 when not up */
	char remote[PEER_URI_MAX]; /* configured URI without query; inbound: scheme://ip:port */
	char iface[64];		   /* InterfacePeers device, or "" */
	bool is_up;
	bool is_inbound;
	uint8_t key[32]; /* valid when is_up */
	uint8_t priority;
	uint64_t bytes_recvd;
	uint64_t bytes_sent;
	uint64_t rate_recvd; /* bytes/s */
	uint64_t rate_sent;
	uint64_t uptime_ms;
	uint64_t tx_drops;
	uint64_t rx_drops;
	bool has_error;
	uint64_t last_error_age_ms;
	char last_error[256];
};

typedef void peer_info_cb(void *ctx, const struct peer_link_info *info);
typedef void peer_closed_cb(void *arg);

/*
 * Builds the table (TLS certificate, AllowedPublicKeys) without opening any handle. NULL after
 * logging why.
 */
struct peer_table *peer_table_new(uv_loop_t *loop, const struct config *cfg,
				  const struct keypair *kp, struct pkt_pool *pool,
				  const struct peer_cbs *cbs);
/*
 * SO_MARK for every TCP socket the table opens from now on, outbound or listening (accepted
 * sockets inherit the listener's): the loop guard's mark (tun.h). 0, the default: none.
 * Call before peer_table_start.
 */
void peer_table_set_sock_mark(struct peer_table *t, uint32_t mark);
/*
 * The loop guard's view of the table: calls cb for every IP address the node's links talk to
 * or on, with what it is for messages ("peer tcp://…", "listener tcp://…", "inbound link
 * tcp://…"): the literal host of every configured peer and listener (host names are checked
 * when resolved, through addr_allowed) and the remote address of every open link. sa and what
 * are valid during the call; cb returns false to stop.
 */
typedef bool peer_addr_cb(void *ctx, const struct sockaddr *sa, const char *what);
void peer_foreach_addr(const struct peer_table *t, peer_addr_cb *cb, void *ctx);
/*
 * Tests: shorter link delays (copied) and backoff unit. Call before peer_table_start; NULL
 * timing keeps the spec values.
 */
void peer_table_set_timing(struct peer_table *t, const struct link_timing *timing,
			   uint64_t backoff_unit_ms);
/*
 * Opens the Listen listeners (a failing one is logged and skipped, as yggdrasil does) and starts
 * dialling Peers and InterfacePeers. Returns 0, or -EINVAL if a peer URI is malformed (peers of
 * unsupported schemes are logged and skipped).
 */
int peer_table_start(struct peer_table *t);
/*
 * Closes every listener, link and timer (link_down runs for links that were up); done(arg)
 * runs once everything is closed, possibly before this returns if nothing was open.
 */
void peer_table_close(struct peer_table *t, peer_closed_cb *done, void *arg);
/* Frees a table whose close completed, or that was never started. NULL is a no-op. */
void peer_table_free(struct peer_table *t);

/* Queues frame (type || body) on link_id; dropped and counted if that link is not up. */
void peer_send(struct peer_table *t, uint32_t link_id, struct pkt *frame);
/* Closes one link (e.g. on the router's request); link_down follows from the loop. */
void peer_close_link(struct peer_table *t, uint32_t link_id, const char *why);

/*
 * addPeer: starts a persistent peering (iface: InterfacePeers device or NULL). -EEXIST "peer is
 * already configured" (a peer that was backing off is redialled at once), -EPERM when the
 * host is an IP literal that cbs.addr_allowed refuses (*err says why; valid until the next
 * call), or peer_uri_parse's errors.
 */
int peer_add(struct peer_table *t, const char *uri, const char *iface, const char **err);
/* removePeer: stops redialling and closes its link. -ENOENT "peer is not configured". */
int peer_remove(struct peer_table *t, const char *uri, const char *iface, const char **err);
/* Opens one more listener (Listen syntax). 0 or a negative errno with *err set. */
int peer_listen(struct peer_table *t, const char *uri, const char **err);

/* getPeers rows, configured peers first (in the order added), then inbound links. */
void peer_foreach(const struct peer_table *t, peer_info_cb *cb, void *ctx);
/* Listeners as bound, e.g. "tcp://127.0.0.1:40123" (port 0 resolved). */
size_t peer_listener_count(const struct peer_table *t);
const char *peer_listener_uri(const struct peer_table *t, size_t i);
/* peer_send calls that found no up link. */
uint64_t peer_send_drops(const struct peer_table *t);

#endif
