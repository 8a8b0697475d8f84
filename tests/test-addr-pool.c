/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "macro.h"
#include "test.h"

static IpPrefix P(const char *s) {
        IpPrefix p;
        if (ip_prefix_parse(s, true, &p) < 0) {
                fprintf(stderr, "bad test input '%s'\n", s);
                abort();
        }
        return p;
}

static AddrPool *pool(const char *subnet) {
        IpPrefix s = P(subnet);
        AddrPool *p = NULL;
        if (addr_pool_new(&s, &p) < 0 || !p) {
                fprintf(stderr, "addr_pool_new(%s) failed\n", subnet);
                abort();
        }
        return p;
}

/* Allocate all the pool gives and compare with the expected list, then expect -ENOSPC. */
static void test_alloc_all_one(const char *subnet, const char *const *expected, size_t n) {
        AddrPool *p = pool(subnet);
        char buf[IP_PREFIX_STRLEN];
        IpPrefix a;

        for (size_t i = 0; i < n; i++) {
                IpPrefix pk;
                if (addr_pool_peek(p, &pk) < 0)
                        TEST_FAIL("%s: peek #%zu failed", subnet, i);
                if (addr_pool_allocate(p, &a) < 0)
                        TEST_FAIL("%s: allocation #%zu failed, expected %s", subnet, i, expected[i]);
                if (strcmp(ip_prefix_to_string(&a, buf), expected[i]) != 0)
                        TEST_FAIL("%s: allocation #%zu gave %s, expected %s", subnet, i, buf, expected[i]);
                if (!ip_prefix_equal(&a, &pk))
                        TEST_FAIL("%s: peek and allocate differ", subnet);
                if (!addr_pool_is_used(p, &a))
                        TEST_FAIL("%s: %s not used after allocation", subnet, buf);
        }
        int r = addr_pool_allocate(p, &a);
        if (r != -ENOSPC)
                TEST_FAIL("%s: expected -ENOSPC when full, got %d", subnet, r);
        r = addr_pool_peek(p, &a);
        if (r != -ENOSPC)
                TEST_FAIL("%s: expected -ENOSPC from peek when full, got %d", subnet, r);
        if (addr_pool_n_used(p) != n)
                TEST_FAIL("%s: n_used %zu, expected %zu", subnet, addr_pool_n_used(p), n);
        addr_pool_free(p);
}

#define ALLOC_ALL(subnet, ...)                                                  \
        do {                                                                    \
                static const char *const _e[] = { __VA_ARGS__ };                \
                test_alloc_all_one(subnet, _e, sizeof(_e) / sizeof(_e[0]));     \
        } while (0)

TEST(edge_subnets) {
        /* IPv4: network and broadcast skipped, and the server address */
        ALLOC_ALL("10.0.0.0/30", "10.0.0.1/32", "10.0.0.2/32");
        ALLOC_ALL("10.0.0.1/30", "10.0.0.2/32");
        ALLOC_ALL("10.0.0.2/30", "10.0.0.1/32");
        ALLOC_ALL("10.0.0.5/29", "10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32", "10.0.0.4/32",
                  "10.0.0.6/32");
        /* /31 (RFC 3021): both addresses usable, the server's taken (also the first) */
        ALLOC_ALL("10.0.0.0/31", "10.0.0.1/32");
        ALLOC_ALL("10.0.0.1/31", "10.0.0.0/32");
        /* /32 and /128: the host's own address, nothing to give out */
        test_alloc_all_one("10.0.0.7/32", NULL, 0);
        /* IPv6: all-zero host part skipped, no broadcast */
        ALLOC_ALL("fd00::/126", "fd00::1/128", "fd00::2/128", "fd00::3/128");
        ALLOC_ALL("fd00::3/126", "fd00::1/128", "fd00::2/128");
        ALLOC_ALL("fd00::1/126", "fd00::2/128", "fd00::3/128");
        /* /127 (RFC 6164) and /128: no anycast reservation */
        ALLOC_ALL("fd00::/127", "fd00::1/128");
        ALLOC_ALL("fd00::1/127", "fd00::/128");
        test_alloc_all_one("fd00::5/128", NULL, 0);
}

