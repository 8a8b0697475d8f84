/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "macro.h"
#include "test.h"
#include "wgconf-util.h"
#include "wgconf.h"
/* Parses, renders to exactly `expected`, and round-trips. */
static void test_render_one(const char *text, const char *expected) {
        WgConf *c = parse_ok(text);
        char *out = NULL;

        ASSERT_OK(wgconf_render(c, &out));
        if (strcmp(out, expected) != 0)
                TEST_FAIL("input:\n%s\nrendered:\n%s\nexpected:\n%s", text, out, expected);
        wgconf_util_round_trip(c);
        wg_wipe_free_string(out);
        wgconf_free(c);
}

TEST(minimal) {
        test_render_one("[Interface]\nPrivateKey = " K1 "\n",
                        "[Interface]\nPrivateKey = " K1 "\n");
        /* no final newline, no spaces, odd case */
        test_render_one("[interface]\nprivatekey=" K1,
                        "[Interface]\nPrivateKey = " K1 "\n");
        /* empty input: nothing */
        test_render_one("", "");
        test_render_one("\n\n  \n", "");
}

TEST(full_and_key_order) {
        test_render_one(
                "# generated\n"
                "#by hand   \n"
                "\n"
                "  [Interface]  \n"
                "  SaveConfig = false\n"
                "PostDown = ip rule del table 42\n"
                "PreDown=echo down %i\n"
                "PostUp = echo one\n"
                "PostUp = echo two\n"
                "PreUp = \n"
                "Table = 42\n"
                "FwMark = 0x10\n"
                "MTU = 1420\n"
                "ListenPort = 51820\n"
                "DNS = 10.0.0.1 ,fd00::1\n"
                "DNS = example.com\n"
                "Address = 10.0.0.1/24,fd00::1/64\n"
                "Address = 10.0.1.1\n"
                "PrivateKey = " K1 "\n"
                "[PEER]\n"
                "# Name = laptop\n"
                "PersistentKeepalive = 25\n"
                "Endpoint = vpn.example.com:51820\n"
                "AllowedIPs = 10.0.0.2/32\n"
                "AllowedIPs = 10.0.0.2/32, 192.168.0.0/16\n"
                "PresharedKey = " K3 "\n"
                "PublicKey = " K2 "\n",
                "# generated\n"
                "# by hand\n"
                "\n"
                "[Interface]\n"
                "PrivateKey = " K1 "\n"
                "Address = 10.0.0.1/24, fd00::1/64, 10.0.1.1/32\n"
                "DNS = 10.0.0.1, fd00::1, example.com\n"
                "ListenPort = 51820\n"
                "MTU = 1420\n"
                "FwMark = 16\n"
                "Table = 42\n"
                "PostUp = echo one\n"
                "PostUp = echo two\n"
                "PreDown = echo down %i\n"
                "PostDown = ip rule del table 42\n"
                "SaveConfig = false\n"
                "\n"
                "[Peer]\n"
                "# Name = laptop\n"
                "PublicKey = " K2 "\n"
                "PresharedKey = " K3 "\n"
                "AllowedIPs = 10.0.0.2/32, 192.168.0.0/16\n"
                "Endpoint = vpn.example.com:51820\n"
                "PersistentKeepalive = 25\n");
}

TEST(crlf_and_comments_after_values) {
        test_render_one("[Interface]\r\n"
                        "PrivateKey = " K1 " # the key\r\n"
                        "ListenPort = 51820\t#port\r\n"
                        "Address = 10.0.0.1/24#no space\r\n"
                        "\r\n"
                        "[Peer]\r\n"
                        "PublicKey = " K2 "\r\n"
                        "AllowedIPs = 0.0.0.0/0, ::/0 # full tunnel\r\n",
                        "[Interface]\n"
                        "PrivateKey = " K1 "\n"
                        "Address = 10.0.0.1/24\n"
                        "ListenPort = 51820\n"
                        "\n"
                        "[Peer]\n"
                        "PublicKey = " K2 "\n"
                        "AllowedIPs = 0.0.0.0/0, ::/0\n");
        /* a UTF-8 byte order mark */
        test_render_one("\xef\xbb\xbf[Interface]\nPrivateKey = " K1 "\n",
                        "[Interface]\nPrivateKey = " K1 "\n");
}

static void test_endpoint_one(const char *endpoint, bool valid) {
        char text[512];
        snprintf(text, sizeof(text), "[Peer]\nPublicKey = " K2 "\nEndpoint = %s\n", endpoint);
        if (valid) {
                WgConf *c = parse_ok(text);
                ASSERT_STREQ(c->peers[0].endpoint, endpoint);
                wgconf_util_round_trip(c);
                wgconf_free(c);
        } else {
                char expected[512];
                snprintf(expected, sizeof(expected), "line 3: invalid Endpoint '%s'", endpoint);
                test_fail_one(text, expected);
        }
}

