/*
 * table: the stateful NAT64's BIBs, sessions, outside ports and timers (see table.h).
 *
 * Owns: one array of BIB entries (all three protocols) and one array of sessions, each with a
 * free list, and three open addressing hash indexes of 32-bit indices into them: BIB by
 * (proto, X', x), BIB by (proto, T, t), session by (proto, T, t, Y, y). Entries link to each
 * other by index, not by pointer, so an array can be moved by realloc. Also a copy of the pool
 * addresses with a small hash set of them, and the timer wheel.
 *
 * Invariants:
 * - Every live BIB entry has at least one session (B 6): sessions are only freed by expiry,
 *   and the BIB entry goes with its last one. Its sessions form a doubly linked list (bnext,
 *   bprev), walked by address-dependent filtering (B 8).
 * - (proto, X', x) and (proto, T, t) are each bound at most once; T is stored as the index of
 *   the pool address. TCP and UDP may share a (T,t) (B 9): proto is part of every key.
 * - An index has twice as many slots as its array has entries (load <= 0.5), so a probe
 *   always ends at an empty slot. Deletion shifts the following cluster back (no tombstones).
 * - The hash keys are keyed (SipHash-2-4 with params.secret) so that a remote host cannot
 *   pick (Y, y) that collide in the session index.
 * - ICMP query sessions have no remote port: rport is stored and reported as 0, since the
 *   identifier on the IPv4 side is t itself (RFC 6146 §3.5.3).
 *
 * Memory: a BIB entry is 32 bytes plus 4 slots of 4 bytes in its two indexes (48 bytes); a
 * session is 40 bytes plus 2 slots (48 bytes). The arrays start at MIN_CAP entries and double
 * when full (only when full: freed entries are reused first), up to what the caps need; when
 * the live entries fall to a quarter of an array, tick compacts it and halves it (down to
 * MIN_CAP). A failed growth refuses the lookup (NAT64_T_BIB_FULL, NAT64_T_SESS_FULL), counted.
 * An empty table is about 10 KiB, the wheel's 8 KiB of it.
 *
 * Timers: one wheel of WHEEL slots of one second each, holding every session. A session sits
 * in the slot of the second its expiry rounds up to, and tick visits each second once, so a
 * session is freed (or probed) by the first tick at or after its expiry rounded up to a whole
 * second. A refresh that pushes the expiry later only writes the new time; when the wheel
 * reaches the old slot, the session is moved to the slot of its new time (lazy re-slotting).
 * A refresh that brings it earlier (ESTABLISHED -> TRANS) moves it at once. Expiries further
 * than one revolution ahead go round the wheel more than once, which costs one look per turn.
 *
 * Timeouts, as RFC 6146 §3.5 sets them: UDP udp_ms, refreshed by traffic both ways (RFC 4787
 * REQ-6 leaves inbound refresh to the NAT; we refresh on it in both filtering modes: a packet
 * that passed the filter belongs to a flow in use); ICMP icmp_ms, refreshed by the request out
 * and the reply in; TCP per §3.5.2.2 (tcp_step).
 */
#include "nat64/table.h"

#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"

enum {
	NONE = UINT32_MAX, /* no entry: empty index slot, end of a list */
	MIN_CAP = 16,	   /* entries: the arrays never shrink below this */
	MAX_CAP = 1u << 30,
	MAX_POOL = 1u << 24,
	WHEEL = 2048, /* one-second slots: 34 minutes a revolution */
	DEAD = 0xff,  /* bib.proto of a free BIB entry */
	KEY_MAX = 20,
};

/* The three hash indexes. */
enum { IX6, IX4, IXS, NIX };

/* Domain tags of the keyed hashes, so that no two uses share an input. */
enum { TAG_B6 = 1, TAG_B4, TAG_SESS, TAG_PORT, TAG_ADDR };

struct bib {
	uint8_t addr6[16]; /* X' */
	uint32_t pool;	   /* T, as an index into t->pool */
	uint32_t sess;	   /* the first session; the free list link while DEAD */
	uint16_t port6;	   /* x */
	uint16_t port4;	   /* t */
	uint8_t proto;	   /* enum nat64_proto, DEAD when free */
};

struct sess {
	uint64_t expires;      /* ms, same origin as now */
	uint32_t bib;	       /* its BIB entry; NONE when free */
	uint32_t bnext, bprev; /* the BIB entry's sessions; bnext links the free list */
	uint32_t wnext, wprev; /* the wheel slot's sessions */
	uint8_t raddr[4];      /* Y */
	uint16_t rport;	       /* y (0 for ICMP) */
	uint16_t slot;	       /* wheel slot it is in */
	uint8_t state;	       /* enum nat64_tcp_state; CLOSED for UDP and ICMP */
};

struct ix {
	uint32_t *slot; /* mask + 1 slots, NONE when empty */
	uint32_t mask;
};

struct nat64_table {
	struct nat64_table_params p; /* p.pool points to pool below */
	uint8_t (*pool)[4];
	uint32_t npool, prange; /* pool addresses, ports per address */
	uint32_t *pool_set;	/* pool address -> index, open addressing */
	uint32_t pool_mask;
	uint32_t *used;	 /* ports bound, per pool address and protocol: [pool * NPROTO + proto] */
	uint64_t k0, k1; /* the SipHash key (params.secret) */

	struct bib *bib;
	uint32_t bib_cap, bib_acap, bib_used, bib_free; /* logical, allocated, ever used, list */
	struct sess *sess;
	uint32_t sess_cap, sess_acap, sess_used, sess_free;
	struct ix ix[NIX];

	bool is_started; /* next is set: the first call with a now */
	uint64_t next;	 /* the first second the wheel has not visited */
	uint32_t wheel[WHEEL];

