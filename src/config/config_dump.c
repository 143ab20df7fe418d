/*
 * config_dump: prints a struct config by walking the key table of config.c, as canonical YAML
 * (optionally with an explanation above every key: -genconf and config/example.yaml) or as
 * JSON laid out byte for byte like `yggdrasil -normaliseconf -json` (Go's
 * json.MarshalIndent with two spaces) for the yggdrasil keys, followed by our two blocks.
 *
 * Invariants: what is printed reads back into an equal struct config (the round trip the
 * tests check), so every string goes through the YAML or JSON quoting helpers of cnode.c;
 * each type has one YAML and one JSON printer in the tables at the bottom; whether a key is
 * printed at all is decided in one place, is_shown().
 *
 * Also here: config_nodeinfo_json, the NodeInfo bytes the node sends (compact JSON).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cnode.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "lib/hex.h"
#include "lib/inet.h"

struct dumper {
	FILE *f;
	bool is_json;
	bool is_commented;
	const struct config *cfg;
};

static void pad(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

static void json_nl(FILE *f, int level)
{
	fputc('\n', f);
	pad(f, 2 * level);
}

/* ---- a list of strings, and a string -> string map, for both formats ---- */

struct strs {
	size_t n;
	const char *(*get)(const void *ctx, size_t i, char *buf);
	const void *ctx;
};

static void yaml_strs(struct dumper *d, const struct strs *l, int indent)
{
	char buf[INET_PREFIXSTRLEN_MAX];

	if (!l->n) {
		fputs(" []\n", d->f);
		return;
	}
	fputc('\n', d->f);
	for (size_t i = 0; i < l->n; i++) {
		pad(d->f, indent + 2);
		fputs("- ", d->f);
		cnode_yaml_string(d->f, l->get(l->ctx, i, buf));
		fputc('\n', d->f);
	}
}

static void json_strs(struct dumper *d, const struct strs *l, int level)
{
	char buf[INET_PREFIXSTRLEN_MAX];

	fputc('[', d->f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? "," : "", d->f);
		json_nl(d->f, level + 1);
		cnode_json_string(d->f, l->get(l->ctx, i, buf));
	}
	if (l->n)
		json_nl(d->f, level);
	fputc(']', d->f);
}

static void strs_out(struct dumper *d, const struct strs *l, int at)
{
	if (d->is_json)
		json_strs(d, l, at);
	else
		yaml_strs(d, l, at);
}

static const char *strlist_get(const void *ctx, size_t i, char *buf)
{
	(void)buf;
	return ((const struct config_strlist *)ctx)->v[i];
}

static struct strs strlist_strs(const struct config_strlist *l)
{
	return (struct strs){l->n, strlist_get, l};
}

/* A /32 or /128 prints as the bare address, which is also how Pool4 entries are usually
 * written; everything else as addr/len. */
static const char *prefix_get(const void *ctx, size_t i, char *buf)
{
	const struct inet_prefix *p = &((const struct inet_prefix *)ctx)[i];

	return p->len == (p->family == AF_INET ? 32 : 128) ? inet_addr_format(p, buf)
							   : inet_prefix_format(p, buf);
}

static const char *cidr_get(const void *ctx, size_t i, char *buf)
{
	return inet_prefix_format(&((const struct inet_prefix *)ctx)[i], buf);
}

/* ---- per-type printers; `at` is the YAML column of the key, or the JSON nesting level ---- */

/* A string value after its key: quoted JSON, or " value\n" in YAML. */
static void out_scalar(struct dumper *d, const char *s)
{
	if (d->is_json) {
		cnode_json_string(d->f, s);
		return;
	}
	fputc(' ', d->f);
	cnode_yaml_string(d->f, s);
	fputc('\n', d->f);
}

static void out_str(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const char *s = *(char *const *)ckey_field(k, base);

	(void)at;
	if (!s)
		s = ""; /* only a config built by code can hold NULL here */
	out_scalar(d, s);
}

static void out_bool(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	(void)at;
	fprintf(d->f, "%s%s%s", d->is_json ? "" : " ",
		*(const bool *)ckey_field(k, base) ? "true" : "false", d->is_json ? "" : "\n");
}

