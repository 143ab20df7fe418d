/*
 * cnode: the document tree both configuration parsers produce (config_yaml.c, config_hjson.c)
 * and the emitters that print a tree back as Go-style JSON or block YAML (NodeInfo).
 *
 * Ownership: a node owns its text, its keys and its children; cnode_free releases the whole
 * subtree. Map keys are SCALAR nodes so that they keep their own line:col.
 */
#ifndef YGG64_CONFIG_CNODE_H
#define YGG64_CONFIG_CNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cnode_kind {
	CNODE_NULL,
	CNODE_SCALAR,
	CNODE_SEQ,
	CNODE_MAP,
};

/* What a scalar denotes. Quoted scalars are always strings; see cnode_scalar_type(). */
enum cnode_scalar_type {
	CNODE_STR,
	CNODE_BOOL,
	CNODE_NUM,
};

struct cnode {
	enum cnode_kind kind;
	unsigned line, col;  /* 1-based position of the node's first character */
	bool is_quoted;	     /* SCALAR: written with quotes (or as a YAML block scalar) */
	char *str;	     /* SCALAR: valid UTF-8, NUL-terminated, no embedded NUL */
	struct cnode **keys; /* MAP: key scalars, parallel to vals */
	struct cnode **vals; /* MAP values or SEQ elements */
	size_t n, cap;
};

/* A parse failure: position (1-based, 0 when unknown) and a sentence without the position. */
struct cnode_error {
	unsigned line, col;
	char msg[256];
};

/* Nesting deeper than this is refused by both parsers (hostile input must not eat the stack). */
enum { CNODE_MAX_DEPTH = 64 };

struct cnode *cnode_new(enum cnode_kind kind, unsigned line, unsigned col);
/* Copies len bytes of s (which must not contain NUL) into a new SCALAR. */
struct cnode *cnode_new_scalar(const char *s, size_t len, bool is_quoted, unsigned line,
			       unsigned col);
void cnode_free(struct cnode *n);
struct cnode *cnode_copy(const struct cnode *n);
/* Appends; the container takes ownership of key and v. */
void cnode_seq_add(struct cnode *seq, struct cnode *v);
void cnode_map_add(struct cnode *map, struct cnode *key, struct cnode *v);
/* Exact (byte-wise) key lookup; returns the index or -1. */
long cnode_map_index(const struct cnode *map, const char *key);
struct cnode *cnode_map_find(const struct cnode *map, const char *key);

/*
 * The type of a SCALAR. A quoted scalar is a string. An unquoted one is a boolean when it is
 * exactly "true" or "false", a number when it matches the JSON number grammar and is finite
 * as a double, and a string otherwise. HJSON's quoteless-value rule uses the same test.
 */
enum cnode_scalar_type cnode_scalar_type(const struct cnode *n);
bool cnode_is_number(const char *s, size_t len);
/* "a mapping", "a list", "a string", "a number", "a boolean" or "null", for messages. */
const char *cnode_describe(const struct cnode *n);

/* Deep equality of kind, text and scalar type (positions and quoting of strings ignored). */
bool cnode_equal(const struct cnode *a, const struct cnode *b);
/* Sorts every map in the tree by key, byte-wise (the order Go's encoding/json prints maps). */
void cnode_sort(struct cnode *n);

/*
 * Number text as Go's encoding/json prints a float64: the shortest digits that read back
 * exactly, plain notation for 1e-6 <= |x| < 1e21, otherwise "de+X"/"d.ddde-X". buf must hold
 * 32 bytes. Returns false when s is not a number (see cnode_is_number).
 */
bool cnode_number_canon(const char *s, char *buf);

/* s as a JSON string literal, escaped the way Go's encoding/json does (HTML-safe). */
void cnode_json_string(FILE *f, const char *s);
/*
 * n as JSON. level >= 0 formats like Go's json.MarshalIndent(v, "", "  ") with the value
 * starting at nesting level `level`; level < 0 gives compact json.Marshal output. No newline.
 */
void cnode_emit_json(const struct cnode *n, FILE *f, int level);

/* True when s may be written as a plain YAML scalar and reads back as the same string. */
bool cnode_yaml_is_plain_safe(const char *s);
/* s as a YAML scalar: plain when safe, otherwise double-quoted with escapes. */
void cnode_yaml_string(FILE *f, const char *s);
/*
 * Writes a mapping key and its ':' where the cursor is (at column indent): plain or quoted as
 * cnode_yaml_string, or, when it is long enough to pass YAML's 1024-character limit on implicit
 * keys, as an explicit key ("? key", a line break, indent spaces, then ':').
 */
void cnode_yaml_key(FILE *f, const char *key, int indent);
/*
 * n as the value of a block-YAML "key:" (or "-") the caller has already written at column
 * indent. Writes a leading space or newline as needed and ends with a newline.
 */
void cnode_emit_yaml(const struct cnode *n, FILE *f, int indent);

#endif
