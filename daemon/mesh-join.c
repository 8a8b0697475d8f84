/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes, a member host: joining with an invitation (the network, its device and the
 * coordinator as first peer), a failed join, and leaving (docs/mesh.md). The control
 * channel itself is in mesh-member.c. */

#include "audit.h"
#include "db-mesh.h"
#include "db-tunnel.h"
#include "db.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network-options.h"
#include "network.h"
#include "peer.h"
#include "wgnet-error.h"
#include "mesh-internal.h"
#include "tunnel.h"
#include "tunnel-settings.h"

static void mesh_delete_network(Network *n) {
        Manager *m = n->manager;
        int r = db_begin(m->db);
        if (r >= 0)
                r = db_network_delete(m->db, n->id);
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                log_error("%s: cannot delete the network: %s", n->name, strerror(-r));
        }
        if (n->active)
                (void) network_deactivate_device(n);
        for (Peer *p = n->peers; p; p = p->next)
                (void) sd_bus_emit_object_removed(m->bus, p->path);
        (void) sd_bus_emit_object_removed(m->bus, n->path);
        network_detach(n);
        network_free(n);
        (void) manager_firewall_sync(m, false);
}

static int on_delete_later(sd_event_source *s, void *userdata) {
        Network *n = userdata;
        sd_event_source_disable_unref(s);
        mesh_delete_network(n);
        return 0;
}

static void delete_later(Network *n) {
        /* The network goes at the next turn of the loop, out of the callbacks of its bus. */
        sd_event_source *s = NULL;
        if (sd_event_add_defer(n->manager->event, &s, on_delete_later, n) < 0)
                mesh_delete_network(n);
}

void member_fail_join(Mesh *mesh, const sd_bus_error *e) {
        Network *n = mesh->network;
        log_warning("%s: joining the mesh failed: %s", n->name, e->message ? e->message : e->name);
        if (mesh->join_call) {
                (void) sd_bus_reply_method_error(mesh->join_call, e);
                mesh->join_call = sd_bus_message_unref(mesh->join_call);
        }
        mesh->join_timeout = sd_event_source_disable_unref(mesh->join_timeout);
        member_disconnect(mesh);
        mesh->retry_timer = sd_event_source_disable_unref(mesh->retry_timer);
        delete_later(n);
}

static int on_join_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char hex[PAIRING_ID_HEX_LEN + 1], buf[IP_PREFIX_STRLEN];

        pairing_id_to_hex(mesh->invitation_id, hex);
        sd_bus_error_setf(&e, WGNET_ERROR_PREFIX "MeshUnreachable",
                          "No answer from the mesh coordinator at %s (mesh address %s) through the tunnel: the "
                          "invitation was already used or revoked, or that endpoint is not reachable over UDP "
                          "(invitation %s)",
                          mesh->coordinator_endpoint,
                          mesh->n_coordinator_addresses ? ip_addr_to_string(&mesh->coordinator_addresses[0], buf) : "-",
                          hex);
        /* Not the coordinator's verdict: the invitation may be tried again. */
        (void) db_invitation_forget(mgr->db, mesh->invitation_id);
        member_fail_join(mesh, &e);
        return 0;
}

