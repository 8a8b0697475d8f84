/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "addr.h"
#include "keys.h"
#include "macro.h"
#include "network.h"
#include "wgconf.h"

typedef enum PeerRole {
        PEER_ROLE_CLIENT,
        PEER_ROLE_SITE_GATEWAY,
        _PEER_ROLE_MAX,
} PeerRole;

#define PEER_NAME_MAX 64
#define PEER_DEFAULT_KEEPALIVE 25

typedef struct Peer {
        Network *network;
        Peer *next, *prev;              /* in the network's list */
        uint64_t id;
        char *name;
        char *email;
        char *path;
        uint8_t public_key[WG_KEY_LEN];
        bool has_psk;
        uint8_t psk_sealed[SEALED_KEY_SIZE];
        bool private_key_stored;
        IpPrefix *addresses;            /* host prefixes (/32, /128) */
        size_t n_addresses;
        IpPrefix *site_networks;
        size_t n_site_networks;
        PeerRole role;
        uint16_t keepalive;
        bool keepalive_on_device;       /* imported with PersistentKeepalive: the device sends it too */
        bool enabled;
        uint64_t created_at, updated_at, expires_at;   /* µs since the epoch */
        /* µs: the last Enable or Update that was saved (not a rotation; 0 until one since the
         * start, which counts itself): where RevokeAfterInactive counts from. */
        uint64_t admin_changed_at;

        /* Key lifecycle (daemon/rotation.c). Policy values: -1 = the network's default. */
        int64_t rotation_interval;      /* seconds, 0 = off */
        int rotation_kind;              /* RotationKind, or -1 */
        int64_t revoke_inactive;        /* seconds without a handshake, 0 = off */
        int64_t grace_period;           /* seconds */
        uint64_t last_rotation;         /* µs, 0 = never */
        bool rotation_pending;          /* a new keypair waits for its first handshake */
        uint8_t pending_public_key[WG_KEY_LEN];
        uint8_t pending_psk_sealed[SEALED_KEY_SIZE];
        bool pending_private_stored;
        uint8_t pending_private_sealed[SEALED_KEY_SIZE];
        uint64_t rotation_deadline;     /* µs: the old key is dropped then at the latest */
        bool auto_rotation_warned;
        uint64_t policy_retry_at;       /* µs: a failed automatic rotation waits */
        uint64_t revoke_retry_at;       /* µs: a failed revocation (expiry, inactivity) waits */
        uint64_t switch_retry_at;       /* µs: a failed key switch waits */

        /* The Endpoint a wg-quick config gave this peer ("" = none: the peer's own packets
         * tell where it is), "host:port" as written. A host name is resolved off the event
         * loop (daemon/resolve.c); the device gets the address once it is known. */
        char *remote_endpoint;
        WgEndpoint remote_resolved;     /* AF_UNSPEC until known */
        bool resolving;
        bool endpoint_new;              /* RemoteEndpoint changed or resolved: the next apply sets it */
        uint64_t resolve_after;         /* µs monotonic: no new lookup before */

        /* From the device, refreshed by the tick. */
        bool online;
        uint64_t last_handshake;        /* µs */
        uint64_t rx_bytes, tx_bytes;
        char *endpoint;                 /* "" when unknown */
        uint64_t status_usec;           /* the network's status_usec of the last read that listed it */
} Peer;

const char *peer_role_to_string(PeerRole r);
int peer_role_from_string(const char *s);

int peer_new(Network *n, uint64_t id, const char *name, Peer **ret);
Peer *peer_free(Peer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Peer *, peer_free)

/* Is s a valid peer name (1-64 characters of printable UTF-8, no control characters)? */
bool peer_name_is_valid(const char *s);

/* The names of an imported config's peers, in its order: the one its comment gives when
 * that is a valid name no earlier peer has, otherwise "peerN" (N its place in the file),
 * or "peerN-2", "peerN-3"...: the first that no other peer of the file has or will have.
 * *ret is a NULL-terminated list of c->n_peers names. Linear in the peers. */
int peer_import_names(const WgConf *c, char ***ret);

/* Server-side AllowedIPs: addresses plus site networks. */
int peer_server_allowed_ips(const Peer *p, IpPrefix **ret, size_t *ret_n);
/* The keepalive the hub's device uses toward this peer (0 for clients). */
uint16_t peer_server_keepalive(const Peer *p);
/* The address of the configured Endpoint: 0, -ENOENT when none is configured, -EAGAIN
 * while a host name is being resolved (a lookup is started if none runs). */
int peer_remote_endpoint(Peer *p, WgEndpoint *ret);
/* Look the host name of the configured Endpoint up in a child process; when the answer
 * comes the device gets the address (daemon/resolve.c). */
void peer_resolve_endpoint(Peer *p);
/* Fill a device peer entry for this peer (public key, PSK, allowed IPs, keepalive). */
int peer_to_wg_peer(Peer *p, WgPeer *wp);

/* The client config in wg-quick format. private_key may be NULL (not held): the config
 * then says so plainly. */
int peer_render_config(Peer *p, const uint8_t *private_key, char **ret);
/* The same with an explicit preshared key (NULL = none). */
int peer_render_config_with(Peer *p, const uint8_t *private_key, const uint8_t *psk, char **ret);
/* Enable or disable (database and device); errors in error. */
int peer_set_enabled(Peer *p, bool enable, sd_bus_error *error);
/* Past its ExpiresAt (the policy tick revokes it; until then it gets nothing new). */
static inline bool peer_expired(const Peer *p, uint64_t now) {
        return p->expires_at > 0 && now >= p->expires_at;
}
/* Remove the peer: database, device, bus (peer-bus.c); errors in error. */
int peer_remove(Peer *p, sd_bus_error *error);
/* Config with the stored private key; -ENODATA when it is not stored. */
int peer_get_config(Peer *p, char **ret);

int peer_emit_changed(Peer *p, const char *property, ...) _sentinel_;
int peer_emit_changed_strv(Peer *p, char **properties);
