/*
 * Tests for core/session (spec yggdrasil-sessions-core-admin.md §2.5-§2.7).
 *
 * Most tests wire two session tables A and B back to back through a FIFO "network" with a fake
 * clock (struct sim): every message a table sends is queued and handed to the other table by
 * step()/run(), so the exchanges of §2.7 can be checked message by message (type, keySeqs,
 * nonce). Captured INIT/ACKs of the real 0.5.12 are fed to tables holding the real test keys.
 * Every test ends with every pkt back in the pool.
 */
#include "core/session.h"
#include "crypto/box.h"
#include "crypto/keys.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC YGG64_TEST_DATA "/vectors/session/"

enum {
	POOL_COUNT = 4096,
	POOL_CAP = 2048,
	QMAX = 8192,
	IDLOG = 20000,
	UNIX_BASE = 1795676000,
};

struct sim;

struct node {
	struct sim *sim;
	struct keypair *kp;
	uint8_t pub[32];
	struct box_keypair x; /* to open the INIT/ACKs sent to this node */
	struct session_table *t;
	size_t ndeliv, bad_content;
	uint64_t deliv_bytes;
	uint32_t ids[IDLOG];
	uint8_t last_src[32];
};

struct qent {
	struct node *to;
	struct node *from;
	struct pkt *p;
};

struct sim {
	struct pkt_pool *pool;
	uint64_t now;
	struct node n[2];
	struct qent q[QMAX];
	size_t qh, qt;
	size_t lost; /* messages to keys that are not in the sim */
};

static struct node *A(struct sim *s)
{
	return &s->n[0];
}

static struct node *B(struct sim *s)
{
	return &s->n[1];
}

static void cb_send(void *ctx, const uint8_t dest[32], struct pkt *msg)
{
	struct node *from = ctx;
	struct sim *s = from->sim;

	for (int i = 0; i < 2; i++) {
		if (memcmp(s->n[i].pub, dest, 32) == 0) {
			cr_assert_lt(s->qt - s->qh, QMAX,
				     "network queue overflow (message storm?)");
			s->q[s->qt % QMAX] = (struct qent){.to = &s->n[i], .from = from, .p = msg};
			s->qt++;
			return;
		}
	}
	s->lost++;
	pkt_free(msg);
}

/* Payloads are 01 || BE32(id) || (id + i) bytes: delivery checks the whole content. */
static void cb_deliver(void *ctx, const uint8_t source[32], struct pkt *p)
{
	struct node *n = ctx;
	uint32_t id = 0;

	memcpy(n->last_src, source, 32);
	if (p->len < 5 || p->data[0] != 0x01) {
		n->bad_content++;
	} else {
		id = (uint32_t)p->data[1] << 24 | (uint32_t)p->data[2] << 16 |
		     (uint32_t)p->data[3] << 8 | p->data[4];
		for (size_t i = 5; i < p->len; i++)
			if (p->data[i] != (uint8_t)(id + i))
				n->bad_content++;
	}
	if (n->ndeliv < IDLOG)
		n->ids[n->ndeliv] = id;
	n->ndeliv++;
	n->deliv_bytes += p->len;
	pkt_free(p);
}

static uint64_t cb_unix(void *ctx)
{
	struct node *n = ctx;

	return UNIX_BASE + n->sim->now / 1000;
}

static void node_table(struct node *n)
{
	struct session_cbs cbs = {
	    .ctx = n, .send = cb_send, .deliver = cb_deliver, .unix_time = cb_unix};

	n->t = session_table_new(n->kp, n->sim->pool, &cbs);
	cr_assert_not_null(n->t);
}

static void node_init(struct sim *s, struct node *n, struct keypair *kp)
{
	n->sim = s;
	n->kp = kp ? kp : keys_generate();
	keys_public(n->kp, n->pub);
	cr_assert(box_keypair_from_node(&n->x, n->kp));
	node_table(n);
}

static struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));

	cr_assert_eq(keys_init(), 0);
	s->pool = pkt_pool_new(POOL_COUNT, POOL_CAP);
	cr_assert_not_null(s->pool);
	s->now = 1000000;
	node_init(s, A(s), NULL);
	node_init(s, B(s), NULL);
	return s;
}

static void sim_free(struct sim *s)
{
	struct pkt_pool_info pi;

	while (s->qh < s->qt)
		pkt_free(s->q[s->qh++ % QMAX].p);
	for (int i = 0; i < 2; i++) {
		session_table_free(s->n[i].t);
		keys_free(s->n[i].kp);
		box_keypair_wipe(&s->n[i].x);
	}
	pkt_pool_info(s->pool, &pi);
	cr_assert_eq(pi.in_use, 0, "every pkt returned to the pool");
	pkt_pool_free(s->pool);
	free(s);
}

static size_t qlen(const struct sim *s)
{
	return s->qt - s->qh;
}

static struct qent *front(struct sim *s)
{
	cr_assert_gt(qlen(s), 0, "expected a message in flight");
	return &s->q[s->qh % QMAX];
}

/* Delivers the oldest message in flight. */
static void step(struct sim *s)
{
	struct qent e = *front(s);

	s->qh++;
	session_handle(e.to->t, e.from->pub, e.p, s->now);
}

static void drop(struct sim *s)
{
	pkt_free(front(s)->p);
	s->qh++;
}

static size_t run(struct sim *s)
{
	size_t steps = 0;

	while (qlen(s)) {
		step(s);
		cr_assert_lt(++steps, 100000, "message storm");
	}
	return steps;
}

static struct pkt *mkpayload(struct sim *s, uint32_t id, size_t len)
{
	struct pkt *p = pkt_alloc(s->pool);
	uint8_t *d;

