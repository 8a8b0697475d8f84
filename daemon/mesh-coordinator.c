/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes, the coordinating host: invitations, registrations over the control channel,
 * heartbeats, the member list pushed to every member (docs/mesh.md). */
/* Meshes: the state, the coordinator's side of the coordination channel and the members'
 * side. See mesh.h and docs/mesh.md. */

#include <arpa/inet.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <systemd/sd-id128.h>

#include "audit.h"
#include "bus-util.h"
#include "db-mesh.h"
#include "db-tunnel.h"
#include "db.h"
#include "firewall-sync.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network-options.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "rotation.h"
#include "utf8-valid.h"
#include "wgnet-error.h"
#include "mesh-internal.h"

/* ---- Coordinator ---- */

static void coordinator_set_online(Mesh *mesh, Peer *p, MeshPeer *mp, bool online) {
        Network *n = mesh->network;
        if (mp->online == online)
                return;
        mp->online = online;
        log_info("%s: mesh member '%s' is %s", n->name, p->name, online ? "online" : "offline (no heartbeat)");
        bool want = online && p->enabled;
        if (p->online != want) {
                p->online = want;
                if (want)
                        n->n_online++;
                else if (n->n_online > 0)
                        n->n_online--;
                (void) peer_emit_changed(p, "Online", NULL);
                (void) network_emit_changed(n, "OnlinePeerCount", NULL);
        }
}

/* A member that reads nothing of what was sent (lists, and replies that carry the list):
 * the caller closes it rather than queueing without end. */
static bool conn_backlogged(MeshConn *c) {
        uint64_t queued = 0;
        if (sd_bus_get_n_queued_write(c->bus, &queued) < 0 || queued < MESH_MAX_QUEUED)
                return false;
        log_notice("%s: closing the control connection of a mesh member that reads nothing (%" PRIu64
                   " messages waiting)", c->mesh->network->name, queued);
        return true;
}

void mesh_broadcast(Mesh *mesh) {
        mesh->last_broadcast = now_monotonic_usec();
        if (mesh->broadcast_timer)
                (void) sd_event_source_set_enabled(mesh->broadcast_timer, SD_EVENT_OFF);
        for (MeshConn *c = mesh->conns, *next; c; c = next) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
                next = c->next;
                if (c->peer_id == 0)
                        continue;
                /* A member that does not read its lists: closed, not buffered without end
                 * (it gets the whole list again with its next Hello). */
                if (conn_backlogged(c)) {
                        conn_free(c);
                        continue;
                }
                int r = sd_bus_message_new_signal(c->bus, &s, WGNET_MESH_CONTROL_PATH, WGNET_MESH_CONTROL_INTERFACE,
                                                  "MembersChanged");
                if (r >= 0)
                        r = append_members(mesh, s);
                if (r >= 0)
                        r = sd_bus_send(c->bus, s, NULL);
                if (r < 0)
                        log_debug("%s: cannot send the member list: %s", mesh->network->name, strerror(-r));
        }
}

void conn_free(MeshConn *c) {
        Mesh *mesh = c->mesh;
        if (c->prev)
                c->prev->next = c->next;
        else
                mesh->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        for (size_t i = 0; i < ELEMENTSOF(c->slots); i++)
                c->slots[i] = sd_bus_slot_unref(c->slots[i]);
        if (c->bus)
                bus_close_later(TAKE_PTR(c->bus));
        free(c);
}

/* The peer that this connection comes from: WireGuard let the packets in only from the
 * peer whose allowed IPs hold the source address, so the address names the key. */
static Peer *conn_peer(MeshConn *c, MeshPeer **ret_mp, sd_bus_error *error) {
        Mesh *mesh = c->mesh;
        char buf[IP_PREFIX_STRLEN];
        Peer *p = find_peer_by_address(mesh->network, &c->remote);
        MeshPeer *mp = p ? mesh_peer_get(mesh, p->id) : NULL;
        if (!p || !mp) {
                sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember", "No member of mesh '%s' has address %s",
                                  mesh->network->name, ip_addr_to_string(&c->remote, buf));
                return NULL;
        }
        *ret_mp = mp;
        return p;
}

