/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "addr.h"
#include "hashmap.h"
#include "keys.h"
#include "macro.h"
#include "secretbox.h"

typedef struct Manager Manager;
typedef struct Peer Peer;
typedef struct Mesh Mesh;

typedef enum NetworkMode {
        NETWORK_MODE_HUB,
        NETWORK_MODE_GATEWAY,
        NETWORK_MODE_SPLIT,
        NETWORK_MODE_SITE_TO_SITE,
        NETWORK_MODE_MESH,              /* daemon/mesh.c */
        _NETWORK_MODE_MAX,
} NetworkMode;

typedef enum RotationKind {
        ROTATION_PSK,
        ROTATION_KEYPAIR,
        _ROTATION_KIND_MAX,
} RotationKind;

#define NETWORK_DEFAULT_GRACE_PERIOD (24 * 3600)

typedef enum KeyPolicy {
        KEY_POLICY_STORED,
        KEY_POLICY_ONE_TIME,
        _KEY_POLICY_MAX,
} KeyPolicy;

#define NETWORK_MAX_SUBNETS 8
#define SEALED_KEY_SIZE (WG_KEY_LEN + SECRETBOX_OVERHEAD)

typedef struct Network {
        Manager *manager;
        uint64_t id;
        char *name;
        char *ifname;
        char *path;                     /* object path */

        IpPrefix subnets[NETWORK_MAX_SUBNETS];   /* server address with the subnet prefix */
        AddrPool *pools[NETWORK_MAX_SUBNETS];
        size_t n_subnets;
        /* Peers' site networks inside the subnets (only imports make them): never handed out
         * as auto addresses. Worked out at the next allocation after a change. */
        IpPrefix *subnet_holes;
        size_t n_subnet_holes;
        bool subnet_holes_known;
        /* Every site network of the peers with its peer, made at the next check after a
         * change (forgotten with the holes): a check of new site networks, which anyone may
         * ask for before polkit, walks these, not every peer of the network. */
        struct SiteEntry *site_index;
        size_t n_site_index;
        bool site_index_known;
        uint16_t listen_port;
        uint8_t public_key[WG_KEY_LEN];
        uint8_t private_key_sealed[SEALED_KEY_SIZE];
        char *endpoint;                 /* for client configs, "" = none */
        char **dns;
        uint32_t mtu;                   /* 0 = default */
        NetworkMode mode;
        IpPrefix *extra_routes;
        size_t n_extra_routes;
        bool peer_isolation;
        /* Full-tunnel routing (network-full-tunnel.c): a peer's default route takes the
         * host's traffic, with fwmark route_table and policy rules, as wg-quick does.
         * route_table is chosen when DefaultRoute goes on and kept (0: never chosen). */
        bool default_route;
        uint32_t route_table;
        uint8_t full_tunnel_families;   /* in memory: bit 0 IPv4, bit 1 IPv6 made by this run */
        bool full_tunnel_checked;       /* an earlier run's parts were looked for once */
        bool full_tunnel_blocked_logged;
        /* Routes in the main table for the peers' site networks (off: `Table = off` in an
         * imported config; a routing daemon such as BIRD makes them). */
        bool peer_routes;
        char *nat_interface;
        KeyPolicy key_policy;
        uint32_t online_threshold;      /* seconds */
        /* Defaults of the peers' key lifecycle policy (seconds; 0 = off). */
        uint64_t rotation_interval;
        RotationKind rotation_kind;
        uint64_t revoke_inactive;
        uint64_t grace_period;
        bool active;
        uint64_t created_at;

        Hashmap *peers_by_key;          /* public key -> Peer */
        Hashmap *peers_by_name;         /* name -> Peer */
        Hashmap *peers_by_pending_key;  /* pending public key -> Peer, while a rotation waits */
        Peer *peers;                    /* list head, in id order */
        Peer *peers_tail;
        uint32_t n_peers, n_online;
        uint64_t status_usec;           /* CLOCK_MONOTONIC of the last read of the device */
        uint64_t status_failed_usec;    /* ... of the last read that failed, 0 after a success */
        int status_error;               /* what that read failed with */
        Mesh *mesh;                     /* mode mesh: its state (mesh.c), else NULL */
} Network;

