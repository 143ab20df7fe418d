/*
 * Tests for core/rwc, the IPv6 adapter (spec yggdrasil-sessions-core-admin.md §5), with
 * hand-built IPv6 packets, fake callbacks and a fake clock: header, source and destination
 * checks both ways, the key cache learned from path notifies and from inbound traffic, the
 * single pending packet per address or /64 and its flush, the lookup throttle, ICMPv6 Packet
 * Too Big (bytes and checksum, checked by an independent routine), expiry, the table bounds,
 * re-entrancy, and that every pool pkt comes back.
 *
 * Keys, addresses and partial keys are rows of the spec's §4.4 vectors (addr-vectors.tsv,
 * derived-vectors.tsv), written out here; addresses are parsed with libc inet_pton.
 */
#include "core/addr.h"
#include "core/rwc.h"
#include "lib/pkt.h"
#include "support/hex.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* §4.4 rows 1-3 */
#define K0_HEX "55b7f7ac49b764912af78082b27d75dacbefba6c90591d4b094b2e8f662261d9"
#define K0_ADDR "201:a920:214e:d922:6dbb:5421:fdf5:360a"
#define K0_NET "301:a920:214e:d922::"
#define K1_HEX "a69f78208abaad0984dedecaee36598192508cb566211cdbefd991a4d4cbceaf"
#define K1_ADDR "200:b2c1:fbe:ea8a:a5ec:f642:426a:2393"
#define K1_NET "300:b2c1:fbe:ea8a::"
/* derived-vectors.tsv: partial key of K1's address, and xKey (= partial key of its subnet) */
#define K1_PARTIAL "a69f78208abaad0984dedecaee367fffffffffffffffffffffffffffffffffff"
#define K1_XKEY "a69f78208abaffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define K2_HEX "053530b8075cf11734c6f8aa83e7ac6379a6de0cd567a5155304ab9a41c71f46"
#define K2_ADDR "205:b2b3:d1fe:28c3:ba32:ce41:d55f:614"

enum { MAXREC = 300, KEEP = 2048 };

struct rec {
	uint8_t key[32];
	size_t len;
	uint8_t b[KEEP];
};

struct env {
	struct pkt_pool *pool;
	struct rwc *r;
	uint8_t k0[32], k1[32], k2[32];
	uint8_t a0[16], n0[16], a1[16], n1[16], a2[16];
	int nsent, nlookups, ntun;
	struct rec sent[MAXREC];
	uint8_t lookups[MAXREC][32];
	struct rec tun[MAXREC];
	/* re-entrancy: the lookup callback calls rwc_key_found with this key */
	const uint8_t *found_on_lookup;
	uint64_t now;
};

static struct env E;

static void record(struct rec *r, const uint8_t *key, const struct pkt *p)
{
	if (key)
		memcpy(r->key, key, 32);
	r->len = p->len;
	memcpy(r->b, p->data, p->len < KEEP ? p->len : KEEP);
}

static void f_send(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct env *e = ctx;

	cr_assert_lt(e->nsent, MAXREC);
	record(&e->sent[e->nsent++], dest, p);
	pkt_free(p);
}

static void f_lookup(void *ctx, const uint8_t partial[32])
{
	struct env *e = ctx;

	cr_assert_lt(e->nlookups, MAXREC);
	memcpy(e->lookups[e->nlookups++], partial, 32);
	if (e->found_on_lookup)
		rwc_key_found(e->r, e->found_on_lookup, e->now);
}

static void f_to_tun(void *ctx, struct pkt *p)
{
	struct env *e = ctx;

	cr_assert_lt(e->ntun, MAXREC);
	record(&e->tun[e->ntun++], NULL, p);
	pkt_free(p);
}

static void ip(const char *s, uint8_t out[16])
{
	cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "bad address %s", s);
}

static void unhex32(const char *hex, uint8_t out[32])
{
	cr_assert_eq(th_unhex(hex, out, 32), 32);
}

