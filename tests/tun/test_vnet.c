/*
 * vnet: the offload packet work, checked with an independent checksum routine (RFC 1071 §4.1's
 * loop on big-endian words) and hand-read header fields.
 * - vnet_csum_finish completes a pseudo-header sum as the kernel leaves it (NEEDS_CSUM).
 * - Cutting (vnet_seg_*) a TCP or UDP GSO packet, IPv4 and IPv6: every piece is a whole
 *   packet with the right lengths, sequence numbers, flags, IPv4 IDs, checksums and payload.
 * - Merging (vnet_gro_*) those pieces gives one GSO packet whose cutting gives back the very
 *   same pieces, byte for byte (what the kernel does with it on the far side of the write).
 * - The merge refusals: bad checksum (either packet), out of order, other ack/flags/options/flow,
 *   too long.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "support/refcsum.h"
#include "tun/vnet.h"

enum { BUF = 70000, TS_OPT = 12 };

static uint8_t gso[BUF], piece[64][BUF], merged[BUF], again[BUF];

static unsigned g16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The transport checksum of the packet b (len bytes) verifies, by the reference routine. */
static bool l4_ok(const uint8_t *b, size_t len)
{
	return ref_l4_sum(b, len) == 0xffff;
}

static void set_l4_csum(uint8_t *b, size_t len)
{
	size_t l3 = (b[0] >> 4) == 4 ? 20 : 40;
	size_t at = l3 + ((l3 == 20 ? b[9] : b[6]) == 6 ? 16 : 6);

	b[at] = b[at + 1] = 0;
	uint16_t c = (uint16_t)~ref_l4_sum(b, len);
	b[at] = (uint8_t)(c >> 8);
	b[at + 1] = (uint8_t)c;
}

/*
 * Headers of a packet with paylen bytes of payload at b (ver 4 or 6, proto 6 or 17); TCP has
 * a 12-byte timestamp option, seq 1000, ACK|PSH, ack 77, window 500. Returns the header length.
 * The payload is byte i = i * 7 + 3 and the checksum is set.
 */
static size_t build(uint8_t *b, uint8_t ver, uint8_t proto, size_t paylen, bool df)
{
	size_t l3 = ver == 4 ? 20 : 40, l4h = proto == 6 ? 20 + TS_OPT : 8, len = l3 + l4h + paylen;
	uint8_t *l4 = b + l3;

	memset(b, 0, l3 + l4h);
	if (ver == 4) {
		b[0] = 0x45;
		b[1] = 0x10;
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		b[4] = 0x12;
		b[5] = 0x34;
		b[6] = df ? 0x40 : 0;
		b[8] = 64;
		b[9] = proto;
		memcpy(b + 12, (uint8_t[]){192, 0, 2, 1, 198, 51, 100, 2}, 8);
		uint16_t c = (uint16_t)~ref_csum(b, 20, 0);
		b[10] = (uint8_t)(c >> 8);
		b[11] = (uint8_t)c;
	} else {
		b[0] = 0x60;
		b[1] = 0x0a;
		b[2] = 0xbc;
		b[3] = 0xde;
		b[4] = (uint8_t)((len - 40) >> 8);
		b[5] = (uint8_t)(len - 40);
		b[6] = proto;
		b[7] = 63;
		for (int i = 0; i < 16; i++) {
			b[8 + i] = (uint8_t)(0x02 + i);
			b[24 + i] = (uint8_t)(0x03 + i * 3);
		}
	}
	l4[0] = 0x9c;
	l4[1] = 0x40; /* 40000 */
	l4[2] = 0x14;
	l4[3] = 0x51; /* 5201 */
	if (proto == 6) {
		l4[7] = 0xe8;
		l4[6] = 0x03; /* seq 1000 */
		l4[11] = 77;
		l4[12] = (uint8_t)((20 + TS_OPT) / 4) << 4;
		l4[13] = 0x18; /* ACK | PSH */
		l4[14] = 0x01;
		l4[15] = 0xf4;
		memcpy(l4 + 20, (uint8_t[]){1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4}, TS_OPT);
	} else {
		l4[4] = (uint8_t)((8 + paylen) >> 8);
		l4[5] = (uint8_t)(8 + paylen);
	}
	for (size_t i = 0; i < paylen; i++)
		b[l3 + l4h + i] = (uint8_t)(i * 7 + 3);
	set_l4_csum(b, len);
	return l3 + l4h;
}

