/*
 * main: the command line. It parses flags the way yggdrasil 0.5.12 does (Go's flag package:
 * one or two dashes, "-f value" or "-f=value", booleans as "-f" or "-f=false", parsing stops at
 * the first non-flag argument), loads the configuration, answers the one-shot queries
 * (-genconf, -normaliseconf, -address, -subnet, -publickey, -exportkey, -version) and otherwise
 * hands over to the daemon. Spec: sessions-core-admin §7.3.
 *
 * Exit codes: 0 success, 1 configuration or start-up error, 2 bad command line (as Go's flag).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "core/core.h"
#include "crypto/keys.h"
#include "daemon.h"
#include "lib/hex.h"
#include "lib/inet.h"
#include "lib/log.h"
#include "lib/mem.h"

enum { EXIT_USAGE = 2 };

struct opts {
	bool address, autoconf, exportkey, genconf, json, normaliseconf, publickey, subnet, useconf;
	bool version, help;
	const char *loglevel, *logto, *useconffile, *user;
	int notifyfd;
};

enum flag_kind { FLAG_BOOL, FLAG_STRING, FLAG_INT };

struct flag {
	const char *name;
	enum flag_kind kind;
	size_t offset;
	const char *usage;
	const char *def; /* shown as (default "...") for strings */
};

#define BOOL_FLAG(n, field, u) {n, FLAG_BOOL, offsetof(struct opts, field), u, NULL}
#define STR_FLAG(n, field, u, d) {n, FLAG_STRING, offsetof(struct opts, field), u, d}
#define INT_FLAG(n, field, u, d) {n, FLAG_INT, offsetof(struct opts, field), u, d}

/* Sorted by name: this is also the order of the usage text, as Go prints it. */
static const struct flag flags[] = {
	BOOL_FLAG("address", address,
		  "use in combination with either -useconf or -useconffile, outputs your IPv6 address"),
	BOOL_FLAG("autoconf", autoconf, "automatic mode (random key, default settings)"),
	BOOL_FLAG("exportkey", exportkey,
		  "use in combination with either -useconf or -useconffile, outputs your private key "
		  "in PEM format"),
	BOOL_FLAG("genconf", genconf, "print a new commented YAML config to stdout"),
	BOOL_FLAG("json", json,
		  "print configuration from -genconf or -normaliseconf as JSON instead of YAML"),
	STR_FLAG("loglevel", loglevel, "loglevel to enable: error, warn, info, debug or trace",
		 "info"),
	STR_FLAG("logto", logto, "file path to log to, \"syslog\" or \"stdout\"", "stdout"),
	BOOL_FLAG("normaliseconf", normaliseconf,
		  "use in combination with either -useconf or -useconffile, outputs your "
		  "configuration normalised"),
	/* yggdrasil 0.5.14's readiness flag: one newline once the node is up. */
	INT_FLAG("notifyfd", notifyfd,
		 "write a newline to this file-descriptor to indicate readiness to a service manager",
		 "-1"),
	BOOL_FLAG("publickey", publickey,
		  "use in combination with either -useconf or -useconffile, outputs your public key"),
	BOOL_FLAG("subnet", subnet,
		  "use in combination with either -useconf or -useconffile, outputs your IPv6 subnet"),
	BOOL_FLAG("useconf", useconf, "read YAML, HJSON or JSON config from stdin"),
	STR_FLAG("useconffile", useconffile,
		 "read YAML, HJSON or JSON config from specified file path", NULL),
	STR_FLAG("user", user, "user (and, optionally, group) to set UID/GID to", NULL),
	BOOL_FLAG("version", version, "prints the version of this build"),
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f, "Usage of %s:\n", argv0);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const struct flag *fl = &flags[i];

		fprintf(f, "  -%s%s\n    \t%s", fl->name,
			fl->kind == FLAG_STRING ? " string" : fl->kind == FLAG_INT ? " int" : "",
			fl->usage);
		if (fl->def && fl->kind == FLAG_INT)
			fprintf(f, " (default %s)", fl->def); /* Go prints numbers unquoted */
		else if (fl->def)
			fprintf(f, " (default \"%s\")", fl->def);
		fputc('\n', f);
	}
}

static const struct flag *flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
			return &flags[i];
	return NULL;
}

