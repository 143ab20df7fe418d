/*
 * tun_linux: the Linux TUN device (see tun.h; spec sessions-core-admin §5.4).
 *
 * Owns: the /dev/net/tun file descriptor (O_NONBLOCK | O_CLOEXEC, IFF_TUN | IFF_NO_PI), the
 * uv_poll_t watching it and the counters. Packets read are pool pkts handed to the receive
 * callback, which then owns them; pkts given to tun_write are freed before it returns (a write
 * to a TUN is a synchronous, atomic copy into the kernel, so nothing is held in flight).
 *
 * Configuration goes through rtnetlink (libmnl), one request and one ACK per step: MTU and
 * queue length (RTM_NEWLINK/IFLA_MTU, IFLA_TXQLEN), link up (RTM_NEWLINK/IFF_UP), then the
 * address (RTM_NEWADDR, addr/7 with IFA_F_NODAD). The MTU comes first because IPv6 is disabled
 * on a device whose MTU is below 1280, and the address last because the kernel's 200::/7 prefix
 * route then lands on a link that is already up.
 *
 * Invariants: the fd stays open until the poll handle's close callback, so a read or write
 * racing with tun_close never hits a closed (or reused) descriptor; once is_closing is set no
 * packet is read or written. The read loop stops after READ_BATCH packets so one busy device
 * cannot starve links and timers (the poll is level-triggered: it fires again next iteration).
 *
 * Offloads (vnet.h): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSO
 * and USO), as yggdrasil-go's TUN does, so every read and write starts with a virtio_net_hdr.
 * A read lands VNET_HDR_LEN bytes before pkt->data, in the headroom, so the IP packet starts
 * at pkt->data; a checksum left to us is completed and a GSO packet is cut into pieces, each
 * one pool pkt. Writes are queued for the rest of the loop iteration (at most WRITE_BATCH),
 * then merged per flow (GRO) and written with writev, header first. A kernel that refuses
 * IFF_VNET_HDR (or TUNSETOFFLOAD) gets plain packets, written at once.
 *
 * Handles: the poll, and a check plus an idle handle that flush the write queue at the end of
 * the loop iteration (the idle one keeps the loop from sleeping when a timer queued a write).
 * With offloads a read can become dozens of pkts, so reading pauses (poll stopped) while fewer
 * than read_reserve pool pkts are free, and resumes from the pkt_free that gives enough back
 * (pkt_pool_notify_room), wherever in the loop iteration that happens: a check handle could
 * run before the link's flush that frees them, and the loop would then sleep with reading off.
 * Meanwhile the kernel queues (and, when its queue is full, drops) what is sent to the device:
 * backpressure, not a busy loop.
 *
 * Receive moderation, as a NIC's interrupt coalescing (ethtool rx-usecs): a read pass that
 * emptied the device's queue after at least REST_MIN packets stops the poll and arms rest_fd,
 * a timerfd, for REST_USEC; its expiry resumes reading. Under a flood of small packets each
 * pass then finds tens of packets instead of a handful, so the loop wakes, polls, meets EAGAIN
 * and writes its links once per tens of packets. In a netns pair at 190 kpps of 64-byte UDP
 * the sending daemon used about 10 % less CPU, the receiving one 7 %, and the host switched
 * context 20-35 % less often. TCP segments without data do not count: ACKs pace their sender,
 * and resting on bursts of them cost 4-5 % of a TCP transfer's throughput at IfMTU 1280. A
 * lone packet or bulk TCP (64 KB reads, cut apart here) never fills a pass either, so their
 * latency is untouched; a flood's packets wait at most REST_USEC more.
 * The device's queue (txqlen) holds far more than a rest's worth.
 *
 * Timers: none of libuv's; rest_fd (above) is a timerfd.
 */
#include "tun/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h> /* before the linux/ headers, which defer to it (libc-compat.h) */
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#ifndef TUN_F_USO4 /* Linux 6.2 (include/uapi/linux/if_tun.h); Debian 12's headers are 6.1 */
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <uv.h>

#include "lib/inet.h"
#include "lib/list.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/pkt.h"
#include "tun/vnet.h"

