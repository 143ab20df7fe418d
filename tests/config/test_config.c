/*
 * Tests for config/: golden files (tests/data/config/NN-name.{yaml,conf,json} with the exact
 * expected messages in .err, or the canonical YAML dump in .out, JSON dump in .out.json and,
 * for a file that loads with warnings, those in .warn),
 * the dump -> parse round trip in every format, byte equality with `yggdrasil -normaliseconf
 * -json` output captured from the real 0.5.12 binary, config/example.yaml and
 * config/minimal.yaml, and the YAML reader (config_yaml.c).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/cnode.h"
#include "config/config.h"
#include "config/config_yaml.h"
#include "support/hex.h"

#define DATA YGG64_TEST_DATA "/config/"
#define REPO_CONFIG YGG64_TEST_DATA "/../../config/"

/* One file per error class; each must fail with exactly the messages in its .err file. */
/* clang-format off */
static const char *const error_cases[] = {
	"01-unknown-key.yaml",
	"02-wrong-type.yaml",
	"03-bad-cidr.yaml",
	"04-host-bits.yaml",
	"05-bad-key-hex.yaml",
	"06-overlap-local.yaml",
	"07-remote-in-ygg.yaml",
	"08-nat64-prefix-len.yaml",
	"09-nat64-u-octet.yaml",
	"10-wkp-nonglobal.yaml",
	"11-nat64-no-tunnel.yaml",
	"12-pool-outside.yaml",
	"13-timeout-min.yaml",
	"14-port-range.yaml",
	"15-ifmtu-range.yaml",
	"16-yaml-syntax.yaml",
	"17-hjson-syntax.conf",
	"18-duplicate-key.yaml",
	"19-nodeinfo-not-map.yaml",
	"20-hjson-unknown-key.conf",
	"21-wrong-family.yaml",
	"22-duplicate-remote.yaml",
	"23-privkey-len.yaml",
	"24-yaml-anchor.yaml",
	"25-hjson-case-dup.conf",
	"26-bool-quoted.yaml",
	"27-yaml-case.yaml",
	"28-nat64-no-ipv4.yaml",
	"29-multi-doc.yaml",
	"30-filtering.yaml",
	"31-mcast-bad.yaml",
	"32-nat64-prefix-overlap.yaml",
	"33-nat64-prefix-ygg.yaml",
	"34-many-errors.conf",
	"35-top-level-list.yaml",
	"36-hjson-bad-escape.conf",
	"37-pool-overlap.yaml",
	"38-nodeinfo-too-big.yaml",
	"39-yaml-tag.yaml",
	"40-nonglobal-pool.yaml",
	"41-txqueuelen-range.yaml",
	"42-loop-guard-peer.yaml",
	"43-addresses-bad.yaml",
	"44-ygg-routing-off-disabled.yaml",
	"45-remote6-covers-ygg.yaml",
	"46-v03-refused.conf",
	"47-blackhole-outside.yaml",
	"48-blackhole-value.yaml",
};
/* clang-format on */

/* clang-format off */
static const char *const ok_cases[] = {
	"50-defaults.yaml",
	"51-full.yaml",
	"52-ckr-alias.conf",
	"53-hjson-case.conf",
	"54-crxn.yaml",
	"55-mcast-partial.yaml",
	"56-wkp-default-route.yaml",
	"57-nodeinfo.yaml",
	"58-json-input.json",
	"59-yggdrasilckr.conf",
	"60-v03-tunnel.conf",
	"61-v03-genconf.conf",
	"62-blackhole.yaml",
};
/* clang-format on */

enum { N_ERROR_CASES = sizeof(error_cases) / sizeof(error_cases[0]) };
enum { N_OK_CASES = sizeof(ok_cases) / sizeof(ok_cases[0]) };

static char *read_path(const char *path, size_t *len)
{
	size_t n;
	char *buf = th_read_file(path, len ? len : &n);

	cr_assert_not_null(buf, "cannot read %s", path);
	return buf;
}

static char *read_data(const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), DATA "%s", name);
	return read_path(path, len);
}

static bool data_exists(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), DATA "%s", name);
	if (!(f = fopen(path, "r")))
		return false;
	fclose(f);
	return true;
}

/* name with its extension replaced by ext. */
static const char *sibling(const char *name, const char *ext)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%.*s%s", (int)strcspn(name, "."), name, ext);
	return buf;
}

/* Loads buf on top of the defaults, then applies config_check; messages go to *msgs. */
static int load_text(struct config *cfg, const char *name, const char *buf, size_t len, char **msgs)
{
	size_t mlen;
	FILE *f = open_memstream(msgs, &mlen);
	int r;

	config_init(cfg);
	r = config_load_buf(cfg, name, buf, len, f);
	if (!r)
		r = config_check(cfg, name, f);
	fclose(f);
	return r;
}

static int load_data(struct config *cfg, const char *name, char **msgs)
{
	size_t len;
	char *buf = read_data(name, &len);
	int r = load_text(cfg, name, buf, len, msgs);

	free(buf);
	return r;
}

/* noinline: gcc 12 -O2 otherwise misreads the memstream buffer as a dangling local. */
__attribute__((noinline)) static char *dump(const struct config *cfg, enum config_format fmt,
					   bool is_commented)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	config_dump(cfg, f, fmt, is_commented);
	fclose(f);
	return out;
}

/* ---- struct comparison (positions are not compared) ---- */

#define SAME(cond, what)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			cr_log_error("configs differ in %s", what);                                \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool list_eq(const struct config_strlist *a, const struct config_strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool prefix_eq(const struct inet_prefix *a, const struct inet_prefix *b)
{
	return a->family == b->family && a->len == b->len && inet_prefix_overlaps(a, b);
}

static bool prefixes_eq(const struct inet_prefix *a, const struct inet_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!prefix_eq(&a[i], &b[i]))
			return false;
	return true;
}

/* Addresses keep their host bits: the whole address counts, not only the prefix. */
static bool addrs_eq(const struct inet_prefix *a, const struct inet_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family != b[i].family || a[i].len != b[i].len ||
		    memcmp(a[i].addr, b[i].addr, sizeof(a[i].addr)))
			return false;
	return true;
}

static bool routes_eq(const struct config_route *a, const struct config_route *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!prefix_eq(&a[i].prefix, &b[i].prefix) || memcmp(a[i].key, b[i].key, 32))
			return false;
	return true;
}