TEST(lowest_free_ipv4_24) {
        AddrPool *p = pool("10.8.0.1/24");
        IpPrefix a;
        char buf[IP_PREFIX_STRLEN];

        ASSERT_STREQ(ip_prefix_to_string(addr_pool_subnet(p), buf), "10.8.0.1/24");
        for (unsigned i = 2; i <= 254; i++) {
                ASSERT_OK(addr_pool_allocate(p, &a));
                char want[32];
                snprintf(want, sizeof(want), "10.8.0.%u/32", i);
                ASSERT_STREQ(ip_prefix_to_string(&a, buf), want);
        }
        ASSERT_EQ(addr_pool_n_used(p), 253);
        ASSERT_ERR(addr_pool_allocate(p, &a), ENOSPC);

        /* release + reuse, lowest first */
        IpPrefix x = P("10.8.0.100"), y = P("10.8.0.7"), z = P("10.8.0.254");
        ASSERT_OK(addr_pool_release(p, &x));
        ASSERT_OK(addr_pool_release(p, &z));
        ASSERT_OK(addr_pool_release(p, &y));
        ASSERT_ERR(addr_pool_release(p, &y), ENOENT);
        ASSERT_FALSE(addr_pool_is_used(p, &y));
        ASSERT_EQ(addr_pool_n_used(p), 250);
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.8.0.7/32");
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.8.0.100/32");
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.8.0.254/32");
        ASSERT_ERR(addr_pool_allocate(p, &a), ENOSPC);
        addr_pool_free(p);
}

