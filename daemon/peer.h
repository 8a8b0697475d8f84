/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "addr.h"
#include "keys.h"
#include "macro.h"
#include "network.h"

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
        bool enabled;
        uint64_t created_at, updated_at, expires_at;   /* µs since the epoch */

        /* From the device, refreshed by the tick. */
        bool online;
        uint64_t last_handshake;        /* µs */
        uint64_t rx_bytes, tx_bytes;
        char *endpoint;                 /* "" when unknown */
} Peer;

const char *peer_role_to_string(PeerRole r);
int peer_role_from_string(const char *s);

int peer_new(Network *n, uint64_t id, const char *name, Peer **ret);
Peer *peer_free(Peer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Peer *, peer_free)

/* Is s a valid peer name (1-64 characters of printable UTF-8, no control characters)? */
bool peer_name_is_valid(const char *s);

/* Server-side AllowedIPs: addresses plus site networks. */
int peer_server_allowed_ips(const Peer *p, IpPrefix **ret, size_t *ret_n);
/* Fill a device peer entry for this peer (public key, PSK, allowed IPs, keepalive). */
int peer_to_wg_peer(Peer *p, WgPeer *wp);

/* The client config in wg-quick format. private_key may be NULL (not held): the config
 * then says so plainly. */
int peer_render_config(Peer *p, const uint8_t *private_key, char **ret);
/* Config with the stored private key; -ENODATA when it is not stored. */
int peer_get_config(Peer *p, char **ret);

int peer_emit_changed(Peer *p, const char *property, ...) _sentinel_;
int peer_emit_changed_strv(Peer *p, char **properties);
