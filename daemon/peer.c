/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "bus-util.h"
#include "db.h"
#include "hashmap.h"
#include "manager.h"
#include "mesh.h"
#include "network.h"
#include "peer.h"
#include "rotation.h"
#include "wgconf.h"
#include "wgnet-error.h"

static const char *const peer_role_table[_PEER_ROLE_MAX] = {
        [PEER_ROLE_CLIENT] = "client",
        [PEER_ROLE_SITE_GATEWAY] = "site-gateway",
};

const char *peer_role_to_string(PeerRole r) {
        return r >= 0 && r < _PEER_ROLE_MAX ? peer_role_table[r] : NULL;
}

int peer_role_from_string(const char *s) {
        for (int i = 0; s && i < _PEER_ROLE_MAX; i++)
                if (streq(peer_role_table[i], s))
                        return i;
        return -EINVAL;
}

int peer_new(Network *n, uint64_t id, const char *name, Peer **ret) {
        _cleanup_(peer_freep) Peer *p = calloc(1, sizeof(Peer));

        if (!p)
                return -ENOMEM;
        p->network = n;
        p->id = id;
        p->name = strdup(name);
        p->email = strdup("");
        p->endpoint = strdup("");
        p->remote_endpoint = strdup("");
        p->keepalive = PEER_DEFAULT_KEEPALIVE;
        p->enabled = true;
        p->rotation_interval = p->revoke_inactive = p->grace_period = -1;
        p->rotation_kind = -1;
        if (!p->name || !p->email || !p->endpoint || !p->remote_endpoint)
                return -ENOMEM;
        if (asprintf(&p->path, WGNET_PEER_PREFIX "/%" PRIu64, id) < 0) {
                p->path = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

Peer *peer_free(Peer *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->email);
        free(p->path);
        free(p->addresses);
        free(p->site_networks);
        free(p->endpoint);
        free(p->remote_endpoint);
        wg_wipe(p->psk_sealed, sizeof(p->psk_sealed));
        free(p);
        return NULL;
}

/* Decode one UTF-8 sequence; returns its length or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret) {
        uint32_t c;
        size_t len;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        } else if ((s[0] & 0xe0) == 0xc0) {
                c = s[0] & 0x1f;
                len = 2;
        } else if ((s[0] & 0xf0) == 0xe0) {
                c = s[0] & 0x0f;
                len = 3;
        } else if ((s[0] & 0xf8) == 0xf0) {
                c = s[0] & 0x07;
                len = 4;
        } else
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                return 0;
        *ret = c;
        return len;
}

bool peer_name_is_valid(const char *s) {
        size_t chars = 0;

        if (isempty(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                uint32_t c;
                size_t len = utf8_decode(p, &c);
                if (len == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029)
                        return false;
                p += len;
                chars++;
        }
        /* No leading or trailing blanks: names are typed on command lines. */
        return chars <= PEER_NAME_MAX && s[0] != ' ' && s[strlen(s) - 1] != ' ';
}

