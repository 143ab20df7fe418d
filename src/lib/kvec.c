#include "lib/kvec.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

void *kvec_find(const struct kvec *kv, const uint8_t key[KVEC_KEY_LEN], size_t *pos)
{
	size_t lo = 0, hi = kv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(kv->v[mid], key, KVEC_KEY_LEN);

		if (c == 0) {
			if (pos)
				*pos = mid;
			return kv->v[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

void kvec_insert(struct kvec *kv, size_t pos, void *e)
{
	if (kv->n == kv->cap) {
		kv->cap = kv->cap ? 2 * kv->cap : 16;
		kv->v = xreallocarray(kv->v, kv->cap, sizeof(*kv->v));
	}
	memmove(kv->v + pos + 1, kv->v + pos, (kv->n - pos) * sizeof(*kv->v));
	kv->v[pos] = e;
	kv->n++;
}

void kvec_remove_at(struct kvec *kv, size_t pos)
{
	memmove(kv->v + pos, kv->v + pos + 1, (kv->n - pos - 1) * sizeof(*kv->v));
	kv->n--;
}

bool kvec_remove(struct kvec *kv, const uint8_t key[KVEC_KEY_LEN])
{
	size_t pos;

	if (!kvec_find(kv, key, &pos))
		return false;
	kvec_remove_at(kv, pos);
	return true;
}

void kvec_free(struct kvec *kv)
{
	free(kv->v);
	kv->v = NULL;
	kv->n = kv->cap = 0;
}
