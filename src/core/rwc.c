/*
 * rwc: the IPv6 adapter (spec yggdrasil-sessions-core-admin.md §5; see rwc.h).
 *
 * Owns: the key cache (struct centry: full key -> its address and /64), the pending table
 * (struct pentry: one waiting packet per destination address or /64 whose key is unknown) and
 * the packets held there.
 *
 * Both tables are fixed arrays allocated by rwc_new, indexed by chained hash tables over a
 * 16-byte "destination": an address as it is, a subnet as its 8 bytes followed by 8 zero bytes.
 * The first byte (0x02 address, 0x03 subnet) tells the two apart, so a cache entry sits in the
 * one index twice, once under its address and once under its subnet.
 *
 * Invariants: ncache <= RWC_CACHE_MAX and npend <= RWC_PENDING_MAX; a used cache entry is on
 * the lru list (least recently used first) and in the index under both names; a used pending
 * entry holds exactly one pkt, is in its index and on the age list (oldest first). No entry
 * pointer is used after a callback (send, lookup, to_tun), since a callback may re-enter
 * rwc_key_found: keys are copied to the stack first.
 *
 * Deliberate differences from yggdrasil-go's ipv6rwc (wire behaviour is the same for valid
 * traffic): the tables are bounded; inbound checks (destination, source) run before the size
 * check, so a Packet Too Big only ever goes to a source proven by the sender's key; the IPv6
 * payload length is checked against the packet and trailing bytes are trimmed; a packet from
 * the TUN longer than the MTU is answered with a Packet Too Big on the TUN instead of being
 * sent (the kernel honours the TUN MTU, so this only fires when they disagree); lookups are
 * also throttled here (ironwood throttles them again per xKey, §5.3a).
 *
 * Timers (swept in rwc_tick): a cache entry dies RWC_CACHE_TIMEOUT_MS after its last use
 * (a packet sent to it or received from it, or a path notify: §5.3); a waiting packet dies
 * RWC_PENDING_TIMEOUT_MS after it was queued. RWC_LOOKUP_THROTTLE_MS spaces lookups per
 * pending destination.
 */
#include "core/rwc.h"

#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "lib/icmp.h"
#include "lib/list.h"
#include "lib/mem.h"
#include "lib/pkt.h"

enum {
	IP6_HLEN = 40,
	IP6_OFF_PLEN = 4,
	IP6_OFF_SRC = 8,
	IP6_OFF_DST = 24,
	DEST_LEN = 16,
	CACHE_BUCKETS = 2 * RWC_CACHE_MAX, /* two names per entry: load factor <= 1 */
	PEND_BUCKETS = 2 * RWC_PENDING_MAX,
};

_Static_assert((CACHE_BUCKETS & (CACHE_BUCKETS - 1)) == 0, "power of two");
_Static_assert((PEND_BUCKETS & (PEND_BUCKETS - 1)) == 0, "power of two");

/* A name in a chained hash index: an address, or a subnet padded with zeros. */
struct hnode {
	struct hnode *next;
	uint8_t dest[DEST_LEN];
};

struct centry {
	struct hnode by_addr;
	struct hnode by_subnet;
	struct list_node lru; /* on rwc.lru while used, on rwc.cache_free once recycled */
	uint8_t key[32];
	uint64_t last_used;
};

struct pentry {
	struct hnode by_dest;
	struct list_node age; /* on rwc.pend_age while used, else on rwc.pend_free */
	struct pkt *pkt;
	uint64_t queued;
	uint64_t lookup_at;
};

struct rwc {
	struct rwc_cbs cbs;
	struct pkt_pool *pool;
	uint32_t mtu;
	uint8_t addr[16];
	uint8_t subnet[8];
	/* key cache: entries [0, cache_hw) have been used at least once (keeps RSS low) */
	struct centry *cache;
	size_t cache_hw;
	size_t ncache;
	struct list_node lru;
	struct list_node cache_free;
	struct hnode **cbuckets;
	/* pending packets */
	struct pentry pend[RWC_PENDING_MAX];
	size_t npend;
	struct list_node pend_age;
	struct list_node pend_free;
	struct hnode *pbuckets[PEND_BUCKETS];
	/* the names of the last key traffic came from: a flow's packets skip §4.1 per packet */
	struct {
		bool set;
		uint8_t key[32];
		uint8_t addr[DEST_LEN];
		uint8_t subnet[DEST_LEN];
	} last_src;
	struct rwc_stats stats;
};

