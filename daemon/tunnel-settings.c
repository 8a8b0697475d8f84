/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The options of CreateTunnel, Tunnel.Update and ImportPairing: their checks against the
 * rest of the host (ports, routes, other tunnels and networks), applying them in memory,
 * and Update's undo. The bus methods are in tunnel-bus.c and tunnel-pairing-bus.c. */
#include <net/if.h>

#include "bus-util.h"
#include "log.h"
#include "manager.h"
#include "network-options.h"
#include "network.h"
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
        /* An IPv4 address written as IPv6 (::ffff:a.b.c.d) would escape the checks against
         * the IPv4 networks, and the backends send to it as IPv4 anyway. */
        if (ep.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep.in6.sin6_addr))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid %s '%s': an IPv4 address written as IPv6; write a.b.c.d:port", what, e);
        return 0;
}

int manager_check_tunnel_routing(Manager *m, const IpPrefix *p, bool is_address, const Tunnel *except,
                                 const char *what, sd_bus_error *error) {
        char buf[IP_PREFIX_STRLEN];
        IpPrefix theirs;
        bool address;
        Tunnel *t = manager_tunnel_routing(m, p, except, &theirs, &address);

        if (!t)
                return 0;
        /* Two addresses of this host's interfaces: as between networks' subnets. */
        if (is_address && address)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                         "%s overlaps tunnel subnet '%s' of tunnel '%s'", what,
                                         ip_prefix_to_string(&theirs, buf), t->name);
        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse", "%s overlaps %s '%s' of tunnel '%s'", what,
                                 address ? "tunnel subnet" : "remote network", ip_prefix_to_string(&theirs, buf),
                                 t->name);
}

/* A /1 is half a default route. The route checks cannot see it take anything (the kernel's
 * pick for it is the default route, which is nobody's), yet two of them (0.0.0.0/1 and
 * 128.0.0.0/1, OpenVPN's def1) take all of the host's traffic, the tunnel's own packets
 * included, away from its uplink; so do four /2s, or eight /3s. A network of a tunnel is
 * therefore a /8 or longer (IPv6 /7: fc00::/7 is every unique local address): an offer
 * cannot take the host's traffic, and no site is that wide. A /0 stays accepted: it gets
 * no route, as for site networks, and only widens the peer's AllowedIPs. Local networks
 * too: they are the other host's remote networks, which it would refuse. */
#define TUNNEL_NETWORK_MIN_PREFIX_V4 8
#define TUNNEL_NETWORK_MIN_PREFIX_V6 7

static int check_not_half_default(const IpPrefix *p, const char *what, sd_bus_error *error) {
        char a[IP_PREFIX_STRLEN];
        unsigned min = p->family == AF_INET ? TUNNEL_NETWORK_MIN_PREFIX_V4 : TUNNEL_NETWORK_MIN_PREFIX_V6;
        if (p->prefixlen == 0 || p->prefixlen >= min)
                return 0;
        if (p->prefixlen == 1)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid %s '%s': a /1 is half of a default route, and would take this host's "
                                         "own traffic (the tunnel's packets included) away from its uplink", what,
                                         ip_prefix_to_string(p, a));
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Invalid %s '%s': wider than /%u, it would take a large part of this host's traffic "
                                 "away from its uplink (a few of them all of it)", what, ip_prefix_to_string(p, a), min);
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
                r = check_not_half_default(&list[i], what, error);
                if (r < 0)
                        return r;
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

/* The remote networks are routed into the tunnel: none may take what another tunnel (its
 * remote networks or tunnel subnets), a network's subnet or a peer's site network has, or a
 * route of another interface of this host for the same prefix (a LAN, another VPN), whose
 * traffic would go into the tunnel. A default route (/0) is not installed, as for site
 * networks. addresses: l are subnets of this host's own addresses (a tunnel's, a mesh's),
 * AddressInUse against other such subnets. */