static bool cfg_equal(const struct config *a, const struct config *b)
{
	const struct config_tunnel *ta = &a->tunnel, *tb = &b->tunnel;
	const struct config_nat64 *na = &a->nat64, *nb = &b->nat64;

	SAME(str_eq(a->private_key, b->private_key), "PrivateKey");
	SAME(str_eq(a->private_key_path, b->private_key_path), "PrivateKeyPath");
	SAME(list_eq(&a->peers, &b->peers), "Peers");
	SAME(a->n_interface_peers == b->n_interface_peers, "InterfacePeers");
	for (size_t i = 0; i < a->n_interface_peers; i++) {
		SAME(!strcmp(a->interface_peers[i].iface, b->interface_peers[i].iface),
		     "InterfacePeers names");
		SAME(list_eq(&a->interface_peers[i].uris, &b->interface_peers[i].uris),
		     "InterfacePeers lists");
	}
	SAME(list_eq(&a->listen, &b->listen), "Listen");
	SAME(str_eq(a->admin_listen, b->admin_listen), "AdminListen");
	SAME(a->n_mcast == b->n_mcast, "MulticastInterfaces");
	for (size_t i = 0; i < a->n_mcast; i++) {
		const struct config_mcast *x = &a->mcast[i], *y = &b->mcast[i];

		SAME(str_eq(x->regex, y->regex) && x->beacon == y->beacon &&
			 x->listen == y->listen && x->port == y->port &&
			 x->priority == y->priority && str_eq(x->password, y->password),
		     "a MulticastInterfaces entry");
	}
	SAME(list_eq(&a->allowed_public_keys, &b->allowed_public_keys), "AllowedPublicKeys");
	SAME(str_eq(a->if_name, b->if_name), "IfName");
	SAME(a->if_mtu == b->if_mtu, "IfMTU");
	SAME(a->if_txqueuelen == b->if_txqueuelen, "IfTxQueueLen");
	SAME(a->log_lookups == b->log_lookups, "LogLookups");
	SAME(a->nodeinfo_privacy == b->nodeinfo_privacy, "NodeInfoPrivacy");
	SAME((!a->nodeinfo && !b->nodeinfo) ||
		 (a->nodeinfo && b->nodeinfo && cnode_equal(a->nodeinfo, b->nodeinfo)),
	     "NodeInfo");
	SAME(ta->is_enabled == tb->is_enabled && ta->install_routes == tb->install_routes &&
		 ta->ygg_routing == tb->ygg_routing,
	     "TunnelRouting flags");
	SAME(ta->n_ipv4_remote == tb->n_ipv4_remote &&
		 routes_eq(ta->ipv4_remote, tb->ipv4_remote, ta->n_ipv4_remote),
	     "IPv4RemoteSubnets");
	SAME(ta->n_ipv6_remote == tb->n_ipv6_remote &&
		 routes_eq(ta->ipv6_remote, tb->ipv6_remote, ta->n_ipv6_remote),
	     "IPv6RemoteSubnets");
	SAME(ta->n_ipv4_local == tb->n_ipv4_local &&
		 prefixes_eq(ta->ipv4_local, tb->ipv4_local, ta->n_ipv4_local),
	     "IPv4LocalSubnets");
	SAME(ta->n_ipv6_local == tb->n_ipv6_local &&
		 prefixes_eq(ta->ipv6_local, tb->ipv6_local, ta->n_ipv6_local),
	     "IPv6LocalSubnets");
	SAME(ta->n_addresses == tb->n_addresses &&
		 addrs_eq(ta->addresses, tb->addresses, ta->n_addresses),
	     "Addresses");
	SAME(na->is_enabled == nb->is_enabled && prefix_eq(&na->prefix, &nb->prefix),
	     "NAT64 Enable/Prefix");
	SAME(na->blackhole.family == nb->blackhole.family &&
		 (!na->blackhole.family || prefix_eq(&na->blackhole, &nb->blackhole)),
	     "NAT64.Blackhole");
	SAME(na->n_pool4 == nb->n_pool4 && prefixes_eq(na->pool4, nb->pool4, na->n_pool4),
	     "NAT64.Pool4");
	SAME(na->port_min == nb->port_min && na->port_max == nb->port_max, "NAT64.PortRange");
	SAME(str_eq(na->data_dir, nb->data_dir), "NAT64.DataDir");
	SAME(na->mss_clamp == nb->mss_clamp && na->allow_nonglobal_wkp == nb->allow_nonglobal_wkp &&
		 na->filtering == nb->filtering,
	     "NAT64 flags");
	SAME(na->udp_timeout == nb->udp_timeout && na->icmp_timeout == nb->icmp_timeout &&
		 na->tcp_est_timeout == nb->tcp_est_timeout &&
		 na->tcp_trans_timeout == nb->tcp_trans_timeout,
	     "NAT64 timeouts");
	SAME(na->max_bib_entries == nb->max_bib_entries && na->max_sessions == nb->max_sessions &&
		 na->max_fragments == nb->max_fragments &&
		 na->max_stored_syns == nb->max_stored_syns,
	     "NAT64 limits");
	return true;
}

/* Dumps cfg in one format, reads the dump back, and expects the same struct and dump. */
static void round_trip(const struct config *cfg, enum config_format fmt, bool is_commented,
		       const char *what)
{
	char *d1 = dump(cfg, fmt, is_commented), *d2, *msgs;
	struct config back;
	int r = load_text(&back, "dump", d1, strlen(d1), &msgs);

	cr_expect_eq(r, 0, "%s: dump does not load back:\n%s\n%s", what, msgs, d1);
	cr_expect(cfg_equal(cfg, &back), "%s: fmt %d commented %d: struct changed", what, fmt,
		  is_commented);
	d2 = dump(&back, fmt, is_commented);
	cr_expect_str_eq(d1, d2, "%s: second dump differs", what);
	free(d1);
	free(d2);
	free(msgs);
	config_fini(&back);
}

static void round_trip_all(const struct config *cfg, const char *what)
{
	round_trip(cfg, CONFIG_FMT_YAML, false, what);
	round_trip(cfg, CONFIG_FMT_YAML, true, what);
	round_trip(cfg, CONFIG_FMT_JSON, false, what);
}

/* ---- golden files ---- */

Test(golden, errors)
{
	for (size_t i = 0; i < N_ERROR_CASES; i++) {
		const char *name = error_cases[i];
		struct config cfg;
		char *msgs, *want = read_data(sibling(name, ".err"), NULL);
		int r = load_data(&cfg, name, &msgs);

		cr_expect_eq(r, -EINVAL, "%s: returned %d", name, r);
		cr_expect_neq(want[0], '\0', "%s: empty .err file", name);
		cr_expect_str_eq(msgs, want, "%s: got\n%s\nwant\n%s", name, msgs, want);
		free(msgs);
		free(want);
		config_fini(&cfg);
	}
}

Test(golden, valid_configs)
{
	for (size_t i = 0; i < N_OK_CASES; i++) {
		const char *name = ok_cases[i];
		struct config cfg;
		char *msgs, *got, *want = read_data(sibling(name, ".out"), NULL);
		int r = load_data(&cfg, name, &msgs);

		cr_expect_eq(r, 0, "%s: %s", name, msgs);
		/* Warnings do not fail a load; a file that has any lists them in its .warn. */
		if (data_exists(sibling(name, ".warn"))) {
			char *warn = read_data(sibling(name, ".warn"), NULL);

			cr_expect_neq(warn[0], '\0', "%s: empty .warn file", name);
			cr_expect_str_eq(msgs, warn, "%s: warnings differ:\n%s", name, msgs);
			free(warn);
		} else {
			cr_expect_str_eq(msgs, "", "%s: unexpected messages", name);
		}
		got = dump(&cfg, CONFIG_FMT_YAML, false);
		cr_expect_str_eq(got, want, "%s: YAML dump differs:\n%s", name, got);
		free(got);
		free(want);
		if (data_exists(sibling(name, ".out.json"))) {
			want = read_data(sibling(name, ".out.json"), NULL);
			got = dump(&cfg, CONFIG_FMT_JSON, false);
			cr_expect_str_eq(got, want, "%s: JSON dump differs:\n%s", name, got);
			free(got);
			free(want);
		}
		round_trip_all(&cfg, name);
		free(msgs);
		config_fini(&cfg);
	}
}

