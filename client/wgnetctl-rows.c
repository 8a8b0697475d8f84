/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How wgnetctl shows networks and peers: JSON objects and table rows. */
#include "wgnetctl.h"

Json *network_json(const NetworkInfo *n) {
        Json *j = json_new_object();
        if (!j)
                return NULL;
        int r = 0;
        r = r < 0 ? r : json_object_add(j, "Path", json_new_string(n->path));
        r = r < 0 ? r : json_object_add(j, "Id", json_new_unsigned(n->id));
        r = r < 0 ? r : json_object_add(j, "Name", json_new_string(n->name));
        r = r < 0 ? r : json_object_add(j, "Interface", json_new_string(n->interface));
        r = r < 0 ? r : json_object_add(j, "Active", json_new_bool(n->active));
        r = r < 0 ? r : json_object_add(j, "Addresses", json_new_strv(n->addresses));
        r = r < 0 ? r : json_object_add(j, "ListenPort", json_new_unsigned(n->listen_port));
        r = r < 0 ? r : json_object_add(j, "PublicKey", json_new_string(n->public_key));
        r = r < 0 ? r : json_object_add(j, "Endpoint", json_new_string(n->endpoint));
        r = r < 0 ? r : json_object_add(j, "DNS", json_new_strv(n->dns));
        r = r < 0 ? r : json_object_add(j, "MTU", json_new_unsigned(n->mtu));
        r = r < 0 ? r : json_object_add(j, "Mode", json_new_string(n->mode));
        r = r < 0 ? r : json_object_add(j, "ExtraRoutes", json_new_strv(n->extra_routes));
        r = r < 0 ? r : json_object_add(j, "PeerIsolation", json_new_bool(n->peer_isolation));
        r = r < 0 ? r : json_object_add(j, "DefaultRoute", json_new_bool(n->default_route));
        r = r < 0 ? r : json_object_add(j, "RouteTable", json_new_unsigned(n->route_table));
        r = r < 0 ? r : json_object_add(j, "PeerRoutes", json_new_bool(n->peer_routes));
        r = r < 0 ? r : json_object_add(j, "NatInterface", json_new_string(n->nat_interface));
        r = r < 0 ? r : json_object_add(j, "KeyPolicy", json_new_string(n->key_policy));
        r = r < 0 ? r : json_object_add(j, "OnlineThreshold", json_new_unsigned(n->online_threshold));
        r = r < 0 ? r : json_object_add(j, "RotationInterval", json_new_unsigned(n->rotation_interval));
        r = r < 0 ? r : json_object_add(j, "RotationKind", json_new_string(n->rotation_kind));
        r = r < 0 ? r : json_object_add(j, "RevokeAfterInactive", json_new_unsigned(n->revoke_after_inactive));
        r = r < 0 ? r : json_object_add(j, "GracePeriod", json_new_unsigned(n->grace_period));
        r = r < 0 ? r : json_object_add(j, "PeerCount", json_new_unsigned(n->peer_count));
        r = r < 0 ? r : json_object_add(j, "OnlinePeerCount", json_new_unsigned(n->online_peer_count));
        return r < 0 ? json_free(j) : j;
}

