/*
 * test_fwd: the next stage of every kind of packet from every origin (fwd.h's table), with the
 * NAT64 and tunnel routing on, off, and the pool a host address or not. The predicates are
 * small stand-ins with the shape of the real ones: the prefix 2001:db8:64::/96, the pool
 * 10.5.0.1 with ports 61001-65535, the remote subnet 10.0.0.0/8; they also count their calls,
 * to prove a stage is named without asking a module that has no say.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fwd/fwd.h"

static unsigned calls6, calls4, callsr;

static bool fake_wants6(void *ctx, const uint8_t *b, size_t len)
{
	static const uint8_t pfx[12] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64};

	(void)ctx;
	calls6++;
	return len >= 40 && !memcmp(b + 24, pfx, sizeof(pfx));
}

static bool fake_wants4(void *ctx, const uint8_t *b, size_t len)
{
	static const uint8_t pool[4] = {10, 5, 0, 1};

	(void)ctx;
	calls4++;
	return len >= 24 && !memcmp(b + 16, pool, 4) && (b[22] << 8 | b[23]) >= 61001;
}

static bool fake_routed4(void *ctx, const uint8_t dst[4])
{
	(void)ctx;
	callsr++;
	return dst[0] == 10;
}

/* An IPv6 header to dst (16 bytes), 48 bytes long. */
static size_t pkt6(uint8_t *b, const uint8_t dst[16])
{
	memset(b, 0, 48);
	b[0] = 0x60;
	b[5] = 8;
	b[6] = 17;
	b[7] = 64;
	b[8] = 0x20;
	b[9] = 0x01;
	memcpy(b + 24, dst, 16);
	return 48;
}

/* A UDP-over-IPv4 header to dst:dport, 28 bytes long. */
static size_t pkt4(uint8_t *b, uint8_t a, uint8_t bb, uint8_t c, uint8_t d, uint16_t dport)
{
	memset(b, 0, 28);
	b[0] = 0x45;
	b[3] = 28;
	b[8] = 64;
	b[9] = 17;
	b[12] = 10;
	b[13] = 1;
	b[14] = 0;
	b[15] = 3;
	b[16] = a;
	b[17] = bb;
	b[18] = c;
	b[19] = d;
	b[22] = (uint8_t)(dport >> 8);
	b[23] = (uint8_t)dport;
	return 28;
}

static const uint8_t YGG[16] = {0x02, 0x01, 0x02, 0x03};
static const uint8_t YGG_SUBNET[16] = {0x03, 0x01, 0x02, 0x03};
static const uint8_t IN_PREFIX[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64, 0, 0,
				      0,    0,	  0,	0,    10,   1,	  0, 3};
static const uint8_t OTHER6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0b, 0, 0,
				   0,	 0,    0,    0,	   0,	 0,    0, 3};

static struct fwd fused(bool v4_to_tun)
{
	const struct fwd_ops ops = {NULL, fake_wants6, fake_wants4, fake_routed4};
	struct fwd f;

	fwd_init(&f, &ops, v4_to_tun);
	calls6 = calls4 = callsr = 0;
	return f;
}

Test(fwd, from_tun_fused)
{
	struct fwd f = fused(false);
	uint8_t b[64];
	size_t n;

	n = pkt6(b, YGG);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_OVERLAY6);
	n = pkt6(b, YGG_SUBNET);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_OVERLAY6,
		     "300::/8 is the overlay's too");
	cr_expect_eq(calls6, 0, "200::/7 never asks the NAT64");
	n = pkt6(b, IN_PREFIX);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_NAT64_6TO4);
	n = pkt6(b, OTHER6);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_TUNNEL);
	n = pkt4(b, 10, 1, 0, 3, 5000);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_TUNNEL, "the host's own IPv4");
	n = pkt4(b, 10, 5, 0, 1, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_NAT64_4TO6,
		     "a pool routed into the TUN (plain-style Pool4)");
	cr_expect_eq(callsr, 0, "tunnel routing decides inside the core, not here");
	cr_expect_eq(f.n[FWD_FROM_TUN][FWD_OVERLAY6], 2);
	cr_expect_eq(f.n[FWD_FROM_TUN][FWD_TUNNEL], 2);
	cr_expect_eq(f.n[FWD_FROM_TUN][FWD_NAT64_6TO4], 1);
	cr_expect_eq(f.n[FWD_FROM_TUN][FWD_NAT64_4TO6], 1);
}