/* Every NN-*.{yaml,conf,json} in the data directory is listed above, with its expectation. */
Test(golden, no_orphans)
{
	DIR *d = opendir(DATA);
	struct dirent *e;
	size_t seen = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		const char *n = e->d_name, *ext = strrchr(n, '.');
		bool is_listed = false;

		if (!(n[0] >= '0' && n[0] <= '9') || !ext ||
		    (strcmp(ext, ".yaml") && strcmp(ext, ".conf") && strcmp(ext, ".json")) ||
		    strstr(n, ".out"))
			continue;
		for (size_t i = 0; i < N_ERROR_CASES; i++)
			is_listed |= !strcmp(n, error_cases[i]) && data_exists(sibling(n, ".err"));
		for (size_t i = 0; i < N_OK_CASES; i++)
			is_listed |= !strcmp(n, ok_cases[i]) && data_exists(sibling(n, ".out"));
		cr_expect(is_listed, "%s is not listed in test_config.c (or lacks .err/.out)", n);
		seen++;
	}
	closedir(d);
	cr_expect_eq(seen, N_ERROR_CASES + N_OK_CASES);
}

/* ---- yggdrasil's own output, byte for byte ---- */

/*
 * Our JSON dump with the documented differences taken out: the AdminListen line (yggdrasil
 * never prints it; we do when it is not our default) and the trailing ygg64 blocks.
 */
static char *as_yggdrasil(char *ours, const char *admin_line)
{
	/* Offsets rather than pointers: gcc 12 -O2 mistakes the latter for dangling ones. */
	const char *tr = strstr(ours, ",\n  \"TunnelRouting\": {");
	size_t tr_off = tr ? (size_t)(tr - ours) : 0;

	cr_assert(tr_off > 0, "no TunnelRouting block in\n%s", ours);
	strcpy(ours + tr_off, "\n}\n");
	if (admin_line) {
		const char *al = strstr(ours, admin_line);
		size_t al_off = al ? (size_t)(al - ours) : 0, n = strlen(admin_line);

		cr_assert(al_off > 0, "no \"%s\" in\n%s", admin_line, ours);
		memmove(ours + al_off, ours + al_off + n, strlen(ours + al_off + n) + 1);
	} else {
		cr_expect_null(strstr(ours, "AdminListen"));
	}
	return ours;
}

static void expect_like_yggdrasil(const char *conf, const char *normalised, const char *key,
				  const char *admin_line)
{
	struct config cfg;
	char *msgs, *ours, *want = read_data(normalised, NULL);

	cr_assert_eq(load_data(&cfg, conf, &msgs), 0, "%s: %s", conf, msgs);
	if (key) {
		/* yggdrasil makes up a random key for a file without one; lend it the one it made
		 */
		cfg.private_key = strdup(key);
	}
	ours = as_yggdrasil(dump(&cfg, CONFIG_FMT_JSON, false), admin_line);
	cr_expect_str_eq(ours, want, "%s:\nours\n%s\nyggdrasil\n%s", conf, ours, want);
	free(ours);
	free(want);
	free(msgs);
	config_fini(&cfg);
}

Test(yggdrasil, sample_a_json)
{
	expect_like_yggdrasil("sample-A.conf", "A-normalised.json", NULL,
			      "  \"AdminListen\": \"unix:///tmp/ygtest.J9mV/a.sock\",\n");
}

Test(yggdrasil, normalised_hjson_json)
{
	expect_like_yggdrasil("A-normalised.hjson", "A-normalised.json", NULL, NULL);
	expect_like_yggdrasil("A-normalised.json", "A-normalised.json", NULL, NULL);
}

Test(yggdrasil, keypath_json)
{
	expect_like_yggdrasil("keypath.conf", "keypath-normalised.json", NULL, NULL);
}

Test(yggdrasil, genconf_json)
{
	expect_like_yggdrasil("genconf-sample.json", "genconf-sample.json", NULL, NULL);
}

Test(yggdrasil, empty_json)
{
	expect_like_yggdrasil("50-defaults.yaml", "empty-normalised.json",
			      "521188ab3cfd0bd1f0a23a829a0fdcf52152e45606884e75aac14b169ea653ea"
			      "6907612a19e793339ec6917b7fd67811a6fb81aa7d41ee6b790973f2c259385f",
			      NULL);
}

/* Escapes, number forms, sorted maps, case-insensitive keys, quoteless strings. */
Test(yggdrasil, quirks_json)
{
	expect_like_yggdrasil("ygg-quirks.conf", "ygg-quirks-normalised.json", NULL, NULL);
}

Test(yggdrasil, sample_a_round_trip)
{
	struct config cfg;
	char *msgs;

	cr_assert_eq(load_data(&cfg, "sample-A.conf", &msgs), 0, "%s", msgs);
	cr_expect_str_eq(cfg.admin_listen, "unix:///tmp/ygtest.J9mV/a.sock");
	cr_expect_eq(cfg.private_key_pos.line, 1);
	cr_expect_eq(cfg.private_key_pos.col, 15);
	round_trip_all(&cfg, "sample-A.conf");
	free(msgs);
	config_fini(&cfg);
}

/* ---- the files in config/ ---- */

Test(files, example_yaml_is_the_commented_default_dump)
{
	struct config cfg, back;
	char *want = read_path(REPO_CONFIG "example.yaml", NULL), *got, *msgs;

	config_init(&cfg);
	got = dump(&cfg, CONFIG_FMT_YAML, true);
	cr_expect_str_eq(got, want,
			 "config/example.yaml is stale; regenerate it from "
			 "config_dump(defaults, YAML, commented)");
	cr_expect_null(strstr(got, "\nPrivateKey:"), "the example must not hold a key");
	cr_assert_eq(load_text(&back, "example.yaml", want, strlen(want), &msgs), 0, "%s", msgs);
	cr_expect(cfg_equal(&cfg, &back));
	free(got);
	free(want);
	free(msgs);
	config_fini(&cfg);
	config_fini(&back);
}

Test(files, minimal_yaml_loads)
{
	struct config cfg;
	char *buf = read_path(REPO_CONFIG "minimal.yaml", NULL), *msgs;
	char p[INET_PREFIXSTRLEN_MAX];

	cr_assert_eq(load_text(&cfg, "minimal.yaml", buf, strlen(buf), &msgs), 0, "%s", msgs);
	cr_expect(cfg.tunnel.is_enabled);
	cr_expect(cfg.nat64.is_enabled);
	cr_expect_str_eq(inet_prefix_format(&cfg.nat64.prefix, p), "2a04:5b80:300:4::/96");
	cr_expect_eq(cfg.nat64.blackhole.family, 0, "the Blackhole example stays commented out");
	cr_expect_str_eq(cfg.nat64.data_dir, "/var/lib/ygg64");
	cr_expect_str_eq(msgs, "");
	cr_expect_eq(cfg.tunnel.n_ipv4_local, 1);
	cr_expect_eq(cfg.tunnel.n_ipv4_remote, 1);
	round_trip_all(&cfg, "minimal.yaml");
	free(msgs);
	config_fini(&cfg);
	/* Its commented Blackhole example is valid as it stands once uncommented. */
	char *ex = strstr(buf, "  # Blackhole: ");

	cr_assert_not_null(ex, "minimal.yaml lost its Blackhole example");
	memmove(ex + 2, ex + 4, strlen(ex + 4) + 1);
	cr_assert_eq(load_text(&cfg, "minimal.yaml", buf, strlen(buf), &msgs), 0, "%s", msgs);
	cr_expect_str_eq(inet_prefix_format(&cfg.nat64.blackhole, p), "2a04:5b80:300:4::/64");
	free(buf);
	free(msgs);
	config_fini(&cfg);
}