enum {
	READ_BATCH = 64,  /* packets per readiness callback (fairness, see the header) */
	WRITE_BATCH = 64, /* writes queued before a flush (see the header) */
	/*
	 * Reading pauses while fewer pool pkts than this are free: one TSO packet at MTU 1280
	 * becomes 55 pieces, and pieces that find the pool empty are lost.
	 */
	READ_RESERVE = 64,
	SCRATCH_LEN = 64, /* reads that only drop a packet: the kernel discards the rest */
	/*
	 * Receive moderation (see the header): a read pass that emptied the device's queue after
	 * at least REST_MIN packets makes reading rest for REST_USEC.
	 */
	REST_MIN = 8,
	REST_USEC = 250,
	MTU_MIN = 1280, /* RFC 8200 §5 */
	MTU_MAX = 65535,
	ADDR6_PLEN = 7,	     /* 200::/7 (spec §4.2: the TUN gets address/7) */
	NL_BUF_LEN = 8192,   /* one request or ACK; MNL_SOCKET_BUFFER_SIZE's cap */
	ADDR_WAIT_MS = 1000, /* for the address's local route (wait_local) */
};

struct tun {
	uv_poll_t poll;
	uv_poll_t rest_poll; /* rest_fd, a timerfd: the end of a rest */
	uv_check_t flush_check;
	uv_idle_t flush_idle;
	uv_loop_t *loop;
	int fd;
	int rest_fd; /* -1: no receive moderation (timerfd refused) */
	bool is_closing;
	bool is_resting; /* receive moderation: poll stopped until rest_fd expires */
	bool can_rest;	 /* rest_fd is watched */
	bool has_vnet;	 /* IFF_VNET_HDR: a virtio_net_hdr before every packet */
	bool is_flush_scheduled;
	bool is_read_paused; /* the pool was low: poll stopped until on_room */
	size_t read_reserve; /* READ_RESERVE, or half of a smaller pool */
	unsigned offloads;   /* TUN_F_* that TUNSETOFFLOAD accepted */
	int open_handles;    /* handles whose close callback is still due */
	struct pkt_queue wq; /* writes waiting for the end of the loop iteration */
	unsigned ifindex;
	char name[IFNAMSIZ];
	uint32_t mtu;
	uint32_t txqlen; /* IFLA_TXQLEN: the ring the kernel fills and we read */
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
	if (mtu) {
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
		mnl_attr_put_u32(nlh, IFLA_TXQLEN, t->txqlen);
	}
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

/*
 * Asks for every offload vnet.c handles, then for fewer as older kernels refuse them: USO came
 * with Linux 6.2, TSO and checksum offload long before. Without any, packets still carry the
 * (then empty) vnet header.
 */
static void set_offloads(struct tun *t, int fd)
{
	static const unsigned tries[] = {
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
	    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
	    TUN_F_CSUM,
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			t->offloads = tries[i];
			return;
		}
	}
	log_warn_errno(-errno, "tun: TUNSETOFFLOAD: no offloads, one packet per read");
}

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
	/*
	 * IFF_TUN: L3 packets; IFF_NO_PI: no 4-byte protocol header, the version nibble tells;
	 * IFF_VNET_HDR: the offload header (see the top of the file), if the kernel has it.
	 */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	t->has_vnet = true;
	int r = ioctl(fd, TUNSETIFF, &ifr);
	if (r < 0 && errno == EINVAL) { /* perhaps a kernel without IFF_VNET_HDR */
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		t->has_vnet = false;
		r = ioctl(fd, TUNSETIFF, &ifr);
	}
	if (r < 0) {
		int err = -errno;
		log_error_errno(err, "tun %s: TUNSETIFF", ifname);
		close(fd);
		return err;
	}
	if (t->has_vnet)
		set_offloads(t, fd);
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

/*
 * Cuts the GSO packet p (len bytes at p->data) into pieces, each a pool pkt handed to the
 * receive callback, and frees p. A piece that finds the pool empty is dropped and counted.
 */
static void cut_gso(struct tun *t, struct pkt *p, size_t len, const struct vnet_hdr *h)
{
	struct vnet_seg s;

	if (vnet_seg_plan(p->data, len, h, &s) < 0) {
		t->stats.rx_drops++;
		pkt_free(p);
		return;
	}
	t->stats.rx_gso++;
	for (size_t k = 0; k < s.nseg && !t->is_closing; k++) {
		struct pkt *q = pkt_alloc(t->pool);

		if (!q) {
			t->stats.no_pkt += s.nseg - k;
			break;
		}
		if (pkt_tailroom(q) < s.hlen + s.mss) {
			t->stats.rx_drops++;
			pkt_free(q);
			continue;
		}
		q->len = vnet_seg_write(p->data, &s, k, q->data);
		t->stats.rx_packets++;
		t->recv(t->ctx, q);
	}
	pkt_free(p);
}

