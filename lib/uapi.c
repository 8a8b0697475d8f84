/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "uapi.h"

/* ---- formatting ---- */

typedef struct Buf {
        char *p;
        size_t n, alloc;
        int err;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
        if (b->err < 0)
                return b->err;
        if (b->n + extra + 1 <= b->alloc)
                return 0;
        size_t a = b->alloc ? b->alloc : 256;
        while (a < b->n + extra + 1) {
                if (a > SIZE_MAX / 2)
                        return (b->err = -ENOMEM);
                a *= 2;
        }
        /* no realloc: the old buffer holds secrets and must be wiped */
        char *p = malloc(a);
        if (!p)
                return (b->err = -ENOMEM);
        if (b->p) {
                memcpy(p, b->p, b->n);
                wg_wipe_free(b->p, b->alloc);
        }
        b->p = p;
        b->alloc = a;
        return 0;
}

_printf_(2, 3) static void buf_printf(Buf *b, const char *fmt, ...) {
        char tmp[128];
        va_list ap;

        va_start(ap, fmt);
        int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t) k >= sizeof(tmp)) {
                b->err = -EINVAL;
                return;
        }
        if (buf_reserve(b, (size_t) k) < 0)
                return;
        memcpy(b->p + b->n, tmp, (size_t) k + 1);
        b->n += (size_t) k;
}

static void buf_key(Buf *b, const char *name, const uint8_t key[WG_KEY_LEN]) {
        static const char hex[] = "0123456789abcdef";
        size_t l = strlen(name);

        if (buf_reserve(b, l + 1 + 2 * WG_KEY_LEN + 1) < 0)
                return;
        memcpy(b->p + b->n, name, l);
        b->n += l;
        b->p[b->n++] = '=';
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                b->p[b->n++] = hex[key[i] >> 4];
                b->p[b->n++] = hex[key[i] & 15];
        }
        b->p[b->n++] = '\n';
        b->p[b->n] = 0;
}

const char *uapi_format_get(void) {
        return "get=1\n\n";
}

