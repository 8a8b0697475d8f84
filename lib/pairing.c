/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sodium.h>

#include "macro.h"
#include "pairing.h"
#include "wgdevice.h"

#define CHECK_LEN 4
/* kind + id + expires + two keys + three counts + check */
#define BODY_MIN (1 + PAIRING_ID_LEN + 8 + 2 * WG_KEY_LEN + 3 + CHECK_LEN)
#define BODY_MAX (BODY_MIN + PAIRING_ENDPOINT_MAX + (PAIRING_MAX_ADDRESSES + PAIRING_MAX_NETWORKS) * 18)

void pairing_wipe(Pairing *p) {
        wg_wipe(p, sizeof(*p));
}

void pairing_id_to_hex(const uint8_t id[PAIRING_ID_LEN], char ret[PAIRING_ID_HEX_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < PAIRING_ID_LEN; i++) {
                ret[2 * i] = hex[id[i] >> 4];
                ret[2 * i + 1] = hex[id[i] & 15];
        }
        ret[PAIRING_ID_HEX_LEN] = 0;
}

int pairing_id_from_hex(const char *s, uint8_t ret[PAIRING_ID_LEN]) {
        size_t len = 0;
        const char *end = NULL;
        if (strlen(s) != PAIRING_ID_HEX_LEN ||
            sodium_hex2bin(ret, PAIRING_ID_LEN, s, PAIRING_ID_HEX_LEN, NULL, &len, &end) != 0 ||
            len != PAIRING_ID_LEN || *end)
                return -EBADMSG;
        return 0;
}

int pairing_peer_address(const IpPrefix *local, IpPrefix *ret) {
        size_t bits = ip_family_bits(local->family);
        size_t len = bits / 8;
        IpPrefix peer = *local;

        if ((local->family != AF_INET && local->family != AF_INET6) || local->prefixlen >= bits ||
            local->prefixlen == 0)
                return -EINVAL;
        if (local->prefixlen == bits - 1) {
                peer.addr.bytes[len - 1] ^= 1;
                *ret = peer;
                return 0;
        }
        /* The host part must be exactly 1 or 2. */
        IpPrefix host = *local;
        ip_prefix_mask(&host);
        for (size_t i = 0; i < len; i++)
                host.addr.bytes[i] ^= local->addr.bytes[i];
        for (size_t i = 0; i + 1 < len; i++)
                if (host.addr.bytes[i] != 0)
                        return -EINVAL;
        uint8_t last = host.addr.bytes[len - 1];
        if (last != 1 && last != 2)
                return -EINVAL;
        peer.addr.bytes[len - 1] ^= 3;          /* 1 <-> 2 */
        *ret = peer;
        return 0;
}