/* Go's strconv.ParseBool. */
static bool parse_go_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, true;
		if (!strcmp(s, no[i]))
			return *out = false, true;
	}
	return false;
}

/* Returns 0, or EXIT_USAGE after printing the complaint and usage as Go's flag does. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const struct flag *fl;
		size_t nlen;

		if (a[0] != '-' || a[1] == '\0')
			break; /* first non-flag argument: the rest is ignored, as in Go */
		name = a + 1;
		if (name[0] == '-') {
			name++;
			if (name[0] == '\0')
				break; /* "--" terminates the flags */
		}
		if (name[0] == '-' || name[0] == '=') {
			fprintf(stderr, "bad flag syntax: %s\n", a);
			goto bad;
		}
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		if ((nlen == 1 && name[0] == 'h') || (nlen == 4 && !strncmp(name, "help", 4))) {
			o->help = true;
			return 0;
		}
		fl = flag_find(name, nlen);
		if (!fl) {
			fprintf(stderr, "flag provided but not defined: -%.*s\n", (int)nlen, name);
			goto bad;
		}
		if (fl->kind == FLAG_BOOL) {
			bool v = true;

			if (eq && !parse_go_bool(eq + 1, &v)) {
				fprintf(stderr, "invalid boolean value \"%s\" for -%s: parse error\n",
					eq + 1, fl->name);
				goto bad;
			}
			*(bool *)((char *)o + fl->offset) = v;
		} else {
			const char *v;

			if (eq) {
				v = eq + 1;
			} else if (i + 1 < argc) {
				v = argv[++i];
			} else {
				fprintf(stderr, "flag needs an argument: -%s\n", fl->name);
				goto bad;
			}
			if (fl->kind == FLAG_INT) {
				char *end;
				long n;

				errno = 0;
				n = strtol(v, &end, 0);
				if (errno || !*v || *end || n < INT32_MIN || n > INT32_MAX) {
					fprintf(stderr,
						"invalid value \"%s\" for flag -%s: parse error\n", v,
						fl->name);
					goto bad;
				}
				*(int *)((char *)o + fl->offset) = (int)n;
			} else {
				*(const char **)((char *)o + fl->offset) = v;
			}
		}
	}
	return 0;
bad:
	usage(stderr, argv[0]);
	return EXIT_USAGE;
}

/* Loads the config named by the flags into cfg. Returns 0 or 1 (errors already printed). */
static int load_config(const struct opts *o, struct config *cfg, const char **name)
{
	char *ebuf = NULL;
	size_t elen = 0;
	FILE *errf = open_memstream(&ebuf, &elen);
	int r;

	if (!errf)
		fatalx("open_memstream: %s", strerror(errno));
	*name = o->useconf ? "<stdin>" : o->useconffile;
	r = config_load_file(cfg, o->useconf ? "-" : o->useconffile, errf);
	if (r == 0)
		r = config_check(cfg, *name, errf);
	fclose(errf);
	if (ebuf)
		fputs(ebuf, stderr);
	free(ebuf);
	return r == 0 ? 0 : 1;
}

/*
 * The node's key: PrivateKeyPath wins over PrivateKey (as in yggdrasil); neither means a random
 * key for this run. NULL after printing a positioned message.
 */
static struct keypair *load_key(const struct config *cfg, const char *name, bool *is_random)
{
	struct keypair *kp;
	const char *why = NULL;

	*is_random = false;
	if (cfg->private_key_path) {
		kp = keys_from_pem_file(cfg->private_key_path, &why);
		if (!kp)
			fprintf(stderr, "%s:%u:%u: PrivateKeyPath: %s: %s\n", name,
				cfg->private_key_path_pos.line, cfg->private_key_path_pos.col,
				cfg->private_key_path, why);
		return kp;
	}
	if (cfg->private_key) {
		kp = keys_from_hex(cfg->private_key, &why);
		if (!kp)
			fprintf(stderr, "%s:%u:%u: PrivateKey: %s\n", name, cfg->private_key_pos.line,
				cfg->private_key_pos.col, why);
		return kp;
	}
	*is_random = true;
	return keys_generate();
}

