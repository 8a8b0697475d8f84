/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QR codes (libqrencode) rendered as PNG (libpng, in memory), SVG and terminal text. */

#include <fcntl.h>
#include <png.h>
#include <stdarg.h>
#include <qrencode.h>
#include <setjmp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io-util.h"
#include "keys.h"
#include "macro.h"
#include "qr.h"

#define QR_QUIET_ZONE 4         /* modules, as the standard asks */
#define QR_UTF8_QUIET_ZONE 2    /* terminals are small; phones cope with 2 */
#define QR_PNG_SCALE_DEFAULT 6
#define QR_PNG_SCALE_MAX 64

/* The text is a config with a private key, and the modules encode it: every buffer that
 * held either is wiped before it is freed. */
static void qrcode_freep(QRcode **q) {
        if (*q) {
                wg_wipe((*q)->data, (size_t) (*q)->width * (size_t) (*q)->width);
                QRcode_free(*q);
        }
}

static int qr_encode(const char *text, QrEcLevel level, QRcode **ret) {
        static const QRecLevel levels[] = {
                [QR_EC_L] = QR_ECLEVEL_L,
                [QR_EC_M] = QR_ECLEVEL_M,
                [QR_EC_Q] = QR_ECLEVEL_Q,
                [QR_EC_H] = QR_ECLEVEL_H,
        };
        QRcode *q;

        if (!text || !*text || (unsigned) level >= ELEMENTSOF(levels))
                return -EINVAL;

        /* version 0: the smallest that fits; byte mode for the whole text. libqrencode's
         * mixed modes (numeric/alphanumeric runs where shorter) saved a few modules but gave
         * about one code in 750 that zbar read with characters too many at the end
         * (tests/test-qr.c has two); phones' decoders are no better tested than zbar. */
        errno = 0;
        q = QRcode_encodeString8bit(text, 0, levels[level]);
        if (!q) {
                if (errno == ERANGE)
                        return -EMSGSIZE;
                return errno > 0 ? -errno : -ENOMEM;
        }
        *ret = q;
        return 0;
}

static bool qr_dark(const QRcode *q, int x, int y) {
        if (x < 0 || y < 0 || x >= q->width || y >= q->width)
                return false;
        return q->data[(size_t) y * (size_t) q->width + (size_t) x] & 1;
}

/* PNG */

typedef struct PngBuffer {
        uint8_t *data;
        size_t size, allocated;
        bool oom;
} PngBuffer;

static void qr_png_buffer_write(png_structp png, png_bytep data, png_size_t len) {
        PngBuffer *b = png_get_io_ptr(png);

        if (len > b->allocated - b->size) {
                size_t n = MAX(MAX(b->allocated * 2, b->size + len), (size_t) 4096);
                /* Not realloc(): it would leave an unwiped copy behind. */
                uint8_t *p = b->size + len > b->size ? malloc(n) : NULL;
                if (!p) {
                        b->oom = true;
                        png_error(png, "out of memory");
                }
                memcpy_safe(p, b->data, b->size);
                wg_wipe_free(b->data, b->allocated);
                b->data = p;
                b->allocated = n;
        }
        memcpy(b->data + b->size, data, len);
        b->size += len;
}

static void qr_png_buffer_flush(png_structp png) {
}

/* libpng must not print (we are a library) and must not abort: errors longjmp back. */
static void qr_png_error(png_structp png, png_const_charp msg) {
        png_longjmp(png, 1);
}

static void qr_png_warning(png_structp png, png_const_charp msg) {
}

static void qr_png_write_rows(png_structp png, png_infop info, const QRcode *q, unsigned scale, uint8_t *row) {
        unsigned size = (unsigned) q->width + 2 * QR_QUIET_ZONE;
        unsigned px = size * scale;

        png_set_IHDR(png, info, px, px, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);

        for (unsigned y = 0; y < size; y++) {
                for (unsigned x = 0; x < size; x++) {
                        bool dark = qr_dark(q, (int) x - QR_QUIET_ZONE, (int) y - QR_QUIET_ZONE);
                        memset(row + (size_t) x * scale, dark ? 0 : 255, scale);
                }
                for (unsigned i = 0; i < scale; i++)
                        png_write_row(png, row);
        }
        png_write_end(png, info);
}