Test(fwd, from_overlay_fused)
{
	struct fwd f = fused(false);
	uint8_t b[64];
	size_t n;

	n = pkt4(b, 10, 5, 0, 1, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_NAT64_4TO6,
		     "a reply to a client");
	n = pkt4(b, 10, 5, 0, 1, 65535);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_NAT64_4TO6);
	n = pkt4(b, 10, 5, 0, 1, 61000);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_TUN,
		     "below PortRange: the host's socket on the pool address");
	n = pkt4(b, 10, 5, 0, 2, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_TUN, "another local address");
	n = pkt6(b, IN_PREFIX);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_TUN,
		     "IPv6 from the overlay is the host's, never the NAT64's");
	n = pkt6(b, YGG);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_TUN);
	cr_expect_eq(calls6, 0);
	cr_expect_eq(f.n[FWD_FROM_OVERLAY][FWD_NAT64_4TO6], 2);
	cr_expect_eq(f.n[FWD_FROM_OVERLAY][FWD_TUN], 4);
}

Test(fwd, from_nat64_pool_is_host_address)
{
	struct fwd f = fused(false);
	uint8_t b[64];
	size_t n;

	n = pkt4(b, 10, 1, 0, 3, 80);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUNNEL,
		     "a remote subnet: straight into the overlay");
	n = pkt4(b, 192, 0, 2, 1, 80);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUNNEL,
		     "no route: tunnel routing answers 3/0 (F 46)");
	n = pkt6(b, OTHER6);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUN, "to the client");
	n = pkt6(b, YGG);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUN);
	cr_expect_eq(calls4 + calls6, 0, "nothing the NAT64 made goes back into it");
	cr_expect_eq(callsr, 2);
}

Test(fwd, from_nat64_pool_routed_to_tun)
{
	struct fwd f = fused(true);
	uint8_t b[64];
	size_t n;

	n = pkt4(b, 10, 1, 0, 3, 80);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUNNEL);
	n = pkt4(b, 192, 0, 2, 1, 80);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUN,
		     "no remote subnet: the kernel routes it");
	cr_expect_eq(f.n[FWD_FROM_NAT64][FWD_TUN], 1);
	cr_expect_eq(f.n[FWD_FROM_NAT64][FWD_TUNNEL], 1);
}

Test(fwd, plain_mode)
{
	const struct fwd_ops ops = {NULL, fake_wants6, fake_wants4, NULL};
	struct fwd f;
	uint8_t b[64];
	size_t n;

	fwd_init(&f, &ops, false);
	n = pkt4(b, 10, 1, 0, 3, 80);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, n), FWD_TUN,
		     "without tunnel routing the kernel routes every translated packet");
	n = pkt4(b, 10, 5, 0, 1, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_NAT64_4TO6);
	n = pkt6(b, IN_PREFIX);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_NAT64_6TO4);
}

Test(fwd, no_nat64)
{
	const struct fwd_ops ops = {NULL, NULL, NULL, fake_routed4};
	struct fwd f;
	uint8_t b[64];
	size_t n;

	fwd_init(&f, &ops, false);
	n = pkt6(b, IN_PREFIX);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_TUNNEL);
	n = pkt4(b, 10, 5, 0, 1, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, n), FWD_TUNNEL);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, n), FWD_TUN);
}

Test(fwd, malformed)
{
	struct fwd f = fused(false);
	uint8_t b[64];

	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, 0), FWD_DROP);
	pkt6(b, IN_PREFIX);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, 39), FWD_DROP,
		     "shorter than an IPv6 header");
	cr_expect_eq(fwd_classify(&f, FWD_FROM_TUN, b, 40), FWD_NAT64_6TO4,
		     "a bare header is enough");
	pkt4(b, 10, 5, 0, 1, 61001);
	cr_expect_eq(fwd_classify(&f, FWD_FROM_OVERLAY, b, 19), FWD_DROP);
	b[0] = 0x55;
	cr_expect_eq(fwd_classify(&f, FWD_FROM_NAT64, b, 28), FWD_DROP, "version 5");
	cr_expect_eq(fwd_classify(&f, (enum fwd_origin)7, b, 28), FWD_DROP, "no such origin");
	cr_expect_eq(f.dropped[FWD_D_MALFORMED], 4);
	cr_expect_eq(f.n[FWD_FROM_TUN][FWD_DROP], 2);
	cr_expect_eq(calls4 + calls6 + callsr, 1, "only the whole header reached a predicate");
	cr_expect_str_eq(fwd_stage_name(FWD_NAT64_4TO6), "nat64_4to6");
	cr_expect_str_eq(fwd_drop_name(FWD_D_MALFORMED), "malformed");
	cr_expect_str_eq(fwd_stage_name(99), "?");
}
