/*
 * link: one peering connection (see link.h; spec yggdrasil-link-routing.md §2.2–§2.4, §3).
 *
 * Owns: its stream handle (uv_tcp_t or uv_pipe_t), its timers and flush handles, the TLS
 * connection (if any), the receive buffer, the transmit queue and the pkts of the write in
 * flight. The struct is freed in the last close callback, right after cbs.closed.
 *
 * States: NEW -> CONNECTING (outbound) -> TLS (tls:// only) -> META -> UP -> CLOSING. CLOSING is
 * final; every callback checks it, so a link closed from inside cbs.frame stops parsing at once.
 *
 * Receive path: plain streams read straight into rbuf (no copy); TLS streams read ciphertext
 * into cbuf and decrypt into rbuf. rbuf holds at most one partial frame after parsing, and it is
 * one maximal frame (uvarint + 131070) long, so a read always has room. A frame that reads
 * brought whole into rbuf is copied once into a pool pkt and handed up; KeepAlive and Dummy
 * stay here (§3.1). A frame of at least DIRECT_MIN bytes that a read brought only in part is
 * not left in rbuf: its pkt is taken at once, and the reads (or TLS decryption) that follow go
 * straight into the pkt until the frame is whole (rx_big, rx_want). While the frames come that
 * long (rx_bulk), a read into an empty rbuf takes at most BULK_READ bytes, so that the next
 * long frame begins there and goes on in its pkt: a second read per frame instead of copying
 * it whole.
 *
 * Transmit path: link_send prepends the uvarint in the pkt headroom and queues it (bounded,
 * drops counted). A uv_check_t (frames queued from I/O callbacks) and a uv_idle_t (frames queued
 * from timers, which would otherwise wait for the next poll) flush the queue once per loop
 * iteration as one writev of up to IOV_BATCH iovecs (uv_try_write). What the socket does not
 * take goes through uv_write: only one write is in flight and it holds its pkts until the write
 * callback. With TLS the frames are coalesced into records and the ciphertext goes out in one
 * write.
 *
 * Timers:
 * - deadline: dial (5 s, covers TLS for outbound tls://), meta handshake (6 s; inbound TLS
 *   included), then the §3.2 read deadline (3 s after we send a non-keepalive frame, disarmed
 *   by any received frame).
 * - keepalive: 1 s after a received non-keepalive frame, unless we sent something meanwhile.
 */
#include "core/link.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/addr.h"
#include "core/proto.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/sign.h"
#include "crypto/tls.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	RBUF_CAP = PROTO_FRAME_MAX + WIRE_UVARINT_MAX, /* one maximal frame */
	CBUF_CAP = 64 * 1024,			       /* ciphertext read buffer */
	TLS_STAGE_CAP = 16 * 1024,		       /* one TLS record of coalesced frames */
	IOV_BATCH = 64,				       /* pkts per uv_write */
	DIRECT_MIN = 2048, /* a partial frame this long is read into its pkt, not into rbuf */
	BULK_READ = 1024,  /* bytes read into an empty rbuf while the frames are long */
};
_Static_assert(RBUF_CAP > 6 + 65535, "a meta of any announced length fits rbuf");

enum link_state {
	LS_NEW,
	LS_CONNECTING,
	LS_TLS,
	LS_META,
	LS_UP,
	LS_CLOSING,
};

struct link {
	uv_loop_t *loop;
	struct link_cbs cbs;
	const struct keypair *kp;
	struct pkt_pool *pool;
	struct tls_ctx *tls_ctx;
	struct tls_conn *tls;
	char name[LINK_NAME_MAX];
	char *sni;
	uint8_t password[LINK_PASSWORD_MAX];
	size_t password_len;
	uint8_t (*keys)[32];
	size_t n_keys;
	uint8_t our_key[32];
	uint8_t our_prio;
	bool is_inbound;
	uint32_t sock_mark;
	struct link_timing timing;

