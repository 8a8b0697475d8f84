/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>

#include "macro.h"
#include "test.h"
#include "uapi.h"

#define PRIV "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PSK1 "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"
#define PUB2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define PUB3 "662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static void hex_key(uint8_t k[WG_KEY_LEN], const char *hex) {
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                unsigned v;
                sscanf(hex + 2 * i, "%2x", &v);
                k[i] = (uint8_t) v;
        }
}

static void add_ip(WgPeer *p, const char *s) {
        IpPrefix a;
        ASSERT_OK(ip_prefix_parse(s, false, &a));
        ASSERT_OK(wg_peer_add_allowed_ip(p, &a));
}

TEST(format_get) {
        ASSERT_STREQ(uapi_format_get(), "get=1\n\n");
}

TEST(format_set_full) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN];
        char *s = NULL;
        size_t n = 0;

        ASSERT_OK(wg_device_new("wg0", &d));
        d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK | WGDEVICE_REPLACE_PEERS;
        hex_key(d->private_key, PRIV);
        d->listen_port = 12912;
        d->fwmark = 0;

        hex_key(k, PUB1);
        WgPeer *p = wg_device_add_peer(d, k);
        ASSERT_TRUE(p);
        p->flags = WGPEER_HAS_PRESHARED_KEY | WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_ENDPOINT | WGPEER_HAS_PERSISTENT_KEEPALIVE;
        hex_key(p->preshared_key, PSK1);
        ASSERT_OK(wg_endpoint_parse("[abcd:23::33%2]:51820", &p->endpoint));
        p->persistent_keepalive = 25;
        add_ip(p, "192.168.4.4/32");

        hex_key(k, PUB2);
        p = wg_device_add_peer(d, k);
        ASSERT_TRUE(p);
        p->flags = WGPEER_UPDATE_ONLY | WGPEER_HAS_ENDPOINT | WGPEER_HAS_PRESHARED_KEY;
        memset(p->preshared_key, 0, WG_KEY_LEN);
        ASSERT_OK(wg_endpoint_parse("182.122.22.19:3233", &p->endpoint));
        add_ip(p, "192.168.4.6/32");
        add_ip(p, "2001:db8::/32");

        hex_key(k, PUB3);
        p = wg_device_add_peer(d, k);
        ASSERT_TRUE(p);
        p->flags = WGPEER_REMOVE_ME | WGPEER_HAS_PERSISTENT_KEEPALIVE;   /* remove wins */
        add_ip(p, "10.0.0.0/8");

        ASSERT_OK(uapi_format_set(d, &s, &n));
        ASSERT_STREQ(s,
                     "set=1\n"
                     "private_key=" PRIV "\n"
                     "listen_port=12912\n"
                     "fwmark=0\n"
                     "replace_peers=true\n"
                     "public_key=" PUB1 "\n"
                     "preshared_key=" PSK1 "\n"
                     "endpoint=[abcd:23::33%2]:51820\n"
                     "persistent_keepalive_interval=25\n"
                     "replace_allowed_ips=true\n"
                     "allowed_ip=192.168.4.4/32\n"
                     "public_key=" PUB2 "\n"
                     "update_only=true\n"
                     "preshared_key=" ZERO "\n"
                     "endpoint=182.122.22.19:3233\n"
                     "allowed_ip=192.168.4.6/32\n"
                     "allowed_ip=2001:db8::/32\n"
                     "public_key=" PUB3 "\n"
                     "remove=true\n"
                     "\n");
        ASSERT_EQ(n, strlen(s));
        wg_wipe_free(s, n + 1);
}