	uint32_t nbib[NAT64_NPROTO], nsess[NAT64_NPROTO], nall;
	size_t nstate[8];
	uint64_t refused[NAT64_T_NRESULTS];
	uint64_t bib_created, bib_expired, sessions_created, sessions_expired, probes;
};

static const char *const result_names[NAT64_T_NRESULTS] = {
    [NAT64_T_OK] = "ok",
    [NAT64_T_NO_PORT] = "no_port",
    [NAT64_T_BIB_FULL] = "bib_full",
    [NAT64_T_SESS_FULL] = "sess_full",
    [NAT64_T_NO_BIB] = "no_bib",
    [NAT64_T_FILTERED] = "filtered",
    [NAT64_T_NO_SESSION] = "no_session",
};

const char *nat64_table_result_name(int r)
{
	return r >= 0 && r < NAT64_T_NRESULTS ? result_names[r] : "unknown";
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of a short message. */
static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t le64(const uint8_t *p, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len)
{
	uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
			 k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w = le64(m + i, 8);

		v[3] ^= w;
		sipround(v);
		sipround(v);
		v[0] ^= w;
	}
	uint64_t b = ((uint64_t)len << 56) | le64(m + i, len - i);

	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint32_t hash(const struct nat64_table *t, const uint8_t *k, size_t len)
{
	uint64_t h = siphash(t->k0, t->k1, k, len);

	return (uint32_t)(h ^ (h >> 32));
}

/* The hash keys, packed the same way for a lookup and for an entry being re-indexed. */
static uint32_t hash_b6(const struct nat64_table *t, uint8_t proto, const uint8_t *a6, uint16_t p6)
{
	uint8_t k[KEY_MAX] = {TAG_B6, proto};

	memcpy(k + 2, a6, 16);
	wire_set_be16(k + 18, p6);
	return hash(t, k, 20);
}

static uint32_t hash_b4(const struct nat64_table *t, uint8_t proto, uint32_t pool, uint16_t p4)
{
	uint8_t k[KEY_MAX] = {TAG_B4, proto};

	wire_set_be32(k + 2, pool);
	wire_set_be16(k + 6, p4);
	return hash(t, k, 8);
}

static uint32_t hash_sess(const struct nat64_table *t, const struct bib *b, const uint8_t *y,
			  uint16_t yp)
{
	uint8_t k[KEY_MAX] = {TAG_SESS, b->proto};

	wire_set_be32(k + 2, b->pool);
	wire_set_be16(k + 6, b->port4);
	memcpy(k + 8, y, 4);
	wire_set_be16(k + 12, yp);
	return hash(t, k, 14);
}

static uint32_t hash_of(const struct nat64_table *t, int kind, uint32_t i)
{
	const struct bib *b;

	switch (kind) {
	case IX6:
		b = &t->bib[i];
		return hash_b6(t, b->proto, b->addr6, b->port6);
	case IX4:
		b = &t->bib[i];
		return hash_b4(t, b->proto, b->pool, b->port4);
	default:
		return hash_sess(t, &t->bib[t->sess[i].bib], t->sess[i].raddr, t->sess[i].rport);
	}
}

static void ix_insert(struct nat64_table *t, int kind, uint32_t i)
{
	struct ix *x = &t->ix[kind];
	uint32_t j = hash_of(t, kind, i) & x->mask;

	while (x->slot[j] != NONE)
		j = (j + 1) & x->mask;
	x->slot[j] = i;
}

/*
 * Removes i (which is indexed), then moves back each following entry of the cluster whose
 * probe path from its home slot passes the hole, so that every entry stays reachable.
 */
static void ix_remove(struct nat64_table *t, int kind, uint32_t i)
{
	struct ix *x = &t->ix[kind];
	uint32_t hole = hash_of(t, kind, i) & x->mask;

	while (x->slot[hole] != i)
		hole = (hole + 1) & x->mask;
	for (uint32_t j = hole;;) {
		j = (j + 1) & x->mask;
		if (x->slot[j] == NONE)
			break;
		uint32_t home = hash_of(t, kind, x->slot[j]) & x->mask;

		if (((j - home) & x->mask) >= ((j - hole) & x->mask)) {
			x->slot[hole] = x->slot[j];
			hole = j;
		}
	}
	x->slot[hole] = NONE;
}

/* Fills a fresh index for the live entries of its array; false when out of memory. */
static bool ix_build(struct nat64_table *t, int kind, uint32_t cap)
{
	uint32_t *slot = malloc((size_t)cap * 2 * sizeof(*slot));

	if (!slot)
		return false;
	memset(slot, 0xff, (size_t)cap * 2 * sizeof(*slot));
	free(t->ix[kind].slot);
	t->ix[kind].slot = slot;
	t->ix[kind].mask = cap * 2 - 1;
	if (kind == IXS) {
		for (uint32_t i = 0; i < t->sess_used; i++)
			if (t->sess[i].bib != NONE)
				ix_insert(t, kind, i);
	} else {
		for (uint32_t i = 0; i < t->bib_used; i++)
			if (t->bib[i].proto != DEAD)
				ix_insert(t, kind, i);
	}
	return true;
}

static uint32_t find_b6(const struct nat64_table *t, uint8_t proto, const uint8_t *a6, uint16_t p6)
{
	const struct ix *x = &t->ix[IX6];

	for (uint32_t j = hash_b6(t, proto, a6, p6) & x->mask;; j = (j + 1) & x->mask) {
		uint32_t i = x->slot[j];

		if (i == NONE)
			return NONE;
		const struct bib *b = &t->bib[i];

		if (b->proto == proto && b->port6 == p6 && !memcmp(b->addr6, a6, 16))
			return i;
	}
}

static uint32_t find_b4(const struct nat64_table *t, uint8_t proto, uint32_t pool, uint16_t p4)
{
	const struct ix *x = &t->ix[IX4];

	for (uint32_t j = hash_b4(t, proto, pool, p4) & x->mask;; j = (j + 1) & x->mask) {
		uint32_t i = x->slot[j];

		if (i == NONE)
			return NONE;
		const struct bib *b = &t->bib[i];

		if (b->proto == proto && b->port4 == p4 && b->pool == pool)
			return i;
	}
}

static uint32_t find_sess(const struct nat64_table *t, uint32_t bi, const uint8_t *y, uint16_t yp)
{
	const struct ix *x = &t->ix[IXS];

	for (uint32_t j = hash_sess(t, &t->bib[bi], y, yp) & x->mask;; j = (j + 1) & x->mask) {
		uint32_t i = x->slot[j];

		if (i == NONE)
			return NONE;
		const struct sess *s = &t->sess[i];

		if (s->bib == bi && s->rport == yp && !memcmp(s->raddr, y, 4))
			return i;
	}
}

/* Pool addresses: fixed at creation, so a plain multiplicative hash will do. */
static uint32_t pool_hash(const uint8_t *a)
{
	uint32_t v = ((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]);

	v *= 0x9e3779b1u;
	return v ^ (v >> 16);
}

static uint32_t pool_find(const struct nat64_table *t, const uint8_t *a)
{
	for (uint32_t j = pool_hash(a) & t->pool_mask;; j = (j + 1) & t->pool_mask) {
		uint32_t i = t->pool_set[j];

		if (i == NONE || !memcmp(t->pool[i], a, 4))
			return i;
	}
}

/* The timer wheel. */

static uint64_t ceil_sec(uint64_t ms)
{
	return ms / 1000 + (ms % 1000 != 0);
}

/* The second at which the wheel next visits slot k. */
static uint64_t slot_visit(const struct nat64_table *t, uint32_t k)
{
	return t->next + (k + WHEEL - t->next % WHEEL) % WHEEL;
}

/* The second whose slot a session expiring at ms goes in: never one already visited. */
static uint64_t due_sec(const struct nat64_table *t, uint64_t ms)
{
	uint64_t s = ceil_sec(ms);

	return t->is_started && s < t->next ? t->next : s;
}

static void wheel_link(struct nat64_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	uint32_t k = (uint32_t)(due_sec(t, s->expires) % WHEEL);

	s->slot = (uint16_t)k;
	s->wprev = NONE;
	s->wnext = t->wheel[k];
	if (s->wnext != NONE)
		t->sess[s->wnext].wprev = i;
	t->wheel[k] = i;
}

static void wheel_unlink(struct nat64_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];

	if (s->wprev != NONE)
		t->sess[s->wprev].wnext = s->wnext;
	else
		t->wheel[s->slot] = s->wnext;
	if (s->wnext != NONE)
		t->sess[s->wnext].wprev = s->wprev;
}

