/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>

#include "macro.h"
#include "test.h"
#include "wgdevice.h"

TEST(device_new_names) {
        WgDevice *d = NULL;

        ASSERT_ERR(wg_device_new("", &d), EINVAL);
        ASSERT_ERR(wg_device_new(NULL, &d), EINVAL);
        ASSERT_ERR(wg_device_new("0123456789abcdef", &d), EINVAL);      /* 16 = IFNAMSIZ */
        ASSERT_TRUE(d == NULL);
        ASSERT_OK(wg_device_new("0123456789abcde", &d));                /* 15 */
        ASSERT_STREQ(d->name, "0123456789abcde");
        ASSERT_EQ(d->n_peers, 0);
        ASSERT_EQ(d->flags, 0);
        ASSERT_TRUE(wg_device_free(d) == NULL);
        ASSERT_TRUE(wg_device_free(NULL) == NULL);
}

TEST(device_peers_grow_and_find) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN] = { 0 };

        ASSERT_OK(wg_device_new("wg0", &d));
        for (unsigned i = 0; i < 300; i++) {
                k[0] = (uint8_t) i;
                k[1] = (uint8_t) (i >> 8);
                WgPeer *p = wg_device_add_peer(d, k);
                ASSERT_TRUE(p);
                ASSERT_EQ(p->flags, 0);
                ASSERT_EQ(p->n_allowed_ips, 0);
                ASSERT_MEMEQ(p->public_key, k, WG_KEY_LEN);
                for (unsigned j = 0; j < i % 7; j++) {
                        IpPrefix a = { .family = AF_INET, .prefixlen = 32 };
                        a.addr.in.s_addr = htonl(0x0a000000u + i * 8 + j);
                        ASSERT_OK(wg_peer_add_allowed_ip(p, &a));
                }
        }
        ASSERT_EQ(d->n_peers, 300);
        for (unsigned i = 0; i < 300; i++) {
                k[0] = (uint8_t) i;
                k[1] = (uint8_t) (i >> 8);
                WgPeer *p = wg_device_find_peer(d, k);
                ASSERT_TRUE(p == &d->peers[i]);
                ASSERT_EQ(p->n_allowed_ips, i % 7);
                for (unsigned j = 0; j < i % 7; j++)
                        ASSERT_EQ(ntohl(p->allowed_ips[j].addr.in.s_addr), 0x0a000000u + i * 8 + j);
        }
        k[1] = 0xff;
        ASSERT_TRUE(wg_device_find_peer(d, k) == NULL);
}

TEST(peer_allowed_ip_rejects_bad) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN] = { 1 };

        ASSERT_OK(wg_device_new("wg0", &d));
        WgPeer *p = wg_device_add_peer(d, k);
        ASSERT_TRUE(p);
        IpPrefix bad_family = { .family = AF_UNIX, .prefixlen = 0 };
        IpPrefix bad_len4 = { .family = AF_INET, .prefixlen = 33 };
        IpPrefix bad_len6 = { .family = AF_INET6, .prefixlen = 129 };
        ASSERT_ERR(wg_peer_add_allowed_ip(p, &bad_family), EINVAL);
        ASSERT_ERR(wg_peer_add_allowed_ip(p, &bad_len4), EINVAL);
        ASSERT_ERR(wg_peer_add_allowed_ip(p, &bad_len6), EINVAL);
        ASSERT_ERR(wg_peer_add_allowed_ip(p, NULL), EINVAL);
        ASSERT_EQ(p->n_allowed_ips, 0);
}

static void endpoint_ok_one(const char *in, const char *out, int family, uint16_t port) {
        WgEndpoint e;
        char buf[WG_ENDPOINT_STRLEN];

        memset(&e, 0xaa, sizeof(e));
        if (wg_endpoint_parse(in, &e) < 0)
                TEST_FAIL("endpoint '%s' rejected", in);
        ASSERT_EQ(e.sa.sa_family, family);
        ASSERT_EQ(ntohs(family == AF_INET ? e.in.sin_port : e.in6.sin6_port), port);
        ASSERT_STREQ(wg_endpoint_to_string(&e, buf), out);
        /* round trip */
        WgEndpoint e2;
        ASSERT_OK(wg_endpoint_parse(buf, &e2));
        ASSERT_STREQ(wg_endpoint_to_string(&e2, buf), out);
}

TEST(endpoint_parse_valid) {
        static const struct {
                const char *in, *out;
                int family;
                uint16_t port;
        } t[] = {
                { "1.2.3.4:51820", "1.2.3.4:51820", AF_INET, 51820 },
                { "0.0.0.0:1", "0.0.0.0:1", AF_INET, 1 },
                { "255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535 },
                { "[2001:db8::1]:51820", "[2001:db8::1]:51820", AF_INET6, 51820 },
                { "[::]:9", "[::]:9", AF_INET6, 9 },
                { "[2001:DB8:0:0:0:0:0:1]:443", "[2001:db8::1]:443", AF_INET6, 443 },
                { "[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80", AF_INET6, 80 },
                { "[fe80::1%1]:51820", "[fe80::1%1]:51820", AF_INET6, 51820 },
                { "[fe80::1%lo]:51820", "[fe80::1%1]:51820", AF_INET6, 51820 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                endpoint_ok_one(t[i].in, t[i].out, t[i].family, t[i].port);
}

TEST(endpoint_parse_invalid) {
        static const char *const bad[] = {
                "", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:051820",
                "1.2.3.4:+1", "1.2.3.4:-1", "1.2.3.4: 1", "1.2.3.4:1 ", " 1.2.3.4:1", "1.2.3:1",
                "01.2.3.4:1", "1.2.3.4:1:2", "1.2.3.256:1", "example.com:51820", "localhost:1",
                "2001:db8::1:51820", "[2001:db8::1]", "[2001:db8::1]51820", "[2001:db8::1]:",
                "[2001:db8::1]:0", "[1.2.3.4]:1", "[]:1", "[::1%]:1",
                "[::1%0]:1", "[::1]:1x", "[::1]]:1", "[[::1]:1", "1.2.3.4:99999999999",
                "[2001:db8::1]:51820x", "1.2.3.4:0x10",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                WgEndpoint e = { 0 };
                int r = wg_endpoint_parse(bad[i], &e);
                if (r != -EINVAL)
                        TEST_FAIL("endpoint '%s' accepted (%d)", bad[i], r);
                ASSERT_EQ(e.sa.sa_family, AF_UNSPEC);   /* untouched */
        }
        ASSERT_ERR(wg_endpoint_parse(NULL, &(WgEndpoint) { 0 }), EINVAL);

        /* a zone naming no interface (any more): -ENODEV, the endpoint without it */
        WgEndpoint e = { 0 };
        char buf[WG_ENDPOINT_STRLEN];
        ASSERT_ERR(wg_endpoint_parse("[fe80::1%nosuchif0]:51820", &e), ENODEV);
        ASSERT_STREQ(wg_endpoint_to_string(&e, buf), "[fe80::1]:51820");
}

TEST(endpoint_to_string_unspec) {
        WgEndpoint e = { 0 };
        char buf[WG_ENDPOINT_STRLEN] = "garbage";
        ASSERT_STREQ(wg_endpoint_to_string(&e, buf), "");
}

TEST_MAIN()
