/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bytes that are not plain text: values that are not UTF-8 or hold control characters,
 * hooks that are not text, and quoted values cut in error messages. */

#include "macro.h"
#include "test.h"
#include "wgconf-util.h"
#include "wgconf.h"

/* A value that is not text is refused naming its key, not quoting the value; a hook that
 * is not text drops every hook (wg-quick would run it; wgnet never does, and a half set
 * could pair a PostDown with no PostUp). */
TEST(values_not_text) {
        test_fail_one("[Interface]\nAddress = 10.0.0.1/24\xff\n", "line 2: Address: not UTF-8 text");
        test_fail_one("[Interface]\nPrivateKey = " K1 "\xfc\n", "line 2: PrivateKey: not UTF-8 text");
        test_fail_one("[Interface]\nAddress = 10.0.0.1/24\n\n[Peer]\nPublicKey = " K2 "\nEndpoint = h\xe9te:1\n",
                      "line 6: Endpoint: not UTF-8 text");
        test_fail_one("[Interface]\nDNS = 10.0.0.1\x01\n", "line 2: DNS: control character");
        test_fail_one("[Interface]\nMTU = 14\xc2\x85" "20\n", "line 2: MTU: control character");
        test_fail_one("[Interface]\nTable = 4\xc3\n", "line 2: Table: not UTF-8 text");

        static const char *const bad_hooks[] = {
                "PostUp = echo J\xfcrgen", "PreDown = echo \x01", "PostDown = echo a\rb", "PreUp = \xe2\x82",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_hooks); i++) {
                char text[256];
                snprintf(text, sizeof(text), "[Interface]\nPrivateKey = " K1 "\nPreUp = echo one\n"
                         "PostUp = echo two\n%s\nPreDown = echo three\nPostDown = echo four # J\xfcrgen\n",
                         bad_hooks[i]);
                WgConf *c = parse_ok(text);
                ASSERT_TRUE(c->hooks_dropped);
                ASSERT_EQ(c->n_pre_up + c->n_post_up + c->n_pre_down + c->n_post_down, 0);
                ASSERT_TRUE(c->has_private_key);
                char *out = NULL;
                ASSERT_OK(wgconf_render(c, &out));
                ASSERT_STREQ(out, "[Interface]\nPrivateKey = " K1 "\n");
                wg_wipe_free_string(out);
                wgconf_free(c);
        }

        /* text after '#' is a comment, whatever its bytes */
        WgConf *c = parse_ok("[Interface]\nPostUp = echo ok # J\xfcrgen\n");
        ASSERT_FALSE(c->hooks_dropped);
        ASSERT_EQ(c->n_post_up, 1);
        ASSERT_STREQ(c->post_up[0], "echo ok");
        wgconf_free(c);
}

static void test_long_value_one(const char *value, const char *quoted) {
        char text[1024 + 64], expected[1024 + 64];

        snprintf(text, sizeof(text), "[Interface]\nAddress = %s\n", value);
        snprintf(expected, sizeof(expected), "line 2: invalid Address '%s'", quoted);
        test_fail_one(text, expected);
}

/* A quoted value is cut at 256 bytes between two characters, never inside one: sd-bus
 * refuses a message that is not UTF-8 and the importer's caller would get no reply. */
TEST(error_quotes_cut_between_characters) {
        char a255[256], a254[255], a256[257], v[1024], q[1024];

        memset(a255, 'a', 255), a255[255] = '\0';
        memset(a254, 'a', 254), a254[254] = '\0';
        memset(a256, 'a', 256), a256[256] = '\0';

        /* 'é' is bytes 256-257: cut before it */
        snprintf(v, sizeof(v), "%s\xc3\xa9", a255);
        snprintf(q, sizeof(q), "%s...", a255);
        test_long_value_one(v, q);
        /* '€' (3 bytes) and U+1F600 (4) across the 256th byte */
        snprintf(v, sizeof(v), "%s\xe2\x82\xac", a254);
        snprintf(q, sizeof(q), "%s...", a254);
        test_long_value_one(v, q);
        snprintf(v, sizeof(v), "%s\xf0\x9f\x98\x80", a254);
        test_long_value_one(v, q);
        /* 128 'é' fill 256 bytes exactly: all of them, then the cut */
        v[0] = q[0] = '\0';
        for (size_t i = 0; i < 130; i++)
                strcat(v, "\xc3\xa9");
        for (size_t i = 0; i < 128; i++)
                strcat(q, "\xc3\xa9");
        strcat(q, "...");
        test_long_value_one(v, q);
        /* 256 bytes: not cut */
        test_long_value_one(a256, a256);
}

TEST_MAIN()
