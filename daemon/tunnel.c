/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <time.h>

#include "bus-util.h"
#include "db-tunnel.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

static const char *const tunnel_state_table[_TUNNEL_STATE_MAX] = {
        [TUNNEL_INACTIVE] = "inactive",
        [TUNNEL_CONNECTING] = "connecting",
        [TUNNEL_UP] = "up",
        [TUNNEL_DOWN] = "down",
};

static const char *const tunnel_pairing_table[_TUNNEL_PAIRING_MAX] = {
        [TUNNEL_PAIRING_NONE] = "none",
        [TUNNEL_PAIRING_OFFERED] = "offered",
        [TUNNEL_PAIRING_IMPORTED] = "imported",
};

const char *tunnel_state_to_string(TunnelState s) {
        return s >= 0 && s < _TUNNEL_STATE_MAX ? tunnel_state_table[s] : NULL;
}

const char *tunnel_pairing_to_string(TunnelPairing p) {
        return p >= 0 && p < _TUNNEL_PAIRING_MAX ? tunnel_pairing_table[p] : NULL;
}

int tunnel_pairing_from_string(const char *s) {
        for (int i = 0; s && i < _TUNNEL_PAIRING_MAX; i++)
                if (streq(tunnel_pairing_table[i], s))
                        return i;
        return -EINVAL;
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int tunnel_new(Manager *m, uint64_t id, const char *name, const char *ifname, Tunnel **ret) {
        _cleanup_(tunnel_freep) Tunnel *t = calloc(1, sizeof(Tunnel));

        if (!t)
                return -ENOMEM;
        t->manager = m;
        t->id = id;
        t->name = strdup(name);
        t->ifname = strdup(ifname);
        t->remote_endpoint = strdup("");
        t->local_endpoint = strdup("");
        t->endpoint = strdup("");
        t->keepalive = TUNNEL_DEFAULT_KEEPALIVE;
        t->online_threshold = TUNNEL_DEFAULT_ONLINE_THRESHOLD;
        t->pairing_lifetime = TUNNEL_DEFAULT_PAIRING_LIFETIME;
        if (!t->name || !t->ifname || !t->remote_endpoint || !t->local_endpoint || !t->endpoint)
                return -ENOMEM;
        if (asprintf(&t->path, WGNET_TUNNEL_PREFIX "/%" PRIu64, id) < 0) {
                t->path = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

Tunnel *tunnel_free(Tunnel *t) {
        if (!t)
                return NULL;
        wg_wipe(t->private_key_sealed, sizeof(t->private_key_sealed));
        wg_wipe(t->psk_sealed, sizeof(t->psk_sealed));
        wg_wipe(t->pending_psk_sealed, sizeof(t->pending_psk_sealed));
        free(t->name);
        free(t->ifname);
        free(t->path);
        free(t->remote_endpoint);
        free(t->local_endpoint);
        free(t->endpoint);
        free(t->local_networks);
        free(t->remote_networks);
        free(t->routes);
        free(t);
        return NULL;
}

int tunnel_attach(Tunnel *t) {
        return hashmap_put(t->manager->tunnels_by_id, &t->id, t);
}

void tunnel_detach(Tunnel *t) {
        if (hashmap_get(t->manager->tunnels_by_id, &t->id) == t)
                hashmap_remove(t->manager->tunnels_by_id, &t->id);
}

bool tunnel_name_is_valid(const char *s) {
        return network_name_is_valid(s);
}

Tunnel *manager_find_tunnel_by_path(Manager *m, const char *path) {
        const char *s;
        uint64_t id;
        char *end;

        if (strncmp(path, WGNET_TUNNEL_PREFIX "/", strlen(WGNET_TUNNEL_PREFIX "/")) != 0)
                return NULL;
        s = path + strlen(WGNET_TUNNEL_PREFIX "/");
        if (*s < '1' || *s > '9')
                return NULL;
        errno = 0;
        id = strtoull(s, &end, 10);
        if (errno || *end)
                return NULL;
        return hashmap_get(m->tunnels_by_id, &id);
}

Tunnel *manager_find_tunnel_by_name(Manager *m, const char *name) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i)
                if (streq(t->name, name))
                        return t;
        return NULL;
}

bool manager_ifname_in_use(Manager *m, const char *ifname, const Tunnel *self) {
        Network *n;
        Tunnel *t;
        HASHMAP_FOREACH(n, m->networks_by_id, i)
                if (streq(n->ifname, ifname))
                        return true;
        HASHMAP_FOREACH(t, m->tunnels_by_id, k)
                if (t != self && streq(t->ifname, ifname))
                        return true;
        return false;
}

bool manager_listen_port_in_use(Manager *m, uint16_t port, const Tunnel *self) {
        Network *n;
        Tunnel *t;
        if (port == 0)
                return false;
        HASHMAP_FOREACH(n, m->networks_by_id, i)
                if (n->listen_port == port)
                        return true;
        HASHMAP_FOREACH(t, m->tunnels_by_id, k)
                if (t != self && t->listen_port == port)
                        return true;
        return false;
}

Tunnel *manager_tunnel_routing(Manager *m, const IpPrefix *p, const Tunnel *except, IpPrefix *ret_net,
                               bool *ret_is_address) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i) {
                if (t == except)
                        continue;
                for (size_t k = 0; k < t->n_remote_networks; k++)
                        if (t->remote_networks[k].prefixlen > 0 &&      /* /0: not routed */
                            ip_prefix_overlaps(&t->remote_networks[k], p)) {
                                if (ret_net)
                                        *ret_net = t->remote_networks[k];
                                if (ret_is_address)
                                        *ret_is_address = false;
                                return t;
                        }
                /* The prefix of a tunnel address is routed into the tunnel too (10.255.0.0/31
                 * for 10.255.0.1/31), also while the tunnel is inactive: it is taken. */
                for (size_t k = 0; k < t->n_tunnel_addresses; k++) {
                        IpPrefix sub = t->tunnel_addresses[k];
                        ip_prefix_mask(&sub);
                        if (ip_prefix_overlaps(&sub, p)) {
                                if (ret_net)
                                        *ret_net = sub;
                                if (ret_is_address)
                                        *ret_is_address = true;
                                return t;
                        }
                }
        }
        return NULL;
}