TEST(format_set_sparse) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN];
        char *s = NULL;
        size_t n;

        ASSERT_OK(wg_device_new("wg0", &d));
        ASSERT_OK(uapi_format_set(d, &s, &n));
        ASSERT_STREQ(s, "set=1\n\n");
        wg_wipe_free(s, n + 1);

        hex_key(k, PUB1);
        WgPeer *p = wg_device_add_peer(d, k);
        p->flags = WGPEER_HAS_PERSISTENT_KEEPALIVE;
        p->persistent_keepalive = 0;
        ASSERT_OK(uapi_format_set(d, &s, &n));
        ASSERT_STREQ(s, "set=1\npublic_key=" PUB1 "\npersistent_keepalive_interval=0\n\n");
        wg_wipe_free(s, n + 1);
}

TEST(format_set_invalid) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN] = { 1 };
        char *s = NULL;

        ASSERT_OK(wg_device_new("wg0", &d));
        WgPeer *p = wg_device_add_peer(d, k);
        p->flags = WGPEER_HAS_ENDPOINT;        /* but AF_UNSPEC */
        ASSERT_ERR(uapi_format_set(d, &s, NULL), EINVAL);
        ASSERT_TRUE(s == NULL);
        p->flags = 0;
        IpPrefix bad = { .family = AF_INET, .prefixlen = 40 };
        p->allowed_ips = calloc(1, sizeof(IpPrefix));   /* bypassing the checks of wg_peer_add_allowed_ip */
        p->allowed_ips[0] = bad;
        p->n_allowed_ips = p->allowed_ips_alloc = 1;
        ASSERT_ERR(uapi_format_set(d, &s, NULL), EINVAL);
}

/* Many peers and allowed IPs: exact length of the output. */
TEST(format_set_large) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t k[WG_KEY_LEN] = { 0 };
        char *s = NULL;
        size_t n;

        ASSERT_OK(wg_device_new("wg0", &d));
        for (unsigned i = 0; i < 2000; i++) {
                k[0] = (uint8_t) i;
                k[1] = (uint8_t) (i >> 8);
                WgPeer *p = wg_device_add_peer(d, k);
                for (unsigned j = 0; j < 20; j++) {
                        IpPrefix a = { .family = AF_INET6, .prefixlen = 128 };
                        memset(a.addr.bytes, 0xff, 16);
                        a.addr.bytes[15] = (uint8_t) j;
                        ASSERT_OK(wg_peer_add_allowed_ip(p, &a));
                }
        }
        ASSERT_OK(uapi_format_set(d, &s, &n));
        ASSERT_EQ(n, strlen(s));
        /* each peer: public_key line (76) + 20 allowed_ip lines (11 + 43 + 1) */
        ASSERT_EQ(n, 6 + 2000 * (76 + 20 * 55) + 1);
        wg_wipe_free(s, n + 1);
}

#define GOOD_REPLY                                                      \
        "private_key=" PRIV "\n"                                        \
        "listen_port=12912\n"                                           \
        "fwmark=51\n"                                                   \
        "public_key=" PUB1 "\n"                                         \
        "preshared_key=" PSK1 "\n"                                      \
        "protocol_version=1\n"                                          \
        "endpoint=[abcd:23::33]:51820\n"                                \
        "last_handshake_time_sec=1700000000\n"                          \
        "last_handshake_time_nsec=123456789\n"                          \
        "tx_bytes=38333\n"                                              \
        "rx_bytes=2224\n"                                               \
        "persistent_keepalive_interval=25\n"                            \
        "allowed_ip=192.168.4.4/32\n"                                   \
        "public_key=" PUB2 "\n"                                         \
        "preshared_key=" ZERO "\n"                                      \
        "protocol_version=1\n"                                          \
        "last_handshake_time_sec=0\n"                                   \
        "last_handshake_time_nsec=0\n"                                  \
        "tx_bytes=0\n"                                                  \
        "rx_bytes=0\n"                                                  \
        "persistent_keepalive_interval=0\n"                             \
        "allowed_ip=192.168.4.6/32\n"                                   \
        "allowed_ip=2001:db8::/32\n"                                    \
        "errno=0\n"                                                     \
        "\n"