/* ---- the hash index ---- */

static size_t dest_hash(const uint8_t d[DEST_LEN], size_t nbuckets)
{
	uint64_t a, b, h;

	memcpy(&a, d, 8);
	memcpy(&b, d + 8, 8);
	h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	return (size_t)h & (nbuckets - 1);
}

static struct hnode *hfind(struct hnode *const *b, size_t nb, const uint8_t d[DEST_LEN])
{
	for (struct hnode *n = b[dest_hash(d, nb)]; n; n = n->next)
		if (!memcmp(n->dest, d, DEST_LEN))
			return n;
	return NULL;
}

/* Links n at the head of its chain, so it shadows older nodes with the same name. */
static void hinsert(struct hnode **b, size_t nb, struct hnode *n)
{
	struct hnode **head = &b[dest_hash(n->dest, nb)];

	n->next = *head;
	*head = n;
}

static void hremove(struct hnode **b, size_t nb, struct hnode *n)
{
	for (struct hnode **pp = &b[dest_hash(n->dest, nb)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			return;
		}
	}
}

/* The index name of an IPv6 address: itself (0x02), or its /64 padded (0x03), else false. */
static bool dest_of(const uint8_t ip[16], uint8_t out[DEST_LEN])
{
	if (ip[0] == ADDR_PREFIX) {
		memcpy(out, ip, 16);
		return true;
	}
	if (ip[0] == ADDR_SUBNET_PREFIX) {
		memcpy(out, ip, 8);
		memset(out + 8, 0, 8);
		return true;
	}
	return false;
}

/* ---- key cache (§5.3) ---- */

static struct centry *cache_find(const struct rwc *r, const uint8_t dest[DEST_LEN])
{
	struct hnode *n = hfind(r->cbuckets, CACHE_BUCKETS, dest);

	if (!n)
		return NULL;
	return dest[0] == ADDR_PREFIX ? container_of(n, struct centry, by_addr)
				      : container_of(n, struct centry, by_subnet);
}

static void cache_touch(struct rwc *r, struct centry *e, uint64_t now_ms)
{
	e->last_used = now_ms;
	list_del(&e->lru);
	list_add_tail(&r->lru, &e->lru);
}

static void cache_del(struct rwc *r, struct centry *e)
{
	hremove(r->cbuckets, CACHE_BUCKETS, &e->by_addr);
	hremove(r->cbuckets, CACHE_BUCKETS, &e->by_subnet);
	list_del(&e->lru);
	list_add_tail(&r->cache_free, &e->lru);
	r->ncache--;
}

static struct centry *cache_alloc(struct rwc *r)
{
	struct list_node *n = list_first(&r->cache_free);

	if (n) {
		list_del(n);
		return list_entry(n, struct centry, lru);
	}
	if (r->cache_hw < RWC_CACHE_MAX) {
		struct centry *e = &r->cache[r->cache_hw++];

		list_init(&e->lru);
		return e;
	}
	/* full: recycle the least recently used entry */
	cache_del(r, list_entry(list_first(&r->lru), struct centry, lru));
	r->stats.cache_evicted++;
	return cache_alloc(r);
}

/* The entry for key (created or refreshed); addr/subnet are key's names. */
static void cache_update(struct rwc *r, const uint8_t key[32], const uint8_t addr[DEST_LEN],
			 const uint8_t subnet[DEST_LEN], uint64_t now_ms)
{
	struct centry *e = cache_find(r, addr);

	if (e && memcmp(e->key, key, 32)) {
		/* Two keys with one address (2^-114 by chance): the newer one wins, as in Go. */
		cache_del(r, e);
		e = NULL;
	}
	if (!e) {
		e = cache_alloc(r);
		memcpy(e->key, key, 32);
		memcpy(e->by_addr.dest, addr, DEST_LEN);
		memcpy(e->by_subnet.dest, subnet, DEST_LEN);
		hinsert(r->cbuckets, CACHE_BUCKETS, &e->by_addr);
		hinsert(r->cbuckets, CACHE_BUCKETS, &e->by_subnet);
		list_add_tail(&r->lru, &e->lru);
		r->ncache++;
	}
	cache_touch(r, e, now_ms);
}

/* ---- pending packets (§5.1 step 5) ---- */

