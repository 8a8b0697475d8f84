/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* 1-15 characters, no '/', ':', whitespace or control characters, not "." or "..". */
bool ifname_is_valid(const char *s);
/* RFC 1123 host name (labels of letters, digits, '-', dots between). */
bool hostname_is_valid(const char *s);
/* "host:port", "[v6]:port", "a.b.c.d:port" with port 1-65535. */
bool endpoint_is_valid(const char *s);
/* A DNS entry of a client config: an IP address or a search domain. */
bool dns_entry_is_valid(const char *s);
/* Network names: 1-64 printable characters, [A-Za-z0-9_.@+-] and spaces inside. */
bool network_name_is_valid(const char *s);
/* Can the device listen on this UDP port? A test bind with wgnetd's own privileges (what
 * the kernel checks for a WireGuard device, and what wireguard-go inherits), given up at
 * once: 0, -EADDRINUSE (some socket of this network namespace has it, IPv4 or IPv6) or
 * -EACCES (below 1024 without CAP_NET_BIND_SERVICE). */
/* An email address as a peer's contact: empty, or up to 254 bytes with an '@', no space,
 * comma or control character. */
bool email_is_valid(const char *s);
int udp_port_check(uint16_t port);
