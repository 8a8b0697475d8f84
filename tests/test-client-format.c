/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's pure parts: units, times, value parsing, JSON output. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "format.h"
#include "json.h"
#include "utf8.h"
#include "macro.h"
#include "test.h"

static void test_bytes_one(uint64_t n, const char *expected) {
        char buf[FORMAT_BYTES_MAX];
        ASSERT_STREQ(format_bytes(buf, n), expected);
}

TEST(bytes) {
        test_bytes_one(0, "0 B");
        test_bytes_one(1, "1 B");
        test_bytes_one(1023, "1023 B");
        test_bytes_one(1024, "1.0 KiB");
        test_bytes_one(1536, "1.5 KiB");
        test_bytes_one(1024 * 1024 - 1, "1023.9 KiB");
        test_bytes_one(1024 * 1024, "1.0 MiB");
        test_bytes_one(UINT64_C(12) * 1024 * 1024 + 300 * 1024, "12.2 MiB");
        test_bytes_one(UINT64_C(5) * 1024 * 1024 * 1024, "5.0 GiB");
        test_bytes_one(UINT64_C(3) << 40, "3.0 TiB");
        test_bytes_one(UINT64_MAX, "15.9 EiB");
}

static void test_relative_one(uint64_t then, uint64_t now, const char *expected) {
        char buf[FORMAT_RELATIVE_MAX];
        ASSERT_STREQ(format_relative(buf, then, now), expected);
}

TEST(relative) {
        const uint64_t now = UINT64_C(1764390000) * USEC_PER_SEC, s = USEC_PER_SEC;
        test_relative_one(0, now, "never");
        test_relative_one(now, now, "now");
        test_relative_one(now - s / 2, now, "now");
        test_relative_one(now - 12 * s, now, "12 s ago");
        test_relative_one(now - 59 * s, now, "59 s ago");
        test_relative_one(now - 60 * s, now, "1 min ago");
        test_relative_one(now - 3 * 60 * s - 10 * s, now, "3 min ago");
        test_relative_one(now - 3600 * s, now, "1 h ago");
        test_relative_one(now - 47 * 3600 * s, now, "47 h ago");
        test_relative_one(now - 2 * 86400 * s, now, "2 days ago");
        test_relative_one(now - 59 * 86400 * s, now, "59 days ago");
        test_relative_one(now - 90 * 86400 * s, now, "3 months ago");
        test_relative_one(now - 365 * 86400 * s, now, "1 year ago");
        test_relative_one(now - 3 * 365 * 86400 * s, now, "3 years ago");
        test_relative_one(now + 3 * 60 * s, now, "in 3 min");
        test_relative_one(now + 30 * 86400 * s, now, "in 30 days");
}

TEST(timestamp) {
        char buf[FORMAT_TIMESTAMP_MAX];
        setenv("TZ", "UTC", 1);
        tzset();
        ASSERT_STREQ(format_timestamp(buf, 0), "never");
        ASSERT_STREQ(format_timestamp(buf, UINT64_C(1764390601) * USEC_PER_SEC + 999999), "2025-11-29 04:30:01 UTC");
}

TEST(keepalive_and_dot) {
        char buf[FORMAT_RELATIVE_MAX];
        ASSERT_STREQ(format_keepalive(buf, 0), "off");
        ASSERT_STREQ(format_keepalive(buf, 25), "25 s");
        ASSERT_STREQ(online_dot(true, true), "\u25cf");
        ASSERT_STREQ(online_dot(false, true), "\u25cb");
        ASSERT_STREQ(online_dot(true, false), "*");
        ASSERT_STREQ(online_dot(false, false), "o");
}

static void test_bool_one(const char *s, int expected) {
        ASSERT_EQ(parse_bool(s), expected);
}

TEST(bool) {
        test_bool_one("yes", 1);
        test_bool_one("YES", 1);
        test_bool_one("true", 1);
        test_bool_one("on", 1);
        test_bool_one("1", 1);
        test_bool_one("no", 0);
        test_bool_one("False", 0);
        test_bool_one("off", 0);
        test_bool_one("0", 0);
        test_bool_one("", -EINVAL);
        test_bool_one("maybe", -EINVAL);
        test_bool_one(NULL, -EINVAL);
}

