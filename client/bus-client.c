/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-client.h"
#include "macro.h"
#include "wgnet-error.h"

typedef struct PropertyMap {
        const char *name;
        const char *signature;
        size_t offset;
} PropertyMap;

#define NP(name, sig, field) { name, sig, offsetof(NetworkInfo, field) }
static const PropertyMap network_map[] = {
        NP("Id", "t", id),
        NP("Name", "s", name),
        NP("Interface", "s", interface),
        NP("Addresses", "as", addresses),
        NP("ListenPort", "q", listen_port),
        NP("PublicKey", "s", public_key),
        NP("Endpoint", "s", endpoint),
        NP("DNS", "as", dns),
        NP("MTU", "u", mtu),
        NP("Mode", "s", mode),
        NP("ExtraRoutes", "as", extra_routes),
        NP("PeerIsolation", "b", peer_isolation),
        NP("DefaultRoute", "b", default_route),
        NP("RouteTable", "u", route_table),
        NP("PeerRoutes", "b", peer_routes),
        NP("NatInterface", "s", nat_interface),
        NP("KeyPolicy", "s", key_policy),
        NP("OnlineThreshold", "u", online_threshold),
        NP("RotationInterval", "t", rotation_interval),
        NP("RotationKind", "s", rotation_kind),
        NP("RevokeAfterInactive", "t", revoke_after_inactive),
        NP("GracePeriod", "t", grace_period),
        NP("Active", "b", active),
        NP("PeerCount", "u", peer_count),
        NP("OnlinePeerCount", "u", online_peer_count),
        { 0 },
};
#undef NP

#define PP(name, sig, field) { name, sig, offsetof(PeerInfo, field) }
static const PropertyMap peer_map[] = {
        PP("Id", "t", id),
        PP("Network", "o", network),
        PP("Name", "s", name),
        PP("Email", "s", email),
        PP("PublicKey", "s", public_key),
        PP("Addresses", "as", addresses),
        PP("AllowedIPs", "as", allowed_ips),
        PP("Role", "s", role),
        PP("SiteNetworks", "as", site_networks),
        PP("PersistentKeepalive", "q", keepalive),
        PP("HasPresharedKey", "b", has_psk),
        PP("PrivateKeyStored", "b", private_key_stored),
        PP("Enabled", "b", enabled),
        PP("Online", "b", online),
        PP("LastHandshake", "t", last_handshake),
        PP("Endpoint", "s", endpoint),
        PP("RemoteEndpoint", "s", remote_endpoint),
        PP("RxBytes", "t", rx_bytes),
        PP("TxBytes", "t", tx_bytes),
        PP("CreatedAt", "t", created_at),
        PP("UpdatedAt", "t", updated_at),
        PP("ExpiresAt", "t", expires_at),
        PP("RotationPending", "b", rotation_pending),
        PP("RotationDeadline", "t", rotation_deadline),
        PP("PendingPublicKey", "s", pending_public_key),
        PP("LastRotation", "t", last_rotation),
        PP("RotationInterval", "t", rotation_interval),
        PP("RotationKind", "s", rotation_kind),
        PP("RevokeAfterInactive", "t", revoke_after_inactive),
        PP("GracePeriod", "t", grace_period),
        { 0 },
};
#undef PP

#define TP(name, sig, field) { name, sig, offsetof(TunnelInfo, field) }
static const PropertyMap tunnel_map[] = {
        TP("Id", "t", id),
        TP("Name", "s", name),
        TP("Interface", "s", interface),
        TP("PublicKey", "s", public_key),
        TP("ListenPort", "q", listen_port),
        TP("RemotePublicKey", "s", remote_public_key),
        TP("RemoteEndpoint", "s", remote_endpoint),
        TP("LocalEndpoint", "s", local_endpoint),
        TP("LocalNetworks", "as", local_networks),
        TP("RemoteNetworks", "as", remote_networks),
        TP("TunnelAddresses", "as", tunnel_addresses),
        TP("PersistentKeepalive", "q", keepalive),
        TP("HasPresharedKey", "b", has_psk),
        TP("Pairing", "s", pairing),
        TP("PairingLifetime", "u", pairing_lifetime),
        TP("OnlineThreshold", "u", online_threshold),
        TP("Active", "b", active),
        TP("State", "s", state),
        TP("LastHandshake", "t", last_handshake),
        TP("Endpoint", "s", endpoint),
        TP("Routes", "as", routes),
        TP("RxBytes", "t", rx_bytes),
        TP("TxBytes", "t", tx_bytes),
        { 0 },
};
#undef TP

