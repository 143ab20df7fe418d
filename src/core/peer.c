/*
 * peer: the peer table (see peer.h; spec yggdrasil-link-routing.md §2.1, §2.2, §2.5). URI
 * parsing and the backoff formula, which are pure, live in peer_uri.c.
 *
 * Owns: the TLS context (our certificate), the AllowedPublicKeys set, and three lists:
 * - peers: configured outbound peerings. Each has a backoff timer and at most one conn (dial
 *   attempt or link) at a time; it resolves its host (uv_getaddrinfo), tries every suitable
 *   address in turn, and after a failed dial or handshake or a lost link waits 2^n s, capped by
 *   maxbackoff (n reset once a handshake succeeds, §2.5).
 * - listeners: tcp/tls/unix servers; every accepted stream becomes an inbound conn.
 * - conns: every link, inbound or outbound, with its link id.
 *
 * Invariants:
 * - A link id reaches cbs.link_up at most once and cbs.link_down exactly once after it; only
 *   conns that are up are found by peer_send.
 * - Nothing is freed synchronously by a call that may come from a callback: peers, listeners
 *   and conns are freed from uv close callbacks (link's cbs.closed for conns). t->live counts
 *   the objects still alive; peer_table_close's done runs when it drops to zero.
 * - A removed peer leaves the list at once (so the same URI can be added again) and is freed
 *   when its timer is closed, its lookup has returned and its conn has closed.
 *
 * Timers: one backoff timer per configured peer; one 1 s rate timer (getPeers rates, as
 * yggdrasil's _updateAverages).
 */
#include "core/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config/config.h"
#include "core/link.h"
#include "crypto/keys.h"
#include "crypto/tls.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"

enum {
	RATE_MS = 1000,
	MAX_ADDRS = 16, /* resolved addresses tried per dial round */
	LISTEN_BACKLOG = 128,
};

static int fail(const char **err, const char *msg, int code)
{
	if (err)
		*err = msg;
	return code;
}

enum peer_state {
	PS_IDLE,
	PS_RESOLVING,
	PS_DIALING, /* a conn exists (connecting, handshaking or up) */
	PS_BACKOFF,
};

struct conn;

/* A configured outbound peering. */
struct peer {
	struct list_node node; /* in t->peers until removed */
	struct peer_table *t;
	struct peer_uri u;
	char *iface; /* NULL = none */
	enum peer_state state;
	unsigned failures;
	uv_timer_t timer;
	bool is_timer_open;
	uv_getaddrinfo_t gai;
	bool is_resolving;
	struct sockaddr_storage addrs[MAX_ADDRS];
	size_t n_addrs, next_addr;
	struct conn *conn;
	bool is_removed;
	bool has_error;
	uint64_t error_ms;
	char error[256];
};

struct listener {
	struct list_node node;
	struct peer_table *t;
	struct peer_uri u;
	char bound[PEER_URI_MAX];
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} io;
	bool is_bound_unix; /* unlink the socket file on close */
};

/* One link and its id. */
struct conn {
	struct list_node node;
	struct peer_table *t;
	struct peer *peer; /* NULL for inbound */
	struct link *link;
	uint32_t id;
	bool is_up;
};

struct peer_table {
	uv_loop_t *loop;
	const struct config *cfg;
	const struct keypair *kp;
	struct pkt_pool *pool;
	struct peer_cbs cbs;
	struct tls_ctx *tls;
	uint8_t (*allowed)[32];
	size_t n_allowed;
	struct list_node peers, listeners, conns;
	uint32_t next_id;
	uv_timer_t rate;
	bool has_timing;
	struct link_timing timing;
	uint64_t backoff_unit_ms;
	bool is_started, is_closing;
	uint32_t sock_mark; /* SO_MARK of our TCP sockets (the tunnel loop guard); 0: none */
	char guard_why[256]; /* peer_add's loop-guard refusal (its *err points here) */
	size_t live; /* peers, listeners, conns and the rate timer not yet freed */
	peer_closed_cb *done;
	void *done_arg;
	uint64_t send_drops;
};

static void table_unref(struct peer_table *t)
{
	if (--t->live == 0 && t->is_closing && t->done) {
		peer_closed_cb *done = t->done;

		t->done = NULL;
		done(t->done_arg);
	}
}