TEST(endpoints) {
        test_endpoint_one("192.0.2.1:51820", true);
        test_endpoint_one("[2001:db8::1]:51820", true);
        test_endpoint_one("[2607:5300:60:6b0::c05f:543]:2468", true);
        test_endpoint_one("[fe80::1%eth0]:51820", true);
        test_endpoint_one("[::ffff:192.0.2.1]:1", true);
        test_endpoint_one("vpn.example.com:65535", true);
        test_endpoint_one("localhost:51820", true);
        test_endpoint_one("engage.cloudflareclient.com.:2408", true);

        test_endpoint_one("192.0.2.1", false);
        test_endpoint_one("192.0.2.1:", false);
        test_endpoint_one("192.0.2.1:0", false);
        test_endpoint_one("192.0.2.1:65536", false);
        test_endpoint_one("192.0.2.300:51820", false);
        test_endpoint_one("2001:db8::1:51820", false);
        test_endpoint_one("[2001:db8::1]51820", false);
        test_endpoint_one("[2001:db8::1]", false);
        test_endpoint_one("[192.0.2.1]:51820", false);
        test_endpoint_one("[]:51820", false);
        test_endpoint_one("tcp://192.0.2.1:51820", false);
        test_endpoint_one("host_name:51820", false);
        test_endpoint_one("-host:51820", false);
        test_endpoint_one(":51820", false);
        test_endpoint_one("{{ server }}:51820", false);
        test_endpoint_one("vpn.example.com:http", false);
}

static void test_interface_value_one(const char *line, const char *error) {
        char text[512];
        snprintf(text, sizeof(text), "[Interface]\n%s\n", line);
        if (!error) {
                WgConf *c = parse_ok(text);
                wgconf_util_round_trip(c);
                wgconf_free(c);
        } else
                test_fail_one(text, error);
}

TEST(numbers) {
        test_interface_value_one("MTU = 576", NULL);
        test_interface_value_one("MTU = 65535", NULL);
        test_interface_value_one("MTU = 1420", NULL);
        test_interface_value_one("MTU = 575", "line 2: invalid MTU '575'");
        test_interface_value_one("MTU = 0", "line 2: invalid MTU '0'");
        test_interface_value_one("MTU = 65536", "line 2: invalid MTU '65536'");
        test_interface_value_one("MTU = 99999999999999999999", "line 2: invalid MTU '99999999999999999999'");
        test_interface_value_one("MTU = 1420k", "line 2: invalid MTU '1420k'");
        test_interface_value_one("MTU = -1", "line 2: invalid MTU '-1'");

        test_interface_value_one("ListenPort = 0", NULL);
        test_interface_value_one("ListenPort = 1", NULL);
        test_interface_value_one("ListenPort = 65535", NULL);
        test_interface_value_one("ListenPort = 65536", "line 2: invalid ListenPort '65536'");
        test_interface_value_one("ListenPort = 666666666", "line 2: invalid ListenPort '666666666'");
        test_interface_value_one("ListenPort = +5", "line 2: invalid ListenPort '+5'");
        test_interface_value_one("ListenPort = 51 820", "line 2: invalid ListenPort '51 820'");

        test_interface_value_one("FwMark = 0", NULL);
        test_interface_value_one("FwMark = off", NULL);
        test_interface_value_one("FwMark = OFF", NULL);
        test_interface_value_one("FwMark = 51820", NULL);
        test_interface_value_one("FwMark = 0xca6c", NULL);
        test_interface_value_one("FwMark = 0xFFFFFFFF", NULL);
        test_interface_value_one("FwMark = 4294967295", NULL);
        test_interface_value_one("FwMark = 4294967296", "line 2: invalid FwMark '4294967296'");
        test_interface_value_one("FwMark = 0x100000000", "line 2: invalid FwMark '0x100000000'");
        test_interface_value_one("FwMark = 0x", "line 2: invalid FwMark '0x'");
        test_interface_value_one("FwMark = 0xg", "line 2: invalid FwMark '0xg'");
        test_interface_value_one("FwMark = on", "line 2: invalid FwMark 'on'");

        test_interface_value_one("SaveConfig = true", NULL);
        test_interface_value_one("SaveConfig = false", NULL);
        test_interface_value_one("SaveConfig = yes", "line 2: invalid SaveConfig 'yes'");
        test_interface_value_one("SaveConfig = True", NULL);       /* wg-quick: nocasematch */
        test_interface_value_one("SaveConfig = FALSE", NULL);
        test_interface_value_one("SaveConfig = truee", "line 2: invalid SaveConfig 'truee'");

        test_interface_value_one("Table = off", NULL);
        test_interface_value_one("Table = auto", NULL);
        test_interface_value_one("Table = 1234", NULL);
        test_interface_value_one("Table = main table", "line 2: invalid Table 'main table'");
}