/* Kept apart so that nothing live across setjmp() is modified after it. */
static int qr_png_write_guarded(png_structp png, png_infop info, const QRcode *q, unsigned scale, uint8_t *row) {
        if (setjmp(png_jmpbuf(png)))
                return -EIO;
        qr_png_write_rows(png, info, q, scale, row);
        return 0;
}

int qr_render_png(const char *text, QrEcLevel level, unsigned scale, uint8_t **ret, size_t *ret_size) {
        _cleanup_(qrcode_freep) QRcode *q = NULL;
        _cleanup_(freep) uint8_t *row = NULL;
        PngBuffer buf = { 0 };
        png_structp png;
        png_infop info;
        int r;

        if (!ret || !ret_size)
                return -EINVAL;
        if (scale == 0)
                scale = QR_PNG_SCALE_DEFAULT;
        if (scale > QR_PNG_SCALE_MAX)
                return -EINVAL;

        r = qr_encode(text, level, &q);
        if (r < 0)
                return r;

        row = malloc(((size_t) q->width + 2 * QR_QUIET_ZONE) * scale);
        if (!row)
                return -ENOMEM;

        png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, qr_png_error, qr_png_warning);
        if (!png)
                return -ENOMEM;
        info = png_create_info_struct(png);
        if (!info) {
                png_destroy_write_struct(&png, NULL);
                return -ENOMEM;
        }
        png_set_write_fn(png, &buf, qr_png_buffer_write, qr_png_buffer_flush);

        r = qr_png_write_guarded(png, info, q, scale, row);
        png_destroy_write_struct(&png, &info);
        wg_wipe(row, ((size_t) q->width + 2 * QR_QUIET_ZONE) * scale);
        if (r < 0) {
                wg_wipe_free(buf.data, buf.allocated);
                return buf.oom ? -ENOMEM : r;
        }

        *ret = buf.data;
        *ret_size = buf.size;
        return 0;
}

/* SVG */

typedef struct SvgBuffer {
        char *data;
        size_t len, size;
} SvgBuffer;

static void svg_append(SvgBuffer *b, const char *fmt, ...) _printf_(2, 3);
static void svg_append(SvgBuffer *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
        va_end(ap);
        if (k > 0)
                b->len = MIN(b->len + (size_t) k, b->size - 1);
}

int qr_render_svg(const char *text, QrEcLevel level, char **ret) {
        _cleanup_(qrcode_freep) QRcode *q = NULL;
        SvgBuffer b = { 0 };
        int r, n;

        if (!ret)
                return -EINVAL;
        r = qr_encode(text, level, &q);
        if (r < 0)
                return r;

        /* Allocated once for the worst case (a run per two modules, at most 40 bytes each),
         * so that no growth leaves an unwiped copy of the image behind. */
        b.size = 1024 + ((size_t) q->width * (size_t) q->width / 2 + (size_t) q->width) * 40;
        b.data = malloc(b.size);
        if (!b.data)
                return -ENOMEM;
        b.data[0] = 0;

        n = q->width + 2 * QR_QUIET_ZONE;
        svg_append(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n"
                   "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
                   "<path fill=\"#000000\" d=\"",
                   n * QR_PNG_SCALE_DEFAULT, n * QR_PNG_SCALE_DEFAULT, n, n, n, n);

        /* one sub-path per horizontal run of dark modules */
        bool first = true;
        for (int y = 0; y < q->width; y++)
                for (int x = 0; x < q->width; x++) {
                        int len = 0;

                        if (!qr_dark(q, x, y) || qr_dark(q, x - 1, y))
                                continue;
                        while (qr_dark(q, x + len, y))
                                len++;
                        svg_append(&b, "%sM%d %dh%dv1h-%dz", first ? "" : " ",
                                   x + QR_QUIET_ZONE, y + QR_QUIET_ZONE, len, len);
                        first = false;
                }
        svg_append(&b, "\"/>\n</svg>\n");
        *ret = b.data;
        return 0;
}

