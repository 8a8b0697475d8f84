/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink helpers against the real kernel, in a fresh network namespace of our own
 * (unshare(CLONE_NEWNET)): needs root (CAP_SYS_ADMIN), skips otherwise. */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "macro.h"
#include "rtnl.h"
#include "test.h"

static Rtnl *rtnl;
/* "dummy" where the module exists; a port-less bridge elsewhere (some hosts lack dummy). */
static const char *kind = "dummy";

static void setup(void) {
        static bool done, ok;

        if (!done) {
                done = true;
                if (geteuid() != 0)
                        return;
                if (unshare(CLONE_NEWNET) < 0)
                        return;
                ok = rtnl_open(&rtnl) >= 0;
        }
        if (!ok)
                SKIP(geteuid() != 0 ? "needs root" : "cannot create a network namespace");
}

static IpPrefix prefix(const char *s) {
        IpPrefix p;
        if (ip_prefix_parse(s, false, &p) < 0)
                TEST_FAIL("bad prefix %s", s);
        return p;
}

static bool has_addr(const char *ifname, const char *s) {
        _cleanup_(freep) IpPrefix *l = NULL;
        size_t n = 0;
        IpPrefix want = prefix(s);
        ASSERT_OK(rtnl_addr_list(rtnl, ifname, &l, &n));
        for (size_t i = 0; i < n; i++)
                if (ip_prefix_equal(&l[i], &want))
                        return true;
        return false;
}

/* Checked with iproute2: independent of our own parser. */
static bool has_route(const char *dst) {
        char cmd[256];
        IpPrefix p = prefix(dst);
        snprintf(cmd, sizeof(cmd), "ip %s route list exact %s dev tdummy0 | grep -q .",
                 p.family == AF_INET6 ? "-6" : "-4", dst);
        return system(cmd) == 0;
}

TEST(link_create_lookup_delete) {
        uint32_t idx = 0, idx2 = 0;

        setup();
        ASSERT_ERR(rtnl_link_ifindex(rtnl, "tdummy0", &idx), ENODEV);
        if (rtnl_link_create(rtnl, "tdummy0", kind) == -EOPNOTSUPP)
                kind = "bridge";
        ASSERT_ERR(rtnl_link_ifindex(rtnl, "tdummy0", &idx), ENODEV);
        ASSERT_OK(rtnl_link_create(rtnl, "tdummy0", kind));
        printf("  test links are of kind %s\n", kind);
        ASSERT_ERR(rtnl_link_create(rtnl, "tdummy0", kind), EEXIST);
        ASSERT_OK(rtnl_link_ifindex(rtnl, "tdummy0", &idx));
        ASSERT_TRUE(idx > 1);
        ASSERT_OK(rtnl_link_ifindex(rtnl, "lo", &idx2));
        ASSERT_EQ(idx2, 1);
        ASSERT_ERR(rtnl_link_create(rtnl, "tbogus0", "no-such-kind"), EOPNOTSUPP);
        ASSERT_ERR(rtnl_link_ifindex(rtnl, "", &idx), EINVAL);
        ASSERT_ERR(rtnl_link_ifindex(rtnl, "0123456789abcdef", &idx), EINVAL);

        ASSERT_OK(rtnl_link_create(rtnl, "tdummy1", kind));
        _cleanup_(strv_freep) char **l = NULL;
        ASSERT_OK(rtnl_link_list_kind(rtnl, kind, &l));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_STREQ(l[0], "tdummy0");
        ASSERT_STREQ(l[1], "tdummy1");
        strv_free(l);
        l = NULL;
        ASSERT_OK(rtnl_link_list_kind(rtnl, "wireguard", &l));
        ASSERT_EQ(strv_length(l), 0);
        ASSERT_OK(rtnl_link_delete(rtnl, "tdummy1"));
        ASSERT_ERR(rtnl_link_delete(rtnl, "tdummy1"), ENODEV);
        ASSERT_ERR(rtnl_link_ifindex(rtnl, "tdummy1", &idx), ENODEV);
}

