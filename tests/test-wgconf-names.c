/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Peer names from comments: where a name comment counts, for which peer, and what is
 * dropped. */

#include "macro.h"
#include "test.h"
#include "wgconf-util.h"
#include "wgconf.h"

TEST(peer_names) {
        WgConf *c = parse_ok("[Interface]\n# Name = not a peer\nPrivateKey = " K1 "\n"
                             "[Peer]\n# Name = laptop\nPublicKey = " K2 "\n"
                             "[Peer]\n#name=phone # two\n# Name = ignored\nPublicKey = " K3 "\n"
                             /* held for the next [Peer], whose own name wins */
                             "# Name = above the next\n"
                             "[Peer]\n# friendly_name = Friendly Peer \n# friendly_json = {}\nPublicKey = " K4 "\n"
                             "[Peer]\n# Name: host2\nPublicKey = " K1 "\n");
        ASSERT_TRUE(c->private_key_note == NULL);
        ASSERT_EQ(c->n_peers, 4);
        ASSERT_STREQ(c->peers[0].name, "laptop");
        ASSERT_STREQ(c->peers[1].name, "phone # two");
        ASSERT_STREQ(c->peers[2].name, "Friendly Peer");
        ASSERT_STREQ(c->peers[3].name, "host2");
        wgconf_util_round_trip(c);
        wgconf_free(c);

        /* comments that are not names */
        c = parse_ok("[Peer]\n# Named = x\n# Clients: y\n# name\n# Name =\nPublicKey = " K2 "\n");
        ASSERT_TRUE(c->peers[0].name == NULL);
        wgconf_free(c);

        /* wg-easy writes "# Client: NAME (ID)" above each [Peer]: the id is no part of it */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\nAddress = 10.8.0.1/24\n\n"
                     "# Client: phone (184a9b70-03b3-4bfb-ae89-ce463634f394)\n[Peer]\nPublicKey = " K2 "\n"
                     "AllowedIPs = 10.8.0.2/32\n\n"
                     "# Client: Bob's laptop (x) (42)\n[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.8.0.3/32\n\n"
                     "# Client: (only an id)\n[Peer]\nPublicKey = " K4 "\nAllowedIPs = 10.8.0.4/32\n");
        ASSERT_STREQ(c->peers[0].name, "phone");
        ASSERT_STREQ(c->peers[1].name, "Bob's laptop (x)");
        ASSERT_TRUE(c->peers[2].name == NULL);
        wgconf_free(c);

        /* a name before [Peer] belongs to no peer */
        c = parse_ok("# Name = top\n[Peer]\nPublicKey = " K2 "\n");
        ASSERT_TRUE(c->peers[0].name == NULL);
        ASSERT_EQ(c->n_comments, 1);
        ASSERT_STREQ(c->comments[0], "Name = top");
        wgconf_free(c);
}

static void assert_peer(const WgConfPeer *p, const char *key, const char *name) {
        uint8_t k[WG_KEY_LEN];

        ASSERT_OK(wg_key_from_base64(k, key));
        ASSERT_MEMEQ(p->public_key, k, WG_KEY_LEN);
        if (!wgconf_util_streq(p->name, name))
                fprintf(stderr, "peer %s: name %s, expected %s\n", key, p->name ? p->name : "(none)", name ? name : "(none)");
        ASSERT_TRUE(wgconf_util_streq(p->name, name));
}

/* A server file as wireguard-ui writes it (its templates/wg.conf, three clients, one with
 * notes): each client's comment block, "# Name:" in it, stands above the client's [Peer]
 * line, after the keys of the section before. Each name is the peer's below it; read as
 * the section's it sits in, alice's key would be named bob, bob's carol. */
