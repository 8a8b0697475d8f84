/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sqlite3.h>

#include "db-tunnel.h"
#include "db-util.h"
#include "manager.h"
#include "tunnel.h"

const char db_tunnel_migration[] =
        "CREATE TABLE IF NOT EXISTS tunnels ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  interface TEXT NOT NULL UNIQUE,"
        "  listen_port INTEGER NOT NULL CHECK (listen_port BETWEEN 0 AND 65535),"
        "  private_key BLOB NOT NULL,"
        "  public_key TEXT NOT NULL,"
        "  remote_public_key TEXT NOT NULL DEFAULT '',"
        "  remote_endpoint TEXT NOT NULL DEFAULT '',"
        "  local_endpoint TEXT NOT NULL DEFAULT '',"
        "  local_networks TEXT NOT NULL DEFAULT '',"
        "  remote_networks TEXT NOT NULL DEFAULT '',"
        "  tunnel_addresses TEXT NOT NULL DEFAULT '',"
        "  keepalive INTEGER NOT NULL DEFAULT 25,"
        "  preshared_key BLOB,"
        "  pairing TEXT NOT NULL DEFAULT 'none',"
        "  pairing_id TEXT NOT NULL DEFAULT '',"
        "  pairing_expires INTEGER NOT NULL DEFAULT 0,"
        "  pending_preshared_key BLOB,"
        "  pairing_lifetime INTEGER NOT NULL DEFAULT 900,"
        "  online_threshold INTEGER NOT NULL DEFAULT 180,"
        "  active INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL"
        ");"
        /* Pairings consumed on this host (offers imported, replies completed); kept when
         * the tunnel goes, so a pairing string works once. */
        "CREATE TABLE IF NOT EXISTS pairings_used ("
        "  kind TEXT NOT NULL,"
        "  id TEXT NOT NULL,"
        "  tunnel_id INTEGER NOT NULL,"
        "  used_at INTEGER NOT NULL,"
        "  PRIMARY KEY (kind, id)"
        ");";

#define TUNNEL_COLUMNS                                                                          \
        "id, name, interface, listen_port, private_key, public_key, remote_public_key,"         \
        " remote_endpoint, local_endpoint, local_networks, remote_networks, tunnel_addresses,"  \
        " keepalive, preshared_key, pairing, pairing_id, pairing_expires,"                      \
        " pending_preshared_key, pairing_lifetime, active, created_at, online_threshold"

