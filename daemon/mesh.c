/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Meshes: the state, the coordinator's side of the coordination channel and the members'
 * side. See mesh.h and docs/mesh.md. */

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
#include "mesh-internal.h"
#include "network-options.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "rotation.h"
#include "wgnet-error.h"

static const char *const mesh_role_table[_MESH_ROLE_MAX] = {
        [MESH_ROLE_COORDINATOR] = "coordinator",
        [MESH_ROLE_MEMBER] = "member",
};

const char *mesh_role_to_string(MeshRole r) {
        return r >= 0 && r < _MESH_ROLE_MAX ? mesh_role_table[r] : NULL;
}

int mesh_role_from_string(const char *s) {
        for (int i = 0; s && i < _MESH_ROLE_MAX; i++)
                if (streq(mesh_role_table[i], s))
                        return i;
        return -EINVAL;
}

static uint32_t env_seconds(const char *name, uint32_t def) {
        const char *e = getenv(name);
        char *end;
        if (!e)
                return def;
        unsigned long v = strtoul(e, &end, 10);
        return *end == 0 && v >= 1 && v <= 86400 ? (uint32_t) v : def;
}

int mesh_new(Network *n, MeshRole role, Mesh **ret) {
        _cleanup_(mesh_freep) Mesh *m = calloc(1, sizeof(Mesh));
        if (!m)
                return -ENOMEM;
        m->network = n;
        m->role = role;
        m->listen_fd = -1;
        /* The defaults; tests shorten them through the environment. */
        m->heartbeat = env_seconds("WGNET_MESH_HEARTBEAT", MESH_DEFAULT_HEARTBEAT);
        m->offline_after = env_seconds("WGNET_MESH_OFFLINE_AFTER", MESH_DEFAULT_OFFLINE_AFTER);
        m->exit_via = strdup("");
        m->coordinator_endpoint = strdup("");
        m->peers = hashmap_new(uint64_hash_func, uint64_equal_func);
        if (!m->exit_via || !m->coordinator_endpoint || !m->peers)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

MeshPeer *mesh_peer_free(MeshPeer *mp) {
        if (!mp)
                return NULL;
        free(mp->endpoint);
        free(mp);
        return NULL;
}


/* sd-bus must not be closed inside its own callbacks: the callbacks that point to our
 * objects are removed at once (their slots), the connection is closed at the next turn of
 * the loop. */
static int on_close_later(sd_event_source *s, void *userdata) {
        sd_bus *bus = userdata;
        sd_event_source_unref(s);
        (void) sd_bus_detach_event(bus);
        sd_bus_close(bus);
        sd_bus_unref(bus);
        return 0;
}

static void bus_close_now(sd_bus *bus) {
        (void) sd_bus_detach_event(bus);
        sd_bus_close(bus);
        sd_bus_unref(bus);
}

void bus_close_later(sd_bus *bus) {
        sd_event_source *s = NULL;
        sd_event *e = sd_bus_get_event(bus);
        if (e && sd_event_get_state(e) != SD_EVENT_FINISHED &&
            sd_event_add_defer(e, &s, on_close_later, bus) >= 0)
                return;
        (void) sd_bus_detach_event(bus);
        sd_bus_close(bus);
        sd_bus_unref(bus);
}

Mesh *mesh_free(Mesh *m) {
        MeshPeer *mp;
        if (!m)
                return NULL;
        if (m->join_call) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(WGNET_ERROR_PREFIX "NotFound", "The mesh network was deleted");
                (void) sd_bus_reply_method_error(m->join_call, &e);
                m->join_call = sd_bus_message_unref(m->join_call);
        }
        while (m->conns)
                conn_free(m->conns);
        member_disconnect(m);
        while (m->relays)
                relay_free(m->relays);
        m->listen_source = sd_event_source_disable_unref(m->listen_source);
        m->accept_pause = sd_event_source_disable_unref(m->accept_pause);
        if (m->listen_fd >= 0)
                close(m->listen_fd);
        m->check_timer = sd_event_source_disable_unref(m->check_timer);
        m->broadcast_timer = sd_event_source_disable_unref(m->broadcast_timer);
        m->hello_read_timer = sd_event_source_disable_unref(m->hello_read_timer);
        m->exit_source = sd_event_source_disable_unref(m->exit_source);
        m->heartbeat_timer = sd_event_source_disable_unref(m->heartbeat_timer);
        m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
        m->connect_timer = sd_event_source_disable_unref(m->connect_timer);
        m->kick_timer = sd_event_source_disable_unref(m->kick_timer);
        m->join_timeout = sd_event_source_disable_unref(m->join_timeout);
        while (hashmap_size(m->peers) > 0) {
                size_t i = 0;
                const void *key;
                if (!hashmap_iterate(m->peers, &i, (void **) &mp, &key))
                        break;
                hashmap_remove(m->peers, key);
                mesh_peer_free(mp);
        }
        hashmap_free(m->peers);
        wg_wipe(m->pending_private_sealed, sizeof(m->pending_private_sealed));
        free(m->exit_via);
        free(m->coordinator_endpoint);
        free(m);
        return NULL;
}

