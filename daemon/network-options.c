/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include "log.h"
#include "manager.h"
#include "mesh.h"
#include "network-options.h"
#include "peer-add.h"
#include "peer.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

uint16_t manager_free_listen_port(Manager *m) {
        for (uint32_t port = 51820; port <= 65535; port++) {
                Network *n;
                bool used = false;
                HASHMAP_FOREACH(n, m->networks_by_id, i)
                        used = used || n->listen_port == port;
                /* Nor one another program holds (a wg-quick interface on 51820): the
                 * device could not bind it, and the caller never chose it. */
                if (!used && !manager_tunnel_by_port(m, (uint16_t) port) && udp_port_check((uint16_t) port) == 0)
                        return (uint16_t) port;
        }
        return 0;
}

/* The subnet's route goes into the network's interface: a site network routed into another
 * network (a LAN behind a site gateway), or a route of another interface of this host for
 * the same prefix or a wider one (the LAN the host sits on), would lose its traffic to it,
 * or take the clients' (which route wins depends on the family and the order). A mesh's
 * site networks are exit nodes' default routes, not LANs. */
static int subnet_routed_elsewhere(Manager *m, Network *self, const char *ifname, const IpPrefix *subnet,
                                   const char *text, sd_bus_error *error) {
        char b[IP_PREFIX_STRLEN], other[IF_NAMESIZE] = "";
        IpPrefix net = *subnet;
        Network *o;

        ip_prefix_mask(&net);
        HASHMAP_FOREACH(o, m->networks_by_id, it) {
                if (o == self || o->mode == NETWORK_MODE_MESH)
                        continue;
                for (Peer *p = o->peers; p; p = p->next)
                        for (size_t k = 0; k < p->n_site_networks; k++)
                                if (p->site_networks[k].prefixlen > 0 && ip_prefix_overlaps(&net, &p->site_networks[k]))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                 "Subnet '%s' overlaps site network '%s' of peer '%s' "
                                                                 "in network '%s'", text,
                                                                 ip_prefix_to_string(&p->site_networks[k], b), p->name,
                                                                 o->name);
        }
        /* A host's own address (an imported client config) makes no subnet route. */
        if (!m->backend || (size_t) net.prefixlen + 2 > ip_family_bits(net.family))
                return 0;
        uint32_t oif = 0;
        /* (An import may adopt the running interface: its own routes are not another's.) */
        int r = wg_backend_route_other(m->backend, ifname, &net, &oif);
        if (r > 0) {
                if (oif == 0 || !if_indextoname(oif, other))
                        snprintf(other, sizeof(other), "%s", oif == 0 ? "no interface" : "?");
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                         "Subnet '%s' is routed through %s on this host already (%s): its clients "
                                         "would be unreachable, or take that traffic", text, other,
                                         ip_prefix_to_string(&net, b));
        }
        if (r < 0)
                log_warning("Cannot read the routes of this host: %s", strerror(-r));
        return 0;
}

/* An imported config is taken as written (wg-quick brings up any Address): a host's own
 * /32 or /128 (a client-side config, no room for peers), several subnets of one family,
 * or none at all. A created network needs room for peers. */
