/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes, a member host: the control channel to the coordinator (connect, register, hello),
 * the member list applied as direct peers, heartbeats (docs/mesh.md). Joining and leaving
 * are in mesh-join.c, exit nodes in mesh-exit.c. */

#include <arpa/inet.h>
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
#include "wgnet-error.h"
#include "mesh-internal.h"

/* ---- Member ---- */

static void kick_later(Mesh *mesh);

void member_disconnect(Mesh *mesh) {
        if (!mesh->control)
                return;
        for (size_t i = 0; i < ELEMENTSOF(mesh->control_slots); i++)
                mesh->control_slots[i] = sd_bus_slot_unref(mesh->control_slots[i]);
        (void) sd_event_source_set_enabled(mesh->connect_timer, SD_EVENT_OFF);
        bus_close_later(TAKE_PTR(mesh->control));
        if (mesh->connected) {
                mesh->connected = false;
                (void) mesh_emit_changed(mesh, "State", NULL);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        if (!mesh->control) {
                int r = member_connect(mesh);
                if (r < 0) {
                        log_debug("%s: cannot connect to the coordinator: %s", mesh->network->name, strerror(-r));
                        member_schedule(mesh, mesh->join_call ? MESH_JOIN_RETRY_USEC : MESH_RETRY_USEC);
                }
        }
        return 0;
}

void member_schedule(Mesh *mesh, uint64_t usec) {
        Manager *mgr = mesh->network->manager;
        if (!mgr->event)
                return;
        if (!mesh->retry_timer) {
                if (sd_event_add_time_relative(mgr->event, &mesh->retry_timer, CLOCK_MONOTONIC, usec, 10000, on_retry,
                                               mesh) < 0)
                        return;
        } else
                (void) sd_event_source_set_time_relative(mesh->retry_timer, usec);
        (void) sd_event_source_set_enabled(mesh->retry_timer, SD_EVENT_ONESHOT);
}

static void member_lost(Mesh *mesh, const char *why) {
        /* A Leave waiting behind the lost connection (its hello failed first): done here. */
        if (mesh->leaving) {
                member_finish_leave(mesh, why);
                return;
        }
        log_info("%s: connection to the mesh coordinator lost (%s), reconnecting", mesh->network->name, why);
        member_disconnect(mesh);
        member_schedule(mesh, mesh->join_call ? MESH_JOIN_RETRY_USEC : MESH_RETRY_USEC);
}

static int set_endpoint(MeshPeer *mp, const char *ep) {
        if (streq_ptr(mp->endpoint, ep))
                return 0;
        char *e = strdup(ep);
        if (!e)
                return -ENOMEM;
        free(mp->endpoint);
        mp->endpoint = e;
        return 1;
}

static void save_mesh_peer(Manager *mgr, Network *n, MeshPeer *mp) {
        if (db_begin(mgr->db) < 0)
                return;
        if (db_mesh_peer_save(mgr->db, n->id, mp) < 0 || db_commit(mgr->db) < 0)
                db_rollback(mgr->db);
}

/* The members no longer in the list (read from the array entered in m, up to its end) leave
 * first: a new member may have been given a departed one's address while we were away. */
static int remove_unlisted_members(Mesh *mesh, sd_bus_message *m) {
        Network *n = mesh->network;
        _cleanup_(freep) uint8_t *keys = NULL;
        _cleanup_(hashmap_freep) Hashmap *listed = hashmap_new(key32_hash_func, key32_equal_func);
        size_t n_keys = 0, alloc = 0;
        const char *key_b64;
        int r;

        if (!listed)
                return -ENOMEM;
        while ((r = sd_bus_message_enter_container(m, 'r', "ssassbb")) > 0) {
                r = sd_bus_message_read(m, "ss", NULL, &key_b64);
                if (r >= 0)
                        r = sd_bus_message_skip(m, "assbb");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                if (n_keys == alloc) {
                        alloc = alloc ? alloc * 2 : 64;
                        uint8_t *nk = realloc(keys, alloc * WG_KEY_LEN);
                        if (!nk)
                                return -ENOMEM;
                        keys = nk;
                }
                if (wg_key_from_base64(keys + n_keys * WG_KEY_LEN, key_b64) >= 0)
                        n_keys++;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_keys; i++)
                (void) hashmap_put(listed, keys + i * WG_KEY_LEN, keys + i * WG_KEY_LEN);
        Peer *gone[256];
        size_t k = 0;
        for (Peer *p = n->peers; p && k < ELEMENTSOF(gone); p = p->next)
                if (!hashmap_get(listed, p->public_key) && !wg_key_equal(p->public_key, mesh->coordinator_key))
                        gone[k++] = p;
        for (size_t i = 0; i < k; i++) {
                log_info("%s: mesh member '%s' was removed from the mesh", n->name, gone[i]->name);
                (void) mesh_remove_member(mesh, gone[i], NULL);
        }
        return 0;
}

/* The coordinator's member list: add, update, enable and disable the direct peers. */
static int member_apply_list(Mesh *mesh, sd_bus_message *m) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        int r;

        r = sd_bus_message_enter_container(m, 'a', MEMBER_SIGNATURE);
        if (r < 0)
                return r;
        r = remove_unlisted_members(mesh, m);
        if (r >= 0)
                r = sd_bus_message_rewind(m, false);      /* back to the array's first entry */
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *key_b64, *endpoint;
                _cleanup_(strv_freep) char **addrs = NULL;
                _cleanup_(freep) IpPrefix *prefixes = NULL;
                size_t n_prefixes = 0;
                uint8_t key[WG_KEY_LEN];
                int online, exit_node;

                r = sd_bus_message_enter_container(m, 'r', "ssassbb");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "ss", &name, &key_b64);
                if (r >= 0)
                        r = sd_bus_message_read_strv(m, &addrs);
                if (r >= 0)
                        r = sd_bus_message_read(m, "sbb", &endpoint, &online, &exit_node);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                if (wg_key_from_base64(key, key_b64) < 0 || wg_key_equal(key, n->public_key))
                        continue;
                Peer *p = hashmap_get(n->peers_by_key, key);
                if (wg_key_equal(key, mesh->coordinator_key)) {
                        /* The coordinator is our first peer already; only its exit flag counts. */
                        MeshPeer *mp = p ? mesh_peer_new(mesh, p->id) : NULL;
                        if (mp && mp->exit_node != (bool) exit_node) {
                                mp->exit_node = exit_node;
                                save_mesh_peer(mgr, n, mp);
                                (void) sd_bus_emit_properties_changed(mgr->bus, p->path, WGNET_MESH_MEMBER_INTERFACE,
                                                                      "ExitNode", NULL);
                        }
                        continue;
                }
                if (!p) {
                        if (!online)
                                continue;
                        if (bus_parse_prefixes(addrs, false, "Addresses", &prefixes, &n_prefixes, NULL) < 0)
                                continue;
                        const char *pname = name;
                        char alt[80];
                        if (hashmap_get(n->peers_by_name, name) || !peer_name_is_valid(name)) {
                                snprintf(alt, sizeof(alt), "member-%.8s", key_b64);
                                pname = alt;
                        }
                        manager_flush_adds(mgr);
                        /* Its endpoint must be known when network_add_peers puts it on the device. */
                        uint64_t id = mgr->next_peer_id;
                        MeshPeer *mp = mesh_peer_new(mesh, id);
                        if (!mp || set_endpoint(mp, endpoint) < 0)
                                return -ENOMEM;
                        mp->exit_node = exit_node;
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        r = add_peer(n, pname, key, prefixes, n_prefixes, false, &p, &e);
                        if (r < 0) {
                                mesh_peer_drop(mesh, id);
                                log_warning("%s: cannot add mesh member '%s': %s", n->name, name,
                                            e.message ? e.message : strerror(-r));
                                r = 0;
                                continue;
                        }
                        save_mesh_peer(mgr, n, mp);
                        mp->since = now_monotonic_usec();
                        kick_later(mesh);
                        log_info("%s: mesh member '%s' added (%s)", n->name, pname, endpoint);
                        continue;
                }
                MeshPeer *mp = mesh_peer_new(mesh, p->id);
                if (!mp)
                        return -ENOMEM;
                bool changed = false;
                if (!isempty(endpoint) && (r = set_endpoint(mp, endpoint)) != 0) {
                        if (r < 0)
                                return r;
                        changed = true;
                }
                if (mp->exit_node != (bool) exit_node) {
                        mp->exit_node = exit_node;
                        changed = true;
                        (void) sd_bus_emit_properties_changed(mgr->bus, p->path, WGNET_MESH_MEMBER_INTERFACE, "ExitNode",
                                                              NULL);
                }
                if (changed)
                        save_mesh_peer(mgr, n, mp);
                if (p->enabled != (bool) online) {
                        log_info("%s: mesh member '%s' %s", n->name, p->name,
                                 online ? "is back" : "went offline: off the device");
                        (void) peer_set_enabled(p, online, NULL);
                        if (online) {
                                mp->since = now_monotonic_usec();
                                kick_later(mesh);
                        }
                } else if (changed && p->enabled)
                        (void) network_apply_peer(n, p, false);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        /* (Whoever is not in the list left in remove_unlisted_members, before the adds.) */
        member_apply_exit(mesh);
        return 0;
}

