/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What tunnel-bus.c (CreateTunnel, the Tunnel object) and tunnel-pairing-bus.c
 * (ImportPairing) share: the options and their checks (tunnel-settings.c). Internal to
 * the daemon. */
#pragma once

#include "bus-util.h"
#include "manager.h"
#include "pairing.h"
#include "tunnel.h"

/* The a{sv} options of CreateTunnel, Tunnel.Update and ImportPairing. */
enum {
        TOPT_NAME,
        TOPT_INTERFACE,
        TOPT_LISTEN_PORT,
        TOPT_REMOTE_PUBLIC_KEY,
        TOPT_REMOTE_ENDPOINT,
        TOPT_ENDPOINT,
        TOPT_LOCAL_NETWORKS,
        TOPT_REMOTE_NETWORKS,
        TOPT_TUNNEL_ADDRESSES,
        TOPT_KEEPALIVE,
        TOPT_PSK,
        TOPT_PAIRING_LIFETIME,
        TOPT_ONLINE_THRESHOLD,
        TOPT_ACTIVATE,
        _TOPT_MAX,
};

#define TUNNEL_OPTIONS_INIT                                             \
        {                                                               \
                [TOPT_NAME] = { "Name", "s" },                          \
                [TOPT_INTERFACE] = { "Interface", "s" },                \
                [TOPT_LISTEN_PORT] = { "ListenPort", "q" },             \
                [TOPT_REMOTE_PUBLIC_KEY] = { "RemotePublicKey", "s" },  \
                [TOPT_REMOTE_ENDPOINT] = { "RemoteEndpoint", "s" },     \
                [TOPT_ENDPOINT] = { "Endpoint", "s" },                  \
                [TOPT_LOCAL_NETWORKS] = { "LocalNetworks", "as" },      \
                [TOPT_REMOTE_NETWORKS] = { "RemoteNetworks", "as" },    \
                [TOPT_TUNNEL_ADDRESSES] = { "TunnelAddresses", "as" },  \
                [TOPT_KEEPALIVE] = { "PersistentKeepalive", "q" },      \
                [TOPT_PSK] = { "PresharedKey", "s" },                   \
                [TOPT_PAIRING_LIFETIME] = { "PairingLifetime", "u" },   \
                [TOPT_ONLINE_THRESHOLD] = { "OnlineThreshold", "u" },   \
                [TOPT_ACTIVATE] = { "Activate", "b" },                  \
        }

typedef enum OptionUse {
        USE_CREATE,
        USE_UPDATE,
        USE_IMPORT_OFFER,
        USE_IMPORT_REPLY,
} OptionUse;

typedef struct TunnelSettings {
        IpPrefix *local_networks, *remote_networks;
        size_t n_local_networks, n_remote_networks;
        IpPrefix tunnel_addresses[PAIRING_MAX_ADDRESSES];
        size_t n_tunnel_addresses;
        uint8_t remote_key[WG_KEY_LEN];
        bool has_remote_key;
        uint8_t psk[WG_KEY_LEN];
        bool has_psk;
} TunnelSettings;

void tunnel_settings_done(TunnelSettings *s);
/* ifname: the tunnel's interface (self's, or the one a new tunnel will have). */
int tunnel_settings_check(Manager *m, Tunnel *self, const char *ifname, BusOption *o, OptionUse use,
                          TunnelSettings *s, sd_bus_error *error);
int tunnel_check_remote_networks(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                                 sd_bus_error *error);
/* The remote endpoint's address (an IP literal) outside the routed remote networks and the
 * tunnel subnets: the tunnel's own UDP packets would be routed into the tunnel. */
int tunnel_check_endpoint_outside(const char *endpoint, const IpPrefix *remote, size_t n_remote,
                                  const IpPrefix *addresses, size_t n_addresses, sd_bus_error *error);
int tunnel_check_tunnel_addresses(Manager *m, const Tunnel *self, const char *ifname, const IpPrefix *l, size_t n,
                                  sd_bus_error *error);
/* JoinMesh: the mesh's subnets against other interfaces' routes, tunnels and site networks. */
int mesh_check_subnets(Manager *m, const char *ifname, const IpPrefix *l, size_t n, sd_bus_error *error);
int tunnel_settings_apply(Tunnel *t, BusOption *o, TunnelSettings *s, const char **changed);
/* Update's and ImportPairing(reply)'s undo: the settings and the pairing copied (strings and
 * lists of its own), put back, freed. */
int tunnel_settings_save(const Tunnel *t, Tunnel *saved);
void tunnel_settings_restore(Tunnel *t, Tunnel *saved);
void tunnel_settings_saved_done(Tunnel *saved);
int tunnel_create_commit(Manager *m, Tunnel *t, const uint8_t *used_offer_id, sd_bus_error *error);
/* A new tunnel with a key pair of its own, created now, on a free port, o and s applied. */
int tunnel_new_with_settings(Manager *m, const char *name, const char *ifname, BusOption *o, TunnelSettings *s,
                             Tunnel **ret);
int tunnel_check_new_name(Manager *m, const char *name, const char *ifname, sd_bus_error *error);