static int check_subnets(Manager *m, Network *self, const char *ifname, char **l, bool imported,
                         NetworkSettings *s, sd_bus_error *error) {
        size_t n = strv_length(l);
        int r;

        if (n == 0 && !imported)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Addresses must name at least one subnet with the server's address, e.g. '10.8.0.1/24'");
        if (n > NETWORK_MAX_SUBNETS)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "At most %d subnets, not %zu", NETWORK_MAX_SUBNETS, n);
        for (size_t i = 0; i < n; i++) {
                IpPrefix *p = &s->subnets[i];
                if (ip_prefix_parse(l[i], false, p) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid address '%s': expected the server's address with the subnet prefix, e.g. 10.8.0.1/24", l[i]);
                if (ip_addr_is_v4_mapped(p))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid address '%s': IPv4-mapped IPv6", l[i]);
                size_t bits = ip_family_bits(p->family);
                if (imported && (size_t) p->prefixlen + 2 > bits)
                        goto checked;   /* a host's own address (or a /31, /127 link) */
                if ((size_t) p->prefixlen + 2 > bits || (p->family == AF_INET && p->prefixlen < 8) ||
                    (p->family == AF_INET6 && p->prefixlen < 48))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid address '%s': the prefix must leave room for peers (IPv4 /8-/30, IPv6 /48-/126)", l[i]);
                if (!ip_prefix_has_host_bits(p))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid address '%s': give the server's own address, not the network address", l[i]);
                if (p->family == AF_INET) {
                        IpPrefix host = ip_prefix_host(p), bcast = *p;
                        ip_prefix_mask(&bcast);
                        for (size_t b = p->prefixlen; b < 32; b++)
                                bcast.addr.bytes[b / 8] |= (uint8_t) (0x80 >> (b % 8));
                        bcast.prefixlen = 32;
                        if (ip_prefix_equal(&host, &bcast))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid address '%s': that is the broadcast address", l[i]);
                }
        checked:
                for (size_t j = 0; j < i; j++)
                        if (ip_prefix_overlaps(&s->subnets[j], p))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Subnets '%s' and '%s' overlap", l[j], l[i]);
                Network *o;
                HASHMAP_FOREACH(o, m->networks_by_id, it) {
                        if (o == self)
                                continue;
                        for (size_t k = 0; k < o->n_subnets; k++)
                                if (ip_prefix_overlaps(&o->subnets[k], p))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                 "Subnet '%s' overlaps network '%s'", l[i], o->name);
                }
                char what[IP_PREFIX_STRLEN + 16];
                snprintf(what, sizeof(what), "Subnet '%s'", l[i]);
                r = manager_check_tunnel_routing(m, p, true, NULL, what, error);
                if (r < 0)
                        return r;
                r = subnet_routed_elsewhere(m, self, ifname, p, l[i], error);
                if (r < 0)
                        return r;
        }
        s->n_subnets = n;

        /* A site gateway's networks are routed to it: a subnet over one of them would
         * hand out its hosts' addresses to clients. */
        if (self)
                for (Peer *p = self->peers; p; p = p->next)
                        for (size_t a = 0; a < p->n_site_networks; a++)
                                for (size_t k = 0; k < n; k++)
                                        if (ip_prefix_overlaps(&s->subnets[k], &p->site_networks[a])) {
                                                char buf[IP_PREFIX_STRLEN];
                                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                                         "Subnet '%s' overlaps site network %s of peer '%s'",
                                                                         l[k], ip_prefix_to_string(&p->site_networks[a], buf),
                                                                         p->name);
                                        }

        /* Existing peers must stay inside the new subnets. */
        if (self)
                for (Peer *p = self->peers; p; p = p->next)
                        for (size_t a = 0; a < p->n_addresses; a++) {
                                bool inside = false;
                                for (size_t k = 0; k < n; k++) {
                                        IpPrefix server = ip_prefix_host(&s->subnets[k]);
                                        if (ip_prefix_contains(&s->subnets[k], &p->addresses[a]) &&
                                            !ip_prefix_equal(&server, &p->addresses[a]))
                                                inside = true;
                                }
                                if (!inside) {
                                        char buf[IP_PREFIX_STRLEN];
                                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                                 "Peer '%s' has address %s, which the new subnets would not hold",
                                                                 p->name, ip_addr_to_string(&p->addresses[a], buf));
                                }
                        }
        return 0;
}

int udp_port_check_error(uint16_t port, sd_bus_error *error) {
        int r = udp_port_check(port);
        if (r == -EADDRINUSE)
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse",
                                         "Listen port %u is in use by another program", port);
        if (r == -EACCES)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Listen port %u is below 1024 and wgnetd may not bind it: choose a "
                                         "port from 1024 on, or give wgnetd.service CAP_NET_BIND_SERVICE "
                                         "(see the README)", port);
        return 0;
}