Tunnel *manager_tunnel_by_port(Manager *m, uint16_t port) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i)
                if (port != 0 && t->listen_port == port)
                        return t;
        return NULL;
}

Tunnel *manager_tunnel_by_ifname(Manager *m, const char *ifname) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i)
                if (streq(t->ifname, ifname))
                        return t;
        return NULL;
}

uint16_t manager_free_tunnel_port(Manager *m) {
        for (uint32_t port = 51820; port <= 65535; port++)
                if (!manager_listen_port_in_use(m, (uint16_t) port, NULL) && udp_port_check((uint16_t) port) == 0)
                        return (uint16_t) port;
        return 0;
}

static int tunnel_open(Tunnel *t, const char *column, const uint8_t sealed[SEALED_KEY_SIZE], uint8_t ret[WG_KEY_LEN]) {
        return manager_open(t->manager, column, t->id, sealed, SEALED_KEY_SIZE, ret);
}

int tunnel_seal(Tunnel *t, const char *column, const uint8_t secret[WG_KEY_LEN], uint8_t out[SEALED_KEY_SIZE]) {
        size_t len;
        int r = manager_seal(t->manager, column, t->id, secret, out, SEALED_KEY_SIZE, &len);
        if (r >= 0 && len != SEALED_KEY_SIZE)
                r = -EIO;
        return r;
}

int tunnel_private_key(Tunnel *t, uint8_t ret[WG_KEY_LEN]) {
        return tunnel_open(t, "tunnels.private_key", t->private_key_sealed, ret);
}