/* Parameters ?1..?22 in the order of TUNNEL_COLUMNS. */
static int tunnel_bind(sqlite3_stmt *s, const Tunnel *t) {
        _cleanup_(freep) char *local = db_prefixes_join(t->local_networks, t->n_local_networks);
        _cleanup_(freep) char *remote = db_prefixes_join(t->remote_networks, t->n_remote_networks);
        _cleanup_(freep) char *addrs = db_prefixes_join(t->tunnel_addresses, t->n_tunnel_addresses);
        char pub[WG_KEY_B64_SIZE], rpub[WG_KEY_B64_SIZE] = "", pid[PAIRING_ID_HEX_LEN + 1] = "";

        if (!local || !remote || !addrs)
                return -ENOMEM;
        wg_key_to_base64(pub, t->public_key);
        if (t->has_remote_key)
                wg_key_to_base64(rpub, t->remote_public_key);
        if (t->pairing != TUNNEL_PAIRING_NONE)
                pairing_id_to_hex(t->pairing_id, pid);
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) t->id));
        DB_BIND(sqlite3_bind_text(s, 2, t->name, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 3, t->ifname, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int(s, 4, t->listen_port));
        DB_BIND(sqlite3_bind_blob(s, 5, t->private_key_sealed, sizeof(t->private_key_sealed), SQLITE_STATIC));
        DB_BIND(sqlite3_bind_text(s, 6, pub, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 7, rpub, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 8, t->remote_endpoint, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 9, t->local_endpoint, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 10, local, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 11, remote, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_text(s, 12, addrs, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int(s, 13, t->keepalive));
        if (t->has_psk)
                DB_BIND(sqlite3_bind_blob(s, 14, t->psk_sealed, sizeof(t->psk_sealed), SQLITE_STATIC));
        else
                DB_BIND(sqlite3_bind_null(s, 14));
        DB_BIND(sqlite3_bind_text(s, 15, tunnel_pairing_to_string(t->pairing), -1, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_text(s, 16, pid, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int64(s, 17, (sqlite3_int64) t->pairing_expires));
        if (t->has_pending_psk)
                DB_BIND(sqlite3_bind_blob(s, 18, t->pending_psk_sealed, sizeof(t->pending_psk_sealed), SQLITE_STATIC));
        else
                DB_BIND(sqlite3_bind_null(s, 18));
        DB_BIND(sqlite3_bind_int64(s, 19, t->pairing_lifetime));
        DB_BIND(sqlite3_bind_int(s, 20, t->active));
        DB_BIND(sqlite3_bind_int64(s, 21, (sqlite3_int64) t->created_at));
        DB_BIND(sqlite3_bind_int64(s, 22, t->online_threshold));
        return 0;
}

static int run(sqlite3_stmt *s) {
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_sqlite_errno(rc);
}

int db_tunnel_insert(Db *db, const Tunnel *t) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "INSERT INTO tunnels (" TUNNEL_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                            " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)", &s);
        if (r >= 0)
                r = tunnel_bind(s, t);
        return r < 0 ? r : run(s);
}

int db_tunnel_update(Db *db, const Tunnel *t) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "UPDATE tunnels SET name = ?2, interface = ?3, listen_port = ?4,"
                            " remote_public_key = ?7, remote_endpoint = ?8, local_endpoint = ?9,"
                            " local_networks = ?10, remote_networks = ?11, tunnel_addresses = ?12,"
                            " keepalive = ?13, preshared_key = ?14, pairing = ?15, pairing_id = ?16,"
                            " pairing_expires = ?17, pending_preshared_key = ?18, pairing_lifetime = ?19,"
                            " active = ?20, online_threshold = ?22 WHERE id = ?1 AND private_key = ?5 AND public_key = ?6"
                            " AND created_at = ?21", &s);
        if (r >= 0)
                r = tunnel_bind(s, t);
        if (r >= 0)
                r = run(s);
        if (r >= 0 && sqlite3_changes(db_handle(db)) != 1)
                r = -ENOENT;
        return r;
}

int db_tunnel_delete(Db *db, uint64_t id) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_record_deleted_id(db, "tunnel_id_high", id);
        if (r < 0)
                return r;
        r = db_prepare(db, "DELETE FROM tunnels WHERE id = ?1", &s);
        if (r < 0)
                return r;
        DB_BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) id));
        return run(s);
}

int db_tunnel_max_id(Db *db, uint64_t *ret) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "SELECT MAX((SELECT IFNULL(MAX(id), 0) FROM tunnels),"
                               " IFNULL((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'tunnel_id_high'), 0))", &s);
        if (r < 0)
                return r;
        if (sqlite3_step(s) != SQLITE_ROW)
                return -EIO;
        *ret = (uint64_t) sqlite3_column_int64(s, 0);
        return 0;
}

static int column_sealed(sqlite3_stmt *s, int i, uint8_t out[SEALED_KEY_SIZE], bool *ret_has) {
        if (sqlite3_column_type(s, i) != SQLITE_BLOB) {
                if (ret_has)
                        *ret_has = false;
                return ret_has ? 0 : -EBADMSG;
        }
        if (sqlite3_column_bytes(s, i) != SEALED_KEY_SIZE)
                return -EBADMSG;
        memcpy(out, sqlite3_column_blob(s, i), SEALED_KEY_SIZE);
        if (ret_has)
                *ret_has = true;
        return 0;
}

