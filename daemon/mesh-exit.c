/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes: exit nodes. A member offers itself (SetExitNode: masquerade on NatInterface) or
 * routes its default traffic through one (UseExitNode) (docs/mesh.md). */

#include "db-mesh.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network.h"
#include "peer.h"
#include "wgnet-error.h"
#include "mesh-internal.h"

/* The routes through an exit node: two halves of each family, more specific than any
 * default route (the endpoints of the peers must be reachable by a more specific route,
 * as on a LAN: see docs/mesh.md), minus the mesh's own subnets: the exit node's AllowedIPs
 * must not cover the address of a member that is not on the device (offline, removed),
 * or it could send in that member's name. */
static const char *const exit_prefixes[] = { "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1" };

static int exit_networks(const Network *n, bool v6, IpPrefix **ret, size_t *ret_n) {
        size_t max = 4 + n->n_subnets * 130, count = 0;
        _cleanup_(freep) IpPrefix *l = calloc(max, sizeof(IpPrefix)), *next = calloc(max, sizeof(IpPrefix));
        if (!l || !next)
                return -ENOMEM;
        for (size_t i = 0; i < (v6 ? 4u : 2u); i++)
                if (ip_prefix_parse(exit_prefixes[i], false, &l[count]) >= 0)
                        count++;
        for (size_t s = 0; s < n->n_subnets; s++) {
                size_t k = 0;
                for (size_t i = 0; i < count; i++)
                        k += ip_prefix_exclude(&l[i], &n->subnets[s], next + k);
                IpPrefix *t = l;
                l = next;
                next = t;
                count = k;
        }
        *ret = TAKE_PTR(l);
        *ret_n = count;
        return 0;
}

static int peer_set_exit(Peer *p, bool on) {
        Network *n = p->network;
        Manager *mgr = n->manager;
        int r;

        _cleanup_(freep) IpPrefix *want = NULL;
        size_t n_want = 0;
        if (on) {
                bool v6 = false;
                for (size_t i = 0; i < n->n_subnets; i++)
                        v6 = v6 || n->subnets[i].family == AF_INET6;
                r = exit_networks(n, v6, &want, &n_want);
                if (r < 0)
                        return r;
        }
        /* The same list: nothing to do (an exit node chosen before the mesh's subnets were
         * cut out of its list gets the new one here). */
        bool same = n_want == p->n_site_networks;
        for (size_t i = 0; same && i < n_want; i++)
                same = ip_prefix_equal(&want[i], &p->site_networks[i]);
        if (same)
                return 0;
        bool was_on = p->n_site_networks > 0;
        /* Stored first: a list that cannot be stored is not applied (memory, the device and
         * the routes keep the old one, as the database does). */
        IpPrefix *old = p->site_networks;
        size_t n_old = p->n_site_networks;
        p->site_networks = want;
        p->n_site_networks = n_want;
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0)
                r = db_commit(mgr->db);
        p->site_networks = old;
        p->n_site_networks = n_old;
        if (r < 0) {
                db_rollback(mgr->db);
                log_warning("%s: cannot store the exit routes through '%s', left as they were: %s", n->name, p->name,
                            strerror(-r));
                return r;
        }
        (void) network_apply_peer_routes(n, p, true);   /* the old routes */
        free(p->site_networks);
        p->site_networks = TAKE_PTR(want);
        p->n_site_networks = n_want;
        network_forget_subnet_holes(n);
        (void) network_apply_peer(n, p, false);
        (void) peer_emit_changed(p, "AllowedIPs", "SiteNetworks", NULL);
        if (on != was_on)
                log_info("%s: default route %s '%s'", n->name, on ? "now through exit node" : "no longer through",
                         p->name);
        return r;
}

void member_apply_exit(Mesh *mesh) {
        for (Peer *p = mesh->network->peers; p; p = p->next) {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                bool want = !isempty(mesh->exit_via) && streq(p->name, mesh->exit_via) && mp && mp->exit_node && p->enabled;
                (void) peer_set_exit(p, want);
        }
}

int mesh_set_exit_node(Mesh *mesh, bool offer, sd_bus_error *error) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        if (offer && isempty(n->nat_interface))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "An exit node needs NatInterface (the interface toward the internet) on network '%s'",
                                         n->name);
        if (mesh->exit_node == offer)
                return 0;
        mesh->exit_node = offer;
        int r = mesh_save(mesh);
        if (r < 0) {
                mesh->exit_node = !offer;
                return r;
        }
        (void) manager_firewall_sync(mgr, false);
        (void) mesh_emit_changed(mesh, "ExitNode", NULL);
        if (mesh->role == MESH_ROLE_COORDINATOR)
                mesh_broadcast(mesh);
        else
                member_heartbeat_now(mesh);
        return 0;
}

int mesh_use_exit_node(Mesh *mesh, const char *name, sd_bus_error *error) {
        Network *n = mesh->network;
        if (mesh->role != MESH_ROLE_MEMBER)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Only a member chooses an exit node; '%s' coordinates its mesh", n->name);
        if (!isempty(name)) {
                Peer *p = hashmap_get(n->peers_by_name, name);
                MeshPeer *mp = p ? mesh_peer_get(mesh, p->id) : NULL;
                if (!p)
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound", "No member '%s' in mesh '%s'", name,
                                                 n->name);
                if (!mp || !mp->exit_node)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Member '%s' does not offer itself as exit node", name);
                /* One default route at a time: the exit node's /1 routes would win over a
                 * full tunnel's table (its rules let the main table's routes but the default
                 * one win), and take its traffic silently. */
                Network *o;
                HASHMAP_FOREACH(o, n->manager->networks_by_id, it)
                        if (o->default_route)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                         "Network '%s' sends this host's traffic through its tunnel "
                                                         "(DefaultRoute): switch it off there first", o->name);
        }
        char *v = strdup(name);
        if (!v)
                return -ENOMEM;
        char *old = mesh->exit_via;
        mesh->exit_via = v;
        int r = mesh_save(mesh);
        if (r < 0) {
                /* Not saved: the next member list must not apply it either. */
                mesh->exit_via = old;
                free(v);
                return r;
        }
        free(old);
        member_apply_exit(mesh);
        (void) mesh_emit_changed(mesh, "ExitVia", NULL);
        return 0;
}