	enum link_state state;
	bool was_connected;
	bool was_up;
	int close_err;
	char close_why[200];
	unsigned closes_pending;

	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} io;
	bool has_io;
	uv_connect_t connect_req;
	uv_timer_t deadline;
	uv_timer_t keepalive;
	uv_check_t flush_check;
	uv_idle_t flush_idle;
	bool is_flush_scheduled;
	bool is_read_deadline; /* §3.2 "deadlined" */
	bool is_keepalive_pending;

	/* receive */
	uint8_t *rbuf;
	size_t rlen;
	uint8_t *cbuf;	    /* TLS only */
	struct pkt *rx_big; /* a long frame being read straight into its pkt, or NULL */
	size_t rx_want;	    /* bytes rx_big still lacks (> 0 while rx_big is set) */
	bool rx_bulk;	    /* the last frame was at least DIRECT_MIN long */

	/* transmit */
	struct pkt_queue txq;
	uv_write_t wreq;
	bool is_writing;
	struct pkt *inflight[IOV_BATCH];
	size_t n_inflight;
	uint8_t *stage; /* TLS only: plaintext being coalesced */
	size_t stage_len;
	uint8_t *tls_out; /* TLS only: ciphertext of the write in flight */
	size_t tls_out_cap;

	/* remote, once up */
	uint8_t key[32];
	uint8_t prio;
	uint64_t up_ms;

	/* counters */
	uint64_t bytes_in, bytes_out, last_in, last_out, rate_in, rate_out;
	uint64_t frames_in, frames_out, tx_drops, rx_drops, writes;
};

static void do_flush(struct link *l);

static uint64_t timing_or(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

struct link *link_new(uv_loop_t *loop, const struct link_params *p, const struct link_cbs *cbs)
{
	struct link *l = xcalloc(1, sizeof(*l));
	const struct link_timing *t = p->timing;

	l->loop = loop;
	l->cbs = *cbs;
	l->kp = p->kp;
	l->pool = p->pool;
	l->tls_ctx = p->tls;
	snprintf(l->name, sizeof(l->name), "%s", p->name ? p->name : "");
	l->sni = p->sni && *p->sni ? xstrdup(p->sni) : NULL;
	l->password_len = p->password_len > LINK_PASSWORD_MAX ? LINK_PASSWORD_MAX : p->password_len;
	if (l->password_len)
		memcpy(l->password, p->password, l->password_len);
	if (p->n_keys) {
		l->keys = xcalloc(p->n_keys, sizeof(*l->keys));
		memcpy(l->keys, p->keys, p->n_keys * sizeof(*l->keys));
		l->n_keys = p->n_keys;
	}
	keys_public(p->kp, l->our_key);
	l->our_prio = p->priority;
	l->is_inbound = p->is_inbound;
	l->sock_mark = p->sock_mark;
	l->timing.dial_ms = (uint32_t)timing_or(t ? t->dial_ms : 0, LINK_DIAL_MS);
	l->timing.handshake_ms = (uint32_t)timing_or(t ? t->handshake_ms : 0, LINK_HANDSHAKE_MS);
	l->timing.keepalive_ms = (uint32_t)timing_or(t ? t->keepalive_ms : 0, LINK_KEEPALIVE_MS);
	l->timing.timeout_ms = (uint32_t)timing_or(t ? t->timeout_ms : 0, LINK_TIMEOUT_MS);
	l->rbuf = xmalloc(RBUF_CAP);
	if (l->tls_ctx) {
		l->cbuf = xmalloc(CBUF_CAP);
		l->stage = xmalloc(TLS_STAGE_CAP);
	}
	pkt_queue_init(&l->txq, p->txq_limit ? p->txq_limit : LINK_TXQ_DEFAULT);
	uv_timer_init(loop, &l->deadline);
	uv_timer_init(loop, &l->keepalive);
	uv_check_init(loop, &l->flush_check);
	uv_idle_init(loop, &l->flush_idle);
	l->state = LS_NEW;
	return l;
}

/* ---- closing ---- */

static void finish(struct link *l)
{
	struct link_close_info ci = {
	    .err = l->close_err,
	    .why = l->close_why,
	    .was_connected = l->was_connected,
	    .was_up = l->was_up,
	};

	pkt_queue_purge(&l->txq);
	for (size_t i = 0; i < l->n_inflight; i++)
		pkt_free(l->inflight[i]);
	l->n_inflight = 0;
	pkt_free(l->rx_big);
	l->rx_big = NULL;
	if (l->cbs.closed)
		l->cbs.closed(l->cbs.ctx, l, &ci);
	tls_conn_free(l->tls);
	free(l->sni);
	free(l->keys);
	free(l->rbuf);
	free(l->cbuf);
	free(l->stage);
	free(l->tls_out);
	mem_wipe(l->password, sizeof(l->password));
	free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct link *l = h->data;

	if (--l->closes_pending == 0)
		finish(l);
}

static void close_handle(struct link *l, uv_handle_t *h)
{
	h->data = l;
	l->closes_pending++;
	uv_close(h, on_handle_closed);
}

void link_close(struct link *l, int err, const char *why)
{
	if (l->state == LS_CLOSING)
		return;
	l->state = LS_CLOSING;
	l->close_err = err < 0 ? err : -ECONNABORTED;
	snprintf(l->close_why, sizeof(l->close_why), "%s", why ? why : "closed");
	if (l->was_up)
		log_info("Disconnected %s: %s: %s", l->is_inbound ? "inbound" : "outbound", l->name,
			 l->close_why);
	else
		log_debug("link %s: %s", l->name, l->close_why);
	if (l->has_io)
		close_handle(l, &l->io.h);
	close_handle(l, (uv_handle_t *)&l->deadline);
	close_handle(l, (uv_handle_t *)&l->keepalive);
	close_handle(l, (uv_handle_t *)&l->flush_check);
	close_handle(l, (uv_handle_t *)&l->flush_idle);
}

static void close_errno(struct link *l, int err, const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "%s: %s", what, uv_strerror(err));
	link_close(l, err, why);
}