/* Two members that get each other at nearly the same moment can both send their first
 * handshake initiation before the other has the peer: both are dropped, and WireGuard tries
 * again only after 5 s (REKEY_TIMEOUT), or later. A direct peer still without a handshake
 * 2 s after it was put on the device is put there anew: a new peer starts a new handshake
 * at once (its keepalive), and by now the other side has us. */
#define MESH_KICK_AFTER_USEC (2ULL * 1000000ULL)
#define MESH_KICK_GIVE_UP_USEC (60ULL * 1000000ULL)

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        Network *n = mesh->network;
        uint64_t now = now_monotonic_usec();
        bool again = false;

        if (!n->active)
                return 0;
        (void) network_refresh_status(n, 0);
        for (Peer *p = n->peers; p; p = p->next) {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                if (!mp || !p->enabled || p->last_handshake > 0 || mp->since == 0 ||
                    now > mp->since + MESH_KICK_GIVE_UP_USEC)
                        continue;
                uint64_t last = MAX(mp->since, mp->kicked);
                if (now < last + MESH_KICK_AFTER_USEC) {
                        again = true;
                        continue;
                }
                log_debug("%s: no handshake with '%s' yet, putting it on the device anew", n->name, p->name);
                mp->kicked = now;
                if (network_apply_peer(n, p, true) >= 0)
                        (void) network_apply_peer(n, p, false);
                again = true;
        }
        if (again)
                (void) sd_event_source_set_time(s, usec + MESH_KICK_AFTER_USEC / 2 +
                                                          randombytes_uniform(MESH_KICK_AFTER_USEC / 2));
        else
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void kick_later(Mesh *mesh) {
        Manager *mgr = mesh->network->manager;
        int enabled = SD_EVENT_OFF;
        if (!mgr->event)
                return;
        if (!mesh->kick_timer) {
                if (sd_event_add_time_relative(mgr->event, &mesh->kick_timer, CLOCK_MONOTONIC, MESH_KICK_AFTER_USEC,
                                               100000, on_kick, mesh) < 0)
                        return;
        } else {
                (void) sd_event_source_get_enabled(mesh->kick_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                (void) sd_event_source_set_time_relative(mesh->kick_timer, MESH_KICK_AFTER_USEC);
        }
        (void) sd_event_source_set_enabled(mesh->kick_timer, SD_EVENT_ON);
}

static int on_members_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        int r = member_apply_list(mesh, m);
        if (r < 0)
                log_warning("%s: cannot apply the member list: %s", mesh->network->name, strerror(-r));
        return 0;
}

