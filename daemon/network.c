/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "bus-util.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network.h"
#include "peer.h"
#include "rotation.h"
#include "wgnet-error.h"

static const char *const network_mode_table[_NETWORK_MODE_MAX] = {
        [NETWORK_MODE_HUB] = "hub",
        [NETWORK_MODE_GATEWAY] = "gateway",
        [NETWORK_MODE_SPLIT] = "split",
        [NETWORK_MODE_SITE_TO_SITE] = "site-to-site",
        [NETWORK_MODE_MESH] = "mesh",
};

static const char *const key_policy_table[_KEY_POLICY_MAX] = {
        [KEY_POLICY_STORED] = "stored",
        [KEY_POLICY_ONE_TIME] = "one-time",
};

const char *network_mode_to_string(NetworkMode m) {
        return m >= 0 && m < _NETWORK_MODE_MAX ? network_mode_table[m] : NULL;
}

int network_mode_from_string(const char *s) {
        for (int i = 0; s && i < _NETWORK_MODE_MAX; i++)
                if (streq(network_mode_table[i], s))
                        return i;
        return -EINVAL;
}

static const char *const rotation_kind_table[_ROTATION_KIND_MAX] = {
        [ROTATION_PSK] = "psk",
        [ROTATION_KEYPAIR] = "keypair",
};

const char *rotation_kind_to_string(RotationKind k) {
        return k >= 0 && k < _ROTATION_KIND_MAX ? rotation_kind_table[k] : NULL;
}

int rotation_kind_from_string(const char *s) {
        for (int i = 0; s && i < _ROTATION_KIND_MAX; i++)
                if (streq(rotation_kind_table[i], s))
                        return i;
        return -EINVAL;
}

const char *key_policy_to_string(KeyPolicy p) {
        return p >= 0 && p < _KEY_POLICY_MAX ? key_policy_table[p] : NULL;
}

int key_policy_from_string(const char *s) {
        for (int i = 0; s && i < _KEY_POLICY_MAX; i++)
                if (streq(key_policy_table[i], s))
                        return i;
        return -EINVAL;
}