/* ---- timers ---- */

static void on_deadline(uv_timer_t *t)
{
	struct link *l = container_of(t, struct link, deadline);

	switch (l->state) {
	case LS_CONNECTING:
		link_close(l, -ETIMEDOUT, "dial timeout");
		break;
	case LS_TLS:
		link_close(l, -ETIMEDOUT, l->is_inbound ? "handshake timeout" : "dial timeout");
		break;
	case LS_META:
		link_close(l, -ETIMEDOUT, "handshake timeout");
		break;
	case LS_UP: {
		char why[80];

		/* §3.2: nothing came back within PEER_TIMEOUT of a non-keepalive frame. */
		snprintf(why, sizeof(why), "peer timeout (no answer within %u ms)",
			 (unsigned)l->timing.timeout_ms);
		link_close(l, -ETIMEDOUT, why);
		break;
	}
	default:
		break;
	}
}

static void arm_deadline(struct link *l, uint64_t ms)
{
	uv_timer_start(&l->deadline, on_deadline, ms, 0);
}

/* ---- transmit ---- */

static void on_flush_check(uv_check_t *h)
{
	do_flush(container_of(h, struct link, flush_check));
}

static void on_flush_idle(uv_idle_t *h)
{
	do_flush(container_of(h, struct link, flush_idle));
}

static void schedule_flush(struct link *l)
{
	if (l->is_flush_scheduled || l->state == LS_CLOSING)
		return;
	l->is_flush_scheduled = true;
	uv_check_start(&l->flush_check, on_flush_check);
	uv_idle_start(&l->flush_idle, on_flush_idle);
}

static void on_write(uv_write_t *req, int status)
{
	struct link *l = container_of(req, struct link, wreq);

	l->is_writing = false;
	for (size_t i = 0; i < l->n_inflight; i++)
		pkt_free(l->inflight[i]);
	l->n_inflight = 0;
	if (l->state == LS_CLOSING)
		return;
	if (status < 0) {
		close_errno(l, status, "write");
		return;
	}
	/* Whatever was queued while this write was in flight goes out as the next batch. */
	do_flush(l);
}

/*
 * Writes bufs with one writev (uv_try_write) when the socket takes them all, the usual case:
 * then there is no write request, no EPOLLOUT watcher change and no extra loop turn for its
 * callback. Only what the socket refused goes through uv_write, which keeps the one-write-in-
 * flight rule. Returns 1 when everything was written now, 0 when a write is in flight, -1 when
 * the link was closed.
 */
static int write_bufs(struct link *l, uv_buf_t *bufs, unsigned n)
{
	int r = uv_try_write(&l->io.s, bufs, n);
	size_t done;
	unsigned k = 0;

	if (r == UV_EAGAIN)
		r = 0;
	if (r < 0) {
		close_errno(l, r, "write");
		return -1;
	}
	l->writes++;
	for (done = (size_t)r; k < n && done >= bufs[k].len; k++)
		done -= bufs[k].len;
	if (k == n)
		return 1;
	bufs[k].base += done;
	bufs[k].len -= (unsigned)done;
	r = uv_write(&l->wreq, &l->io.s, bufs + k, n - k, on_write);
	if (r < 0) {
		close_errno(l, r, "write");
		return -1;
	}
	l->is_writing = true;
	return 0;
}

static bool stage_flush(struct link *l)
{
	if (l->stage_len == 0)
		return true;
	if (tls_conn_write(l->tls, l->stage, l->stage_len) < 0) {
		link_close(l, -EPROTO, tls_conn_error(l->tls));
		return false;
	}
	l->stage_len = 0;
	return true;
}

