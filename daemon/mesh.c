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
#include "network-options.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"
#include "rotation.h"
#include "wgnet-error.h"

/* peer-bus.c */
int peer_remove(Peer *p, sd_bus_error *error);

#define MESH_CALL_TIMEOUT_USEC (10ULL * 1000000ULL)
#define MESH_RETRY_USEC (2ULL * 1000000ULL)
#define MESH_JOIN_RETRY_USEC (500ULL * 1000ULL)
#define MESH_REGISTER_GRACE 60          /* seconds an expired invitation's peer stays for a clear error */
#define MESH_KEY_SWITCH_DEADLINE 120    /* seconds for the joiner's key to take over its address */
#define MEMBER_SIGNATURE "(ssassbb)"    /* name, public key, addresses, endpoint, online, exit node */

/* sd-bus (systemd 252) refuses a TCP socket as a connection: it asks the socket for the
 * peer's groups (SO_PEERGROUPS), which only AF_UNIX sockets have. So each TCP connection is
 * relayed into a socketpair whose other end sd-bus gets: the bytes are the same D-Bus
 * peer-to-peer stream, nothing is added. */
struct MeshRelay {
        Mesh *mesh;
        int fd[2];                      /* 0: the TCP socket, 1: our end of the socketpair */
        sd_event_source *src[2];
        uint8_t buf[2][16384];          /* buf[i]: read from fd[i], to be written to fd[1 - i] */
        size_t len[2], off[2];
        bool eof[2];
        MeshRelay *next, *prev;
};

struct MeshConn {
        Mesh *mesh;
        sd_bus *bus;
        sd_bus_slot *slots[2];          /* the vtable and the Disconnected match */
        IpPrefix remote;                /* the member's mesh address, as a host prefix */
        uint64_t peer_id;               /* 0 until it registered or said hello */
        MeshConn *next, *prev;
};

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

static void conn_free(MeshConn *c);
static void member_disconnect(Mesh *mesh);

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

static void bus_close_later(sd_bus *bus) {
        sd_event_source *s = NULL;
        sd_event *e = sd_bus_get_event(bus);
        if (e && sd_event_get_state(e) != SD_EVENT_FINISHED &&
            sd_event_add_defer(e, &s, on_close_later, bus) >= 0)
                return;
        (void) sd_bus_detach_event(bus);
        sd_bus_close(bus);
        sd_bus_unref(bus);
}

/* ---- The relay ---- */

static void relay_free(MeshRelay *r) {
        Mesh *mesh = r->mesh;
        if (r->prev)
                r->prev->next = r->next;
        else
                mesh->relays = r->next;
        if (r->next)
                r->next->prev = r->prev;
        for (int i = 0; i < 2; i++) {
                r->src[i] = sd_event_source_disable_unref(r->src[i]);
                if (r->fd[i] >= 0)
                        close(r->fd[i]);
        }
        free(r);
}

static void relay_update(MeshRelay *r) {
        for (int i = 0; i < 2; i++) {
                uint32_t ev = 0;
                if (r->len[i] == 0 && !r->eof[i])
                        ev |= EPOLLIN;
                if (r->len[1 - i] > 0)
                        ev |= EPOLLOUT;
                (void) sd_event_source_set_io_events(r->src[i], ev);
                (void) sd_event_source_set_enabled(r->src[i], ev ? SD_EVENT_ON : SD_EVENT_OFF);
        }
}

/* Write what buf[from] holds to fd[1 - from]: 0 when done or it would block, negative on
 * an error. */
static int relay_flush(MeshRelay *r, int from) {
        while (r->len[from] > 0) {
                ssize_t n = write(r->fd[1 - from], r->buf[from] + r->off[from], r->len[from]);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR || errno == ENOTCONN ? 0 : -errno;
                r->off[from] += (size_t) n;
                r->len[from] -= (size_t) n;
        }
        r->off[from] = 0;
        if (r->eof[from])
                (void) shutdown(r->fd[1 - from], SHUT_WR);
        return 0;
}

