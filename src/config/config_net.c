/*
 * config_net: the value types of the TunnelRouting and NAT64 blocks (remote and local subnets,
 * yggdrasilckr's RemoteSubnets and Addresses, NAT64.Prefix, Blackhole, Pool4, PortRange), the
 * implied Enable of yggdrasilckr blocks, and config_check(), the rules that join several keys.
 * config.c owns the key table, the generic types and the message list these report into.
 *
 * Invariants:
 *  - a stored prefix has no host bits set (a bare address is accepted only in Pool4, as a
 *    host prefix) and is of the family its key names; Addresses alone keep their host bits
 *    (an interface address with the length of its on-link subnet), either family;
 *  - the local subnets of each family, and Pool4, never overlap among themselves; a remote
 *    subnet is listed once per family and an IPv6 one never overlaps 200::/7; no address
 *    is in Addresses twice, nor inside 200::/7;
 *  - every stored prefix keeps the file position it came from, for later messages;
 *  - NAT64.Prefix has an RFC 6052 length, a zero "u" octet and lies outside 200::/7;
 *    NAT64.Blackhole is unset (family 0) or an IPv6 prefix outside 200::/7;
 *  - config_check() only reads the config; its tunnel rules apply while TunnelRouting is
 *    on, its NAT64 rules while NAT64 is on;
 *  - no message shows a URI's userinfo or query, where peer passwords live.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config/cnode.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "config/config_net.h"
#include "lib/inet.h"
#include "lib/mem.h"

/* ---- addresses: TunnelRouting and NAT64 ---- */

