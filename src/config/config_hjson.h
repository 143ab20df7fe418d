/*
 * config_hjson: reads HJSON (and so JSON, its subset) as written by `yggdrasil -genconf` into a
 * cnode tree. See config_hjson.c for the accepted grammar.
 */
#ifndef YGG64_CONFIG_CONFIG_HJSON_H
#define YGG64_CONFIG_CONFIG_HJSON_H

#include <stddef.h>

struct cnode;
struct cnode_error;

/*
 * Parses buf (len bytes, need not be NUL-terminated). Returns the root (a MAP for an object,
 * with or without braces, or a SEQ for a root array), owned by the caller; or NULL with *err
 * filled.
 */
struct cnode *hjson_parse(const char *buf, size_t len, struct cnode_error *err);

#endif