static int on_relay_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MeshRelay *r = userdata;
        int i = fd == r->fd[0] ? 0 : 1, k = 0;

        if (revents & EPOLLOUT)
                k = relay_flush(r, 1 - i);
        if (k >= 0 && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && r->len[i] == 0 && !r->eof[i]) {
                ssize_t n = read(fd, r->buf[i], sizeof(r->buf[i]));
                if (n > 0) {
                        r->len[i] = (size_t) n;
                        k = relay_flush(r, i);
                } else if (n == 0) {
                        r->eof[i] = true;
                        k = relay_flush(r, i);
                } else if (errno != EAGAIN && errno != EINTR)
                        k = -errno;
        }
        /* An error, or either side closed with nothing left to pass on: both go (sd-bus
         * then sees its end close, and the peer its TCP connection). */
        if (k < 0 || (r->eof[0] && r->len[0] == 0) || (r->eof[1] && r->len[1] == 0)) {
                relay_free(r);
                return 0;
        }
        relay_update(r);
        return 0;
}

/* Relay tcp_fd (taken, also when this fails) into a new socketpair; *ret_fd is the end for
 * sd-bus. */
static int relay_new(Mesh *mesh, int tcp_fd, int *ret_fd) {
        Manager *mgr = mesh->network->manager;
        int pair[2], q;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) {
                q = -errno;
                close(tcp_fd);
                return q;
        }
        MeshRelay *r = calloc(1, sizeof(MeshRelay));
        if (!r) {
                close(tcp_fd);
                close(pair[0]);
                close(pair[1]);
                return -ENOMEM;
        }
        r->mesh = mesh;
        r->fd[0] = tcp_fd;
        r->fd[1] = pair[0];
        r->next = mesh->relays;
        if (mesh->relays)
                mesh->relays->prev = r;
        mesh->relays = r;
        q = sd_event_add_io(mgr->event, &r->src[0], r->fd[0], EPOLLIN | EPOLLOUT, on_relay_io, r);
        if (q >= 0)
                q = sd_event_add_io(mgr->event, &r->src[1], r->fd[1], EPOLLIN, on_relay_io, r);
        if (q < 0) {
                relay_free(r);
                close(pair[1]);
                return q;
        }
        *ret_fd = pair[1];
        return 0;
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
        if (m->listen_fd >= 0)
                close(m->listen_fd);
        m->check_timer = sd_event_source_disable_unref(m->check_timer);
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

