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
