/*
 * frag: bounded virtual reassembly (see frag.h; nat64-requirements §2 B 19, B 20, B 53).
 *
 * Owns: three arrays sized once by frag_new and never grown, and the pkts it holds.
 * - slots[max_pkts]: one per held pkt, with its arrival time and, while collected, its place
 *   in the datagram. pkts are referred to from here only; nothing in struct pkt is touched
 *   while it is held (not even cb, which stays the caller's), except that node links the
 *   pkts of one release for a moment (see release_list).
 * - dgrams[max_pkts]: one per remembered datagram.
 * - buckets[a power of two >= max_pkts]: the hash index of dgrams, chained through hnext.
 * Everything links by 32-bit index, NIL for none; free slots and free dgrams are singly linked
 * lists through next / hnext.
 *
 * A datagram is in one of three states:
 * - waiting: its first fragment has not come; it holds the later ones, in arrival order;
 * - known (has_ports): the first came; later fragments are mapped with its ports;
 * - collecting (B 20): a zero-checksum UDP/IPv4 datagram; it holds its pieces in offset order
 *   until they cover it, with no overlap (frag_first may note ports meanwhile; frag_find does
 *   not answer with them until the datagram is complete and known).
 * A known datagram normally holds nothing, but may (frag_hold misused after frag_first); those
 * pkts just age out.
 *
 * Invariants:
 * - Every held slot is on the age list (all held slots, oldest arrival first) and on exactly
 *   one datagram's list; npkts counts both. A waiting or collecting datagram holds >= 1 slot.
 * - Every used dgram is in its hash chain and on the lru list (least recently touched first),
 *   and its last is the time of its latest fragment. Since time only grows, both lists are in
 *   time order, so expiry and eviction look only at their heads.
 * - A collecting datagram's pieces do not overlap, lie within 0..65515 (65535 less the least
 *   header; the first piece's own header is checked at the end), every piece with MF set ends
 *   before the end, and covered is the sum of their lengths. So with the end known, covered ==
 *   end means every byte is there.
 *
 * Timers (one sweep, frag_expire, which frag_first, frag_find, frag_hold and frag_collect run
 * first, so that nothing stale is ever found):
 * - a held pkt, waiting or collected, lives FRAG_TIMEOUT_MS from its arrival (B 19: out of
 *   order for >= 2 s; a collection is abandoned when its oldest piece is that old);
 * - a known datagram's ports live FRAG_TIMEOUT_MS from its latest fragment (frag_first,
 *   frag_find).
 *
 * The hash is not keyed (frag_new takes no seed): a sender choosing identifications to collide
 * lengthens one chain, at worst to max_pkts entries, which the bound keeps finite.
 */
#include "nat64/frag.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csum.h"
#include "lib/list.h"
#include "lib/pkt.h"

enum {
	NIL = UINT32_MAX,
	IP4_HLEN = 20,
	IP4_LEN_MAX = 0xffff,
	DATA_MAX = IP4_LEN_MAX - IP4_HLEN, /* the farthest a fragment's data may end */
	FLAG_MF = 0x2000,		   /* RFC 791 §3.1 */
	OFF_MASK = 0x1fff,
	PROTO_UDP = 17,
	UDP_HLEN = 8,
};

struct slot {
	struct pkt *p;
	uint64_t t;	       /* arrival */
	uint32_t dg;	       /* the datagram holding it */
	uint32_t next;	       /* next slot of the datagram, or of the free list */
	uint32_t aprev, anext; /* age list */
	/* collected pieces only: */
	uint16_t off;  /* data offset in bytes */
	uint16_t dlen; /* data bytes */
	bool is_last;  /* MF clear */
};

struct dgram {
	struct frag_key key;
	uint64_t last;	       /* latest fragment */
	uint32_t hnext;	       /* hash chain, or free list */
	uint32_t lprev, lnext; /* lru list */
	uint32_t head, tail;   /* held slots */
	uint32_t npkts;
	uint16_t sport, dport;
	bool is_used, has_ports, is_collecting;
	/* collecting: */
	bool has_end;
	uint32_t end;	  /* data bytes of the whole datagram, once the last piece came */
	uint32_t covered; /* data bytes held */
	uint32_t max_end; /* farthest end of a held piece */
};

