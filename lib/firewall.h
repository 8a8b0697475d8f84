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
} FirewallNetwork;

#define FIREWALL_TABLE "wgnet"

/* The whole script for these networks; with none, a script that removes the table.
 * -EINVAL for an interface name that is not a plain name. */
int firewall_ruleset(const FirewallNetwork *nets, size_t n, char **ret);


