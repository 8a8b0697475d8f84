/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wg-quick configuration renderer. The output may hold a private key: the buffer is wiped
 * whenever it moves and on failure. It refuses (-EINVAL) any value the parser would not
 * give back unchanged, so that render -> parse -> render is the identity. */

#include <stdarg.h>

#include "macro.h"
#include "wgconf-internal.h"
#include "wgconf.h"

typedef struct Buf {
        char *data;
        size_t len, cap;
        int error;
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
        if (b->error < 0)
                return;
        if (n + 1 > b->cap - b->len) {
                size_t cap = MAX(b->cap * 2, b->len + n + 1);
                cap = MAX(cap, (size_t) 1024);
                char *d = malloc(cap);
                if (!d) {
                        b->error = -ENOMEM;
                        return;
                }
                if (b->data) {
                        memcpy(d, b->data, b->len);
                        wg_wipe_free(b->data, b->cap);
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) {
        buf_put(b, s, strlen(s));
}

_printf_(2, 3)
static void buf_printf(Buf *b, const char *fmt, ...) {
        char tmp[64];
        va_list ap;

        va_start(ap, fmt);
        int r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (r < 0 || (size_t) r >= sizeof(tmp)) {
                b->error = -EINVAL;
                return;
        }
        buf_put(b, tmp, (size_t) r);
}

static void buf_invalid(Buf *b) {
        if (b->error >= 0)
                b->error = -EINVAL;
}

/* "# text": trailing whitespace is dropped, as the parser would. */
static void put_comment(Buf *b, const char *prefix, const char *s) {
        size_t n = strlen(s);

        if (!wgconf_text_valid(s, n)) {
                buf_invalid(b);
                return;
        }
        while (n > 0 && wgconf_is_space(s[n - 1]))
                n--;
        buf_puts(b, "#");
        if (n > 0 || prefix) {
                buf_puts(b, " ");
                if (prefix)
                        buf_puts(b, prefix);
                buf_put(b, s, n);
        }
        buf_puts(b, "\n");
}

static void put_key(Buf *b, const char *name, const uint8_t key[WG_KEY_LEN]) {
        char b64[WG_KEY_B64_SIZE];

        wg_key_to_base64(b64, key);
        buf_puts(b, name);
        buf_puts(b, " = ");
        buf_put(b, b64, WG_KEY_B64_LEN);
        buf_puts(b, "\n");
        wg_wipe(b64, sizeof(b64));
}

static bool prefix_valid(const IpPrefix *p) {
        return (p->family == AF_INET || p->family == AF_INET6) && p->prefixlen <= ip_family_bits(p->family);
}

static void put_prefixes(Buf *b, const char *name, const IpPrefix *l, size_t n) {
        char s[IP_PREFIX_STRLEN];

        if (n == 0)
                return;
        buf_puts(b, name);
        buf_puts(b, " = ");
        for (size_t i = 0; i < n; i++) {
                if (!prefix_valid(&l[i])) {
                        buf_invalid(b);
                        return;
                }
                if (i > 0)
                        buf_puts(b, ", ");
                buf_puts(b, ip_prefix_to_string(&l[i], s));
        }
        buf_puts(b, "\n");
}

static void put_value(Buf *b, const char *name, const char *v, bool (*valid)(const char *s, size_t n)) {
        if (!v || !valid(v, strlen(v))) {
                buf_invalid(b);
                return;
        }
        buf_puts(b, name);
        buf_puts(b, " = ");
        buf_puts(b, v);
        buf_puts(b, "\n");
}

static void put_hooks(Buf *b, const char *name, char *const *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                put_value(b, name, l[i], wgconf_hook_valid);
}

static bool interface_needed(const WgConf *c) {
        return c->has_interface || c->has_private_key || c->private_key_note || c->n_addresses > 0 ||
               c->n_dns > 0 || c->has_listen_port || c->has_mtu || c->has_fwmark || c->table ||
               c->n_pre_up > 0 || c->n_post_up > 0 || c->n_pre_down > 0 || c->n_post_down > 0 ||
               c->save_config >= 0;
}

static void put_interface(Buf *b, const WgConf *c) {
        buf_puts(b, "[Interface]\n");
        if (c->has_private_key)
                put_key(b, "PrivateKey", c->private_key);
        else if (c->private_key_note)
                put_comment(b, NULL, c->private_key_note);

        put_prefixes(b, "Address", c->addresses, c->n_addresses);
        if (c->n_dns > 0) {
                buf_puts(b, "DNS = ");
                for (size_t i = 0; i < c->n_dns; i++) {
                        if (!c->dns[i] || !wgconf_dns_valid(c->dns[i], strlen(c->dns[i]))) {
                                buf_invalid(b);
                                return;
                        }
                        if (i > 0)
                                buf_puts(b, ", ");
                        buf_puts(b, c->dns[i]);
                }
                buf_puts(b, "\n");
        }
        if (c->has_listen_port)
                buf_printf(b, "ListenPort = %u\n", (unsigned) c->listen_port);
        if (c->has_mtu) {
                if (c->mtu < 576 || c->mtu > 65535)
                        buf_invalid(b);
                buf_printf(b, "MTU = %u\n", (unsigned) c->mtu);
        }
        if (c->has_fwmark) {
                if (c->fwmark == 0)
                        buf_puts(b, "FwMark = off\n");
                else
                        buf_printf(b, "FwMark = %u\n", (unsigned) c->fwmark);
        }
        if (c->table)
                put_value(b, "Table", c->table, wgconf_table_valid);
        put_hooks(b, "PreUp", c->pre_up, c->n_pre_up);
        put_hooks(b, "PostUp", c->post_up, c->n_post_up);
        put_hooks(b, "PreDown", c->pre_down, c->n_pre_down);
        put_hooks(b, "PostDown", c->post_down, c->n_post_down);
        if (c->save_config >= 0)
                buf_puts(b, c->save_config ? "SaveConfig = true\n" : "SaveConfig = false\n");
}

static void put_peer(Buf *b, const WgConfPeer *p) {
        buf_puts(b, "[Peer]\n");
        if (!isempty(p->name)) {
                if (!wgconf_name_valid(p->name, strlen(p->name)))
                        buf_invalid(b);
                put_comment(b, "Name = ", p->name);
        }
        put_key(b, "PublicKey", p->public_key);
        if (p->has_preshared_key)
                put_key(b, "PresharedKey", p->preshared_key);
        put_prefixes(b, "AllowedIPs", p->allowed_ips, p->n_allowed_ips);
        if (p->endpoint)
                put_value(b, "Endpoint", p->endpoint, wgconf_endpoint_valid);
        /* 0, not "off": every WireGuard app reads a number */
        if (p->has_persistent_keepalive)
                buf_printf(b, "PersistentKeepalive = %u\n", (unsigned) p->persistent_keepalive);
}

int wgconf_render(const WgConf *c, char **ret) {
        Buf b = { 0 };
        bool first = true;

        if (!c || !ret)
                return -EINVAL;

        for (size_t i = 0; i < c->n_comments; i++) {
                if (!c->comments[i]) {
                        buf_invalid(&b);
                        break;
                }
                put_comment(&b, NULL, c->comments[i]);
                first = false;
        }

        if (interface_needed(c)) {
                if (!first)
                        buf_puts(&b, "\n");
                put_interface(&b, c);
                first = false;
        }

        for (size_t i = 0; i < c->n_peers; i++) {
                if (!first)
                        buf_puts(&b, "\n");
                put_peer(&b, &c->peers[i]);
                first = false;
        }

        buf_put(&b, "", 0);     /* an empty configuration is "" */
        if (b.error < 0) {
                wg_wipe_free(b.data, b.cap);
                return b.error;
        }
        *ret = b.data;
        return 0;
}
