/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wg-quick configurations: the object, its builders, the value checks that the parser and
 * the renderer share, and the parser's AllowedIPs comparisons. */

#include <malloc.h>

#include "macro.h"
#include "utf8-valid.h"
#include "wgconf-internal.h"
#include "wgconf.h"

bool wgconf_is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

bool wgconf_text_valid(const char *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                uint32_t cp;
                size_t n = utf8_char_len(s + i, len - i, &cp);
                if (n == 0)
                        return false;
                /* C0 (but tab), DEL and C1 control characters */
                if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
                        return false;
                i += n;
        }
        return true;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alnum(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool all_digits_and_dots(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_digit(s[i]) && s[i] != '.')
                        return false;
        return true;
}

static bool addr_valid(const char *s, size_t len) {
        IpPrefix p;

        if (len == 0 || len >= IP_PREFIX_STRLEN || memchr(s, '/', len))
                return false;
        return ip_prefix_parse_n(s, len, true, &p) >= 0;
}

/* Letters, digits and '-' labels of 1-63 characters, no '-' at either end of a label, at
 * most 253 characters, one trailing dot allowed. */
static bool domain_valid(const char *s, size_t len) {
        if (len > 0 && s[len - 1] == '.')
                len--;
        if (len == 0 || len > 253)
                return false;

        size_t label = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i == len || s[i] == '.') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
                if (label == 0 && s[i] == '-')
                        return false;
                label++;
        }
        return true;
}

bool wgconf_dns_valid(const char *s, size_t len) {
        if (len == 0)
                return false;
        /* wg-quick: entries of digits and dots, or with a ':', are servers */
        if (all_digits_and_dots(s, len) || memchr(s, ':', len))
                return addr_valid(s, len);
        return domain_valid(s, len);
}

static bool port_valid(const char *s, size_t len) {
        unsigned v = 0;

        if (len == 0 || len > 5)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (!is_digit(s[i]))
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

bool wgconf_endpoint_valid(const char *s, size_t len) {
        const char *colon;

        if (len == 0)
                return false;

        if (s[0] == '[') {
                const char *close = memchr(s, ']', len);
                if (!close || close + 1 == s + len || close[1] != ':')
                        return false;
                const char *host = s + 1;
                size_t hlen = (size_t) (close - host);
                const char *pct = memchr(host, '%', hlen);
                if (pct) {
                        size_t zlen = hlen - (size_t) (pct - host) - 1;
                        if (zlen == 0 || zlen > 15)
                                return false;
                        for (size_t i = 0; i < zlen; i++)
                                if (!is_alnum(pct[1 + i]) && !strchr("_.-", pct[1 + i]))
                                        return false;
                        hlen = (size_t) (pct - host);
                }
                if (!memchr(host, ':', hlen) || !addr_valid(host, hlen))
                        return false;
                return port_valid(close + 2, len - (size_t) (close + 2 - s));
        }

        colon = memchr(s, ':', len);
        if (!colon || memchr(colon + 1, ':', len - (size_t) (colon + 1 - s)))
                return false;
        size_t hlen = (size_t) (colon - s);
        if (all_digits_and_dots(s, hlen)) {
                if (!addr_valid(s, hlen))
                        return false;
        } else if (!domain_valid(s, hlen))
                return false;
        return port_valid(colon + 1, len - hlen - 1);
}

bool wgconf_table_valid(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= 0x20 || c >= 0x7f || c == '#')
                        return false;
        }
        return true;
}

bool wgconf_name_valid(const char *s, size_t len) {
        if (len > 0 && (wgconf_is_space(s[0]) || wgconf_is_space(s[len - 1])))
                return false;
        return wgconf_text_valid(s, len);
}

bool wgconf_hook_valid(const char *s, size_t len) {
        return len > 0 && !memchr(s, '#', len) && wgconf_name_valid(s, len);
}

void *wgconf_array_append(void **array, size_t *n, size_t sz) {
        size_t used = *n * sz;

        if (*n >= SIZE_MAX / sz / 2 - 1)
                return NULL;

        /* room left in the block (whoever allocated it): no move */
        if (*array && malloc_usable_size(*array) >= used + sz) {
                uint8_t *e = (uint8_t *) *array + used;
                memset(e, 0, sz);
                (*n)++;
                return e;
        }

        /* double, so that n appends cost O(n) */
        uint8_t *a = calloc(MAX(*n * 2, (size_t) 4), sz);
        if (!a)
                return NULL;
        if (*array) {
                memcpy(a, *array, used);
                wg_wipe_free(*array, malloc_usable_size(*array));
        }
        *array = a;
        (*n)++;
        return a + used;
}

int wgconf_strv_append(char ***l, size_t *n, const char *s, size_t len) {
        char *d = strndup(s, len);
        if (!d)
                return -ENOMEM;

        char **nl = realloc(*l, (*n + 1) * sizeof(char *));
        if (!nl) {
                free(d);
                return -ENOMEM;
        }
        nl[(*n)++] = d;
        *l = nl;
        return 0;
}

void wgconf_strv_clear(char ***l, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free((*l)[i]);
        free(*l);
        *l = NULL;
        *n = 0;
}

static int index_compare(const void *a, const void *b, void *userdata) {
        const IpPrefix *base = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int r = ip_prefix_compare(&base[i], &base[j]);
        return r != 0 ? r : (i > j) - (i < j);
}

/* A copy of a peer's AllowedIPs with the host bits cleared: what wg makes of them
 * (10.0.0.1/24 and 10.0.0.2/24 are both 10.0.0.0/24 to it). */