TEST(parse_get_reply_good) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        const char *r = GOOD_REPLY;
        uint8_t k[WG_KEY_LEN], pub[WG_KEY_LEN];
        UapiError e = { 0 };
        char buf[IP_PREFIX_STRLEN], ep[WG_ENDPOINT_STRLEN];

        ASSERT_OK(wg_crypto_init());
        ASSERT_OK(uapi_parse_get_reply(r, strlen(r), "wg7", &d, &e));
        ASSERT_STREQ(d->name, "wg7");
        ASSERT_EQ(d->flags, WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT | WGDEVICE_HAS_FWMARK | WGDEVICE_HAS_PUBLIC_KEY);
        hex_key(k, PRIV);
        ASSERT_MEMEQ(d->private_key, k, WG_KEY_LEN);
        ASSERT_OK(wg_key_public_from_private(pub, k));
        ASSERT_MEMEQ(d->public_key, pub, WG_KEY_LEN);
        ASSERT_EQ(d->listen_port, 12912);
        ASSERT_EQ(d->fwmark, 51);
        ASSERT_EQ(d->n_peers, 2);

        WgPeer *p = &d->peers[0];
        hex_key(k, PUB1);
        ASSERT_MEMEQ(p->public_key, k, WG_KEY_LEN);
        hex_key(k, PSK1);
        ASSERT_MEMEQ(p->preshared_key, k, WG_KEY_LEN);
        ASSERT_STREQ(wg_endpoint_to_string(&p->endpoint, ep), "[abcd:23::33]:51820");
        ASSERT_EQ(p->last_handshake_usec, 1700000000ull * 1000000 + 123456);
        ASSERT_EQ(p->tx_bytes, 38333);
        ASSERT_EQ(p->rx_bytes, 2224);
        ASSERT_EQ(p->persistent_keepalive, 25);
        ASSERT_EQ(p->n_allowed_ips, 1);
        ASSERT_STREQ(ip_prefix_to_string(&p->allowed_ips[0], buf), "192.168.4.4/32");

        p = &d->peers[1];
        ASSERT_TRUE(wg_key_is_zero(p->preshared_key));
        ASSERT_EQ(p->endpoint.sa.sa_family, AF_UNSPEC);
        ASSERT_EQ(p->last_handshake_usec, 0);
        ASSERT_EQ(p->persistent_keepalive, 0);
        ASSERT_EQ(p->n_allowed_ips, 2);
        ASSERT_STREQ(ip_prefix_to_string(&p->allowed_ips[1], buf), "2001:db8::/32");
}

TEST(parse_get_reply_minimal) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        const char *r = "listen_port=0\nerrno=0\n\n";

        ASSERT_OK(uapi_parse_get_reply(r, strlen(r), "wg0", &d, NULL));
        ASSERT_EQ(d->flags, WGDEVICE_HAS_LISTEN_PORT);
        ASSERT_EQ(d->n_peers, 0);
        d = wg_device_free(d);
        r = "errno=0\n\n";
        ASSERT_OK(uapi_parse_get_reply(r, strlen(r), "wg0", &d, NULL));
        ASSERT_EQ(d->flags, 0);
}

/* wireguard-go names a link-local endpoint's zone by interface; once that interface is
 * gone (a USB NIC unplugged), the reply still parses, the endpoint without its zone. */
TEST(parse_get_reply_zone_of_a_gone_interface) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        char reply[512], buf[WG_ENDPOINT_STRLEN];
        snprintf(reply, sizeof(reply), "listen_port=51820\npublic_key=%s\nendpoint=[fe80::1%%nosuchif0]:51820\n"
                 "last_handshake_time_sec=0\nerrno=0\n\n", PUB1);
        ASSERT_OK(uapi_parse_get_reply(reply, strlen(reply), "wg0", &d, NULL));
        ASSERT_EQ(d->n_peers, 1);
        ASSERT_TRUE(d->peers[0].flags & WGPEER_HAS_ENDPOINT);
        ASSERT_STREQ(wg_endpoint_to_string(&d->peers[0].endpoint, buf), "[fe80::1]:51820");
}