static void start_dial(struct peer *p);

static void peer_maybe_free(struct peer *p)
{
	struct peer_table *t = p->t;

	if (!p->is_removed || p->is_timer_open || p->is_resolving || p->conn)
		return;
	free(p->iface);
	free(p);
	table_unref(t);
}

static void set_error(struct peer *p, const char *why)
{
	p->has_error = true;
	p->error_ms = uv_now(p->t->loop);
	snprintf(p->error, sizeof(p->error), "%s", why);
}

static void on_backoff(uv_timer_t *h)
{
	start_dial(container_of(h, struct peer, timer));
}

static void schedule_backoff(struct peer *p)
{
	uint64_t ms;

	if (p->failures < PEER_BACKOFF_MAX_EXP)
		p->failures++;
	ms = peer_backoff_ms(p->failures, p->u.maxbackoff_ms, p->t->backoff_unit_ms);
	p->state = PS_BACKOFF;
	log_debug("peer %s: redialling in %llu ms", p->u.base, (unsigned long long)ms);
	uv_timer_start(&p->timer, on_backoff, ms, 0);
}

/* ---- link callbacks ---- */

static void conn_up(void *ctx, struct link *l, const uint8_t key[32], uint8_t prio)
{
	struct conn *c = ctx;
	struct peer_table *t = c->t;

	(void)l;
	c->is_up = true;
	if (c->peer)
		c->peer->failures = 0; /* §2.5: reset after a successful handshake */
	if (t->cbs.link_up)
		t->cbs.link_up(t->cbs.ctx, c->id, key, prio);
}

static int conn_frame(void *ctx, struct link *l, struct pkt *frame)
{
	struct conn *c = ctx;
	struct peer_table *t = c->t;

	(void)l;
	if (!t->cbs.frame) {
		pkt_free(frame);
		return 0;
	}
	return t->cbs.frame(t->cbs.ctx, c->id, frame);
}

static void dial_next(struct peer *p);

static void conn_closed(void *ctx, struct link *l, const struct link_close_info *ci)
{
	struct conn *c = ctx;
	struct peer_table *t = c->t;
	struct peer *p = c->peer;

	if (c->is_up && t->cbs.link_down)
		t->cbs.link_down(t->cbs.ctx, c->id);
	if (ci->was_connected && !ci->was_up)
		log_info("Handshake with %s failed: %s", link_name(l), ci->why);
	list_del(&c->node);
	free(c);
	if (p) {
		p->conn = NULL;
		if (p->is_removed) {
			peer_maybe_free(p);
		} else {
			set_error(p, ci->was_up && ci->err == -ECONNRESET
					 ? "remote side closed the connection"
					 : ci->why);
			/* A failed dial tries the next address; anything else backs off. */
			if (!ci->was_connected && p->next_addr < p->n_addrs)
				dial_next(p);
			else
				schedule_backoff(p);
		}
	}
	table_unref(t);
}

static struct conn *conn_new(struct peer_table *t, struct peer *p, struct link_params *lp)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	const struct link_cbs cbs = {
	    .ctx = c,
	    .up = conn_up,
	    .frame = conn_frame,
	    .closed = conn_closed,
	};

	c->t = t;
	c->peer = p;
	if (++t->next_id == 0)
		t->next_id = 1;
	c->id = t->next_id;
	lp->kp = t->kp;
	lp->pool = t->pool;
	lp->timing = t->has_timing ? &t->timing : NULL;
	c->link = link_new(t->loop, lp, &cbs);
	list_add_tail(&t->conns, &c->node);
	t->live++;
	if (p) {
		p->conn = c;
		p->state = PS_DIALING;
	}
	return c;
}

/* ---- outbound ---- */

static struct conn *conn_for_peer(struct peer *p)
{
	struct link_params lp = {
	    .tls = p->u.scheme == PEER_TLS ? p->t->tls : NULL,
	    .name = p->u.base,
	    .sni = p->u.sni,
	    .password = (const uint8_t *)p->u.password,
	    .password_len = p->u.password_len,
	    .keys = (const uint8_t(*)[32])p->u.pins,
	    .n_keys = p->u.n_pins,
	    .priority = p->u.priority,
	    .sock_mark = p->t->sock_mark,
	};

	return conn_new(p->t, p, &lp);
}