static void pend_del(struct rwc *r, struct pentry *e)
{
	hremove(r->pbuckets, PEND_BUCKETS, &e->by_dest);
	list_del(&e->age);
	list_add_tail(&r->pend_free, &e->age);
	e->pkt = NULL;
	r->npend--;
}

/* Unlinks the waiting packet for dest and returns it (now owned by the caller), or NULL. */
static struct pkt *pend_take(struct rwc *r, const uint8_t dest[DEST_LEN])
{
	struct hnode *n = hfind(r->pbuckets, PEND_BUCKETS, dest);
	struct pentry *e;
	struct pkt *p;

	if (!n)
		return NULL;
	e = container_of(n, struct pentry, by_dest);
	p = e->pkt;
	pend_del(r, e);
	return p;
}

static void lookup(struct rwc *r, const uint8_t dest[DEST_LEN])
{
	uint8_t partial[32], mask[32];

	/* §4.3: 16 bytes for an address, the 8 of a subnet (its zero tail carries no bits) */
	addr_partial_key(dest, dest[0] == ADDR_PREFIX ? ADDR_LEN : ADDR_SUBNET_LEN, partial, mask);
	r->stats.lookups++;
	r->cbs.lookup(r->cbs.ctx, partial);
}

/* Keeps p as THE waiting packet for dest (replacing an older one) and looks dest up. */
static void pend_put(struct rwc *r, const uint8_t dest[DEST_LEN], struct pkt *p, uint64_t now_ms)
{
	struct hnode *n = hfind(r->pbuckets, PEND_BUCKETS, dest);
	struct pentry *e;
	uint8_t d[DEST_LEN];
	bool is_due = true; /* a new destination is looked up at once */

	if (n) {
		e = container_of(n, struct pentry, by_dest);
		pkt_free(e->pkt);
		r->stats.pending_replaced++;
		list_del(&e->age);
		is_due = now_ms - e->lookup_at >= RWC_LOOKUP_THROTTLE_MS;
	} else {
		struct list_node *f = list_first(&r->pend_free);

		if (!f) {
			e = list_entry(list_first(&r->pend_age), struct pentry, age);
			pkt_free(e->pkt);
			pend_del(r, e);
			r->stats.pending_evicted++;
			f = list_first(&r->pend_free);
		}
		list_del(f);
		e = list_entry(f, struct pentry, age);
		memcpy(e->by_dest.dest, dest, DEST_LEN);
		hinsert(r->pbuckets, PEND_BUCKETS, &e->by_dest);
		r->npend++;
	}
	e->pkt = p;
	e->queued = now_ms;
	list_add_tail(&r->pend_age, &e->age);
	if (is_due) {
		e->lookup_at = now_ms;
		memcpy(d, dest, DEST_LEN);
		lookup(r, d); /* last: the callback may re-enter */
	}
}

/* ---- packets ---- */

/* §5.1 step 1 / §5.2 step 1, plus the payload length; trims bytes past it. */
static bool ip6_valid(struct pkt *p)
{
	size_t total;

	if (p->len < IP6_HLEN || (p->data[0] & 0xf0) != 0x60)
		return false;
	total = IP6_HLEN + ((size_t)p->data[IP6_OFF_PLEN] << 8 | p->data[IP6_OFF_PLEN + 1]);
	if (total > p->len)
		return false;
	pkt_trim(p, total);
	return true;
}

static bool is_ours(const struct rwc *r, const uint8_t ip[16])
{
	return !memcmp(ip, r->addr, 16) || !memcmp(ip, r->subnet, 8);
}

/*
 * The ICMPv6 Packet Too Big answering the IPv6 packet orig (len bytes), as yggdrasil builds it
 * (§5.2 step 2): src = orig's dst, dst = orig's src, hop limit 255, MTU = ours, then the first
 * RWC_PTB_QUOTE_MAX bytes of orig; checksum over the pseudo-header (RFC 4443 §2.3), all laid
 * out by lib/icmp. NULL when the pool is empty.
 */
static struct pkt *ptb_build(struct rwc *r, const uint8_t *orig, size_t len)
{
	const struct icmp_err e = {
	    .type = ICMP6_PKT_TOO_BIG,
	    .rest = r->mtu,
	    .max_len = IP6_HLEN + ICMP_HLEN + RWC_PTB_QUOTE_MAX,
	    .ttl = 255,
	};
	struct pkt *p = pkt_alloc(r->pool);