const char *network_mode_to_string(NetworkMode m);
int network_mode_from_string(const char *s);
const char *rotation_kind_to_string(RotationKind k);
int rotation_kind_from_string(const char *s);
const char *key_policy_to_string(KeyPolicy p);
int key_policy_from_string(const char *s);

/* A new, unlinked network; set the fields, then network_attach(). */
int network_new(Manager *m, uint64_t id, const char *name, const char *ifname, Network **ret);
Network *network_free(Network *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Network *, network_free)
/* Build the address pools from the subnets (after the subnets are set). */
int network_setup_pools(Network *n);
/* The subnet holes (see Network.subnet_holes), worked out again after network_forget_subnet_holes(),
 * which whatever changes peers' site networks or the subnets calls. */
int network_subnet_holes(Network *n, const IpPrefix **ret, size_t *ret_n);
void network_forget_subnet_holes(Network *n);
/* Make it findable by id and name. */
int network_attach(Network *n);
void network_detach(Network *n);

void network_link_peer(Network *n, Peer *p);
void network_unlink_peer(Network *n, Peer *p);

int network_private_key(Network *n, uint8_t ret[WG_KEY_LEN]);

/* Bring the device to what the database says: create the interface if missing (never
 * recreate an existing one), set key and port, add missing and remove extra peers, fix
 * changed ones, addresses, MTU, routes, link up. Logs each repair when log_repairs. */
int network_apply(Network *n, bool log_repairs);
/* Remove the interface. */
int network_deactivate_device(Network *n);
/* Read the device and refresh peers' status; emits PropertiesChanged for what changed. */
/* Read the device's status unless it was read less than max_age_usec ago. */
int network_refresh_status(Network *n, uint64_t max_age_usec);

/* Apply one peer to the device (add/update, or remove when disabled). No-op when the
 * network is not active. */
int network_apply_peer(Network *n, Peer *p, bool remove);
/* Routes for a site gateway's networks. */
int network_apply_peer_routes(Network *n, Peer *p, bool remove);

/* Full-tunnel routing (network-full-tunnel.c). The fwmark the device should carry, given
 * the one it has (a mark that is not the network's table is left alone when off). */
uint32_t network_full_tunnel_fwmark(const Network *n, uint32_t have);
/* Route and rules of each family in line with DefaultRoute and the peers' default routes
 * (not counting `except`, a peer on its way out); logs what it repaired when log_repairs.
 * -EBUSY when another network has the host's default route (manager_full_tunnel_owner). */
int network_full_tunnel_apply(Network *n, bool log_repairs);
int network_full_tunnel_apply_except(Network *n, const Peer *except, bool log_repairs);
/* The active network whose tunnel takes this host's traffic (the oldest that wants to),
 * not counting `except`; NULL when none. */
Network *manager_full_tunnel_owner(Manager *m, const Network *except);
/* Take route and rules away (deactivation, deletion). */
void network_full_tunnel_remove(Network *n);
/* The same, and the device's fwmark off: a change that was not saved. */
void network_full_tunnel_undo(Network *n);
/* Choose n->route_table when DefaultRoute goes on: the device's own mark when it has one
 * (an adopted wg-quick interface), else the first table from 51820 that no network has and
 * no route or rule of the host names. */
int network_full_tunnel_choose_table(Network *n);
/* Does a peer's list of site networks hold a default route? */
bool peer_has_default_route(const Peer *p);

/* Client-side AllowedIPs of peer p by mode. */
int network_client_allowed_ips(Network *n, Peer *p, IpPrefix **ret, size_t *ret_n);

int network_emit_changed(Network *n, const char *property, ...) _sentinel_;