TEST(link_up_mtu) {
        setup();
        ASSERT_OK(rtnl_link_set_mtu(rtnl, "tdummy0", 1380));
        ASSERT_OK(rtnl_link_set_mtu(rtnl, "tdummy0", 1380));
        ASSERT_ERR(rtnl_link_set_mtu(rtnl, "tdummy0", 0), EINVAL);
        ASSERT_ERR(rtnl_link_set_mtu(rtnl, "tnothere", 1380), ENODEV);
        ASSERT_OK(rtnl_link_set_up(rtnl, "tdummy0", true));
        ASSERT_OK(rtnl_link_set_up(rtnl, "tdummy0", true));
        ASSERT_EQ(system("ip link show tdummy0 | grep -q 'mtu 1380' && ip link show tdummy0 | grep -q '<.*UP'"), 0);
        ASSERT_OK(rtnl_link_set_up(rtnl, "tdummy0", false));
        ASSERT_NE(system("ip link show tdummy0 | grep -q '<.*UP'"), 0);
        ASSERT_OK(rtnl_link_set_up(rtnl, "tdummy0", true));
}

TEST(addresses_idempotent) {
        static const char *const addrs[] = { "10.8.0.1/24", "10.9.0.1/32", "fd00:8::1/64", "fd00:9::5/128" };

        setup();
        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                IpPrefix p = prefix(addrs[i]);
                ASSERT_FALSE(has_addr("tdummy0", addrs[i]));
                ASSERT_OK(rtnl_addr_add(rtnl, "tdummy0", &p));
                ASSERT_OK(rtnl_addr_add(rtnl, "tdummy0", &p));     /* again: not an error */
                ASSERT_TRUE(has_addr("tdummy0", addrs[i]));
        }
        /* one of each, no duplicates */
        _cleanup_(freep) IpPrefix *l = NULL;
        size_t n = 0, global = 0;
        ASSERT_OK(rtnl_addr_list(rtnl, "tdummy0", &l, &n));
        for (size_t i = 0; i < n; i++)
                if (!(l[i].family == AF_INET6 && l[i].addr.bytes[0] == 0xfe))   /* not link-local */
                        global++;
        ASSERT_EQ(global, ELEMENTSOF(addrs));
        ASSERT_EQ(system("ip -4 addr show dev tdummy0 | grep -q 'inet 10.8.0.1/24'"), 0);

        for (size_t i = 0; i < ELEMENTSOF(addrs); i++) {
                IpPrefix p = prefix(addrs[i]);
                ASSERT_OK(rtnl_addr_del(rtnl, "tdummy0", &p));
                ASSERT_OK(rtnl_addr_del(rtnl, "tdummy0", &p));     /* missing: not an error */
                ASSERT_FALSE(has_addr("tdummy0", addrs[i]));
        }
        IpPrefix p = prefix("10.8.0.1/24");
        ASSERT_ERR(rtnl_addr_add(rtnl, "tnothere", &p), ENODEV);
        IpPrefix bad = { .family = AF_INET, .prefixlen = 33 };
        ASSERT_ERR(rtnl_addr_add(rtnl, "tdummy0", &bad), EINVAL);
}

TEST(routes_idempotent) {
        static const char *const routes[] = { "192.168.50.0/24", "172.20.0.0/16", "fd10::/48", "10.77.0.5/32" };

        setup();
        ASSERT_OK(rtnl_link_set_up(rtnl, "tdummy0", true));
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                IpPrefix p = prefix(routes[i]);
                ASSERT_FALSE(has_route(routes[i]));
                ASSERT_OK(rtnl_route_add(rtnl, "tdummy0", &p));
                ASSERT_OK(rtnl_route_add(rtnl, "tdummy0", &p));
                ASSERT_TRUE(has_route(routes[i]));
        }
        /* host bits are masked off */
        IpPrefix hb = prefix("192.168.60.9/24");
        ASSERT_OK(rtnl_route_add(rtnl, "tdummy0", &hb));
        ASSERT_TRUE(has_route("192.168.60.0/24"));
        ASSERT_OK(rtnl_route_del(rtnl, "tdummy0", &hb));
        ASSERT_FALSE(has_route("192.168.60.0/24"));

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                IpPrefix p = prefix(routes[i]);
                ASSERT_OK(rtnl_route_del(rtnl, "tdummy0", &p));
                ASSERT_OK(rtnl_route_del(rtnl, "tdummy0", &p));
                ASSERT_FALSE(has_route(routes[i]));
        }
        IpPrefix p = prefix("192.168.50.0/24");
        ASSERT_ERR(rtnl_route_add(rtnl, "tnothere", &p), ENODEV);
}

TEST(cleanup) {
        setup();
        ASSERT_OK(rtnl_link_delete(rtnl, "tdummy0"));
        rtnl = rtnl_close(rtnl);
}

TEST_MAIN()