/*
 * The vnet header of a read of n bytes (header included) into p: completes a checksum left to
 * us, or cuts a GSO packet (which consumes p). True when p is now a plain packet to hand on.
 */
static bool vnet_in(struct tun *t, struct pkt *p, size_t n)
{
	struct vnet_hdr h;

	if (n < VNET_HDR_LEN) {
		t->stats.rx_drops++;
		pkt_free(p);
		return false;
	}
	vnet_hdr_get(p->data - VNET_HDR_LEN, &h);
	if ((h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		cut_gso(t, p, n - VNET_HDR_LEN, &h);
		return false;
	}
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    vnet_csum_finish(p->data, n - VNET_HDR_LEN, &h) < 0) {
		t->stats.rx_drops++;
		pkt_free(p);
		return false;
	}
	return true;
}

static void on_readable(uv_poll_t *h, int status, int events);

/* Reading stops for two reasons, a low pool and a rest; it resumes when neither holds. */
static void read_resume(struct tun *t)
{
	if (t->is_read_paused || t->is_resting || t->is_closing)
		return;
	uv_poll_start(&t->poll, UV_READABLE, on_readable);
}

/* The pool has read_reserve pkts free again (pkt_pool_notify_room). */
static void on_room(void *ctx)
{
	struct tun *t = ctx;

	t->is_read_paused = false;
	read_resume(t);
}

static void rest(struct tun *t)
{
	struct itimerspec its = {.it_value = {.tv_nsec = REST_USEC * 1000L}};

	if (!t->can_rest || timerfd_settime(t->rest_fd, 0, &its, NULL) < 0)
		return;
	t->is_resting = true;
	t->stats.rx_rests++;
	uv_poll_stop(&t->poll);
}

