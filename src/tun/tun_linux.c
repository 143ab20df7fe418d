/*
 * tun_linux: the Linux TUN device (see tun.h; spec sessions-core-admin §5.4).
 *
 * Owns: the /dev/net/tun file descriptor (O_NONBLOCK | O_CLOEXEC, IFF_TUN | IFF_NO_PI), the
 * uv_poll_t watching it and the counters. Packets read are pool pkts handed to the receive
 * callback, which then owns them; pkts given to tun_write are freed before it returns (a write
 * to a TUN is a synchronous, atomic copy into the kernel, so nothing is held in flight).
 *
 * Configuration goes through rtnetlink (libmnl), one request and one ACK per step: MTU
 * (RTM_NEWLINK/IFLA_MTU), link up (RTM_NEWLINK/IFF_UP), then the address (RTM_NEWADDR,
 * addr/7 with IFA_F_NODAD). The MTU comes first because IPv6 is disabled on a device whose MTU
 * is below 1280, and the address last because the kernel's 200::/7 prefix route then lands on
 * a link that is already up.
 *
 * Invariants: the fd stays open until the poll handle's close callback, so a read or write
 * racing with tun_close never hits a closed (or reused) descriptor; once is_closing is set no
 * packet is read or written. The read loop stops after READ_BATCH packets so one busy device
 * cannot starve links and timers (the poll is level-triggered: it fires again next iteration).
 *
 * Offloads (issue 4, later): with IFF_VNET_HDR and TUNSETOFFLOAD every read and write carries a
 * struct virtio_net_hdr (12 bytes with TUNSETVNETHDRSZ) in front of the IP packet. On reads it
 * would land in the pkt headroom (read at data - hdr_len, then parsed and pulled), on writes it
 * would be pushed into the headroom; that is why the read below targets pkt->data and not the
 * buffer start. Not enabled: every packet is a plain IP datagram.
 *
 * Timers: none.
 */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before the linux/ headers, which defer to it (libc-compat.h) */
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <uv.h>

#include "lib/inet.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"

enum {
	READ_BATCH = 64,  /* packets per readiness callback (fairness, see the header) */
	SCRATCH_LEN = 64, /* reads that only drop a packet: the kernel discards the rest */
	MTU_MIN = 1280,	  /* RFC 8200 §5 */
	MTU_MAX = 65535,
	ADDR6_PLEN = 7,	     /* 200::/7 (spec §4.2: the TUN gets address/7) */
	NL_BUF_LEN = 8192,   /* one request or ACK; MNL_SOCKET_BUFFER_SIZE's cap */
	ADDR_WAIT_MS = 1000, /* for the address's local route (wait_local) */
};

struct tun {
	uv_poll_t poll;
	uv_loop_t *loop;
	int fd;
	bool is_closing;
	unsigned ifindex;
	char name[IFNAMSIZ];
	uint32_t mtu;
	struct pkt_pool *pool;
	tun_recv_cb *recv;
	void *ctx;
	tun_closed_cb *done;
	void *done_arg;
	struct tun_info stats;
	struct log_ratelimit rl;
	uint8_t scratch[SCRATCH_LEN];
};

/* ---- rtnetlink ---- */

/*
 * Sends one request (flags NLM_F_REQUEST | NLM_F_ACK are added) and waits for its ACK; any
 * reply message before it goes to cb(msg, data) (NULL: none expected). Returns 0 or a negative
 * errno (the kernel's answer, or the socket's failure).
 */
static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
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

/* An RTM_NEWLINK for our device with the given flags change (ifi_change) and MTU (0: none). */
static int nl_set_link(const struct tun *t, unsigned flags, unsigned change, uint32_t mtu)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)t->ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nlh, NULL, NULL);
}