static struct vnet_hdr gso_hdr(uint8_t ver, uint8_t proto, size_t mss)
{
	return (struct vnet_hdr){
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4
			: ver == 4  ? VIRTIO_NET_HDR_GSO_TCPV4
				    : VIRTIO_NET_HDR_GSO_TCPV6,
	    .gso_size = (uint16_t)mss,
	    .csum_start = ver == 4 ? 20 : 40,
	    .csum_offset = proto == 6 ? 16 : 6,
	};
}

/* Cuts, checks every piece, merges them, checks the merge, cuts it again, compares. */
static void roundtrip(uint8_t ver, uint8_t proto, size_t paylen, size_t mss, bool df)
{
	size_t hlen = build(gso, ver, proto, paylen, df), l3 = ver == 4 ? 20 : 40;
	struct vnet_hdr h = gso_hdr(ver, proto, mss), mh;
	struct vnet_seg s, s2;
	size_t len[64], n;

	if (proto == 6)
		gso[l3 + 13] |=
		    0x81; /* FIN and CWR too: FIN only on the last piece, CWR on the first */
	cr_assert_eq(vnet_seg_plan(gso, hlen + paylen, &h, &s), 0);
	cr_assert_eq(s.nseg, (paylen + mss - 1) / mss);
	cr_assert_eq(s.hlen, hlen);
	cr_assert_leq(s.nseg, 64);
	for (size_t k = 0; k < s.nseg; k++) {
		const uint8_t *b = piece[k], *l4 = b + l3;
		size_t plen = k + 1 < s.nseg ? mss : paylen - k * mss;

		len[k] = vnet_seg_write(gso, &s, k, piece[k]);
		cr_assert_eq(len[k], hlen + plen, "piece %zu length", k);
		if (ver == 4) {
			cr_assert_eq(g16(b + 2), len[k]);
			cr_assert_eq(g16(b + 4), 0x1234 + k, "IPv4 ID");
			cr_assert_eq(ref_csum(b, 20, 0), 0xffff, "IPv4 header checksum");
		} else {
			cr_assert_eq(g16(b + 4), len[k] - 40);
		}
		cr_assert(l4_ok(b, len[k]), "piece %zu transport checksum", k);
		for (size_t i = 0; i < plen; i++)
			cr_assert_eq(b[hlen + i], (uint8_t)((k * mss + i) * 7 + 3));
		if (proto == 6) {
			cr_assert_eq(g32(l4 + 4), 1000 + k * mss, "sequence number");
			uint8_t fl = l4[13];
			cr_assert_eq(!!(fl & 0x01), k + 1 == s.nseg, "FIN only on the last piece");
			cr_assert_eq(!!(fl & 0x08), k + 1 == s.nseg, "PSH only on the last piece");
			cr_assert_eq(!!(fl & 0x80), k == 0, "CWR only on the first piece");
			cr_assert_eq(!!(fl & 0x10), 1, "ACK on every piece");
		} else {
			cr_assert_eq(g16(l4 + 4), len[k] - l3, "UDP length");
		}
	}
	if (proto == 6) {
		/* FIN and CWR pieces do not merge (plain ACKs do): take them off for the merge. */
		for (size_t k = 0; k < s.nseg; k++) {
			piece[k][l3 + 13] &= (uint8_t)~0x81;
			set_l4_csum(piece[k], len[k]);
		}
	}
	struct vnet_flow f;
	struct vnet_gro g;
	cr_assert(vnet_gro_parse(piece[0], len[0], &f));
	memcpy(merged, piece[0], len[0]);
	vnet_gro_start(&g, merged, len[0], sizeof(merged), &f);
	for (size_t k = 1; k < s.nseg; k++) {
		cr_assert(vnet_gro_parse(piece[k], len[k], &f), "piece %zu parses", k);
		cr_assert(vnet_gro_same_flow(&g, piece[k], &f));
		cr_assert(vnet_gro_append(&g, piece[k], &f), "piece %zu merges", k);
	}
	n = vnet_gro_finish(&g, &mh);
	cr_assert_eq(n, hlen + paylen);
	if (s.nseg == 1) {
		cr_assert_eq(mh.gso_type, 0);
		cr_assert_eq(mh.flags, 0);
		return;
	}
	cr_assert_eq(mh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(mh.gso_type, h.gso_type);
	cr_assert_eq(mh.gso_size, mss);
	cr_assert_eq(mh.hdr_len, hlen);
	cr_assert_eq(mh.csum_start, h.csum_start);
	cr_assert_eq(mh.csum_offset, h.csum_offset);
	/* The kernel's view: the field holds the pseudo-header sum, so finishing verifies. */
	memcpy(again, merged, n);
	cr_assert_eq(vnet_csum_finish(again, n, &mh), 0);
	cr_assert(l4_ok(again, n), "merged packet, checksum completed");
	cr_assert_eq(vnet_seg_plan(merged, n, &mh, &s2), 0);
	cr_assert_eq(s2.nseg, s.nseg);
	for (size_t k = 0; k < s2.nseg; k++) {
		size_t m = vnet_seg_write(merged, &s2, k, again);
		cr_assert_eq(m, len[k]);
		cr_assert_arr_eq(again, piece[k], m, "piece %zu cut from the merge", k);
	}
}

Test(vnet, tcp6_cut_and_merge)
{
	roundtrip(6, 6, 20000, 1208, false);
}
Test(vnet, tcp4_cut_and_merge_df)
{
	roundtrip(4, 6, 20000, 1448, true);
}
Test(vnet, tcp4_cut_and_merge_consecutive_ids)
{
	roundtrip(4, 6, 9000, 1000, false);
}
Test(vnet, udp6_cut_and_merge)
{
	roundtrip(6, 17, 64 * 63, 64, false);
}
Test(vnet, udp4_cut_and_merge)
{
	roundtrip(4, 17, 1400 * 5 + 3, 1400, true);
}
Test(vnet, exact_multiple_and_single_piece)
{
	roundtrip(6, 6, 3 * 1000, 1000, false);
	roundtrip(6, 17, 500, 1000, false);
}

Test(vnet, csum_finish_completes_a_partial_checksum)
{
	size_t hlen = build(gso, 6, 17, 333, false), len = hlen + 333;
	/* What the kernel hands over: the field holds the folded pseudo-header sum. */
	uint8_t ph[40];
	memcpy(ph, gso + 8, 32);
	memcpy(ph + 32,
	       (uint8_t[]){0, 0, (uint8_t)((len - 40) >> 8), (uint8_t)(len - 40), 0, 0, 0, 17}, 8);
	uint16_t p = ref_csum(ph, 40, 0);
	gso[46] = (uint8_t)(p >> 8);
	gso[47] = (uint8_t)p;
	cr_assert_not(l4_ok(gso, len));
	struct vnet_hdr h = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 6};
	cr_assert_eq(vnet_csum_finish(gso, len, &h), 0);
	cr_assert(l4_ok(gso, len));
	h.csum_start = (uint16_t)len;
	cr_assert_eq(vnet_csum_finish(gso, len, &h), -1, "offsets outside the packet");
	h.csum_start = (uint16_t)(len - 1);
	cr_assert_eq(vnet_csum_finish(gso, len, &h), -1, "field outside the packet");
}