TEST(number_values) {
        WgConf *c = parse_ok("[Interface]\nMTU = 1280\nListenPort = 0\nFwMark = 0x11\n"
                             "[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = off\n"
                             "[Peer]\nPublicKey = " K3 "\nPersistentKeepalive = 65535\n");
        ASSERT_TRUE(c->has_mtu);
        ASSERT_EQ(c->mtu, 1280);
        ASSERT_TRUE(c->has_listen_port);
        ASSERT_EQ(c->listen_port, 0);
        ASSERT_TRUE(c->has_fwmark);
        ASSERT_EQ(c->fwmark, 0x11);
        ASSERT_TRUE(c->peers[0].has_persistent_keepalive);
        ASSERT_EQ(c->peers[0].persistent_keepalive, 0);
        ASSERT_EQ(c->peers[1].persistent_keepalive, 65535);
        char *out = NULL;
        ASSERT_OK(wgconf_render(c, &out));
        ASSERT_TRUE(strstr(out, "FwMark = 17\n"));
        ASSERT_TRUE(strstr(out, "ListenPort = 0\n"));
        ASSERT_TRUE(strstr(out, "PersistentKeepalive = 0\n"));
        ASSERT_TRUE(strstr(out, "PersistentKeepalive = 65535\n"));
        wg_wipe_free_string(out);
        ASSERT_EQ(c->save_config, -1);
        ASSERT_TRUE(c->table == NULL);
        wgconf_free(c);

        test_fail_one("[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = 65536\n",
                      "line 3: invalid PersistentKeepalive '65536'");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = 0L\n",
                      "line 3: invalid PersistentKeepalive '0L'");
}

TEST(addresses_and_dns) {
        WgConf *c = parse_ok("[Interface]\n"
                             "Address = 10.0.0.1, fd00::1\n"
                             "Address = 192.168.1.1/24 fe80::1/64\n"
                             "DNS = 1.1.1.1,8.8.8.8 , search.example\n"
                             "DNS = 2606:4700:4700::1111\n");
        ASSERT_EQ(c->n_addresses, 4);
        ASSERT_EQ(c->addresses[0].prefixlen, 32);
        ASSERT_EQ(c->addresses[1].prefixlen, 128);
        ASSERT_EQ(c->addresses[2].prefixlen, 24);
        ASSERT_EQ(c->n_dns, 4);
        ASSERT_STREQ(c->dns[2], "search.example");
        ASSERT_STREQ(c->dns[3], "2606:4700:4700::1111");
        wgconf_util_round_trip(c);
        wgconf_free(c);

        test_interface_value_one("Address = 10.0.0.300/24", "line 2: invalid Address '10.0.0.300/24'");
        test_interface_value_one("Address = 10.0.0.1/33", "line 2: invalid Address '10.0.0.1/33'");
        test_interface_value_one("Address = 10.0.0.1/24, foo", "line 2: invalid Address 'foo'");
        test_interface_value_one("Address = ,", "line 2: empty value for Address");
        test_interface_value_one("DNS = invalid_value", "line 2: invalid DNS 'invalid_value'");
        test_interface_value_one("DNS = 1.1.1", "line 2: invalid DNS '1.1.1'");
        test_interface_value_one("DNS = 1.1.1.1/32", "line 2: invalid DNS '1.1.1.1/32'");
        test_interface_value_one("DNS = -bad.example", "line 2: invalid DNS '-bad.example'");
        test_interface_value_one("DNS = ${DNS}", "line 2: invalid DNS '${DNS}'");
}

TEST(allowed_ips) {
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K2 "\n"
                             "AllowedIPs = 10.0.0.2, 10.1.0.0/16 ,fd00::2\n"
                             "AllowedIPs = 10.0.0.2/32\n"
                             "AllowedIPs = 10.10.10.3/16\n");
        /* repeated lines accumulate, an exact repeat counts once, host bits are kept */
        ASSERT_EQ(c->peers[0].n_allowed_ips, 4);
        char s[IP_PREFIX_STRLEN];
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[3], s), "10.10.10.3/16");
        wgconf_free(c);

        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.0/8,\n",
                      "line 3: invalid AllowedIPs ''");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.0/8 10.1.0.0/16\n",
                      "line 3: invalid AllowedIPs '10.0.0.0/8 10.1.0.0/16'");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.256\n",
                      "line 3: invalid AllowedIPs '10.0.0.256'");
}

