/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QR code of a config in hand (no GTK: the unit test links it alone). */
#include "config-qr.h"
#include "qr.h"

int applet_config_qr_png(const char *config, uint8_t **ret, size_t *ret_size) {
        return qr_render_in_child(QR_FORMAT_PNG, config, QR_EC_M, ret, ret_size);
}
