/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <net/if.h>
#include <sodium.h>
#include <time.h>

#include "audit.h"
#include "bus-util.h"
#include "db-tunnel.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "network-options.h"
#include "peer.h"
#include "tunnel-settings.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

/* Which options each call takes. */
static bool option_allowed(int o, OptionUse use) {
        switch (use) {
        case USE_CREATE:
                return o != TOPT_NAME;
        case USE_UPDATE:
                return o != TOPT_NAME && o != TOPT_INTERFACE && o != TOPT_ACTIVATE;
        case USE_IMPORT_OFFER:
                return o == TOPT_NAME || o == TOPT_INTERFACE || o == TOPT_LISTEN_PORT || o == TOPT_ENDPOINT ||
                       o == TOPT_LOCAL_NETWORKS || o == TOPT_KEEPALIVE || o == TOPT_PAIRING_LIFETIME ||
                       o == TOPT_ONLINE_THRESHOLD ||
                       o == TOPT_ACTIVATE;
        case USE_IMPORT_REPLY:
                return false;
        }
        return false;
}



void tunnel_settings_done(TunnelSettings *s) {
        free(s->local_networks);
        free(s->remote_networks);
        wg_wipe(s, sizeof(*s));
}

static int check_endpoint(const char *what, const char *e, sd_bus_error *error) {
        WgEndpoint ep;
        if (isempty(e))
                return 0;
        if (strlen(e) > PAIRING_ENDPOINT_MAX || wg_endpoint_parse(e, &ep) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid %s '%s': expected address:port (a.b.c.d:port or [v6]:port)", what, e);
        return 0;
}

static int check_networks(char **l, const char *what, IpPrefix **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(freep) IpPrefix *list = NULL;
        size_t n = 0;
        int r;

        r = bus_parse_prefixes(l, false, what, &list, &n, error);
        if (r < 0)
                return r;
        if (n > TUNNEL_MAX_NETWORKS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Too many %ss: at most %d",
                                         what, TUNNEL_MAX_NETWORKS);
        for (size_t i = 0; i < n; i++) {
                if (ip_prefix_has_host_bits(&list[i]))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid %s '%s': host bits are set", what, l[i]);
                for (size_t k = 0; k < i; k++)
                        if (ip_prefix_overlaps(&list[k], &list[i]))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid %s '%s': overlaps '%s'", what, l[i], l[k]);
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

static int check_tunnel_addresses(char **l, TunnelSettings *s, sd_bus_error *error) {
        size_t n = strv_length(l);
        if (n > PAIRING_MAX_ADDRESSES)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Too many tunnel addresses: one IPv4 and one IPv6 at most");
        for (size_t i = 0; i < n; i++) {
                IpPrefix peer;
                if (ip_prefix_parse(l[i], false, &s->tunnel_addresses[i]) < 0 ||
                    !pairing_tunnel_prefix_ok(&s->tunnel_addresses[i]) ||
                    pairing_peer_address(&s->tunnel_addresses[i], &peer) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid tunnel address '%s': expected a point-to-point address such as "
                                                 "10.255.0.1/31, fd00::1/127 or 10.255.0.1/30, with a prefix of /24 to /31 "
                                                 "(IPv6 /64 to /127)", l[i]);
                for (size_t k = 0; k < i; k++)
                        if (s->tunnel_addresses[k].family == s->tunnel_addresses[i].family)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid tunnel address '%s': one address per family", l[i]);
        }
        s->n_tunnel_addresses = n;
        return 0;
}

/* The remote networks are routed into the tunnel: none may take what another tunnel, a
 * network's subnet or a peer's site network has, or a route of another interface of this
 * host for the same prefix (a LAN, another VPN), whose traffic would go into the tunnel.
 * A default route (/0) is not installed, as for site networks. */
static int check_routes(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                        const char *what, sd_bus_error *error) {
        char a[IP_PREFIX_STRLEN], b[IP_PREFIX_STRLEN];
        Tunnel *t;
        Network *net;

        for (size_t i = 0; i < n; i++) {
                if (l[i].prefixlen == 0)
                        continue;
                const IpPrefix *theirs;
                if ((t = manager_tunnel_routing(m, &l[i], self, &theirs)))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                 "%s '%s' overlaps remote network '%s' of tunnel '%s'", what,
                                                 ip_prefix_to_string(&l[i], a), ip_prefix_to_string(theirs, b), t->name);
                HASHMAP_FOREACH(net, m->networks_by_id, it) {
                        for (size_t k = 0; k < net->n_subnets; k++) {
                                IpPrefix sub = net->subnets[k];
                                ip_prefix_mask(&sub);
                                if (ip_prefix_overlaps(&l[i], &sub))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                 "%s '%s' overlaps subnet '%s' of network '%s'", what,
                                                                 ip_prefix_to_string(&l[i], a), ip_prefix_to_string(&sub, b),
                                                                 net->name);
                        }
                        /* (A mesh's site networks are an exit node's default route, not a LAN.) */
                        for (Peer *p = net->mode == NETWORK_MODE_MESH ? NULL : net->peers; p; p = p->next)
                                for (size_t k = 0; k < p->n_site_networks; k++)
                                        if (p->site_networks[k].prefixlen > 0 &&
                                            ip_prefix_overlaps(&l[i], &p->site_networks[k]))
                                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                         "%s '%s' overlaps site network '%s' of "
                                                                         "peer '%s' in network '%s'", what,
                                                                         ip_prefix_to_string(&l[i], a),
                                                                         ip_prefix_to_string(&p->site_networks[k], b),
                                                                         p->name, net->name);
                }
                uint32_t oif = 0;
                char other[IF_NAMESIZE] = "";
                int r = wg_backend_route_other(m->backend, ifname, &l[i], &oif);
                if (r > 0) {
                        if (oif == 0 || !if_indextoname(oif, other))
                                snprintf(other, sizeof(other), "%s", oif == 0 ? "no interface" : "?");
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                 "%s '%s' is routed through %s on this host already: "
                                                 "a route into %s would take its traffic", what,
                                                 ip_prefix_to_string(&l[i], a), other, ifname);
                }
                if (r < 0)
                        log_warning("Cannot read the routes of this host: %s", strerror(-r));
        }
        return 0;
}