TEST(malformed) {
        /* missing '=': the line is not quoted (it could be a key) */
        test_fail_one("[Interface]\nPrivateKey " K1 "\n",
                      "line 2: expected 'Key = Value' or a [Section]");
        test_fail_one("[Interface]\n= 10.0.0.1\n", "line 2: missing key before '='");
        test_fail_one("[Interface]\nFoo = bar\n", "line 2: unknown key 'Foo' in [Interface]");
        test_fail_one("[Interface]\nPublicKey = " K2 "\n", "line 2: unknown key 'PublicKey' in [Interface]");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nListenPort = 1\n", "line 3: unknown key 'ListenPort' in [Peer]");
        test_fail_one("[Interface]\n[Socks5]\nBindAddress = 0.0.0.0:1\n", "line 2: unknown section '[Socks5]'");
        test_fail_one("[Peers]\n", "line 1: unknown section '[Peers]'");
        test_fail_one("[Interface\n", "line 1: invalid section header");
        test_fail_one("[Interface] extra\n", "line 1: invalid section header");
        test_fail_one("[Inter face]\n", "line 1: invalid section header");
        test_fail_one("[]\n", "line 1: invalid section header");
        test_fail_one("[Interface]\nPrivate Key = " K1 "\n", "line 2: expected 'Key = Value' or a [Section]");
        test_fail_one("\nAddress = 10.0.0.1/24\n[Interface]\n", "line 2: key 'Address' outside of a section");
        test_fail_one("PrivateKey = " K1 "\n", "line 1: key 'PrivateKey' outside of a section");
        test_fail_one("[Interface]\n[Interface]\n", "line 2: duplicate [Interface] section");
        test_fail_one("[Interface]\nPrivateKey = " K1 "\nPrivateKey = " K1 "\n", "line 3: duplicate PrivateKey");
        test_fail_one("[Interface]\nListenPort = 1\nListenPort = 2\n", "line 3: duplicate ListenPort");
        test_fail_one("[Interface]\nTable =\nTable = off\n", "line 3: duplicate Table");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nPublicKey = " K3 "\n", "line 3: duplicate PublicKey");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nEndpoint = a.example:1\nEndpoint = b.example:1\n",
                      "line 4: duplicate Endpoint");
        test_fail_one("[Interface]\n\n[Peer]\nAllowedIPs = 10.0.0.2/32\n\n[Peer]\nPublicKey = " K2 "\n",
                      "line 3: [Peer] without PublicKey");
        test_fail_one("[Peer]\n", "line 1: [Peer] without PublicKey");
        /* a comment that is not UTF-8 text is dropped, as wg drops every comment */
        WgConf *c = parse_ok("# caf\xc3\n# ok\n[Interface]\n# Configuraci\xf3n\nPrivateKey = " K1 "\n");
        ASSERT_EQ(c->n_comments, 1);
        ASSERT_STREQ(c->comments[0], "ok");
        ASSERT_TRUE(c->private_key_note == NULL);
        wgconf_free(c);
}

TEST(embedded_nul) {
        static const char text[] = "[Interface]\nPrivateKey = " K1 "\nListenPort = 1\0002\n";
        test_fail_n(text, sizeof(text) - 1, "line 3: NUL byte");
        /* a NUL after the given length is not read */
        WgConf *c = parse_ok_n(text, strlen(text));
        ASSERT_TRUE(c->has_private_key);
        wgconf_free(c);
}

TEST(empty_values) {
        static const char *const keys[] = {
                "PrivateKey", "Address", "DNS", "ListenPort", "MTU", "FwMark", "SaveConfig",
        };
        char text[256], expected[256];

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                snprintf(text, sizeof(text), "[Interface]\n%s =   \n", keys[i]);
                snprintf(expected, sizeof(expected), "line 2: empty value for %s", keys[i]);
                test_fail_one(text, expected);
                /* a comment as the value is empty too */
                snprintf(text, sizeof(text), "[Interface]\n%s = # fill in\n", keys[i]);
                test_fail_one(text, expected);
        }
        test_fail_one("[Peer]\nPublicKey =\n", "line 2: empty value for PublicKey");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nPresharedKey =\n", "line 3: empty value for PresharedKey");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs =\n", "line 3: empty value for AllowedIPs");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nEndpoint = \n", "line 3: empty value for Endpoint");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nPersistentKeepalive=\n",
                      "line 3: empty value for PersistentKeepalive");

        /* hooks and Table may be empty: nothing is kept */
        WgConf *c = parse_ok("[Interface]\nPreUp =\nPostUp = \nPreDown=\nPostDown =  # none\nTable =\n");
        ASSERT_EQ(c->n_pre_up + c->n_post_up + c->n_pre_down + c->n_post_down, 0);
        ASSERT_TRUE(c->table == NULL);
        ASSERT_TRUE(c->has_interface);
        wgconf_free(c);
}

static void test_bad_key_one(const char *key, const char *value, unsigned line, const char *expected) {
        char text[512], error[512];

        if (streq(key, "PrivateKey"))
                snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n", value);
        else if (streq(key, "PublicKey"))
                snprintf(text, sizeof(text), "[Peer]\nPublicKey = %s\n", value);
        else
                snprintf(text, sizeof(text), "[Peer]\nPublicKey = " K2 "\nPresharedKey = %s\n", value);
        snprintf(error, sizeof(error), "line %u: %s", line, expected);
        test_fail_one(text, error);
}