static int reply_welcome(sd_bus_message *m, Mesh *mesh, Peer *p, const uint8_t *psk) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", p->name);
        if (r >= 0)
                r = bus_append_prefixes(reply, p->addresses, p->n_addresses);
        if (r >= 0 && psk) {
                (void) sd_bus_message_sensitive(reply);
                r = sd_bus_message_append_array(reply, 'y', psk, WG_KEY_LEN);
        }
        if (r >= 0)
                r = sd_bus_message_append(reply, "u", mesh->heartbeat);
        if (r >= 0)
                r = append_members(mesh, reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

/* Read the device when its status is older than a second: endpoints for the member list.
 * True when an endpoint changed. */
static bool refresh_endpoints(Mesh *mesh, uint64_t max_age_usec) {
        Network *n = mesh->network;
        char **before = calloc(n->n_peers + 1, sizeof(char *));
        bool changed = false;
        size_t i = 0, count = n->n_peers;
        if (!before)
                return false;
        for (Peer *p = n->peers; p && i < count; p = p->next)
                before[i++] = p->endpoint ? strdup(p->endpoint) : NULL;
        (void) network_refresh_status(n, max_age_usec);
        i = 0;
        for (Peer *p = n->peers; p && i < count; p = p->next, i++)
                if (!streq_ptr(before[i], p->endpoint))
                        changed = true;
        for (i = 0; i < count; i++)
                free(before[i]);
        free(before);
        return changed;
}

/* The a{sv} of Hello and Heartbeat: ExitNode (b), -1 when absent. */
static int read_exit_option(sd_bus_message *m, int *ret_exit) {
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        *ret_exit = -1;
        while (r >= 0) {
                const char *key;
                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && streq(key, "ExitNode")) {
                        int b;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        if (r >= 0)
                                *ret_exit = b;
                } else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int control_register(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        Mesh *mesh = c->mesh;
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        const char *inv_hex, *key_b64;
        uint8_t key[WG_KEY_LEN], psk[WG_KEY_LEN];
        char hex[PAIRING_ID_HEX_LEN + 1];
        MeshPeer *mp;
        size_t len;
        int r;

        r = sd_bus_message_read(m, "ss", &inv_hex, &key_b64);
        if (r < 0)
                return r;
        Peer *p = conn_peer(c, &mp, error);
        if (!p)
                return -ENOLINK;
        if (mp->invitation && mp->registered && p->rotation_pending && wg_key_from_base64(key, key_b64) >= 0 &&
            wg_key_equal(key, p->pending_public_key)) {
                pairing_id_to_hex(mp->invitation_id, hex);
                if (streq(hex, inv_hex)) {
                        /* The same joiner with the same key before its key took over: our
                         * first welcome was lost (a restart here, a broken connection), and
                         * the joiner would give up on InvitationUsed. The same welcome again. */
                        r = manager_open(mgr, "peers.pending_preshared_key", p->id, p->pending_psk_sealed,
                                         sizeof(p->pending_psk_sealed), psk);
                        if (r < 0)
                                goto finish;
                        c->peer_id = p->id;
                        mp->last_seen = now_monotonic_usec();
                        coordinator_set_online(mesh, p, mp, true);
                        log_info("%s: mesh member '%s' registered again with the same key: welcome sent again",
                                 n->name, p->name);
                        r = reply_welcome(m, mesh, p, psk);
                        goto finish;
                }
        }
        if (!mp->invitation || mp->registered)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationUsed",
                                         "The invitation of '%s' was already used: an invitation works once", p->name);
        pairing_id_to_hex(mp->invitation_id, hex);
        if (!streq(hex, inv_hex))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember",
                                         "Invitation %.*s is not the one this address was reserved for",
                                         (int) utf8_prefix_len(inv_hex, strlen(inv_hex), 32), inv_hex);
        if (now_sec() >= mp->invitation_expires)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationExpired",
                                         "Invitation %s expired: ask for a new one (CreateInvitation)", hex);
        if (wg_key_from_base64(key, key_b64) < 0 || wg_key_is_zero(key))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid public key '%.*s'",
                                         (int) utf8_prefix_len(key_b64, strlen(key_b64), 60), key_b64);
        if (hashmap_get(n->peers_by_key, key) || hashmap_get(n->peers_by_pending_key, key) ||
            wg_key_equal(key, n->public_key))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PeerExists", "Public key '%s' is in use in mesh '%s'",
                                         key_b64, n->name);

        /* The joiner's own key takes over the invitation's one-time key at its first
         * handshake, the way a keypair rotation does (rotation.c): until then the
         * one-time key keeps the address, so this reply still reaches the joiner. */
        r = wg_key_generate_preshared(psk);
        if (r >= 0)
                r = manager_seal(mgr, "peers.pending_preshared_key", p->id, psk, p->pending_psk_sealed,
                                 sizeof(p->pending_psk_sealed), &len);
        if (r < 0)
                goto finish;
        p->rotation_pending = true;
        memcpy(p->pending_public_key, key, WG_KEY_LEN);
        p->pending_private_stored = false;
        p->rotation_deadline = now_usec() + MESH_KEY_SWITCH_DEADLINE * 1000000ULL;
        p->updated_at = now_usec();
        mp->registered = true;
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0)
                r = db_mesh_peer_save(mgr->db, n->id, mp);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                p->rotation_pending = false;
                mp->registered = false;
                goto finish;
        }
        (void) hashmap_put(n->peers_by_pending_key, p->pending_public_key, p);
        r = network_apply_peer(n, p, false);
        if (r < 0)
                log_warning("%s: cannot put the key of member '%s' on the device, the reconcile will: %s",
                            n->ifname, p->name, strerror(-r));
        (void) manager_rotation_timer_update(mgr);
        c->peer_id = p->id;
        mp->last_seen = now_monotonic_usec();
        coordinator_set_online(mesh, p, mp, true);
        (void) refresh_endpoints(mesh, 0);
        audit_log(NULL, AUDIT_PEER_UPDATED, n, p, "%s: mesh member '%s' registered with its own key (invitation %s)",
                  n->name, p->name, hex);
        (void) peer_emit_changed(p, "RotationPending", "PendingPublicKey", "RotationDeadline", "UpdatedAt", NULL);
        (void) sd_bus_emit_properties_changed(mgr->bus, p->path, WGNET_MESH_MEMBER_INTERFACE, "Invitation",
                                              "InvitationExpires", NULL);
        r = reply_welcome(m, mesh, p, psk);
        mesh_broadcast(mesh);