int tunnel_check_remote_networks(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                                 sd_bus_error *error) {
        return check_routes(m, self, ifname, l, n, "Remote network", error);
}

/* A tunnel address brings the route of its prefix (10.255.0.0/31 for 10.255.0.1/31): the
 * same checks as for remote networks. */
int tunnel_check_tunnel_addresses(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                                  sd_bus_error *error) {
        IpPrefix subnets[PAIRING_MAX_ADDRESSES];
        n = MIN(n, (size_t) PAIRING_MAX_ADDRESSES);
        for (size_t i = 0; i < n; i++) {
                subnets[i] = l[i];
                ip_prefix_mask(&subnets[i]);
        }
        return check_routes(m, self, ifname, subnets, n, "Tunnel subnet", error);
}

/* A mesh's subnets: the same, before JoinMesh makes its interface. */
int mesh_check_subnets(Manager *m, const char *ifname, const IpPrefix *l, size_t n, sd_bus_error *error) {
        for (size_t i = 0; i < n; i++) {
                IpPrefix sub = l[i];
                ip_prefix_mask(&sub);
                int r = check_routes(m, NULL, ifname, &sub, 1, "The mesh's subnet", error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Check the options; self is the tunnel being updated (NULL when creating). */
int tunnel_settings_check(Manager *m, Tunnel *self, const char *ifname, BusOption *o, OptionUse use,
                          TunnelSettings *s, sd_bus_error *error) {
        int r;

        for (int i = 0; i < _TOPT_MAX; i++)
                if (o[i].set && !option_allowed(i, use))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' is not accepted here",
                                                 o[i].key);
        if (o[TOPT_INTERFACE].set) {
                if (!ifname_is_valid(o[TOPT_INTERFACE].s))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid interface name '%s'",
                                                 o[TOPT_INTERFACE].s);
        }
        if (o[TOPT_LISTEN_PORT].set) {
                uint16_t port = o[TOPT_LISTEN_PORT].q;
                if (port == 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Invalid listen port '0': the other host needs a fixed port");
                if (manager_listen_port_in_use(m, port, self))
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse",
                                                 "Listen port %u is used by a network or another tunnel", port);
                /* Taken outside wgnet: the device would lose its socket. */
                if ((!self || self->listen_port != port) && (r = udp_port_check_error(port, error)) < 0)
                        return r;
        }
        if (o[TOPT_REMOTE_PUBLIC_KEY].set && !isempty(o[TOPT_REMOTE_PUBLIC_KEY].s)) {
                if (wg_key_from_base64(s->remote_key, o[TOPT_REMOTE_PUBLIC_KEY].s) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid public key '%s'",
                                                 o[TOPT_REMOTE_PUBLIC_KEY].s);
                if (self && wg_key_equal(s->remote_key, self->public_key))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "RemotePublicKey '%s' is this tunnel's own key", o[TOPT_REMOTE_PUBLIC_KEY].s);
                s->has_remote_key = true;
        }
        if (o[TOPT_REMOTE_ENDPOINT].set && (r = check_endpoint("remote endpoint", o[TOPT_REMOTE_ENDPOINT].s, error)) < 0)
                return r;
        if (o[TOPT_ENDPOINT].set && (r = check_endpoint("endpoint", o[TOPT_ENDPOINT].s, error)) < 0)
                return r;
        if (o[TOPT_LOCAL_NETWORKS].set &&
            (r = check_networks(o[TOPT_LOCAL_NETWORKS].as, "local network", &s->local_networks, &s->n_local_networks, error)) < 0)
                return r;
        if (o[TOPT_REMOTE_NETWORKS].set &&
            (r = check_networks(o[TOPT_REMOTE_NETWORKS].as, "remote network", &s->remote_networks, &s->n_remote_networks, error)) < 0)
                return r;
        if (o[TOPT_TUNNEL_ADDRESSES].set && (r = check_tunnel_addresses(o[TOPT_TUNNEL_ADDRESSES].as, s, error)) < 0)
                return r;
        if (o[TOPT_PSK].set && !isempty(o[TOPT_PSK].s)) {
                if (wg_key_from_base64(s->psk, o[TOPT_PSK].s) < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Invalid PresharedKey: expected 44 characters of base64");
                s->has_psk = true;
        }
        if (o[TOPT_PAIRING_LIFETIME].set && (o[TOPT_PAIRING_LIFETIME].u < 1 || o[TOPT_PAIRING_LIFETIME].u > 7 * 86400))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid PairingLifetime %u: 1 s to 7 days", o[TOPT_PAIRING_LIFETIME].u);
        if (o[TOPT_ONLINE_THRESHOLD].set && (o[TOPT_ONLINE_THRESHOLD].u < 1 || o[TOPT_ONLINE_THRESHOLD].u > 86400))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid OnlineThreshold %u: 1 s to 1 day", o[TOPT_ONLINE_THRESHOLD].u);
        /* Local and remote networks must not overlap (with what they become). */
        IpPrefix *local = o[TOPT_LOCAL_NETWORKS].set ? s->local_networks : self ? self->local_networks : NULL;
        size_t n_local = o[TOPT_LOCAL_NETWORKS].set ? s->n_local_networks : self ? self->n_local_networks : 0;
        IpPrefix *remote = o[TOPT_REMOTE_NETWORKS].set ? s->remote_networks : self ? self->remote_networks : NULL;
        size_t n_remote = o[TOPT_REMOTE_NETWORKS].set ? s->n_remote_networks : self ? self->n_remote_networks : 0;
        for (size_t i = 0; i < n_local; i++)
                for (size_t k = 0; k < n_remote; k++)
                        if (ip_prefix_overlaps(&local[i], &remote[k])) {
                                char a[IP_PREFIX_STRLEN], b[IP_PREFIX_STRLEN];
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Local network '%s' overlaps remote network '%s'",
                                                         ip_prefix_to_string(&local[i], a), ip_prefix_to_string(&remote[k], b));
                        }
        if (o[TOPT_REMOTE_NETWORKS].set &&
            (r = tunnel_check_remote_networks(m, self, ifname, s->remote_networks, s->n_remote_networks, error)) < 0)
                return r;
        if (o[TOPT_TUNNEL_ADDRESSES].set &&
            (r = tunnel_check_tunnel_addresses(m, self, ifname, s->tunnel_addresses, s->n_tunnel_addresses, error)) < 0)
                return r;
        return 0;
}

