/*
 * config: the key table (STYLE.md §9) and everything that turns a document tree into a fully
 * defaulted struct config: defaults, per-value checks while loading, the generic value types,
 * the message list every check reports into, and freeing. The TunnelRouting and NAT64 value
 * types and config_check()'s cross-field rules live in config_net.c; printing lives in
 * config_dump.c, which walks the same table.
 *
 * Each key names a type; a type is a row of ctypes[] with init (default), parse and fini.
 * Generic types (string, bool, uint, list, block) reach their field through ckey.off; the
 * few types bound to one field (subnet lists, Pool4, PortRange) use their struct directly.
 *
 * Invariants:
 *  - every message is "name:line:col: Key.Path: reason" (no position when there is none),
 *    or "name:line:col: warning: Key.Path: reason"; messages are collected, sorted into file
 *    order and printed together, and any message but a warning means failure;
 *  - lists in the file replace the current list; blocks merge key by key; the input-only
 *    spelling RemoteSubnets runs after the canonical keys and appends;
 *  - a TunnelRouting block without Enable that holds a yggdrasilckr-only key (RemoteSubnets,
 *    Addresses, YggdrasilRouting) turns tunnel routing on, as yggdrasilckr has no Enable;
 *  - a value that fails its check leaves the field as it was; no secret is ever echoed;
 *  - yggdrasil v0.3's keys are read, never written: its key fields are checked and dropped
 *    (SigningPrivateKey becomes PrivateKey when neither PrivateKey nor PrivateKeyPath is
 *    set), the others are dropped when they hold v0.3's "off" value and refused with what to
 *    do otherwise, and a file holding a v0.3 key field gets a warning on every remote subnet
 *    (its keys are v0.3 box keys, which no v0.4+ node is known by).
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config/cnode.h"
#include "config/config.h"
#include "config/config_hjson.h"
#include "config/config_keys.h"
#include "config/config_net.h"
#include "config/config_yaml.h"
#include "lib/mem.h"

enum { NODEINFO_MAX_JSON = 16384, IFNAME_MAX = 15, PASSWORD_MAX = 64 };

struct config_msg {
	unsigned line, col;
	size_t seq;
	bool is_warning;
	char *text;
};

static void add_msg(struct config_loader *ld, bool is_warning, unsigned line, unsigned col,
		    const char *path, const char *fmt, va_list ap)
{
	const char *sev = is_warning ? "warning: " : "";
	char body[512];
	struct config_msg *m;

	vsnprintf(body, sizeof(body), fmt, ap);
	ld->msgs = xreallocarray(ld->msgs, ld->n_msgs + 1, sizeof(*ld->msgs));
	m = &ld->msgs[ld->n_msgs];
	*m = (struct config_msg){line, col, ld->n_msgs, is_warning, NULL};
	ld->n_msgs++;
	if (line)
		m->text = xasprintf("%s:%u:%u: %s%s: %s", ld->name, line, col, sev, path, body);
	else
		m->text = xasprintf("%s: %s%s: %s", ld->name, sev, path, body);
}

void loader_err(struct config_loader *ld, unsigned line, unsigned col, const char *path,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(ld, false, line, col, path, fmt, ap);
	va_end(ap);
}

void loader_warn(struct config_loader *ld, unsigned line, unsigned col, const char *path,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(ld, true, line, col, path, fmt, ap);
	va_end(ap);
}

static int msg_cmp(const void *a, const void *b)
{
	const struct config_msg *x = a, *y = b;
	unsigned lx = x->line ? x->line : ~0u, ly = y->line ? y->line : ~0u;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the collected messages in file order; returns -EINVAL if any was an error. */
int loader_flush(struct config_loader *ld, FILE *errf)
{
	size_t n = ld->n_msgs;
	bool is_bad = false;

	if (n)
		qsort(ld->msgs, n, sizeof(*ld->msgs), msg_cmp);
	for (size_t i = 0; i < n; i++) {
		if (errf)
			fprintf(errf, "%s\n", ld->msgs[i].text);
		is_bad |= !ld->msgs[i].is_warning;
		free(ld->msgs[i].text);
	}
	free(ld->msgs);
	ld->msgs = NULL;
	ld->n_msgs = 0;
	return is_bad ? -EINVAL : 0;
}

void loader_type_err(struct config_loader *ld, const struct cnode *n, const char *path,
		     const char *expected)
{
	nerr(ld, n, path, "expected %s, got %s", expected, cnode_describe(n));
}

bool loader_want_string(struct config_loader *ld, const struct cnode *n, const char *path)
{
	/* Any scalar is text here: hjson-go hands a quoteless 123 or true to a string field as
	 * text, and YAML users write Password: 1234. */
	if (n->kind == CNODE_SCALAR)
		return true;
	loader_type_err(ld, n, path, "a string");
	return false;
}

/* ---- string checks ---- */

static bool check_hex(struct config_loader *ld, const struct cnode *n, const char *path,
		      size_t want, const char *what)
{
	size_t len = strlen(n->str);

	if (len != want) {
		nerr(ld, n, path, "%s must be %zu hexadecimal digits, got %zu characters", what,
		     want, len);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!strchr("0123456789abcdefABCDEF", n->str[i])) {
			nerr(ld, n, path, "%s has a non-hexadecimal character at offset %zu", what,
			     i);
			return false;
		}
	}
	return true;
}

static bool check_privkey(struct config_loader *ld, const struct cnode *n, const char *path)
{
	return check_hex(ld, n, path, 128, "a private key (seed and public key)");
}

bool ckey_check_pubkey(struct config_loader *ld, const struct cnode *n, const char *path)
{
	return check_hex(ld, n, path, 64, "a public key");
}

static bool check_uri(struct config_loader *ld, const struct cnode *n, const char *path)
{
	const char *s = n->str, *end = strstr(s, "://");
	bool is_ok = end && end > s && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'));

	for (const char *p = s; is_ok && p < end; p++)
		is_ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.",
			       *p) != NULL;
	if (!is_ok)
		nerr(ld, n, path, "\"%s\" is not a URI of the form scheme://address", s);
	return is_ok;
}