TEST(holes) {
        /* An imported server whose site gateway routes 10.8.0.0/29 and 10.8.0.64/26 inside
         * 10.8.0.1/24: those addresses are never handed out. */
        AddrPool *p = pool("10.8.0.1/24");
        IpPrefix holes[] = { P("10.8.0.0/29"), P("10.8.0.64/26"), P("fd00::/64"), P("192.168.1.0/24"),
                             P("0.0.0.0/0"), P("10.0.0.0/8") };
        IpPrefix a, pk;
        char buf[IP_PREFIX_STRLEN];
        size_t n = 0;

        IpPrefix used = P("10.8.0.9");
        ASSERT_OK(addr_pool_reserve(p, &used));
        ASSERT_OK(addr_pool_peek_outside(p, holes, 4, &pk));
        ASSERT_STREQ(ip_prefix_to_string(&pk, buf), "10.8.0.8/32");
        for (;;) {
                int r = addr_pool_peek_outside(p, holes, 4, &pk);
                int q = addr_pool_allocate_outside(p, holes, 4, &a);
                if (q == -ENOSPC) {
                        ASSERT_EQ(r, -ENOSPC);
                        break;
                }
                ASSERT_OK(q);
                ASSERT_TRUE(ip_prefix_equal(&a, &pk));
                for (size_t i = 0; i < 2; i++)
                        if (ip_prefix_contains(&holes[i], &a))
                                TEST_FAIL("%s handed out inside a hole", ip_prefix_to_string(&a, buf));
                n++;
        }
        /* 253 host addresses but the 7 of the /29 (10.8.0.1 is the server's), the 64 of the
         * /26 and the one used */
        ASSERT_EQ(n, 253 - 6 - 64 - 1);
        /* the plain allocation still reaches into them */
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.8.0.2/32");
        addr_pool_free(p);

        /* a hole ending at the subnet's end, a hole that is the whole subnet, and holes wider
         * than the subnet (ignored: the default route of a client config) */
        p = pool("10.9.0.1/30");
        IpPrefix tail[] = { P("10.9.0.2/31") }, whole[] = { P("10.9.0.0/30") };
        ASSERT_ERR(addr_pool_allocate_outside(p, tail, 1, &a), ENOSPC);
        ASSERT_ERR(addr_pool_peek_outside(p, whole, 1, &a), ENOSPC);
        ASSERT_OK(addr_pool_allocate_outside(p, holes + 4, 2, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.9.0.2/32");
        addr_pool_free(p);

        /* nested holes, given in any order: the wider one counts */
        p = pool("10.7.0.1/24");
        IpPrefix nested[] = { P("10.7.0.16/28"), P("10.7.0.64/26"), P("10.7.0.0/26"), P("10.7.0.80/29") };
        ASSERT_OK(addr_pool_peek_outside(p, nested, 4, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.7.0.128/32");
        addr_pool_free(p);

        /* 8,000 holes (/32s) between taken addresses of a /16: one pass, not a scan of every
         * hole for each step (that took 0.6 s an allocation) */
        p = pool("10.6.0.1/16");
        static IpPrefix many[8000];
        for (unsigned i = 0; i < 8000; i++) {
                char t[32];
                snprintf(t, sizeof(t), "10.6.%u.%u/32", (2 * i + 3) / 256, (2 * i + 3) % 256);
                many[7999 - i] = P(t);          /* reversed: the order given does not matter */
                snprintf(t, sizeof(t), "10.6.%u.%u", (2 * i + 2) / 256, (2 * i + 2) % 256);
                IpPrefix u = P(t);
                ASSERT_OK(addr_pool_reserve(p, &u));
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ASSERT_OK(addr_pool_peek_outside(p, many, 8000, &a));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.6.62.130/32");   /* 2 + 2 * 8000 */
        double ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > 100)
                TEST_FAIL("8,000 holes took %.1f ms", ms);
        addr_pool_free(p);

        /* IPv6: a /120 at the start of a /64 */
        p = pool("fd00:8::1/64");
        IpPrefix v6[] = { P("fd00:8::/120") };
        ASSERT_OK(addr_pool_allocate_outside(p, v6, 1, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "fd00:8::100/128");
        addr_pool_free(p);
}

TEST(errors) {
        AddrPool *p = pool("10.8.0.1/24");
        IpPrefix a;

        a = P("10.8.0.5");
        ASSERT_OK(addr_pool_reserve(p, &a));
        ASSERT_ERR(addr_pool_reserve(p, &a), EEXIST);
        ASSERT_TRUE(addr_pool_is_used(p, &a));
        ASSERT_EQ(addr_pool_n_used(p), 1);

        a = P("10.8.1.5");
        ASSERT_ERR(addr_pool_reserve(p, &a), ERANGE);
        ASSERT_ERR(addr_pool_release(p, &a), ERANGE);
        ASSERT_FALSE(addr_pool_is_used(p, &a));
        a = P("fd00::5");
        ASSERT_ERR(addr_pool_reserve(p, &a), ERANGE);
        a = P("10.8.0.5/24");
        ASSERT_ERR(addr_pool_reserve(p, &a), EINVAL);

        static const char *const specials[] = { "10.8.0.0", "10.8.0.255", "10.8.0.1" };
        for (size_t i = 0; i < 3; i++) {
                a = P(specials[i]);
                ASSERT_ERR(addr_pool_reserve(p, &a), EADDRNOTAVAIL);
                ASSERT_ERR(addr_pool_release(p, &a), ENOENT);
                ASSERT_FALSE(addr_pool_is_used(p, &a));
        }
        a = P("10.8.0.2");
        ASSERT_ERR(addr_pool_release(p, &a), ENOENT);
        ASSERT_EQ(addr_pool_n_used(p), 1);
        addr_pool_free(p);

        p = pool("fd00::1/64");
        static const char *const specials6[] = { "fd00::", "fd00::1" };
        for (size_t i = 0; i < 2; i++) {
                a = P(specials6[i]);
                ASSERT_ERR(addr_pool_reserve(p, &a), EADDRNOTAVAIL);
        }
        a = P("fd00::ffff:ffff:ffff:ffff");    /* no broadcast in IPv6 */
        ASSERT_OK(addr_pool_reserve(p, &a));
        a = P("fd00:0:0:1::1");
        ASSERT_ERR(addr_pool_reserve(p, &a), ERANGE);
        a = P("10.0.0.1");
        ASSERT_ERR(addr_pool_reserve(p, &a), ERANGE);
        addr_pool_free(p);

        IpPrefix bad = { .family = AF_UNIX, .prefixlen = 8 };
        AddrPool *q = NULL;
        ASSERT_ERR(addr_pool_new(&bad, &q), EINVAL);
        bad = P("10.0.0.0/24");
        bad.prefixlen = 33;
        ASSERT_ERR(addr_pool_new(&bad, &q), EINVAL);
        ASSERT_TRUE(q == NULL);

        /* the cleanup helper */
        {
                _cleanup_(addr_pool_freep) AddrPool *c = pool("10.0.0.0/8");
                ASSERT_TRUE(c);
        }
}

TEST(ipv6_64) {
        AddrPool *p = pool("fd00:1::1/64");
        IpPrefix a;
        char buf[IP_PREFIX_STRLEN];

        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "fd00:1::2/128");
        IpPrefix r = P("fd00:1::3");
        ASSERT_OK(addr_pool_reserve(p, &r));
        r = P("fd00:1::5");
        ASSERT_OK(addr_pool_reserve(p, &r));
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "fd00:1::4/128");
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "fd00:1::6/128");

        /* many: crosses 16-bit group boundaries */
        for (unsigned i = 7; i < 70000; i++)
                ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "fd00:1::1:116f/128");
        ASSERT_EQ(addr_pool_n_used(p), 70000 - 2);
        /* release one from the middle: it is the next one handed out */
        r = P("fd00:1::8000");
        ASSERT_OK(addr_pool_release(p, &r));
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_TRUE(ip_prefix_equal(&a, &r));
        addr_pool_free(p);

        /* a /0 has a 128-bit host part: the highest address must work */
        p = pool("::/0");
        r = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        ASSERT_OK(addr_pool_reserve(p, &r));
        ASSERT_TRUE(addr_pool_is_used(p, &r));
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "::1/128");
        ASSERT_OK(addr_pool_release(p, &r));
        addr_pool_free(p);

        p = pool("0.0.0.0/0");
        r = P("255.255.255.254");
        ASSERT_OK(addr_pool_reserve(p, &r));
        r = P("255.255.255.255");
        ASSERT_ERR(addr_pool_reserve(p, &r), EADDRNOTAVAIL);
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "0.0.0.1/32");
        addr_pool_free(p);
}