/* Terminal text */

int qr_render_utf8(const char *text, QrEcLevel level, char **ret) {
        /* indexed by (top light) | (bottom light) << 1; light modules are drawn */
        static const char *const cells[4] = {
                " ",                    /* both dark */
                "\xe2\x96\x80",         /* U+2580 upper half block: top light */
                "\xe2\x96\x84",         /* U+2584 lower half block: bottom light */
                "\xe2\x96\x88",         /* U+2588 full block: both light */
        };
        _cleanup_(qrcode_freep) QRcode *q = NULL;
        char *s, *p;
        int n, lines, r;

        if (!ret)
                return -EINVAL;
        r = qr_encode(text, level, &q);
        if (r < 0)
                return r;

        n = q->width + 2 * QR_UTF8_QUIET_ZONE;
        lines = (n + 1) / 2;
        /* at most 3 bytes per cell, a newline per line, the NUL */
        s = malloc((size_t) lines * ((size_t) n * 3 + 1) + 1);
        if (!s)
                return -ENOMEM;

        p = s;
        for (int line = 0; line < lines; line++) {
                int y = line * 2 - QR_UTF8_QUIET_ZONE;

                for (int x = -QR_UTF8_QUIET_ZONE; x < q->width + QR_UTF8_QUIET_ZONE; x++) {
                        /* the quiet zone is light; below the last row (odd height) is the
                         * terminal background, which counts as dark */
                        bool top = !qr_dark(q, x, y);
                        bool bottom = line * 2 + 1 < n && !qr_dark(q, x, y + 1);
                        const char *c = cells[top | bottom << 1];
                        size_t len = strlen(c);

                        memcpy(p, c, len);
                        p += len;
                }
                *p++ = '\n';
        }
        *p = '\0';

        *ret = s;
        return 0;
}

/* In a child process */

static int qr_render_any(QrFormat format, const char *text, QrEcLevel level, uint8_t **ret, size_t *ret_size) {
        char *s = NULL;
        int r;

        switch (format) {
        case QR_FORMAT_PNG:
                return qr_render_png(text, level, 0, ret, ret_size);
        case QR_FORMAT_SVG:
                r = qr_render_svg(text, level, &s);
                break;
        case QR_FORMAT_UTF8:
                r = qr_render_utf8(text, level, &s);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = (uint8_t *) s;
        *ret_size = strlen(s);
        return 0;
}

int qr_render_in_child(QrFormat format, const char *text, QrEcLevel level, uint8_t **ret, size_t *ret_size) {
        int fds[2];
        int64_t head[2];        /* the result, the size */
        int r;

        if (!text || !ret || !ret_size)
                return -EINVAL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                /* The child: only this, then _exit (no atexit handlers of the parent's
                 * libraries run, nothing is flushed to the parent's sockets). */
                uint8_t *data = NULL;
                size_t size = 0;
                close(fds[0]);
                r = qr_render_any(format, text, level, &data, &size);
                head[0] = r;
                head[1] = r < 0 ? 0 : (int64_t) size;
                if (write_all(fds[1], head, sizeof(head)) < 0 || (r >= 0 && write_all(fds[1], data, size) < 0))
                        r = -EIO;
                free(data);
                _exit(r < 0 ? 1 : 0);
        }
        close(fds[1]);
        uint8_t *data = NULL;
        r = read_exact(fds[0], head, sizeof(head));
        if (r >= 0 && head[0] < 0)
                r = head[0] >= -4095 ? (int) head[0] : -EIO;
        else if (r >= 0 && (head[1] < 0 || (uint64_t) head[1] > SIZE_MAX - 1))
                r = -EIO;
        if (r >= 0) {
                /* one byte more: the text formats end with a NUL, as the direct calls' */
                data = malloc((size_t) head[1] + 1);
                if (!data)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                r = read_exact(fds[0], data, (size_t) head[1]);
                if (r < 0)
                        wg_wipe_free(data, (size_t) head[1] + 1);
        }
        close(fds[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        data[head[1]] = 0;
        *ret = data;
        *ret_size = (size_t) head[1];
        return 0;
}
