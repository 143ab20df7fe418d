/*
 * Tests for lib/pkt: head/tailroom bounds of push/pull/put/trim, pool accounting (exhaustion
 * counted, free returns the buffer), the room notification and the bounded queue's drop counter.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "lib/pkt.h"

enum { CAP = 1500 };

static struct pkt_pool *pool;

static void setup(void)
{
	pool = pkt_pool_new(4, CAP);
	cr_assert_not_null(pool);
}

static void teardown(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(pool, &info);
	cr_expect_eq(info.in_use, 0, "test leaked %zu pkts", info.in_use);
	pkt_pool_free(pool);
	pool = NULL;
}

TestSuite(pkt, .init = setup, .fini = teardown);

Test(pkt, pool_new_rejects_bad_sizes)
{
	errno = 0;
	cr_assert_null(pkt_pool_new(0, CAP));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(pkt_pool_new(4, 0));
	cr_assert_null(pkt_pool_new(4, PKT_CAP_MAX + 1));
	cr_assert_null(pkt_pool_new(SIZE_MAX / 2, CAP), "size overflow must not wrap");
}

Test(pkt, fresh_layout)
{
	struct pkt *p = pkt_alloc(pool);

	cr_assert_not_null(p);
	cr_assert_eq(p->len, 0);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM);
	cr_assert_eq(pkt_tailroom(p), CAP + PKT_TAILROOM);
	cr_assert_eq(p->data, p->head + PKT_HEADROOM);
	cr_assert_eq((uintptr_t)p->cb % _Alignof(max_align_t), 0);
	for (size_t i = 0; i < PKT_CB_SIZE; i++)
		cr_assert_eq(p->cb[i], 0);
	pkt_free(p);
}

Test(pkt, push_bounds)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *d;

	cr_assert_not_null(pkt_put(p, 10));
	d = pkt_push(p, 20); /* the 4->6 growth */
	cr_assert_eq(d, p->data);
	cr_assert_eq(p->len, 30);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM - 20);
	cr_assert_not_null(pkt_push(p, PKT_HEADROOM - 20));
	cr_assert_eq(pkt_headroom(p), 0);
	cr_assert_eq(p->data, p->head);
	cr_assert_null(pkt_push(p, 1));
	cr_assert_eq(p->len, PKT_HEADROOM + 10, "failed push leaves the pkt untouched");
	cr_assert_not_null(pkt_push(p, 0));
	pkt_free(p);
}

Test(pkt, pull_bounds)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *d = pkt_put(p, 8), *hdr;

	for (int i = 0; i < 8; i++)
		d[i] = (uint8_t)i;
	hdr = pkt_pull(p, 3);
	cr_assert_eq(hdr, d, "pull returns the stripped bytes");
	cr_assert_eq(hdr[2], 2);
	cr_assert_eq(p->data[0], 3);
	cr_assert_eq(p->len, 5);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM + 3);
	cr_assert_null(pkt_pull(p, 6));
	cr_assert_eq(p->len, 5);
	cr_assert_eq(p->data[0], 3);
	cr_assert_not_null(pkt_pull(p, 5));
	cr_assert_eq(p->len, 0);
	cr_assert_null(pkt_pull(p, 1));
	pkt_free(p);
}

Test(pkt, put_bounds)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *tail;

	tail = pkt_put(p, CAP);
	cr_assert_eq(tail, p->data);
	memset(tail, 0xab, CAP);
	tail = pkt_put(p, 16); /* AEAD tag */
	cr_assert_eq(tail, p->data + CAP);
	cr_assert_eq(pkt_tailroom(p), PKT_TAILROOM - 16);
	cr_assert_null(pkt_put(p, PKT_TAILROOM - 16 + 1));
	cr_assert_eq(p->len, CAP + 16);
	cr_assert_not_null(pkt_put(p, PKT_TAILROOM - 16));
	cr_assert_eq(pkt_tailroom(p), 0);
	cr_assert_eq(p->data + p->len, p->end);
	pkt_free(p);
}

