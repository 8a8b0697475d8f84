/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <sqlite3.h>

#include "db-mesh.h"
#include "db-util.h"
#include "log.h"
#include "manager.h"
#include "mesh.h"

const char db_mesh_migration[] =
        /* One row per mesh network: its role and the member's view of the coordinator. */
        "CREATE TABLE IF NOT EXISTS meshes ("
        "  network_id INTEGER PRIMARY KEY REFERENCES networks(id) ON DELETE CASCADE,"
        "  role TEXT NOT NULL CHECK (role IN ('coordinator', 'member')),"
        "  heartbeat INTEGER NOT NULL,"
        "  offline_after INTEGER NOT NULL,"
        "  exit_node INTEGER NOT NULL DEFAULT 0,"
        "  exit_via TEXT NOT NULL DEFAULT '',"
        "  joined INTEGER NOT NULL DEFAULT 0,"
        "  coordinator_key TEXT NOT NULL DEFAULT '',"
        "  coordinator_endpoint TEXT NOT NULL DEFAULT '',"
        "  coordinator_addresses TEXT NOT NULL DEFAULT '',"
        "  invitation TEXT NOT NULL DEFAULT '',"
        "  pending_private_key BLOB"
        ");"
        /* Mesh state of peers: invitations (coordinator), endpoints (member). */
        "CREATE TABLE IF NOT EXISTS mesh_peers ("
        "  peer_id INTEGER PRIMARY KEY REFERENCES peers(id) ON DELETE CASCADE,"
        "  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
        "  invitation TEXT UNIQUE,"
        "  invitation_expires INTEGER NOT NULL DEFAULT 0,"
        "  registered INTEGER NOT NULL DEFAULT 0,"
        "  exit_node INTEGER NOT NULL DEFAULT 0,"
        "  endpoint TEXT NOT NULL DEFAULT ''"
        ");";

const char db_mesh_departed_migration[] =
        /* A member that called Leave, until the coordinator's next check removes it. */
        "ALTER TABLE mesh_peers ADD COLUMN departed INTEGER NOT NULL DEFAULT 0;";

static int run(sqlite3_stmt *s) {
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_sqlite_errno(rc);
}

int db_mesh_save(Db *db, const Mesh *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_(freep) char *addrs = db_prefixes_join(m->coordinator_addresses, m->n_coordinator_addresses);
        char key[WG_KEY_B64_SIZE] = "", inv[PAIRING_ID_HEX_LEN + 1] = "";
        int r;

        if (!addrs)
                return -ENOMEM;
        r = db_prepare(db, "INSERT OR REPLACE INTO meshes (network_id, role, heartbeat, offline_after, exit_node,"
                        " exit_via, joined, coordinator_key, coordinator_endpoint, coordinator_addresses,"
                        " invitation, pending_private_key)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", &s);
        if (r < 0)
                return r;
        if (m->role == MESH_ROLE_MEMBER) {
                wg_key_to_base64(key, m->coordinator_key);
                pairing_id_to_hex(m->invitation_id, inv);
        }
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) m->network->id));
        DB_BIND(sqlite3_bind_text(s, 2, mesh_role_to_string(m->role), -1, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_int64(s, 3, m->heartbeat));
        DB_BIND(sqlite3_bind_int64(s, 4, m->offline_after));
        DB_BIND(sqlite3_bind_int(s, 5, m->exit_node));
        DB_BIND(sqlite3_bind_text(s, 6, m->exit_via ? m->exit_via : "", -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int(s, 7, m->joined));
        DB_BIND(sqlite3_bind_text(s, 8, key, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 9, m->coordinator_endpoint ? m->coordinator_endpoint : "", -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 10, addrs, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 11, inv, -1, SQLITE_TRANSIENT));
        if (m->has_pending_private)
                DB_BIND(sqlite3_bind_blob(s, 12, m->pending_private_sealed, sizeof(m->pending_private_sealed), SQLITE_STATIC));
        else
                DB_BIND(sqlite3_bind_null(s, 12));
        return run(s);
}

int db_mesh_peer_save(Db *db, uint64_t network_id, const MeshPeer *p) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        char inv[PAIRING_ID_HEX_LEN + 1];
        int r = db_prepare(db, "INSERT OR REPLACE INTO mesh_peers (peer_id, network_id, invitation, invitation_expires,"
                            " registered, exit_node, endpoint, departed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &s);
        if (r < 0)
                return r;
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) p->peer_id));
        DB_BIND(sqlite3_bind_int64(s, 2, (sqlite3_int64) network_id));
        if (p->invitation) {
                pairing_id_to_hex(p->invitation_id, inv);
                DB_BIND(sqlite3_bind_text(s, 3, inv, -1, SQLITE_TRANSIENT));
        } else
                DB_BIND(sqlite3_bind_null(s, 3));
        DB_BIND(sqlite3_bind_int64(s, 4, (sqlite3_int64) p->invitation_expires));
        DB_BIND(sqlite3_bind_int(s, 5, p->registered));
        DB_BIND(sqlite3_bind_int(s, 6, p->exit_node));
        DB_BIND(sqlite3_bind_text(s, 7, p->endpoint ? p->endpoint : "", -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int(s, 8, p->left));
        return run(s);
}

