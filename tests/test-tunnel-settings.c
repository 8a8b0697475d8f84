/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tunnel options' checks and undo (daemon/tunnel-settings.c) on a manager without bus,
 * database or backend. */
#include <systemd/sd-bus.h>

#include "manager.h"
#include "test.h"
#include "tunnel-settings.h"
#include "tunnel.h"

static Manager *manager(void) {
        ManagerConfig c = { .state_dir = (char *) "/nonexistent", .tick_usec = 1000000 };
        Manager *m = NULL;
        ASSERT_OK(manager_new(&c, &m));
        return m;
}

static IpPrefix prefix(const char *s) {
        IpPrefix p;
        if (ip_prefix_parse(s, false, &p) < 0)
                TEST_FAIL("cannot parse '%s'", s);
        return p;
}

static IpPrefix *prefixes(const char *s) {
        IpPrefix *l = calloc(2, sizeof(IpPrefix));
        ASSERT_TRUE(l);
        l[0] = prefix(s);
        return l;
}

/* ImportPairing(reply)'s undo: settings and pairing come back; the routes and the endpoint
 * seen on the device, which tunnel_apply() freed and replaced in between, stay the new
 * ones (a copy of the whole tunnel put freed pointers back: a double free). */
TEST(settings_save_restore) {
        Manager *m = manager();
        Tunnel *t = NULL, saved = {0};
        IpPrefix *routes;
        char *endpoint;

        ASSERT_OK(tunnel_new(m, 1, "t", "wgt0", &t));
        t->remote_networks = prefixes("10.1.0.0/24");
        t->n_remote_networks = 1;
        t->routes = prefixes("10.1.0.0/24");
        t->n_routes = 1;
        t->pairing = TUNNEL_PAIRING_OFFERED;
        t->pairing_id[0] = 0x42;
        t->pairing_expires = 1000;
        t->has_pending_psk = true;
        t->pending_psk_sealed[0] = 0x17;
        ASSERT_OK(tunnel_settings_save(t, &saved));

        /* What import_reply() changes, then what tunnel_apply() does. */
        free(t->remote_networks);
        t->remote_networks = prefixes("10.2.0.0/24");
        ASSERT_OK(set_string(&t->remote_endpoint, "192.0.2.1:51820", NULL));
        t->has_remote_key = true;
        t->remote_public_key[0] = 1;
        t->has_psk = true;
        t->psk_sealed[0] = 9;
        t->pairing = TUNNEL_PAIRING_NONE;
        t->has_pending_psk = false;
        free(t->routes);
        t->routes = routes = prefixes("10.2.0.0/24");
        ASSERT_OK(set_string(&t->endpoint, "192.0.2.1:51820", NULL));
        endpoint = t->endpoint;

        tunnel_settings_restore(t, &saved);
        ASSERT_EQ(t->n_remote_networks, 1);
        IpPrefix before = prefix("10.1.0.0/24");
        ASSERT_TRUE(ip_prefix_equal(&t->remote_networks[0], &before));
        ASSERT_STREQ(t->remote_endpoint, "");
        ASSERT_FALSE(t->has_remote_key);
        ASSERT_EQ(t->remote_public_key[0], 0);
        ASSERT_FALSE(t->has_psk);
        ASSERT_EQ(t->psk_sealed[0], 0);
        ASSERT_EQ(t->pairing, TUNNEL_PAIRING_OFFERED);
        ASSERT_EQ(t->pairing_id[0], 0x42);
        ASSERT_EQ(t->pairing_expires, 1000);
        ASSERT_TRUE(t->has_pending_psk);
        ASSERT_EQ(t->pending_psk_sealed[0], 0x17);
        ASSERT_TRUE(t->routes == routes);
        ASSERT_TRUE(t->endpoint == endpoint);
        tunnel_settings_saved_done(&saved);
        tunnel_free(t);
        manager_free(m);
}

