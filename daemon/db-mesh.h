/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The SQL of the meshes (db.c runs the migration and the transactions). */

#include <stdint.h>

#include "db.h"

typedef struct Mesh Mesh;
typedef struct MeshPeer MeshPeer;

extern const char db_mesh_migration[];
extern const char db_mesh_departed_migration[];

/* Insert or replace. */
int db_mesh_save(Db *db, const Mesh *m);
int db_mesh_peer_save(Db *db, uint64_t network_id, const MeshPeer *p);
int db_mesh_peer_delete(Db *db, uint64_t peer_id);
/* The network's key (a member replaces the invitation's one-time key by its own). */
int db_network_set_key(Db *db, uint64_t network_id, const uint8_t *sealed, size_t sealed_len,
                       const uint8_t public_key[32]);
/* Forget that an invitation was used here (the coordinator never answered: try again). */
int db_invitation_forget(Db *db, const uint8_t id[16]);
/* Give every loaded mesh network its state (after db_load). */
int db_mesh_load(Db *db, Manager *m);