/* The YAML that docs/migrating.md gives for the seed loads as it stands, without a word. */
Test(files, migrating_md_yaml_loads)
{
	char *doc = read_path(REPO_CONFIG "../docs/migrating.md", NULL), *msgs;
	char *start = strstr(doc, "\n```yaml\n"), *end;
	char p[INET_PREFIXSTRLEN_MAX];
	struct config cfg;

	cr_assert_not_null(start, "docs/migrating.md has no yaml block");
	start += strlen("\n```yaml\n");
	end = strstr(start, "\n```");
	cr_assert_not_null(end);
	end[1] = '\0';
	cr_assert_eq(load_text(&cfg, "migrating.md", start, strlen(start), &msgs), 0, "%s", msgs);
	cr_expect_str_eq(msgs, "");
	cr_expect(cfg.tunnel.is_enabled && cfg.nat64.is_enabled);
	cr_expect_str_eq(inet_prefix_format(&cfg.nat64.prefix, p), "2a04:5b80:300:4::/96");
	cr_expect_str_eq(inet_prefix_format(&cfg.nat64.blackhole, p), "2a04:5b80:300:4::/64");
	cr_expect_str_eq(cfg.nat64.data_dir, "/var/lib/ygg64");
	cr_expect_str_eq(cfg.admin_listen, "unix:///run/ygg64/ygg64.sock");
	cr_expect_eq(cfg.nat64.n_pool4, 0, "Pool4 defaults to 10.5.0.1, replacing tayga's pool");
	free(msgs);
	free(doc);
	config_fini(&cfg);
}

/* ---- loader behaviour ---- */

static int load_str(struct config *cfg, const char *text, char **msgs)
{
	size_t mlen;
	FILE *f = open_memstream(msgs, &mlen);
	int r = config_load_buf(cfg, "t", text, strlen(text), f);

	fclose(f);
	return r;
}

Test(loader, lists_replace_blocks_merge)
{
	struct config cfg;
	char *msgs;

	config_init(&cfg);
	cr_assert_eq(load_str(&cfg, "Peers: [tcp://a:1]\nTunnelRouting: {Enable: true}\n", &msgs),
		     0);
	free(msgs);
	cr_assert_eq(load_str(&cfg, "TunnelRouting:\n  InstallRoutes: false\n", &msgs), 0);
	free(msgs);
	cr_expect_eq(cfg.peers.n, 1);
	cr_expect(cfg.tunnel.is_enabled);
	cr_expect_not(cfg.tunnel.install_routes);
	cr_assert_eq(
	    load_str(&cfg, "Peers: [tcp://b:2, tcp://c:3]\nMulticastInterfaces: []\n", &msgs), 0);
	free(msgs);
	cr_expect_eq(cfg.peers.n, 2);
	cr_expect_str_eq(cfg.peers.v[0], "tcp://b:2");
	cr_expect_eq(cfg.n_mcast, 0);
	config_fini(&cfg);
}

Test(loader, admin_listen_forms)
{
	static const char *const good[] = {"none", "\"\"", "unix:///run/y.sock",
					   "tcp://127.0.0.1:9001", "localhost:9001", "\"[::1]:9001\""};
	static const char *const bad[] = {"localhost", "\"9001:\"", "\"//x\""};
	struct config cfg;
	char *msgs, text[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		config_init(&cfg);
		snprintf(text, sizeof(text), "AdminListen: %s\n", good[i]);
		cr_expect_eq(load_str(&cfg, text, &msgs), 0, "%s: %s", good[i], msgs);
		free(msgs);
		config_fini(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		snprintf(text, sizeof(text), "AdminListen: %s\n", bad[i]);
		cr_expect_neq(load_str(&cfg, text, &msgs), 0, "%s was accepted", bad[i]);
		cr_expect(strstr(msgs, "AdminListen"), "%s", msgs);
		free(msgs);
		config_fini(&cfg);
	}
}

Test(loader, null_lists_are_empty)
{
	struct config cfg;
	char *msgs;

	config_init(&cfg);
	cr_assert_eq(load_str(&cfg, "Peers:\nMulticastInterfaces: ~\nNodeInfo:\n", &msgs), 0, "%s",
		     msgs);
	cr_expect_eq(cfg.peers.n, 0);
	cr_expect_eq(cfg.n_mcast, 0);
	cr_expect_null(cfg.nodeinfo);
	free(msgs);
	config_fini(&cfg);
}

Test(loader, secrets_are_not_echoed)
{
	struct config cfg;
	char *msgs, text[200];

	snprintf(text, sizeof(text), "PrivateKey: %0127dq\n", 7);
	config_init(&cfg);
	cr_expect_eq(load_str(&cfg, text, &msgs), -EINVAL);
	cr_expect_str_eq(msgs, "t:1:13: PrivateKey: a private key (seed and public key) has a "
			       "non-hexadecimal character at offset 127\n");
	free(msgs);
	config_fini(&cfg);
}

Test(loader, key_path_wins_without_error)
{
	struct config cfg;
	char *msgs, *out, text[300];

	snprintf(text, sizeof(text), "PrivateKey: %0128d\nPrivateKeyPath: /k.pem\n", 0);
	cr_assert_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s", msgs);
	cr_expect_not_null(cfg.private_key);
	cr_expect_eq(cfg.private_key_path_pos.line, 2);
	cr_expect_eq(cfg.private_key_path_pos.col, 17);
	out = dump(&cfg, CONFIG_FMT_JSON, false);
	cr_expect_null(strstr(out, "\"PrivateKey\""), "as -normaliseconf, the path hides the key");
	cr_expect(strstr(out, "{\n  \"PrivateKeyPath\": \"/k.pem\",\n  \"Peers\""));
	free(out);
	free(msgs);
	config_fini(&cfg);
}

Test(loader, format_detection)
{
	struct config cfg;
	char *msgs;

	config_init(&cfg);
	cr_expect_eq(load_str(&cfg, "# c\n{ ifmtu: 1500 }\n", &msgs), 0, "%s", msgs);
	free(msgs);
	cr_expect_eq(cfg.if_mtu, 1500);
	cr_expect_eq(load_str(&cfg, "// c\nIFMTU: 1400\n", &msgs), 0, "%s", msgs);
	free(msgs);
	cr_expect_eq(cfg.if_mtu, 1400);
	cr_expect_eq(load_str(&cfg, "IFMTU: 1300\n", &msgs), -EINVAL);
	cr_expect(strstr(msgs, "did you mean IfMTU?"), "%s", msgs);
	free(msgs);
	config_fini(&cfg);
}

Test(loader, load_file_errors)
{
	struct config cfg;
	char *msgs;
	size_t len;
	FILE *f = open_memstream(&msgs, &len);

	config_init(&cfg);
	cr_expect_eq(config_load_file(&cfg, "/nonexistent/ygg64.yaml", f), -ENOENT);
	fclose(f);
	cr_expect_str_eq(msgs, "/nonexistent/ygg64.yaml: cannot open: No such file or directory\n");
	free(msgs);
	f = open_memstream(&msgs, &len);
	cr_expect_eq(config_load_file(&cfg, DATA "54-crxn.yaml", f), 0);
	fclose(f);
	cr_expect_str_eq(msgs, "");
	free(msgs);
	config_fini(&cfg);
}

/* yggdrasilckr has no Enable: its keys turn the block on, unless Enable is given. */
Test(loader, tunnel_enable_implied)
{
	static const struct {
		const char *text;
		bool is_enabled;
		unsigned enable_line, enable_col;
	} cases[] = {
	    {"TunnelRouting:\n  RemoteSubnets: {}\n", true, 0, 0},
	    {"TunnelRouting:\n  YggdrasilRouting: true\n", true, 0, 0},
	    {"TunnelRouting: {Addresses: []}\n", true, 0, 0},
	    {"{ tunnelrouting: { addresses: [ \"10.5.0.1/24\" ] } }\n", true, 0, 0},
	    {"TunnelRouting:\n  Enable: false\n  Addresses: [10.5.0.1/24]\n", false, 2, 11},
	    {"TunnelRouting:\n  RemoteSubnets: {}\n  Enable: false\n", false, 3, 11},
	    {"TunnelRouting:\n  IPv4RemoteSubnets: {}\n  IPv4LocalSubnets: []\n", false, 0, 0},
	    {"TunnelRouting:\n  InstallRoutes: true\n", false, 0, 0},
	    {"TunnelRouting: {}\n", false, 0, 0},
	    {"TunnelRouting:\n", false, 0, 0},
	};
	struct config cfg;
	char *msgs;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		cr_expect_eq(load_str(&cfg, cases[i].text, &msgs), 0, "%s: %s", cases[i].text,
			     msgs);
		cr_expect_eq(cfg.tunnel.is_enabled, cases[i].is_enabled, "%s", cases[i].text);
		cr_expect_eq(cfg.tunnel.enable_pos.line, cases[i].enable_line, "%s", cases[i].text);
		cr_expect_eq(cfg.tunnel.enable_pos.col, cases[i].enable_col, "%s", cases[i].text);
		free(msgs);
		config_fini(&cfg);
	}
	/* An Enable from an earlier load on top of which this one is read wins as well. */
	config_init(&cfg);
	cr_assert_eq(load_str(&cfg, "TunnelRouting: {Enable: false}\n", &msgs), 0);
	free(msgs);
	cr_assert_eq(load_str(&cfg, "TunnelRouting: {RemoteSubnets: {}}\n", &msgs), 0);
	free(msgs);
	cr_expect_not(cfg.tunnel.is_enabled);
	config_fini(&cfg);
}