TEST(large_ipv4_16) {
        AddrPool *p = pool("10.20.0.1/16");
        IpPrefix a;
        char buf[IP_PREFIX_STRLEN];

        /* reserve every other address, then fill: merging of ranges */
        for (unsigned i = 2; i < 65534; i += 2) {
                IpPrefix r = { .family = AF_INET, .prefixlen = 32 };
                r.addr.bytes[0] = 10;
                r.addr.bytes[1] = 20;
                r.addr.bytes[2] = (uint8_t) (i >> 8);
                r.addr.bytes[3] = (uint8_t) i;
                ASSERT_OK(addr_pool_reserve(p, &r));
        }
        ASSERT_OK(addr_pool_allocate(p, &a));
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.20.0.3/32");
        size_t n = addr_pool_n_used(p);
        while (addr_pool_allocate(p, &a) >= 0)
                n++;
        ASSERT_EQ(addr_pool_n_used(p), n);
        ASSERT_EQ(n, 65536 - 3);
        ASSERT_STREQ(ip_prefix_to_string(&a, buf), "10.20.255.254/32");
        addr_pool_free(p);
}

/* Randomized cross-check against a naive bitmap model. */
typedef struct Model {
        IpPrefix subnet;
        unsigned hostbits;
        bool used[1024];
        bool special[1024];
} Model;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t) (rng_state % n);
}

static IpPrefix model_addr(const Model *m, uint32_t off) {
        IpPrefix a = m->subnet;
        size_t n = a.family == AF_INET ? 4 : 16;
        ip_prefix_mask(&a);
        a.addr.bytes[n - 1] |= (uint8_t) off;
        a.addr.bytes[n - 2] |= (uint8_t) (off >> 8);
        a.prefixlen = (uint8_t) (n * 8);
        return a;
}