Test(vnet, hdr_round_trips)
{
	struct vnet_hdr a = {1, 5, 48, 1208, 40, 6}, b;
	uint8_t raw[VNET_HDR_LEN];

	vnet_hdr_put(raw, &a);
	vnet_hdr_get(raw, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(raw[0], 1);
	cr_assert_eq(raw[1], 5);
}

Test(vnet, plan_refuses_what_it_cannot_cut)
{
	size_t hlen = build(gso, 6, 6, 3000, false), len = hlen + 3000;
	struct vnet_hdr h = gso_hdr(6, 6, 1000), bad;
	struct vnet_seg s;

	cr_assert_eq(vnet_seg_plan(gso, len, &h, &s), 0);
	bad = h;
	bad.flags = 0;
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1, "no NEEDS_CSUM");
	bad = h;
	bad.gso_size = 0;
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1, "gso_size 0");
	bad = h;
	bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1, "TCPV4 on an IPv6 packet");
	bad = h;
	bad.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* UFO: not asked for, not handled */
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1);
	bad = h;
	bad.csum_offset = 6;
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1, "TCP with the UDP checksum offset");
	bad = h;
	bad.csum_start = 20;
	cr_assert_eq(vnet_seg_plan(gso, len, &bad, &s), -1, "csum_start inside the IPv6 header");
	cr_assert_eq(vnet_seg_plan(gso, hlen, &h, &s), -1, "no payload");
	hlen = build(gso, 4, 6, 3000, true);
	h = gso_hdr(4, 6, 1000);
	cr_assert_eq(vnet_seg_plan(gso, hlen + 3000, &h, &s), 0);
	gso[0] = 0x46; /* IHL 6, csum_start still 20 */
	cr_assert_eq(vnet_seg_plan(gso, hlen + 3000, &h, &s), -1, "IHL disagrees with csum_start");
	gso[0] = 0x45;
	gso[6] |= 0x20; /* MF */
	cr_assert_eq(vnet_seg_plan(gso, hlen + 3000, &h, &s), -1, "a fragment");
}

