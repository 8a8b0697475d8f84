/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-util.h"
#include "network.h"
#include "peer.h"

enum {
        PEEROPT_NAME,                   /* Update only */
        PEEROPT_ADDRESSES,
        PEEROPT_KEEPALIVE,
        PEEROPT_PRESHARED_KEY,
        PEEROPT_PUBLIC_KEY,
        PEEROPT_ROLE,
        PEEROPT_SITE_NETWORKS,
        PEEROPT_EMAIL,
        PEEROPT_ENABLED,
        PEEROPT_EXPIRES_AT,
        PEEROPT_ROTATION_INTERVAL,
        PEEROPT_ROTATION_KIND,
        PEEROPT_REVOKE_INACTIVE,
        PEEROPT_GRACE_PERIOD,
        PEEROPT_REMOTE_ENDPOINT,
        _PEEROPT_MAX,
};

#define PEER_OPTIONS_INIT                                               \
        {                                                               \
                [PEEROPT_NAME] = { "Name", "s" },                       \
                [PEEROPT_ADDRESSES] = { "Addresses", "as" },            \
                [PEEROPT_KEEPALIVE] = { "PersistentKeepalive", "q" },   \
                [PEEROPT_PRESHARED_KEY] = { "PresharedKey", "b" },      \
                [PEEROPT_PUBLIC_KEY] = { "PublicKey", "s" },            \
                [PEEROPT_ROLE] = { "Role", "s" },                       \
                [PEEROPT_SITE_NETWORKS] = { "SiteNetworks", "as" },     \
                [PEEROPT_EMAIL] = { "Email", "s" },                     \
                [PEEROPT_ENABLED] = { "Enabled", "b" },                 \
                [PEEROPT_EXPIRES_AT] = { "ExpiresAt", "t" },            \
                [PEEROPT_ROTATION_INTERVAL] = { "RotationInterval", "t" }, \
                [PEEROPT_ROTATION_KIND] = { "RotationKind", "s" },      \
                [PEEROPT_REVOKE_INACTIVE] = { "RevokeAfterInactive", "t" }, \
                [PEEROPT_GRACE_PERIOD] = { "GracePeriod", "t" },        \
                [PEEROPT_REMOTE_ENDPOINT] = { "RemoteEndpoint", "s" },  \
        }

/* Check the key lifecycle options (InvalidArgs naming the bad value). */
int peer_check_policy_options(const BusOption *opts, sd_bus_error *error);
/* Apply them to p; appends the names of changed properties to changed (if not NULL). */
void peer_apply_policy_options(Peer *p, const BusOption *opts, const char **changed, size_t *k);

/* The most peers one AddPeers call may carry, and the most site networks all of them
 * together. */
#define PEER_BATCH_MAX 65536u
#define PEER_BATCH_SITE_NETWORKS_MAX 4096u
#define PEER_ADDRESSES_MAX 64u
#define PEER_SITE_NETWORKS_MAX 256u
/* AddPeers' reply, its configs with their paths: below dbus-daemon's 32 MiB a message. */
#define ADD_PEERS_REPLY_MAX (30u << 20)

/* One peer to add, as read from the bus and checked. */
typedef struct PeerSpec {
        const char *name;
        BusOption opts[_PEEROPT_MAX];
        bool own_key;
        uint8_t public_key[WG_KEY_LEN];
        bool auto_families[2];          /* allocate in the v4 / v6 subnet */
        IpPrefix *addresses;            /* explicit host addresses */
        size_t n_addresses;
        IpPrefix *site_networks;
        size_t n_site_networks;
        PeerRole role;
} PeerSpec;

/* Group commit: an AddPeer call checked and authorized, waiting for its transaction. */
typedef struct PendingAdd {
        sd_bus_message *message;        /* referenced; the spec points into it */
        uint64_t network_id;
        PeerSpec spec;
} PendingAdd;

/* Queue one checked, authorized AddPeer: it is committed together with the calls that
 * arrive while the bus is busy (one transaction, one fsync, one device set), then answered.
 * Takes the spec on success (returns 1). */
int network_queue_add_peer(Network *n, sd_bus_message *m, PeerSpec *spec, sd_bus_error *error);
/* The reply of AddPeer: (path, config), marked sensitive. */
int peer_reply_added(sd_bus_message *m, Peer *p, const char *config);
/* Commit and answer every queued AddPeer now (before any other transaction). */
void manager_flush_adds(Manager *m);
int manager_group_commit_setup(Manager *m);
void manager_group_commit_done(Manager *m);
/* Key pairs for AddPeer, generated ahead while the event loop is idle (a few dozen, in
 * locked memory, wiped when taken and at exit). manager_take_keypair generates one at once
 * when none is ready. */
int manager_key_pool_setup(Manager *m);
void manager_key_pool_done(Manager *m);
int manager_take_keypair(Manager *m, uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]);

/* Read "sa{sv}" (name + options) from m. */
int peer_spec_read(sd_bus_message *m, PeerSpec *s, sd_bus_error *error);
void peer_specs_done(PeerSpec *s, size_t n);

/* Check a batch against the network and against itself; errors name the bad value. self is
 * the peer being updated (Update), else NULL. */
int peer_specs_check(Network *n, PeerSpec *s, size_t n_specs, Peer *self, sd_bus_error *error);

/* Create the peers: keys, addresses, one transaction, one device set, then link and emit.
 * ret_configs[i] is the client config (with the private key when one was generated). */
int network_add_peers(Network *n, PeerSpec *s, size_t n_specs, Peer ***ret_peers, char ***ret_configs,
                      sd_bus_error *error);

/* Check explicit addresses and site networks of one peer. */
int peer_check_addresses(Network *n, Peer *self, char **l, bool *ret_auto, IpPrefix **ret, size_t *ret_n,
                         sd_bus_error *error);
int peer_check_site_networks(Network *n, Peer *self, char **l, IpPrefix **ret, size_t *ret_n,
                             sd_bus_error *error);
/* Give back addresses to the pools / take them. */
void network_release_addresses(Network *n, const IpPrefix *a, size_t count);
int network_reserve_addresses(Network *n, const IpPrefix *a, size_t count);
/* "auto" addresses: one per family set in families, from the first subnet of that family with
 * room, appended to list (*count grows). -1 - k when subnet k (the first of a family) is full. */
int network_allocate_auto(Network *n, const bool families[2], IpPrefix *list, size_t *count);
