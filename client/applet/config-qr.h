/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The QR code (PNG, 6 pixels a module) of a config the applet holds, drawn here with
 * lib/qr.c as wgnetctl and wgnetd draw it. For the config in AddPeer's or RotateKeys'
 * reply: with key policy one-time it is the only copy of the private key, and GetQRCode
 * would encode the daemon's placeholder config without it. Rendered in a child process
 * (qr_render_in_child) so that libqrencode's and libpng's unwiped copies of the key do not
 * stay in the applet's heap. *ret is malloc'd: wipe it (wg_wipe_free) before freeing it.
 * -EMSGSIZE if the config is too long for a QR code, else -errno. */
int applet_config_qr_png(const char *config, uint8_t **ret, size_t *ret_size);