static void dial_next(struct peer *p)
{
	struct conn *c;

	if (p->next_addr >= p->n_addrs) {
		schedule_backoff(p);
		return;
	}
	c = conn_for_peer(p);
	link_connect_tcp(c->link, (const struct sockaddr *)&p->addrs[p->next_addr++], p->iface);
}

/* findSuitableIP: no unspecified or multicast addresses; link-local needs a zone. */
static bool addr_usable(struct peer *p, struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr);

		return a != 0 && (a >> 28) != 0xe;
	}
	if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
		    IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			return false;
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)) {
			if (p->iface)
				s6->sin6_scope_id = if_nametoindex(p->iface);
			if (!s6->sin6_scope_id) {
				set_error(p, "link-local address requires a zone");
				return false;
			}
		}
		return true;
	}
	return false;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct peer *p = container_of(req, struct peer, gai);
	char why[200];

	p->is_resolving = false;
	if (p->is_removed || p->t->is_closing) {
		uv_freeaddrinfo(res);
		peer_maybe_free(p);
		return;
	}
	p->n_addrs = p->next_addr = 0;
	if (status < 0) {
		snprintf(why, sizeof(why), "lookup %.100s: %s", p->u.host, uv_strerror(status));
		set_error(p, why);
	}
	for (struct addrinfo *ai = res; ai && p->n_addrs < MAX_ADDRS; ai = ai->ai_next) {
		struct sockaddr_storage *ss = &p->addrs[p->n_addrs];

		if (ai->ai_addrlen > sizeof(*ss))
			continue;
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, ai->ai_addr, ai->ai_addrlen);
		if (!addr_usable(p, ss))
			continue;
		if (p->t->cbs.addr_allowed &&
		    !p->t->cbs.addr_allowed(p->t->cbs.ctx, (struct sockaddr *)ss, why,
					    sizeof(why))) {
			/* The loop guard at each resolution (the config saw only literals). */
			log_error("peer %s: not dialling: %s", p->u.base, why);
			set_error(p, why);
			continue;
		}
		p->n_addrs++;
	}
	uv_freeaddrinfo(res);
	if (status == 0 && p->n_addrs == 0 && !p->has_error)
		set_error(p, "peer has no suitable addresses");
	dial_next(p);
}

static void start_dial(struct peer *p)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
	char port[8];
	int r;

	if (p->is_removed || p->t->is_closing)
		return;
	uv_timer_stop(&p->timer);
	if (p->u.scheme == PEER_UNIX) {
		link_connect_unix(conn_for_peer(p)->link, p->u.path);
		return;
	}
	snprintf(port, sizeof(port), "%u", p->u.port);
	hints.ai_flags = AI_NUMERICSERV;
	r = uv_getaddrinfo(p->t->loop, &p->gai, on_resolved, p->u.host, port, &hints);
	if (r < 0) {
		set_error(p, uv_strerror(r));
		schedule_backoff(p);
		return;
	}
	p->is_resolving = true;
	p->state = PS_RESOLVING;
}

static void on_peer_timer_closed(uv_handle_t *h)
{
	struct peer *p = container_of((uv_timer_t *)h, struct peer, timer);

	p->is_timer_open = false;
	peer_maybe_free(p);
}

static bool same_iface(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static struct peer *peer_find(const struct peer_table *t, const char *base, const char *iface)
{
	struct list_node *n;

	list_foreach(n, &t->peers) {
		struct peer *p = list_entry(n, struct peer, node);

		if (!strcmp(p->u.base, base) && same_iface(p->iface, iface))
			return p;
	}
	return NULL;
}

/* Stops p for good: removePeer or table close. why goes to the link's close reason. */
static void peer_drop(struct peer *p, const char *why)
{
	p->is_removed = true;
	list_del(&p->node);
	uv_close((uv_handle_t *)&p->timer, on_peer_timer_closed);
	if (p->is_resolving)
		uv_cancel((uv_req_t *)&p->gai); /* on_resolved still runs, with UV_EAI_CANCELED */
	if (p->conn)
		link_close(p->conn->link, -ECANCELED, why);
	peer_maybe_free(p);
}

/*
 * The TLS context is made when the first tls:// peer or listener is added, not at start: a
 * node without TLS never initialises OpenSSL, which keeps several MiB of libcrypto out of its
 * resident set. §2.3: the certificate is fresh at each start, NotBefore = its creation.
 */
static int table_need_tls(struct peer_table *t, const char **err)
{
	const char *why = NULL;

	if (t->tls)
		return 0;
	t->tls = tls_ctx_new(t->kp, (int64_t)time(NULL), &why);
	if (!t->tls) {
		log_error("TLS: %s", why ? why : "cannot initialise");
		return fail(err, "TLS cannot be initialised", -EPROTO);
	}
	return 0;
}

/* A literal IP host ("192.0.2.1", "2001:db8::1", "fe80::1%eth0") as a sockaddr. */
static bool host_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char h[PEER_HOST_MAX];

	memset(ss, 0, sizeof(*ss));
	snprintf(h, sizeof(h), "%s", host);
	h[strcspn(h, "%")] = '\0';
	if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return true;
	}
	if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return true;
	}
	return false;
}