static int on_control_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        member_lost(userdata, "disconnected");
        return 0;
}

static int on_heartbeat_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        forget_call(mesh, m);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e) {
                if (sd_bus_error_has_name(e, WGNET_ERROR_PREFIX "NotMeshMember"))
                        log_warning("%s: the coordinator says: %s", mesh->network->name, e->message);
                member_lost(mesh, e->message ? e->message : e->name);
        }
        return 0;
}

int member_call(Mesh *mesh, const char *method, sd_bus_message_handler_t cb, uint64_t timeout) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(mesh->control, &m, NULL, WGNET_MESH_CONTROL_PATH,
                                               WGNET_MESH_CONTROL_INTERFACE, method);
        if (r < 0)
                return r;
        if (streq(method, "Register")) {
                char hex[PAIRING_ID_HEX_LEN + 1], key[WG_KEY_B64_SIZE];
                uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
                pairing_id_to_hex(mesh->invitation_id, hex);
                r = manager_open(mesh->network->manager, "meshes.pending_private_key", mesh->network->id,
                                 mesh->pending_private_sealed, sizeof(mesh->pending_private_sealed), priv);
                if (r >= 0)
                        r = wg_key_public_from_private(pub, priv);
                wg_wipe(priv, sizeof(priv));
                if (r < 0)
                        return r;
                wg_key_to_base64(key, pub);
                r = sd_bus_message_append(m, "ss", hex, key);
        } else if (!streq(method, "Leave"))
                r = sd_bus_message_append(m, "a{sv}", 1, "ExitNode", "b", mesh->exit_node);
        if (r < 0)
                return r;
        for (size_t i = 2; i < ELEMENTSOF(mesh->control_slots); i++)
                if (!mesh->control_slots[i])
                        return sd_bus_call_async(mesh->control, &mesh->control_slots[i], m, cb, mesh, timeout);
        return -EBUSY;
}