/* yggdrasil also takes "" (no socket, like "none") and a bare host:port (TCP). */
static bool check_admin(struct config_loader *ld, const struct cnode *n, const char *path)
{
	const char *colon = strrchr(n->str, ':');

	if (!strcmp(n->str, "none") || !n->str[0])
		return true;
	if (!strstr(n->str, "://") && colon && colon > n->str && colon[1])
		return true;
	return check_uri(ld, n, path);
}

static bool check_ifname(struct config_loader *ld, const struct cnode *n, const char *path)
{
	/* Linux's dev_valid_name(): 1 to 15 bytes, no '/', ':' or whitespace. */
	if (strlen(n->str) <= IFNAME_MAX && n->str[0] && !strpbrk(n->str, "/: \t\n\r\v\f"))
		return true;
	nerr(ld, n, path,
	     "\"%s\" is not an interface name (1 to %d characters without '/', ':' "
	     "or blanks), \"auto\" or \"none\"",
	     n->str, IFNAME_MAX);
	return false;
}

/*
 * glibc's regcomp copies the tree of a repeated group once per repetition it must track, so
 * stacked or nested repetitions cost memory exponentially ("a++++++++++++++++++++" takes
 * gigabytes; the config fuzzer found it). An interface name pattern needs few: the product of
 * every operator's multiplicity (2 for * + ?, the largest bound + 1 for {n,m}) is capped, and
 * so is the length. Bracket expressions and escaped characters are skipped.
 */
enum { REGEX_LEN_MAX = 256, REGEX_WEIGHT_MAX = 4096 };

static bool regex_is_tame(const char *s)
{
	unsigned long w = 1;

	if (strlen(s) > REGEX_LEN_MAX)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned long m = 1;

		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (!*p)
				break; /* unmatched: regcomp says so */
		} else if (*p == '*' || *p == '+' || *p == '?') {
			m = 2;
		} else if (*p == '{') {
			unsigned long v = 0, hi = 0;

			for (p++; *p && *p != '}'; p++) {
				if (*p >= '0' && *p <= '9') {
					v = v * 10 + (unsigned long)(*p - '0');
					if (v > REGEX_WEIGHT_MAX)
						return false;
				} else {
					v = 0;
				}
				hi = v > hi ? v : hi;
			}
			if (!*p)
				break;
			m = hi + 1;
		}
		w *= m;
		if (w > REGEX_WEIGHT_MAX)
			return false;
	}
	return true;
}

static bool check_regex(struct config_loader *ld, const struct cnode *n, const char *path)
{
	regex_t re;
	char why[128];
	int r;

	if (!regex_is_tame(n->str)) {
		nerr(ld, n, path,
		     "a regular expression of at most %d characters with few repetitions is "
		     "expected (this one would take too much memory to compile)",
		     REGEX_LEN_MAX);
		return false;
	}
	r = regcomp(&re, n->str, REG_EXTENDED | REG_NOSUB);

	if (!r) {
		regfree(&re);
		return true;
	}
	regerror(r, &re, why, sizeof(why));
	nerr(ld, n, path, "not a valid regular expression: %s", why);
	return false;
}

static bool check_password(struct config_loader *ld, const struct cnode *n, const char *path)
{
	if (strlen(n->str) <= PASSWORD_MAX)
		return true;
	nerr(ld, n, path, "longer than %d bytes (it is a BLAKE2b key)", PASSWORD_MAX);
	return false;
}

/* ---- generic types ---- */

static void str_init(const struct ckey *k, void *base)
{
	char **f = ckey_field(k, base);

	*f = k->def ? xstrdup(k->def) : NULL;
}

static void str_fini(const struct ckey *k, void *base)
{
	char **f = ckey_field(k, base);

	if (*f && (k->flags & CKF_SECRET))
		mem_wipe(*f, strlen(*f));
	free(*f);
	*f = NULL;
}

static void str_parse(struct config_loader *ld, const struct ckey *k, void *base,
		      const struct cnode *n, const char *path)
{
	if (!loader_want_string(ld, n, path) || (k->check && !k->check(ld, n, path)))
		return;
	str_fini(k, base);
	*(char **)ckey_field(k, base) = xstrdup(n->str);
}

static void bool_init(const struct ckey *k, void *base)
{
	*(bool *)ckey_field(k, base) = k->def && !strcmp(k->def, "true");
}

static void bool_parse(struct config_loader *ld, const struct ckey *k, void *base,
		       const struct cnode *n, const char *path)
{
	if (n->kind == CNODE_SCALAR && cnode_scalar_type(n) == CNODE_BOOL) {
		*(bool *)ckey_field(k, base) = n->str[0] == 't';
		return;
	}
	if (n->kind == CNODE_SCALAR && n->is_quoted &&
	    (!strcmp(n->str, "true") || !strcmp(n->str, "false")))
		nerr(ld, n, path, "expected true or false without quotes, got a string");
	else if (n->kind == CNODE_SCALAR &&
		 (!strcasecmp(n->str, "true") || !strcasecmp(n->str, "false")))
		nerr(ld, n, path, "expected true or false in lower case, got \"%s\"", n->str);
	else
		loader_type_err(ld, n, path, "true or false");
}

static void uint_init(const struct ckey *k, void *base)
{
	ckey_uint_set(k, base, k->def ? strtoull(k->def, NULL, 10) : 0);
}