TEST(peer_names_above_peer) {
        static const char text[] =
                "# This file was generated using wireguard-ui (https://github.com/ngoduykhanh/wireguard-ui)\n"
                "# Please don't modify it manually, otherwise your change might get replaced.\n"
                "\n"
                "# Address updated at:     2024-03-01 10:00:00.000000000 +0000 UTC\n"
                "# Private Key updated at: 2024-03-01 10:00:00.000000000 +0000 UTC\n"
                "[Interface]\n"
                "Address = 10.252.1.0/24\n"
                "ListenPort = 51820\n"
                "PrivateKey = " K1 "\n"
                "MTU = 1450\n"
                "PostUp = \n"
                "PreDown = \n"
                "PostDown = \n"
                "Table = auto\n"
                "\n"
                "\n"
                "# ID:           cnhc0e8a2f3s73d0mrkg\n"
                "# Name:         alice\n"
                "# Email:        alice@example.com\n"
                "# Telegram:     \n"
                "# Created at:   2024-03-01 10:01:00.000000000 +0000 UTC\n"
                "# Update at:    2024-03-01 10:01:00.000000000 +0000 UTC\n"
                "[Peer]\n"
                "PublicKey = " K2 "\n"
                "\n"
                "AllowedIPs = 10.252.1.1/32\n"
                "PersistentKeepalive = 15\n"
                "\n"
                "\n"
                "# ID:           cnhc0u0a2f3s73d0mrl0\n"
                "# Name:         bob\n"
                "# Email:        \n"
                "# Telegram:     0\n"
                "# Created at:   2024-03-01 10:02:00.000000000 +0000 UTC\n"
                "# Update at:    2024-03-02 08:00:00.000000000 +0000 UTC\n"
                "\n"
                "# Notes:\n"
                "# Name: the old phone, given away\n"
                "[Peer]\n"
                "PublicKey = " K3 "\n"
                "PresharedKey = " K1 "\n"
                "AllowedIPs = 10.252.1.2/32,192.168.50.0/24\n"
                "PersistentKeepalive = 15\n"
                "Endpoint = 192.0.2.10:51820\n"
                "\n"
                "# ID:           cnhc1a8a2f3s73d0mrm0\n"
                "# Name:         carol\n"
                "# Email:        carol@example.com\n"
                "# Telegram:     \n"
                "# Created at:   2024-03-01 10:03:00.000000000 +0000 UTC\n"
                "# Update at:    2024-03-01 10:03:00.000000000 +0000 UTC\n"
                "[Peer]\n"
                "PublicKey = " K4 "\n"
                "\n"
                "AllowedIPs = 10.252.1.3/32\n"
                "PersistentKeepalive = 15\n"
                "\n";
        WgConf *c = parse_ok(text);
        ASSERT_EQ(c->n_peers, 3);
        assert_peer(&c->peers[0], K2, "alice");
        assert_peer(&c->peers[1], K3, "bob");       /* the first name held wins over the notes' */
        assert_peer(&c->peers[2], K4, "carol");
        /* rendered inside the [Peer], and read back there */
        char *out = NULL;
        ASSERT_OK(wgconf_render(c, &out));
        ASSERT_TRUE(strstr(out, "[Peer]\n# Name = alice\nPublicKey = " K2 "\n"));
        wg_wipe_free_string(out);
        wgconf_util_round_trip(c);
        wgconf_free(c);
}