static void test_unsigned_one(const char *s, uint64_t min, uint64_t max, int ret, uint64_t expected) {
        uint64_t v = 4242;
        ASSERT_EQ(parse_unsigned(s, min, max, &v), ret);
        ASSERT_EQ(v, ret == 0 ? expected : 4242);
}

TEST(unsigned) {
        test_unsigned_one("0", 0, 10, 0, 0);
        test_unsigned_one("51820", 1, 65535, 0, 51820);
        test_unsigned_one("65535", 1, 65535, 0, 65535);
        test_unsigned_one("65536", 1, 65535, -ERANGE, 0);
        test_unsigned_one("0", 1, 65535, -ERANGE, 0);
        test_unsigned_one("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX);
        test_unsigned_one("18446744073709551616", 0, UINT64_MAX, -ERANGE, 0);
        test_unsigned_one("", 0, 10, -EINVAL, 0);
        test_unsigned_one("-1", 0, 10, -EINVAL, 0);
        test_unsigned_one("+1", 0, 10, -EINVAL, 0);
        test_unsigned_one(" 1", 0, 10, -EINVAL, 0);
        test_unsigned_one("1 ", 0, 10, -EINVAL, 0);
        test_unsigned_one("0x10", 0, 100, -EINVAL, 0);
        test_unsigned_one("12abc", 0, 100, -EINVAL, 0);
}

static void test_keepalive_one(const char *s, int ret, uint16_t expected) {
        uint16_t v = 999;
        ASSERT_EQ(parse_keepalive(s, &v), ret);
        ASSERT_EQ(v, ret == 0 ? expected : 999);
}

TEST(keepalive) {
        test_keepalive_one("off", 0, 0);
        test_keepalive_one("OFF", 0, 0);
        test_keepalive_one("0", 0, 0);
        test_keepalive_one("25", 0, 25);
        test_keepalive_one("25s", 0, 25);
        test_keepalive_one("65535", 0, 65535);
        test_keepalive_one("65536", -ERANGE, 0);
        test_keepalive_one("s", -EINVAL, 0);
        test_keepalive_one("", -EINVAL, 0);
        test_keepalive_one("25 min", -EINVAL, 0);
        test_keepalive_one("-5", -EINVAL, 0);
}

static void test_expiry_one(const char *s, int ret, uint64_t expected) {
        const uint64_t now = UINT64_C(1764390000) * USEC_PER_SEC;
        uint64_t v = 7;
        ASSERT_EQ(parse_expiry(s, now, &v), ret);
        ASSERT_EQ(v, ret == 0 ? expected : 7);
}

TEST(expiry) {
        const uint64_t now = UINT64_C(1764390000) * USEC_PER_SEC, s = USEC_PER_SEC;
        setenv("TZ", "UTC", 1);
        tzset();
        test_expiry_one("never", 0, 0);
        test_expiry_one("0", 0, 0);
        test_expiry_one("+30d", 0, now + 30 * 86400 * s);
        test_expiry_one("+12h", 0, now + 12 * 3600 * s);
        test_expiry_one("+90min", 0, now + 90 * 60 * s);
        test_expiry_one("+45s", 0, now + 45 * s);
        test_expiry_one("+2w", 0, now + 14 * 86400 * s);
        test_expiry_one("+1day", 0, now + 86400 * s);
        test_expiry_one("@1767225600", 0, UINT64_C(1767225600) * s);
        test_expiry_one("2026-01-01", 0, UINT64_C(1767225600) * s);
        test_expiry_one("2026-01-01 12:30", 0, (UINT64_C(1767225600) + 12 * 3600 + 30 * 60) * s);
        test_expiry_one("2026-01-01T12:30:15", 0, (UINT64_C(1767225600) + 12 * 3600 + 30 * 60 + 15) * s);
        test_expiry_one("+", -EINVAL, 0);
        test_expiry_one("+30", -EINVAL, 0);
        test_expiry_one("+30y", -EINVAL, 0);
        test_expiry_one("+6m", -EDOM, 0);              /* minutes or months? */
        test_expiry_one("+6M", -EINVAL, 0);
        test_expiry_one("+6mo", -EINVAL, 0);
        test_expiry_one("+0d", -ERANGE, 0);
        test_expiry_one("+99999999999999999d", -ERANGE, 0);
        test_expiry_one("tomorrow", -EINVAL, 0);
        test_expiry_one("2026-13-01", -EINVAL, 0);
        test_expiry_one("2025-02-31", -EINVAL, 0);     /* mktime would make it 2025-03-03 */
        test_expiry_one("2026-04-31 10:00", -EINVAL, 0);
        test_expiry_one("2028-02-29", 0, UINT64_C(1835395200) * s);  /* a leap day exists */
        test_expiry_one("2026-01-01 25:00", -EINVAL, 0);
        test_expiry_one("2026-01-01x", -EINVAL, 0);
        test_expiry_one("@", -EINVAL, 0);
        test_expiry_one("", -EINVAL, 0);
}

static void test_duration_one(const char *s, int ret, uint64_t expected) {
        uint64_t v = 5;
        ASSERT_EQ(parse_duration(s, &v), ret);
        ASSERT_EQ(v, ret == 0 ? expected : 5);
}

TEST(duration) {
        test_duration_one("off", 0, 0);
        test_duration_one("never", 0, 0);
        test_duration_one("0", 0, 0);
        test_duration_one("3600", 0, 3600);
        test_duration_one("45s", 0, 45);
        test_duration_one("90min", 0, 5400);
        test_duration_one("12h", 0, 43200);
        test_duration_one("30d", 0, 2592000);
        test_duration_one("2w", 0, 1209600);
        test_duration_one("0d", 0, 0);
        test_duration_one("", -EINVAL, 0);
        test_duration_one("d", -EINVAL, 0);
        test_duration_one("12x", -EINVAL, 0);
        test_duration_one("6m", -EDOM, 0);
        test_duration_one("90min", 0, 5400);
        test_duration_one("-1", -EINVAL, 0);
        test_duration_one("1.5h", -EINVAL, 0);
        test_duration_one("99999999999999999999", -ERANGE, 0);
        test_duration_one("9999999999999w", -ERANGE, 0);
        test_duration_one(NULL, -EINVAL, 0);

        char buf[FORMAT_RELATIVE_MAX];
        ASSERT_STREQ(format_duration(buf, 0), "off");
        ASSERT_STREQ(format_duration(buf, 45), "45 s");
        ASSERT_STREQ(format_duration(buf, 5400), "90 min");
        ASSERT_STREQ(format_duration(buf, 43200), "12 h");
        ASSERT_STREQ(format_duration(buf, 86400), "1 day");
        ASSERT_STREQ(format_duration(buf, 2592000), "30 days");
        ASSERT_STREQ(format_duration(buf, 86401), "86401 s");
}

TEST(object_paths) {
        ASSERT_TRUE(object_path_under("/org/wgnet1/peer/7", "/org/wgnet1/peer"));
        ASSERT_TRUE(object_path_under("/org/wgnet1/network/12", "/org/wgnet1/network"));
        ASSERT_FALSE(object_path_under("/org/wgnet1/peer/", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under("/org/wgnet1/peer", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under("/org/wgnet1/peer/7/x", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under("/org/wgnet1/peers/7", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under("/org/wgnet1/network/7", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under("phone", "/org/wgnet1/peer"));
        ASSERT_FALSE(object_path_under(NULL, "/org/wgnet1/peer"));
}

/* Each value of args given in turn: the list that results, joined by '|'. */
static void test_list_one(const char *const *args, size_t n, const char *expected) {
        char **l = NULL, buf[256] = "";
        for (size_t i = 0; i < n; i++)
                ASSERT_OK(list_option(&l, args[i]));
        ASSERT_TRUE(l);
        for (char **s = l; *s; s++) {
                if (s != l)
                        strcat(buf, "|");
                strcat(buf, *s);
        }
        ASSERT_STREQ(buf, expected);
        strv_free(l);
}

#define LIST(expected, ...) \
        test_list_one((const char *const[]) { __VA_ARGS__ }, ELEMENTSOF(((const char *const[]) { __VA_ARGS__ })), expected)

TEST(list_option) {
        LIST("1.1.1.1", "1.1.1.1");
        LIST("1.1.1.1|9.9.9.9", "1.1.1.1", "9.9.9.9");
        LIST("1.1.1.1|9.9.9.9|example.internal", "1.1.1.1,9.9.9.9", "example.internal");
        LIST("a|b", "a, b");
        LIST("", "");
        /* an empty value clears what came before it, not what comes after */
        LIST("", "1.1.1.1", "");
        LIST("", "1.1.1.1,9.9.9.9", "8.8.8.8", "");
        LIST("9.9.9.9", "1.1.1.1", "", "9.9.9.9");
        LIST("9.9.9.9", "", "9.9.9.9");
        LIST("", ",");
}

static void test_escape_one(const char *s, const char *expected) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        ASSERT_TRUE(f);
        json_escape(f, s);
        fclose(f);
        ASSERT_STREQ(buf, expected);
        free(buf);
}

TEST(json_escape) {
        test_escape_one("", "\"\"");
        test_escape_one("wg0", "\"wg0\"");
        test_escape_one("a\"b", "\"a\\\"b\"");
        test_escape_one("back\\slash", "\"back\\\\slash\"");
        test_escape_one("line\nbreak\ttab\rcr", "\"line\\nbreak\\ttab\\rcr\"");
        test_escape_one("\b\f", "\"\\b\\f\"");
        test_escape_one("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
        test_escape_one("caf\xc3\xa9 \xe2\x97\x8f", "\"caf\xc3\xa9 \xe2\x97\x8f\"");
        test_escape_one("</script>", "\"</script>\"");
        /* invalid UTF-8 (a file name given raw): U+FFFD for each bad byte, JSON stays valid */
        test_escape_one("\xff.conf", "\"\\ufffd.conf\"");
        test_escape_one("caf\xe9", "\"caf\\ufffd\"");                 /* Latin-1 */
        test_escape_one("\xc3", "\"\\ufffd\"");                        /* cut short */
        test_escape_one("\xc0\xaf", "\"\\ufffd\\ufffd\"");          /* overlong '/' */
        test_escape_one("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
        test_escape_one("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
        test_escape_one("\xf0\x9f\x94\x91 ok", "\"\xf0\x9f\x94\x91 ok\"");       /* 4 bytes, valid */
}

static void test_utf8_one(const char *s, ssize_t bad_at, unsigned line) {
        const char *p = utf8_invalid(s);
        if (bad_at < 0) {
                ASSERT_TRUE(p == NULL);
                return;
        }
        ASSERT_TRUE(p != NULL);
        ASSERT_EQ(p - s, bad_at);
        ASSERT_EQ(utf8_line_of(s, p), line);
}

TEST(utf8_invalid) {
        test_utf8_one("", -1, 0);
        test_utf8_one("plain", -1, 0);
        test_utf8_one("caf\xc3\xa9 \xe2\x97\x8f \xf0\x9f\x94\x91", -1, 0);
        test_utf8_one("\xef\xbf\xbf\xf4\x8f\xbf\xbf", -1, 0);            /* U+FFFF, U+10FFFF */
        test_utf8_one("caf\xe9", 3, 1);
        test_utf8_one("[Interface]\n# caf\xe9\nAddress = 10.0.0.1/24\n", 17, 2);
        test_utf8_one("a\nb\nc\x80", 5, 3);                                 /* stray continuation */
        test_utf8_one("\xc1\xbf", 0, 1);                                     /* overlong */
        test_utf8_one("\xe0\x80\xaf", 0, 1);                                 /* overlong */
        test_utf8_one("\xed\xbf\xbf", 0, 1);                                 /* surrogate */
        test_utf8_one("\xf5\x80\x80\x80", 0, 1);
        test_utf8_one("ok\xe2\x97", 2, 1);                                    /* cut short */
}

static void test_safe_one(const char *s, bool utf8, bool keep_newlines, const char *expected) {
        char *e = escape_nonprintable(s, utf8, keep_newlines);
        ASSERT_TRUE(e);
        ASSERT_STREQ(e, expected);
        free(e);
}

TEST(escape_nonprintable) {
        test_safe_one("", true, false, "");
        test_safe_one("alice@example.com", true, false, "alice@example.com");
        test_safe_one("caf\xc3\xa9", true, false, "caf\xc3\xa9");
        test_safe_one("caf\xc3\xa9", false, false, "caf\\xc3\\xa9");          /* not a UTF-8 locale */
        test_safe_one("\x1b[2Jgone", true, false, "\\x1b[2Jgone");                /* ESC */
        test_safe_one("a\rb\tc\x7f", true, false, "a\\x0db\\x09c\\x7f");
        test_safe_one("csi\xc2\x9b", true, false, "csi\\xc2\\x9b");            /* C1 CSI */
        test_safe_one("\xc2\xa0nbsp", true, false, "\xc2\xa0nbsp");              /* U+00A0 prints */
        test_safe_one("caf\xe9", true, false, "caf\\xe9");                      /* invalid UTF-8 */
        test_safe_one("two\nlines", true, false, "two\\x0alines");
        test_safe_one("two\nlines", true, true, "two\nlines");
        test_safe_one("C:\\x41", true, false, "C:\\x5cx41");                    /* unambiguous */
        test_safe_one("C:\\dir", true, false, "C:\\dir");
}

TEST(json_format) {
        Json *o = json_new_object(), *peers = json_new_array();
        char *shortform = NULL, *pretty = NULL;
        char *l[] = { "10.8.0.1/24", "fd00::1/64", NULL };

        ASSERT_TRUE(o && peers);
        ASSERT_OK(json_object_add(o, "Name", json_new_string("wg \"0\"")));
        ASSERT_OK(json_object_add(o, "Active", json_new_bool(true)));
        ASSERT_OK(json_object_add(o, "Isolated", json_new_bool(false)));
        ASSERT_OK(json_object_add(o, "ListenPort", json_new_unsigned(51820)));
        ASSERT_OK(json_object_add(o, "Big", json_new_unsigned(UINT64_MAX)));
        ASSERT_OK(json_object_add(o, "Endpoint", json_new_string(NULL)));
        ASSERT_OK(json_object_add(o, "Addresses", json_new_strv(l)));
        ASSERT_OK(json_object_add(o, "DNS", json_new_strv(NULL)));
        ASSERT_OK(json_array_add(peers, json_new_object()));
        ASSERT_OK(json_object_add(o, "Peers", peers));
        ASSERT_OK(json_format(o, JSON_FORMAT_SHORT, &shortform));
        ASSERT_STREQ(shortform,
                     "{\"Name\":\"wg \\\"0\\\"\",\"Active\":true,\"Isolated\":false,\"ListenPort\":51820,"
                     "\"Big\":18446744073709551615,\"Endpoint\":null,\"Addresses\":[\"10.8.0.1/24\",\"fd00::1/64\"],"
                     "\"DNS\":[],\"Peers\":[{}]}");
        ASSERT_OK(json_format(o, JSON_FORMAT_PRETTY, &pretty));
        ASSERT_STREQ(pretty,
                     "{\n"
                     "  \"Name\": \"wg \\\"0\\\"\",\n"
                     "  \"Active\": true,\n"
                     "  \"Isolated\": false,\n"
                     "  \"ListenPort\": 51820,\n"
                     "  \"Big\": 18446744073709551615,\n"
                     "  \"Endpoint\": null,\n"
                     "  \"Addresses\": [\n"
                     "    \"10.8.0.1/24\",\n"
                     "    \"fd00::1/64\"\n"
                     "  ],\n"
                     "  \"DNS\": [],\n"
                     "  \"Peers\": [\n"
                     "    {}\n"
                     "  ]\n"
                     "}\n");
        free(shortform);
        free(pretty);
        json_free(o);
}

TEST(json_ownership) {
        /* A NULL value (failed allocation) is reported, a wrong container frees the value. */
        Json *a = json_new_array(), *o = json_new_object();
        ASSERT_ERR(json_array_add(a, NULL), ENOMEM);
        ASSERT_ERR(json_object_add(o, "x", NULL), ENOMEM);
        ASSERT_ERR(json_array_add(o, json_new_string("leak?")), EINVAL);
        ASSERT_ERR(json_object_add(a, "k", json_new_string("leak?")), EINVAL);
        ASSERT_ERR(json_object_add(o, NULL, json_new_null()), EINVAL);
        char *s = NULL;
        ASSERT_OK(json_format(a, JSON_FORMAT_PRETTY, &s));
        ASSERT_STREQ(s, "[]\n");
        free(s);
        for (int i = 0; i < 100; i++)
                ASSERT_OK(json_array_add(a, json_new_unsigned((uint64_t) i)));
        ASSERT_OK(json_format(a, JSON_FORMAT_SHORT, &s));
        ASSERT_TRUE(strncmp(s, "[0,1,2,", 7) == 0);
        ASSERT_TRUE(strstr(s, ",99]") != NULL);
        free(s);
        json_free(a);
        json_free(o);
        ASSERT_TRUE(json_free(NULL) == NULL);
}

TEST_MAIN()