	cr_assert_not_null(p);
	cr_assert_geq(len, 5);
	d = pkt_put(p, len);
	cr_assert_not_null(d);
	d[0] = 0x01;
	d[1] = (uint8_t)(id >> 24);
	d[2] = (uint8_t)(id >> 16);
	d[3] = (uint8_t)(id >> 8);
	d[4] = (uint8_t)id;
	for (size_t i = 5; i < len; i++)
		d[i] = (uint8_t)(id + i);
	return p;
}

static void msg(struct sim *s, struct node *from, struct node *to, uint32_t id, size_t len)
{
	session_send(from->t, to->pub, mkpayload(s, id, len), s->now);
}

/* The TRAFFIC header of the front message: asserts type 3 and the three uvarints. */
static void expect_traffic(struct sim *s, uint64_t a, uint64_t b, uint64_t n)
{
	struct qent *e = front(s);
	struct wire_rd rd;
	uint64_t ga, gb, gn;
	uint8_t type;

	wire_rd_init(&rd, e->p->data, e->p->len);
	cr_assert(wire_get_u8(&rd, &type) && wire_get_uvarint(&rd, &ga) &&
		  wire_get_uvarint(&rd, &gb) && wire_get_uvarint(&rd, &gn));
	cr_assert_eq(type, 3, "expected TRAFFIC, got type %u", type);
	cr_assert(ga == a && gb == b && gn == n,
		  "TRAFFIC header (%llu,%llu,n=%llu), expected (%llu,%llu,n=%llu)",
		  (unsigned long long)ga, (unsigned long long)gb, (unsigned long long)gn,
		  (unsigned long long)a, (unsigned long long)b, (unsigned long long)n);
}

/* Opens the front message as an INIT (1) or ACK (2) to its recipient. */
static struct box_init expect_handshake(struct sim *s, uint8_t type, uint64_t key_seq)
{
	struct qent *e = front(s);
	struct box_init in;

	cr_assert_eq(e->p->len, SESSION_INIT_LEN);
	cr_assert_eq(e->p->data[0], type, "expected type %u, got %u", type, e->p->data[0]);
	cr_assert(box_init_open(&e->to->x, e->from->pub, e->p->data, &in));
	cr_assert_eq(in.key_seq, key_seq, "keySeq %llu, expected %llu",
		     (unsigned long long)in.key_seq, (unsigned long long)key_seq);
	cr_assert_eq(in.seq, UNIX_BASE + s->now / 1000);
	return in;
}

static const struct session_stats *st(const struct node *n)
{
	return session_get_stats(n->t);
}

static void count_cb(void *ctx, const struct session_info *info)
{
	(void)info;
	(*(size_t *)ctx)++;
}

static size_t nsessions(const struct node *n)
{
	size_t c = 0;

	session_foreach(n->t, count_cb, &c, n->sim->now);
	return c;
}

/*
 * §2.7: A pings B with no session on either side. Returns with A: L=2 R=2, B: L=2 R=1, B
 * rotated at s->now, A rotated at s->now, both nonces 1 used once from B and A.
 */
static void handshake(struct sim *s)
{
	struct box_init i1, a2, a3;

	msg(s, A(s), B(s), 1, 105);
	i1 = expect_handshake(s, 1, 0); /* 1: A buffers the ping, sends its buffer's INIT */
	step(s);
	a2 = expect_handshake(s, 2, 1); /* 2: B makes a session, updates (L=1), acks */
	step(s);
	a3 = expect_handshake(s, 2, 1); /* 3: A adopts its buffer's keys, updates, acks */
	cr_assert_eq(memcmp(a3.current, i1.next, 32), 0, "A's ACK current = INIT's next");
	(void)a2;
	step(s);
	cr_assert_eq(st(B(s))->stale_handshake, 1, "B ignores A's ACK: same seq second");
	expect_traffic(s, 1, 1, 1); /* 4: the buffered ping */
	step(s);
	cr_assert_eq(B(s)->ndeliv, 1);
	cr_assert_eq(B(s)->ids[0], 1);
	cr_assert_eq(st(B(s))->rotations, 1, "B: a=R+1, b=L: rotates to L=2");
	msg(s, B(s), A(s), 2, 105); /* 5: B's reply */
	expect_traffic(s, 2, 1, 1);
	step(s);
	cr_assert_eq(A(s)->ndeliv, 1);
	cr_assert_eq(st(A(s))->rotations, 1, "A: fromNext/toSend rotates to L=2");
	cr_assert_eq(qlen(s), 0);
}

Test(session, handshake_as_observed_between_real_nodes)
{
	struct sim *s = sim_new();

	handshake(s);
	for (uint32_t i = 0; i < 2; i++) { /* 5 continued: (2,1) n=2,3 */
		msg(s, B(s), A(s), 10 + i, 105);
		expect_traffic(s, 2, 1, 2 + i);
		step(s);
	}
	for (uint32_t i = 0; i < 2; i++) { /* 6: A -> B (2,2) n=1,2, B does not rotate again */
		msg(s, A(s), B(s), 20 + i, 105);
		expect_traffic(s, 2, 2, 1 + i);
		step(s);
	}
	cr_assert_eq(st(B(s))->rotations, 1, "rotated < 60 s ago");
	cr_assert_eq(st(A(s))->rotations, 1);
	msg(s, B(s), A(s), 30, 105);
	expect_traffic(s, 2, 1, 4); /* B's send nonce was not reset */
	step(s);
	cr_assert_eq(A(s)->ndeliv, 4);
	cr_assert_eq(B(s)->ndeliv, 3);
	cr_assert_eq(A(s)->bad_content + B(s)->bad_content, 0);
	cr_assert_eq(memcmp(A(s)->last_src, B(s)->pub, 32), 0);
	cr_assert_eq(st(A(s))->inits_sent, 1);
	cr_assert_eq(st(A(s))->acks_sent, 1);
	cr_assert_eq(st(B(s))->acks_sent, 1);
	cr_assert_eq(st(B(s))->inits_recvd, 1);
	cr_assert_eq(st(B(s))->acks_recvd, 1);
	cr_assert_eq(st(A(s))->acks_recvd, 1);
	cr_assert_eq(st(A(s))->bad_traffic + st(B(s))->bad_traffic, 0);
	cr_assert_eq(nsessions(A(s)), 1);
	cr_assert_eq(nsessions(B(s)), 1);
	sim_free(s);
}