/* Other implementations: boringtun reports own_public_key instead of the private key,
 * forks add keys of their own; wg(8) skips what it does not know, and so do we. One
 * peer's endpoint that does not parse (port 0) leaves that peer without one. */
TEST(parse_get_reply_other_implementations) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
        char reply[1024];
        hex_key(priv, PRIV);
        ASSERT_OK(wg_key_public_from_private(pub, priv));
        char pubhex[65];
        for (size_t i = 0; i < WG_KEY_LEN; i++)
                snprintf(pubhex + 2 * i, 3, "%02x", pub[i]);
        snprintf(reply, sizeof(reply),
                 "own_public_key=%s\nlisten_port=51820\njc=4\ns1=15\npublic_key=%s\nendpoint=192.0.2.7:0\n"
                 "h1=123\nallowed_ip=10.0.0.2/32\nrx_bytes=5\npublic_key=%s\nendpoint=192.0.2.8:51820\n"
                 "errno=0\n\n", pubhex, PUB1, PUB2);
        ASSERT_OK(uapi_parse_get_reply(reply, strlen(reply), "wg0", &d, NULL));
        ASSERT_EQ(d->n_peers, 2);
        ASSERT_TRUE(d->flags & WGDEVICE_HAS_PUBLIC_KEY);
        ASSERT_TRUE(!(d->flags & WGDEVICE_HAS_PRIVATE_KEY));
        ASSERT_TRUE(wg_device_holds_key(d, priv));
        ASSERT_TRUE(!wg_device_key_differs(d, priv));
        ASSERT_EQ(d->listen_port, 51820);
        ASSERT_TRUE(!(d->peers[0].flags & WGPEER_HAS_ENDPOINT));
        ASSERT_EQ(d->peers[0].n_allowed_ips, 1);
        ASSERT_EQ(d->peers[0].rx_bytes, 5);
        ASSERT_TRUE(d->peers[1].flags & WGPEER_HAS_ENDPOINT);
        uint8_t other[WG_KEY_LEN] = { 1 };
        ASSERT_TRUE(!wg_device_holds_key(d, other) && wg_device_key_differs(d, other));
}

TEST(parse_get_reply_errno) {
        WgDevice *d = NULL;
        ASSERT_ERR(uapi_parse_get_reply("errno=5\n\n", 9, "wg0", &d, NULL), EIO);
        ASSERT_ERR(uapi_parse_get_reply("errno=-22\n\n", 11, "wg0", &d, NULL), EINVAL);
        ASSERT_TRUE(d == NULL);
}

static void bad_reply_one(const char *reply, unsigned line, const char *what) {
        WgDevice *d = NULL;
        UapiError e = { 0 };
        int r = uapi_parse_get_reply(reply, strlen(reply), "wg0", &d, &e);
        if (r != -EBADMSG)
                TEST_FAIL("reply accepted (%d):\n%s", r, reply);
        ASSERT_TRUE(d == NULL);
        if (e.line != line)
                TEST_FAIL("line %u named, expected %u: %s\n%s", e.line, line, e.message, reply);
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "line %u: ", line);
        ASSERT_TRUE(strncmp(e.message, prefix, strlen(prefix)) == 0);
        if (!strstr(e.message, what))
                TEST_FAIL("message '%s' does not mention '%s'", e.message, what);
        /* secrets are never quoted */
        ASSERT_TRUE(!strstr(e.message, "e84b5a6d"));
        ASSERT_TRUE(!strstr(e.message, "18851509"));
}

