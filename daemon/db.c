/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db-mesh.h"
#include "db-tunnel.h"
#include "db.h"
#include "log.h"
#include "db-util.h"
#include "db-history.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "peer.h"

/* Each migration runs in one transaction; the index + 1 is the resulting user_version. */
static const char *const migrations[] = {
        /* 1: networks, peers, peer addresses */
        "CREATE TABLE networks ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  interface TEXT NOT NULL UNIQUE,"
        "  listen_port INTEGER NOT NULL CHECK (listen_port BETWEEN 0 AND 65535),"
        "  private_key BLOB NOT NULL,"
        "  public_key TEXT NOT NULL,"
        "  addresses TEXT NOT NULL,"
        "  endpoint TEXT NOT NULL DEFAULT '',"
        "  dns TEXT NOT NULL DEFAULT '',"
        "  mtu INTEGER NOT NULL DEFAULT 0,"
        "  mode TEXT NOT NULL,"
        "  extra_routes TEXT NOT NULL DEFAULT '',"
        "  peer_isolation INTEGER NOT NULL DEFAULT 0,"
        "  nat_interface TEXT NOT NULL DEFAULT '',"
        "  key_policy TEXT NOT NULL,"
        "  online_threshold INTEGER NOT NULL DEFAULT 180,"
        "  active INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL,"
        /* room for the key lifecycle issue: network defaults of the rotation policy */
        "  rotation_interval INTEGER NOT NULL DEFAULT 0,"
        "  rotation_kind TEXT NOT NULL DEFAULT '',"
        "  revoke_inactive INTEGER NOT NULL DEFAULT 0,"
        "  grace_period INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE UNIQUE INDEX networks_listen_port ON networks(listen_port) WHERE listen_port != 0;"
        "CREATE TABLE peers ("
        "  id INTEGER PRIMARY KEY,"
        "  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  email TEXT NOT NULL DEFAULT '',"
        "  public_key TEXT NOT NULL,"
        "  private_key BLOB,"
        "  preshared_key BLOB,"
        "  role TEXT NOT NULL DEFAULT 'client',"
        "  site_networks TEXT NOT NULL DEFAULT '',"
        "  keepalive INTEGER NOT NULL DEFAULT 25,"
        "  enabled INTEGER NOT NULL DEFAULT 1,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL DEFAULT 0,"
        /* room for the key lifecycle issue */
        "  rotation_interval INTEGER,"
        "  rotation_kind TEXT,"
        "  revoke_inactive INTEGER,"
        "  grace_period INTEGER,"
        "  last_rotation INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (network_id, name),"
        "  UNIQUE (network_id, public_key)"
        ");"
        "CREATE TABLE peer_addresses ("
        "  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
        "  peer_id INTEGER NOT NULL REFERENCES peers(id) ON DELETE CASCADE,"
        "  address TEXT NOT NULL,"
        "  PRIMARY KEY (network_id, address)"
        ");"
        "CREATE INDEX peer_addresses_peer ON peer_addresses(peer_id);",
        /* 2: key lifecycle: a pending keypair rotation per peer, network policy defaults */
        "ALTER TABLE peers ADD COLUMN pending_public_key TEXT;"
        "ALTER TABLE peers ADD COLUMN pending_private_key BLOB;"
        "ALTER TABLE peers ADD COLUMN pending_preshared_key BLOB;"
        "ALTER TABLE peers ADD COLUMN rotation_deadline INTEGER NOT NULL DEFAULT 0;"
        "UPDATE networks SET rotation_kind = 'keypair' WHERE rotation_kind = '';"
        "UPDATE networks SET grace_period = 86400 WHERE grace_period = 0;",
        /* 3: transfer history (daemon/history.c): bytes per bucket, 5-minute (level 0) and
         * hourly (level 1); bucket = start in seconds since the epoch */
        DB_HISTORY_MIGRATION_SQL,
        /* 4: node-to-node tunnels and consumed pairings (db-tunnel.c) */
        db_tunnel_migration,
        /* 5: the Endpoint an imported config gave a peer */
        "ALTER TABLE peers ADD COLUMN remote_endpoint TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE peers ADD COLUMN keepalive_on_device INTEGER NOT NULL DEFAULT 0;",
        /* 6: meshes and their peers' mesh state (db-mesh.c) */
        db_mesh_migration,
        /* 7: the transfer history's last counters per peer (db-history.h) */
        DB_HISTORY_LAST_MIGRATION_SQL,
        /* 8: a mesh member's Leave, kept until the coordinator removed it (db-mesh.c) */
        db_mesh_departed_migration,
        /* 9: facts about the database itself: a value sealed with the secret key, so that a
         * start with another key is refused before it seals anything with it */
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);",
        /* 10: a removed peer's transfer history is deleted by the tick, a bounded number of
         * rows at a time, not in the removal's transaction (db-history.h) */
        DB_HISTORY_GONE_MIGRATION_SQL,
        /* 11: full-tunnel routing of a client network (network-full-tunnel.c) */
        "ALTER TABLE networks ADD COLUMN default_route INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE networks ADD COLUMN peer_routes INTEGER NOT NULL DEFAULT 1;"
        "ALTER TABLE networks ADD COLUMN route_table INTEGER NOT NULL DEFAULT 0;",
};

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_NETWORK_INSERT,
        STMT_NETWORK_UPDATE,
        STMT_NETWORK_DELETE,
        STMT_PEER_INSERT,
        STMT_PEER_UPDATE,
        STMT_PEER_DELETE,
        STMT_PEER_PRIVATE_KEY,
        STMT_PEER_SET_PRIVATE_KEY,
        STMT_ADDR_DELETE,
        STMT_ADDR_INSERT,
        _STMT_MAX,
};

