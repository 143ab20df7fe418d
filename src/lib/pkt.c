/*
 * pkt: fixed-size packet pool and bounded pkt queues (see pkt.h).
 *
 * Owns: the pool's two allocations (the struct pkt array and the buffer arena), made once in
 * pkt_pool_new and released in pkt_pool_free. Nothing here allocates afterwards.
 *
 * Invariants:
 * - Every struct pkt is either linked on the pool's free list or owned by exactly one holder;
 *   in_use equals capacity minus the free-list length.
 * - head <= data, data + len <= end for every pkt; push/pull/put refuse rather than break this.
 * - A pkt on a queue is linked through node; a pkt owned elsewhere has node self-linked, which
 *   pkt_free asserts so that freeing a queued pkt, or freeing twice, is caught in debug builds.
 *
 * Timers: none.
 */
#include "lib/pkt.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Buffers start on a cache line so that headers written at the default headroom are aligned. */
enum { BUF_ALIGN = 64 };

struct pkt_pool {
	struct pkt *pkts; /* capacity entries */
	uint8_t *arena;	  /* capacity * buf_size bytes */
	struct list_node free_list;
	size_t capacity;
	size_t payload_cap;
	size_t buf_size;
	size_t in_use;
	uint64_t alloc_failures;
	/* the one room waiter (pkt_pool_notify_room): called once when avail reaches room_at */
	pkt_room_cb *room_cb;
	void *room_ctx;
	size_t room_at;
};

struct pkt_pool *pkt_pool_new(size_t count, size_t payload_cap)
{
	struct pkt_pool *pool;
	size_t buf_size;

	if (count == 0 || payload_cap == 0 || payload_cap > PKT_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	buf_size = PKT_HEADROOM + payload_cap + PKT_TAILROOM;
	buf_size = (buf_size + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
	if (count > SIZE_MAX / buf_size || count > SIZE_MAX / sizeof(struct pkt)) {
		errno = ENOMEM;
		return NULL;
	}

	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->pkts = calloc(count, sizeof(struct pkt));
	if (!pool->pkts)
		goto err_pool;
	pool->arena = aligned_alloc(BUF_ALIGN, count * buf_size);
	if (!pool->arena)
		goto err_pkts;

	pool->capacity = count;
	pool->payload_cap = payload_cap;
	pool->buf_size = buf_size;
	list_init(&pool->free_list);
	for (size_t i = 0; i < count; i++) {
		struct pkt *p = &pool->pkts[i];

		p->head = pool->arena + i * buf_size;
		/* The end excludes the alignment padding, so tailroom is exactly as documented. */
		p->end = p->head + PKT_HEADROOM + payload_cap + PKT_TAILROOM;
		p->pool = pool;
		pkt_reset(p);
		list_add_tail(&pool->free_list, &p->node);
	}
	return pool;

err_pkts:
	free(pool->pkts);
err_pool:
	free(pool);
	return NULL;
}

void pkt_pool_free(struct pkt_pool *pool)
{
	if (!pool)
		return;
	/* A pkt still out would point into the arena we are about to release. */
	assert(pool->in_use == 0);
	free(pool->arena);
	free(pool->pkts);
	free(pool);
}

void pkt_pool_info(const struct pkt_pool *pool, struct pkt_pool_info *out)
{
	out->capacity = pool->capacity;
	out->in_use = pool->in_use;
	out->payload_cap = pool->payload_cap;
	out->alloc_failures = pool->alloc_failures;
}

size_t pkt_pool_avail(const struct pkt_pool *pool)
{
	return pool->capacity - pool->in_use;
}

struct pkt *pkt_alloc(struct pkt_pool *pool)
{
	struct list_node *n = list_pop_head(&pool->free_list);
	struct pkt *p;

	if (!n) {
		pool->alloc_failures++;
		return NULL;
	}
	p = list_entry(n, struct pkt, node);
	pool->in_use++;
	pkt_reset(p);
	memset(&p->off, 0, sizeof(p->off));
	memset(p->cb, 0, sizeof(p->cb));
	return p;
}

void pkt_free(struct pkt *p)
{
	struct pkt_pool *pool;

	if (!p)
		return;
	pool = p->pool;
	/* Freeing a queued pkt would corrupt the queue; a double free would corrupt the pool. */
	assert(!list_is_linked(&p->node));
	assert(pool->in_use > 0);
	pool->in_use--;
	/* LIFO reuse keeps recently touched buffers warm in the cache. */
	list_add_head(&pool->free_list, &p->node);
	if (pool->room_cb && pool->capacity - pool->in_use >= pool->room_at) {
		pkt_room_cb *cb = pool->room_cb;

		pool->room_cb = NULL; /* one-shot, disarmed before the call: cb may re-arm */
		cb(pool->room_ctx);
	}
}

void pkt_pool_notify_room(struct pkt_pool *pool, size_t avail, pkt_room_cb *cb, void *ctx)
{
	pool->room_cb = cb;
	pool->room_ctx = ctx;
	pool->room_at = avail;
}

uint8_t *pkt_push(struct pkt *p, size_t n)
{
	if (n > pkt_headroom(p))
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

uint8_t *pkt_pull(struct pkt *p, size_t n)
{
	uint8_t *old = p->data;

	if (n > p->len)
		return NULL;
	p->data += n;
	p->len -= n;
	return old;
}

uint8_t *pkt_put(struct pkt *p, size_t n)
{
	uint8_t *tail = p->data + p->len;

	if (n > pkt_tailroom(p))
		return NULL;
	p->len += n;
	return tail;
}

void pkt_trim(struct pkt *p, size_t len)
{
	if (len < p->len)
		p->len = len;
}

void pkt_reset(struct pkt *p)
{
	p->data = p->head + PKT_HEADROOM;
	p->len = 0;
}

void pkt_queue_init(struct pkt_queue *q, size_t limit)
{
	list_init(&q->head);
	q->len = 0;
	q->limit = limit;
	q->drops = 0;
}

bool pkt_queue_push(struct pkt_queue *q, struct pkt *p)
{
	assert(p && !list_is_linked(&p->node));
	if (q->limit && q->len >= q->limit) {
		q->drops++;
		pkt_free(p);
		return false;
	}
	list_add_tail(&q->head, &p->node);
	q->len++;
	return true;
}

struct pkt *pkt_queue_pop(struct pkt_queue *q)
{
	struct list_node *n = list_pop_head(&q->head);

	if (!n)
		return NULL;
	q->len--;
	return list_entry(n, struct pkt, node);
}

struct pkt *pkt_queue_peek(const struct pkt_queue *q)
{
	struct list_node *n = list_first(&q->head);

	return n ? list_entry(n, struct pkt, node) : NULL;
}

size_t pkt_queue_len(const struct pkt_queue *q)
{
	return q->len;
}

void pkt_queue_purge(struct pkt_queue *q)
{
	struct pkt *p;

	while ((p = pkt_queue_pop(q)))
		pkt_free(p);
}