static const struct inet_prefix ygg_space = {AF_INET6, 7, {0x02}};

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static bool same_prefix(const struct inet_prefix *a, const struct inet_prefix *b)
{
	return a->len == b->len && inet_prefix_overlaps(a, b);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b[3] = {s[2 * i], s[2 * i + 1], 0};

		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

/* Parses n as "addr/len" of the given family (0 = either), or a bare address when is_addr_ok. */
static bool parse_cidr(struct config_loader *ld, const struct cnode *n, const char *path,
		       int family, bool is_addr_ok, struct inet_prefix *out)
{
	char fix[INET_PREFIXSTRLEN_MAX];

	if (n->kind != CNODE_SCALAR) {
		loader_type_err(ld, n, path, "an IP prefix such as 10.0.0.0/8");
		return false;
	}
	if (inet_prefix_parse(n->str, true, out)) {
		/* parsed */
	} else if (inet_prefix_parse(n->str, false, out)) {
		nerr(ld, n, path, "%s has host bits set (did you mean %s?)", n->str,
		     inet_prefix_format(out, fix));
		return false;
	} else if (is_addr_ok && inet_addr_parse(n->str, out)) {
		out->len = out->family == AF_INET ? 32 : 128;
	} else {
		nerr(ld, n, path, "\"%s\" is not an IP %s (address/length)", n->str,
		     is_addr_ok ? "address or prefix" : "prefix");
		return false;
	}
	if (family && out->family != family) {
		nerr(ld, n, path, "%s is %s where %s is expected", n->str, family_name(out->family),
		     family_name(family));
		return false;
	}
	return true;
}

/*
 * The key a remote subnet maps to: 64 hex digits. Said at length, because a v0.3 file that
 * lost its box keys, or a placeholder left in an example, ends up here.
 */
static bool route_key(struct config_loader *ld, const struct cnode *n, const char *path,
		      uint8_t key[32])
{
	static const char how[] =
	    "use the remote node's Ed25519 public key, 64 hexadecimal digits, which -publickey "
	    "(or getSelf's \"key\") prints on that node (yggdrasil 0.4+ or ygg64); a "
	    "yggdrasil v0.3 box key cannot be converted";
	size_t len, good;

	if (n->kind != CNODE_SCALAR) {
		nerr(ld, n, path, "expected a public key, got %s: %s", cnode_describe(n), how);
		return false;
	}
	len = strlen(n->str);
	good = strspn(n->str, "0123456789abcdefABCDEF");
	if (len != 64)
		nerr(ld, n, path, "not a public key (%zu characters): %s", len, how);
	else if (good != len)
		nerr(ld, n, path,
		     "not a public key (a non-hexadecimal character at offset %zu): %s", good, how);
	else
		unhex(n->str, key, 32);
	return len == 64 && good == len;
}

static void route_add(struct config_loader *ld, struct config_tunnel *t,
		      const struct inet_prefix *p, const uint8_t key[32], const struct cnode *at,
		      const char *path)
{
	bool is4 = p->family == AF_INET;
	struct config_route **v = is4 ? &t->ipv4_remote : &t->ipv6_remote;
	size_t *n = is4 ? &t->n_ipv4_remote : &t->n_ipv6_remote;

	if (!is4 && inet_prefix_overlaps(p, &ygg_space)) {
		/* Containing it counts too: ::/0 would send Yggdrasil traffic into tunnels. */
		if (p->len >= ygg_space.len)
			nerr(ld, at, path,
			     "%s is inside 200::/7, Yggdrasil's own address space, which tunnel "
			     "routing never carries",
			     at->str);
		else
			nerr(ld, at, path,
			     "%s contains 200::/7, Yggdrasil's own address space, which tunnel "
			     "routing never carries; for an IPv6 default route through the tunnel "
			     "use 2000::/3 (all global unicast)",
			     at->str);
		return;
	}
	for (size_t i = 0; i < *n; i++) {
		if (same_prefix(&(*v)[i].prefix, p)) {
			nerr(ld, at, path, "%s is listed twice (first at %u:%u)", at->str,
			     (*v)[i].pos.line, (*v)[i].pos.col);
			return;
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].prefix = *p;
	memcpy((*v)[*n].key, key, 32);
	(*v)[*n].pos = (struct config_pos){at->line, at->col};
	(*n)++;
}

/* A list of prefixes that must not overlap, with where each came from (local subnets, Pool4). */
struct pset {
	struct inet_prefix **v;
	struct config_pos **pos;
	size_t *n;
};

static struct pset local_set(struct config_tunnel *t, int family)
{
	if (family == AF_INET)
		return (struct pset){&t->ipv4_local, &t->ipv4_local_pos, &t->n_ipv4_local};
	return (struct pset){&t->ipv6_local, &t->ipv6_local_pos, &t->n_ipv6_local};
}

static void pset_push(struct pset s, const struct inet_prefix *p, const struct cnode *at)
{
	*s.v = xreallocarray(*s.v, *s.n + 1, sizeof(**s.v));
	*s.pos = xreallocarray(*s.pos, *s.n + 1, sizeof(**s.pos));
	(*s.v)[*s.n] = *p;
	(*s.pos)[(*s.n)++] = (struct config_pos){at->line, at->col};
}

static void pset_add(struct config_loader *ld, struct pset s, const struct inet_prefix *p,
		     const struct cnode *at, const char *path)
{
	char other[INET_PREFIXSTRLEN_MAX];

	for (size_t i = 0; i < *s.n; i++) {
		if (inet_prefix_overlaps(&(*s.v)[i], p)) {
			nerr(ld, at, path, "%s %s %s (at %u:%u)", at->str,
			     same_prefix(&(*s.v)[i], p) ? "duplicates" : "overlaps",
			     inet_prefix_format(&(*s.v)[i], other), (*s.pos)[i].line,
			     (*s.pos)[i].col);
			return;
		}
	}
	pset_push(s, p, at);
}

static void pset_free(struct pset s)
{
	free(*s.v);
	free(*s.pos);
	*s.v = NULL;
	*s.pos = NULL;
	*s.n = 0;
}

void net_remote_fini(const struct ckey *k, void *base)
{
	struct config_tunnel *t = base;
	bool is4 = k->family == AF_INET;

	free(is4 ? t->ipv4_remote : t->ipv6_remote);
	*(is4 ? &t->ipv4_remote : &t->ipv6_remote) = NULL;
	*(is4 ? &t->n_ipv4_remote : &t->n_ipv6_remote) = 0;
}

void net_remote_parse(struct config_loader *ld, const struct ckey *k, void *base,
		      const struct cnode *n, const char *path)
{
	char ipath[PATH_MAX_LEN];
	struct inet_prefix p;
	uint8_t key[32];

	if (n->kind != CNODE_MAP && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a mapping of prefix to public key");
		return;
	}
	net_remote_fini(k, base);
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *kn = n->keys[i], *vn = n->vals[i];

		snprintf(ipath, sizeof(ipath), "%s[\"%s\"]", path, kn->str);
		if (parse_cidr(ld, kn, ipath, k->family, false, &p) &&
		    route_key(ld, vn, ipath, key))
			route_add(ld, base, &p, key, kn, ipath);
	}
}

void net_local_fini(const struct ckey *k, void *base)
{
	pset_free(local_set(base, k->family));
}

void net_locals_read(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path)
{
	char ipath[PATH_MAX_LEN];
	struct inet_prefix p;

	if (n->kind != CNODE_SEQ && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a list of IP prefixes");
		return;
	}
	net_local_fini(k, base);
	for (size_t i = 0; i < n->n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (parse_cidr(ld, n->vals[i], ipath, k->family, false, &p))
			pset_add(ld, local_set(base, p.family), &p, n->vals[i], ipath);
	}
}

static struct pset addr_set(struct config_tunnel *t)
{
	return (struct pset){&t->addresses, &t->addresses_pos, &t->n_addresses};
}

void net_addresses_fini(const struct ckey *k, void *base)
{
	(void)k;
	pset_free(addr_set(base));
}

/* An interface address as "addr/len", the host bits kept: 10.5.0.1/24 is 10.5.0.1 on a /24. */
static bool parse_ifaddr(struct config_loader *ld, const struct cnode *n, const char *path,
			 struct inet_prefix *out)
{
	char addr[INET_ADDRSTRLEN_MAX];
	struct inet_prefix p;
	size_t alen;

	if (n->kind != CNODE_SCALAR) {
		loader_type_err(ld, n, path, "an address with a prefix length such as 10.5.0.1/24");
		return false;
	}
	alen = strcspn(n->str, "/");
	if (!n->str[alen] && inet_addr_parse(n->str, &p)) {
		nerr(ld, n, path,
		     "%s has no prefix length: write it with the length of its on-link subnet, "
		     "e.g. %s/%u (%s/%u for the address alone)",
		     n->str, n->str, p.family == AF_INET ? 24 : 64, n->str, p.len);
		return false;
	}
	if (alen >= sizeof(addr) || !inet_prefix_parse(n->str, false, &p)) {
		nerr(ld, n, path,
		     "\"%s\" is not an IP address with a prefix length (address/length, e.g. "
		     "10.5.0.1/24)",
		     n->str);
		return false;
	}
	memcpy(addr, n->str, alen);
	addr[alen] = '\0';
	if (!inet_addr_parse(addr, out))
		return false; /* not reached: inet_prefix_parse read the same address */
	out->len = p.len;
	return true;
}

void net_addresses_parse(struct config_loader *ld, const struct ckey *k, void *base,
			 const struct cnode *n, const char *path)
{
	struct config_tunnel *t = base;
	char ipath[PATH_MAX_LEN], other[INET_PREFIXSTRLEN_MAX];
	struct inet_prefix p, host;

	if (n->kind != CNODE_SEQ && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a list of addresses with prefix lengths");
		return;
	}
	net_addresses_fini(k, base);
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *e = n->vals[i];
		size_t j = 0;

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (!parse_ifaddr(ld, e, ipath, &p))
			continue;
		host = p;
		host.len = p.family == AF_INET ? 32 : 128;
		if (inet_is_yggdrasil(&host)) {
			nerr(ld, e, ipath,
			     "%s is inside 200::/7, Yggdrasil's own address space; the TUN's "
			     "Yggdrasil address comes from the node's key",
			     e->str);
			continue;
		}
		while (j < t->n_addresses && (t->addresses[j].family != p.family ||
					      memcmp(t->addresses[j].addr, p.addr, 16)))
			j++;
		if (j < t->n_addresses) {
			nerr(ld, e, ipath, "%s %s %s (at %u:%u)", e->str,
			     t->addresses[j].len == p.len ? "duplicates" : "repeats the address of",
			     inet_prefix_format(&t->addresses[j], other), t->addresses_pos[j].line,
			     t->addresses_pos[j].col);
			continue;
		}
		pset_push(addr_set(t), &p, e);
	}
}