TEST(bad_keys) {
        /* 43 and 45 characters, non-canonical padding bits, hex, url-safe alphabet */
        static const char *const bad[] = {
                "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk",
                "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk==",
                "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBml=",
                "c8d3f350bb485463de4d5bf0ecfdfa81e11a06cf6de6789261be5294665e4948",
                "yAnz5TF-lXXJte14tji3zlMNq-hd2rYUIgJBgB3fBmk=",
                "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=x",
                "private",
        };
        char expected[256];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                test_bad_key_one("PrivateKey", bad[i], 2, "invalid PrivateKey");
                test_bad_key_one("PresharedKey", bad[i], 3, "invalid PresharedKey");
                snprintf(expected, sizeof(expected), "invalid PublicKey '%s'", bad[i]);
                test_bad_key_one("PublicKey", bad[i], 2, expected);
        }
}

/* No error message contains a private or preshared key, or a large part of one. */
static void test_no_secret_one(const char *text, const char *secret) {
        WgConf *c = NULL;
        char *err = NULL;

        ASSERT_ERR(wgconf_parse(text, strlen(text), &c, &err), EINVAL);
        ASSERT_TRUE(err);
        for (size_t i = 0; i + 8 <= strlen(secret); i++)
                if (strstr(err, (char[9]) { secret[i], secret[i + 1], secret[i + 2], secret[i + 3],
                                            secret[i + 4], secret[i + 5], secret[i + 6], secret[i + 7], 0 }))
                        TEST_FAIL("error '%s' quotes the secret", err);
        free(err);
}

#define S1 "Z2FyYmFnZWdhcmJhZ2VnYXJiYWdlZ2FyYmFnZWdhcmJh"      /* 44 chars, not canonical */

TEST(no_error_contains_a_secret) {
        test_no_secret_one("[Interface]\nPrivateKey = " S1 "\n", S1);
        test_no_secret_one("[Interface]\nPrivateKey = " K1 "x\n", K1);
        test_no_secret_one("[Interface]\nPrivateKey = " K1 "\nPrivateKey = " K1 "\n", K1);
        test_no_secret_one("[Interface]\nPrivateKey " K1 "\n", K1);
        test_no_secret_one("[Interface]\nPrivateKey: " K1 "\n", K1);
        test_no_secret_one("[Interface]\n" K1 "\n", K1);
        test_no_secret_one("[Interface]\nPrivateKey = " K1 " " K1 "\n", K1);
        test_no_secret_one("[Interface]\nPresharedKey = " K3 "\n", K3);
        test_no_secret_one("[Interface]\nPreSharedKey=" K3 "\n", K3);
        test_no_secret_one("[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "x\n", K3);
        test_no_secret_one("[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "\nPresharedKey = " K3 "\n", K3);
        test_no_secret_one("PrivateKey = " K1 "\n", K1);
        test_no_secret_one("[Interface]\nPrivateKey = " K1 "\x01\n", K1);
        test_no_secret_one("[Interface] PrivateKey = " K1 "\n", K1);
        test_no_secret_one("[" K1 "]\n", K1);
        test_no_secret_one("[Interface]\nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ= \n", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ");
        /* a peer given twice with different PSKs */
        test_no_secret_one("[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "\n"
                           "[Peer]\nPublicKey = " K2 "\nPresharedKey = " K4 "\n", K3);
        test_no_secret_one("[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "\n"
                           "[Peer]\nPublicKey = " K2 "\nPresharedKey = " K4 "\n", K4);
}

/* wg-quick knows its [Interface] only as "[Interface]": with blanks inside the brackets it
 * passes the section to wg, which refuses its Address. "[ Peer ]" goes to wg, which drops
 * the blanks: accepted. */
TEST(section_header_blanks) {
        test_fail_one("[ Interface ]\nPrivateKey = " K1 "\n",
                      "line 1: section header '[ Interface ]' with blanks inside the brackets: "
                      "wg-quick does not read it as [Interface]");
        test_fail_one("[Peer]\nPublicKey = " K2 "\n\n[interface ]\n",
                      "line 4: section header '[interface ]' with blanks inside the brackets: "
                      "wg-quick does not read it as [Interface]");
        test_fail_one("[\tInterface]\n",
                      "line 1: section header '[\tInterface]' with blanks inside the brackets: "
                      "wg-quick does not read it as [Interface]");

        WgConf *c = parse_ok(" \t[Interface]  \nPrivateKey = " K1 "\n[ Peer ]\nPublicKey = " K2 "\n");
        ASSERT_TRUE(c->has_interface);
        ASSERT_EQ(c->n_peers, 1);
        wgconf_free(c);
}

/* wg clears host bits: 10.0.0.1/24 and 10.0.0.2/24 are one allowed IP, 10.0.0.0/24. */
TEST(allowed_ips_host_bits) {
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K2 "\n"
                             "AllowedIPs = 10.0.0.1/24, 10.0.0.2/24, fd00::1/64\n"
                             "AllowedIPs = fd00::2/64, 10.0.0.0/24, 10.0.0.1/32\n");
        char s[IP_PREFIX_STRLEN];
        ASSERT_EQ(c->peers[0].n_allowed_ips, 3);
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[0], s), "10.0.0.1/24");  /* as written */
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[1], s), "fd00::1/64");
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[2], s), "10.0.0.1/32");
        wgconf_free(c);

        /* the same [Peer] twice with host-bit variants of its AllowedIPs: merged */
        c = parse_ok("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.1/24, fd00::1/64\n\n"
                     "[Peer]\nPublicKey = " K2 "\nAllowedIPs = fd00::/64, 10.0.0.2/24\n");
        ASSERT_EQ(c->n_peers, 1);
        ASSERT_EQ(c->peers[0].n_allowed_ips, 2);
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[0], s), "10.0.0.1/24");
        wgconf_free(c);

        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.1/24\n"
                      "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.1.1/24\n",
                      "line 4: peer '" K2 "' given twice with different AllowedIPs (wg would keep only the last one's)");
}

