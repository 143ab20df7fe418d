/*
 * fwd: the next stage of a packet (see fwd.h). One function of the origin and the header; the
 * predicates belong to the modules that own the state (the NAT64's pool and prefix, tunnel
 * routing's remote subnets).
 */
#include "fwd/fwd.h"

#include <string.h>

enum {
	YGG_PREFIX = 0x02, /* 200::/7: the first byte with its low bit cleared (core/addr.h) */
	IP6_HDR = 40,
	IP4_HDR = 20,
};

static const char *const stage_names[FWD_NSTAGES] = {
    [FWD_OVERLAY6] = "overlay6",     [FWD_TUNNEL] = "tunnel", [FWD_NAT64_6TO4] = "nat64_6to4",
    [FWD_NAT64_4TO6] = "nat64_4to6", [FWD_TUN] = "tun",	      [FWD_DROP] = "drop",
};

static const char *const drop_names[FWD_NDROPS] = {
    [FWD_D_MALFORMED] = "malformed",
};

const char *fwd_stage_name(int s)
{
	return s >= 0 && s < FWD_NSTAGES ? stage_names[s] : "?";
}

const char *fwd_drop_name(int d)
{
	return d >= 0 && d < FWD_NDROPS ? drop_names[d] : "?";
}

void fwd_init(struct fwd *f, const struct fwd_ops *ops, bool v4_to_tun)
{
	memset(f, 0, sizeof(*f));
	f->ops = *ops;
	f->v4_to_tun = v4_to_tun;
}

static enum fwd_stage from_tun(const struct fwd *f, int ver, const uint8_t *b, size_t len)
{
	if (ver == 6) {
		if ((b[24] & 0xfe) == YGG_PREFIX)
			return FWD_OVERLAY6;
		if (f->ops.wants6 && f->ops.wants6(f->ops.ctx, b, len))
			return FWD_NAT64_6TO4;
		return FWD_TUNNEL;
	}
	if (f->ops.wants4 && f->ops.wants4(f->ops.ctx, b, len))
		return FWD_NAT64_4TO6;
	return FWD_TUNNEL;
}

static enum fwd_stage from_overlay(const struct fwd *f, int ver, const uint8_t *b, size_t len)
{
	if (ver == 4 && f->ops.wants4 && f->ops.wants4(f->ops.ctx, b, len))
		return FWD_NAT64_4TO6;
	return FWD_TUN;
}

static enum fwd_stage from_nat64(const struct fwd *f, int ver, const uint8_t *b)
{
	if (ver == 6)
		return FWD_TUN;
	if (!f->ops.routed4)
		return FWD_TUN; /* plain mode: the kernel routes IPv4 */
	if (f->ops.routed4(f->ops.ctx, b + 16))
		return FWD_TUNNEL;
	return f->v4_to_tun ? FWD_TUN : FWD_TUNNEL;
}

enum fwd_stage fwd_classify(struct fwd *f, enum fwd_origin o, const uint8_t *b, size_t len)
{
	enum fwd_stage s = FWD_DROP;
	int ver = len ? b[0] >> 4 : 0;

	if ((unsigned)o >= FWD_NORIGINS)
		return FWD_DROP;
	if (!((ver == 6 && len >= IP6_HDR) || (ver == 4 && len >= IP4_HDR))) {
		f->dropped[FWD_D_MALFORMED]++;
	} else if (o == FWD_FROM_TUN) {
		s = from_tun(f, ver, b, len);
	} else if (o == FWD_FROM_OVERLAY) {
		s = from_overlay(f, ver, b, len);
	} else {
		s = from_nat64(f, ver, b);
	}
	f->n[o][s]++;
	return s;
}
