/*
 * config: the daemon's configuration as plain, fully defaulted values (STYLE.md §12).
 *
 * One file mirrors yggdrasil.conf (yggdrasil 0.5.12 keys, names, types and defaults; spec
 * sessions-core-admin §7.2) plus two ygg64 blocks, TunnelRouting (§7.4) and NAT64
 * (nat64-requirements §2). It is read from YAML (our format), or from HJSON/JSON as written by
 * the real `yggdrasil -genconf` (the migration path). The format is chosen by content: when
 * the first character after blanks and '#' comment lines is '{' or '/' (a // or block
 * comment) the text is HJSON/JSON, otherwise YAML.
 *
 * Key names: YAML keys must match exactly. HJSON/JSON keys match case-insensitively, as
 * yggdrasil-go's decoder does (Go encoding/json semantics), so yggdrasil files load as they
 * are; two spellings of one key in the same block are an error. Unknown keys are errors
 * (yggdrasil ignores them). Lists given in the file replace the defaults; each
 * MulticastInterfaces entry starts from the default entry (Regex ".*", Beacon and Listen
 * true), where yggdrasil does that for the first entry only.
 *
 * TunnelRouting reads yggdrasil v0.3's keys and yggdrasilckr's (RemoteSubnets {key: [cidr]},
 * merged into the two remote lists; Addresses; YggdrasilRouting). yggdrasilckr has no Enable,
 * so a block without Enable that holds one of its keys turns tunnel routing on; an Enable in
 * the file, false included, always wins.
 *
 * A whole yggdrasil v0.3 file reads too (docs/migrating.md): its key fields are checked and
 * dropped, except SigningPrivateKey (an Ed25519 seed and public key, as PrivateKey), which
 * becomes PrivateKey when neither PrivateKey nor PrivateKeyPath is set; its other v0.3-only
 * keys are dropped at v0.3's "off" value and refused otherwise; MulticastInterfaces may list
 * bare regexes. In a file with a v0.3 key field every remote subnet gets a warning: its key
 * is most likely a v0.3 box key, which no v0.4+ node is known by.
 *
 * Errors read "file:line:col: Key.Path: reason", one per line in file order, and loading
 * collects all of them before failing. Warnings ("file:line:col: warning: Key.Path: reason")
 * are printed among them and do not fail a load. Values are checked one by one while loading
 * (syntax, ranges, CIDR host bits, overlaps inside a list, RFC 6052 prefix form, IPv6
 * remote subnets and Addresses clear of 200::/7);
 * config_check() then applies the rules that join several keys. Modules may assert what
 * both guarantee.
 *
 * Ownership: every pointer inside struct config is owned by it and freed by config_fini().
 * private_key holds the 128-hex-char secret as read; config_fini wipes it.
 */
#ifndef YGG64_CONFIG_CONFIG_H
#define YGG64_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/inet.h"

struct cnode;

/* Where a value came from, for messages raised after loading (e.g. a key that fails crypto). */
struct config_pos {
	unsigned line, col; /* 1-based; 0 when the value was defaulted */
};

struct config_strlist {
	char **v;
	size_t n;
};

struct config_ifpeers {
	char *iface;
	struct config_strlist uris;
};

struct config_mcast {
	char *regex;
	bool beacon;
	bool listen;
	uint16_t port;	  /* 0 = any (omitted from dumps when 0, as yggdrasil's omitempty) */
	uint8_t priority; /* omitted from dumps when 0 */
	char *password;
};

/* One IPvXRemoteSubnets entry: prefix → Ed25519 public key of the node that routes it. */
struct config_route {
	struct inet_prefix prefix;
	uint8_t key[32];
	struct config_pos pos;
};