/* ---- captured messages of the real 0.5.12 ---- */

static struct keypair *conf_key(const char *name)
{
	char *s = th_read_file(name, NULL), hex[129];
	const char *p;
	struct keypair *kp;

	cr_assert_not_null(s);
	p = strstr(s, "PrivateKey: ");
	cr_assert_not_null(p);
	memcpy(hex, p + 12, 128);
	hex[128] = 0;
	kp = keys_from_hex(hex, NULL);
	cr_assert_not_null(kp);
	free(s);
	return kp;
}

/* The idx-th "raw payload" of a decode file. */
static void raw_payload(const char *name, int idx, uint8_t out[SESSION_INIT_LEN])
{
	char *s = th_read_file(name, NULL), hex[2 * SESSION_INIT_LEN + 1];
	const char *p = s;

	cr_assert_not_null(s);
	for (int i = 0; i <= idx; i++) {
		p = strstr(p, "raw payload: ");
		cr_assert_not_null(p);
		p += 13;
	}
	memcpy(hex, p, sizeof(hex) - 1);
	hex[sizeof(hex) - 1] = 0;
	cr_assert_eq(th_unhex(hex, out, SESSION_INIT_LEN), SESSION_INIT_LEN);
	free(s);
}

static struct pkt *bytes_pkt(struct sim *s, const uint8_t *b, size_t n)
{
	struct pkt *p = pkt_alloc(s->pool);

	cr_assert_not_null(p);
	memcpy(pkt_put(p, n), b, n);
	return p;
}

Test(session, real_init_and_ack_are_answered)
{
	struct sim *s = sim_new();
	uint8_t init[SESSION_INIT_LEN], ack[SESSION_INIT_LEN], back[SESSION_INIT_LEN];

	/* Swap in the real A and B of the capture (§2.7, keys in A.conf/B.conf). */
	for (int i = 0; i < 2; i++) {
		session_table_free(s->n[i].t);
		keys_free(s->n[i].kp);
		s->n[i].kp = conf_key(i ? VEC "B.conf" : VEC "A.conf");
		keys_public(s->n[i].kp, s->n[i].pub);
		cr_assert(box_keypair_from_node(&s->n[i].x, s->n[i].kp));
		node_table(&s->n[i]);
	}
	raw_payload(VEC "decode-A-to-B.txt", 0, init); /* A->B INIT keySeq 0 */
	raw_payload(VEC "decode-A-to-B.txt", 1, ack);  /* A->B ACK keySeq 1, same seq */
	raw_payload(VEC "decode-B-to-A.txt", 0, back); /* B->A ACK keySeq 1 */

	/* B gets the real INIT: a session, and an ACK (keySeq 1) that A's key opens. */
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, init, sizeof(init)), s->now);
	cr_assert_eq(st(B(s))->inits_recvd, 1);
	cr_assert_eq(nsessions(B(s)), 1);
	cr_assert_eq(qlen(s), 1);
	expect_handshake(s, 2, 1);
	drop(s);
	/* The real ACK carries the same seq (the same second): ignored, nothing sent. */
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, ack, sizeof(ack)), s->now);
	cr_assert_eq(st(B(s))->acks_recvd, 1);
	cr_assert_eq(st(B(s))->stale_handshake, 1);
	cr_assert_eq(qlen(s), 0);
	/* Replaying the INIT changes nothing either. */
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, init, sizeof(init)), s->now);
	cr_assert_eq(st(B(s))->stale_handshake, 2);
	cr_assert_eq(qlen(s), 0);
	/* The real INIT claimed by another source fails the signature. */
	session_handle(B(s)->t, B(s)->pub, bytes_pkt(s, init, sizeof(init)), s->now);
	cr_assert_eq(st(B(s))->bad_handshake, 1);

	/* A without a session gets B's real ACK: §2.6.3 makes a session and answers it. */
	session_handle(A(s)->t, B(s)->pub, bytes_pkt(s, back, sizeof(back)), s->now);
	cr_assert_eq(st(A(s))->acks_recvd, 1);
	cr_assert_eq(nsessions(A(s)), 1);
	expect_handshake(s, 2, 1);
	drop(s);
	cr_assert_eq(st(A(s))->acks_sent, 1);
	sim_free(s);
}

/* ---- buffering, replays, rotations ---- */