/* Two consecutive TCP/IPv6 pieces of 1000 bytes in piece[0], piece[1]; returns the length. */
static size_t two_pieces(void)
{
	size_t hlen = build(gso, 6, 6, 2000, false);
	struct vnet_hdr h = gso_hdr(6, 6, 1000);
	struct vnet_seg s;

	gso[40 + 13] = 0x10; /* plain ACK */
	cr_assert_eq(vnet_seg_plan(gso, hlen + 2000, &h, &s), 0);
	vnet_seg_write(gso, &s, 0, piece[0]);
	return vnet_seg_write(gso, &s, 1, piece[1]);
}

static bool try_merge(size_t len)
{
	struct vnet_flow f0, f1;
	struct vnet_gro g;

	cr_assert(vnet_gro_parse(piece[0], len, &f0));
	memcpy(merged, piece[0], len);
	vnet_gro_start(&g, merged, len, sizeof(merged), &f0);
	if (!vnet_gro_parse(piece[1], len, &f1))
		return false;
	return vnet_gro_same_flow(&g, piece[1], &f1) && vnet_gro_append(&g, piece[1], &f1);
}

Test(vnet, merge_refusals)
{
	size_t len = two_pieces();
	cr_assert(try_merge(len), "the baseline merges");

	piece[1][len - 1] ^= 1;
	cr_assert_not(try_merge(len), "bad checksum");
	two_pieces();
	piece[0][len - 1] ^= 1;
	cr_assert_not(try_merge(len), "bad checksum on the first packet");
	two_pieces();
	piece[1][40 + 7] += 1;
	set_l4_csum(piece[1], len);
	cr_assert_not(try_merge(len), "sequence gap");
	two_pieces();
	piece[1][40 + 11] += 1;
	set_l4_csum(piece[1], len);
	cr_assert_not(try_merge(len), "other ack");
	two_pieces();
	piece[1][40 + 13] = 0x11;
	set_l4_csum(piece[1], len);
	cr_assert_not(try_merge(len), "FIN");
	two_pieces();
	piece[1][40 + 29] ^= 0x55; /* a timestamp byte */
	set_l4_csum(piece[1], len);
	cr_assert_not(try_merge(len), "other options");
	two_pieces();
	piece[1][40 + 1] ^= 1;
	set_l4_csum(piece[1], len);
	cr_assert_not(try_merge(len), "other port");
	two_pieces();
	piece[1][7] = 1;
	cr_assert_not(try_merge(len), "other hop limit");
	two_pieces();
	piece[0][40 + 13] = 0x18;
	set_l4_csum(piece[0], len);
	cr_assert_not(try_merge(len), "a PSH head ends the merge at once");
}