MeshPeer *mesh_peer_get(Mesh *m, uint64_t peer_id) {
        return m ? hashmap_get(m->peers, &peer_id) : NULL;
}

MeshPeer *mesh_peer_new(Mesh *m, uint64_t peer_id) {
        MeshPeer *mp = mesh_peer_get(m, peer_id);
        if (mp)
                return mp;
        mp = calloc(1, sizeof(MeshPeer));
        if (!mp)
                return NULL;
        mp->peer_id = peer_id;
        mp->endpoint = strdup("");
        if (!mp->endpoint || hashmap_put(m->peers, &mp->peer_id, mp) < 0)
                return mesh_peer_free(mp);
        return mp;
}

void mesh_peer_drop(Mesh *m, uint64_t peer_id) {
        mesh_peer_free(hashmap_remove(m->peers, &peer_id));
}

int mesh_save(Mesh *mesh) {
        Db *db = mesh->network->manager->db;
        int r = db_begin(db);
        if (r >= 0)
                r = db_mesh_save(db, mesh);
        if (r >= 0)
                r = db_commit(db);
        if (r < 0)
                db_rollback(db);
        return r;
}

Mesh *network_mesh(Network *n) {
        Manager *m = n->manager;
        if (n->mode != NETWORK_MODE_MESH)
                return NULL;
        if (!n->mesh) {
                /* A network created with Mode=mesh coordinates its mesh. */
                if (mesh_new(n, MESH_ROLE_COORDINATOR, &n->mesh) < 0)
                        return NULL;
                if (m->db && !db_in_transaction(m->db))
                        (void) mesh_save(n->mesh);
        }
        return n->mesh;
}

int mesh_emit_changed(Mesh *mesh, const char *property, ...) {
        va_list ap;
        va_start(ap, property);
        int r = bus_emit_changedv(mesh->network->manager->bus, mesh->network->path, WGNET_MESH_INTERFACE, property, ap);
        va_end(ap);
        return r;
}

/* ---- Hooks of the network code ---- */

int mesh_peer_to_wg_peer(Peer *p, WgPeer *wp) {
        Mesh *mesh = p->network->mesh;
        if (mesh->role != MESH_ROLE_MEMBER)
                return 0;
        /* A member keeps its NAT mappings toward every peer open; it sends to the endpoint
         * that the coordinator saw. */
        wp->persistent_keepalive = p->keepalive;
        const char *ep = NULL;
        if (wg_key_equal(p->public_key, mesh->coordinator_key))
                ep = mesh->coordinator_endpoint;
        else {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                ep = mp ? mp->endpoint : NULL;
        }
        if (!isempty(ep) && wg_endpoint_parse(ep, &wp->endpoint) >= 0)
                wp->flags |= WGPEER_HAS_ENDPOINT;
        return 0;
}

void mesh_peer_online(Peer *p, bool *online) {
        Mesh *mesh = p->network->mesh;
        if (mesh->role != MESH_ROLE_COORDINATOR)
                return;
        MeshPeer *mp = mesh_peer_get(mesh, p->id);
        *online = mp && mp->online && p->enabled;
}