int uapi_format_set(const WgDevice *d, char **ret, size_t *ret_len) {
        Buf b = { 0 };
        size_t estimate = 128;

        if (!d || !ret)
                return -EINVAL;
        for (size_t i = 0; i < d->n_peers; i++)
                estimate += 300 + d->peers[i].n_allowed_ips * 60;
        if (buf_reserve(&b, estimate) < 0)
                return b.err;

        buf_printf(&b, "set=1\n");
        if (d->flags & WGDEVICE_HAS_PRIVATE_KEY)
                buf_key(&b, "private_key", d->private_key);
        if (d->flags & WGDEVICE_HAS_LISTEN_PORT)
                buf_printf(&b, "listen_port=%u\n", d->listen_port);
        if (d->flags & WGDEVICE_HAS_FWMARK)
                buf_printf(&b, "fwmark=%" PRIu32 "\n", d->fwmark);
        if (d->flags & WGDEVICE_REPLACE_PEERS)
                buf_printf(&b, "replace_peers=true\n");

        for (size_t i = 0; i < d->n_peers && b.err >= 0; i++) {
                const WgPeer *p = &d->peers[i];

                buf_key(&b, "public_key", p->public_key);
                if (p->flags & WGPEER_REMOVE_ME) {
                        buf_printf(&b, "remove=true\n");
                        continue;
                }
                if (p->flags & WGPEER_UPDATE_ONLY)
                        buf_printf(&b, "update_only=true\n");
                if (p->flags & WGPEER_HAS_PRESHARED_KEY)
                        buf_key(&b, "preshared_key", p->preshared_key);
                if (p->flags & WGPEER_HAS_ENDPOINT) {
                        char ep[WG_ENDPOINT_STRLEN];
                        if (p->endpoint.sa.sa_family != AF_INET && p->endpoint.sa.sa_family != AF_INET6) {
                                b.err = -EINVAL;
                                break;
                        }
                        buf_printf(&b, "endpoint=%s\n", wg_endpoint_to_string(&p->endpoint, ep));
                }
                if (p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE)
                        buf_printf(&b, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
                if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
                        buf_printf(&b, "replace_allowed_ips=true\n");
                for (size_t j = 0; j < p->n_allowed_ips; j++) {
                        const IpPrefix *a = &p->allowed_ips[j];
                        char s[IP_PREFIX_STRLEN];
                        if ((a->family != AF_INET && a->family != AF_INET6) ||
                            a->prefixlen > ip_family_bits(a->family)) {
                                b.err = -EINVAL;
                                break;
                        }
                        buf_printf(&b, "allowed_ip=%s\n", ip_prefix_to_string(a, s));
                }
        }
        buf_printf(&b, "\n");

        if (b.err < 0) {
                if (b.p)
                        wg_wipe_free(b.p, b.alloc);
                return b.err;
        }
        if (ret_len)
                *ret_len = b.n;
        *ret = b.p;
        return 0;
}

/* ---- parsing ---- */

_printf_(3, 4) static int fail(UapiError *e, unsigned line, const char *fmt, ...) {
        if (e) {
                va_list ap;
                int k;

                e->line = line;
                k = snprintf(e->message, sizeof(e->message), "line %u: ", line);
                va_start(ap, fmt);
                vsnprintf(e->message + k, sizeof(e->message) - (size_t) k, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* Copy at most 48 characters of untrusted text for a message, unprintables as '?'. */
static const char *quote(char out[52], const char *s, size_t n) {
        /* Never past the line, and never past a secret's name: a value after it (whatever
         * the separator) could be a key. */
        const char *nl = memchr(s, '\n', n);
        if (nl)
                n = (size_t) (nl - s);
        for (size_t i = 0; i < n; i++) {
                if (n - i >= 11 && memcmp(s + i, "private_key", 11) == 0) {
                        n = i + 11;
                        break;
                }
                if (n - i >= 13 && memcmp(s + i, "preshared_key", 13) == 0) {
                        n = i + 13;
                        break;
                }
        }
        /* Nor past 8 hex digits in a row: a key's digits under a name garbled beyond
         * recognition are still a key's. */
        size_t m = MIN(n, (size_t) 48), i, run = 0;
        for (i = 0; i < m; i++) {
                bool hex = (s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f');
                run = hex ? run + 1 : 0;
                if (run > 8) {
                        n = m + 1;      /* ends with "..." */
                        break;
                }
                out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        }
        if (n > m || i < m)
                for (size_t k = 0; k < 3; k++)
                        out[i++] = '.';
        out[i] = 0;
        return out;
}

/* Known keys in the wrong section are a broken reply; unknown ones are another
 * implementation's additions. */
static bool key_in(const char *k, size_t kn, const char *const *list) {
        for (; *list; list++)
                if (strlen(*list) == kn && memcmp(k, *list, kn) == 0)
                        return true;
        return false;
}

static bool is_device_key(const char *k, size_t kn) {
        static const char *const keys[] = { "private_key", "listen_port", "fwmark", "own_public_key", NULL };
        return key_in(k, kn, keys);
}

/* What a reply may not hold: the keys of a set request, and names that no implementation
 * uses (only [a-z0-9_]). */
static const char *bad_unknown_key(const char *k, size_t kn) {
        static const char *const set_only[] = { "get", "set", "remove", "update_only", "replace_peers",
                                                "replace_allowed_ips", NULL };
        if (key_in(k, kn, set_only))
                return "key of a set request";
        for (size_t i = 0; i < kn; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return "invalid key";
        return NULL;
}

static bool is_peer_key(const char *k, size_t kn) {
        static const char *const keys[] = { "preshared_key", "protocol_version", "endpoint", "last_handshake_time_sec",
                                            "last_handshake_time_nsec", "tx_bytes", "rx_bytes",
                                            "persistent_keepalive_interval", "allowed_ip", NULL };
        return key_in(k, kn, keys);
}

/* One hex digit, without branches (the digits of keys are random, so a branch per digit
 * is mispredicted about every third time): sets *bad for anything but [0-9a-fA-F]. */
static inline unsigned hex_nibble(unsigned char c, unsigned *bad) {
        unsigned digit = (unsigned) (c - '0') < 10;
        unsigned letter = (unsigned) ((c | 0x20) - 'a') < 6;
        *bad |= !(digit | letter);
        return (c & 0xfu) + 9u * (c >> 6);
}

static int parse_hex_key(const char *s, size_t n, uint8_t ret[WG_KEY_LEN]) {
        uint8_t k[WG_KEY_LEN];
        unsigned bad = 0;

        if (n != 2 * WG_KEY_LEN)
                return -EINVAL;
        for (size_t i = 0; i < WG_KEY_LEN; i++)
                k[i] = (uint8_t) (hex_nibble((unsigned char) s[2 * i], &bad) << 4 |
                                  hex_nibble((unsigned char) s[2 * i + 1], &bad));
        if (!bad)
                memcpy(ret, k, WG_KEY_LEN);
        wg_wipe(k, sizeof(k));
        return bad ? -EINVAL : 0;
}

/* Decimal, no sign, no leading zero except "0" itself, at most max. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                unsigned dgt = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - dgt) / 10)
                        return -EINVAL;
                v = v * 10 + dgt;
        }
        if (v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

enum {
        SEEN_PRIVATE_KEY = 1u << 0,
        SEEN_LISTEN_PORT = 1u << 1,
        SEEN_FWMARK = 1u << 2,

        SEEN_PRESHARED_KEY = 1u << 0,
        SEEN_PROTOCOL_VERSION = 1u << 1,
        SEEN_ENDPOINT = 1u << 2,
        SEEN_HANDSHAKE_SEC = 1u << 3,
        SEEN_HANDSHAKE_NSEC = 1u << 4,
        SEEN_TX = 1u << 5,
        SEEN_RX = 1u << 6,
        SEEN_KEEPALIVE = 1u << 7,
};

typedef struct PeerState {
        unsigned seen;
        unsigned line;               /* of its public_key */
        uint64_t hs_sec, hs_nsec;
} PeerState;

static int finish_peer(WgPeer *p, PeerState *st, UapiError *e, unsigned line) {
        if (!p)
                return 0;
        if (st->hs_sec > (UINT64_MAX - st->hs_nsec / 1000) / 1000000)
                return fail(e, line, "last handshake time of the peer of line %u out of range", st->line);
        p->last_handshake_usec = st->hs_sec * 1000000 + st->hs_nsec / 1000;
        return 0;
}

/* A constant-size memcmp, which the compiler inlines: the key names are literals. */
#define KEY_IS(k, kn, name) ((kn) == sizeof(name) - 1 && memcmp((k), (name), sizeof(name) - 1) == 0)

/* The first peer whose public key equals that of peer i, or i: an open-addressing table of
 * peer indexes, hashed on the key's first 8 bytes (random for real keys; a table of
 * colliding keys only makes it slower). */
typedef struct KeySet {
        uint32_t *slots;             /* peer index + 1, 0 = empty */
        size_t mask;
} KeySet;

static int key_set_init(KeySet *set, size_t n) {
        size_t size = 64;
        while (size < 2 * n)
                size *= 2;
        set->slots = calloc(size, sizeof(uint32_t));
        set->mask = size - 1;
        return set->slots ? 0 : -ENOMEM;
}

static size_t key_set_add(KeySet *set, const WgDevice *d, size_t i) {
        uint64_t h;
        memcpy(&h, d->peers[i].public_key, sizeof(h));
        for (size_t s = (size_t) (h * UINT64_C(0x9e3779b97f4a7c15) >> 32) & set->mask;; s = (s + 1) & set->mask) {
                if (set->slots[s] == 0) {
                        set->slots[s] = (uint32_t) i + 1;
                        return i;
                }
                if (memcmp(d->peers[set->slots[s] - 1].public_key, d->peers[i].public_key, WG_KEY_LEN) == 0)
                        return set->slots[s] - 1;
        }
}

int uapi_parse_get_reply(const char *buf, size_t len, const char *ifname, WgDevice **ret, UapiError *ret_error) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        _cleanup_(freep) unsigned *peer_lines = NULL;
        size_t peer_lines_alloc = 0;
        unsigned dev_seen = 0, line = 0;
        PeerState st = { 0 };
        WgPeer *p = NULL;
        bool got_errno = false;
        uint64_t err_no = 0;
        const char *why;
        size_t pos = 0;
        char q[52];
        int r;

        if (!buf || !ret)
                return -EINVAL;
        r = wg_device_new(ifname ? ifname : "unknown", &d);
        if (r < 0)
                return r;
        const char *nul = memchr(buf, 0, len);   /* one scan instead of one per line */

        for (;;) {
                line++;
                if (pos >= len)
                        return fail(ret_error, line, "reply ends without an empty line");
                const char *l = buf + pos;
                const char *nl = memchr(l, '\n', len - pos);
                if (!nl)
                        return fail(ret_error, line, "line not terminated: '%s'", quote(q, l, len - pos));
                size_t n = (size_t) (nl - l);
                pos += n + 1;
                if (nul && nul < nl)
                        return fail(ret_error, line, "NUL byte in line");

                if (n == 0) {
                        if (!got_errno)
                                return fail(ret_error, line, "empty line before errno");
                        if (pos != len)
                                return fail(ret_error, line + 1, "data after the end of the reply");
                        break;
                }
                if (got_errno)
                        return fail(ret_error, line, "line after errno: '%s'", quote(q, l, n));

                const char *eq = memchr(l, '=', n);
                if (!eq || eq == l)
                        return fail(ret_error, line, "not a key=value line: '%s'", quote(q, l, n));
                const char *k = l, *v = eq + 1;
                size_t kn = (size_t) (eq - l), vn = n - kn - 1;
                uint64_t u;

                if (KEY_IS(k, kn, "errno")) {
                        bool neg = vn > 0 && v[0] == '-';
                        if (parse_uint(v + neg, vn - neg, 4095, &u) < 0 || (neg && u == 0))
                                return fail(ret_error, line, "invalid errno '%s'", quote(q, v, vn));
                        r = finish_peer(p, &st, ret_error, line);
                        if (r < 0)
                                return r;
                        got_errno = true;
                        err_no = u;
                } else if (KEY_IS(k, kn, "public_key")) {
                        uint8_t key[WG_KEY_LEN];
                        if (parse_hex_key(v, vn, key) < 0)
                                return fail(ret_error, line, "invalid public_key (not 64 hex digits)");
                        r = finish_peer(p, &st, ret_error, line);
                        if (r < 0)
                                return r;
                        p = wg_device_add_peer(d, key);
                        if (!p)
                                return -ENOMEM;
                        st = (PeerState) { .line = line };
                        if (d->n_peers > peer_lines_alloc) {
                                size_t na = MAX(peer_lines_alloc * 2, (size_t) 64);
                                void *a = realloc(peer_lines, na * sizeof(unsigned));
                                if (!a)
                                        return -ENOMEM;
                                peer_lines = a;
                                peer_lines_alloc = na;
                        }
                        peer_lines[d->n_peers - 1] = line;
                } else if (!p) {
                        /* device section */
                        if (KEY_IS(k, kn, "private_key")) {
                                if (dev_seen & SEEN_PRIVATE_KEY)
                                        return fail(ret_error, line, "duplicate private_key");
                                if (parse_hex_key(v, vn, d->private_key) < 0)
                                        return fail(ret_error, line, "invalid private_key (not 64 hex digits)");
                                dev_seen |= SEEN_PRIVATE_KEY;
                                d->flags |= WGDEVICE_HAS_PRIVATE_KEY;
                        } else if (KEY_IS(k, kn, "listen_port")) {
                                if (dev_seen & SEEN_LISTEN_PORT)
                                        return fail(ret_error, line, "duplicate listen_port");
                                if (parse_uint(v, vn, UINT16_MAX, &u) < 0)
                                        return fail(ret_error, line, "invalid listen_port '%s'", quote(q, v, vn));
                                dev_seen |= SEEN_LISTEN_PORT;
                                d->listen_port = (uint16_t) u;
                                d->flags |= WGDEVICE_HAS_LISTEN_PORT;
                        } else if (KEY_IS(k, kn, "fwmark")) {
                                if (dev_seen & SEEN_FWMARK)
                                        return fail(ret_error, line, "duplicate fwmark");
                                if (parse_uint(v, vn, UINT32_MAX, &u) < 0)
                                        return fail(ret_error, line, "invalid fwmark '%s'", quote(q, v, vn));
                                dev_seen |= SEEN_FWMARK;
                                d->fwmark = (uint32_t) u;
                                d->flags |= WGDEVICE_HAS_FWMARK;
                        } else if (KEY_IS(k, kn, "own_public_key")) {
                                /* boringtun reports this instead of the private key. */
                                if (parse_hex_key(v, vn, d->public_key) < 0)
                                        return fail(ret_error, line, "invalid own_public_key (not 64 hex digits)");
                                d->flags |= WGDEVICE_HAS_PUBLIC_KEY;
                        } else if (is_peer_key(k, kn))
                                return fail(ret_error, line, "misplaced peer key '%s' before any public_key",
                                            quote(q, k, kn));
                        else if ((why = bad_unknown_key(k, kn)))
                                return fail(ret_error, line, "%s '%s'", why, quote(q, k, kn));
                        /* Other keys (an implementation's own) are skipped, as wg(8) does. */
                } else {
                        /* peer section */
                        unsigned bit;
                        if (KEY_IS(k, kn, "preshared_key")) {
                                bit = SEEN_PRESHARED_KEY;
                                if (!(st.seen & bit) && parse_hex_key(v, vn, p->preshared_key) < 0)
                                        return fail(ret_error, line, "invalid preshared_key (not 64 hex digits)");
                                p->flags |= WGPEER_HAS_PRESHARED_KEY;
                        } else if (KEY_IS(k, kn, "protocol_version")) {
                                bit = SEEN_PROTOCOL_VERSION;
                                if (vn != 1 || v[0] != '1')
                                        return fail(ret_error, line, "unsupported protocol_version '%s'", quote(q, v, vn));
                        } else if (KEY_IS(k, kn, "endpoint")) {
                                char s[WG_ENDPOINT_STRLEN];
                                bit = SEEN_ENDPOINT;
                                if (vn >= sizeof(s))
                                        return fail(ret_error, line, "invalid endpoint '%s'", quote(q, v, vn));
                                memcpy(s, v, vn);
                                s[vn] = 0;
                                /* A zone whose interface is gone (unplugged) leaves the
                                 * endpoint without one, not the whole reply refused. */
                                int e = st.seen & bit ? 0 : wg_endpoint_parse(s, &p->endpoint);
                                /* Nor does one the parser refuses (port 0, a roamed-to
                                 * address it cannot print back): one peer's endpoint is no
                                 * reason to refuse the whole device. */
                                if (e < 0 && e != -ENODEV)
                                        p->endpoint = (WgEndpoint) {0};
                                else
                                        p->flags |= WGPEER_HAS_ENDPOINT;
                        } else if (KEY_IS(k, kn, "last_handshake_time_sec")) {
                                bit = SEEN_HANDSHAKE_SEC;
                                if (parse_uint(v, vn, UINT64_MAX, &st.hs_sec) < 0)
                                        return fail(ret_error, line, "invalid last_handshake_time_sec '%s'", quote(q, v, vn));
                        } else if (KEY_IS(k, kn, "last_handshake_time_nsec")) {
                                bit = SEEN_HANDSHAKE_NSEC;
                                if (parse_uint(v, vn, 999999999, &st.hs_nsec) < 0)
                                        return fail(ret_error, line, "invalid last_handshake_time_nsec '%s'", quote(q, v, vn));
                        } else if (KEY_IS(k, kn, "tx_bytes")) {
                                bit = SEEN_TX;
                                if (parse_uint(v, vn, UINT64_MAX, &p->tx_bytes) < 0)
                                        return fail(ret_error, line, "invalid tx_bytes '%s'", quote(q, v, vn));
                        } else if (KEY_IS(k, kn, "rx_bytes")) {
                                bit = SEEN_RX;
                                if (parse_uint(v, vn, UINT64_MAX, &p->rx_bytes) < 0)
                                        return fail(ret_error, line, "invalid rx_bytes '%s'", quote(q, v, vn));
                        } else if (KEY_IS(k, kn, "persistent_keepalive_interval")) {
                                bit = SEEN_KEEPALIVE;
                                if (parse_uint(v, vn, UINT16_MAX, &u) < 0)
                                        return fail(ret_error, line, "invalid persistent_keepalive_interval '%s'", quote(q, v, vn));
                                p->persistent_keepalive = (uint16_t) u;
                                p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
                        } else if (KEY_IS(k, kn, "allowed_ip")) {
                                IpPrefix a;
                                if (ip_prefix_parse_n(v, vn, false, &a) < 0)
                                        return fail(ret_error, line, "invalid allowed_ip '%s'", quote(q, v, vn));
                                r = wg_peer_add_allowed_ip(p, &a);
                                if (r < 0)
                                        return r;
                                continue;
                        } else if (is_device_key(k, kn))
                                return fail(ret_error, line, "misplaced device key '%s' in a peer", quote(q, k, kn));
                        else if ((why = bad_unknown_key(k, kn)))
                                return fail(ret_error, line, "%s '%s'", why, quote(q, k, kn));
                        else
                                continue;       /* another implementation's key, as wg(8) does */
                        if (st.seen & bit)
                                return fail(ret_error, line, "duplicate '%s' for the peer of line %u", quote(q, k, kn), st.line);
                        st.seen |= bit;
                }
        }

        if (err_no != 0)
                return -(int) err_no;

        if (d->n_peers > 1) {
                if (d->n_peers > UINT32_MAX - 1)
                        return -E2BIG;
                KeySet set;
                r = key_set_init(&set, d->n_peers);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < d->n_peers; i++) {
                        size_t j = key_set_add(&set, d, i);
                        if (j != i) {
                                free(set.slots);
                                return fail(ret_error, peer_lines[i], "public_key repeats the peer of line %u", peer_lines[j]);
                        }
                }
                free(set.slots);
        }

        if ((d->flags & WGDEVICE_HAS_PRIVATE_KEY) && !wg_key_is_zero(d->private_key)) {
                if (wg_key_public_from_private(d->public_key, d->private_key) >= 0)
                        d->flags |= WGDEVICE_HAS_PUBLIC_KEY;
        }

        *ret = TAKE_PTR(d);
        return 0;
}

int uapi_parse_set_reply(const char *buf, size_t len, UapiError *ret_error) {
        char q[52];
        uint64_t u;

        if (!buf)
                return -EINVAL;
        if (len < 8 || memcmp(buf, "errno=", 6) != 0)
                return fail(ret_error, 1, "expected errno=N: '%s'", quote(q, buf, len));
        const char *v = buf + 6;
        const char *nl = memchr(v, '\n', len - 6);
        if (!nl)
                return fail(ret_error, 1, "line not terminated: '%s'", quote(q, buf, len));
        size_t vn = (size_t) (nl - v);
        bool neg = vn > 0 && v[0] == '-';
        if (parse_uint(v + neg, vn - neg, 4095, &u) < 0 || (neg && u == 0))
                return fail(ret_error, 1, "invalid errno '%s'", quote(q, v, vn));
        size_t rest = len - (size_t) (nl + 1 - buf);
        if (rest == 0)
                return fail(ret_error, 2, "reply ends without an empty line");
        if (nl[1] != '\n')
                return fail(ret_error, 2, "line after errno: '%s'", quote(q, nl + 1, rest));
        if (rest != 1)
                return fail(ret_error, 3, "data after the end of the reply");
        return -(int) u;
}

bool uapi_reply_complete(const char *buf, size_t len) {
        return len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n';
}
