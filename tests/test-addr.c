/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "addr.h"
#include "test.h"

/* Parse s (as a prefix, bare allowed) and compare its printed form with expected. */
static void test_parse_one(const char *s, const char *expected) {
        IpPrefix p;
        char buf[IP_PREFIX_STRLEN];
        int r = ip_prefix_parse(s, true, &p);
        if (r < 0)
                TEST_FAIL("'%s' rejected: %d", s, r);
        if (strcmp(ip_prefix_to_string(&p, buf), expected) != 0)
                TEST_FAIL("'%s' printed as '%s', expected '%s'", s, buf, expected);
        /* round trip */
        IpPrefix q;
        if (ip_prefix_parse(buf, false, &q) < 0 || !ip_prefix_equal(&p, &q))
                TEST_FAIL("'%s' does not round-trip", buf);
}

static void test_bad_one(const char *s) {
        IpPrefix p = { .family = 12345 };
        int r = ip_prefix_parse(s, true, &p);
        if (r != -EINVAL)
                TEST_FAIL("'%s' accepted (r=%d)", s, r);
        if (p.family != 12345)
                TEST_FAIL("'%s': output written on failure", s);
}

TEST(parse_good) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "0.0.0.0", "0.0.0.0/32" },
                { "10.0.0.1", "10.0.0.1/32" },
                { "255.255.255.255", "255.255.255.255/32" },
                { "10.8.0.1/24", "10.8.0.1/24" },
                { "10.8.0.0/0", "10.8.0.0/0" },
                { "1.2.3.4/32", "1.2.3.4/32" },
                { "192.168.100.200/16", "192.168.100.200/16" },
                { "::", "::/128" },
                { "::/0", "::/0" },
                { "::1", "::1/128" },
                { "1::", "1::/128" },
                { "fd00::1/64", "fd00::1/64" },
                { "FD00::ABCD/64", "fd00::abcd/64" },
                { "2001:db8:0:0:0:0:2:1", "2001:db8::2:1/128" },
                { "2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1/128" },
                { "2001:db8::1", "2001:db8::1/128" },
                { "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8/128" },
                { "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0/128" },
                { "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8/128" },
                { "1::8", "1::8/128" },
                { "::ffff:1.2.3.4", "::ffff:1.2.3.4/128" },
                { "::FFFF:10.0.0.1/120", "::ffff:10.0.0.1/120" },
                { "0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4/128" },
                { "::1.2.3.4", "::102:304/128" },
                { "64:ff9b::192.0.2.33", "64:ff9b::c000:221/128" },
                { "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304/128" },
                { "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:0:102:304/128" },
                { "fe80::/10", "fe80::/10" },
                { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                test_parse_one(cases[i].in, cases[i].out);
}