static void out_uint(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	(void)at;
	fprintf(d->f, "%s%llu%s", d->is_json ? "" : " ", (unsigned long long)ckey_uint_get(k, base),
		d->is_json ? "" : "\n");
}

static void out_strlist(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	struct strs l = strlist_strs(ckey_field(k, base));

	strs_out(d, &l, at);
}

static void out_ifpeers(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config *cfg = base;

	(void)k;
	if (!cfg->n_interface_peers) {
		fputs(d->is_json ? "{}" : " {}\n", d->f);
		return;
	}
	fputs(d->is_json ? "{" : "\n", d->f);
	for (size_t i = 0; i < cfg->n_interface_peers; i++) {
		const struct config_ifpeers *ip = &cfg->interface_peers[i];
		struct strs l = strlist_strs(&ip->uris);

		if (d->is_json) {
			fputs(i ? "," : "", d->f);
			json_nl(d->f, at + 1);
			cnode_json_string(d->f, ip->iface);
			fputs(": ", d->f);
			json_strs(d, &l, at + 1);
		} else {
			pad(d->f, at + 2);
			cnode_yaml_key(d->f, ip->iface, at + 2);
			yaml_strs(d, &l, at + 2);
		}
	}
	if (d->is_json) {
		json_nl(d->f, at);
		fputc('}', d->f);
	}
}

static void out_block(struct dumper *d, const struct ckey *tab, const void *base, int at,
		      bool is_item);

static void out_mcast(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config *cfg = base;

	if (!cfg->n_mcast) {
		fputs(d->is_json ? "[]" : " []\n", d->f);
		return;
	}
	fputs(d->is_json ? "[" : "\n", d->f);
	for (size_t i = 0; i < cfg->n_mcast; i++) {
		if (d->is_json) {
			fputs(i ? "," : "", d->f);
			json_nl(d->f, at + 1);
			out_block(d, k->sub, &cfg->mcast[i], at + 1, true);
		} else {
			pad(d->f, at + 2);
			fputs("- ", d->f);
			out_block(d, k->sub, &cfg->mcast[i], at + 4, true);
		}
	}
	if (d->is_json) {
		json_nl(d->f, at);
		fputc(']', d->f);
	}
}

static void out_nodeinfo(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct cnode *n = *(struct cnode *const *)ckey_field(k, base);

	if (d->is_json) {
		if (n)
			cnode_emit_json(n, d->f, at);
		else
			fputs("null", d->f);
	} else if (n) {
		cnode_emit_yaml(n, d->f, at);
	} else {
		fputs(" null\n", d->f);
	}
}

static void out_subblock(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	if (!d->is_json)
		fputc('\n', d->f);
	out_block(d, k->sub, ckey_field(k, base), d->is_json ? at : at + 2, false);
}

static void out_remote(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config_tunnel *t = base;
	const struct config_route *r = k->family == AF_INET ? t->ipv4_remote : t->ipv6_remote;
	size_t n = k->family == AF_INET ? t->n_ipv4_remote : t->n_ipv6_remote;
	char pfx[INET_PREFIXSTRLEN_MAX], hex[65];

	if (!n) {
		fputs(d->is_json ? "{}" : " {}\n", d->f);
		return;
	}
	fputs(d->is_json ? "{" : "\n", d->f);
	for (size_t i = 0; i < n; i++) {
		hex_encode(r[i].key, 32, hex);
		inet_prefix_format(&r[i].prefix, pfx);
		if (d->is_json) {
			fputs(i ? "," : "", d->f);
			json_nl(d->f, at + 1);
			cnode_json_string(d->f, pfx);
			fputs(": ", d->f);
			cnode_json_string(d->f, hex);
		} else {
			pad(d->f, at + 2);
			cnode_yaml_string(d->f, pfx);
			fprintf(d->f, ": %s\n", hex);
		}
	}
	if (d->is_json) {
		json_nl(d->f, at);
		fputc('}', d->f);
	}
}

