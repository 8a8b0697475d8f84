/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tunnel options' checks and undo (daemon/tunnel-settings.c) on a manager without bus,
 * database or backend. */
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

TEST_MAIN()