finish:
        wg_wipe(psk, sizeof(psk));
        return r < 0 ? r : 1;
}

/* True when the flag changed; a flag that cannot be stored stays as it was (the member
 * sends it again with its next heartbeat). */
static bool member_exit_flag(Mesh *mesh, Peer *p, MeshPeer *mp, int exit_node) {
        if (exit_node < 0 || (bool) exit_node == mp->exit_node)
                return false;
        mp->exit_node = exit_node;
        int r = db_mesh_peer_save(mesh->network->manager->db, mesh->network->id, mp);
        if (r < 0) {
                mp->exit_node = !exit_node;
                log_warning("%s: cannot store the exit flag of mesh member '%s', ignored: %s", mesh->network->name,
                            p->name, strerror(-r));
                return false;
        }
        (void) sd_bus_emit_properties_changed(mesh->network->manager->bus, p->path, WGNET_MESH_MEMBER_INTERFACE,
                                              "ExitNode", NULL);
        log_info("%s: mesh member '%s' %s exit node", mesh->network->name, p->name,
                 exit_node ? "offers itself as" : "is no longer an");
        return true;
}

/* Reading the device is the costly part of a Hello (a whole device at 10,000 peers): a read
 * made since the connection came is enough, and the reads that first Hellos force are at
 * most one per MESH_HELLO_READ_USEC; one forced sooner is done by a timer instead, which
 * sends the list when an endpoint changed. The age for this Hello's read. */
