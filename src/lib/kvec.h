/*
 * kvec: a growable array of pointers to entries that begin with a 32-byte key (an ed25519 key
 * or a transformed one), kept sorted by that key: binary search, insertion and removal by
 * position. The tree's announcements, the pathfinder's paths and rumors and the sessions all
 * index their entries this way. The vector owns its array, not the entries.
 */
#ifndef YGG64_LIB_KVEC_H
#define YGG64_LIB_KVEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KVEC_KEY_LEN = 32 };

struct kvec {
	void **v; /* v[0..n), ascending by the first KVEC_KEY_LEN bytes of each entry */
	size_t n, cap;
};

/*
 * The entry with this key, or NULL. *pos (if pos is not NULL) is its index, or where an entry
 * with this key would be inserted.
 */
void *kvec_find(const struct kvec *kv, const uint8_t key[KVEC_KEY_LEN], size_t *pos);
/* Inserts e at pos (from kvec_find, so the order holds); grows the array as needed. */
void kvec_insert(struct kvec *kv, size_t pos, void *e);
/* Removes the entry at pos (the entry itself is the caller's). */
void kvec_remove_at(struct kvec *kv, size_t pos);
/* Removes the entry with this key; false when there is none. */
bool kvec_remove(struct kvec *kv, const uint8_t key[KVEC_KEY_LEN]);
/* Frees the array (not the entries) and empties the vector. */
void kvec_free(struct kvec *kv);
#endif