TEST(duplicate_peers) {
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32\nAllowedIPs = 10.0.0.3/32\n"
                             "[Peer]\nPublicKey = " K3 "\n"
                             "[Peer]\n# Name = again\nPublicKey = " K2 "\nPresharedKey = " K4 "\n"
                             "AllowedIPs = 10.0.0.3/32, 10.0.0.2/32\nEndpoint = 192.0.2.1:1\n");
        ASSERT_EQ(c->n_peers, 2);
        ASSERT_STREQ(c->peers[0].name, "again");
        ASSERT_TRUE(c->peers[0].has_preshared_key);
        ASSERT_EQ(c->peers[0].n_allowed_ips, 2);
        ASSERT_STREQ(c->peers[0].endpoint, "192.0.2.1:1");
        wgconf_util_round_trip(c);
        wgconf_free(c);

        test_fail_one("[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "\n\n"
                      "[Peer]\nPublicKey = " K2 "\nPresharedKey = " K4 "\n",
                      "line 5: peer '" K2 "' given twice with different PresharedKey");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nEndpoint = 192.0.2.1:1\n"
                      "[Peer]\nPublicKey = " K2 "\nEndpoint = 192.0.2.1:2\n",
                      "line 4: peer '" K2 "' given twice with different Endpoint");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = 25\n"
                      "[Peer]\nPublicKey = " K2 "\nPersistentKeepalive = off\n",
                      "line 4: peer '" K2 "' given twice with different PersistentKeepalive");
        /* wg would keep only the last block's AllowedIPs: refused, not joined */
        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32\n"
                      "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.3/32\n",
                      "line 4: peer '" K2 "' given twice with different AllowedIPs (wg would keep only the last one's)");
        test_fail_one("[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32\n"
                      "[Peer]\nPublicKey = " K2 "\n",
                      "line 4: peer '" K2 "' given twice with different AllowedIPs (wg would keep only the last one's)");
}

TEST(duplicate_peers_order) {
        /* three appearances merge into the first; the first conflict in the file is named */
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K3 "\n"
                             "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.1/32, 10.0.0.2/32, 10.0.0.3/32\n"
                             "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32, 10.0.0.1/32, 10.0.0.3/32\n"
                             "[Peer]\nPublicKey = " K4 "\n"
                             "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.3/32, 10.0.0.2/32, 10.0.0.1/32\n");
        ASSERT_EQ(c->n_peers, 3);
        uint8_t k[WG_KEY_LEN];
        ASSERT_OK(wg_key_from_base64(k, K2));
        ASSERT_MEMEQ(c->peers[1].public_key, k, WG_KEY_LEN);
        ASSERT_EQ(c->peers[1].n_allowed_ips, 3);
        ASSERT_OK(wg_key_from_base64(k, K4));
        ASSERT_MEMEQ(c->peers[2].public_key, k, WG_KEY_LEN);
        wgconf_free(c);

        test_fail_one("[Peer]\nPublicKey = " K3 "\nEndpoint = 192.0.2.1:1\n"
                      "[Peer]\nPublicKey = " K2 "\nEndpoint = 192.0.2.1:1\n"
                      "[Peer]\nPublicKey = " K2 "\nEndpoint = 192.0.2.1:2\n"
                      "[Peer]\nPublicKey = " K3 "\nEndpoint = 192.0.2.1:2\n",
                      "line 7: peer '" K2 "' given twice with different Endpoint");
}

