/*
 * The shared body of the NAT64 fuzz drivers (fuzz_nat64_6to4.c, fuzz_nat64_4to6.c): a real
 * nat64 (xlat, frag, table) with prefix 2001:db8:64::/96, pool 203.0.113.1, PortRange
 * 61001-61031 (so exhaustion is reachable), IPv6 MTU 1500 and IPv4 MTU 1280 + 4 * the first
 * input byte (so fragmentation and Packet Too Big are reachable), address-dependent filtering
 * when the second byte is odd.
 *
 * The rest of the input is a script of records: a header byte, a length (2 bytes big-endian,
 * at most MAX_PKT) and that many bytes. Header bits:
 *   0-1  what the bytes are: 0 a packet from the IPv6 side, 1 from the IPv4 side, 2 the quote
 *        of an ICMPv4 error from 192.0.2.1 to the pool (type and code: the first two bytes),
 *        3 the quote of an ICMPv6 error from a client to prefix + 192.0.2.1 (likewise)
 *   2    advance the clock by 1 s first; 3: by 10 min (sessions, fragments, SYNs expire)
 *   4    patch the packet so it reaches deep code: IPv6 source a client (bit 5 picks which),
 *        destination prefix + 192.0.2.2; IPv4 destination the pool address and, for TCP and
 *        UDP, the destination port the last outside port seen on the IPv4 side
 *   6-7  unused
 * DEFAULT_SIDE (the driver's direction) is xored into bits 0-1, so the other direction's
 * packets are one bit away.
 *
 * Invariants, abort() on violation: every IPv4 output is a whole packet (20-byte header,
 * total length = its length, header checksum right) from the pool address, of at most the IPv4
 * MTU or 576 bytes (an error); every IPv6 output is a whole packet (payload length agrees)
 * from inside the prefix, of at most the IPv6 MTU; after nat64_free every pkt is back in the
 * pool.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/pkt.h"
#include "nat64/nat64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { POOL_COUNT = 64, MAX_PKT = 4096, POOL_CAP = 8192, MTU6 = 1500 };

static const uint8_t fz_prefix[12] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x64};
static const uint8_t fz_t[4] = {203, 0, 113, 1};
static const uint8_t fz_r[4] = {192, 0, 2, 1};
static const uint8_t fz_y[4] = {192, 0, 2, 2};
static const uint8_t fz_x[2][16] = {
    {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
    {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3},
};

struct fz {
	uint32_t mtu4;
	uint16_t last_port4;
	struct pkt_pool *pool;
};

static uint16_t fz_sum(const uint8_t *b, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void fz_out4(void *ctx, struct pkt *p)
{
	struct fz *f = ctx;
	const uint8_t *b = p->data;

	if (p->len < 20 || b[0] != 0x45 || (size_t)(b[2] << 8 | b[3]) != p->len ||
	    fz_sum(b, 20) != 0xffff || memcmp(b + 12, fz_t, 4) ||
	    (p->len > f->mtu4 && p->len > 576))
		abort();
	if ((b[9] == 6 || b[9] == 17) && p->len >= 24 && !(b[6] & 0x1f) && !b[7])
		f->last_port4 = (uint16_t)(b[20] << 8 | b[21]);
	pkt_free(p);
}

static void fz_out6(void *ctx, struct pkt *p)
{
	const uint8_t *b = p->data;

	(void)ctx;
	if (p->len < 40 || b[0] >> 4 != 6 || 40 + (size_t)(b[4] << 8 | b[5]) != p->len ||
	    memcmp(b + 8, fz_prefix, 12) || p->len > MTU6)
		abort();
	pkt_free(p);
}

static void fz_put16(uint8_t *b, size_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Builds in p the record's packet: as given, patched, or quoted in an ICMP error. */
static void fz_build(struct fz *f, struct pkt *p, uint8_t hdr, const uint8_t *d, size_t n)
{
	unsigned what = hdr & 3;
	uint8_t *b;

	if (what == 2 || what == 3) {
		size_t hl = what == 2 ? 28 : 48;
		uint8_t type = n > 0 ? d[0] : 3, code = n > 1 ? d[1] : 3;

		d += n > 2 ? 2 : n;
		n -= n > 2 ? 2 : n;
		b = pkt_put(p, hl + n);
		memset(b, 0, hl);
		memcpy(b + hl, d, n);
		if (what == 2) {
			b[0] = 0x45;
			fz_put16(b + 2, hl + n);
			b[8] = 64;
			b[9] = 1;
			memcpy(b + 12, fz_r, 4);
			memcpy(b + 16, fz_t, 4);
			fz_put16(b + 10, (uint16_t)~fz_sum(b, 20));
			b[20] = type;
			b[21] = code;
			fz_put16(b + 22, (uint16_t)~fz_sum(b + 20, 8 + n));
		} else {
			b[0] = 0x60;
			fz_put16(b + 4, 8 + n);
			b[6] = 58;
			b[7] = 64;
			memcpy(b + 8, fz_x[(hdr >> 5) & 1], 16);
			memcpy(b + 24, fz_prefix, 12);
			memcpy(b + 36, fz_r, 4);
			b[40] = type;
			b[41] = code; /* checksum left as it is: wrong ones must pass unharmed too */
		}
		return;
	}
	b = pkt_put(p, n);
	memcpy(b, d, n);
	if (!(hdr & 0x10))
		return;
	if (what == 0 && n >= 40) {
		memcpy(b + 8, fz_x[(hdr >> 5) & 1], 16);
		memcpy(b + 24, fz_prefix, 12);
		memcpy(b + 36, fz_y, 4);
	} else if (what == 1 && n >= 20) {
		size_t hl = (size_t)(b[0] & 15) * 4;

		memcpy(b + 16, fz_t, 4);
		if ((b[9] == 6 || b[9] == 17) && hl >= 20 && n >= hl + 4 && f->last_port4)
			fz_put16(b + hl + 2, f->last_port4);
	}
}