Test(session, buffer_keeps_only_the_last_message)
{
	struct sim *s = sim_new();
	struct box_init in[3];

	for (uint32_t i = 0; i < 3; i++) {
		msg(s, A(s), B(s), 100 + i, 60);
		s->now += 300;
	}
	cr_assert_eq(st(A(s))->buffered_replaced, 2);
	cr_assert_eq(st(A(s))->inits_sent, 3, "no throttle: one INIT per write");
	cr_assert_eq(qlen(s), 3);
	/* Same current/next/seq each time, a fresh ephemeral key each time (§2.6.1). */
	for (size_t i = 0; i < 3; i++) {
		const struct pkt *p = s->q[(s->qh + i) % QMAX].p;

		cr_assert(box_init_open(&B(s)->x, A(s)->pub, p->data, &in[i]));
		cr_assert_eq(in[i].key_seq, 0);
		cr_assert_eq(memcmp(&in[i], &in[0], sizeof(in[0])), 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(memcmp(p->data + 1, s->q[(s->qh + j) % QMAX].p->data + 1, 32),
				      0);
	}
	run(s);
	cr_assert_eq(B(s)->ndeliv, 1, "only the newest buffered message survives");
	cr_assert_eq(B(s)->ids[0], 102);
	cr_assert_eq(st(B(s))->inits_recvd, 3);
	cr_assert_eq(st(B(s))->stale_handshake, 3, "2 INITs + A's ACK, all of the same second");
	sim_free(s);
}

Test(session, replayed_nonce_dropped_silently)
{
	struct sim *s = sim_new();
	struct pkt *dup;

	handshake(s);
	msg(s, A(s), B(s), 7, 200);
	dup = bytes_pkt(s, front(s)->p->data, front(s)->p->len);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	session_handle(B(s)->t, A(s)->pub, dup, s->now);
	cr_assert_eq(B(s)->ndeliv, 2, "replay not delivered");
	cr_assert_eq(st(B(s))->replays, 1);
	cr_assert_eq(qlen(s), 0, "a replay triggers no INIT");
	/* An older nonce of the same key is dropped as well; newer traffic still flows. */
	msg(s, A(s), B(s), 8, 200);
	msg(s, A(s), B(s), 9, 200);
	dup = bytes_pkt(s, front(s)->p->data, front(s)->p->len);
	drop(s);
	step(s);
	session_handle(B(s)->t, A(s)->pub, dup, s->now);
	cr_assert_eq(B(s)->ndeliv, 3);
	cr_assert_eq(B(s)->ids[2], 9);
	cr_assert_eq(st(B(s))->replays, 2, "reordered packet lost: no replay window");
	sim_free(s);
}

Test(session, traffic_rotation_rate_limited_to_one_per_minute)
{
	struct sim *s = sim_new();
	uint64_t t0 = s->now;

	handshake(s); /* B rotated at t0 (on A's ping), A at t0 (on B's reply) */
	s->now = t0 + 30000;
	msg(s, A(s), B(s), 1, 80);
	expect_traffic(s, 2, 2, 1);
	step(s);
	cr_assert_eq(st(B(s))->rotations, 1, "30 s after the last rotation: none");
	msg(s, B(s), A(s), 2, 80);
	expect_traffic(s, 2, 1, 2);
	step(s);
	s->now = t0 + 60000;
	msg(s, A(s), B(s), 3, 80);
	step(s);
	cr_assert_eq(st(B(s))->rotations, 1, "exactly 60 s: not yet (> 60 s)");
	s->now = t0 + 60001;
	msg(s, A(s), B(s), 4, 80);
	expect_traffic(s, 2, 2, 3);
	step(s);
	cr_assert_eq(st(B(s))->rotations, 2, "after 60 s: rotates");
	/* B's send nonce restarts after a traffic rotation: fixShared(n, 0). */
	msg(s, B(s), A(s), 5, 80);
	expect_traffic(s, 3, 2, 1);
	step(s);
	cr_assert_eq(st(A(s))->rotations, 2, "A last rotated at t0: rotates");
	msg(s, A(s), B(s), 6, 80);
	expect_traffic(s, 3, 3, 1);
	step(s);
	cr_assert_eq(st(B(s))->rotations, 2, "B rotated 0 s ago");
	msg(s, B(s), A(s), 7, 80);
	expect_traffic(s, 3, 2, 2);
	step(s);
	cr_assert_eq(A(s)->ndeliv, 4);
	cr_assert_eq(B(s)->ndeliv, 5);
	cr_assert_eq(A(s)->bad_content + B(s)->bad_content, 0);
	cr_assert_eq(st(A(s))->bad_traffic + st(B(s))->bad_traffic, 0);
	sim_free(s);
}

Test(session, send_nonce_wrap_rotates)
{
	struct sim *s = sim_new();

	handshake(s);
	s->now += 2000;
	session_test_set_send_nonce(A(s)->t, B(s)->pub, UINT64_MAX - 1);
	msg(s, A(s), B(s), 1, 64);
	expect_traffic(s, 2, 2, UINT64_MAX);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	/* The next one wraps: A rotates its own keys (L=3) and the message carries nonce 0. */
	msg(s, A(s), B(s), 2, 64);
	cr_assert_eq(st(A(s))->rotations, 2);
	expect_traffic(s, 3, 2, 0);
	step(s);
	/* B (R=1: its rotation was rate-limited) cannot place keySeq 3: INIT, drop. */
	cr_assert_eq(B(s)->ndeliv, 2, "the wrapped message is lost, as in Go");
	cr_assert_eq(st(B(s))->resync_inits, 1);
	expect_handshake(s, 1, 2);
	run(s); /* INIT -> A updates and acks -> B updates */
	msg(s, A(s), B(s), 3, 64);
	msg(s, B(s), A(s), 4, 64);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 3);
	cr_assert_eq(B(s)->ids[2], 3);
	cr_assert_eq(A(s)->ndeliv, 2);
	cr_assert_eq(A(s)->ids[1], 4);
	sim_free(s);
}