static void out_local(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config_tunnel *t = base;
	struct strs l = {k->family == AF_INET ? t->n_ipv4_local : t->n_ipv6_local, cidr_get,
			 k->family == AF_INET ? t->ipv4_local : t->ipv6_local};

	strs_out(d, &l, at);
}

/* Addresses keep their host bits: 10.5.0.1/24 prints as given. */
static void out_addresses(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config_tunnel *t = base;
	struct strs l = {t->n_addresses, cidr_get, t->addresses};

	(void)k;
	strs_out(d, &l, at);
}

static void out_prefix64(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	char buf[INET_PREFIXSTRLEN_MAX];

	(void)k;
	(void)at;
	inet_prefix_format(&((const struct config_nat64 *)base)->prefix, buf);
	out_scalar(d, buf);
}

/* An unset prefix (family 0) prints as "". */
static void out_prefix6(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct inet_prefix *p = ckey_field(k, base);
	char buf[INET_PREFIXSTRLEN_MAX];

	(void)at;
	out_scalar(d, p->family ? inet_prefix_format(p, buf) : "");
}

static void out_pool4(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config_nat64 *nat = base;
	struct strs l = {nat->n_pool4, prefix_get, nat->pool4};

	(void)k;
	strs_out(d, &l, at);
}

static void out_ports(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const struct config_nat64 *nat = base;
	char buf[16];

	(void)k;
	(void)at;
	snprintf(buf, sizeof(buf), "%u-%u", nat->port_min, nat->port_max);
	out_scalar(d, buf);
}

static void out_enum(struct dumper *d, const struct ckey *k, const void *base, int at)
{
	const char *s = k->names[ckey_uint_get(k, base)];

	(void)at;
	if (d->is_json)
		cnode_json_string(d->f, s);
	else
		fprintf(d->f, " %s\n", s);
}

/* clang-format off */
static void (*const printers[CKT__COUNT])(struct dumper *d, const struct ckey *k,
					   const void *base, int at) = {
	[CKT_STR] = out_str,
	[CKT_BOOL] = out_bool,
	[CKT_UINT] = out_uint,
	[CKT_STRLIST] = out_strlist,
	[CKT_IFPEERS] = out_ifpeers,
	[CKT_MCAST] = out_mcast,
	[CKT_NODEINFO] = out_nodeinfo,
	[CKT_BLOCK] = out_subblock,
	[CKT_REMOTE] = out_remote,
	[CKT_LOCAL] = out_local,
	[CKT_ADDRESSES] = out_addresses,
	[CKT_PREFIX64] = out_prefix64,
	[CKT_POOL4] = out_pool4,
	[CKT_PORTS] = out_ports,
	[CKT_ENUM] = out_enum,
	[CKT_PREFIX6] = out_prefix6,
};
/* clang-format on */

/* ---- blocks ---- */

static bool is_default(const struct ckey *k, const void *base)
{
	if (k->type == CKT_BOOL)
		return *(const bool *)ckey_field(k, base) == (k->def && !strcmp(k->def, "true"));
	if (k->type == CKT_STR) {
		const char *s = *(char *const *)ckey_field(k, base);

		return (!s && !k->def) || (s && k->def && !strcmp(s, k->def));
	}
	if (k->type == CKT_UINT)
		return k->def && ckey_uint_get(k, base) == strtoull(k->def, NULL, 10);
	return false;
}

/*
 * Whether k is printed: never for input-only spellings; not when an optional string is unset;
 * not PrivateKey when PrivateKeyPath is set (as yggdrasil -normaliseconf does); omitempty
 * numbers at zero; and in JSON, AdminListen, IfTxQueueLen and LogLookups only when not the
 * default.
 */
static bool is_shown(const struct dumper *d, const struct ckey *k, const void *base)
{
	if (k->flags & CKF_ALIAS)
		return false;
	if ((k->flags & CKF_OPTIONAL) && !*(char *const *)ckey_field(k, base))
		return false;
	if ((k->flags & CKF_SECRET) && d->cfg->private_key_path)
		return false;
	if ((k->flags & CKF_OMITEMPTY) && !ckey_uint_get(k, base))
		return false;
	return !(d->is_json && (k->flags & CKF_JSON_NONDEFAULT) && is_default(k, base));
}