bool mesh_network_masquerades(const Network *n) {
        return n->mode == NETWORK_MODE_MESH && n->mesh && n->mesh->exit_node && !isempty(n->nat_interface);
}

/* ---- Helpers ---- */

Peer *find_peer_by_address(Network *n, const IpPrefix *host) {
        for (Peer *p = n->peers; p; p = p->next)
                for (size_t i = 0; i < p->n_addresses; i++)
                        if (ip_prefix_equal(&p->addresses[i], host))
                                return p;
        return NULL;
}

static const uint8_t *peer_effective_key(const Peer *p) {
        return p->rotation_pending ? p->pending_public_key : p->public_key;
}

uint64_t now_sec(void) {
        return now_usec() / 1000000ULL;
}

/* The host prefix of a subnet's own address (10.9.0.1/24 -> 10.9.0.1/32). */
IpPrefix host_of(const IpPrefix *a) {
        IpPrefix h = *a;
        h.prefixlen = (uint8_t) ip_family_bits(a->family);
        return h;
}

void mesh_peer_enabled_changed(Peer *p) {
        Mesh *mesh = p->network->mesh;
        MeshPeer *mp;
        if (!mesh || mesh->role != MESH_ROLE_COORDINATOR || !(mp = mesh_peer_get(mesh, p->id)) || !mp->registered)
                return;
        /* A disabled member leaves every member's device now (the list leaves it out), not
         * when its heartbeats are missed; its control connection goes with it. */
        if (!p->enabled)
                for (MeshConn *c = mesh->conns, *next; c; c = next) {
                        next = c->next;
                        if (c->peer_id == p->id)
                                conn_free(c);
                }
        mesh_broadcast(mesh);
}

/* The member list: every registered member and the coordinator itself. */
int append_members(Mesh *mesh, sd_bus_message *m) {
        Network *n = mesh->network;
        char key[WG_KEY_B64_SIZE];
        IpPrefix own[NETWORK_MAX_SUBNETS];
        int r;

        r = sd_bus_message_open_container(m, 'a', MEMBER_SIGNATURE);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_subnets; i++)
                own[i] = host_of(&n->subnets[i]);
        wg_key_to_base64(key, n->public_key);
        r = sd_bus_message_open_container(m, 'r', "ssassbb");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", MESH_COORDINATOR_PEER_NAME, key);
        if (r >= 0)
                r = bus_append_prefixes(m, own, n->n_subnets);
        if (r >= 0)
                r = sd_bus_message_append(m, "sbb", "", true, mesh->exit_node && !isempty(n->nat_interface));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        for (Peer *p = n->peers; r >= 0 && p; p = p->next) {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                if (!mp || !mp->registered || !p->enabled)
                        continue;
                wg_key_to_base64(key, peer_effective_key(p));
                r = sd_bus_message_open_container(m, 'r', "ssassbb");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", p->name, key);
                if (r >= 0)
                        r = bus_append_prefixes(m, p->addresses, p->n_addresses);
                if (r >= 0)
                        r = sd_bus_message_append(m, "sbb", p->endpoint ? p->endpoint : "", mp->online, mp->exit_node);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}


const char *mesh_exit_via(const Mesh *mesh) {
        return mesh->exit_via ? mesh->exit_via : "";
}

const char *mesh_state(Mesh *mesh) {
        if (mesh->role == MESH_ROLE_COORDINATOR)
                return mesh->network->active ? "coordinating" : "inactive";
        if (!mesh->network->active)
                return "inactive";
        if (!mesh->joined)
                return "joining";
        return mesh->connected ? "connected" : "disconnected";
}

/* At exit, before sd-bus flushes its connections (it would wait for a coordinator that is
 * gone, without end): close them all, without flushing. */