TEST(parse_bad) {
        static const char *const bad[] = {
                "", " ", " 10.0.0.1", "10.0.0.1 ", "10.0.0.1\n", "10.0.0.1/24 ", "10.0.0.1 /24",
                "10.0.0.01", "010.0.0.1", "10.00.0.1", "1.2.3.04", "00.0.0.0",
                "256.0.0.1", "1.2.3.256", "1.2.3.1000", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3",
                "1..2.3", "1.2.3.4.", "0x1.2.3.4", "1.2.3.a", "-1.2.3.4", "+1.2.3.4",
                "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/024", "10.0.0.1/+24", "10.0.0.1/-1",
                "10.0.0.1/2a", "10.0.0.1/24/24", "10.0.0.1/1000", "10.0.0.1/ 24", "/24",
                "10.0.0.1//24", "10.0.0.1/00",
                ":", ":::", "1:::2", "::1::", "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:",
                "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
                "12345::", "g::", "fe80::1%eth0", "fe80::1%1", "::1/129", "::1/0128",
                "::1/", "[::1]", "::ffff:1.2.3", "::ffff:1.2.3.04", "::1.2.3.4:5",
                "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1.2.3.4::", "::1 ", " ::1",
                "fd00::1/64\t", "::ffff:256.1.1.1", "1:2:3:4:5:6:7:8/12x", "x",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                test_bad_one(bad[i]);
}

TEST(parse_bare) {
        IpPrefix p;
        ASSERT_ERR(ip_prefix_parse("10.0.0.1", false, &p), EINVAL);
        ASSERT_OK(ip_prefix_parse("10.0.0.1", true, &p));
        ASSERT_EQ(p.prefixlen, 32);
        ASSERT_EQ(p.family, AF_INET);
        ASSERT_OK(ip_prefix_parse("fd00::2", true, &p));
        ASSERT_EQ(p.prefixlen, 128);
        ASSERT_EQ(p.family, AF_INET6);

        ASSERT_OK(ip_addr_parse("10.1.2.3", &p));
        ASSERT_EQ(p.prefixlen, 32);
        ASSERT_EQ(p.addr.in.s_addr, htonl(0x0a010203));
        ASSERT_ERR(ip_addr_parse("10.1.2.3/32", &p), EINVAL);
        ASSERT_ERR(ip_addr_parse("", &p), EINVAL);
        ASSERT_ERR(ip_addr_parse("fe80::1%lo", &p), EINVAL);
        ASSERT_ERR(ip_addr_parse(NULL, &p), EINVAL);
}

TEST(parse_n) {
        IpPrefix p;
        char buf[IP_PREFIX_STRLEN];
        const char *s = "10.0.0.1/24,fd00::1/64";
        ASSERT_OK(ip_prefix_parse_n(s, 11, false, &p));
        ASSERT_STREQ(ip_prefix_to_string(&p, buf), "10.0.0.1/24");
        ASSERT_OK(ip_prefix_parse_n(s + 12, strlen(s + 12), false, &p));
        ASSERT_STREQ(ip_prefix_to_string(&p, buf), "fd00::1/64");
        ASSERT_ERR(ip_prefix_parse_n(s, 12, false, &p), EINVAL);
        ASSERT_ERR(ip_prefix_parse_n(s, 0, true, &p), EINVAL);
        /* an embedded NUL is garbage, not an end */
        ASSERT_ERR(ip_prefix_parse_n("10.0.0.1\0", 9, true, &p), EINVAL);
        ASSERT_ERR(ip_prefix_parse_n("10.0.0.1/2\0", 11, true, &p), EINVAL);
        /* only the first len bytes are looked at */
        ASSERT_OK(ip_prefix_parse_n("10.0.0.1/24garbage", 11, true, &p));
        ASSERT_EQ(p.prefixlen, 24);
}

/* Printer: RFC 5952 section 4 and its examples. */
static void test_print_one(const char *in, const char *expected) {
        IpPrefix p;
        char buf[IP_PREFIX_STRLEN];
        if (ip_addr_parse(in, &p) < 0)
                TEST_FAIL("'%s' rejected", in);
        if (strcmp(ip_addr_to_string(&p, buf), expected) != 0)
                TEST_FAIL("'%s' printed as '%s', expected '%s'", in, buf, expected);
}

TEST(print_rfc5952) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                /* 4.1 leading zeros */
                { "2001:0db8::0001", "2001:db8::1" },
                /* 4.2.1 shorten as much as possible */
                { "2001:db8:0:0:0:0:2:1", "2001:db8::2:1" },
                { "2001:db8::0:1", "2001:db8::1" },
                /* 4.2.2 not one 16-bit field */
                { "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
                { "2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
                /* 4.2.3 longest run; first on a tie */
                { "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
                { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
                { "1:0:0:2:0:0:3:4", "1::2:0:0:3:4" },
                { "0:0:1:0:0:0:0:1", "0:0:1::1" },
                { "1:0:0:0:1:0:0:0", "1::1:0:0:0" },
                /* 4.3 lowercase */
                { "2001:DB8::AbCd", "2001:db8::abcd" },
                /* 5 IPv4-mapped */
                { "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
                { "::ffff:c000:0201", "::ffff:192.0.2.1" },
                /* edges */
                { "::", "::" },
                { "::1", "::1" },
                { "1::", "1::" },
                { "0:0:0:0:0:0:0:1", "::1" },
                { "1:0:0:0:0:0:0:0", "1::" },
                { "0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7" },
                { "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0" },
                { "0:0:ffff:0:0:0:0:0", "0:0:ffff::" },
                { "::fffe:1.2.3.4", "::fffe:102:304" },
                { "0:0:0:0:1:ffff:1.2.3.4", "::1:ffff:102:304" },
                { "ffff::", "ffff::" },
                { "1.2.3.4", "1.2.3.4" },
                { "0.0.0.0", "0.0.0.0" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                test_print_one(cases[i].in, cases[i].out);
}

TEST(print_matches_inet_ntop_for_simple) {
        /* glibc's inet_ntop follows RFC 5952 for addresses without IPv4 tails: cross-check
         * a few thousand pseudo-random addresses with sparse zero groups. */
        uint32_t seed = 12345;
        for (unsigned n = 0; n < 5000; n++) {
                IpPrefix p = { .family = AF_INET6, .prefixlen = 128 };
                for (unsigned g = 0; g < 8; g++) {
                        seed = seed * 1103515245u + 12345u;
                        uint16_t v = (seed >> 16) % 3 == 0 ? (uint16_t) (seed >> 8) : 0;
                        p.addr.bytes[2 * g] = (uint8_t) (v >> 8);
                        p.addr.bytes[2 * g + 1] = (uint8_t) v;
                }
                char buf[IP_PREFIX_STRLEN], ref[INET6_ADDRSTRLEN];
                ASSERT_TRUE(inet_ntop(AF_INET6, &p.addr.in6, ref, sizeof(ref)));
                ip_addr_to_string(&p, buf);
                /* glibc prints ::a.b.c.d for IPv4-compatible addresses: skip those */
                if (strchr(ref, '.'))
                        continue;
                if (strcmp(buf, ref) != 0)
                        TEST_FAIL("printed '%s', inet_ntop '%s'", buf, ref);
                IpPrefix q;
                ASSERT_OK(ip_addr_parse(buf, &q));
                ASSERT_TRUE(ip_prefix_equal(&p, &q));
        }
}

static IpPrefix P(const char *s) {
        IpPrefix p;
        if (ip_prefix_parse(s, true, &p) < 0) {
                fprintf(stderr, "bad test input '%s'\n", s);
                abort();
        }
        return p;
}

static void test_contains_one(const char *net, const char *p, bool expected) {
        IpPrefix a = P(net), b = P(p);
        if (ip_prefix_contains(&a, &b) != expected)
                TEST_FAIL("contains(%s, %s) != %s", net, p, expected ? "true" : "false");
}

TEST(contains) {
        test_contains_one("10.0.0.0/24", "10.0.0.5", true);
        test_contains_one("10.0.0.1/24", "10.0.0.255", true);
        test_contains_one("10.0.0.0/24", "10.0.1.0", false);
        test_contains_one("10.0.0.0/24", "10.0.0.0/25", true);
        test_contains_one("10.0.0.0/24", "10.0.0.128/25", true);
        test_contains_one("10.0.0.0/24", "10.0.0.0/24", true);
        test_contains_one("10.0.0.0/24", "10.0.0.0/23", false);
        test_contains_one("10.0.0.0/25", "10.0.0.128", false);
        test_contains_one("0.0.0.0/0", "255.255.255.255", true);
        test_contains_one("10.0.0.1/32", "10.0.0.1", true);
        test_contains_one("10.0.0.1/32", "10.0.0.2", false);
        test_contains_one("10.0.0.0/8", "fd00::1", false);
        test_contains_one("fd00::/64", "fd00::1", true);
        test_contains_one("fd00::/64", "fd00:0:0:1::1", false);
        test_contains_one("fd00::/8", "fdff:ffff::1", true);
        test_contains_one("fd00::/7", "fc00::1/64", true);
        test_contains_one("::/0", "::ffff:1.2.3.4", true);
        test_contains_one("::/0", "1.2.3.4", false);
        test_contains_one("fd00::1:0/113", "fd00::1:7fff", true);
        test_contains_one("fd00::1:0/113", "fd00::1:8000", false);
}

static void test_overlaps_one(const char *a, const char *b, bool expected) {
        IpPrefix x = P(a), y = P(b);
        if (ip_prefix_overlaps(&x, &y) != expected || ip_prefix_overlaps(&y, &x) != expected)
                TEST_FAIL("overlaps(%s, %s) != %s", a, b, expected ? "true" : "false");
}

TEST(overlaps) {
        test_overlaps_one("10.0.0.0/24", "10.0.0.128/25", true);
        test_overlaps_one("10.0.0.0/24", "10.0.1.0/24", false);
        test_overlaps_one("10.0.0.0/23", "10.0.1.0/24", true);
        test_overlaps_one("10.0.0.0/8", "0.0.0.0/0", true);
        test_overlaps_one("10.0.0.1", "10.0.0.1", true);
        test_overlaps_one("10.0.0.1", "10.0.0.2", false);
        test_overlaps_one("10.0.0.0/8", "::/0", false);
        test_overlaps_one("fd00::/64", "fd00::/48", true);
        test_overlaps_one("fd00::/64", "fd00:0:0:1::/64", false);
        test_overlaps_one("fd00::1:2:3/64", "fd00::/64", true);
}

TEST(mask_host_bits) {
        static const struct {
                const char *in, *masked;
                bool host_bits;
        } cases[] = {
                { "10.8.0.1/24", "10.8.0.0/24", true },
                { "10.8.0.0/24", "10.8.0.0/24", false },
                { "10.8.255.255/17", "10.8.128.0/17", true },
                { "10.8.0.1/32", "10.8.0.1/32", false },
                { "255.255.255.255/0", "0.0.0.0/0", true },
                { "10.8.0.1/31", "10.8.0.0/31", true },
                { "fd00::1/64", "fd00::/64", true },
                { "fd00:1:2:3:4:5:6:7/50", "fd00:1:2::/50", true },
                { "fd00:1:2:3:4:5:6:7/128", "fd00:1:2:3:4:5:6:7/128", false },
                { "fd00::/64", "fd00::/64", false },
                { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1", "8000::/1", true },
                { "fd00::ff/121", "fd00::80/121", true },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                IpPrefix p = P(cases[i].in);
                char buf[IP_PREFIX_STRLEN];
                if (ip_prefix_has_host_bits(&p) != cases[i].host_bits)
                        TEST_FAIL("has_host_bits(%s)", cases[i].in);
                ip_prefix_mask(&p);
                if (strcmp(ip_prefix_to_string(&p, buf), cases[i].masked) != 0)
                        TEST_FAIL("mask(%s) = %s, expected %s", cases[i].in, buf, cases[i].masked);
                ASSERT_FALSE(ip_prefix_has_host_bits(&p));
        }

        IpPrefix p = P("10.8.0.7/24"), h = ip_prefix_host(&p);
        char buf[IP_PREFIX_STRLEN];
        ASSERT_STREQ(ip_prefix_to_string(&h, buf), "10.8.0.7/32");
        ASSERT_STREQ(ip_addr_to_string(&p, buf), "10.8.0.7");
        p = P("fd00::7/64");
        h = ip_prefix_host(&p);
        ASSERT_STREQ(ip_prefix_to_string(&h, buf), "fd00::7/128");
}

TEST(compare_order) {
        /* sorted ascending: family (AF_INET < AF_INET6), bytes, prefix length */
        static const char *const sorted[] = {
                "0.0.0.0/0", "0.0.0.0/32", "9.255.255.255", "10.0.0.0/8", "10.0.0.0/24",
                "10.0.0.1/24", "10.0.0.1/32", "10.0.0.2/16", "255.255.255.255",
                "::/0", "::", "::1", "::ffff:0.0.0.0/96", "fd00::/8", "fd00::/64", "fd00::1/64",
                "fe80::/10", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        };
        size_t n = sizeof(sorted) / sizeof(sorted[0]);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                        IpPrefix a = P(sorted[i]), b = P(sorted[j]);
                        int c = ip_prefix_compare(&a, &b), e = i < j ? -1 : i > j ? 1 : 0;
                        if ((c > 0) - (c < 0) != e)
                                TEST_FAIL("compare(%s, %s) = %d", sorted[i], sorted[j], c);
                        if (ip_prefix_equal(&a, &b) != (i == j))
                                TEST_FAIL("equal(%s, %s)", sorted[i], sorted[j]);
                }
}

TEST(v4_mapped) {
        IpPrefix p = P("::ffff:1.2.3.4");
        ASSERT_TRUE(ip_addr_is_v4_mapped(&p));
        p = P("::ffff:0:0/96");
        ASSERT_TRUE(ip_addr_is_v4_mapped(&p));
        p = P("::1.2.3.4");
        ASSERT_FALSE(ip_addr_is_v4_mapped(&p));
        p = P("1.2.3.4");
        ASSERT_FALSE(ip_addr_is_v4_mapped(&p));
        p = P("::fffe:1.2.3.4");
        ASSERT_FALSE(ip_addr_is_v4_mapped(&p));
        p = P("fd00::ffff:1.2.3.4");
        ASSERT_FALSE(ip_addr_is_v4_mapped(&p));
}

/* from minus hole: n prefixes, of lengths from+1 .. hole (each once), inside from, apart
 * from hole and from each other, which together cover from but the hole. */
static void check_exclude(const char *from, const char *hole, size_t want_n) {
        IpPrefix f = P(from), h = P(hole), out[128];
        size_t n = ip_prefix_exclude(&f, &h, out);
        ASSERT_EQ(n, want_n);
        for (size_t k = 0; k < n; k++) {
                ASSERT_FALSE(ip_prefix_overlaps(&out[k], &h));
                ASSERT_TRUE(ip_prefix_contains(&f, &out[k]));
                ASSERT_FALSE(ip_prefix_has_host_bits(&out[k]));
                if (want_n > 1)
                        ASSERT_EQ(out[k].prefixlen, f.prefixlen + 1 + k);
                for (size_t l = 0; l < k; l++)
                        ASSERT_FALSE(ip_prefix_overlaps(&out[k], &out[l]));
        }
}

TEST(exclude) {
        IpPrefix f = P("10.0.0.0/8"), h = P("10.0.0.0/10"), out[32];
        char buf[IP_PREFIX_STRLEN];
        ASSERT_EQ(ip_prefix_exclude(&f, &h, out), 2u);
        ASSERT_STREQ(ip_prefix_to_string(&out[0], buf), "10.128.0.0/9");
        ASSERT_STREQ(ip_prefix_to_string(&out[1], buf), "10.64.0.0/10");
        check_exclude("0.0.0.0/1", "10.77.0.0/24", 23);
        check_exclude("0.0.0.0/1", "10.77.0.5/24", 23);         /* host bits of the hole ignored */
        check_exclude("128.0.0.0/1", "10.77.0.0/24", 1);        /* apart: from itself */
        check_exclude("10.77.0.0/25", "10.77.0.0/24", 0);       /* covered */
        check_exclude("8000::/1", "fd77::/64", 63);
        check_exclude("::/1", "fd77::/64", 1);
}

TEST_MAIN()
