/*
 * lpm: a path-compressed binary (Patricia) trie of IPv4 or IPv6 prefixes (see lpm.h).
 *
 * Owns: one growable array of nodes (t->nodes, cap nodes of t->stride bytes). Nodes link to
 * each other by 32-bit index rather than by pointer, so growing the array with realloc leaves
 * no link dangling (and halves a link's size). Freed nodes are linked through child[0] on a free
 * list and reused; when the live nodes drop to a quarter of the array, it is rebuilt smaller (in
 * pre-order, which also puts a path's nodes close together).
 *
 * Invariants:
 * - Node 0 is the root, the /0 prefix: it is never freed and is nobody's child, so child
 *   index 0 (NONE) means "no child".
 * - A node's key has its bits at and past len zero. Each child's len is greater than its
 *   parent's, the two agree on the parent's len bits, and child[b] continues with bit b at
 *   position parent->len.
 * - Every node but the root holds a value or has two children. A branch node without a value
 *   and with fewer than two children is merged away on removal.
 * - With these invariants, the shape of the trie is a function of the set of stored
 *   prefixes alone: it never depends on the order of insertions and removals, and neither
 *   do lookups or the foreach order. Only the node indices (memory layout) may differ.
 *
 * Cost: along any path len grows strictly from 0 to at most width, so a lookup visits at most
 * width + 1 nodes (129 for IPv6) and compares each one's key only from its parent's len on.
 *
 * Memory: a node is 24 bytes for IPv4 and 40 for IPv6 (value, two child indices, len, key in
 * one stride). n prefixes need at most 2n nodes (each prefix, at most n - 1 branches, the root)
 * and the array grows by doubling, so a table holds at most about 4n nodes' worth of bytes.
 * Measured by test_lpm (memory_per_prefix), 10000 prefixes at uniform random addresses with
 * lengths uniform in 8..32 resp. 32..128: 1.64 resp. 2.00 nodes per prefix (39 resp. 80 bytes
 * of live nodes), and lpm_memory 78.6 resp. 131.1 bytes per prefix with the array 50 % resp.
 * 61 % full (32768 nodes). An emptied table is back at its initial 8 nodes.
 *
 * Timers: none.
 */
#include "lib/lpm.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

enum {
	MAX_WORDS = 4, /* 128 bits */
	MIN_CAP = 8,   /* nodes: the array never shrinks below this */
	NONE = 0,      /* child index: no child (the root is nobody's child) */
};

struct node {
	void *value;	   /* NULL: a branch node (or a root without a /0 prefix) */
	uint32_t child[2]; /* by the bit at position len; child[0] links the free list */
	uint32_t len;	   /* prefix length in bits */
	uint32_t key[];	   /* width / 32 words, most significant bits first, host bits zero */
};

struct lpm {
	unsigned char *nodes; /* cap nodes of stride bytes; node 0 is the root */
	uint32_t cap;
	uint32_t used;	    /* nodes [0, used) are live or on the free list */
	uint32_t live;	    /* nodes in the trie, root included */
	uint32_t free_head; /* NONE when the free list is empty */
	size_t count;	    /* nodes holding a value */
	unsigned width, words;
	size_t stride; /* sizeof a node with its key, rounded up for the value pointer */
};

static struct node *node(const struct lpm *t, uint32_t i)
{
	return (struct node *)(t->nodes + (size_t)i * t->stride);
}

/* Bit i of a key, bit 0 being the most significant bit of the first address byte. */
static unsigned bit(const uint32_t *k, unsigned i)
{
	return (k[i / 32] >> (31 - i % 32)) & 1;
}

/* Loads the width/8 bytes of addr (network order) into words; the unused words are zero. */
static void load(const struct lpm *t, const uint8_t *addr, uint32_t k[MAX_WORDS])
{
	memset(k, 0, MAX_WORDS * sizeof(*k));
	for (unsigned w = 0; w < t->words; w++)
		k[w] = (uint32_t)addr[4 * w] << 24 | (uint32_t)addr[4 * w + 1] << 16 |
		       (uint32_t)addr[4 * w + 2] << 8 | addr[4 * w + 3];
}

static void store(const struct lpm *t, const uint32_t *k, uint8_t *addr)
{
	for (unsigned w = 0; w < t->words; w++) {
		addr[4 * w] = (uint8_t)(k[w] >> 24);
		addr[4 * w + 1] = (uint8_t)(k[w] >> 16);
		addr[4 * w + 2] = (uint8_t)(k[w] >> 8);
		addr[4 * w + 3] = (uint8_t)k[w];
	}
}

/* Clears the bits of k at and past len. */
static void mask(const struct lpm *t, uint32_t *k, unsigned len)
{
	for (unsigned w = 0; w < t->words; w++) {
		if (len >= 32 * (w + 1))
			continue;
		k[w] = len > 32 * w ? k[w] & ~(UINT32_MAX >> (len - 32 * w)) : 0;
	}
}

/*
 * The length of the common prefix of x and y, at most limit, when their first `from` bits are
 * already known to agree (so only the words from bit `from` on are compared).
 */
