/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One model of a WireGuard device for both backends (kernel generic netlink and the
 * userspace UAPI). As read from a device it is complete; as a set request it is a sparse
 * diff: only what the flags say is present is applied. */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "keys.h"

typedef enum WgDeviceFlags {
        WGDEVICE_HAS_PRIVATE_KEY = 1u << 0,   /* all-zero key = remove the private key */
        WGDEVICE_HAS_LISTEN_PORT = 1u << 1,
        WGDEVICE_HAS_FWMARK = 1u << 2,
        WGDEVICE_REPLACE_PEERS = 1u << 3,     /* set only: peers not listed are removed */
        WGDEVICE_HAS_PUBLIC_KEY = 1u << 4,    /* get only */
} WgDeviceFlags;

typedef enum WgPeerFlags {
        WGPEER_REMOVE_ME = 1u << 0,           /* set only: remove this peer */
        WGPEER_REPLACE_ALLOWEDIPS = 1u << 1,  /* set only: allowed_ips replace the current list */
        WGPEER_UPDATE_ONLY = 1u << 2,         /* set only: do not create the peer if missing */
        WGPEER_HAS_PRESHARED_KEY = 1u << 3,   /* all-zero key = no preshared key */
        WGPEER_HAS_PERSISTENT_KEEPALIVE = 1u << 4,
        WGPEER_HAS_ENDPOINT = 1u << 5,
} WgPeerFlags;

typedef union WgEndpoint {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
} WgEndpoint;

typedef struct WgPeer {
        uint32_t flags;                       /* WgPeerFlags */
        uint8_t public_key[WG_KEY_LEN];
        uint8_t preshared_key[WG_KEY_LEN];
        WgEndpoint endpoint;                  /* sa_family AF_UNSPEC = none */
        uint16_t persistent_keepalive;        /* seconds, 0 = off */
        uint64_t last_handshake_usec;         /* get only: µs since the epoch, 0 = never */
        uint64_t rx_bytes, tx_bytes;          /* get only */
        IpPrefix *allowed_ips;
        size_t n_allowed_ips, allowed_ips_alloc;
} WgPeer;

typedef struct WgDevice {
        char name[IFNAMSIZ];
        uint32_t ifindex;                     /* get only */
        uint32_t flags;                       /* WgDeviceFlags */
        uint8_t private_key[WG_KEY_LEN];
        uint8_t public_key[WG_KEY_LEN];
        uint16_t listen_port;
        uint32_t fwmark;
        WgPeer *peers;                        /* an array: pointers into it move on append */
        size_t n_peers, peers_alloc;
} WgDevice;

/* -EINVAL for an empty name or one of IFNAMSIZ or more characters. */
int wg_device_new(const char *ifname, WgDevice **ret);
/* Wipes every key. */
WgDevice *wg_device_free(WgDevice *d);
static inline void wg_device_freep(WgDevice **d) {
        if (*d)
                *d = wg_device_free(*d);
}

/* Append a zeroed peer with this public key; NULL on ENOMEM. The returned pointer is valid
 * until the next append. */
WgPeer *wg_device_add_peer(WgDevice *d, const uint8_t public_key[WG_KEY_LEN]);
/* Linear search; callers that need speed index the peers themselves. */
WgPeer *wg_device_find_peer(const WgDevice *d, const uint8_t public_key[WG_KEY_LEN]);
/* Whether a device read back holds this private key: compared directly, or through the
 * public key when the implementation reports only that (boringtun's own_public_key). */
bool wg_device_holds_key(const WgDevice *have, const uint8_t private_key[WG_KEY_LEN]);
/* Whether it holds another one (a drift to log; nothing known is no drift). */
bool wg_device_key_differs(const WgDevice *have, const uint8_t private_key[WG_KEY_LEN]);
int wg_peer_add_allowed_ip(WgPeer *p, const IpPrefix *ip);

/* "1.2.3.4:51820", "[2001:db8::1]:51820", "[fe80::1%eth0]:51820"; -EINVAL on anything else
 * (no host names). A zone naming an interface that does not exist (any more): -ENODEV, with
 * *ret set all the same, scope 0 (a device's report of where a peer was last heard). */
int wg_endpoint_parse(const char *s, WgEndpoint *ret);
/* "" for AF_UNSPEC. buf of at least WG_ENDPOINT_STRLEN. */
#define WG_ENDPOINT_STRLEN 64
const char *wg_endpoint_to_string(const WgEndpoint *e, char buf[WG_ENDPOINT_STRLEN]);
