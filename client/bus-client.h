/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* wgnetctl's view of the daemon: every network and peer with its properties (one
 * GetManagedObjects call), lookup by name, interface, public key or object path, error
 * reporting, and the polkit agent. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct NetworkInfo {
        char *path;
        uint64_t id;
        char *name;
        char *interface;
        char **addresses;
        uint16_t listen_port;
        char *public_key;
        char *endpoint;
        char **dns;
        uint32_t mtu;
        char *mode;
        char **extra_routes;
        bool peer_isolation;
        bool default_route;
        uint32_t route_table;
        bool peer_routes;
        char *nat_interface;
        char *key_policy;
        uint32_t online_threshold;
        uint64_t rotation_interval;     /* seconds, 0 = off */
        char *rotation_kind;
        uint64_t revoke_after_inactive; /* seconds, 0 = off */
        uint64_t grace_period;          /* seconds */
        bool active;
        uint32_t peer_count;
        uint32_t online_peer_count;
        bool gone;                      /* found deleted after loading (GetStats: UnknownObject) */
} NetworkInfo;

typedef struct PeerInfo {
        char *path;
        uint64_t id;
        char *network;          /* object path */
        char *name;
        char *email;
        char *public_key;
        char *remote_endpoint;  /* configured ("" = none) */
        char **addresses;
        char **allowed_ips;
        char *role;
        char **site_networks;
        uint16_t keepalive;
        bool has_psk;
        bool private_key_stored;
        bool enabled;
        bool online;
        uint64_t last_handshake;
        char *endpoint;
        uint64_t rx_bytes;
        uint64_t tx_bytes;
        uint64_t created_at;
        uint64_t updated_at;
        uint64_t expires_at;
        bool rotation_pending;
        uint64_t rotation_deadline;
        char *pending_public_key;
        uint64_t last_rotation;
        uint64_t rotation_interval;     /* effective: the peer's or the network's */
        char *rotation_kind;
        uint64_t revoke_after_inactive;
        uint64_t grace_period;
} PeerInfo;

typedef struct TunnelInfo {
        char *path;
        uint64_t id;
        char *name;
        char *interface;
        char *public_key;
        uint16_t listen_port;
        char *remote_public_key;
        char *remote_endpoint;
        char *local_endpoint;
        char **local_networks;
        char **remote_networks;
        char **tunnel_addresses;
        uint16_t keepalive;
        bool has_psk;
        char *pairing;
        uint32_t pairing_lifetime;
        uint32_t online_threshold;
        bool active;
        char *state;
        uint64_t last_handshake;
        char *endpoint;
        char **routes;
        uint64_t rx_bytes;
        uint64_t tx_bytes;
} TunnelInfo;

typedef struct Objects {
        NetworkInfo *networks;
        size_t n_networks;
        PeerInfo *peers;
        size_t n_peers;
        TunnelInfo *tunnels;
        size_t n_tunnels;
        PeerInfo **peers_by_path;       /* the peers sorted by object path, built when needed */
} Objects;

/* Every network and peer, sorted by id. */
int objects_load(sd_bus *bus, Objects *ret, sd_bus_error *error);
void objects_done(Objects *o);

/* A network by object path, name or interface name. NULL if none. */
NetworkInfo *objects_find_network(Objects *o, const char *arg);
/* A peer of network n (NULL: any network) by object path, name or public key. */
PeerInfo *objects_find_peer(Objects *o, const NetworkInfo *n, const char *arg);
NetworkInfo *objects_network_of(Objects *o, const PeerInfo *p);
/* Whether peer p is listed under network n: its Network property is n's path (a peer
 * without one is under none). */
bool peer_in_network(const PeerInfo *p, const NetworkInfo *n);
/* A tunnel by object path, name or interface name. NULL if none. */
TunnelInfo *objects_find_tunnel(Objects *o, const char *arg);

/* A peer by its exact object path: a binary search in an index made at the first call. */
PeerInfo *objects_peer_by_path(Objects *o, const char *path);

/* Refresh rx/tx/handshake/online/endpoint of the peers of an active network from
 * Network.GetStats (the properties are only as fresh as the daemon's last tick); of only
 * that peer when only is not NULL. */
int objects_refresh_stats(sd_bus *bus, Objects *o, const NetworkInfo *n, PeerInfo *only, sd_bus_error *error);

/* The (first) polkit action a method needs, NULL for read-only methods. */
const char *polkit_action_for(const char *interface, const char *member);

/* What report_bus_error() prints after the context for an authorization error (name
 * AccessDenied or InteractiveAuthorizationRequired; NULL for other errors): the action is
 * the one the daemon's message names, else table_action; a plain denial ("Not authorized:")
 * says how to get the action granted, any other message (polkit not available, not
 * completed in time, the caller left, a bus policy) is given as the daemon wrote it.
 * malloc'd. */
char *auth_error_text(const char *name, const char *message, const char *table_action);

/* Print "wgnetctl: <context>: <what the error says>" on stderr, with a one-line
 * explanation for polkit denials, and return the exit status (1). */
int report_bus_error(const sd_bus_error *error, int r, const char *interface, const char *member,
                     const char *context_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Start pkttyagent for this process when stdin is a terminal; wait until it is ready.
 * Returns 0 also when no agent is started. */
int polkit_agent_open(void);
void polkit_agent_close(void);

/* Read a string-only variant-free reply field: a helper for simple calls. */
int bus_call(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_error *error,
             sd_bus_message **ret_reply, const char *types, ...);
