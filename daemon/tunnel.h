/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Node-to-node tunnels: one WireGuard interface with exactly one peer, the other host,
 * and routes to the networks behind it. Paired by pairing strings (lib/pairing.h,
 * docs/tunnels.md). */

#include <systemd/sd-bus.h>

#include "addr.h"
#include "keys.h"
#include "macro.h"
#include "network.h"
#include "pairing.h"

#define WGNET_TUNNEL_INTERFACE "org.wgnet1.Tunnel"
#define TUNNEL_DEFAULT_KEEPALIVE 25
#define TUNNEL_DEFAULT_PAIRING_LIFETIME 900     /* seconds */
#define TUNNEL_DEFAULT_ONLINE_THRESHOLD 180     /* seconds: up within, connecting before */
#define TUNNEL_MAX_NETWORKS PAIRING_MAX_NETWORKS

typedef enum TunnelState {
        TUNNEL_INACTIVE,
        TUNNEL_CONNECTING,
        TUNNEL_UP,
        TUNNEL_DOWN,
        _TUNNEL_STATE_MAX,
} TunnelState;

/* How the pairing of this tunnel stands. */
typedef enum TunnelPairing {
        TUNNEL_PAIRING_NONE,            /* configured by hand, or the offer is not out yet */
        TUNNEL_PAIRING_OFFERED,         /* GetPairing gave an offer; waiting for the reply */
        TUNNEL_PAIRING_IMPORTED,        /* created from an offer: GetPairing gives the reply */
        _TUNNEL_PAIRING_MAX,
} TunnelPairing;

typedef struct Tunnel {
        Manager *manager;
        uint64_t id;
        char *name;
        char *ifname;
        char *path;

        uint16_t listen_port;
        uint8_t public_key[WG_KEY_LEN];
        uint8_t private_key_sealed[SEALED_KEY_SIZE];
        bool has_remote_key;
        uint8_t remote_public_key[WG_KEY_LEN];
        char *remote_endpoint;          /* configured, "" = none (the remote connects to us) */
        char *local_endpoint;           /* advertised in pairings, "" = none */
        IpPrefix *local_networks;
        size_t n_local_networks;
        IpPrefix *remote_networks;
        size_t n_remote_networks;
        IpPrefix tunnel_addresses[PAIRING_MAX_ADDRESSES];   /* ours, with the prefix length */
        size_t n_tunnel_addresses;
        uint16_t keepalive;
        uint32_t online_threshold;      /* seconds: handshake age for "up" */
        bool has_psk;
        uint8_t psk_sealed[SEALED_KEY_SIZE];
        bool active;
        uint64_t created_at;
        bool endpoint_dirty;            /* RemoteEndpoint changed: push it to the device */

        /* Pairing. */
        TunnelPairing pairing;
        uint8_t pairing_id[PAIRING_ID_LEN];
        uint64_t pairing_expires;       /* seconds since the epoch (offered) */
        bool has_pending_psk;
        uint8_t pending_psk_sealed[SEALED_KEY_SIZE];   /* offered, not yet confirmed */
        uint32_t pairing_lifetime;      /* seconds */

        /* From the device, refreshed by the tick. */
        TunnelState state;
        uint64_t activated_usec;        /* CLOCK_MONOTONIC, when this daemon activated it */
        uint64_t last_handshake;        /* µs since the epoch */
        uint64_t rx_bytes, tx_bytes;
        char *endpoint;                 /* as seen on the device, "" unknown */
        IpPrefix *routes;               /* installed */
        size_t n_routes;
} Tunnel;

const char *tunnel_state_to_string(TunnelState s);
const char *tunnel_pairing_to_string(TunnelPairing p);
int tunnel_pairing_from_string(const char *s);

int tunnel_new(Manager *m, uint64_t id, const char *name, const char *ifname, Tunnel **ret);
Tunnel *tunnel_free(Tunnel *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tunnel *, tunnel_free)
int tunnel_attach(Tunnel *t);
void tunnel_detach(Tunnel *t);