/* Apply checked settings in memory; ret_changed gets the changed property names. */
int tunnel_settings_apply(Tunnel *t, BusOption *o, TunnelSettings *s, const char **changed) {
        size_t k = 0;
        int r;

        if (o[TOPT_LISTEN_PORT].set && o[TOPT_LISTEN_PORT].q != t->listen_port) {
                t->listen_port = o[TOPT_LISTEN_PORT].q;
                changed[k++] = "ListenPort";
        }
        if (o[TOPT_REMOTE_PUBLIC_KEY].set) {
                t->has_remote_key = s->has_remote_key;
                memcpy(t->remote_public_key, s->remote_key, WG_KEY_LEN);
                changed[k++] = "RemotePublicKey";
        }
        if (o[TOPT_REMOTE_ENDPOINT].set) {
                if ((r = set_string(&t->remote_endpoint, o[TOPT_REMOTE_ENDPOINT].s, NULL)) < 0)
                        return r;
                t->endpoint_dirty = true;
                changed[k++] = "RemoteEndpoint";
        }
        if (o[TOPT_ENDPOINT].set) {
                if ((r = set_string(&t->local_endpoint, o[TOPT_ENDPOINT].s, NULL)) < 0)
                        return r;
                changed[k++] = "LocalEndpoint";
        }
        if (o[TOPT_LOCAL_NETWORKS].set) {
                free(t->local_networks);
                t->local_networks = TAKE_PTR(s->local_networks);
                t->n_local_networks = s->n_local_networks;
                changed[k++] = "LocalNetworks";
        }
        if (o[TOPT_REMOTE_NETWORKS].set) {
                free(t->remote_networks);
                t->remote_networks = TAKE_PTR(s->remote_networks);
                t->n_remote_networks = s->n_remote_networks;
                changed[k++] = "RemoteNetworks";
        }
        if (o[TOPT_TUNNEL_ADDRESSES].set) {
                memcpy(t->tunnel_addresses, s->tunnel_addresses, sizeof(t->tunnel_addresses));
                t->n_tunnel_addresses = s->n_tunnel_addresses;
                changed[k++] = "TunnelAddresses";
        }
        if (o[TOPT_KEEPALIVE].set && o[TOPT_KEEPALIVE].q != t->keepalive) {
                t->keepalive = o[TOPT_KEEPALIVE].q;
                changed[k++] = "PersistentKeepalive";
        }
        if (o[TOPT_PSK].set) {
                if (s->has_psk && (r = tunnel_seal(t, "tunnels.preshared_key", s->psk, t->psk_sealed)) < 0)
                        return r;
                t->has_psk = s->has_psk;
                changed[k++] = "HasPresharedKey";
        }
        if (o[TOPT_PAIRING_LIFETIME].set && o[TOPT_PAIRING_LIFETIME].u != t->pairing_lifetime) {
                t->pairing_lifetime = o[TOPT_PAIRING_LIFETIME].u;
                changed[k++] = "PairingLifetime";
        }
        if (o[TOPT_ONLINE_THRESHOLD].set && o[TOPT_ONLINE_THRESHOLD].u != t->online_threshold) {
                t->online_threshold = o[TOPT_ONLINE_THRESHOLD].u;
                changed[k++] = "OnlineThreshold";
        }
        changed[k] = NULL;
        return 0;
}