/* From a synchronised pair the wrap takes the fromNext & toRecv branch of §2.6.4. */
Test(session, nonce_wrap_in_sync_uses_next_recv_key)
{
	struct sim *s = sim_new();
	uint64_t t0 = s->now;

	handshake(s);
	s->now = t0 + 61000;
	msg(s, A(s), B(s), 1, 64);
	expect_traffic(s, 2, 2, 1);
	step(s);
	cr_assert_eq(st(B(s))->rotations, 2, "B catches up: L=3, R=2");
	msg(s, A(s), B(s), 2, 64);
	expect_traffic(s, 2, 2, 2); /* fromCurrent & toRecv at B */
	step(s);
	session_test_set_send_nonce(A(s)->t, B(s)->pub, UINT64_MAX);
	msg(s, A(s), B(s), 3, 64);
	expect_traffic(s, 3, 2, 0);
	step(s);
	cr_assert_eq(st(B(s))->replays, 1, "nonce 0 is not above nextRecvNonce 0: dropped");
	cr_assert_eq(qlen(s), 0, "silently");
	msg(s, A(s), B(s), 4, 64);
	expect_traffic(s, 3, 2, 1);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 4, "fromNext & toRecv opens with nextRecvShared");
	cr_assert_eq(B(s)->ids[3], 4);
	cr_assert_eq(st(B(s))->rotations, 2, "B rotated 0 s ago");
	/* B (L=3, R=2) to A (L=3, R=2): fromNext & toRecv at A too; A last rotated at t0. */
	msg(s, B(s), A(s), 5, 64);
	expect_traffic(s, 3, 2, 1);
	step(s);
	cr_assert_eq(A(s)->ndeliv, 2);
	cr_assert_eq(st(A(s))->rotations, 3, "handshake, wrap, and now traffic");
	cr_assert_eq(st(A(s))->bad_traffic + st(B(s))->bad_traffic, 0);
	cr_assert_eq(st(A(s))->resync_inits + st(B(s))->resync_inits, 0);
	/*
	 * A is now two rotations ahead of what B knows (B's rotation for the wrap was
	 * rate-limited): keySeq 4 is "anything else" at B, so B asks for an INIT/ACK round.
	 */
	msg(s, A(s), B(s), 6, 64);
	expect_traffic(s, 4, 3, 1);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 4);
	expect_handshake(s, 1, 3);
	run(s);
	msg(s, A(s), B(s), 7, 64);
	msg(s, B(s), A(s), 8, 64);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 5);
	cr_assert_eq(B(s)->ids[4], 7);
	cr_assert_eq(A(s)->ndeliv, 3);
	sim_free(s);
}

/*
 * The nonce mark belongs to the shared key, not to its slot (§2.6.5 "strictly increasing nonce
 * per shared key"). B accepts A's (2,2) n=1 with nextSendShared and does not rotate (rate
 * limit). Then B's own send nonce wraps: B rotates (recv <- send, L=3) and the same key moves
 * to the nextRecvShared slot. Go's fixShared(0, 0) restarts that slot at 0, so a copy of the
 * message would be delivered a second time (fuzz_session found this).
 */
Test(session, replay_after_own_nonce_wrap_dropped)
{
	struct sim *s = sim_new();
	struct pkt *dup;

	handshake(s);
	msg(s, A(s), B(s), 1, 64);
	expect_traffic(s, 2, 2, 1);
	dup = bytes_pkt(s, front(s)->p->data, front(s)->p->len);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	cr_assert_eq(st(B(s))->rotations, 1, "rate-limited: the key stays in nextSendShared");
	session_test_set_send_nonce(B(s)->t, A(s)->pub, UINT64_MAX);
	msg(s, B(s), A(s), 2, 64);
	cr_assert_eq(st(B(s))->rotations, 2, "B's wrap rotates B's keys");
	expect_traffic(s, 3, 1, 0);
	drop(s);
	/* (2,2) at B (L=3, R=1) is now fromNext & toRecv: the same key, in the other slot. */
	session_handle(B(s)->t, A(s)->pub, dup, s->now);
	cr_assert_eq(B(s)->ndeliv, 2, "the copy is not delivered again");
	cr_assert_eq(st(B(s))->replays, 1);
	cr_assert_eq(qlen(s), 0, "silently");
	/* A's next message on that key (n=2) still goes through. */
	msg(s, A(s), B(s), 3, 64);
	expect_traffic(s, 2, 2, 2);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 3);
	cr_assert_eq(B(s)->ids[2], 3);
	cr_assert_eq(st(B(s))->bad_traffic, 0);
	sim_free(s);
}

/*
 * The same through an INIT update (§2.6.2 step 3), no wrap needed: A's INIT advertises as
 * current the key B holds as next, so B's update moves the nextSendShared key (with A's n=1
 * accepted on it) to recvShared, where Go's fixShared(0, sendNonce) would restart it at 0.
 */
Test(session, replay_after_init_update_dropped)
{
	struct sim *s = sim_new();
	struct pkt *dup;

	handshake(s);
	msg(s, A(s), B(s), 1, 64);
	expect_traffic(s, 2, 2, 1);
	dup = bytes_pkt(s, front(s)->p->data, front(s)->p->len);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	/* A second later a corrupted message from B makes A send an INIT that counts. */
	s->now += 1000;
	msg(s, B(s), A(s), 2, 64);
	front(s)->p->data[front(s)->p->len - 1] ^= 0x01;
	step(s);
	expect_handshake(s, 1, 2);
	step(s);
	expect_handshake(s, 2, 3); /* B updated: R=2, L=3 */
	/* (2,2) at B is now fromCurrent & toRecv: recvShared is the key A used for n=1. */
	session_handle(B(s)->t, A(s)->pub, dup, s->now);
	cr_assert_eq(B(s)->ndeliv, 2, "the copy is not delivered again");
	cr_assert_eq(st(B(s))->replays, 1);
	run(s); /* B's ACK: A updates, no reply */
	msg(s, A(s), B(s), 3, 64);
	msg(s, B(s), A(s), 4, 64);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 3);
	cr_assert_eq(B(s)->ids[2], 3);
	cr_assert_eq(A(s)->ndeliv, 2);
	cr_assert_eq(A(s)->ids[1], 4);
	cr_assert_eq(A(s)->bad_content + B(s)->bad_content, 0);
	sim_free(s);
}

