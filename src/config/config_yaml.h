/*
 * config_yaml: reads one YAML document into a cnode tree (the only libyaml user, STYLE.md §12).
 */
#ifndef YGG64_CONFIG_CONFIG_YAML_H
#define YGG64_CONFIG_CONFIG_YAML_H

#include <stddef.h>

struct cnode;
struct cnode_error;

/*
 * Parses buf (len bytes). Returns the root node, owned by the caller: an empty MAP for an
 * empty stream; or NULL with *err filled. Anchors, aliases, tags, complex keys, duplicate keys
 * and a second document are errors.
 */
struct cnode *yamlp_parse(const char *buf, size_t len, struct cnode_error *err);

#endif