static unsigned common(const uint32_t *x, const uint32_t *y, unsigned from, unsigned limit)
{
	for (unsigned w = from / 32; 32 * w < limit; w++) {
		uint32_t d = x[w] ^ y[w];

		if (d) {
			unsigned p = 32 * w + (unsigned)__builtin_clz(d);

			return p < limit ? p : limit;
		}
	}
	return limit;
}

/* Takes a node from the free list or the array's end, growing it; may move t->nodes. */
static uint32_t node_new(struct lpm *t, const uint32_t *k, unsigned len, void *value)
{
	struct node *n;
	uint32_t i;

	if (t->free_head != NONE) {
		i = t->free_head;
		t->free_head = node(t, i)->child[0];
	} else {
		if (t->used == t->cap) {
			/* 2^31 nodes are far past any table we configure: treat it as OOM */
			if (t->cap > UINT32_MAX / 2)
				abort();
			t->cap *= 2;
			t->nodes = xreallocarray(t->nodes, t->cap, t->stride);
		}
		i = t->used++;
	}
	n = node(t, i);
	n->value = value;
	n->child[0] = n->child[1] = NONE;
	n->len = len;
	memcpy(n->key, k, t->words * sizeof(*k));
	mask(t, n->key, len);
	t->live++;
	return i;
}

static void node_release(struct lpm *t, uint32_t i)
{
	struct node *n = node(t, i);

	assert(i != 0);
	n->value = NULL;
	n->child[0] = t->free_head;
	n->child[1] = NONE;
	t->free_head = i;
	t->live--;
}

/* Copies the subtree of old node i to dst in pre-order; returns its index there. */
static uint32_t copy_subtree(const struct lpm *t, uint32_t i, unsigned char *dst, uint32_t *next)
{
	const struct node *n = node(t, i);
	uint32_t j = (*next)++;
	struct node *m = (struct node *)(dst + (size_t)j * t->stride);

	memcpy(m, n, t->stride);
	for (unsigned b = 0; b < 2; b++)
		if (n->child[b] != NONE)
			m->child[b] = copy_subtree(t, n->child[b], dst, next);
	return j;
}

/*
 * After a removal: when the live nodes fill at most a quarter of the array, halve it (down to
 * MIN_CAP) by rebuilding it in pre-order. It is then about half full, so the next growth or
 * shrink is at least as many operations away as the copy moved nodes: amortised O(1).
 */
static void maybe_shrink(struct lpm *t)
{
	uint32_t cap = t->cap, next = 0;
	unsigned char *dst;

	while (cap > MIN_CAP && t->live <= cap / 4)
		cap /= 2;
	if (cap == t->cap)
		return;
	dst = xreallocarray(NULL, cap, t->stride);
	copy_subtree(t, 0, dst, &next);
	assert(next == t->live);
	free(t->nodes);
	t->nodes = dst;
	t->cap = cap;
	t->used = next;
	t->free_head = NONE;
}

struct lpm *lpm_new(unsigned width)
{
	struct lpm *t;
	uint32_t zero[MAX_WORDS] = {0};

	if (width != 32 && width != 128)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->width = width;
	t->words = width / 32;
	t->stride = offsetof(struct node, key) + t->words * sizeof(uint32_t);
	t->stride =
	    (t->stride + alignof(struct node) - 1) / alignof(struct node) * alignof(struct node);
	t->cap = MIN_CAP;
	t->nodes = xreallocarray(NULL, t->cap, t->stride);
	node_new(t, zero, 0, NULL); /* the root: index 0 */
	return t;
}

void lpm_free(struct lpm *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t);
}

int lpm_insert(struct lpm *t, const uint8_t *addr, unsigned len, void *value)
{
	uint32_t k[MAX_WORDS], pi = 0;

	if (len > t->width || !value)
		return -EINVAL;
	load(t, addr, k);
	mask(t, k, len);
	/*
	 * pi (the parent) only moves down to nodes that contain addr/len and are shorter than
	 * it. node_new may move the array, so nodes are re-fetched by index after it.
	 */
	for (unsigned depth = 0; depth <= t->width; depth++) {
		struct node *p = node(t, pi), *c;
		unsigned b, pos;
		uint32_t ci, ni, gi;

		if (p->len == len) { /* only the root, for a /0 */
			if (p->value)
				return -EEXIST;
			p->value = value;
			goto stored;
		}
		b = bit(k, p->len);
		ci = p->child[b];
		if (ci == NONE) { /* a new leaf */
			ni = node_new(t, k, len, value);
			node(t, pi)->child[b] = ni;
			goto stored;
		}
		c = node(t, ci);
		assert(c->len > p->len);
		pos = common(k, c->key, p->len, len < c->len ? len : c->len);
		if (pos == c->len) {
			if (c->len < len) { /* c contains addr/len: go down */
				pi = ci;
				continue;
			}
			if (c->value) /* exactly c */
				return -EEXIST;
			c->value = value;
			goto stored;
		}
		/* addr/len leaves the edge p -> c at pos, before c->len: split the edge there */
		if (pos == len) { /* addr/len contains c: the new node takes c as its child */
			ni = node_new(t, k, len, value);
			node(t, ni)->child[bit(node(t, ci)->key, len)] = ci;
			node(t, pi)->child[b] = ni;
			goto stored;
		}
		ni = node_new(t, k, len, value);
		gi = node_new(t, k, pos, NULL); /* a branch where the two diverge */
		node(t, gi)->child[bit(k, pos)] = ni;
		node(t, gi)->child[!bit(k, pos)] = ci;
		node(t, pi)->child[b] = gi;
		goto stored;
	}
	assert(!"trie deeper than its width");
	abort();
stored:
	t->count++;
	return 0;
}

