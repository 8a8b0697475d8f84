/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pairing strings (lib/pairing.c): a golden vector computed independently (Python:
 * hashlib.blake2b, base64.urlsafe_b64encode), round trips, a table of refusals with their
 * reasons, single-character damage always caught, point-to-point peer addresses and their
 * prefix bounds. */
#include <arpa/inet.h>
#include <sodium.h>

#include "macro.h"
#include "pairing.h"
#include "test.h"

#define GOLDEN \
        "wgnet-pair:1:AQABAgMEBQYHCAkKCwwNDg8AAAAAcAAAABERERERERERERERERERERERERERERERERERERERERERIiIiIiI" \
        "iIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIPMTkyLjAuMi4xOjUxODIwAgQfCv8AAQZ__QAAAAAAAAAAAAAAAAAAAQIEGAo" \
        "BAAAGMCABDbgAAQAAAAAAAAAAAADDQtEX"

static IpPrefix prefix(const char *s) {
        IpPrefix p;
        if (ip_prefix_parse(s, false, &p) < 0)
                abort();
        return p;
}

static Pairing golden_pairing(void) {
        Pairing p = { .kind = PAIRING_OFFER, .expires = 0x70000000 };
        for (size_t i = 0; i < PAIRING_ID_LEN; i++)
                p.id[i] = (uint8_t) i;
        memset(p.public_key, 0x11, WG_KEY_LEN);
        memset(p.preshared_key, 0x22, WG_KEY_LEN);
        strcpy(p.endpoint, "192.0.2.1:51820");
        p.tunnel_addresses[0] = prefix("10.255.0.1/31");
        p.tunnel_addresses[1] = prefix("fd00::1/127");
        p.n_tunnel_addresses = 2;
        p.networks[0] = prefix("10.1.0.0/24");
        p.networks[1] = prefix("2001:db8:1::/48");
        p.n_networks = 2;
        return p;
}

static void assert_pairing_equal(const Pairing *a, const Pairing *b) {
        ASSERT_EQ(a->kind, b->kind);
        ASSERT_MEMEQ(a->id, b->id, PAIRING_ID_LEN);
        ASSERT_EQ(a->expires, b->expires);
        ASSERT_MEMEQ(a->public_key, b->public_key, WG_KEY_LEN);
        ASSERT_MEMEQ(a->preshared_key, b->preshared_key, WG_KEY_LEN);
        ASSERT_STREQ(a->endpoint, b->endpoint);
        ASSERT_EQ(a->n_tunnel_addresses, b->n_tunnel_addresses);
        for (size_t i = 0; i < a->n_tunnel_addresses; i++)
                ASSERT_TRUE(ip_prefix_equal(&a->tunnel_addresses[i], &b->tunnel_addresses[i]));
        ASSERT_EQ(a->n_networks, b->n_networks);
        for (size_t i = 0; i < a->n_networks; i++)
                ASSERT_TRUE(ip_prefix_equal(&a->networks[i], &b->networks[i]));
}

TEST(golden_vector) {
        Pairing p = golden_pairing(), q;
        char *s = NULL;
        ASSERT_OK(pairing_format(&p, &s));
        ASSERT_STREQ(s, GOLDEN);
        ASSERT_OK(pairing_parse(GOLDEN, &q, NULL));
        assert_pairing_equal(&p, &q);
        free(s);
}

TEST(round_trips) {
        static const char *const endpoints[] = { "", "192.0.2.1:1", "[2001:db8::1]:51820" };
        for (size_t e = 0; e < ELEMENTSOF(endpoints); e++)
                for (size_t nn = 0; nn <= PAIRING_MAX_NETWORKS; nn += 8) {
                        Pairing p = golden_pairing(), q;
                        char *s = NULL;
                        p.kind = nn % 16 ? PAIRING_REPLY : PAIRING_OFFER;
                        p.expires = UINT64_MAX - nn;
                        strcpy(p.endpoint, endpoints[e]);
                        p.n_tunnel_addresses = e % 3;
                        p.n_networks = nn;
                        for (size_t i = 0; i < nn; i++) {
                                char buf[32];
                                snprintf(buf, sizeof(buf), "10.%zu.0.0/16", i + 1);
                                p.networks[i] = prefix(buf);
                        }
                        ASSERT_OK(pairing_format(&p, &s));
                        ASSERT_TRUE(strncmp(s, PAIRING_PREFIX, strlen(PAIRING_PREFIX)) == 0);
                        ASSERT_TRUE(strlen(s) < PAIRING_STRING_MAX);
                        ASSERT_OK(pairing_parse(s, &q, NULL));
                        assert_pairing_equal(&p, &q);
                        /* whitespace around is fine (a pasted line) */
                        char *padded = NULL;
                        ASSERT_TRUE(asprintf(&padded, " \t%s\r\n", s) > 0);
                        ASSERT_OK(pairing_parse(padded, &q, NULL));
                        assert_pairing_equal(&p, &q);
                        free(padded);
                        free(s);
                }
}