/* Sets a session's expiry; it moves in the wheel only when the new time is before its slot. */
static void set_expiry(struct nat64_table *t, uint32_t i, uint64_t ms)
{
	struct sess *s = &t->sess[i];

	s->expires = ms;
	if (due_sec(t, ms) < slot_visit(t, s->slot)) {
		wheel_unlink(t, i);
		wheel_link(t, i);
	}
}

/*
 * The first call with a time fixes the wheel's origin. Sessions restored before it were
 * slotted without one: they are slotted again, so that none waits for a later revolution.
 */
static void clock_start(struct nat64_table *t, uint64_t now)
{
	if (t->is_started)
		return;
	t->is_started = true;
	t->next = now / 1000;
	memset(t->wheel, 0xff, sizeof(t->wheel));
	for (uint32_t i = 0; i < t->sess_used; i++)
		if (t->sess[i].bib != NONE)
			wheel_link(t, i);
}

/* Entry arrays. */

static size_t bib_bytes(uint32_t n)
{
	return (size_t)n * sizeof(struct bib);
}

static size_t sess_bytes(uint32_t n)
{
	return (size_t)n * sizeof(struct sess);
}

/*
 * Makes room for one more BIB entry: a free one, an unused one, or a doubled array with its
 * indexes rebuilt. False when memory is short; the table is then unchanged (an array grown
 * before an index failed is kept, and used by the next try).
 */
static bool bib_reserve(struct nat64_table *t)
{
	if (t->bib_free != NONE || t->bib_used < t->bib_cap)
		return true;
	if (t->bib_cap >= MAX_CAP)
		return false;
	uint32_t cap = t->bib_cap * 2;

	if (t->bib_acap < cap) {
		struct bib *a = realloc(t->bib, bib_bytes(cap));

		if (!a)
			return false;
		t->bib = a;
		t->bib_acap = cap;
	}
	struct ix old6 = t->ix[IX6];

	t->ix[IX6].slot = NULL;
	if (!ix_build(t, IX6, cap)) {
		t->ix[IX6] = old6;
		return false;
	}
	if (!ix_build(t, IX4, cap)) {
		free(t->ix[IX6].slot);
		t->ix[IX6] = old6;
		return false;
	}
	free(old6.slot);
	t->bib_cap = cap;
	return true;
}

static bool sess_reserve(struct nat64_table *t)
{
	if (t->sess_free != NONE || t->sess_used < t->sess_cap)
		return true;
	if (t->sess_cap >= MAX_CAP)
		return false;
	uint32_t cap = t->sess_cap * 2;

	if (t->sess_acap < cap) {
		struct sess *a = realloc(t->sess, sess_bytes(cap));

		if (!a)
			return false;
		t->sess = a;
		t->sess_acap = cap;
	}
	if (!ix_build(t, IXS, cap))
		return false;
	t->sess_cap = cap;
	return true;
}