static const char *const statement_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_NETWORK_INSERT] =
                "INSERT INTO networks (id, name, interface, listen_port, private_key, public_key,"
                " addresses, endpoint, dns, mtu, mode, extra_routes, peer_isolation, nat_interface,"
                " key_policy, online_threshold, active, created_at, rotation_interval, rotation_kind,"
                " revoke_inactive, grace_period, default_route, route_table, peer_routes)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
                " ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
        [STMT_NETWORK_UPDATE] =
                "UPDATE networks SET name = ?2, interface = ?3, listen_port = ?4, addresses = ?7,"
                " endpoint = ?8, dns = ?9, mtu = ?10, mode = ?11, extra_routes = ?12,"
                " peer_isolation = ?13, nat_interface = ?14, key_policy = ?15,"
                " online_threshold = ?16, active = ?17, rotation_interval = ?19, rotation_kind = ?20,"
                " revoke_inactive = ?21, grace_period = ?22, default_route = ?23, route_table = ?24,"
                " peer_routes = ?25 WHERE id = ?1",
        [STMT_NETWORK_DELETE] = "DELETE FROM networks WHERE id = ?1",
        [STMT_PEER_INSERT] =
                "INSERT INTO peers (id, network_id, name, email, public_key, private_key,"
                " preshared_key, role, site_networks, keepalive, enabled, created_at, updated_at,"
                " expires_at, rotation_interval, rotation_kind, revoke_inactive, grace_period,"
                " last_rotation, pending_public_key, pending_preshared_key, pending_private_key,"
                " rotation_deadline, remote_endpoint, keepalive_on_device) VALUES (?1, ?2, ?3, ?4, ?5, ?15,"
                " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        [STMT_PEER_UPDATE] =
                "UPDATE peers SET name = ?3, email = ?4, public_key = ?5, preshared_key = ?6,"
                " role = ?7, site_networks = ?8, keepalive = ?9, enabled = ?10, updated_at = ?12,"
                " expires_at = ?13, rotation_interval = ?16, rotation_kind = ?17, revoke_inactive = ?18,"
                " grace_period = ?19, last_rotation = ?20, pending_public_key = ?21,"
                " pending_preshared_key = ?22, pending_private_key = ?23, rotation_deadline = ?24,"
                " remote_endpoint = ?25, keepalive_on_device = ?26 WHERE id = ?1",
        [STMT_PEER_DELETE] = "DELETE FROM peers WHERE id = ?1",
        [STMT_PEER_PRIVATE_KEY] = "SELECT private_key FROM peers WHERE id = ?1",
        [STMT_PEER_SET_PRIVATE_KEY] = "UPDATE peers SET private_key = ?2 WHERE id = ?1",
        [STMT_ADDR_DELETE] = "DELETE FROM peer_addresses WHERE peer_id = ?1",
        [STMT_ADDR_INSERT] = "INSERT INTO peer_addresses (network_id, peer_id, address) VALUES (?1, ?2, ?3)",
};