int db_mesh_peer_delete(Db *db, uint64_t peer_id) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "DELETE FROM mesh_peers WHERE peer_id = ?1", &s);
        if (r < 0)
                return r;
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) peer_id));
        return run(s);
}

int db_network_set_key(Db *db, uint64_t network_id, const uint8_t *sealed, size_t sealed_len,
                       const uint8_t public_key[32]) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        char pub[WG_KEY_B64_SIZE];
        int r = db_prepare(db, "UPDATE networks SET private_key = ?2, public_key = ?3 WHERE id = ?1", &s);
        if (r < 0)
                return r;
        wg_key_to_base64(pub, public_key);
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) network_id));
        DB_BIND(sqlite3_bind_blob(s, 2, sealed, (int) sealed_len, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_text(s, 3, pub, -1, SQLITE_TRANSIENT));
        return run(s);
}

static int load_peers(Db *db, Manager *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, r = db_prepare(db, "SELECT peer_id, network_id, invitation, invitation_expires, registered, exit_node,"
                                " endpoint, departed FROM mesh_peers", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                uint64_t nid = (uint64_t) sqlite3_column_int64(s, 1);
                Network *n = hashmap_get(m->networks_by_id, &nid);
                if (!n || !n->mesh)
                        continue;
                MeshPeer *p = mesh_peer_new(n->mesh, (uint64_t) sqlite3_column_int64(s, 0));
                if (!p)
                        return -ENOMEM;
                if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
                        p->invitation = pairing_id_from_hex(db_column_text(s, 2), p->invitation_id) >= 0;
                }
                p->invitation_expires = (uint64_t) sqlite3_column_int64(s, 3);
                p->registered = sqlite3_column_int(s, 4);
                p->exit_node = sqlite3_column_int(s, 5);
                p->left = sqlite3_column_int(s, 7);
                free(p->endpoint);
                p->endpoint = strdup(db_column_text(s, 6));
                if (!p->endpoint)
                        return -ENOMEM;
        }
        return rc == SQLITE_DONE ? 0 : -EIO;
}