int mesh_join(Manager *m, sd_bus_message *call, const Pairing *inv, const char *name, const char *ifname,
              uint16_t listen_port, uint32_t timeout, sd_bus_error *error) {
        _cleanup_(network_freep) Network *n = NULL;
        uint8_t priv[WG_KEY_LEN];
        size_t len;
        int r;

        /* The invitation's subnets become this network's, as CreateNetwork's Addresses would:
         * the same bounds, and nothing this host has there already. */
        for (size_t i = 0; i < inv->n_tunnel_addresses; i++) {
                const IpPrefix *a = &inv->tunnel_addresses[i];
                char buf[IP_PREFIX_STRLEN];
                unsigned lo = a->family == AF_INET ? 8 : 48, hi = (unsigned) ip_family_bits(a->family) - 2;
                if (a->prefixlen < lo || a->prefixlen > hi)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "The invitation's address %s has a prefix outside /%u-/%u",
                                                 ip_prefix_to_string(a, buf), lo, hi);
                Network *o;
                HASHMAP_FOREACH(o, m->networks_by_id, it)
                        for (size_t k = 0; k < o->n_subnets; k++)
                                if (ip_prefix_overlaps(&o->subnets[k], a))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                 "The mesh's subnet %s overlaps network '%s' of this host",
                                                                 ip_prefix_to_string(a, buf), o->name);
                char what[IP_PREFIX_STRLEN + 24];
                snprintf(what, sizeof(what), "The mesh's subnet %s", ip_prefix_to_string(a, buf));
                r = manager_check_tunnel_routing(m, a, true, NULL, what, error);
                if (r < 0)
                        return r;
        }
        /* Nor what another interface of this host routes (a LAN, another VPN), nor a peer's
         * site network: the mesh's route would take that traffic. */
        r = mesh_check_subnets(m, ifname, inv->tunnel_addresses, inv->n_tunnel_addresses, error);
        if (r < 0)
                return r;

        r = network_new(m, m->next_network_id, name, ifname, &n);
        if (r < 0)
                return r;
        n->mode = NETWORK_MODE_MESH;
        n->created_at = now_usec();
        n->listen_port = listen_port ? listen_port : manager_free_listen_port(m);
        n->key_policy = KEY_POLICY_ONE_TIME;
        n->active = true;
        for (size_t i = 0; i < inv->n_tunnel_addresses; i++)
                n->subnets[i] = inv->tunnel_addresses[i];
        n->n_subnets = inv->n_tunnel_addresses;
        r = network_setup_pools(n);
        if (r < 0)
                return r;
        /* Until the coordinator knows our own key, the device uses the invitation's one-time key. */
        r = wg_key_public_from_private(n->public_key, inv->preshared_key);
        if (r >= 0)
                r = manager_seal(m, "networks.private_key", n->id, inv->preshared_key, n->private_key_sealed,
                                 sizeof(n->private_key_sealed), &len);
        if (r < 0)
                return r;
        r = mesh_new(n, MESH_ROLE_MEMBER, &n->mesh);
        if (r < 0)
                return r;
        Mesh *mesh = n->mesh;
        memcpy(mesh->coordinator_key, inv->public_key, WG_KEY_LEN);
        free(mesh->coordinator_endpoint);
        mesh->coordinator_endpoint = strdup(inv->endpoint);
        if (!mesh->coordinator_endpoint)
                return -ENOMEM;
        for (size_t i = 0; i < inv->n_networks && i < ELEMENTSOF(mesh->coordinator_addresses); i++)
                mesh->coordinator_addresses[mesh->n_coordinator_addresses++] = inv->networks[i];
        memcpy(mesh->invitation_id, inv->id, PAIRING_ID_LEN);
        /* Our own key pair, made here; the private key never leaves this host. */
        r = wg_key_generate_private(priv);
        if (r >= 0)
                r = manager_seal(m, "meshes.pending_private_key", n->id, priv, mesh->pending_private_sealed,
                                 sizeof(mesh->pending_private_sealed), &len);
        wg_wipe(priv, sizeof(priv));
        if (r < 0)
                return r;
        mesh->has_pending_private = true;

        r = manager_insert_network(m, n, error);
        if (r < 0)
                return r;
        r = db_mesh_save(m->db, mesh);
        if (r >= 0) {
                r = db_pairing_mark_used(m->db, PAIRING_INVITATION, inv->id, n->id);
                if (r == -EEXIST) {
                        db_rollback(m->db);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationUsed",
                                                 "This invitation was already used on this host: an invitation works once");
                }
        }
        /* A crash between the device and the commit would leave an interface no network
         * owns, with the invitation's key: the intent, on disk first, has the next start
         * remove it. */
        bool intent = false;
        if (r >= 0) {
                r = manager_creating_interface(m, n->ifname, true);
                intent = r >= 0;
        }
        if (r >= 0) {
                r = network_apply(n, false);
                if (r < 0) {
                        db_rollback(m->db);
                        (void) network_deactivate_device(n);
                        (void) manager_creating_interface(m, n->ifname, false);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot bring up interface %s: %s",
                                                 n->ifname, strerror(-r));
                }
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (intent)
                (void) manager_creating_interface(m, n->ifname, false);
        if (r < 0) {
                db_rollback(m->db);
                (void) network_deactivate_device(n);
                return r;
        }
        r = network_attach(n);
        if (r < 0)
                return r;
        m->next_network_id++;
        Network *net = TAKE_PTR(n);
        (void) sd_bus_emit_object_added(m->bus, net->path);
        (void) manager_firewall_sync(m, false);

        /* The coordinator: our first peer, its address only, at the invitation's endpoint. */
        Peer *coord;
        IpPrefix caddrs[2];
        for (size_t i = 0; i < mesh->n_coordinator_addresses; i++)
                caddrs[i] = mesh->coordinator_addresses[i];
        r = add_peer(net, MESH_COORDINATOR_PEER_NAME, mesh->coordinator_key, caddrs, mesh->n_coordinator_addresses, false,
                     &coord, error);
        if (r < 0) {
                mesh_delete_network(net);
                return r;
        }
        mesh->join_call = sd_bus_message_ref(call);
        r = sd_event_add_time_relative(m->event, &mesh->join_timeout, CLOCK_MONOTONIC, (uint64_t) timeout * 1000000ULL,
                                       100000, on_join_timeout, mesh);
        if (r < 0) {
                mesh->join_call = sd_bus_message_unref(mesh->join_call);
                mesh_delete_network(net);
                return r;
        }
        log_info("%s: joining the mesh of %s (interface %s)", net->name, mesh->coordinator_endpoint, net->ifname);
        member_schedule(mesh, 1000);
        return 1;
}

