/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus side of meshes: Manager.JoinMesh, the org.wgnet1.Mesh interface on mesh networks
 * and org.wgnet1.MeshMember on their peers (docs/mesh.md). */

#include "audit.h"
#include "bus-util.h"
#include "db-tunnel.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network.h"
#include "peer.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

#define MESH_MAX_INVITATION_LIFETIME (7 * 24 * 3600)

enum {
        JOPT_NAME,
        JOPT_INTERFACE,
        JOPT_LISTEN_PORT,
        JOPT_JOIN_TIMEOUT,
        _JOPT_MAX,
};

int method_join_mesh(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption o[_JOPT_MAX] = {
                [JOPT_NAME] = { "Name", "s" },
                [JOPT_INTERFACE] = { "Interface", "s" },
                [JOPT_LISTEN_PORT] = { "ListenPort", "q" },
                [JOPT_JOIN_TIMEOUT] = { "JoinTimeout", "u" },
        };
        Pairing inv = {0};
        char hex[PAIRING_ID_HEX_LEN + 1], name_buf[32], if_buf[32];
        const char *text, *reason = NULL, *name, *ifname;
        uint32_t timeout = MESH_DEFAULT_JOIN_TIMEOUT;
        Network *other;
        int r;

        bus_message_carries_secret(m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &text);
        if (r >= 0)
                r = bus_read_options(m, o, _JOPT_MAX, error);
        if (r < 0)
                goto finish;
        if (pairing_parse_invitation(text, &inv, &reason) < 0) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid invitation: %s", reason ? reason : "malformed");
                goto finish;
        }
        pairing_id_to_hex(inv.id, hex);
        snprintf(name_buf, sizeof(name_buf), "mesh-%.8s", hex);
        snprintf(if_buf, sizeof(if_buf), "wgm-%.8s", hex);
        name = o[JOPT_NAME].set ? o[JOPT_NAME].s : name_buf;
        ifname = o[JOPT_INTERFACE].set ? o[JOPT_INTERFACE].s : if_buf;
        if (o[JOPT_JOIN_TIMEOUT].set) {
                timeout = o[JOPT_JOIN_TIMEOUT].u;
                if (timeout < 1 || timeout > 600) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid JoinTimeout %u: expected 1-600 seconds",
                                              timeout);
                        goto finish;
                }
        }
        /* Used here before, then expired: the most telling first. */
        r = db_pairing_is_used(mgr->db, PAIRING_INVITATION, inv.id);
        if (r > 0) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationUsed",
                                      "Invitation %s was already used on this host: an invitation works once", hex);
                goto finish;
        }
        if (r < 0)
                goto finish;
        if (now_usec() / 1000000 >= inv.expires) {
                char when[64];
                time_t e = (time_t) inv.expires;
                struct tm tm;
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&e, &tm));
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationExpired",
                                      "Invitation %s expired at %s: ask the coordinator for a new one (CreateInvitation)", hex,
                                      when);
                goto finish;
        }
        if (!network_name_is_valid(name)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid network name '%s'", name);
                goto finish;
        }
        if (hashmap_get(mgr->networks_by_name, name)) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NetworkExists", "Network '%s' exists", name);
                goto finish;
        }
        if (!ifname_is_valid(ifname)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid interface name '%s'", ifname);
                goto finish;
        }
        if (manager_ifname_in_use(mgr, ifname, NULL) || wg_backend_exists(mgr->backend, ifname)) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse", "Interface '%s' is in use", ifname);
                goto finish;
        }
        if (o[JOPT_LISTEN_PORT].set && o[JOPT_LISTEN_PORT].q == 0) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid listen port '0': the other members need a fixed port");
                goto finish;
        }
        if (o[JOPT_LISTEN_PORT].set && manager_listen_port_in_use(mgr, o[JOPT_LISTEN_PORT].q, NULL)) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse", "Listen port %u is in use",
                                      o[JOPT_LISTEN_PORT].q);
                goto finish;
        }
        HASHMAP_FOREACH(other, mgr->networks_by_id, i) {
                if (wg_key_equal(other->public_key, inv.public_key)) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Invitation %s was made by network '%s' of this host: use it on another host",
                                              hex, other->name);
                        goto finish;
                }
                if (other->mesh && other->mesh->role == MESH_ROLE_MEMBER &&
                    wg_key_equal(other->mesh->coordinator_key, inv.public_key)) {
                        r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NetworkExists",
                                              "This host is in that mesh already (network '%s')", other->name);
                        goto finish;
                }
        }
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        r = mesh_join(mgr, m, &inv, name, ifname, o[JOPT_LISTEN_PORT].set ? o[JOPT_LISTEN_PORT].q : 0, timeout, error);
finish:
        pairing_wipe(&inv);
        bus_options_done(o, _JOPT_MAX);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot join the mesh");
        return r;
}

