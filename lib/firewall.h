/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The nftables ruleset of table "inet wgnet", built as nft script text. Applying the script
 * replaces the table atomically (one transaction: add, delete, define) and touches nothing
 * else. */

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

typedef struct FirewallNetwork {
        const char *ifname;             /* the WireGuard interface */
        bool isolation;                 /* drop forwarding from the interface back into itself */
        bool hub;                       /* with isolation: forward nothing from the interface */
        const char *nat_ifname;         /* masquerade traffic of the subnets leaving here; NULL/"" = none */
        const IpPrefix *subnets;
        size_t n_subnets;
        /* A full-tunnel client (DefaultRoute): the device's fwmark, 0 = none. Replies to the
         * tunnel's UDP get the mark back from conntrack (a strict rp_filter checks them by
         * the main table, as the tunnel's packets left), and packets for the tunnel's
         * addresses that come in on another interface from elsewhere are dropped, as
         * wg-quick(8) does both. */
        uint32_t full_tunnel_mark;
} FirewallNetwork;

#define FIREWALL_TABLE "wgnet"

/* The whole script for these networks; with none, a script that removes the table.
 * -EINVAL for an interface name that is not a plain name. */
int firewall_ruleset(const FirewallNetwork *nets, size_t n, char **ret);