Mesh *network_mesh(Network *n) {
        Manager *m = n->manager;
        if (n->mode != NETWORK_MODE_MESH)
                return NULL;
        if (!n->mesh) {
                /* A network created with Mode=mesh coordinates its mesh. */
                if (mesh_new(n, MESH_ROLE_COORDINATOR, &n->mesh) < 0)
                        return NULL;
                if (m->db && !db_in_transaction(m->db) && db_begin(m->db) >= 0 &&
                    (db_mesh_save(m->db, n->mesh) < 0 || db_commit(m->db) < 0))
                        db_rollback(m->db);
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

static Peer *find_peer_by_address(Network *n, const IpPrefix *host) {
        for (Peer *p = n->peers; p; p = p->next)
                for (size_t i = 0; i < p->n_addresses; i++)
                        if (ip_prefix_equal(&p->addresses[i], host))
                                return p;
        return NULL;
}

static const uint8_t *peer_effective_key(const Peer *p) {
        return p->rotation_pending ? p->pending_public_key : p->public_key;
}

static uint64_t now_sec(void) {
        return now_usec() / 1000000ULL;
}

/* The host prefix of a subnet's own address (10.9.0.1/24 -> 10.9.0.1/32). */
static IpPrefix host_of(const IpPrefix *a) {
        IpPrefix h = *a;
        h.prefixlen = (uint8_t) ip_family_bits(a->family);
        return h;
}

/* The member list: every registered member and the coordinator itself. */
static int append_members(Mesh *mesh, sd_bus_message *m) {
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

void mesh_broadcast(Mesh *mesh) {
        for (MeshConn *c = mesh->conns; c; c = c->next) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
                if (c->peer_id == 0)
                        continue;
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

static void conn_free(MeshConn *c) {
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
        if (!mp->invitation || mp->registered)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationUsed",
                                         "The invitation of '%s' was already used: an invitation works once", p->name);
        pairing_id_to_hex(mp->invitation_id, hex);
        if (!streq(hex, inv_hex))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NotMeshMember",
                                         "Invitation %.32s is not the one this address was reserved for", inv_hex);
        if (now_sec() >= mp->invitation_expires)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationExpired",
                                         "Invitation %s expired: ask for a new one (CreateInvitation)", hex);
        if (wg_key_from_base64(key, key_b64) < 0 || wg_key_is_zero(key))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid public key '%.60s'", key_b64);
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

static void member_exit_flag(Mesh *mesh, Peer *p, MeshPeer *mp, int exit_node) {
        if (exit_node < 0 || (bool) exit_node == mp->exit_node)
                return;
        mp->exit_node = exit_node;
        (void) db_mesh_peer_save(mesh->network->manager->db, mesh->network->id, mp);
        (void) sd_bus_emit_properties_changed(mesh->network->manager->bus, p->path, WGNET_MESH_MEMBER_INTERFACE,
                                              "ExitNode", NULL);
        log_info("%s: mesh member '%s' %s exit node", mesh->network->name, p->name,
                 exit_node ? "offers itself as" : "is no longer an");
}

static int control_hello(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        Mesh *mesh = c->mesh;
        MeshPeer *mp;
        int exit_node, r;

        r = read_exit_option(m, &exit_node);
        if (r < 0)
                return r;
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
        member_exit_flag(mesh, p, mp, exit_node);
        (void) refresh_endpoints(mesh, 0);
        r = reply_welcome(m, mesh, p, NULL);
        /* Everyone, the newcomer included, gets the list; the others learn its endpoint. */
        mesh_broadcast(mesh);
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
        if (exit_node >= 0 && (bool) exit_node != mp->exit_node) {
                member_exit_flag(mesh, p, mp, exit_node);
                changed = true;
        }
        if (refresh_endpoints(mesh, 1000000))
                changed = true;
        r = sd_bus_reply_method_return(m, NULL);
        if (changed)
                mesh_broadcast(mesh);
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
        int r = sd_bus_reply_method_return(m, NULL);
        log_info("%s: mesh member '%s' leaves", mesh->network->name, p->name);
        /* Removed by the next check, once this reply went through the tunnel. */
        mp->left = true;
        return r;
}

static const sd_bus_vtable control_vtable[] = {
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

static int on_conn_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MeshConn *c = userdata;
        log_debug("%s: coordination connection closed", c->mesh->network->name);
        conn_free(c);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Mesh *mesh = userdata;
        Manager *mgr = mesh->network->manager;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa;
        socklen_t salen = sizeof(sa);
        int cfd = accept4(fd, &sa.sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK), bfd = -1;
        sd_id128_t id;
        int r;

        if (cfd < 0)
                return 0;
        MeshConn *c = calloc(1, sizeof(MeshConn));
        if (!c) {
                close(cfd);
                return 0;
        }
        c->mesh = mesh;
        if (sa.sa.sa_family == AF_INET) {
                c->remote.family = AF_INET;
                c->remote.prefixlen = 32;
                memcpy(c->remote.addr.bytes, &sa.in.sin_addr, 4);
        } else {
                c->remote.family = AF_INET6;
                c->remote.prefixlen = 128;
                memcpy(c->remote.addr.bytes, &sa.in6.sin6_addr, 16);
        }
        c->next = mesh->conns;
        if (mesh->conns)
                mesh->conns->prev = c;
        mesh->conns = c;

        r = relay_new(mesh, cfd, &bfd);
        if (r >= 0)
                r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, bfd, bfd);
        if (r >= 0) {
                bfd = -1;
                r = sd_id128_randomize(&id);
        }
        if (bfd >= 0)
                close(bfd);
        if (r >= 0)
                r = sd_bus_set_server(c->bus, true, id);
        if (r >= 0)
                r = sd_bus_set_anonymous(c->bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, false);
        if (r >= 0)
                r = sd_bus_add_object_vtable(c->bus, &c->slots[0], WGNET_MESH_CONTROL_PATH, WGNET_MESH_CONTROL_INTERFACE,
                                             control_vtable, c);
        if (r >= 0)
                r = sd_bus_match_signal(c->bus, &c->slots[1], NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_conn_disconnected, c);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, mgr->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_warning("%s: cannot set up a coordination connection: %s", mesh->network->name, strerror(-r));
                conn_free(c);
        }
        return 0;
}