Test(loader, addresses_keep_host_bits)
{
	struct config cfg;
	char *msgs, p[INET_PREFIXSTRLEN_MAX];

	config_init(&cfg);
	cr_assert_eq(load_str(&cfg,
			      "TunnelRouting:\n  Addresses: [10.5.0.1/24, \"2001:db8:5::1/64\", "
			      "10.6.0.9/32]\n",
			      &msgs),
		     0, "%s", msgs);
	free(msgs);
	cr_assert_eq(cfg.tunnel.n_addresses, 3);
	cr_expect_str_eq(inet_prefix_format(&cfg.tunnel.addresses[0], p), "10.5.0.1/24");
	cr_expect_str_eq(inet_prefix_format(&cfg.tunnel.addresses[1], p), "2001:db8:5::1/64");
	cr_expect_str_eq(inet_prefix_format(&cfg.tunnel.addresses[2], p), "10.6.0.9/32");
	cr_expect_eq(cfg.tunnel.addresses[1].family, AF_INET6);
	cr_expect_eq(cfg.tunnel.addresses_pos[1].line, 2);
	cr_expect_eq(cfg.tunnel.addresses_pos[1].col, 28);
	/* They are no longer merged into the local subnets. */
	cr_expect_eq(cfg.tunnel.n_ipv4_local, 0);
	cr_expect_eq(cfg.tunnel.n_ipv6_local, 0);
	/* A list in the file replaces the one before. */
	cr_assert_eq(load_str(&cfg, "TunnelRouting: {Addresses: [10.7.0.1/16]}\n", &msgs), 0);
	free(msgs);
	cr_expect_eq(cfg.tunnel.n_addresses, 1);
	cr_expect_eq(load_str(&cfg, "TunnelRouting: {Addresses: 10.5.0.1/24}\n", &msgs), -EINVAL);
	cr_expect_str_eq(msgs, "t:1:28: TunnelRouting.Addresses: expected a list of addresses "
			       "with prefix lengths, got a string\n");
	free(msgs);
	cr_expect_eq(cfg.tunnel.n_addresses, 1, "a bad value leaves the field as it was");
	config_fini(&cfg);
}

/* The loop guard needs the routes ygg64 installs; without them the operator routes. */
Test(loader, loop_guard_needs_install_routes)
{
	static const char text[] =
	    "Peers: [tcp://192.0.2.1:1]\n"
	    "TunnelRouting:\n"
	    "  Enable: true\n"
	    "  InstallRoutes: false\n"
	    "  IPv4RemoteSubnets:\n"
	    "    0.0.0.0/0: 8a9b0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9\n";
	struct config cfg;
	char *msgs;

	cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s", msgs);
	free(msgs);
	cfg.tunnel.install_routes = true;
	cr_expect_eq(config_check(&cfg, "t", NULL), -EINVAL);
	cfg.tunnel.is_enabled = false;
	cr_expect_eq(config_check(&cfg, "t", NULL), 0, "only while tunnel routing is on");
	config_fini(&cfg);
}

Test(loader, check_defaults_and_no_name_positions)
{
	struct config cfg;
	char *msgs;
	size_t len;
	FILE *f;

	config_init(&cfg);
	cr_expect_eq(config_check(&cfg, "x", NULL), 0);
	/* A config built by code has no positions: messages then carry the name only. */
	cfg.nat64.is_enabled = true;
	f = open_memstream(&msgs, &len);
	cr_expect_eq(config_check(&cfg, "x", f), -EINVAL);
	fclose(f);
	/* Plain mode (tunnel routing off): only Pool4 can give the NAT64 an address. */
	static const char want_nat64[] =
	    "x: NAT64.Enable: NAT64 needs an IPv4 address: set NAT64.Pool4 (it defaults to "
	    "TunnelRouting.IPv4LocalSubnets only while TunnelRouting is on)\n";
	cr_expect_str_eq(msgs, want_nat64);
	free(msgs);
	cfg.nat64.is_enabled = false;
	cfg.tunnel.ygg_routing = false;
	f = open_memstream(&msgs, &len);
	cr_expect_eq(config_check(&cfg, "x", f), -EINVAL);
	fclose(f);
	cr_expect_str_eq(msgs, "x: TunnelRouting.Enable: tunnel routing is off and "
			       "TunnelRouting.YggdrasilRouting is false, so the TUN would carry "
			       "nothing; set one of them to true\n");
	free(msgs);
	cfg.tunnel.is_enabled = true;
	cr_expect_eq(config_check(&cfg, "x", NULL), 0);
	config_fini(&cfg);
}

