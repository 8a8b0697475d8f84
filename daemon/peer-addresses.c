/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A peer's addresses and site networks: the checks (before polkit, by anyone) and the
 * address pool of its network (reserve, release, automatic addresses outside the holes). */
#include <net/if.h>
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "tunnel.h"
#include "validate.h"
#include "wgnet-error.h"

static int subnet_index(Network *n, const IpPrefix *a) {
        for (size_t i = 0; i < n->n_subnets; i++)
                if (ip_prefix_contains(&n->subnets[i], a))
                        return (int) i;
        return -1;
}

void network_release_addresses(Network *n, const IpPrefix *a, size_t count) {
        for (size_t i = 0; i < count; i++) {
                int k = subnet_index(n, &a[i]);
                if (k >= 0)
                        (void) addr_pool_release(n->pools[k], &a[i]);
        }
}

int network_reserve_addresses(Network *n, const IpPrefix *a, size_t count) {
        for (size_t i = 0; i < count; i++) {
                int k = subnet_index(n, &a[i]);
                int r = k < 0 ? -ERANGE : addr_pool_reserve(n->pools[k], &a[i]);
                if (r < 0) {
                        network_release_addresses(n, a, i);
                        return r;
                }
        }
        return 0;
}

int network_allocate_auto(Network *n, const bool families[2], IpPrefix *list, size_t *count) {
        const IpPrefix *holes = NULL;
        size_t n_holes = 0;
        if (network_subnet_holes(n, &holes, &n_holes) < 0)
                holes = NULL, n_holes = 0;      /* out of memory: the plain allocation */
        /* One address per family, from the first subnet of that family with room. */
        for (int f = 0; f < 2; f++) {
                int full = -1, r = -ENOSPC;
                if (!families[f])
                        continue;
                for (size_t k = 0; r < 0 && k < n->n_subnets; k++)
                        if ((n->subnets[k].family == AF_INET6) == f) {
                                r = addr_pool_allocate_outside(n->pools[k], holes, n_holes, &list[*count]);
                                if (r < 0 && full < 0)
                                        full = (int) k;
                        }
                if (r < 0)
                        return -1 - MAX(full, 0);
                (*count)++;
        }
        return 0;
}

static bool peer_has_site_network(const Peer *p, const IpPrefix *site) {
        for (size_t i = 0; p && i < p->n_site_networks; i++)
                if (ip_prefix_equal(&p->site_networks[i], site))
                        return true;
        return false;
}

int peer_check_addresses(Network *n, Peer *self, char **l, bool *ret_auto, IpPrefix **ret, size_t *ret_n,
                         sd_bus_error *error) {
        _cleanup_(freep) IpPrefix *list = calloc(strv_length(l) + 1, sizeof(IpPrefix));
        size_t count = 0;

        if (!list)
                return -ENOMEM;
        ret_auto[0] = ret_auto[1] = false;
        if (strv_length(l) == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Addresses must not be empty: give 'auto' or addresses");
        /* Checked before polkit, by anyone, pair by pair below: a bound keeps that cheap. */
        if (strv_length(l) > PEER_ADDRESSES_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Too many addresses for one peer: %zu (at most %u)",
                                         strv_length(l), PEER_ADDRESSES_MAX);
        for (char **a = l; *a; a++) {
                IpPrefix p;
                if (streq(*a, "auto")) {
                        for (size_t i = 0; i < n->n_subnets; i++)
                                ret_auto[n->subnets[i].family == AF_INET6] = true;
                        continue;
                }
                if (ip_prefix_parse(*a, true, &p) < 0 || p.prefixlen != ip_family_bits(p.family))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid address '%s': expected 'auto' or a host address (/32 or /128)", *a);
                int k = subnet_index(n, &p);
                if (k < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Address '%s' is outside the subnets of network '%s'", *a, n->name);
                /* Inside an imported gateway's LAN (a hole of the pool): its /32 would take
                 * that host's traffic. */
                const IpPrefix *holes;
                size_t n_holes;
                if (network_subnet_holes(n, &holes, &n_holes) >= 0)
                        for (size_t h = 0; h < n_holes; h++)
                                if (ip_prefix_contains(&holes[h], &p) && !peer_has_site_network(self, &holes[h])) {
                                        char buf[IP_PREFIX_STRLEN];
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                                 "Address '%s' is inside site network %s, routed to "
                                                                 "another peer of network '%s'", *a,
                                                                 ip_prefix_to_string(&holes[h], buf), n->name);
                                }
                for (size_t i = 0; i < count; i++)
                        if (ip_prefix_equal(&list[i], &p))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Address '%s' is given twice", *a);
                bool own = false;
                for (size_t i = 0; self && i < self->n_addresses; i++)
                        own = own || ip_prefix_equal(&self->addresses[i], &p);
                if (!own) {
                        int r = addr_pool_reserve(n->pools[k], &p);
                        if (r == -EADDRNOTAVAIL)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Address '%s' is reserved (network, broadcast or the server's address)", *a);
                        if (r == -EEXIST)
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                         "Address '%s' is already in use in network '%s'", *a, n->name);
                        if (r < 0)
                                return r;
                        (void) addr_pool_release(n->pools[k], &p);
                }
                list[count++] = p;
        }
        for (size_t i = 0; i < count; i++)
                ret_auto[list[i].family == AF_INET6] = false;
        *ret = TAKE_PTR(list);
        *ret_n = count;
        return 0;
}

static int site_network_routed_elsewhere(Network *n, const IpPrefix *site, const char *text, sd_bus_error *error) {
        char b[IP_PREFIX_STRLEN], other[IF_NAMESIZE] = "";
        Manager *m = n->manager;
        Network *net;

        HASHMAP_FOREACH(net, m->networks_by_id, it) {
                if (net == n)
                        continue;
                for (size_t k = 0; k < net->n_subnets; k++) {
                        IpPrefix sub = net->subnets[k];
                        ip_prefix_mask(&sub);
                        if (ip_prefix_overlaps(site, &sub))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                         "Site network '%s' overlaps subnet '%s' of network '%s'", text,
                                                         ip_prefix_to_string(&sub, b), net->name);
                }
                /* (A mesh's site networks are an exit node's default route, not a LAN.) */
                for (Peer *o = net->mode == NETWORK_MODE_MESH ? NULL : net->peers; o; o = o->next)
                        for (size_t k = 0; k < o->n_site_networks; k++)
                                if (o->site_networks[k].prefixlen > 0 && ip_prefix_overlaps(site, &o->site_networks[k]))
                                        return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                                                 "Site network '%s' overlaps site network '%s' of peer "
                                                                 "'%s' in network '%s'", text,
                                                                 ip_prefix_to_string(&o->site_networks[k], b), o->name,
                                                                 net->name);
        }
        uint32_t oif = 0;
        int r = m->backend ? wg_backend_route_other(m->backend, n->ifname, site, &oif) : 0;     /* (fuzzers: none) */
        if (r > 0) {
                if (oif == 0 || !if_indextoname(oif, other))
                        snprintf(other, sizeof(other), "%s", oif == 0 ? "no interface" : "?");
                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "RouteInUse",
                                         "Site network '%s' is routed through %s on this host already: a route "
                                         "into %s would take its traffic", text, other, n->ifname);
        }
        if (r < 0)
                log_warning("Cannot read the routes of this host: %s", strerror(-r));
        return 0;
}