/* Listen on the coordinator's mesh address, on the WireGuard interface only: a packet that
 * arrives on another interface never reaches this socket, so whatever connects came in
 * through WireGuard from the peer that owns its source address. */
static int coordinator_listen(Mesh *mesh) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        const IpPrefix *a = NULL;
        int one = 1, r;

        if (mesh->listen_fd >= 0 || !n->active || !mgr->event)
                return 0;
        for (size_t i = 0; i < n->n_subnets && !a; i++)
                if (n->subnets[i].family == AF_INET)
                        a = &n->subnets[i];
        if (!a && n->n_subnets > 0)
                a = &n->subnets[0];
        if (!a)
                return -EADDRNOTAVAIL;
        _cleanup_(closep) int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, n->ifname, (socklen_t) strlen(n->ifname)) < 0)
                return -errno;
        if (a->family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin.sin_addr, a->addr.bytes, 4);
                (void) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
                r = bind(fd, (struct sockaddr *) &sin, sizeof(sin));
        } else {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_CONTROL_PORT) };
                memcpy(&sin6.sin6_addr, a->addr.bytes, 16);
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
                r = bind(fd, (struct sockaddr *) &sin6, sizeof(sin6));
        }
        if (r < 0 || listen(fd, 64) < 0)
                return -errno;
        r = sd_event_add_io(mgr->event, &mesh->listen_source, fd, EPOLLIN, on_accept, mesh);
        if (r < 0)
                return r;
        mesh->listen_fd = TAKE_FD(fd);
        char buf[IP_PREFIX_STRLEN];
        log_info("%s: mesh coordinator listening on %s port %u (interface %s)", n->name, ip_addr_to_string(a, buf),
                 MESH_CONTROL_PORT, n->ifname);
        return 0;
}

static void coordinator_stop(Mesh *mesh) {
        while (mesh->conns)
                conn_free(mesh->conns);
        mesh->listen_source = sd_event_source_disable_unref(mesh->listen_source);
        if (mesh->listen_fd >= 0)
                close(mesh->listen_fd);
        mesh->listen_fd = -1;
}

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
                if (mp->registered && mp->online && now > mp->last_seen + (uint64_t) mesh->offline_after * 1000000ULL) {
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
                mesh_broadcast(mesh);
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Mesh *mesh = userdata;
        coordinator_check(mesh);
        uint64_t period = MAX(1u, MIN(mesh->heartbeat, mesh->offline_after) / 4) * 1000000ULL;
        (void) sd_event_source_set_time(s, usec + period);
        return 0;
}

static void coordinator_start(Mesh *mesh) {
        Manager *mgr = mesh->network->manager;
        if (!mesh->network->active) {
                coordinator_stop(mesh);
                return;
        }
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

static int add_peer(Network *n, const char *name, const uint8_t key[WG_KEY_LEN], const IpPrefix *addrs, size_t n_addrs,
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
        Manager *mgr = mesh->network->manager;
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
        int r = db_begin(mgr->db);
        if (r >= 0)
                r = db_mesh_save(mgr->db, mesh);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                mesh->heartbeat = oh;
                mesh->offline_after = oo;
                return r;
        }
        (void) mesh_emit_changed(mesh, "HeartbeatInterval", "OfflineAfter", NULL);
        return 0;
}

/* ---- Member ---- */

static int member_connect(Mesh *mesh);
static void member_schedule(Mesh *mesh, uint64_t usec);
static void kick_later(Mesh *mesh);
static void forget_call(Mesh *mesh, sd_bus_message *m);