bool tunnel_name_is_valid(const char *s);
Tunnel *manager_find_tunnel_by_path(Manager *m, const char *path);
Tunnel *manager_find_tunnel_by_name(Manager *m, const char *name);
/* Interface name or listen port taken by a network or another tunnel? */
bool manager_ifname_in_use(Manager *m, const char *ifname, const Tunnel *self);
/* The tunnel (not except) that routes what overlaps p: one of its remote networks (a /0 is
 * not routed) or the prefix of one of its tunnel addresses. ret_net: that prefix;
 * ret_is_address: whether it is a tunnel subnet (both optional). */
Tunnel *manager_tunnel_routing(Manager *m, const IpPrefix *p, const Tunnel *except, IpPrefix *ret_net,
                               bool *ret_is_address);
/* The same as a bus error naming both: AddressInUse when p is an address of this host's too
 * (is_address: a network's, a mesh's or a tunnel's subnet) and overlaps a tunnel subnet,
 * RouteInUse otherwise. what: how p reads in the message ("Subnet '10.0.0.1/24'"). */
int manager_check_tunnel_routing(Manager *m, const IpPrefix *p, bool is_address, const Tunnel *except,
                                 const char *what, sd_bus_error *error);
bool manager_listen_port_in_use(Manager *m, uint16_t port, const Tunnel *self);
uint16_t manager_free_tunnel_port(Manager *m);
/* For the networks' checks: the tunnel that uses this port or interface, or NULL. */
Tunnel *manager_tunnel_by_port(Manager *m, uint16_t port);
Tunnel *manager_tunnel_by_ifname(Manager *m, const char *ifname);

/* The secret columns, sealed per row. */
int tunnel_private_key(Tunnel *t, uint8_t ret[WG_KEY_LEN]);
int tunnel_psk(Tunnel *t, uint8_t ret[WG_KEY_LEN]);
int tunnel_pending_psk(Tunnel *t, uint8_t ret[WG_KEY_LEN]);
int tunnel_seal(Tunnel *t, const char *column, const uint8_t secret[WG_KEY_LEN], uint8_t out[SEALED_KEY_SIZE]);

/* The device: create if missing, key, port, the one peer, addresses, link up, routes to
 * the remote networks; then refresh the status. No-op when inactive. */
int tunnel_apply(Tunnel *t, bool log_repairs);
int tunnel_deactivate_device(Tunnel *t);
/* Activate: persist, then bring the device up (on failure take it down again, unless it was
 * there before, and persist inactive). Deactivate: remove the device, persist. Emit. */
int tunnel_set_active(Tunnel *t, bool active, sd_bus_error *error);
/* The routes that tunnel_apply() would install (remote networks). */
void tunnel_forget_status(Tunnel *t);

/* Every tunnel: apply active ones, emit State etc. (the tick and the start). */
void manager_reconcile_tunnels(Manager *m, bool log_repairs);
/* Load from the database, free all (manager start/free). */
/* At start: the interface of an inactive tunnel (its own key) goes. */
void manager_remove_inactive_tunnel_devices(Manager *m);
int manager_load_tunnels(Manager *m);
void manager_free_tunnels(Manager *m);

/* The pairing string of this tunnel: an offer (a fresh id and PSK, saved as pending),
 * or the reply to the offer it was created from. *ret is malloc'd; wipe it. */
int tunnel_get_pairing(Tunnel *t, char **ret, sd_bus_error *error);

int tunnel_emit_changed(Tunnel *t, const char *property, ...) _sentinel_;

/* Bus (tunnel-bus.c). */
extern const sd_bus_vtable tunnel_vtable[];
int tunnel_bus_register(Manager *m);
int method_create_tunnel(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_import_pairing(sd_bus_message *m, void *userdata, sd_bus_error *error);