void net_tunnel_loaded(void *base, unsigned seen)
{
	struct config_tunnel *t = base;

	/*
	 * yggdrasilckr dropped Enable (its block is on whenever present), so its files carry
	 * none; an explicit Enable, false included, always wins.
	 */
	if ((seen & CKF_IMPLIES_ENABLE) && !t->enable_pos.line)
		t->is_enabled = true;
}

/* yggdrasilckr's RemoteSubnets: {key: [cidr, ...]} (or {key: cidr}), both families. */
void net_ckr_remote_parse(struct config_loader *ld, const struct ckey *k, void *base,
			  const struct cnode *n, const char *path)
{
	char kpath[PATH_MAX_LEN], ipath[PATH_MAX_LEN + 24];
	struct inet_prefix p;
	uint8_t key[32];

	(void)k;
	if (n->kind != CNODE_MAP && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a mapping of public key to a list of prefixes");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *vn = n->vals[i];
		bool is_one = vn->kind == CNODE_SCALAR;

		snprintf(kpath, sizeof(kpath), "%s[\"%s\"]", path, n->keys[i]->str);
		if (!route_key(ld, n->keys[i], kpath, key))
			continue;
		if (!is_one && vn->kind != CNODE_SEQ) {
			loader_type_err(ld, vn, kpath, "a list of IP prefixes");
			continue;
		}
		for (size_t j = 0; j < (is_one ? 1 : vn->n); j++) {
			const struct cnode *e = is_one ? vn : vn->vals[j];

			if (is_one)
				snprintf(ipath, sizeof(ipath), "%s", kpath);
			else
				snprintf(ipath, sizeof(ipath), "%s[%zu]", kpath, j);
			if (parse_cidr(ld, e, ipath, 0, false, &p))
				route_add(ld, base, &p, key, e, ipath);
		}
	}
}