/* Read a{sv} of properties into the struct at base, by the map; unknown properties and
 * properties of another type (a newer daemon) are skipped. */
static int map_properties(sd_bus_message *m, const PropertyMap *map, void *base) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const PropertyMap *p = NULL;
                const char *name, *contents;
                char type;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                for (const PropertyMap *i = map; i->name; i++)
                        if (streq(i->name, name))
                                p = i;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (!p || !streq(contents, p->signature)) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else {
                        void *field = (uint8_t *) base + p->offset;
                        const char *s;
                        int b;

                        r = sd_bus_message_enter_container(m, 'v', p->signature);
                        if (r < 0)
                                return r;
                        switch (p->signature[0]) {
                        case 's':
                        case 'o':
                                r = sd_bus_message_read_basic(m, p->signature[0], &s);
                                if (r >= 0) {
                                        free(*(char **) field);
                                        *(char **) field = strdup(s);
                                        if (!*(char **) field)
                                                r = -ENOMEM;
                                }
                                break;
                        case 'a':
                                strv_free(*(char ***) field);
                                *(char ***) field = NULL;
                                r = sd_bus_message_read_strv(m, (char ***) field);
                                break;
                        case 'b':
                                r = sd_bus_message_read(m, "b", &b);
                                if (r >= 0)
                                        *(bool *) field = b;
                                break;
                        default:        /* q, u, t: read into fields of that size */
                                r = sd_bus_message_read_basic(m, p->signature[0], field);
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void network_info_done(NetworkInfo *n) {
        free(n->path);
        free(n->name);
        free(n->interface);
        strv_free(n->addresses);
        free(n->public_key);
        free(n->endpoint);
        strv_free(n->dns);
        free(n->mode);
        strv_free(n->extra_routes);
        free(n->nat_interface);
        free(n->key_policy);
        free(n->rotation_kind);
}

static void peer_info_done(PeerInfo *p) {
        free(p->path);
        free(p->network);
        free(p->name);
        free(p->email);
        free(p->remote_endpoint);
        free(p->public_key);
        strv_free(p->addresses);
        strv_free(p->allowed_ips);
        free(p->role);
        strv_free(p->site_networks);
        free(p->endpoint);
        free(p->pending_public_key);
        free(p->rotation_kind);
}

static void tunnel_info_done(TunnelInfo *t) {
        free(t->path);
        free(t->name);
        free(t->interface);
        free(t->public_key);
        free(t->remote_public_key);
        free(t->remote_endpoint);
        free(t->local_endpoint);
        strv_free(t->local_networks);
        strv_free(t->remote_networks);
        strv_free(t->tunnel_addresses);
        free(t->pairing);
        free(t->state);
        free(t->endpoint);
        strv_free(t->routes);
}

static int tunnel_compare(const void *a, const void *b) {
        const TunnelInfo *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

TunnelInfo *objects_find_tunnel(Objects *o, const char *arg) {
        for (size_t i = 0; i < o->n_tunnels; i++)
                if (streq_ptr(o->tunnels[i].path, arg))
                        return &o->tunnels[i];
        for (size_t i = 0; i < o->n_tunnels; i++)
                if (streq_ptr(o->tunnels[i].name, arg))
                        return &o->tunnels[i];
        for (size_t i = 0; i < o->n_tunnels; i++)
                if (streq_ptr(o->tunnels[i].interface, arg))
                        return &o->tunnels[i];
        return NULL;
}

void objects_done(Objects *o) {
        for (size_t i = 0; i < o->n_tunnels; i++)
                tunnel_info_done(&o->tunnels[i]);
        free(o->tunnels);
        for (size_t i = 0; i < o->n_networks; i++)
                network_info_done(&o->networks[i]);
        for (size_t i = 0; i < o->n_peers; i++)
                peer_info_done(&o->peers[i]);
        free(o->networks);
        free(o->peers);
        free(o->peers_by_path);
        *o = (Objects) { 0 };
}

static int network_compare(const void *a, const void *b) {
        const NetworkInfo *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int peer_compare(const void *a, const void *b) {
        const PeerInfo *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

int objects_load(sd_bus *bus, Objects *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Objects o = { 0 };
        int r;

        r = sd_bus_call_method(bus, WGNET_BUS_NAME, WGNET_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                if (r < 0)
                        goto fail;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r < 0)
                                goto fail;
                        if (streq(iface, WGNET_NETWORK_INTERFACE)) {
                                NetworkInfo *l = realloc(o.networks, (o.n_networks + 1) * sizeof(NetworkInfo));
                                if (!l) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                o.networks = l;
                                NetworkInfo *n = &o.networks[o.n_networks++];
                                *n = (NetworkInfo) { .path = strdup(path) };
                                r = n->path ? map_properties(reply, network_map, n) : -ENOMEM;
                        } else if (streq(iface, WGNET_PEER_INTERFACE)) {
                                PeerInfo *l = realloc(o.peers, (o.n_peers + 1) * sizeof(PeerInfo));
                                if (!l) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                o.peers = l;
                                PeerInfo *p = &o.peers[o.n_peers++];
                                *p = (PeerInfo) { .path = strdup(path) };
                                r = p->path ? map_properties(reply, peer_map, p) : -ENOMEM;
                        } else if (streq(iface, "org.wgnet1.Tunnel")) {
                                TunnelInfo *l = realloc(o.tunnels, (o.n_tunnels + 1) * sizeof(TunnelInfo));
                                if (!l) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                o.tunnels = l;
                                TunnelInfo *t = &o.tunnels[o.n_tunnels++];
                                *t = (TunnelInfo) { .path = strdup(path) };
                                r = t->path ? map_properties(reply, tunnel_map, t) : -ENOMEM;
                        } else
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r < 0)
                                goto fail;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                goto fail;
                }
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
        }
        if (r < 0)
                goto fail;
        if (o.n_networks > 0)
                qsort(o.networks, o.n_networks, sizeof(NetworkInfo), network_compare);
        if (o.n_peers > 0)
                qsort(o.peers, o.n_peers, sizeof(PeerInfo), peer_compare);
        if (o.n_tunnels > 0)
                qsort(o.tunnels, o.n_tunnels, sizeof(TunnelInfo), tunnel_compare);
        *ret = o;
        return 0;
fail:
        objects_done(&o);
        return r;
}

NetworkInfo *objects_find_network(Objects *o, const char *arg) {
        /* Exact path, then name, then interface: a name wins over another network's
         * interface of the same spelling. */
        for (size_t i = 0; i < o->n_networks; i++)
                if (streq_ptr(o->networks[i].path, arg))
                        return &o->networks[i];
        for (size_t i = 0; i < o->n_networks; i++)
                if (streq_ptr(o->networks[i].name, arg))
                        return &o->networks[i];
        for (size_t i = 0; i < o->n_networks; i++)
                if (streq_ptr(o->networks[i].interface, arg))
                        return &o->networks[i];
        return NULL;
}

PeerInfo *objects_find_peer(Objects *o, const NetworkInfo *n, const char *arg) {
        for (size_t i = 0; i < o->n_peers; i++)
                if (streq_ptr(o->peers[i].path, arg) && (!n || streq_ptr(o->peers[i].network, n->path)))
                        return &o->peers[i];
        for (size_t i = 0; i < o->n_peers; i++)
                if (streq_ptr(o->peers[i].name, arg) && (!n || streq_ptr(o->peers[i].network, n->path)))
                        return &o->peers[i];
        for (size_t i = 0; i < o->n_peers; i++)
                if (streq_ptr(o->peers[i].public_key, arg) && (!n || streq_ptr(o->peers[i].network, n->path)))
                        return &o->peers[i];
        return NULL;
}

NetworkInfo *objects_network_of(Objects *o, const PeerInfo *p) {
        for (size_t i = 0; i < o->n_networks; i++)
                if (streq_ptr(o->networks[i].path, p->network))
                        return &o->networks[i];
        return NULL;
}

bool peer_in_network(const PeerInfo *p, const NetworkInfo *n) {
        return p && n && p->network && n->path && streq(p->network, n->path);
}

static int peer_path_compare(const void *a, const void *b) {
        const PeerInfo *const *x = a, *const *y = b;
        return strcmp((*x)->path, (*y)->path);
}

PeerInfo *objects_peer_by_path(Objects *o, const char *path) {
        if (!path || o->n_peers == 0)
                return NULL;
        if (!o->peers_by_path) {
                PeerInfo **l = malloc(o->n_peers * sizeof(PeerInfo *));
                if (!l) {
                        /* no index: a scan still finds it */
                        for (size_t i = 0; i < o->n_peers; i++)
                                if (streq(o->peers[i].path, path))
                                        return &o->peers[i];
                        return NULL;
                }
                for (size_t i = 0; i < o->n_peers; i++)
                        l[i] = &o->peers[i];
                qsort(l, o->n_peers, sizeof(PeerInfo *), peer_path_compare);
                o->peers_by_path = l;
        }
        PeerInfo key = { .path = (char *) path }, *k = &key;
        PeerInfo **found = bsearch(&k, o->peers_by_path, o->n_peers, sizeof(PeerInfo *), peer_path_compare);
        return found ? *found : NULL;
}

int objects_refresh_stats(sd_bus *bus, Objects *o, const NetworkInfo *n, PeerInfo *only, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path, *endpoint;
        uint64_t handshake, rx, tx;
        int online, r;

        r = sd_bus_call_method(bus, WGNET_BUS_NAME, n->path, WGNET_NETWORK_INTERFACE, "GetStats", error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(otttbs)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(otttbs)", &path, &handshake, &rx, &tx, &online, &endpoint)) > 0) {
                PeerInfo *p = only ? (streq(only->path, path) ? only : NULL) : objects_peer_by_path(o, path);
                if (!p)
                        continue;
                char *e = strdup(endpoint);
                if (!e)
                        return -ENOMEM;
                p->last_handshake = handshake;
                p->rx_bytes = rx;
                p->tx_bytes = tx;
                p->online = online;
                free(p->endpoint);
                p->endpoint = e;
                if (only)
                        break;
        }
        if (r < 0)
                return r;
        if (only)
                return 0;       /* the rest of the reply is not read */
        return sd_bus_message_exit_container(reply);
}

/* The daemon's table (daemon/manager.c) for the methods the client calls: the first action
 * a method needs. RotateKeys and Mesh.CreateInvitation need read-secrets after it,
 * Tunnel.GetPairing manage-networks after read-secrets: the daemon's error names the one
 * that decided, and report_bus_error() takes that. */
static const struct {
        const char *interface, *member, *action;
} method_actions[] = {
        { WGNET_MANAGER_INTERFACE, "CreateNetwork", "org.wgnet1.manage-networks" },
        { WGNET_MANAGER_INTERFACE, "ImportNetwork", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Update", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Activate", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Deactivate", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "Delete", "org.wgnet1.manage-networks" },
        { WGNET_NETWORK_INTERFACE, "AddPeer", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "AddPeers", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "RemovePeer", "org.wgnet1.manage-peers" },
        { WGNET_NETWORK_INTERFACE, "Export", "org.wgnet1.read-secrets" },
        { WGNET_PEER_INTERFACE, "Update", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Enable", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Disable", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "Remove", "org.wgnet1.manage-peers" },
        { WGNET_PEER_INTERFACE, "RotateKeys", "org.wgnet1.manage-peers" },     /* then read-secrets */
        { WGNET_PEER_INTERFACE, "GetConfig", "org.wgnet1.read-secrets" },
        { WGNET_PEER_INTERFACE, "GetQRCode", "org.wgnet1.read-secrets" },
        { WGNET_MANAGER_INTERFACE, "CreateTunnel", "org.wgnet1.manage-networks" },
        { WGNET_MANAGER_INTERFACE, "ImportPairing", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Tunnel", "Update", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Tunnel", "Activate", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Tunnel", "Deactivate", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Tunnel", "Delete", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Tunnel", "GetPairing", "org.wgnet1.read-secrets" },      /* then manage-networks */
        { WGNET_MANAGER_INTERFACE, "JoinMesh", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Mesh", "CreateInvitation", "org.wgnet1.manage-peers" },  /* then read-secrets */
        { "org.wgnet1.Mesh", "SetExitNode", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Mesh", "UseExitNode", "org.wgnet1.manage-networks" },
        { "org.wgnet1.Mesh", "Leave", "org.wgnet1.manage-networks" },
};

const char *polkit_action_for(const char *interface, const char *member) {
        for (size_t i = 0; i < ELEMENTSOF(method_actions); i++)
                if (streq_ptr(method_actions[i].interface, interface) && streq_ptr(method_actions[i].member, member))
                        return method_actions[i].action;
        return NULL;
}

/* The action a daemon's message names (daemon/polkit.c): "Not authorized: A",
 * "Interactive authentication required for A", "Authorization for A was not completed in
 * time (...)", "Authorization for A could not be checked: ...". malloc'd; NULL if none. */
static char *polkit_action_in(const char *message) {
        static const char *const prefixes[] = {
                "Not authorized: ",
                "Interactive authentication required for ",
                "Authorization for ",
        };
        if (!message)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(message, prefixes[i], n) != 0)
                        continue;
                const char *a = message + n;
                size_t len = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
                /* an action id has a dot and ends the message or a word */
                if (len == 0 || !memchr(a, '.', len) || (a[len] && a[len] != ' '))
                        return NULL;
                return strndup(a, len);
        }
        return NULL;
}

char *auth_error_text(const char *name, const char *message, const char *table_action) {
        bool denied = streq_ptr(name, SD_BUS_ERROR_ACCESS_DENIED);
        bool interactive = streq_ptr(name, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        bool has_message = message && *message;
        _cleanup_(freep) char *named = polkit_action_in(message);
        const char *action = named ? named : table_action;
        char *s = NULL;
        int r;

        if (!denied && !interactive)
                return NULL;
        if (interactive && action)
                r = asprintf(&s, "authentication is required for polkit action %s, but no password can be asked "
                             "(stdin is not a terminal or --no-ask-password); run it from a terminal, as root, "
                             "or get %s granted by a polkit rule (see /usr/share/doc/wgnet/50-wgnet-admins.rules.example)",
                             action, action);
        else if (denied && action && (!has_message || (named && strncmp(message, "Not authorized: ", 16) == 0)))
                /* a plain denial: polkit said no */
                r = asprintf(&s, "not authorized (polkit action %s); run it as root, or ask an administrator "
                             "to grant %s to you, e.g. with a polkit rule for an admins group "
                             "(see /usr/share/doc/wgnet/50-wgnet-admins.rules.example)", action, action);
        else if (has_message)
                /* not a denial: polkit not available or too slow, the caller left, the bus's
                 * policy; the daemon's words say which */
                r = asprintf(&s, "%s", message);
        else
                r = asprintf(&s, "%s", denied ? "access denied" : "interactive authorization required");
        return r < 0 ? NULL : s;
}

int report_bus_error(const sd_bus_error *error, int r, const char *interface, const char *member,
                     const char *context_fmt, ...) {
        const char *action = polkit_action_for(interface, member);
        _cleanup_(freep) char *auth = error ? auth_error_text(error->name, error->message, action) : NULL;
        va_list ap;

        fputs("wgnetctl: ", stderr);
        va_start(ap, context_fmt);
        vfprintf(stderr, context_fmt, ap);
        va_end(ap);

        if (auth)
                fprintf(stderr, ": %s\n", auth);
        else if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, ": wgnetd is not running (no owner of %s on the system bus)\n", WGNET_BUS_NAME);
        else if (sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_METHOD))
                fprintf(stderr, ": the object is gone or the daemon is too old (%s)\n",
                        error && error->message ? error->message : strerror(-r));
        else if (error && sd_bus_error_is_set(error) && error->message)
                fprintf(stderr, ": %s\n", error->message);
        else
                fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : EIO));
        return 1;
}

/* --- polkit agent, the way systemctl runs it ---------------------------------------- */

static pid_t agent_pid = 0;

int polkit_agent_open(void) {
        static const char *const paths[] = { "/usr/bin/pkttyagent", "/bin/pkttyagent" };
        const char *bin = NULL;
        int fds[2];
        char fd_arg[16], pid_arg[16];

        if (agent_pid > 0 || !isatty(STDIN_FILENO) || geteuid() == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (access(paths[i], X_OK) == 0)
                        bin = paths[i];
        if (!bin)
                return 0;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        snprintf(pid_arg, sizeof(pid_arg), "%d", (int) getpid());

        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(fds[0]);
                close(fds[1]);
                return -e;
        }
        if (pid == 0) {
                /* The child keeps only the write end, without CLOEXEC, and tells us when
                 * it is registered by closing it. stdout goes to the terminal as well. */
                int fd = fds[1];
                close(fds[0]);
                if (fd <= STDERR_FILENO) {
                        fd = fcntl(fd, F_DUPFD, 3);
                        if (fd < 0)
                                _exit(127);
                }
                if (fcntl(fd, F_SETFD, 0) < 0)
                        _exit(127);
                snprintf(fd_arg, sizeof(fd_arg), "%d", fd);
                /* For this process, not for a session: it works without a logind
                 * session too (su, ssh without pam_systemd). Not --fallback: polkitd
                 * then ignores a process-scoped agent. */
                execl(bin, bin, "--process", pid_arg, "--notify-fd", fd_arg, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        agent_pid = pid;

        /* Wait until the agent has registered (it writes or closes the fd), at most 10 s. */
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        (void) poll(&p, 1, 10000);
        close(fds[0]);
        return 0;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        kill(agent_pid, SIGTERM);
        kill(agent_pid, SIGCONT);
        while (waitpid(agent_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        agent_pid = 0;
}

int bus_call(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_error *error,
             sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, WGNET_BUS_NAME, path, interface, member);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        /* Interactive authorization can take as long as the user needs to type. */
        return sd_bus_call(bus, m, UINT64_C(300) * 1000000, error, ret_reply);
}