static void env_init(uint32_t mtu, size_t npkts, size_t cap)
{
	static const struct rwc_cbs cbs = {
	    .ctx = &E, .send = f_send, .lookup = f_lookup, .to_tun = f_to_tun};

	memset(&E, 0, sizeof(E));
	unhex32(K0_HEX, E.k0);
	unhex32(K1_HEX, E.k1);
	unhex32(K2_HEX, E.k2);
	ip(K0_ADDR, E.a0);
	ip(K0_NET, E.n0);
	ip(K1_ADDR, E.a1);
	ip(K1_NET, E.n1);
	ip(K2_ADDR, E.a2);
	E.pool = pkt_pool_new(npkts, cap);
	cr_assert_not_null(E.pool);
	E.r = rwc_new(E.k0, mtu, E.pool, &cbs);
	cr_assert_not_null(E.r);
}

static size_t in_use(void)
{
	struct pkt_pool_info info;

	pkt_pool_info(E.pool, &info);
	return info.in_use;
}

static void env_fini(void)
{
	rwc_free(E.r);
	cr_assert_eq(in_use(), 0, "pkts leaked");
	pkt_pool_free(E.pool);
}

/* An IPv6/UDP-ish packet of total length len (>= 40) with a byte pattern after the header. */
static struct pkt *mk(const uint8_t src[16], const uint8_t dst[16], size_t len)
{
	struct pkt *p = pkt_alloc(E.pool);
	uint8_t *b;
	size_t plen = len - 40;

	cr_assert_not_null(p);
	b = pkt_put(p, len);
	cr_assert_not_null(b);
	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (uint8_t)(plen >> 8);
	b[5] = (uint8_t)plen;
	b[6] = 17;
	b[7] = 64;
	memcpy(b + 8, src, 16);
	memcpy(b + 24, dst, 16);
	for (size_t i = 40; i < len; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	return p;
}

/* addr with its last byte changed: another host of the same /64 */
static void host_in(const uint8_t net[16], uint8_t last, uint8_t out[16])
{
	memcpy(out, net, 16);
	out[15] = last;
}

static const struct rwc_stats *st(void)
{
	return rwc_get_stats(E.r);
}

/* ---- outbound (§5.1) ---- */

Test(rwc, vectors_match_addr_module)
{
	uint8_t a[16], s[8];

	env_init(65535, 8, 2048);
	addr_from_key(E.k1, a);
	addr_subnet_from_key(E.k1, s);
	cr_assert_arr_eq(a, E.a1, 16);
	cr_assert_arr_eq(s, E.n1, 8);
	env_fini();
}

Test(rwc, out_cached_key_gets_type_byte)
{
	struct pkt *p;
	uint8_t pkt_copy[100], key[32];

	env_init(65535, 8, 2048);
	rwc_key_found(E.r, E.k1, 0);
	cr_assert_eq(rwc_cache_count(E.r), 1);
	cr_assert(rwc_find_key(E.r, E.a1, key));
	cr_assert_arr_eq(key, E.k1, 32);
	p = mk(E.a0, E.a1, 100);
	memcpy(pkt_copy, p->data, 100);
	cr_assert_eq(rwc_from_tun(E.r, p, 10), RWC_PASS);
	cr_assert_eq(E.nsent, 1);
	cr_assert_arr_eq(E.sent[0].key, E.k1, 32);
	cr_assert_eq(E.sent[0].len, 101);
	cr_assert_eq(E.sent[0].b[0], 0x01);
	cr_assert_arr_eq(E.sent[0].b + 1, pkt_copy, 100);
	cr_assert_eq(E.nlookups, 0);
	cr_assert_eq(st()->out_sent, 1);
	env_fini();
}

Test(rwc, out_malformed_dropped)
{
	struct pkt *p;

	env_init(65535, 8, 2048);
	rwc_key_found(E.r, E.k1, 0);
	p = mk(E.a0, E.a1, 60);
	p->data[0] = 0x45; /* IPv4 */
	cr_assert_eq(rwc_from_tun(E.r, p, 0), RWC_DROP);
	p = mk(E.a0, E.a1, 60);
	pkt_trim(p, 39); /* shorter than a header */
	cr_assert_eq(rwc_from_tun(E.r, p, 0), RWC_DROP);
	p = mk(E.a0, E.a1, 60);
	p->data[5] = 21; /* payload length one past the end */
	cr_assert_eq(rwc_from_tun(E.r, p, 0), RWC_DROP);
	cr_assert_eq(st()->out_malformed, 3);
	cr_assert_eq(E.nsent, 0);
	/* bytes past the payload length are trimmed, not sent */
	p = mk(E.a0, E.a1, 60);
	p->data[5] = 12;
	cr_assert_eq(rwc_from_tun(E.r, p, 0), RWC_PASS);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 1 + 52);
	env_fini();
}