struct frag_table {
	size_t max_pkts;
	struct slot *slots;
	struct dgram *dgrams;
	uint32_t *buckets;
	uint32_t mask; /* buckets - 1 */
	uint32_t slot_free, dgram_free;
	uint32_t age_head, age_tail;
	uint32_t lru_head, lru_tail;
	size_t pkts_now, dgrams_now;
	size_t memory;
	struct frag_stats st; /* the counters; the sizes are filled in by frag_get_stats */
};

static bool is_old(uint64_t t, uint64_t now)
{
	return now >= t && now - t >= FRAG_TIMEOUT_MS;
}

static bool key_eq(const struct frag_key *a, const struct frag_key *b)
{
	/* field by field: the struct has padding, so no memcmp of the whole */
	return a->ver == b->ver && a->proto == b->proto && a->id == b->id &&
	       memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

/* FNV-1a over the key's fields. */
static uint32_t key_hash(const struct frag_key *k)
{
	uint32_t h = 2166136261u;
	uint8_t id[4] = {(uint8_t)(k->id >> 24), (uint8_t)(k->id >> 16), (uint8_t)(k->id >> 8),
			 (uint8_t)k->id};

	h = (h ^ k->ver) * 16777619u;
	h = (h ^ k->proto) * 16777619u;
	for (int i = 0; i < 4; i++)
		h = (h ^ id[i]) * 16777619u;
	for (int i = 0; i < 16; i++)
		h = (h ^ k->src[i]) * 16777619u;
	for (int i = 0; i < 16; i++)
		h = (h ^ k->dst[i]) * 16777619u;
	return h ^ h >> 16;
}

struct frag_table *frag_new(size_t max_pkts)
{
	struct frag_table *ft;
	size_t nb = 1;

	if (max_pkts == 0 || max_pkts >= NIL / 2)
		return NULL;
	while (nb < max_pkts)
		nb <<= 1;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->slots = calloc(max_pkts, sizeof(*ft->slots));
	ft->dgrams = calloc(max_pkts, sizeof(*ft->dgrams));
	ft->buckets = malloc(nb * sizeof(*ft->buckets));
	if (!ft->slots || !ft->dgrams || !ft->buckets) {
		frag_free(ft);
		return NULL;
	}
	ft->max_pkts = max_pkts;
	ft->mask = (uint32_t)nb - 1;
	for (size_t i = 0; i < nb; i++)
		ft->buckets[i] = NIL;
	for (size_t i = 0; i < max_pkts; i++) {
		ft->slots[i].next = i + 1 < max_pkts ? (uint32_t)i + 1 : NIL;
		ft->dgrams[i].hnext = i + 1 < max_pkts ? (uint32_t)i + 1 : NIL;
	}
	ft->slot_free = ft->dgram_free = 0;
	ft->age_head = ft->age_tail = ft->lru_head = ft->lru_tail = NIL;
	ft->memory = sizeof(*ft) + max_pkts * (sizeof(*ft->slots) + sizeof(*ft->dgrams)) +
		     nb * sizeof(*ft->buckets);
	return ft;
}

void frag_free(struct frag_table *ft)
{
	if (!ft)
		return;
	if (ft->slots)
		for (size_t i = 0; i < ft->max_pkts; i++)
			pkt_free(ft->slots[i].p);
	free(ft->slots);
	free(ft->dgrams);
	free(ft->buckets);
	free(ft);
}

/* The age list and the lru list: doubly linked by index. */

static void age_unlink(struct frag_table *ft, uint32_t s)
{
	struct slot *x = &ft->slots[s];

	if (x->aprev != NIL)
		ft->slots[x->aprev].anext = x->anext;
	else
		ft->age_head = x->anext;
	if (x->anext != NIL)
		ft->slots[x->anext].aprev = x->aprev;
	else
		ft->age_tail = x->aprev;
}

static void age_append(struct frag_table *ft, uint32_t s)
{
	ft->slots[s].aprev = ft->age_tail;
	ft->slots[s].anext = NIL;
	if (ft->age_tail != NIL)
		ft->slots[ft->age_tail].anext = s;
	else
		ft->age_head = s;
	ft->age_tail = s;
}

static void lru_unlink(struct frag_table *ft, uint32_t d)
{
	struct dgram *x = &ft->dgrams[d];

	if (x->lprev != NIL)
		ft->dgrams[x->lprev].lnext = x->lnext;
	else
		ft->lru_head = x->lnext;
	if (x->lnext != NIL)
		ft->dgrams[x->lnext].lprev = x->lprev;
	else
		ft->lru_tail = x->lprev;
}

static void lru_append(struct frag_table *ft, uint32_t d)
{
	ft->dgrams[d].lprev = ft->lru_tail;
	ft->dgrams[d].lnext = NIL;
	if (ft->lru_tail != NIL)
		ft->dgrams[ft->lru_tail].lnext = d;
	else
		ft->lru_head = d;
	ft->lru_tail = d;
}

/* The datagram had a fragment at now: its timer restarts. */
static void touch(struct frag_table *ft, uint32_t d, uint64_t now)
{
	ft->dgrams[d].last = now;
	lru_unlink(ft, d);
	lru_append(ft, d);
}

static uint32_t dgram_find(const struct frag_table *ft, const struct frag_key *k)
{
	uint32_t d = ft->buckets[key_hash(k) & ft->mask];

	while (d != NIL && !key_eq(&ft->dgrams[d].key, k))
		d = ft->dgrams[d].hnext;
	return d;
}

/* Unlinks a slot from the age list and returns it to the free list; its pkt is the caller's. */
static struct pkt *slot_put(struct frag_table *ft, uint32_t s)
{
	struct pkt *p = ft->slots[s].p;

	age_unlink(ft, s);
	ft->slots[s].p = NULL;
	ft->slots[s].next = ft->slot_free;
	ft->slot_free = s;
	ft->pkts_now--;
	return p;
}

/*
 * Detaches every slot of d, in its list's order, and links their pkts on out through their
 * node (the table's storage is free again before anyone sees a pkt, so a callback may reenter).
 * Returns their number.
 */
static size_t dgram_take_pkts(struct frag_table *ft, uint32_t d, struct list_node *out)
{
	struct dgram *x = &ft->dgrams[d];
	size_t n = 0;

	while (x->head != NIL) {
		uint32_t s = x->head;
		struct pkt *p;

		x->head = ft->slots[s].next;
		p = slot_put(ft, s);
		list_add_tail(out, &p->node);
		n++;
	}
	x->tail = NIL;
	x->npkts = 0;
	return n;
}

/* Frees the pkts of list (from dgram_take_pkts). */
static void free_list(struct list_node *list)
{
	struct list_node *n;

	while ((n = list_pop_head(list)))
		pkt_free(list_entry(n, struct pkt, node));
}

/* Hands the pkts of list to release, in order. Returns their number. */
static size_t release_list(struct list_node *list, frag_release_cb *release, void *ctx)
{
	struct list_node *n;
	size_t count = 0;

	/* list lives on the caller's stack: a reentrant call does not see it */
	while ((n = list_pop_head(list))) {
		release(ctx, list_entry(n, struct pkt, node));
		count++;
	}
	return count;
}

/* Forgets d (which holds nothing). */
static void dgram_put(struct frag_table *ft, uint32_t d)
{
	struct dgram *x = &ft->dgrams[d];
	uint32_t *pp = &ft->buckets[key_hash(&x->key) & ft->mask];

	assert(x->is_used && x->npkts == 0);
	while (*pp != d)
		pp = &ft->dgrams[*pp].hnext;
	*pp = x->hnext;
	lru_unlink(ft, d);
	x->is_used = false;
	x->hnext = ft->dgram_free;
	ft->dgram_free = d;
	ft->dgrams_now--;
}

/* Drops d and every pkt it holds, adding their number to *counter (when not NULL). */
static void dgram_drop(struct frag_table *ft, uint32_t d, uint64_t *counter)
{
	struct list_node list = LIST_HEAD_INIT(list);
	size_t n = dgram_take_pkts(ft, d, &list);

	if (counter)
		*counter += n;
	if (ft->dgrams[d].is_collecting)
		ft->st.collect_failed++;
	free_list(&list);
	dgram_put(ft, d);
}

/* A free slot for p, evicting the oldest held pkt when there is none (B 53). */
static uint32_t slot_get(struct frag_table *ft, struct pkt *p, uint64_t now)
{
	uint32_t s;

	if (ft->slot_free == NIL) {
		uint32_t old = ft->age_head, d = ft->slots[old].dg;
		struct dgram *x = &ft->dgrams[d];

		if (x->is_collecting) {
			/* a collection missing a piece can never complete: all of it goes */
			dgram_drop(ft, d, &ft->st.evicted);
		} else {
			/* arrival order in both lists: the oldest is its datagram's first */
			assert(x->head == old);
			x->head = ft->slots[old].next;
			if (x->head == NIL)
				x->tail = NIL;
			x->npkts--;
			pkt_free(slot_put(ft, old));
			ft->st.evicted++;
			if (x->npkts == 0 && !x->has_ports)
				dgram_put(ft, d);
		}
	}
	s = ft->slot_free;
	ft->slot_free = ft->slots[s].next;
	ft->slots[s] = (struct slot){.p = p, .t = now, .dg = NIL, .next = NIL};
	age_append(ft, s);
	ft->pkts_now++;
	return s;
}

/* Finds datagram k, or makes it (evicting the least recently touched one when full). */
static uint32_t dgram_get(struct frag_table *ft, const struct frag_key *k, uint64_t now)
{
	uint32_t d = dgram_find(ft, k), *b;

	if (d != NIL)
		return d;
	if (ft->dgram_free == NIL) {
		dgram_drop(ft, ft->lru_head, &ft->st.evicted);
		ft->st.dgrams_evicted++;
	}
	d = ft->dgram_free;
	ft->dgram_free = ft->dgrams[d].hnext;
	b = &ft->buckets[key_hash(k) & ft->mask];
	ft->dgrams[d] = (struct dgram){
	    .key = *k, .last = now, .hnext = *b, .head = NIL, .tail = NIL, .is_used = true};
	*b = d;
	lru_append(ft, d);
	ft->dgrams_now++;
	return d;
}

/* Appends slot s to d's list (arrival order). */
static void dgram_append(struct frag_table *ft, uint32_t d, uint32_t s)
{
	struct dgram *x = &ft->dgrams[d];

	ft->slots[s].dg = d;
	ft->slots[s].next = NIL;
	if (x->tail != NIL)
		ft->slots[x->tail].next = s;
	else
		x->head = s;
	x->tail = s;
	x->npkts++;
}

void frag_expire(struct frag_table *ft, uint64_t now)
{
	/* held pkts first: a datagram's last is never older than its pkts */
	while (ft->age_head != NIL && is_old(ft->slots[ft->age_head].t, now)) {
		uint32_t s = ft->age_head, d = ft->slots[s].dg;
		struct dgram *x = &ft->dgrams[d];

		if (x->is_collecting) {
			/* B 20: incomplete at the timeout */
			dgram_drop(ft, d, &ft->st.expired);
			continue;
		}
		assert(x->head == s);
		x->head = ft->slots[s].next;
		if (x->head == NIL)
			x->tail = NIL;
		x->npkts--;
		pkt_free(slot_put(ft, s));
		ft->st.expired++;
		/* B 19: the first fragment never came; nothing is left to remember */
		if (x->npkts == 0 && !x->has_ports)
			dgram_put(ft, d);
	}
	while (ft->lru_head != NIL && is_old(ft->dgrams[ft->lru_head].last, now))
		dgram_drop(ft, ft->lru_head, &ft->st.expired);
}

size_t frag_first(struct frag_table *ft, const struct frag_key *k, uint16_t sport, uint16_t dport,
		  uint64_t now, frag_release_cb *release, void *ctx)
{
	struct list_node list = LIST_HEAD_INIT(list);
	uint32_t d;
	size_t n;

	frag_expire(ft, now);
	d = dgram_get(ft, k, now);
	ft->dgrams[d].sport = sport;
	ft->dgrams[d].dport = dport;
	ft->dgrams[d].has_ports = true;
	touch(ft, d, now);
	/*
	 * A datagram being collected keeps its pieces (nat64.c calls this right after
	 * frag_collect(first), whose held fragments have already become pieces); its ports
	 * serve once it is complete, and frag_find says nothing until then.
	 */
	if (ft->dgrams[d].is_collecting)
		return 0;
	n = dgram_take_pkts(ft, d, &list);
	ft->st.released += n;
	return release_list(&list, release, ctx);
}

bool frag_find(struct frag_table *ft, const struct frag_key *k, uint64_t now, uint16_t *sport,
	       uint16_t *dport)
{
	uint32_t d;

	frag_expire(ft, now);
	d = dgram_find(ft, k);
	/* a collected datagram's pieces go to frag_collect, not one by one */
	if (d == NIL || !ft->dgrams[d].has_ports || ft->dgrams[d].is_collecting)
		return false;
	touch(ft, d, now);
	*sport = ft->dgrams[d].sport;
	*dport = ft->dgrams[d].dport;
	return true;
}

/* Holds slot s (already taken) in the waiting (or known) datagram k. */
static void hold_slot(struct frag_table *ft, const struct frag_key *k, uint32_t s, uint64_t now)
{
	uint32_t d = dgram_get(ft, k, now);

	if (ft->dgrams[d].is_collecting) {
		/* not a piece the collection can take (see frag_hold): it is lost to it */
		dgram_append(ft, d, s);
		dgram_drop(ft, d, NULL);
		return;
	}
	dgram_append(ft, d, s);
	touch(ft, d, now);
	ft->st.held++;
}

void frag_hold(struct frag_table *ft, const struct frag_key *k, struct pkt *p, uint64_t now)
{
	frag_expire(ft, now);
	/* the slot before the datagram: evicting for it may forget the datagram */
	hold_slot(ft, k, slot_get(ft, p, now), now);
}

/*
 * RFC 791 §3.1 and §3.2: reads slot s's pkt as a fragment of the IPv4 datagram (header, total
 * length the packet, data of a piece with MF a non-zero multiple of 8, ending inside 65535
 * bytes) into the slot's off, dlen and is_last. False when it is not one.
 */
static bool parse_piece(struct slot *x)
{
	const uint8_t *h = x->p->data;
	size_t hlen, tot, off, dlen;
	uint16_t fword;

	if (x->p->len < IP4_HLEN || h[0] >> 4 != 4)
		return false;
	hlen = (size_t)(h[0] & 0x0f) * 4;
	tot = (size_t)h[2] << 8 | h[3];
	if (hlen < IP4_HLEN || tot != x->p->len || hlen > tot || h[9] != PROTO_UDP)
		return false;
	fword = (uint16_t)(h[6] << 8 | h[7]);
	off = (size_t)(fword & OFF_MASK) * 8;
	dlen = tot - hlen;
	x->is_last = !(fword & FLAG_MF);
	if (dlen == 0 || (!x->is_last && dlen % 8) || off + dlen > DATA_MAX)
		return false;
	/* the first piece carries the whole UDP header (8 bytes, RFC 768) */
	if (off == 0 && dlen < UDP_HLEN)
		return false;
	x->off = (uint16_t)off;
	x->dlen = (uint16_t)dlen;
	return true;
}

/*
 * Puts slot s (parsed) into collecting datagram d, in offset order. False (s not linked) when
 * it overlaps a piece held, or disagrees with the datagram's end.
 */
static bool insert_piece(struct frag_table *ft, uint32_t d, uint32_t s)
{
	struct dgram *x = &ft->dgrams[d];
	struct slot *y = &ft->slots[s];
	uint32_t end = (uint32_t)y->off + y->dlen, prev = NIL, cur = x->head;

	if (y->is_last) {
		/* a second last piece, or pieces already past this end */
		if (x->has_end || x->max_end > end)
			return false;
	} else if (x->has_end && end >= x->end) {
		return false; /* more fragments are said to follow, past the end */
	}
	while (cur != NIL && ft->slots[cur].off < y->off) {
		prev = cur;
		cur = ft->slots[cur].next;
	}
	if (prev != NIL && (uint32_t)ft->slots[prev].off + ft->slots[prev].dlen > y->off)
		return false;
	if (cur != NIL && ft->slots[cur].off < end)
		return false;

	y->dg = d;
	y->next = cur;
	if (prev != NIL)
		ft->slots[prev].next = s;
	else
		x->head = s;
	if (cur == NIL)
		x->tail = s;
	x->npkts++;
	x->covered += y->dlen;
	if (end > x->max_end)
		x->max_end = end;
	if (y->is_last) {
		x->has_end = true;
		x->end = end;
	}
	return true;
}

/*
 * Parses slot s and inserts it into d; on any failure the whole collection is dropped. A first
 * piece must be at offset 0; any other piece there overlaps the first, which a collection
 * always has.
 */
static bool collect_slot(struct frag_table *ft, uint32_t d, uint32_t s, bool is_first)
{
	struct slot *y = &ft->slots[s];

	if (parse_piece(y) && (!is_first || y->off == 0) && insert_piece(ft, d, s))
		return true;
	/* linked only so that the drop frees it with the rest */
	dgram_append(ft, d, s);
	dgram_drop(ft, d, NULL);
	return false;
}

/* Frees a chain of slots linked through next (detached from their datagram). */
static void free_chain(struct frag_table *ft, uint32_t s)
{
	while (s != NIL) {
		uint32_t next = ft->slots[s].next;

		pkt_free(slot_put(ft, s));
		s = next;
	}
}

/*
 * B 20: d is complete. Checks the first piece's UDP header against the whole, computes the
 * checksum (RFC 768: over the IPv4 pseudo-header and the whole datagram, with the checksum
 * field zero; a result of 0 is sent as 0xffff) into the first piece, remembers the ports and
 * releases the pieces in offset order. Returns their number (0: dropped as malformed).
 */
static size_t finish(struct frag_table *ft, uint32_t d, uint64_t now, frag_release_cb *release,
		     void *ctx)
{
	struct list_node list = LIST_HEAD_INIT(list);
	struct dgram *x = &ft->dgrams[d];
	uint8_t *h = ft->slots[x->head].p->data, *udp;
	size_t hlen = (size_t)(h[0] & 0x0f) * 4;
	uint64_t sum;
	uint16_t c;

	udp = h + hlen;
	/*
	 * The datagram fits in 65535 bytes with the first piece's own header, and the UDP
	 * length is the whole of its data (the checksum is over UDP length bytes, and so is the
	 * IPv6 one the translation derives from it, RFC 8200 §8.1).
	 */
	if (hlen + x->end > IP4_LEN_MAX || ((uint32_t)udp[4] << 8 | udp[5]) != x->end) {
		dgram_drop(ft, d, NULL);
		return 0;
	}
	udp[6] = 0;
	udp[7] = 0;
	sum = csum_pseudo4(h + 12, h + 16, (uint16_t)x->end, PROTO_UDP);
	/* offset order; every piece but the last has an even (multiple of 8) length */
	for (uint32_t s = x->head; s != NIL; s = ft->slots[s].next) {
		const uint8_t *b = ft->slots[s].p->data;

		sum = csum_partial(b + (size_t)(b[0] & 0x0f) * 4, ft->slots[s].dlen, sum);
	}
	c = (uint16_t)~csum_fold(sum);
	csum_store(udp + 6, c ? c : 0xffff);

	/* the later fragments of a duplicate are mapped with these ports (frag_find) */
	x->sport = (uint16_t)(udp[0] << 8 | udp[1]);
	x->dport = (uint16_t)(udp[2] << 8 | udp[3]);
	x->has_ports = true;
	x->is_collecting = false;
	touch(ft, d, now);
	dgram_take_pkts(ft, d, &list);
	ft->st.collected++;
	return release_list(&list, release, ctx);
}

size_t frag_collect(struct frag_table *ft, const struct frag_key *k, struct pkt *p, bool first,
		    uint64_t now, frag_release_cb *release, void *ctx)
{
	uint32_t s, d;
	struct dgram *x;

	frag_expire(ft, now);
	/* the slot before the datagram: evicting for it may drop the datagram */
	s = slot_get(ft, p, now);
	d = dgram_find(ft, k);
	if (!first && (d == NIL || !ft->dgrams[d].is_collecting)) {
		/* its first fragment has not come: held, and frag_collect(first) takes it then */
		hold_slot(ft, k, s, now);
		return 0;
	}
	if (d == NIL)
		d = dgram_get(ft, k, now);
	x = &ft->dgrams[d];
	if (x->is_collecting) {
		/* a later piece, or a second first, which overlaps the first */
		if (!collect_slot(ft, d, s, first))
			return 0;
	} else {
		/* the first piece: the fragments held so far become pieces too, oldest first */
		uint32_t waiting = x->head;

		x->head = x->tail = NIL;
		x->npkts = 0;
		x->has_ports = false;
		x->is_collecting = true;
		x->has_end = false;
		x->end = x->covered = x->max_end = 0;
		if (!collect_slot(ft, d, s, true)) {
			free_chain(ft, waiting);
			return 0;
		}
		while (waiting != NIL) {
			uint32_t next = ft->slots[waiting].next;

			if (!collect_slot(ft, d, waiting, false)) {
				free_chain(ft, next);
				return 0;
			}
			waiting = next;
		}
	}
	touch(ft, d, now);
	if (x->has_end && x->covered == x->end)
		return finish(ft, d, now, release, ctx);
	return 0;
}

bool frag_is_collecting(struct frag_table *ft, const struct frag_key *k)
{
	uint32_t d = dgram_find(ft, k);

	return d != NIL && ft->dgrams[d].is_collecting;
}

void frag_get_stats(const struct frag_table *ft, struct frag_stats *out)
{
	*out = ft->st;
	out->pkts_now = ft->pkts_now;
	out->dgrams_now = ft->dgrams_now;
	out->max_pkts = ft->max_pkts;
	out->memory = ft->memory;
}