/* The flow of a packet that cannot be merged: known for a pure ACK, unknown for a fragment. */
Test(vnet, flow_id_of_unmergeable_packets)
{
	size_t len = two_pieces();
	struct vnet_flow f0, f;
	struct vnet_gro g;
	uint8_t ack[128];

	cr_assert(vnet_gro_parse(piece[0], len, &f0));
	vnet_gro_start(&g, piece[0], len, len, &f0);
	for (int ver = 4; ver <= 6; ver += 2) {
		size_t hl = build(ack, (uint8_t)ver, 6, 0, false);
		cr_assert_not(vnet_gro_parse(ack, hl, &f), "IPv%d: a pure ACK is not merged", ver);
		cr_assert(vnet_flow_id(ack, hl, &f), "IPv%d: but its flow is known", ver);
		cr_assert_eq(f.ver, ver);
		cr_assert_eq(f.proto, 6);
		cr_assert_eq(f.l3len, ver == 4 ? 20u : 40u);
	}
	/* two_pieces' flow is build()'s TCP/IPv6 flow: the same addresses and ports. */
	cr_assert(vnet_gro_same_flow(&g, ack, &f), "the ACK is of the merge's flow");
	ack[40 + 1] ^= 1;
	cr_assert_not(vnet_gro_same_flow(&g, ack, &f), "another port, another flow");
	cr_assert(vnet_flow_id(ack, 44, &f), "the ports are all it needs");
	cr_assert_not(vnet_flow_id(ack, 43, &f), "not the whole ports");

	size_t hl = build(ack, 4, 17, 0, false);
	cr_assert(vnet_flow_id(ack, hl, &f), "an empty datagram");
	cr_assert_eq(f.proto, 17);
	ack[6] = 0x20; /* MF */
	cr_assert_not(vnet_flow_id(ack, hl, &f), "a first fragment");
	ack[6] = 0;
	ack[7] = 1;
	cr_assert_not(vnet_flow_id(ack, hl, &f), "a later fragment");
	ack[7] = 0;
	ack[0] = 0x44;
	cr_assert_not(vnet_flow_id(ack, hl, &f), "a header shorter than 20 bytes");
	ack[0] = 0x45;
	ack[9] = 1;
	cr_assert_not(vnet_flow_id(ack, hl, &f), "ICMP");
	build(ack, 6, 6, 0, false);
	ack[6] = 0; /* hop-by-hop options */
	cr_assert_not(vnet_flow_id(ack, 60, &f), "an extension header");
	ack[0] = 0x50;
	cr_assert_not(vnet_flow_id(ack, 60, &f), "not IP");
	cr_assert_not(vnet_flow_id(ack, 19, &f), "too short");
}

Test(vnet, tcp_segments_without_data)
{
	uint8_t b[256];

	for (int ver = 4; ver <= 6; ver += 2) {
		size_t hl = build(b, (uint8_t)ver, 6, 0, false);
		cr_assert(vnet_tcp_no_payload(b, hl), "IPv%d: an ACK with options, no data", ver);
		cr_assert_not(vnet_tcp_no_payload(b, hl - 1), "IPv%d: cut short", ver);
		b[(ver == 4 ? 20 : 40) + 12] = 0x40; /* data offset 4 words: invalid */
		cr_assert_not(vnet_tcp_no_payload(b, hl), "IPv%d: TCP header below 20 bytes", ver);
		hl = build(b, (uint8_t)ver, 6, 1, false);
		cr_assert_not(vnet_tcp_no_payload(b, hl + 1), "IPv%d: one byte of data", ver);
		hl = build(b, (uint8_t)ver, 17, 0, false);
		cr_assert_not(vnet_tcp_no_payload(b, hl), "IPv%d: an empty UDP datagram", ver);
	}
	size_t hl = build(b, 4, 6, 0, false);
	b[6] = 0x20; /* MF */
	cr_assert_not(vnet_tcp_no_payload(b, hl), "a fragment");
	hl = build(b, 6, 6, 0, false);
	b[6] = 0; /* hop-by-hop options */
	cr_assert_not(vnet_tcp_no_payload(b, hl), "behind an extension header");
}

