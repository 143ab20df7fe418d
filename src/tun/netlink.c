/*
 * netlink: rtnetlink requests through libmnl (see netlink.h).
 *
 * Owns nothing between calls: every request opens its own NETLINK_ROUTE socket, sends one
 * message with NLM_F_ACK and reads until the ACK (or the error that replaces it), so no reply
 * can be mistaken for another request's, and no socket outlives the call. The daemon makes a
 * handful of these at start and at close, so the extra socket per request costs nothing.
 *
 * The kernel's "not there" answers differ per object: RTM_DELROUTE says -ESRCH, RTM_DELADDR
 * -EADDRNOTAVAIL, RTM_DELRULE -ENOENT. Callers see -ENOENT for all three.
 */
#include "tun/netlink.h"

#include <errno.h>
#include <net/if.h> /* before the linux/ headers, which defer to it (libc-compat.h) */
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "lib/inet.h"

enum {
	NL_BUF_LEN = 8192, /* one request or ACK; MNL_SOCKET_BUFFER_SIZE's cap */
};

/* Bytes of the address in an attribute: 4 for IPv4 (the first 4 of addr), 16 for IPv6. */
static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/*
 * Sends one request (flags NLM_F_REQUEST | NLM_F_ACK are added) and waits for its ACK; any
 * reply message before it goes to cb(msg, data) (NULL: none expected). Returns 0 or a negative
 * errno (the kernel's answer, or the socket's failure).
 */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int err = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto close_sock;
	}
	unsigned portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1; /* one request per fresh socket */
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto close_sock;
	}
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			err = -errno;
			break;
		}
		/* -1 with errno from an NLMSG_ERROR, MNL_CB_STOP (0) on the ACK. */
		errno = 0;
		int ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (ret < 0) {
			err = errno ? -errno : -EPROTO;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
close_sock:
	mnl_socket_close(nl);
	return err;
}

int nl_set_link(unsigned ifindex, const struct nl_link *l)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = l->flags;
	ifi->ifi_change = l->change;
	if (l->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, l->mtu);
	if (l->txqlen)
		mnl_attr_put_u32(nlh, IFLA_TXQLEN, l->txqlen);
	if (l->group)
		mnl_attr_put_u32(nlh, IFLA_GROUP, l->group);
	return talk(nlh, NULL, NULL);
}

/* RTM_NEWADDR or RTM_DELADDR of a on the device. */
static int addr_msg(uint16_t type, uint16_t flags, unsigned ifindex, const struct inet_prefix *a)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	uint32_t ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->len;
	ifa->ifa_flags = (uint8_t)ifa_flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/*
	 * IFA_LOCAL is the address, IFA_ADDRESS the peer's on a point-to-point link (a TUN is
	 * one): the same value makes it an ordinary address with an on-link prefix, so the
	 * kernel adds the prefix route of a length below the family's full one.
	 */
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(a->family), a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(a->family), a->addr);
	/* ifa_flags is 8 bits wide; IFA_FLAGS carries the same flags as a u32 for new kernels. */
	if (ifa_flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, ifa_flags);
	return talk(nlh, NULL, NULL);
}

int nl_add_addr(unsigned ifindex, const struct inet_prefix *a)
{
	return addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, a);
}

int nl_del_addr(unsigned ifindex, const struct inet_prefix *a)
{
	int err = addr_msg(RTM_DELADDR, 0, ifindex, a);
	return err == -EADDRNOTAVAIL ? -ENOENT : err;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE && nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)))
		*(unsigned *)data = ((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_type;
	return MNL_CB_OK;
}

bool nl_is_local(const struct inet_prefix *a)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = a->family;
	rtm->rtm_dst_len = (uint8_t)(addr_len(a->family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(a->family), a->addr);
	unsigned type = RTN_UNSPEC;
	return talk(nlh, on_route, &type) == 0 && type == RTN_LOCAL;
}

/* An RTM_NEWROUTE or RTM_DELROUTE header for dst in main through the device. */
static struct nlmsghdr *route_msg(char *buf, uint16_t type, unsigned ifindex,
				  const struct inet_prefix *dst)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	mnl_attr_put(nlh, RTA_DST, addr_len(dst->family), dst->addr);
	if (ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return nlh;
}

int nl_add_route(unsigned ifindex, const struct inet_prefix *dst, const struct inet_prefix *prefsrc)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE, ifindex, dst);
	/*
	 * Never NLM_F_REPLACE: a remote subnet 0.0.0.0/0 would replace the host's default route
	 * (the key is prefix and metric, not device), and removing ours at exit would leave none.
	 * With NLM_F_EXCL an existing route to the same prefix is -EEXIST, as `ip route add`.
	 */
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefsrc)
		mnl_attr_put(nlh, RTA_PREFSRC, addr_len(prefsrc->family), prefsrc->addr);
	return talk(nlh, NULL, NULL);
}

int nl_add_blackhole(const struct inet_prefix *dst)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE, 0, dst);
	/* NLM_F_EXCL as nl_add_route: an admin's route to the same prefix stays. */
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_BLACKHOLE;
	return talk(nlh, NULL, NULL);
}

int nl_del_blackhole(const struct inet_prefix *dst)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, 0, dst);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_BLACKHOLE; /* only a blackhole: never the admin's unicast route */
	int err = talk(nlh, NULL, NULL);
	return err == -ESRCH ? -ENOENT : err;
}

int nl_del_route(unsigned ifindex, const struct inet_prefix *dst)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, ifindex, dst);
	/* Any scope, type and protocol (as `ip route del`): the prefix and device decide. */
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_scope = RT_SCOPE_NOWHERE;
	int err = talk(nlh, NULL, NULL);
	return err == -ESRCH ? -ENOENT : err;
}

/* An RTM_NEWRULE or RTM_DELRULE header: family, pref and fwmark mark/0xffffffff. */
static struct nlmsghdr *rule_msg(char *buf, uint16_t type, uint8_t family, uint32_t pref,
				 uint32_t mark)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	return nlh;
}

int nl_add_rule(const struct nl_rule *r)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = rule_msg(buf, RTM_NEWRULE, r->family, r->pref, r->mark);
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	frh->action = r->action;
	if (r->action == FR_ACT_TO_TBL) {
		/* The header's table is 8 bits wide; FRA_TABLE carries any table id. */
		frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
		mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	}
	if (r->group)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_IFGROUP, r->group);
	return talk(nlh, NULL, NULL);
}

int nl_del_rule(uint8_t family, uint32_t pref, uint32_t mark)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	/* Action FR_ACT_UNSPEC and no table: the kernel matches any (fib_rules.c rule_find). */
	return talk(rule_msg(buf, RTM_DELRULE, family, pref, mark), NULL, NULL);
}