Json *peer_json(const PeerInfo *p, const NetworkInfo *n) {
        Json *j = json_new_object();
        if (!j)
                return NULL;
        int r = 0;
        r = r < 0 ? r : json_object_add(j, "Path", json_new_string(p->path));
        r = r < 0 ? r : json_object_add(j, "Id", json_new_unsigned(p->id));
        r = r < 0 ? r : json_object_add(j, "Network", json_new_string(p->network));
        r = r < 0 ? r : json_object_add(j, "NetworkName", json_new_string(n ? n->name : NULL));
        r = r < 0 ? r : json_object_add(j, "Name", json_new_string(p->name));
        r = r < 0 ? r : json_object_add(j, "Email", json_new_string(p->email));
        r = r < 0 ? r : json_object_add(j, "RemoteEndpoint", json_new_string(p->remote_endpoint));
        r = r < 0 ? r : json_object_add(j, "PublicKey", json_new_string(p->public_key));
        r = r < 0 ? r : json_object_add(j, "Addresses", json_new_strv(p->addresses));
        r = r < 0 ? r : json_object_add(j, "AllowedIPs", json_new_strv(p->allowed_ips));
        r = r < 0 ? r : json_object_add(j, "Role", json_new_string(p->role));
        r = r < 0 ? r : json_object_add(j, "SiteNetworks", json_new_strv(p->site_networks));
        r = r < 0 ? r : json_object_add(j, "PersistentKeepalive", json_new_unsigned(p->keepalive));
        r = r < 0 ? r : json_object_add(j, "HasPresharedKey", json_new_bool(p->has_psk));
        r = r < 0 ? r : json_object_add(j, "PrivateKeyStored", json_new_bool(p->private_key_stored));
        r = r < 0 ? r : json_object_add(j, "Enabled", json_new_bool(p->enabled));
        r = r < 0 ? r : json_object_add(j, "Online", json_new_bool(p->online));
        r = r < 0 ? r : json_object_add(j, "LastHandshake", json_new_unsigned(p->last_handshake));
        r = r < 0 ? r : json_object_add(j, "Endpoint", json_new_string(p->endpoint));
        r = r < 0 ? r : json_object_add(j, "RxBytes", json_new_unsigned(p->rx_bytes));
        r = r < 0 ? r : json_object_add(j, "TxBytes", json_new_unsigned(p->tx_bytes));
        r = r < 0 ? r : json_object_add(j, "CreatedAt", json_new_unsigned(p->created_at));
        r = r < 0 ? r : json_object_add(j, "UpdatedAt", json_new_unsigned(p->updated_at));
        r = r < 0 ? r : json_object_add(j, "ExpiresAt", json_new_unsigned(p->expires_at));
        r = r < 0 ? r : json_object_add(j, "RotationPending", json_new_bool(p->rotation_pending));
        r = r < 0 ? r : json_object_add(j, "RotationDeadline", json_new_unsigned(p->rotation_deadline));
        r = r < 0 ? r : json_object_add(j, "PendingPublicKey", json_new_string(p->pending_public_key));
        r = r < 0 ? r : json_object_add(j, "LastRotation", json_new_unsigned(p->last_rotation));
        r = r < 0 ? r : json_object_add(j, "RotationInterval", json_new_unsigned(p->rotation_interval));
        r = r < 0 ? r : json_object_add(j, "RotationKind", json_new_string(p->rotation_kind));
        r = r < 0 ? r : json_object_add(j, "RevokeAfterInactive", json_new_unsigned(p->revoke_after_inactive));
        r = r < 0 ? r : json_object_add(j, "GracePeriod", json_new_unsigned(p->grace_period));
        return r < 0 ? json_free(j) : j;
}

static const Column peer_columns[] = {
        { "", 0 },
        { "NETWORK", 0 },
        { "NAME", 0 },
        { "ADDRESSES", COLUMN_WRAP },
        { "ENDPOINT", COLUMN_TRUNC },
        { "HANDSHAKE", 0 },
        { "RX", COLUMN_RIGHT },
        { "TX", COLUMN_RIGHT },
        { "STATE", 0 },
        { "PUBLIC KEY", COLUMN_KEY },
};

/* The peer table; with_network: a NETWORK column (peers of several networks). */
int peer_table(Objects *o, const NetworkInfo *only, bool with_network, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        uint64_t now = now_realtime_usec();
        Column cols[ELEMENTSOF(peer_columns)];

        memcpy(cols, peer_columns, sizeof(cols));
        if (!with_network)
                cols[1].flags |= COLUMN_HIDDEN;
        t = table_new(cols, ELEMENTSOF(cols));
        if (!t)
                return oom();
        for (size_t i = 0; i < o->n_peers; i++) {
                PeerInfo *p = &o->peers[i];
                NetworkInfo *n = objects_network_of(o, p);
                /* a peer without a Network property is under no network ("-" in a list of all) */
                if (only && !peer_in_network(p, only))
                        continue;
                if (n && n->gone)
                        continue;       /* deleted meanwhile (refresh_stats() said so) */
                _cleanup_(freep) char *addresses = strv_join(p->addresses, " ");
                char hs[FORMAT_RELATIVE_MAX], rx[FORMAT_BYTES_MAX], tx[FORMAT_BYTES_MAX];
                bool online = p->online && p->enabled;
                const char *cells[] = {
                        dot(online),
                        with_network && n ? n->name : "",
                        p->name,
                        addresses,
                        p->endpoint,
                        p->last_handshake ? format_relative(hs, p->last_handshake, now) : "never",
                        format_bytes(rx, p->rx_bytes),
                        format_bytes(tx, p->tx_bytes),
                        !p->enabled ? "disabled" : online ? "online" : "offline",
                        p->public_key,
                };
                const char *colors[ELEMENTSOF(cells)] = {
                        [0] = online ? ANSI_GREEN : ANSI_GREY,
                        [8] = !p->enabled ? ANSI_YELLOW : online ? ANSI_GREEN : NULL,
                };
                if (!addresses)
                        return oom();
                if (table_add_row(t, cells, colors, peer_json(p, n)) < 0)
                        return oom();
        }
        *ret = TAKE_PTR(t);
        return 0;
}