struct config_tunnel {
	bool is_enabled;
	struct config_route *ipv4_remote;
	size_t n_ipv4_remote;
	struct inet_prefix *ipv4_local;
	struct config_pos *ipv4_local_pos; /* parallel to ipv4_local */
	size_t n_ipv4_local;
	struct config_route *ipv6_remote;
	size_t n_ipv6_remote;
	struct inet_prefix *ipv6_local;
	struct config_pos *ipv6_local_pos; /* parallel to ipv6_local */
	size_t n_ipv6_local;
	/*
	 * yggdrasilckr's Addresses: addresses to put on the TUN, each with its on-link prefix
	 * length (host bits kept, e.g. 10.5.0.1/24), either family. Each address is also a local
	 * subnet of its own (/32 or /128) at run time; the lists above are not changed.
	 */
	struct inet_prefix *addresses;
	struct config_pos *addresses_pos; /* parallel to addresses */
	size_t n_addresses;
	bool install_routes; /* install kernel routes for the remote subnets (default true) */
	/*
	 * yggdrasilckr's YggdrasilRouting (default true): carry the node's own 200::/7 traffic.
	 * false: no 200::/7 address on the TUN, and Yggdrasil IPv6 packets are dropped (counted)
	 * both ways, so the TUN carries tunnel-routed traffic only.
	 */
	bool ygg_routing;
	struct config_pos enable_pos; /* where Enable was given; line 0: not in the file */
};

enum config_nat64_filtering {
	CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT, /* RFC 4787 EIF (default) */
	CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT,	  /* RFC 4787 ADF */
};

struct config_nat64 {
	bool is_enabled;
	struct inet_prefix prefix; /* default 64:ff9b::/96 */
	/*
	 * A routed IPv6 prefix around prefix (e.g. the /64 of a /96) that the daemon blackholes
	 * while it runs; family 0 (len 0) = unset. IPv6, outside 200::/7, and when NAT64 is on
	 * strictly shorter than prefix and containing it.
	 */
	struct inet_prefix blackhole;
	struct inet_prefix *pool4;    /* IPv4 /32s or prefixes to map onto */
	struct config_pos *pool4_pos; /* parallel to pool4 */
	size_t n_pool4;		      /* 0 = first address of TunnelRouting.IPv4LocalSubnets */
	uint16_t port_min;	      /* default 61001 */
	uint16_t port_max;	      /* default 65535 */
	char *data_dir;		      /* "" = no persistence */
	bool mss_clamp;		      /* default true */
	bool allow_nonglobal_wkp;     /* permit 64:ff9b::/96 with non-global IPv4 (req. 4) */
	enum config_nat64_filtering filtering;
	uint32_t udp_timeout;	    /* seconds, default 300, minimum 120 (req. 12) */
	uint32_t icmp_timeout;	    /* seconds, default 60, minimum 60 (req. 13) */
	uint32_t tcp_est_timeout;   /* seconds, default 7440, minimum 7440 (req. 14) */
	uint32_t tcp_trans_timeout; /* seconds, default 240, minimum 240 (req. 14) */
	uint32_t max_bib_entries;   /* per protocol, default 65536 (req. 53) */
	uint32_t max_sessions;	    /* default 262144 */
	uint32_t max_fragments;	    /* default 1024 */
	uint32_t max_stored_syns;   /* default 10 (req. 16) */
	struct config_pos enable_pos, prefix_pos, blackhole_pos;
};

struct config {
	char *private_key; /* 128 hex chars or NULL (then private_key_path or a random key) */
	struct config_pos private_key_pos;
	char *private_key_path; /* PKCS#8 PEM file; overrides private_key when set */
	struct config_pos private_key_path_pos;
	struct config_strlist peers;
	struct config_ifpeers *interface_peers;
	size_t n_interface_peers;
	struct config_strlist listen;
	char *admin_listen; /* default "unix:///var/run/ygg64.sock"; "none" disables */
	struct config_mcast *mcast;
	size_t n_mcast;
	struct config_strlist allowed_public_keys; /* 64-hex strings, validated */
	char *if_name;				   /* default "auto"; "none" = no TUN */
	uint64_t if_mtu;			   /* default 65535 */
	uint64_t if_txqueuelen;			   /* ygg64: default 3000 */
	bool log_lookups;
	bool nodeinfo_privacy;
	struct cnode *nodeinfo; /* a map (keys sorted), or NULL for null; see config/cnode.h */
	struct config_tunnel tunnel;
	struct config_nat64 nat64;
};