static int fz_run(const uint8_t *data, size_t size, unsigned side)
{
	struct inet_prefix pool4 = {.family = AF_INET, .len = 32};
	struct config_nat64 c = {0};
	struct nat64_params np = {0};
	struct pkt_pool_info pi;
	struct nat64 *n;
	struct fz f = {0};
	uint64_t now = 1000;
	size_t i = 2;

	if (size < 2)
		return 0;
	f.mtu4 = 1280 + 4u * data[0];
	f.pool = pkt_pool_new(POOL_COUNT, POOL_CAP);
	if (!f.pool)
		abort();
	memcpy(pool4.addr, fz_t, 4);
	c.is_enabled = true;
	c.prefix.family = AF_INET6;
	c.prefix.len = 96;
	memcpy(c.prefix.addr, fz_prefix, 12);
	c.pool4 = &pool4;
	c.n_pool4 = 1;
	c.port_min = 61001;
	c.port_max = 61031;
	c.mss_clamp = true;
	c.filtering = data[1] & 1 ? CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT
				  : CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT;
	c.udp_timeout = 300;
	c.icmp_timeout = 60;
	c.tcp_est_timeout = 7440;
	c.tcp_trans_timeout = 240;
	c.max_bib_entries = 64;
	c.max_sessions = 128;
	c.max_fragments = 16;
	c.max_stored_syns = 4;
	np.cfg = &c;
	np.mtu6 = MTU6;
	np.mtu4 = f.mtu4;
	np.pool = f.pool;
	np.out4 = fz_out4;
	np.out6 = fz_out6;
	np.ctx = &f;
	np.secret = (const uint8_t *)"fuzzing secret!!";
	n = nat64_new(&np);
	if (!n)
		abort();
	while (i + 3 <= size) {
		uint8_t hdr = (uint8_t)(data[i] ^ side);
		size_t len = (size_t)(data[i + 1] << 8 | data[i + 2]);
		struct pkt *p;

		i += 3;
		if (len > MAX_PKT)
			len = MAX_PKT;
		if (len > size - i)
			len = size - i;
		if (hdr & 4)
			now += 1000;
		if (hdr & 8)
			now += 600000;
		if (hdr & 12)
			nat64_tick(n, now);
		p = pkt_alloc(f.pool);
		if (!p)
			abort(); /* every pkt must come back between records */
		fz_build(&f, p, hdr, data + i, len);
		i += len;
		if ((hdr & 3) == 0 || (hdr & 3) == 3)
			nat64_input6(n, p, now);
		else
			nat64_input4(n, p, now);
		pkt_pool_info(f.pool, &pi);
		if (pi.in_use > c.max_fragments + c.max_stored_syns)
			abort(); /* held: fragments and stored SYNs only */
	}
	nat64_free(n);
	pkt_pool_info(f.pool, &pi);
	if (pi.in_use)
		abort();
	pkt_pool_free(f.pool);
	return 0;
}
