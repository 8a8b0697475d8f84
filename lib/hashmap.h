/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An open-addressing hash map (linear probing, backward-shift deletion) from a key pointer
 * to a value pointer. The map stores the key pointer, not a copy: keys normally point into
 * the value (a peer's id, its public key). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*hash_func_t)(const void *key);
typedef bool (*equal_func_t)(const void *a, const void *b);

typedef struct Hashmap Hashmap;

/* Keys: uint64_t*, NUL-terminated strings, 32-byte binary keys. */
uint64_t uint64_hash_func(const void *key);
bool uint64_equal_func(const void *a, const void *b);
uint64_t string_hash_func(const void *key);
bool string_equal_func(const void *a, const void *b);
uint64_t key32_hash_func(const void *key);
bool key32_equal_func(const void *a, const void *b);

Hashmap *hashmap_new(hash_func_t hash, equal_func_t equal);
/* Frees the table, not the keys or values. */
Hashmap *hashmap_free(Hashmap *h);
static inline void hashmap_freep(Hashmap **h) {
        if (*h)
                *h = hashmap_free(*h);
}

/* -EEXIST if the key is there, -ENOMEM. */
int hashmap_put(Hashmap *h, const void *key, void *value);
/* Insert or replace. */
int hashmap_replace(Hashmap *h, const void *key, void *value);
void *hashmap_get(const Hashmap *h, const void *key);
/* Returns the removed value or NULL. */
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);
/* Empty it, keeping the table's size; the keys and values are not freed. */
void hashmap_clear(Hashmap *h);

/* Iterate: size_t i = 0; void *v; while (hashmap_iterate(h, &i, &v, NULL)) ...
 * Removing while iterating is not allowed. */
bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret_value, const void **ret_key);

#define HASHMAP_FOREACH(v, h, i) for (size_t i = 0; hashmap_iterate((h), &i, (void **) &(v), NULL);)