static void uint_parse(struct config_loader *ld, const struct ckey *k, void *base,
		       const struct cnode *n, const char *path)
{
	const char *s = n->str;
	uint64_t v = 0;
	size_t len;

	if (n->kind != CNODE_SCALAR || n->is_quoted || !(len = strspn(s, "0123456789")) || s[len] ||
	    (s[0] == '0' && len > 1)) {
		loader_type_err(ld, n, path, "an unsigned integer");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (v > (UINT64_MAX - 9) / 10) {
			nerr(ld, n, path, "%s is too large (at most %llu)", s,
			     (unsigned long long)k->max);
			return;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < k->min || v > k->max) {
		nerr(ld, n, path, "%llu is %s of %llu%s%s", (unsigned long long)v,
		     v < k->min ? "below the minimum" : "above the maximum",
		     (unsigned long long)(v < k->min ? k->min : k->max),
		     v < k->min && k->cite ? ": " : "", v < k->min && k->cite ? k->cite : "");
		return;
	}
	ckey_uint_set(k, base, v);
}

static void strlist_free(struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strlist_fini(const struct ckey *k, void *base)
{
	strlist_free(ckey_field(k, base));
}

/* Reads a list (or null) of strings into the empty l; false when n is of another type. */
static bool read_strlist(struct config_loader *ld, const struct ckey *k, struct config_strlist *l,
			 const struct cnode *n, const char *path)
{
	char ipath[PATH_MAX_LEN];

	if (n->kind != CNODE_SEQ && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a list of strings");
		return false;
	}
	l->v = xcalloc(n->n ? n->n : 1, sizeof(*l->v));
	for (size_t i = 0; i < n->n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if (loader_want_string(ld, n->vals[i], ipath) &&
		    (!k->check || k->check(ld, n->vals[i], ipath)))
			l->v[l->n++] = xstrdup(n->vals[i]->str);
	}
	return true;
}

static void strlist_parse(struct config_loader *ld, const struct ckey *k, void *base,
			  const struct cnode *n, const char *path)
{
	struct config_strlist l = {0};

	if (!read_strlist(ld, k, &l, n, path))
		return;
	strlist_fini(k, base);
	*(struct config_strlist *)ckey_field(k, base) = l;
}

static void ifpeers_fini(const struct ckey *k, void *base)
{
	struct config *cfg = base;

	(void)k;
	for (size_t i = 0; i < cfg->n_interface_peers; i++) {
		strlist_free(&cfg->interface_peers[i].uris);
		free(cfg->interface_peers[i].iface);
	}
	free(cfg->interface_peers);
	cfg->interface_peers = NULL;
	cfg->n_interface_peers = 0;
}

static int ifpeers_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_ifpeers *)a)->iface,
		      ((const struct config_ifpeers *)b)->iface);
}

static void ifpeers_parse(struct config_loader *ld, const struct ckey *k, void *base,
			  const struct cnode *n, const char *path)
{
	struct config *cfg = base;
	char ipath[PATH_MAX_LEN];

	if (n->kind != CNODE_MAP && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a mapping of interface name to a list of peer URIs");
		return;
	}
	ifpeers_fini(k, base);
	cfg->interface_peers = xcalloc(n->n ? n->n : 1, sizeof(*cfg->interface_peers));
	for (size_t i = 0; i < n->n; i++) {
		struct config_ifpeers *ip = &cfg->interface_peers[cfg->n_interface_peers++];

		snprintf(ipath, sizeof(ipath), "%s[\"%s\"]", path, n->keys[i]->str);
		ip->iface = xstrdup(n->keys[i]->str);
		read_strlist(ld, k, &ip->uris, n->vals[i], ipath);
	}
	/* Go prints map keys sorted; keeping them sorted makes every dump canonical. */
	qsort(cfg->interface_peers, cfg->n_interface_peers, sizeof(*cfg->interface_peers),
	      ifpeers_cmp);
}

static void block_init(const struct ckey *tab, void *base);
static void block_fini(const struct ckey *tab, void *base);
static unsigned load_block(struct config_loader *ld, const struct ckey *tab, void *base,
			   const struct cnode *map, const char *prefix, bool is_ygg);

static void mcast_init(const struct ckey *k, void *base)
{
	struct config *cfg = base;

	cfg->mcast = xcalloc(1, sizeof(*cfg->mcast));
	cfg->n_mcast = 1;
	block_init(k->sub, cfg->mcast);
}

static void mcast_fini(const struct ckey *k, void *base)
{
	struct config *cfg = base;

	for (size_t i = 0; i < cfg->n_mcast; i++)
		block_fini(k->sub, &cfg->mcast[i]);
	free(cfg->mcast);
	cfg->mcast = NULL;
	cfg->n_mcast = 0;
}

static void mcast_parse(struct config_loader *ld, const struct ckey *k, void *base,
			const struct cnode *n, const char *path)
{
	struct config *cfg = base;
	char ipath[PATH_MAX_LEN];

	if (n->kind != CNODE_SEQ && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a list of mappings");
		return;
	}
	mcast_fini(k, base);
	if (n->kind == CNODE_NULL)
		return;
	cfg->mcast = xcalloc(n->n ? n->n : 1, sizeof(*cfg->mcast));
	for (size_t i = 0; i < n->n; i++) {
		struct config_mcast *m = &cfg->mcast[cfg->n_mcast++];

		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		block_init(k->sub, m);
		if (n->vals[i]->kind == CNODE_MAP) {
			load_block(ld, k->sub, m, n->vals[i], ipath, true);
		} else if (n->vals[i]->kind == CNODE_SCALAR) {
			/* v0.3's form, a bare regex: the default entry with that Regex. */
			if (check_regex(ld, n->vals[i], ipath)) {
				free(m->regex);
				m->regex = xstrdup(n->vals[i]->str);
			}
		} else {
			loader_type_err(ld, n->vals[i], ipath, "a mapping or a regex string");
		}
	}
}

static void nodeinfo_fini(const struct ckey *k, void *base)
{
	struct cnode **f = ckey_field(k, base);

	cnode_free(*f);
	*f = NULL;
}

static void nodeinfo_parse(struct config_loader *ld, const struct ckey *k, void *base,
			   const struct cnode *n, const char *path)
{
	struct cnode *copy;
	char *json = NULL;
	size_t len = 0;
	FILE *f;

	if (n->kind != CNODE_MAP && n->kind != CNODE_NULL) {
		loader_type_err(ld, n, path, "a mapping or null");
		return;
	}
	nodeinfo_fini(k, base);
	if (n->kind == CNODE_NULL)
		return;
	copy = cnode_copy(n);
	cnode_sort(copy);
	if ((f = open_memstream(&json, &len))) {
		cnode_emit_json(copy, f, -1);
		fclose(f);
	}
	free(json);
	if (len > NODEINFO_MAX_JSON) {
		nerr(ld, n, path, "%zu bytes as JSON; yggdrasil refuses more than %d", len,
		     NODEINFO_MAX_JSON);
		cnode_free(copy);
		return;
	}
	*(struct cnode **)ckey_field(k, base) = copy;
}

static void block_type_init(const struct ckey *k, void *base)
{
	block_init(k->sub, ckey_field(k, base));
}

