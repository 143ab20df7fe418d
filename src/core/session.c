/*
 * session: ironwood's encrypted layer as a pure state machine (spec
 * yggdrasil-sessions-core-admin.md §2; see session.h). Every rule of §2.5-§2.6 is followed as
 * 0.5.12 (ironwood 743fe2f) behaves, including its odd corners: a session created by an INIT
 * whose seq is 0 is never updated (seq - 1 wraps), the first packet after a 2^64 nonce wrap
 * carries nonce 0 and is dropped by the receiver, an INIT-driven update keeps the send nonce.
 * Two deliberate differences: a receive nonce follows its shared key through a rekeying (see
 * rekey()), where Go restarts it and so accepts a replay once more (it only drops replays);
 * and a buffer's INIT, resent in a later second, carries that second as its seq (see
 * session_send), where Go keeps the first one, so a node that restarts twice within a second
 * is not shut out by a peer that holds that seq until its traffic stops for 60 s.
 *
 * Owns: the sessions (struct sess) and buffers (struct sbuf), each in a vector sorted by the
 * remote ed pub (binary search per packet: no hash an attacker could flood) and in an expiry
 * list; the one pkt each buffer holds; the node's X25519 keypair (self_x).
 *
 * Invariants:
 * - A remote key has a session or a buffer, never both: buffers are made only when there is no
 *   session, and a session made for a key adopts (and deletes) its buffer (§2.6.2 step 1).
 * - sessions.n <= SESSION_MAX_SESSIONS, buffers.n <= SESSION_MAX_BUFFERS; pkts held = buffers.
 * - The expiry lists are ordered by deadline: every reset moves the entry to the tail with
 *   deadline = now + 60 s (now_ms never decreases).
 * - No state changes after the first callback of an event, and no entry pointer is used after
 *   a callback (they may re-enter); keys handed to callbacks are stack copies.
 * - Secrets (keypairs, shared keys) are wiped with the entry (mem_wipe) before it is freed.
 * - Data path (send/receive of TRAFFIC with a session): no allocation; encryption and
 *   decryption happen in place in the caller's pkt.
 *
 * Timers (swept by session_tick, no per-entry timer): a session dies SESSION_TIMEOUT_MS after
 * its last send, successful receive or update; a buffer SESSION_TIMEOUT_MS after its last
 * write (§2.6.5). Neither sends anything when it dies.
 */
#include "core/session.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/box.h"
#include "crypto/keys.h"
#include "lib/kvec.h"
#include "lib/list.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/wire.h"

enum {
	TYPE_DUMMY = 0,
	TYPE_INIT = 1,
	TYPE_ACK = 2,
	TYPE_TRAFFIC = 3,
	/* §2.4: 1 type + 3 one-byte uvarints + tag + next key (ironwood's overhead minimum) */
	TRAFFIC_MIN = 1 + 3 + BOX_TAG_LEN + BOX_PUB_LEN,
};
_Static_assert((int)SESSION_INIT_LEN == (int)BOX_INIT_LEN, "INIT/ACK size");
_Static_assert((int)SESSION_OVERHEAD_MAX == (int)TRAFFIC_MIN + 3 * (WIRE_UVARINT_MAX - 1),
	       "overhead");
_Static_assert((int)PKT_HEADROOM >= (int)SESSION_OVERHEAD_MAX,
	       "a fresh pkt takes the TRAFFIC overhead");

/* §2.5: one entry per remote ed pub. */
struct sess {
	uint8_t ed[32]; /* first: the sort key */
	struct list_node lru;
	uint64_t deadline;
	uint64_t since;
	uint64_t seq; /* highest INIT/ACK seq accepted */
	uint64_t remote_key_seq, local_key_seq;
	uint8_t current[BOX_PUB_LEN], next[BOX_PUB_LEN]; /* remote's keys */
	struct box_keypair recv, send, nextkp;		 /* ours */
	struct box_shared recv_shared, send_shared, next_send_shared, next_recv_shared;
	uint64_t recv_nonce, send_nonce, next_send_nonce, next_recv_nonce;
	uint64_t rotated; /* now_ms of the last traffic-driven rotation, if has_rotated */
	bool has_rotated;
	uint64_t rx, tx;
};