int network_settings_check(Manager *m, Network *self, const char *ifname, BusOption *opts,
                           NetworkCheckFlags flags, NetworkSettings *s, sd_bus_error *error) {
        bool creating = flags & (NETWORK_CHECK_CREATE | NETWORK_CHECK_IMPORT), imported = flags & NETWORK_CHECK_IMPORT;
        int r;

        *s = (NetworkSettings) { .mode = self ? self->mode : NETWORK_MODE_HUB,
                                 .key_policy = self ? self->key_policy : KEY_POLICY_STORED };

        if (!creating)
                for (int i = NETOPT_INTERFACE; i < _NETOPT_MAX; i++)
                        if (opts[i].set && (i == NETOPT_INTERFACE || i == NETOPT_KEY_POLICY || i == NETOPT_ACTIVATE))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' can only be given when the network is created",
                                                         opts[i].key);

        if (opts[NETOPT_INTERFACE].set) {
                const char *ifn = opts[NETOPT_INTERFACE].s;
                if (!ifname_is_valid(ifn))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid interface name '%s'", ifn);
        }
        if (opts[NETOPT_ADDRESSES].set) {
                r = check_subnets(m, self, ifname, opts[NETOPT_ADDRESSES].as, imported, s, error);
                if (r < 0)
                        return r;
        } else if (creating) {
                r = check_subnets(m, self, ifname, NULL, imported, s, error);
                if (r < 0)
                        return r;
        }
        if (opts[NETOPT_LISTEN_PORT].set) {
                uint16_t port = opts[NETOPT_LISTEN_PORT].q;
                if (port == 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Invalid listen port '0': clients need a fixed port");
                Network *o;
                HASHMAP_FOREACH(o, m->networks_by_id, it)
                        if (o != self && o->listen_port == port)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse",
                                                         "Listen port %u is used by network '%s'", port, o->name);
                Tunnel *t = manager_tunnel_by_port(m, port);
                if (t)
                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "ListenPortInUse",
                                                 "Listen port %u is used by tunnel '%s'", port, t->name);
                /* Taken outside wgnet (a wg-quick interface, any UDP service): the device
                 * would lose its socket at the change, and every peer with it. An import
                 * may adopt the running interface that holds it. */
                if (!imported && (!self || self->listen_port != port) && (r = udp_port_check_error(port, error)) < 0)
                        return r;
        }
        if (opts[NETOPT_ENDPOINT].set && !isempty(opts[NETOPT_ENDPOINT].s) && !endpoint_is_valid(opts[NETOPT_ENDPOINT].s))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid endpoint '%s': expected host:port or [IPv6]:port", opts[NETOPT_ENDPOINT].s);
        if (opts[NETOPT_DNS].set)
                for (char **d = opts[NETOPT_DNS].as; *d; d++)
                        if (!dns_entry_is_valid(*d))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid DNS entry '%s': expected an IP address or a search domain", *d);
        if (opts[NETOPT_MTU].set) {
                uint32_t mtu = opts[NETOPT_MTU].u;
                if (mtu != 0 && (mtu < 1280 || mtu > 9000))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid MTU '%u': expected 1280-9000, or 0 for the default", mtu);
        }
        if (opts[NETOPT_MODE].set) {
                r = network_mode_from_string(opts[NETOPT_MODE].s);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid mode '%s': expected hub, gateway, split, site-to-site or mesh",
                                                 opts[NETOPT_MODE].s);
                /* A mesh is made by CreateNetwork (the coordinator) or JoinMesh (a member);
                 * an existing network or an imported config does not turn into one, nor back. */
                if ((imported || self) && (r == NETWORK_MODE_MESH) != (self && self->mode == NETWORK_MODE_MESH))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Mode '%s': %s", opts[NETOPT_MODE].s,
                                                 self && self->mode == NETWORK_MODE_MESH
                                                 ? "a mesh stays a mesh (members leave with Mesh.Leave)"
                                                 : "a mesh is created with CreateNetwork (mode mesh) or joined with JoinMesh");
                s->mode = r;
        }
        /* A mesh's members hold the coordinator's address and port from their invitation,
         * and their own keys: what would change those on the coordinator alone is refused. */
        if ((self && self->mode == NETWORK_MODE_MESH) || (!self && opts[NETOPT_MODE].set && s->mode == NETWORK_MODE_MESH)) {
                static const int fixed[] = { NETOPT_ADDRESSES, NETOPT_LISTEN_PORT };
                for (size_t i = 0; self && i < ELEMENTSOF(fixed); i++)
                        if (opts[fixed[i]].set)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' cannot change on mesh '%s': every member has the "
                                                         "coordinator's from its invitation", opts[fixed[i]].key, self->name);
                if (opts[NETOPT_DEFAULT_ROUTE].set && opts[NETOPT_DEFAULT_ROUTE].b)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                                "Option 'DefaultRoute' is not for a mesh: a member sends its default "
                                                "route through an exit node (Mesh.UseExitNode)");
                static const int policy[] = { NETOPT_ROTATION_INTERVAL, NETOPT_REVOKE_INACTIVE };
                for (size_t i = 0; i < ELEMENTSOF(policy); i++)
                        if (opts[policy[i]].set && opts[policy[i]].t > 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option '%s' is not for a mesh: members keep their own keys, "
                                                         "and leave or are removed through the mesh", opts[policy[i]].key);
        }
        /* One network at a time takes this host's traffic: two would send each other's
         * encrypted packets into themselves. */
        if (opts[NETOPT_DEFAULT_ROUTE].set && opts[NETOPT_DEFAULT_ROUTE].b && !(self && self->default_route)) {
                Network *o;
                HASHMAP_FOREACH(o, m->networks_by_id, it) {
                        if (o != self && o->default_route)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                         "DefaultRoute: network '%s' has it already (this host's traffic "
                                                         "goes through one tunnel at a time); switch it off there first",
                                                         o->name);
                        /* (a mesh exit node's /1 routes would take the traffic silently) */
                        if (o != self && o->mesh && !isempty(mesh_exit_via(o->mesh)))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                         "DefaultRoute: mesh '%s' sends this host's traffic through exit "
                                                         "node '%s'; choose none there first", o->name,
                                                         mesh_exit_via(o->mesh));
                }
        }
        if (opts[NETOPT_EXTRA_ROUTES].set) {
                r = bus_parse_prefixes(opts[NETOPT_EXTRA_ROUTES].as, false, "extra route", &s->extra_routes,
                                       &s->n_extra_routes, error);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < s->n_extra_routes; i++)
                        if (ip_prefix_has_host_bits(&s->extra_routes[i]))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid extra route '%s': host bits are set",
                                                         opts[NETOPT_EXTRA_ROUTES].as[i]);
        }
        if (opts[NETOPT_NAT_INTERFACE].set && !isempty(opts[NETOPT_NAT_INTERFACE].s) &&
            !ifname_is_valid(opts[NETOPT_NAT_INTERFACE].s))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid NAT interface '%s'",
                                         opts[NETOPT_NAT_INTERFACE].s);
        if (opts[NETOPT_KEY_POLICY].set) {
                r = key_policy_from_string(opts[NETOPT_KEY_POLICY].s);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid key policy '%s': expected stored or one-time",
                                                 opts[NETOPT_KEY_POLICY].s);
                s->key_policy = r;
        }
        {
                static const int seconds[] = { NETOPT_ROTATION_INTERVAL, NETOPT_REVOKE_INACTIVE, NETOPT_GRACE_PERIOD };
                for (size_t i = 0; i < ELEMENTSOF(seconds); i++)
                        if (opts[seconds[i]].set && opts[seconds[i]].t > UINT64_C(10) * 366 * 24 * 3600)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid %s %" PRIu64 ": at most ten years in seconds",
                                                         opts[seconds[i]].key, opts[seconds[i]].t);
                if (opts[NETOPT_ROTATION_KIND].set && rotation_kind_from_string(opts[NETOPT_ROTATION_KIND].s) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid RotationKind '%s': expected psk or keypair",
                                                 opts[NETOPT_ROTATION_KIND].s);
                /* A one-time network holds no private key to hand out after a rotation: a
                 * policy that could never act is refused, not skipped peer by peer. */
                int kind = opts[NETOPT_ROTATION_KIND].set ? rotation_kind_from_string(opts[NETOPT_ROTATION_KIND].s)
                                                          : self ? (int) self->rotation_kind : ROTATION_KEYPAIR;
                uint64_t every = opts[NETOPT_ROTATION_INTERVAL].set ? opts[NETOPT_ROTATION_INTERVAL].t
                                                                     : self ? self->rotation_interval : 0;
                if (s->key_policy == KEY_POLICY_ONE_TIME && kind == ROTATION_KEYPAIR && every > 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid RotationInterval %" PRIu64 " with RotationKind keypair on a "
                                                 "one-time network: wgnet keeps no private key to rotate; choose "
                                                 "RotationKind psk, or rotate with RotateKeys and the client's new key",
                                                 every);
        }
        if (opts[NETOPT_ONLINE_THRESHOLD].set) {
                uint32_t t = opts[NETOPT_ONLINE_THRESHOLD].u;
                if (t < 10 || t > 86400)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid online threshold '%u': expected 10-86400 seconds", t);
        }
        return 0;
}

