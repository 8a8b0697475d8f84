/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The UAPI get/set reply parsers on arbitrary bytes. A reply that parses is formatted
 * back as a set request, which must succeed. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "keys.h"
#include "macro.h"
#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An error message never quotes 16 or more hex digits that follow a secret's name in
 * the input (a private_key or preshared_key line, whatever its separator). */
static void check_no_secret(const uint8_t *data, size_t size, const UapiError *e) {
        static const char *const names[] = { "private_key", "preshared_key" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                size_t nl = strlen(names[i]);
                for (const uint8_t *p = data; (p = memmem(p, size - (size_t) (p - data), names[i], nl)); p++) {
                        const char *v = (const char *) p + nl + 1;
                        size_t left = size - (size_t) (p - data);
                        if (left < nl + 1 + 16)
                                break;
                        bool hex = true;
                        for (size_t k = 0; k < 16; k++)
                                hex = hex && strchr("0123456789abcdefABCDEF", v[k]) && v[k];
                        if (hex && memmem(e->message, strlen(e->message), v, 16))
                                __builtin_trap();
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        UapiError e;

        (void) wg_crypto_init();
        if (uapi_parse_set_reply((const char *) data, size, &e) == -EBADMSG)
                check_no_secret(data, size, &e);
        int r = uapi_parse_get_reply((const char *) data, size, "fuzz0", &d, &e);
        if (r == -EBADMSG)
                check_no_secret(data, size, &e);
        if (r >= 0) {
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