	if (!p || !icmp6_error(p, orig + IP6_OFF_DST, orig + IP6_OFF_SRC, &e, orig, len)) {
		pkt_free(p);
		r->stats.no_pkt++;
		return NULL;
	}
	return p;
}

/* [0x01] || p to key (§3.1). Consumes p. */
static void send_to(struct rwc *r, const uint8_t key[32], struct pkt *p)
{
	uint8_t *t = pkt_push(p, 1);

	if (!t) {
		pkt_free(p);
		r->stats.no_pkt++;
		return;
	}
	*t = RWC_TYPE_TRAFFIC;
	r->cbs.send(r->cbs.ctx, key, p);
}

/*
 * §5.3: key is now known: cache it and send what waited for its address and its /64. addr and
 * subnet are key's names (dest form).
 */
static void learn(struct rwc *r, const uint8_t key[32], const uint8_t addr[DEST_LEN],
		  const uint8_t subnet[DEST_LEN], uint64_t now_ms)
{
	struct pkt *pa, *ps;

	cache_update(r, key, addr, subnet, now_ms);
	if (!r->npend)
		return;
	pa = pend_take(r, addr);
	ps = pend_take(r, subnet);
	if (pa) {
		r->stats.pending_flushed++;
		send_to(r, key, pa);
	}
	if (ps) {
		r->stats.pending_flushed++;
		send_to(r, key, ps);
	}
}

/* A key's names in dest form. */
static void names_of(const uint8_t key[32], uint8_t addr[DEST_LEN], uint8_t subnet[DEST_LEN])
{
	addr_from_key(key, addr);
	memcpy(subnet, addr, 8); /* §4.2 */
	subnet[0] = ADDR_SUBNET_PREFIX;
	memset(subnet + 8, 0, 8);
}

/* §5.1 steps 1-5 for a packet from the TUN or a PTB we made. Consumes p. */
static enum rwc_verdict outbound(struct rwc *r, struct pkt *p, uint64_t now_ms)
{
	uint8_t dest[DEST_LEN], key[32];
	struct centry *e;
	struct pkt *ptb;

	if (!ip6_valid(p)) {
		r->stats.out_malformed++;
		goto drop;
	}
	if (!is_ours(r, p->data + IP6_OFF_SRC)) {
		r->stats.out_bad_src++; /* e.g. link-local traffic: quietly dropped */
		goto drop;
	}
	if (!dest_of(p->data + IP6_OFF_DST, dest)) {
		r->stats.out_bad_dst++;
		goto drop;
	}
	if (p->len > r->mtu) {
		r->stats.out_too_big++;
		ptb = ptb_build(r, p->data, p->len);
		pkt_free(p);
		if (ptb)
			r->cbs.to_tun(r->cbs.ctx, ptb);
		return RWC_REJECT;
	}
	if ((e = cache_find(r, dest))) {
		cache_touch(r, e, now_ms);
		memcpy(key, e->key, 32);
		r->stats.out_sent++;
		send_to(r, key, p);
		return RWC_PASS;
	}
	r->stats.out_pending++;
	pend_put(r, dest, p, now_ms);
	return RWC_PENDING;
drop:
	pkt_free(p);
	return RWC_DROP;
}

/* ---- API ---- */

struct rwc *rwc_new(const uint8_t our_key[static 32], uint32_t mtu, struct pkt_pool *pool,
		    const struct rwc_cbs *cbs)
{
	struct rwc *r = xcalloc(1, sizeof(*r));

	r->cbs = *cbs;
	r->pool = pool;
	r->mtu = mtu < RWC_MTU_MIN ? RWC_MTU_MIN : mtu > RWC_MTU_MAX ? RWC_MTU_MAX : mtu;
	addr_from_key(our_key, r->addr);
	addr_subnet_from_key(our_key, r->subnet);
	r->cache = xcalloc(RWC_CACHE_MAX, sizeof(*r->cache));
	r->cbuckets = xcalloc(CACHE_BUCKETS, sizeof(*r->cbuckets));
	list_init(&r->lru);
	list_init(&r->cache_free);
	list_init(&r->pend_age);
	list_init(&r->pend_free);
	for (size_t i = 0; i < RWC_PENDING_MAX; i++)
		list_add_tail(&r->pend_free, &r->pend[i].age);
	return r;
}

