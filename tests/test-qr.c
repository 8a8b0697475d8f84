/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "qr.h"
#include "test.h"

static const char WG_CONFIG[] =
        "[Interface]\n"
        "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
        "Address = 10.8.0.2/32, fd00:8::2/128\n"
        "DNS = 10.8.0.1, fd00:8::1\n"
        "MTU = 1420\n"
        "\n"
        "[Peer]\n"
        "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
        "PresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=\n"
        "AllowedIPs = 0.0.0.0/0, ::/0\n"
        "Endpoint = vpn.example.org:51820\n"
        "PersistentKeepalive = 25\n";

/* Two configs (throw-away keys) that libqrencode's mixed-mode encoding turned into codes
 * zbar read with four characters too many at the end ("...25\n" then "\nA98C"): 2 of
 * 1,500 generated configs. Byte mode for the whole text reads back exactly. */
static const char MIXED_MODE_MISREAD_1[] =
        "# wgnet network 'office', peer 'phone'\n"
        "\n"
        "[Interface]\n"
        "PrivateKey = eDUFQla+oAa16QB0+bLBZXNrnwAyfmnA59ERdJiU01c=\n"
        "Address = 10.71.0.2/32, fd00:71::2/128\n"
        "DNS = 10.71.0.1, example.internal\n"
        "\n"
        "[Peer]\n"
        "PublicKey = dBo42GpxU6ZTVHL37P2uJZzfmChM8Voe3lNQhUHwvAM=\n"
        "PresharedKey = D4EoKSUWQvtCAjnoMZZ368ic+v6Mnyo26+Pf/tLuV8A=\n"
        "AllowedIPs = 10.71.0.0/24, fd00:71::/64\n"
        "Endpoint = vpn.example.com:51871\n"
        "PersistentKeepalive = 25\n";
static const char MIXED_MODE_MISREAD_2[] =
        "# wgnet network 'office', peer 'phone'\n"
        "\n"
        "[Interface]\n"
        "PrivateKey = cNWiclZQMJFvCDVMJ+TsCNLOAhlxtrIko514ymkbP2o=\n"
        "Address = 10.71.0.2/32, fd00:71::2/128\n"
        "DNS = 10.71.0.1, example.internal\n"
        "\n"
        "[Peer]\n"
        "PublicKey = dBo42GpxU6ZTVHL37P2uJZzfmChM8Voe3lNQhUHwvAM=\n"
        "PresharedKey = dThip3Gt3R6OzbyUuzxmRHyDNa/w+e7OZUb7cJGBRJw=\n"
        "AllowedIPs = 10.71.0.0/24, fd00:71::/64\n"
        "Endpoint = vpn.example.com:51871\n"
        "PersistentKeepalive = 25\n";

static int have_zbarimg(void) {
        return system("command -v zbarimg >/dev/null 2>&1") == 0;
}

static char *read_all(FILE *f) {
        size_t n = 0, cap = 1024;
        char *s = malloc(cap);

        if (!s)
                return NULL;
        for (;;) {
                size_t k = fread(s + n, 1, cap - n - 1, f);
                if (k == 0)
                        break;
                n += k;
                if (cap - n - 1 == 0) {
                        char *ns = realloc(s, cap * 2);
                        if (!ns) {
                                free(s);
                                return NULL;
                        }
                        s = ns;
                        cap *= 2;
                }
        }
        s[n] = '\0';
        return s;
}

static char *write_tmp(const char *suffix, const void *data, size_t len) {
        char *path = malloc(64);
        int fd;

        if (!path)
                abort();
        snprintf(path, 64, "/tmp/test-qr-XXXXXX%s", suffix);
        fd = mkstemps(path, (int) strlen(suffix));
        if (fd < 0 || write(fd, data, len) != (ssize_t) len)
                abort();
        close(fd);
        return path;
}

/* What zbarimg reads from an image file, without the newline it appends; NULL if nothing. */
static char *zbar_decode_file(const char *path) {
        char cmd[256];
        FILE *f;
        char *out;

        /* stderr: zbarimg complains when there is no system bus */
        snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s' 2>/dev/null", path);
        f = popen(cmd, "r");
        if (!f)
                return NULL;
        out = read_all(f);
        if (pclose(f) != 0 || !out) {
                free(out);
                return NULL;
        }
        size_t n = strlen(out);
        if (n > 0 && out[n - 1] == '\n')
                out[n - 1] = '\0';
        return out;
}

