/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wgnetctl's object lookups (client/bus-client.c): a peer by object path through the
 * sorted index that merging GetStats uses (one binary search per entry, not a scan of
 * every peer for every entry); the text of authorization errors. */
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

static void test_auth_one(const char *name, const char *message, const char *table_action, const char *expected) {
        char *s = auth_error_text(name, message, table_action);
        if (!expected) {
                ASSERT_TRUE(s == NULL);
                return;
        }
        ASSERT_TRUE(s);
        if (strstr(s, expected) == NULL) {
                fprintf(stderr, "'%s' does not contain '%s'\n", s, expected);
                ASSERT_TRUE(false);
        }
        free(s);
}

#define DENIED SD_BUS_ERROR_ACCESS_DENIED
#define INTERACTIVE SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED
#define MP "org.wgnet1.manage-peers"
#define RS "org.wgnet1.read-secrets"

TEST(auth_error_text) {
        /* RotateKeys: manage-peers allowed, then read-secrets denied: the daemon's action */
        test_auth_one(DENIED, "Not authorized: " RS, MP, "not authorized (polkit action " RS "); run it as root");
        test_auth_one(DENIED, "Not authorized: " RS, MP, "grant " RS " to you");
        test_auth_one(DENIED, "Not authorized: " MP, MP, "polkit action " MP ")");
        test_auth_one(INTERACTIVE, "Interactive authentication required for " RS, MP,
                      "authentication is required for polkit action " RS ", but no password");
        /* no message (an older daemon's): the table's action */
        test_auth_one(DENIED, NULL, MP, "not authorized (polkit action " MP ")");
        test_auth_one(DENIED, "", MP, "not authorized (polkit action " MP ")");
        test_auth_one(INTERACTIVE, "", "org.wgnet1.manage-networks", "polkit action org.wgnet1.manage-networks,");
        /* not a plain denial: the daemon's words, not "ask an administrator" */
        test_auth_one(DENIED, "Authorization for " RS " was not completed in time (polkit did not answer)", MP,
                      "Authorization for " RS " was not completed in time (polkit did not answer)");
        test_auth_one(DENIED, "Authorization for " MP " could not be checked: polkit is not available", MP,
                      "could not be checked: polkit is not available");
        test_auth_one(DENIED, "The caller left before its call was run", MP, "The caller left before its call was run");
        test_auth_one(DENIED, "Rejected send message, 1 matched rules; type=\"method_call\"", NULL, "Rejected send message");
        char *s = auth_error_text(DENIED, "Authorization for " MP " was not completed in time (x)", MP);
        ASSERT_TRUE(s && !strstr(s, "ask an administrator"));
        free(s);
        /* an action-looking word that is not one */
        test_auth_one(DENIED, "Not authorized: nothing here", MP, "Not authorized: nothing here");
        test_auth_one(DENIED, NULL, NULL, "access denied");
        /* other errors are not this function's */
        test_auth_one(SD_BUS_ERROR_INVALID_ARGS, "Not authorized: " RS, MP, NULL);
        test_auth_one(NULL, NULL, MP, NULL);
}

TEST(peer_in_network) {
        NetworkInfo a = { .path = (char *) "/org/wgnet1/network/1" }, b = { .path = (char *) "/org/wgnet1/network/2" };
        PeerInfo in_a = { .path = (char *) "/org/wgnet1/peer/1", .network = (char *) "/org/wgnet1/network/1" };
        PeerInfo none = { .path = (char *) "/org/wgnet1/peer/2" };   /* no Network property */

        ASSERT_TRUE(peer_in_network(&in_a, &a));
        ASSERT_FALSE(peer_in_network(&in_a, &b));
        /* it was listed under every network by status and peer list NETWORK */
        ASSERT_FALSE(peer_in_network(&none, &a));
        ASSERT_FALSE(peer_in_network(&none, &b));
        ASSERT_FALSE(peer_in_network(&in_a, NULL));
}

TEST(polkit_table) {
        ASSERT_STREQ(polkit_action_for("org.wgnet1.Peer", "RotateKeys"), MP);
        ASSERT_STREQ(polkit_action_for("org.wgnet1.Tunnel", "GetPairing"), RS);
        ASSERT_STREQ(polkit_action_for("org.wgnet1.Mesh", "CreateInvitation"), MP);
        ASSERT_TRUE(polkit_action_for("org.wgnet1.Network", "GetStats") == NULL);
}

TEST_MAIN()