Test(pkt, trim_and_reset)
{
	struct pkt *p = pkt_alloc(pool);

	cr_assert_not_null(pkt_put(p, 100));
	pkt_trim(p, 40);
	cr_assert_eq(p->len, 40);
	cr_assert_eq(pkt_tailroom(p), CAP + PKT_TAILROOM - 40);
	pkt_trim(p, 60); /* never grows */
	cr_assert_eq(p->len, 40);
	pkt_trim(p, 0);
	cr_assert_eq(p->len, 0);

	cr_assert_not_null(pkt_push(p, 50));
	p->cb[0] = 0x77;
	pkt_reset(p);
	cr_assert_eq(p->len, 0);
	cr_assert_eq(pkt_headroom(p), PKT_HEADROOM);
	cr_assert_eq(p->cb[0], 0x77, "reset keeps cb");
	pkt_free(p);
}

Test(pkt, exhaustion_counted_and_free_returns)
{
	struct pkt *p[4], *extra;
	struct pkt_pool_info info;

	for (int i = 0; i < 4; i++) {
		p[i] = pkt_alloc(pool);
		cr_assert_not_null(p[i]);
		for (int j = 0; j < i; j++)
			cr_assert_neq(p[i], p[j]);
	}
	cr_assert_null(pkt_alloc(pool));
	cr_assert_null(pkt_alloc(pool));
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.capacity, 4);
	cr_assert_eq(info.in_use, 4);
	cr_assert_eq(info.payload_cap, CAP);
	cr_assert_eq(info.alloc_failures, 2);

	/* Buffers do not overlap: each one's end lies at or before the next one's head. */
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			if (i != j)
				cr_assert(p[i]->end <= p[j]->head || p[j]->end <= p[i]->head);

	p[2]->cb[5] = 9;
	cr_assert_not_null(pkt_push(p[2], 7));
	pkt_free(p[2]);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 3);
	extra = pkt_alloc(pool);
	cr_assert_eq(extra, p[2], "the freed buffer is handed out again");
	cr_assert_eq(extra->len, 0);
	cr_assert_eq(pkt_headroom(extra), PKT_HEADROOM);
	cr_assert_eq(extra->cb[5], 0, "alloc clears cb");
	pkt_free(extra);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			pkt_free(p[i]);
	pkt_free(NULL);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 0);
	cr_assert_eq(info.alloc_failures, 2);
}

Test(pkt, queue_fifo)
{
	struct pkt_queue q;
	struct pkt *a = pkt_alloc(pool), *b = pkt_alloc(pool);

	pkt_queue_init(&q, 8);
	cr_assert_null(pkt_queue_pop(&q));
	cr_assert_null(pkt_queue_peek(&q));
	cr_assert(pkt_queue_push(&q, a));
	cr_assert(pkt_queue_push(&q, b));
	cr_assert_eq(pkt_queue_len(&q), 2);
	cr_assert_eq(pkt_queue_peek(&q), a);
	cr_assert_eq(pkt_queue_pop(&q), a);
	cr_assert_eq(pkt_queue_pop(&q), b);
	cr_assert_null(pkt_queue_pop(&q));
	cr_assert_eq(pkt_queue_len(&q), 0);
	cr_assert_eq(q.drops, 0);
	pkt_free(a);
	pkt_free(b);
}