/* "a,b" as a NULL-terminated list in buf (at most 3 entries). */
static char **list(const char *csv, char *buf, size_t size, char *out[4]) {
        size_t n = 0;
        if (!csv)
                return NULL;
        snprintf(buf, size, "%s", csv);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < 3; tok = strtok_r(NULL, ",", &save))
                out[n++] = tok;
        out[n] = NULL;
        return out;
}

/* CreateTunnel's (self NULL) or Update's checks with these options; expect NULL: accepted,
 * else a part of the InvalidArgs message. */
static void test_check_one(Tunnel *self, const char *remote, const char *endpoint, const char *address,
                           const char *local, const char *expect) {
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        char b1[128], b2[128], b3[128], *l1[4], *l2[4], *l3[4];
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        TunnelSettings s = {0};
        Manager *m = self ? self->manager : manager();

        o[TOPT_REMOTE_NETWORKS].as = list(remote, b1, sizeof(b1), l1);
        o[TOPT_REMOTE_NETWORKS].set = remote;
        o[TOPT_REMOTE_ENDPOINT].s = endpoint;
        o[TOPT_REMOTE_ENDPOINT].set = endpoint;
        o[TOPT_TUNNEL_ADDRESSES].as = list(address, b2, sizeof(b2), l2);
        o[TOPT_TUNNEL_ADDRESSES].set = address;
        o[TOPT_LOCAL_NETWORKS].as = list(local, b3, sizeof(b3), l3);
        o[TOPT_LOCAL_NETWORKS].set = local;
        int r = tunnel_settings_check(m, self, "wgt0", o, self ? USE_UPDATE : USE_CREATE, &s, &e);
        tunnel_settings_done(&s);
        if (!self)
                manager_free(m);
        if (!expect) {
                if (r < 0)
                        TEST_FAIL("remote %s, endpoint %s, address %s, local %s refused: %s", remote, endpoint,
                                  address, local, e.message);
                return;
        }
        if (r >= 0)
                TEST_FAIL("remote %s, endpoint %s, address %s, local %s accepted, expected '%s'", remote, endpoint,
                          address, local, expect);
        ASSERT_STREQ(e.name, SD_BUS_ERROR_INVALID_ARGS);
        if (!strstr(e.message, expect))
                TEST_FAIL("'%s' does not say '%s'", e.message, expect);
}

/* A /1 would take the default route (the route checks see it free), and a routed prefix
 * holding the remote endpoint would send the tunnel's own packets into it. */
TEST(remote_networks_bounded) {
        test_check_one(NULL, "10.1.0.0/24", NULL, NULL, NULL, NULL);
        test_check_one(NULL, "0.0.0.0/1,128.0.0.0/1", NULL, NULL, NULL, "Invalid remote network '0.0.0.0/1': a /1");
        test_check_one(NULL, "128.0.0.0/1", NULL, NULL, NULL, "Invalid remote network '128.0.0.0/1'");
        test_check_one(NULL, "::/1", NULL, NULL, NULL, "Invalid remote network '::/1'");
        test_check_one(NULL, "8000::/1", NULL, NULL, NULL, "Invalid remote network '8000::/1'");
        test_check_one(NULL, NULL, NULL, NULL, "128.0.0.0/1", "Invalid local network '128.0.0.0/1'");
        /* a /0 gets no route: AllowedIPs only */
        test_check_one(NULL, "0.0.0.0/0,::/0", "192.0.2.1:51820", NULL, NULL, NULL);
        /* four /2s would take all of it too: a tunnel's networks are /8 or longer (IPv6 /7) */
        test_check_one(NULL, "0.0.0.0/2", NULL, NULL, NULL, "Invalid remote network '0.0.0.0/2': wider than /8");
        test_check_one(NULL, "8.0.0.0/7", NULL, NULL, NULL, "Invalid remote network '8.0.0.0/7'");
        test_check_one(NULL, "2000::/3", NULL, NULL, NULL, "Invalid remote network '2000::/3': wider than /7");
        test_check_one(NULL, NULL, NULL, NULL, "0.0.0.0/4", "Invalid local network '0.0.0.0/4'");
        test_check_one(NULL, "10.0.0.0/8,fc00::/7", NULL, NULL, NULL, NULL);
        test_check_one(NULL, "192.0.2.0/24", "192.0.2.1:51820", NULL, NULL,
                       "Remote network '192.0.2.0/24' holds the remote endpoint 192.0.2.1:51820");
        test_check_one(NULL, "10.1.0.0/24,2001:db8::/32", "[2001:db8::1]:51820", NULL, NULL,
                       "Remote network '2001:db8::/32' holds the remote endpoint [2001:db8::1]:51820");
        test_check_one(NULL, "192.0.2.0/25", "192.0.2.200:51820", NULL, NULL, NULL);
        /* an IPv4 endpoint written as IPv6 would pass the IPv4 networks by */
        test_check_one(NULL, "192.0.2.0/24", "[::ffff:192.0.2.1]:51820", NULL, NULL,
                       "Invalid remote endpoint '[::ffff:192.0.2.1]:51820': an IPv4 address written as IPv6");
        /* ... and in an offer, which does not pass those checks, it is read as IPv4 */
        {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                IpPrefix net;
                ASSERT_OK(ip_prefix_parse("192.0.2.0/24", false, &net));
                ASSERT_TRUE(tunnel_check_endpoint_outside("[::ffff:192.0.2.1]:51820", &net, 1, NULL, 0, &e) < 0);
                ASSERT_TRUE(strstr(e.message, "Remote network '192.0.2.0/24' holds the remote endpoint"));
        }
        test_check_one(NULL, NULL, "10.255.0.7:1", "10.255.0.1/29", NULL,
                       "Tunnel subnet '10.255.0.0/29' holds the remote endpoint 10.255.0.7:1");
        test_check_one(NULL, NULL, "10.255.0.9:1", "10.255.0.1/29", NULL, NULL);
}

