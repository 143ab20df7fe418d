/*
 * pkt: the one packet type (STYLE.md §5), modelled on the Linux sk_buff.
 *
 * Buffers come from a fixed-size pool allocated once by pkt_pool_new(); the data plane never
 * calls malloc. Each buffer is laid out as
 *
 *     head            data            data+len          end
 *     |-- headroom ---|==== payload ====|--- tailroom ---|
 *
 * and a fresh pkt starts with PKT_HEADROOM bytes of headroom, so overlay and session headers
 * can be prepended (pkt_push) and the +20 bytes of IPv4->IPv6 translation (RFC 7915 §5.1) fit
 * without a copy. The tailroom is payload_cap + PKT_TAILROOM, which leaves space for an AEAD
 * tag after a full-size payload.
 *
 * Ownership: a struct pkt * passed to a function is consumed by it (STYLE.md §6): on every
 * path, errors included, the callee forwards or frees it, unless its comment says otherwise.
 * Functions below that merely edit or inspect a pkt say "not consumed".
 */
#ifndef YGG64_LIB_PKT_H
#define YGG64_LIB_PKT_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/list.h"

enum {
	/*
	 * A TUN packet on its way to a link gains: 1 core type byte, the session header (up to 79,
	 * sessions spec §2.4), the Traffic header (1 + two paths + 64 + up to 10, link-routing
	 * §4.8) and the frame length (up to 3); a 4->6 translation adds 20 more.
	 */
	PKT_HEADROOM = 256,
	PKT_TAILROOM = 64,   /* AEAD tag and trailers */
	PKT_CAP_MAX = 131072, /* largest payload a pool may be sized for (a whole ironwood frame) */
	PKT_CB_SIZE = 48,    /* per-packet control block for the current owner's metadata */
};

struct pkt_pool;

/*
 * Offload state of a pkt (sk_buff's gso_size/gso_type and CHECKSUM_PARTIAL): what the TUN's
 * virtio_net_hdr said about a packet read (tun/vnet.h), or what a writer wants said about one
 * written. Set only by a TUN opened with keep_gso and by the NAT64, which carries it through a
 * translation (a TCPv6 GSO packet becomes one TCPv4 GSO packet); every other layer sees plain
 * packets (gso_type PKT_GSO_NONE, is_csum_partial false).
 */
enum pkt_gso_type {
	PKT_GSO_NONE = 0,
	PKT_GSO_TCP4, /* TCP over IPv4, cut into gso_size-byte payloads by whoever sends it on */
	PKT_GSO_TCP6,
	PKT_GSO_UDP, /* UDP (either version), cut into gso_size-byte datagrams (USO) */
};

struct pkt_offload {
	uint8_t gso_type;     /* enum pkt_gso_type */
	bool is_csum_partial; /* the transport checksum field holds only the pseudo-header sum */
	bool is_gso_ecn;      /* GSO TCP with ECN: CWR in the first piece only (VIRTIO_NET_HDR_GSO_ECN) */
	uint16_t gso_size;    /* GSO: transport payload bytes per piece */
	uint16_t csum_start;  /* is_csum_partial: transport header offset from data */
	uint16_t csum_offset; /* is_csum_partial: checksum field offset from csum_start */
};

struct pkt {
	/* Queue linkage: owned by whichever struct pkt_queue (or pool free list) holds the pkt. */
	struct list_node node;
	uint8_t *data; /* first payload byte */
	size_t len;    /* payload bytes from data */
	uint8_t *head; /* buffer start (fixed) */
	uint8_t *end;  /* one past the buffer's last byte (fixed) */
	struct pkt_pool *pool;
	struct pkt_offload off; /* zeroed by pkt_alloc; see struct pkt_offload */
	/*
	 * Scratch for the layer that currently owns the pkt (e.g. the peer a frame came from).
	 * Zeroed by pkt_alloc. Users cast it to their own struct after a
	 * static_assert(sizeof(struct x) <= PKT_CB_SIZE).
	 */
	alignas(max_align_t) uint8_t cb[PKT_CB_SIZE];
};

struct pkt_pool_info {
	size_t capacity;	 /* buffers in the pool */
	size_t in_use;		 /* buffers handed out and not yet freed */
	size_t payload_cap;	 /* payload_cap given to pkt_pool_new */
	uint64_t alloc_failures; /* pkt_alloc calls that found the pool empty */
};

