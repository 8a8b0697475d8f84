/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "macro.h"
#include "wgdevice.h"

int wg_device_new(const char *ifname, WgDevice **ret) {
        size_t l;

        if (!ifname || !ret)
                return -EINVAL;
        l = strlen(ifname);
        if (l == 0 || l >= IFNAMSIZ)
                return -EINVAL;

        WgDevice *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        memcpy(d->name, ifname, l + 1);
        *ret = d;
        return 0;
}

static void wg_peer_wipe(WgPeer *p) {
        if (p->allowed_ips)
                wg_wipe_free(p->allowed_ips, p->allowed_ips_alloc * sizeof(IpPrefix));
        wg_wipe(p, sizeof(*p));
}

WgDevice *wg_device_free(WgDevice *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_peers; i++)
                wg_peer_wipe(&d->peers[i]);
        if (d->peers)
                wg_wipe_free(d->peers, d->peers_alloc * sizeof(WgPeer));
        wg_wipe_free(d, sizeof(*d));
        return NULL;
}

/* Grow an array without leaving copies of its content behind in freed memory. */
static int grow_wiped(void **array, size_t *alloc, size_t need, size_t size) {
        if (need <= *alloc)
                return 0;
        size_t n = *alloc ? *alloc : 4;
        while (n < need) {
                if (n > SIZE_MAX / 2 / size)
                        return -ENOMEM;
                n *= 2;
        }
        void *p = calloc(n, size);
        if (!p)
                return -ENOMEM;
        if (*array) {
                memcpy(p, *array, *alloc * size);
                wg_wipe_free(*array, *alloc * size);
        }
        *array = p;
        *alloc = n;
        return 0;
}

WgPeer *wg_device_add_peer(WgDevice *d, const uint8_t public_key[WG_KEY_LEN]) {
        void *a = d->peers;
        if (grow_wiped(&a, &d->peers_alloc, d->n_peers + 1, sizeof(WgPeer)) < 0)
                return NULL;
        d->peers = a;
        WgPeer *p = &d->peers[d->n_peers++];
        memset(p, 0, sizeof(*p));
        memcpy(p->public_key, public_key, WG_KEY_LEN);
        return p;
}

WgPeer *wg_device_find_peer(const WgDevice *d, const uint8_t public_key[WG_KEY_LEN]) {
        for (size_t i = 0; i < d->n_peers; i++)
                if (memcmp(d->peers[i].public_key, public_key, WG_KEY_LEN) == 0)
                        return &d->peers[i];
        return NULL;
}

int wg_peer_add_allowed_ip(WgPeer *p, const IpPrefix *ip) {
        if (!ip || (ip->family != AF_INET && ip->family != AF_INET6) ||
            ip->prefixlen > ip_family_bits(ip->family))
                return -EINVAL;
        void *a = p->allowed_ips;
        int r = grow_wiped(&a, &p->allowed_ips_alloc, p->n_allowed_ips + 1, sizeof(IpPrefix));
        if (r < 0)
                return r;
        p->allowed_ips = a;
        p->allowed_ips[p->n_allowed_ips++] = *ip;
        return 0;
}

/* Decimal port 1..65535, no sign, no leading zero. */
static int parse_port(const char *s, uint16_t *ret) {
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 5 || s[0] == '0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* A scope id: a decimal interface index or an interface name. */
static int parse_scope(const char *s, uint32_t *ret) {
        size_t n = strlen(s);
        if (n == 0 || n >= IFNAMSIZ)
                return -EINVAL;
        if (s[0] >= '1' && s[0] <= '9') {
                uint64_t v = 0;
                for (size_t i = 0; i < n; i++) {
                        if (s[i] < '0' || s[i] > '9')
                                return -EINVAL;
                        v = v * 10 + (uint64_t) (s[i] - '0');
                        if (v > UINT32_MAX)
                                return -EINVAL;
                }
                *ret = (uint32_t) v;
                return 0;
        }
        if (strspn(s, "0123456789") == n)
                return -EINVAL;         /* an index of 0 or with leading zeros */
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] == '/' || s[i] == '%' || s[i] == ']' || (unsigned char) s[i] >= 0x7f)
                        return -EINVAL;
        unsigned idx = if_nametoindex(s);
        if (idx == 0)
                return -ENODEV;
        *ret = idx;
        return 0;
}