static bool endpoint_is_valid(const char *e) {
        WgEndpoint ep;
        size_t n = strlen(e);
        if (n == 0)
                return true;
        if (n > PAIRING_ENDPOINT_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (e[i] <= ' ' || e[i] > '~')
                        return false;
        return wg_endpoint_parse(e, &ep) >= 0;
}

/* What an invitation must hold beyond the common rules. */
static const char *invitation_check(const Pairing *p) {
        if (p->endpoint[0] == 0)
                return "an invitation needs the coordinator's endpoint";
        if (p->n_tunnel_addresses < 1 || p->n_tunnel_addresses > PAIRING_MAX_ADDRESSES)
                return "an invitation needs 1 or 2 reserved addresses";
        if (p->n_networks < 1 || p->n_networks > PAIRING_MAX_ADDRESSES)
                return "an invitation needs 1 or 2 coordinator addresses";
        for (size_t i = 0; i < p->n_tunnel_addresses; i++) {
                const IpPrefix *a = &p->tunnel_addresses[i];
                if ((a->family != AF_INET && a->family != AF_INET6) || a->prefixlen == 0 ||
                    a->prefixlen >= ip_family_bits(a->family) || !ip_prefix_has_host_bits(a))
                        return "a reserved address is not an address inside a subnet";
                for (size_t k = 0; k < i; k++)
                        if (p->tunnel_addresses[k].family == a->family)
                                return "two reserved addresses of the same family";
        }
        for (size_t i = 0; i < p->n_networks; i++) {
                const IpPrefix *a = &p->networks[i];
                if ((a->family != AF_INET && a->family != AF_INET6) || a->prefixlen != ip_family_bits(a->family))
                        return "a coordinator address is not a /32 or /128";
                for (size_t k = 0; k < i; k++)
                        if (p->networks[k].family == a->family)
                                return "two coordinator addresses of the same family";
        }
        return NULL;
}

/* The rules shared by format and parse. */
static int pairing_check(const Pairing *p, const char **ret_reason) {
        const char *why = NULL;
        static const uint8_t zero_id[PAIRING_ID_LEN];

        if (p->kind != PAIRING_OFFER && p->kind != PAIRING_REPLY && p->kind != PAIRING_INVITATION)
                why = "unknown kind";
        else if (memcmp(p->id, zero_id, PAIRING_ID_LEN) == 0)
                why = "the pairing id is zero";
        else if (p->expires == 0)
                why = "no expiry time";
        else if (wg_key_is_zero(p->public_key))
                why = "the public key is zero";
        else if (wg_key_is_zero(p->preshared_key))
                why = "the preshared key is zero";
        else if (memchr(p->endpoint, 0, sizeof(p->endpoint)) == NULL || !endpoint_is_valid(p->endpoint))
                why = "the endpoint is not an address:port";
        else if (p->n_tunnel_addresses > PAIRING_MAX_ADDRESSES)
                why = "too many tunnel addresses";
        else if (p->n_networks > PAIRING_MAX_NETWORKS)
                why = "too many networks";
        if (!why && p->kind == PAIRING_INVITATION)
                why = invitation_check(p);
        for (size_t i = 0; !why && p->kind != PAIRING_INVITATION && i < p->n_tunnel_addresses; i++) {
                IpPrefix peer;
                const IpPrefix *a = &p->tunnel_addresses[i];
                if ((a->family == AF_INET || a->family == AF_INET6) && !pairing_tunnel_prefix_ok(a))
                        why = "a tunnel address has a prefix shorter than /24 (IPv6 /64)";
                else if (pairing_peer_address(a, &peer) < 0)
                        why = "a tunnel address has no point-to-point peer address";
                for (size_t k = 0; !why && k < i; k++)
                        if (p->tunnel_addresses[k].family == p->tunnel_addresses[i].family)
                                why = "two tunnel addresses of the same family";
        }
        for (size_t i = 0; !why && i < p->n_networks; i++) {
                const IpPrefix *n = &p->networks[i];
                if ((n->family != AF_INET && n->family != AF_INET6) || n->prefixlen > ip_family_bits(n->family))
                        why = "a network is not an IPv4 or IPv6 prefix";
                else if (ip_prefix_has_host_bits(n))
                        why = "a network has host bits set";
                for (size_t k = 0; !why && k < i; k++)
                        if (ip_prefix_overlaps(&p->networks[k], n))
                                why = "two networks overlap";
        }
        if (why) {
                if (ret_reason)
                        *ret_reason = why;
                return -EINVAL;
        }
        return 0;
}

static void put_prefix(uint8_t **w, const IpPrefix *p) {
        size_t len = ip_family_bits(p->family) / 8;
        *(*w)++ = p->family == AF_INET ? 4 : 6;
        *(*w)++ = p->prefixlen;
        memcpy(*w, p->addr.bytes, len);
        *w += len;
}

int pairing_format(const Pairing *p, char **ret) {
        uint8_t body[BODY_MAX], *w = body;
        size_t ep_len = strnlen(p->endpoint, sizeof(p->endpoint));
        int r;

        r = pairing_check(p, NULL);
        if (r < 0)
                return r;
        if (sodium_init() < 0)
                return -EIO;
        *w++ = (uint8_t) p->kind;
        memcpy(w, p->id, PAIRING_ID_LEN);
        w += PAIRING_ID_LEN;
        for (int i = 7; i >= 0; i--)
                *w++ = (uint8_t) (p->expires >> (8 * i));
        memcpy(w, p->public_key, WG_KEY_LEN);
        w += WG_KEY_LEN;
        memcpy(w, p->preshared_key, WG_KEY_LEN);
        w += WG_KEY_LEN;
        *w++ = (uint8_t) ep_len;
        memcpy(w, p->endpoint, ep_len);
        w += ep_len;
        *w++ = (uint8_t) p->n_tunnel_addresses;
        for (size_t i = 0; i < p->n_tunnel_addresses; i++)
                put_prefix(&w, &p->tunnel_addresses[i]);
        *w++ = (uint8_t) p->n_networks;
        for (size_t i = 0; i < p->n_networks; i++)
                put_prefix(&w, &p->networks[i]);
        uint8_t hash[crypto_generichash_BYTES];
        crypto_generichash(hash, sizeof(hash), body, (size_t) (w - body), NULL, 0);
        memcpy(w, hash, CHECK_LEN);
        w += CHECK_LEN;

        size_t body_len = (size_t) (w - body);
        size_t b64_size = sodium_base64_ENCODED_LEN(body_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *s = malloc(strlen(PAIRING_PREFIX) + b64_size);
        if (!s) {
                wg_wipe(body, sizeof(body));
                return -ENOMEM;
        }
        strcpy(s, PAIRING_PREFIX);
        sodium_bin2base64(s + strlen(PAIRING_PREFIX), b64_size, body, body_len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        wg_wipe(body, sizeof(body));
        *ret = s;
        return 0;
}

typedef struct Reader {
        const uint8_t *p, *end;
} Reader;

static bool take(Reader *r, void *out, size_t n) {
        if ((size_t) (r->end - r->p) < n)
                return false;
        memcpy(out, r->p, n);
        r->p += n;
        return true;
}

static bool take_prefix(Reader *r, IpPrefix *ret) {
        uint8_t fam, len;
        IpPrefix p = {0};
        if (!take(r, &fam, 1) || !take(r, &len, 1))
                return false;
        if (fam == 4)
                p.family = AF_INET;
        else if (fam == 6)
                p.family = AF_INET6;
        else
                return false;
        if (len > ip_family_bits(p.family))
                return false;
        p.prefixlen = len;
        if (!take(r, p.addr.bytes, ip_family_bits(p.family) / 8))
                return false;
        *ret = p;
        return true;
}

static int fail(const char **ret_reason, const char *why) {
        if (ret_reason)
                *ret_reason = why;
        return -EINVAL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_kinds(const char *s, Pairing *ret, const char **ret_reason, bool invitation) {
        uint8_t body[BODY_MAX];
        size_t len, body_len;
        const char *b64_end;
        Pairing p = {0};
        uint8_t n, kind;
        int r = -EINVAL;

        if (!s)
                return fail(ret_reason, "empty");
        len = strnlen(s, PAIRING_STRING_MAX + 1);
        if (len > PAIRING_STRING_MAX)
                return fail(ret_reason, "too long");
        while (len > 0 && is_space(*s)) {
                s++;
                len--;
        }
        while (len > 0 && is_space(s[len - 1]))
                len--;
        if (len == 0)
                return fail(ret_reason, "empty");
        if (len < strlen(PAIRING_PREFIX) || strncmp(s, PAIRING_PREFIX, strlen(PAIRING_PREFIX)) != 0)
                return fail(ret_reason, strncmp(s, "wgnet-pair:", MIN(len, strlen("wgnet-pair:"))) == 0 &&
                                        len > strlen("wgnet-pair:")
                                        ? "unsupported version (expected wgnet-pair:1:)"
                                        : "does not start with wgnet-pair:1:");
        s += strlen(PAIRING_PREFIX);
        len -= strlen(PAIRING_PREFIX);
        if (sodium_init() < 0)
                return -EIO;
        if (sodium_base642bin(body, sizeof(body), s, len, NULL, &body_len, &b64_end,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || b64_end != s + len) {
                r = fail(ret_reason, "not base64url text, or too long");
                goto finish;
        }
        if (body_len < BODY_MIN) {
                r = fail(ret_reason, "truncated");
                goto finish;
        }
        uint8_t hash[crypto_generichash_BYTES];
        crypto_generichash(hash, sizeof(hash), body, body_len - CHECK_LEN, NULL, 0);
        if (sodium_memcmp(hash, body + body_len - CHECK_LEN, CHECK_LEN) != 0) {
                r = fail(ret_reason, "checksum mismatch (damaged or incomplete copy)");
                goto finish;
        }

        Reader rd = { body, body + body_len - CHECK_LEN };
        uint8_t exp[8];
        if (!take(&rd, &kind, 1) || !take(&rd, p.id, PAIRING_ID_LEN) || !take(&rd, exp, 8) ||
            !take(&rd, p.public_key, WG_KEY_LEN) || !take(&rd, p.preshared_key, WG_KEY_LEN) || !take(&rd, &n, 1)) {
                r = fail(ret_reason, "truncated");
                goto finish;
        }
        if (invitation && kind != PAIRING_INVITATION) {
                r = fail(ret_reason, "not a mesh invitation (a tunnel pairing string?)");
                goto finish;
        }
        if (!invitation && kind == PAIRING_INVITATION) {
                r = fail(ret_reason, "unknown kind (a mesh invitation: join the mesh with it)");
                goto finish;
        }
        p.kind = kind;
        for (size_t i = 0; i < 8; i++)
                p.expires = (p.expires << 8) | exp[i];
        if (n > PAIRING_ENDPOINT_MAX || !take(&rd, p.endpoint, n)) {
                r = fail(ret_reason, "bad endpoint length");
                goto finish;
        }
        if (memchr(p.endpoint, 0, n)) {
                r = fail(ret_reason, "the endpoint is not an address:port");
                goto finish;
        }
        if (!take(&rd, &n, 1) || n > PAIRING_MAX_ADDRESSES) {
                r = fail(ret_reason, "bad tunnel address count");
                goto finish;
        }
        p.n_tunnel_addresses = n;
        for (size_t i = 0; i < n; i++)
                if (!take_prefix(&rd, &p.tunnel_addresses[i])) {
                        r = fail(ret_reason, "bad tunnel address");
                        goto finish;
                }
        if (!take(&rd, &n, 1) || n > PAIRING_MAX_NETWORKS) {
                r = fail(ret_reason, "bad network count");
                goto finish;
        }
        p.n_networks = n;
        for (size_t i = 0; i < n; i++)
                if (!take_prefix(&rd, &p.networks[i])) {
                        r = fail(ret_reason, "bad network");
                        goto finish;
                }
        if (rd.p != rd.end) {
                r = fail(ret_reason, "trailing data");
                goto finish;
        }
        r = pairing_check(&p, ret_reason);
        if (r >= 0)
                *ret = p;
finish:
        pairing_wipe(&p);
        wg_wipe(body, sizeof(body));
        return r;
}

int pairing_parse(const char *s, Pairing *ret, const char **ret_reason) {
        return parse_kinds(s, ret, ret_reason, false);
}

int pairing_parse_invitation(const char *s, Pairing *ret, const char **ret_reason) {
        return parse_kinds(s, ret, ret_reason, true);
}