/* Where a prefix sits: its node, its parent and grandparent, and the slots leading down. */
struct path {
	uint32_t i, parent, grand;
	unsigned pslot, gslot;
};

/*
 * Walks to the node of exactly addr/len (masked into k): true and *path filled in, or false
 * when there is none. The parent and grandparent are meaningful only for nodes that have them.
 */
static bool locate(const struct lpm *t, const uint32_t *k, unsigned len, struct path *path)
{
	struct path w = {0};

	for (unsigned depth = 0; depth <= t->width; depth++) {
		const struct node *n = node(t, w.i), *c;
		unsigned b;

		if (n->len == len) {
			*path = w;
			return true;
		}
		b = bit(k, n->len);
		if (n->child[b] == NONE)
			return false;
		c = node(t, n->child[b]);
		if (c->len > len || common(k, c->key, n->len, c->len) < c->len)
			return false;
		w.grand = w.parent, w.gslot = w.pslot;
		w.parent = w.i, w.pslot = b;
		w.i = n->child[b];
	}
	assert(!"trie deeper than its width");
	return false;
}

void *lpm_remove(struct lpm *t, const uint8_t *addr, unsigned len)
{
	uint32_t k[MAX_WORDS], only;
	struct path w;
	struct node *n, *p;
	void *value;

	if (len > t->width)
		return NULL;
	load(t, addr, k);
	mask(t, k, len);
	if (!locate(t, k, len, &w) || !node(t, w.i)->value)
		return NULL;
	n = node(t, w.i);
	value = n->value;
	n->value = NULL;
	t->count--;
	if (w.i == 0)
		return value; /* the root stays */
	if (n->child[0] != NONE && n->child[1] != NONE)
		return value; /* still a branch */
	p = node(t, w.parent);
	only = n->child[0] != NONE ? n->child[0] : n->child[1];
	p->child[w.pslot] = only; /* NONE for a leaf */
	node_release(t, w.i);
	/* a leaf's valueless parent (not the root) is left with one child: merge it away too */
	if (only == NONE && w.parent != 0 && !p->value) {
		node(t, w.grand)->child[w.gslot] = p->child[!w.pslot];
		node_release(t, w.parent);
	}
	maybe_shrink(t);
	return value;
}

void *lpm_find(const struct lpm *t, const uint8_t *addr, unsigned len)
{
	uint32_t k[MAX_WORDS];
	struct path w;

	if (len > t->width)
		return NULL;
	load(t, addr, k);
	mask(t, k, len);
	return locate(t, k, len, &w) ? node(t, w.i)->value : NULL;
}

/* The data-path query: no allocation, at most width + 1 nodes (see the top of this file). */
void *lpm_lookup(const struct lpm *t, const uint8_t *addr, unsigned *len)
{
	uint32_t a[MAX_WORDS];
	const struct node *n = node(t, 0);
	void *best = n->value;
	unsigned best_len = 0;

	load(t, addr, a);
	/* each step down adds at least one bit, so width steps reach any full-length node */
	for (unsigned depth = 0; depth < t->width; depth++) {
		const struct node *c;
		uint32_t ci;

		if (n->len == t->width) /* a host route has no children */
			break;
		ci = n->child[bit(a, n->len)];
		if (ci == NONE)
			break;
		c = node(t, ci);
		assert(c->len > n->len);
		if (common(a, c->key, n->len, c->len) < c->len)
			break;
		if (c->value) {
			best = c->value;
			best_len = c->len;
		}
		n = c;
	}
	if (best && len)
		*len = best_len;
	return best;
}

size_t lpm_count(const struct lpm *t)
{
	return t->count;
}

size_t lpm_memory(const struct lpm *t)
{
	return sizeof(*t) + (size_t)t->cap * t->stride;
}

/* Pre-order: a node, then its 0 subtree, then its 1 subtree. Depth <= width + 1. */
static bool walk(const struct lpm *t, uint32_t i, lpm_cb *cb, void *ctx)
{
	const struct node *n = node(t, i);

	if (n->value) {
		uint8_t addr[4 * MAX_WORDS];

		store(t, n->key, addr);
		if (!cb(ctx, addr, n->len, n->value))
			return false;
	}
	for (unsigned b = 0; b < 2; b++)
		if (n->child[b] != NONE && !walk(t, n->child[b], cb, ctx))
			return false;
	return true;
}

void lpm_foreach(const struct lpm *t, lpm_cb *cb, void *ctx)
{
	walk(t, 0, cb, ctx);
}
