/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The UAPI get/set reply parsers on arbitrary bytes. A reply that parses is formatted
 * back as a set request, which must succeed. */
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "macro.h"
#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        UapiError e;

        (void) wg_crypto_init();
        (void) uapi_parse_set_reply((const char *) data, size, &e);
        if (uapi_parse_get_reply((const char *) data, size, "fuzz0", &d, &e) >= 0) {
                char *s = NULL;
                size_t n = 0;
                d->flags &= ~(uint32_t) WGDEVICE_HAS_PUBLIC_KEY;
                for (size_t i = 0; i < d->n_peers; i++)
                        d->peers[i].flags |= WGPEER_REPLACE_ALLOWEDIPS;
                if (uapi_format_set(d, &s, &n) < 0)
                        __builtin_trap();
                wg_wipe_free(s, n + 1);
        }
        return 0;
}