/* In a reply callback: drop our reference to its slot. */
void forget_call(Mesh *mesh, sd_bus_message *m) {
        sd_bus_slot *slot = sd_bus_get_current_slot(sd_bus_message_get_bus(m));
        if (!sd_bus_message_is_method_error(m, NULL))
                (void) sd_event_source_set_enabled(mesh->connect_timer, SD_EVENT_OFF);
        for (size_t i = 2; i < ELEMENTSOF(mesh->control_slots); i++)
                if (slot && mesh->control_slots[i] == slot)
                        mesh->control_slots[i] = sd_bus_slot_unref(mesh->control_slots[i]);
}

void member_heartbeat_now(Mesh *mesh) {
        if (mesh->control && mesh->connected)
                (void) member_call(mesh, "Heartbeat", on_heartbeat_reply, MESH_CALL_TIMEOUT_USEC);
}

static int on_heartbeat_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        if (mesh->control && mesh->connected) {
                int r = member_call(mesh, "Heartbeat", on_heartbeat_reply, (uint64_t) mesh->heartbeat * 2000000ULL);
                if (r < 0)
                        member_lost(mesh, strerror(-r));
        } else if (!mesh->control)
                (void) on_retry(NULL, 0, mesh);
        (void) sd_event_source_set_time(s, usec + (uint64_t) mesh->heartbeat * 1000000ULL);
        return 0;
}

static void member_start_heartbeat(Mesh *mesh) {
        Manager *mgr = mesh->network->manager;
        if (mesh->heartbeat_timer)
                return;
        if (sd_event_add_time_relative(mgr->event, &mesh->heartbeat_timer, CLOCK_MONOTONIC,
                                       (uint64_t) mesh->heartbeat * 1000000ULL, 100000, on_heartbeat_timer, mesh) >= 0)
                (void) sd_event_source_set_enabled(mesh->heartbeat_timer, SD_EVENT_ON);
}

