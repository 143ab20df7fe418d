/*
 * ckr: crypto-key routing (see ckr.h; spec sessions-core-admin §7.4, nat64-requirements §F).
 *
 * Owns: two longest-prefix-match tables per family (lib/lpm): the routes, whose values are
 * heap struct ckr_route_info (prefix and key) freed with their route, and the local subnets,
 * whose values are only a marker (the ckr itself); the ICMP token bucket; the counters.
 *
 * Invariants: no route overlaps 200::/7; a prefix is routed to one key at most, so the longest
 * match is unique (lpm.h); the tables change only through the control-plane calls, never on
 * the data path, which does not allocate (pkts come from the pool).
 *
 * Checks per direction, in this order (each failure is one counter, STYLE.md §10):
 *   out: a whole packet -> not link-scoped -> source local -> destination routed -> fits the
 *        MTU -> send
 *   in:  a whole packet -> source routed to the sender -> destination local -> fits -> TUN
 * The inbound source check comes first so that nothing, not even an ICMP error, is sent about
 * a packet whose source the sender does not own (as rwc does for IPv6).
 *
 * Deliberate differences from yggdrasilckr 0.5 (the same for valid traffic): inbound, the
 * destination must be local (it delivers any destination); outbound, the source must be local
 * (it sends any source); it answers oversized packets by quoting all of them, we quote what
 * RFC 1812 §4.3.2.3 / RFC 4443 §2.4 (c) allow and fragment IPv4 without DF instead.
 *
 * Timers: none; the ICMP bucket refills from the now_ms of each packet.
 */
#include "core/ckr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/csum.h"
#include "lib/icmp.h"
#include "lib/inet.h"
#include "lib/ipfrag.h"
#include "lib/lpm.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "lib/tbucket.h"

enum {
	IP4_HLEN = 20,
	IP4_OFF_LEN = 2,
	IP4_OFF_FLAGS = 6,
	IP4_FLAG_DF = 0x40, /* in the byte at IP4_OFF_FLAGS (RFC 791 §3.1) */
	IP4_OFF_SRC = 12,
	IP4_OFF_DST = 16,
	IP6_HLEN = 40,
	IP6_OFF_PLEN = 4,
	IP6_OFF_SRC = 8,
	IP6_OFF_DST = 24,
};

struct ckr {
	struct ckr_cbs cbs;
	struct pkt_pool *pool;
	uint32_t mtu;
	struct lpm *routes[2]; /* [0] IPv4, [1] IPv6; values: struct ckr_route_info * */
	struct lpm *locals[2]; /* values: the ckr itself, as a marker */
	struct tbucket bucket; /* ICMP errors: CKR_ICMP_RATE per second, CKR_ICMP_BURST at once */
	struct ckr_stats stats;
};

/* The header fields the checks read, from a packet that parse() accepted. */
struct hdr {
	int fam; /* 0 IPv4, 1 IPv6: the index into the tables */
	const uint8_t *src;
	const uint8_t *dst;
	bool has_df; /* IPv4 Don't Fragment */
};

static const struct inet_prefix ygg_space = {AF_INET6, 7, {0x02}};

/* 0 for IPv4, 1 for IPv6, -1 for a bad family or length. */
static int fam_of(const struct inet_prefix *p)
{
	if (p->family == AF_INET && p->len <= 32)
		return 0;
	if (p->family == AF_INET6 && p->len <= 128)
		return 1;
	return -1;
}

/* p's address with the host bits cleared, into out (16 bytes). */
static void masked(const struct inet_prefix *p, uint8_t out[16])
{
	memset(out, 0, 16);
	memcpy(out, p->addr, (size_t)p->len / 8);
	if (p->len % 8)
		out[p->len / 8] = (uint8_t)(p->addr[p->len / 8] & (0xff00 >> (p->len % 8)));
}

/* ---- packets ---- */

/*
 * A whole IPv4 packet (header length, total length and header checksum agree, RFC 1812
 * §5.2.2) or IPv6 packet (payload length, RFC 8200 §3) at p->data; bytes past its length are
 * trimmed. Fills h.
 */
static bool parse(struct pkt *p, struct hdr *h)
{
	const uint8_t *b = p->data;
	size_t ihl, total;

	if (p->len >= IP4_HLEN && b[0] >> 4 == 4) {
		ihl = (size_t)(b[0] & 0x0f) * 4;
		total = (size_t)b[IP4_OFF_LEN] << 8 | b[IP4_OFF_LEN + 1];
		if (ihl < IP4_HLEN || total < ihl || total > p->len)
			return false;
		if (csum_fold(csum_partial(b, ihl, 0)) != 0xffff)
			return false;
		pkt_trim(p, total);
		h->fam = 0;
		h->src = b + IP4_OFF_SRC;
		h->dst = b + IP4_OFF_DST;
		h->has_df = b[IP4_OFF_FLAGS] & IP4_FLAG_DF;
		return true;
	}
	if (p->len >= IP6_HLEN && b[0] >> 4 == 6) {
		total = IP6_HLEN + ((size_t)b[IP6_OFF_PLEN] << 8 | b[IP6_OFF_PLEN + 1]);
		if (total > p->len)
			return false;
		pkt_trim(p, total);
		h->fam = 1;
		h->src = b + IP6_OFF_SRC;
		h->dst = b + IP6_OFF_DST;
		h->has_df = false;
		return true;
	}
	return false;
}

