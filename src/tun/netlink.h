/*
 * netlink: the rtnetlink requests of tun_linux.c (libmnl): the device's link settings, its
 * addresses and routes, and the fib rules (policy routing) of the loop guard. Each call is one
 * request and its ACK on a fresh socket, blocking: control plane only. Each returns 0 or a
 * negative errno (the kernel's answer, or the socket's failure). Arguments are borrowed for
 * the call. Internal to src/tun/.
 */
#ifndef YGG64_TUN_NETLINK_H
#define YGG64_TUN_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

struct inet_prefix;

/* RTM_NEWLINK: the flags in change set as in flags; mtu, txqlen and group unless 0. */
struct nl_link {
	unsigned flags;
	unsigned change;
	uint32_t mtu;
	uint32_t txqlen;
	uint32_t group; /* IFLA_GROUP */
};
int nl_set_link(unsigned ifindex, const struct nl_link *l);

/*
 * RTM_NEWADDR a (the address itself, a->len its prefix length) on the device, permanent, and
 * for IPv6 without duplicate address detection (IFA_F_NODAD, RFC 4862 §5.4). One that is
 * already there is replaced (updated), not an error.
 */
int nl_add_addr(unsigned ifindex, const struct inet_prefix *a);
/* RTM_DELADDR of what nl_add_addr added; -ENOENT when it is not there. */
int nl_del_addr(unsigned ifindex, const struct inet_prefix *a);
/* True when the kernel routes address a as local (`ip route get` says "local"). */
bool nl_is_local(const struct inet_prefix *a);

/*
 * RTM_NEWROUTE dst through the device in the main table, scope link (a TUN has no gateways),
 * replacing a route to the same prefix; with RTA_PREFSRC prefsrc unless NULL (same family).
 */
int nl_add_route(unsigned ifindex, const struct inet_prefix *dst,
		 const struct inet_prefix *prefsrc);
/* RTM_DELROUTE of the main table's route to dst through the device; -ENOENT when none. */
int nl_del_route(unsigned ifindex, const struct inet_prefix *dst);

/*
 * RTM_NEWROUTE of a blackhole route to dst in the main table (`ip route add blackhole DST`),
 * never replacing one that is there (-EEXIST); nl_del_blackhole removes only a blackhole.
 */
int nl_add_blackhole(const struct inet_prefix *dst);
int nl_del_blackhole(const struct inet_prefix *dst);

/* A fib rule: `pref PREF fwmark MARK/0xffffffff` and its action. */
struct nl_rule {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t action; /* FR_ACT_TO_TBL or FR_ACT_UNREACHABLE */
	uint32_t pref;	/* FRA_PRIORITY; not 0, which would mean "the kernel chooses" */
	uint32_t mark;	/* FRA_FWMARK, with FRA_FWMASK 0xffffffff */
	uint32_t table; /* FR_ACT_TO_TBL: FRA_TABLE */
	uint32_t group; /* FRA_SUPPRESS_IFGROUP unless 0 */
};
/* RTM_NEWRULE; -EEXIST when the very same rule is there already (NLM_F_EXCL). */
int nl_add_rule(const struct nl_rule *r);
/* RTM_DELRULE of one rule of the family with pref and mark, any action; -ENOENT when none. */
int nl_del_rule(uint8_t family, uint32_t pref, uint32_t mark);

#endif