int wg_endpoint_parse(const char *s, WgEndpoint *ret) {
        char host[INET6_ADDRSTRLEN + IFNAMSIZ + 2];
        WgEndpoint e = { 0 };
        bool unknown_zone = false;
        IpPrefix a;
        uint16_t port;
        const char *colon;
        int r;

        if (!s || !ret)
                return -EINVAL;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                size_t n = (size_t) (close - s - 1);
                if (n == 0 || n >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s + 1, n);
                host[n] = 0;
                colon = close + 1;

                uint32_t scope = 0;
                char *pct = strchr(host, '%');
                if (pct) {
                        *pct = 0;
                        r = parse_scope(pct + 1, &scope);
                        if (r < 0 && r != -ENODEV)
                                return r;
                        unknown_zone = r == -ENODEV;
                }
                r = ip_addr_parse(host, &a);
                if (r < 0)
                        return r;
                if (a.family != AF_INET6)
                        return -EINVAL;
                r = parse_port(colon + 1, &port);
                if (r < 0)
                        return r;
                e.in6.sin6_family = AF_INET6;
                e.in6.sin6_addr = a.addr.in6;
                e.in6.sin6_port = htons(port);
                e.in6.sin6_scope_id = scope;
        } else {
                colon = strchr(s, ':');
                if (!colon || strchr(colon + 1, ':'))
                        return -EINVAL;
                size_t n = (size_t) (colon - s);
                if (n == 0 || n >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s, n);
                host[n] = 0;
                r = ip_addr_parse(host, &a);
                if (r < 0)
                        return r;
                if (a.family != AF_INET)
                        return -EINVAL;
                r = parse_port(colon + 1, &port);
                if (r < 0)
                        return r;
                e.in.sin_family = AF_INET;
                e.in.sin_addr = a.addr.in;
                e.in.sin_port = htons(port);
        }

        *ret = e;
        return unknown_zone ? -ENODEV : 0;
}

const char *wg_endpoint_to_string(const WgEndpoint *e, char buf[WG_ENDPOINT_STRLEN]) {
        char a[INET6_ADDRSTRLEN];

        buf[0] = 0;
        switch (e->sa.sa_family) {
        case AF_INET:
                inet_ntop(AF_INET, &e->in.sin_addr, a, sizeof(a));
                snprintf(buf, WG_ENDPOINT_STRLEN, "%s:%u", a, ntohs(e->in.sin_port));
                break;
        case AF_INET6:
                inet_ntop(AF_INET6, &e->in6.sin6_addr, a, sizeof(a));
                if (e->in6.sin6_scope_id != 0) {
                        char t[96];
                        snprintf(t, sizeof(t), "[%s%%%" PRIu32 "]:%u", a,
                                 e->in6.sin6_scope_id, ntohs(e->in6.sin6_port));
                        size_t l = MIN(strlen(t), (size_t) WG_ENDPOINT_STRLEN - 1);
                        memcpy(buf, t, l);
                        buf[l] = 0;
                } else
                        snprintf(buf, WG_ENDPOINT_STRLEN, "[%s]:%u", a, ntohs(e->in6.sin6_port));
                break;
        default:
                break;
        }
        return buf;
}

bool wg_device_holds_key(const WgDevice *have, const uint8_t private_key[WG_KEY_LEN]) {
        uint8_t pub[WG_KEY_LEN];
        if (have->flags & WGDEVICE_HAS_PRIVATE_KEY)
                return wg_key_equal(have->private_key, private_key);
        if (!(have->flags & WGDEVICE_HAS_PUBLIC_KEY) || wg_key_public_from_private(pub, private_key) < 0)
                return false;
        return wg_key_equal(have->public_key, pub);
}

bool wg_device_key_differs(const WgDevice *have, const uint8_t private_key[WG_KEY_LEN]) {
        return (have->flags & (WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_PUBLIC_KEY)) && !wg_device_holds_key(have, private_key);
}