/* §2.5: a destination without a session: the INIT we keep sending and one message. */
struct sbuf {
	uint8_t ed[32]; /* first: the sort key */
	struct list_node lru;
	uint64_t deadline;
	struct box_keypair current, next;
	uint64_t seq; /* the INIT's seq, fixed when the buffer is made */
	struct pkt *msg;
};

struct session_table {
	struct session_cbs cbs;
	const struct keypair *kp;
	struct pkt_pool *pool;
	struct box_keypair self_x;
	struct kvec sessions, buffers;
	struct list_node sess_lru, buf_lru;
	struct session_stats stats;
	uint64_t resync_tokens; /* the SESSION_RESYNC_* bucket */
	uint64_t resync_ms;	/* when it was last refilled */
};

/* ---- lookups (lib/kvec: entries begin with their ed25519 key) ---- */

static struct sess *sess_find(const struct session_table *t, const uint8_t key[32])
{
	return kvec_find(&t->sessions, key, NULL);
}

static struct sbuf *buf_find(const struct session_table *t, const uint8_t key[32])
{
	return kvec_find(&t->buffers, key, NULL);
}

/* ---- entries ---- */

/* §2.5 fixShared(r, s). */
static void fix_shared(struct sess *s, uint64_t recv_nonce, uint64_t send_nonce)
{
	box_precompute(&s->recv_shared, s->current, &s->recv);
	box_precompute(&s->send_shared, s->current, &s->send);
	box_precompute(&s->next_send_shared, s->next, &s->send);
	box_precompute(&s->next_recv_shared, s->next, &s->recv);
	s->next_send_nonce = 0;
	s->next_recv_nonce = 0;
	s->recv_nonce = recv_nonce;
	s->send_nonce = send_nonce;
}

/* recv <- send, send <- next, next <- fresh, localKeySeq + 1 (§2.6.1, §2.6.2 step 3). */
static void rotate_own(struct sess *s)
{
	s->recv = s->send;
	s->send = s->nextkp;
	box_keypair_generate(&s->nextkp);
	s->local_key_seq++;
}

/*
 * Every rekeying of a live session: the nonce wrap (§2.6.1), the update by an INIT/ACK (§2.6.2
 * step 3) and the traffic rotation (§2.6.4). The remote's keys become cur/nxt, ours rotate, and
 * fixShared(recv_nonce, send_nonce) runs, with one difference from Go: a receive nonce stays
 * with its shared key instead of restarting at 0.
 *
 * Why: a shared key is the pair (remote pub, own pub), not the slot that holds it, and the
 * replay rule is "strictly increasing per shared key" (§2.6.5). Our rotation turns send into
 * recv, so the pair (remote next, our send) of nextSendShared survives it: as recvShared when
 * the remote's new current is its old next (it rotated, or its INIT says so), as
 * nextRecvShared when its next stays (our own nonce wrap, an INIT with the same keys). Go
 * restarts that slot at 0 (or at the traffic nonce), which opens it again to every message
 * already accepted with that key: a copy kept by anyone on the path is delivered twice. Keeping
 * the mark drops only such copies: an honest sender pairs its send key with one key of ours for
 * the key's whole life and only counts up on it. No other receive key survives (our old recv
 * is gone, the other new pairs hold our fresh key).
 */