Test(rwc, out_source_must_be_ours)
{
	uint8_t ll[16], other[16], in_net[16];

	env_init(65535, 8, 2048);
	rwc_key_found(E.r, E.k1, 0);
	ip("fe80::1", ll);
	cr_assert_eq(rwc_from_tun(E.r, mk(ll, E.a1, 48), 0), RWC_DROP);
	/* another node's address, and a host in another /64 */
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a2, E.a1, 48), 0), RWC_DROP);
	host_in(E.n1, 9, other);
	cr_assert_eq(rwc_from_tun(E.r, mk(other, E.a1, 48), 0), RWC_DROP);
	cr_assert_eq(st()->out_bad_src, 3);
	/* our address and any host of our /64 pass */
	host_in(E.n0, 0x42, in_net);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 0), RWC_PASS);
	cr_assert_eq(rwc_from_tun(E.r, mk(in_net, E.a1, 48), 0), RWC_PASS);
	cr_assert_eq(E.nsent, 2);
	env_fini();
}

Test(rwc, out_destination_must_be_ygg)
{
	uint8_t d[16];

	env_init(65535, 8, 2048);
	ip("2001:db8::1", d);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, d, 48), 0), RWC_DROP);
	ip("ff02::1", d);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, d, 48), 0), RWC_DROP);
	ip("400::1", d);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, d, 48), 0), RWC_DROP);
	cr_assert_eq(st()->out_bad_dst, 3);
	cr_assert_eq(E.nlookups, 0);
	cr_assert_eq(rwc_pending_count(E.r), 0);
	env_fini();
}

Test(rwc, out_miss_keeps_packet_and_looks_up_partial_key)
{
	uint8_t want[32], mask[32], partial[32];
	struct pkt *p;
	uint8_t copy[80];

	env_init(65535, 8, 2048);
	p = mk(E.a0, E.a1, 80);
	memcpy(copy, p->data, 80);
	cr_assert_eq(rwc_from_tun(E.r, p, 5), RWC_PENDING);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.nlookups, 1);
	unhex32(K1_PARTIAL, want);
	cr_assert_arr_eq(E.lookups[0], want, 32);
	/* the full key matches what the lookup asked for */
	addr_partial_key(E.a1, 16, partial, mask);
	cr_assert(addr_key_matches(partial, mask, E.k1));
	/* another key (K2) is found: nothing is sent */
	rwc_key_found(E.r, E.k2, 100);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	/* K1's notify arrives: the waiting packet leaves with the type byte */
	rwc_key_found(E.r, E.k1, 200);
	cr_assert_eq(E.nsent, 1);
	cr_assert_arr_eq(E.sent[0].key, E.k1, 32);
	cr_assert_eq(E.sent[0].len, 81);
	cr_assert_eq(E.sent[0].b[0], 0x01);
	cr_assert_arr_eq(E.sent[0].b + 1, copy, 80);
	cr_assert_eq(rwc_pending_count(E.r), 0);
	cr_assert_eq(st()->pending_flushed, 1);
	/* and the next one goes straight out */
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 60), 300), RWC_PASS);
	cr_assert_eq(E.nsent, 2);
	cr_assert_eq(E.nlookups, 1);
	env_fini();
}