/* NAT64.Blackhole: values checked while loading, and the rule joining it to NAT64.Prefix. */
Test(loader, blackhole_values)
{
	static const char head[] = "TunnelRouting: {Enable: true, IPv4LocalSubnets: [10.5.0.1/32]}\n"
				   "NAT64:\n  Enable: true\n  Prefix: 2a04:5b80:300:4::/96\n";
	static const struct {
		const char *value, *want; /* want NULL: accepted */
		const char *stored;	  /* as dumped, when accepted */
	} cases[] = {
	    {"2a04:5b80:300:4::/64", NULL, "2a04:5b80:300:4::/64"},
	    {"2a04:5b80:300::/48", NULL, "2a04:5b80:300::/48"},
	    {"\"2a04:5b80:300:4::/95\"", NULL, "2a04:5b80:300:4::/95"},
	    {"\"\"", NULL, ""},
	    {"", NULL, ""},
	    {"2a04:5b80:300:4::1/64",
	     "t:5:14: NAT64.Blackhole: 2a04:5b80:300:4::1/64 has host bits set (did you mean "
	     "2a04:5b80:300:4::/64?)\n", NULL},
	    {"10.0.0.0/8", "t:5:14: NAT64.Blackhole: 10.0.0.0/8 is IPv4 where IPv6 is expected\n", NULL},
	    {"300::/8",
	     "t:5:14: NAT64.Blackhole: 300::/8 is inside 200::/7, Yggdrasil's own address space\n", NULL},
	    {"200::/7",
	     "t:5:14: NAT64.Blackhole: 200::/7 is inside 200::/7, Yggdrasil's own address space\n", NULL},
	    {"::/0", "t:5:14: NAT64.Blackhole: ::/0 contains 200::/7, Yggdrasil's own address "
		     "space\n", NULL},
	    {"[2a04::/16]",
	     "t:5:14: NAT64.Blackhole: expected an IP prefix such as 10.0.0.0/8, got a list\n", NULL},
	    {"2a04:5b80:300:4::/96",
	     "t:5:14: NAT64.Blackhole: 2a04:5b80:300:4::/96 is NAT64.Prefix 2a04:5b80:300:4::/96; "
	     "it must be the shorter routed prefix that holds it, e.g. 2a04:5b80:300:4::/64, or "
	     "\"\" for none\n", NULL},
	    {"2a04:5b80:300:4::/112",
	     "t:5:14: NAT64.Blackhole: 2a04:5b80:300:4::/112 lies inside NAT64.Prefix "
	     "2a04:5b80:300:4::/96; it must be the shorter routed prefix that holds it, e.g. "
	     "2a04:5b80:300:4::/64, or \"\" for none\n", NULL},
	    {"2001:db8::/32",
	     "t:5:14: NAT64.Blackhole: 2001:db8::/32 does not contain NAT64.Prefix "
	     "2a04:5b80:300:4::/96; it must be the shorter routed prefix that holds it, e.g. "
	     "2a04:5b80:300:4::/64, or \"\" for none\n", NULL},
	};
	char text[512], *msgs, *out, line[128];
	struct config cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s  Blackhole: %s\n", head, cases[i].value);
		int r = load_text(&cfg, "t", text, strlen(text), &msgs);

		if (cases[i].want) {
			cr_expect_eq(r, -EINVAL, "%s accepted", cases[i].value);
			cr_expect_str_eq(msgs, cases[i].want, "%s", cases[i].value);
		} else {
			cr_expect_eq(r, 0, "%s: %s", cases[i].value, msgs);
			cr_expect_eq(cfg.nat64.blackhole.family, cases[i].stored[0] ? AF_INET6 : 0);
			if (cases[i].stored[0])
				snprintf(line, sizeof(line), "\n  Blackhole: %s\n", cases[i].stored);
			else
				snprintf(line, sizeof(line), "\n  Blackhole: \"\"\n");
			out = dump(&cfg, CONFIG_FMT_YAML, false);
			cr_expect(strstr(out, line), "%s: no \"%s\" in\n%s", cases[i].value, line, out);
			free(out);
			round_trip_all(&cfg, cases[i].value);
		}
		free(msgs);
		config_fini(&cfg);
	}
	/* The rule joining it to Prefix holds only while NAT64 is on; the value checks always. */
	static const char off[] = "NAT64: {Blackhole: \"2001:db8::/32\"}\n";
	cr_expect_eq(load_text(&cfg, "t", off, strlen(off), &msgs), 0, "%s", msgs);
	cr_expect_eq(cfg.nat64.blackhole.len, 32);
	cr_expect_eq(cfg.nat64.blackhole_pos.line, 1);
	cr_expect_eq(cfg.nat64.blackhole_pos.col, 20);
	free(msgs);
	config_fini(&cfg);
	static const char off_bad[] = "NAT64: {Blackhole: \"300::/8\"}\n";
	cr_expect_eq(load_text(&cfg, "t", off_bad, strlen(off_bad), &msgs), -EINVAL);
	free(msgs);
	config_fini(&cfg);
}

