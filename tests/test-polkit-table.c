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

TEST(unknown_method_is_denied) {
        ASSERT_TRUE(method_action_lookup(WGNET_PEER_INTERFACE, "NoSuchMethod") == NULL);
        ASSERT_TRUE(method_action_lookup("org.example.Other", "GetConfig") == NULL);
}

TEST_MAIN()