/* Encrypts every queued pkt (coalesced into records) and writes the ciphertext at once. */
static void flush_tls(struct link *l)
{
	struct pkt *p;
	size_t pending;
	uv_buf_t buf;

	if (tls_conn_is_done(l->tls)) {
		while ((p = pkt_queue_pop(&l->txq))) {
			if (l->stage_len + p->len > TLS_STAGE_CAP && !stage_flush(l)) {
				pkt_free(p);
				return;
			}
			if (p->len > TLS_STAGE_CAP) {
				if (tls_conn_write(l->tls, p->data, p->len) < 0) {
					pkt_free(p);
					link_close(l, -EPROTO, tls_conn_error(l->tls));
					return;
				}
			} else {
				memcpy(l->stage + l->stage_len, p->data, p->len);
				l->stage_len += p->len;
			}
			l->bytes_out += p->len;
			pkt_free(p);
		}
		if (!stage_flush(l))
			return;
	}
	pending = tls_conn_pending_out(l->tls);
	if (pending == 0)
		return;
	if (pending > l->tls_out_cap) {
		free(l->tls_out);
		l->tls_out = xmalloc(pending);
		l->tls_out_cap = pending;
	}
	buf = uv_buf_init((char *)l->tls_out,
			  (unsigned)tls_conn_take_out(l->tls, l->tls_out, pending));
	(void)write_bufs(l, &buf, 1);
}

static void flush_plain(struct link *l)
{
	uv_buf_t bufs[IOV_BATCH];
	struct pkt *p;
	unsigned n;
	int r;

	do {
		n = 0;
		while (n < IOV_BATCH && (p = pkt_queue_pop(&l->txq))) {
			l->inflight[n] = p;
			bufs[n] = uv_buf_init((char *)p->data, (unsigned)p->len);
			l->bytes_out += p->len;
			n++;
		}
		l->n_inflight = n;
		if (n == 0)
			return;
		r = write_bufs(l, bufs, n);
		if (r == 1) {
			for (unsigned i = 0; i < n; i++)
				pkt_free(l->inflight[i]);
			l->n_inflight = 0;
		}
	} while (r == 1);
}

static void do_flush(struct link *l)
{
	if (l->is_flush_scheduled) {
		l->is_flush_scheduled = false;
		uv_check_stop(&l->flush_check);
		uv_idle_stop(&l->flush_idle);
	}
	if (l->state == LS_CLOSING || l->state < LS_TLS || l->is_writing)
		return;
	if (l->tls)
		flush_tls(l);
	else
		flush_plain(l);
}

/* §3.2 "on sending": cancel the keepalive; arm the read deadline for a non-keepalive frame. */
static void on_sent(struct link *l, unsigned type)
{
	if (l->is_keepalive_pending) {
		uv_timer_stop(&l->keepalive);
		l->is_keepalive_pending = false;
	}
	if (l->is_read_deadline || type == PROTO_DUMMY || type == PROTO_KEEPALIVE)
		return;
	arm_deadline(l, l->timing.timeout_ms);
	l->is_read_deadline = true;
}

void link_send(struct link *l, struct pkt *frame)
{
	size_t n = frame->len, hl;
	unsigned type;
	uint8_t *hdr;
	struct wire_wr wr;

	/* §3.1: never send an empty, unknown or oversized frame. */
	if (l->state != LS_UP || n == 0 || n > PROTO_FRAME_MAX ||
	    frame->data[0] >= PROTO_TYPE_COUNT)
		goto drop;
	type = frame->data[0];
	hl = wire_uvarint_len(n);
	hdr = pkt_push(frame, hl);
	if (!hdr)
		goto drop;
	wire_wr_init(&wr, hdr, hl);
	wire_put_uvarint(&wr, n);
	if (!pkt_queue_push(&l->txq, frame))
		return; /* freed and counted in txq.drops */
	l->frames_out++;
	on_sent(l, type);
	schedule_flush(l);
	return;
drop:
	l->tx_drops++;
	pkt_free(frame);
}

static void on_keepalive(uv_timer_t *t)
{
	struct link *l = container_of(t, struct link, keepalive);
	struct pkt *p = pkt_alloc(l->pool);
	uint8_t *b;

	l->is_keepalive_pending = false;
	if (!p) {
		l->tx_drops++;
		return;
	}
	b = pkt_put(p, 1);
	b[0] = PROTO_KEEPALIVE; /* on the wire: 01 01 */
	link_send(l, p);
}

/* ---- receive ---- */

static bool key_is_listed(const struct link *l, const uint8_t key[32])
{
	for (size_t i = 0; i < l->n_keys; i++)
		if (!memcmp(l->keys[i], key, 32))
			return true;
	return false;
}