static void print_address(const struct keypair *kp, bool is_subnet)
{
	uint8_t pub[32], a[16] = {0};
	char buf[INET_ADDRSTRLEN_MAX];

	keys_public(kp, pub);
	if (is_subnet) {
		addr_subnet_from_key(pub, a);
		printf("%s/64\n", inet_ntop6(a, buf));
	} else {
		addr_from_key(pub, a);
		printf("%s\n", inet_ntop6(a, buf));
	}
}

static void print_pubkey(const struct keypair *kp)
{
	uint8_t pub[32];
	char hex[65];

	keys_public(kp, pub);
	puts(hex_encode(pub, sizeof(pub), hex));
}

static int export_key(const struct keypair *kp)
{
	char pem[256];

	if (keys_export_pem(kp, pem, sizeof(pem)) < 0)
		return 1;
	fputs(pem, stdout);
	mem_wipe(pem, sizeof(pem));
	return 0;
}

/* Puts the key's hex form into cfg so that a dump shows it (-genconf, -normaliseconf). */
static void config_set_key(struct config *cfg, const struct keypair *kp)
{
	char hex[129];

	if (cfg->private_key) {
		mem_wipe(cfg->private_key, strlen(cfg->private_key));
		free(cfg->private_key);
	}
	keys_private_hex(kp, hex);
	cfg->private_key = xstrdup(hex);
	mem_wipe(hex, sizeof(hex));
}

static int setup_logging(const struct opts *o)
{
	enum log_level lvl;
	int r;

	/* As yggdrasil: an unknown level means info. */
	if (!log_level_parse(o->loglevel, &lvl))
		lvl = LOG_LEVEL_INFO;
	log_set_level(lvl);
	r = log_set_target(o->logto);
	if (r < 0) {
		fprintf(stderr, "cannot log to %s: %s\n", o->logto, strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.loglevel = "info", .logto = "stdout", .notifyfd = -1};
	struct config cfg;
	struct keypair *kp = NULL;
	const char *name = "<autoconf>";
	bool is_random = false;
	int r;

	r = parse_args(argc, argv, &o);
	if (r)
		return r;
	if (o.help) {
		usage(stderr, argv[0]);
		return 0;
	}
	if (o.version) {
		printf("Build name: ygg64\nBuild version: %s\n", YGG64_VERSION);
		return 0;
	}
	if (keys_init() < 0) {
		fprintf(stderr, "libsodium failed to initialise\n");
		return 1;
	}

	config_init(&cfg);
	if (o.autoconf) {
		/* defaults and a random key */
	} else if (o.useconf || o.useconffile) {
		if (load_config(&o, &cfg, &name)) {
			r = 1;
			goto out;
		}
	} else if (o.genconf) {
		kp = keys_generate();
		config_set_key(&cfg, kp);
		config_dump(&cfg, stdout, o.json ? CONFIG_FMT_JSON : CONFIG_FMT_YAML, !o.json);
		r = 0;
		goto out;
	} else {
		/* No action flag: yggdrasil prints "Usage:" and the flag list, and exits 0. */
		printf("Usage:\n");
		usage(stderr, argv[0]);
		r = 0;
		goto out;
	}

	kp = load_key(&cfg, name, &is_random);
	if (!kp) {
		r = 1;
		goto out;
	}
	r = 0;
	if (o.address || o.subnet) {
		print_address(kp, !o.address);
	} else if (o.publickey) {
		print_pubkey(kp);
	} else if (o.normaliseconf) {
		/* yggdrasil keeps PrivateKeyPath instead of the key when a path is set. */
		if (!cfg.private_key_path)
			config_set_key(&cfg, kp);
		config_dump(&cfg, stdout, o.json ? CONFIG_FMT_JSON : CONFIG_FMT_YAML, !o.json);
	} else if (o.exportkey) {
		r = export_key(kp);
	} else {
		if (setup_logging(&o)) {
			r = 1;
			goto out;
		}
		if (is_random && !o.autoconf)
			log_warn("%s sets neither PrivateKey nor PrivateKeyPath: using a random key "
				 "for this run",
				 name);
		/* A peer or admin client that goes away mid-write must not kill the daemon. */
		signal(SIGPIPE, SIG_IGN);
		r = daemon_main(&cfg, kp, o.user, o.notifyfd);
		kp = NULL; /* consumed */
		log_close();
	}
out:
	if (kp)
		keys_free(kp);
	config_fini(&cfg);
	if (fflush(stdout) != 0 && r == 0)
		r = 1;
	return r;
}
