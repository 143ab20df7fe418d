/*
 * vnet: the packet work of the TUN offloads (IFF_VNET_HDR with TUNSETOFFLOAD), as pure functions
 * over byte buffers; tun_linux.c does the I/O.
 *
 * With IFF_VNET_HDR every read and write on the device starts with a struct virtio_net_hdr
 * (VNET_HDR_LEN bytes, host byte order on a little-endian host).
 *
 * In, kernel to daemon (TUNSETOFFLOAD with CSUM, TSO4, TSO6, USO4, USO6):
 * - NEEDS_CSUM: the transport checksum field holds only the pseudo-header sum; the kernel left
 *   the rest to "the device". vnet_csum_finish completes it.
 * - GSO (gso_type TCPV4, TCPV6, UDP_L4): one set of headers and up to 64 KiB of payload to be
 *   cut into gso_size pieces. The overlay carries plain IP packets that any yggdrasil must be
 *   able to deliver, so vnet_seg_* makes each piece a whole packet with its own lengths, TCP
 *   sequence number and flags (RFC 9293 §3.1), IPv4 ID and checksums.
 *   The kernel's TCP and UDP then pay their per-packet costs once per 64 KiB.
 *
 * Out, daemon to kernel: vnet_gro_* merges packets of one TCP or UDP flow from one batch of
 * writes into a single GSO packet with NEEDS_CSUM (GRO done in the daemon). The kernel's
 * receive path then runs once for the merged packet: a local TCP socket takes it whole, a UDP
 * socket gets it cut back into the original datagrams. Only packets whose checksum verifies
 * are merged (the kernel recomputes the checksums of a merged packet's pieces); the merge rules
 * are those of the kernel's own GRO, so that cutting the merged packet again gives back the
 * original packets.
 */
#ifndef YGG64_TUN_VNET_H
#define YGG64_TUN_VNET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4 /* Linux 6.2 uapi; Debian 12's headers are 6.1 */
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

enum {
	VNET_HDR_LEN = 10, /* sizeof(struct virtio_net_hdr), the TUN default (TUNSETVNETHDRSZ) */
	VNET_GRO_MAX_SEGS = 64,	  /* pieces per merged packet; the kernel's UDP takes up to 64+ */
	VNET_GRO_MAX_LEN = 65535, /* a merged packet, IP header included */
};