/* The settings Update may change, copied into saved (its own strings and lists), to put
 * back with tunnel_settings_restore() when the change fails. */
int tunnel_settings_save(const Tunnel *t, Tunnel *saved) {
        *saved = (Tunnel) {
                .listen_port = t->listen_port,
                .has_remote_key = t->has_remote_key,
                .n_local_networks = t->n_local_networks,
                .n_remote_networks = t->n_remote_networks,
                .n_tunnel_addresses = t->n_tunnel_addresses,
                .keepalive = t->keepalive,
                .online_threshold = t->online_threshold,
                .has_psk = t->has_psk,
                .endpoint_dirty = t->endpoint_dirty,
                .pairing_lifetime = t->pairing_lifetime,
        };
        memcpy(saved->remote_public_key, t->remote_public_key, WG_KEY_LEN);
        memcpy(saved->tunnel_addresses, t->tunnel_addresses, sizeof(t->tunnel_addresses));
        memcpy(saved->psk_sealed, t->psk_sealed, SEALED_KEY_SIZE);
        saved->remote_endpoint = strdup(t->remote_endpoint ? t->remote_endpoint : "");
        saved->local_endpoint = strdup(t->local_endpoint ? t->local_endpoint : "");
        saved->local_networks = calloc(t->n_local_networks + 1, sizeof(IpPrefix));
        saved->remote_networks = calloc(t->n_remote_networks + 1, sizeof(IpPrefix));
        if (!saved->remote_endpoint || !saved->local_endpoint || !saved->local_networks || !saved->remote_networks) {
                tunnel_settings_saved_done(saved);
                return -ENOMEM;
        }
        if (t->n_local_networks > 0)
                memcpy(saved->local_networks, t->local_networks, t->n_local_networks * sizeof(IpPrefix));
        if (t->n_remote_networks > 0)
                memcpy(saved->remote_networks, t->remote_networks, t->n_remote_networks * sizeof(IpPrefix));
        return 0;
}