static Mesh *mesh_from(void *userdata) {
        return network_mesh(userdata);
}

enum {
        IOPT_NAME,
        IOPT_EXPIRES_IN,
        IOPT_ENDPOINT,
        _IOPT_MAX,
};

static int method_create_invitation(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        BusOption o[_IOPT_MAX] = {
                [IOPT_NAME] = { "Name", "s" },
                [IOPT_EXPIRES_IN] = { "ExpiresIn", "u" },
                [IOPT_ENDPOINT] = { "Endpoint", "s" },
        };
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        /* Up here: a goto finish from above a later declaration would leave it unset for
         * its cleanup (it crashed every call that waited for polkit). */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char name_buf[32];
        const char *name, *endpoint;
        uint32_t lifetime = MESH_DEFAULT_INVITATION_LIFETIME;
        WgEndpoint ep;
        Peer *p = NULL;
        int r;

        if (!mesh)
                return -ENOMEM;
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, o, _IOPT_MAX, error);
        if (r < 0)
                goto finish;
        if (mesh->role != MESH_ROLE_COORDINATOR) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Network '%s' is a member of a mesh: invitations come from its coordinator", n->name);
                goto finish;
        }
        for (unsigned k = n->n_peers + 1;; k++) {
                snprintf(name_buf, sizeof(name_buf), "member-%u", k);
                if (!hashmap_get(n->peers_by_name, name_buf))
                        break;
        }
        name = o[IOPT_NAME].set ? o[IOPT_NAME].s : name_buf;
        if (!peer_name_is_valid(name) || streq(name, MESH_COORDINATOR_PEER_NAME)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid member name '%s'", name);
                goto finish;
        }
        if (hashmap_get(n->peers_by_name, name)) {
                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists", "Mesh '%s' has a member '%s'", n->name, name);
                goto finish;
        }
        if (o[IOPT_EXPIRES_IN].set) {
                lifetime = o[IOPT_EXPIRES_IN].u;
                if (lifetime < 1 || lifetime > MESH_MAX_INVITATION_LIFETIME) {
                        r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                              "Invalid ExpiresIn %u: expected 1 to %u seconds", lifetime,
                                              MESH_MAX_INVITATION_LIFETIME);
                        goto finish;
                }
        }
        endpoint = o[IOPT_ENDPOINT].set ? o[IOPT_ENDPOINT].s : n->endpoint;
        if (isempty(endpoint)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Mesh '%s' has no Endpoint: set it on the network or pass Endpoint", n->name);
                goto finish;
        }
        if (strlen(endpoint) > PAIRING_ENDPOINT_MAX || wg_endpoint_parse(endpoint, &ep) < 0) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Invalid endpoint '%s': expected address:port with a numeric address", endpoint);
                goto finish;
        }
        r = manager_verify(n->manager, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        r = mesh_create_invitation(mesh, name, lifetime, endpoint, &text, &p, error);
        if (r < 0)
                goto finish;
        audit_log(m, AUDIT_PEER_ADDED, n, p, "%s: mesh invitation for member '%s' created (valid %u s)", n->name, p->name,
                  lifetime);
        /* The invitation is a bearer secret (read-secrets): a secret read. */
        audit_log(m, AUDIT_SECRET_READ, n, p, "%s: mesh invitation for member '%s' read", n->name, p->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
finish:
        bus_options_done(o, _IOPT_MAX);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot create an invitation");
        return r;
}

static int method_remove_member(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        const char *path;
        int r;

        if (!mesh)
                return -ENOMEM;
        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        Peer *p = manager_find_peer_by_path(n->manager, path);
        if (!p || p->network != n)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound", "No member %s in mesh '%s'", path, n->name);
        if (mesh->role != MESH_ROLE_COORDINATOR)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network '%s' is a member of a mesh: members are removed by the coordinator", n->name);
        r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        _cleanup_(freep) char *name = strdup(p->name);
        if (!name)
                return -ENOMEM;
        Peer gone = { .id = p->id, .name = name };
        r = mesh_remove_member(mesh, p, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot remove member '%s'", name);
        audit_log(m, AUDIT_PEER_REMOVED, n, &gone, "%s: mesh member '%s' removed (revoked everywhere)", n->name, name);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_set_exit_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        BusOption o[] = { { "NatInterface", "s" } };
        int offer, r;

        if (!mesh)
                return -ENOMEM;
        r = sd_bus_message_read(m, "b", &offer);
        if (r >= 0)
                r = bus_read_options(m, o, ELEMENTSOF(o), error);
        if (r < 0)
                goto finish;
        if (o[0].set && !ifname_is_valid(o[0].s)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid NatInterface '%s'", o[0].s);
                goto finish;
        }
        if (offer && !o[0].set && isempty(n->nat_interface)) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "An exit node needs NatInterface (the interface toward the internet)");
                goto finish;
        }
        r = manager_verify(n->manager, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        if (o[0].set && !streq(o[0].s, n->nat_interface)) {
                char *v = strdup(o[0].s);
                if (!v) {
                        r = -ENOMEM;
                        goto finish;
                }
                char *old = n->nat_interface;
                n->nat_interface = v;
                r = db_begin(n->manager->db);
                if (r >= 0)
                        r = db_network_update(n->manager->db, n);
                if (r >= 0)
                        r = db_commit(n->manager->db);
                if (r < 0) {
                        /* Not saved: the firewall's next sync must not masquerade on it. */
                        db_rollback(n->manager->db);
                        n->nat_interface = old;
                        free(v);
                        goto finish;
                }
                free(old);
                (void) network_emit_changed(n, "NatInterface", NULL);
        }
        r = mesh_set_exit_node(mesh, offer, error);
        if (r < 0)
                goto finish;
        audit_log(m, AUDIT_NETWORK_UPDATED, n, NULL, "%s: %s exit node of the mesh", n->name,
                  offer ? "offers itself as" : "is no longer an");
        r = sd_bus_reply_method_return(m, NULL);
finish:
        bus_options_done(o, ELEMENTSOF(o));
        return r < 0 ? bus_reply_errno(error, r, "Cannot change the exit node") : r;
}

static int method_use_exit_node(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        const char *name;
        int r;

        if (!mesh)
                return -ENOMEM;
        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (mesh->role != MESH_ROLE_MEMBER)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Only a member chooses an exit node; '%s' coordinates its mesh", n->name);
        if (!isempty(name) && !hashmap_get(n->peers_by_name, name))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotFound", "No member '%s' in mesh '%s'", name, n->name);
        r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = mesh_use_exit_node(mesh, name, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot choose exit node '%s'", name);
        audit_log(m, AUDIT_NETWORK_UPDATED, n, NULL, "%s: exit node %s%s%s", n->name, isempty(name) ? "none" : "'",
                  name, isempty(name) ? "" : "'");
        return sd_bus_reply_method_return(m, NULL);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        BusOption o[] = { { "HeartbeatInterval", "u" }, { "OfflineAfter", "u" } };
        int r;

        if (!mesh)
                return -ENOMEM;
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, o, ELEMENTSOF(o), error);
        if (r < 0)
                goto finish;
        if (mesh->role != MESH_ROLE_COORDINATOR) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Network '%s' is a member: the coordinator sets the heartbeat", n->name);
                goto finish;
        }
        if ((o[0].set && (o[0].u < 1 || o[0].u > 3600)) || (o[1].set && (o[1].u < 2 || o[1].u > 86400))) {
                r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                      "Invalid HeartbeatInterval %u or OfflineAfter %u: expected 1-3600 and 2-86400 seconds",
                                      o[0].set ? o[0].u : mesh->heartbeat, o[1].set ? o[1].u : mesh->offline_after);
                goto finish;
        }
        r = manager_verify(n->manager, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        r = mesh_update(mesh, o[0].set ? o[0].u : 0, o[1].set ? o[1].u : 0, error);
        if (r < 0)
                goto finish;
        audit_log(m, AUDIT_NETWORK_UPDATED, n, NULL, "%s: mesh heartbeat %u s, offline after %u s", n->name,
                  mesh->heartbeat, mesh->offline_after);
        r = sd_bus_reply_method_return(m, NULL);
finish:
        bus_options_done(o, ELEMENTSOF(o));
        return r < 0 ? bus_reply_errno(error, r, "Cannot update mesh '%s'", n->name) : r;
}