/* After bib_reserve: a new BIB entry, indexed, without sessions yet. */
static uint32_t bib_new(struct nat64_table *t, uint8_t proto, const uint8_t *a6, uint16_t p6,
			uint32_t pool, uint16_t p4)
{
	uint32_t i = t->bib_free;

	if (i != NONE)
		t->bib_free = t->bib[i].sess;
	else
		i = t->bib_used++;
	struct bib *b = &t->bib[i];

	memcpy(b->addr6, a6, 16);
	b->pool = pool;
	b->sess = NONE;
	b->port6 = p6;
	b->port4 = p4;
	b->proto = proto;
	ix_insert(t, IX6, i);
	ix_insert(t, IX4, i);
	t->used[pool * NAT64_NPROTO + proto]++;
	t->nbib[proto]++;
	t->bib_created++;
	return i;
}

static void bib_release(struct nat64_table *t, uint32_t i)
{
	struct bib *b = &t->bib[i];

	ix_remove(t, IX6, i);
	ix_remove(t, IX4, i);
	t->used[b->pool * NAT64_NPROTO + b->proto]--;
	t->nbib[b->proto]--;
	t->bib_expired++;
	b->proto = DEAD;
	b->sess = t->bib_free;
	t->bib_free = i;
}

/* After sess_reserve: a new session under BIB entry bi, indexed and on the wheel. */
static uint32_t sess_new(struct nat64_table *t, uint32_t bi, const uint8_t *y, uint16_t yp,
			 uint8_t state, uint64_t expires)
{
	uint32_t i = t->sess_free;

	if (i != NONE)
		t->sess_free = t->sess[i].bnext;
	else
		i = t->sess_used++;
	struct sess *s = &t->sess[i];
	struct bib *b = &t->bib[bi];

	s->expires = expires;
	s->bib = bi;
	memcpy(s->raddr, y, 4);
	s->rport = yp;
	s->state = state;
	s->bprev = NONE;
	s->bnext = b->sess;
	if (b->sess != NONE)
		t->sess[b->sess].bprev = i;
	b->sess = i;
	ix_insert(t, IXS, i);
	wheel_link(t, i);
	t->nsess[b->proto]++;
	t->nall++;
	t->nstate[state]++;
	t->sessions_created++;
	return i;
}

/* Frees a session that is on no wheel list (tick took it off), and its BIB entry if last. */
static void sess_release(struct nat64_table *t, uint32_t i)
{
	struct sess *s = &t->sess[i];
	uint32_t bi = s->bib;
	struct bib *b = &t->bib[bi];

	ix_remove(t, IXS, i);
	if (s->bprev != NONE)
		t->sess[s->bprev].bnext = s->bnext;
	else
		b->sess = s->bnext;
	if (s->bnext != NONE)
		t->sess[s->bnext].bprev = s->bprev;
	t->nsess[b->proto]--;
	t->nall--;
	t->nstate[s->state]--;
	t->sessions_expired++;
	s->bib = NONE;
	s->bnext = t->sess_free;
	t->sess_free = i;
	if (b->sess == NONE)
		bib_release(t, bi);
}

static void set_state(struct nat64_table *t, uint32_t i, uint8_t state)
{
	t->nstate[t->sess[i].state]--;
	t->nstate[state]++;
	t->sess[i].state = state;
}

/*
 * Compaction, when tick finds an array at most a quarter full: the live entries move to the
 * front in order, every link is renumbered through map, the array and its indexes are halved
 * (or more). Any allocation failing leaves the table as it was, only larger than it needs.
 */
static uint32_t remap(const uint32_t *map, uint32_t i)
{
	return i == NONE ? NONE : map[i];
}

static uint32_t shrunk_cap(uint32_t cap, uint32_t live)
{
	while (cap > MIN_CAP && live <= cap / 4)
		cap /= 2;
	return cap;
}

/* Empties an index and gives it cap * 2 slots (a new array, or the old larger one). */
static void ix_reset(struct ix *x, uint32_t *slot, uint32_t cap)
{
	free(x->slot);
	x->slot = slot;
	x->mask = cap * 2 - 1;
	memset(slot, 0xff, (size_t)cap * 2 * sizeof(*slot));
}

static void bib_compact(struct nat64_table *t)
{
	uint32_t cap = shrunk_cap(t->bib_cap, t->nbib[0] + t->nbib[1] + t->nbib[2]);

	if (cap == t->bib_cap)
		return;
	uint32_t *map = malloc((size_t)t->bib_used * sizeof(*map));
	uint32_t *s6 = malloc((size_t)cap * 2 * sizeof(*s6));
	uint32_t *s4 = malloc((size_t)cap * 2 * sizeof(*s4));

	if (!map || !s6 || !s4) {
		free(map);
		free(s6);
		free(s4);
		return;
	}
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->bib_used; i++)
		if (t->bib[i].proto != DEAD) {
			map[i] = n;
			t->bib[n++] = t->bib[i];
		}
	for (uint32_t i = 0; i < t->sess_used; i++)
		if (t->sess[i].bib != NONE)
			t->sess[i].bib = map[t->sess[i].bib];
	free(map);
	t->bib_used = n;
	t->bib_free = NONE;
	t->bib_cap = cap;
	struct bib *a = realloc(t->bib, bib_bytes(cap));

	if (a) {
		t->bib = a;
		t->bib_acap = cap;
	}
	ix_reset(&t->ix[IX6], s6, cap);
	ix_reset(&t->ix[IX4], s4, cap);
	for (uint32_t i = 0; i < n; i++) {
		ix_insert(t, IX6, i);
		ix_insert(t, IX4, i);
	}
}