static void block_type_fini(const struct ckey *k, void *base)
{
	block_fini(k->sub, ckey_field(k, base));
}

static void block_parse(struct config_loader *ld, const struct ckey *k, void *base,
			const struct cnode *n, const char *path)
{
	unsigned seen;

	if (n->kind == CNODE_MAP) {
		seen = load_block(ld, k->sub, ckey_field(k, base), n, path, false);
		if (k->loaded)
			k->loaded(ckey_field(k, base), seen);
	} else if (n->kind != CNODE_NULL)
		loader_type_err(ld, n, path, "a mapping");
}

static void enum_init(const struct ckey *k, void *base)
{
	for (unsigned i = 0; k->names[i]; i++)
		if (!strcmp(k->names[i], k->def))
			ckey_uint_set(k, base, i);
}

static void enum_parse(struct config_loader *ld, const struct ckey *k, void *base,
		       const struct cnode *n, const char *path)
{
	char list[128] = "";

	if (!loader_want_string(ld, n, path))
		return;
	for (unsigned i = 0; k->names[i]; i++) {
		if (!strcmp(k->names[i], n->str)) {
			ckey_uint_set(k, base, i);
			return;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " or " : "",
			 k->names[i]);
	}
	nerr(ld, n, path, "expected %s, got \"%s\"", list, n->str);
}

/* ---- yggdrasil v0.3's keys (read, never written) ---- */

static bool key_is(const struct config_loader *ld, const char *s, const char *name);

/* A v0.3 key field: noted, so that the remote subnets of this file get their warning. */
static void note_v03(struct config_loader *ld, const struct ckey *k, const struct cnode *n)
{
	if (ld->v03_key || !(k->flags & CKF_V03_IDENTITY))
		return;
	ld->v03_key = k->name;
	ld->v03_line = n->line;
	ld->v03_col = n->col;
}

static void obsolete_parse(struct config_loader *ld, const struct ckey *k, void *base,
			   const struct cnode *n, const char *path)
{
	(void)base;
	note_v03(ld, k, n);
	if (k->check)
		k->check(ld, n, path);
}

/* EncryptionPublicKey, SigningPublicKey: v0.4+ derive the public key from PrivateKey. */
static bool v03_pubkey(struct config_loader *ld, const struct cnode *n, const char *path)
{
	return loader_want_string(ld, n, path) && ckey_check_pubkey(ld, n, path);
}

/* EncryptionPrivateKey: the Curve25519 half of a v0.3 identity, which v0.4+ have no use for. */
static bool v03_box_secret(struct config_loader *ld, const struct cnode *n, const char *path)
{
	return loader_want_string(ld, n, path) &&
	       check_hex(ld, n, path, 64, "a v0.3 encryption private key");
}

/*
 * SigningPrivateKey: v0.3's Ed25519 key, seed and public key as 128 hex digits, the key and
 * form that v0.4+ call PrivateKey. It becomes PrivateKey when neither PrivateKey nor
 * PrivateKeyPath is set (both come earlier in the table), as yggdrasil v0.4 did.
 */
static void signkey_parse(struct config_loader *ld, const struct ckey *k, void *base,
			  const struct cnode *n, const char *path)
{
	struct config *cfg = base;

	note_v03(ld, k, n);
	if (!loader_want_string(ld, n, path) ||
	    !check_hex(ld, n, path, 128, "a private key (seed and public key)") ||
	    cfg->private_key || cfg->private_key_path)
		return;
	cfg->private_key = xstrdup(n->str);
	cfg->private_key_pos = (struct config_pos){n->line, n->col};
	loader_warn(ld, n->line, n->col, path,
		    "taken as PrivateKey (v0.3's signing key is the Ed25519 key that v0.4 and "
		    "later call PrivateKey); the node's Yggdrasil address changes, as it now "
		    "comes from this key instead of EncryptionPublicKey");
}

static bool v03_allowed(struct config_loader *ld, const struct cnode *n, const char *path)
{
	if (n->kind == CNODE_NULL || (n->kind == CNODE_SEQ && !n->n))
		return true;
	if (n->kind != CNODE_SEQ) {
		loader_type_err(ld, n, path, "a list of strings");
		return false;
	}
	nerr(ld, n, path,
	     "yggdrasil v0.3's allow-list holds Curve25519 box keys, which v0.4 and later do not "
	     "use: list the peers' Ed25519 public keys in AllowedPublicKeys and delete this key "
	     "(dropping it would let any node peer)");
	return false;
}

static bool v03_llport(struct config_loader *ld, const struct cnode *n, const char *path)
{
	if (n->kind != CNODE_SCALAR || cnode_scalar_type(n) != CNODE_NUM) {
		loader_type_err(ld, n, path, "a port number");
		return false;
	}
	if (!strcmp(n->str, "0"))
		return true;
	nerr(ld, n, path,
	     "yggdrasil v0.3's port for multicast peerings: set Port in the MulticastInterfaces "
	     "entries instead and delete this key");
	return false;
}

static bool v03_tap(struct config_loader *ld, const struct cnode *n, const char *path)
{
	if (n->kind != CNODE_SCALAR || cnode_scalar_type(n) != CNODE_BOOL) {
		loader_type_err(ld, n, path, "true or false");
		return false;
	}
	if (n->str[0] == 'f')
		return true;
	nerr(ld, n, path,
	     "TAP mode went away in yggdrasil v0.4 and ygg64 only has a TUN: delete "
	     "this key");
	return false;
}

static bool v03_firewall(struct config_loader *ld, const struct cnode *n, const char *path)
{
	char epath[PATH_MAX_LEN];

	if (n->kind == CNODE_NULL)
		return true;
	if (n->kind != CNODE_MAP) {
		loader_type_err(ld, n, path, "a mapping");
		return false;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct cnode *v = n->vals[i];

		if (!key_is(ld, n->keys[i]->str, "Enable") || v->kind != CNODE_SCALAR ||
		    cnode_scalar_type(v) != CNODE_BOOL || v->str[0] != 't')
			continue;
		snprintf(epath, sizeof(epath), "%s.Enable", path);
		nerr(
		    ld, v, epath,
		    "yggdrasil v0.3's session firewall went away in v0.4 and ygg64 has none: "
		    "filter the TUN interface (e.g. with nftables) instead, then delete this block "
		    "(dropping it would accept traffic from every node)");
		return false;
	}
	return true;
}