static unsigned be32(const uint8_t *p) {
        return (unsigned) p[0] << 24 | (unsigned) p[1] << 16 | (unsigned) p[2] << 8 | p[3];
}

static void test_png_one(const char *text, QrEcLevel level, unsigned scale) {
        uint8_t *png = NULL;
        size_t size = 0;

        ASSERT_OK(qr_render_png(text, level, scale, &png, &size));
        ASSERT_TRUE(png && size > 33);
        ASSERT_MEMEQ(png, "\x89PNG\r\n\x1a\n", 8);
        ASSERT_MEMEQ(png + 12, "IHDR", 4);
        unsigned w = be32(png + 16), h = be32(png + 20);
        unsigned s = scale ? scale : 6;
        ASSERT_EQ(w, h);
        ASSERT_EQ(w % s, 0);
        unsigned modules = w / s - 8;   /* quiet zone of 4 on each side */
        ASSERT_TRUE(modules >= 21 && modules <= 177 && (modules - 21) % 4 == 0);
        ASSERT_EQ(png[24], 8);          /* bit depth */
        ASSERT_EQ(png[25], 0);          /* grayscale */

        char *path = write_tmp(".png", png, size);
        char *decoded = zbar_decode_file(path);
        unlink(path);
        free(path);
        free(png);
        ASSERT_STREQ(decoded, text);
        free(decoded);
}

TEST(png_zbar) {
        if (!have_zbarimg())
                SKIP("zbarimg (zbar-tools) not installed");

        test_png_one("hello", QR_EC_M, 0);
        test_png_one("https://www.wireguard.com/", QR_EC_L, 3);
        test_png_one("0123456789012345678901234567890123456789", QR_EC_H, 4);
        test_png_one("MiXeD CaSe 123 ABC abc $%*+-./:", QR_EC_Q, 5);
        test_png_one(WG_CONFIG, QR_EC_M, 0);
        test_png_one(WG_CONFIG, QR_EC_L, 2);
        test_png_one(WG_CONFIG, QR_EC_H, 6);
        test_png_one(WG_CONFIG, QR_EC_Q, 10);
        test_png_one(MIXED_MODE_MISREAD_1, QR_EC_M, 0);
        test_png_one(MIXED_MODE_MISREAD_2, QR_EC_M, 0);
}

/* Rendered in a child process: byte for byte what the direct calls give, errors included. */
TEST(in_child) {
        static const QrFormat formats[] = { QR_FORMAT_PNG, QR_FORMAT_SVG, QR_FORMAT_UTF8 };
        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
                uint8_t *direct = NULL, *child = NULL;
                size_t dsize = 0, csize = 0;
                char *s = NULL;
                if (formats[i] == QR_FORMAT_PNG)
                        ASSERT_OK(qr_render_png(WG_CONFIG, QR_EC_M, 0, &direct, &dsize));
                else {
                        ASSERT_OK(formats[i] == QR_FORMAT_SVG ? qr_render_svg(WG_CONFIG, QR_EC_M, &s)
                                                              : qr_render_utf8(WG_CONFIG, QR_EC_M, &s));
                        direct = (uint8_t *) s;
                        dsize = strlen(s);
                }
                ASSERT_OK(qr_render_in_child(formats[i], WG_CONFIG, QR_EC_M, &child, &csize));
                ASSERT_EQ(csize, dsize);
                ASSERT_TRUE(memcmp(child, direct, dsize) == 0);
                ASSERT_EQ(child[csize], 0);
                free(direct);
                free(child);
        }
        char big[3001];
        uint8_t *out = NULL;
        size_t size = 0;
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        ASSERT_ERR(qr_render_in_child(QR_FORMAT_PNG, big, QR_EC_L, &out, &size), EMSGSIZE);
        ASSERT_ERR(qr_render_in_child(QR_FORMAT_SVG, "", QR_EC_L, &out, &size), EINVAL);
        ASSERT_TRUE(out == NULL);
}

TEST(png_scale) {
        uint8_t *a = NULL, *b = NULL;
        size_t na, nb;

        ASSERT_OK(qr_render_png("x", QR_EC_M, 1, &a, &na));
        ASSERT_EQ(be32(a + 16), 21 + 8);        /* version 1 */
        ASSERT_OK(qr_render_png("x", QR_EC_M, 64, &b, &nb));
        ASSERT_EQ(be32(b + 16), (21 + 8) * 64);
        free(a);
        free(b);
        a = (uint8_t *) "untouched";
        ASSERT_ERR(qr_render_png("x", QR_EC_M, 65, &a, &na), EINVAL);
        ASSERT_STREQ((char *) a, "untouched");
}