/* Update checks what the tunnel becomes: a new network against the endpoint it has, a new
 * endpoint against the networks it has. */
TEST(update_endpoint_outside) {
        Manager *m = manager();
        Tunnel *t = NULL;

        ASSERT_OK(tunnel_new(m, 1, "t", "wgt0", &t));
        ASSERT_OK(set_string(&t->remote_endpoint, "203.0.113.9:51820", NULL));
        t->remote_networks = prefixes("198.51.100.0/24");
        t->n_remote_networks = 1;
        ASSERT_OK(tunnel_attach(t));
        test_check_one(t, "203.0.113.0/24", NULL, NULL, NULL,
                       "Remote network '203.0.113.0/24' holds the remote endpoint 203.0.113.9:51820");
        test_check_one(t, NULL, "198.51.100.1:51820", NULL, NULL,
                       "Remote network '198.51.100.0/24' holds the remote endpoint 198.51.100.1:51820");
        test_check_one(t, NULL, "", NULL, NULL, NULL);
        test_check_one(t, "203.0.113.0/25", "203.0.113.200:51820", NULL, NULL, NULL);
        manager_free(m);
}

/* What a tunnel routes, for the other checks: its routed remote networks and, also while it
 * is inactive, the prefixes of its tunnel addresses. */
static void test_routing_one(Manager *m, const char *p, const Tunnel *except, const char *expect_net,
                             bool expect_address) {
        IpPrefix q = prefix(p), net;
        char buf[IP_PREFIX_STRLEN];
        bool address = !expect_address;
        Tunnel *t = manager_tunnel_routing(m, &q, except, &net, &address);

        if (!expect_net) {
                if (t)
                        TEST_FAIL("%s: routed by tunnel '%s' (%s)", p, t->name, ip_prefix_to_string(&net, buf));
                return;
        }
        if (!t)
                TEST_FAIL("%s: no tunnel routes it, expected %s", p, expect_net);
        ASSERT_STREQ(ip_prefix_to_string(&net, buf), expect_net);
        ASSERT_EQ(address, expect_address);
}