int db_mesh_load(Db *db, Manager *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, r = db_prepare(db, "SELECT network_id, role, heartbeat, offline_after, exit_node, exit_via, joined,"
                                " coordinator_key, coordinator_endpoint, coordinator_addresses, invitation,"
                                " pending_private_key FROM meshes", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                uint64_t nid = (uint64_t) sqlite3_column_int64(s, 0);
                Network *n = hashmap_get(m->networks_by_id, &nid);
                _cleanup_(freep) IpPrefix *addrs = NULL;
                size_t n_addrs = 0;
                if (!n || n->mesh)
                        continue;
                int role = mesh_role_from_string(db_column_text(s, 1));
                if (role < 0)
                        return -EBADMSG;
                Mesh *mesh;
                r = mesh_new(n, role, &mesh);
                if (r < 0)
                        return r;
                n->mesh = mesh;
                int64_t hb = sqlite3_column_int64(s, 2), oa = sqlite3_column_int64(s, 3);
                /* A heartbeat of 0 would re-arm its timer at once, without end: values that
                 * Mesh.Update could not have set give way to the defaults. */
                if (hb >= 1 && hb <= 3600 && oa > hb && oa <= 86400) {      /* Mesh.Update's bounds */
                        mesh->heartbeat = (uint32_t) hb;
                        mesh->offline_after = (uint32_t) oa;
                } else
                        log_warning("%s: the mesh's heartbeat %" PRId64 " s / offline after %" PRId64 " s in the "
                                    "database cannot be right: using %u s / %u s", n->name, hb, oa, mesh->heartbeat,
                                    mesh->offline_after);
                mesh->exit_node = sqlite3_column_int(s, 4);
                free(mesh->exit_via);
                mesh->exit_via = strdup(db_column_text(s, 5));
                mesh->joined = sqlite3_column_int(s, 6);
                free(mesh->coordinator_endpoint);
                mesh->coordinator_endpoint = strdup(db_column_text(s, 8));
                if (!mesh->exit_via || !mesh->coordinator_endpoint)
                        return -ENOMEM;
                if (role == MESH_ROLE_MEMBER) {
                        if (wg_key_from_base64(mesh->coordinator_key, db_column_text(s, 7)) < 0 ||
                            pairing_id_from_hex(db_column_text(s, 10), mesh->invitation_id) < 0)
                                return -EBADMSG;
                        r = db_prefixes_split(db_column_text(s, 9), &addrs, &n_addrs);
                        if (r < 0)
                                return r;
                        mesh->n_coordinator_addresses = MIN(n_addrs, ELEMENTSOF(mesh->coordinator_addresses));
                        memcpy_safe(mesh->coordinator_addresses, addrs, mesh->n_coordinator_addresses * sizeof(IpPrefix));
                }
                if (sqlite3_column_type(s, 11) == SQLITE_BLOB &&
                    sqlite3_column_bytes(s, 11) == (int) sizeof(mesh->pending_private_sealed)) {
                        memcpy(mesh->pending_private_sealed, sqlite3_column_blob(s, 11), sizeof(mesh->pending_private_sealed));
                        mesh->has_pending_private = true;
                }
        }
        if (rc != SQLITE_DONE)
                return -EIO;
        /* A coordinator's network whose row is missing (written apart from CreateNetwork's
         * transaction before, where a failed write was ignored): it still coordinates, its
         * members' rows are loaded (mesh_repair would remove every peer without one), and
         * the row is written at the first tick. */
        Network *n;
        HASHMAP_FOREACH(n, m->networks_by_id, it) {
                if (n->mode != NETWORK_MODE_MESH || n->mesh)
                        continue;
                r = mesh_new(n, MESH_ROLE_COORDINATOR, &n->mesh);
                if (r < 0)
                        return r;
                n->mesh->unsaved = true;
        }
        return load_peers(db, m);
}

int db_invitation_forget(Db *db, const uint8_t id[PAIRING_ID_LEN]) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        char hex[PAIRING_ID_HEX_LEN + 1];
        int r = db_prepare(db, "DELETE FROM pairings_used WHERE kind = 'invitation' AND id = ?1", &s);
        if (r < 0)
                return r;
        pairing_id_to_hex(id, hex);
        DB_BIND(sqlite3_bind_text(s, 1, hex, -1, SQLITE_TRANSIENT));
        return run(s);
}