/* RTM_NEWADDR addr6/plen, permanent, without duplicate address detection (RFC 4862 §5.4). */
static int nl_add_addr6(const struct tun *t, const uint8_t addr6[16], unsigned plen)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = t->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 16, addr6);
	mnl_attr_put(nlh, IFA_ADDRESS, 16, addr6);
	/* ifa_flags is 8 bits wide; IFA_FLAGS carries the same flags as a u32 for new kernels. */
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nl_talk(nlh, NULL, NULL);
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE && nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)))
		*(unsigned *)data = ((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_type;
	return MNL_CB_OK;
}

/* True when the kernel routes addr6 as local (`ip -6 route get addr6` says "local"). */
static bool nl_is_local(const uint8_t addr6[16])
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 128;
	mnl_attr_put(nlh, RTA_DST, 16, addr6);
	unsigned type = RTN_UNSPEC;
	return nl_talk(nlh, on_route, &type) == 0 && type == RTN_LOCAL;
}

/* RTM_NEWROUTE dst via our device (scope link: a TUN has no gateways). */
static int nl_add_route(const struct tun *t, const struct inet_prefix *dst)
{
	char buf[NL_BUF_LEN] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, dst->family == AF_INET ? 4 : 16, dst->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, t->ifindex);
	return nl_talk(nlh, NULL, NULL);
}

/* ---- device ---- */

/* Opens /dev/net/tun and attaches it to the interface named by (or templated by) ifname. */
static int open_device(struct tun *t, const char *ifname)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		log_error_errno(err, "tun: open /dev/net/tun");
		return err;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	/* IFF_TUN: L3 packets; IFF_NO_PI: no 4-byte protocol header, the version nibble tells. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;
		log_error_errno(err, "tun %s: TUNSETIFF", ifname);
		close(fd);
		return err;
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	t->ifindex = if_nametoindex(t->name);
	if (!t->ifindex) {
		int err = -errno;
		log_error_errno(err, "tun %s: interface index", t->name);
		close(fd);
		return err;
	}
	t->fd = fd;
	return 0;
}

/*
 * A NODAD address skips duplicate address detection, but the kernel still installs its local
 * route from a work queue just after RTM_NEWADDR is acknowledged; until then packets written
 * to the device for addr6 are discarded (Ip6InAddrErrors). Waiting here (typically not at all,
 * at most ADDR_WAIT_MS) makes the address usable when tun_open returns.
 */