int tunnel_psk(Tunnel *t, uint8_t ret[WG_KEY_LEN]) {
        if (!t->has_psk) {
                memset(ret, 0, WG_KEY_LEN);
                return 0;
        }
        return tunnel_open(t, "tunnels.preshared_key", t->psk_sealed, ret);
}

int tunnel_pending_psk(Tunnel *t, uint8_t ret[WG_KEY_LEN]) {
        if (!t->has_pending_psk)
                return -ENODATA;
        return tunnel_open(t, "tunnels.pending_preshared_key", t->pending_psk_sealed, ret);
}

int tunnel_emit_changed(Tunnel *t, const char *property, ...) {
        va_list ap;
        va_start(ap, property);
        int r = bus_emit_changedv(t->manager->bus, t->path, WGNET_TUNNEL_INTERFACE, property, ap);
        va_end(ap);
        return r;
}

static int prefix_cmp(const void *a, const void *b) {
        return ip_prefix_compare(a, b);
}

static bool prefix_sets_equal(IpPrefix *a, size_t na, IpPrefix *b, size_t nb) {
        if (na != nb)
                return false;
        qsort(a, na, sizeof(IpPrefix), prefix_cmp);
        qsort(b, nb, sizeof(IpPrefix), prefix_cmp);
        for (size_t i = 0; i < na; i++)
                if (!ip_prefix_equal(&a[i], &b[i]))
                        return false;
        return true;
}