Test(rwc, out_pending_is_replaced_by_the_last_packet)
{
	struct pkt *p;

	env_init(65535, 8, 2048);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 50), 0), RWC_PENDING);
	p = mk(E.a0, E.a1, 70);
	p->data[40] = 0xee;
	cr_assert_eq(rwc_from_tun(E.r, p, 10), RWC_PENDING);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	cr_assert_eq(in_use(), 1, "the replaced packet went back to the pool");
	cr_assert_eq(st()->pending_replaced, 1);
	rwc_key_found(E.r, E.k1, 20);
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 71);
	cr_assert_eq(E.sent[0].b[1 + 40], 0xee);
	env_fini();
}

Test(rwc, out_lookup_throttled_per_destination)
{
	env_init(65535, 8, 2048);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 5000), RWC_PENDING);
	cr_assert_eq(E.nlookups, 1);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 5500);
	cr_assert_eq(E.nlookups, 1);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 5999);
	cr_assert_eq(E.nlookups, 1);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 6000);
	cr_assert_eq(E.nlookups, 2);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 6999);
	cr_assert_eq(E.nlookups, 2);
	/* another destination has its own throttle */
	rwc_from_tun(E.r, mk(E.a0, E.a2, 48), 6999);
	cr_assert_eq(E.nlookups, 3);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 7000);
	cr_assert_eq(E.nlookups, 4);
	cr_assert_eq(st()->lookups, 4);
	cr_assert_eq(rwc_pending_count(E.r), 2);
	env_fini();
}

Test(rwc, out_subnet_destination)
{
	uint8_t h1[16], h2[16], want[32], key[32];

	env_init(65535, 8, 2048);
	host_in(E.n1, 1, h1);
	host_in(E.n1, 2, h2);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, h1, 48), 0), RWC_PENDING);
	/* the lookup carries the 8 bytes of the /64: that is K1's xKey (§4.3) */
	cr_assert_eq(E.nlookups, 1);
	unhex32(K1_XKEY, want);
	cr_assert_arr_eq(E.lookups[0], want, 32);
	/* a second host of the same /64 replaces the waiting packet (one per /64) */
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, h2, 52), 10), RWC_PENDING);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	/* K1's address is waiting too: both are flushed by one notify */
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 60), 20), RWC_PENDING);
	cr_assert_eq(rwc_pending_count(E.r), 2);
	rwc_key_found(E.r, E.k1, 30);
	cr_assert_eq(E.nsent, 2);
	cr_assert_arr_eq(E.sent[0].key, E.k1, 32);
	cr_assert_arr_eq(E.sent[1].key, E.k1, 32);
	cr_assert_eq(E.sent[0].len + E.sent[1].len, 53 + 61);
	cr_assert_eq(rwc_pending_count(E.r), 0);
	/* any host of the /64 now maps to K1 */
	cr_assert(rwc_find_key(E.r, h1, key));
	cr_assert_arr_eq(key, E.k1, 32);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, h2, 48), 40), RWC_PASS);
	cr_assert_eq(E.nsent, 3);
	env_fini();
}

Test(rwc, notify_must_match_the_full_address)
{
	uint8_t kx[32], ax[16], nx[8], h[16];

	env_init(65535, 8, 2048);
	/* kx shares K1's /64 (first 8 address bytes) but not its address */
	memcpy(kx, E.k1, 32);
	kx[10] ^= 0x01; /* a bit the address carries, past the /64 (§4.1) */
	addr_from_key(kx, ax);
	addr_subnet_from_key(kx, nx);
	cr_assert_arr_eq(nx, E.n1, 8);
	cr_assert_arr_neq(ax, E.a1, 16);
	host_in(E.n1, 7, h);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 0);
	rwc_from_tun(E.r, mk(E.a0, h, 50), 0);
	rwc_key_found(E.r, kx, 10);
	/* only the /64 packet was kx's to take */
	cr_assert_eq(E.nsent, 1);
	cr_assert_eq(E.sent[0].len, 51);
	cr_assert_arr_eq(E.sent[0].key, kx, 32);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	rwc_key_found(E.r, E.k1, 20);
	cr_assert_eq(E.nsent, 2);
	cr_assert_eq(E.sent[1].len, 49);
	cr_assert_arr_eq(E.sent[1].key, E.k1, 32);
	env_fini();
}

