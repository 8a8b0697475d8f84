/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "test.h"
#include "utf8-valid.h"

static void test_char_len_one(const char *s, size_t n, size_t expected, uint32_t cp) {
        uint32_t got = 0xffffffff;

        ASSERT_EQ(utf8_char_len(s, n, &got), expected);
        if (expected > 0)
                ASSERT_EQ(got, cp);
        else
                ASSERT_EQ(got, 0xffffffff);    /* written only on success */
}

TEST(char_len) {
        test_char_len_one("a", 1, 1, 'a');
        test_char_len_one("\x01", 1, 1, 1);             /* control characters are UTF-8 */
        test_char_len_one("\xc3\xa9", 2, 2, 0xe9);
        test_char_len_one("\xe2\x82\xac", 3, 3, 0x20ac);
        test_char_len_one("\xf0\x9f\x98\x80", 4, 4, 0x1f600);
        test_char_len_one("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);

        test_char_len_one("", 0, 0, 0);
        test_char_len_one("\xc3\xa9", 1, 0, 0);         /* cut by n */
        test_char_len_one("\xe2\x82", 2, 0, 0);
        test_char_len_one("\xfc", 1, 0, 0);             /* Latin-1 'ü' */
        test_char_len_one("\xa9", 1, 0, 0);             /* a continuation byte */
        test_char_len_one("\xc3" "a", 2, 0, 0);
        test_char_len_one("\xc0\xaf", 2, 0, 0);         /* overlong '/' */
        test_char_len_one("\xe0\x80\xaf", 3, 0, 0);
        test_char_len_one("\xed\xa0\x80", 3, 0, 0);     /* surrogate */
        test_char_len_one("\xf4\x90\x80\x80", 4, 0, 0); /* beyond U+10FFFF */
        test_char_len_one("\xf8\x88\x80\x80\x80", 5, 0, 0);
}

static void test_prefix_one(const char *s, size_t max, size_t expected) {
        ASSERT_EQ(utf8_prefix_len(s, strlen(s), max), expected);
}

TEST(prefix_len) {
        test_prefix_one("abc", 10, 3);
        test_prefix_one("abc", 2, 2);
        test_prefix_one("abc", 0, 0);
        /* never inside a character */
        test_prefix_one("a\xc3\xa9", 2, 1);
        test_prefix_one("a\xc3\xa9", 3, 3);
        test_prefix_one("a\xe2\x82\xac", 3, 1);
        test_prefix_one("a\xf0\x9f\x98\x80" "b", 4, 1);
        test_prefix_one("a\xf0\x9f\x98\x80" "b", 5, 5);
        /* stops before the first byte that is not UTF-8, and before a cut sequence */
        test_prefix_one("ab\xfc" "cd", 10, 2);
        test_prefix_one("ab\xc3", 10, 2);

        ASSERT_TRUE(utf8_valid("", 0));
        ASSERT_TRUE(utf8_valid("J\xc3\xbcrgen", 7));
        ASSERT_FALSE(utf8_valid("J\xfcrgen", 6));
        ASSERT_FALSE(utf8_valid("\xc3\xa9", 1));
}

TEST_MAIN()