TEST(parse_get_reply_malformed) {
        static const struct {
                const char *reply;
                unsigned line;
                const char *what;
        } t[] = {
                { "", 1, "without an empty line" },
                { "errno=0\n", 2, "without an empty line" },
                { "errno=0", 1, "not terminated" },
                { "\n", 1, "empty line before errno" },
                { "listen_port=1\n\n", 2, "empty line before errno" },
                { "errno=0\n\nx", 3, "after the end" },
                { "errno=0\n\n\n", 3, "after the end" },
                { "errno=0\nlisten_port=1\n\n", 2, "after errno" },
                { "errno=\n\n", 1, "invalid errno" },
                { "errno=00\n\n", 1, "invalid errno" },
                { "errno=-0\n\n", 1, "invalid errno" },
                { "errno=4096\n\n", 1, "invalid errno" },
                { "errno=1x\n\n", 1, "invalid errno" },
                { "listen_port\nerrno=0\n\n", 1, "not a key=value" },
                { "=1\nerrno=0\n\n", 1, "not a key=value" },
                { "listen_port=65536\nerrno=0\n\n", 1, "invalid listen_port" },
                { "listen_port=-1\nerrno=0\n\n", 1, "invalid listen_port" },
                { "listen_port=01\nerrno=0\n\n", 1, "invalid listen_port" },
                { "listen_port= 1\nerrno=0\n\n", 1, "invalid listen_port" },
                { "listen_port=\nerrno=0\n\n", 1, "invalid listen_port" },
                { "listen_port=1\nlisten_port=2\nerrno=0\n\n", 2, "duplicate listen_port" },
                { "fwmark=4294967296\nerrno=0\n\n", 1, "invalid fwmark" },
                { "private_key=" PRIV "0\nerrno=0\n\n", 1, "invalid private_key" },
                { "private_key=" PUB1 "\nprivate_key=" PRIV "\nerrno=0\n\n", 2, "duplicate private_key" },
                { "private_key=g84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\nerrno=0\n\n", 1, "invalid private_key" },
                { "protocol_version=1\nerrno=0\n\n", 1, "misplaced peer key 'protocol_version'" },
                { "public_key=" PUB1 "\nlisten_port=1\nerrno=0\n\n", 2, "misplaced device key 'listen_port'" },
                { "public_key=" PUB1 "\nprivate_key=" PRIV "\nerrno=0\n\n", 2, "device key 'private_key'" },
                { "private_key:" PRIV "\nerrno=0\n\n", 1, "not a key=value line: 'private_key'" },
                { "preshared_key " PSK1 "\nerrno=0\n\n", 1, "not a key=value line: 'preshared_key'" },
                { "public_key=" PUB1 "x\nerrno=0\n\n", 1, "invalid public_key" },
                { "public_key=\nerrno=0\n\n", 1, "invalid public_key" },
                { "public_key=" PUB1 "\nprotocol_version=2\nerrno=0\n\n", 2, "protocol_version" },
                { "public_key=" PUB1 "\npreshared_key=" PSK1 "\npreshared_key=" PSK1 "\nerrno=0\n\n", 3, "duplicate 'preshared_key' for the peer of line 1" },
                { "public_key=" PUB1 "\npreshared_key=xyz\nerrno=0\n\n", 2, "invalid preshared_key" },

                { "public_key=" PUB1 "\nlast_handshake_time_sec=x\nerrno=0\n\n", 2, "invalid last_handshake_time_sec" },
                { "public_key=" PUB1 "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n", 2, "invalid last_handshake_time_nsec" },
                { "public_key=" PUB1 "\nlast_handshake_time_sec=18446744073709551615\nerrno=0\n\n", 3, "out of range" },
                { "public_key=" PUB1 "\ntx_bytes=18446744073709551616\nerrno=0\n\n", 2, "invalid tx_bytes" },
                { "public_key=" PUB1 "\nrx_bytes=1.5\nerrno=0\n\n", 2, "invalid rx_bytes" },
                { "public_key=" PUB1 "\nrx_bytes=1\nrx_bytes=1\nerrno=0\n\n", 3, "duplicate 'rx_bytes'" },
                { "public_key=" PUB1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n", 2, "invalid persistent_keepalive_interval" },
                { "public_key=" PUB1 "\nallowed_ip=10.0.0.1\nerrno=0\n\n", 2, "invalid allowed_ip '10.0.0.1'" },
                { "public_key=" PUB1 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n", 2, "invalid allowed_ip" },
                { "public_key=" PUB1 "\nallowed_ip=::/129\nerrno=0\n\n", 2, "invalid allowed_ip" },
                { "public_key=" PUB1 "\nallowed_ip=10.0.0.0/8 \nerrno=0\n\n", 2, "invalid allowed_ip" },
                { "public_key=" PUB1 "\nremove=true\nerrno=0\n\n", 2, "key of a set request 'remove'" },
                { "public_key=" PUB1 "\nPublic_Key=" PUB2 "\nerrno=0\n\n", 2, "invalid key 'Public_Key'" },
                { "public_key=" PUB1 "\npublic_key=" PUB2 "\npublic_key=" PUB1 "\nerrno=0\n\n", 3, "repeats the peer of line 1" },
                { "listen_port=1\r\nerrno=0\n\n", 1, "invalid listen_port" },
                { "errno=0\r\n\n", 1, "invalid errno" },
                { "get=1\nerrno=0\n\n", 1, "key of a set request 'get'" },
                { "listen_port=1\nunknown_key_with_\x01_control=1\nerrno=0\n\n", 2, "unknown_key_with_?_control" },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                bad_reply_one(t[i].reply, t[i].line, t[i].what);

        /* NUL byte inside a line */
        WgDevice *d = NULL;
        UapiError e = { 0 };
        static const char nul[] = "listen_port=1\0\nerrno=0\n\n";
        ASSERT_ERR(uapi_parse_get_reply(nul, sizeof(nul) - 1, "wg0", &d, &e), EBADMSG);
        ASSERT_EQ(e.line, 1);
        ASSERT_TRUE(strstr(e.message, "NUL"));
        /* in a later line: that line is named */
        static const char nul3[] = "listen_port=1\nfwmark=1\nfw\0mark=2\nerrno=0\n\n";
        e = (UapiError) { 0 };
        ASSERT_ERR(uapi_parse_get_reply(nul3, sizeof(nul3) - 1, "wg0", &d, &e), EBADMSG);
        ASSERT_EQ(e.line, 3);
        ASSERT_TRUE(strstr(e.message, "NUL"));
}

/* Every byte that is not a hex digit, in every position of a key, is refused; upper and
 * lower case digits give the same key. */
TEST(parse_get_reply_hex_digits) {
        char reply[160];
        for (unsigned c = 1; c < 256; c++) {
                bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                if (hex || c == '\n')
                        continue;
                for (size_t pos = 0; pos < 64; pos += 21) {
                        snprintf(reply, sizeof(reply), "public_key=%s\nerrno=0\n\n", PUB1);
                        reply[strlen("public_key=") + pos] = (char) c;
                        bad_reply_one(reply, 1, "invalid public_key");
                }
        }
        WgDevice *lower = NULL, *upper = NULL;
        char up[] = "public_key=" PUB1 "\nerrno=0\n\n";
        for (char *x = up + strlen("public_key="); *x != '\n'; x++)
                if (*x >= 'a' && *x <= 'f')
                        *x = (char) (*x - 'a' + 'A');
        static const char low[] = "public_key=" PUB1 "\nerrno=0\n\n";
        ASSERT_OK(uapi_parse_get_reply(low, strlen(low), "wg0", &lower, NULL));
        ASSERT_OK(uapi_parse_get_reply(up, strlen(up), "wg0", &upper, NULL));
        ASSERT_TRUE(memcmp(lower->peers[0].public_key, upper->peers[0].public_key, WG_KEY_LEN) == 0);
        wg_device_free(lower);
        wg_device_free(upper);
}

/* Many peers whose keys share their first 8 bytes (the duplicate check's hash): all kept;
 * one repeated key among them is found and named by both lines. */
TEST(parse_get_reply_many_peers_same_prefix) {
        const size_t n = 300;
        size_t cap = n * 80 + 200, len = 0;
        char *buf = malloc(cap);
        ASSERT_TRUE(buf);
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(buf + len, cap - len, "public_key=0123456789abcdef%048zx\n", i);
        len += (size_t) snprintf(buf + len, cap - len, "errno=0\n\n");
        WgDevice *d = NULL;
        ASSERT_OK(uapi_parse_get_reply(buf, len, "wg0", &d, NULL));
        ASSERT_EQ(d->n_peers, n);
        wg_device_free(d);

        len -= strlen("errno=0\n\n");
        len += (size_t) snprintf(buf + len, cap - len, "public_key=0123456789abcdef%048zx\nerrno=0\n\n", (size_t) 17);
        UapiError e = { 0 };
        ASSERT_ERR(uapi_parse_get_reply(buf, len, "wg0", &d, &e), EBADMSG);
        ASSERT_EQ(e.line, n + 1);
        ASSERT_TRUE(strstr(e.message, "repeats the peer of line 18"));
        free(buf);
}

/* Each line of a good reply cut short in turn: never accepted. */
TEST(parse_get_reply_truncated) {
        const char *r = GOOD_REPLY;
        size_t len = strlen(r);
        for (size_t n = 0; n < len - 1; n++) {
                WgDevice *d = NULL;
                int k = uapi_parse_get_reply(r, n, "wg0", &d, NULL);
                if (k != -EBADMSG)
                        TEST_FAIL("truncated at %zu accepted (%d)", n, k);
        }
}

TEST(parse_get_reply_large) {
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        size_t n = 0, cap = 10000 * 200 + 64;

        buf = malloc(cap);
        ASSERT_TRUE(buf);
        for (unsigned i = 0; i < 10000; i++)
                n += (size_t) snprintf(buf + n, cap - n,
                                       "public_key=%064x\nprotocol_version=1\nallowed_ip=10.%u.%u.0/24\n",
                                       i, i >> 8, i & 0xff);
        n += (size_t) snprintf(buf + n, cap - n, "errno=0\n\n");
        ASSERT_OK(uapi_parse_get_reply(buf, n, "wg0", &d, NULL));
        ASSERT_EQ(d->n_peers, 10000);
        ASSERT_EQ(d->peers[9999].public_key[31], 9999 & 0xff);
        ASSERT_EQ(d->peers[9999].public_key[30], 9999 >> 8);
}

TEST(parse_set_reply) {
        static const struct {
                const char *reply;
                int ret;
                unsigned line;
        } t[] = {
                { "errno=0\n\n", 0, 0 },
                { "errno=22\n\n", -EINVAL, 0 },
                { "errno=-22\n\n", -EINVAL, 0 },
                { "errno=0\n", -EBADMSG, 2 },
                { "errno=0\n\nx", -EBADMSG, 3 },
                { "errno=0\nx\n\n", -EBADMSG, 2 },
                { "errno=x\n\n", -EBADMSG, 1 },
                { "errno=\n\n", -EBADMSG, 1 },
                { "errno=0", -EBADMSG, 1 },
                { "erno=0\n\n", -EBADMSG, 1 },
                { "", -EBADMSG, 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                UapiError e = { 0 };
                int r = uapi_parse_set_reply(t[i].reply, strlen(t[i].reply), &e);
                if (r != t[i].ret)
                        TEST_FAIL("'%s': %d, expected %d", t[i].reply, r, t[i].ret);
                if (t[i].line && e.line != t[i].line)
                        TEST_FAIL("'%s': line %u named, expected %u (%s)", t[i].reply, e.line, t[i].line, e.message);
        }
}

TEST(reply_complete) {
        ASSERT_TRUE(uapi_reply_complete("errno=0\n\n", 9));
        ASSERT_FALSE(uapi_reply_complete("errno=0\n", 8));
        ASSERT_FALSE(uapi_reply_complete("\n", 1));
        ASSERT_FALSE(uapi_reply_complete("", 0));
}

TEST_MAIN()