static IpPrefix *masked_allowed_ips(const WgConfPeer *peer) {
        IpPrefix *m = malloc(MAX(peer->n_allowed_ips, (size_t) 1) * sizeof(IpPrefix));
        if (!m)
                return NULL;
        for (size_t i = 0; i < peer->n_allowed_ips; i++) {
                m[i] = peer->allowed_ips[i];
                ip_prefix_mask(&m[i]);
        }
        return m;
}

/* Through an index sorted by masked prefix, then position: O(n log n). */
int wgconf_peer_dedup_allowed_ips(WgConfPeer *peer) {
        size_t n = peer->n_allowed_ips;
        if (n < 2)
                return 0;
        _cleanup_(freep) IpPrefix *masked = masked_allowed_ips(peer);
        _cleanup_(freep) size_t *idx = malloc(n * sizeof(size_t));
        _cleanup_(freep) bool *drop = calloc(n, sizeof(bool));
        if (!masked || !idx || !drop)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                idx[i] = i;
        qsort_r(idx, n, sizeof(size_t), index_compare, masked);
        for (size_t k = 1; k < n; k++)
                if (ip_prefix_compare(&masked[idx[k]], &masked[idx[k - 1]]) == 0)
                        drop[idx[k]] = true;    /* the later one: equal entries sort by position */
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
                if (!drop[i])
                        peer->allowed_ips[j++] = peer->allowed_ips[i];
        peer->n_allowed_ips = j;
        return 0;
}

static int prefix_qsort_compare(const void *a, const void *b) {
        return ip_prefix_compare(a, b);
}

int wgconf_peer_same_allowed_ips(const WgConfPeer *x, const WgConfPeer *y, bool *ret) {
        size_t n = x->n_allowed_ips;
        *ret = false;
        if (n != y->n_allowed_ips)
                return 0;
        if (n == 0) {
                *ret = true;
                return 0;
        }
        _cleanup_(freep) IpPrefix *a = masked_allowed_ips(x);
        _cleanup_(freep) IpPrefix *b = masked_allowed_ips(y);
        if (!a || !b)
                return -ENOMEM;
        qsort(a, n, sizeof(IpPrefix), prefix_qsort_compare);
        qsort(b, n, sizeof(IpPrefix), prefix_qsort_compare);
        for (size_t i = 0; i < n; i++)
                if (ip_prefix_compare(&a[i], &b[i]) != 0)
                        return 0;
        *ret = true;
        return 0;
}

WgConf *wgconf_new(void) {
        WgConf *c = calloc(1, sizeof(WgConf));
        if (!c)
                return NULL;
        c->save_config = -1;
        return c;
}

WgConf *wgconf_free(WgConf *c) {
        if (!c)
                return NULL;

        for (size_t i = 0; i < c->n_peers; i++) {
                WgConfPeer *p = &c->peers[i];
                free(p->name);
                free(p->allowed_ips);
                free(p->endpoint);
        }
        wg_wipe_free(c->peers, c->peers ? malloc_usable_size(c->peers) : 0);

        /* A comment can hold a key ('#PrivateKey = OLD' above the new one). */
        wg_wipe_free_string(c->private_key_note);
        free(c->addresses);
        wgconf_strv_clear(&c->dns, &c->n_dns);
        free(c->table);
        wgconf_strv_clear(&c->pre_up, &c->n_pre_up);
        wgconf_strv_clear(&c->post_up, &c->n_post_up);
        wgconf_strv_clear(&c->pre_down, &c->n_pre_down);
        wgconf_strv_clear(&c->post_down, &c->n_post_down);
        for (size_t i = 0; i < c->n_comments; i++)
                wg_wipe_free_string(c->comments[i]);
        free(c->comments);
        wg_wipe(c, sizeof(WgConf));
        free(c);
        return NULL;
}

static bool prefix_valid(const IpPrefix *p) {
        return p && (p->family == AF_INET || p->family == AF_INET6) &&
               p->prefixlen <= ip_family_bits(p->family);
}

int wgconf_add_address(WgConf *c, const IpPrefix *p) {
        if (!c || !prefix_valid(p))
                return -EINVAL;

        IpPrefix *n = wgconf_array_append((void **) &c->addresses, &c->n_addresses, sizeof(IpPrefix));
        if (!n)
                return -ENOMEM;
        *n = *p;
        return 0;
}

int wgconf_add_dns(WgConf *c, const char *s) {
        if (!c || !s || !wgconf_dns_valid(s, strlen(s)))
                return -EINVAL;
        return wgconf_strv_append(&c->dns, &c->n_dns, s, strlen(s));
}

int wgconf_add_comment(WgConf *c, const char *s) {
        if (!c || !s || !wgconf_text_valid(s, strlen(s)))
                return -EINVAL;
        return wgconf_strv_append(&c->comments, &c->n_comments, s, strlen(s));
}

WgConfPeer *wgconf_add_peer(WgConf *c) {
        if (!c)
                return NULL;
        return wgconf_array_append((void **) &c->peers, &c->n_peers, sizeof(WgConfPeer));
}

int wgconf_peer_add_allowed_ip(WgConfPeer *p, const IpPrefix *ip) {
        if (!p || !prefix_valid(ip))
                return -EINVAL;

        IpPrefix *n = wgconf_array_append((void **) &p->allowed_ips, &p->n_allowed_ips, sizeof(IpPrefix));
        if (!n)
                return -ENOMEM;
        *n = *ip;
        return 0;
}

bool wgconf_has_default_route(const WgConf *c) {
        for (size_t i = 0; i < c->n_peers; i++)
                for (size_t k = 0; k < c->peers[i].n_allowed_ips; k++)
                        if (c->peers[i].allowed_ips[k].prefixlen == 0)
                                return true;
        return false;
}
