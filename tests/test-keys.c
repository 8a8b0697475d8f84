/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "keys.h"
#include "test.h"

static void hex_to_key(uint8_t k[WG_KEY_LEN], const char *hex) {
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                unsigned v;
                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        abort();
                k[i] = (uint8_t) v;
        }
}

static void test_rfc7748_one(const char *priv_hex, const char *pub_hex) {
        uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], expected[WG_KEY_LEN];

        hex_to_key(priv, priv_hex);
        hex_to_key(expected, pub_hex);
        ASSERT_OK(wg_key_public_from_private(pub, priv));
        ASSERT_MEMEQ(pub, expected, WG_KEY_LEN);
        ASSERT_TRUE(wg_key_equal(pub, expected));
}

/* RFC 7748 section 6.1 */
TEST(rfc7748_known_answers) {
        ASSERT_OK(wg_crypto_init());
        ASSERT_OK(wg_crypto_init());
        test_rfc7748_one("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                         "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        test_rfc7748_one("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
                         "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
}

TEST(clamping) {
        uint8_t k[WG_KEY_LEN], c[WG_KEY_LEN], p1[WG_KEY_LEN], p2[WG_KEY_LEN];

        for (unsigned i = 0; i < 200; i++) {
                ASSERT_OK(wg_key_generate_private(k));
                ASSERT_EQ(k[0] & 7, 0);
                ASSERT_EQ(k[31] & 128, 0);
                ASSERT_EQ(k[31] & 64, 64);
        }

        /* the public key of an unclamped key is that of its clamped copy; input untouched */
        memset(k, 0xff, sizeof(k));
        memcpy(c, k, sizeof(c));
        c[0] &= 248;
        c[31] = (c[31] & 127) | 64;
        ASSERT_OK(wg_key_public_from_private(p1, k));
        ASSERT_OK(wg_key_public_from_private(p2, c));
        ASSERT_MEMEQ(p1, p2, WG_KEY_LEN);
        ASSERT_EQ(k[0], 0xff);
        ASSERT_EQ(k[31], 0xff);

        /* even the all-zero private key clamps to a valid scalar */
        memset(k, 0, sizeof(k));
        ASSERT_OK(wg_key_public_from_private(p1, k));
        ASSERT_FALSE(wg_key_is_zero(p1));

        /* preshared keys are random, not clamped: over 64 keys some byte 0 has a low bit */
        unsigned low = 0;
        for (unsigned i = 0; i < 64; i++) {
                ASSERT_OK(wg_key_generate_preshared(k));
                low |= k[0] & 7;
        }
        ASSERT_NE(low, 0);
}

static void test_b64_one(const char *b64, const char *hex) {
        uint8_t k[WG_KEY_LEN], expected[WG_KEY_LEN];
        char s[WG_KEY_B64_SIZE];

        hex_to_key(expected, hex);
        ASSERT_OK(wg_key_from_base64(k, b64));
        ASSERT_MEMEQ(k, expected, WG_KEY_LEN);
        wg_key_to_base64(s, k);
        ASSERT_STREQ(s, b64);
}

TEST(base64_known) {
        test_b64_one("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                     "0000000000000000000000000000000000000000000000000000000000000000");
        test_b64_one("//////////////////////////////////////////8=",
                     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
        /* RFC 7748 Alice's public key, as wg prints it */
        test_b64_one("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        /* every character of the alphabet in some position */
        test_b64_one("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopo=",
                     "00108310518720928b30d38f41149351559761969b71d79f8218a39259a7a29a");
        test_b64_one("qrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTU=",
                     "aabb2dbafc31cb3d35db7e39ebbf3dfbf00108310518720928b30d38f4114935");
}

TEST(base64_round_trip) {
        uint8_t k[WG_KEY_LEN], k2[WG_KEY_LEN];
        char s[WG_KEY_B64_SIZE];

        for (unsigned i = 0; i < 2000; i++) {
                ASSERT_OK(wg_key_generate_preshared(k));
                wg_key_to_base64(s, k);
                ASSERT_EQ(strlen(s), WG_KEY_B64_LEN);
                ASSERT_EQ(s[43], '=');
                ASSERT_OK(wg_key_from_base64(k2, s));
                ASSERT_TRUE(wg_key_equal(k, k2));
                ASSERT_OK(wg_key_from_base64_n(k2, s, WG_KEY_B64_LEN));
                ASSERT_TRUE(wg_key_equal(k, k2));
        }
}

static void test_b64_reject_n(const char *s, size_t len) {
        uint8_t k[WG_KEY_LEN];

        memset(k, 0xa5, sizeof(k));
        ASSERT_ERR(wg_key_from_base64_n(k, s, len), EINVAL);
        for (size_t i = 0; i < WG_KEY_LEN; i++)
                ASSERT_EQ(k[i], 0xa5);          /* ret written only on success */
}

static void test_b64_reject(const char *s) {
        uint8_t k[WG_KEY_LEN];

        memset(k, 0xa5, sizeof(k));
        ASSERT_ERR(wg_key_from_base64(k, s), EINVAL);
        for (size_t i = 0; i < WG_KEY_LEN; i++)
                ASSERT_EQ(k[i], 0xa5);
        test_b64_reject_n(s, strlen(s));
}

TEST(base64_rejections) {
        uint8_t k[WG_KEY_LEN];
        const char *good = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
        char buf[64];

        ASSERT_OK(wg_key_from_base64(k, good));

        test_b64_reject("");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo");     /* 43, no pad */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=");     /* 43 */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==");   /* 45 */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA");    /* 44, no pad */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==");    /* two pads */
        test_b64_reject("=SDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");    /* pad inside */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=");    /* url alphabet */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2.Og0mOBr066SpjqqbTmo=");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=");    /* trailing bits 01 */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmq=");    /* 10 */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmr=");    /* 11 */
        test_b64_reject("//////////////////////////////////////////9=");
        test_b64_reject("//////////////////////////////////////////+=");
        test_b64_reject(" hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");   /* whitespace */
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo= ");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2 Og0mOBr066SpjqqbTmo=");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2\tOg0mOBr066SpjqqbTmo=");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2\nOg0mOBr066SpjqqbTmo=");
        test_b64_reject("hSDwCYkwp1R0i33ctD73Wg2\xc3\xa9g0mOBr066SpjqqbTmo="); /* 8-bit */
        ASSERT_ERR(wg_key_from_base64(k, NULL), EINVAL);
        ASSERT_ERR(wg_key_from_base64_n(k, NULL, 44), EINVAL);

        /* every single byte other than the alphabet, at every data position */
        for (unsigned c = 0; c < 256; c++) {
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/')
                        continue;
                for (size_t pos = 0; pos < 43; pos += 7) {
                        memcpy(buf, good, WG_KEY_B64_SIZE);
                        buf[pos] = (char) c;
                        test_b64_reject_n(buf, WG_KEY_B64_LEN);
                }
                memcpy(buf, good, WG_KEY_B64_SIZE);
                buf[42] = (char) c;
                test_b64_reject_n(buf, WG_KEY_B64_LEN);
                if (c != '=') {
                        buf[42] = 'o';
                        buf[43] = (char) c;
                        test_b64_reject_n(buf, WG_KEY_B64_LEN);
                }
        }

        /* NUL inside, seen through _n; the C string form stops at it and is short */
        memcpy(buf, good, WG_KEY_B64_SIZE);
        buf[20] = '\0';
        test_b64_reject_n(buf, WG_KEY_B64_LEN);
        ASSERT_ERR(wg_key_from_base64(k, buf), EINVAL);
        memcpy(buf, good, WG_KEY_B64_SIZE);
        buf[43] = '\0';
        test_b64_reject_n(buf, WG_KEY_B64_LEN);

        /* _n with the good key but a wrong length: prefix or with its NUL counted */
        test_b64_reject_n(good, 43);
        test_b64_reject_n(good, 45);
        test_b64_reject_n(good, 0);
}