static void test_refused_one(const char *s, const char *reason) {
        Pairing p;
        const char *why = NULL;
        memset(&p, 0x5a, sizeof(p));
        ASSERT_ERR(pairing_parse(s, &p, &why), EINVAL);
        if (!why || !strstr(why, reason))
                TEST_FAIL("'%.40s': reason '%s', expected '%s'", s, why ? why : "(none)", reason);
        /* ret untouched */
        for (size_t i = 0; i < sizeof(p); i++)
                ASSERT_EQ(((uint8_t *) &p)[i], 0x5a);
}

TEST(refused) {
        static const struct {
                const char *s, *reason;
        } table[] = {
                { "", "empty" },
                { " \n", "empty" },
                { "hello", "does not start" },
                { "wgnet-pair:", "does not start" },
                { "wgnet-pair:2:AQAB", "unsupported version" },
                { "WGNET-PAIR:1:AQAB", "does not start" },
                { "wgnet-pair:1:", "truncated" },
                { "wgnet-pair:1:AQAB", "truncated" },
                { "wgnet-pair:1:AQ AB", "base64url" },
                { "wgnet-pair:1:AQ+B", "base64url" },
                { "wgnet-pair:1:AQAB==", "base64url" },
                { GOLDEN "A", "" },            /* base64url or checksum, by length */
                { GOLDEN "AA", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                test_refused_one(table[i].s, table[i].reason);
        test_refused_one(NULL, "empty");

        char *long_one = malloc(PAIRING_STRING_MAX + 2);
        ASSERT_TRUE(long_one);
        memset(long_one, 'A', PAIRING_STRING_MAX + 1);
        memcpy(long_one, PAIRING_PREFIX, strlen(PAIRING_PREFIX));
        long_one[PAIRING_STRING_MAX + 1] = 0;
        test_refused_one(long_one, "too long");
        free(long_one);
}

TEST(format_refuses_what_parse_refuses) {
        static const char *const bad_networks[] = { "10.1.0.1/24", "2001:db8::1/64" };
        Pairing p = golden_pairing();
        char *s = NULL;

        p.kind = 4;
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        memset(p.id, 0, PAIRING_ID_LEN);
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        p.expires = 0;
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        memset(p.public_key, 0, WG_KEY_LEN);
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        memset(p.preshared_key, 0, WG_KEY_LEN);
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        strcpy(p.endpoint, "example.com:1");
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = golden_pairing();
        p.tunnel_addresses[1] = prefix("10.255.0.3/31");
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);   /* two of one family */
        p = golden_pairing();
        p.networks[1] = prefix("10.1.0.0/16");
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);   /* overlap */
        for (size_t i = 0; i < ELEMENTSOF(bad_networks); i++) {
                p = golden_pairing();
                p.networks[0] = prefix(bad_networks[i]);
                ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        }
        ASSERT_TRUE(s == NULL);
}

/* An offer whose body is well formed and checked, with a tunnel address of a short prefix:
 * the importer would route half of IPv4 into the tunnel (0.0.0.2/1 -> 0.0.0.0/1). */