#define MESH_HELLO_READ_USEC (100ULL * 1000ULL)

static int on_hello_read(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        mesh->last_hello_read = now_monotonic_usec();
        if (refresh_endpoints(mesh, 0))
                mesh_broadcast_paced(mesh);
        return 0;
}

static uint64_t first_hello_age(Mesh *mesh, MeshConn *c) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        uint64_t now = now_monotonic_usec();
        if (n->status_usec >= c->accepted && n->status_usec > 0)
                return UINT64_MAX;                      /* read since: good */
        if (mesh->last_hello_read == 0 || now >= mesh->last_hello_read + MESH_HELLO_READ_USEC || !mgr->event) {
                mesh->last_hello_read = now;
                return 0;                               /* now */
        }
        int enabled = SD_EVENT_OFF;
        if (mesh->hello_read_timer)
                (void) sd_event_source_get_enabled(mesh->hello_read_timer, &enabled);
        if (enabled == SD_EVENT_OFF) {
                uint64_t due = mesh->last_hello_read + MESH_HELLO_READ_USEC;
                int r = mesh->hello_read_timer ? sd_event_source_set_time(mesh->hello_read_timer, due)
                                               : sd_event_add_time(mgr->event, &mesh->hello_read_timer, CLOCK_MONOTONIC,
                                                                   due, 10000, on_hello_read, mesh);
                if (r >= 0)
                        (void) sd_event_source_set_enabled(mesh->hello_read_timer, SD_EVENT_ONESHOT);
        }
        return UINT64_MAX;                              /* the timer's read will tell */
}

static int control_hello(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        Mesh *mesh = c->mesh;
        MeshPeer *mp;
        int exit_node, r;

        r = read_exit_option(m, &exit_node);
        if (r < 0)
                return r;
        /* Each reply carries the whole list: a caller that reads none is closed (sd-bus holds
         * a reference to this call's object until the handler returns). */
        if (conn_backlogged(c)) {
                conn_free(c);
                return 1;
        }
        Peer *p = conn_peer(c, &mp, error);
        if (!p)
                return -ENOLINK;
        if (!mp->registered)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember",
                                         "The address of '%s' belongs to an invitation that was not redeemed: call Register",
                                         p->name);
        c->peer_id = p->id;
        mp->last_seen = now_monotonic_usec();
        coordinator_set_online(mesh, p, mp, true);
        bool exit_changed = member_exit_flag(mesh, p, mp, exit_node);
        /* The first Hello of a connection needs a device read made after the connection
         * came (the member's endpoint comes with the handshake just before) and tells
         * everyone; another Hello on the same connection costs no more than a Heartbeat: no
         * device read per call, and a list to the others only when something changed. */
        bool first = !c->greeted;
        c->greeted = true;
        bool changed = refresh_endpoints(mesh, first ? first_hello_age(mesh, c) : 1000000);
        r = reply_welcome(m, mesh, p, NULL);
        /* Everyone, the newcomer included, gets the list; the others learn its endpoint. */
        if (first || changed || exit_changed)
                mesh_broadcast_paced(mesh);
        return r < 0 ? r : 1;
}

static int control_heartbeat(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        Mesh *mesh = c->mesh;
        MeshPeer *mp;
        int exit_node, r;
        bool changed = false;

        r = read_exit_option(m, &exit_node);
        if (r < 0)
                return r;
        Peer *p = conn_peer(c, &mp, error);
        if (!p)
                return -ENOLINK;
        if (!mp->registered)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember", "'%s' is not registered", p->name);
        c->peer_id = p->id;
        mp->last_seen = now_monotonic_usec();
        if (!mp->online) {
                coordinator_set_online(mesh, p, mp, true);
                changed = true;
        }
        if (member_exit_flag(mesh, p, mp, exit_node))
                changed = true;
        if (refresh_endpoints(mesh, 1000000))
                changed = true;
        r = sd_bus_reply_method_return(m, NULL);
        if (changed)
                mesh_broadcast_paced(mesh);
        return r;
}