Test(pkt, queue_limit_drops_and_frees)
{
	struct pkt_queue q;
	struct pkt_pool_info info;
	struct pkt *p;

	pkt_queue_init(&q, 2);
	cr_assert(pkt_queue_push(&q, pkt_alloc(pool)));
	cr_assert(pkt_queue_push(&q, pkt_alloc(pool)));
	p = pkt_alloc(pool);
	cr_assert_not_null(p);
	cr_assert_not(pkt_queue_push(&q, p), "third push exceeds the limit");
	cr_assert_eq(q.drops, 1);
	cr_assert_eq(pkt_queue_len(&q), 2);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 2, "the dropped pkt went back to the pool");

	pkt_queue_purge(&q);
	cr_assert_eq(pkt_queue_len(&q), 0);
	cr_assert_eq(q.drops, 1, "purge keeps the drop counter");
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.in_use, 0);

	/* The queue is usable after purge. */
	cr_assert(pkt_queue_push(&q, pkt_alloc(pool)));
	cr_assert_eq(pkt_queue_len(&q), 1);
	pkt_queue_purge(&q);
}

Test(pkt, queue_unlimited_bounded_by_pool)
{
	struct pkt_queue q;
	struct pkt *p;
	struct pkt_pool_info info;

	pkt_queue_init(&q, 0);
	while ((p = pkt_alloc(pool)))
		cr_assert(pkt_queue_push(&q, p));
	cr_assert_eq(pkt_queue_len(&q), 4);
	pkt_pool_info(pool, &info);
	cr_assert_eq(info.alloc_failures, 1);
	pkt_queue_purge(&q);
}

Test(pkt, max_payload_pool)
{
	struct pkt_pool *big = pkt_pool_new(1, PKT_CAP_MAX);
	struct pkt *p;

	cr_assert_not_null(big);
	p = pkt_alloc(big);
	cr_assert_not_null(pkt_put(p, PKT_CAP_MAX));
	cr_assert_not_null(pkt_push(p, PKT_HEADROOM));
	cr_assert_eq(p->len, PKT_HEADROOM + PKT_CAP_MAX);
	memset(p->data, 0, p->len); /* ASan checks the whole span is ours */
	pkt_free(p);
	pkt_pool_free(big);
}

static int room_calls;
static size_t room_avail_seen;

static void on_room(void *ctx)
{
	cr_assert_eq(ctx, &room_calls);
	room_calls++;
	room_avail_seen = pkt_pool_avail(pool);
}

static void on_room_rearm(void *ctx)
{
	on_room(ctx);
	if (room_calls < 2)
		pkt_pool_notify_room(pool, 4, on_room_rearm, ctx);
}

Test(pkt, room_notification_fires_once_at_the_threshold)
{
	struct pkt *p[4];

	room_calls = 0;
	for (int i = 0; i < 4; i++)
		p[i] = pkt_alloc(pool);
	pkt_pool_notify_room(pool, 3, on_room, &room_calls);
	pkt_free(p[0]);
	pkt_free(p[1]);
	cr_assert_eq(room_calls, 0, "2 free, threshold 3");
	pkt_free(p[2]);
	cr_assert_eq(room_calls, 1);
	cr_assert_eq(room_avail_seen, 3, "called after the buffer is back");
	pkt_free(p[3]);
	cr_assert_eq(room_calls, 1, "one-shot");
	/* disarmed: nothing fires */
	p[0] = pkt_alloc(pool);
	pkt_pool_notify_room(pool, 4, on_room, &room_calls);
	pkt_pool_notify_room(pool, 0, NULL, NULL);
	pkt_free(p[0]);
	cr_assert_eq(room_calls, 1);
}

Test(pkt, room_notification_may_rearm_from_its_callback)
{
	struct pkt *a, *b;

	room_calls = 0;
	a = pkt_alloc(pool);
	b = pkt_alloc(pool);
	pkt_pool_notify_room(pool, 4, on_room_rearm, &room_calls);
	pkt_free(a);
	cr_assert_eq(room_calls, 0);
	pkt_free(b);
	cr_assert_eq(room_calls, 1);
	a = pkt_alloc(pool);
	pkt_free(a);
	cr_assert_eq(room_calls, 2, "re-armed once by the callback");
	a = pkt_alloc(pool);
	pkt_free(a);
	cr_assert_eq(room_calls, 2);
}