TEST(short_tunnel_prefix_refused) {
        static const struct {
                uint8_t family, prefixlen, addr[4];
        } table[] = {
                { 4, 1, { 0, 0, 0, 1 } },
                { 4, 8, { 10, 0, 0, 1 } },
                { 4, 23, { 10, 9, 0, 1 } },
        };
        for (size_t t = 0; t < ELEMENTSOF(table); t++) {
                Pairing p = golden_pairing();
                uint8_t body[256], *w = body, hash[crypto_generichash_BYTES];
                *w++ = PAIRING_OFFER;
                memcpy(w, p.id, PAIRING_ID_LEN);
                w += PAIRING_ID_LEN;
                for (int i = 7; i >= 0; i--)
                        *w++ = (uint8_t) (p.expires >> (8 * i));
                memcpy(w, p.public_key, WG_KEY_LEN);
                w += WG_KEY_LEN;
                memcpy(w, p.preshared_key, WG_KEY_LEN);
                w += WG_KEY_LEN;
                *w++ = (uint8_t) strlen(p.endpoint);
                memcpy(w, p.endpoint, strlen(p.endpoint));
                w += strlen(p.endpoint);
                *w++ = 1;
                *w++ = table[t].family;
                *w++ = table[t].prefixlen;
                memcpy(w, table[t].addr, 4);
                w += 4;
                *w++ = 0;       /* no networks */
                crypto_generichash(hash, sizeof(hash), body, (size_t) (w - body), NULL, 0);
                memcpy(w, hash, 4);
                w += 4;
                char text[512];
                strcpy(text, PAIRING_PREFIX);
                sodium_bin2base64(text + strlen(PAIRING_PREFIX), sizeof(text) - strlen(PAIRING_PREFIX), body,
                                  (size_t) (w - body), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
                test_refused_one(text, "prefix shorter than /24");
                /* and format refuses it too */
                char *s = NULL;
                p.tunnel_addresses[0].prefixlen = table[t].prefixlen;
                p.n_tunnel_addresses = 1;
                ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        }
}

TEST(every_single_character_change_is_caught) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t len = strlen(GOLDEN), n = 0;
        char *s = strdup(GOLDEN);
        ASSERT_TRUE(s);
        for (size_t i = strlen(PAIRING_PREFIX); i < len; i++)
                for (size_t a = 0; a < sizeof(alphabet) - 1; a += 7) {
                        char saved = s[i];
                        Pairing p;
                        if (alphabet[a] == saved)
                                continue;
                        s[i] = alphabet[a];
                        ASSERT_ERR(pairing_parse(s, &p, NULL), EINVAL);
                        s[i] = saved;
                        n++;
                }
        ASSERT_TRUE(n > 1000);
        /* truncated at every length */
        for (size_t l = 0; l < len; l++) {
                Pairing p;
                s[l] = 0;
                ASSERT_ERR(pairing_parse(s, &p, NULL), EINVAL);
                s[l] = GOLDEN[l];
        }
        free(s);
}

static void test_peer_one(const char *local, const char *expected) {
        IpPrefix l = prefix(local), peer;
        char buf[IP_PREFIX_STRLEN];
        if (!expected) {
                ASSERT_ERR(pairing_peer_address(&l, &peer), EINVAL);
                return;
        }
        ASSERT_OK(pairing_peer_address(&l, &peer));
        ASSERT_STREQ(ip_prefix_to_string(&peer, buf), expected);
        /* and back */
        IpPrefix back;
        ASSERT_OK(pairing_peer_address(&peer, &back));
        ASSERT_TRUE(ip_prefix_equal(&back, &l));
}

static Pairing invitation(void) {
        Pairing p = golden_pairing();
        p.kind = PAIRING_INVITATION;
        p.tunnel_addresses[0] = prefix("10.77.0.5/24");
        p.tunnel_addresses[1] = prefix("fd77::5/64");
        p.networks[0] = prefix("10.77.0.1/32");
        p.networks[1] = prefix("fd77::1/128");
        return p;
}