static int control_leave(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        Mesh *mesh = c->mesh;
        MeshPeer *mp;
        Peer *p = conn_peer(c, &mp, error);
        if (!p)
                return -ENOLINK;
        if (!mp->registered)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember", "'%s' is not registered", p->name);
        /* Removed by the next check, once this reply went through the tunnel; recorded
         * before the reply, so that a coordinator stopped before that check still removes
         * it after its start. */
        mp->left = true;
        int r = db_mesh_peer_save(mesh->network->manager->db, mesh->network->id, mp);
        if (r < 0) {
                mp->left = false;
                return sd_bus_error_set_errnof(error, r, "Cannot record that '%s' leaves: %s", p->name, strerror(-r));
        }
        log_info("%s: mesh member '%s' leaves", mesh->network->name, p->name);
        return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable mesh_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Register", SD_BUS_ARGS("s", invitation, "s", public_key),
                                SD_BUS_RESULT("s", name, "as", addresses, "ay", preshared_key, "u", heartbeat,
                                              "a" MEMBER_SIGNATURE, members),
                                control_register, 0),
        SD_BUS_METHOD_WITH_ARGS("Hello", SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("s", name, "as", addresses, "u", heartbeat, "a" MEMBER_SIGNATURE, members),
                                control_hello, 0),
        SD_BUS_METHOD_WITH_ARGS("Heartbeat", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, control_heartbeat, 0),
        SD_BUS_METHOD("Leave", NULL, NULL, control_leave, 0),
        SD_BUS_SIGNAL_WITH_ARGS("MembersChanged", SD_BUS_ARGS("a" MEMBER_SIGNATURE, members), 0),
        SD_BUS_VTABLE_END,
};

static void coordinator_check(Mesh *mesh) {
        Network *n = mesh->network;
        uint64_t now = now_monotonic_usec(), now_s = now_sec();
        Peer *expired[64];
        size_t k = 0;
        bool changed = false;

        for (Peer *p = n->peers; p; p = p->next) {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                if (!mp)
                        continue;
                if (((mp->invitation && !mp->registered && now_s >= mp->invitation_expires + MESH_REGISTER_GRACE) ||
                     mp->left) && k < ELEMENTSOF(expired))
                        expired[k++] = p;
                if (mp->registered && mp->online && now > mp->last_seen + (uint64_t) mesh->offline_after * 1000000ULL &&
                    now >= mesh->online_grace_until) {
                        coordinator_set_online(mesh, p, mp, false);
                        changed = true;
                }
        }
        for (size_t i = 0; i < k; i++) {
                MeshPeer *mp = mesh_peer_get(mesh, expired[i]->id);
                if (mp && mp->left) {
                        audit_log(NULL, AUDIT_PEER_REMOVED, n, expired[i], "%s: mesh member '%s' left the mesh", n->name,
                                  expired[i]->name);
                } else
                        log_info("%s: invitation for '%s' expired, its address is free again", n->name, expired[i]->name);
                (void) mesh_remove_member(mesh, expired[i], NULL);
        }
        if (changed)
                mesh_broadcast_paced(mesh);
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        coordinator_check(mesh);
        uint64_t period = MAX(1u, MIN(mesh->heartbeat, mesh->offline_after) / 4) * 1000000ULL;
        (void) sd_event_source_set_time(s, usec + period);
        return 0;
}