int peer_import_names(const WgConf *c, char ***ret) {
        _cleanup_(hashmap_freep) Hashmap *given = hashmap_new(string_hash_func, string_equal_func);
        _cleanup_(hashmap_freep) Hashmap *taken = hashmap_new(string_hash_func, string_equal_func);
        _cleanup_(strv_freep) char **names = calloc(c->n_peers + 1, sizeof(char *));
        int r;

        if (!given || !taken || !names)
                return -ENOMEM;
        /* every name the file gives, to the last peer that gives it: a generated name must
         * not take one that a later peer will claim (the maps hold pointers into c and
         * names, which outlive them) */
        for (size_t i = 0; i < c->n_peers; i++)
                if (c->peers[i].name) {
                        r = hashmap_replace(given, c->peers[i].name, &c->peers[i]);
                        if (r < 0)
                                return r;
                }

        for (size_t i = 0; i < c->n_peers; i++) {
                const WgConfPeer *cp = &c->peers[i];
                const char *name = cp->name;
                char buf[32];

                if (!name || !peer_name_is_valid(name) || hashmap_get(taken, name)) {
                        for (unsigned x = 0;; x++) {
                                if (x == 0)
                                        snprintf(buf, sizeof(buf), "peer%zu", i + 1);
                                else
                                        snprintf(buf, sizeof(buf), "peer%zu-%u", i + 1, x + 1);
                                const WgConfPeer *g = hashmap_get(given, buf);
                                if (!hashmap_get(taken, buf) && (!g || g <= cp))
                                        break;
                        }
                        name = buf;
                }
                names[i] = strdup(name);
                if (!names[i])
                        return -ENOMEM;
                r = hashmap_put(taken, names[i], names[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

int peer_server_allowed_ips(const Peer *p, IpPrefix **ret, size_t *ret_n) {
        size_t n = p->n_addresses + p->n_site_networks;
        IpPrefix *l = calloc(n ? n : 1, sizeof(IpPrefix));
        if (!l)
                return -ENOMEM;
        memcpy_safe(l, p->addresses, p->n_addresses * sizeof(IpPrefix));
        memcpy_safe(l + p->n_addresses, p->site_networks, p->n_site_networks * sizeof(IpPrefix));
        *ret = l;
        *ret_n = n;
        return 0;
}

uint16_t peer_server_keepalive(const Peer *p) {
        /* PersistentKeepalive goes into the client's config: the client keeps its NAT
         * mapping open. The hub sends keepalives only to site gateways, whose LANs it must
         * reach; to 10,000 phones it would only drain batteries. */
        return p->role == PEER_ROLE_SITE_GATEWAY || p->keepalive_on_device ? p->keepalive : 0;
}

int peer_remote_endpoint(Peer *p, WgEndpoint *ret) {
        if (isempty(p->remote_endpoint))
                return -ENOENT;
        if (wg_endpoint_parse(p->remote_endpoint, ret) >= 0)
                return 0;
        if (p->remote_resolved.sa.sa_family != AF_UNSPEC) {
                *ret = p->remote_resolved;
                return 0;
        }
        peer_resolve_endpoint(p);
        return -EAGAIN;
}

int peer_to_wg_peer(Peer *p, WgPeer *wp) {
        int r;

        memcpy(wp->public_key, p->public_key, WG_KEY_LEN);
        wp->flags |= WGPEER_HAS_PRESHARED_KEY | WGPEER_HAS_PERSISTENT_KEEPALIVE | WGPEER_REPLACE_ALLOWEDIPS;
        if (p->has_psk) {
                r = manager_open(p->network->manager, "peers.preshared_key", p->id, p->psk_sealed,
                                 sizeof(p->psk_sealed), wp->preshared_key);
                if (r < 0)
                        return r;
        } else
                memset(wp->preshared_key, 0, WG_KEY_LEN);
        wp->persistent_keepalive = peer_server_keepalive(p);
        if (peer_remote_endpoint(p, &wp->endpoint) >= 0)
                wp->flags |= WGPEER_HAS_ENDPOINT;
        else
                wp->endpoint = (WgEndpoint) {0};
        free(wp->allowed_ips);
        wp->allowed_ips = NULL;
        wp->n_allowed_ips = wp->allowed_ips_alloc = 0;
        r = peer_server_allowed_ips(p, &wp->allowed_ips, &wp->n_allowed_ips);
        if (r < 0)
                return r;
        wp->allowed_ips_alloc = wp->n_allowed_ips;
        if (p->network->mesh)
                return mesh_peer_to_wg_peer(p, wp);     /* endpoint and keepalive of direct peers */
        return 0;
}

int peer_render_config(Peer *p, const uint8_t *private_key, char **ret) {
        uint8_t psk[WG_KEY_LEN];
        int r;

        if (!p->has_psk)
                return peer_render_config_with(p, private_key, NULL, ret);
        r = manager_open(p->network->manager, "peers.preshared_key", p->id, p->psk_sealed, sizeof(p->psk_sealed), psk);
        if (r >= 0)
                r = peer_render_config_with(p, private_key, psk, ret);
        wg_wipe(psk, sizeof(psk));
        return r;
}

int peer_render_config_with(Peer *p, const uint8_t *private_key, const uint8_t *psk, char **ret) {
        Network *n = p->network;
        _cleanup_(wgconf_freep) WgConf *c = wgconf_new();
        _cleanup_(freep) IpPrefix *allowed = NULL;
        size_t n_allowed = 0;
        char comment[512];   /* 64-character names of up to 4 bytes each: never cut in a character */
        int r;

        if (!c)
                return -ENOMEM;
        snprintf(comment, sizeof(comment), "wgnet network '%s', peer '%s'", n->name, p->name);
        r = wgconf_add_comment(c, comment);
        if (r < 0)
                return r;
        c->has_interface = true;
        if (private_key) {
                memcpy(c->private_key, private_key, WG_KEY_LEN);
                c->has_private_key = true;
        } else {
                c->private_key_note = strdup(
                        "The private key is not held by wgnet: add 'PrivateKey = <your private key>' here");
                if (!c->private_key_note)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_addresses; i++) {
                r = wgconf_add_address(c, &p->addresses[i]);
                if (r < 0)
                        return r;
        }
        for (char **d = n->dns; d && *d; d++) {
                r = wgconf_add_dns(c, *d);
                if (r < 0)
                        return r;
        }
        if (n->mtu > 0) {
                c->has_mtu = true;
                c->mtu = n->mtu;
        }

        WgConfPeer *cp = wgconf_add_peer(c);
        if (!cp)
                return -ENOMEM;
        memcpy(cp->public_key, n->public_key, WG_KEY_LEN);
        if (psk) {
                memcpy(cp->preshared_key, psk, WG_KEY_LEN);
                cp->has_preshared_key = true;
        }
        r = network_client_allowed_ips(n, p, &allowed, &n_allowed);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_allowed; i++) {
                r = wgconf_peer_add_allowed_ip(cp, &allowed[i]);
                if (r < 0)
                        return r;
        }
        if (!isempty(n->endpoint)) {
                cp->endpoint = strdup(n->endpoint);
                if (!cp->endpoint)
                        return -ENOMEM;
        }
        if (p->keepalive > 0) {
                cp->has_persistent_keepalive = true;
                cp->persistent_keepalive = p->keepalive;
        }
        return wgconf_render(c, ret);
}

int peer_get_config(Peer *p, char **ret) {
        Manager *m = p->network->manager;
        _cleanup_(freep) uint8_t *blob = NULL;
        uint8_t key[WG_KEY_LEN];
        size_t len;
        int r;

        if (p->rotation_pending)
                return peer_get_pending_config(p, ret);
        if (!p->private_key_stored)
                return peer_render_config(p, NULL, ret);
        r = db_peer_get_private_key(m->db, p->id, &blob, &len);
        if (r < 0)
                return r;
        r = manager_open(m, "peers.private_key", p->id, blob, len, key);
        if (r < 0)
                return r;
        r = peer_render_config(p, key, ret);
        wg_wipe(key, sizeof(key));
        return r;
}

int peer_emit_changed_strv(Peer *p, char **properties) {
        Manager *m = p->network->manager;
        if (!m->bus)
                return 0;
        return sd_bus_emit_properties_changed_strv(m->bus, p->path, WGNET_PEER_INTERFACE, properties);
}

int peer_emit_changed(Peer *p, const char *property, ...) {
        va_list ap;
        va_start(ap, property);
        int r = bus_emit_changedv(p->network->manager->bus, p->path, WGNET_PEER_INTERFACE, property, ap);
        va_end(ap);
        return r;
}
