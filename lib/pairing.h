/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pairing strings for node-to-node tunnels: one line that an admin carries from one host
 * to the other, so no key is ever copied by hand.
 *
 *   wgnet-pair:1:<base64url, no padding, of the body>
 *
 * Body (all integers big endian):
 *   u8   kind              1 = offer (from the host that created the tunnel),
 *                          2 = reply (from the host that imported the offer)
 *   16   id                random, names the pairing; the reply carries the offer's id
 *   u64  expires           seconds since the epoch
 *   32   public key        of the sender
 *   32   preshared key     generated with the offer; the reply repeats it (it proves that
 *                          the reply comes from a host that saw the offer)
 *   u8   n, n bytes        the sender's endpoint "a.b.c.d:port" / "[v6]:port", n may be 0
 *   u8   n, n prefixes     the sender's tunnel addresses (0..2)
 *   u8   n, n prefixes     the sender's local networks (0..32)
 *   4    check             the first 4 bytes of BLAKE2b-256 of everything before it
 * A prefix is u8 family (4 or 6), u8 prefix length, then 4 or 16 address bytes.
 * Nothing may follow the check.
 *
 * Kind 3 is a mesh invitation (daemon/mesh.c, docs/mesh.md), in the same body:
 *   id                 the invitation's id
 *   public key         the coordinator's
 *   preshared key      the invitation secret: the private key of a one-time WireGuard key
 *                      whose public half the coordinator put on its device for the joiner
 *   endpoint           the coordinator's (required)
 *   tunnel addresses   the joiner's reserved mesh addresses with the mesh prefix length
 *                      (1..2, host bits set, one per family)
 *   networks           the coordinator's mesh addresses as /32 and /128 (1..2) */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "keys.h"

#define PAIRING_PREFIX "wgnet-pair:1:"
#define PAIRING_ID_LEN 16
#define PAIRING_ID_HEX_LEN (PAIRING_ID_LEN * 2)
#define PAIRING_MAX_ADDRESSES 2
#define PAIRING_MAX_NETWORKS 32
#define PAIRING_ENDPOINT_MAX 63
#define PAIRING_STRING_MAX 2048

typedef enum PairingKind {
        PAIRING_OFFER = 1,
        PAIRING_REPLY = 2,
        PAIRING_INVITATION = 3,         /* a mesh invitation (docs/mesh.md) */
} PairingKind;

typedef struct Pairing {
        PairingKind kind;
        uint8_t id[PAIRING_ID_LEN];
        uint64_t expires;                       /* seconds since the epoch */
        uint8_t public_key[WG_KEY_LEN];
        uint8_t preshared_key[WG_KEY_LEN];
        char endpoint[PAIRING_ENDPOINT_MAX + 1]; /* "" = none */
        IpPrefix tunnel_addresses[PAIRING_MAX_ADDRESSES];
        size_t n_tunnel_addresses;
        IpPrefix networks[PAIRING_MAX_NETWORKS];
        size_t n_networks;
} Pairing;

/* Check the fields (the same rules as pairing_parse) and print the string. -EINVAL for a
 * field that the parser would refuse. *ret is malloc'd; wipe it (it holds the PSK). */
int pairing_format(const Pairing *p, char **ret);

/* Parse a pairing string (surrounding ASCII whitespace allowed). On failure, -EINVAL
 * (or -ENOMEM) and *ret_reason, when given, points to a static English reason that never
 * quotes the input (it carries a secret). ret is written only on success. */
int pairing_parse(const char *s, Pairing *ret, const char **ret_reason);
/* The same for a mesh invitation (kind 3 only); pairing_parse() refuses invitations. */
int pairing_parse_invitation(const char *s, Pairing *ret, const char **ret_reason);

/* The id as 32 lowercase hex digits. */
void pairing_id_to_hex(const uint8_t id[PAIRING_ID_LEN], char ret[PAIRING_ID_HEX_LEN + 1]);
/* The other way: exactly PAIRING_ID_HEX_LEN hex digits, else -EBADMSG. */
int pairing_id_from_hex(const char *s, uint8_t ret[PAIRING_ID_LEN]);

void pairing_wipe(Pairing *p);

/* A new tunnel address's prefix is /24 to /31 (IPv6 /64 to /127): the kernel routes the
 * whole prefix into the tunnel, and a short one (an offer with 0.0.0.1/1) would take half of
 * the address space there. (Tunnels stored before the bound keep theirs.) */
#define PAIRING_TUNNEL_PREFIX_MIN4 24
#define PAIRING_TUNNEL_PREFIX_MIN6 64
static inline bool pairing_tunnel_prefix_ok(const IpPrefix *a) {
        return a->prefixlen >= (a->family == AF_INET6 ? PAIRING_TUNNEL_PREFIX_MIN6 : PAIRING_TUNNEL_PREFIX_MIN4);
}

/* The other end of a point-to-point tunnel address: for /31 and /127 the other address of
 * the pair; for a shorter prefix the host parts 1 and 2 are each other's peer (10.9.0.1/30
 * <-> 10.9.0.2/30). The result has the same prefix length. -EINVAL for anything else (no
 * host bits, /32, /128, another host part). The bounds above are the callers'. */
int pairing_peer_address(const IpPrefix *local, IpPrefix *ret);
