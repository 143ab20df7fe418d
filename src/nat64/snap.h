/*
 * snap: the NAT64's state on disk (nat64-requirements G 54, issue 13). The BIB and session
 * tables are encoded with msgpack-c into one buffer that the daemon writes to DataDir (lib/file:
 * temporary file, fsync, rename) on stop and periodically, and decoded and restored at start,
 * before the TUN carries traffic, so a TCP connection through the NAT64 survives a restart.
 *
 * Format (version NAT64_SNAP_VERSION), one msgpack array of six elements:
 *   [ "ygg64-nat64",          magic: anything else is not ours ("foreign format")
 *     version,                positive int: another one is refused (version mismatch)
 *     {"key": bin 32,         the node's public key: another node's state is foreign
 *      "prefix": bin 16, "prefix_len": int,   NAT64.Prefix it was taken under: foreign
 *      "saved": int},         wall-clock milliseconds since the epoch at encoding
 *     [ session, ... ],       each [proto, bin16 X', x, bin4 T, t, bin4 Y, y, tcp_state,
 *                             expires] with expires in wall-clock ms since the epoch
 *     crc32 ]                 CRC-32 (lib/crc32) of every byte before this last element
 * so a truncated or corrupt file fails the CRC or the msgpack parse and nothing is restored.
 * Byte rules that make the layout unambiguous:
 * - the file starts with the 13 bytes 96 ab "ygg64-nat64" (the array header and the magic as a
 *   fixstr): a file that does not is foreign (-EPROTO), one that is a shorter prefix of them
 *   (or empty) is truncated (-EBADMSG);
 * - the CRC is always a fixed-width uint32, ce + 4 bytes big-endian: the last 5 bytes, right
 *   after the sessions array, and over everything before them;
 * - the version is read before the CRC is checked (a later version may lay out the rest
 *   otherwise); the header map may carry other keys, ignored; every integer is a msgpack
 *   positive integer, every field of the type and bin size above, a session record at most
 *   256 bytes and the map 4 KiB, or the file is corrupt (-EBADMSG).
 * A record of the right types but impossible values (proto >= NAT64_NPROTO, x, t or y over
 * 65535, a TCP state that is CLOSED or unknown, a UDP or ICMP state other than CLOSED, an ICMP
 * y other than 0, more than UINT32_MAX ms left) is refused on its own, and counted.
 *
 * Time: the table's clock (mono, the caller's origin: uv_now) does not survive a restart; the
 * wall clock does. Encoding maps expires to wall = wall_now + (expires - mono_now); restoring
 * maps back, mono = mono_now + (wall - wall_now), and skips sessions whose wall time is past
 * (wall <= wall_now). A wall clock set back since saving (wall_now < saved) counts as saved:
 * a session never gets more time than it had left when it was saved.
 *
 * Pure (no I/O, no clock): the caller passes both clocks and owns the bytes.
 */
#ifndef YGG64_NAT64_SNAP_H
#define YGG64_NAT64_SNAP_H

#include <stddef.h>
#include <stdint.h>

struct nat64;

enum {
	NAT64_SNAP_VERSION = 1,
	NAT64_SNAP_MAX = 64 << 20, /* bytes: a larger file is refused unread */
};

/* What ties a snapshot to this node: another node's or another prefix's state is foreign. */
struct nat64_snap_id {
	uint8_t key[32];    /* the node's Ed25519 public key */
	uint8_t prefix[16]; /* NAT64.Prefix */
	uint8_t prefix_len;
};

/*
 * Encodes every session of n. *out is malloc'ed (the caller frees it), *len its size. 0, or
 * -ENOMEM.
 */
int nat64_snap_encode(const struct nat64 *n, const struct nat64_snap_id *id, uint64_t mono_now,
		      uint64_t wall_now, uint8_t **out, size_t *len);

/* restored + expired + refused == sessions. */
struct nat64_snap_stats {
	uint64_t saved;	 /* wall-clock ms at encoding */
	size_t sessions; /* in the snapshot */
	size_t restored; /* sessions the table gained */
	size_t expired;	 /* past their time at wall_now: skipped */
	size_t refused;	 /* an impossible value, or nat64_restore refused them: outside today's
			    pool or PortRange, a conflicting mapping, a cap; or a second record
			    of a session (it replaces the first, as the table does, and adds
			    none) */
};

/*
 * Checks the whole of buf first (size, magic, version, CRC, msgpack, every record's shape,
 * id), then restores its sessions into n with nat64_restore. 0 with *st filled (err ""); or,
 * with nothing restored, *st zeroed and a sentence for the log in err (errlen bytes,
 * NUL-terminated; errlen 0: none):
 *   -EFBIG   larger than NAT64_SNAP_MAX
 *   -EBADMSG corrupt or truncated (msgpack parse, CRC, a field of the wrong type or size)
 *   -EPROTO  not a ygg64 NAT64 snapshot (magic) or another version
 *   -ESTALE  foreign: another node's key, or another NAT64 prefix
 */
int nat64_snap_restore(struct nat64 *n, const struct nat64_snap_id *id, const uint8_t *buf,
		       size_t len, uint64_t mono_now, uint64_t wall_now,
		       struct nat64_snap_stats *st, char *err, size_t errlen);

#endif
