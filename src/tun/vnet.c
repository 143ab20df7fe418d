/*
 * vnet: see vnet.h. Byte offsets are those of RFC 791 (IPv4), RFC 8200 (IPv6), RFC 9293 (TCP)
 * and RFC 768 (UDP); multi-byte fields are read and written big-endian by hand.
 */
#include "tun/vnet.h"

#include <string.h>

#include "lib/csum.h"
#include "lib/wire.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	UDP_HLEN = 8,
	TCP_HLEN_MIN = 20,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	TCP_OFF_CSUM = 16,
	UDP_OFF_CSUM = 6,
	TCP_FIN = 0x01,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_CWR = 0x80,
	IP4_DF = 0x40, /* in byte 6 */
};

void vnet_hdr_get(const uint8_t *b, struct vnet_hdr *h)
{
	struct virtio_net_hdr v;

	memcpy(&v, b, sizeof(v));
	h->flags = v.flags;
	h->gso_type = v.gso_type;
	h->hdr_len = v.hdr_len;
	h->gso_size = v.gso_size;
	h->csum_start = v.csum_start;
	h->csum_offset = v.csum_offset;
}

void vnet_hdr_put(uint8_t *b, const struct vnet_hdr *h)
{
	struct virtio_net_hdr v = {
	    .flags = h->flags,
	    .gso_type = h->gso_type,
	    .hdr_len = h->hdr_len,
	    .gso_size = h->gso_size,
	    .csum_start = h->csum_start,
	    .csum_offset = h->csum_offset,
	};

	memcpy(b, &v, sizeof(v));
}

_Static_assert(sizeof(struct virtio_net_hdr) == VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

int vnet_csum_finish(uint8_t *pkt, size_t len, const struct vnet_hdr *h)
{
	size_t at = (size_t)h->csum_start + h->csum_offset;
	uint16_t c;

	if (h->csum_start >= len || at + 2 > len)
		return -1;
	c = (uint16_t)~csum_fold(csum_partial(pkt + h->csum_start, len - h->csum_start, 0));
	csum_store(pkt + at, c ? c : 0xffff);
	return 0;
}

/* The pseudo-header sum of an IP packet at b (version ver) for l4len bytes of proto. */
static uint64_t pseudo(const uint8_t *b, uint8_t ver, size_t l4len, uint8_t proto)
{
	if (ver == 4)
		return csum_pseudo4(b + 12, b + 16, (uint16_t)l4len, proto);
	return csum_pseudo6(b + 8, b + 24, (uint32_t)l4len, proto);
}

/* Rewrites the IP length field(s) of b for a packet of len bytes (IPv4: header checksum too). */
static void set_ip_len(uint8_t *b, uint8_t ver, size_t len)
{
	if (ver == 6) {
		wire_set_be16(b + 4, len - IP6_HLEN);
		return;
	}
	wire_set_be16(b + 2, len);
	b[10] = b[11] = 0;
	csum_store(b + 10, (uint16_t)~csum_fold(csum_partial(b, (size_t)(b[0] & 0xf) * 4, 0)));
}

/* ---- in: segmentation ---- */

int vnet_seg_plan(const uint8_t *pkt, size_t len, const struct vnet_hdr *h, struct vnet_seg *s)
{
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	size_t l3 = h->csum_start;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0 || len < IP4_HLEN)
		return -1;
	s->ver = pkt[0] >> 4;
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (s->ver != (type == VIRTIO_NET_HDR_GSO_TCPV4 ? 4 : 6) ||
		    h->csum_offset != TCP_OFF_CSUM || l3 + TCP_HLEN_MIN > len)
			return -1;
		s->proto = PROTO_TCP;
		s->hlen = l3 + (size_t)(pkt[l3 + 12] >> 4) * 4;
		if (s->hlen < l3 + TCP_HLEN_MIN)
			return -1;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if ((s->ver != 4 && s->ver != 6) || h->csum_offset != UDP_OFF_CSUM)
			return -1;
		s->proto = PROTO_UDP;
		s->hlen = l3 + UDP_HLEN;
		break;
	default:
		return -1;
	}
	/* The transport header must follow the whole IP header, options or extensions included. */
	if (s->ver == 4
		? (pkt[0] & 0xf) * 4u != l3 || pkt[9] != s->proto || (pkt[6] & 0x3f) || pkt[7]
		: l3 < IP6_HLEN || (l3 == IP6_HLEN && pkt[6] != s->proto))
		return -1;
	if (s->hlen >= len)
		return -1;
	s->l3len = l3;
	s->mss = h->gso_size;
	s->paylen = len - s->hlen;
	s->nseg = (s->paylen + s->mss - 1) / s->mss;
	return 0;
}