TEST(large_import) {
        const size_t n = 20000;
        size_t cap = n * 120 + 256, len = 0;
        char *text = malloc(cap), b64[WG_KEY_B64_SIZE];
        uint8_t key[WG_KEY_LEN] = { 0 };

        ASSERT_TRUE(text);
        len += (size_t) snprintf(text + len, cap - len, "[Interface]\nPrivateKey = " K1 "\n");
        for (size_t i = 0; i <= n; i++) {
                size_t v = i % n;       /* the last one repeats the first */
                key[0] = (uint8_t) v, key[1] = (uint8_t) (v >> 8), key[2] = (uint8_t) (v >> 16);
                wg_key_to_base64(b64, key);
                len += (size_t) snprintf(text + len, cap - len,
                                         "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%u.%u.%u/32\n", b64,
                                         (unsigned) (v >> 16), (unsigned) (v >> 8 & 255), (unsigned) (v & 255));
        }
        WgConf *c = parse_ok_n(text, len);
        free(text);
        ASSERT_EQ(c->n_peers, n);
        ASSERT_EQ(c->peers[0].n_allowed_ips, 1);
        wgconf_util_round_trip(c);
        wgconf_free(c);
}

/* One peer with 200,000 AllowedIPs (every tenth a repeat), and a file of 100,000 comment
 * lines: linear enough to parse at once (repeats were once found by a scan per entry, and
 * every comment kept: an import, checked before polkit, could stall the daemon). */
TEST(long_lists) {
        const size_t n = 200000;
        size_t cap = n * 24 + 256, len = 0;
        char *text = malloc(cap);

        ASSERT_TRUE(text);
        len += (size_t) snprintf(text + len, cap - len, "[Peer]\nPublicKey = " K2 "\nAllowedIPs = ");
        for (size_t i = 0; i < n; i++) {
                size_t v = i % 10 == 9 ? i - 9 : i;     /* every tenth repeats an earlier one */
                len += (size_t) snprintf(text + len, cap - len, "%s10.%u.%u.%u/32", i ? "," : "",
                                         (unsigned) (v >> 16), (unsigned) (v >> 8 & 255), (unsigned) (v & 255));
        }
        len += (size_t) snprintf(text + len, cap - len, "\n");
        WgConf *c = parse_ok_n(text, len);
        ASSERT_EQ(c->peers[0].n_allowed_ips, n - n / 10);
        char buf[IP_PREFIX_STRLEN];
        ASSERT_STREQ(ip_prefix_to_string(&c->peers[0].allowed_ips[1], buf), "10.0.0.1/32");     /* file order kept */
        wgconf_free(c);
        free(text);

        cap = 100000 * 3 + 64;
        text = malloc(cap);
        ASSERT_TRUE(text);
        len = 0;
        for (size_t i = 0; i < 100000; i++)
                len += (size_t) snprintf(text + len, cap - len, "#\n");
        c = parse_ok_n(text, len);
        ASSERT_EQ(c->n_comments, 256);
        wgconf_free(c);
        free(text);
}

TEST(private_key_note) {
        WgConf *c = wgconf_new();
        char *out = NULL;
        IpPrefix a;

        ASSERT_TRUE(c);
        c->has_interface = true;
        c->private_key_note = strdup("The private key is not held by wgnet");
        ASSERT_OK(ip_prefix_parse("10.0.0.2/32", false, &a));
        ASSERT_OK(wgconf_add_address(c, &a));
        ASSERT_OK(wgconf_render(c, &out));
        ASSERT_STREQ(out, "[Interface]\n"
                          "# The private key is not held by wgnet\n"
                          "Address = 10.0.0.2/32\n");
        wg_wipe_free_string(out);
        wgconf_util_round_trip(c);

        /* parsed back: the note is the first comment of a key-less [Interface] */
        WgConf *d = parse_ok("[Interface]\n#  indented note  \nAddress = 10.0.0.2/32\n# later\n");
        ASSERT_FALSE(d->has_private_key);
        ASSERT_STREQ(d->private_key_note, " indented note");
        wgconf_util_round_trip(d);
        wgconf_free(d);

        /* with a private key the note is neither rendered nor parsed */
        ASSERT_OK(wg_key_from_base64(c->private_key, K1));
        c->has_private_key = true;
        ASSERT_OK(wgconf_render(c, &out));
        ASSERT_STREQ(out, "[Interface]\nPrivateKey = " K1 "\nAddress = 10.0.0.2/32\n");
        wg_wipe_free_string(out);
        wgconf_free(c);

        d = parse_ok("[Interface]\n# a comment\nPrivateKey = " K1 "\n");
        ASSERT_TRUE(d->private_key_note == NULL);
        wgconf_free(d);
}

TEST(peer_only_and_comment_only) {
        WgConf *c = parse_ok("[Peer]\nPublicKey = " K2 "\nAllowedIPs = ::/0\n");
        ASSERT_FALSE(c->has_interface);
        wgconf_util_round_trip(c);
        wgconf_free(c);

        test_render_one("# only\n#   a comment\n", "# only\n#   a comment\n");
        test_render_one("#\n[Interface]\n", "#\n\n[Interface]\n");
}

