/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-util.h"
#include "network.h"

/* The a{sv} options of CreateNetwork, ImportNetwork and Network.Update. */
enum {
        NETOPT_INTERFACE,
        NETOPT_ADDRESSES,
        NETOPT_LISTEN_PORT,
        NETOPT_ENDPOINT,
        NETOPT_DNS,
        NETOPT_MTU,
        NETOPT_MODE,
        NETOPT_EXTRA_ROUTES,
        NETOPT_PEER_ISOLATION,
        NETOPT_NAT_INTERFACE,
        NETOPT_KEY_POLICY,
        NETOPT_ONLINE_THRESHOLD,
        NETOPT_ACTIVATE,
        NETOPT_ROTATION_INTERVAL,
        NETOPT_ROTATION_KIND,
        NETOPT_REVOKE_INACTIVE,
        NETOPT_GRACE_PERIOD,
        NETOPT_DEFAULT_ROUTE,
        NETOPT_PEER_ROUTES,
        _NETOPT_MAX,
};

#define NETWORK_OPTIONS_INIT                                    \
        {                                                       \
                [NETOPT_INTERFACE] = { "Interface", "s" },      \
                [NETOPT_ADDRESSES] = { "Addresses", "as" },     \
                [NETOPT_LISTEN_PORT] = { "ListenPort", "q" },   \
                [NETOPT_ENDPOINT] = { "Endpoint", "s" },        \
                [NETOPT_DNS] = { "DNS", "as" },                 \
                [NETOPT_MTU] = { "MTU", "u" },                  \
                [NETOPT_MODE] = { "Mode", "s" },                \
                [NETOPT_EXTRA_ROUTES] = { "ExtraRoutes", "as" }, \
                [NETOPT_PEER_ISOLATION] = { "PeerIsolation", "b" }, \
                [NETOPT_NAT_INTERFACE] = { "NatInterface", "s" }, \
                [NETOPT_KEY_POLICY] = { "KeyPolicy", "s" },     \
                [NETOPT_ONLINE_THRESHOLD] = { "OnlineThreshold", "u" }, \
                [NETOPT_ACTIVATE] = { "Activate", "b" },        \
                [NETOPT_ROTATION_INTERVAL] = { "RotationInterval", "t" }, \
                [NETOPT_ROTATION_KIND] = { "RotationKind", "s" }, \
                [NETOPT_REVOKE_INACTIVE] = { "RevokeAfterInactive", "t" }, \
                [NETOPT_GRACE_PERIOD] = { "GracePeriod", "t" }, \
                [NETOPT_DEFAULT_ROUTE] = { "DefaultRoute", "b" }, \
                [NETOPT_PEER_ROUTES] = { "PeerRoutes", "b" }, \
        }

/* Parsed and checked values of the options (what is not set keeps its value). */
typedef struct NetworkSettings {
        IpPrefix subnets[NETWORK_MAX_SUBNETS];
        size_t n_subnets;
        IpPrefix *extra_routes;
        size_t n_extra_routes;
        NetworkMode mode;
        KeyPolicy key_policy;
} NetworkSettings;

/* Check every option; self is the network being updated (NULL when creating), ifname its
 * interface (the one it will have when creating). Errors name the bad value. creating: Interface/KeyPolicy/Activate allowed. */
typedef enum NetworkCheckFlags {
        NETWORK_CHECK_UPDATE = 0,
        NETWORK_CHECK_CREATE = 1 << 0,
        NETWORK_CHECK_IMPORT = 1 << 1,  /* subnets as a wg-quick config has them */
} NetworkCheckFlags;

/* udp_port_check() as a bus error naming the port (ListenPortInUse, or InvalidArgs for a
 * port below 1024 that wgnetd may not bind). */
int udp_port_check_error(uint16_t port, sd_bus_error *error);
int network_settings_check(Manager *m, Network *self, const char *ifname, BusOption *opts, NetworkCheckFlags flags,
                           NetworkSettings *ret, sd_bus_error *error);
void network_settings_done(NetworkSettings *s);
/* Apply checked settings to n; *ret_changed gets the changed property names (static
 * strings, NULL-terminated, up to 17). */
int network_settings_apply(Network *n, BusOption *opts, NetworkSettings *s, const char **ret_changed);

/* The settings of a network as they were, to put back when saving a change fails. */
typedef struct NetworkSnapshot {
        IpPrefix subnets[NETWORK_MAX_SUBNETS];
        size_t n_subnets;
        uint16_t listen_port;
        char *endpoint, *nat_interface;
        char **dns;
        uint32_t mtu, online_threshold;
        NetworkMode mode;
        IpPrefix *extra_routes;
        size_t n_extra_routes;
        bool peer_isolation, default_route, peer_routes;
        uint32_t route_table;
        KeyPolicy key_policy;
        uint64_t rotation_interval, revoke_inactive, grace_period;
        RotationKind rotation_kind;
} NetworkSnapshot;

int network_snapshot(const Network *n, NetworkSnapshot *ret);
/* Put the snapshot back into n (it is consumed). */
int network_restore(Network *n, NetworkSnapshot *s);
void network_snapshot_done(NetworkSnapshot *s);

/* The first free listen port from 51820 up. */
uint16_t manager_free_listen_port(Manager *m);