Test(session, corrupted_traffic_triggers_init_and_resync)
{
	struct sim *s = sim_new();
	uint64_t b_acks;

	handshake(s);
	msg(s, A(s), B(s), 1, 300);
	front(s)->p->data[front(s)->p->len - 1] ^= 0x40;
	step(s);
	cr_assert_eq(st(B(s))->bad_traffic, 1);
	cr_assert_eq(st(B(s))->resync_inits, 1);
	cr_assert_eq(B(s)->ndeliv, 1);
	expect_handshake(s, 1, 2); /* B's send/next keys, keySeq L=2 */
	/* Same second as the last handshake: A ignores the INIT; the session is unharmed. */
	step(s);
	cr_assert_eq(st(A(s))->stale_handshake, 1);
	cr_assert_eq(qlen(s), 0);
	msg(s, A(s), B(s), 2, 300);
	step(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	/* A second later the INIT counts: A updates and acks, B updates and does not reply. */
	s->now += 1000;
	msg(s, A(s), B(s), 3, 300);
	front(s)->p->data[10] ^= 0x01;
	step(s);
	expect_handshake(s, 1, 2);
	step(s);
	expect_handshake(s, 2, 3); /* A rotated on the update: L=3 */
	b_acks = st(B(s))->acks_sent;
	step(s);
	cr_assert_eq(qlen(s), 0, "an ACK to an existing session is not answered");
	cr_assert_eq(st(B(s))->acks_sent, b_acks);
	cr_assert_eq(st(B(s))->acks_recvd, 2);
	for (uint32_t i = 0; i < 5; i++) {
		msg(s, A(s), B(s), 10 + i, 100 + i);
		msg(s, B(s), A(s), 20 + i, 100 + i);
		run(s);
	}
	cr_assert_eq(B(s)->ndeliv, 7);
	cr_assert_eq(A(s)->ndeliv, 6);
	cr_assert_eq(A(s)->bad_content + B(s)->bad_content, 0);
	sim_free(s);
}

Test(session, restarted_peer_resynchronises)
{
	struct sim *s = sim_new();
	int rounds = 0;

	handshake(s);
	session_table_free(B(s)->t); /* B restarts: it forgets the session */
	node_table(B(s));
	B(s)->ndeliv = 0;
	s->now += 1000;
	msg(s, A(s), B(s), 1, 100);
	step(s);
	/* §2.6.4: TRAFFIC without a session: INIT from throwaway keys, keySeq 0, no session. */
	expect_handshake(s, 1, 0);
	cr_assert_eq(nsessions(B(s)), 0);
	cr_assert_eq(B(s)->ndeliv, 0);
	run(s);
	cr_assert_eq(nsessions(B(s)), 1, "A's ACK made B a session (and B acked it)");
	/* A now encrypts to the forgotten key until the next INIT of a later second. */
	while (B(s)->ndeliv == 0) {
		cr_assert_lt(++rounds, 5);
		s->now += 1000;
		msg(s, A(s), B(s), 100 + rounds, 100);
		run(s);
	}
	cr_assert_eq(rounds, 2, "one lost message, then the INIT of the failed decrypt heals it");
	msg(s, B(s), A(s), 9, 100);
	run(s);
	cr_assert_eq(A(s)->ndeliv, 2);
	sim_free(s);
}

/*
 * A restarts twice quickly: B holds A's session with the seq of this second, so the new A's
 * INIT of the same second is stale for B and ignored. A keeps writing (a ping every 200 ms
 * keeps the buffer alive); the first INIT of the next second carries that second, B takes it
 * and the buffered message is delivered.
 */
Test(session, restart_within_a_second_heals_at_the_next)
{
	struct sim *s = sim_new();
	int rounds = 0;

	handshake(s);
	session_table_free(A(s)->t); /* A restarts within the second of its handshake */
	node_table(A(s));
	A(s)->ndeliv = B(s)->ndeliv = 0;
	msg(s, A(s), B(s), 1, 100);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 0, "the INIT of the same second is stale for B");
	cr_assert_geq(st(B(s))->stale_handshake, 1);
	while (B(s)->ndeliv == 0) {
		cr_assert_lt(++rounds, 10, "a resend in a later second must be taken");
		s->now += 200;
		msg(s, A(s), B(s), 100 + rounds, 100);
		run(s);
	}
	cr_assert_leq(s->now % 1000 + rounds * 200, 2000, "healed within the next second");
	msg(s, B(s), A(s), 9, 100);
	run(s);
	cr_assert_eq(A(s)->ndeliv, 1, "and B's answer reaches the new A (got %zu)",
		     (size_t)A(s)->ndeliv);
	sim_free(s);
}