static void test_check_routing_one(Manager *m, const char *p, bool is_address, const char *expect_name,
                                   const char *expect) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        IpPrefix q = prefix(p);
        int r = manager_check_tunnel_routing(m, &q, is_address, NULL, "Subnet 'x'", &e);

        if (!expect_name) {
                ASSERT_EQ(r, 0);
                return;
        }
        ASSERT_TRUE(r < 0);
        ASSERT_STREQ(e.name, expect_name);
        if (!strstr(e.message, expect))
                TEST_FAIL("'%s' does not say '%s'", e.message, expect);
}

TEST(tunnel_routing_covers_addresses) {
        Manager *m = manager();
        Tunnel *t = NULL;

        ASSERT_OK(tunnel_new(m, 1, "x", "wgt0", &t));
        t->tunnel_addresses[0] = prefix("10.255.9.1/31");
        t->tunnel_addresses[1] = prefix("fd00:9::1/127");
        t->n_tunnel_addresses = 2;
        t->remote_networks = calloc(3, sizeof(IpPrefix));
        ASSERT_TRUE(t->remote_networks);
        t->remote_networks[0] = prefix("10.72.0.0/24");
        t->remote_networks[1] = prefix("0.0.0.0/0");
        t->n_remote_networks = 2;
        t->active = false;
        ASSERT_OK(tunnel_attach(t));

        test_routing_one(m, "10.255.9.0/24", NULL, "10.255.9.0/31", true);
        test_routing_one(m, "10.255.9.1/24", NULL, "10.255.9.0/31", true);   /* a network's server address */
        test_routing_one(m, "10.255.9.0/31", NULL, "10.255.9.0/31", true);
        test_routing_one(m, "10.255.9.0/32", NULL, "10.255.9.0/31", true);
        test_routing_one(m, "10.255.9.2/31", NULL, NULL, false);
        test_routing_one(m, "fd00:9::/64", NULL, "fd00:9::/127", true);
        test_routing_one(m, "fd00:9::2/127", NULL, NULL, false);
        test_routing_one(m, "10.72.0.128/25", NULL, "10.72.0.0/24", false);
        test_routing_one(m, "192.0.2.0/24", NULL, NULL, false);              /* the /0 is not routed */
        test_routing_one(m, "10.255.9.0/24", t, NULL, false);

        /* a subnet of this host against a tunnel subnet: AddressInUse, as between networks */
        test_check_routing_one(m, "10.255.9.1/24", true, "org.wgnet1.Error.AddressInUse",
                               "Subnet 'x' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'x'");
        /* a route (a site network, a remote network) against it: RouteInUse */
        test_check_routing_one(m, "10.255.9.0/24", false, "org.wgnet1.Error.RouteInUse",
                               "Subnet 'x' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'x'");
        test_check_routing_one(m, "10.72.0.1/24", true, "org.wgnet1.Error.RouteInUse",
                               "Subnet 'x' overlaps remote network '10.72.0.0/24' of tunnel 'x'");
        test_check_routing_one(m, "10.73.0.1/24", true, NULL, NULL);

        /* CreateTunnel: a second tunnel with the same /31, or routing over the first's */
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        IpPrefix same = prefix("10.255.9.0/31"), over = prefix("10.255.0.0/16");
        ASSERT_TRUE(tunnel_check_tunnel_addresses(m, NULL, "wgt1", &same, 1, &e) < 0);
        ASSERT_STREQ(e.name, "org.wgnet1.Error.AddressInUse");
        ASSERT_TRUE(strstr(e.message, "Tunnel subnet '10.255.9.0/31' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'x'"));
        sd_bus_error_free(&e);
        ASSERT_TRUE(tunnel_check_remote_networks(m, NULL, "wgt1", &over, 1, &e) < 0);
        ASSERT_STREQ(e.name, "org.wgnet1.Error.RouteInUse");
        ASSERT_TRUE(strstr(e.message, "Remote network '10.255.0.0/16' overlaps tunnel subnet '10.255.9.0/31' of tunnel 'x'"));
        /* Update of that tunnel itself: its own subnet is no conflict */
        sd_bus_error_free(&e);
        ASSERT_OK(tunnel_check_tunnel_addresses(m, t, "wgt0", &same, 1, &e));
        manager_free(m);
}

TEST_MAIN()