/* §2.4 receiver steps 2–6. Returns false after closing the link. */
static bool handle_meta(struct link *l, const uint8_t *body, size_t len)
{
	struct proto_meta m;
	uint8_t digest[HASH_BLAKE2B_LEN], addr[16];
	char why[200], hex[65], ip[INET_ADDRSTRLEN_MAX];

	if (!proto_meta_decode(body, len, &m)) {
		link_close(l, -EPROTO, "invalid handshake (malformed meta)");
		return false;
	}
	hash_blake2b512(l->password, l->password_len, m.key, sizeof(m.key), digest);
	if (!sign_verify(m.key, digest, sizeof(digest), m.sig)) {
		link_close(l, -EACCES, "password does not match remote side");
		return false;
	}
	if (m.major != PROTO_VERSION_MAJOR || m.minor != PROTO_VERSION_MINOR) {
		snprintf(why, sizeof(why),
			 "remote node incompatible version (local %d.%d, remote %u.%u)",
			 PROTO_VERSION_MAJOR, PROTO_VERSION_MINOR, m.major, m.minor);
		link_close(l, -EPROTO, why);
		return false;
	}
	hex_encode(m.key, 32, hex);
	if (l->n_keys && !key_is_listed(l, m.key)) {
		if (l->is_inbound)
			snprintf(why, sizeof(why), "node public key %s is not in AllowedPublicKeys",
				 hex);
		else
			snprintf(why, sizeof(why), "node public key %s does not match pinned keys",
				 hex);
		link_close(l, -EACCES, why);
		return false;
	}
	if (!memcmp(m.key, l->our_key, 32)) {
		link_close(l, -ELOOP, "connection to our own key refused");
		return false;
	}
	uv_timer_stop(&l->deadline);
	l->is_read_deadline = false;
	memcpy(l->key, m.key, 32);
	l->prio = m.priority > l->our_prio ? m.priority : l->our_prio;
	l->up_ms = uv_now(l->loop);
	l->state = LS_UP;
	l->was_up = true;
	addr_from_key(m.key, addr);
	inet_ntop6(addr, ip);
	log_info("Connected %s: %s@%s, priority %u", l->is_inbound ? "inbound" : "outbound", ip,
		 l->name, l->prio);
	if (l->cbs.up)
		l->cbs.up(l->cbs.ctx, l, l->key, l->prio);
	return l->state == LS_UP;
}

/*
 * The checks every received frame passes (type || body, the type in hand): 1 to hand it up,
 * 0 when it stays here (KeepAlive, Dummy), -1 when the link is closing.
 */
static int frame_begin(struct link *l, unsigned type)
{
	char why[80];

	if (type >= PROTO_TYPE_COUNT) {
		snprintf(why, sizeof(why), "unrecognized message type %u", type);
		link_close(l, -EPROTO, why);
		return -1;
	}
	l->frames_in++;
	/* §3.2 "on receiving": disarm the read deadline; a non-keepalive frame wants an answer. */
	if (l->is_read_deadline) {
		uv_timer_stop(&l->deadline);
		l->is_read_deadline = false;
	}
	if (type == PROTO_DUMMY || type == PROTO_KEEPALIVE)
		return 0;
	if (!l->is_keepalive_pending) {
		uv_timer_start(&l->keepalive, on_keepalive, l->timing.keepalive_ms, 0);
		l->is_keepalive_pending = true;
	}
	return 1;
}

/* Hands frame p (type || body, consumed) up. Returns false once the link is closing. */
static bool frame_deliver(struct link *l, unsigned type, struct pkt *p)
{
	char why[80];

	if (l->cbs.frame && l->cbs.frame(l->cbs.ctx, l, p) < 0) {
		snprintf(why, sizeof(why), "bad %s frame", proto_type_name(type));
		link_close(l, -EPROTO, why);
	} else if (!l->cbs.frame) {
		pkt_free(p);
	}
	return l->state == LS_UP;
}

/* One whole frame (type || body) in rbuf. Returns false once the link is closing. */
static bool handle_frame(struct link *l, const uint8_t *f, size_t n)
{
	int r = frame_begin(l, f[0]);
	struct pkt *p;

	l->rx_bulk = n >= DIRECT_MIN;
	if (r <= 0)
		return r == 0;
	p = pkt_alloc(l->pool);
	if (!p || pkt_tailroom(p) < n) {
		/* Pool empty, or a frame longer than a pool buffer: drop and count (§5 style). */
		l->rx_drops++;
		pkt_free(p);
		return true;
	}
	memcpy(pkt_put(p, n), f, n);
	return frame_deliver(l, f[0], p);
}

/*
 * The first have bytes of an n-byte frame are at f (the rest of rbuf): moves them into a pkt
 * that the next reads fill. false (rbuf keeps them, as for a short frame) without a pkt.
 */