static int check_routes(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                        const char *what, bool addresses, sd_bus_error *error) {
        char a[IP_PREFIX_STRLEN], b[IP_PREFIX_STRLEN], text[128];
        Network *net;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (l[i].prefixlen == 0)
                        continue;
                snprintf(text, sizeof(text), "%s '%s'", what, ip_prefix_to_string(&l[i], a));
                r = manager_check_tunnel_routing(m, &l[i], addresses, self, text, error);
                if (r < 0)
                        return r;
                HASHMAP_FOREACH(net, m->networks_by_id, it) {
                        for (size_t k = 0; k < net->n_subnets; k++) {
                                IpPrefix sub = net->subnets[k];
                                ip_prefix_mask(&sub);
                                /* Two addresses of this host's interfaces: AddressInUse, as
                                 * between networks' subnets. */
                                if (ip_prefix_overlaps(&l[i], &sub))
                                        return sd_bus_error_setf(error,
                                                                 addresses ? WGNET_ERROR_PREFIX "AddressInUse" :
                                                                             WGNET_ERROR_PREFIX "RouteInUse",
                                                                 "%s overlaps subnet '%s' of network '%s'", text,
                                                                 ip_prefix_to_string(&sub, b), net->name);
                        }
                        /* (A mesh's site networks are an exit node's default route, not a LAN.) */
                        for (Peer *p = net->mode == NETWORK_MODE_MESH ? NULL : net->peers; p; p = p->next)
                                for (size_t k = 0; k < p->n_site_networks; k++)
                                        if (p->site_networks[k].prefixlen > 0 &&
                                            ip_prefix_overlaps(&l[i], &p->site_networks[k]))
                                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                         "%s overlaps site network '%s' of peer '%s' "
                                                                         "in network '%s'", text,
                                                                         ip_prefix_to_string(&p->site_networks[k], b),
                                                                         p->name, net->name);
                }
                uint32_t oif = 0;
                char other[IF_NAMESIZE] = "";
                r = m->backend ? wg_backend_route_other(m->backend, ifname, &l[i], &oif) : 0;  /* (unit tests: none) */
                if (r > 0) {
                        if (oif == 0 || !if_indextoname(oif, other))
                                snprintf(other, sizeof(other), "%s", oif == 0 ? "no interface" : "?");
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                 "%s is routed through %s on this host already: "
                                                 "a route into %s would take its traffic", text, other, ifname);
                }
                if (r < 0)
                        log_warning("Cannot read the routes of this host: %s", strerror(-r));
        }
        return 0;
}

int tunnel_check_remote_networks(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                                 sd_bus_error *error) {
        for (size_t i = 0; i < n; i++) {
                int r = check_not_half_default(&l[i], "remote network", error);
                if (r < 0)
                        return r;
        }
        return check_routes(m, self, ifname, l, n, "Remote network", false, error);
}

/* The address of an endpoint ("a.b.c.d:port", "[v6]:port") as a host prefix; an IPv4
 * address written as IPv6 (::ffff:a.b.c.d, as an offer may carry it) as the IPv4 one. */
static int endpoint_address(const char *endpoint, IpPrefix *ret) {
        WgEndpoint ep;

        if (isempty(endpoint) || wg_endpoint_parse(endpoint, &ep) < 0)
                return -EINVAL;
        if (ep.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep.in6.sin6_addr)) {
                *ret = (IpPrefix) { .family = AF_INET, .prefixlen = 32 };
                memcpy(&ret->addr.in, &ep.in6.sin6_addr.s6_addr[12], 4);
        } else if (ep.sa.sa_family == AF_INET)
                *ret = (IpPrefix) { .family = AF_INET, .prefixlen = 32, .addr.in = ep.in.sin_addr };
        else if (ep.sa.sa_family == AF_INET6)
                *ret = (IpPrefix) { .family = AF_INET6, .prefixlen = 128, .addr.in6 = ep.in6.sin6_addr };
        else
                return -EAFNOSUPPORT;
        return 0;
}