void coordinator_start(Mesh *mesh) {
        Manager *mgr = mesh->network->manager;
        if (!mesh->network->active) {
                coordinator_stop(mesh);
                return;
        }
        /* The interface was deleted and made again (by the reconcile, or a Deactivate and
         * Activate within a tick): the socket still listens on the old one's index. */
        if (mesh->listen_fd >= 0 && mesh->listen_ifindex != if_nametoindex(mesh->network->ifname)) {
                log_notice("%s: interface %s is new, listening for mesh members on it again", mesh->network->name,
                           mesh->network->ifname);
                coordinator_stop(mesh);
        }
        /* Listening again after a Deactivate, or a new interface: no member could send a
         * heartbeat meanwhile; each gets a full offline period to come back. */
        if (mesh->listen_fd < 0 && mesh->check_timer)
                mesh->online_grace_until = now_monotonic_usec() + (uint64_t) mesh->offline_after * 1000000ULL;
        int r = coordinator_listen(mesh);
        if (r < 0)
                log_warning("%s: cannot listen for mesh members: %s", mesh->network->name, strerror(-r));
        if (!mesh->check_timer && mgr->event) {
                /* Members known from the database get a full offline period to come back. */
                for (Peer *p = mesh->network->peers; p; p = p->next) {
                        MeshPeer *mp = mesh_peer_get(mesh, p->id);
                        if (mp && mp->registered) {
                                mp->online = true;
                                mp->last_seen = now_monotonic_usec();
                        }
                }
                r = sd_event_add_time_relative(mgr->event, &mesh->check_timer, CLOCK_MONOTONIC, 1000000, 100000,
                                               on_check_timer, mesh);
                if (r >= 0)
                        r = sd_event_source_set_enabled(mesh->check_timer, SD_EVENT_ON);
                if (r < 0)
                        log_warning("%s: cannot start the mesh timer: %s", mesh->network->name, strerror(-r));
        }
}

int add_peer(Network *n, const char *name, const uint8_t key[WG_KEY_LEN], const IpPrefix *addrs, size_t n_addrs,
                    bool auto_addresses, Peer **ret, sd_bus_error *error) {
        PeerSpec spec = { .name = name, .own_key = true, .opts = PEER_OPTIONS_INIT, .role = PEER_ROLE_CLIENT };
        _cleanup_(freep) Peer **peers = NULL;
        char **configs = NULL;
        int r;

        memcpy(spec.public_key, key, WG_KEY_LEN);
        spec.opts[PEEROPT_PRESHARED_KEY].set = true;
        spec.opts[PEEROPT_PRESHARED_KEY].b = false;
        if (auto_addresses)
                for (size_t i = 0; i < n->n_subnets; i++)
                        spec.auto_families[n->subnets[i].family == AF_INET6] = true;
        if (n_addrs > 0) {
                spec.addresses = calloc(n_addrs, sizeof(IpPrefix));
                if (!spec.addresses)
                        return -ENOMEM;
                memcpy(spec.addresses, addrs, n_addrs * sizeof(IpPrefix));
                spec.n_addresses = n_addrs;
        }
        r = network_add_peers(n, &spec, 1, &peers, &configs, error);
        peer_specs_done(&spec, 1);
        if (r < 0)
                return r;
        wg_wipe_free_string(configs[0]);
        free(configs);
        *ret = peers[0];
        return 0;
}