Test(session, sessions_and_buffers_expire_after_60s_idle)
{
	struct sim *s = sim_new();
	struct keypair *c = keys_generate();
	uint8_t pc[32];
	struct pkt_pool_info pi;
	uint64_t t;

	handshake(s);
	t = s->now;
	session_tick(A(s)->t, t + 59999);
	session_tick(B(s)->t, t + 59999);
	cr_assert_eq(nsessions(A(s)), 1);
	cr_assert_eq(nsessions(B(s)), 1);
	/* Traffic at +30 s restarts both timers (send for A, receive for B). */
	s->now = t + 30000;
	msg(s, A(s), B(s), 1, 50);
	run(s);
	session_tick(A(s)->t, t + 60000);
	session_tick(B(s)->t, t + 60000);
	cr_assert_eq(nsessions(A(s)), 1);
	cr_assert_eq(nsessions(B(s)), 1);
	session_tick(A(s)->t, t + 90000);
	session_tick(B(s)->t, t + 90000);
	cr_assert_eq(nsessions(A(s)), 0);
	cr_assert_eq(nsessions(B(s)), 0);
	/* A buffer for an unreachable C holds its pkt for 60 s after the last write. */
	keys_public(c, pc);
	s->now = t + 100000;
	session_send(A(s)->t, pc, mkpayload(s, 1, 40), s->now);
	s->now += 20000;
	session_send(A(s)->t, pc, mkpayload(s, 2, 40), s->now);
	cr_assert_eq(s->lost, 2);
	session_tick(A(s)->t, s->now + 59999);
	pkt_pool_info(s->pool, &pi);
	cr_assert_eq(pi.in_use, 1);
	session_tick(A(s)->t, s->now + 60000);
	pkt_pool_info(s->pool, &pi);
	cr_assert_eq(pi.in_use, 0);
	keys_free(c);
	sim_free(s);
}

static void info_cb(void *ctx, const struct session_info *info)
{
	*(struct session_info *)ctx = *info;
}

Test(session, ten_thousand_messages_both_ways_across_rotations)
{
	struct sim *s = sim_new();
	uint64_t sent_ab = 0, sent_ba = 0, t0;
	struct session_info ia, ib;

	handshake(s);
	sent_ab = 105;
	sent_ba = 105;
	t0 = s->now;
	for (uint32_t i = 0; i < 10000; i++) {
		size_t la = 5 + (i * 37) % 1400, lb = 5 + (i * 53) % 1400;

		msg(s, A(s), B(s), 1000 + i, la);
		msg(s, B(s), A(s), 5000000 + i, lb);
		sent_ab += la;
		sent_ba += lb;
		if (i % 3 == 0)
			run(s);
		s->now += 25; /* 250 s in all: several rotations */
		if (i % 400 == 0) {
			session_tick(A(s)->t, s->now);
			session_tick(B(s)->t, s->now);
		}
	}
	run(s);
	cr_assert_eq(B(s)->ndeliv, 10001);
	cr_assert_eq(A(s)->ndeliv, 10001);
	for (uint32_t i = 0; i < 10000; i++) {
		cr_assert_eq(B(s)->ids[1 + i], 1000 + i, "in order, none lost");
		cr_assert_eq(A(s)->ids[1 + i], 5000000 + i);
	}
	cr_assert_eq(A(s)->bad_content + B(s)->bad_content, 0);
	cr_assert_geq(st(A(s))->rotations, 4, "one per minute on each side");
	cr_assert_geq(st(B(s))->rotations, 4);
	cr_assert_eq(st(A(s))->bad_traffic + st(B(s))->bad_traffic, 0);
	cr_assert_eq(st(A(s))->replays + st(B(s))->replays, 0);
	/* getSessions counts core payload bytes. */
	session_foreach(A(s)->t, info_cb, &ia, s->now);
	session_foreach(B(s)->t, info_cb, &ib, s->now);
	cr_assert_eq(ia.bytes_sent, sent_ab);
	cr_assert_eq(ia.bytes_recvd, sent_ba);
	cr_assert_eq(ib.bytes_sent, sent_ba);
	cr_assert_eq(ib.bytes_recvd, sent_ab);
	cr_assert_eq(memcmp(ia.key, B(s)->pub, 32), 0);
	cr_assert_geq(ia.uptime_ms, s->now - t0);
	sim_free(s);
}

/* ---- malformed input, limits ---- */

Test(session, junk_is_dropped)
{
	struct sim *s = sim_new();
	uint8_t junk[300];

	memset(junk, 0xff, sizeof(junk));
	/* No session yet: empty, dummy and unknown types are ignored. */
	session_handle(B(s)->t, A(s)->pub, pkt_alloc(s->pool), s->now);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, (const uint8_t *)"\x00zz", 3), s->now);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, (const uint8_t *)"\x04zz", 3), s->now);
	cr_assert_eq(qlen(s), 0);
	/* INIT/ACK of the wrong size or not opening. */
	for (uint8_t type = 1; type <= 2; type++) {
		junk[0] = type;
		session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 192), s->now);
		session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 194), s->now);
		session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 193), s->now);
	}
	cr_assert_eq(st(B(s))->bad_handshake, 6);
	cr_assert_eq(qlen(s), 0);
	cr_assert_eq(nsessions(B(s)), 0);
	/* TRAFFIC without a session: an INIT (keySeq 0), no session kept. */
	junk[0] = 3;
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 10), s->now);
	expect_handshake(s, 1, 0);
	drop(s);
	cr_assert_eq(nsessions(B(s)), 0);
	cr_assert_eq(st(B(s))->resync_inits, 1);
	/* With a session: short, or unterminated uvarints -> dropped, nothing sent. */
	handshake(s);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 51), s->now);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 200), s->now);
	cr_assert_eq(st(B(s))->bad_traffic, 2);
	cr_assert_eq(qlen(s), 0);
	/* Well-formed header, keySeqs out of reach: INIT with our keys, drop (§2.6.4). */
	memcpy(junk, "\x03\x09\x09\x01", 4);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 60), s->now);
	expect_handshake(s, 1, 2);
	drop(s);
	/* a == R and b == L is not accepted either (B: L=2, R=1). */
	memcpy(junk, "\x03\x01\x02\x05", 4);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 60), s->now);
	expect_handshake(s, 1, 2);
	drop(s);
	/* a == R, b + 1 == L but not decryptable: INIT too. */
	memcpy(junk, "\x03\x01\x01\x05", 4);
	session_handle(B(s)->t, A(s)->pub, bytes_pkt(s, junk, 60), s->now);
	expect_handshake(s, 1, 2);
	drop(s);
	cr_assert_eq(st(B(s))->resync_inits, 4);
	cr_assert_eq(B(s)->ndeliv, 1);
	sim_free(s);
}

