/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict IPv4/IPv6 parsing and RFC 5952 printing. Own parser rather than inet_pton(): the
 * accepted syntax must not depend on the libc (leading zeros, zone ids, etc.). */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "addr.h"
#include "macro.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Exactly "d.d.d.d", each 0..255 in decimal without leading zeros. */
static int parse_ipv4(const char *s, size_t len, uint8_t out[4]) {
        size_t i = 0;

        for (unsigned k = 0; k < 4; k++) {
                if (k > 0) {
                        if (i >= len || s[i] != '.')
                                return -EINVAL;
                        i++;
                }
                size_t start = i;
                unsigned v = 0;
                while (i < len && is_digit(s[i]) && i - start < 3) {
                        v = v * 10 + (unsigned) (s[i] - '0');
                        i++;
                }
                size_t n = i - start;
                if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
                        return -EINVAL;
                out[k] = (uint8_t) v;
        }
        return i == len ? 0 : -EINVAL;
}

/* RFC 4291 section 2.2 text forms: x:x:x:x:x:x:x:x with one optional "::" standing for one or
 * more zero groups, and an optional dotted IPv4 tail taking the last two groups. Each group
 * is 1-4 hex digits. */
static int parse_ipv6(const char *s, size_t len, uint8_t out[16]) {
        uint16_t groups[8] = { 0 };
        unsigned n = 0;           /* groups written */
        int gap = -1;             /* index in groups where "::" stands */
        size_t i = 0;

        if (len >= 2 && s[0] == ':' && s[1] == ':') {
                gap = 0;
                i = 2;
                if (i == len)
                        goto done;
        } else if (len >= 1 && s[0] == ':')
                return -EINVAL;

        for (;;) {
                /* at the start of a group */
                size_t start = i;
                unsigned v = 0;
                while (i < len && hexval(s[i]) >= 0 && i - start < 5) {
                        v = v * 16 + (unsigned) hexval(s[i]);
                        i++;
                }
                if (i < len && s[i] == '.') {
                        /* IPv4 tail: must be the last thing and fit in two groups */
                        uint8_t v4[4];
                        if (n > 6 || parse_ipv4(s + start, len - start, v4) < 0)
                                return -EINVAL;
                        groups[n++] = (uint16_t) (v4[0] << 8 | v4[1]);
                        groups[n++] = (uint16_t) (v4[2] << 8 | v4[3]);
                        i = len;
                        break;
                }
                if (i == start || i - start > 4 || n >= 8)
                        return -EINVAL;
                groups[n++] = (uint16_t) v;
                if (i == len)
                        break;
                if (s[i] != ':')
                        return -EINVAL;
                i++;
                if (i < len && s[i] == ':') {
                        if (gap >= 0)
                                return -EINVAL;
                        gap = (int) n;
                        i++;
                        if (i == len)
                                break;
                } else if (i == len)
                        return -EINVAL;   /* trailing single ':' */
        }

done:
        if (gap < 0) {
                if (n != 8)
                        return -EINVAL;
        } else {
                if (n > 7)
                        return -EINVAL;
                unsigned tail = n - (unsigned) gap;
                memmove(groups + 8 - tail, groups + gap, tail * sizeof(uint16_t));
                for (unsigned k = (unsigned) gap; k < 8 - tail; k++)
                        groups[k] = 0;
        }
        for (unsigned k = 0; k < 8; k++) {
                out[2 * k] = (uint8_t) (groups[k] >> 8);
                out[2 * k + 1] = (uint8_t) groups[k];
        }
        return 0;
}

static int parse_addr_n(const char *s, size_t len, IpPrefix *ret) {
        IpPrefix p = { 0 };

        if (len == 0 || len >= IP_PREFIX_STRLEN)
                return -EINVAL;
        if (memchr(s, ':', len)) {
                if (parse_ipv6(s, len, p.addr.bytes) < 0)
                        return -EINVAL;
                p.family = AF_INET6;
                p.prefixlen = 128;
        } else {
                if (parse_ipv4(s, len, p.addr.bytes) < 0)
                        return -EINVAL;
                p.family = AF_INET;
                p.prefixlen = 32;
        }
        *ret = p;
        return 0;
}

int ip_addr_parse(const char *s, IpPrefix *ret) {
        if (!s || !ret)
                return -EINVAL;
        return parse_addr_n(s, strlen(s), ret);
}

int ip_prefix_parse_n(const char *s, size_t len, bool allow_bare, IpPrefix *ret) {
        IpPrefix p;
        int r;

        if (!s || !ret)
                return -EINVAL;

        const char *slash = memchr(s, '/', len);
        if (!slash) {
                if (!allow_bare)
                        return -EINVAL;
                return parse_addr_n(s, len, ret);
        }

        r = parse_addr_n(s, (size_t) (slash - s), &p);
        if (r < 0)
                return r;

        /* decimal, 1-3 digits, no sign, no leading zero except "0" itself */
        const char *l = slash + 1;
        size_t n = len - (size_t) (l - s);
        if (n == 0 || n > 3 || (n > 1 && l[0] == '0'))
                return -EINVAL;
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(l[i]))
                        return -EINVAL;
                v = v * 10 + (unsigned) (l[i] - '0');
        }
        if (v > ip_family_bits(p.family))
                return -EINVAL;
        p.prefixlen = (uint8_t) v;
        *ret = p;
        return 0;
}

