/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading networks and peers from the database at start (db_load); the tables are made and
 * written in db.c. */
#include <sqlite3.h>

#include "db-mesh.h"
#include "db-util.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"

int db_strv_split_comma(const char *text, char ***ret) {
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!l)
                return -ENOMEM;
        for (const char *p = text; p && *p;) {
                const char *e = strchrnul(p, ',');
                char **nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl) {
                        strv_free(l);
                        return -ENOMEM;
                }
                l = nl;
                l[n] = strndup(p, (size_t) (e - p));
                l[++n] = NULL;
                if (!l[n - 1]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                p = *e ? e + 1 : e;
        }
        *ret = l;
        return 0;
}

static int load_networks(Db *db, Manager *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, r;

        if (sqlite3_prepare_v2(db_handle(db),
                               "SELECT id, name, interface, listen_port, private_key, public_key, addresses,"
                               " endpoint, dns, mtu, mode, extra_routes, peer_isolation, nat_interface,"
                               " key_policy, online_threshold, active, created_at, rotation_interval,"
                               " rotation_kind, revoke_inactive, grace_period, default_route, route_table, peer_routes"
                               " FROM networks ORDER BY id",
                               -1, &s, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                _cleanup_(network_freep) Network *n = NULL;
                IpPrefix *subnets = NULL;
                size_t n_subnets = 0;

                r = network_new(m, (uint64_t) sqlite3_column_int64(s, 0), db_column_text(s, 1),
                                db_column_text(s, 2), &n);
                if (r < 0)
                        return r;
                n->listen_port = (uint16_t) sqlite3_column_int(s, 3);
                if (sqlite3_column_bytes(s, 4) != (int) sizeof(n->private_key_sealed) ||
                    wg_key_from_base64(n->public_key, db_column_text(s, 5)) < 0)
                        return -EBADMSG;
                memcpy(n->private_key_sealed, sqlite3_column_blob(s, 4), sizeof(n->private_key_sealed));
                r = db_prefixes_split(db_column_text(s, 6), &subnets, &n_subnets);
                if (r < 0)
                        return r;
                if (n_subnets > NETWORK_MAX_SUBNETS) {
                        free(subnets);
                        return -EBADMSG;
                }
                memcpy_safe(n->subnets, subnets, n_subnets * sizeof(IpPrefix));
                n->n_subnets = n_subnets;
                free(subnets);
                free(n->endpoint);
                n->endpoint = strdup(db_column_text(s, 7));
                if (!n->endpoint)
                        return -ENOMEM;
                strv_free(n->dns);
                n->dns = NULL;
                r = db_strv_split_comma(db_column_text(s, 8), &n->dns);
                if (r < 0)
                        return r;
                n->mtu = (uint32_t) sqlite3_column_int64(s, 9);
                r = network_mode_from_string(db_column_text(s, 10));
                if (r < 0)
                        return -EBADMSG;
                n->mode = r;
                r = db_prefixes_split(db_column_text(s, 11), &n->extra_routes, &n->n_extra_routes);
                if (r < 0)
                        return r;
                n->peer_isolation = sqlite3_column_int(s, 12);
                free(n->nat_interface);
                n->nat_interface = strdup(db_column_text(s, 13));
                if (!n->nat_interface)
                        return -ENOMEM;
                r = key_policy_from_string(db_column_text(s, 14));
                if (r < 0)
                        return -EBADMSG;
                n->key_policy = r;
                n->online_threshold = (uint32_t) sqlite3_column_int64(s, 15);
                n->active = sqlite3_column_int(s, 16);
                n->created_at = (uint64_t) sqlite3_column_int64(s, 17);
                n->rotation_interval = (uint64_t) sqlite3_column_int64(s, 18);
                r = rotation_kind_from_string(db_column_text(s, 19));
                if (r < 0)
                        return -EBADMSG;
                n->rotation_kind = r;
                n->revoke_inactive = (uint64_t) sqlite3_column_int64(s, 20);
                n->grace_period = (uint64_t) sqlite3_column_int64(s, 21);
                n->default_route = sqlite3_column_int(s, 22);
                sqlite3_int64 table = sqlite3_column_int64(s, 23);
                if (table < 0 || table > UINT32_MAX)
                        return -EBADMSG;
                n->route_table = (uint32_t) table;
                n->peer_routes = sqlite3_column_int(s, 24);
                r = network_setup_pools(n);
                if (r < 0)
                        return r;
                r = network_attach(n);
                if (r < 0)
                        return r;
                TAKE_PTR(n);
        }
        return rc == SQLITE_DONE ? 0 : -EIO;
}

static int load_peers(Db *db, Manager *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL, *a = NULL;
        int rc, r;

        if (sqlite3_prepare_v2(db_handle(db),
                               "SELECT id, network_id, name, email, public_key, private_key IS NOT NULL,"
                               " preshared_key, role, site_networks, keepalive, enabled, created_at,"
                               " updated_at, expires_at, rotation_interval, rotation_kind, revoke_inactive,"
                               " grace_period, last_rotation, pending_public_key, pending_preshared_key,"
                               " pending_private_key, rotation_deadline, remote_endpoint, keepalive_on_device"
                               " FROM peers ORDER BY id",
                               -1, &s, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                _cleanup_(peer_freep) Peer *p = NULL;
                uint64_t nid = (uint64_t) sqlite3_column_int64(s, 1);
                Network *n = hashmap_get(m->networks_by_id, &nid);
                if (!n)
                        return -EBADMSG;
                r = peer_new(n, (uint64_t) sqlite3_column_int64(s, 0), db_column_text(s, 2), &p);
                if (r < 0)
                        return r;
                free(p->email);
                p->email = strdup(db_column_text(s, 3));
                if (!p->email)
                        return -ENOMEM;
                if (wg_key_from_base64(p->public_key, db_column_text(s, 4)) < 0)
                        return -EBADMSG;
                p->private_key_stored = sqlite3_column_int(s, 5);
                if (sqlite3_column_type(s, 6) == SQLITE_BLOB) {
                        if (sqlite3_column_bytes(s, 6) != (int) sizeof(p->psk_sealed))
                                return -EBADMSG;
                        memcpy(p->psk_sealed, sqlite3_column_blob(s, 6), sizeof(p->psk_sealed));
                        p->has_psk = true;
                }
                r = peer_role_from_string(db_column_text(s, 7));
                if (r < 0)
                        return -EBADMSG;
                p->role = r;
                r = db_prefixes_split(db_column_text(s, 8), &p->site_networks, &p->n_site_networks);
                if (r < 0)
                        return r;
                p->keepalive = (uint16_t) sqlite3_column_int(s, 9);
                p->enabled = sqlite3_column_int(s, 10);
                p->created_at = (uint64_t) sqlite3_column_int64(s, 11);
                p->updated_at = (uint64_t) sqlite3_column_int64(s, 12);
                p->expires_at = (uint64_t) sqlite3_column_int64(s, 13);
                p->rotation_interval = sqlite3_column_type(s, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 14);
                if (sqlite3_column_type(s, 15) != SQLITE_NULL) {
                        r = rotation_kind_from_string(db_column_text(s, 15));
                        if (r < 0)
                                return -EBADMSG;
                        p->rotation_kind = r;
                }
                p->revoke_inactive = sqlite3_column_type(s, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 16);
                p->grace_period = sqlite3_column_type(s, 17) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 17);
                p->last_rotation = (uint64_t) sqlite3_column_int64(s, 18);
                if (sqlite3_column_type(s, 19) != SQLITE_NULL) {
                        if (wg_key_from_base64(p->pending_public_key, db_column_text(s, 19)) < 0 ||
                            sqlite3_column_bytes(s, 20) != (int) sizeof(p->pending_psk_sealed))
                                return -EBADMSG;
                        memcpy(p->pending_psk_sealed, sqlite3_column_blob(s, 20), sizeof(p->pending_psk_sealed));
                        if (sqlite3_column_type(s, 21) == SQLITE_BLOB) {
                                if (sqlite3_column_bytes(s, 21) != (int) sizeof(p->pending_private_sealed))
                                        return -EBADMSG;
                                memcpy(p->pending_private_sealed, sqlite3_column_blob(s, 21),
                                       sizeof(p->pending_private_sealed));
                                p->pending_private_stored = true;
                        }
                        p->rotation_deadline = (uint64_t) sqlite3_column_int64(s, 22);
                        p->rotation_pending = true;
                }
                free(p->remote_endpoint);
                p->remote_endpoint = strdup(db_column_text(s, 23));
                if (!p->remote_endpoint)
                        return -ENOMEM;
                p->keepalive_on_device = sqlite3_column_int(s, 24);
                network_link_peer(n, p);
                TAKE_PTR(p);
        }
        if (rc != SQLITE_DONE)
                return -EIO;

        /* Addresses, grouped by peer. */
        if (sqlite3_prepare_v2(db_handle(db), "SELECT peer_id, address FROM peer_addresses ORDER BY peer_id, rowid",
                               -1, &a, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(a)) == SQLITE_ROW) {
                uint64_t pid = (uint64_t) sqlite3_column_int64(a, 0);
                Peer *p = hashmap_get(m->peers_by_id, &pid);
                IpPrefix addr;
                if (!p || ip_prefix_parse(db_column_text(a, 1), false, &addr) < 0)
                        return -EBADMSG;
                IpPrefix *nl = realloc(p->addresses, (p->n_addresses + 1) * sizeof(IpPrefix));
                if (!nl)
                        return -ENOMEM;
                p->addresses = nl;
                p->addresses[p->n_addresses++] = addr;
                (void) network_reserve_addresses(p->network, &addr, 1);
        }
        return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_load(Db *db, Manager *m) {
        int r = load_networks(db, m);
        if (r >= 0)
                r = load_peers(db, m);
        return r < 0 ? r : db_mesh_load(db, m);
}