static void member_disconnect(Mesh *mesh) {
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

static void member_schedule(Mesh *mesh, uint64_t usec) {
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

/* The routes through an exit node: two halves of each family, more specific than any
 * default route (the endpoints of the peers must be reachable by a more specific route,
 * as on a LAN: see docs/mesh.md). */
static const char *const exit_prefixes[] = { "0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1" };

static int peer_set_exit(Peer *p, bool on) {
        Network *n = p->network;
        Manager *mgr = n->manager;
        int r;

        if (on == (p->n_site_networks > 0))
                return 0;
        if (!on) {
                (void) network_apply_peer_routes(n, p, true);
                free(p->site_networks);
                p->site_networks = NULL;
                p->n_site_networks = 0;
        } else {
                bool v6 = false;
                for (size_t i = 0; i < n->n_subnets; i++)
                        v6 = v6 || n->subnets[i].family == AF_INET6;
                p->site_networks = calloc(4, sizeof(IpPrefix));
                if (!p->site_networks)
                        return -ENOMEM;
                for (size_t i = 0; i < (v6 ? 4u : 2u); i++)
                        if (ip_prefix_parse(exit_prefixes[i], false, &p->site_networks[p->n_site_networks]) >= 0)
                                p->n_site_networks++;
        }
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_peer_update(mgr->db, p);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0)
                db_rollback(mgr->db);
        (void) network_apply_peer(n, p, false);
        (void) peer_emit_changed(p, "AllowedIPs", "SiteNetworks", NULL);
        log_info("%s: default route %s '%s'", n->name, on ? "now through exit node" : "no longer through", p->name);
        return r;
}

static void member_apply_exit(Mesh *mesh) {
        for (Peer *p = mesh->network->peers; p; p = p->next) {
                MeshPeer *mp = mesh_peer_get(mesh, p->id);
                bool want = !isempty(mesh->exit_via) && streq(p->name, mesh->exit_via) && mp && mp->exit_node && p->enabled;
                (void) peer_set_exit(p, want);
        }
}

static void save_mesh_peer(Manager *mgr, Network *n, MeshPeer *mp) {
        if (db_begin(mgr->db) < 0)
                return;
        if (db_mesh_peer_save(mgr->db, n->id, mp) < 0 || db_commit(mgr->db) < 0)
                db_rollback(mgr->db);
}

/* The coordinator's member list: add, update, enable and disable the direct peers. */
static int member_apply_list(Mesh *mesh, sd_bus_message *m) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        _cleanup_(hashmap_freep) Hashmap *seen = hashmap_new(uint64_hash_func, uint64_equal_func);
        int r;

        if (!seen)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', MEMBER_SIGNATURE);
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
                        if (p)
                                (void) hashmap_put(seen, &p->id, p);
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
                        (void) hashmap_put(seen, &p->id, p);
                        continue;
                }
                (void) hashmap_put(seen, &p->id, p);
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
        /* Whoever is not in the list was removed from the mesh. */
        Peer *gone[256];
        size_t k = 0;
        for (Peer *p = n->peers; p && k < ELEMENTSOF(gone); p = p->next)
                if (!hashmap_get(seen, &p->id) && !wg_key_equal(p->public_key, mesh->coordinator_key))
                        gone[k++] = p;
        for (size_t i = 0; i < k; i++) {
                log_info("%s: mesh member '%s' was removed from the mesh", n->name, gone[i]->name);
                (void) mesh_remove_member(mesh, gone[i], NULL);
        }
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