static void rekey(struct sess *s, const uint8_t cur[BOX_PUB_LEN], const uint8_t nxt[BOX_PUB_LEN],
		  uint64_t recv_nonce, uint64_t send_nonce)
{
	uint8_t old_next[BOX_PUB_LEN], c[BOX_PUB_LEN], n[BOX_PUB_LEN];
	uint64_t mark = s->next_send_nonce;

	/* (cur and nxt may point into s: the wrap passes s->current and s->next) */
	memcpy(c, cur, sizeof(c));
	memcpy(n, nxt, sizeof(n));
	memcpy(old_next, s->next, sizeof(old_next));
	memcpy(s->current, c, BOX_PUB_LEN);
	memcpy(s->next, n, BOX_PUB_LEN);
	rotate_own(s);
	fix_shared(s, recv_nonce, send_nonce);
	if (memcmp(s->current, old_next, BOX_PUB_LEN) == 0 && mark > s->recv_nonce)
		s->recv_nonce = mark;
	if (memcmp(s->next, old_next, BOX_PUB_LEN) == 0)
		s->next_recv_nonce = mark;
}

static void sess_touch(struct session_table *t, struct sess *s, uint64_t now)
{
	s->deadline = now + SESSION_TIMEOUT_MS;
	list_del(&s->lru);
	list_add_tail(&t->sess_lru, &s->lru);
}

static void buf_touch(struct session_table *t, struct sbuf *b, uint64_t now)
{
	b->deadline = now + SESSION_TIMEOUT_MS;
	list_del(&b->lru);
	list_add_tail(&t->buf_lru, &b->lru);
}

static void sess_del(struct session_table *t, struct sess *s)
{
	kvec_remove(&t->sessions, s->ed);
	list_del(&s->lru);
	mem_wipe(s, sizeof(*s));
	free(s);
}

static void buf_del(struct session_table *t, struct sbuf *b)
{
	kvec_remove(&t->buffers, b->ed);
	list_del(&b->lru);
	pkt_free(b->msg);
	mem_wipe(b, sizeof(*b));
	free(b);
}

/*
 * §2.6.2 step 1: a session from an INIT/ACK, seq = INIT.seq - 1 (wrapping, as Go). If a buffer
 * exists, its keys are adopted and *buffered receives its message (or NULL).
 */