Test(rwc, key_found_inside_lookup_is_safe)
{
	env_init(65535, 8, 2048);
	E.found_on_lookup = E.k1;
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 0), RWC_PENDING);
	cr_assert_eq(E.nlookups, 1);
	cr_assert_eq(E.nsent, 1, "the notify inside the lookup flushed the packet");
	cr_assert_eq(rwc_pending_count(E.r), 0);
	env_fini();
}

/* ---- inbound (§5.2) ---- */

Test(rwc, in_delivers_and_learns_the_sender)
{
	uint8_t key[32], h[16], h0[16], copy[90];
	struct pkt *p;

	env_init(65535, 8, 2048);
	p = mk(E.a1, E.a0, 90);
	memcpy(copy, p->data, 90);
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_PASS);
	cr_assert_eq(E.ntun, 1);
	cr_assert_eq(E.tun[0].len, 90);
	cr_assert_arr_eq(E.tun[0].b, copy, 90);
	/* §5.2 step 4: the sender's key is cached, so a reply needs no lookup */
	cr_assert(rwc_find_key(E.r, E.a1, key));
	cr_assert_arr_eq(key, E.k1, 32);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 1), RWC_PASS);
	cr_assert_eq(E.nlookups, 0);
	/* from a host of K1's /64 to a host of ours */
	host_in(E.n1, 0x99, h);
	host_in(E.n0, 0x55, h0);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(h, h0, 48), 2), RWC_PASS);
	cr_assert_eq(st()->in_delivered, 2);
	env_fini();
}

Test(rwc, in_destination_must_be_ours)
{
	uint8_t other[16];

	env_init(65535, 8, 2048);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a2, 48), 0), RWC_DROP);
	host_in(E.n1, 3, other);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, other, 48), 0), RWC_DROP);
	ip("2001:db8::1", other);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, other, 48), 0), RWC_DROP);
	cr_assert_eq(st()->in_bad_dst, 3);
	cr_assert_eq(E.ntun, 0);
	cr_assert_eq(rwc_cache_count(E.r), 0, "not for us: nothing learned");
	env_fini();
}

Test(rwc, in_source_must_come_from_the_sender_key)
{
	uint8_t h[16];

	env_init(65535, 8, 2048);
	/* K1 claims K2's address, or a host in K2's /64, or a link-local address */
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a2, E.a0, 48), 0), RWC_DROP);
	memcpy(h, E.a2, 8); /* K2's /64 */
	h[0] = 0x03;
	memset(h + 8, 0, 7);
	h[15] = 1;
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(h, E.a0, 48), 0), RWC_DROP);
	ip("fe80::1", h);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(h, E.a0, 48), 0), RWC_DROP);
	cr_assert_eq(st()->in_bad_src, 3);
	cr_assert_eq(E.ntun, 0);
	env_fini();
}

/* The names of the last sender are remembered; a new sender must not pass under them. */
Test(rwc, in_source_check_follows_a_change_of_sender)
{
	uint8_t key[32];

	env_init(65535, 8, 2048);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 48), 0), RWC_PASS);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 48), 0), RWC_PASS);
	/* K2 right after K1: K1's address is not K2's */
	cr_assert_eq(rwc_from_core(E.r, E.k2, mk(E.a1, E.a0, 48), 0), RWC_DROP);
	cr_assert_eq(rwc_from_core(E.r, E.k2, mk(E.a2, E.a0, 48), 0), RWC_PASS);
	/* and back */
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a2, E.a0, 48), 0), RWC_DROP);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 48), 0), RWC_PASS);
	cr_assert_eq(st()->in_bad_src, 2);
	cr_assert_eq(st()->in_delivered, 4);
	/* both were learned under their own names */
	cr_assert(rwc_find_key(E.r, E.a1, key));
	cr_assert_arr_eq(key, E.k1, 32);
	cr_assert(rwc_find_key(E.r, E.a2, key));
	cr_assert_arr_eq(key, E.k2, 32);
	env_fini();
}