/* yggdrasil v0.3's identity: SigningPrivateKey is the Ed25519 key PrivateKey now names. */
Test(loader, v03_signing_key)
{
	static const char sk[] = "68c9de575d801f80f6b1211a370055590b39bbc44cc4282cc17319b734a3c692"
				 "6e3f34294a603140706d94d930f29d38e4fb16982b472dacef2428d18b964217";
	char text[600], *msgs, *out, *again;
	struct config cfg, back;
	size_t n = 0;

	/* Alone: it becomes PrivateKey, at its own position, with a warning that does not fail. */
	snprintf(text, sizeof(text), "{\n  SigningPrivateKey: %s\n}\n", sk);
	cr_assert_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s", msgs);
	cr_assert_not_null(cfg.private_key);
	cr_expect_str_eq(cfg.private_key, sk);
	cr_expect_eq(cfg.private_key_pos.line, 2);
	cr_expect_eq(cfg.private_key_pos.col, 22);
	cr_expect(strstr(msgs, "t:2:22: warning: SigningPrivateKey: taken as PrivateKey"), "%s",
		  msgs);
	/* Normalised, it is an ordinary PrivateKey that reads back without a word. */
	out = dump(&cfg, CONFIG_FMT_YAML, false);
	cr_expect(strstr(out, sk) && !strstr(out, "Signing"), "%s", out);
	cr_expect_eq(load_text(&back, "t", out, strlen(out), &again), 0);
	cr_expect_str_eq(again, "");
	cr_expect_str_eq(back.private_key, sk);
	free(again);
	free(out);
	free(msgs);
	config_fini(&back);
	config_fini(&cfg);

	/* PrivateKey (or PrivateKeyPath), in any order in the file, wins, without a warning. */
	snprintf(text, sizeof(text), "{\n  SigningPrivateKey: %s\n  PrivateKey: %0128d\n}\n", sk, 0);
	cr_assert_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s", msgs);
	cr_expect_eq(strspn(cfg.private_key, "0"), 128);
	cr_expect_eq(cfg.private_key_pos.line, 3);
	cr_expect_str_eq(msgs, "");
	free(msgs);
	config_fini(&cfg);
	snprintf(text, sizeof(text), "{\n  SigningPrivateKey: %s\n  PrivateKeyPath: /k.pem\n}\n",
		 sk);
	cr_assert_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s", msgs);
	cr_expect_null(cfg.private_key);
	cr_expect_str_eq(msgs, "");
	free(msgs);
	config_fini(&cfg);

	/* Its form is checked, and the secret is never echoed. */
	snprintf(text, sizeof(text), "{\n  SigningPrivateKey: %.126sxy\n}\n", sk);
	cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), -EINVAL);
	cr_expect_str_eq(msgs, "t:2:22: SigningPrivateKey: a private key (seed and public key) "
			       "has a non-hexadecimal character at offset 126\n");
	cr_expect_null(cfg.private_key);
	free(msgs);
	config_fini(&cfg);
	snprintf(text, sizeof(text), "{\n  EncryptionPrivateKey: %.63sz\n}\n", sk);
	cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), -EINVAL);
	cr_expect_null(strstr(msgs, "68c9de"), "%s", msgs);
	free(msgs);
	config_fini(&cfg);

	/* Without a v0.3 key field, remote subnets get no warning (60-v03-tunnel.conf too). */
	static const char plain[] =
	    "{ TunnelRouting: { Enable: true, IPv4RemoteSubnets: "
	    "{ \"10.0.0.0/8\": \"8a9b0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9\" } } }\n";
	cr_expect_eq(load_text(&cfg, "t", plain, strlen(plain), &msgs), 0);
	cr_expect_str_eq(msgs, "");
	free(msgs);
	config_fini(&cfg);
	/* With one, each remote subnet of either family gets one. */
	snprintf(text, sizeof(text),
		 "{ SigningPublicKey: %.64s\n  TunnelRouting: { IPv6RemoteSubnets: "
		 "{ \"2001:db8:7::/48\": \"%.64s\" } } }\n",
		 sk + 64, sk + 64);
	cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0);
	for (const char *p = msgs; (p = strstr(p, "warning: ")); p++)
		n++;
	cr_expect_eq(n, 1, "%s", msgs);
	cr_expect(strstr(msgs, "t:2:41: warning: TunnelRouting.IPv6RemoteSubnets[\"2001:db8:7::/48\"]: "
			       "this file has yggdrasil v0.3 keys (SigningPublicKey at 1:21)"),
		  "%s", msgs);
	free(msgs);
	config_fini(&cfg);
}

/* v0.3's other keys: dropped at their "off" value, refused (saying what to do) otherwise. */
Test(loader, v03_other_keys)
{
	static const char *const dropped[] = {
	    "AllowedEncryptionPublicKeys: []",
	    "AllowedEncryptionPublicKeys: null",
	    "LinkLocalTCPPort: 0",
	    "IfTAPMode: false",
	    "SessionFirewall: { Enable: false, AllowFromDirect: true }",
	    "SessionFirewall: { AllowFromRemote: false }",
	    "sessionfirewall: { enable: false }",
	    "SwitchOptions: { MaxTotalQueueSize: 4194304 }",
	    "EncryptionPublicKey: 3ba91b5ee2fc3dbb4ab50a4f4b7c0b3bc4e8a2c4bf1aee6f8f7f5d3a61c7a92d",
	};
	static const char *const refused[] = {
	    ("AllowedEncryptionPublicKeys: "
	     "[\"3ba91b5ee2fc3dbb4ab50a4f4b7c0b3bc4e8a2c4bf1aee6f8f7f5d3a61c7a92d\"]"),
	    "LinkLocalTCPPort: 9001",
	    "LinkLocalTCPPort: [1]",
	    "IfTAPMode: true",
	    "SessionFirewall: { Enable: true }",
	    "SessionFirewall: [1]",
	    "EncryptionPublicKey: 3ba9",
	};
	struct config cfg, def;
	char text[256], *msgs, *a, *b;

	config_init(&def);
	a = dump(&def, CONFIG_FMT_YAML, false);
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		snprintf(text, sizeof(text), "{\n  %s\n}\n", dropped[i]);
		cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), 0, "%s: %s",
			     dropped[i], msgs);
		b = dump(&cfg, CONFIG_FMT_YAML, false);
		cr_expect_str_eq(b, a, "%s changed the config", dropped[i]);
		free(b);
		free(msgs);
		config_fini(&cfg);
	}
	free(a);
	config_fini(&def);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(text, sizeof(text), "{\n  %s\n}\n", refused[i]);
		cr_expect_eq(load_text(&cfg, "t", text, strlen(text), &msgs), -EINVAL, "%s accepted",
			     refused[i]);
		cr_expect(!strncmp(msgs, "t:2:", 4) && !strchr(msgs, '\n')[1], "%s: %s", refused[i],
			  msgs);
		free(msgs);
		config_fini(&cfg);
	}
	/* v0.3's MulticastInterfaces, a list of regexes: the default entry with each Regex. */
	static const char mc[] =
	    "{ MulticastInterfaces: [ \"eth.*\", { Regex: \"wg0\", Beacon: false } ] }";
	cr_assert_eq(load_text(&cfg, "t", mc, strlen(mc), &msgs), 0, "%s", msgs);
	cr_assert_eq(cfg.n_mcast, 2);
	cr_expect_str_eq(cfg.mcast[0].regex, "eth.*");
	cr_expect(cfg.mcast[0].beacon && cfg.mcast[0].listen);
	cr_expect_str_eq(cfg.mcast[0].password, "");
	cr_expect_str_eq(cfg.mcast[1].regex, "wg0");
	cr_expect_not(cfg.mcast[1].beacon);
	free(msgs);
	config_fini(&cfg);
	static const char mc_bad[] = "{ MulticastInterfaces: [ \"eth(\" ] }";
	cr_expect_eq(load_text(&cfg, "t", mc_bad, strlen(mc_bad), &msgs), -EINVAL);
	cr_expect(strstr(msgs, "MulticastInterfaces[0]: not a valid regular expression"), "%s",
		  msgs);
	free(msgs);
	config_fini(&cfg);
	/* Stacked or nested repetitions cost regcomp exponential memory: refused before. */
	static const char *const wild[] = {
	    "{ MulticastInterfaces: [ \"N++++++++++++++++++++++A\" ] }",
	    "{ MulticastInterfaces: [ \"((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\" ] }",
	    "{ MulticastInterfaces: [ \"((a{1,255}){1,255}){1,255}\" ] }",
	    "{ MulticastInterfaces: [ \"a{99999999999999999999}\" ] }",
	};
	for (size_t i = 0; i < sizeof(wild) / sizeof(wild[0]); i++) {
		cr_expect_eq(load_text(&cfg, "t", wild[i], strlen(wild[i]), &msgs), -EINVAL, "%s",
			     wild[i]);
		cr_expect(strstr(msgs, "would take too much memory"), "%s", msgs);
		free(msgs);
		config_fini(&cfg);
	}
	/* What interface patterns look like stays accepted. */
	static const char tame[] = "{ MulticastInterfaces: [ \"^(eth|en[opsx])[0-9a-z]+$\", "
				   "\"wg[0-9]{1,3}\", \"[+*]x?\" ] }";
	cr_expect_eq(load_text(&cfg, "t", tame, strlen(tame), &msgs), 0, "%s", msgs);
	free(msgs);
	config_fini(&cfg);
}