static int member_call(Mesh *mesh, const char *method, sd_bus_message_handler_t cb, uint64_t timeout) {
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
static void forget_call(Mesh *mesh, sd_bus_message *m) {
        sd_bus_slot *slot = sd_bus_get_current_slot(sd_bus_message_get_bus(m));
        if (!sd_bus_message_is_method_error(m, NULL))
                (void) sd_event_source_set_enabled(mesh->connect_timer, SD_EVENT_OFF);
        for (size_t i = 2; i < ELEMENTSOF(mesh->control_slots); i++)
                if (slot && mesh->control_slots[i] == slot)
                        mesh->control_slots[i] = sd_bus_slot_unref(mesh->control_slots[i]);
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

static void member_fail_join(Mesh *mesh, const sd_bus_error *e) {
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

/* An empty UDP datagram to the coordinator's mesh address: WireGuard starts a handshake for it. */
static void poke_coordinator(Mesh *mesh) {
        if (mesh->n_coordinator_addresses == 0)
                return;
        const IpPrefix *a = &mesh->coordinator_addresses[0];
        _cleanup_(closep) int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
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

static int member_connect(Mesh *mesh) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
        char buf[IP_PREFIX_STRLEN];
        int r, bfd = -1;

        if (mesh->control || !n->active || !mgr->event || mesh->n_coordinator_addresses == 0)
                return 0;
        const IpPrefix *a = &mesh->coordinator_addresses[0];
        int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
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
        r = relay_new(mesh, fd, &bfd);
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

static void member_start(Mesh *mesh) {
        if (!mesh->network->active) {
                member_disconnect(mesh);
                return;
        }
        if (!mesh->control && !mesh->retry_timer)
                member_schedule(mesh, 1000);
        if (mesh->joined && mesh->network->manager->event)
                member_start_heartbeat(mesh);
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

        r = db_begin(m->db);
        if (r < 0)
                return r;
        r = db_network_insert(m->db, n);
        if (r == -EEXIST) {
                db_rollback(m->db);
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "NetworkExists",
                                         "A network with name '%s' or interface '%s' exists", name, ifname);
        }
        if (r >= 0)
                r = db_mesh_save(m->db, mesh);
        if (r >= 0) {
                r = db_pairing_mark_used(m->db, PAIRING_INVITATION, inv->id, n->id);
                if (r == -EEXIST) {
                        db_rollback(m->db);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InvitationUsed",
                                                 "This invitation was already used on this host: an invitation works once");
                }
        }
        if (r >= 0) {
                r = network_apply(n, false);
                if (r < 0) {
                        db_rollback(m->db);
                        (void) network_deactivate_device(n);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot bring up interface %s: %s",
                                                 n->ifname, strerror(-r));
                }
        }
        if (r >= 0)
                r = db_commit(m->db);
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

static int on_leave_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Mesh *mesh = userdata;
        forget_call(mesh, m);
        Network *n = mesh->network;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e)
                log_warning("%s: the coordinator did not confirm the leave: %s", n->name, e->message ? e->message : e->name);
        if (mesh->join_call) {
                (void) sd_bus_reply_method_return(mesh->join_call, NULL);
                mesh->join_call = sd_bus_message_unref(mesh->join_call);
        }
        member_disconnect(mesh);
        delete_later(n);
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
                return 1;
        }
        member_disconnect(mesh);
        mesh_delete_network(n);
        return 0;
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
        int r = db_begin(mgr->db);
        if (r >= 0)
                r = db_mesh_save(mgr->db, mesh);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                mesh->exit_node = !offer;
                return r;
        }
        (void) manager_firewall_sync(mgr, false);
        (void) mesh_emit_changed(mesh, "ExitNode", NULL);
        if (mesh->role == MESH_ROLE_COORDINATOR)
                mesh_broadcast(mesh);
        else if (mesh->control && mesh->connected)
                (void) member_call(mesh, "Heartbeat", on_heartbeat_reply, MESH_CALL_TIMEOUT_USEC);
        return 0;
}

int mesh_use_exit_node(Mesh *mesh, const char *name, sd_bus_error *error) {
        Network *n = mesh->network;
        Manager *mgr = n->manager;
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
        }
        char *v = strdup(name);
        if (!v)
                return -ENOMEM;
        free(mesh->exit_via);
        mesh->exit_via = v;
        int r = db_begin(mgr->db);
        if (r >= 0)
                r = db_mesh_save(mgr->db, mesh);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                return r;
        }
        member_apply_exit(mesh);
        (void) mesh_emit_changed(mesh, "ExitVia", NULL);
        return 0;
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

void manager_mesh_tick(Manager *m) {
        Network *n;
        HASHMAP_FOREACH(n, m->networks_by_id, i) {
                if (!network_mesh(n))
                        continue;
                if (!n->mesh->exit_source && m->event &&
                    sd_event_add_exit(m->event, &n->mesh->exit_source, on_mesh_exit, n->mesh) >= 0)
                        (void) sd_event_source_set_priority(n->mesh->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
                if (n->mesh->role == MESH_ROLE_COORDINATOR)
                        coordinator_start(n->mesh);
                else
                        member_start(n->mesh);
        }
}
