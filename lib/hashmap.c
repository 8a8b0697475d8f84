/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hashmap.h"
#include "macro.h"

typedef struct Bucket {
        const void *key;        /* NULL = empty */
        void *value;
        uint64_t hash;
} Bucket;

struct Hashmap {
        hash_func_t hash;
        equal_func_t equal;
        Bucket *buckets;
        size_t n_buckets;       /* power of two, or 0 */
        size_t n_items;
};

static uint64_t mix64(uint64_t x) {
        /* splitmix64 finaliser */
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

uint64_t uint64_hash_func(const void *key) {
        return mix64(*(const uint64_t *) key);
}

bool uint64_equal_func(const void *a, const void *b) {
        return *(const uint64_t *) a == *(const uint64_t *) b;
}

uint64_t string_hash_func(const void *key) {
        /* FNV-1a */
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (const unsigned char *s = key; *s; s++) {
                h ^= *s;
                h *= UINT64_C(0x100000001b3);
        }
        return mix64(h);
}

bool string_equal_func(const void *a, const void *b) {
        return strcmp(a, b) == 0;
}

uint64_t key32_hash_func(const void *key) {
        /* Keys are public keys (uniformly random); mixing the first 8 bytes is plenty. */
        uint64_t x;
        memcpy(&x, key, sizeof(x));
        return mix64(x);
}

bool key32_equal_func(const void *a, const void *b) {
        return memcmp(a, b, 32) == 0;
}

Hashmap *hashmap_new(hash_func_t hash, equal_func_t equal) {
        Hashmap *h = calloc(1, sizeof(Hashmap));
        if (!h)
                return NULL;
        h->hash = hash;
        h->equal = equal;
        return h;
}

void hashmap_clear(Hashmap *h) {
        if (h->n_items == 0)
                return;
        memset(h->buckets, 0, h->n_buckets * sizeof(Bucket));
        h->n_items = 0;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (h) {
                free(h->buckets);
                free(h);
        }
        return NULL;
}

static size_t bucket_find(const Hashmap *h, const void *key, uint64_t hash, bool *found) {
        size_t mask = h->n_buckets - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
                const Bucket *b = &h->buckets[i];
                if (!b->key) {
                        *found = false;
                        return i;
                }
                if (b->hash == hash && h->equal(b->key, key)) {
                        *found = true;
                        return i;
                }
        }
}

static int resize(Hashmap *h, size_t n_buckets) {
        Bucket *old = h->buckets;
        size_t n_old = h->n_buckets;

        Bucket *nb = calloc(n_buckets, sizeof(Bucket));
        if (!nb)
                return -ENOMEM;
        h->buckets = nb;
        h->n_buckets = n_buckets;
        for (size_t i = 0; i < n_old; i++) {
                if (!old[i].key)
                        continue;
                bool found;
                size_t j = bucket_find(h, old[i].key, old[i].hash, &found);
                nb[j] = old[i];
        }
        free(old);
        return 0;
}

static int put(Hashmap *h, const void *key, void *value, bool replace) {
        if (!key)
                return -EINVAL;
        /* Keep the load factor at or below 1/2. */
        if ((h->n_items + 1) * 2 > h->n_buckets) {
                int r = resize(h, h->n_buckets ? h->n_buckets * 2 : 16);
                if (r < 0)
                        return r;
        }
        uint64_t hash = h->hash(key);
        bool found;
        size_t i = bucket_find(h, key, hash, &found);
        if (found) {
                if (!replace)
                        return -EEXIST;
                h->buckets[i].key = key;
                h->buckets[i].value = value;
                return 0;
        }
        h->buckets[i] = (Bucket) { .key = key, .value = value, .hash = hash };
        h->n_items++;
        return 0;
}

int hashmap_put(Hashmap *h, const void *key, void *value) {
        return put(h, key, value, false);
}

int hashmap_replace(Hashmap *h, const void *key, void *value) {
        return put(h, key, value, true);
}

void *hashmap_get(const Hashmap *h, const void *key) {
        if (!h || h->n_items == 0 || !key)
                return NULL;
        bool found;
        size_t i = bucket_find(h, key, h->hash(key), &found);
        return found ? h->buckets[i].value : NULL;
}

void *hashmap_remove(Hashmap *h, const void *key) {
        if (!h || h->n_items == 0 || !key)
                return NULL;
        bool found;
        size_t i = bucket_find(h, key, h->hash(key), &found);
        if (!found)
                return NULL;
        void *value = h->buckets[i].value;
        size_t mask = h->n_buckets - 1;

        /* Backward-shift deletion: move later members of the probe run into the hole when
         * their home bucket lies at or before it. */
        for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
                Bucket *b = &h->buckets[j];
                if (!b->key)
                        break;
                size_t home = b->hash & mask;
                bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        h->buckets[i] = *b;
                        i = j;
                }
        }
        h->buckets[i] = (Bucket) { 0 };
        h->n_items--;
        return value;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_items : 0;
}

bool hashmap_iterate(const Hashmap *h, size_t *i, void **ret_value, const void **ret_key) {
        if (!h)
                return false;
        for (; *i < h->n_buckets; (*i)++) {
                const Bucket *b = &h->buckets[*i];
                if (!b->key)
                        continue;
                if (ret_value)
                        *ret_value = b->value;
                if (ret_key)
                        *ret_key = b->key;
                (*i)++;
                return true;
        }
        return false;
}