static void wait_local(const struct tun *t, const uint8_t addr6[16])
{
	for (int ms = 0; ms < ADDR_WAIT_MS; ms++) {
		if (nl_is_local(addr6))
			return;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	log_warn("tun %s: our address is not local after %d ms; continuing", t->name, ADDR_WAIT_MS);
}

static int configure(struct tun *t, const uint8_t *addr6)
{
	int err = nl_set_link(t, 0, 0, t->mtu);
	if (err < 0) {
		log_error_errno(err, "tun %s: set MTU %u", t->name, (unsigned)t->mtu);
		return err;
	}
	err = nl_set_link(t, IFF_UP, IFF_UP, 0);
	if (err < 0) {
		log_error_errno(err, "tun %s: set link up", t->name);
		return err;
	}
	if (addr6) {
		err = nl_add_addr6(t, addr6, ADDR6_PLEN);
		if (err < 0) {
			char a[INET_ADDRSTRLEN_MAX];
			log_error_errno(err, "tun %s: add address %s/%u", t->name,
					inet_ntop6(addr6, a), (unsigned)ADDR6_PLEN);
			return err;
		}
		wait_local(t, addr6);
	}
	return 0;
}

static bool params_ok(const struct tun_params *p)
{
	if (!p->ifname || !p->ifname[0] || strlen(p->ifname) >= IFNAMSIZ) {
		log_error("tun: bad interface name \"%s\" (1 to %d bytes)",
			  p->ifname ? p->ifname : "", IFNAMSIZ - 1);
		return false;
	}
	if (strchr(p->ifname, '/') || strchr(p->ifname, ' ')) {
		log_error("tun: bad interface name \"%s\"", p->ifname);
		return false;
	}
	if (p->mtu < MTU_MIN || p->mtu > MTU_MAX) {
		log_error("tun: MTU %u outside %d..%d", (unsigned)p->mtu, MTU_MIN, MTU_MAX);
		return false;
	}
	if (!p->pool || !p->recv) {
		log_error("tun: no packet pool or receive callback");
		return false;
	}
	return true;
}

/* ---- data path ---- */

/* Reads and discards one packet; true when one was there. Used when the pool is empty. */
static bool drop_one(struct tun *t)
{
	ssize_t n = read(t->fd, t->scratch, sizeof(t->scratch));
	/* A short buffer truncates the packet (the kernel frees the rest); EFAULT is a drop too. */
	return n >= 0 || errno == EFAULT;
}

/*
 * True when d[0..n) is one whole IPv4 or IPv6 packet: the version nibble (IFF_NO_PI) is 4 or 6
 * and the header's length field (RFC 791 total length, RFC 8200 §3 payload length + 40) equals
 * what was read. A packet larger than the read buffer comes back truncated to the buffer with
 * no error (the kernel drops the rest), so this is also how oversized packets are caught.
 */
static bool is_whole_ip(const uint8_t *d, size_t n)
{
	if (n >= 20 && d[0] >> 4 == 4)
		return (size_t)(d[2] << 8 | d[3]) == n;
	if (n >= 40 && d[0] >> 4 == 6)
		return 40 + (size_t)(d[4] << 8 | d[5]) == n;
	return false;
}

/* Logs an unexpected read/write error, at most a few per second. */
static void log_io_error(struct tun *t, const char *op, int err)
{
	if (log_enabled(LOG_LEVEL_WARN) && log_ratelimit_ok(&t->rl, uv_now(t->loop))) {
		log_ratelimit_report(&t->rl, LOG_LEVEL_WARN);
		log_msg_errno(LOG_LEVEL_WARN, err, "tun %s: %s", t->name, op);
	}
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct tun *t = container_of(h, struct tun, poll);
	(void)events;
	if (status < 0)
		/* POLLERR: the interface was deleted under us; the read below reports it. */
		log_io_error(t, "poll", status);
	for (int i = 0; i < READ_BATCH && !t->is_closing; i++) {
		struct pkt *p = pkt_alloc(t->pool);
		if (!p) {
			/*
			 * Drop and count (STYLE.md §5) rather than stop polling: leaving packets in
			 * the kernel queue would keep the level-triggered poll firing anyway, and
			 * the queue holds stale packets once pkts come back.
			 */
			if (!drop_one(t))
				break;
			t->stats.no_pkt++;
			continue;
		}
		size_t cap = pkt_tailroom(p);
		ssize_t n = read(t->fd, p->data, cap);
		if (n < 0) {
			int err = errno;
			pkt_free(p);
			if (err == EAGAIN || err == EWOULDBLOCK)
				break;
			if (err == EINTR)
				continue;
			if (err == EFAULT) { /* did not fit: the kernel dropped it */
				t->stats.rx_drops++;
				continue;
			}
			/* EBADFD/EIO: the device is gone; stop rather than spin on POLLERR. */
			log_io_error(t, "read", err);
			log_error("tun %s: device failed, no longer reading", t->name);
			uv_poll_stop(&t->poll);
			break;
		}
		if (!is_whole_ip(p->data, (size_t)n)) {
			t->stats.rx_drops++;
			pkt_free(p);
			continue;
		}
		p->len = (size_t)n;
		t->stats.rx_packets++;
		t->recv(t->ctx, p);
	}
}

/*
 * A TUN write hands the packet to the kernel's receive path synchronously and atomically: it
 * either fails whole or succeeds whole, and never blocks for long. On EAGAIN (the socket's send
 * budget is used up) the packet is dropped instead of queued: the device is an IP link, IP is
 * best effort, and the senders' congestion control reacts to loss; a queue here would only add
 * latency on top of the kernel's own backlog and pin pool pkts that the links need.
 */
void tun_write(struct tun *t, struct pkt *p)
{
	if (t->is_closing) {
		t->stats.tx_drops++;
		pkt_free(p);
		return;
	}
	ssize_t n;
	do
		n = write(t->fd, p->data, p->len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)p->len) {
		t->stats.tx_packets++;
	} else {
		t->stats.tx_drops++;
		/* EAGAIN/ENOBUFS are congestion; anything else (EINVAL: not IP) is worth a log. */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			log_io_error(t, "write", errno);
	}
	pkt_free(p);
}