/* Read (s name, as addresses, [ay psk,] u heartbeat); the member list follows. */
static int read_welcome(Mesh *mesh, sd_bus_message *m, uint8_t *ret_psk) {
        const char *name;
        _cleanup_(strv_freep) char **addrs = NULL;
        uint32_t hb;
        int r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &addrs);
        if (r >= 0 && ret_psk) {
                const void *psk;
                size_t len;
                r = sd_bus_message_read_array(m, 'y', &psk, &len);
                if (r >= 0 && len != WG_KEY_LEN)
                        r = -EBADMSG;
                if (r >= 0)
                        memcpy(ret_psk, psk, WG_KEY_LEN);
        }
        if (r >= 0)
                r = sd_bus_message_read(m, "u", &hb);
        if (r < 0)
                return r;
        if (hb >= 1 && hb != mesh->heartbeat) {
                mesh->heartbeat = hb;
                (void) mesh_emit_changed(mesh, "HeartbeatInterval", NULL);
        }
        return 0;
}

static int on_hello_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        forget_call(mesh, m);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        int r;
        if (e) {
                member_lost(mesh, e->message ? e->message : e->name);
                return 0;
        }
        r = read_welcome(mesh, m, NULL);
        if (r >= 0)
                r = member_apply_list(mesh, m);
        if (r < 0) {
                member_lost(mesh, strerror(-r));
                return 0;
        }
        if (!mesh->connected) {
                mesh->connected = true;
                mesh->connected_since = now_monotonic_usec();
                log_info("%s: connected to the mesh coordinator", mesh->network->name);
                (void) mesh_emit_changed(mesh, "State", NULL);
        }
        member_start_heartbeat(mesh);
        return 0;
}

/* The coordinator accepted our key: the network's key becomes ours (the one-time key of the
 * invitation is gone from this host), the coordinator peer gets the preshared key, and a new
 * connection says hello over the new key. */
static int member_registered(Mesh *mesh, sd_bus_message *m) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        uint8_t psk[WG_KEY_LEN], priv[WG_KEY_LEN], pub[WG_KEY_LEN], sealed[SEALED_KEY_SIZE], psk_sealed[SEALED_KEY_SIZE];
        size_t len;
        int r;

        Peer *coord = hashmap_get(n->peers_by_key, mesh->coordinator_key);
        if (!coord)
                return -ENOENT;
        r = read_welcome(mesh, m, psk);
        if (r < 0)
                return r;
        r = manager_open(mgr, "meshes.pending_private_key", n->id, mesh->pending_private_sealed,
                         sizeof(mesh->pending_private_sealed), priv);
        if (r >= 0)
                r = wg_key_public_from_private(pub, priv);
        if (r >= 0)
                r = manager_seal(mgr, "networks.private_key", n->id, priv, sealed, sizeof(sealed), &len);
        if (r >= 0)
                r = manager_seal(mgr, "peers.preshared_key", coord->id, psk, psk_sealed, sizeof(psk_sealed), &len);
        wg_wipe(priv, sizeof(priv));
        wg_wipe(psk, sizeof(psk));
        if (r < 0)
                return r;
        r = db_begin(mgr->db);
        if (r < 0)
                return r;
        memcpy(n->private_key_sealed, sealed, sizeof(sealed));
        memcpy(n->public_key, pub, WG_KEY_LEN);
        memcpy(coord->psk_sealed, psk_sealed, sizeof(psk_sealed));
        coord->has_psk = true;
        mesh->joined = true;
        mesh->has_pending_private = false;
        wg_wipe(mesh->pending_private_sealed, sizeof(mesh->pending_private_sealed));
        r = db_network_set_key(mgr->db, n->id, sealed, sizeof(sealed), pub);
        if (r >= 0)
                r = db_peer_update(mgr->db, coord);
        if (r >= 0)
                r = db_mesh_save(mgr->db, mesh);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                return r;
        }
        r = network_apply(n, false);
        if (r < 0)
                log_warning("%s: cannot put the new key on the device, the reconcile will: %s", n->ifname, strerror(-r));
        (void) network_emit_changed(n, "PublicKey", NULL);
        (void) peer_emit_changed(coord, "HasPresharedKey", NULL);
        (void) mesh_emit_changed(mesh, "State", NULL);
        /* The members come with the hello over our own key, a moment later: by then they
         * have heard of us, so our first handshakes find us on their devices (a handshake
         * that arrives before its peer is configured is retried only after 5 s). */
        return 0;
}