Test(rwc, in_malformed_dropped)
{
	struct pkt *p;

	env_init(65535, 8, 2048);
	p = mk(E.a1, E.a0, 48);
	p->data[0] = 0x70;
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_DROP);
	p = mk(E.a1, E.a0, 48);
	pkt_trim(p, 20);
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_DROP);
	p = mk(E.a1, E.a0, 48);
	p->data[4] = 1; /* 256 + 8 bytes of payload claimed */
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_DROP);
	cr_assert_eq(st()->in_malformed, 3);
	cr_assert_eq(E.ntun, 0);
	env_fini();
}

Test(rwc, in_traffic_flushes_waiting_packet)
{
	env_init(65535, 8, 2048);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 64), 0), RWC_PENDING);
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 48), 10), RWC_PASS);
	cr_assert_eq(E.nsent, 1);
	cr_assert_arr_eq(E.sent[0].key, E.k1, 32);
	cr_assert_eq(E.sent[0].len, 65);
	cr_assert_eq(rwc_pending_count(E.r), 0);
	env_fini();
}

/* ---- Packet Too Big ---- */

/* RFC 1071 sum of the pseudo-header (RFC 8200 §8.1) and the ICMPv6 message, computed over one
 * contiguous buffer with 64-bit accumulation: 0xffff when the checksum is right. */
static unsigned icmp6_verify(const uint8_t *pkt, size_t len)
{
	static uint8_t buf[40 + 70000];
	size_t plen = len - 40, n = 0;
	uint64_t sum = 0;

	memcpy(buf, pkt + 8, 32);
	n = 32;
	buf[n++] = (uint8_t)(plen >> 24);
	buf[n++] = (uint8_t)(plen >> 16);
	buf[n++] = (uint8_t)(plen >> 8);
	buf[n++] = (uint8_t)plen;
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 0;
	buf[n++] = 58;
	memcpy(buf + n, pkt + 40, plen);
	n += plen;
	if (n & 1)
		buf[n++] = 0;
	for (size_t i = 0; i < n; i += 2)
		sum += (uint64_t)(buf[i] * 256u + buf[i + 1]);
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (unsigned)sum;
}

static void check_ptb(const struct rec *r, const uint8_t *b, const uint8_t src[16],
		      const uint8_t dst[16], uint32_t mtu, const uint8_t *orig)
{
	cr_assert_eq(r->len - (size_t)(b - r->b), 40 + 8 + 512);
	cr_assert_eq(b[0], 0x60);
	cr_assert_eq(b[1] | b[2] | b[3], 0, "traffic class and flow label 0");
	cr_assert_eq(b[4] * 256 + b[5], 8 + 512);
	cr_assert_eq(b[6], 58);
	cr_assert_eq(b[7], 255);
	cr_assert_arr_eq(b + 8, src, 16);
	cr_assert_arr_eq(b + 24, dst, 16);
	cr_assert_eq(b[40], 2, "type Packet Too Big");
	cr_assert_eq(b[41], 0);
	cr_assert_eq(((uint32_t)b[44] << 24 | (uint32_t)b[45] << 16 | (uint32_t)b[46] << 8 | b[47]),
		     mtu);
	cr_assert_arr_eq(b + 48, orig, 512, "quotes the first 512 bytes");
	cr_assert_eq(icmp6_verify(b, 40 + 8 + 512), 0xffff, "ICMPv6 checksum");
}