static void sess_compact(struct nat64_table *t)
{
	uint32_t cap = shrunk_cap(t->sess_cap, t->nall);

	if (cap == t->sess_cap)
		return;
	uint32_t *map = malloc((size_t)t->sess_used * sizeof(*map));
	uint32_t *slot = malloc((size_t)cap * 2 * sizeof(*slot));

	if (!map || !slot) {
		free(map);
		free(slot);
		return;
	}
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->sess_used; i++)
		map[i] = t->sess[i].bib != NONE ? n++ : NONE;
	for (uint32_t i = 0; i < t->sess_used; i++) {
		if (map[i] == NONE)
			continue;
		struct sess *s = &t->sess[map[i]];

		*s = t->sess[i];
		s->bnext = remap(map, s->bnext);
		s->bprev = remap(map, s->bprev);
		s->wnext = remap(map, s->wnext);
		s->wprev = remap(map, s->wprev);
	}
	for (uint32_t k = 0; k < WHEEL; k++)
		t->wheel[k] = remap(map, t->wheel[k]);
	for (uint32_t i = 0; i < t->bib_used; i++)
		if (t->bib[i].proto != DEAD)
			t->bib[i].sess = map[t->bib[i].sess];
	free(map);
	t->sess_used = n;
	t->sess_free = NONE;
	t->sess_cap = cap;
	struct sess *a = realloc(t->sess, sess_bytes(cap));

	if (a) {
		t->sess = a;
		t->sess_acap = cap;
	}
	ix_reset(&t->ix[IXS], slot, cap);
	for (uint32_t i = 0; i < n; i++)
		ix_insert(t, IXS, i);
}

/* Construction. */

struct nat64_table *nat64_table_new(const struct nat64_table_params *p)
{
	if (!p || !p->pool || p->npool < 1 || p->npool > MAX_POOL || p->port_min < 1 ||
	    p->port_min > p->port_max || p->max_bib < 1 || p->max_sessions < 1)
		return NULL;
	struct nat64_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->p = *p;
	t->npool = (uint32_t)p->npool;
	t->prange = (uint32_t)p->port_max - p->port_min + 1;
	t->pool_mask = 1;
	while (t->pool_mask + 1 < 2 * t->npool)
		t->pool_mask = t->pool_mask * 2 + 1;
	t->pool = malloc(t->npool * sizeof(*t->pool));
	t->pool_set = malloc(((size_t)t->pool_mask + 1) * sizeof(*t->pool_set));
	t->used = calloc((size_t)t->npool * NAT64_NPROTO, sizeof(*t->used));
	t->bib = malloc(bib_bytes(MIN_CAP));
	t->sess = malloc(sess_bytes(MIN_CAP));
	t->bib_cap = t->bib_acap = t->sess_cap = t->sess_acap = MIN_CAP;
	t->bib_free = t->sess_free = NONE;
	if (!t->pool || !t->pool_set || !t->used || !t->bib || !t->sess ||
	    !ix_build(t, IX6, MIN_CAP) || !ix_build(t, IX4, MIN_CAP) || !ix_build(t, IXS, MIN_CAP))
		goto fail;
	memcpy(t->pool, p->pool, t->npool * sizeof(*t->pool));
	t->p.pool = (const uint8_t(*)[4])t->pool;
	memset(t->pool_set, 0xff, ((size_t)t->pool_mask + 1) * sizeof(*t->pool_set));
	for (uint32_t i = 0; i < t->npool; i++) {
		uint32_t j = pool_hash(t->pool[i]) & t->pool_mask;

		for (; t->pool_set[j] != NONE; j = (j + 1) & t->pool_mask)
			if (!memcmp(t->pool[t->pool_set[j]], t->pool[i], 4))
				goto fail; /* an address twice */
		t->pool_set[j] = i;
	}
	t->k0 = le64(p->secret, 8);
	t->k1 = le64(p->secret + 8, 8);
	memset(t->wheel, 0xff, sizeof(t->wheel));
	return t;
fail:
	nat64_table_free(t);
	return NULL;
}

void nat64_table_free(struct nat64_table *t)
{
	if (!t)
		return;
	for (int k = 0; k < NIX; k++)
		free(t->ix[k].slot);
	free(t->sess);
	free(t->bib);
	free(t->used);
	free(t->pool_set);
	free(t->pool);
	free(t);
}

/* Outside ports (B 9, RFC 6056 §3.3.3). */

/*
 * The first free port of [lo, hi] for (proto, pool) going up (and round) from lo + h % n,
 * preferring the parity of x (RFC 4787 REQ-4): each port is looked at once.
 */
static bool scan(const struct nat64_table *t, uint8_t proto, uint32_t pool, uint32_t lo,
		 uint32_t hi, unsigned parity, uint32_t h, uint16_t *out)
{
	uint32_t n = hi - lo + 1, other = NONE;

	for (uint32_t j = 0, off = h % n; j < n; j++) {
		uint32_t port = lo + (off + j) % n;

		if (find_b4(t, proto, pool, (uint16_t)port) != NONE)
			continue;
		if ((port & 1) == parity) {
			*out = (uint16_t)port;
			return true;
		}
		if (other == NONE)
			other = port;
	}
	if (other == NONE)
		return false;
	*out = (uint16_t)other;
	return true;
}

/*
 * (T, t) for a new binding of (X', x). T: the pool address a keyed hash of X' picks (paired
 * pooling, RFC 4787 REQ-2), then the next ones. t: from x's range class first (0-1023 or
 * 1024-65535, RFC 4787 REQ-3) when the range has ports of it, then the rest of the range,
 * starting at a keyed hash of (X', x), like RFC 6056 algorithm 3's offset. A full address is
 * skipped without a probe, so exhaustion costs one look per pool address; near it, a scan
 * costs at most the range per address.
 */