/*
 * After a file that holds a v0.3 key field: each remote subnet maps to what was a v0.3
 * Curve25519 box key, which cannot be turned into the Ed25519 key v0.4+ route by.
 */
static void warn_v03_routes(struct config_loader *ld, const struct config_tunnel *t)
{
	char path[PATH_MAX_LEN], pfx[INET_PREFIXSTRLEN_MAX];

	for (int fam = 0; fam < 2 && ld->v03_key; fam++) {
		const struct config_route *r = fam ? t->ipv6_remote : t->ipv4_remote;
		size_t n = fam ? t->n_ipv6_remote : t->n_ipv4_remote;

		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "TunnelRouting.IPv%cRemoteSubnets[\"%s\"]",
				 fam ? '6' : '4', inet_prefix_format(&r[i].prefix, pfx));
			loader_warn(
			    ld, r[i].pos.line, r[i].pos.col, path,
			    "this file has yggdrasil v0.3 keys (%s at %u:%u), so this is "
			    "likely a v0.3 Curve25519 box key, which no v0.4+ node is known "
			    "by: replace it with the Ed25519 public key of the node behind "
			    "the subnet (-publickey, or getSelf's \"key\", on that node)",
			    ld->v03_key, ld->v03_line, ld->v03_col);
		}
	}
}

struct ctype {
	void (*init)(const struct ckey *k, void *base);
	void (*parse)(struct config_loader *ld, const struct ckey *k, void *base,
		      const struct cnode *n, const char *path);
	void (*fini)(const struct ckey *k, void *base);
};

/* clang-format off */
static const struct ctype ctypes[CKT__COUNT] = {
	[CKT_STR] = {str_init, str_parse, str_fini},
	[CKT_BOOL] = {bool_init, bool_parse, NULL},
	[CKT_UINT] = {uint_init, uint_parse, NULL},
	[CKT_STRLIST] = {NULL, strlist_parse, strlist_fini},
	[CKT_IFPEERS] = {NULL, ifpeers_parse, ifpeers_fini},
	[CKT_MCAST] = {mcast_init, mcast_parse, mcast_fini},
	[CKT_NODEINFO] = {NULL, nodeinfo_parse, nodeinfo_fini},
	[CKT_BLOCK] = {block_type_init, block_parse, block_type_fini},
	[CKT_REMOTE] = {NULL, net_remote_parse, net_remote_fini},
	[CKT_LOCAL] = {NULL, net_locals_read, net_local_fini},
	[CKT_CKR_REMOTE] = {NULL, net_ckr_remote_parse, NULL},
	[CKT_ADDRESSES] = {NULL, net_addresses_parse, net_addresses_fini},
	[CKT_PREFIX64] = {net_prefix64_init, net_prefix64_parse, NULL},
	[CKT_POOL4] = {NULL, net_pool4_parse, net_pool4_fini},
	[CKT_PORTS] = {net_ports_init, net_ports_parse, NULL},
	[CKT_ENUM] = {enum_init, enum_parse, NULL},
	[CKT_PREFIX6] = {NULL, net_prefix6_parse, NULL},
	[CKT_OBSOLETE] = {NULL, obsolete_parse, NULL},
	[CKT_SIGNKEY] = {NULL, signkey_parse, NULL},
};
/* clang-format on */

/* ---- blocks ---- */

static void block_init(const struct ckey *tab, void *base)
{
	for (const struct ckey *k = tab; k->name; k++)
		if (ctypes[k->type].init)
			ctypes[k->type].init(k, base);
}

static void block_fini(const struct ckey *tab, void *base)
{
	for (const struct ckey *k = tab; k->name; k++)
		if (ctypes[k->type].fini)
			ctypes[k->type].fini(k, base);
}

static bool key_is(const struct config_loader *ld, const char *s, const char *name)
{
	return ld->is_ci ? !strcasecmp(s, name) : !strcmp(s, name);
}

/*
 * Reads the members of map described by tab into base, in table order. Returns the OR of the
 * flags of the keys that were present.
 */
static unsigned load_block(struct config_loader *ld, const struct ckey *tab, void *base,
			   const struct cnode *map, const char *prefix, bool is_ygg)
{
	bool *is_used = xcalloc(map->n ? map->n : 1, sizeof(*is_used));
	char path[PATH_MAX_LEN];
	unsigned seen = 0;

	for (const struct ckey *k = tab; k->name; k++) {
		long first = -1;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k->name);
		for (size_t i = 0; i < map->n; i++) {
			const struct cnode *kn = map->keys[i];

			if (!key_is(ld, kn->str, k->name))
				continue;
			is_used[i] = true;
			if (first < 0) {
				first = (long)i;
				continue;
			}
			nerr(ld, kn, path, "given twice (first as \"%s\" at %u:%u)",
			     map->keys[first]->str, map->keys[first]->line, map->keys[first]->col);
		}
		if (first < 0)
			continue;
		seen |= k->flags;
		ctypes[k->type].parse(ld, k, base, map->vals[first], path);
		if (k->pos_off)
			*(struct config_pos *)((char *)base + k->pos_off) =
			    (struct config_pos){map->vals[first]->line, map->vals[first]->col};
	}
	for (size_t i = 0; i < map->n; i++) {
		const struct cnode *kn = map->keys[i];
		const struct ckey *near = NULL;

		if (is_used[i])
			continue;
		for (const struct ckey *k = tab; k->name && !near; k++)
			if (!strcasecmp(kn->str, k->name))
				near = k;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", kn->str);
		if (near)
			nerr(ld, kn, path,
			     "unknown key; did you mean %s? (YAML keys are "
			     "case-sensitive)",
			     near->name);
		else
			nerr(ld, kn, path, "unknown key%s",
			     is_ygg ? " (yggdrasil ignores it; ygg64 refuses it)" : "");
	}
	free(is_used);
	return seen;
}

/* ---- the table ---- */

/* clang-format off */
#define KEY(n, t, st, f, ...) {.name = n, .type = t, .off = offsetof(st, f), __VA_ARGS__}
#define CKEY(n, t, f, ...) KEY(n, t, struct config, f, __VA_ARGS__)
/* An input-only v0.3 key: no field of its own. */
#define V03KEY(n, t, chk, fl) {.name = n, .type = t, .check = chk, .flags = CKF_ALIAS | (fl)}