/* struct virtio_net_hdr, decoded. */
struct vnet_hdr {
	uint8_t flags;	  /* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_* (ECN bit included) */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void vnet_hdr_get(const uint8_t *b, struct vnet_hdr *h);
void vnet_hdr_put(uint8_t *b, const struct vnet_hdr *h);

/*
 * Completes the checksum of a NEEDS_CSUM packet: the ones' complement of the sum from
 * csum_start to the end goes to csum_start + csum_offset (whose field already holds the
 * pseudo-header sum). A result of 0 is written as 0xffff, as the kernel does. -1 when the
 * offsets do not fit in the packet.
 */
int vnet_csum_finish(uint8_t *pkt, size_t len, const struct vnet_hdr *h);

/* A GSO packet read from the device, checked and measured by vnet_seg_plan. */
struct vnet_seg {
	size_t l3len;  /* IP header(s), up to the transport header: csum_start */
	size_t hlen;   /* every header: l3len + the TCP header (data offset) or 8 (UDP) */
	size_t mss;    /* payload bytes per piece: gso_size */
	size_t paylen; /* payload bytes in all */
	size_t nseg;   /* pieces */
	uint8_t ver;   /* 4 or 6 */
	uint8_t proto; /* 6 (TCP) or 17 (UDP) */
};

/*
 * Checks that pkt (len bytes, after the vnet header) is a GSO packet this module can cut:
 * gso_type TCPV4, TCPV6 or UDP_L4 (ECN allowed), NEEDS_CSUM, an IP version and header length
 * that agree with csum_start, a transport header that fits, gso_size > 0 and payload.
 * 0 and *s filled, or -1.
 */
int vnet_seg_plan(const uint8_t *pkt, size_t len, const struct vnet_hdr *h, struct vnet_seg *s);
/*
 * Writes piece k (0 <= k < s->nseg) of pkt as a whole IP packet to out, which has room for
 * s->hlen + s->mss bytes, and returns its length.
 */
size_t vnet_seg_write(const uint8_t *pkt, const struct vnet_seg *s, size_t k, uint8_t *out);

/* A packet to be written, as far as merging cares (vnet_gro_parse). */
struct vnet_flow {
	uint8_t ver;   /* 4 or 6 */
	uint8_t proto; /* 6 or 17 */
	uint8_t tcp_flags;
	size_t l3len;  /* 20 or 40 */
	size_t hlen;   /* l3len + transport header */
	size_t paylen; /* transport payload bytes */
	uint32_t seq;  /* TCP */
};

/*
 * True when pkt (len bytes) may take part in a merge: IPv4 without options and not a fragment,
 * or IPv6 without extension headers, carrying TCP or UDP, with lengths that agree with len,
 * payload, a UDP checksum that is not 0, and small enough that a second packet could join.
 * *f is filled when true. The checksum itself is checked by vnet_gro_append, only when a
 * merge needs it.
 */
bool vnet_gro_parse(const uint8_t *pkt, size_t len, struct vnet_flow *f);
/*
 * For a packet vnet_gro_parse refused: true when it is still a TCP or UDP packet whose flow
 * can be told (IPv4 that is not a fragment, options allowed, or IPv6 without extension
 * headers, with the ports inside len), such as a pure ACK. Then f->ver, f->proto and f->l3len
 * are set, enough for vnet_gro_same_flow, and only a merge of that flow has to end before it
 * is written; false means any open merge may be its flow.
 */
bool vnet_flow_id(const uint8_t *pkt, size_t len, struct vnet_flow *f);
/*
 * True for a TCP segment that carries no data (a pure ACK, or a bare SYN/FIN/RST), in IPv4
 * that is not a fragment or in IPv6 without extension headers; len is the whole packet.
 */
bool vnet_tcp_no_payload(const uint8_t *pkt, size_t len);

/* A merged packet being built in its first packet's buffer. */
struct vnet_gro {
	uint8_t *head;	      /* the first packet, then the payload of the others after it */
	size_t len;	      /* bytes at head */
	size_t cap;	      /* room at head */
	struct vnet_flow f;   /* of the first packet */
	size_t mss;	      /* the first packet's payload length */
	size_t nseg;	      /* packets merged */
	uint32_t next_seq;    /* TCP: the sequence number that continues the merge */
	bool is_closed;	      /* a short piece or a PSH was merged: nothing may follow */
	bool has_psh;	      /* TCP: the last merged piece carried PSH */
	bool is_head_checked; /* the first packet's checksum verified (on the first append) */
};

/* Starts a merge with the packet at head (len bytes, cap bytes of room, parsed into f). */
void vnet_gro_start(struct vnet_gro *g, uint8_t *head, size_t len, size_t cap,
		    const struct vnet_flow *f);
/* True when pkt belongs to g's flow: same version, protocol, addresses and ports. */
bool vnet_gro_same_flow(const struct vnet_gro *g, const uint8_t *pkt, const struct vnet_flow *f);
/*
 * Appends pkt's payload to g when pkt continues g (same flow, equal headers apart from the
 * fields a merge rewrites, TCP sequence in order, a payload no longer than the first one's,
 * within the size and piece limits, both pkt's and the first packet's checksums correct). True
 * when appended: pkt's bytes were copied and the caller still owns (and frees) pkt. False leaves
 * g's bytes unchanged (a first packet whose checksum fails also closes g); the caller should
 * then close g (vnet_gro_finish) before writing pkt, to keep the flow's order.
 */
bool vnet_gro_append(struct vnet_gro *g, const uint8_t *pkt, const struct vnet_flow *f);
/*
 * Finishes g and returns the length to write from g->head. With one packet it is left as it
 * was and *h is all zero; with more, the IP and UDP lengths, the IPv4 header checksum and the
 * transport checksum field (the pseudo-header sum, for NEEDS_CSUM) are rewritten and *h
 * describes the GSO packet.
 */
size_t vnet_gro_finish(struct vnet_gro *g, struct vnet_hdr *h);
#endif