static void yaml_doc(struct dumper *d, const char *doc, int indent)
{
	while (*doc) {
		size_t n = strcspn(doc, "\n");

		pad(d->f, indent);
		fprintf(d->f, "# %.*s\n", (int)n, doc);
		doc += n + (doc[n] == '\n');
	}
}

/*
 * The keys of one struct. YAML: one "Key: value" per line at column at; with is_item the
 * first key follows a "- " already written, and no explanations are repeated per list item.
 * JSON: an object whose members sit at nesting level at + 1.
 */
static void out_block(struct dumper *d, const struct ckey *tab, const void *base, int at,
		      bool is_item)
{
	bool is_first = true;

	if (d->is_json)
		fputc('{', d->f);
	for (const struct ckey *k = tab; k->name; k++) {
		bool is_doc = d->is_commented && !is_item && k->doc;

		if (!(k->flags & CKF_ALIAS) && is_doc && at == 0 && k != tab)
			fputc('\n', d->f);
		if (!(k->flags & CKF_ALIAS) && is_doc)
			yaml_doc(d, k->doc, at);
		if (!is_shown(d, k, base)) {
			if (is_doc && k->example && !*(char *const *)ckey_field(k, base)) {
				pad(d->f, at);
				fprintf(d->f, "# %s: %s\n", k->name, k->example);
			}
			continue;
		}
		if (d->is_json) {
			fputs(is_first ? "" : ",", d->f);
			json_nl(d->f, at + 1);
			fprintf(d->f, "\"%s\": ", k->name);
			printers[k->type](d, k, base, at + 1);
		} else {
			if (!(is_item && is_first))
				pad(d->f, at);
			fprintf(d->f, "%s:", k->name);
			printers[k->type](d, k, base, at);
		}
		is_first = false;
	}
	if (d->is_json) {
		json_nl(d->f, at);
		fputc('}', d->f);
	}
}

static const char header[] =
    "# ygg64 configuration (YAML).\n"
    "#\n"
    "# Keys left out keep the defaults shown by \"ygg64 -genconf\". ygg64 also reads the\n"
    "# HJSON or JSON files of yggdrasil 0.5, whose keys match in any case.\n"
    "\n";

void config_dump(const struct config *cfg, FILE *out, enum config_format fmt, bool is_commented)
{
	struct dumper d = {out, fmt == CONFIG_FMT_JSON, is_commented && fmt == CONFIG_FMT_YAML,
			   cfg};

	if (d.is_commented)
		fputs(header, out);
	out_block(&d, config_keys, cfg, 0, false);
	if (d.is_json)
		fputc('\n', out);
}

char *config_nodeinfo_json(const struct config *cfg, const struct config_build_info *build,
			   size_t *len)
{
	static const char *const names[] = {"buildname", "buildversion", "buildplatform",
					    "buildarch"};
	struct cnode *m = cfg->nodeinfo ? cnode_copy(cfg->nodeinfo) : cnode_new(CNODE_MAP, 0, 0);
	char *json = NULL;
	size_t n = 0;
	FILE *f;

	if (build && !cfg->nodeinfo_privacy) {
		const char *vals[] = {build->name, build->version, build->platform, build->arch};

		/* yggdrasil-go 0.5.12 sets these after copying the user's map: they win */
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *k = names[i];
			struct cnode *v = cnode_new_scalar(vals[i], strlen(vals[i]), true, 0, 0);
			long at = cnode_map_index(m, k);

			if (at >= 0) {
				cnode_free(m->vals[at]);
				m->vals[at] = v;
			} else {
				cnode_map_add(m, cnode_new_scalar(k, strlen(k), true, 0, 0), v);
			}
		}
	}
	cnode_sort(m);
	if (!(f = open_memstream(&json, &n)))
		abort(); /* out of memory: the control plane aborts (STYLE.md §10) */
	cnode_emit_json(m, f, -1);
	if (fclose(f))
		abort();
	cnode_free(m);
	if (len)
		*len = n;
	return json;
}