void tunnel_settings_restore(Tunnel *t, Tunnel *saved) {
        t->listen_port = saved->listen_port;
        t->has_remote_key = saved->has_remote_key;
        memcpy(t->remote_public_key, saved->remote_public_key, WG_KEY_LEN);
        free(t->remote_endpoint);
        t->remote_endpoint = TAKE_PTR(saved->remote_endpoint);
        free(t->local_endpoint);
        t->local_endpoint = TAKE_PTR(saved->local_endpoint);
        free(t->local_networks);
        t->local_networks = TAKE_PTR(saved->local_networks);
        t->n_local_networks = saved->n_local_networks;
        free(t->remote_networks);
        t->remote_networks = TAKE_PTR(saved->remote_networks);
        t->n_remote_networks = saved->n_remote_networks;
        memcpy(t->tunnel_addresses, saved->tunnel_addresses, sizeof(t->tunnel_addresses));
        t->n_tunnel_addresses = saved->n_tunnel_addresses;
        t->keepalive = saved->keepalive;
        t->online_threshold = saved->online_threshold;
        t->has_psk = saved->has_psk;
        memcpy(t->psk_sealed, saved->psk_sealed, SEALED_KEY_SIZE);
        t->endpoint_dirty = true;       /* the device may have the new endpoint */
        t->pairing_lifetime = saved->pairing_lifetime;
}

void tunnel_settings_saved_done(Tunnel *saved) {
        free(saved->remote_endpoint);
        free(saved->local_endpoint);
        free(saved->local_networks);
        free(saved->remote_networks);
        *saved = (Tunnel) {0};
}

/* Insert t (new keys set) and bring it up when active, in one transaction; then make it
 * findable and announce it. On failure t is freed by the caller. */