static int method_leave(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        if (!mesh)
                return -ENOMEM;
        if (mesh->role != MESH_ROLE_MEMBER)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Network '%s' coordinates its mesh: delete it instead (Network.Delete)", n->name);
        int r = manager_verify(n->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = mesh_leave(mesh, m, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot leave mesh '%s'", n->name);
        if (r > 0)
                return 1;       /* answered when the coordinator confirmed */
        return sd_bus_reply_method_return(m, NULL);
}

static int property_get_role(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mesh *mesh = mesh_from(userdata);
        return sd_bus_message_append(reply, "s", mesh ? mesh_role_to_string(mesh->role) : "");
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mesh *mesh = mesh_from(userdata);
        return sd_bus_message_append(reply, "s", mesh ? mesh_state(mesh) : "");
}

static int property_get_u(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mesh *mesh = mesh_from(userdata);
        uint32_t v = 0;
        if (mesh)
                v = streq(property, "HeartbeatInterval") ? mesh->heartbeat : mesh->offline_after;
        return sd_bus_message_append(reply, "u", v);
}

static int property_get_exit_node(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mesh *mesh = mesh_from(userdata);
        return sd_bus_message_append(reply, "b", mesh && mesh->exit_node);
}

static int property_get_exit_via(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Mesh *mesh = mesh_from(userdata);
        return sd_bus_message_append(reply, "s", mesh && mesh->exit_via ? mesh->exit_via : "");
}

static int property_get_coordinator_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        char key[WG_KEY_B64_SIZE];
        wg_key_to_base64(key, mesh && mesh->role == MESH_ROLE_MEMBER ? mesh->coordinator_key : n->public_key);
        return sd_bus_message_append(reply, "s", key);
}

static int property_get_coordinator_endpoint(sd_bus *bus, const char *path, const char *interface, const char *property,
                                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        Mesh *mesh = mesh_from(n);
        return sd_bus_message_append(reply, "s", mesh && mesh->role == MESH_ROLE_MEMBER ? mesh->coordinator_endpoint : n->endpoint);
}

const sd_bus_vtable mesh_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Role", "s", property_get_role, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CoordinatorPublicKey", "s", property_get_coordinator_key, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CoordinatorEndpoint", "s", property_get_coordinator_endpoint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HeartbeatInterval", "u", property_get_u, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OfflineAfter", "u", property_get_u, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitNode", "b", property_get_exit_node, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitVia", "s", property_get_exit_via, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("CreateInvitation", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("s", invitation),
                                method_create_invitation, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveMember", SD_BUS_ARGS("o", member), SD_BUS_NO_RESULT, method_remove_member,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetExitNode", SD_BUS_ARGS("b", offer, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_set_exit_node, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UseExitNode", SD_BUS_ARGS("s", member), SD_BUS_NO_RESULT, method_use_exit_node,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Leave", NULL, NULL, method_leave, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* MeshMember on the peers of mesh networks. */
static MeshPeer *member_of(Peer *p) {
        Mesh *mesh = network_mesh(p->network);
        return mesh ? mesh_peer_get(mesh, p->id) : NULL;
}

static int property_get_mesh_address(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Peer *p = userdata;
        char buf[IP_PREFIX_STRLEN] = "";
        if (p->n_addresses > 0)
                ip_addr_to_string(&p->addresses[0], buf);
        return sd_bus_message_append(reply, "s", buf);
}

static int property_get_member_exit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        MeshPeer *mp = member_of(userdata);
        return sd_bus_message_append(reply, "b", mp && mp->exit_node);
}

static int property_get_invitation(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        MeshPeer *mp = member_of(userdata);
        return sd_bus_message_append(reply, "b", mp && mp->invitation && !mp->registered);
}

static int property_get_invitation_expires(sd_bus *bus, const char *path, const char *interface, const char *property,
                                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        MeshPeer *mp = member_of(userdata);
        uint64_t v = mp && mp->invitation && !mp->registered ? mp->invitation_expires * 1000000ULL : 0;
        return sd_bus_message_append(reply, "t", v);
}

static const sd_bus_vtable mesh_member_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("MeshAddress", "s", property_get_mesh_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ExitNode", "b", property_get_member_exit, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Invitation", "b", property_get_invitation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InvitationExpires", "t", property_get_invitation_expires, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static int mesh_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                            sd_bus_error *error) {
        Network *n = manager_find_network_by_path(userdata, path);
        if (!n || !network_mesh(n))
                return 0;
        *found = n;
        return 1;
}

static int mesh_member_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                            sd_bus_error *error) {
        Peer *p = manager_find_peer_by_path(userdata, path);
        if (!p || !network_mesh(p->network))
                return 0;
        *found = p;
        return 1;
}

int mesh_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_NETWORK_PREFIX, WGNET_MESH_INTERFACE, mesh_vtable,
                                           mesh_object_find, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_PEER_PREFIX, WGNET_MESH_MEMBER_INTERFACE,
                                               mesh_member_vtable, mesh_member_find, m);
        return r;
}