size_t vnet_seg_write(const uint8_t *pkt, const struct vnet_seg *s, size_t k, uint8_t *out)
{
	size_t off = k * s->mss;
	size_t n = s->paylen - off < s->mss ? s->paylen - off : s->mss;
	size_t len = s->hlen + n;
	uint8_t *l4 = out + s->l3len;
	size_t csum_at;

	memcpy(out, pkt, s->hlen);
	memcpy(out + s->hlen, pkt + s->hlen + off, n);
	if (s->ver == 4)
		wire_set_be16(out + 4,
		      wire_be16(pkt + 4) + k); /* each piece its own IPv4 ID, as the kernel does */
	set_ip_len(out, s->ver, len);
	if (s->proto == PROTO_TCP) {
		wire_set_be32(l4 + 4, wire_be32(pkt + s->l3len + 4) + (uint32_t)off);
		if (k + 1 < s->nseg)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (k > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		csum_at = TCP_OFF_CSUM;
	} else {
		wire_set_be16(l4 + 4, len - s->l3len);
		csum_at = UDP_OFF_CSUM;
	}
	l4[csum_at] = l4[csum_at + 1] = 0;
	uint16_t c = (uint16_t)~csum_fold(
	    csum_partial(l4, len - s->l3len, pseudo(out, s->ver, len - s->l3len, s->proto)));
	csum_store(l4 + csum_at, c ? c : 0xffff);
	return len;
}

/* ---- out: merging ---- */

bool vnet_gro_parse(const uint8_t *pkt, size_t len, struct vnet_flow *f)
{
	const uint8_t *l4;
	size_t l4len;

	/* Two of these could not share VNET_GRO_MAX_LEN: not worth parsing. */
	if (len < IP4_HLEN || len > VNET_GRO_MAX_LEN / 2)
		return false;
	f->ver = pkt[0] >> 4;
	if (f->ver == 4) {
		if (pkt[0] != 0x45 || wire_be16(pkt + 2) != len || (pkt[6] & 0x3f) || pkt[7])
			return false; /* options, a length that disagrees, MF or an offset */
		f->l3len = IP4_HLEN;
		f->proto = pkt[9];
	} else if (f->ver == 6) {
		if (len < IP6_HLEN || wire_be16(pkt + 4) + (size_t)IP6_HLEN != len)
			return false;
		f->l3len = IP6_HLEN;
		f->proto = pkt[6];
	} else {
		return false;
	}
	l4 = pkt + f->l3len;
	l4len = len - f->l3len;
	if (f->proto == PROTO_TCP) {
		if (l4len < TCP_HLEN_MIN || (size_t)(l4[12] >> 4) * 4 < TCP_HLEN_MIN ||
		    (size_t)(l4[12] >> 4) * 4 > l4len)
			return false;
		f->hlen = f->l3len + (size_t)(l4[12] >> 4) * 4;
		f->seq = wire_be32(l4 + 4);
		f->tcp_flags = l4[13];
	} else if (f->proto == PROTO_UDP) {
		if (l4len < UDP_HLEN || wire_be16(l4 + 4) != l4len || wire_be16(l4 + UDP_OFF_CSUM) == 0)
			return false;
		f->hlen = f->l3len + UDP_HLEN;
		f->tcp_flags = 0;
		f->seq = 0;
	} else {
		return false;
	}
	f->paylen = len - f->hlen;
	return f->paylen > 0;
}

bool vnet_flow_id(const uint8_t *pkt, size_t len, struct vnet_flow *f)
{
	memset(f, 0, sizeof(*f));
	if (len < IP4_HLEN)
		return false;
	f->ver = pkt[0] >> 4;
	if (f->ver == 4) {
		f->l3len = (size_t)(pkt[0] & 0x0f) * 4;
		f->proto = pkt[9];
		if (f->l3len < IP4_HLEN || (wire_be16(pkt + 6) & 0x3fff))
			return false; /* a bad header length, MF or an offset */
	} else if (f->ver == 6) {
		if (len < IP6_HLEN)
			return false;
		f->l3len = IP6_HLEN;
		f->proto = pkt[6];
	} else {
		return false;
	}
	return (f->proto == PROTO_TCP || f->proto == PROTO_UDP) && len >= f->l3len + 4;
}

bool vnet_tcp_no_payload(const uint8_t *pkt, size_t len)
{
	struct vnet_flow f;
	size_t thl;

	if (!vnet_flow_id(pkt, len, &f) || f.proto != PROTO_TCP || len < f.l3len + 20)
		return false;
	thl = (size_t)(pkt[f.l3len + 12] >> 4) * 4;
	return thl >= 20 && len == f.l3len + thl; /* len is the IP total length (whole packet) */
}

/*
 * The transport checksum of pkt (parsed into f) verifies. Checked only when a packet is about
 * to join a merge (vnet_gro_append), so a packet written alone costs no pass over its data.
 */
static bool l4_csum_ok(const uint8_t *pkt, const struct vnet_flow *f)
{
	size_t l4len = f->hlen - f->l3len + f->paylen;

	return csum_fold(csum_partial(pkt + f->l3len, l4len,
				      pseudo(pkt, f->ver, l4len, f->proto))) == 0xffff;
}

void vnet_gro_start(struct vnet_gro *g, uint8_t *head, size_t len, size_t cap,
		    const struct vnet_flow *f)
{
	g->head = head;
	g->len = len;
	g->cap = cap;
	g->f = *f;
	g->mss = f->paylen;
	g->nseg = 1;
	g->next_seq = f->seq + (uint32_t)f->paylen;
	g->has_psh = f->proto == PROTO_TCP && (f->tcp_flags & TCP_PSH);
	g->is_head_checked = false;
	/* Only a plain ACK segment may be followed (as in the kernel's tcp_gro_receive). */
	g->is_closed = f->proto == PROTO_TCP && f->tcp_flags != TCP_ACK;
}

bool vnet_gro_same_flow(const struct vnet_gro *g, const uint8_t *pkt, const struct vnet_flow *f)
{
	const uint8_t *h = g->head;
	size_t addrs = f->ver == 4 ? 12 : 8, alen = f->ver == 4 ? 8 : 32;

	return f->ver == g->f.ver && f->proto == g->f.proto &&
	       !memcmp(pkt + addrs, h + addrs, alen) &&
	       !memcmp(pkt + f->l3len, h + g->f.l3len, 4); /* ports */
}

/* The IP header fields a merge keeps must be equal: IPv4 TOS, flags, TTL; IPv6 the first word and
 * hop limit. */
static bool same_ip(const struct vnet_gro *g, const uint8_t *pkt)
{
	const uint8_t *h = g->head;

	if (g->f.ver == 6)
		return !memcmp(pkt, h, 4) && pkt[7] == h[7];
	if (pkt[1] != h[1] || pkt[6] != h[6] || pkt[8] != h[8])
		return false;
	/* Without DF the pieces must carry consecutive IDs, which cutting gives back. */
	return (h[6] & IP4_DF) || wire_be16(pkt + 4) == (uint16_t)(wire_be16(h + 4) + g->nseg);
}

bool vnet_gro_append(struct vnet_gro *g, const uint8_t *pkt, const struct vnet_flow *f)
{
	const uint8_t *l4 = pkt + f->l3len, *hl4 = g->head + g->f.l3len;

	if (g->is_closed || g->nseg >= VNET_GRO_MAX_SEGS || f->paylen > g->mss ||
	    g->len + f->paylen > VNET_GRO_MAX_LEN || g->len + f->paylen > g->cap ||
	    f->hlen != g->f.hlen || !vnet_gro_same_flow(g, pkt, f) || !same_ip(g, pkt))
		return false;
	/* TCP: in order, plain ACK (PSH allowed: it ends the merge), same ack, window, urgent
	 * and options. */
	if (f->proto == PROTO_TCP &&
	    (f->seq != g->next_seq || (f->tcp_flags & (uint8_t)~TCP_PSH) != TCP_ACK ||
	     memcmp(l4 + 8, hl4 + 8, 4) || memcmp(l4 + 14, hl4 + 14, 2) ||
	     memcmp(l4 + 18, hl4 + 18, f->hlen - f->l3len - 18)))
		return false;
	/* The head's checksum once, before its first follower; a bad head stays alone. */
	if (!g->is_head_checked) {
		if (!l4_csum_ok(g->head, &g->f)) {
			g->is_closed = true;
			return false;
		}
		g->is_head_checked = true;
	}
	if (!l4_csum_ok(pkt, f))
		return false;
	if (f->proto == PROTO_TCP) {
		g->next_seq += (uint32_t)f->paylen;
		if (f->tcp_flags & TCP_PSH) {
			g->has_psh = true;
			g->is_closed = true;
		}
	}
	memcpy(g->head + g->len, pkt + f->hlen, f->paylen);
	g->len += f->paylen;
	g->nseg++;
	if (f->paylen < g->mss)
		g->is_closed = true;
	return true;
}

size_t vnet_gro_finish(struct vnet_gro *g, struct vnet_hdr *h)
{
	uint8_t *l4 = g->head + g->f.l3len;
	size_t l4len = g->len - g->f.l3len;
	size_t csum_at;

	memset(h, 0, sizeof(*h));
	if (g->nseg == 1)
		return g->len;
	set_ip_len(g->head, g->f.ver, g->len);
	if (g->f.proto == PROTO_TCP) {
		if (g->has_psh)
			l4[13] |= TCP_PSH;
		csum_at = TCP_OFF_CSUM;
		h->gso_type = g->f.ver == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	} else {
		wire_set_be16(l4 + 4, l4len);
		csum_at = UDP_OFF_CSUM;
		h->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	}
	/* NEEDS_CSUM: the field holds the pseudo-header sum, not complemented. */
	csum_store(l4 + csum_at, csum_fold(pseudo(g->head, g->f.ver, l4len, g->f.proto)));
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->hdr_len = (uint16_t)g->f.hlen;
	h->gso_size = (uint16_t)g->mss;
	h->csum_start = (uint16_t)g->f.l3len;
	h->csum_offset = (uint16_t)csum_at;
	return g->len;
}