static bool port_pick(const struct nat64_table *t, uint8_t proto, const uint8_t *a6, uint16_t x,
		      uint32_t *pool, uint16_t *port)
{
	uint32_t lo = t->p.port_min, hi = t->p.port_max, clo = lo, chi = hi;
	uint8_t k[KEY_MAX] = {TAG_PORT};

	if (x < 1024 && lo < 1024)
		chi = hi < 1023 ? hi : 1023;
	else if (x >= 1024 && hi >= 1024)
		clo = lo > 1024 ? lo : 1024;
	memcpy(k + 1, a6, 16);
	wire_set_be16(k + 17, x);
	uint32_t h = hash(t, k, 19);

	k[0] = TAG_ADDR;
	uint32_t a0 = hash(t, k, 17) % t->npool;

	for (uint32_t j = 0; j < t->npool; j++) {
		uint32_t a = (a0 + j) % t->npool;

		if (t->used[a * NAT64_NPROTO + proto] >= t->prange)
			continue;
		*pool = a;
		if (scan(t, proto, a, clo, chi, x & 1, h, port))
			return true;
		if (clo > lo && scan(t, proto, a, lo, clo - 1, x & 1, h, port))
			return true;
		if (chi < hi && scan(t, proto, a, chi + 1, hi, x & 1, h, port))
			return true;
	}
	return false;
}

/* The state machine and the refresh of each packet. */

/*
 * RFC 6146 §3.5.2.2, for a packet of a TCP session (from6: from X'). The CLOSED transitions
 * (V6 SYN -> V6_INIT, V4 SYN -> V4_INIT) are the session's creation. Expiry is tick's.
 */
static void tcp_step(struct nat64_table *t, uint32_t i, bool from6, uint8_t fl, uint64_t now)
{
	uint64_t est = now + t->p.tcp_est_ms, trans = now + t->p.tcp_trans_ms;
	bool syn = fl & NAT64_SYN, fin = fl & NAT64_FIN, rst = fl & NAT64_RST;
	uint8_t st = t->sess[i].state;

	switch (st) {
	case NAT64_TCP_V6_INIT:
		if (syn && !from6) {
			set_state(t, i, NAT64_TCP_ESTABLISHED);
			set_expiry(t, i, est);
		} else if (syn) {
			set_expiry(t, i, trans); /* the V6 SYN again */
		}
		break;
	case NAT64_TCP_V4_INIT:
		if (syn && from6) {
			set_state(t, i, NAT64_TCP_ESTABLISHED);
			set_expiry(t, i, est);
		}
		break;
	case NAT64_TCP_ESTABLISHED:
		/* A FIN only changes the state: the RFC refreshes on "any other packet". */
		if (rst) {
			set_state(t, i, NAT64_TCP_TRANS);
			set_expiry(t, i, trans);
		} else if (fin) {
			set_state(t, i, from6 ? NAT64_TCP_V6_FIN_RCV : NAT64_TCP_V4_FIN_RCV);
		} else {
			set_expiry(t, i, est);
		}
		break;
	case NAT64_TCP_V4_FIN_RCV:
	case NAT64_TCP_V6_FIN_RCV:
		/* A RST here goes to TRANS as Jool's handle-rst-during-fin-rcv does (§1.2). */
		if (rst) {
			set_state(t, i, NAT64_TCP_TRANS);
			set_expiry(t, i, trans);
		} else if (fin && from6 == (st == NAT64_TCP_V4_FIN_RCV)) {
			set_state(t, i, NAT64_TCP_V6_FIN_V4_FIN);
			set_expiry(t, i, trans);
		} else {
			set_expiry(t, i, est);
		}
		break;
	case NAT64_TCP_TRANS:
		if (!rst) {
			set_state(t, i, NAT64_TCP_ESTABLISHED);
			set_expiry(t, i, est);
		}
		break;
	default: /* V6_FIN_V4_FIN: translated, never refreshed */
		break;
	}
}

static uint64_t lifetime(const struct nat64_table *t, uint8_t proto)
{
	return proto == NAT64_UDP ? t->p.udp_ms : t->p.icmp_ms;
}

static void step(struct nat64_table *t, uint32_t i, bool from6, uint8_t fl, uint64_t now)
{
	uint8_t proto = t->bib[t->sess[i].bib].proto;

	if (proto == NAT64_TCP)
		tcp_step(t, i, from6, fl, now);
	else
		set_expiry(t, i, now + lifetime(t, proto));
}

static int refuse(struct nat64_table *t, int r)
{
	t->refused[r]++;
	return r;
}

static void fill(const struct nat64_table *t, struct nat64_tuple *tu, uint32_t bi)
{
	const struct bib *b = &t->bib[bi];

	memcpy(tu->addr6, b->addr6, 16);
	tu->port6 = b->port6;
	memcpy(tu->addr4, t->pool[b->pool], 4);
	tu->port4 = b->port4;
}

