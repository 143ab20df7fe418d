/*
 * libFuzzer driver for core/ckr, tunnel routing's packet checks (nat64-requirements §F 46-47).
 *
 * A fixed table: local 10.5.0.0/16 and 2001:db8:5::/48; 10.0.0.0/8 and 2001:db8::/32 routed
 * to key K1, 10.1.0.0/16 and 224.0.0.0/4 to K2; MTU 1280 + 16 * the first input byte. The
 * rest is a script of records: a header byte (bits 0-1: from the TUN, from K1, from K2 or
 * from an unknown key; bit 2: advance the clock 1 s; bits 3-7 unused) and a length (2 bytes,
 * big-endian, at most MAX_PKT), then that many bytes as a packet in a pool pkt (with its
 * headroom), so that packets above the MTU (fragmented, or answered) are reachable.
 *
 * Invariants, abort() on violation:
 * - what reaches send starts with the type byte 0x01 and holds one whole IPv4 or IPv6
 *   packet whose length fits the MTU, to K1 or K2 only; what reaches the TUN is a whole IP
 *   packet of at most the MTU (or an ICMP error of at most 1280 bytes);
 * - each input packet is counted exactly once across the two directions' counters;
 * - after ckr_free every pkt is back in the pool.
 *
 * Build: -DYGG64_FUZZ=ON with clang (libFuzzer), or the replay main over
 * tests/fuzz/corpus/fuzz_ckr/ (ctest fuzz_ckr_replay).
 */
#include "core/ckr.h"
#include "lib/inet.h"
#include "lib/pkt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	POOL_COUNT = 256,
	MAX_PKT = 8192,
	POOL_CAP = MAX_PKT, /* ICMP errors are at most 1280 bytes, fragments at most the MTU */
};

static const uint8_t k1[32] = {1}, k2[32] = {2}, k3[32] = {3};

struct fz {
	uint32_t mtu;
	uint64_t sent, to_tun;
};

/* A whole IPv4 or IPv6 packet of at most mtu bytes at b (n bytes)? */
static bool whole_ip(const uint8_t *b, size_t n, size_t mtu)
{
	if (n > mtu)
		return false;
	if (n >= 20 && b[0] >> 4 == 4)
		return (size_t)(b[2] << 8 | b[3]) == n && (b[0] & 15) >= 5;
	if (n >= 40 && b[0] >> 4 == 6)
		return 40 + (size_t)(b[4] << 8 | b[5]) == n;
	return false;
}

static void on_send(void *ctx, const uint8_t dest[32], struct pkt *p)
{
	struct fz *f = ctx;

	if (memcmp(dest, k1, 32) && memcmp(dest, k2, 32))
		abort();
	if (p->len < 1 || p->data[0] != CKR_TYPE_TRAFFIC || !whole_ip(p->data + 1, p->len - 1, f->mtu))
		abort();
	f->sent++;
	pkt_free(p);
}

static void on_to_tun(void *ctx, struct pkt *p)
{
	struct fz *f = ctx;

	if (!whole_ip(p->data, p->len, f->mtu > 1280 ? f->mtu : 1280))
		abort();
	f->to_tun++;
	pkt_free(p);
}

static void add(struct ckr *c, const char *cidr, const uint8_t *key)
{
	struct inet_prefix p;

	if (!inet_prefix_parse(cidr, true, &p) || (key ? ckr_add_route(c, &p, key)
						       : ckr_add_local(c, &p)) != 0)
		abort();
}

static uint64_t counted(const struct ckr_dir_stats *d)
{
	/* every packet ends under exactly one of these (too_big: an ICMP error was due) */
	return d->passed + d->malformed + d->link_scoped + d->bad_src + d->bad_dst + d->too_big +
	       d->frag_failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_pool *pool = pkt_pool_new(POOL_COUNT, POOL_CAP);
	struct fz f = {0};
	const struct ckr_cbs cbs = {.ctx = &f, .send = on_send, .to_tun = on_to_tun};
	struct pkt_pool_info pi;
	uint64_t now = 0, inputs = 0, icmp_out = 0;
	const struct ckr_stats *s;
	struct ckr *c;
	size_t i = 1;

	if (!pool)
		abort();
	f.mtu = 1280 + (size ? (uint32_t)data[0] * 16 : 0);
	c = ckr_new(f.mtu, pool, &cbs);
	add(c, "10.5.0.0/16", NULL);
	add(c, "2001:db8:5::/48", NULL);
	add(c, "10.0.0.0/8", k1);
	add(c, "2001:db8::/32", k1);
	add(c, "10.1.0.0/16", k2);
	add(c, "224.0.0.0/4", k2);
	while (i + 3 <= size) {
		uint8_t hdr = data[i];
		size_t n = (size_t)data[i + 1] << 8 | data[i + 2];
		const uint8_t *from[] = {NULL, k1, k2, k3};
		struct pkt *p;

		i += 3;
		if (n > MAX_PKT)
			n = MAX_PKT;
		if (n > size - i)
			n = size - i;
		if (hdr & 4)
			now += 1000;
		p = pkt_alloc(pool);
		if (!p)
			abort(); /* every pkt is freed before the next record */
		memcpy(pkt_put(p, n), data + i, n);
		i += n;
		inputs++;
		if (!from[hdr & 3])
			ckr_from_tun(c, p, now);
		else
			ckr_from_core(c, from[hdr & 3], p, now);
		pkt_pool_info(pool, &pi);
		if (pi.in_use)
			abort();
	}
	s = ckr_get_stats(c);
	/* inbound errors go out again through the outbound checks, as extra packets */
	icmp_out = s->in.too_big;
	if (counted(&s->out) + counted(&s->in) < inputs ||
	    counted(&s->out) + counted(&s->in) > inputs + icmp_out)
		abort();
	ckr_free(c);
	pkt_pool_free(pool);
	return 0;
}