static bool direct_begin(struct link *l, const uint8_t *f, size_t have, size_t n)
{
	struct pkt *p = pkt_alloc(l->pool);

	if (!p || pkt_tailroom(p) < n) {
		pkt_free(p);
		return false;
	}
	memcpy(pkt_put(p, have), f, have);
	l->rx_big = p;
	l->rx_want = n - have;
	return true;
}

/* Where the next read of rx_big's frame goes: its pkt's tail, rx_want bytes. */
static uint8_t *direct_tail(const struct link *l)
{
	return l->rx_big->data + l->rx_big->len;
}

/* got bytes were read into direct_tail(). Returns false once the link is closing. */
static bool direct_got(struct link *l, size_t got)
{
	struct pkt *p = l->rx_big;
	unsigned type;
	int r;

	pkt_put(p, got);
	l->bytes_in += got;
	l->rx_want -= got;
	if (l->rx_want)
		return true;
	l->rx_big = NULL;
	l->rx_bulk = true;
	type = p->data[0];
	r = frame_begin(l, type);
	if (r <= 0) {
		pkt_free(p);
		return r == 0;
	}
	return frame_deliver(l, type, p);
}

/*
 * Length of the uvarint at b[0..n): its byte count, 0 if more input is needed, -1 if it is
 * longer than 10 bytes (a frame length no Go peer sends).
 */
static int uvarint_hdr(const uint8_t *b, size_t n, uint64_t *v)
{
	struct wire_rd rd;

	for (size_t i = 0; i < n && i < WIRE_UVARINT_MAX; i++) {
		if (b[i] & 0x80)
			continue;
		wire_rd_init(&rd, b, i + 1);
		return wire_get_uvarint(&rd, v) ? (int)(i + 1) : -1;
	}
	return n < WIRE_UVARINT_MAX ? 0 : -1;
}

/* Parses what rbuf holds: the meta (state META), then frames (UP). Keeps the partial tail. */
static void process_rx(struct link *l)
{
	size_t off = 0;

	while (l->state == LS_META || l->state == LS_UP) {
		const uint8_t *b = l->rbuf + off;
		size_t avail = l->rlen - off;
		uint64_t n;
		int hl;

		if (l->state == LS_META) {
			int ml;

			if (avail < PROTO_META_HDR_LEN)
				break;
			ml = proto_meta_header(b);
			if (ml < 0) {
				link_close(l, -EPROTO,
					   memcmp(b, "meta", 4)
					       ? "invalid handshake, remote side is not Yggdrasil"
					       : "invalid handshake length");
				return;
			}
			if (avail < PROTO_META_HDR_LEN + (size_t)ml)
				break;
			off += PROTO_META_HDR_LEN + (size_t)ml;
			if (!handle_meta(l, b + PROTO_META_HDR_LEN, (size_t)ml))
				return;
			continue;
		}
		hl = uvarint_hdr(b, avail, &n);
		if (hl == 0)
			break;
		if (hl < 0 || n == 0 || n > PROTO_FRAME_MAX) {
			char why[80];

			snprintf(why, sizeof(why), "bad frame length %" PRIu64, hl < 0 ? 0 : n);
			link_close(l, -EPROTO, hl < 0 ? "bad frame length encoding" : why);
			return;
		}
		if (avail - (size_t)hl < n) {
			if (n >= DIRECT_MIN && direct_begin(l, b + hl, avail - (size_t)hl, n))
				off = l->rlen;
			break;
		}
		off += (size_t)hl + n;
		if (!handle_frame(l, b + hl, n))
			return;
	}
	if (off && l->state != LS_CLOSING) {
		memmove(l->rbuf, l->rbuf + off, l->rlen - off);
		l->rlen -= off;
	}
}

/* Our meta goes out first (§2.4); the remote's is read in parallel. */
static void begin_meta(struct link *l)
{
	struct proto_meta m = {
	    .major = PROTO_VERSION_MAJOR,
	    .minor = PROTO_VERSION_MINOR,
	    .priority = l->our_prio,
	};
	uint8_t digest[HASH_BLAKE2B_LEN];
	struct pkt *p = pkt_alloc(l->pool);

	l->state = LS_META;
	if (!l->is_inbound)
		arm_deadline(l, l->timing.handshake_ms);
	if (!p || pkt_tailroom(p) < PROTO_META_LEN) {
		pkt_free(p);
		link_close(l, -ENOBUFS, "no packet buffer for the handshake");
		return;
	}
	memcpy(m.key, l->our_key, sizeof(m.key));
	hash_blake2b512(l->password, l->password_len, m.key, sizeof(m.key), digest);
	sign_detached(l->kp, digest, sizeof(digest), m.sig);
	proto_meta_encode(pkt_put(p, PROTO_META_LEN), &m);
	pkt_queue_push(&l->txq, p);
	schedule_flush(l);
}

