/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every method on the bus is in the polkit table (deny by default), and every entry of
 * the table names a method that exists. */
#include <systemd/sd-bus.h>

#include "manager.h"
#include "mesh.h"
#include "test.h"
#include "tunnel.h"
#include "wgnet-error.h"

static const struct {
        const char *interface;
        const sd_bus_vtable *vtable;
} vtables[] = {
        { WGNET_MANAGER_INTERFACE, manager_vtable },
        { WGNET_NETWORK_INTERFACE, network_vtable },
        { WGNET_PEER_INTERFACE, peer_vtable },
        { WGNET_TUNNEL_INTERFACE, tunnel_vtable },
        { WGNET_MESH_INTERFACE, mesh_vtable },
};

static const char *const secret_methods[] = { "GetConfig", "GetQRCode", "Export", "RotateKeys", "GetPairing",
                                               "CreateInvitation" };

TEST(every_method_has_an_action) {
        unsigned n_methods = 0;
        for (size_t v = 0; v < ELEMENTSOF(vtables); v++)
                for (const sd_bus_vtable *e = vtables[v].vtable; e->type != _SD_BUS_VTABLE_END; e++) {
                        if (e->type != _SD_BUS_VTABLE_METHOD)
                                continue;
                        n_methods++;
                        const MethodAction *a = method_action_lookup(vtables[v].interface, e->x.method.member);
                        if (!a)
                                TEST_FAIL("%s.%s is not in the polkit table", vtables[v].interface, e->x.method.member);
                        /* The methods are callable by anyone: polkit is what guards them. */
                        ASSERT_TRUE(e->flags & SD_BUS_VTABLE_UNPRIVILEGED);
                        for (size_t s = 0; s < ELEMENTSOF(secret_methods); s++)
                                if (streq(e->x.method.member, secret_methods[s]))
                                        ASSERT_TRUE(streq_ptr(a->action, "org.wgnet1.read-secrets") ||
                                                    streq_ptr(a->action2, "org.wgnet1.read-secrets"));
                }
        ASSERT_TRUE(n_methods >= 21);
}

TEST(every_table_entry_is_a_method) {
        for (const MethodAction *a = method_actions; a->interface; a++) {
                bool found = false;
                for (size_t v = 0; v < ELEMENTSOF(vtables); v++) {
                        if (!streq(vtables[v].interface, a->interface))
                                continue;
                        for (const sd_bus_vtable *e = vtables[v].vtable; e->type != _SD_BUS_VTABLE_END; e++)
                                if (e->type == _SD_BUS_VTABLE_METHOD && streq(e->x.method.member, a->member))
                                        found = true;
                }
                if (!found)
                        TEST_FAIL("table entry %s.%s has no method", a->interface, a->member);
                if (a->action)
                        ASSERT_TRUE(streq(a->action, "org.wgnet1.manage-networks") ||
                                    streq(a->action, "org.wgnet1.manage-peers") ||
                                    streq(a->action, "org.wgnet1.read-secrets"));
        }
}

/* The only methods without an authorization: they read what the properties already show
 * anyone (the README's departures say why). A new entry here is a decision, not a slip. */
static const char *const public_methods[][2] = {
        { WGNET_MANAGER_INTERFACE, "GetNetworkByName" }, { WGNET_MANAGER_INTERFACE, "ListNetworks" },
        { WGNET_NETWORK_INTERFACE, "NextAddresses" },     { WGNET_NETWORK_INTERFACE, "GetStats" },
        { WGNET_PEER_INTERFACE, "GetTransferHistory" },   { WGNET_NETWORK_INTERFACE, "GetMetrics" },
        { WGNET_NETWORK_INTERFACE, "GetMetricsColumns" },
};

TEST(only_reads_are_public) {
        for (const MethodAction *a = method_actions; a->interface; a++) {
                bool public = false;
                for (size_t i = 0; i < ELEMENTSOF(public_methods); i++)
                        public = public || (streq(a->interface, public_methods[i][0]) &&
                                            streq(a->member, public_methods[i][1]));
                if (public != (a->action == NULL))
                        TEST_FAIL("%s.%s: %s", a->interface, a->member,
                                  public ? "a read method asks for an authorization"
                                         : "has no authorization and is not a read method");
                /* Removing, updating and adding are never read-secrets alone. */
                if (!public && !a->action2 &&
                    (strncmp(a->member, "Add", 3) == 0 || strncmp(a->member, "Remove", 6) == 0 || streq(a->member, "Update") ||
                     streq(a->member, "Delete")))
                        ASSERT_TRUE(!streq(a->action, "org.wgnet1.read-secrets"));
        }
}

TEST(unknown_method_is_denied) {
        ASSERT_TRUE(method_action_lookup(WGNET_PEER_INTERFACE, "NoSuchMethod") == NULL);
        ASSERT_TRUE(method_action_lookup("org.example.Other", "GetConfig") == NULL);
}

TEST_MAIN()
