/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The applet's text helpers (client/applet/format.c): byte counts, rates, "3 min ago". */
#include "format.h"
#include "test.h"

static void test_bytes_one(uint64_t in, const char *expected) {
        char buf[APPLET_BYTES_STRLEN];
        ASSERT_STREQ(applet_format_bytes(in, buf), expected);
}

TEST(bytes) {
        test_bytes_one(0, "0 B");
        test_bytes_one(1023, "1023 B");
        test_bytes_one(1024, "1.0 KiB");
        test_bytes_one(1024 * 1024 - 1, "1.0 MiB");     /* the unit after rounding */
        test_bytes_one(1023 * 1024 + 511, "1023 KiB");
        test_bytes_one(1023, "1023 B");
        test_bytes_one(1536, "1.5 KiB");
        test_bytes_one(10 * 1024, "10 KiB");
        test_bytes_one(5ULL * 1024 * 1024 + 1024 * 1024 / 2, "5.5 MiB");
        test_bytes_one(3ULL << 40, "3.0 TiB");
        test_bytes_one(UINT64_MAX, "16 EiB");
}

static void test_ago_one(uint64_t then, uint64_t now, const char *expected) {
        char buf[APPLET_AGO_STRLEN];
        ASSERT_STREQ(applet_format_ago(then, now, buf), expected);
}

TEST(ago) {
        const uint64_t now = 1700000000ULL * 1000000;
        test_ago_one(0, now, "never");
        test_ago_one(now, now, "just now");
        test_ago_one(now + 5000000, now, "just now");          /* clock skew: not "in the future" */
        test_ago_one(now - 4999999, now, "just now");
        test_ago_one(now - 42000000, now, "42 s ago");
        test_ago_one(now - 180000000, now, "3 min ago");
        test_ago_one(now - 3599000000ULL, now, "59 min ago");
        test_ago_one(now - 5 * 3600000000ULL, now, "5 h ago");
        test_ago_one(now - 47 * 3600000000ULL, now, "47 h ago");
        test_ago_one(now - 3 * 86400000000ULL, now, "3 days ago");
}

TEST(rate) {
        char buf[APPLET_BYTES_STRLEN + 2];
        ASSERT_STREQ(applet_format_rate(0, buf), "0 B/s");
        ASSERT_STREQ(applet_format_rate(-5, buf), "0 B/s");
        ASSERT_STREQ(applet_format_rate(12.0 * 1024, buf), "12 KiB/s");
        ASSERT_STREQ(applet_format_rate(2.5 * 1024 * 1024, buf), "2.5 MiB/s");
}

TEST_MAIN()