enum { CONFIG_MAX_FILE = 1 << 20 };

enum config_format {
	CONFIG_FMT_YAML,
	CONFIG_FMT_JSON,
};

/* Fills cfg with every default. */
void config_init(struct config *cfg);
void config_fini(struct config *cfg);

/*
 * Parses a whole configuration (YAML, or HJSON/JSON by content) on top of what cfg already
 * holds (normally config_init's defaults): keys present replace their value, blocks merge key
 * by key. name is used in messages. Errors and warnings are written to errf, one per line.
 * Returns 0 (warnings included), or -EINVAL after reporting every error found (cfg is then
 * partly updated; config_fini it).
 */
int config_load_buf(struct config *cfg, const char *name, const char *buf, size_t len, FILE *errf);
/*
 * Reads path (or stdin when path is "-", named "<stdin>" in messages) and calls
 * config_load_buf. -errno on I/O errors (reported to errf), -EFBIG past CONFIG_MAX_FILE.
 */
int config_load_file(struct config *cfg, const char *path, FILE *errf);

/*
 * Cross-field rules, for a successfully loaded cfg.
 *
 * TunnelRouting: YggdrasilRouting false needs tunnel routing on (else the TUN carries
 * nothing). When tunnel routing is on and InstallRoutes is true, the loop guard: no IPv4 or
 * IPv6 remote subnet may contain the IP literal that a Peers, InterfacePeers or Listen URI
 * names (its link would be routed into the overlay it carries; yggdrasil v0.4 dropped tunnel
 * routing over such loops). IPv4-mapped IPv6 literals count as IPv4; unix://, host names
 * (the daemon checks those once resolved) and the unspecified addresses are skipped. Messages
 * show only scheme://host:port of a URI, never its userinfo or query.
 *
 * NAT64, when enabled: an IPv4 source must exist (Pool4; with TunnelRouting on, Pool4 or
 * IPv4LocalSubnets); with TunnelRouting on, every Pool4 entry must lie inside IPv4LocalSubnets
 * when those are given;
 * Prefix must not overlap an IPv6 local or remote subnet; with the Well-Known Prefix, unless
 * AllowNonGlobalWKP, Pool4 (or the address taken from IPv4LocalSubnets) and every
 * IPv4RemoteSubnet of length /8 or longer must be global (RFC 6052 §3.1). Shorter covering
 * routes such as 0.0.0.0/0 pass: they hold global space too, and the translator's per-packet
 * guard drops their non-global part.
 *
 * Returns 0 or -EINVAL after reporting all problems to errf.
 */
int config_check(const struct config *cfg, const char *name, FILE *errf);

/*
 * Writes the canonical configuration. YAML with is_commented explains every key (this is what
 * -genconf prints and what config/example.yaml holds). JSON mirrors `yggdrasil -json` for the
 * yggdrasil keys (same order and layout, AdminListen only when not the default) and adds the
 * TunnelRouting and NAT64 objects, which yggdrasil-go ignores.
 */
void config_dump(const struct config *cfg, FILE *out, enum config_format fmt, bool is_commented);

/* The build keys yggdrasil adds to NodeInfo (spec sessions-core-admin §3.2), Go spellings. */
struct config_build_info {
	const char *name;     /* "buildname" */
	const char *version;  /* "buildversion" */
	const char *platform; /* "buildplatform": GOOS, e.g. "linux" */
	const char *arch;     /* "buildarch": GOARCH, e.g. "amd64" */
};

/*
 * NodeInfo as this node sends it (spec §3.2): the NodeInfo map ("{}" when null) plus, unless
 * NodeInfoPrivacy is set or build is NULL, the four build keys, which replace user keys of the
 * same name; compact JSON with the keys of every map sorted byte-wise, as Go's json.Marshal.
 * Returns a NUL-terminated heap string the caller frees, its length in *len (when len is not
 * NULL). The caller enforces the 16384-byte limit. build is borrowed for the call.
 */
char *config_nodeinfo_json(const struct config *cfg, const struct config_build_info *build,
			   size_t *len);

#endif
