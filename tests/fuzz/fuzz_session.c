/*
 * libFuzzer driver for core/session (spec yggdrasil-sessions-core-admin.md §2).
 *
 * Each input is used twice:
 * 1. As one encrypted-layer message from a fixed source key: to a table holding B's key (of the
 *    captured vectors) as if from A, and to a table holding A's key as if from B, so the real
 *    INIT/ACK/TRAFFIC of the seed corpus open and create sessions.
 * 2. As a script over two tables A and B wired back to back through a FIFO network with a fake
 *    clock: send, deliver, drop, corrupt, replay, reorder, inject raw bytes, advance the clock
 *    and tick, push the send nonce to the 2^64 wrap, restart B. Then the network is drained.
 *
 * Invariants, abort() on violation:
 * - every message a table emits is a 193-byte INIT/ACK or a TRAFFIC of at least 52 bytes;
 * - nothing is delivered from raw input (that would be a forgery), and in the script every
 *   delivered payload is intact, was sent by the other side, and is delivered at most once;
 * - draining the network terminates (no endless INIT/ACK storm);
 * - after freeing the tables every pkt is back in the pool (no leak, no double free: ASan).
 *
 * Build: -DYGG64_FUZZ=ON with clang (libFuzzer), or the replay main over
 * tests/fuzz/corpus/fuzz_session/ (ctest fuzz_session_replay).
 */
#include "core/session.h"
#include "crypto/keys.h"
#include "lib/pkt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	POOL_COUNT = 512,
	POOL_CAP = 4096,
	QMAX = 256,
	MAX_IDS = 4096,
	DRAIN_MAX = 20000,
	UNIX_BASE = 1795676043,
};

/* The throwaway test keys A and B of vectors-core/netns-out (tests/data/vectors/session/). */
static const char hex_a[] = "825890d2a87a7c8e593e0282aaba5a1fb583ed2b50c8f7775808cc99fd492e88"
			    "ea9b934036ab90d2f1d7d780782fd336302a8296c34f309735296056fece846d";
static const char hex_b[] = "1c536c0b62d83072c0aad7341588ccaf4ffc9005ed977c24a2afea2600695238"
			    "7e3e82978401b10bec857834006eabd880920796696410826218ade6a5db55f5";

struct fz;

struct fnode {
	struct fz *fz;
	int idx;
	struct session_table *t;
	uint8_t seen[MAX_IDS / 8]; /* ids delivered to this node */
};

struct qent {
	int to, from;
	struct pkt *p;
};

struct fz {
	struct pkt_pool *pool;
	struct keypair *kp[2];
	uint8_t pub[2][32];
	uint64_t now;
	bool raw_phase;
	struct fnode n[2];
	struct qent q[QMAX];
	size_t qh, qt;
	uint32_t next_id[2];
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void cb_send(void *ctx, const uint8_t dest[32], struct pkt *msg)
{
	struct fnode *n = ctx;
	struct fz *f = n->fz;
	int to = 1 - n->idx;

	check(msg->len > 0);
	if (msg->data[0] == 1 || msg->data[0] == 2)
		check(msg->len == SESSION_INIT_LEN);
	else
		check(msg->data[0] == 3 && msg->len >= 52);
	if (memcmp(dest, f->pub[to], 32) != 0 || f->raw_phase || f->qt - f->qh >= QMAX) {
		pkt_free(msg);
		return;
	}
	f->q[f->qt++ % QMAX] = (struct qent){.to = to, .from = n->idx, .p = msg};
}

/* Script payloads: 01 || BE16(id) || byte (id * 7 + i) for the rest. */
static void cb_deliver(void *ctx, const uint8_t source[32], struct pkt *p)
{
	struct fnode *n = ctx;
	struct fz *f = n->fz;
	unsigned id;

	check(!f->raw_phase);
	check(memcmp(source, f->pub[1 - n->idx], 32) == 0);
	check(p->len >= 3 && p->data[0] == 0x01);
	id = (unsigned)p->data[1] << 8 | p->data[2];
	check(id < f->next_id[1 - n->idx]);
	for (size_t i = 3; i < p->len; i++)
		check(p->data[i] == (uint8_t)(id * 7 + i));
	check(!(n->seen[id / 8] & (1u << id % 8)));
	n->seen[id / 8] |= (uint8_t)(1u << id % 8);
	pkt_free(p);
}

static uint64_t cb_unix(void *ctx)
{
	struct fnode *n = ctx;

	return UNIX_BASE + n->fz->now / 1000;
}

static void node_start(struct fz *f, int i)
{
	struct session_cbs cbs = {
	    .ctx = &f->n[i], .send = cb_send, .deliver = cb_deliver, .unix_time = cb_unix};

	f->n[i].fz = f;
	f->n[i].idx = i;
	f->n[i].t = session_table_new(f->kp[i], f->pool, &cbs);
	check(f->n[i].t != NULL);
}

static struct fz *fz_get(void)
{
	static struct fz *f;

