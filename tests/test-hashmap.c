/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "hashmap.h"
#include "test.h"

TEST(uint64_put_get_remove) {
        enum { N = 20000 };
        static uint64_t keys[N];
        Hashmap *h = hashmap_new(uint64_hash_func, uint64_equal_func);
        ASSERT_TRUE(h);
        for (size_t i = 0; i < N; i++) {
                keys[i] = i * 7919 + 1;
                ASSERT_OK(hashmap_put(h, &keys[i], &keys[i]));
        }
        ASSERT_EQ(hashmap_size(h), N);
        ASSERT_ERR(hashmap_put(h, &keys[5], NULL), EEXIST);
        for (size_t i = 0; i < N; i++)
                ASSERT_TRUE(hashmap_get(h, &keys[i]) == &keys[i]);
        /* remove every other key: the rest must still be found (backward shift) */
        for (size_t i = 0; i < N; i += 2)
                ASSERT_TRUE(hashmap_remove(h, &keys[i]) == &keys[i]);
        ASSERT_EQ(hashmap_size(h), N / 2);
        for (size_t i = 0; i < N; i++)
                ASSERT_TRUE(hashmap_get(h, &keys[i]) == (i % 2 ? &keys[i] : NULL));
        ASSERT_TRUE(hashmap_remove(h, &keys[0]) == NULL);

        size_t n = 0;
        uint64_t *v;
        HASHMAP_FOREACH(v, h, it) {
                ASSERT_EQ(*v % 2, 0);   /* odd i -> i*7919+1 is even */
                n++;
        }
        ASSERT_EQ(n, N / 2);

        /* cleared: empty, and usable again */
        hashmap_clear(h);
        ASSERT_EQ(hashmap_size(h), 0);
        ASSERT_TRUE(hashmap_get(h, &keys[1]) == NULL);
        ASSERT_FALSE(hashmap_iterate(h, &(size_t) { 0 }, (void **) &v, NULL));
        ASSERT_OK(hashmap_put(h, &keys[1], &keys[1]));
        ASSERT_TRUE(hashmap_get(h, &keys[1]) == &keys[1]);
        hashmap_free(h);
}

TEST(strings_and_keys) {
        Hashmap *h = hashmap_new(string_hash_func, string_equal_func);
        ASSERT_OK(hashmap_put(h, "wg0", (void *) 1));
        ASSERT_OK(hashmap_put(h, "wg1", (void *) 2));
        ASSERT_TRUE(hashmap_get(h, "wg1") == (void *) 2);
        ASSERT_OK(hashmap_replace(h, "wg1", (void *) 3));
        ASSERT_TRUE(hashmap_get(h, "wg1") == (void *) 3);
        ASSERT_TRUE(hashmap_get(h, "wg2") == NULL);
        hashmap_free(h);

        uint8_t a[32] = { 1 }, b[32] = { 2 };
        h = hashmap_new(key32_hash_func, key32_equal_func);
        ASSERT_OK(hashmap_put(h, a, a));
        ASSERT_TRUE(hashmap_get(h, b) == NULL);
        uint8_t a2[32] = { 1 };
        ASSERT_TRUE(hashmap_get(h, a2) == a);
        hashmap_free(h);
}

TEST_MAIN()