static struct sess *sess_new(struct session_table *t, const uint8_t ed[32],
			     const struct box_init *in, uint64_t now, struct pkt **buffered)
{
	struct sess *s;
	struct sbuf *b;
	size_t pos;

	*buffered = NULL;
	if (t->sessions.n >= SESSION_MAX_SESSIONS) {
		t->stats.table_full++;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	memcpy(s->ed, ed, sizeof(s->ed));
	memcpy(s->current, in->current, BOX_PUB_LEN);
	memcpy(s->next, in->next, BOX_PUB_LEN);
	s->seq = in->seq - 1;
	box_keypair_generate(&s->recv);
	box_keypair_generate(&s->send);
	box_keypair_generate(&s->nextkp);
	s->since = now;
	b = buf_find(t, ed);
	if (b) {
		s->send = b->current;
		s->nextkp = b->next;
		*buffered = b->msg;
		b->msg = NULL;
		buf_del(t, b);
	}
	fix_shared(s, 0, 0);
	kvec_find(&t->sessions, ed, &pos);
	kvec_insert(&t->sessions, pos, s);
	list_init(&s->lru);
	sess_touch(t, s, now);
	return s;
}

/* ---- messages out ---- */

/* A fresh INIT or ACK for dest in a pool pkt, or NULL (counted). */
static struct pkt *handshake_pkt(struct session_table *t, const uint8_t dest[32], uint8_t type,
				 const uint8_t current[32], const uint8_t next[32],
				 uint64_t key_seq, uint64_t seq)
{
	struct box_init in;
	struct pkt *p = pkt_alloc(t->pool);
	uint8_t *b;

	if (!p) {
		t->stats.no_pkt++;
		return NULL;
	}
	b = pkt_put(p, BOX_INIT_LEN);
	memcpy(in.current, current, BOX_PUB_LEN);
	memcpy(in.next, next, BOX_PUB_LEN);
	in.key_seq = key_seq;
	in.seq = seq;
	if (!b) {
		t->stats.no_room++;
		pkt_free(p);
		return NULL;
	}
	if (!box_init_seal(t->kp, dest, type, &in, NULL, b)) {
		/* dest is no Ed25519 point with an X25519 form: nobody could answer anyway */
		t->stats.bad_handshake++;
		pkt_free(p);
		return NULL;
	}
	if (type == TYPE_INIT)
		t->stats.inits_sent++;
	else
		t->stats.acks_sent++;
	return p;
}

static uint64_t unix_now(const struct session_table *t)
{
	return t->cbs.unix_time(t->cbs.ctx);
}

/* Hands p (may be NULL) to the router; dest is copied first since the callback may re-enter. */
static void emit(struct session_table *t, const uint8_t dest[32], struct pkt *p)
{
	uint8_t d[32];

	if (!p)
		return;
	memcpy(d, dest, sizeof(d));
	t->cbs.send(t->cbs.ctx, d, p);
}

/*
 * §2.6.1 send traffic: seals payload in place as TRAFFIC and returns it (or NULL, consumed and
 * counted). No callback.
 */
static struct pkt *seal_traffic(struct session_table *t, struct sess *s, struct pkt *payload,
				uint64_t now)
{
	size_t mlen = payload->len, hlen;
	struct wire_wr w;
	uint8_t *p;

	if (pkt_headroom(payload) < SESSION_OVERHEAD_MAX) {
		/* Rare: the caller left too little headroom; one copy into a fresh pkt. */
		struct pkt *q = pkt_alloc(t->pool);

		if (!q || !(p = pkt_put(q, mlen))) {
			if (q)
				t->stats.no_room++;
			else
				t->stats.no_pkt++;
			pkt_free(q);
			pkt_free(payload);
			return NULL;
		}
		memcpy(p, payload->data, mlen);
		pkt_free(payload);
		payload = q;
	}
	s->send_nonce++;
	if (s->send_nonce == 0) {
		/* 2^64 messages: rotate our keys; this message goes out with nonce 0 (as Go). */
		rekey(s, s->current, s->next, 0, 0);
		t->stats.rotations++;
	}
	/* inner = nextPub || message, sealed in place; the tag goes in front of it (§2.4). */
	memcpy(pkt_push(payload, BOX_PUB_LEN), s->nextkp.pub, BOX_PUB_LEN);
	box_seal(&s->send_shared, s->send_nonce, pkt_push(payload, BOX_TAG_LEN),
		 BOX_PUB_LEN + mlen);
	hlen = 1 + wire_uvarint_len(s->local_key_seq) + wire_uvarint_len(s->remote_key_seq) +
	       wire_uvarint_len(s->send_nonce);
	wire_wr_init(&w, pkt_push(payload, hlen), hlen);
	wire_put_u8(&w, TYPE_TRAFFIC);
	wire_put_uvarint(&w, s->local_key_seq);
	wire_put_uvarint(&w, s->remote_key_seq);
	wire_put_uvarint(&w, s->send_nonce);
	s->tx += mlen;
	sess_touch(t, s, now);
	return payload;
}

/* ---- messages in ---- */

/* §2.6.2 step 3, the update by an accepted INIT/ACK. */
static void sess_update(struct session_table *t, struct sess *s, const struct box_init *in,
			uint64_t now)
{
	s->seq = in->seq;
	s->remote_key_seq = in->key_seq;
	rekey(s, in->current, in->next, 0, s->send_nonce); /* send nonce kept (§9 pitfall 2) */
	sess_touch(t, s, now);
}

/* §2.6.2 (INIT) and §2.6.3 (ACK). */
static void on_handshake(struct session_table *t, const uint8_t src[32], struct pkt *msg,
			 uint64_t now)
{
	uint8_t type = msg->data[0];
	struct pkt *ack = NULL, *traffic = NULL, *buffered = NULL;
	struct box_init in;
	struct sess *s;
	bool is_old, ok;

	ok = msg->len == BOX_INIT_LEN && box_init_open(&t->self_x, src, msg->data, &in);
	pkt_free(msg);
	if (!ok) {
		t->stats.bad_handshake++;
		return;
	}
	if (type == TYPE_INIT)
		t->stats.inits_recvd++;
	else
		t->stats.acks_recvd++;
	s = sess_find(t, src);
	is_old = s != NULL;
	if (!s && !(s = sess_new(t, src, &in, now, &buffered)))
		return;
	if (is_old)
		buffered = NULL;
	if (in.seq > s->seq) {
		sess_update(t, s, &in, now);
		/* An ACK to an existing session gets no reply, one that made it does (§2.6.3). */
		if (type == TYPE_INIT || !is_old)
			ack = handshake_pkt(t, src, TYPE_ACK, s->send.pub, s->nextkp.pub,
					    s->local_key_seq, unix_now(t));
	} else {
		t->stats.stale_handshake++;
	}
	/* §2.6.2 step 5: the adopted message goes out after the ACK, updated or not. */
	if (buffered)
		traffic = seal_traffic(t, s, buffered, now);
	emit(t, src, ack);
	emit(t, src, traffic);
}

/* §2.6.4: which key a TRAFFIC header selects; first match wins, nothing matched -> INIT. */
static const struct rx_case {
	uint8_t from_next; /* a == R + from_next */
	uint8_t to_recv;   /* b + to_recv == L */
	size_t key;	   /* offsetof the struct box_shared in struct sess */
	size_t nonce;	   /* offsetof its uint64_t nonce */
	bool rotates;	   /* traffic rotation on success */
} rx_cases[] = {
    {0, 1, offsetof(struct sess, recv_shared), offsetof(struct sess, recv_nonce), false},
    {1, 0, offsetof(struct sess, next_send_shared), offsetof(struct sess, next_send_nonce), true},
    {1, 1, offsetof(struct sess, next_recv_shared), offsetof(struct sess, next_recv_nonce), true},
};

/*
 * Whether another INIT may answer unusable traffic now. Such INITs cost a signature (and for an
 * unknown source two fresh X25519 key pairs) and go to a source key that anyone can put in a
 * Traffic header, so a flood of junk must not turn into a flood of work and INITs: they share
 * one token bucket (SESSION_RESYNC_RATE per second, SESSION_RESYNC_BURST at once). A real peer
 * that lost its session needs one INIT, not one per packet.
 */
static bool resync_allowed(struct session_table *t, uint64_t now)
{
	uint64_t add = (now - t->resync_ms) * SESSION_RESYNC_RATE / 1000;

	if (add) {
		t->resync_tokens = t->resync_tokens + add > SESSION_RESYNC_BURST
					   ? SESSION_RESYNC_BURST
					   : t->resync_tokens + add;
		/* Advance only by the time those tokens took: a fraction of one is kept. */
		t->resync_ms += add * 1000 / SESSION_RESYNC_RATE;
	}
	if (!t->resync_tokens) {
		t->stats.resync_limited++;
		return false;
	}
	t->resync_tokens--;
	return true;
}

/* The INIT of §2.6.4 "anything else" and of a failed decrypt, built from the session. */
static struct pkt *resync_init(struct session_table *t, const struct sess *s)
{
	t->stats.resync_inits++;
	return handshake_pkt(t, s->ed, TYPE_INIT, s->send.pub, s->nextkp.pub, s->local_key_seq,
			     unix_now(t));
}

static void on_traffic(struct session_table *t, const uint8_t src[32], struct pkt *msg,
		       uint64_t now)
{
	const struct rx_case *c = NULL;
	struct sess *s = sess_find(t, src);
	uint64_t a, b, n, *nonce;
	uint8_t key[BOX_PUB_LEN], *box;
	struct wire_rd rd;
	size_t off, clen;

	if (!s) {
		/* Unauthenticated source: INIT from keys we forget at once (§2.6.4). */
		struct box_keypair cur, nxt;
		struct pkt *init;

		pkt_free(msg);
		if (!resync_allowed(t, now))
			return;
		t->stats.resync_inits++;
		box_keypair_generate(&cur);
		box_keypair_generate(&nxt);
		init = handshake_pkt(t, src, TYPE_INIT, cur.pub, nxt.pub, 0, unix_now(t));
		box_keypair_wipe(&cur);
		box_keypair_wipe(&nxt);
		emit(t, src, init);
		return;
	}
	wire_rd_init(&rd, msg->data + 1, msg->len - 1);
	if (msg->len < TRAFFIC_MIN || !wire_get_uvarint(&rd, &a) || !wire_get_uvarint(&rd, &b) ||
	    !wire_get_uvarint(&rd, &n)) {
		t->stats.bad_traffic++;
		pkt_free(msg);
		return;
	}
	for (size_t i = 0; i < sizeof(rx_cases) / sizeof(rx_cases[0]); i++) {
		if (a == s->remote_key_seq + rx_cases[i].from_next &&
		    b + rx_cases[i].to_recv == s->local_key_seq) {
			c = &rx_cases[i];
			break;
		}
	}
	if (!c) {
		t->stats.bad_traffic++;
		pkt_free(msg);
		if (resync_allowed(t, now))
			emit(t, src, resync_init(t, s));
		return;
	}
	nonce = (uint64_t *)(void *)((char *)s + c->nonce);
	if (n <= *nonce) {
		t->stats.replays++;
		pkt_free(msg);
		return;
	}
	off = 1 + rd.off;
	box = msg->data + off;
	clen = msg->len - off - BOX_TAG_LEN; /* >= 5: TRAFFIC_MIN - 31 header bytes - tag */
	if (!box_open((const struct box_shared *)(const void *)((const char *)s + c->key), n, box,
		      clen) ||
	    clen < BOX_PUB_LEN) {
		/* (A short inner only comes from a peer holding the key; Go would panic on it.) */
		t->stats.bad_traffic++;
		pkt_free(msg);
		if (resync_allowed(t, now))
			emit(t, src, resync_init(t, s));
		return;
	}
	memcpy(key, box + BOX_TAG_LEN, BOX_PUB_LEN);
	*nonce = n;
	if (c->rotates && (!s->has_rotated || now - s->rotated > SESSION_ROTATE_MS)) {
		/* Traffic rotation: the remote moved to its next key (§2.6.4). */
		s->remote_key_seq++;
		rekey(s, s->next, key, n, 0);
		s->rotated = now;
		s->has_rotated = true;
		t->stats.rotations++;
	}
	s->rx += clen - BOX_PUB_LEN;
	sess_touch(t, s, now);
	pkt_pull(msg, off + BOX_TAG_LEN + BOX_PUB_LEN);
	memcpy(key, src, sizeof(key));
	t->cbs.deliver(t->cbs.ctx, key, msg);
}

static void on_ignore(struct session_table *t, const uint8_t src[32], struct pkt *msg, uint64_t now)
{
	(void)t;
	(void)src;
	(void)now;
	pkt_free(msg);
}

/* §2.2: the first byte selects the handler; other types are ignored. */
static void (*const handlers[])(struct session_table *, const uint8_t *, struct pkt *, uint64_t) = {
    [TYPE_DUMMY] = on_ignore,
    [TYPE_INIT] = on_handshake,
    [TYPE_ACK] = on_handshake,
    [TYPE_TRAFFIC] = on_traffic,
};

/* ---- API ---- */

struct session_table *session_table_new(const struct keypair *kp, struct pkt_pool *pool,
					const struct session_cbs *cbs)
{
	struct session_table *t = xcalloc(1, sizeof(*t));

	if (!box_keypair_from_node(&t->self_x, kp)) {
		free(t);
		return NULL;
	}
	t->kp = kp;
	t->pool = pool;
	t->cbs = *cbs;
	list_init(&t->sess_lru);
	list_init(&t->buf_lru);
	return t;
}

void session_table_free(struct session_table *t)
{
	if (!t)
		return;
	while (t->sessions.n)
		sess_del(t, t->sessions.v[t->sessions.n - 1]);
	while (t->buffers.n)
		buf_del(t, t->buffers.v[t->buffers.n - 1]);
	kvec_free(&t->sessions);
	kvec_free(&t->buffers);
	mem_wipe(t, sizeof(*t));
	free(t);
}

void session_send(struct session_table *t, const uint8_t dest[32], struct pkt *payload,
		  uint64_t now_ms)
{
	struct sess *s = sess_find(t, dest);
	struct sbuf *b;
	size_t pos;

	if (s) {
		emit(t, dest, seal_traffic(t, s, payload, now_ms));
		return;
	}
	/* §2.6.1: no session: keep only this message and (re)send the buffer's INIT. */
	b = kvec_find(&t->buffers, dest, &pos);
	if (!b) {
		if (t->buffers.n >= SESSION_MAX_BUFFERS) {
			t->stats.table_full++;
			pkt_free(payload);
			return;
		}
		b = xcalloc(1, sizeof(*b));
		memcpy(b->ed, dest, sizeof(b->ed));
		box_keypair_generate(&b->current);
		box_keypair_generate(&b->next);
		b->seq = unix_now(t);
		kvec_insert(&t->buffers, pos, b);
		list_init(&b->lru);
	} else if (b->msg) {
		pkt_free(b->msg);
		t->stats.buffered_replaced++;
	}
	b->msg = payload;
	buf_touch(t, b, now_ms);
	/*
	 * ironwood resends the buffer's INIT with the seq it was made with (§2.6.1). A peer that
	 * already holds that seq for our key (our previous run handshook in the same second, as
	 * a quick restart does) ignores it (§2.6.2 step 2), and as long as messages keep coming
	 * the buffer never expires: no session, ever. A resend a second later carries that
	 * second instead, which such a peer takes as an update; the keys stay the buffer's, so a
	 * peer that took the earlier INIT only rotates once more (ironwood peers do the same).
	 */
	if (unix_now(t) > b->seq)
		b->seq = unix_now(t);
	emit(t, dest, handshake_pkt(t, dest, TYPE_INIT, b->current.pub, b->next.pub, 0, b->seq));
}

void session_handle(struct session_table *t, const uint8_t source[32], struct pkt *msg,
		    uint64_t now_ms)
{
	if (msg->len == 0 || msg->data[0] >= sizeof(handlers) / sizeof(handlers[0])) {
		pkt_free(msg);
		return;
	}
	handlers[msg->data[0]](t, source, msg, now_ms);
}

void session_tick(struct session_table *t, uint64_t now_ms)
{
	struct list_node *n;

	while ((n = list_first(&t->sess_lru))) {
		struct sess *s = list_entry(n, struct sess, lru);

		if (now_ms < s->deadline)
			break;
		sess_del(t, s);
	}
	while ((n = list_first(&t->buf_lru))) {
		struct sbuf *b = list_entry(n, struct sbuf, lru);

		if (now_ms < b->deadline)
			break;
		buf_del(t, b);
	}
}

void session_foreach(const struct session_table *t, session_info_cb *cb, void *ctx, uint64_t now_ms)
{
	for (size_t i = 0; i < t->sessions.n; i++) {
		const struct sess *s = t->sessions.v[i];
		struct session_info info;

		memcpy(info.key, s->ed, sizeof(info.key));
		info.bytes_recvd = s->rx;
		info.bytes_sent = s->tx;
		info.uptime_ms = now_ms - s->since;
		cb(ctx, &info);
	}
}

const struct session_stats *session_get_stats(const struct session_table *t)
{
	return &t->stats;
}

void session_test_set_send_nonce(struct session_table *t, const uint8_t dest[32], uint64_t n)
{
	struct sess *s = sess_find(t, dest);

	if (s)
		s->send_nonce = n;
}