static const struct ckey mcast_keys[] = {
	KEY("Regex", CKT_STR, struct config_mcast, regex, .def = ".*", .check = check_regex,
	    .doc = "Interfaces whose name matches this POSIX extended regular expression."),
	KEY("Beacon", CKT_BOOL, struct config_mcast, beacon, .def = "true",
	    .doc = "Announce this node on those interfaces."),
	KEY("Listen", CKT_BOOL, struct config_mcast, listen, .def = "true",
	    .doc = "Peer with nodes that announce themselves there."),
	KEY("Port", CKT_UINT, struct config_mcast, port, .size = 2, .max = 65535,
	    .flags = CKF_OMITEMPTY, .doc = "TCP port for these peerings; 0 picks one."),
	KEY("Priority", CKT_UINT, struct config_mcast, priority, .size = 1, .max = 255,
	    .flags = CKF_OMITEMPTY, .doc = "Link priority; lower is preferred."),
	KEY("Password", CKT_STR, struct config_mcast, password, .def = "", .check = check_password,
	    .doc = "Shared secret both sides must know (up to 64 bytes); \"\" for none."),
	{0},
};

#define TKEY(n, t, f, ...) KEY(n, t, struct config_tunnel, f, __VA_ARGS__)

static const struct ckey tunnel_keys[] = {
	TKEY("Enable", CKT_BOOL, is_enabled, .def = "false",
	     .pos_off = offsetof(struct config_tunnel, enable_pos),
	     .doc = "Carry IPv4 and non-Yggdrasil IPv6 traffic over Yggdrasil sessions. When left\n"
		    "out, a block that holds Addresses, YggdrasilRouting or RemoteSubnets is on\n"
		    "(yggdrasilckr's keys: its files have no Enable)."),
	TKEY("IPv4RemoteSubnets", CKT_REMOTE, ipv4_remote, .family = AF_INET,
	     .doc = "IPv4 prefix -> public key of the node that routes it (longest match wins)."),
	TKEY("IPv4LocalSubnets", CKT_LOCAL, ipv4_local, .family = AF_INET,
	     .doc = "IPv4 prefixes on this side: the only sources we send from and the only\n"
		    "destinations we accept."),
	TKEY("IPv6RemoteSubnets", CKT_REMOTE, ipv6_remote, .family = AF_INET6,
	     .doc = "Like IPv4RemoteSubnets, for IPv6 prefixes that do not overlap 200::/7 (for\n"
		    "a default route use 2000::/3)."),
	TKEY("IPv6LocalSubnets", CKT_LOCAL, ipv6_local, .family = AF_INET6,
	     .doc = "Like IPv4LocalSubnets, for IPv6."),
	TKEY("Addresses", CKT_ADDRESSES, addresses, .flags = CKF_IMPLIES_ENABLE,
	     .doc = "Addresses to put on the TUN interface before the routes, each with the length\n"
		    "of its on-link subnet (host bits kept), IPv4 or IPv6 outside 200::/7, e.g.\n"
		    "[10.5.0.1/24, \"2001:db8:5::1/64\"]. Each address is also a local subnet of\n"
		    "its own (/32 or /128)."),
	TKEY("InstallRoutes", CKT_BOOL, install_routes, .def = "true",
	     .doc = "Route the remote subnets into the TUN interface in the kernel table. Then no\n"
		    "remote subnet may hold the IP address of a peer or listener (a routing loop)."),
	TKEY("YggdrasilRouting", CKT_BOOL, ygg_routing, .def = "true",
	     .flags = CKF_IMPLIES_ENABLE,
	     .doc = "Carry this node's own Yggdrasil IPv6 traffic (200::/7) on the TUN. false: the\n"
		    "TUN gets no 200::/7 address and carries tunnel-routed traffic only\n"
		    "(yggdrasilckr's option; tunnel routing must then be on)."),
	TKEY("RemoteSubnets", CKT_CKR_REMOTE, ipv4_remote, .flags = CKF_ALIAS | CKF_IMPLIES_ENABLE),
	{0},
};

#define NKEY(n, t, f, ...) KEY(n, t, struct config_nat64, f, __VA_ARGS__)
#define NTIME(n, f, d, lo, why, text)                                                         \
	NKEY(n, CKT_UINT, f, .size = 4, .def = d, .min = lo, .max = UINT32_MAX, .cite = why,  \
	     .doc = text)
#define NLIMIT(n, f, d, text) NKEY(n, CKT_UINT, f, .size = 4, .def = d, .min = 1, \
				   .max = UINT32_MAX, .doc = text)

static const char *const filtering_names[] = {
	[CONFIG_NAT64_FILTER_ENDPOINT_INDEPENDENT] = "endpoint-independent",
	[CONFIG_NAT64_FILTER_ADDRESS_DEPENDENT] = "address-dependent",
	NULL,
};

