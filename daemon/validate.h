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
/* Is this UDP port bound by some socket of this network namespace, IPv4 or IPv6? (A test
 * bind, given up at once.) */
bool udp_port_in_use(uint16_t port);