int nat64_table_out(struct nat64_table *t, struct nat64_tuple *tu, uint8_t tcp_flags,
		    bool may_create, uint64_t now)
{
	uint8_t proto = tu->proto;

	if (proto >= NAT64_NPROTO)
		return refuse(t, NAT64_T_NO_BIB);
	clock_start(t, now);
	uint16_t yp = proto == NAT64_ICMP ? 0 : tu->rport;
	bool is_new = proto == NAT64_TCP ? (tcp_flags & NAT64_SYN) != 0 : may_create;
	uint64_t life = proto == NAT64_TCP ? now + t->p.tcp_trans_ms : now + lifetime(t, proto);
	uint8_t state = proto == NAT64_TCP ? NAT64_TCP_V6_INIT : NAT64_TCP_CLOSED;
	uint32_t bi = find_b6(t, proto, tu->addr6, tu->port6);

	if (bi != NONE) {
		uint32_t si = find_sess(t, bi, tu->raddr, yp);

		if (si != NONE) {
			step(t, si, true, tcp_flags, now);
		} else if (is_new) {
			if (t->nall >= t->p.max_sessions || !sess_reserve(t))
				return refuse(t, NAT64_T_SESS_FULL);
			sess_new(t, bi, tu->raddr, yp, state, life);
		}
		/* else: a TCP non-SYN passes on the BIB entry alone, without a session (B 17) */
		fill(t, tu, bi);
		return NAT64_T_OK;
	}
	if (!is_new)
		return refuse(t, NAT64_T_NO_BIB);
	if (t->nbib[proto] >= t->p.max_bib)
		return refuse(t, NAT64_T_BIB_FULL);
	if (t->nall >= t->p.max_sessions)
		return refuse(t, NAT64_T_SESS_FULL);
	uint32_t pool;
	uint16_t port;

	if (!port_pick(t, proto, tu->addr6, tu->port6, &pool, &port))
		return refuse(t, NAT64_T_NO_PORT);
	if (!bib_reserve(t))
		return refuse(t, NAT64_T_BIB_FULL);
	if (!sess_reserve(t))
		return refuse(t, NAT64_T_SESS_FULL);
	bi = bib_new(t, proto, tu->addr6, tu->port6, pool, port);
	sess_new(t, bi, tu->raddr, yp, state, life);
	fill(t, tu, bi);
	return NAT64_T_OK;
}

/*
 * Address-dependent filtering (B 8): has (X', x) a session with Y, on any port? A walk of the
 * entry's sessions, done only for an inbound packet that has no session of its own.
 */
static bool has_session_to(const struct nat64_table *t, uint32_t bi, const uint8_t *y)
{
	for (uint32_t i = t->bib[bi].sess; i != NONE; i = t->sess[i].bnext)
		if (!memcmp(t->sess[i].raddr, y, 4))
			return true;
	return false;
}

static uint32_t find_in(const struct nat64_table *t, uint8_t proto, const uint8_t *a4, uint16_t p4)
{
	if (proto >= NAT64_NPROTO)
		return NONE;
	uint32_t pool = pool_find(t, a4);

	return pool == NONE ? NONE : find_b4(t, proto, pool, p4);
}

int nat64_table_in(struct nat64_table *t, struct nat64_tuple *tu, uint8_t tcp_flags, uint64_t now)
{
	uint8_t proto = tu->proto;
	uint32_t bi = find_in(t, proto, tu->addr4, tu->port4);

	if (bi == NONE)
		return refuse(t, NAT64_T_NO_BIB);
	clock_start(t, now);
	uint16_t yp = proto == NAT64_ICMP ? 0 : tu->rport;
	uint32_t si = find_sess(t, bi, tu->raddr, yp);

	if (si != NONE) {
		step(t, si, false, tcp_flags, now);
		fill(t, tu, bi);
		return NAT64_T_OK;
	}
	if (proto == NAT64_TCP && !(tcp_flags & NAT64_SYN))
		return refuse(t, NAT64_T_NO_SESSION);
	if (t->p.is_adf && !has_session_to(t, bi, tu->raddr))
		return refuse(t, NAT64_T_FILTERED);
	if (t->nall >= t->p.max_sessions || !sess_reserve(t))
		return refuse(t, NAT64_T_SESS_FULL);
	if (proto == NAT64_TCP)
		sess_new(t, bi, tu->raddr, yp, NAT64_TCP_V4_INIT, now + t->p.tcp_incoming_syn_ms);
	else
		sess_new(t, bi, tu->raddr, yp, NAT64_TCP_CLOSED, now + lifetime(t, proto));
	fill(t, tu, bi);
	return NAT64_T_OK;
}

int nat64_table_find_out(const struct nat64_table *t, struct nat64_tuple *tu)
{
	uint32_t bi = tu->proto < NAT64_NPROTO ? find_b6(t, tu->proto, tu->addr6, tu->port6) : NONE;

	if (bi == NONE)
		return NAT64_T_NO_BIB;
	fill(t, tu, bi);
	return NAT64_T_OK;
}

int nat64_table_find_in(const struct nat64_table *t, struct nat64_tuple *tu)
{
	uint32_t bi = find_in(t, tu->proto, tu->addr4, tu->port4);

	if (bi == NONE)
		return NAT64_T_NO_BIB;
	fill(t, tu, bi);
	return NAT64_T_OK;
}

bool nat64_table_is_pool(const struct nat64_table *t, const uint8_t addr4[4])
{
	return pool_find(t, addr4) != NONE;
}

bool nat64_table_owns(const struct nat64_table *t, const uint8_t addr4[4], uint16_t port4)
{
	return port4 >= t->p.port_min && port4 <= t->p.port_max && nat64_table_is_pool(t, addr4);
}

/* Expiry. */

static void tuple_of(const struct nat64_table *t, uint32_t i, struct nat64_tuple *tu)
{
	const struct sess *s = &t->sess[i];

	memset(tu, 0, sizeof(*tu));
	tu->proto = t->bib[s->bib].proto;
	fill(t, tu, s->bib);
	memcpy(tu->raddr, s->raddr, 4);
	tu->rport = s->rport;
}

/*
 * Visits one slot: its list is taken whole, then each session is freed, probed (ESTABLISHED
 * TCP, B 15) or, when a refresh moved its expiry past now, put in the slot of its new time
 * (which is never this one again before the next revolution: see due_sec).
 */