static bool is_ll6(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; /* fe80::/10 */
}

/*
 * Traffic that no router forwards (RFC 4291 §2.5.6 and §2.7 scopes 1 and 2; RFC 5771 §4 for
 * 224.0.0.0/24; RFC 919 for the limited broadcast): what the host's stack sends on every
 * interface, such as router solicitations and MLD reports. Dropped without an error and
 * counted apart, so that the refusal counters show real refusals only.
 */
static bool is_link_scoped(const struct hdr *h)
{
	static const uint8_t bcast[4] = {255, 255, 255, 255};

	if (h->fam == 0)
		return (h->dst[0] == 224 && h->dst[1] == 0 && h->dst[2] == 0) ||
		       !memcmp(h->dst, bcast, sizeof(bcast));
	return is_ll6(h->src) || is_ll6(h->dst) || (h->dst[0] == 0xff && (h->dst[1] & 0x0f) <= 2);
}

/* [0x01] || p to key (sessions spec §3.1). Consumes p; false when p had no headroom. */
static bool send_to(struct ckr *c, const uint8_t key[32], struct pkt *p)
{
	uint8_t *t = pkt_push(p, 1);

	if (!t) {
		c->stats.no_pkt++;
		pkt_free(p);
		return false;
	}
	*t = CKR_TYPE_TRAFFIC;
	c->cbs.send(c->cbs.ctx, key, p);
	return true;
}

static enum ckr_verdict outbound(struct ckr *c, struct pkt *p, uint64_t now_ms);

/*
 * Answers p with the ICMP error e, from p's destination to its source (the error appears to
 * come from the address the packet could not reach, as yggdrasil's Packet Too Big does), and
 * frees p. The error goes to the TUN (is_to_tun: p came from there) or back into the overlay
 * through the outbound checks (p came from a remote node). Not sent, but counted, when the
 * RFCs forbid it, the rate limit is reached or the pool is empty.
 */
static enum ckr_verdict reply(struct ckr *c, struct pkt *p, const struct hdr *h,
			      const struct icmp_err *e, bool is_to_tun, uint64_t now_ms)
{
	bool may =
	    h->fam == 0 ? icmp4_may_answer(p->data, p->len) : icmp6_may_answer(p->data, p->len, e);
	struct pkt *q = NULL;
	size_t n;

	if (!may) {
		c->stats.icmp_suppressed++;
		goto out;
	}
	if (!tbucket_take(&c->bucket, now_ms)) {
		c->stats.icmp_limited++;
		goto out;
	}
	q = pkt_alloc(c->pool);
	n = !q		  ? 0
	    : h->fam == 0 ? icmp4_error(q, h->dst, h->src, e, p->data, p->len)
			  : icmp6_error(q, h->dst, h->src, e, p->data, p->len);
	if (!n) {
		c->stats.no_pkt++;
		pkt_free(q);
		goto out;
	}
	c->stats.icmp_sent++;
	pkt_free(p); /* h points into p: q is complete first */
	if (is_to_tun)
		c->cbs.to_tun(c->cbs.ctx, q);
	else
		outbound(c, q, now_ms);
	return CKR_REJECT;
out:
	pkt_free(p);
	return CKR_REJECT;
}

/* Destination Unreachable with the IPv4 code, or its ICMPv6 counterpart (RFC 4443 §3.1). */
static struct icmp_err unreach(const struct hdr *h, uint8_t code4, uint8_t code6)
{
	if (h->fam == 0)
		return (struct icmp_err){.type = ICMP4_DEST_UNREACH, .code = code4};
	return (struct icmp_err){.type = ICMP6_DEST_UNREACH, .code = code6};
}

/* Fragmentation Needed with the next-hop MTU (RFC 1191 §4), or Packet Too Big (RFC 4443 §3.2). */
static struct icmp_err too_big(const struct ckr *c, const struct hdr *h)
{
	if (h->fam == 0)
		return (struct icmp_err){
		    .type = ICMP4_DEST_UNREACH, .code = ICMP4_FRAG_NEEDED, .rest = c->mtu};
	return (struct icmp_err){.type = ICMP6_PKT_TOO_BIG, .rest = c->mtu};
}