Test(rwc, in_too_big_answers_ptb_to_the_sender)
{
	static uint8_t orig[1500];
	struct pkt *p;

	env_init(1280, 8, 4096);
	cr_assert_eq(rwc_mtu(E.r), 1280);
	/* exactly the MTU passes */
	cr_assert_eq(rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 1280), 0), RWC_PASS);
	p = mk(E.a1, E.a0, 1500);
	memcpy(orig, p->data, 1500);
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 10), RWC_REJECT);
	cr_assert_eq(E.ntun, 1, "the big packet is not delivered");
	cr_assert_eq(st()->in_too_big, 1);
	/* §5.2: src = the offending dst, dst = its src, sent back through §5.1 to K1 */
	cr_assert_eq(E.nsent, 1);
	cr_assert_arr_eq(E.sent[0].key, E.k1, 32);
	cr_assert_eq(E.sent[0].b[0], 0x01);
	check_ptb(&E.sent[0], E.sent[0].b + 1, E.a0, E.a1, 1280, orig);
	env_fini();
}

Test(rwc, in_too_big_to_our_subnet)
{
	static uint8_t orig[2000];
	uint8_t h0[16], h1[16];
	struct pkt *p;

	env_init(1400, 8, 4096);
	host_in(E.n0, 0x10, h0);
	host_in(E.n1, 0x20, h1);
	p = mk(h1, h0, 2000);
	memcpy(orig, p->data, 2000);
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_REJECT);
	cr_assert_eq(E.nsent, 1);
	check_ptb(&E.sent[0], E.sent[0].b + 1, h0, h1, 1400, orig);
	env_fini();
}

Test(rwc, out_too_big_answers_ptb_on_the_tun)
{
	static uint8_t orig[1300];
	struct pkt *p;

	env_init(1280, 8, 4096);
	rwc_key_found(E.r, E.k1, 0);
	p = mk(E.a0, E.a1, 1281);
	memcpy(orig, p->data, 1281);
	cr_assert_eq(rwc_from_tun(E.r, p, 0), RWC_REJECT);
	cr_assert_eq(E.nsent, 0);
	cr_assert_eq(E.ntun, 1);
	check_ptb(&E.tun[0], E.tun[0].b, E.a1, E.a0, 1280, orig);
	cr_assert_eq(st()->out_too_big, 1);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 1280), 0), RWC_PASS);
	env_fini();
}

Test(rwc, ptb_without_pool_space_is_counted)
{
	struct pkt *p;

	env_init(1280, 1, 4096);
	p = mk(E.a1, E.a0, 1300); /* the only pkt: none left for the PTB */
	cr_assert_eq(rwc_from_core(E.r, E.k1, p, 0), RWC_REJECT);
	cr_assert_eq(st()->no_pkt, 1);
	cr_assert_eq(E.nsent + E.ntun, 0);
	env_fini();
}

Test(rwc, mtu_is_clamped)
{
	env_init(100, 2, 2048);
	cr_assert_eq(rwc_mtu(E.r), RWC_MTU_MIN);
	env_fini();
	env_init(1u << 20, 2, 2048);
	cr_assert_eq(rwc_mtu(E.r), RWC_MTU_MAX);
	env_fini();
}

/* ---- timers and bounds ---- */

Test(rwc, cache_entry_expires_two_minutes_after_last_use)
{
	uint8_t key[32];

	env_init(65535, 8, 2048);
	rwc_key_found(E.r, E.k1, 1000);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 61000); /* a send refreshes it */
	rwc_tick(E.r, 180999);
	cr_assert(rwc_find_key(E.r, E.a1, key));
	rwc_from_core(E.r, E.k1, mk(E.a1, E.a0, 48), 100000); /* and so does a receive */
	rwc_tick(E.r, 219999);
	cr_assert_eq(rwc_cache_count(E.r), 1);
	rwc_tick(E.r, 220000);
	cr_assert_eq(rwc_cache_count(E.r), 0);
	cr_assert_not(rwc_find_key(E.r, E.a1, key));
	cr_assert_eq(st()->cache_expired, 1);
	/* the next packet waits for a new lookup */
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 220001), RWC_PENDING);
	cr_assert_eq(E.nlookups, 1);
	env_fini();
}