static void tls_progress(struct link *l)
{
	int r = tls_conn_handshake(l->tls);

	if (r == -EPROTO) {
		char why[240];

		snprintf(why, sizeof(why), "TLS handshake: %s", tls_conn_error(l->tls));
		link_close(l, -EPROTO, why);
		return;
	}
	if (tls_conn_pending_out(l->tls))
		schedule_flush(l);
	if (r == 0) {
		log_debug("link %s: %s", l->name, tls_conn_describe(l->tls));
		begin_meta(l);
	}
}

/* How much the next read into rbuf may take (see the receive path above). */
static size_t rbuf_room(const struct link *l)
{
	if (l->rx_bulk && l->rlen == 0)
		return BULK_READ;
	return RBUF_CAP - l->rlen;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct link *l = container_of((uv_stream_t *)h, struct link, io.s);

	(void)hint;
	if (l->tls)
		*buf = uv_buf_init((char *)l->cbuf, CBUF_CAP);
	else if (l->rx_big)
		*buf = uv_buf_init((char *)direct_tail(l), (unsigned)l->rx_want);
	else
		*buf = uv_buf_init((char *)l->rbuf + l->rlen, (unsigned)rbuf_room(l));
}

/* Decrypts whatever the TLS conn holds into rbuf, parsing as rbuf fills. */
static void tls_drain(struct link *l)
{
	while (l->state == LS_META || l->state == LS_UP) {
		ssize_t r = l->rx_big ? tls_conn_read(l->tls, direct_tail(l), l->rx_want)
				      : tls_conn_read(l->tls, l->rbuf + l->rlen, rbuf_room(l));

		if (r == -EAGAIN)
			break;
		if (r == 0) {
			link_close(l, -ECONNRESET, "remote side closed the connection");
			return;
		}
		if (r < 0) {
			link_close(l, -EPROTO, tls_conn_error(l->tls));
			return;
		}
		if (l->rx_big) {
			if (!direct_got(l, (size_t)r))
				return;
			continue;
		}
		l->rlen += (size_t)r;
		l->bytes_in += (uint64_t)r;
		process_rx(l);
	}
	if (l->state != LS_CLOSING && tls_conn_pending_out(l->tls))
		schedule_flush(l);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct link *l = container_of(s, struct link, io.s);

	(void)buf;
	if (l->state == LS_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			link_close(l, -ECONNRESET, "remote side closed the connection");
		else
			close_errno(l, (int)nread, "read");
		return;
	}
	if (!l->tls && l->rx_big) {
		direct_got(l, (size_t)nread);
		return;
	}
	if (!l->tls) {
		l->rlen += (size_t)nread;
		l->bytes_in += (uint64_t)nread;
		process_rx(l);
		return;
	}
	if (tls_conn_feed_in(l->tls, l->cbuf, (size_t)nread) < 0) {
		link_close(l, -ENOMEM, "TLS buffer");
		return;
	}
	if (l->state == LS_TLS)
		tls_progress(l);
	tls_drain(l);
}

/* The byte stream exists: start reading, then TLS or the meta exchange. */
static void start_stream(struct link *l)
{
	int r;

	l->was_connected = true;
	/* Go's TCPConn has Nagle off by default; writes are batched per loop iteration anyway. */
	if (l->io.h.type == UV_TCP)
		uv_tcp_nodelay(&l->io.tcp, 1);
	r = uv_read_start(&l->io.s, on_alloc, on_read);
	if (r < 0) {
		close_errno(l, r, "read");
		return;
	}
	if (!l->tls_ctx) {
		begin_meta(l);
		return;
	}
	l->state = LS_TLS;
	l->tls = tls_conn_new(l->tls_ctx, l->is_inbound, l->sni);
	if (!l->tls) {
		link_close(l, -ENOMEM, "cannot create a TLS connection");
		return;
	}
	if (!l->is_inbound)
		tls_progress(l); /* the ClientHello */
}

static void on_connect(uv_connect_t *req, int status)
{
	struct link *l = container_of(req, struct link, connect_req);

	if (l->state == LS_CLOSING)
		return;
	if (status < 0) {
		close_errno(l, status, "dial");
		return;
	}
	start_stream(l);
}