Test(vnet, merge_ends_after_psh_or_a_short_piece)
{
	size_t len = two_pieces();
	struct vnet_flow f;
	struct vnet_gro g;

	piece[1][40 + 13] = 0x18; /* ACK | PSH */
	set_l4_csum(piece[1], len);
	cr_assert(vnet_gro_parse(piece[0], len, &f));
	memcpy(merged, piece[0], len);
	vnet_gro_start(&g, merged, len, sizeof(merged), &f);
	cr_assert(vnet_gro_parse(piece[1], len, &f));
	cr_assert(vnet_gro_append(&g, piece[1], &f), "a PSH piece merges");
	cr_assert(g.is_closed, "and ends the merge");
	struct vnet_hdr h;
	vnet_gro_finish(&g, &h);
	cr_assert_eq(merged[40 + 13], 0x18,
		     "the merge carries PSH (the kernel keeps it on the last piece)");

	/* UDP: a shorter datagram merges and ends; a longer one does not merge. */
	size_t hl = build(piece[0], 6, 17, 100, false);
	build(piece[1], 6, 17, 50, false);
	build(piece[2], 6, 17, 100, false);
	cr_assert(vnet_gro_parse(piece[0], hl + 100, &f));
	memcpy(merged, piece[0], hl + 100);
	vnet_gro_start(&g, merged, hl + 100, sizeof(merged), &f);
	cr_assert(vnet_gro_parse(piece[1], hl + 50, &f));
	cr_assert(vnet_gro_append(&g, piece[1], &f));
	cr_assert(vnet_gro_parse(piece[2], hl + 100, &f));
	cr_assert_not(vnet_gro_append(&g, piece[2], &f), "nothing after a short piece");
	build(piece[1], 6, 17, 150, false);
	memcpy(merged, piece[0], hl + 100);
	cr_assert(vnet_gro_parse(piece[0], hl + 100, &f));
	vnet_gro_start(&g, merged, hl + 100, sizeof(merged), &f);
	cr_assert(vnet_gro_parse(piece[1], hl + 150, &f));
	cr_assert_not(vnet_gro_append(&g, piece[1], &f), "a longer piece does not merge");
}

Test(vnet, merge_stops_at_the_size_and_piece_limits)
{
	struct vnet_flow f;
	struct vnet_gro g;
	size_t hl = build(piece[0], 6, 17, 1400, false), k;

	cr_assert(vnet_gro_parse(piece[0], hl + 1400, &f));
	memcpy(merged, piece[0], hl + 1400);
	vnet_gro_start(&g, merged, hl + 1400, sizeof(merged), &f);
	for (k = 1; vnet_gro_append(&g, piece[0], &f); k++)
		;
	cr_assert_eq(k, (VNET_GRO_MAX_LEN - hl) / 1400, "as many as fit in 64 KiB");
	cr_assert_leq(g.len, VNET_GRO_MAX_LEN);

	hl = build(piece[0], 6, 17, 10, false);
	cr_assert(vnet_gro_parse(piece[0], hl + 10, &f));
	memcpy(merged, piece[0], hl + 10);
	vnet_gro_start(&g, merged, hl + 10, sizeof(merged), &f);
	for (k = 1; vnet_gro_append(&g, piece[0], &f); k++)
		;
	cr_assert_eq(k, VNET_GRO_MAX_SEGS);

	cr_assert_not(vnet_gro_parse(gso, VNET_GRO_MAX_LEN / 2 + 1, &f), "too large to merge");
	hl = build(piece[0], 4, 17, 10, false);
	piece[0][26] = piece[0][27] = 0; /* UDP over IPv4 without a checksum */
	cr_assert_not(vnet_gro_parse(piece[0], hl + 10, &f));
}