/* The Leave is done here whether or not the coordinator heard of it: the network goes, and
 * the journal says when the coordinator must be told by hand. */
void member_finish_leave(Mesh *mesh, const char *unconfirmed) {
        Network *n = mesh->network;
        if (unconfirmed)
                log_warning("%s: left the mesh without the coordinator's confirmation (%s): it keeps this member "
                            "until its admin removes it (RemoveMember)", n->name, unconfirmed);
        if (mesh->join_call) {
                (void) sd_bus_reply_method_return(mesh->join_call, NULL);
                mesh->join_call = sd_bus_message_unref(mesh->join_call);
        }
        mesh->leaving = false;
        member_disconnect(mesh);
        delete_later(n);
}

static int on_leave_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        forget_call(mesh, m);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        member_finish_leave(mesh, e ? (e->message ? e->message : e->name) : NULL);
        return 0;
}

int mesh_leave(Mesh *mesh, sd_bus_message *call, sd_bus_error *error) {
        Network *n = mesh->network;
        if (mesh->role != MESH_ROLE_MEMBER)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network '%s' coordinates its mesh: delete it instead (Network.Delete)", n->name);
        if (mesh->join_call)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network '%s' is still joining or leaving its mesh: wait for that call to return", n->name);
        audit_log(call, AUDIT_NETWORK_DELETED, n, NULL, "%s: left the mesh (interface %s)", n->name, n->ifname);
        /* Tell the coordinator; on a connection still being made the call waits behind its hello. */
        if (!mesh->control)
                (void) member_connect(mesh);
        if (mesh->control && member_call(mesh, "Leave", on_leave_reply, 5 * 1000000ULL) >= 0) {
                mesh->join_call = sd_bus_message_ref(call);
                mesh->leaving = true;
                return 1;
        }
        member_disconnect(mesh);
        mesh_delete_network(n);
        return 0;
}