/* ---- lifecycle ---- */

/* tun_open failed after uv_poll_init: nobody holds the struct, so it is freed here. */
static void on_failed_poll_closed(uv_handle_t *h)
{
	struct tun *t = container_of(h, struct tun, poll);
	close(t->fd);
	free(t);
}

struct tun *tun_open(uv_loop_t *loop, const struct tun_params *p)
{
	if (!params_ok(p))
		return NULL;
	struct tun *t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->fd = -1;
	t->mtu = p->mtu;
	t->pool = p->pool;
	t->recv = p->recv;
	t->ctx = p->ctx;
	t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5, 1);

	struct pkt_pool_info pi;
	pkt_pool_info(p->pool, &pi);
	if (pi.payload_cap < p->mtu)
		log_warn("tun: pool pkts hold %zu bytes, below MTU %u: larger packets are dropped",
			 pi.payload_cap, (unsigned)p->mtu);

	const char *ifname = strcmp(p->ifname, "auto") == 0 ? "ygg%d" : p->ifname;
	if (open_device(t, ifname) < 0)
		goto free_tun;
	if (configure(t, p->addr6) < 0)
		goto close_fd;
	int err = uv_poll_init(loop, &t->poll, t->fd);
	if (err < 0) {
		log_error("tun %s: uv_poll_init: %s", t->name, uv_strerror(err));
		goto close_fd;
	}
	err = uv_poll_start(&t->poll, UV_READABLE, on_readable);
	if (err < 0) {
		/* The handle is initialised: it must be closed, and the fd with it, later. */
		log_error("tun %s: uv_poll_start: %s", t->name, uv_strerror(err));
		uv_close((uv_handle_t *)&t->poll, on_failed_poll_closed);
		return NULL;
	}
	log_info("tun %s: up, MTU %u", t->name, (unsigned)t->mtu);
	return t;

close_fd:
	/* Closing the last fd of a non-persistent TUN deletes the interface. */
	close(t->fd);
free_tun:
	free(t);
	return NULL;
}

int tun_add_route(struct tun *t, const struct inet_prefix *dst)
{
	if ((dst->family != AF_INET && dst->family != AF_INET6) ||
	    dst->len > (dst->family == AF_INET ? 32 : 128))
		return -EINVAL;
	int err = nl_add_route(t, dst);
	if (err < 0) {
		char s[INET_PREFIXSTRLEN_MAX];
		log_error_errno(err, "tun %s: add route %s", t->name, inet_prefix_format(dst, s));
	}
	return err;
}

void tun_get_info(const struct tun *t, struct tun_info *out)
{
	*out = t->stats;
	memcpy(out->name, t->name, sizeof(out->name));
	out->mtu = t->mtu;
}

/*
 * The close callback owns the rest of the teardown: the fd is closed only now (libuv must stop
 * watching it first), then done runs; the owner frees the struct with tun_free.
 */
static void on_poll_closed(uv_handle_t *h)
{
	struct tun *t = container_of(h, struct tun, poll);
	close(t->fd);
	t->fd = -1;
	if (t->done)
		t->done(t->done_arg);
}

void tun_close(struct tun *t, tun_closed_cb *done, void *arg)
{
	t->is_closing = true;
	t->done = done;
	t->done_arg = arg;
	uv_close((uv_handle_t *)&t->poll, on_poll_closed);
}

void tun_free(struct tun *t)
{
	free(t);
}