Test(session, payload_without_headroom_is_copied)
{
	struct sim *s = sim_new();
	struct pkt *p = pkt_alloc(s->pool), *ref = mkpayload(s, 77, 100);

	handshake(s);
	/* the payload starts at the very start of its buffer: no headroom at all */
	pkt_push(p, pkt_headroom(p));
	pkt_trim(p, 0);
	cr_assert_eq(pkt_headroom(p), 0);
	memcpy(pkt_put(p, ref->len), ref->data, ref->len);
	pkt_free(ref);
	session_send(A(s)->t, B(s)->pub, p, s->now);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 2);
	cr_assert_eq(B(s)->ids[1], 77);
	cr_assert_eq(B(s)->bad_content, 0);
	sim_free(s);
}

Test(session, pool_exhaustion_counted)
{
	struct sim *s = sim_new();
	static struct pkt *held[POOL_COUNT];
	struct pkt *p = mkpayload(s, 1, 50);
	struct pkt_pool_info pi;
	size_t n = 0;

	while ((held[n] = pkt_alloc(s->pool)))
		n++;
	/* The payload is buffered; its INIT finds the pool empty. */
	session_send(A(s)->t, B(s)->pub, p, s->now);
	cr_assert_eq(st(A(s))->no_pkt, 1);
	cr_assert_eq(st(A(s))->inits_sent, 0);
	cr_assert_eq(qlen(s), 0);
	pkt_pool_info(s->pool, &pi);
	cr_assert_eq(pi.in_use, POOL_COUNT);
	while (n)
		pkt_free(held[--n]);
	/* The next write gets its INIT out and replaces the waiting message. */
	msg(s, A(s), B(s), 2, 50);
	cr_assert_eq(st(A(s))->buffered_replaced, 1);
	run(s);
	cr_assert_eq(B(s)->ndeliv, 1);
	cr_assert_eq(B(s)->ids[0], 2);
	sim_free(s);
}

Test(session, buffer_and_session_caps)
{
	struct sim *s = sim_new();
	struct keypair *kp;
	uint8_t pub[32];

	for (int i = 0; i <= SESSION_MAX_BUFFERS; i++) {
		kp = keys_generate();
		keys_public(kp, pub);
		session_send(A(s)->t, pub, mkpayload(s, (uint32_t)i, 20), s->now);
		keys_free(kp);
	}
	cr_assert_eq(st(A(s))->table_full, 1);
	cr_assert_eq(st(A(s))->inits_sent, SESSION_MAX_BUFFERS);
	/* Sessions: INITs from SESSION_MAX_SESSIONS + 1 distinct keys. */
	for (int i = 0; i <= SESSION_MAX_SESSIONS; i++) {
		struct box_init in = {.key_seq = 0, .seq = 5};
		struct pkt *p = pkt_alloc(s->pool);

		kp = keys_generate();
		keys_public(kp, pub);
		memset(in.current, 9, 32);
		memcpy(in.next, pub, 32);
		cr_assert(box_init_seal(kp, B(s)->pub, 1, &in, NULL, pkt_put(p, SESSION_INIT_LEN)));
		session_handle(B(s)->t, pub, p, s->now);
		keys_free(kp);
	}
	cr_assert_eq(nsessions(B(s)), SESSION_MAX_SESSIONS);
	cr_assert_eq(st(B(s))->table_full, 1);
	cr_assert_eq(st(B(s))->acks_sent, SESSION_MAX_SESSIONS);
	sim_free(s);
}

/*
 * Traffic that cannot be used (here: from a source without a session) is answered with an
 * INIT, but at most SESSION_RESYNC_BURST at once and SESSION_RESYNC_RATE per second after
 * that; the rest is counted, not answered.
 */
Test(session, inits_answering_junk_are_rate_limited)
{
	struct sim *s = sim_new();
	struct keypair *c = keys_generate();
	uint8_t pc[32], junk[60] = {0x03, 0x01, 0x01, 0x05};
	uint64_t sent;

	keys_public(c, pc);
	for (int i = 0; i < 1000; i++)
		session_handle(B(s)->t, pc, bytes_pkt(s, junk, sizeof(junk)), s->now);
	cr_assert_eq(st(B(s))->resync_inits, SESSION_RESYNC_BURST);
	cr_assert_eq(st(B(s))->resync_limited, 1000 - SESSION_RESYNC_BURST);
	cr_assert_eq(s->lost, SESSION_RESYNC_BURST, "INITs sent to C (not in the sim)");
	/* Half a second later: half a second's worth more. */
	s->now += 500;
	for (int i = 0; i < 100; i++)
		session_handle(B(s)->t, pc, bytes_pkt(s, junk, sizeof(junk)), s->now);
	sent = st(B(s))->resync_inits;
	cr_assert_eq(sent, SESSION_RESYNC_BURST + SESSION_RESYNC_RATE / 2);
	/* A long pause refills the bucket to the burst, no more. */
	s->now += 60000;
	for (int i = 0; i < 1000; i++)
		session_handle(B(s)->t, pc, bytes_pkt(s, junk, sizeof(junk)), s->now);
	cr_assert_eq(st(B(s))->resync_inits, sent + SESSION_RESYNC_BURST);
	cr_assert_eq(B(s)->ndeliv, 0);
	keys_free(c);
	sim_free(s);
}