void network_settings_done(NetworkSettings *s) {
        free(s->extra_routes);
        s->extra_routes = NULL;
}

int network_settings_apply(Network *n, BusOption *opts, NetworkSettings *s, const char **ret_changed) {
        size_t k = 0;
        bool ch;
        int r;

#define CHANGED(name) ret_changed[k++] = (name)
        if (opts[NETOPT_ADDRESSES].set) {
                memcpy(n->subnets, s->subnets, sizeof(n->subnets));
                n->n_subnets = s->n_subnets;
                r = network_setup_pools(n);
                if (r < 0)
                        return r;
                for (Peer *p = n->peers; p; p = p->next)
                        for (size_t a = 0; a < p->n_addresses; a++)
                                (void) network_reserve_addresses(n, &p->addresses[a], 1);
                CHANGED("Addresses");
        }
        if (opts[NETOPT_LISTEN_PORT].set && n->listen_port != opts[NETOPT_LISTEN_PORT].q) {
                n->listen_port = opts[NETOPT_LISTEN_PORT].q;
                CHANGED("ListenPort");
        }
        if (opts[NETOPT_ENDPOINT].set) {
                ch = false;
                r = set_string(&n->endpoint, opts[NETOPT_ENDPOINT].s, &ch);
                if (r < 0)
                        return r;
                if (ch)
                        CHANGED("Endpoint");
        }
        if (opts[NETOPT_DNS].set) {
                char **copy = calloc(strv_length(opts[NETOPT_DNS].as) + 1, sizeof(char *));
                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; opts[NETOPT_DNS].as[i]; i++)
                        if (!(copy[i] = strdup(opts[NETOPT_DNS].as[i]))) {
                                strv_free(copy);
                                return -ENOMEM;
                        }
                strv_free(n->dns);
                n->dns = copy;
                CHANGED("DNS");
        }
        if (opts[NETOPT_MTU].set && n->mtu != opts[NETOPT_MTU].u) {
                n->mtu = opts[NETOPT_MTU].u;
                CHANGED("MTU");
        }
        if (opts[NETOPT_MODE].set && n->mode != s->mode) {
                n->mode = s->mode;
                CHANGED("Mode");
        }
        if (opts[NETOPT_EXTRA_ROUTES].set) {
                free(n->extra_routes);
                n->extra_routes = TAKE_PTR(s->extra_routes);
                n->n_extra_routes = s->n_extra_routes;
                CHANGED("ExtraRoutes");
        }
        if (opts[NETOPT_PEER_ISOLATION].set && n->peer_isolation != !!opts[NETOPT_PEER_ISOLATION].b) {
                n->peer_isolation = opts[NETOPT_PEER_ISOLATION].b;
                CHANGED("PeerIsolation");
        }
        if (opts[NETOPT_DEFAULT_ROUTE].set && n->default_route != !!opts[NETOPT_DEFAULT_ROUTE].b) {
                n->default_route = opts[NETOPT_DEFAULT_ROUTE].b;
                CHANGED("DefaultRoute");
                if (n->default_route && n->route_table == 0) {
                        r = network_full_tunnel_choose_table(n);
                        if (r < 0)
                                return r;
                        CHANGED("RouteTable");
                }
        }
        if (opts[NETOPT_PEER_ROUTES].set && n->peer_routes != !!opts[NETOPT_PEER_ROUTES].b) {
                n->peer_routes = opts[NETOPT_PEER_ROUTES].b;
                CHANGED("PeerRoutes");
        }
        if (opts[NETOPT_NAT_INTERFACE].set) {
                ch = false;
                r = set_string(&n->nat_interface, opts[NETOPT_NAT_INTERFACE].s, &ch);
                if (r < 0)
                        return r;
                if (ch)
                        CHANGED("NatInterface");
        }
        if (opts[NETOPT_KEY_POLICY].set)
                n->key_policy = s->key_policy;
        if (opts[NETOPT_ONLINE_THRESHOLD].set && n->online_threshold != opts[NETOPT_ONLINE_THRESHOLD].u) {
                n->online_threshold = opts[NETOPT_ONLINE_THRESHOLD].u;
                CHANGED("OnlineThreshold");
        }
        if (opts[NETOPT_ROTATION_INTERVAL].set && n->rotation_interval != opts[NETOPT_ROTATION_INTERVAL].t) {
                n->rotation_interval = opts[NETOPT_ROTATION_INTERVAL].t;
                CHANGED("RotationInterval");
        }
        if (opts[NETOPT_ROTATION_KIND].set) {
                n->rotation_kind = rotation_kind_from_string(opts[NETOPT_ROTATION_KIND].s);
                CHANGED("RotationKind");
        }
        if (opts[NETOPT_REVOKE_INACTIVE].set && n->revoke_inactive != opts[NETOPT_REVOKE_INACTIVE].t) {
                n->revoke_inactive = opts[NETOPT_REVOKE_INACTIVE].t;
                CHANGED("RevokeAfterInactive");
        }
        if (opts[NETOPT_GRACE_PERIOD].set && n->grace_period != opts[NETOPT_GRACE_PERIOD].t) {
                n->grace_period = opts[NETOPT_GRACE_PERIOD].t;
                CHANGED("GracePeriod");
        }