void net_prefix64_init(const struct ckey *k, void *base)
{
	inet_prefix_parse(k->def, true, &((struct config_nat64 *)base)->prefix);
}

/* RFC 6052 §2.2: the lengths, and the "u" octet (bits 64-71) which must be zero. */
void net_prefix64_parse(struct config_loader *ld, const struct ckey *k, void *base,
			const struct cnode *n, const char *path)
{
	struct inet_prefix p, raw;
	char addr[INET_PREFIXSTRLEN_MAX];
	size_t alen;

	(void)k;
	if (n->kind == CNODE_SCALAR && inet_prefix_parse(n->str, false, &p) &&
	    p.family == AF_INET6) {
		if (!inet_nat64_prefix_len_ok(p.len)) {
			nerr(ld, n, path,
			     "prefix length /%u is not one of 32, 40, 48, 56, 64, 96 "
			     "(RFC 6052 §2.2)",
			     p.len);
			return;
		}
		alen = strcspn(n->str, "/");
		snprintf(addr, sizeof(addr), "%.*s", (int)alen, n->str);
		if (inet_addr_parse(addr, &raw) && raw.addr[8]) {
			nerr(ld, n, path,
			     "bits 64-71 (the \"u\" octet) of %s must be zero "
			     "(RFC 6052 §2.2)",
			     n->str);
			return;
		}
	}
	if (!parse_cidr(ld, n, path, AF_INET6, false, &p))
		return;
	if (inet_prefix_overlaps(&p, &ygg_space)) {
		nerr(ld, n, path, "%s overlaps 200::/7, Yggdrasil's own address space", n->str);
		return;
	}
	((struct config_nat64 *)base)->prefix = p;
}