int tunnel_create_commit(Manager *m, Tunnel *t, const uint8_t *used_offer_id, sd_bus_error *error) {
        int r = db_begin(m->db);
        if (r < 0)
                return r;
        r = db_tunnel_insert(m->db, t);
        if (r == -EEXIST) {
                db_rollback(m->db);
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "TunnelExists",
                                         "A tunnel with name '%s' or interface '%s' exists", t->name, t->ifname);
        }
        if (r >= 0 && used_offer_id) {
                r = db_pairing_mark_used(m->db, PAIRING_OFFER, used_offer_id, t->id);
                if (r == -EEXIST) {
                        char hex[PAIRING_ID_HEX_LEN + 1];
                        pairing_id_to_hex(used_offer_id, hex);
                        db_rollback(m->db);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "PairingUsed",
                                                 "Pairing %s was already used on this host", hex);
                }
        }
        /* A crash between the device and the commit would leave an interface no tunnel
         * owns: the intent, on disk first, has the next start remove it. */
        bool intent = false;
        if (r >= 0 && t->active) {
                r = manager_creating_interface(m, t->ifname, true);
                intent = r >= 0;
        }
        if (r >= 0 && t->active) {
                r = tunnel_apply(t, false);
                if (r < 0) {
                        db_rollback(m->db);
                        (void) tunnel_deactivate_device(t);
                        (void) manager_creating_interface(m, t->ifname, false);
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                 "Cannot bring up interface %s: %s", t->ifname, strerror(-r));
                }
        }
        if (r >= 0)
                r = db_commit(m->db);
        if (intent)
                (void) manager_creating_interface(m, t->ifname, false);
        if (r < 0) {
                db_rollback(m->db);
                if (t->active)
                        (void) tunnel_deactivate_device(t);
                return r;
        }
        r = tunnel_attach(t);
        if (r < 0)
                return r;
        m->next_tunnel_id++;
        (void) sd_bus_emit_object_added(m->bus, t->path);
        log_info("%s: tunnel '%s' created", t->ifname, t->name);
        return 0;
}

static int tunnel_generate_keys(Tunnel *t) {
        uint8_t key[WG_KEY_LEN];
        int r = wg_key_generate_private(key);
        if (r >= 0)
                r = wg_key_public_from_private(t->public_key, key);
        if (r >= 0)
                r = tunnel_seal(t, "tunnels.private_key", key, t->private_key_sealed);
        wg_wipe(key, sizeof(key));
        return r;
}

int tunnel_new_with_settings(Manager *m, const char *name, const char *ifname, BusOption *o, TunnelSettings *s,
                             Tunnel **ret) {
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        const char *changed[16];
        int r = tunnel_new(m, m->next_tunnel_id, name, ifname, &t);
        if (r >= 0)
                r = tunnel_generate_keys(t);
        if (r < 0)
                return r;
        t->created_at = now_usec();
        t->listen_port = manager_free_tunnel_port(m);
        r = tunnel_settings_apply(t, o, s, changed);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

int tunnel_check_new_name(Manager *m, const char *name, const char *ifname, sd_bus_error *error) {
        if (!tunnel_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid tunnel name '%s': 1-64 characters of letters, digits, '_.@+-' and inner spaces",
                                         name);
        if (manager_find_tunnel_by_name(m, name))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "TunnelExists", "Tunnel '%s' exists", name);
        if (!ifname_is_valid(ifname))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Tunnel name '%s' is not a valid interface name: give the option Interface", name);
        if (manager_ifname_in_use(m, ifname, NULL))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse", "Interface '%s' is in use", ifname);
        /* A WireGuard interface that runs without wgnet is someone's (wg-quick's, say): a
         * tunnel would overwrite its key, drop its peers and delete it with the tunnel. */
        if (wg_backend_exists(m->backend, ifname))
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "InterfaceInUse",
                                         "Interface '%s' exists and is not managed by wgnet", ifname);
        return 0;
}

int method_create_tunnel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Manager *mgr = userdata;
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        TunnelSettings s = {0};
        const char *name, *ifname;
        int r;

        bus_message_carries_secret(m);
        /* The route checks must see the queued AddPeer calls' site networks (once allowed). */
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &name);
        if (r >= 0)
                r = bus_read_options(m, o, _TOPT_MAX, error);
        if (r < 0)
                goto finish;
        ifname = o[TOPT_INTERFACE].set ? o[TOPT_INTERFACE].s : name;
        r = tunnel_check_new_name(mgr, name, ifname, error);
        if (r >= 0)
                r = tunnel_settings_check(mgr, NULL, ifname, o, USE_CREATE, &s, error);
        if (r < 0)
                goto finish;
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }

        r = tunnel_new_with_settings(mgr, name, ifname, o, &s, &t);
        if (r < 0)
                goto finish;
        t->active = o[TOPT_ACTIVATE].set ? o[TOPT_ACTIVATE].b : true;
        r = tunnel_create_commit(mgr, t, NULL, error);
        if (r < 0)
                goto finish;
        audit_log_tunnel(m, AUDIT_TUNNEL_CREATED, t, "%s: tunnel '%s' created", t->ifname, t->name);
        r = sd_bus_reply_method_return(m, "o", TAKE_PTR(t)->path);
