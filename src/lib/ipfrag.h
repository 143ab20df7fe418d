/*
 * ipfrag: IPv4 fragmentation, as a router does it for a datagram larger than the next hop's
 * MTU whose Don't Fragment bit is clear (RFC 791 §2.3 and §3.2, RFC 1812 §5.2.6). Tunnel
 * routing uses it when a packet is larger than the session MTU; NAT64 too (RFC 7915 §4), and
 * for IPv6 (ipfrag_split6).
 * Pure, libc only; the pieces come from a packet pool.
 *
 * Ownership: in is borrowed and not consumed; every fragment is a new pkt handed to emit,
 * which owns it from then on.
 */
#ifndef YGG64_LIB_IPFRAG_H
#define YGG64_LIB_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

struct pkt;
struct pkt_pool;

enum {
	IPFRAG_MAX = 64, /* fragments per datagram: 65535 bytes at the IPv6 minimum 1280 is 53 */
};

typedef void ipfrag_emit_cb(void *ctx, struct pkt *frag);

/*
 * Cuts the IPv4 packet at in->data (in->len bytes: a valid header whose total length is
 * in->len) into fragments of at most mtu bytes and hands them to emit in order. The data of
 * each fragment but the last is a multiple of 8 bytes. The first fragment keeps every option;
 * the others keep only the options whose copied flag is set (RFC 791 §3.1), padded to a
 * multiple of 4 bytes. Offsets and More Fragments continue those of in (which may itself be a
 * fragment); every other header field is kept, and each header checksum is computed afresh.
 * The DF bit is the caller's business: it is copied as it is.
 *
 * All the fragments are allocated before the first is emitted, so a datagram goes out whole
 * or not at all. Returns the number of fragments (>= 2); -EINVAL when in is not such a packet
 * or does not need cutting (in->len <= mtu), or its data would end past a 65535-byte datagram
 * (options must be well formed: a length byte of at least 2 that ends inside the header; the
 * header checksum is not verified, which is the receiving side's job, RFC 1812 §5.2.2);
 * -EMSGSIZE when mtu leaves no room for 8 bytes of data after the first fragment's header, or
 * the datagram would need more than IPFRAG_MAX fragments; -ENOBUFS when the pool ran dry or
 * its buffers are too small for a fragment (nothing emitted, every pkt back in the pool).
 */
int ipfrag_split4(const struct pkt *in, size_t mtu, struct pkt_pool *pool, ipfrag_emit_cb *emit,
		  void *ctx);

/*
 * IPv6 fragmentation at the source (RFC 8200 §4.5), for the NAT64's 4->6 translation of an
 * IPv4 packet without DF (RFC 7915 §4, nat64-requirements C 26): cuts the IPv6 packet at
 * in->data (in->len bytes, payload length agreeing) into fragments of at most mtu bytes, each
 * the 40-byte header (payload length rewritten, Next Header 44), a Fragment Header (the
 * original Next Header, offset in 8-byte units, M, identification id) and a piece of the rest,
 * a multiple of 8 bytes in all but the last. The packet must have no extension header, except
 * that it may already be a fragment: a Fragment Header right after the fixed header, whose
 * identification is then kept (id is ignored) and whose offset and M the pieces continue. Same
 * contract as ipfrag_split4 otherwise: all fragments allocated before the first is emitted;
 * returns their number (>= 2), -EINVAL (not such a packet, or in->len <= mtu), -EMSGSIZE (mtu
 * leaves no room for 8 bytes after the 48 bytes of headers, or more than IPFRAG_MAX pieces), -ENOBUFS.
 */
int ipfrag_split6(const struct pkt *in, size_t mtu, uint32_t id, struct pkt_pool *pool,
		  ipfrag_emit_cb *emit, void *ctx);

#endif