int peer_add(struct peer_table *t, const char *uri, const char *iface, const char **err)
{
	struct sockaddr_storage ss;
	struct peer_uri u;
	struct peer *p;
	int r;

	if (!t->is_started || t->is_closing)
		return fail(err, "peer table is not running", -EAGAIN);
	r = peer_uri_parse(uri, false, &u, err);
	if (r < 0)
		return r;
	if (u.scheme == PEER_TLS && (r = table_need_tls(t, err)) < 0)
		return r;
	/* The loop guard for a literal address now; a host name's are checked when resolved. */
	if (u.scheme != PEER_UNIX && t->cbs.addr_allowed && host_addr(u.host, u.port, &ss) &&
	    !t->cbs.addr_allowed(t->cbs.ctx, (struct sockaddr *)&ss, t->guard_why,
				 sizeof(t->guard_why)))
		return fail(err, t->guard_why, -EPERM);
	p = peer_find(t, u.base, iface);
	if (p) {
		/* yggdrasil kicks a peer that is backing off into an immediate redial. */
		if (p->state == PS_BACKOFF)
			start_dial(p);
		return fail(err, "peer is already configured", -EEXIST);
	}
	p = xcalloc(1, sizeof(*p));
	p->t = t;
	p->u = u;
	p->iface = iface && *iface ? xstrdup(iface) : NULL;
	uv_timer_init(t->loop, &p->timer);
	p->is_timer_open = true;
	list_add_tail(&t->peers, &p->node);
	t->live++;
	log_debug("peer %s: added%s%s", u.base, p->iface ? " on " : "", p->iface ? p->iface : "");
	start_dial(p);
	return 0;
}

int peer_remove(struct peer_table *t, const char *uri, const char *iface, const char **err)
{
	struct peer_uri u;
	struct peer *p;
	int r = peer_uri_parse_base(uri, &u, err);

	/* Only the bookkeeping key matters here; an unsupported scheme was never added. */
	if (r < 0 && r != -ENOTSUP)
		return r;
	p = peer_find(t, u.base, iface);
	if (!p)
		return fail(err, "peer is not configured", -ENOENT);
	peer_drop(p, "peer removed");
	return 0;
}

/* ---- listeners ---- */

static void on_listener_closed(uv_handle_t *h)
{
	struct listener *ls = h->data;
	struct peer_table *t = ls->t;

	if (ls->is_bound_unix)
		unlink(ls->u.path); /* as Go's UnixListener.Close */
	free(ls);
	table_unref(t);
}