static int load_one(sqlite3_stmt *s, Manager *m) {
        _cleanup_(tunnel_freep) Tunnel *t = NULL;
        _cleanup_(freep) IpPrefix *addrs = NULL;
        size_t n_addrs = 0;
        int r;

        r = tunnel_new(m, (uint64_t) sqlite3_column_int64(s, 0), db_column_text(s, 1), db_column_text(s, 2), &t);
        if (r < 0)
                return r;
        t->listen_port = (uint16_t) sqlite3_column_int(s, 3);
        r = column_sealed(s, 4, t->private_key_sealed, NULL);
        if (r < 0)
                return r;
        if (wg_key_from_base64(t->public_key, db_column_text(s, 5)) < 0)
                return -EBADMSG;
        if (*db_column_text(s, 6)) {
                if (wg_key_from_base64(t->remote_public_key, db_column_text(s, 6)) < 0)
                        return -EBADMSG;
                t->has_remote_key = true;
        }
        free(t->remote_endpoint);
        free(t->local_endpoint);
        t->remote_endpoint = strdup(db_column_text(s, 7));
        t->local_endpoint = strdup(db_column_text(s, 8));
        if (!t->remote_endpoint || !t->local_endpoint)
                return -ENOMEM;
        r = db_prefixes_split(db_column_text(s, 9), &t->local_networks, &t->n_local_networks);
        if (r >= 0)
                r = db_prefixes_split(db_column_text(s, 10), &t->remote_networks, &t->n_remote_networks);
        if (r >= 0)
                r = db_prefixes_split(db_column_text(s, 11), &addrs, &n_addrs);
        if (r < 0)
                return r;
        if (n_addrs > PAIRING_MAX_ADDRESSES)
                return -EBADMSG;
        if (n_addrs > 0)
                memcpy(t->tunnel_addresses, addrs, n_addrs * sizeof(IpPrefix));
        t->n_tunnel_addresses = n_addrs;
        t->keepalive = (uint16_t) sqlite3_column_int(s, 12);
        r = column_sealed(s, 13, t->psk_sealed, &t->has_psk);
        if (r < 0)
                return r;
        r = tunnel_pairing_from_string(db_column_text(s, 14));
        if (r < 0)
                return -EBADMSG;
        t->pairing = r;
        if (t->pairing != TUNNEL_PAIRING_NONE && pairing_id_from_hex(db_column_text(s, 15), t->pairing_id) < 0)
                return -EBADMSG;
        t->pairing_expires = (uint64_t) sqlite3_column_int64(s, 16);
        r = column_sealed(s, 17, t->pending_psk_sealed, &t->has_pending_psk);
        if (r < 0)
                return r;
        t->pairing_lifetime = (uint32_t) sqlite3_column_int64(s, 18);
        t->active = sqlite3_column_int(s, 19);
        t->created_at = (uint64_t) sqlite3_column_int64(s, 20);
        t->online_threshold = (uint32_t) sqlite3_column_int64(s, 21);
        r = tunnel_attach(t);
        if (r < 0)
                return r;
        TAKE_PTR(t);
        return 0;
}

int db_tunnel_load(Db *db, Manager *m) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int rc, r = db_prepare(db, "SELECT " TUNNEL_COLUMNS " FROM tunnels ORDER BY id", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                r = load_one(s, m);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : -EIO;
}

static const char *kind_string(PairingKind kind) {
        switch (kind) {
        case PAIRING_OFFER:
                return "offer";
        case PAIRING_INVITATION:
                return "invitation";    /* mesh invitations; tunnel_id holds the network id */
        default:
                return "reply";
        }
}

int db_pairing_mark_used(Db *db, PairingKind kind, const uint8_t id[PAIRING_ID_LEN], uint64_t tunnel_id) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        char hex[PAIRING_ID_HEX_LEN + 1];
        int r = db_prepare(db, "INSERT INTO pairings_used (kind, id, tunnel_id, used_at)"
                            " VALUES (?1, ?2, ?3, strftime('%s', 'now'))", &s);
        if (r < 0)
                return r;
        pairing_id_to_hex(id, hex);
        DB_BIND(sqlite3_bind_text(s, 1, kind_string(kind), -1, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_text(s, 2, hex, -1, SQLITE_TRANSIENT));
        DB_BIND(sqlite3_bind_int64(s, 3, (sqlite3_int64) tunnel_id));
        return run(s);
}

int db_pairing_is_used(Db *db, PairingKind kind, const uint8_t id[PAIRING_ID_LEN]) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        char hex[PAIRING_ID_HEX_LEN + 1];
        int r = db_prepare(db, "SELECT 1 FROM pairings_used WHERE kind = ?1 AND id = ?2", &s);
        if (r < 0)
                return r;
        pairing_id_to_hex(id, hex);
        DB_BIND(sqlite3_bind_text(s, 1, kind_string(kind), -1, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_text(s, 2, hex, -1, SQLITE_TRANSIENT));
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : -EIO;
}