/* The messages of an IPv6 prefix p, written as at->str, that overlaps 200::/7. */
static void ygg_overlap_err(struct config_loader *ld, const struct inet_prefix *p,
			    const struct cnode *at, const char *path)
{
	nerr(ld, at, path, "%s %s 200::/7, Yggdrasil's own address space", at->str,
	     p->len >= ygg_space.len ? "is inside" : "contains");
}

/* CKT_PREFIX6: an IPv6 prefix outside 200::/7; "" (or null) leaves it unset, family 0. */
void net_prefix6_parse(struct config_loader *ld, const struct ckey *k, void *base,
		       const struct cnode *n, const char *path)
{
	struct inet_prefix *f = ckey_field(k, base), p;

	if (n->kind == CNODE_NULL || (n->kind == CNODE_SCALAR && !n->str[0])) {
		memset(f, 0, sizeof(*f));
		return;
	}
	if (!parse_cidr(ld, n, path, AF_INET6, false, &p))
		return;
	if (inet_prefix_overlaps(&p, &ygg_space)) {
		ygg_overlap_err(ld, &p, n, path);
		return;
	}
	*f = p;
}

static struct pset pool4_set(struct config_nat64 *nat)
{
	return (struct pset){&nat->pool4, &nat->pool4_pos, &nat->n_pool4};
}

void net_pool4_fini(const struct ckey *k, void *base)
{
	(void)k;
	pset_free(pool4_set(base));
}

void net_pool4_parse(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path)
{
	char ipath[PATH_MAX_LEN];
	struct inet_prefix p;

	if (n->kind != CNODE_SEQ && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a list of IPv4 addresses or prefixes");
		return;
	}
	net_pool4_fini(k, base);
	for (size_t i = 0; i < n->n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (parse_cidr(ld, n->vals[i], ipath, AF_INET, true, &p))
			pset_add(ld, pool4_set(base), &p, n->vals[i], ipath);
	}
}