static void listener_close(struct listener *ls)
{
	list_del(&ls->node);
	ls->io.h.data = ls;
	uv_close(&ls->io.h, on_listener_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *ls = container_of(server, struct listener, io.s);
	struct peer_table *t = ls->t;
	struct link_params lp = {
	    .tls = ls->u.scheme == PEER_TLS ? t->tls : NULL,
	    .name = ls->u.scheme == PEER_UNIX ? ls->u.base : NULL,
	    .password = (const uint8_t *)ls->u.password,
	    .password_len = ls->u.password_len,
	    /* §2.4 step 5: AllowedPublicKeys applies to ordinary listeners. */
	    .keys = (const uint8_t(*)[32])t->allowed,
	    .n_keys = t->n_allowed,
	    .priority = ls->u.priority,
	    .is_inbound = true,
	};

	struct sockaddr_storage ss;
	struct link *l;
	char why[200];

	if (status < 0) {
		log_warn("listener %s: accept: %s", ls->bound, uv_strerror(status));
		return;
	}
	l = conn_new(t, NULL, &lp)->link;
	link_accept(l, server);
	if (t->cbs.addr_allowed && link_remote_addr(l, &ss) &&
	    !t->cbs.addr_allowed(t->cbs.ctx, (struct sockaddr *)&ss, why, sizeof(why))) {
		log_warn("listener %s: refusing %s: %s", ls->bound, link_name(l), why);
		link_close(l, -EPERM, why);
	}
}

static void format_bound(struct listener *ls)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	const char *scheme = ls->u.scheme == PEER_TLS ? "tls" : "tcp";

	if (ls->u.scheme == PEER_UNIX ||
	    uv_tcp_getsockname(&ls->io.tcp, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(ls->bound, sizeof(ls->bound), "%s", ls->u.base);
	} else if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		snprintf(ls->bound, sizeof(ls->bound), "%s://[%s]:%u", scheme, host,
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		snprintf(ls->bound, sizeof(ls->bound), "%s://%s:%u", scheme, host,
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
}

static int bind_tcp(struct listener *ls)
{
	struct addrinfo hints = {
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	uv_getaddrinfo_t req;
	uv_os_fd_t fd;
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%u", ls->u.port);
	/* An empty host listens on every address; "::" is dual-stack on Linux. */
	r = uv_getaddrinfo(ls->t->loop, &req, NULL, ls->u.host[0] ? ls->u.host : "::", port,
			   &hints);
	if (r < 0)
		return r;
	r = uv_tcp_init_ex(ls->t->loop, &ls->io.tcp, req.addrinfo->ai_family);
	/* The loop guard's mark, which every accepted socket inherits. */
	if (r == 0 && ls->t->sock_mark) {
		r = uv_fileno(&ls->io.h, &fd);
		if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &ls->t->sock_mark,
					 sizeof(ls->t->sock_mark)) < 0)
			r = -errno;
	}
	if (r == 0)
		r = uv_tcp_bind(&ls->io.tcp, req.addrinfo->ai_addr, 0);
	uv_freeaddrinfo(req.addrinfo);
	return r;
}

int peer_listen(struct peer_table *t, const char *uri, const char **err)
{
	struct listener *ls;
	int r;

	if (!t->is_started || t->is_closing)
		return fail(err, "peer table is not running", -EAGAIN);
	ls = xcalloc(1, sizeof(*ls));
	r = peer_uri_parse(uri, true, &ls->u, err);
	if (r == 0 && ls->u.scheme == PEER_TLS)
		r = table_need_tls(t, err);
	if (r < 0) {
		free(ls);
		return r;
	}
	ls->t = t;
	t->live++;
	list_add_tail(&t->listeners, &ls->node);
	if (ls->u.scheme == PEER_UNIX) {
		r = uv_pipe_init(t->loop, &ls->io.pipe, 0);
		if (r == 0) {
			r = uv_pipe_bind(&ls->io.pipe, ls->u.path);
			ls->is_bound_unix = r == 0;
		}
	} else {
		r = bind_tcp(ls);
	}
	if (r == 0)
		r = uv_listen(&ls->io.s, LISTEN_BACKLOG, on_connection);
	if (r < 0) {
		fail(err, uv_strerror(r), r);
		if (ls->io.h.loop) {
			listener_close(ls);
		} else {
			list_del(&ls->node);
			free(ls);
			t->live--;
		}
		return r;
	}
	format_bound(ls);
	log_info("%s listener started on %s",
		 ls->u.scheme == PEER_TLS    ? "TLS"
		 : ls->u.scheme == PEER_UNIX ? "UNIX"
					     : "TCP",
		 ls->bound);
	return 0;
}

size_t peer_listener_count(const struct peer_table *t)
{
	struct list_node *n;
	size_t i = 0;

	list_foreach(n, &t->listeners)
		i++;
	return i;
}

const char *peer_listener_uri(const struct peer_table *t, size_t i)
{
	struct list_node *n;

	list_foreach(n, &t->listeners) {
		if (i-- == 0)
			return list_entry(n, struct listener, node)->bound;
	}
	return NULL;
}

/* ---- the table ---- */

struct peer_table *peer_table_new(uv_loop_t *loop, const struct config *cfg,
				  const struct keypair *kp, struct pkt_pool *pool,
				  const struct peer_cbs *cbs)
{
	struct peer_table *t = xcalloc(1, sizeof(*t));

	t->loop = loop;
	t->cfg = cfg;
	t->kp = kp;
	t->pool = pool;
	t->cbs = *cbs;
	t->backoff_unit_ms = PEER_BACKOFF_UNIT_MS;
	list_init(&t->peers);
	list_init(&t->listeners);
	list_init(&t->conns);
	if (cfg && cfg->allowed_public_keys.n) {
		t->allowed = xcalloc(cfg->allowed_public_keys.n, sizeof(*t->allowed));
		for (size_t i = 0; i < cfg->allowed_public_keys.n; i++)
			if (keys_pub_from_hex(cfg->allowed_public_keys.v[i],
					      t->allowed[t->n_allowed]))
				t->n_allowed++;
	}
	return t;
}

void peer_table_set_timing(struct peer_table *t, const struct link_timing *timing,
			   uint64_t backoff_unit_ms)
{
	t->has_timing = timing != NULL;
	if (timing)
		t->timing = *timing;
	t->backoff_unit_ms = backoff_unit_ms ? backoff_unit_ms : PEER_BACKOFF_UNIT_MS;
}

static void on_rate(uv_timer_t *h)
{
	struct peer_table *t = container_of(h, struct peer_table, rate);
	struct list_node *n;

	list_foreach(n, &t->conns)
		link_rate_tick(list_entry(n, struct conn, node)->link);
}

static int add_configured(struct peer_table *t, const char *uri, const char *iface)
{
	const char *err = NULL;
	int r = peer_add(t, uri, iface, &err);

	if (r == -ENOTSUP || r == -EEXIST) {
		log_warn("Peer %s ignored: %s", uri, err);
		return 0;
	}
	if (r < 0)
		log_error("Peer %s: %s", uri, err);
	return r;
}

int peer_table_start(struct peer_table *t)
{
	const struct config *cfg = t->cfg;
	int r = 0;

	uv_timer_init(t->loop, &t->rate);
	t->live++;
	t->is_started = true;
	uv_timer_start(&t->rate, on_rate, RATE_MS, RATE_MS);
	if (!cfg)
		return 0;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		const char *err = NULL;

		if (peer_listen(t, cfg->listen.v[i], &err) < 0)
			log_error("Failed to start listener %s: %s", cfg->listen.v[i], err);
	}
	for (size_t i = 0; i < cfg->peers.n && r == 0; i++)
		r = add_configured(t, cfg->peers.v[i], NULL);
	for (size_t i = 0; i < cfg->n_interface_peers && r == 0; i++) {
		const struct config_ifpeers *ip = &cfg->interface_peers[i];

		for (size_t j = 0; j < ip->uris.n && r == 0; j++)
			r = add_configured(t, ip->uris.v[j], ip->iface);
	}
	return r;
}

static void on_rate_closed(uv_handle_t *h)
{
	table_unref(container_of((uv_timer_t *)h, struct peer_table, rate));
}

void peer_table_close(struct peer_table *t, peer_closed_cb *done, void *arg)
{
	struct list_node *n, *tmp;

	t->done = done;
	t->done_arg = arg;
	if (t->is_closing)
		return;
	t->is_closing = true;
	list_foreach_safe(n, tmp, &t->listeners)
		listener_close(list_entry(n, struct listener, node));
	list_foreach_safe(n, tmp, &t->peers)
		peer_drop(list_entry(n, struct peer, node), "shutting down");
	list_foreach(n, &t->conns)
		link_close(list_entry(n, struct conn, node)->link, -ESHUTDOWN, "shutting down");
	if (t->is_started)
		uv_close((uv_handle_t *)&t->rate, on_rate_closed);
	if (t->live == 0 && t->done) {
		t->done = NULL;
		done(arg);
	}
}

void peer_table_free(struct peer_table *t)
{
	if (!t)
		return;
	tls_ctx_free(t->tls);
	free(t->allowed);
	free(t);
}

static struct conn *conn_find_up(const struct peer_table *t, uint32_t id)
{
	struct list_node *n;

	list_foreach(n, &t->conns) {
		struct conn *c = list_entry(n, struct conn, node);

		if (c->id == id)
			return c->is_up ? c : NULL;
	}
	return NULL;
}

void peer_send(struct peer_table *t, uint32_t link_id, struct pkt *frame)
{
	struct conn *c = conn_find_up(t, link_id);

	if (!c) {
		t->send_drops++;
		pkt_free(frame);
		return;
	}
	link_send(c->link, frame);
}

void peer_close_link(struct peer_table *t, uint32_t link_id, const char *why)
{
	struct conn *c = conn_find_up(t, link_id);

	if (c)
		link_close(c->link, -ECONNABORTED, why);
}

uint64_t peer_send_drops(const struct peer_table *t)
{
	return t->send_drops;
}

static void fill_from_link(struct peer_link_info *pi, const struct conn *c)
{
	struct link_info li;

	link_get_info(c->link, &li);
	pi->link_id = c->id;
	pi->is_up = true;
	memcpy(pi->key, li.key, 32);
	pi->priority = li.priority;
	pi->bytes_recvd = li.bytes_recvd;
	pi->bytes_sent = li.bytes_sent;
	pi->rate_recvd = li.rate_recvd;
	pi->rate_sent = li.rate_sent;
	pi->uptime_ms = li.uptime_ms;
	pi->tx_drops = li.tx_drops;
	pi->rx_drops = li.rx_drops;
}

void peer_table_set_sock_mark(struct peer_table *t, uint32_t mark)
{
	t->sock_mark = mark;
}

void peer_foreach_addr(const struct peer_table *t, peer_addr_cb *cb, void *ctx)
{
	struct sockaddr_storage ss;
	char what[PEER_URI_MAX + 24];
	struct list_node *n;

	list_foreach(n, &t->peers) {
		const struct peer *p = list_entry(n, struct peer, node);

		snprintf(what, sizeof(what), "peer %s", p->u.base);
		if (p->u.scheme != PEER_UNIX && host_addr(p->u.host, p->u.port, &ss) &&
		    !cb(ctx, (struct sockaddr *)&ss, what))
			return;
	}
	list_foreach(n, &t->listeners) {
		const struct listener *ls = list_entry(n, struct listener, node);

		snprintf(what, sizeof(what), "listener %s", ls->u.base);
		if (ls->u.scheme != PEER_UNIX && host_addr(ls->u.host, ls->u.port, &ss) &&
		    !cb(ctx, (struct sockaddr *)&ss, what))
			return;
	}
	list_foreach(n, &t->conns) {
		const struct conn *c = list_entry(n, struct conn, node);

		snprintf(what, sizeof(what), "%s link %s", c->peer ? "outbound" : "inbound",
			 link_name(c->link));
		if (link_remote_addr(c->link, &ss) && !cb(ctx, (struct sockaddr *)&ss, what))
			return;
	}
}

void peer_foreach(const struct peer_table *t, peer_info_cb *cb, void *ctx)
{
	struct peer_link_info pi;
	struct list_node *n;
	uint64_t now = uv_now(t->loop);

	list_foreach(n, &t->peers) {
		const struct peer *p = list_entry(n, struct peer, node);

		memset(&pi, 0, sizeof(pi));
		snprintf(pi.remote, sizeof(pi.remote), "%s", p->u.base);
		snprintf(pi.iface, sizeof(pi.iface), "%s", p->iface ? p->iface : "");
		pi.priority = p->u.priority;
		if (p->conn && p->conn->is_up)
			fill_from_link(&pi, p->conn);
		if (p->has_error) {
			pi.has_error = true;
			pi.last_error_age_ms = now - p->error_ms;
			snprintf(pi.last_error, sizeof(pi.last_error), "%s", p->error);
		}
		cb(ctx, &pi);
	}
	list_foreach(n, &t->conns) {
		const struct conn *c = list_entry(n, struct conn, node);

		if (c->peer || !c->is_up)
			continue;
		memset(&pi, 0, sizeof(pi));
		snprintf(pi.remote, sizeof(pi.remote), "%s", link_name(c->link));
		pi.is_inbound = true;
		fill_from_link(&pi, c);
		cb(ctx, &pi);
	}
}