struct frag_ctx {
	struct ckr *c;
	const uint8_t *key; /* NULL: to the TUN */
	uint64_t bytes;
};

static void on_fragment(void *ctx, struct pkt *frag)
{
	struct frag_ctx *f = ctx;

	f->bytes += frag->len;
	if (f->key)
		send_to(f->c, f->key, frag);
	else
		f->c->cbs.to_tun(f->c->cbs.ctx, frag);
}

/*
 * IPv4 without DF, larger than the MTU: cut as a router would (RFC 791 §2.3, RFC 1812
 * §5.2.6) and passed on in pieces (to key, or to the TUN when key is NULL). Consumes p.
 */
static enum ckr_verdict fragment(struct ckr *c, struct ckr_dir_stats *s, const uint8_t *key,
				 struct pkt *p)
{
	struct frag_ctx f = {c, key, 0};
	int r = ipfrag_split4(p, c->mtu, c->pool, on_fragment, &f);

	pkt_free(p);
	if (r < 0) {
		s->frag_failed++;
		return CKR_DROP;
	}
	s->fragmented++;
	s->passed++;
	s->bytes += f.bytes;
	return CKR_PASS;
}

/* §F 46: a packet from the TUN, or an ICMP error we built for a remote node. Consumes p. */
static enum ckr_verdict outbound(struct ckr *c, struct pkt *p, uint64_t now_ms)
{
	struct ckr_dir_stats *s = &c->stats.out;
	const struct ckr_route_info *r;
	struct icmp_err e;
	uint8_t key[32];
	struct hdr h;
	size_t len;

	if (!parse(p, &h)) {
		s->malformed++;
		pkt_free(p);
		return CKR_DROP;
	}
	if (is_link_scoped(&h)) {
		s->link_scoped++;
		pkt_free(p);
		return CKR_DROP;
	}
	if (!lpm_lookup(c->locals[h.fam], h.src, NULL)) {
		s->bad_src++;
		e = unreach(&h, ICMP4_ADMIN_PROHIBITED, ICMP6_ADMIN_PROHIBITED);
		return reply(c, p, &h, &e, true, now_ms);
	}
	r = lpm_lookup(c->routes[h.fam], h.dst, NULL);
	if (!r) {
		s->bad_dst++;
		e = unreach(&h, ICMP4_NET_UNREACH, ICMP6_NO_ROUTE);
		return reply(c, p, &h, &e, true, now_ms);
	}
	memcpy(key, r->key, sizeof(key));
	if (p->len > c->mtu) {
		if (h.fam == 0 && !h.has_df)
			return fragment(c, s, key, p);
		s->too_big++;
		e = too_big(c, &h);
		return reply(c, p, &h, &e, true, now_ms);
	}
	len = p->len;
	if (!send_to(c, key, p))
		return CKR_DROP; /* counted as no_pkt */
	s->passed++;
	s->bytes += len;
	return CKR_PASS;
}

/* ---- API ---- */

struct ckr *ckr_new(uint32_t mtu, struct pkt_pool *pool, const struct ckr_cbs *cbs)
{
	struct ckr *c = xcalloc(1, sizeof(*c));

	c->cbs = *cbs;
	c->pool = pool;
	c->mtu = mtu < CKR_MTU_MIN ? CKR_MTU_MIN : mtu > CKR_MTU_MAX ? CKR_MTU_MAX : mtu;
	tbucket_init(&c->bucket, CKR_ICMP_RATE, CKR_ICMP_BURST);
	c->routes[0] = lpm_new(32);
	c->routes[1] = lpm_new(128);
	c->locals[0] = lpm_new(32);
	c->locals[1] = lpm_new(128);
	return c;
}

static bool free_route(void *ctx, const uint8_t *addr, unsigned len, void *value)
{
	(void)ctx;
	(void)addr;
	(void)len;
	free(value);
	return true;
}

void ckr_free(struct ckr *c)
{
	if (!c)
		return;
	for (int i = 0; i < 2; i++) {
		lpm_foreach(c->routes[i], free_route, NULL);
		lpm_free(c->routes[i]);
		lpm_free(c->locals[i]);
	}
	free(c);
}

uint32_t ckr_mtu(const struct ckr *c)
{
	return c->mtu;
}

int ckr_add_route(struct ckr *c, const struct inet_prefix *p, const uint8_t key[32])
{
	int fam = fam_of(p), r;
	struct ckr_route_info *ri;

	if (fam < 0 || (fam == 1 && inet_prefix_overlaps(p, &ygg_space)))
		return -EINVAL;
	ri = xcalloc(1, sizeof(*ri));
	ri->family = p->family;
	ri->len = p->len;
	masked(p, ri->addr);
	memcpy(ri->key, key, sizeof(ri->key));
	r = lpm_insert(c->routes[fam], ri->addr, ri->len, ri);
	if (r < 0) {
		free(ri);
		return r;
	}
	return 0;
}