/* The peer's AllowedIPs: the remote networks and the remote tunnel addresses. */
static int tunnel_allowed_ips(Tunnel *t, WgPeer *wp) {
        for (size_t i = 0; i < t->n_remote_networks; i++) {
                int r = wg_peer_add_allowed_ip(wp, &t->remote_networks[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < t->n_tunnel_addresses; i++) {
                IpPrefix peer;
                if (pairing_peer_address(&t->tunnel_addresses[i], &peer) < 0)
                        continue;
                peer = ip_prefix_host(&peer);
                int r = wg_peer_add_allowed_ip(wp, &peer);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool tunnel_has_route(Tunnel *t, const IpPrefix *p) {
        for (size_t i = 0; i < t->n_routes; i++)
                if (ip_prefix_equal(&t->routes[i], p))
                        return true;
        return false;
}

static bool tunnel_wants_route(Tunnel *t, const IpPrefix *p) {
        if (!t->has_remote_key)
                return false;
        for (size_t i = 0; i < t->n_remote_networks; i++)
                if (ip_prefix_equal(&t->remote_networks[i], p))
                        return true;
        return false;
}

/* Routes: remove the ones no longer wanted, add the wanted ones (adding an existing route
 * is not an error, so a route removed behind our back comes back). */
static int tunnel_apply_routes(Tunnel *t, bool log_repairs) {
        WgBackend *b = t->manager->backend;
        _cleanup_(freep) IpPrefix *now = calloc(t->n_remote_networks + 1, sizeof(IpPrefix));
        size_t n_now = 0;
        bool changed = false;
        int r = 0;

        if (!now)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_routes; i++)
                if (!tunnel_wants_route(t, &t->routes[i])) {
                        (void) wg_backend_route_del(b, t->ifname, &t->routes[i]);
                        changed = true;
                }
        for (size_t i = 0; t->has_remote_key && i < t->n_remote_networks; i++) {
                /* No default route: it would take the host's own traffic, the tunnel's
                 * packets included, away from its uplink (as for a network's site networks). */
                if (t->remote_networks[i].prefixlen == 0)
                        continue;
                int k = wg_backend_route_add(b, t->ifname, &t->remote_networks[i]);
                manager_route_added(t->manager, t->ifname, &t->remote_networks[i], k);
                if (k < 0) {
                        char buf[IP_PREFIX_STRLEN];
                        if (log_repairs && k != -EADDRINUSE)
                                log_warning("%s: cannot add the route to %s: %s", t->ifname,
                                            ip_prefix_to_string(&t->remote_networks[i], buf), strerror(-k));
                        if (r == 0)
                                r = k;
                        continue;
                }
                if (!tunnel_has_route(t, &t->remote_networks[i]))
                        changed = true;
                now[n_now++] = t->remote_networks[i];
        }
        if (n_now != t->n_routes)
                changed = true;
        free(t->routes);
        t->routes = TAKE_PTR(now);
        t->n_routes = n_now;
        if (changed)
                (void) tunnel_emit_changed(t, "Routes", NULL);
        return r;
}

static TunnelState tunnel_compute_state(Tunnel *t) {
        uint64_t timeout = (uint64_t) t->online_threshold * 1000000;
        if (!t->active)
                return TUNNEL_INACTIVE;
        if (t->last_handshake > 0 && now_usec() < t->last_handshake + timeout)
                return TUNNEL_UP;
        if (t->last_handshake == 0 && monotonic_usec() < t->activated_usec + timeout)
                return TUNNEL_CONNECTING;
        return TUNNEL_DOWN;
}

static void tunnel_update_status(Tunnel *t, const WgDevice *d) {
        const WgPeer *wp = d && t->has_remote_key ? wg_device_find_peer(d, t->remote_public_key) : NULL;
        char ep[WG_ENDPOINT_STRLEN] = "";
        const char *props[5];
        size_t k = 0;

        if (wp)
                wg_endpoint_to_string(&wp->endpoint, ep);
        uint64_t hs = wp ? wp->last_handshake_usec : 0;
        t->rx_bytes = wp ? wp->rx_bytes : 0;
        t->tx_bytes = wp ? wp->tx_bytes : 0;
        if (hs != t->last_handshake) {
                t->last_handshake = hs;
                props[k++] = "LastHandshake";
        }
        if (!streq(t->endpoint, ep)) {
                char *e = strdup(ep);
                if (e) {
                        free(t->endpoint);
                        t->endpoint = e;
                        props[k++] = "Endpoint";
                }
        }
        TunnelState s = tunnel_compute_state(t);
        if (s != t->state) {
                log_info("%s: tunnel '%s' is %s", t->ifname, t->name, tunnel_state_to_string(s));
                t->state = s;
                props[k++] = "State";
        }
        props[k] = NULL;
        if (k > 0 && t->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(t->manager->bus, t->path, WGNET_TUNNEL_INTERFACE,
                                                           (char **) props);
}

void tunnel_forget_status(Tunnel *t) {
        free(t->routes);
        t->routes = NULL;
        t->n_routes = 0;
        tunnel_update_status(t, NULL);
        (void) tunnel_emit_changed(t, "Routes", NULL);
}

static void wg_peer_done(WgPeer *p) {
        free(p->allowed_ips);
        wg_wipe(p, sizeof(*p));
}

static int tunnel_apply_addresses(Tunnel *t, bool log_repairs) {
        WgBackend *b = t->manager->backend;
        _cleanup_(freep) IpPrefix *have = NULL;
        size_t n_have = 0;
        char buf[IP_PREFIX_STRLEN];
        int r;

        r = wg_backend_addr_list(b, t->ifname, &have, &n_have);
        if (r < 0)
                return r;
        for (size_t j = 0; j < n_have; j++) {
                bool wanted = false;
                if (have[j].family == AF_INET6 && have[j].addr.bytes[0] == 0xfe && (have[j].addr.bytes[1] & 0xc0) == 0x80)
                        continue;       /* link-local */
                for (size_t i = 0; i < t->n_tunnel_addresses; i++)
                        wanted = wanted || ip_prefix_equal(&have[j], &t->tunnel_addresses[i]);
                if (wanted)
                        continue;
                if (log_repairs)
                        log_notice("%s: removing address %s", t->ifname, ip_prefix_to_string(&have[j], buf));
                (void) wg_backend_addr_del(b, t->ifname, &have[j]);
        }
        for (size_t i = 0; i < t->n_tunnel_addresses; i++) {
                bool found = false;
                for (size_t j = 0; j < n_have; j++)
                        found = found || ip_prefix_equal(&have[j], &t->tunnel_addresses[i]);
                if (found)
                        continue;
                if (log_repairs)
                        log_notice("%s: adding missing address %s", t->ifname,
                                   ip_prefix_to_string(&t->tunnel_addresses[i], buf));
                r = wg_backend_addr_add(b, t->ifname, &t->tunnel_addresses[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int tunnel_apply(Tunnel *t, bool log_repairs) {
        WgBackend *b = t->manager->backend;
        _cleanup_(wg_device_freep) WgDevice *have = NULL, *want = NULL;
        uint8_t key[WG_KEY_LEN];
        bool peer_changed = false;
        int r;

        if (!t->active)
                return 0;
        if (t->activated_usec == 0)
                t->activated_usec = monotonic_usec();
        if (!wg_backend_exists(b, t->ifname)) {
                if (log_repairs)
                        log_notice("%s: interface missing, creating it", t->ifname);
                r = wg_backend_create(b, t->ifname);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        r = wg_backend_get_device(b, t->ifname, &have);
        if (r >= 0)
                r = wg_device_new(t->ifname, &want);
        if (r >= 0)
                r = tunnel_private_key(t, key);
        if (r < 0)
                return r;
        if (!wg_device_holds_key(have, key)) {
                if (log_repairs && wg_device_key_differs(have, key))
                        log_notice("%s: private key differs, setting it", t->ifname);
                memcpy(want->private_key, key, WG_KEY_LEN);
                want->flags |= WGDEVICE_HAS_PRIVATE_KEY;
        }
        wg_wipe(key, sizeof(key));
        if (have->listen_port != t->listen_port && t->listen_port != 0) {
                want->listen_port = t->listen_port;
                want->flags |= WGDEVICE_HAS_LISTEN_PORT;
        }

        /* Exactly one peer: the remote host. */
        for (size_t i = 0; i < have->n_peers; i++) {
                if (t->has_remote_key && wg_key_equal(have->peers[i].public_key, t->remote_public_key))
                        continue;
                if (log_repairs)
                        log_notice("%s: removing unknown peer", t->ifname);
                WgPeer *wp = wg_device_add_peer(want, have->peers[i].public_key);
                if (!wp)
                        return -ENOMEM;
                wp->flags |= WGPEER_REMOVE_ME;
        }
        if (t->has_remote_key) {
                WgPeer *hp = wg_device_find_peer(have, t->remote_public_key);
                WgPeer cand = {0};
                const char *why = NULL;

                r = tunnel_allowed_ips(t, &cand);
                if (r >= 0)
                        r = tunnel_psk(t, cand.preshared_key);
                if (r < 0) {
                        wg_peer_done(&cand);
                        return r;
                }
                cand.persistent_keepalive = t->keepalive;
                if (!hp)
                        why = "missing";
                else if (!prefix_sets_equal(hp->allowed_ips, hp->n_allowed_ips, cand.allowed_ips, cand.n_allowed_ips))
                        why = "allowed IPs differ";
                else if (!wg_key_equal(hp->preshared_key, cand.preshared_key))
                        why = "preshared key differs";
                else if (hp->persistent_keepalive != cand.persistent_keepalive)
                        why = "keepalive differs";
                /* The endpoint roams: set it when the peer is new or has none. */
                bool set_endpoint = !isempty(t->remote_endpoint) && (!hp || hp->endpoint.sa.sa_family == AF_UNSPEC || t->endpoint_dirty);
                if (!why && set_endpoint)
                        why = "endpoint missing";
                if (why) {
                        if (log_repairs)
                                log_notice("%s: remote peer %s, repairing", t->ifname, why);
                        WgPeer *wp = wg_device_add_peer(want, t->remote_public_key);
                        if (!wp) {
                                wg_peer_done(&cand);
                                return -ENOMEM;
                        }
                        memcpy(wp->preshared_key, cand.preshared_key, WG_KEY_LEN);
                        wp->allowed_ips = cand.allowed_ips;
                        wp->n_allowed_ips = cand.n_allowed_ips;
                        wp->allowed_ips_alloc = cand.allowed_ips_alloc;
                        cand.allowed_ips = NULL;
                        wp->persistent_keepalive = cand.persistent_keepalive;
                        wp->flags |= WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_PRESHARED_KEY |
                                     WGPEER_HAS_PERSISTENT_KEEPALIVE;
                        if (set_endpoint && wg_endpoint_parse(t->remote_endpoint, &wp->endpoint) >= 0)
                                wp->flags |= WGPEER_HAS_ENDPOINT;
                        peer_changed = true;
                }
                wg_peer_done(&cand);
        }
        if (want->flags || want->n_peers > 0) {
                r = wg_backend_set_device(b, want);
                if (r < 0)
                        return r;
        }
        t->endpoint_dirty = false;
        r = tunnel_apply_addresses(t, log_repairs);
        if (r >= 0)
                r = wg_backend_link_set_up(b, t->ifname, true);
        if (r < 0)
                return r;
        (void) tunnel_apply_routes(t, log_repairs);
        if (peer_changed || want->n_peers > 0) {
                have = wg_device_free(have);
                r = wg_backend_get_device(b, t->ifname, &have);
                if (r < 0)
                        return r;
        }
        tunnel_update_status(t, have);
        return 0;
}

int tunnel_deactivate_device(Tunnel *t) {
        WgBackend *b = t->manager->backend;
        if (!wg_backend_exists(b, t->ifname))
                return 0;
        int r = wg_backend_delete(b, t->ifname);
        return r == -ENODEV ? 0 : r;
}

int tunnel_set_active(Tunnel *t, bool active, sd_bus_error *error) {
        Manager *m = t->manager;
        int r;

        if (t->active == active)
                return 0;
        /* A WireGuard interface under the tunnel's name that does not hold its key is
         * someone else's (made by hand or by wg-quick while the tunnel was inactive): an
         * Activate would put the tunnel's key and peer on it, and the next start would
         * then take it for the tunnel's leftover and delete it. */
        if (active && wg_backend_exists(m->backend, t->ifname)) {
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                r = wg_backend_get_device(m->backend, t->ifname, &d);
                if (r < 0 && r != -ENODEV)      /* unknown: not written to either */
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                 "Cannot read interface '%s' before activating tunnel '%s': %s",
                                                 t->ifname, t->name, strerror(-r));
                if (r >= 0 && (!(d->flags & WGDEVICE_HAS_PUBLIC_KEY) || !wg_key_equal(d->public_key, t->public_key)))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                                 "Interface '%s' exists and is not tunnel '%s''s (another key): "
                                                 "remove it or give the tunnel another interface", t->ifname, t->name);
        }
        /* Activate: saved first, then the device (as network_set_active()). The other order
         * left a live device behind a tunnel the database and memory call inactive, which
         * the tick does not look at, when the commit failed (a full disk). A crash between
         * commit and device leaves the tunnel active, and the start brings it up.
         * Deactivate: the device goes first, inside the transaction; after a crash in
         * between, the start brings it back. */
        r = db_begin(m->db);
        if (r < 0)
                return r;
        t->active = active;
        r = db_tunnel_update(m->db, t);
        if (r >= 0 && !active)
                r = tunnel_deactivate_device(t);
        if (r >= 0)
                r = db_commit(m->db);
        if (r < 0) {
                db_rollback(m->db);
                t->active = !active;
                return r;
        }
        if (active) {
                /* One found in place (someone's, under the tunnel's name) is not this call's
                 * to remove when the apply fails. */
                bool existed = wg_backend_exists(m->backend, t->ifname);
                t->activated_usec = monotonic_usec();
                r = tunnel_apply(t, false);
                if (r < 0) {
                        sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed", "Cannot bring up %s: %s",
                                          t->ifname, strerror(-r));
                        int q = existed ? 0 : tunnel_deactivate_device(t);
                        if (q < 0) {
                                /* A half-made device that cannot be taken down stays in the
                                 * tick's hands: the tunnel stays active, retried. */
                                log_error("%s: cannot take the half-made interface of tunnel '%s' down again (%s): "
                                          "the tunnel stays active and the tick retries", t->ifname, t->name,
                                          strerror(-q));
                                (void) tunnel_emit_changed(t, "Active", NULL);
                                return r;
                        }
                        if (existed)
                                log_warning("%s: the interface was there before tunnel '%s' was activated and is "
                                            "left in place", t->ifname, t->name);
                        t->active = false;
                        t->activated_usec = 0;
                        q = db_begin(m->db);
                        if (q >= 0)
                                q = db_tunnel_update(m->db, t);
                        if (q >= 0)
                                q = db_commit(m->db);
                        if (q < 0) {
                                db_rollback(m->db);
                                log_error("%s: cannot record that tunnel '%s' stays inactive (the next start tries "
                                          "to bring it up): %s", t->ifname, t->name, strerror(-q));
                        }
                        tunnel_forget_status(t);
                        return r;
                }
        } else {
                t->activated_usec = 0;
                tunnel_forget_status(t);
        }
        log_info("%s: tunnel '%s' %s", t->ifname, t->name, active ? "activated" : "deactivated");
        (void) tunnel_emit_changed(t, "Active", NULL);
        return 0;
}

void manager_reconcile_tunnels(Manager *m, bool log_repairs) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i) {
                if (!t->active) {
                        if (t->state != TUNNEL_INACTIVE)
                                tunnel_forget_status(t);
                        continue;
                }
                int r = tunnel_apply(t, log_repairs);
                if (r < 0)
                        log_warning("%s: cannot reconcile tunnel '%s': %s", t->ifname, t->name, strerror(-r));
        }
}

void manager_remove_inactive_tunnel_devices(Manager *m) {
        Tunnel *t;
        HASHMAP_FOREACH(t, m->tunnels_by_id, i) {
                _cleanup_(wg_device_freep) WgDevice *d = NULL;
                if (t->active || !wg_backend_exists(m->backend, t->ifname) ||
                    wg_backend_get_device(m->backend, t->ifname, &d) < 0)
                        continue;
                /* Only the tunnel's own device (its key): one made since under that name by
                 * someone else (wg-quick) is not ours to remove. */
                if (!(d->flags & WGDEVICE_HAS_PUBLIC_KEY) || !wg_key_equal(d->public_key, t->public_key))
                        continue;
                log_notice("%s: tunnel '%s' is inactive, removing its interface (left up by an Activate "
                           "that did not finish)", t->ifname, t->name);
                (void) tunnel_deactivate_device(t);
        }
}

int manager_load_tunnels(Manager *m) {
        uint64_t max = 0;
        int r = db_tunnel_max_id(m->db, &max);
        if (r < 0)
                return r;
        m->next_tunnel_id = max + 1;
        return db_tunnel_load(m->db, m);
}

void manager_free_tunnels(Manager *m) {
        Tunnel *t;
        while (hashmap_size(m->tunnels_by_id) > 0) {
                size_t i = 0;
                if (!hashmap_iterate(m->tunnels_by_id, &i, (void **) &t, NULL))
                        break;
                tunnel_detach(t);
                tunnel_free(t);
        }
        hashmap_free(m->tunnels_by_id);
        m->tunnels_by_id = NULL;
}

int tunnel_get_pairing(Tunnel *t, char **ret, sd_bus_error *error) {
        Manager *m = t->manager;
        Pairing p = {0};
        uint8_t psk[WG_KEY_LEN];
        char buf[IP_PREFIX_STRLEN];
        int r;

        /* A tunnel made before tunnel addresses were bounded may hold one that no pairing
         * string carries: refused before an offer is made (it would void the one handed out). */
        for (size_t i = 0; i < t->n_tunnel_addresses; i++)
                if (!pairing_tunnel_prefix_ok(&t->tunnel_addresses[i]))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Tunnel address %s of '%s' has a prefix no pairing string carries "
                                                 "(/24 to /31, IPv6 /64 to /127): change it with Update first",
                                                 ip_prefix_to_string(&t->tunnel_addresses[i], buf), t->name);
        if (t->pairing == TUNNEL_PAIRING_IMPORTED) {
                /* The reply to the offer this tunnel came from. */
                p.kind = PAIRING_REPLY;
                memcpy(p.id, t->pairing_id, PAIRING_ID_LEN);
                r = tunnel_psk(t, p.preshared_key);
                if (r < 0)
                        goto finish;
        } else {
                /* A new offer: a fresh id and PSK, pending until the reply comes back. */
                uint8_t sealed[SEALED_KEY_SIZE];
                p.kind = PAIRING_OFFER;
                randombytes_buf(p.id, PAIRING_ID_LEN);
                r = wg_key_generate_preshared(psk);
                if (r >= 0)
                        r = tunnel_seal(t, "tunnels.pending_preshared_key", psk, sealed);
                if (r < 0)
                        goto finish;
                memcpy(p.preshared_key, psk, WG_KEY_LEN);
                TunnelPairing old_pairing = t->pairing;
                uint8_t old_id[PAIRING_ID_LEN], old_sealed[SEALED_KEY_SIZE];
                uint64_t old_expires = t->pairing_expires;
                bool old_has = t->has_pending_psk;
                memcpy(old_id, t->pairing_id, PAIRING_ID_LEN);
                memcpy(old_sealed, t->pending_psk_sealed, SEALED_KEY_SIZE);

                t->pairing = TUNNEL_PAIRING_OFFERED;
                memcpy(t->pairing_id, p.id, PAIRING_ID_LEN);
                t->pairing_expires = now_usec() / 1000000 + t->pairing_lifetime;
                memcpy(t->pending_psk_sealed, sealed, SEALED_KEY_SIZE);
                t->has_pending_psk = true;
                r = db_tunnel_update(m->db, t);
                if (r < 0) {
                        t->pairing = old_pairing;
                        memcpy(t->pairing_id, old_id, PAIRING_ID_LEN);
                        t->pairing_expires = old_expires;
                        memcpy(t->pending_psk_sealed, old_sealed, SEALED_KEY_SIZE);
                        t->has_pending_psk = old_has;
                        goto finish;
                }
                (void) tunnel_emit_changed(t, "Pairing", NULL);
        }
        p.expires = now_usec() / 1000000 + t->pairing_lifetime;
        memcpy(p.public_key, t->public_key, WG_KEY_LEN);
        snprintf(p.endpoint, sizeof(p.endpoint), "%s", t->local_endpoint);
        memcpy(p.tunnel_addresses, t->tunnel_addresses, t->n_tunnel_addresses * sizeof(IpPrefix));
        p.n_tunnel_addresses = t->n_tunnel_addresses;
        if (t->n_local_networks > 0)
                memcpy(p.networks, t->local_networks, t->n_local_networks * sizeof(IpPrefix));
        p.n_networks = t->n_local_networks;
        r = pairing_format(&p, ret);
        if (r < 0)
                sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Cannot build the pairing string: %s", strerror(-r));
        else {
                char hex[PAIRING_ID_HEX_LEN + 1];
                pairing_id_to_hex(p.id, hex);
                log_info("%s: tunnel '%s' gave pairing %s (%s)", t->ifname, t->name, hex,
                         p.kind == PAIRING_OFFER ? "offer" : "reply");
        }
finish:
        wg_wipe(psk, sizeof(psk));
        pairing_wipe(&p);
        return r;
}