void rwc_free(struct rwc *r)
{
	struct list_node *n;

	if (!r)
		return;
	while ((n = list_first(&r->pend_age))) {
		struct pentry *e = list_entry(n, struct pentry, age);

		pkt_free(e->pkt);
		pend_del(r, e);
	}
	free(r->cbuckets);
	free(r->cache);
	free(r);
}

uint32_t rwc_mtu(const struct rwc *r)
{
	return r->mtu;
}

enum rwc_verdict rwc_from_tun(struct rwc *r, struct pkt *pkt, uint64_t now_ms)
{
	return outbound(r, pkt, now_ms);
}

enum rwc_verdict rwc_from_core(struct rwc *r, const uint8_t src[static 32], struct pkt *pkt,
			       uint64_t now_ms)
{
	uint8_t key[32], addr[DEST_LEN], subnet[DEST_LEN];
	const uint8_t *s;
	struct pkt *ptb;

	if (!ip6_valid(pkt)) {
		r->stats.in_malformed++;
		goto drop;
	}
	if (!is_ours(r, pkt->data + IP6_OFF_DST)) {
		r->stats.in_bad_dst++;
		goto drop;
	}
	/* §5.2 step 4: traffic from an authenticated key teaches (and refreshes) its names */
	if (!r->last_src.set || memcmp(r->last_src.key, src, 32)) {
		memcpy(r->last_src.key, src, 32);
		names_of(src, r->last_src.addr, r->last_src.subnet);
		r->last_src.set = true;
	}
	memcpy(key, src, 32); /* locals: learn's callbacks may re-enter */
	memcpy(addr, r->last_src.addr, DEST_LEN);
	memcpy(subnet, r->last_src.subnet, DEST_LEN);
	learn(r, key, addr, subnet, now_ms);
	/* §5.2 step 5, the anti-spoofing rule */
	s = pkt->data + IP6_OFF_SRC;
	if (memcmp(s, addr, 16) && memcmp(s, subnet, 8)) {
		r->stats.in_bad_src++;
		goto drop;
	}
	if (pkt->len > r->mtu) {
		/* §5.2 step 2: the receiver answers; the PTB goes back through §5.1 */
		r->stats.in_too_big++;
		ptb = ptb_build(r, pkt->data, pkt->len);
		pkt_free(pkt);
		if (ptb)
			outbound(r, ptb, now_ms);
		return RWC_REJECT;
	}
	r->stats.in_delivered++;
	r->cbs.to_tun(r->cbs.ctx, pkt);
	return RWC_PASS;
drop:
	pkt_free(pkt);
	return RWC_DROP;
}

void rwc_key_found(struct rwc *r, const uint8_t key[static 32], uint64_t now_ms)
{
	uint8_t k[32], addr[DEST_LEN], subnet[DEST_LEN];

	memcpy(k, key, 32); /* key may live in a table a callback changes */
	names_of(k, addr, subnet);
	learn(r, k, addr, subnet, now_ms);
}

void rwc_tick(struct rwc *r, uint64_t now_ms)
{
	struct list_node *n;

	while ((n = list_first(&r->lru))) {
		struct centry *e = list_entry(n, struct centry, lru);

		if (now_ms - e->last_used < RWC_CACHE_TIMEOUT_MS)
			break;
		cache_del(r, e);
		r->stats.cache_expired++;
	}
	while ((n = list_first(&r->pend_age))) {
		struct pentry *e = list_entry(n, struct pentry, age);

		if (now_ms - e->queued < RWC_PENDING_TIMEOUT_MS)
			break;
		pkt_free(e->pkt);
		pend_del(r, e);
		r->stats.pending_expired++;
	}
}

bool rwc_find_key(const struct rwc *r, const uint8_t ip[static 16], uint8_t key[static 32])
{
	uint8_t dest[DEST_LEN];
	const struct centry *e;

	if (!dest_of(ip, dest) || !(e = cache_find(r, dest)))
		return false;
	memcpy(key, e->key, 32);
	return true;
}

size_t rwc_cache_count(const struct rwc *r)
{
	return r->ncache;
}

size_t rwc_pending_count(const struct rwc *r)
{
	return r->npend;
}

const struct rwc_stats *rwc_get_stats(const struct rwc *r)
{
	return &r->stats;
}