/* Reads up to n lines of "a b" pairs of base64 keys from a shell command. */
static unsigned read_pairs(const char *cmd, char (*a)[WG_KEY_B64_SIZE], char (*b)[WG_KEY_B64_SIZE], unsigned n) {
        FILE *f = popen(cmd, "r");
        unsigned i = 0;
        char line[256];

        if (!f)
                return 0;
        while (i < n && fgets(line, sizeof(line), f)) {
                if (sscanf(line, "%44s %44s", a[i], b[i]) != 2)
                        break;
                i++;
        }
        if (pclose(f) != 0)
                return 0;
        return i;
}

static int have_wg(void) {
        return system("command -v wg >/dev/null 2>&1") == 0;
}

enum { N_WG = 50 };

TEST(wg_genkey_pubkey) {
        static char priv[N_WG][WG_KEY_B64_SIZE], pub[N_WG][WG_KEY_B64_SIZE];

        if (!have_wg())
                SKIP("wg (wireguard-tools) not installed");

        ASSERT_EQ(read_pairs("for i in $(seq 50); do k=$(wg genkey) && echo \"$k $(echo \"$k\" | wg pubkey)\"; done",
                             priv, pub, N_WG), N_WG);
        for (unsigned i = 0; i < N_WG; i++) {
                uint8_t k[WG_KEY_LEN], p[WG_KEY_LEN], p_expected[WG_KEY_LEN];
                char s[WG_KEY_B64_SIZE];

                ASSERT_OK(wg_key_from_base64(k, priv[i]));
                wg_key_to_base64(s, k);
                ASSERT_STREQ(s, priv[i]);
                ASSERT_OK(wg_key_from_base64(p_expected, pub[i]));
                ASSERT_OK(wg_key_public_from_private(p, k));
                ASSERT_TRUE(wg_key_equal(p, p_expected));
                wg_key_to_base64(s, p);
                ASSERT_STREQ(s, pub[i]);
        }
}

