/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's object lookups (client/bus-client.c): a peer by object path through the
 * sorted index that merging GetStats uses (one binary search per entry, not a scan of
 * every peer for every entry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-client.h"
#include "test.h"

#define N_PEERS 20000

TEST(peer_by_path) {
        Objects o = { 0 };
        char path[64];

        o.peers = calloc(N_PEERS, sizeof(PeerInfo));
        ASSERT_TRUE(o.peers);
        o.n_peers = N_PEERS;
        /* ids in load order, paths in an order of their own (as strings: 10 before 9) */
        for (size_t i = 0; i < N_PEERS; i++) {
                snprintf(path, sizeof(path), "/org/wgnet1/peer/%zu", (i * 7919) % N_PEERS + 1);
                o.peers[i].path = strdup(path);
                o.peers[i].id = i;
                ASSERT_TRUE(o.peers[i].path);
        }
        for (size_t k = 1; k <= N_PEERS; k++) {
                snprintf(path, sizeof(path), "/org/wgnet1/peer/%zu", k);
                PeerInfo *p = objects_peer_by_path(&o, path);
                ASSERT_TRUE(p);
                ASSERT_STREQ(p->path, path);
                ASSERT_EQ(p->id, (size_t) (p - o.peers));
        }
        ASSERT_TRUE(objects_peer_by_path(&o, "/org/wgnet1/peer/0") == NULL);
        ASSERT_TRUE(objects_peer_by_path(&o, "/org/wgnet1/peer/20001") == NULL);
        ASSERT_TRUE(objects_peer_by_path(&o, "/org/wgnet1/peer/") == NULL);
        ASSERT_TRUE(objects_peer_by_path(&o, "") == NULL);
        ASSERT_TRUE(objects_peer_by_path(&o, NULL) == NULL);
        objects_done(&o);

        Objects empty = { 0 };
        ASSERT_TRUE(objects_peer_by_path(&empty, "/org/wgnet1/peer/1") == NULL);
        objects_done(&empty);
}

TEST_MAIN()