struct Db {
        sqlite3 *sqlite;
        sqlite3_stmt *stmts[_STMT_MAX];
        void (*begin_hook)(void *userdata);
        void *begin_hook_userdata;
};

void db_set_begin_hook(Db *db, void (*hook)(void *userdata), void *userdata) {
        db->begin_hook = hook;
        db->begin_hook_userdata = userdata;
}

int db_sqlite_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        default:
                return -EIO;
        }
}

int db_prepare(Db *db, const char *sql, sqlite3_stmt **ret) {
        return sqlite3_prepare_v2(db->sqlite, sql, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

void db_stmt_finalizep(sqlite3_stmt **s) {
        if (*s)
                sqlite3_finalize(*s);
}

static int exec(Db *db, const char *sql) {
        return db_sqlite_errno(sqlite3_exec(db->sqlite, sql, NULL, NULL, NULL));
}

static int migrate(Db *db) {
        sqlite3_stmt *s;
        int version = 0, r;

        if (sqlite3_prepare_v2(db->sqlite, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(s) == SQLITE_ROW)
                version = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);

        if (version > (int) ELEMENTSOF(migrations))
                return -EPROTONOSUPPORT;        /* written by a newer wgnetd: refuse */

        for (int v = version; v < (int) ELEMENTSOF(migrations); v++) {
                char pragma[64];
                r = exec(db, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
                r = exec(db, migrations[v]);
                if (r >= 0)
                        r = exec(db, pragma);
                if (r >= 0)
                        r = exec(db, "COMMIT");
                if (r < 0) {
                        exec(db, "ROLLBACK");
                        return r;
                }
        }
        return 0;
}

int db_open(const char *path, Db **ret) {
        _cleanup_(freep) Db *db = calloc(1, sizeof(Db));
        int r;

        if (!db)
                return -ENOMEM;
        if (sqlite3_open_v2(path, &db->sqlite,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_EXRESCODE, NULL) != SQLITE_OK) {
                log_error("SQLite cannot open %s: %s", path, sqlite3_errmsg(db->sqlite));
                sqlite3_close(db->sqlite);
                return -EIO;
        }
        chmod(path, 0600);
        sqlite3_busy_timeout(db->sqlite, 5000);

        r = exec(db, "PRAGMA journal_mode = WAL;"
                     "PRAGMA synchronous = FULL;"
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA secure_delete = ON;"
                     /* the WAL is cut back to 64 MiB after a checkpoint: a transaction
                      * that grew it (a bulk AddPeer, a large removal) does not keep
                      * its size on disk */
                     "PRAGMA journal_size_limit = 67108864;");
        if (r >= 0)
                r = migrate(db);
        for (size_t i = 0; r >= 0 && i < _STMT_MAX; i++)
                if (sqlite3_prepare_v3(db->sqlite, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                       &db->stmts[i], NULL) != SQLITE_OK)
                        r = -EIO;
        if (r < 0) {
                /* "file is not a database", "database disk image is malformed": say which */
                if (r != -EPROTONOSUPPORT)
                        log_error("SQLite: %s: %s", path, sqlite3_errmsg(db->sqlite));
                db_close(TAKE_PTR(db));
                return r;
        }
        *ret = TAKE_PTR(db);
        return 0;
}

Db *db_close(Db *db) {
        if (!db)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(db->stmts[i]);
        sqlite3_close(db->sqlite);
        free(db);
        return NULL;
}

struct sqlite3 *db_handle(Db *db) {
        return db->sqlite;
}

/* Run a prepared statement that returns no rows, then reset it. */
static int step_done(sqlite3_stmt *s) {
        int rc = sqlite3_step(s);
        int r = rc == SQLITE_DONE ? 0 : db_sqlite_errno(rc);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return r;
}

static int step_simple(Db *db, int which) {
        return step_done(db->stmts[which]);
}

int db_begin(Db *db) {
        if (db->begin_hook)
                db->begin_hook(db->begin_hook_userdata);
        return step_simple(db, STMT_BEGIN);
}

bool db_in_transaction(Db *db) {
        return !sqlite3_get_autocommit(db->sqlite);
}

int db_commit(Db *db) {
        sqlite3_stmt *s = db->stmts[STMT_COMMIT];
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if ((rc & 0xff) == SQLITE_IOERR) {
                /* A commit whose write or fsync failed may be on disk all the same: the WAL
                 * holds the transaction's frames, and the next start replays them (seen with a
                 * failing fdatasync: the caller was told "failed", and after a restart the peer
                 * was there). Neither answer would be true, and memory that rolled back would
                 * differ from what a start loads. Like PostgreSQL, stop here: the callers get
                 * no answer, and the start loads what the disk holds and puts the devices in
                 * line with it. */
                log_error("Committing to the database failed with an I/O error (%s): whether the change is on "
                          "disk is unknown; exiting, so that the start loads what the disk holds",
                          sqlite3_errstr(rc));
                _exit(EXIT_FAILURE);
        }
        return rc == SQLITE_DONE ? 0 : db_sqlite_errno(rc);
}

void db_rollback(Db *db) {
        if (!sqlite3_get_autocommit(db->sqlite))
                (void) step_simple(db, STMT_ROLLBACK);
}

int db_meta_get(Db *db, const char *key, uint8_t **ret, size_t *ret_len) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "SELECT value FROM meta WHERE key = ?1", &s);
        if (r < 0)
                return r;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return db_sqlite_errno(rc);
        size_t n = (size_t) sqlite3_column_bytes(s, 0);
        uint8_t *v = malloc(n + 1);
        if (!v)
                return -ENOMEM;
        if (n > 0)
                memcpy(v, sqlite3_column_blob(s, 0), n);
        *ret = v;
        *ret_len = n;
        return 0;
}

int db_meta_set(Db *db, const char *key, const uint8_t *value, size_t len) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", &s);
        if (r < 0)
                return r;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, value, (int) len, SQLITE_STATIC);
        return step_done(s);
}