/* Mesh invitations: kind 3 in the same body; only pairing_parse_invitation() takes them. */
TEST(invitation) {
        Pairing p = invitation(), q;
        const char *why = NULL;
        char *s = NULL;

        ASSERT_OK(pairing_format(&p, &s));
        ASSERT_OK(pairing_parse_invitation(s, &q, NULL));
        assert_pairing_equal(&p, &q);
        ASSERT_ERR(pairing_parse(s, &q, &why), EINVAL);
        ASSERT_TRUE(strstr(why, "kind") != NULL);
        free(s);
        ASSERT_ERR(pairing_parse_invitation(GOLDEN, &q, &why), EINVAL);
        ASSERT_TRUE(strstr(why, "not a mesh invitation") != NULL);

        static const struct {
                const char *reserved, *coordinator, *endpoint;
        } bad[] = {
                { "10.77.0.5/24", "10.77.0.1/32", "" },                 /* no endpoint */
                { "10.77.0.5/32", "10.77.0.1/32", "192.0.2.1:51820" },  /* no subnet */
                { "10.77.0.0/24", "10.77.0.1/32", "192.0.2.1:51820" },  /* no host part */
                { "10.77.0.5/24", "10.77.0.0/24", "192.0.2.1:51820" },  /* coordinator not a host */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                p = invitation();
                p.n_tunnel_addresses = p.n_networks = 1;
                p.tunnel_addresses[0] = prefix(bad[i].reserved);
                p.networks[0] = prefix(bad[i].coordinator);
                strcpy(p.endpoint, bad[i].endpoint);
                s = NULL;
                ASSERT_ERR(pairing_format(&p, &s), EINVAL);
                ASSERT_TRUE(s == NULL);
        }
        p = invitation();
        p.n_tunnel_addresses = 0;
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
        p = invitation();
        p.tunnel_addresses[1] = prefix("10.77.0.6/24");
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);     /* two of one family */
        p = invitation();
        p.n_networks = 0;
        ASSERT_ERR(pairing_format(&p, &s), EINVAL);
}

TEST(peer_address) {
        static const struct {
                const char *local, *peer;
        } table[] = {
                { "10.255.0.1/31", "10.255.0.0/31" },
                { "10.255.0.0/31", "10.255.0.1/31" },
                { "10.9.0.1/30", "10.9.0.2/30" },
                { "10.9.0.2/30", "10.9.0.1/30" },
                { "10.9.0.1/24", "10.9.0.2/24" },
                { "fd00::1/127", "fd00::/127" },
                { "fd00::2/126", "fd00::1/126" },
                { "fd00:1::1/64", "fd00:1::2/64" },
                { "10.9.0.3/30", NULL },
                { "10.9.0.0/30", NULL },
                { "10.0.1.1/16", NULL },
                { "10.0.0.1/32", NULL },
                { "fd00::1/128", NULL },
                { "0.0.0.1/0", NULL },
                { "fd00::1:1/64", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                test_peer_one(table[i].local, table[i].peer);
}

/* New tunnel addresses: /24 to /31, /64 to /127 (the whole prefix is routed into the tunnel). */
TEST(tunnel_prefix_bounds) {
        static const struct {
                const char *a;
                bool ok;
        } table[] = {
                { "10.9.0.1/24", true }, { "10.255.0.1/31", true }, { "fd00:1::1/64", true }, { "fd00::1/127", true },
                { "10.9.0.1/23", false }, { "10.0.0.1/8", false }, { "0.0.0.1/1", false }, { "128.0.0.1/1", false },
                { "fd00::1/63", false }, { "::1/1", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                IpPrefix p = prefix(table[i].a);
                ASSERT_EQ(pairing_tunnel_prefix_ok(&p), table[i].ok);
        }
}

TEST(id_hex) {
        uint8_t id[PAIRING_ID_LEN];
        char hex[PAIRING_ID_HEX_LEN + 1];
        for (size_t i = 0; i < PAIRING_ID_LEN; i++)
                id[i] = (uint8_t) (i * 17);
        pairing_id_to_hex(id, hex);
        ASSERT_STREQ(hex, "00112233445566778899aabbccddeeff");

        uint8_t back[PAIRING_ID_LEN];
        ASSERT_EQ(pairing_id_from_hex(hex, back), 0);
        ASSERT_TRUE(memcmp(back, id, PAIRING_ID_LEN) == 0);
        static const char *const bad[] = { "", "00112233445566778899aabbccddeef", "00112233445566778899aabbccddeeff0",
                                           "0011223344556677 899aabbccddeeff", "00112233445566778899aabbccddeefg",
                                           "+0112233445566778899aabbccddeeff" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(pairing_id_from_hex(bad[i], back), -EBADMSG);
}

TEST_MAIN()