/* The coordinator's address it listens on: its first IPv4 address, else its first one
 * (as coordinator_listen() chooses; an invitation lists them in the subnets' order). */
static const IpPrefix *coordinator_control_address(const Mesh *mesh) {
        for (size_t i = 0; i < mesh->n_coordinator_addresses; i++)
                if (mesh->coordinator_addresses[i].family == AF_INET)
                        return &mesh->coordinator_addresses[i];
        return &mesh->coordinator_addresses[0];
}

/* An empty UDP datagram to the coordinator's mesh address: WireGuard starts a handshake for it. */
static void poke_coordinator(Mesh *mesh) {
        if (mesh->n_coordinator_addresses == 0)
                return;
        const IpPrefix *a = coordinator_control_address(mesh);
        _cleanup_(closep) int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, mesh->network->ifname,
                                 (socklen_t) strlen(mesh->network->ifname)) < 0)
                return;
        if (a->family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin.sin_addr, a->addr.bytes, 4);
                (void) sendto(fd, "", 0, 0, (struct sockaddr *) &sin, sizeof(sin));
        } else {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin6.sin6_addr, a->addr.bytes, 16);
                (void) sendto(fd, "", 0, 0, (struct sockaddr *) &sin6, sizeof(sin6));
        }
}

static int on_register_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        /* It carries the preshared key: wiped when freed. */
        (void) sd_bus_message_sensitive(m);
        forget_call(mesh, m);
        Network *n = mesh->network;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e) {
                /* The coordinator's verdict is final; a broken connection is retried until the
                 * join times out. */
                if (sd_bus_error_has_name(e, WGNET_ERROR_PREFIX "InvitationExpired") ||
                    sd_bus_error_has_name(e, WGNET_ERROR_PREFIX "InvitationUsed") ||
                    sd_bus_error_has_name(e, WGNET_ERROR_PREFIX "NotMeshMember") ||
                    sd_bus_error_has_name(e, WGNET_ERROR_PREFIX "PeerExists") ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
                        member_fail_join(mesh, e);
                else
                        member_lost(mesh, e->message ? e->message : e->name);
                return 0;
        }
        int r = member_registered(mesh, m);
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error err = SD_BUS_ERROR_NULL;
                sd_bus_error_setf(&err, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot store the registration: %s", strerror(-r));
                member_fail_join(mesh, &err);
                return 0;
        }
        log_info("%s: registered with the mesh coordinator", n->name);
        mesh->join_timeout = sd_event_source_disable_unref(mesh->join_timeout);
        if (mesh->join_call) {
                audit_log(mesh->join_call, AUDIT_NETWORK_CREATED, n, NULL, "%s: joined a mesh (interface %s)", n->name,
                          n->ifname);
                (void) sd_bus_reply_method_return(mesh->join_call, "o", n->path);
                mesh->join_call = sd_bus_message_unref(mesh->join_call);
        }
        /* A new connection over our own key. The coordinator moves our address to that key
         * at its first handshake (it looks every 0.2 s): one datagram starts the handshake
         * now, and the connection follows when the address has moved, so that its first
         * packet is not dropped (TCP would retry only a second later). */
        member_disconnect(mesh);
        poke_coordinator(mesh);
        member_schedule(mesh, 400 * 1000);
        return 0;
}