int network_new(Manager *m, uint64_t id, const char *name, const char *ifname, Network **ret) {
        _cleanup_(network_freep) Network *n = calloc(1, sizeof(Network));

        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->id = id;
        n->name = strdup(name);
        n->ifname = strdup(ifname);
        n->endpoint = strdup("");
        n->nat_interface = strdup("");
        n->dns = calloc(1, sizeof(char *));
        n->peers_by_key = hashmap_new(key32_hash_func, key32_equal_func);
        n->peers_by_name = hashmap_new(string_hash_func, string_equal_func);
        n->peers_by_pending_key = hashmap_new(key32_hash_func, key32_equal_func);
        n->rotation_kind = ROTATION_KEYPAIR;
        n->grace_period = NETWORK_DEFAULT_GRACE_PERIOD;
        n->online_threshold = 180;
        n->peer_routes = true;
        if (!n->name || !n->ifname || !n->endpoint || !n->nat_interface || !n->dns ||
            !n->peers_by_key || !n->peers_by_name || !n->peers_by_pending_key)
                return -ENOMEM;
        if (asprintf(&n->path, WGNET_NETWORK_PREFIX "/%" PRIu64, id) < 0) {
                n->path = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

Network *network_free(Network *n) {
        if (!n)
                return NULL;
        n->mesh = mesh_free(n->mesh);
        while (n->peers) {
                Peer *p = n->peers;
                network_unlink_peer(n, p);
                peer_free(p);
        }
        for (size_t i = 0; i < NETWORK_MAX_SUBNETS; i++)
                addr_pool_free(n->pools[i]);
        free(n->subnet_holes);
        free(n->site_index);
        hashmap_free(n->peers_by_key);
        hashmap_free(n->peers_by_name);
        hashmap_free(n->peers_by_pending_key);
        wg_wipe(n->private_key_sealed, sizeof(n->private_key_sealed));
        free(n->name);
        free(n->ifname);
        free(n->path);
        free(n->endpoint);
        strv_free(n->dns);
        free(n->extra_routes);
        free(n->nat_interface);
        free(n);
        return NULL;
}

void network_forget_subnet_holes(Network *n) {
        free(n->subnet_holes);
        n->subnet_holes = NULL;
        n->n_subnet_holes = 0;
        n->subnet_holes_known = false;
        free(n->site_index);
        n->site_index = NULL;
        n->n_site_index = 0;
        n->site_index_known = false;
}

int network_subnet_holes(Network *n, const IpPrefix **ret, size_t *ret_n) {
        if (!n->subnet_holes_known) {
                IpPrefix *l = NULL;
                size_t count = 0;
                /* (A mesh's site networks are exit nodes' default routes.) */
                for (Peer *p = n->mode == NETWORK_MODE_MESH ? NULL : n->peers; p; p = p->next)
                        for (size_t a = 0; a < p->n_site_networks; a++)
                                for (size_t k = 0; k < n->n_subnets; k++) {
                                        const IpPrefix *h = &p->site_networks[a];
                                        if (h->family != n->subnets[k].family || h->prefixlen < n->subnets[k].prefixlen ||
                                            !ip_prefix_contains(&n->subnets[k], h))
                                                continue;
                                        IpPrefix *nl = reallocarray(l, count + 1, sizeof(IpPrefix));
                                        if (!nl) {
                                                free(l);
                                                return -ENOMEM;
                                        }
                                        l = nl;
                                        l[count++] = *h;
                                }
                n->subnet_holes = l;
                n->n_subnet_holes = count;
                n->subnet_holes_known = true;
        }
        *ret = n->subnet_holes;
        *ret_n = n->n_subnet_holes;
        return 0;
}

int network_setup_pools(Network *n) {
        network_forget_subnet_holes(n);
        for (size_t i = 0; i < NETWORK_MAX_SUBNETS; i++)
                n->pools[i] = addr_pool_free(n->pools[i]);
        for (size_t i = 0; i < n->n_subnets; i++) {
                int r = addr_pool_new(&n->subnets[i], &n->pools[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int network_attach(Network *n) {
        Manager *m = n->manager;
        int r = hashmap_put(m->networks_by_id, &n->id, n);
        if (r < 0)
                return r;
        r = hashmap_put(m->networks_by_name, n->name, n);
        if (r < 0) {
                hashmap_remove(m->networks_by_id, &n->id);
                return r;
        }
        return 0;
}

void network_detach(Network *n) {
        hashmap_remove(n->manager->networks_by_id, &n->id);
        hashmap_remove(n->manager->networks_by_name, n->name);
}

void network_link_peer(Network *n, Peer *p) {
        p->network = n;
        p->prev = n->peers_tail;
        p->next = NULL;
        if (n->peers_tail)
                n->peers_tail->next = p;
        else
                n->peers = p;
        n->peers_tail = p;
        n->n_peers++;
        if (p->n_site_networks > 0)
                network_forget_subnet_holes(n);
        (void) hashmap_put(n->peers_by_key, p->public_key, p);
        (void) hashmap_put(n->peers_by_name, p->name, p);
        (void) hashmap_put(n->manager->peers_by_id, &p->id, p);
        if (p->rotation_pending)
                (void) hashmap_put(n->peers_by_pending_key, p->pending_public_key, p);
}

void network_unlink_peer(Network *n, Peer *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                n->peers = p->next;
        if (p->next)
                p->next->prev = p->prev;
        else
                n->peers_tail = p->prev;
        p->next = p->prev = NULL;
        n->n_peers--;
        if (p->n_site_networks > 0)
                network_forget_subnet_holes(n);
        if (p->online)
                n->n_online--;
        if (hashmap_get(n->peers_by_key, p->public_key) == p)
                hashmap_remove(n->peers_by_key, p->public_key);
        if (hashmap_get(n->peers_by_name, p->name) == p)
                hashmap_remove(n->peers_by_name, p->name);
        if (hashmap_get(n->manager->peers_by_id, &p->id) == p)
                hashmap_remove(n->manager->peers_by_id, &p->id);
        if (p->rotation_pending && hashmap_get(n->peers_by_pending_key, p->pending_public_key) == p)
                hashmap_remove(n->peers_by_pending_key, p->pending_public_key);
}

int network_private_key(Network *n, uint8_t ret[WG_KEY_LEN]) {
        char what[32];
        snprintf(what, sizeof(what), "networks.private_key");
        return manager_open(n->manager, what, n->id, n->private_key_sealed,
                            sizeof(n->private_key_sealed), ret);
}

static int prefix_cmp(const void *a, const void *b) {
        return ip_prefix_compare(a, b);
}

/* Are two allowed-IP lists the same set? */
static bool prefix_sets_equal(IpPrefix *a, size_t na, IpPrefix *b, size_t nb) {
        if (na != nb)
                return false;
        if (na == 0)
                return true;
        qsort(a, na, sizeof(IpPrefix), prefix_cmp);
        qsort(b, nb, sizeof(IpPrefix), prefix_cmp);
        for (size_t i = 0; i < na; i++)
                if (!ip_prefix_equal(&a[i], &b[i]))
                        return false;
        return true;
}

/* What must change on the device for this peer? Fills want (a full peer entry) and
 * returns a short reason, or NULL when the device peer matches. */
static const char *peer_diff(Peer *p, WgPeer *have, WgPeer *want) {
        if (!have)
                return "missing";
        if (!prefix_sets_equal(have->allowed_ips, have->n_allowed_ips, want->allowed_ips, want->n_allowed_ips))
                return "allowed IPs differ";
        if (have->persistent_keepalive != want->persistent_keepalive)
                return "keepalive differs";
        if (!wg_key_equal(have->preshared_key, want->preshared_key))
                return "preshared key differs";
        /* A configured endpoint is set when the device has none; once the peer roams, its
         * own packets say where it is. */
        if (want->endpoint.sa.sa_family != AF_UNSPEC && have->endpoint.sa.sa_family == AF_UNSPEC)
                return "endpoint missing";
        return NULL;
}

static void wg_peer_done(WgPeer *p) {
        free(p->allowed_ips);
        wg_wipe(p, sizeof(*p));
}

int network_apply_peer(Network *n, Peer *p, bool remove) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        Manager *m = n->manager;
        int r;

        if (!n->active)
                return 0;
        r = wg_device_new(n->ifname, &d);
        if (r < 0)
                return r;
        WgPeer *wp = wg_device_add_peer(d, p->public_key);
        if (!wp)
                return -ENOMEM;
        if (remove || !p->enabled)
                wp->flags |= WGPEER_REMOVE_ME;
        else {
                r = peer_to_wg_peer(p, wp);
                if (r < 0)
                        return r;
                /* A peer that roamed keeps the endpoint its packets came from: the configured
                 * one goes to the device only when it is new or the device had none (as in
                 * the reconcile). An Update of its email no longer pulls it back. */
                if (!n->mesh && !p->endpoint_new && !isempty(p->endpoint))
                        wp->flags &= ~WGPEER_HAS_ENDPOINT;
        }
        if (p->rotation_pending) {
                /* The new key of a pending rotation follows the peer, without addresses. */
                wp = wg_device_add_peer(d, p->pending_public_key);
                if (!wp)
                        return -ENOMEM;
                if (remove || !p->enabled)
                        wp->flags |= WGPEER_REMOVE_ME;
                else {
                        r = peer_pending_to_wg_peer(p, wp);
                        if (r < 0)
                                return r;
                }
        }
        r = wg_backend_set_device(m->backend, d);
        if (r >= 0) {
                if (!remove && p->enabled)
                        p->endpoint_new = false;
                (void) network_apply_peer_routes(n, p, remove || !p->enabled);
        }
        return r;
}

static int network_apply_site_routes(Network *n, Peer *p, bool remove);

int network_apply_peer_routes(Network *n, Peer *p, bool remove) {
        int r = network_apply_site_routes(n, p, remove);
        /* A default route that came or went with this peer: the policy rules follow. */
        if (n->active && n->route_table != 0 && peer_has_default_route(p))
                (void) network_full_tunnel_apply_except(n, remove ? p : NULL, false);
        return r;
}

static int network_apply_site_routes(Network *n, Peer *p, bool remove) {
        int r = 0;
        if (!n->active || (!n->peer_routes && !remove))
                return 0;
        for (size_t i = 0; i < p->n_site_networks; i++) {
                /* A default route (a full-tunnel client config) is not a route of the main
                 * table: it would take the host's own traffic, the tunnel's included, away
                 * from its uplink. DefaultRoute puts it in a table of its own with policy
                 * rules (network-full-tunnel.c). */
                if (p->site_networks[i].prefixlen == 0)
                        continue;
                int k = remove ? wg_backend_route_del(n->manager->backend, n->ifname, &p->site_networks[i])
                               : wg_backend_route_add(n->manager->backend, n->ifname, &p->site_networks[i]);
                if (!remove)
                        manager_route_added(n->manager, n->ifname, &p->site_networks[i], k);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

static void update_status(Network *n, const WgDevice *d) {
        uint64_t now = now_usec();
        uint32_t online = 0;

        n->status_usec = now_monotonic_usec();
        n->status_failed_usec = 0;
        for (size_t i = 0; i < d->n_peers; i++) {
                const WgPeer *wp = &d->peers[i];
                Peer *p = hashmap_get(n->peers_by_key, wp->public_key);
                char ep[WG_ENDPOINT_STRLEN];
                if (!p)
                        continue;
                p->rx_bytes = wp->rx_bytes;
                p->tx_bytes = wp->tx_bytes;
                p->status_usec = n->status_usec;
                bool is_online = p->enabled && wp->last_handshake_usec > 0 &&
                                 now < wp->last_handshake_usec + (uint64_t) n->online_threshold * 1000000;
                if (n->mesh)
                        mesh_peer_online(p, &is_online);        /* the coordinator: from heartbeats */
                wg_endpoint_to_string(&wp->endpoint, ep);
                bool hs_changed = p->last_handshake != wp->last_handshake_usec;
                bool ep_changed = !streq_ptr(p->endpoint, ep);
                bool online_changed = p->online != is_online;
                p->last_handshake = wp->last_handshake_usec;
                if (ep_changed) {
                        char *e = strdup(ep);
                        if (e) {
                                free(p->endpoint);
                                p->endpoint = e;
                        }
                }
                p->online = is_online;
                if (is_online)
                        online++;
                const char *props[4];
                size_t k = 0;
                if (hs_changed)
                        props[k++] = "LastHandshake";
                if (ep_changed)
                        props[k++] = "Endpoint";
                if (online_changed)
                        props[k++] = "Online";
                props[k] = NULL;
                if (k > 0)
                        (void) peer_emit_changed_strv(p, (char **) props);
        }
        if (online != n->n_online) {
                n->n_online = online;
                (void) network_emit_changed(n, "OnlinePeerCount", NULL);
        }
        network_rotation_check(n, d);
}

static int apply_link(Network *n, bool log_repairs) {
        WgBackend *b = n->manager->backend;
        _cleanup_(freep) IpPrefix *have = NULL;
        size_t n_have = 0;
        int r;

        r = wg_backend_addr_list(b, n->ifname, &have, &n_have);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n->n_subnets; i++) {
                bool found = false;
                for (size_t j = 0; j < n_have; j++)
                        found = found || ip_prefix_equal(&have[j], &n->subnets[i]);
                if (found)
                        continue;
                char buf[IP_PREFIX_STRLEN];
                if (log_repairs)
                        log_notice("%s: adding missing address %s", n->ifname, ip_prefix_to_string(&n->subnets[i], buf));
                r = wg_backend_addr_add(b, n->ifname, &n->subnets[i]);
                if (r < 0)
                        return r;
        }
        /* Then what the network no longer has (a subnet taken out by an Update that
         * crashed or failed before its removal): its route would shadow another network's.
         * IPv6 link-local addresses are the kernel's. */
        for (size_t j = 0; j < n_have; j++) {
                bool ours = false;
                for (size_t i = 0; i < n->n_subnets; i++)
                        ours = ours || ip_prefix_equal(&have[j], &n->subnets[i]);
                if (ours || (have[j].family == AF_INET6 && have[j].addr.bytes[0] == 0xfe &&
                             (have[j].addr.bytes[1] & 0xc0) == 0x80))
                        continue;
                char buf[IP_PREFIX_STRLEN];
                if (log_repairs)
                        log_notice("%s: removing address %s, not the network's", n->ifname,
                                   ip_prefix_to_string(&have[j], buf));
                r = wg_backend_addr_del(b, n->ifname, &have[j]);
                if (r < 0)
                        return r;
        }
        if (n->mtu > 0) {
                r = wg_backend_link_set_mtu(b, n->ifname, n->mtu);
                if (r < 0)
                        return r;
        }
        r = wg_backend_link_is_up(b, n->ifname);
        if (r > 0)
                return 0;
        if (log_repairs && r == 0)
                log_notice("%s: link is down, setting it up", n->ifname);
        return wg_backend_link_set_up(b, n->ifname, true);
}

/* A reconcile lists at most this many repaired peers one by one (a device found empty at
 * the start would otherwise log each of its peers), then how many more. */
#define REPAIRS_LOGGED_MAX 32

int network_apply(Network *n, bool log_repairs) {
        Manager *m = n->manager;
        _cleanup_(wg_device_freep) WgDevice *have = NULL, *want = NULL;
        _cleanup_(hashmap_freep) Hashmap *device_peers = NULL;
        _cleanup_(freep) Peer **added_peers = NULL;
        uint8_t private_key[WG_KEY_LEN];
        unsigned added = 0, changed = 0, removed = 0, logged = 0;
        size_t n_added_peers = 0;
        int r;

        if (!n->active)
                return 0;

        if (!wg_backend_exists(m->backend, n->ifname)) {
                if (log_repairs)
                        log_notice("%s: interface missing, creating it", n->ifname);
                r = wg_backend_create(m->backend, n->ifname);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        r = wg_backend_get_device(m->backend, n->ifname, &have);
        if (r < 0)
                return r;
        r = wg_device_new(n->ifname, &want);
        if (r < 0)
                return r;

        r = network_private_key(n, private_key);
        if (r < 0)
                return r;
        if (!wg_device_holds_key(have, private_key)) {
                if (log_repairs && wg_device_key_differs(have, private_key))
                        log_notice("%s: private key differs, setting it", n->ifname);
                memcpy(want->private_key, private_key, WG_KEY_LEN);
                want->flags |= WGDEVICE_HAS_PRIVATE_KEY;
        }
        wg_wipe(private_key, sizeof(private_key));
        if (have->listen_port != n->listen_port) {
                if (log_repairs && have->listen_port != 0)
                        log_notice("%s: listen port %u differs, setting %u", n->ifname, have->listen_port, n->listen_port);
                want->listen_port = n->listen_port;
                want->flags |= WGDEVICE_HAS_LISTEN_PORT;
        }
        uint32_t mark = network_full_tunnel_fwmark(n, have->fwmark);
        if (have->fwmark != mark) {
                if (log_repairs)
                        log_notice("%s: fwmark %u differs, setting %u", n->ifname, have->fwmark, mark);
                want->fwmark = mark;
                want->flags |= WGDEVICE_HAS_FWMARK;
        }

        device_peers = hashmap_new(key32_hash_func, key32_equal_func);
        added_peers = calloc(n->n_peers + 1, sizeof(Peer *));
        if (!device_peers || !added_peers)
                return -ENOMEM;
        for (size_t i = 0; i < have->n_peers; i++)
                (void) hashmap_put(device_peers, have->peers[i].public_key, &have->peers[i]);

        uint64_t now = now_usec();
        for (Peer *p = n->peers; p; p = p->next) {
                /* An expired peer is off the device from its expiry on, also when the policy
                 * tick that disables it has not run yet (a start, the same tick). */
                if (!p->enabled || peer_expired(p, now))
                        continue;
                WgPeer *hp = hashmap_remove(device_peers, p->public_key);
                WgPeer candidate = {0};
                r = peer_to_wg_peer(p, &candidate);
                if (r < 0) {
                        wg_peer_done(&candidate);       /* its allowed IPs, its key wiped */
                        return r;
                }
                const char *why = peer_diff(p, hp, &candidate);
                if (!why) {
                        wg_peer_done(&candidate);
                        continue;
                }
                if (log_repairs && logged++ < REPAIRS_LOGGED_MAX)
                        log_notice("%s: peer '%s' %s, repairing", n->ifname, p->name, why);
                if (hp)
                        changed++;
                else {
                        added++;
                        if (n_added_peers < n->n_peers)
                                added_peers[n_added_peers++] = p;
                }
                WgPeer *wp = wg_device_add_peer(want, p->public_key);
                if (!wp) {
                        wg_peer_done(&candidate);
                        return -ENOMEM;
                }
                free(wp->allowed_ips);
                *wp = candidate;
                wp->flags |= WGPEER_REPLACE_ALLOWEDIPS;
        }
        /* The new keys of pending rotations: on the device, without addresses. */
        Peer *pp;
        HASHMAP_FOREACH(pp, n->peers_by_pending_key, ip) {
                if (!pp->enabled || peer_expired(pp, now))
                        continue;
                WgPeer *hp = hashmap_remove(device_peers, pp->pending_public_key);
                WgPeer candidate = {0};
                r = peer_pending_to_wg_peer(pp, &candidate);
                if (r < 0)
                        return r;
                const char *why = peer_diff(pp, hp, &candidate);
                if (!why) {
                        wg_peer_done(&candidate);
                        continue;
                }
                if (log_repairs && logged++ < REPAIRS_LOGGED_MAX)
                        log_notice("%s: new key of peer '%s' (rotation pending) %s, repairing", n->ifname, pp->name, why);
                if (hp)
                        changed++;
                else
                        added++;
                WgPeer *wp = wg_device_add_peer(want, pp->pending_public_key);
                if (!wp) {
                        wg_peer_done(&candidate);
                        return -ENOMEM;
                }
                free(wp->allowed_ips);
                *wp = candidate;
        }
        /* Whatever is left on the device is not ours. */
        WgPeer *extra;
        HASHMAP_FOREACH(extra, device_peers, it) {
                char key[WG_KEY_B64_SIZE];
                wg_key_to_base64(key, extra->public_key);
                Peer *known = hashmap_get(n->peers_by_key, extra->public_key);
                if (log_repairs && logged++ < REPAIRS_LOGGED_MAX) {
                        if (known)
                                log_notice("%s: removing peer '%s', %s", n->ifname, known->name,
                                           known->enabled ? "expired" : "disabled");
                        else
                                log_notice("%s: removing unknown peer %s", n->ifname, key);
                }
                WgPeer *wp = wg_device_add_peer(want, extra->public_key);
                if (!wp)
                        return -ENOMEM;
                wp->flags |= WGPEER_REMOVE_ME;
                removed++;
        }

        if (want->flags || want->n_peers > 0) {
                r = wg_backend_set_device(m->backend, want);
                if (r < 0)
                        return r;
        }
        if (log_repairs && logged > REPAIRS_LOGGED_MAX)
                log_notice("%s: %u more peers repaired (not listed)", n->ifname, logged - REPAIRS_LOGGED_MAX);
        if (log_repairs && (added || changed || removed))
                log_notice("%s: reconciled: %u peers added, %u changed, %u removed", n->ifname, added, changed, removed);

        r = apply_link(n, log_repairs);
        if (r < 0)
                return r;
        for (Peer *p = n->peers; p; p = p->next)
                if (p->enabled && p->n_site_networks > 0)
                        (void) network_apply_site_routes(n, p, false);
        (void) network_full_tunnel_apply(n, log_repairs);

        if (changed || (want->flags & WGDEVICE_HAS_PRIVATE_KEY)) {
                /* Read again so the status reflects what the device now holds. */
                have = wg_device_free(have);
                r = wg_backend_get_device(m->backend, n->ifname, &have);
                if (r < 0)
                        return r;
        } else
                /* Only peers added (and unknown ones removed): what the device holds now is
                 * what it held plus the added peers, which start from nothing (no handshake,
                 * no bytes, no endpoint). No second read of the whole device (45 ms at
                 * 10,000 peers on wireguard-go). */
                for (size_t i = 0; i < n_added_peers; i++)
                        if (!wg_device_add_peer(have, added_peers[i]->public_key))
                                return -ENOMEM;
        update_status(n, have);
        return 0;
}

int network_refresh_status(Network *n, uint64_t max_age_usec) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        if (!n->active)
                return 0;
        uint64_t now = now_monotonic_usec();
        if (n->status_usec > 0 && now - n->status_usec < max_age_usec)
                return 0;
        /* A read that failed is not tried again within the same age either: callers of
         * GetStats would otherwise each wait for a failing device (and log it). */
        if (n->status_failed_usec > 0 && now - n->status_failed_usec < max_age_usec)
                return n->status_error;
        int r = wg_backend_get_device(n->manager->backend, n->ifname, &d);
        if (r < 0) {
                n->status_failed_usec = now_monotonic_usec();
                n->status_error = r;
                return r;
        }
        update_status(n, d);
        return 0;
}

int network_deactivate_device(Network *n) {
        /* The rules outlive the link: they go first. */
        network_full_tunnel_remove(n);
        /* No existence check first: a check that cannot ask the kernel would say "absent"
         * and leave the device running; the delete tells absent (-ENODEV) from an error. */
        int r = wg_backend_delete(n->manager->backend, n->ifname);
        return r == -ENODEV ? 0 : r;
}

/* The client's AllowedIPs, each prefix once. A site-to-site network's list holds every
 * other gateway's site networks (thousands): the repeats are found by hash, not by a scan
 * of the list for each one (quadratic: 4,000 extra routes took 16 M compares a config). */
typedef struct PrefixList {
        IpPrefix *items;
        size_t n, cap;
        Hashmap *seen;          /* IpPrefix* (into items) -> itself */
} PrefixList;

static uint64_t prefix_hash(const void *key) {
        const IpPrefix *p = key;
        uint64_t h = (uint64_t) p->family << 8 | p->prefixlen;
        size_t len = p->family == AF_INET ? 4 : 16;
        for (size_t i = 0; i < len; i++)
                h = h * 1099511628211ULL ^ p->addr.bytes[i];
        return uint64_hash_func(&h);
}

static bool prefix_equal(const void *a, const void *b) {
        return ip_prefix_equal(a, b);
}

static int prefix_list_add(PrefixList *l, const IpPrefix *p) {
        if (hashmap_get(l->seen, p))
                return 0;
        if (l->n >= l->cap)
                return -ENOBUFS;        /* sized beforehand: items never move under the map */
        l->items[l->n] = *p;
        int r = hashmap_put(l->seen, &l->items[l->n], &l->items[l->n]);
        if (r < 0)
                return r;
        l->n++;
        return 0;
}

int network_client_allowed_ips(Network *n, Peer *p, IpPrefix **ret, size_t *ret_n) {
        PrefixList l = { .cap = 2 + n->n_subnets + n->n_extra_routes };
        int r = 0;

        if (n->mode == NETWORK_MODE_SITE_TO_SITE)
                for (Peer *o = n->peers; o; o = o->next)
                        l.cap += o->n_site_networks;
        l.items = calloc(l.cap, sizeof(IpPrefix));
        l.seen = hashmap_new(prefix_hash, prefix_equal);
        if (!l.items || !l.seen) {
                r = -ENOMEM;
                goto finish;
        }
        if (n->mode == NETWORK_MODE_GATEWAY) {
                IpPrefix any4 = { .family = AF_INET, .prefixlen = 0 };
                IpPrefix any6 = { .family = AF_INET6, .prefixlen = 0 };
                r = prefix_list_add(&l, &any4);
                if (r >= 0)
                        r = prefix_list_add(&l, &any6);
        } else {
                for (size_t i = 0; r >= 0 && i < n->n_subnets; i++) {
                        IpPrefix s = n->subnets[i];
                        ip_prefix_mask(&s);
                        r = prefix_list_add(&l, &s);
                }
                if (n->mode != NETWORK_MODE_HUB)
                        for (size_t i = 0; r >= 0 && i < n->n_extra_routes; i++)
                                r = prefix_list_add(&l, &n->extra_routes[i]);
                if (n->mode == NETWORK_MODE_SITE_TO_SITE)
                        for (Peer *o = n->peers; r >= 0 && o; o = o->next)
                                if (o != p && o->enabled)
                                        for (size_t i = 0; r >= 0 && i < o->n_site_networks; i++)
                                                r = prefix_list_add(&l, &o->site_networks[i]);
        }
finish:
        hashmap_free(l.seen);
        if (r < 0) {
                free(l.items);
                return r;
        }
        *ret = l.items;
        *ret_n = l.n;
        return 0;
}

int network_emit_changed(Network *n, const char *property, ...) {
        va_list ap;
        va_start(ap, property);
        int r = bus_emit_changedv(n->manager->bus, n->path, WGNET_NETWORK_INTERFACE, property, ap);
        va_end(ap);
        return r;
}