/* ---- the YAML reader ---- */

static struct cnode_error yerr;

static struct cnode *yparse(const char *s)
{
	return yamlp_parse(s, strlen(s), &yerr);
}

static void yexpect_error(const char *text, unsigned line, unsigned col, const char *part)
{
	struct cnode *n = yparse(text);

	cr_expect_null(n, "accepted: %s", text);
	cnode_free(n);
	cr_expect_eq(yerr.line, line, "%s: line %u want %u (%s)", text, yerr.line, line, yerr.msg);
	cr_expect_eq(yerr.col, col, "%s: col %u want %u (%s)", text, yerr.col, col, yerr.msg);
	cr_expect(strstr(yerr.msg, part), "%s: \"%s\" lacks \"%s\"", text, yerr.msg, part);
}

Test(yaml, scalars_and_positions)
{
	struct cnode *n = yparse("a: 1\nb: \"1\"\nc:\nd: ~\ne: Null\nf: |\n  x\ng: [x, 'y']\n"
				 "h: {k: true}\n");

	cr_assert_not_null(n, "%s", yerr.msg);
	cr_expect_eq(cnode_scalar_type(cnode_map_find(n, "a")), CNODE_NUM);
	cr_expect_eq(cnode_scalar_type(cnode_map_find(n, "b")), CNODE_STR);
	cr_expect_eq(cnode_map_find(n, "c")->kind, CNODE_NULL);
	cr_expect_eq(cnode_map_find(n, "d")->kind, CNODE_NULL);
	cr_expect_eq(cnode_map_find(n, "e")->kind, CNODE_NULL);
	cr_expect_str_eq(cnode_map_find(n, "f")->str, "x\n");
	cr_expect(cnode_map_find(n, "f")->is_quoted);
	cr_expect_eq(cnode_map_find(n, "g")->vals[1]->col, 8);
	cr_expect_eq(cnode_map_find(n, "h")->line, 9);
	cr_expect_eq(n->keys[6]->line, 8);
	cr_expect_eq(n->keys[6]->col, 1);
	cr_expect_eq(cnode_scalar_type(cnode_map_find(cnode_map_find(n, "h"), "k")), CNODE_BOOL);
	cnode_free(n);
	cr_assert_not_null(n = yparse(""));
	cr_expect_eq(n->kind, CNODE_MAP);
	cnode_free(n);
	cr_assert_not_null(n = yparse("---\n...\n"));
	cr_expect_eq(n->kind, CNODE_NULL);
	cnode_free(n);
}

Test(yaml, refusals)
{
	yexpect_error("a: &x 1\n", 1, 4, "anchors (&x) are not supported");
	yexpect_error("a: 1\nb: *x\n", 2, 4, "aliases (*x) are not supported");
	yexpect_error("a: !!str 1\n", 1, 4, "tags (tag:yaml.org,2002:str) are not supported");
	yexpect_error("? [a]\n: 1\n", 1, 3, "mapping keys must be scalars, not a list");
	yexpect_error("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key \"a\" (first at 1:1)");
	yexpect_error("a: 1\n--- \nb: 2\n", 2, 1, "only one YAML document");
	yexpect_error("a: \"x\\0y\"\n", 1, 4, "NUL character");
	yexpect_error("a: [1, 2\n", 2, 1, "syntax error");
	yexpect_error("a: b\n\xff\n", 2, 1, "unreadable input");
}

Test(yaml, depth_limit)
{
	char buf[2 * CNODE_MAX_DEPTH + 8];
	struct cnode *n;

	memset(buf, '[', CNODE_MAX_DEPTH);
	memset(buf + CNODE_MAX_DEPTH, ']', CNODE_MAX_DEPTH);
	buf[2 * CNODE_MAX_DEPTH] = 0;
	n = yparse(buf);
	cr_expect_not_null(n, "%s", yerr.msg);
	cnode_free(n);
	memset(buf, '[', CNODE_MAX_DEPTH + 1);
	memset(buf + CNODE_MAX_DEPTH + 1, ']', CNODE_MAX_DEPTH + 1);
	buf[2 * CNODE_MAX_DEPTH + 2] = 0;
	yexpect_error(buf, 1, CNODE_MAX_DEPTH + 1, "nesting deeper than 64 levels");
}

Test(yaml, strings_round_trip)
{
	static const char *const strs[] = {
	    "plain",
	    "two words",
	    "a: b",
	    "a #b",
	    "- x",
	    "#x",
	    "x:",
	    "true",
	    "True",
	    "yes",
	    "null",
	    "~",
	    "",
	    " lead",
	    "trail ",
	    "12",
	    "1.5",
	    "1e3",
	    "0x1f",
	    "10.5.0.1",
	    "tls://[::]:0",
	    "64:ff9b::/96",
	    "é",
	    "tab\there",
	    "nl\nx",
	    "q\"q",
	    "b\\s",
	    "\x01\x7f",
	    "\xe2\x80\xa8",
	    "\xc2\x85",
	    "\xc2\x86\xc2\x9f",
	    "\xef\xbf\xbe",
	    ("\xef\xbb\xbf"
	     "bom"), /* a BOM, then text: split so that \xbf does not swallow the b */
	    "&a",
	    "*a",
	    "!t",
	    "%p",
	    "@r",
	    "`b",
	    "{x}",
	    "[x]",
	    "a,b",
	    "?",
	    "|",
	    ">",
	    "'",
	    "--- x",
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char *out = NULL;
		size_t len;
		FILE *f = open_memstream(&out, &len);
		struct cnode *n, *v;

		fputs("k: ", f);
		cnode_yaml_string(f, strs[i]);
		fputc('\n', f);
		fclose(f);
		n = yparse(out);
		cr_assert_not_null(n, "%s: %s", out, yerr.msg);
		v = cnode_map_find(n, "k");
		cr_expect_eq(v->kind, CNODE_SCALAR, "%s", out);
		if (v->kind == CNODE_SCALAR) {
			cr_expect_str_eq(v->str, strs[i], "written as %s", out);
			cr_expect_eq(cnode_scalar_type(v), CNODE_STR, "written as %s", out);
		}
		cnode_free(n);
		free(out);
	}
}

/* Random and mutated YAML must never crash or leak (run under ASan). */
Test(yaml, garbage_does_not_crash)
{
	static const char alphabet[] = "ab:- \n[]{},#&*!|>'\"\\?%@`~\t1.";
	char buf[48];
	unsigned seed = 4242;

	for (int round = 0; round < 5000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		struct cnode *n;

		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
		n = yamlp_parse(buf, len, &yerr);
		cnode_free(n);
	}
}