TEST(builders_and_render) {
        WgConf *c = wgconf_new();
        char *out = NULL;
        IpPrefix a;

        ASSERT_TRUE(c);
        ASSERT_EQ(c->save_config, -1);
        ASSERT_FALSE(c->has_interface);
        c->has_interface = true;
        ASSERT_OK(wg_key_from_base64(c->private_key, K1));
        c->has_private_key = true;
        ASSERT_OK(wgconf_add_comment(c, "Generated by wgnet"));
        ASSERT_OK(ip_prefix_parse("10.8.0.2/32", false, &a));
        ASSERT_OK(wgconf_add_address(c, &a));
        ASSERT_OK(ip_prefix_parse("fd00::2/128", false, &a));
        ASSERT_OK(wgconf_add_address(c, &a));
        ASSERT_OK(wgconf_add_dns(c, "10.8.0.1"));
        ASSERT_OK(wgconf_add_dns(c, "vpn.internal"));
        c->has_mtu = true;
        c->mtu = 1380;

        WgConfPeer *p = wgconf_add_peer(c);
        ASSERT_TRUE(p);
        ASSERT_OK(wg_key_from_base64(p->public_key, K2));
        ASSERT_OK(wg_key_from_base64(p->preshared_key, K3));
        p->has_preshared_key = true;
        ASSERT_OK(ip_prefix_parse("0.0.0.0/0", false, &a));
        ASSERT_OK(wgconf_peer_add_allowed_ip(p, &a));
        ASSERT_OK(ip_prefix_parse("::/0", false, &a));
        ASSERT_OK(wgconf_peer_add_allowed_ip(p, &a));
        p->endpoint = strdup("[2001:db8::1]:51820");
        p->has_persistent_keepalive = true;
        p->persistent_keepalive = 25;
        p->name = strdup("server");

        ASSERT_OK(wgconf_render(c, &out));
        ASSERT_STREQ(out,
                     "# Generated by wgnet\n"
                     "\n"
                     "[Interface]\n"
                     "PrivateKey = " K1 "\n"
                     "Address = 10.8.0.2/32, fd00::2/128\n"
                     "DNS = 10.8.0.1, vpn.internal\n"
                     "MTU = 1380\n"
                     "\n"
                     "[Peer]\n"
                     "# Name = server\n"
                     "PublicKey = " K2 "\n"
                     "PresharedKey = " K3 "\n"
                     "AllowedIPs = 0.0.0.0/0, ::/0\n"
                     "Endpoint = [2001:db8::1]:51820\n"
                     "PersistentKeepalive = 25\n");
        wg_wipe_free_string(out);
        wgconf_util_round_trip(c);
        wgconf_free(c);
        ASSERT_TRUE(wgconf_free(NULL) == NULL);
}

/* The renderer refuses what would not parse back to the same thing. */
TEST(render_refuses) {
        WgConf *c = wgconf_new();
        char *out = NULL;
        IpPrefix bad = { .family = AF_INET, .prefixlen = 33 };

        ASSERT_TRUE(c);
        ASSERT_ERR(wgconf_add_dns(c, "1.1.1.1 8.8.8.8"), EINVAL);
        ASSERT_ERR(wgconf_add_dns(c, ""), EINVAL);
        ASSERT_ERR(wgconf_add_comment(c, "two\nlines"), EINVAL);
        ASSERT_ERR(wgconf_add_address(c, &bad), EINVAL);
        WgConfPeer *p = wgconf_add_peer(c);
        ASSERT_TRUE(p);
        ASSERT_ERR(wgconf_peer_add_allowed_ip(p, &bad), EINVAL);
        ASSERT_OK(wgconf_render(c, &out));
        wg_wipe_free_string(out);

        static const char *const bad_hooks[] = { "echo # no", "echo\nrm", "", " lead", "trail " };
        for (size_t i = 0; i < ELEMENTSOF(bad_hooks); i++) {
                char *h = strdup(bad_hooks[i]);
                c->post_up = &h;
                c->n_post_up = 1;
                out = NULL;
                ASSERT_ERR(wgconf_render(c, &out), EINVAL);
                ASSERT_TRUE(out == NULL);
                c->post_up = NULL;
                c->n_post_up = 0;
                free(h);
        }

        p->endpoint = strdup("no-port");
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        free(p->endpoint);
        p->endpoint = NULL;

        p->name = strdup("two\nlines");
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        free(p->name);
        p->name = strdup(" padded");
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        free(p->name);
        p->name = NULL;

        c->has_mtu = true;
        c->mtu = 100;
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        c->mtu = 1420;

        c->table = strdup("a b");
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        free(c->table);
        c->table = NULL;

        c->private_key_note = strdup("bad\nnote");
        ASSERT_ERR(wgconf_render(c, &out), EINVAL);
        free(c->private_key_note);
        c->private_key_note = strdup("fine");

        ASSERT_OK(wgconf_render(c, &out));
        wg_wipe_free_string(out);
        wgconf_free(c);

        ASSERT_ERR(wgconf_render(NULL, &out), EINVAL);
        ASSERT_ERR(wgconf_parse("", 0, NULL, NULL), EINVAL);
}

TEST_MAIN()