TEST(too_large) {
        size_t n = 8000;
        char *big = malloc(n + 1);
        uint8_t *png = NULL;
        char *s = NULL;
        size_t size;

        ASSERT_TRUE(big);
        /* digits pack best (numeric mode, 7089 at most at level L) */
        for (size_t i = 0; i < n; i++)
                big[i] = (char) ('0' + i % 10);
        big[n] = '\0';
        ASSERT_ERR(qr_render_png(big, QR_EC_L, 0, &png, &size), EMSGSIZE);
        ASSERT_ERR(qr_render_svg(big, QR_EC_L, &s), EMSGSIZE);
        ASSERT_ERR(qr_render_utf8(big, QR_EC_L, &s), EMSGSIZE);
        ASSERT_TRUE(png == NULL && s == NULL);

        /* 8-bit text: 2953 bytes at most at level L, 1273 at level H */
        memset(big, 'x', 2000);
        big[2000] = '\0';
        ASSERT_OK(qr_render_svg(big, QR_EC_L, &s));
        free(s);
        s = NULL;
        ASSERT_ERR(qr_render_svg(big, QR_EC_H, &s), EMSGSIZE);
        big[1273] = '\0';
        ASSERT_OK(qr_render_svg(big, QR_EC_H, &s));
        free(s);
        s = NULL;
        memset(big, 'x', 3000);
        big[3000] = '\0';
        ASSERT_ERR(qr_render_png(big, QR_EC_L, 0, &png, &size), EMSGSIZE);
        free(big);

        ASSERT_ERR(qr_render_png("", QR_EC_M, 0, &png, &size), EINVAL);
        ASSERT_ERR(qr_render_svg("", QR_EC_M, &s), EINVAL);
        ASSERT_ERR(qr_render_utf8(NULL, QR_EC_M, &s), EINVAL);
        ASSERT_ERR(qr_render_utf8("x", (QrEcLevel) 4, &s), EINVAL);
}