int ip_prefix_parse(const char *s, bool allow_bare, IpPrefix *ret) {
        if (!s)
                return -EINVAL;
        return ip_prefix_parse_n(s, strlen(s), allow_bare, ret);
}

static size_t addr_len(const IpPrefix *p) {
        return p->family == AF_INET ? 4 : 16;
}

static char *print_ipv4(const uint8_t b[4], char *w) {
        return w + sprintf(w, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/* RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero
 * groups as "::" (the first one on a tie), IPv4-mapped addresses with a dotted tail. */
static char *print_ipv6(const uint8_t b[16], char *w) {
        uint16_t g[8];
        for (unsigned k = 0; k < 8; k++)
                g[k] = (uint16_t) (b[2 * k] << 8 | b[2 * k + 1]);

        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        if (memcmp(b, mapped, sizeof(mapped)) == 0) {
                w += sprintf(w, "::ffff:");
                return print_ipv4(b + 12, w);
        }

        int best = -1, best_len = 0;
        for (int k = 0; k < 8;) {
                if (g[k] != 0) {
                        k++;
                        continue;
                }
                int j = k;
                while (j < 8 && g[j] == 0)
                        j++;
                if (j - k > best_len) {
                        best = k;
                        best_len = j - k;
                }
                k = j;
        }
        if (best_len < 2)
                best = -1;

        for (int k = 0; k < 8; k++) {
                if (k == best) {
                        *w++ = ':';
                        *w++ = ':';
                        k += best_len - 1;
                        continue;
                }
                if (k > 0 && k != best + best_len)
                        *w++ = ':';
                w += sprintf(w, "%x", g[k]);
        }
        *w = 0;
        return w;
}

static char *print_addr(const IpPrefix *p, char *w) {
        if (p->family == AF_INET)
                return print_ipv4(p->addr.bytes, w);
        return print_ipv6(p->addr.bytes, w);
}

const char *ip_addr_to_string(const IpPrefix *p, char buf[IP_PREFIX_STRLEN]) {
        print_addr(p, buf);
        return buf;
}

const char *ip_prefix_to_string(const IpPrefix *p, char buf[IP_PREFIX_STRLEN]) {
        char *w = print_addr(p, buf);
        sprintf(w, "/%u", p->prefixlen);
        return buf;
}

/* The mask byte for byte i of an address under a prefix length. */
static uint8_t mask_byte(unsigned prefixlen, size_t i) {
        if (prefixlen >= (i + 1) * 8)
                return 0xff;
        if (prefixlen <= i * 8)
                return 0;
        return (uint8_t) (0xff << (8 - (prefixlen - i * 8)));
}

void ip_prefix_mask(IpPrefix *p) {
        for (size_t i = 0; i < addr_len(p); i++)
                p->addr.bytes[i] &= mask_byte(p->prefixlen, i);
}

bool ip_prefix_has_host_bits(const IpPrefix *p) {
        for (size_t i = 0; i < addr_len(p); i++)
                if (p->addr.bytes[i] & (uint8_t) ~mask_byte(p->prefixlen, i))
                        return true;
        return false;
}

IpPrefix ip_prefix_host(const IpPrefix *p) {
        IpPrefix h = *p;
        h.prefixlen = (uint8_t) ip_family_bits(p->family);
        return h;
}

bool ip_prefix_equal(const IpPrefix *a, const IpPrefix *b) {
        return ip_prefix_compare(a, b) == 0;
}

int ip_prefix_compare(const IpPrefix *a, const IpPrefix *b) {
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        int r = memcmp(a->addr.bytes, b->addr.bytes, addr_len(a));
        if (r != 0)
                return r < 0 ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        return 0;
}

/* Are the first prefixlen bits of a and b equal? */
static bool same_bits(const IpPrefix *a, const IpPrefix *b, unsigned prefixlen) {
        for (size_t i = 0; i < addr_len(a); i++) {
                uint8_t m = mask_byte(prefixlen, i);
                if ((a->addr.bytes[i] & m) != (b->addr.bytes[i] & m))
                        return false;
        }
        return true;
}

bool ip_prefix_contains(const IpPrefix *net, const IpPrefix *p) {
        return net->family == p->family &&
                p->prefixlen >= net->prefixlen &&
                same_bits(net, p, net->prefixlen);
}

bool ip_prefix_overlaps(const IpPrefix *a, const IpPrefix *b) {
        return a->family == b->family && same_bits(a, b, MIN(a->prefixlen, b->prefixlen));
}

size_t ip_prefix_exclude(const IpPrefix *from, const IpPrefix *hole, IpPrefix *out) {
        IpPrefix h = *hole;
        ip_prefix_mask(&h);
        if (!ip_prefix_overlaps(from, &h)) {
                out[0] = *from;
                return 1;
        }
        if (ip_prefix_contains(&h, from))
                return 0;
        /* hole lies inside from: for each bit between the two lengths, the half that does
         * not hold the hole */
        size_t n = 0;
        for (unsigned bit = from->prefixlen; bit < h.prefixlen; bit++) {
                IpPrefix q = h;
                q.addr.bytes[bit / 8] ^= (uint8_t) (0x80u >> (bit % 8));
                q.prefixlen = (uint8_t) (bit + 1);
                ip_prefix_mask(&q);
                out[n++] = q;
        }
        return n;
}

bool ip_addr_is_v4_mapped(const IpPrefix *p) {
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        return p->family == AF_INET6 && memcmp(p->addr.bytes, mapped, sizeof(mapped)) == 0;
}