static int on_connect_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        member_lost(userdata, "no answer");
        return 0;
}

int member_connect(Mesh *mesh) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        char buf[IP_PREFIX_STRLEN];
        int r, bfd = -1;

        if (mesh->control || !n->active || !mgr->event || mesh->n_coordinator_addresses == 0)
                return 0;
        const IpPrefix *a = coordinator_control_address(mesh);
        /* Through the mesh's interface only, as the coordinator listens: while the
         * interface or its address is missing, the coordinator's mesh address would be
         * reached by another route (the default one), where anyone on the path could answer.
         * No interface, no attempt (the retry comes back). */
        if (if_nametoindex(n->ifname) == 0)
                return -ENODEV;
        int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, n->ifname, (socklen_t) strlen(n->ifname)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (a->family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin.sin_addr, a->addr.bytes, 4);
                r = connect(fd, (struct sockaddr *) &sin, sizeof(sin));
        } else {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin6.sin6_addr, a->addr.bytes, 16);
                r = connect(fd, (struct sockaddr *) &sin6, sizeof(sin6));
        }
        if (r < 0 && errno != EINPROGRESS) {
                r = -errno;
                close(fd);
                return r;
        }
        r = relay_new(mesh, fd, NULL, &bfd);
        if (r < 0)
                return r;
        r = sd_bus_new(&mesh->control);
        if (r >= 0)
                r = sd_bus_set_fd(mesh->control, bfd, bfd);
        if (r >= 0)
                bfd = -1;
        else
                close(bfd);
        if (r >= 0)
                r = sd_bus_set_anonymous(mesh->control, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(mesh->control, false);
        if (r >= 0)
                r = sd_bus_match_signal(mesh->control, &mesh->control_slots[0], NULL, WGNET_MESH_CONTROL_PATH,
                                        WGNET_MESH_CONTROL_INTERFACE,
                                        "MembersChanged", on_members_changed, mesh);
        if (r >= 0)
                r = sd_bus_match_signal(mesh->control, &mesh->control_slots[1], NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_control_disconnected, mesh);
        if (r >= 0)
                r = sd_bus_start(mesh->control);
        if (r >= 0)
                r = sd_bus_attach_event(mesh->control, mgr->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0) {
                if (mesh->joined)
                        r = member_call(mesh, "Hello", on_hello_reply, MESH_CALL_TIMEOUT_USEC);
                else
                        r = member_call(mesh, "Register", on_register_reply, MESH_CALL_TIMEOUT_USEC);
        }
        if (r < 0) {
                member_disconnect(mesh);
                return r;
        }
        log_debug("%s: connecting to the mesh coordinator at %s port %u", n->name, ip_addr_to_string(a, buf),
                  MESH_CONTROL_PORT);
        /* sd-bus waits long for a handshake that never comes (a lost TCP connection): give up
         * after a call timeout (shorter with a short heartbeat) and connect again. */
        uint64_t limit = MIN(MESH_CALL_TIMEOUT_USEC, (uint64_t) mesh->heartbeat * 3000000ULL + 2000000ULL);
        if (!mesh->connect_timer)
                r = sd_event_add_time_relative(mgr->event, &mesh->connect_timer, CLOCK_MONOTONIC, limit, 100000,
                                               on_connect_timeout, mesh);
        else
                r = sd_event_source_set_time_relative(mesh->connect_timer, limit);
        if (r >= 0)
                (void) sd_event_source_set_enabled(mesh->connect_timer, SD_EVENT_ONESHOT);
        return 0;
}

void member_start(Mesh *mesh) {
        if (!mesh->network->active) {
                member_disconnect(mesh);
                return;
        }
        if (!mesh->control && !mesh->retry_timer)
                member_schedule(mesh, 1000);
        if (mesh->joined && mesh->network->manager->event)
                member_start_heartbeat(mesh);
}