static size_t count(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* Rasterises our SVG's single path ("Mx yhNv1h-Nz" runs) onto its viewBox, as PGM. */
static char *svg_to_pgm(const char *svg, size_t *ret_size) {
        enum { SCALE = 4 };
        const char *p;
        unsigned n, n2;

        p = strstr(svg, "viewBox=\"0 0 ");
        if (!p || sscanf(p, "viewBox=\"0 0 %u %u\"", &n, &n2) != 2 || n != n2 || n > 200)
                return NULL;
        p = strstr(svg, " d=\"");
        if (!p)
                return NULL;
        p += 4;

        unsigned w = n * SCALE;
        char header[64];
        int k = snprintf(header, sizeof(header), "P5\n%u %u\n255\n", w, w);
        *ret_size = (size_t) k + (size_t) w * w;
        char *img = malloc(*ret_size);
        if (!img)
                abort();
        memcpy(img, header, (size_t) k);
        char *pix = img + k;
        memset(pix, 255, (size_t) w * w);

        while (*p != '"') {
                unsigned x, y, len, len2;
                int used = 0;

                if (*p == ' ')
                        p++;
                if (sscanf(p, "M%u %uh%uv1h-%uz%n", &x, &y, &len, &len2, &used) != 4 || used == 0 ||
                    len != len2 || x + len > n || y >= n) {
                        free(img);
                        return NULL;
                }
                p += used;
                for (unsigned dy = 0; dy < SCALE; dy++)
                        memset(pix + (size_t) (y * SCALE + dy) * w + x * SCALE, 0, (size_t) len * SCALE);
        }
        return img;
}

TEST(svg) {
        char *svg = NULL;

        ASSERT_OK(qr_render_svg(WG_CONFIG, QR_EC_M, &svg));
        ASSERT_TRUE(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
        ASSERT_EQ(count(svg, "<path"), 1);
        ASSERT_EQ(count(svg, "<svg"), 1);
        ASSERT_EQ(count(svg, "</svg>"), 1);
        ASSERT_TRUE(strcmp(svg + strlen(svg) - 7, "</svg>\n") == 0);

        /* well-formed XML */
        if (system("command -v xmllint >/dev/null 2>&1") == 0) {
                char cmd[128];
                char *path = write_tmp(".svg", svg, strlen(svg));
                snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
                int r = system(cmd);
                ASSERT_EQ(r, 0);
                unlink(path);
                free(path);
        }

        /* the path drawn module by module scans (no SVG renderer on this system) */
        if (have_zbarimg()) {
                size_t size;
                char *pgm = svg_to_pgm(svg, &size);
                ASSERT_TRUE(pgm);
                char *path = write_tmp(".pgm", pgm, size);
                char *decoded = zbar_decode_file(path);
                unlink(path);
                free(path);
                free(pgm);
                ASSERT_STREQ(decoded, WG_CONFIG);
                free(decoded);
        }
        free(svg);
}

/* Turns terminal text back into a grayscale image (each cell 2 modules high), as PGM. */
static char *utf8_to_pgm(const char *s, unsigned *ret_cells, unsigned *ret_lines, size_t *ret_size) {
        enum { SCALE = 4 };
        unsigned cells = 0, lines = 0, row_cells = 0;
        const char *p;

        /* first pass: check the shape */
        for (p = s; *p; ) {
                if (*p == '\n') {
                        if (lines > 0 && row_cells != cells)
                                return NULL;
                        cells = row_cells;
                        row_cells = 0;
                        lines++;
                        p++;
                } else if (*p == ' ') {
                        row_cells++;
                        p++;
                } else if (strncmp(p, "\xe2\x96\x80", 3) == 0 || strncmp(p, "\xe2\x96\x84", 3) == 0 ||
                           strncmp(p, "\xe2\x96\x88", 3) == 0) {
                        row_cells++;
                        p += 3;
                } else
                        return NULL;
        }
        if (row_cells != 0 || lines == 0)
                return NULL;            /* must end with a newline */

        unsigned w = cells * SCALE, h = lines * 2 * SCALE;
        char header[64];
        int k = snprintf(header, sizeof(header), "P5\n%u %u\n255\n", w, h);
        *ret_size = (size_t) k + (size_t) w * h;
        char *img = malloc(*ret_size);
        if (!img)
                abort();
        memcpy(img, header, (size_t) k);
        char *pix = img + k;
        unsigned line = 0, x = 0;
        for (p = s; *p; ) {
                int top, bottom, adv;
                if (*p == '\n') {
                        line++;
                        x = 0;
                        p++;
                        continue;
                }
                if (*p == ' ') {
                        top = bottom = 0;
                        adv = 1;
                } else {
                        top = p[2] == '\x80' || p[2] == '\x88';
                        bottom = p[2] == '\x84' || p[2] == '\x88';
                        adv = 3;
                }
                for (unsigned dy = 0; dy < 2 * SCALE; dy++)
                        for (unsigned dx = 0; dx < SCALE; dx++)
                                pix[(size_t) (line * 2 * SCALE + dy) * w + x * SCALE + dx] =
                                        (char) ((dy < SCALE ? top : bottom) ? 255 : 0);
                x++;
                p += adv;
        }
        *ret_cells = cells;
        *ret_lines = lines;
        return img;
}

static void test_utf8_one(const char *text, QrEcLevel level) {
        char *s = NULL;
        unsigned cells, lines;

        ASSERT_OK(qr_render_utf8(text, level, &s));
        size_t pgm_size;
        char *pgm = utf8_to_pgm(s, &cells, &lines, &pgm_size);
        ASSERT_TRUE(pgm);
        unsigned modules = cells - 4;   /* quiet zone of 2 on each side */
        ASSERT_TRUE(modules >= 21 && modules <= 177 && (modules - 21) % 4 == 0);
        ASSERT_EQ(lines, (cells + 1) / 2);
        ASSERT_EQ(count(s, "\n"), lines);

        /* the first line is the quiet zone (2 light module rows): all full blocks */
        ASSERT_EQ(strspn(s, "\xe2\x96\x88"), (size_t) cells * 3);
        /* odd height: the last line's lower half is the terminal background */
        const char *last = s + strlen(s) - 1 - (size_t) cells * 3;
        ASSERT_EQ(strspn(last, "\xe2\x96\x80"), (size_t) cells * 3);

        if (have_zbarimg()) {
                char *path = write_tmp(".pgm", pgm, pgm_size);
                char *decoded = zbar_decode_file(path);
                unlink(path);
                free(path);
                ASSERT_STREQ(decoded, text);
                free(decoded);
        }
        free(pgm);
        free(s);
}

TEST(utf8) {
        test_utf8_one("hello", QR_EC_M);
        test_utf8_one(WG_CONFIG, QR_EC_M);
        test_utf8_one(WG_CONFIG, QR_EC_L);
        test_utf8_one("0123456789", QR_EC_H);
}

TEST_MAIN()
