/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* QR codes of config text, for the WireGuard mobile apps. Error correction level M by
 * default (QR_EC_M); the symbol version is the smallest that fits. */

#include <stddef.h>
#include <stdint.h>

typedef enum QrEcLevel {
        QR_EC_L,
        QR_EC_M,
        QR_EC_Q,
        QR_EC_H,
} QrEcLevel;

/* PNG (libpng), 8-bit grayscale, `scale` pixels per module (0 = default 6, at most 64, else
 * -EINVAL), quiet zone of 4 modules. The buffer is malloc'd. -EMSGSIZE if the text does not
 * fit in a QR code; -EINVAL for an empty text. The same holds for the functions below. */
int qr_render_png(const char *text, QrEcLevel level, unsigned scale, uint8_t **ret, size_t *ret_size);
/* A standalone SVG document, one path for the dark modules, quiet zone of 4 modules. */
int qr_render_svg(const char *text, QrEcLevel level, char **ret);
/* Terminal text: two rows of modules per line with the half-block characters
 * (U+2580, U+2584, U+2588, space), dark modules drawn as spaces on a light block
 * background so that it scans on dark terminals; quiet zone of 2 modules included; one '\n'
 * per line, (width + 2 * 2 + 1) / 2 lines. */
int qr_render_utf8(const char *text, QrEcLevel level, char **ret);

typedef enum QrFormat {
        QR_FORMAT_PNG,          /* at the default scale */
        QR_FORMAT_SVG,
        QR_FORMAT_UTF8,
} QrFormat;

/* One of the above, rendered in a child process that only writes the result back through
 * a pipe and exits: libqrencode and libpng copy the text and the modules into buffers of
 * their own and free them without wiping, so a long-running process (the daemon) keeps no
 * trace of a private key in its heap. *ret (malloc'd, NUL after the *ret_size bytes) is
 * the caller's to wipe. The same errors as the direct calls; -EIO if the child died. */
int qr_render_in_child(QrFormat format, const char *text, QrEcLevel level, uint8_t **ret, size_t *ret_size);