finish:
        bus_options_done(o, _TOPT_MAX);
        tunnel_settings_done(&s);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot create tunnel '%s'", name);
        return r;
}

/* --- the Tunnel object ------------------------------------------------------------- */

static int property_get_key(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        char key[WG_KEY_B64_SIZE] = "";
        if (streq(property, "PublicKey"))
                wg_key_to_base64(key, t->public_key);
        else if (t->has_remote_key)
                wg_key_to_base64(key, t->remote_public_key);
        return sd_bus_message_append(reply, "s", key);
}

static int property_get_prefixes(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        if (streq(property, "LocalNetworks"))
                return bus_append_prefixes(reply, t->local_networks, t->n_local_networks);
        if (streq(property, "RemoteNetworks"))
                return bus_append_prefixes(reply, t->remote_networks, t->n_remote_networks);
        if (streq(property, "TunnelAddresses"))
                return bus_append_prefixes(reply, t->tunnel_addresses, t->n_tunnel_addresses);
        return bus_append_prefixes(reply, t->routes, t->n_routes);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        return sd_bus_message_append(reply, "s", tunnel_state_to_string(t->state));
}

static int property_get_pairing(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        return sd_bus_message_append(reply, "s", tunnel_pairing_to_string(t->pairing));
}

static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        int r = manager_verify(t->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        bool activate = streq(sd_bus_message_get_member(m), "Activate"), was = t->active;
        r = tunnel_set_active(t, activate, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot change tunnel '%s'", t->name);
        if (was != activate)
                audit_log_tunnel(m, activate ? AUDIT_TUNNEL_ACTIVATED : AUDIT_TUNNEL_DEACTIVATED, t, "%s: tunnel '%s' %s",
                                 t->ifname, t->name, activate ? "activated" : "deactivated");
        return sd_bus_reply_method_return(m, NULL);
}

static int method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        Manager *mgr = t->manager;
        BusOption o[_TOPT_MAX] = TUNNEL_OPTIONS_INIT;
        TunnelSettings s = {0};
        _cleanup_(tunnel_settings_saved_done) Tunnel saved = {0};
        const char *changed[16];
        int r;

        bus_message_carries_secret(m);
        manager_flush_adds_if_allowed(mgr, m);
        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = bus_read_options(m, o, _TOPT_MAX, error);
        if (r >= 0)
                r = tunnel_settings_check(mgr, t, t->ifname, o, USE_UPDATE, &s, error);
        if (r < 0)
                goto finish;
        r = manager_verify(mgr, m, error);
        if (r <= 0) {
                r = r < 0 ? r : 1;
                goto finish;
        }
        /* Saved, applied to the device, then committed: a device that refuses (a port
         * taken meanwhile) or a failed save puts memory, database and device back. */
        r = tunnel_settings_save(t, &saved);
        if (r >= 0)
                r = tunnel_settings_apply(t, o, &s, changed);
        if (r >= 0)
                r = db_begin(mgr->db);
        if (r >= 0) {
                r = db_tunnel_update(mgr->db, t);
                if (r >= 0 && t->active) {
                        int k = tunnel_apply(t, false);
                        if (k < 0)
                                r = sd_bus_error_setf(error, WGNET_ERROR_PREFIX "DeviceFailed",
                                                      "Cannot apply the new settings to %s: %s", t->ifname, strerror(-k));
                }
                if (r >= 0)
                        r = db_commit(mgr->db);
                if (r < 0)
                        db_rollback(mgr->db);
        }
        if (r < 0) {
                if (saved.remote_endpoint) {
                        tunnel_settings_restore(t, &saved);
                        if (t->active)
                                (void) tunnel_apply(t, false);
                }
                log_error("%s: cannot update tunnel '%s': %s", t->ifname, t->name,
                          sd_bus_error_is_set(error) ? error->message : strerror(-r));
                goto finish;
        }
        if (changed[0])
                (void) sd_bus_emit_properties_changed_strv(mgr->bus, t->path, WGNET_TUNNEL_INTERFACE, (char **) changed);
        audit_log_tunnel(m, AUDIT_TUNNEL_UPDATED, t, "%s: tunnel '%s' updated", t->ifname, t->name);
        r = sd_bus_reply_method_return(m, NULL);
finish:
        bus_options_done(o, _TOPT_MAX);
        tunnel_settings_done(&s);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot update tunnel '%s'", t->name);
        return r;
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        Manager *mgr = t->manager;
        int r = manager_verify(mgr, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = db_begin(mgr->db);
        if (r >= 0)
                r = db_tunnel_delete(mgr->db, t->id);
        if (r >= 0)
                r = tunnel_deactivate_device(t);
        if (r >= 0)
                r = db_commit(mgr->db);
        if (r < 0) {
                db_rollback(mgr->db);
                return bus_reply_errno(error, r, "Cannot delete tunnel '%s'", t->name);
        }
        (void) sd_bus_emit_object_removed(mgr->bus, t->path);
        audit_log_tunnel(m, AUDIT_TUNNEL_DELETED, t, "%s: tunnel '%s' deleted", t->ifname, t->name);
        tunnel_detach(t);
        tunnel_free(t);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_get_pairing(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Tunnel *t = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(wg_wipe_free_stringp) char *text = NULL;
        int r = manager_verify(t->manager, m, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = tunnel_get_pairing(t, &text, error);
        if (r < 0)
                return bus_reply_errno(error, r, "Cannot make a pairing for tunnel '%s'", t->name);
        audit_log_tunnel(m, AUDIT_SECRET_READ, t, "%s: pairing of tunnel '%s' read", t->ifname, t->name);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", text);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable tunnel_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "t", NULL, offsetof(Tunnel, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Tunnel, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interface", "s", NULL, offsetof(Tunnel, ifname), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PublicKey", "s", property_get_key, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ListenPort", "q", NULL, offsetof(Tunnel, listen_port), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemotePublicKey", "s", property_get_key, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteEndpoint", "s", NULL, offsetof(Tunnel, remote_endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LocalEndpoint", "s", NULL, offsetof(Tunnel, local_endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LocalNetworks", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RemoteNetworks", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TunnelAddresses", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PersistentKeepalive", "q", NULL, offsetof(Tunnel, keepalive), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPresharedKey", "b", bus_property_get_bool, offsetof(Tunnel, has_psk), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pairing", "s", property_get_pairing, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PairingLifetime", "u", NULL, offsetof(Tunnel, pairing_lifetime), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnlineThreshold", "u", NULL, offsetof(Tunnel, online_threshold), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Active", "b", bus_property_get_bool, offsetof(Tunnel, active), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastHandshake", "t", NULL, offsetof(Tunnel, last_handshake), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Endpoint", "s", NULL, offsetof(Tunnel, endpoint), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Routes", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RxBytes", "t", NULL, offsetof(Tunnel, rx_bytes), 0),
        SD_BUS_PROPERTY("TxBytes", "t", NULL, offsetof(Tunnel, tx_bytes), 0),
        SD_BUS_METHOD("Activate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Deactivate", NULL, NULL, method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_update,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPairing", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", pairing), method_get_pairing,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int tunnel_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                              void **found, sd_bus_error *error) {
        Tunnel *t = manager_find_tunnel_by_path(userdata, path);
        if (!t)
                return 0;
        *found = t;
        return 1;
}

static int tunnel_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                  sd_bus_error *error) {
        Manager *m = userdata;
        return bus_paths_of(m->tunnels_by_id, offsetof(Tunnel, path), nodes);
}

int tunnel_bus_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, WGNET_TUNNEL_PREFIX, WGNET_TUNNEL_INTERFACE, tunnel_vtable,
                                           tunnel_object_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, WGNET_TUNNEL_PREFIX, tunnel_node_enumerator, m);
        return r;
}
