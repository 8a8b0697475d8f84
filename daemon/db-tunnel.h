/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The SQL of the tunnels (db.c runs the migration and the transactions). */

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "pairing.h"

typedef struct Tunnel Tunnel;
struct sqlite3;

/* Schema step: the tables tunnels and pairings_used. */
extern const char db_tunnel_migration[];

/* db.c's connection, for db-tunnel.c. */
struct sqlite3 *db_handle(Db *db);

int db_tunnel_max_id(Db *db, uint64_t *ret);
int db_tunnel_load(Db *db, Manager *m);
/* -EEXIST on a name or interface clash. */
int db_tunnel_insert(Db *db, const Tunnel *t);
int db_tunnel_update(Db *db, const Tunnel *t);
int db_tunnel_delete(Db *db, uint64_t id);

/* Record that a pairing (kind, id) was consumed on this host: -EEXIST if it already was. */
int db_pairing_mark_used(Db *db, PairingKind kind, const uint8_t id[PAIRING_ID_LEN], uint64_t tunnel_id);
/* 1 used, 0 not, negative errno. */
int db_pairing_is_used(Db *db, PairingKind kind, const uint8_t id[PAIRING_ID_LEN]);