	if (f)
		return f;
	check(keys_init() == 0);
	f = calloc(1, sizeof(*f));
	check(f != NULL);
	f->pool = pkt_pool_new(POOL_COUNT, POOL_CAP);
	f->kp[0] = keys_from_hex(hex_a, NULL);
	f->kp[1] = keys_from_hex(hex_b, NULL);
	check(f->pool && f->kp[0] && f->kp[1]);
	keys_public(f->kp[0], f->pub[0]);
	keys_public(f->kp[1], f->pub[1]);
	return f;
}

static struct pkt *bytes_pkt(struct fz *f, const uint8_t *b, size_t n)
{
	struct pkt *p = pkt_alloc(f->pool);

	if (!p)
		return NULL;
	if (n > POOL_CAP)
		n = POOL_CAP;
	memcpy(pkt_put(p, n), b, n);
	return p;
}

/* A script cursor: reads 0 past the end. */
struct cur {
	const uint8_t *p;
	size_t n, off;
};

static uint8_t next_byte(struct cur *c)
{
	return c->off < c->n ? c->p[c->off++] : 0;
}

static void script_send(struct fz *f, int from, size_t len)
{
	struct pkt *p;
	unsigned id = f->next_id[from];
	uint8_t *d;

	if (id >= MAX_IDS || !(p = pkt_alloc(f->pool)))
		return;
	f->next_id[from]++;
	d = pkt_put(p, len);
	check(d != NULL);
	d[0] = 0x01;
	d[1] = (uint8_t)(id >> 8);
	d[2] = (uint8_t)id;
	for (size_t i = 3; i < len; i++)
		d[i] = (uint8_t)(id * 7 + i);
	session_send(f->n[from].t, f->pub[1 - from], p, f->now);
}

static bool step(struct fz *f)
{
	struct qent e;

	if (f->qh == f->qt)
		return false;
	e = f->q[f->qh++ % QMAX];
	session_handle(f->n[e.to].t, f->pub[e.from], e.p, f->now);
	return true;
}

static void run_script(struct fz *f, const uint8_t *data, size_t size)
{
	struct cur c = {.p = data, .n = size};
	struct qent *e;

	while (c.off < c.n) {
		uint8_t op = next_byte(&c), arg = next_byte(&c);

		e = f->qh < f->qt ? &f->q[f->qh % QMAX] : NULL;
		switch (op % 12) {
		case 0: /* A -> B */
		case 1: /* B -> A */
			script_send(f, op % 2, 3 + (size_t)arg * 5);
			break;
		case 2:
		case 3:
			step(f);
			break;
		case 4: /* drop */
			if (e) {
				pkt_free(e->p);
				f->qh++;
			}
			break;
		case 5: /* corrupt a byte */
			if (e)
				e->p->data[arg % e->p->len] ^= (uint8_t)(1u << (op >> 5));
			break;
		case 6: /* replay */
			if (e && f->qt - f->qh < QMAX) {
				struct pkt *d = bytes_pkt(f, e->p->data, e->p->len);

				if (d)
					f->q[f->qt++ % QMAX] = (struct qent){e->to, e->from, d};
			}
			break;
		case 7: /* reorder the first two */
			if (f->qt - f->qh >= 2) {
				struct qent t = f->q[f->qh % QMAX];

				f->q[f->qh % QMAX] = f->q[(f->qh + 1) % QMAX];
				f->q[(f->qh + 1) % QMAX] = t;
			}
			break;
		case 8: /* time passes; sweeps */
			f->now += (uint64_t)arg * 500;
			session_tick(f->n[0].t, f->now);
			session_tick(f->n[1].t, f->now);
			break;
		case 9: { /* raw bytes from the script, as a message from the other side */
			size_t len = arg < c.n - c.off ? arg : c.n - c.off;
			struct pkt *p = bytes_pkt(f, c.p + c.off, len);
			int to = op >> 7;

			c.off += len;
			if (p)
				session_handle(f->n[to].t, f->pub[1 - to], p, f->now);
			break;
		}
		case 10: /* the 2^64 nonce wrap is near */
			session_test_set_send_nonce(f->n[op >> 7].t, f->pub[1 - (op >> 7)],
						    UINT64_MAX - arg % 4);
			break;
		case 11: /* B restarts */
			session_table_free(f->n[1].t);
			node_start(f, 1);
			break;
		}
	}
	for (int i = 0; step(f); i++)
		check(i < DRAIN_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = fz_get();
	struct pkt_pool_info pi;
	struct pkt *p;

	f->now = 1000000;
	f->qh = f->qt = 0;
	memset(f->next_id, 0, sizeof(f->next_id));
	for (int i = 0; i < 2; i++) {
		node_start(f, i);
		memset(f->n[i].seen, 0, sizeof(f->n[i].seen));
	}
	/* 1: the input as one message from the fixed peer key, to both tables. */
	f->raw_phase = true;
	for (int i = 0; i < 2; i++) {
		p = bytes_pkt(f, data, size);
		check(p != NULL);
		session_handle(f->n[i].t, f->pub[1 - i], p, f->now);
	}
	f->raw_phase = false;
	for (int i = 0; i < 2; i++) {
		session_table_free(f->n[i].t);
		node_start(f, i);
	}
	/* 2: the input as a script over both tables. */
	run_script(f, data, size);
	for (int i = 0; i < 2; i++)
		session_table_free(f->n[i].t);
	pkt_pool_info(f->pool, &pi);
	check(pi.in_use == 0);
	return 0;
}