static const struct ckey nat64_keys[] = {
	NKEY("Enable", CKT_BOOL, is_enabled, .def = "false",
	     .pos_off = offsetof(struct config_nat64, enable_pos),
	     .doc = "Translate between IPv6 clients and IPv4 servers (stateful NAT64, RFC 6146)."),
	NKEY("Prefix", CKT_PREFIX64, prefix, .def = "64:ff9b::/96",
	     .pos_off = offsetof(struct config_nat64, prefix_pos),
	     .doc = "IPv6 prefix that holds the IPv4 address (RFC 6052): /32, /40, /48, /56, /64\n"
		    "or /96, with bits 64-71 zero. 64:ff9b::/96 is only for global IPv4; for\n"
		    "private IPv4 use 64:ff9b:1::/48 or a prefix of your own."),
	NKEY("Blackhole", CKT_PREFIX6, blackhole,
	     .pos_off = offsetof(struct config_nat64, blackhole_pos),
	     .doc = "IPv6 prefix routed to this host that holds Prefix, e.g. the /64 around a /96.\n"
		    "While the daemon runs it holds a blackhole route for it, so packets to the\n"
		    "unused rest are dropped here instead of going back upstream (the route of\n"
		    "Prefix into the TUN is more specific and wins). \"\" for none. Read only when\n"
		    "NAT64 is on."),
	NKEY("Pool4", CKT_POOL4, pool4,
	     .doc = "IPv4 addresses or prefixes that IPv6 clients are mapped onto, routed to the\n"
		    "TUN. Empty: the first address of TunnelRouting.IPv4LocalSubnets (only with\n"
		    "TunnelRouting on)."),
	NKEY("PortRange", CKT_PORTS, port_min, .def = "61001-65535",
	     .doc = "Ports of the pool addresses NAT64 may hand out, as \"low-high\"; the host\n"
		    "keeps the others."),
	NKEY("DataDir", CKT_STR, data_dir, .def = "",
	     .doc = "Directory to save mappings in across restarts; \"\" keeps nothing."),
	NKEY("MSSClamp", CKT_BOOL, mss_clamp, .def = "true",
	     .doc = "Lower the MSS of TCP SYNs so translated segments fit the MTU."),
	NKEY("AllowNonGlobalWKP", CKT_BOOL, allow_nonglobal_wkp, .def = "false",
	     .doc = "Let 64:ff9b::/96 carry private IPv4 addresses, which RFC 6052 §3.1 forbids."),
	NKEY("Filtering", CKT_ENUM, filtering, .size = sizeof(enum config_nat64_filtering),
	     .names = filtering_names, .def = "endpoint-independent",
	     .doc = "Who may send to a mapped port (RFC 4787): endpoint-independent = any IPv4\n"
		    "host; address-dependent = only hosts the IPv6 client has contacted."),
	NTIME("UDPTimeout", udp_timeout, "300", 120, "RFC 4787 REQ-5 requires at least 2 minutes",
	      "Seconds an idle UDP mapping is kept (at least 120)."),
	NTIME("ICMPTimeout", icmp_timeout, "60", 60, "RFC 6146 §4 requires at least 60 seconds",
	      "Seconds an idle ICMP query mapping is kept (at least 60)."),
	NTIME("TCPEstablishedTimeout", tcp_est_timeout, "7440", 7440,
	      "RFC 5382 REQ-5 requires at least 2 hours 4 minutes",
	      "Seconds an idle established TCP session is kept (at least 7440)."),
	NTIME("TCPTransitoryTimeout", tcp_trans_timeout, "240", 240,
	      "RFC 6146 §4 requires at least 4 minutes",
	      "Seconds a TCP session that is opening or closing is kept (at least 240)."),
	NLIMIT("MaxBIBEntries", max_bib_entries, "65536", "Most mappings per protocol."),
	NLIMIT("MaxSessions", max_sessions, "262144", "Most sessions, all protocols together."),
	NLIMIT("MaxFragments", max_fragments, "1024", "Most fragments held for reassembly."),
	NLIMIT("MaxStoredSYNs", max_stored_syns, "10",
	       "Most unsolicited IPv4 SYNs held while waiting for an IPv6 SYN (RFC 6146 §3.5.2.2)."),
	{0},
};

