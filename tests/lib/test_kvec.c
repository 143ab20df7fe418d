/*
 * kvec: entries stay sorted by their 32-byte key through random insertions and removals
 * (checked against a brute-force scan), find reports the insertion point of absent keys, and
 * remove by key says whether there was one.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kvec.h"

struct ent {
	uint8_t key[KVEC_KEY_LEN]; /* first, as kvec requires */
	int tag;
};

enum { N = 300 };
static struct ent ents[N];

static void check_sorted(const struct kvec *kv)
{
	for (size_t i = 1; i < kv->n; i++)
		cr_assert_lt(memcmp(kv->v[i - 1], kv->v[i], KVEC_KEY_LEN), 0, "order at %zu", i);
}

Test(kvec, random_inserts_and_removals_keep_the_order)
{
	struct kvec kv = {0};
	bool in[N] = {false};
	size_t pos;

	srand(7);
	for (int i = 0; i < N; i++) {
		for (int b = 0; b < KVEC_KEY_LEN; b++)
			ents[i].key[b] = (uint8_t)rand();
		ents[i].key[0] = (uint8_t)(i % 4); /* long shared prefixes too */
		ents[i].tag = i;
	}
	for (int round = 0; round < 4 * N; round++) {
		int i = rand() % N;

		if (!in[i]) {
			cr_assert_null(kvec_find(&kv, ents[i].key, &pos));
			cr_assert_leq(pos, kv.n);
			kvec_insert(&kv, pos, &ents[i]);
			in[i] = true;
		} else {
			cr_assert(kvec_remove(&kv, ents[i].key));
			in[i] = false;
		}
		check_sorted(&kv);
	}
	size_t count = 0;
	for (int i = 0; i < N; i++) {
		struct ent *e = kvec_find(&kv, ents[i].key, &pos);

		if (in[i]) {
			count++;
			cr_assert_eq(e, &ents[i]);
			cr_assert_eq(kv.v[pos], &ents[i]);
		} else {
			cr_assert_null(e);
			cr_assert_not(kvec_remove(&kv, ents[i].key), "absent key");
		}
	}
	cr_assert_eq(kv.n, count);
	while (kv.n)
		kvec_remove_at(&kv, kv.n - 1);
	kvec_free(&kv);
	cr_assert_null(kv.v);
	cr_assert_eq(kv.cap, 0);
}

Test(kvec, find_gives_the_insertion_point)
{
	struct kvec kv = {0};
	static struct ent e[3];
	size_t pos = 99;

	for (int i = 0; i < 3; i++)
		e[i].key[31] = (uint8_t)(10 * (i + 1)); /* 10, 20, 30 */
	cr_assert_null(kvec_find(&kv, e[0].key, &pos));
	cr_assert_eq(pos, 0, "empty vector");
	kvec_insert(&kv, 0, &e[0]);
	kvec_find(&kv, e[2].key, &pos);
	kvec_insert(&kv, pos, &e[2]);
	cr_assert_null(kvec_find(&kv, e[1].key, &pos));
	cr_assert_eq(pos, 1, "between 10 and 30");
	kvec_insert(&kv, pos, &e[1]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(kv.v[i], &e[i]);
	uint8_t k[KVEC_KEY_LEN] = {0};
	k[31] = 31;
	cr_assert_null(kvec_find(&kv, k, &pos));
	cr_assert_eq(pos, 3, "after the last");
	cr_assert_null(kvec_find(&kv, k, NULL), "pos may be NULL");
	kvec_free(&kv);
}