int ckr_remove_route(struct ckr *c, const struct inet_prefix *p, const uint8_t *key,
		     uint8_t old[32])
{
	int fam = fam_of(p);
	struct ckr_route_info *ri;
	uint8_t a[16];

	if (fam < 0)
		return -ENOENT;
	masked(p, a);
	ri = lpm_find(c->routes[fam], a, p->len);
	if (!ri || (key && memcmp(ri->key, key, sizeof(ri->key))))
		return -ENOENT;
	lpm_remove(c->routes[fam], a, p->len);
	if (old)
		memcpy(old, ri->key, sizeof(ri->key));
	free(ri);
	return 0;
}

bool ckr_route_for(const struct ckr *c, const struct inet_prefix *a, struct ckr_route_info *route)
{
	int fam = fam_of(a);
	const struct ckr_route_info *ri;

	if (fam < 0 || !(ri = lpm_lookup(c->routes[fam], a->addr, NULL)))
		return false;
	if (route)
		*route = *ri;
	return true;
}

int ckr_add_local(struct ckr *c, const struct inet_prefix *p)
{
	int fam = fam_of(p);
	uint8_t a[16];

	if (fam < 0 || (fam == 1 && inet_prefix_overlaps(p, &ygg_space)))
		return -EINVAL;
	masked(p, a);
	return lpm_insert(c->locals[fam], a, p->len, c);
}

bool ckr_is_local(const struct ckr *c, const struct inet_prefix *a)
{
	int fam = fam_of(a);

	return fam >= 0 && lpm_lookup(c->locals[fam], a->addr, NULL) != NULL;
}

struct walk {
	ckr_route_cb *cb;
	void *ctx;
	uint8_t family;
};

static bool walk_route(void *ctx, const uint8_t *addr, unsigned len, void *value)
{
	struct walk *w = ctx;

	(void)addr;
	(void)len;
	w->cb(w->ctx, value);
	return true;
}

static bool walk_local(void *ctx, const uint8_t *addr, unsigned len, void *value)
{
	struct walk *w = ctx;
	struct ckr_route_info ri = {.family = w->family, .len = (uint8_t)len};

	(void)value;
	memcpy(ri.addr, addr, w->family == AF_INET ? 4 : 16);
	w->cb(w->ctx, &ri);
	return true;
}

void ckr_foreach_route(const struct ckr *c, ckr_route_cb *cb, void *ctx)
{
	struct walk w = {cb, ctx, 0};

	lpm_foreach(c->routes[0], walk_route, &w);
	lpm_foreach(c->routes[1], walk_route, &w);
}

void ckr_foreach_local(const struct ckr *c, ckr_route_cb *cb, void *ctx)
{
	struct walk w = {cb, ctx, AF_INET};

	lpm_foreach(c->locals[0], walk_local, &w);
	w.family = AF_INET6;
	lpm_foreach(c->locals[1], walk_local, &w);
}

size_t ckr_route_count(const struct ckr *c)
{
	return lpm_count(c->routes[0]) + lpm_count(c->routes[1]);
}

const struct ckr_stats *ckr_get_stats(const struct ckr *c)
{
	return &c->stats;
}

enum ckr_verdict ckr_from_tun(struct ckr *c, struct pkt *pkt, uint64_t now_ms)
{
	return outbound(c, pkt, now_ms);
}

/* §F 47. */
enum ckr_verdict ckr_from_core(struct ckr *c, const uint8_t src[static 32], struct pkt *pkt,
			       uint64_t now_ms)
{
	struct ckr_dir_stats *s = &c->stats.in;
	const struct ckr_route_info *r;
	struct icmp_err e;
	struct hdr h;

	if (!parse(pkt, &h)) {
		s->malformed++;
		goto drop;
	}
	r = lpm_lookup(c->routes[h.fam], h.src, NULL);
	if (!r || memcmp(r->key, src, sizeof(r->key))) {
		s->bad_src++;
		goto drop;
	}
	if (!lpm_lookup(c->locals[h.fam], h.dst, NULL)) {
		s->bad_dst++;
		goto drop;
	}
	if (pkt->len > c->mtu) {
		if (h.fam == 0 && !h.has_df)
			return fragment(c, s, NULL, pkt);
		s->too_big++;
		e = too_big(c, &h);
		return reply(c, pkt, &h, &e, false, now_ms);
	}
	s->passed++;
	s->bytes += pkt->len;
	c->cbs.to_tun(c->cbs.ctx, pkt);
	return CKR_PASS;
drop:
	pkt_free(pkt);
	return CKR_DROP;
}