const struct ckey config_keys[] = {
	CKEY("PrivateKey", CKT_STR, private_key, .check = check_privkey,
	     .pos_off = offsetof(struct config, private_key_pos),
	     .flags = CKF_OPTIONAL | CKF_SECRET, .example = "<128 hex digits>",
	     .doc = "This node's Ed25519 private key: 128 hex digits (32-byte seed, then the\n"
		    "32-byte public key). It fixes the node's address; keep it secret. With neither\n"
		    "this nor PrivateKeyPath, every start uses a new random key and address."),
	CKEY("PrivateKeyPath", CKT_STR, private_key_path,
	     .pos_off = offsetof(struct config, private_key_path_pos), .flags = CKF_OPTIONAL,
	     .example = "/etc/ygg64/private.pem",
	     .doc = "PEM file (PKCS#8 Ed25519, as from -exportkey) to read the key from instead.\n"
		    "When both are given, this file wins."),
	CKEY("Peers", CKT_STRLIST, peers, .check = check_uri,
	     .doc = "Peers to dial, as URIs: tcp://, tls://, quic://, ws://, wss://, unix://, or\n"
		    "socks://proxy:port/host:port. Options go in the query, e.g.\n"
		    "?key=<public key>&priority=1&password=x. All traffic to the rest of the\n"
		    "network crosses your peers, so pick ones that are near you."),
	CKEY("InterfacePeers", CKT_IFPEERS, interface_peers, .check = check_uri,
	     .doc = "Like Peers, grouped by the local interface to dial from (multi-homed hosts):\n"
		    "{eth0: [tls://192.0.2.1:443]}."),
	CKEY("Listen", CKT_STRLIST, listen, .check = check_uri,
	     .doc = "Where to accept peerings, as URIs such as tls://[::]:0 or tcp://0.0.0.0:9000.\n"
		    "Outbound and multicast peerings work without any."),
	CKEY("AdminListen", CKT_STR, admin_listen, .def = "unix:///var/run/ygg64.sock",
	     .check = check_admin, .flags = CKF_JSON_NONDEFAULT,
	     .doc = "Admin socket for yggdrasilctl: unix:///path or tcp://host:port; \"none\" for\n"
		    "no socket."),
	CKEY("MulticastInterfaces", CKT_MCAST, mcast, .sub = mcast_keys,
	     .doc = "Peer discovery on local links. An interface uses the first entry whose Regex\n"
		    "matches its name. Beacon: announce this node. Listen: connect to nodes that\n"
		    "announce themselves. Port (0 = any) and Priority (lower first) are optional.\n"
		    "Password must match the other side's. Fields left out take the values shown."),
	CKEY("AllowedPublicKeys", CKT_STRLIST, allowed_public_keys, .check = ckey_check_pubkey,
	     .doc = "When not empty, only these public keys (64 hex digits) may peer through our\n"
		    "listeners; outbound and multicast peerings are not affected. It does not\n"
		    "stop anyone from reaching this node's address: it is not a firewall."),
	CKEY("IfName", CKT_STR, if_name, .def = "auto", .check = check_ifname,
	     .doc = "TUN interface name; \"auto\" picks one; \"none\" runs without TUN."),
	CKEY("IfMTU", CKT_UINT, if_mtu, .def = "65535", .size = 8, .min = 1280, .max = 65535,
	     .cite = "IPv6 needs at least 1280 (RFC 8200 §5)",
	     .doc = "MTU of the TUN interface, 1280 to 65535."),
	CKEY("IfTxQueueLen", CKT_UINT, if_txqueuelen, .def = "3000", .size = 8, .min = 64,
	     .max = 65536, .flags = CKF_JSON_NONDEFAULT,
	     .doc = "ygg64: packets the TUN holds for us while we are busy (the kernel's\n"
		    "txqueuelen; the kernel's own default for a TUN is 500). More absorbs longer\n"
		    "bursts of small packets; fewer bounds the delay a flood can queue."),
	CKEY("LogLookups", CKT_BOOL, log_lookups, .def = "false", .flags = CKF_JSON_NONDEFAULT,
	     .doc = "Record path lookups for the admin \"lookups\" command."),
	CKEY("NodeInfoPrivacy", CKT_BOOL, nodeinfo_privacy, .def = "false",
	     .doc = "Leave build name, version, platform and architecture out of NodeInfo."),
	CKEY("NodeInfo", CKT_NODEINFO, nodeinfo,
	     .doc = "What this node tells anyone who asks for its NodeInfo: a mapping such as\n"
		    "{name: gw1, contact: ops@example.net}, or null. At most 16384 bytes as JSON."),
	CKEY("TunnelRouting", CKT_BLOCK, tunnel, .sub = tunnel_keys, .loaded = net_tunnel_loaded,
	     .doc = "ygg64: crypto-key routing (yggdrasil v0.3's TunnelRouting; yggdrasilckr's\n"
		    "RemoteSubnets {key: [prefix]} is read too). IPv4 and non-Yggdrasil IPv6\n"
		    "packets travel in Yggdrasil sessions to the node whose key a remote subnet\n"
		    "names. yggdrasil 0.5 does not know this block."),
	CKEY("NAT64", CKT_BLOCK, nat64, .sub = nat64_keys,
	     .doc = "ygg64: stateful NAT64. IPv6 clients reach IPv4 hosts at Prefix + IPv4\n"
		    "address. Without TunnelRouting (plain mode) Prefix and Pool4 are routed to\n"
		    "the TUN and translated packets go back to the kernel, which routes them."),
	/*
	 * yggdrasil v0.3's keys, read so that its files convert (docs/migrating.md). The four
	 * key fields are one identity: a Curve25519 box key pair (v0.3's address and session
	 * key) and an Ed25519 signing key pair, which is what v0.4 and later call PrivateKey.
	 */
	V03KEY("EncryptionPublicKey", CKT_OBSOLETE, v03_pubkey, CKF_V03_IDENTITY),
	V03KEY("EncryptionPrivateKey", CKT_OBSOLETE, v03_box_secret, CKF_V03_IDENTITY),
	V03KEY("SigningPublicKey", CKT_OBSOLETE, v03_pubkey, CKF_V03_IDENTITY),
	V03KEY("SigningPrivateKey", CKT_SIGNKEY, NULL, CKF_V03_IDENTITY),
	V03KEY("AllowedEncryptionPublicKeys", CKT_OBSOLETE, v03_allowed, 0),
	V03KEY("LinkLocalTCPPort", CKT_OBSOLETE, v03_llport, 0),
	V03KEY("IfTAPMode", CKT_OBSOLETE, v03_tap, 0),
	V03KEY("SessionFirewall", CKT_OBSOLETE, v03_firewall, 0),
	V03KEY("SwitchOptions", CKT_OBSOLETE, NULL, 0), /* queue tuning: nothing to keep */
	{0},
};

/* clang-format on */

/* ---- entry points ---- */

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	block_init(config_keys, cfg);
}

void config_fini(struct config *cfg)
{
	block_fini(config_keys, cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/* HJSON when the first thing after blanks and '#' comments is '{' or a // or block comment. */
static bool is_hjson(const char *buf, size_t len)
{
	size_t i = 0;

	if (len >= 2 && ((unsigned char)buf[0] == 0xff || (unsigned char)buf[0] == 0xfe))
		return true; /* UTF-16: let the HJSON reader say why it refuses it */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		if (buf[i] == '#') {
			while (i < len && buf[i] != '\n')
				i++;
		} else if (buf[i] && strchr(" \t\r\n", buf[i])) {
			i++;
		} else {
			return buf[i] == '{' || buf[i] == '/';
		}
	}
	return false;
}

int config_load_buf(struct config *cfg, const char *name, const char *buf, size_t len, FILE *errf)
{
	struct config_loader ld = {.name = name, .is_ci = is_hjson(buf, len)};
	struct cnode_error perr;
	struct cnode *root;

	if (!buf)
		buf = "";
	root = ld.is_ci ? hjson_parse(buf, len, &perr) : yamlp_parse(buf, len, &perr);
	if (!root) {
		loader_err(&ld, perr.line, perr.col, ld.is_ci ? "HJSON" : "YAML", "%s", perr.msg);
		return loader_flush(&ld, errf);
	}
	if (root->kind == CNODE_MAP) {
		load_block(&ld, config_keys, cfg, root, "", true);
		warn_v03_routes(&ld, &cfg->tunnel);
	} else if (root->kind != CNODE_NULL)
		nerr(&ld, root, "(top level)", "expected a mapping of keys, got %s",
		     cnode_describe(root));
	cnode_free(root);
	return loader_flush(&ld, errf);
}

int config_load_file(struct config *cfg, const char *path, FILE *errf)
{
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	int r;

	if (!f) {
		r = -errno;
		fprintf(errf, "%s: cannot open: %s\n", name, strerror(-r));
		return r;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got && len <= CONFIG_MAX_FILE);
	r = ferror(f) ? -EIO : len > CONFIG_MAX_FILE ? -EFBIG : 0;
	if (!is_stdin)
		fclose(f);
	if (r)
		fprintf(errf, "%s: %s\n", name,
			r == -EFBIG ? "larger than 1 MiB; not a configuration file?"
				    : strerror(-r));
	else
		r = config_load_buf(cfg, name, buf, len, errf);
	mem_wipe(buf, cap); /* it may hold a private key */
	free(buf);
	return r;
}