#undef CHANGED
        ret_changed[k] = NULL;
        return 0;
}

int network_snapshot(const Network *n, NetworkSnapshot *ret) {
        NetworkSnapshot s = {
                .n_subnets = n->n_subnets, .listen_port = n->listen_port, .mtu = n->mtu,
                .online_threshold = n->online_threshold, .mode = n->mode, .n_extra_routes = n->n_extra_routes,
                .peer_isolation = n->peer_isolation, .key_policy = n->key_policy,
                .default_route = n->default_route, .route_table = n->route_table, .peer_routes = n->peer_routes,
                .rotation_interval = n->rotation_interval, .revoke_inactive = n->revoke_inactive,
                .grace_period = n->grace_period, .rotation_kind = n->rotation_kind,
        };
        memcpy(s.subnets, n->subnets, sizeof(s.subnets));
        s.endpoint = strdup(n->endpoint);
        s.nat_interface = strdup(n->nat_interface);
        s.dns = strv_copy(n->dns, strv_length(n->dns));
        s.extra_routes = calloc(n->n_extra_routes + 1, sizeof(IpPrefix));
        if (!s.endpoint || !s.nat_interface || !s.dns || !s.extra_routes) {
                network_snapshot_done(&s);
                return -ENOMEM;
        }
        memcpy_safe(s.extra_routes, n->extra_routes, n->n_extra_routes * sizeof(IpPrefix));
        *ret = s;
        return 0;
}