int mesh_create_invitation(Mesh *mesh, const char *name, uint32_t lifetime, const char *endpoint, char **ret,
                           Peer **ret_peer, sd_bus_error *error) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        Pairing inv = { .kind = PAIRING_INVITATION };
        uint8_t invite_public[WG_KEY_LEN];
        Peer *p = NULL;
        int r;

        /* The member list must fit the longest message a member takes. */
        if (n->n_peers >= MESH_MAX_MEMBERS)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "SubnetFull",
                                         "Mesh '%s' has %u members and invitations, the most a mesh holds (%u)", n->name,
                                         n->n_peers, MESH_MAX_MEMBERS);
        /* The secret: a one-time WireGuard key for the joiner. Only its public half stays
         * here; its private half is in the invitation only. */
        randombytes_buf(inv.id, sizeof(inv.id));
        r = wg_key_generate_private(inv.preshared_key);
        if (r >= 0)
                r = wg_key_public_from_private(invite_public, inv.preshared_key);
        if (r < 0)
                goto finish;
        r = add_peer(n, name, invite_public, NULL, 0, true, &p, error);
        if (r < 0)
                goto finish;
        MeshPeer *mp = mesh_peer_new(mesh, p->id);
        if (!mp) {
                r = -ENOMEM;
                goto undo;
        }
        mp->invitation = true;
        memcpy(mp->invitation_id, inv.id, PAIRING_ID_LEN);
        mp->invitation_expires = now_sec() + lifetime;
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_mesh_peer_save(mgr->db, n->id, mp);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                mesh_peer_drop(mesh, p->id);
                goto undo;
        }
        inv.expires = mp->invitation_expires;
        memcpy(inv.public_key, n->public_key, WG_KEY_LEN);
        snprintf(inv.endpoint, sizeof(inv.endpoint), "%s", endpoint);
        for (size_t i = 0; i < p->n_addresses && i < PAIRING_MAX_ADDRESSES; i++) {
                inv.tunnel_addresses[i] = p->addresses[i];
                for (size_t k = 0; k < n->n_subnets; k++)
                        if (n->subnets[k].family == p->addresses[i].family)
                                inv.tunnel_addresses[i].prefixlen = n->subnets[k].prefixlen;
        }
        inv.n_tunnel_addresses = MIN(p->n_addresses, (size_t) PAIRING_MAX_ADDRESSES);
        for (size_t k = 0; k < n->n_subnets && k < PAIRING_MAX_ADDRESSES; k++)
                inv.networks[k] = host_of(&n->subnets[k]);
        inv.n_networks = MIN(n->n_subnets, (size_t) PAIRING_MAX_ADDRESSES);
        r = pairing_format(&inv, ret);
        if (r < 0)
                goto finish;
        coordinator_start(mesh);
        *ret_peer = p;
        goto finish;
undo:
        (void) peer_remove(p, NULL);
finish:
        pairing_wipe(&inv);
        return r;
}

int mesh_remove_member(Mesh *mesh, Peer *p, sd_bus_error *error) {
        uint64_t id = p->id;
        /* Its connection goes, then the peer (database, device), then everyone hears. */
        for (MeshConn *c = mesh->conns, *next; c; c = next) {
                next = c->next;
                if (c->peer_id == id || find_peer_by_address(mesh->network, &c->remote) == p)
                        conn_free(c);
        }
        int r = peer_remove(p, error);
        if (r < 0)
                return r;
        mesh_peer_drop(mesh, id);
        if (mesh->role == MESH_ROLE_COORDINATOR)
                mesh_broadcast(mesh);
        return 0;
}

int mesh_update(Mesh *mesh, uint32_t heartbeat, uint32_t offline_after, sd_bus_error *error) {
        uint32_t oh = mesh->heartbeat, oo = mesh->offline_after;
        if (heartbeat)
                mesh->heartbeat = heartbeat;
        if (offline_after)
                mesh->offline_after = offline_after;
        if (mesh->offline_after <= mesh->heartbeat) {
                uint32_t h = mesh->heartbeat, o = mesh->offline_after;
                mesh->heartbeat = oh;
                mesh->offline_after = oo;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "OfflineAfter (%u s) must be longer than HeartbeatInterval (%u s)", o, h);
        }
        int r = mesh_save(mesh);
        if (r < 0) {
                mesh->heartbeat = oh;
                mesh->offline_after = oo;
                return r;
        }
        if (mesh->heartbeat != oh || mesh->offline_after != oo) {
                /* Members learn the interval from a Hello's answer: their connections close,
                 * they say Hello again at once and get it. Until then they beat at the old
                 * pace: no one is taken offline for that. */
                mesh->online_grace_until = now_monotonic_usec() + (uint64_t) (oo + oh) * 1000000ULL;
                while (mesh->conns)
                        conn_free(mesh->conns);
        }
        (void) mesh_emit_changed(mesh, "HeartbeatInterval", "OfflineAfter", NULL);
        return 0;
}
