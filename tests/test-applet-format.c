/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The applet's text helpers (client/applet/format.c): byte counts, rates, "3 min ago";
 * and the QR code of a config in hand (client/applet/config-qr.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-qr.h"
#include "format.h"
#include "keys.h"
#include "test.h"

static void test_bytes_one(uint64_t in, const char *expected) {
        char buf[APPLET_BYTES_STRLEN];
        ASSERT_STREQ(applet_format_bytes(in, buf), expected);
}

TEST(bytes) {
        test_bytes_one(0, "0 B");
        test_bytes_one(1023, "1023 B");
        test_bytes_one(1024, "1.0 KiB");
        test_bytes_one(1024 * 1024 - 1, "1.0 MiB");     /* the unit after rounding */
        test_bytes_one(1023 * 1024 + 511, "1023 KiB");
        test_bytes_one(1023, "1023 B");
        test_bytes_one(1536, "1.5 KiB");
        test_bytes_one(10 * 1024, "10 KiB");
        test_bytes_one(5ULL * 1024 * 1024 + 1024 * 1024 / 2, "5.5 MiB");
        test_bytes_one(3ULL << 40, "3.0 TiB");
        test_bytes_one(UINT64_MAX, "16 EiB");
}

static void test_ago_one(uint64_t then, uint64_t now, const char *expected) {
        char buf[APPLET_AGO_STRLEN];
        ASSERT_STREQ(applet_format_ago(then, now, buf), expected);
}

TEST(ago) {
        const uint64_t now = 1700000000ULL * 1000000;
        test_ago_one(0, now, "never");
        test_ago_one(now, now, "just now");
        test_ago_one(now + 5000000, now, "just now");          /* clock skew: not "in the future" */
        test_ago_one(now - 4999999, now, "just now");
        test_ago_one(now - 42000000, now, "42 s ago");
        test_ago_one(now - 180000000, now, "3 min ago");
        test_ago_one(now - 3599000000ULL, now, "59 min ago");
        test_ago_one(now - 5 * 3600000000ULL, now, "5 h ago");
        test_ago_one(now - 47 * 3600000000ULL, now, "47 h ago");
        test_ago_one(now - 3 * 86400000000ULL, now, "3 days ago");
}

TEST(rate) {
        char buf[APPLET_BYTES_STRLEN + 2];
        ASSERT_STREQ(applet_format_rate(0, buf), "0 B/s");
        ASSERT_STREQ(applet_format_rate(-5, buf), "0 B/s");
        ASSERT_STREQ(applet_format_rate(12.0 * 1024, buf), "12 KiB/s");
        ASSERT_STREQ(applet_format_rate(2.5 * 1024 * 1024, buf), "2.5 MiB/s");
}

/* What zbarimg reads from the PNG, without the newline it appends; NULL if nothing. */
static char *zbar_decode_png(const uint8_t *png, size_t size) {
        char path[] = "/tmp/test-applet-qr-XXXXXX.png", cmd[128];
        int fd = mkstemps(path, 4);
        char *out = calloc(1, 8192);
        size_t n = 0;

        ASSERT_TRUE(fd >= 0 && out);
        ASSERT_TRUE(write(fd, png, size) == (ssize_t) size);
        close(fd);
        /* stderr: zbarimg complains when there is no system bus */
        snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s' 2>/dev/null", path);
        FILE *f = popen(cmd, "r");
        ASSERT_TRUE(f);
        n = fread(out, 1, 8191, f);
        int status = pclose(f);
        unlink(path);
        if (status != 0 || n == 0) {
                free(out);
                return NULL;
        }
        if (out[n - 1] == '\n')
                out[n - 1] = 0;
        return out;
}

/* The config of AddPeer's reply in a one-time network: the only copy of the private key.
 * The QR code the dialog shows must hold this text, key included, not the daemon's
 * placeholder config from GetQRCode. */
TEST(config_qr_holds_the_config) {
        static const char config[] =
                "[Interface]\n"
                "PrivateKey = aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgMTIzNDU=\n"
                "Address = 10.8.0.2/32, fd00:8::2/128\n"
                "DNS = 10.8.0.1\n"
                "\n"
                "[Peer]\n"
                "PublicKey = c2VydmVyIHB1YmxpYyBrZXkgZm9yIHRoZSB0ZXN0IDEyMzQ=\n"
                "PresharedKey = cHJlc2hhcmVkIGtleSBmb3IgdGhlIHRlc3QgYWJjZGVmZ2g=\n"
                "Endpoint = vpn.example.com:51820\n"
                "AllowedIPs = 10.8.0.0/24, fd00:8::/64\n"
                "PersistentKeepalive = 25\n";
        uint8_t *png = NULL;
        size_t size = 0;

        ASSERT_OK(applet_config_qr_png(config, &png, &size));
        ASSERT_TRUE(png && size > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
        if (system("command -v zbarimg >/dev/null 2>&1") != 0) {
                wg_wipe_free(png, size);
                SKIP("zbarimg is not installed: the PNG is not decoded");
        }
        char *decoded = zbar_decode_png(png, size);
        wg_wipe_free(png, size);
        ASSERT_TRUE(decoded);
        ASSERT_STREQ(decoded, config);
        ASSERT_TRUE(strstr(decoded, "PrivateKey = aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3QgMTIzNDU=") != NULL);
        free(decoded);
}

TEST(config_qr_errors) {
        uint8_t *png = NULL;
        size_t size = 0;
        char *long_config = malloc(8000);

        ASSERT_TRUE(long_config);
        memset(long_config, 'A', 7999);
        long_config[7999] = 0;
        ASSERT_ERR(applet_config_qr_png(long_config, &png, &size), EMSGSIZE);
        ASSERT_ERR(applet_config_qr_png("", &png, &size), EINVAL);
        free(long_config);
}

TEST_MAIN()
