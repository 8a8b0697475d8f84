/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* rtnetlink through libmnl: links, addresses and routes, for both backends. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

typedef struct Rtnl Rtnl;

int rtnl_open(Rtnl **ret);
Rtnl *rtnl_close(Rtnl *r);
static inline void rtnl_closep(Rtnl **r) {
        if (*r)
                *r = rtnl_close(*r);
}

/* -ENODEV when there is no such link. */
int rtnl_link_ifindex(Rtnl *r, const char *ifname, uint32_t *ret);
/* Create a link of this kind ("wireguard"). -EEXIST if the name is taken, -EOPNOTSUPP
 * when the kernel does not know the kind. */
int rtnl_link_create(Rtnl *r, const char *ifname, const char *kind);
int rtnl_link_delete(Rtnl *r, const char *ifname);
int rtnl_link_set_up(Rtnl *r, const char *ifname, bool up);
/* 1 when the link is administratively up, 0 when down, -ENODEV when missing. */
int rtnl_link_is_up(Rtnl *r, const char *ifname);
int rtnl_link_set_mtu(Rtnl *r, const char *ifname, uint32_t mtu);
/* 1 when ifname is a link of this kind (IFLA_INFO_KIND), 0 when it is another kind or
 * missing, < 0 when the kernel could not be asked. One request, not a dump: a dump of the
 * links is interrupted when any link comes or goes meanwhile. */
int rtnl_link_is_kind(Rtnl *r, const char *ifname, const char *kind);
/* Names of the links of this kind (IFLA_INFO_KIND), NULL-terminated. */
int rtnl_link_list_kind(Rtnl *r, const char *kind, char ***ret);

/* Adding what exists and removing what is missing are not errors. */
int rtnl_addr_add(Rtnl *r, const char *ifname, const IpPrefix *a);
int rtnl_addr_del(Rtnl *r, const char *ifname, const IpPrefix *a);
int rtnl_addr_list(Rtnl *r, const char *ifname, IpPrefix **ret, size_t *ret_n);
/* A route in the main table; 0 when this interface has it already, -EADDRINUSE when
 * another interface routes the same prefix (that route is left as it is). */
int rtnl_route_add(Rtnl *r, const char *ifname, const IpPrefix *dst);
int rtnl_route_del(Rtnl *r, const char *ifname, const IpPrefix *dst);
/* 1 with its interface index (0: none, a blackhole say) when a route in the main table for
 * exactly dst, or a wider one other than a default route (/0, or a full-tunnel VPN's /1)
 * that the kernel would pick for it, leads elsewhere than ifname; 0 when none does. */
int rtnl_route_other(Rtnl *r, const char *ifname, const IpPrefix *dst, uint32_t *ret_oif);

/* Full-tunnel routing (rtnl-policy.c): for one family, the default route through ifname in
 * table `table` (-EADDRINUSE when another interface's default route is there) and the rules "not fwmark table lookup main suppress_prefixlength 0"
 * (priority RTNL_FULL_TUNNEL_PRIORITY) and "not fwmark table lookup table" (the next one),
 * as wg-quick makes them; the device must mark its packets with `table`. on=false takes
 * them away (ifname may then be NULL: the route went with its link). *ret_changed counts
 * the parts added or removed (0: all was in place). */
#define RTNL_FULL_TUNNEL_PRIORITY 32764u
int rtnl_full_tunnel_set(Rtnl *r, const char *ifname, int family, uint32_t table, bool on, unsigned *ret_changed);
/* used[i] = 1 for each table first + i (i < n) that a route of either family is in or a
 * rule names (as its table or its fwmark), else 0: one dump of each. */
int rtnl_tables_in_use(Rtnl *r, uint32_t first, uint32_t n, uint8_t *used);