static int on_mesh_exit(sd_event_source *s, void *userdata) {
        Mesh *mesh = userdata;
        for (MeshConn *c = mesh->conns; c; c = c->next) {
                for (size_t i = 0; i < ELEMENTSOF(c->slots); i++)
                        c->slots[i] = sd_bus_slot_unref(c->slots[i]);
                if (c->bus)
                        bus_close_now(TAKE_PTR(c->bus));
        }
        if (mesh->control) {
                for (size_t i = 0; i < ELEMENTSOF(mesh->control_slots); i++)
                        mesh->control_slots[i] = sd_bus_slot_unref(mesh->control_slots[i]);
                bus_close_now(TAKE_PTR(mesh->control));
        }
        return 0;
}

/* Two steps that are two transactions, cut by a crash: an invitation's peer without its
 * mesh row (it would never expire and keeps its address), a joined member without the
 * coordinator's peer (it could never register). Once, at the first tick. */
static void mesh_repair(Mesh *mesh) {
        Network *n = mesh->network;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (mesh->role == MESH_ROLE_COORDINATOR) {
                for (Peer *p = n->peers, *next; p; p = next) {
                        next = p->next;
                        if (mesh_peer_get(mesh, p->id))
                                continue;
                        log_notice("%s: removing peer '%s', an invitation that a crash left unfinished", n->name, p->name);
                        (void) peer_remove(p, NULL);
                }
                return;
        }
        /* Only a join cut short has no coordinator's peer (a registered member's has the
         * preshared key from its registration, which nothing else holds). */
        if (mesh->joined || hashmap_get(n->peers_by_name, MESH_COORDINATOR_PEER_NAME))
                return;
        Peer *coord;
        int r = add_peer(n, MESH_COORDINATOR_PEER_NAME, mesh->coordinator_key, mesh->coordinator_addresses,
                         mesh->n_coordinator_addresses, false, &coord, &error);
        if (r < 0)
                log_warning("%s: cannot add the coordinator's peer, missing after a crash: %s", n->name,
                            error.message ? error.message : strerror(-r));
        else
                log_notice("%s: added the coordinator's peer, missing after a crash in the middle of the join", n->name);
}

void manager_mesh_tick(Manager *m) {
        Network *n;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                if (!network_mesh(n))
                        continue;
                if (n->mesh->unsaved) {
                        int r = mesh_save(n->mesh);
                        if (r < 0)
                                log_error("%s: the mesh has no row in the database and it cannot be written: %s",
                                          n->name, strerror(-r));
                        else
                                log_warning("%s: the mesh had no row in the database: written", n->name);
                        n->mesh->unsaved = r < 0;
                }
                if (!n->mesh->checked) {
                        n->mesh->checked = true;
                        mesh_repair(n->mesh);
                }
                if (!n->mesh->exit_source && m->event &&
                    sd_event_add_exit(m->event, &n->mesh->exit_source, on_mesh_exit, n->mesh) >= 0)
                        (void) sd_event_source_set_priority(n->mesh->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
                if (n->mesh->role == MESH_ROLE_COORDINATOR)
                        coordinator_start(n->mesh);
                else
                        member_start(n->mesh);
        }
}

/* ---- The member list, paced (coordinator) ---- */

static int on_broadcast_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        mesh_broadcast(userdata);
        return 0;
}

/* A member that flaps its exit flag or reconnects in a loop would otherwise make the
 * coordinator send the whole list to every member each time. */
void mesh_broadcast_paced(Mesh *mesh) {
        Manager *mgr = mesh->network->manager;
        uint64_t now = now_monotonic_usec(), due = mesh->last_broadcast + MESH_BROADCAST_INTERVAL_USEC;
        if (mesh->last_broadcast == 0 || now >= due || !mgr->event) {
                mesh_broadcast(mesh);
                return;
        }
        int enabled = SD_EVENT_OFF;
        if (mesh->broadcast_timer && sd_event_source_get_enabled(mesh->broadcast_timer, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF)
                return; /* already due */
        int r;
        if (!mesh->broadcast_timer)
                r = sd_event_add_time(mgr->event, &mesh->broadcast_timer, CLOCK_MONOTONIC, due, 10000,
                                      on_broadcast_timer, mesh);
        else
                r = sd_event_source_set_time(mesh->broadcast_timer, due);
        if (r >= 0)
                r = sd_event_source_set_enabled(mesh->broadcast_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                mesh_broadcast(mesh);
}