static void test_random_one(const char *subnet, unsigned n_ops) {
        static Model m;
        memset(&m, 0, sizeof(m));
        m.subnet = P(subnet);
        m.hostbits = (unsigned) ip_family_bits(m.subnet.family) - m.subnet.prefixlen;
        uint32_t size = 1u << m.hostbits;
        size_t n = m.subnet.family == AF_INET ? 4 : 16;
        uint32_t server = (uint32_t) (m.subnet.addr.bytes[n - 1] | m.subnet.addr.bytes[n - 2] << 8) & (size - 1);

        if (m.subnet.family == AF_INET && m.hostbits >= 2)
                m.special[0] = m.special[size - 1] = true;
        if (m.subnet.family == AF_INET6 && m.hostbits >= 2)
                m.special[0] = true;
        if (server || m.hostbits <= 1)
                m.special[server] = true;

        AddrPool *p = pool(subnet);
        size_t n_used = 0;
        for (unsigned op = 0; op < n_ops; op++) {
                uint32_t off = rnd(size);
                IpPrefix a = model_addr(&m, off), got;
                int r;
                char buf[IP_PREFIX_STRLEN];

                switch (rnd(4)) {
                case 0: /* reserve */
                        r = addr_pool_reserve(p, &a);
                        if (m.special[off]) {
                                if (r != -EADDRNOTAVAIL)
                                        TEST_FAIL("%s: reserve %s: %d", subnet, ip_addr_to_string(&a, buf), r);
                        } else if (m.used[off]) {
                                if (r != -EEXIST)
                                        TEST_FAIL("%s: reserve %s: %d", subnet, ip_addr_to_string(&a, buf), r);
                        } else {
                                if (r != 0)
                                        TEST_FAIL("%s: reserve %s: %d", subnet, ip_addr_to_string(&a, buf), r);
                                m.used[off] = true;
                                n_used++;
                        }
                        break;
                case 1: /* release */
                        r = addr_pool_release(p, &a);
                        if (m.used[off]) {
                                if (r != 0)
                                        TEST_FAIL("%s: release %s: %d", subnet, ip_addr_to_string(&a, buf), r);
                                m.used[off] = false;
                                n_used--;
                        } else if (r != -ENOENT)
                                TEST_FAIL("%s: release %s: %d", subnet, ip_addr_to_string(&a, buf), r);
                        break;
                case 2: { /* allocate */
                        uint32_t want = 0;
                        while (want < size && (m.used[want] || m.special[want]))
                                want++;
                        r = addr_pool_allocate(p, &got);
                        if (want == size) {
                                if (r != -ENOSPC)
                                        TEST_FAIL("%s: allocate when full: %d", subnet, r);
                        } else {
                                IpPrefix w = model_addr(&m, want);
                                if (r != 0 || !ip_prefix_equal(&got, &w))
                                        TEST_FAIL("%s: allocate: %d, expected %s", subnet, r,
                                                  ip_addr_to_string(&w, buf));
                                m.used[want] = true;
                                n_used++;
                        }
                        break;
                }
                default: /* query */
                        if (addr_pool_is_used(p, &a) != m.used[off])
                                TEST_FAIL("%s: is_used %s", subnet, ip_addr_to_string(&a, buf));
                        break;
                }
                if (addr_pool_n_used(p) != n_used)
                        TEST_FAIL("%s: n_used %zu, expected %zu", subnet, addr_pool_n_used(p), n_used);
        }
        /* drain: the full state must agree address by address */
        for (uint32_t off = 0; off < size; off++) {
                IpPrefix a = model_addr(&m, off);
                ASSERT_EQ(addr_pool_is_used(p, &a), m.used[off]);
        }
        addr_pool_free(p);
}

TEST(random_vs_bitmap) {
        static const char *const subnets[] = {
                "10.0.0.0/32", "10.0.0.1/31", "10.0.0.0/30", "10.0.0.2/29", "10.0.0.0/28",
                "10.0.0.77/25", "10.0.0.1/24", "10.0.0.0/23", "172.16.0.200/22",
                "fd00::/128", "fd00::/127", "fd00::1/126", "fd00::/125", "fd00::9/124",
                "fd00::1/120", "fd00::ff/118", "fd00::100/119",
        };
        for (size_t i = 0; i < sizeof(subnets) / sizeof(subnets[0]); i++)
                test_random_one(subnets[i], 20000);
}

TEST_MAIN()