/* "lo-hi" with 1 <= lo <= hi <= 65535. */
static bool ports_read(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned long a, b;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	a = strtoul(s, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (*end || a < 1 || b > 65535 || a > b)
		return false;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return true;
}

void net_ports_init(const struct ckey *k, void *base)
{
	struct config_nat64 *nat = base;

	ports_read(k->def, &nat->port_min, &nat->port_max);
}

void net_ports_parse(struct config_loader *ld, const struct ckey *k, void *base,
		     const struct cnode *n, const char *path)
{
	struct config_nat64 *nat = base;

	(void)k;
	if (loader_want_string(ld, n, path) && !ports_read(n->str, &nat->port_min, &nat->port_max))
		nerr(ld, n, path,
		     "expected \"low-high\" with 1 <= low <= high <= 65535, got \"%s\"", n->str);
}

/* ---- cross-field rules ---- */

/* A host prefix as the bare address (how Pool4 entries are usually written), else addr/len. */
static const char *pfx_str(const struct inet_prefix *p, char *buf)
{
	return p->len == (p->family == AF_INET ? 32 : 128) ? inet_addr_format(p, buf)
							   : inet_prefix_format(p, buf);
}

static bool prefix_inside(const struct inet_prefix *outer, const struct inet_prefix *p)
{
	return outer->family == p->family && outer->len <= p->len && inet_prefix_contains(outer, p);
}

static void check_wkp_v4(struct config_loader *ld, const struct inet_prefix *p,
			 struct config_pos pos, const char *path, const char *what)
{
	char s[INET_PREFIXSTRLEN_MAX];

	if (inet_ipv4_is_global(p))
		return;
	perr(ld, pos, path,
	     "%s%s is not global IPv4 space, and RFC 6052 §3.1 forbids the "
	     "Well-Known Prefix 64:ff9b::/96 for non-global addresses; set "
	     "NAT64.Prefix to 64:ff9b:1::/48 (RFC 8215) or a network-specific "
	     "prefix, or NAT64.AllowNonGlobalWKP: true",
	     pfx_str(p, s), what);
}

/*
 * NAT64.Blackhole is the routed prefix around NAT64.Prefix: it holds it and is shorter, so
 * the route of Prefix into the TUN is the more specific one and wins.
 */
static void check_blackhole(struct config_loader *ld, const struct config_nat64 *nat)
{
	const struct inet_prefix *bh = &nat->blackhole, *pfx = &nat->prefix;
	char a[INET_PREFIXSTRLEN_MAX], b[INET_PREFIXSTRLEN_MAX], hint[INET_PREFIXSTRLEN_MAX + 8];
	struct inet_prefix wide = *pfx;

	if (bh->len < pfx->len && inet_prefix_contains(bh, pfx))
		return;
	/* A hint: the /64 (or the next shorter /8 boundary) around Prefix. */
	wide.len = pfx->len > 64 ? 64 : (uint8_t)(pfx->len - 8);
	inet_prefix_format(&wide, a);
	inet_prefix_parse(a, false, &wide);
	snprintf(hint, sizeof(hint), ", e.g. %s", inet_prefix_format(&wide, a));
	inet_prefix_format(pfx, b);
	perr(ld, nat->blackhole_pos, "NAT64.Blackhole",
	     "%s %s NAT64.Prefix %s; it must be the shorter routed prefix that holds it%s, or \"\" "
	     "for none",
	     inet_prefix_format(bh, a),
	     same_prefix(bh, pfx)	     ? "is"
	     : inet_prefix_overlaps(bh, pfx) ? "lies inside"
					     : "does not contain",
	     b, hint);
}

/* The rules of a NAT64 that is on. */
static void check_nat64(struct config_loader *ld, const struct config *cfg)
{
	const struct config_nat64 *nat = &cfg->nat64;
	const struct config_tunnel *tun = &cfg->tunnel;
	char path[PATH_MAX_LEN], a[INET_PREFIXSTRLEN_MAX], b[INET_PREFIXSTRLEN_MAX];

	/*
	 * Without tunnel routing the NAT64 runs in plain mode (the kernel routes the translated
	 * packets), and only Pool4 can give it addresses; with it, the pool defaults to the
	 * node's first IPv4 local subnet.
	 */
	if (!nat->n_pool4 && !tun->is_enabled)
		perr(ld, nat->enable_pos, "NAT64.Enable",
		     "NAT64 needs an IPv4 address: set NAT64.Pool4 (it defaults to "
		     "TunnelRouting.IPv4LocalSubnets only while TunnelRouting is on)");
	else if (!nat->n_pool4 && !tun->n_ipv4_local)
		perr(ld, nat->enable_pos, "NAT64.Enable",
		     "NAT64 needs an IPv4 address: set "
		     "NAT64.Pool4 or TunnelRouting.IPv4LocalSubnets");
	for (size_t i = 0; i < nat->n_pool4 && tun->is_enabled && tun->n_ipv4_local; i++) {
		size_t j = 0;

		while (j < tun->n_ipv4_local && !prefix_inside(&tun->ipv4_local[j], &nat->pool4[i]))
			j++;
		snprintf(path, sizeof(path), "NAT64.Pool4[%zu]", i);
		if (j == tun->n_ipv4_local)
			perr(ld, nat->pool4_pos[i], path,
			     "%s is not inside "
			     "TunnelRouting.IPv4LocalSubnets, so tunnel routing would drop the "
			     "translated packets",
			     pfx_str(&nat->pool4[i], a));
	}
	if (nat->blackhole.family)
		check_blackhole(ld, nat);
	for (size_t i = 0; i < tun->n_ipv6_local; i++)
		if (inet_prefix_overlaps(&nat->prefix, &tun->ipv6_local[i]))
			perr(ld, nat->prefix_pos, "NAT64.Prefix",
			     "%s overlaps "
			     "TunnelRouting.IPv6LocalSubnets entry %s (at %u:%u)",
			     inet_prefix_format(&nat->prefix, a),
			     inet_prefix_format(&tun->ipv6_local[i], b),
			     tun->ipv6_local_pos[i].line, tun->ipv6_local_pos[i].col);
	for (size_t i = 0; i < tun->n_ipv6_remote; i++)
		if (inet_prefix_overlaps(&nat->prefix, &tun->ipv6_remote[i].prefix))
			perr(ld, nat->prefix_pos, "NAT64.Prefix",
			     "%s overlaps "
			     "TunnelRouting.IPv6RemoteSubnets entry %s (at %u:%u)",
			     inet_prefix_format(&nat->prefix, a),
			     inet_prefix_format(&tun->ipv6_remote[i].prefix, b),
			     tun->ipv6_remote[i].pos.line, tun->ipv6_remote[i].pos.col);
	if (!inet_is_nat64_wkp(&nat->prefix) || nat->allow_nonglobal_wkp)
		return;
	for (size_t i = 0; i < tun->n_ipv4_remote; i++) {
		const struct config_route *r = &tun->ipv4_remote[i];

		snprintf(path, sizeof(path), "TunnelRouting.IPv4RemoteSubnets[\"%s\"]",
			 inet_prefix_format(&r->prefix, a));
		if (r->prefix.len >= 8)
			check_wkp_v4(ld, &r->prefix, r->pos, path, "");
	}
	for (size_t i = 0; i < nat->n_pool4; i++) {
		snprintf(path, sizeof(path), "NAT64.Pool4[%zu]", i);
		check_wkp_v4(ld, &nat->pool4[i], nat->pool4_pos[i], path, "");
	}
	if (!nat->n_pool4 && tun->n_ipv4_local) {
		struct inet_prefix first = tun->ipv4_local[0];

		first.len = 32;
		check_wkp_v4(ld, &first, tun->ipv4_local_pos[0],
			     "TunnelRouting.IPv4LocalSubnets[0]",
			     " (the NAT64 source address while NAT64.Pool4 is empty)");
	}
}

/* A link URI split as Go's url.Parse and URL.Hostname see it. */
struct uri_parts {
	const char *scheme, *hostport; /* hostport: the authority without userinfo */
	size_t scheme_len, hostport_len;
	char host[INET_ADDRSTRLEN_MAX]; /* without brackets and IPv6 zone */
};

/*
 * Splits scheme://[userinfo@]host[:port][/path][?query][#fragment]. An IPv6 host is in
 * brackets, maybe with a zone ([fe80::1%eth0], or %25eth0 escaped), which is dropped; an
 * unbracketed host ends at a last ':' that only digits follow. False when there is no
 * "://", no host, or a host too long to be an IP literal.
 */
static bool uri_split(const char *uri, struct uri_parts *u)
{
	const char *sep = strstr(uri, "://"), *auth, *end, *h, *hend, *zone;

	if (!sep)
		return false;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	h = end;
	while (h > auth && h[-1] != '@') /* userinfo ends at the last '@' */
		h--;
	*u = (struct uri_parts){uri, h, (size_t)(sep - uri), (size_t)(end - h), ""};
	if (*h == '[') {
		h++;
		if (!(hend = memchr(h, ']', (size_t)(end - h))))
			return false;
	} else {
		hend = end;
		for (const char *c = end; c > h; c--) {
			if (c[-1] == ':') {
				if (strspn(c, "0123456789") == (size_t)(end - c))
					hend = c - 1;
				break;
			}
		}
	}
	if ((zone = memchr(h, '%', (size_t)(hend - h))))
		hend = zone;
	if (hend == h || (size_t)(hend - h) >= sizeof(u->host))
		return false;
	memcpy(u->host, h, (size_t)(hend - h));
	u->host[hend - h] = '\0';
	return true;
}

/*
 * The IP literal a link URI dials or listens on, with IPv4-mapped IPv6 (::ffff:a.b.c.d) as
 * IPv4. False for unix://, host names (the daemon checks those once resolved) and the
 * unspecified address (a listener on it is not a destination).
 */
static bool uri_addr(const char *uri, struct uri_parts *u, struct inet_prefix *a)
{
	if (!uri_split(uri, u) || (u->scheme_len == 4 && !strncasecmp(uri, "unix", 4)) ||
	    !inet_addr_parse(u->host, a))
		return false;
	inet_addr_unmap4(a);
	return !inet_addr_is_unspecified(a);
}

/*
 * The loop guard: with the remote subnet r routed into the TUN, a link to an address inside
 * it would travel inside the tunnels it carries (why yggdrasil v0.4 dropped tunnel routing).
 * what names the Peers, InterfacePeers or Listen entry. Only scheme://host:port of the URI
 * is shown: userinfo and the query may hold passwords.
 */
static void check_link(struct config_loader *ld, const struct config_route *r, const char *rpath,
		       const char *what, const char *uri)
{
	char pfx[INET_PREFIXSTRLEN_MAX], addr[INET_ADDRSTRLEN_MAX];
	struct uri_parts u;
	struct inet_prefix a;

	if (!uri_addr(uri, &u, &a) || !inet_prefix_contains(&r->prefix, &a))
		return;
	perr(ld, r->pos, rpath,
	     "%s contains %s, the address of %s (%.*s://%.*s): its link would be routed into "
	     "the overlay it carries; narrow the subnet, or set InstallRoutes: false and route "
	     "that address outside the TUN",
	     inet_prefix_format(&r->prefix, pfx), inet_addr_format(&a, addr), what,
	     (int)u.scheme_len, u.scheme, (int)u.hostport_len, u.hostport);
}

static void check_links(struct config_loader *ld, const struct config *cfg,
			const struct config_route *r)
{
	char rpath[PATH_MAX_LEN], what[PATH_MAX_LEN + 48], pfx[INET_PREFIXSTRLEN_MAX];

	snprintf(rpath, sizeof(rpath), "TunnelRouting.IPv%cRemoteSubnets[\"%s\"]",
		 r->prefix.family == AF_INET ? '4' : '6', inet_prefix_format(&r->prefix, pfx));
	for (size_t i = 0; i < cfg->peers.n; i++) {
		snprintf(what, sizeof(what), "Peers[%zu]", i);
		check_link(ld, r, rpath, what, cfg->peers.v[i]);
	}
	for (size_t i = 0; i < cfg->n_interface_peers; i++) {
		const struct config_ifpeers *ip = &cfg->interface_peers[i];

		for (size_t j = 0; j < ip->uris.n; j++) {
			snprintf(what, sizeof(what), "InterfacePeers[\"%.*s\"][%zu]", PATH_MAX_LEN,
				 ip->iface, j);
			check_link(ld, r, rpath, what, ip->uris.v[j]);
		}
	}
	for (size_t i = 0; i < cfg->listen.n; i++) {
		snprintf(what, sizeof(what), "Listen[%zu]", i);
		check_link(ld, r, rpath, what, cfg->listen.v[i]);
	}
}

/* The rules of TunnelRouting; all but the first need it on. */
static void check_tunnel(struct config_loader *ld, const struct config *cfg)
{
	const struct config_tunnel *tun = &cfg->tunnel;

	if (!tun->is_enabled && !tun->ygg_routing)
		perr(ld, tun->enable_pos, "TunnelRouting.Enable",
		     "tunnel routing is off and TunnelRouting.YggdrasilRouting is false, so the "
		     "TUN would carry nothing; set one of them to true");
	/* Without InstallRoutes the kernel routes are the operator's, who may keep the peers
	 * outside the TUN (policy routing, host routes), so nothing here makes a loop. */
	if (!tun->is_enabled || !tun->install_routes)
		return;
	for (size_t i = 0; i < tun->n_ipv4_remote; i++)
		check_links(ld, cfg, &tun->ipv4_remote[i]);
	for (size_t i = 0; i < tun->n_ipv6_remote; i++)
		check_links(ld, cfg, &tun->ipv6_remote[i]);
}

int config_check(const struct config *cfg, const char *name, FILE *errf)
{
	struct config_loader ld = {.name = name};

	check_tunnel(&ld, cfg);
	if (cfg->nat64.is_enabled)
		check_nat64(&ld, cfg);
	return loader_flush(&ld, errf);
}