static void on_rest_end(uv_poll_t *h, int status, int events)
{
	struct tun *t = container_of(h, struct tun, rest_poll);
	uint64_t expirations;

	(void)status;
	(void)events;
	if (read(t->rest_fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return; /* not expired yet */
	t->is_resting = false;
	read_resume(t);
}

static void read_pause(struct tun *t)
{
	if (t->is_read_paused)
		return;
	t->is_read_paused = true;
	uv_poll_stop(&t->poll);
	pkt_pool_notify_room(t->pool, t->read_reserve, on_room, t);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct tun *t = container_of(h, struct tun, poll);
	int got = 0;
	bool drained = false;
	(void)events;
	if (status < 0)
		/* POLLERR: the interface was deleted under us; the read below reports it. */
		log_io_error(t, "poll", status);
	for (int i = 0; i < READ_BATCH && !t->is_closing; i++) {
		if (t->has_vnet && pkt_pool_avail(t->pool) < t->read_reserve) {
			read_pause(t);
			break;
		}
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
		/* The vnet header lands in the headroom, the IP packet at p->data. */
		size_t hl = t->has_vnet ? VNET_HDR_LEN : 0;
		size_t cap = pkt_tailroom(p);
		ssize_t n = read(t->fd, p->data - hl, cap + hl);
		if (n < 0) {
			int err = errno;
			pkt_free(p);
			if (err == EAGAIN || err == EWOULDBLOCK) {
				drained = true;
				break;
			}
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
		if (hl && !vnet_in(t, p, (size_t)n))
			continue;
		if (!is_whole_ip(p->data, (size_t)n - hl)) {
			t->stats.rx_drops++;
			pkt_free(p);
			continue;
		}
		p->len = (size_t)n - hl;
		t->stats.rx_packets++;
		/*
		 * ACKs clock their sender: they never make a rest (header). Past REST_MIN the
		 * count is settled, so the rest of a busy pass is not parsed for it.
		 */
		if (got < REST_MIN && !vnet_tcp_no_payload(p->data, p->len))
			got++;
		t->recv(t->ctx, p);
	}
	if (drained && got >= REST_MIN && !t->is_closing && !t->is_read_paused)
		rest(t);
}

/*
 * A TUN write hands the packet to the kernel's receive path synchronously and atomically: it
 * either fails whole or succeeds whole, and never blocks for long. On EAGAIN (the socket's send
 * budget is used up) the packet is dropped instead of queued: the device is an IP link, IP is
 * best effort, and the senders' congestion control reacts to loss; a queue here would only add
 * latency on top of the kernel's own backlog and pin pool pkts that the links need.
 * npkts: how many of the caller's packets the write carries (counted as one each).
 */
static void write_dev(struct tun *t, const struct vnet_hdr *h, const uint8_t *b, size_t len,
		      size_t npkts)
{
	uint8_t hb[VNET_HDR_LEN];
	struct iovec iov[2] = {{hb, sizeof(hb)}, {(void *)b, len}};
	size_t want = len;
	ssize_t n;

	if (h) {
		vnet_hdr_put(hb, h);
		want += sizeof(hb);
	}
	do
		n = h ? writev(t->fd, iov, 2) : write(t->fd, b, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)want) {
		t->stats.tx_packets += npkts;
	} else {
		t->stats.tx_drops += npkts;
		/* EAGAIN/ENOBUFS are congestion; anything else (EINVAL: not IP) is worth a log. */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			log_io_error(t, "write", errno);
	}
}

/*
 * Writes the queued packets, merged per flow (vnet.h). Each packet either joins the newest
 * merge of its flow or starts a merge of its own; merges are written in the order they were
 * started, so a flow's packets keep their order. A packet that cannot take part closes the
 * open merge of its flow (a pure ACK, say: vnet_flow_id), or every open merge when its flow
 * cannot be told (not TCP or UDP, a fragment).
 */
static void flush_writes(struct tun *t)
{
	struct vnet_gro g[WRITE_BATCH];
	struct pkt *gp[WRITE_BATCH];
	bool merging[WRITE_BATCH];
	size_t ng = 0;
	struct pkt *p;

	while (ng < WRITE_BATCH && (p = pkt_queue_pop(&t->wq))) {
		struct vnet_flow f;
		size_t i = ng;

		merging[ng] = vnet_gro_parse(p->data, p->len, &f);
		if (!merging[ng]) {
			/* Only its own flow's merge must not take packets sent after it. */
			bool known = vnet_flow_id(p->data, p->len, &f);

			for (size_t j = 0; j < ng; j++)
				if (!known ||
				    (merging[j] && vnet_gro_same_flow(&g[j], p->data, &f)))
					g[j].is_closed = true;
			g[ng].head = p->data;
			g[ng].len = p->len;
			gp[ng++] = p;
			continue;
		}
		while (i-- > 0)
			if (merging[i] && vnet_gro_same_flow(&g[i], p->data, &f))
				break;
		if (i != (size_t)-1) {
			if (vnet_gro_append(&g[i], p->data, &f)) {
				pkt_free(p);
				continue;
			}
			g[i].is_closed = true;
		}
		vnet_gro_start(&g[ng], p->data, p->len, (size_t)(p->end - p->data), &f);
		gp[ng++] = p;
	}
	for (size_t i = 0; i < ng; i++) {
		struct vnet_hdr h = {0};
		size_t len = merging[i] ? vnet_gro_finish(&g[i], &h) : g[i].len;
		size_t n = merging[i] ? g[i].nseg : 1;

		if (n > 1) {
			t->stats.tx_gro++;
			t->stats.tx_gro_pkts += n;
		}
		write_dev(t, &h, gp[i]->data, len, n);
		pkt_free(gp[i]);
	}
}

static void flush_unschedule(struct tun *t)
{
	if (!t->is_flush_scheduled)
		return;
	t->is_flush_scheduled = false;
	uv_check_stop(&t->flush_check);
	uv_idle_stop(&t->flush_idle);
}

static void flush_all(struct tun *t)
{
	flush_unschedule(t);
	while (pkt_queue_len(&t->wq))
		flush_writes(t);
}

static void on_check(uv_check_t *h)
{
	flush_all(container_of(h, struct tun, flush_check));
}

static void on_flush_idle(uv_idle_t *h)
{
	flush_all(container_of(h, struct tun, flush_idle));
}

void tun_write(struct tun *t, struct pkt *p)
{
	if (t->is_closing) {
		t->stats.tx_drops++;
		pkt_free(p);
		return;
	}
	if (!t->has_vnet) {
		write_dev(t, NULL, p->data, p->len, 1);
		pkt_free(p);
		return;
	}
	if (pkt_queue_len(&t->wq) >= WRITE_BATCH)
		flush_writes(t);
	pkt_queue_push(&t->wq, p);
	if (!t->is_flush_scheduled) {
		t->is_flush_scheduled = true;
		uv_check_start(&t->flush_check, on_check);
		uv_idle_start(&t->flush_idle, on_flush_idle);
	}
}

/* ---- lifecycle ---- */

/* Receive moderation's timer; without it the device is read as soon as it is readable. */
static void rest_open(struct tun *t)
{
	t->rest_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->rest_fd < 0) {
		log_warn_errno(-errno, "tun %s: timerfd_create: receive moderation off", t->name);
		return;
	}
	if (uv_poll_init(t->loop, &t->rest_poll, t->rest_fd) < 0) {
		log_warn("tun %s: cannot watch the timerfd: receive moderation off", t->name);
		close(t->rest_fd);
		t->rest_fd = -1;
		return;
	}
	/* From here the handle owns the fd until tun_close; a timer never armed never fires. */
	t->can_rest = uv_poll_start(&t->rest_poll, UV_READABLE, on_rest_end) == 0;
	if (!t->can_rest)
		log_warn("tun %s: cannot watch the timerfd: receive moderation off", t->name);
}

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
	t->rest_fd = -1;
	t->mtu = p->mtu;
	t->txqlen = p->txqueuelen ? p->txqueuelen : TUN_TXQ_DEFAULT;
	t->pool = p->pool;
	t->recv = p->recv;
	t->ctx = p->ctx;
	t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(5, 1);

	struct pkt_pool_info pi;
	pkt_pool_info(p->pool, &pi);
	t->read_reserve = pi.capacity / 2 < READ_RESERVE ? pi.capacity / 2 : READ_RESERVE;
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
	uv_check_init(loop, &t->flush_check);
	uv_idle_init(loop, &t->flush_idle);
	pkt_queue_init(&t->wq, WRITE_BATCH);
	rest_open(t);
	log_info("tun %s: up, MTU %u, offloads %s", t->name, (unsigned)t->mtu,
		 !t->has_vnet		    ? "none"
		 : t->offloads & TUN_F_USO4 ? "csum tso uso"
		 : t->offloads & TUN_F_TSO4 ? "csum tso"
		 : t->offloads		    ? "csum"
					    : "none");
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
	out->has_vnet = t->has_vnet;
	out->offloads = t->offloads;
	memcpy(out->name, t->name, sizeof(out->name));
	out->mtu = t->mtu;
}