int db_holds_sealed(Db *db) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "SELECT (SELECT count(*) FROM meta WHERE key = 'key_check') + "
                               "(SELECT count(*) FROM networks) + (SELECT count(*) FROM tunnels)", &s);
        if (r < 0)
                return r;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return db_sqlite_errno(rc) < 0 ? db_sqlite_errno(rc) : -EIO;
        return sqlite3_column_int64(s, 0) > 0;
}

/* Ids are never given twice, also not after the newest object was deleted and the daemon
 * started again: an object path and the audit trail's WGNET_PEER_ID name one object for
 * good. A delete records the highest id it removes in meta (one upsert, in the delete's
 * transaction); the start continues after the larger of that and the tables' own. */
int db_record_deleted_id(Db *db, const char *key, uint64_t id) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        int r = db_prepare(db, "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE"
                               " SET value = MAX(CAST(value AS INTEGER), excluded.value)", &s);
        if (r < 0)
                return r;
        DB_BIND(sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC));
        DB_BIND(sqlite3_bind_int64(s, 2, (sqlite3_int64) id));
        return step_done(s);
}

int db_max_ids(Db *db, uint64_t *ret_network, uint64_t *ret_peer) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db->sqlite,
                               "SELECT MAX((SELECT IFNULL(MAX(id), 0) FROM networks),"
                               "  IFNULL((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'network_id_high'), 0)),"
                               " MAX((SELECT IFNULL(MAX(id), 0) FROM peers),"
                               "  IFNULL((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'peer_id_high'), 0),"
                               "  " DB_HISTORY_GONE_MAX_ID_SQL ")",
                               -1, &s, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(s) != SQLITE_ROW)
                return -EIO;
        *ret_network = (uint64_t) sqlite3_column_int64(s, 0);
        *ret_peer = (uint64_t) sqlite3_column_int64(s, 1);
        return 0;
}

/* Lists are stored as text joined by ','. */
char *db_prefixes_join(const IpPrefix *p, size_t n) {
        size_t size = n * IP_PREFIX_STRLEN + 1;
        char *s = malloc(size), *w = s;
        if (!s)
                return NULL;
        *w = 0;
        for (size_t i = 0; i < n; i++) {
                char buf[IP_PREFIX_STRLEN];
                w += sprintf(w, "%s%s", i ? "," : "", ip_prefix_to_string(&p[i], buf));
        }
        return s;
}