int tunnel_check_endpoint_outside(const char *endpoint, const IpPrefix *remote, size_t n_remote,
                                  const IpPrefix *addresses, size_t n_addresses, sd_bus_error *error) {
        char a[IP_PREFIX_STRLEN];
        IpPrefix ep;

        if (endpoint_address(endpoint, &ep) < 0)
                return 0;       /* none: the other host connects to us */
        for (size_t i = 0; i < n_remote; i++)
                if (remote[i].prefixlen > 0 && ip_prefix_contains(&remote[i], &ep))    /* (a /0 is not routed) */
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Remote network '%s' holds the remote endpoint %s: the tunnel's own "
                                                 "packets to it would be routed into the tunnel",
                                                 ip_prefix_to_string(&remote[i], a), endpoint);
        for (size_t i = 0; i < n_addresses; i++) {
                IpPrefix sub = addresses[i];
                ip_prefix_mask(&sub);
                if (ip_prefix_contains(&sub, &ep))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Tunnel subnet '%s' holds the remote endpoint %s: the tunnel's own "
                                                 "packets to it would be routed into the tunnel",
                                                 ip_prefix_to_string(&sub, a), endpoint);
        }
        return 0;
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
        return check_routes(m, self, ifname, subnets, n, "Tunnel subnet", true, error);
}

/* A mesh's subnets: the same, before JoinMesh makes its interface. */
int mesh_check_subnets(Manager *m, const char *ifname, const IpPrefix *l, size_t n, sd_bus_error *error) {
        for (size_t i = 0; i < n; i++) {
                IpPrefix sub = l[i];
                ip_prefix_mask(&sub);
                int r = check_routes(m, NULL, ifname, &sub, 1, "The mesh's subnet", true, error);
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
        /* The endpoint outside what the tunnel routes (with what they become). */
        if (o[TOPT_REMOTE_ENDPOINT].set || o[TOPT_REMOTE_NETWORKS].set || o[TOPT_TUNNEL_ADDRESSES].set) {
                const char *endpoint = o[TOPT_REMOTE_ENDPOINT].set ? o[TOPT_REMOTE_ENDPOINT].s :
                                       self ? self->remote_endpoint : NULL;
                const IpPrefix *addresses = o[TOPT_TUNNEL_ADDRESSES].set ? s->tunnel_addresses :
                                            self ? self->tunnel_addresses : NULL;
                size_t n_addresses = o[TOPT_TUNNEL_ADDRESSES].set ? s->n_tunnel_addresses :
                                     self ? self->n_tunnel_addresses : 0;
                r = tunnel_check_endpoint_outside(endpoint, remote, n_remote, addresses, n_addresses, error);
                if (r < 0)
                        return r;
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

/* The settings Update may change and the pairing ImportPairing completes, copied into saved
 * (its own strings and lists), to put back with tunnel_settings_restore() when the change
 * fails. Not the routes and the endpoint seen on the device: tunnel_apply() owns them. */
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
                .pairing = t->pairing,
                .pairing_expires = t->pairing_expires,
                .has_pending_psk = t->has_pending_psk,
        };
        memcpy(saved->pairing_id, t->pairing_id, PAIRING_ID_LEN);
        memcpy(saved->pending_psk_sealed, t->pending_psk_sealed, SEALED_KEY_SIZE);
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
        t->pairing = saved->pairing;
        memcpy(t->pairing_id, saved->pairing_id, PAIRING_ID_LEN);
        t->pairing_expires = saved->pairing_expires;
        t->has_pending_psk = saved->has_pending_psk;
        memcpy(t->pending_psk_sealed, saved->pending_psk_sealed, SEALED_KEY_SIZE);
}

void tunnel_settings_saved_done(Tunnel *saved) {
        free(saved->remote_endpoint);
        free(saved->local_endpoint);
        free(saved->local_networks);
        free(saved->remote_networks);
        wg_wipe(saved, sizeof(*saved));
}
