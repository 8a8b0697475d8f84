/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "macro.h"
#include "validate.h"
#include "wgconf.h"

bool ifname_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n >= IFNAMSIZ || streq(s, ".") || streq(s, "..") || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
                        return false;
        /* All digits and dots reads as an ifindex or an address to ip(8) and to people. */
        return strspn(s, "0123456789.") != n;
}

bool hostname_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0, label = 0;
        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return s[n - 1] != '-';
}

bool endpoint_is_valid(const char *s) {
        const char *colon, *host_end;
        char host[256];
        IpPrefix a;

        if (isempty(s) || !wgconf_endpoint_valid(s, strlen(s)))   /* what the renderer takes too */
                return false;
        if (s[0] == '[') {
                host_end = strchr(s, ']');
                if (!host_end || host_end[1] != ':')
                        return false;
                colon = host_end + 1;
                size_t len = (size_t) (host_end - s - 1);
                if (len == 0 || len >= sizeof(host))
                        return false;
                memcpy(host, s + 1, len);
                host[len] = 0;
                if (ip_addr_parse(host, &a) < 0 || a.family != AF_INET6)
                        return false;
        } else {
                colon = strrchr(s, ':');
                if (!colon || colon == s)
                        return false;
                size_t len = (size_t) (colon - s);
                if (len >= sizeof(host))
                        return false;
                memcpy(host, s, len);
                host[len] = 0;
                if (strchr(host, ':'))
                        return false;   /* bare IPv6 needs brackets */
                if (ip_addr_parse(host, &a) < 0 && !hostname_is_valid(host))
                        return false;
        }
        const char *port = colon + 1;
        if (*port < '1' || *port > '9' || strlen(port) > 5)
                return false;
        unsigned long v = 0;
        for (const char *p = port; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return false;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        return v >= 1 && v <= 65535;
}

/* Also what the config renderer takes (wgconf.c): a value it would refuse later, say a
 * host name of digits and dots such as "10.0.0", would break every config after it. */
bool dns_entry_is_valid(const char *s) {
        IpPrefix a;
        return (ip_addr_parse(s, &a) >= 0 || hostname_is_valid(s)) && wgconf_dns_valid(s, strlen(s));
}

bool network_name_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > 64 || s[0] == ' ' || s[n - 1] == ' ')
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.@+- ", *p))
                        return false;
        /* A name must not read as an address or an id. */
        return strspn(s, "0123456789.") != n;
}

bool email_is_valid(const char *s) {
        if (isempty(s))
                return true;    /* none */
        if (strlen(s) > 254 || !strchr(s, '@') || strpbrk(s, " ,"))
                return false;
        /* No control characters: the address is shown in terminals (an ESC sequence) and
         * written into configs and logs (a newline). */
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))   /* C0, DEL, C1 */
                        return false;
        return true;
}

int udp_port_check(uint16_t port) {
        /* WireGuard listens on both families: either one taken (or refused) is enough. */
        for (int family = AF_INET; ; family = AF_INET6) {
                int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd >= 0) {
                        union {
                                struct sockaddr_in in;
                                struct sockaddr_in6 in6;
                        } sa = { 0 };
                        socklen_t len;
                        int one = 1;
                        if (family == AF_INET) {
                                sa.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port) };
                                len = sizeof(sa.in);
                        } else {
                                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                                sa.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(port) };
                                len = sizeof(sa.in6);
                        }
                        int r = bind(fd, (struct sockaddr *) &sa, len) < 0 ? -errno : 0;
                        close(fd);
                        if (r == -EADDRINUSE || r == -EACCES)
                                return r;
                }
                if (family == AF_INET6)
                        return 0;
        }
}