TEST(peer_names_after_keys) {
        /* a name after a peer's keys that no [Peer] below takes is that peer's (more keys
         * follow, the end of the file, an [Interface]), as before names above a [Peer] counted */
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K2 "\n# Name = late\nAllowedIPs = 10.0.0.2/32\n"
                             "[Peer]\nPublicKey = " K3 "\n# Name = trailing\n\n");
        assert_peer(&c->peers[0], K2, "late");
        assert_peer(&c->peers[1], K3, "trailing");
        wgconf_free(c);
        c = parse_ok("[Peer]\nPublicKey = " K2 "\n# Name = x\n\n[Interface]\nPrivateKey = " K1 "\n"
                     "[Peer]\nPublicKey = " K3 "\n");
        assert_peer(&c->peers[0], K2, "x");
        assert_peer(&c->peers[1], K3, NULL);
        wgconf_free(c);

        /* ... and when the [Peer] below has a name of its own, the held one goes back up:
         * each name stays with the keys it was written with */
        c = parse_ok("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32\n# Name = alice\n\n"
                     "[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.0.0.3/32\n# Name = bob\n");
        assert_peer(&c->peers[0], K2, "alice");
        assert_peer(&c->peers[1], K3, "bob");
        wgconf_free(c);
        c = parse_ok("[Peer]\nPublicKey = " K2 "\n# Name = alice\n\n[Peer]\n# Name = bob\nPublicKey = " K3 "\n");
        assert_peer(&c->peers[0], K2, "alice");
        assert_peer(&c->peers[1], K3, "bob");
        wgconf_free(c);
        /* the same for every peer of such a file */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n\n[Peer]\nPublicKey = " K2 "\n# Name = a\n\n"
                     "[Peer]\nPublicKey = " K3 "\nAllowedIPs = 10.0.0.3/32\n# Name = b\n\n"
                     "[Peer]\nPublicKey = " K4 "\n# Name = c\n");
        assert_peer(&c->peers[0], K2, "a");
        assert_peer(&c->peers[1], K3, "b");
        assert_peer(&c->peers[2], K4, "c");
        wgconf_util_round_trip(c);
        wgconf_free(c);
        /* the layout comes from the whole file, not its first name: an "above" file whose
         * first peer has no name, a "below" file with a name after the [Interface]'s keys */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n\n[Peer]\nPublicKey = " K2 "\n\n# Name = bob\n"
                     "[Peer]\nPublicKey = " K3 "\n\n# Name = carol\n[Peer]\nPublicKey = " K4 "\n");
        assert_peer(&c->peers[0], K2, NULL);
        assert_peer(&c->peers[1], K3, "bob");
        assert_peer(&c->peers[2], K4, "carol");
        wgconf_free(c);
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n# Name = myserver\n\n[Peer]\nPublicKey = " K2 "\n# Name = alice\n"
                     "\n[Peer]\nPublicKey = " K3 "\n# Name = bob\n");
        assert_peer(&c->peers[0], K2, "alice");
        assert_peer(&c->peers[1], K3, "bob");
        wgconf_free(c);
        /* wg-easy's first client with an id and no name */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n\n# Client: (184a9b70)\n[Peer]\nPublicKey = " K2 "\n\n"
                     "# Client: bob (42)\n[ Peer ]\nPublicKey = " K3 "\n");
        assert_peer(&c->peers[0], K2, NULL);
        assert_peer(&c->peers[1], K3, "bob");
        wgconf_free(c);
        /* but not over a name the upper peer has */
        c = parse_ok("[Peer]\n# Name = own\nPublicKey = " K2 "\n# Name = stray\n[Peer]\n# Name = bob\nPublicKey = " K3 "\n");
        assert_peer(&c->peers[0], K2, "own");
        assert_peer(&c->peers[1], K3, "bob");
        wgconf_free(c);

        /* after the [Interface]'s keys: the first [Peer]'s; the first one held wins */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n# Name = first\n#\n\n# friendly_name = second\n"
                     "[Peer]\nPublicKey = " K2 "\n");
        assert_peer(&c->peers[0], K2, "first");
        wgconf_free(c);

        /* a name inside the [Peer] wins over one held from above it, whatever the order */
        c = parse_ok("[Interface]\nPrivateKey = " K1 "\n# Name = above\n"
                     "[Peer]\n# Name = inside\n# Name = later\nPublicKey = " K2 "\n");
        assert_peer(&c->peers[0], K2, "inside");
        wgconf_free(c);

        /* a peer given twice keeps the name of either block */
        c = parse_ok("[Peer]\nPublicKey = " K2 "\n\n# Name = again\n[Peer]\nPublicKey = " K2 "\n");
        ASSERT_EQ(c->n_peers, 1);
        assert_peer(&c->peers[0], K2, "again");
        wgconf_free(c);
}

/* wg accepts a file whose comments are Latin-1 (it drops every comment): a name that is not
 * UTF-8 text is dropped too, and the peer gets the default name, as if it had none. */
TEST(peer_name_not_text) {
        WgConf *c = parse_ok("[Interface]\nPrivateKey = " K1 "\n"
                             "[Peer]\n# Name = J\xfcrgen\nPublicKey = " K2 "\n"
                             "[Peer]\n# Name = J\xfcrgen\n# Name = Juergen\nPublicKey = " K3 "\n"
                             "# Name: J\xfcrgen\n"
                             "[Peer]\nPublicKey = " K4 "\n"
                             "[Peer]\n# Name = tab\x1b[1m\nPublicKey = " K1 "\n");
        ASSERT_EQ(c->n_peers, 4);
        assert_peer(&c->peers[0], K2, NULL);
        assert_peer(&c->peers[1], K3, "Juergen");
        assert_peer(&c->peers[2], K4, NULL);
        assert_peer(&c->peers[3], K1, NULL);
        wgconf_util_round_trip(c);
        wgconf_free(c);
}

TEST_MAIN()