/*
 * The close callback owns the rest of the teardown: the fd is closed only now (libuv must stop
 * watching it first), then done runs; the owner frees the struct with tun_free.
 */
static void on_handle_closed(uv_handle_t *h)
{
	struct tun *t = h->data;
	if (--t->open_handles > 0)
		return;
	close(t->fd);
	t->fd = -1;
	if (t->rest_fd >= 0)
		close(t->rest_fd);
	t->rest_fd = -1;
	if (t->done)
		t->done(t->done_arg);
}

void tun_close(struct tun *t, tun_closed_cb *done, void *arg)
{
	t->is_closing = true;
	t->done = done;
	t->done_arg = arg;
	if (t->is_read_paused) /* the pool outlives us */
		pkt_pool_notify_room(t->pool, 0, NULL, NULL);
	flush_all(t);
	log_info("tun %s: closed; read %" PRIu64 " packets (%" PRIu64 " GSO cut, %" PRIu64
		 " rests), wrote %" PRIu64 " (%" PRIu64 " in %" PRIu64
		 " merged writes); drops: read %" PRIu64 ", write %" PRIu64 ", no pkt %" PRIu64,
		 t->name, t->stats.rx_packets, t->stats.rx_gso, t->stats.rx_rests,
		 t->stats.tx_packets, t->stats.tx_gro_pkts, t->stats.tx_gro, t->stats.rx_drops,
		 t->stats.tx_drops, t->stats.no_pkt);
	t->open_handles = 3;
	t->poll.data = t->flush_check.data = t->flush_idle.data = t;
	uv_close((uv_handle_t *)&t->poll, on_handle_closed);
	uv_close((uv_handle_t *)&t->flush_check, on_handle_closed);
	uv_close((uv_handle_t *)&t->flush_idle, on_handle_closed);
	if (t->rest_fd >= 0) {
		t->open_handles++;
		t->rest_poll.data = t;
		uv_close((uv_handle_t *)&t->rest_poll, on_handle_closed);
	}
}

void tun_free(struct tun *t)
{
	free(t);
}