TEST(our_keys_wg_pubkey) {
        static char priv[N_WG][WG_KEY_B64_SIZE], pub[N_WG][WG_KEY_B64_SIZE], our_pub[N_WG][WG_KEY_B64_SIZE];
        char path[] = "/tmp/test-keys-XXXXXX";
        char cmd[256];

        if (!have_wg())
                SKIP("wg (wireguard-tools) not installed");

        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        FILE *f = fdopen(fd, "w");
        ASSERT_TRUE(f);
        for (unsigned i = 0; i < N_WG; i++) {
                uint8_t k[WG_KEY_LEN], p[WG_KEY_LEN];

                ASSERT_OK(wg_key_generate_private(k));
                ASSERT_OK(wg_key_public_from_private(p, k));
                wg_key_to_base64(priv[i], k);
                wg_key_to_base64(our_pub[i], p);
                fprintf(f, "%s\n", priv[i]);
        }
        ASSERT_EQ(fclose(f), 0);

        snprintf(cmd, sizeof(cmd), "while read k; do echo \"$k $(echo \"$k\" | wg pubkey)\"; done < %s", path);
        static char priv2[N_WG][WG_KEY_B64_SIZE];
        unsigned n = read_pairs(cmd, priv2, pub, N_WG);
        unlink(path);
        ASSERT_EQ(n, N_WG);
        for (unsigned i = 0; i < N_WG; i++) {
                ASSERT_STREQ(priv2[i], priv[i]);
                ASSERT_STREQ(our_pub[i], pub[i]);
        }
}

TEST(constant_time_compare) {
        uint8_t a[WG_KEY_LEN], b[WG_KEY_LEN], z[WG_KEY_LEN] = { 0 };

        ASSERT_OK(wg_key_generate_preshared(a));
        memcpy(b, a, sizeof(b));
        ASSERT_TRUE(wg_key_equal(a, b));
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                b[i] ^= 0x80;
                ASSERT_FALSE(wg_key_equal(a, b));
                b[i] ^= 0x80;
        }
        ASSERT_TRUE(wg_key_equal(a, b));

        ASSERT_TRUE(wg_key_is_zero(z));
        for (size_t i = 0; i < WG_KEY_LEN; i++) {
                z[i] = 1;
                ASSERT_FALSE(wg_key_is_zero(z));
                z[i] = 0;
        }
        ASSERT_TRUE(wg_key_is_zero(z));
}

TEST(wipe) {
        uint8_t buf[100];

        memset(buf, 0x5a, sizeof(buf));
        wg_wipe(buf + 10, 50);
        for (size_t i = 0; i < sizeof(buf); i++)
                ASSERT_EQ(buf[i], i >= 10 && i < 60 ? 0 : 0x5a);
        wg_wipe(NULL, 0);

        uint8_t *p = malloc(64);
        ASSERT_TRUE(p);
        memset(p, 0x5a, 64);
        wg_wipe_free(p, 64);
        wg_wipe_free(NULL, 10);

        char *s = strdup("secret private key material");
        ASSERT_TRUE(s);
        wg_wipe_free_string(s);
        wg_wipe_free_string(NULL);

        __attribute__((unused, cleanup(wg_wipe_free_stringp))) char *c = strdup("x");
        ASSERT_TRUE(c);
}

TEST_MAIN()