/*
 * Allocates count buffers of PKT_HEADROOM + payload_cap + PKT_TAILROOM bytes in one go.
 * Returns NULL (errno set) when count is 0, payload_cap is 0 or above PKT_CAP_MAX, or memory
 * is short. The caller owns the pool.
 */
struct pkt_pool *pkt_pool_new(size_t count, size_t payload_cap);
/* Frees the pool. Every pkt must have been returned first (asserted). NULL is a no-op. */
void pkt_pool_free(struct pkt_pool *pool);
/* Fills *out with a snapshot of the pool's counters. */
void pkt_pool_info(const struct pkt_pool *pool, struct pkt_pool_info *out);
/* Buffers pkt_alloc can still hand out. */
size_t pkt_pool_avail(const struct pkt_pool *pool);

/*
 * Room notification, for a reader that stops while the pool is low (the TUN): cb(ctx) is
 * called once, from inside the pkt_free that brings the free buffers up to avail, and is then
 * disarmed. One waiter per pool: arming replaces the previous one; cb NULL disarms. Nothing is
 * called at arming time, so the caller checks pkt_pool_avail first.
 */
typedef void pkt_room_cb(void *ctx);
void pkt_pool_notify_room(struct pkt_pool *pool, size_t avail, pkt_room_cb *cb, void *ctx);

/*
 * Takes a buffer from the pool: data at PKT_HEADROOM, len 0, cb zeroed. Returns NULL and
 * counts an alloc failure when the pool is empty (drop and count, STYLE.md §5). The caller
 * owns the pkt until it passes it on or calls pkt_free.
 */
struct pkt *pkt_alloc(struct pkt_pool *pool);
/* Returns p to its pool (consumed). p must not sit in a queue. NULL is a no-op. */
void pkt_free(struct pkt *p);

/*
 * Editing; none of these consume p. Each returns NULL and leaves p untouched when the room
 * is insufficient.
 */
/* Prepends n bytes; returns the new data start (the n bytes to fill in). */
uint8_t *pkt_push(struct pkt *p, size_t n);
/*
 * Strips n bytes from the front; returns a pointer to the stripped bytes, which stay valid
 * (now in the headroom) until the next pkt_push.
 */
uint8_t *pkt_pull(struct pkt *p, size_t n);
/* Appends n bytes; returns a pointer to them (the old tail) for the caller to fill in. */
uint8_t *pkt_put(struct pkt *p, size_t n);
/* Truncates the payload to len bytes; a no-op when it is already that short. */
void pkt_trim(struct pkt *p, size_t len);
/* Puts data back at PKT_HEADROOM with len 0; cb is left as it is. */
void pkt_reset(struct pkt *p);

static inline size_t pkt_headroom(const struct pkt *p)
{
	return (size_t)(p->data - p->head);
}

static inline size_t pkt_tailroom(const struct pkt *p)
{
	return (size_t)(p->end - (p->data + p->len));
}

/*
 * A FIFO of pkts with a length limit (0: no limit beyond the pool) and a drop counter. The
 * queue owns the pkts it holds; it is embedded by its owner (_init, no _fini: purge it).
 */
struct pkt_queue {
	struct list_node head;
	size_t len;
	size_t limit;
	uint64_t drops; /* pkts freed by pkt_queue_push because the queue was full */
};

void pkt_queue_init(struct pkt_queue *q, size_t limit);
/*
 * Appends p (consumed). When the queue is full, p is freed, drops is counted and false is
 * returned.
 */
bool pkt_queue_push(struct pkt_queue *q, struct pkt *p);
/* Unlinks and returns the oldest pkt (now owned by the caller), or NULL when empty. */
struct pkt *pkt_queue_pop(struct pkt_queue *q);
/* The oldest pkt without unlinking it (still owned by the queue), or NULL when empty. */
struct pkt *pkt_queue_peek(const struct pkt_queue *q);
size_t pkt_queue_len(const struct pkt_queue *q);
/* Frees every queued pkt; the queue stays usable and keeps its drop counter. */
void pkt_queue_purge(struct pkt_queue *q);

#endif