Test(rwc, pending_packet_expires)
{
	env_init(65535, 8, 2048);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 1000);
	rwc_from_tun(E.r, mk(E.a0, E.a2, 48), 50000);
	rwc_tick(E.r, 120999);
	cr_assert_eq(rwc_pending_count(E.r), 2);
	rwc_tick(E.r, 121000);
	cr_assert_eq(rwc_pending_count(E.r), 1);
	cr_assert_eq(in_use(), 1);
	cr_assert_eq(st()->pending_expired, 1);
	rwc_key_found(E.r, E.k1, 121001);
	cr_assert_eq(E.nsent, 0, "expired: nothing left to send");
	rwc_key_found(E.r, E.k2, 121002);
	cr_assert_eq(E.nsent, 1);
	env_fini();
}

/* A key with the given index in bytes 0..1 after a leading 0x40: distinct addresses. */
static void nth_key(unsigned i, uint8_t key[32])
{
	memset(key, 0x5a, 32);
	key[0] = 0x40;
	key[1] = (uint8_t)(i >> 8);
	key[2] = (uint8_t)i;
}

Test(rwc, pending_table_is_bounded)
{
	uint8_t key[32], a[16];

	env_init(65535, RWC_PENDING_MAX + 4, 256);
	for (unsigned i = 0; i <= RWC_PENDING_MAX; i++) {
		nth_key(i, key);
		addr_from_key(key, a);
		cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, a, 48), i), RWC_PENDING);
	}
	cr_assert_eq(rwc_pending_count(E.r), RWC_PENDING_MAX);
	cr_assert_eq(st()->pending_evicted, 1);
	cr_assert_eq(in_use(), RWC_PENDING_MAX);
	/* the oldest went */
	nth_key(0, key);
	rwc_key_found(E.r, key, 1000);
	cr_assert_eq(E.nsent, 0);
	nth_key(RWC_PENDING_MAX, key);
	rwc_key_found(E.r, key, 1000);
	cr_assert_eq(E.nsent, 1);
	env_fini();
}

Test(rwc, cache_is_bounded_lru)
{
	uint8_t key[32], a[16], got[32];

	env_init(65535, 8, 256);
	for (unsigned i = 0; i < RWC_CACHE_MAX; i++) {
		nth_key(i, key);
		rwc_key_found(E.r, key, i);
	}
	cr_assert_eq(rwc_cache_count(E.r), RWC_CACHE_MAX);
	/* use entry 0, so entry 1 is the least recently used */
	nth_key(0, key);
	addr_from_key(key, a);
	cr_assert_eq(rwc_from_tun(E.r, mk(E.a0, a, 48), 10000), RWC_PASS);
	rwc_key_found(E.r, E.k1, 10001);
	cr_assert_eq(rwc_cache_count(E.r), RWC_CACHE_MAX);
	cr_assert_eq(st()->cache_evicted, 1);
	cr_assert(rwc_find_key(E.r, a, got));
	nth_key(1, key);
	addr_from_key(key, a);
	cr_assert_not(rwc_find_key(E.r, a, got));
	cr_assert(rwc_find_key(E.r, E.a1, got));
	cr_assert_arr_eq(got, E.k1, 32);
	/* every entry expires; the table is reusable afterwards */
	rwc_tick(E.r, 10001 + RWC_CACHE_TIMEOUT_MS);
	cr_assert_eq(rwc_cache_count(E.r), 0);
	rwc_key_found(E.r, E.k2, 200000);
	cr_assert(rwc_find_key(E.r, E.a2, got));
	env_fini();
}

Test(rwc, free_returns_waiting_packets)
{
	env_init(65535, 8, 2048);
	rwc_from_tun(E.r, mk(E.a0, E.a1, 48), 0);
	rwc_from_tun(E.r, mk(E.a0, E.a2, 48), 0);
	cr_assert_eq(in_use(), 2);
	env_fini(); /* asserts in_use() == 0 after rwc_free */
}