static void visit(struct nat64_table *t, uint32_t k, uint64_t now, nat64_probe_cb *probe, void *ctx)
{
	uint32_t i = t->wheel[k];

	t->wheel[k] = NONE;
	while (i != NONE) {
		struct sess *s = &t->sess[i];
		uint32_t next = s->wnext;

		if (s->expires > now) {
			wheel_link(t, i);
		} else if (t->bib[s->bib].proto == NAT64_TCP && s->state == NAT64_TCP_ESTABLISHED) {
			struct nat64_tuple tu;

			tuple_of(t, i, &tu);
			if (probe)
				probe(ctx, &tu);
			t->probes++;
			set_state(t, i, NAT64_TCP_TRANS);
			s->expires = now + t->p.tcp_trans_ms;
			wheel_link(t, i);
		} else {
			sess_release(t, i);
		}
		i = next;
	}
}

void nat64_table_tick(struct nat64_table *t, uint64_t now, nat64_probe_cb *probe, void *ctx)
{
	clock_start(t, now);
	uint64_t last = now / 1000;

	if (last < t->next)
		return;
	/* After a long jump each slot is visited once, its sessions all compared with now. */
	uint64_t first = last - t->next >= WHEEL ? last - WHEEL + 1 : t->next;

	for (uint64_t sec = first; sec <= last; sec++) {
		/* next moves first: a session re-slotted by visit never lands in a passed second */
		t->next = sec + 1;
		visit(t, (uint32_t)(sec % WHEEL), now, probe, ctx);
	}
	bib_compact(t);
	sess_compact(t);
}

/* Reports. */

void nat64_table_info(const struct nat64_table *t, struct nat64_table_info *out)
{
	memset(out, 0, sizeof(*out));
	for (int p = 0; p < NAT64_NPROTO; p++) {
		out->bib[p] = t->nbib[p];
		out->sessions[p] = t->nsess[p];
	}
	out->max_bib = t->p.max_bib;
	out->max_sessions = t->p.max_sessions;
	out->ports_total = (size_t)t->prange * t->npool;
	memcpy(out->tcp_states, t->nstate, sizeof(out->tcp_states));
	memcpy(out->refused, t->refused, sizeof(out->refused));
	out->bib_created = t->bib_created;
	out->bib_expired = t->bib_expired;
	out->sessions_created = t->sessions_created;
	out->sessions_expired = t->sessions_expired;
	out->probes = t->probes;
	/* An entry and its slots in the indexes at the highest load (two per entry and index). */
	out->bytes_per_bib = sizeof(struct bib) + 2 * 2 * sizeof(uint32_t);
	out->bytes_per_session = sizeof(struct sess) + 2 * sizeof(uint32_t);
	out->memory = sizeof(*t) + t->npool * sizeof(*t->pool) +
		      ((size_t)t->pool_mask + 1) * sizeof(*t->pool_set) +
		      (size_t)t->npool * NAT64_NPROTO * sizeof(*t->used) + bib_bytes(t->bib_acap) +
		      sess_bytes(t->sess_acap);
	for (int k = 0; k < NIX; k++)
		out->memory += ((size_t)t->ix[k].mask + 1) * sizeof(uint32_t);
}

void nat64_table_foreach(const struct nat64_table *t, int proto, nat64_session_cb *cb, void *ctx)
{
	for (uint32_t i = 0; i < t->sess_used; i++) {
		const struct sess *s = &t->sess[i];

		if (s->bib == NONE || (proto != NAT64_NPROTO && t->bib[s->bib].proto != proto))
			continue;
		struct nat64_session_info si;

		tuple_of(t, i, &si.tu);
		si.tcp_state = s->state;
		si.expires = s->expires;
		if (!cb(ctx, &si))
			return;
	}
}

int nat64_table_restore(struct nat64_table *t, const struct nat64_session_info *s)
{
	const struct nat64_tuple *tu = &s->tu;
	uint8_t proto = tu->proto;

	if (proto >= NAT64_NPROTO || !nat64_table_owns(t, tu->addr4, tu->port4))
		return refuse(t, NAT64_T_NO_PORT);
	uint8_t state = proto == NAT64_TCP ? s->tcp_state : NAT64_TCP_CLOSED;

	if (proto == NAT64_TCP && (state == NAT64_TCP_CLOSED || state > NAT64_TCP_TRANS))
		return refuse(t, NAT64_T_NO_SESSION);
	uint32_t pool = pool_find(t, tu->addr4);
	uint32_t bi = find_b6(t, proto, tu->addr6, tu->port6);
	uint16_t yp = proto == NAT64_ICMP ? 0 : tu->rport;

	if (bi != NONE && (t->bib[bi].pool != pool || t->bib[bi].port4 != tu->port4))
		return refuse(t, NAT64_T_NO_PORT);
	if (bi == NONE && find_b4(t, proto, pool, tu->port4) != NONE)
		return refuse(t, NAT64_T_NO_PORT);
	uint32_t si = bi == NONE ? NONE : find_sess(t, bi, tu->raddr, yp);

	if (si != NONE) {
		/* Restored twice: the later copy wins. */
		set_state(t, si, state);
		t->sess[si].expires = s->expires;
		wheel_unlink(t, si);
		wheel_link(t, si);
		return NAT64_T_OK;
	}
	if (bi == NONE && t->nbib[proto] >= t->p.max_bib)
		return refuse(t, NAT64_T_BIB_FULL);
	if (t->nall >= t->p.max_sessions)
		return refuse(t, NAT64_T_SESS_FULL);
	if (bi == NONE && !bib_reserve(t))
		return refuse(t, NAT64_T_BIB_FULL);
	if (!sess_reserve(t))
		return refuse(t, NAT64_T_SESS_FULL);
	if (bi == NONE)
		bi = bib_new(t, proto, tu->addr6, tu->port6, pool, tu->port4);
	sess_new(t, bi, tu->raddr, yp, state, s->expires);
	return NAT64_T_OK;
}
