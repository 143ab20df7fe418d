/*
 * config_keys: the configuration key table (STYLE.md §9), private to src/config/. config.c
 * defines it and uses it to default, read and free a struct config; config_dump.c walks the
 * same table to print YAML, JSON and the commented example. Table order is output order
 * (yggdrasil's JSON order for its own keys). Also the message list that the readers of
 * config.c and config_net.c report into.
 */
#ifndef YGG64_CONFIG_CONFIG_KEYS_H
#define YGG64_CONFIG_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cnode;
struct config_msg;

enum { PATH_MAX_LEN = 256 }; /* room for a key path such as NAT64.Pool4[3] */

/* One load or one config_check(): start from {.name = ...}; name is borrowed for its life. */
struct config_loader {
	const char *name;
	bool is_ci; /* HJSON/JSON input: keys match case-insensitively, as in yggdrasil-go */
	/* The first yggdrasil v0.3 key field read (EncryptionPublicKey...); NULL: none. */
	const char *v03_key;
	unsigned v03_line, v03_col;
	struct config_msg *msgs;
	size_t n_msgs;
};

/* Records "name:line:col: path: reason" (no position when line is 0); path is copied. */
__attribute__((format(printf, 5, 6))) void loader_err(struct config_loader *ld, unsigned line,
						      unsigned col, const char *path,
						      const char *fmt, ...);
/* The same as "name:line:col: warning: path: reason", which does not make the load fail. */
__attribute__((format(printf, 5, 6))) void loader_warn(struct config_loader *ld, unsigned line,
						       unsigned col, const char *path,
						       const char *fmt, ...);
#define nerr(ld, n, path, ...) loader_err((ld), (n)->line, (n)->col, (path), __VA_ARGS__)
#define perr(ld, pos, path, ...) loader_err((ld), (pos).line, (pos).col, (path), __VA_ARGS__)

/*
 * Prints the messages to errf (if not NULL) in file order and frees them; -EINVAL if any of
 * them is an error (warnings alone return 0).
 */
int loader_flush(struct config_loader *ld, FILE *errf);
/* Reports "expected <expected>, got <what n is>" at n. */
void loader_type_err(struct config_loader *ld, const struct cnode *n, const char *path,
		     const char *expected);
/* True when n is a scalar (any scalar reads as text); otherwise reports it. */
bool loader_want_string(struct config_loader *ld, const struct cnode *n, const char *path);
/* A ckey.check: a public key as 64 hexadecimal digits. */
bool ckey_check_pubkey(struct config_loader *ld, const struct cnode *n, const char *path);

enum ckey_type {
	CKT_STR,	/* char * */
	CKT_BOOL,	/* bool */
	CKT_UINT,	/* unsigned integer of `size` bytes, within [min, max] */
	CKT_STRLIST,	/* struct config_strlist */
	CKT_IFPEERS,	/* struct config.interface_peers: {iface: [uri]} */
	CKT_MCAST,	/* struct config.mcast: list of `sub` blocks */
	CKT_NODEINFO,	/* struct cnode *: a mapping or NULL */
	CKT_BLOCK,	/* a nested struct described by `sub` */
	CKT_REMOTE,	/* struct config_tunnel IPv{4,6}RemoteSubnets: {cidr: key} */
	CKT_LOCAL,	/* struct config_tunnel IPv{4,6}LocalSubnets: [cidr] */
	CKT_CKR_REMOTE, /* input only: {key: [cidr]} into both remote lists */
	CKT_ADDRESSES,	/* struct config_tunnel addresses: [addr/len], host bits kept */
	CKT_PREFIX64,	/* struct config_nat64.prefix (RFC 6052) */
	CKT_POOL4,	/* struct config_nat64.pool4 */
	CKT_PORTS,	/* struct config_nat64 port_min/port_max as "lo-hi" */
	CKT_ENUM,	/* an enum of `size` bytes, spelled by `names` */
	CKT_PREFIX6,	/* struct inet_prefix: an IPv6 prefix outside 200::/7; "" = unset */
	CKT_OBSOLETE,	/* input only: a yggdrasil v0.3 key, checked by `check`, then dropped */
	CKT_SIGNKEY,	/* input only: v0.3's SigningPrivateKey, into PrivateKey when unset */
	CKT__COUNT,
};

enum ckey_flag {
	CKF_ALIAS = 1 << 0,	      /* accepted when reading, never written */
	CKF_OPTIONAL = 1 << 1,	      /* a string that may be NULL; then not written */
	CKF_OMITEMPTY = 1 << 2,	      /* not written when zero (Go's omitempty) */
	CKF_JSON_NONDEFAULT = 1 << 3, /* in JSON only when it differs from the default */
	CKF_SECRET = 1 << 4,	      /* wiped when freed; not written when PrivateKeyPath is set */
	CKF_IMPLIES_ENABLE = 1 << 5,  /* yggdrasilckr-only: its presence turns the block on */
	CKF_V03_IDENTITY = 1 << 6,    /* a v0.3 key field: the file's remote keys are box keys */
};

struct ckey {
	const char *name;
	enum ckey_type type;
	size_t off;	     /* field offset in the enclosing struct */
	size_t pos_off;	     /* offset of a struct config_pos for the value; 0 = none */
	const char *def;     /* default in its text form; NULL = empty/none */
	const char *doc;     /* explanation for commented dumps; lines split by \n */
	const char *example; /* CKF_OPTIONAL: commented placeholder when the value is unset */
	/*
	 * Extra test of each string value; reports through ld and returns false on error.
	 * CKT_OBSOLETE: called with the value of any kind; reports when it cannot be dropped.
	 */
	bool (*check)(struct config_loader *ld, const struct cnode *n, const char *path);
	unsigned size;		  /* CKT_UINT, CKT_ENUM: field width in bytes */
	uint64_t min, max;	  /* CKT_UINT bounds */
	const char *cite;	  /* why the bounds are what they are (appended to range errors) */
	int family;		  /* CKT_REMOTE, CKT_LOCAL: AF_INET or AF_INET6 */
	const struct ckey *sub;	  /* CKT_BLOCK, CKT_MCAST: members, ended by a NULL name */
	const char *const *names; /* CKT_ENUM: spellings by value, ended by NULL */
	/* CKT_BLOCK: run once the block is read; seen is the OR of the flags of its keys present */
	void (*loaded)(void *block, unsigned seen);
	unsigned flags;
};

/* The top level, ended by a NULL name. */
extern const struct ckey config_keys[];

/* The field a key describes inside the struct at base. */
static inline void *ckey_field(const struct ckey *k, const void *base)
{
	return (char *)base + k->off;
}

/* CKT_UINT and CKT_ENUM fields of 1, 2, 4 or 8 bytes. */
static inline uint64_t ckey_uint_get(const struct ckey *k, const void *base)
{
	const void *f = ckey_field(k, base);

	if (k->size == 1)
		return *(const uint8_t *)f;
	if (k->size == 2)
		return *(const uint16_t *)f;
	if (k->size == 4)
		return *(const uint32_t *)f;
	return *(const uint64_t *)f;
}

static inline void ckey_uint_set(const struct ckey *k, void *base, uint64_t v)
{
	void *f = ckey_field(k, base);

	if (k->size == 1)
		*(uint8_t *)f = (uint8_t)v;
	else if (k->size == 2)
		*(uint16_t *)f = (uint16_t)v;
	else if (k->size == 4)
		*(uint32_t *)f = (uint32_t)v;
	else
		*(uint64_t *)f = v;
}

#endif
