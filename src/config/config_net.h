/*
 * config_net: the value types of the TunnelRouting and NAT64 blocks, private to src/config/.
 * config.c puts them in its ctypes[] rows; config_net.c also defines config_check().
 *
 * They follow struct ctype: base is the enclosing struct (config_tunnel or config_nat64) and
 * is owned by the caller; k, n and path are only read during the call, and messages go to ld.
 * Each *_fini frees what its field owns and leaves it empty, so a parse may replace it.
 */
#ifndef YGG64_CONFIG_CONFIG_NET_H
#define YGG64_CONFIG_CONFIG_NET_H

struct ckey;
struct cnode;
struct config_loader;

/* CKT_REMOTE: IPv{4,6}RemoteSubnets, {cidr: key}; replaces the list of k->family. */
void net_remote_parse(struct config_loader *ld, const struct ckey *k, void *base,
		      const struct cnode *n, const char *path);
void net_remote_fini(const struct ckey *k, void *base);

/* CKT_LOCAL: IPv{4,6}LocalSubnets, [cidr]; replaces the list of k->family. */
void net_locals_read(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path);
void net_local_fini(const struct ckey *k, void *base);

/* CKT_CKR_REMOTE: yggdrasilckr's RemoteSubnets, {key: [cidr]}; appends to both families. */
void net_ckr_remote_parse(struct config_loader *ld, const struct ckey *k, void *base,
			  const struct cnode *n, const char *path);

/* CKT_ADDRESSES: yggdrasilckr's Addresses, [addr/len] of either family; replaces the list. */
void net_addresses_parse(struct config_loader *ld, const struct ckey *k, void *base,
			 const struct cnode *n, const char *path);
void net_addresses_fini(const struct ckey *k, void *base);

/*
 * TunnelRouting's ckey.loaded: without Enable in the block (nor from an earlier load), a
 * CKF_IMPLIES_ENABLE key turns tunnel routing on.
 */
void net_tunnel_loaded(void *base, unsigned seen);

/* CKT_PREFIX64: NAT64.Prefix (RFC 6052 §2.2). */
void net_prefix64_init(const struct ckey *k, void *base);
void net_prefix64_parse(struct config_loader *ld, const struct ckey *k, void *base,
			const struct cnode *n, const char *path);

/* CKT_PREFIX6: an IPv6 prefix outside 200::/7 at k->off, "" for none (NAT64.Blackhole). */
void net_prefix6_parse(struct config_loader *ld, const struct ckey *k, void *base,
		       const struct cnode *n, const char *path);

/* CKT_POOL4: NAT64.Pool4, IPv4 addresses or prefixes that must not overlap. */
void net_pool4_parse(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path);
void net_pool4_fini(const struct ckey *k, void *base);

/* CKT_PORTS: NAT64.PortRange as "lo-hi" into port_min and port_max. */
void net_ports_init(const struct ckey *k, void *base);
void net_ports_parse(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path);

#endif