typedef struct SiteEntry {
        IpPrefix prefix;
        const Peer *peer;
} SiteEntry;

/* n->site_index, made again after network_forget_subnet_holes(). */
static int site_index(Network *n, const SiteEntry **ret, size_t *ret_n) {
        if (!n->site_index_known) {
                size_t count = 0, k = 0;
                for (Peer *p = n->peers; p; p = p->next)
                        count += p->n_site_networks;
                SiteEntry *l = calloc(count ? count : 1, sizeof(SiteEntry));
                if (!l)
                        return -ENOMEM;
                for (Peer *p = n->peers; p; p = p->next)
                        for (size_t a = 0; a < p->n_site_networks; a++)
                                l[k++] = (SiteEntry) { .prefix = p->site_networks[a], .peer = p };
                free(n->site_index);
                n->site_index = l;
                n->n_site_index = count;
                n->site_index_known = true;
        }
        *ret = n->site_index;
        *ret_n = n->n_site_index;
        return 0;
}

int peer_check_site_networks(Network *n, Peer *self, char **l, IpPrefix **ret, size_t *ret_n,
                             sd_bus_error *error) {
        _cleanup_(freep) IpPrefix *list = NULL;
        size_t count = 0;
        int r;

        if (strv_length(l) > PEER_SITE_NETWORKS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Too many site networks for one peer: %zu (at most %u)", strv_length(l),
                                         PEER_SITE_NETWORKS_MAX);
        r = bus_parse_prefixes(l, false, "site network", &list, &count, error);
        if (r < 0)
                return r;
        const SiteEntry *sites;
        size_t n_sites;
        r = site_index(n, &sites, &n_sites);
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++) {
                if (ip_prefix_has_host_bits(&list[i]) || list[i].prefixlen == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Invalid site network '%s': host bits are set or it is a default route", l[i]);
                for (size_t k = 0; k < n->n_subnets; k++)
                        if (ip_prefix_overlaps(&n->subnets[k], &list[i]))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Site network '%s' overlaps the network's own subnet", l[i]);
                for (size_t k = 0; k < n_sites; k++)
                        if (sites[k].peer != self && ip_prefix_overlaps(&sites[k].prefix, &list[i]))
                                return sd_bus_error_setf(error, WGNET_ERROR_PREFIX "AddressInUse",
                                                         "Site network '%s' overlaps a site network of peer '%s'",
                                                         l[i], sites[k].peer->name);
                /* Routed into this network's interface: not what a tunnel, another network
                 * or another interface of this host routes. */
                char what[IP_PREFIX_STRLEN + 24];
                snprintf(what, sizeof(what), "Site network '%s'", l[i]);
                r = manager_check_tunnel_routing(n->manager, &list[i], false, NULL, what, error);
                if (r < 0)
                        return r;
                if (list[i].prefixlen == 0)
                        continue;       /* a full-tunnel gateway: no route is installed */
                r = site_network_routed_elsewhere(n, &list[i], l[i], error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(list);
        *ret_n = count;
        return 0;
}