int network_restore(Network *n, NetworkSnapshot *s) {
        bool subnets_changed = s->n_subnets != n->n_subnets ||
                               memcmp(s->subnets, n->subnets, s->n_subnets * sizeof(IpPrefix)) != 0;

        memcpy(n->subnets, s->subnets, sizeof(n->subnets));
        n->n_subnets = s->n_subnets;
        n->listen_port = s->listen_port;
        n->mtu = s->mtu;
        n->online_threshold = s->online_threshold;
        n->mode = s->mode;
        n->peer_isolation = s->peer_isolation;
        n->default_route = s->default_route;
        n->route_table = s->route_table;
        n->peer_routes = s->peer_routes;
        n->key_policy = s->key_policy;
        n->rotation_interval = s->rotation_interval;
        n->revoke_inactive = s->revoke_inactive;
        n->grace_period = s->grace_period;
        n->rotation_kind = s->rotation_kind;
        free(n->endpoint);
        n->endpoint = TAKE_PTR(s->endpoint);
        free(n->nat_interface);
        n->nat_interface = TAKE_PTR(s->nat_interface);
        strv_free(n->dns);
        n->dns = TAKE_PTR(s->dns);
        free(n->extra_routes);
        n->extra_routes = TAKE_PTR(s->extra_routes);
        n->n_extra_routes = s->n_extra_routes;
        if (!subnets_changed)
                return 0;
        int r = network_setup_pools(n);
        if (r < 0)
                return r;
        for (Peer *p = n->peers; p; p = p->next)
                (void) network_reserve_addresses(n, p->addresses, p->n_addresses);
        return 0;
}

void network_snapshot_done(NetworkSnapshot *s) {
        free(s->endpoint);
        free(s->nat_interface);
        strv_free(s->dns);
        free(s->extra_routes);
        *s = (NetworkSnapshot) {0};
}