static char *strv_join_comma(char **l) {
        size_t size = 1;
        for (char **i = l; i && *i; i++)
                size += strlen(*i) + 1;
        char *s = malloc(size), *w = s;
        if (!s)
                return NULL;
        *w = 0;
        for (char **i = l; i && *i; i++)
                w += sprintf(w, "%s%s", i == l ? "" : ",", *i);
        return s;
}

int db_prefixes_split(const char *text, IpPrefix **ret, size_t *ret_n) {
        _cleanup_(freep) IpPrefix *list = NULL;
        size_t n = 0;

        for (const char *p = text; p && *p;) {
                const char *e = strchrnul(p, ',');
                IpPrefix *nl = realloc(list, (n + 1) * sizeof(IpPrefix));
                if (!nl)
                        return -ENOMEM;
                list = nl;
                if (ip_prefix_parse_n(p, (size_t) (e - p), false, &list[n]) < 0)
                        return -EBADMSG;
                n++;
                p = *e ? e + 1 : e;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

#define BIND(expr)                                              \
        do {                                                    \
                if ((expr) != SQLITE_OK)                        \
                        goto bind_failed;                       \
        } while (0)

static int network_bind(sqlite3_stmt *s, const Network *n, bool with_key) {
        _cleanup_(freep) char *addresses = db_prefixes_join(n->subnets, n->n_subnets);
        _cleanup_(freep) char *routes = db_prefixes_join(n->extra_routes, n->n_extra_routes);
        _cleanup_(freep) char *dns = strv_join_comma(n->dns);
        char pub[WG_KEY_B64_SIZE];

        if (!addresses || !routes || !dns)
                return -ENOMEM;
        wg_key_to_base64(pub, n->public_key);
        BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) n->id));
        BIND(sqlite3_bind_text(s, 2, n->name, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 3, n->ifname, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_int(s, 4, n->listen_port));
        if (with_key) {
                BIND(sqlite3_bind_blob(s, 5, n->private_key_sealed, sizeof(n->private_key_sealed), SQLITE_STATIC));
                BIND(sqlite3_bind_text(s, 6, pub, -1, SQLITE_TRANSIENT));
                BIND(sqlite3_bind_int64(s, 18, (sqlite3_int64) n->created_at));
        }
        BIND(sqlite3_bind_text(s, 7, addresses, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 8, n->endpoint ? n->endpoint : "", -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 9, dns, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_int64(s, 10, n->mtu));
        BIND(sqlite3_bind_text(s, 11, network_mode_to_string(n->mode), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(s, 12, routes, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_int(s, 13, n->peer_isolation));
        BIND(sqlite3_bind_text(s, 14, n->nat_interface ? n->nat_interface : "", -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 15, key_policy_to_string(n->key_policy), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(s, 16, n->online_threshold));
        BIND(sqlite3_bind_int(s, 17, n->active));
        BIND(sqlite3_bind_int64(s, 19, (sqlite3_int64) n->rotation_interval));
        BIND(sqlite3_bind_text(s, 20, rotation_kind_to_string(n->rotation_kind), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_int64(s, 21, (sqlite3_int64) n->revoke_inactive));
        BIND(sqlite3_bind_int64(s, 22, (sqlite3_int64) n->grace_period));
        BIND(sqlite3_bind_int(s, 23, n->default_route));
        BIND(sqlite3_bind_int64(s, 24, n->route_table));
        BIND(sqlite3_bind_int(s, 25, n->peer_routes));
        return 0;
bind_failed:
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -EIO;
}

int db_network_insert(Db *db, const Network *n) {
        int r = network_bind(db->stmts[STMT_NETWORK_INSERT], n, true);
        return r < 0 ? r : step_simple(db, STMT_NETWORK_INSERT);
}

int db_network_update(Db *db, const Network *n) {
        int r = network_bind(db->stmts[STMT_NETWORK_UPDATE], n, false);
        return r < 0 ? r : step_simple(db, STMT_NETWORK_UPDATE);
}

int db_network_delete(Db *db, uint64_t id) {
        _cleanup_(db_stmt_finalizep) sqlite3_stmt *q = NULL;
        int r = db_prepare(db, "SELECT IFNULL(MAX(id), 0) FROM peers WHERE network_id = ?1", &q);
        if (r < 0)
                return r;
        DB_BIND(sqlite3_bind_int64(q, 1, (sqlite3_int64) id));
        if (sqlite3_step(q) != SQLITE_ROW)
                return -EIO;
        uint64_t peers_high = (uint64_t) sqlite3_column_int64(q, 0);
        r = db_record_deleted_id(db, "network_id_high", id);
        if (r >= 0 && peers_high > 0)
                r = db_record_deleted_id(db, "peer_id_high", peers_high);
        if (r < 0)
                return r;
        sqlite3_stmt *s = db->stmts[STMT_NETWORK_DELETE];
        if (sqlite3_bind_int64(s, 1, (sqlite3_int64) id) != SQLITE_OK)
                return -EIO;
        return step_done(s);
}

static int peer_bind(sqlite3_stmt *s, const Peer *p) {
        _cleanup_(freep) char *sites = db_prefixes_join(p->site_networks, p->n_site_networks);
        char pub[WG_KEY_B64_SIZE], pending[WG_KEY_B64_SIZE];

        if (!sites)
                return -ENOMEM;
        wg_key_to_base64(pub, p->public_key);
        BIND(sqlite3_bind_int64(s, 1, (sqlite3_int64) p->id));
        BIND(sqlite3_bind_int64(s, 2, (sqlite3_int64) p->network->id));
        BIND(sqlite3_bind_text(s, 3, p->name, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 4, p->email ? p->email : "", -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_text(s, 5, pub, -1, SQLITE_TRANSIENT));
        if (p->has_psk)
                BIND(sqlite3_bind_blob(s, 6, p->psk_sealed, sizeof(p->psk_sealed), SQLITE_STATIC));
        else
                BIND(sqlite3_bind_null(s, 6));
        BIND(sqlite3_bind_text(s, 7, peer_role_to_string(p->role), -1, SQLITE_STATIC));
        BIND(sqlite3_bind_text(s, 8, sites, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_int(s, 9, p->keepalive));
        BIND(sqlite3_bind_int(s, 10, p->enabled));
        BIND(sqlite3_bind_int64(s, 11, (sqlite3_int64) p->created_at));
        BIND(sqlite3_bind_int64(s, 12, (sqlite3_int64) p->updated_at));
        BIND(sqlite3_bind_int64(s, 13, (sqlite3_int64) p->expires_at));
        BIND(p->rotation_interval < 0 ? sqlite3_bind_null(s, 16) : sqlite3_bind_int64(s, 16, p->rotation_interval));
        BIND(p->rotation_kind < 0 ? sqlite3_bind_null(s, 17)
                                  : sqlite3_bind_text(s, 17, rotation_kind_to_string(p->rotation_kind), -1, SQLITE_STATIC));
        BIND(p->revoke_inactive < 0 ? sqlite3_bind_null(s, 18) : sqlite3_bind_int64(s, 18, p->revoke_inactive));
        BIND(p->grace_period < 0 ? sqlite3_bind_null(s, 19) : sqlite3_bind_int64(s, 19, p->grace_period));
        BIND(sqlite3_bind_int64(s, 20, (sqlite3_int64) p->last_rotation));
        if (p->rotation_pending) {
                wg_key_to_base64(pending, p->pending_public_key);
                BIND(sqlite3_bind_text(s, 21, pending, -1, SQLITE_TRANSIENT));
                BIND(sqlite3_bind_blob(s, 22, p->pending_psk_sealed, sizeof(p->pending_psk_sealed), SQLITE_STATIC));
                BIND(p->pending_private_stored
                     ? sqlite3_bind_blob(s, 23, p->pending_private_sealed, sizeof(p->pending_private_sealed), SQLITE_STATIC)
                     : sqlite3_bind_null(s, 23));
        } else {
                BIND(sqlite3_bind_null(s, 21));
                BIND(sqlite3_bind_null(s, 22));
                BIND(sqlite3_bind_null(s, 23));
        }
        BIND(sqlite3_bind_int64(s, 24, (sqlite3_int64) (p->rotation_pending ? p->rotation_deadline : 0)));
        BIND(sqlite3_bind_text(s, 25, p->remote_endpoint, -1, SQLITE_TRANSIENT));
        BIND(sqlite3_bind_int(s, 26, p->keepalive_on_device));
        return 0;
bind_failed:
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -EIO;
}

int db_peer_insert(Db *db, const Peer *p, const uint8_t *sealed_private_key, size_t sealed_len) {
        sqlite3_stmt *s = db->stmts[STMT_PEER_INSERT];
        int r = peer_bind(s, p);
        if (r < 0)
                return r;
        if ((sealed_private_key ? sqlite3_bind_blob(s, 15, sealed_private_key, (int) sealed_len, SQLITE_STATIC)
                                : sqlite3_bind_null(s, 15)) != SQLITE_OK) {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
                return -EIO;
        }
        r = step_done(s);
        if (r < 0)
                return r;
        return db_peer_set_addresses(db, p);
}

int db_peer_update(Db *db, const Peer *p) {
        int r = peer_bind(db->stmts[STMT_PEER_UPDATE], p);
        return r < 0 ? r : step_simple(db, STMT_PEER_UPDATE);
}

int db_peer_set_addresses(Db *db, const Peer *p) {
        sqlite3_stmt *del = db->stmts[STMT_ADDR_DELETE], *ins = db->stmts[STMT_ADDR_INSERT];
        int r;

        if (sqlite3_bind_int64(del, 1, (sqlite3_int64) p->id) != SQLITE_OK)
                return -EIO;
        r = step_done(del);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_addresses; i++) {
                char buf[IP_PREFIX_STRLEN];
                if (sqlite3_bind_int64(ins, 1, (sqlite3_int64) p->network->id) != SQLITE_OK ||
                    sqlite3_bind_int64(ins, 2, (sqlite3_int64) p->id) != SQLITE_OK ||
                    sqlite3_bind_text(ins, 3, ip_prefix_to_string(&p->addresses[i], buf), -1,
                                      SQLITE_TRANSIENT) != SQLITE_OK) {
                        sqlite3_reset(ins);
                        return -EIO;
                }
                r = step_done(ins);
                if (r == -EEXIST)
                        return -EADDRINUSE;
                if (r < 0)
                        return r;
        }
        return 0;
}

int db_peer_delete(Db *db, uint64_t id) {
        int r = db_record_deleted_id(db, "peer_id_high", id);
        if (r < 0)
                return r;
        sqlite3_stmt *s = db->stmts[STMT_PEER_DELETE];
        if (sqlite3_bind_int64(s, 1, (sqlite3_int64) id) != SQLITE_OK)
                return -EIO;
        return step_done(s);
}

int db_peer_set_private_key(Db *db, uint64_t id, const uint8_t *sealed, size_t len) {
        sqlite3_stmt *s = db->stmts[STMT_PEER_SET_PRIVATE_KEY];
        if (sqlite3_bind_int64(s, 1, (sqlite3_int64) id) != SQLITE_OK ||
            (sealed ? sqlite3_bind_blob(s, 2, sealed, (int) len, SQLITE_STATIC) : sqlite3_bind_null(s, 2)) != SQLITE_OK) {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
                return -EIO;
        }
        return step_done(s);
}

int db_peer_get_private_key(Db *db, uint64_t id, uint8_t **ret, size_t *ret_len) {
        sqlite3_stmt *s = db->stmts[STMT_PEER_PRIVATE_KEY];
        int r = -ENODATA;

        if (sqlite3_bind_int64(s, 1, (sqlite3_int64) id) != SQLITE_OK)
                return -EIO;
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = db_sqlite_errno(rc) < 0 ? db_sqlite_errno(rc) : -EIO;   /* not "not stored" */
        else if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_BLOB) {
                int len = sqlite3_column_bytes(s, 0);
                uint8_t *blob = malloc((size_t) len);
                if (!blob)
                        r = -ENOMEM;
                else {
                        memcpy(blob, sqlite3_column_blob(s, 0), (size_t) len);
                        *ret = blob;
                        *ret_len = (size_t) len;
                        r = 0;
                }
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return r;
}

const char *db_column_text(sqlite3_stmt *s, int i) {
        const unsigned char *t = sqlite3_column_text(s, i);
        return t ? (const char *) t : "";
}