void link_connect_tcp(struct link *l, const struct sockaddr *sa, const char *iface)
{
	int r;

	l->state = LS_CONNECTING;
	arm_deadline(l, l->timing.dial_ms);
	r = uv_tcp_init_ex(l->loop, &l->io.tcp, sa->sa_family);
	if (r < 0) {
		close_errno(l, r, "socket");
		return;
	}
	l->has_io = true;
	if (iface && *iface) {
		uv_os_fd_t fd;

		/* §2.1 InterfacePeers: SO_BINDTODEVICE, as yggdrasil's dialer Control does. */
		r = uv_fileno(&l->io.h, &fd);
		if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface,
					 (socklen_t)strlen(iface)) < 0)
			r = -errno;
		if (r < 0) {
			close_errno(l, r, "SO_BINDTODEVICE");
			return;
		}
	}
	if (l->sock_mark) {
		uv_os_fd_t fd;

		/* The tunnel-routing loop guard: this link must never ride our own TUN. */
		r = uv_fileno(&l->io.h, &fd);
		if (r == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_MARK, &l->sock_mark, sizeof(l->sock_mark)) < 0)
			r = -errno;
		if (r < 0) {
			close_errno(l, r, "SO_MARK");
			return;
		}
	}
	r = uv_tcp_connect(&l->connect_req, &l->io.tcp, sa, on_connect);
	if (r < 0)
		close_errno(l, r, "dial");
}

void link_connect_unix(struct link *l, const char *path)
{
	int r;

	l->state = LS_CONNECTING;
	arm_deadline(l, l->timing.dial_ms);
	r = uv_pipe_init(l->loop, &l->io.pipe, 0);
	if (r < 0) {
		close_errno(l, r, "socket");
		return;
	}
	l->has_io = true;
	uv_pipe_connect(&l->connect_req, &l->io.pipe, path, on_connect);
}

static void name_from_peer(struct link *l)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 16] = "";
	const char *scheme = l->tls_ctx ? "tls" : "tcp";
	uint16_t port = 0;

	if (l->name[0])
		return;
	if (l->io.h.type != UV_TCP || uv_tcp_getpeername(&l->io.tcp, (struct sockaddr *)&ss, &len))
		snprintf(l->name, sizeof(l->name), "unix://@");
	else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		uv_ip6_name(s6, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(l->name, sizeof(l->name), "%s://[%s]:%u", scheme, host, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		uv_ip4_name(s4, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(l->name, sizeof(l->name), "%s://%s:%u", scheme, host, port);
	}
}

void link_accept(struct link *l, uv_stream_t *server)
{
	int r;

	if (server->type == UV_NAMED_PIPE)
		r = uv_pipe_init(l->loop, &l->io.pipe, 0);
	else
		r = uv_tcp_init(l->loop, &l->io.tcp);
	if (r < 0) {
		close_errno(l, r, "accept");
		return;
	}
	l->has_io = true;
	r = uv_accept(server, &l->io.s);
	if (r < 0) {
		close_errno(l, r, "accept");
		return;
	}
	name_from_peer(l);
	/* Inbound: the 6 s deadline covers TLS and the meta (Go handshakes TLS lazily). */
	arm_deadline(l, l->timing.handshake_ms);
	start_stream(l);
}

/* ---- queries ---- */

bool link_remote_addr(const struct link *l, struct sockaddr_storage *out)
{
	int len = sizeof(*out);

	if (!l->has_io || l->io.h.type != UV_TCP || l->state == LS_CLOSING)
		return false;
	return uv_tcp_getpeername(&l->io.tcp, (struct sockaddr *)out, &len) == 0;
}

const char *link_name(const struct link *l)
{
	return l->name;
}

bool link_is_up(const struct link *l)
{
	return l->state == LS_UP;
}

void link_get_info(const struct link *l, struct link_info *out)
{
	memset(out, 0, sizeof(*out));
	out->is_up = l->state == LS_UP;
	out->is_inbound = l->is_inbound;
	if (out->is_up) {
		memcpy(out->key, l->key, 32);
		out->uptime_ms = uv_now(l->loop) - l->up_ms;
	}
	out->priority = l->was_up ? l->prio : l->our_prio;
	out->bytes_recvd = l->bytes_in;
	out->bytes_sent = l->bytes_out;
	out->rate_recvd = l->rate_in;
	out->rate_sent = l->rate_out;
	out->frames_recvd = l->frames_in;
	out->frames_sent = l->frames_out;
	out->tx_drops = l->tx_drops + l->txq.drops;
	out->rx_drops = l->rx_drops;
	out->writes = l->writes;
	out->txq_len = pkt_queue_len(&l->txq);
	if (l->tls && tls_conn_is_done(l->tls))
		snprintf(out->tls, sizeof(out->tls), "%s", tls_conn_describe(l->tls));
}

void link_rate_tick(struct link *l)
{
	l->rate_in = l->bytes_in - l->last_in;
	l->rate_out = l->bytes_out - l->last_out;
	l->last_in = l->bytes_in;
	l->last_out = l->bytes_out;
}
