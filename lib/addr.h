/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Strict IPv4/IPv6 addresses and prefixes, and address allocation inside a subnet. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address with a prefix length: a host address (prefixlen 32/128), a subnet, or an
 * interface address such as 10.0.0.1/24 (host bits set). */
typedef struct IpPrefix {
        int family;                 /* AF_INET or AF_INET6 */
        uint8_t prefixlen;
        union {
                struct in_addr in;
                struct in6_addr in6;
                uint8_t bytes[16];
        } addr;
} IpPrefix;

/* "255.255.255.255/32" and "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" both fit. */
#define IP_PREFIX_STRLEN 64

static inline size_t ip_family_bits(int family) {
        return family == AF_INET ? 32 : 128;
}

/* A bare address, no "/len". prefixlen is set to the full length. Rejects leading zeros
 * in IPv4 octets, empty strings, whitespace, zone ids, trailing garbage: -EINVAL. */
int ip_addr_parse(const char *s, IpPrefix *ret);
/* "addr/len". If allow_bare is true, a bare address is taken as a host prefix.
 * Out-of-range or malformed lengths: -EINVAL. Host bits are kept as given. */
int ip_prefix_parse(const char *s, bool allow_bare, IpPrefix *ret);
/* As ip_prefix_parse, for a string that is not NUL-terminated. */
int ip_prefix_parse_n(const char *s, size_t len, bool allow_bare, IpPrefix *ret);

/* Print "addr/len" (always with the length) or just the address. buf of IP_PREFIX_STRLEN. */
const char *ip_prefix_to_string(const IpPrefix *p, char buf[IP_PREFIX_STRLEN]);
const char *ip_addr_to_string(const IpPrefix *p, char buf[IP_PREFIX_STRLEN]);

/* Zero the host bits. */
void ip_prefix_mask(IpPrefix *p);
bool ip_prefix_has_host_bits(const IpPrefix *p);
/* The same prefix as a host address (/32 or /128). */
IpPrefix ip_prefix_host(const IpPrefix *p);

bool ip_prefix_equal(const IpPrefix *a, const IpPrefix *b);
/* Total order: family, then address bytes, then prefix length. For sorting. */
int ip_prefix_compare(const IpPrefix *a, const IpPrefix *b);
/* Does net (its masked part) contain the address/prefix p entirely? */
bool ip_prefix_contains(const IpPrefix *net, const IpPrefix *p);
/* Do the two prefixes share any address? */
bool ip_prefix_overlaps(const IpPrefix *a, const IpPrefix *b);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d)? Such addresses are refused as peer
 * addresses by the callers. */
/* The prefixes that cover from but not hole (hole's host bits ignored), into out (room
 * for ip_family_bits() of them); returns how many: 1 (from itself) when they do not
 * overlap, 0 when hole covers from. */
size_t ip_prefix_exclude(const IpPrefix *from, const IpPrefix *hole, IpPrefix *out);
bool ip_addr_is_v4_mapped(const IpPrefix *p);

/* Address allocation inside one subnet.
 *
 * The pool knows the subnet (with the server's own address as host bits, e.g.
 * 10.8.0.1/24) and which host addresses are in use. Allocation returns the lowest free
 * host address, skipping the network and broadcast addresses for IPv4 (except /31 and
 * /32), the IPv6 subnet-router anycast address (all-zero host part; except /127 and /128,
 * RFC 6164), and the server's own address. The cost of reserve/release/allocate does not grow linearly with the number of
 * used addresses. */
typedef struct AddrPool AddrPool;

/* subnet: the network with the server's address as host bits; if the host bits are zero
 * the server address is unknown and nothing extra is reserved. */
int addr_pool_new(const IpPrefix *subnet, AddrPool **ret);
AddrPool *addr_pool_free(AddrPool *p);
static inline void addr_pool_freep(AddrPool **p) {
        if (*p)
                *p = addr_pool_free(*p);
}
const IpPrefix *addr_pool_subnet(const AddrPool *p);

/* Mark a host address used. addr must be a host prefix (/32, /128), else -EINVAL. -ERANGE
 * outside the subnet or of another family, -EADDRNOTAVAIL for the network/broadcast/server
 * address, -EEXIST if already used. */
int addr_pool_reserve(AddrPool *p, const IpPrefix *addr);
/* Free a used address. -ENOENT if it was not used (or is a reserved special), -EINVAL and
 * -ERANGE as for addr_pool_reserve. */
int addr_pool_release(AddrPool *p, const IpPrefix *addr);
/* The lowest free address as a host prefix, marked used. -ENOSPC if full. */
int addr_pool_allocate(AddrPool *p, IpPrefix *ret);
/* The lowest free address without marking it. -ENOSPC if full. */
int addr_pool_peek(const AddrPool *p, IpPrefix *ret);
/* The same, skipping the addresses of holes: prefixes inside the subnet that are routed
 * elsewhere (a site gateway's LAN inside the subnet of an imported config). Holes of
 * another family, or not inside the subnet, are ignored. */
int addr_pool_allocate_outside(AddrPool *p, const IpPrefix *holes, size_t n_holes, IpPrefix *ret);
int addr_pool_peek_outside(const AddrPool *p, const IpPrefix *holes, size_t n_holes, IpPrefix *ret);
/* False for free, reserved-special, invalid and out-of-subnet addresses. */
bool addr_pool_is_used(const AddrPool *p, const IpPrefix *addr);
/* Used addresses, the specials not counted. */
size_t addr_pool_n_used(const AddrPool *p);
