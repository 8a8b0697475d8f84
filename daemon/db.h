/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The only place with SQL. WAL, foreign keys, synchronous=FULL (a commit is durable before
 * the caller replies), migrations by PRAGMA user_version. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Db Db;
typedef struct Manager Manager;
typedef struct Network Network;
typedef struct Peer Peer;

int db_open(const char *path, Db **ret);
/* Called at the start of every transaction (the daemon commits queued AddPeer calls first). */
void db_set_begin_hook(Db *db, void (*hook)(void *userdata), void *userdata);
Db *db_close(Db *db);

/* For the other daemon/db-*.c files: the connection, to prepare their own statements. */
struct sqlite3 *db_handle(Db *db);

int db_begin(Db *db);
int db_commit(Db *db);
/* Is a transaction open (a caller's change in progress)? */
bool db_in_transaction(Db *db);
void db_rollback(Db *db);

/* Highest id in use, 0 for none. */
/* The meta table: -ENOENT when key is not there; ret is malloc'd. */
int db_meta_get(Db *db, const char *key, uint8_t **ret, size_t *ret_len);
int db_meta_set(Db *db, const char *key, const uint8_t *value, size_t len);
/* 1 when something in the database is (or was) sealed with the secret key: a key check,
 * a network or a tunnel (each has a sealed private key); 0 for a new, empty database. */
int db_holds_sealed(Db *db);
int db_max_ids(Db *db, uint64_t *ret_network, uint64_t *ret_peer);
/* Remember that id (of key "network_id_high", "peer_id_high", "tunnel_id_high") was given. */
int db_record_deleted_id(Db *db, const char *key, uint64_t id);

/* Load every network and peer into the manager (network_new/peer_new, attach, link). */
int db_load(Db *db, Manager *m);

int db_network_insert(Db *db, const Network *n);
int db_network_update(Db *db, const Network *n);
int db_network_delete(Db *db, uint64_t id);

/* sealed_private_key may be NULL (not stored). */
int db_peer_insert(Db *db, const Peer *p, const uint8_t *sealed_private_key, size_t sealed_len);
int db_peer_update(Db *db, const Peer *p);
int db_peer_set_addresses(Db *db, const Peer *p);
int db_peer_delete(Db *db, uint64_t id);
/* -ENODATA when the private key is not stored. *ret is malloc'd. */
int db_peer_get_private_key(Db *db, uint64_t id, uint8_t **ret, size_t *ret_len);
/* Replace the stored private key; sealed NULL = not stored. */
int db_peer_set_private_key(Db *db, uint64_t id, const uint8_t *sealed, size_t len);
