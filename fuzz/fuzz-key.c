/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wg_key_from_base64_n() on arbitrary bytes. Whatever it accepts must be exactly what
 * wg_key_to_base64() prints for the decoded key (canonical form only); whatever it refuses
 * must leave the output untouched. As a NUL-terminated string, the same verdict. */
#include <stdlib.h>
#include <string.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t key[WG_KEY_LEN], key2[WG_KEY_LEN];
        char b64[WG_KEY_B64_SIZE];
        int r;

        memset(key, 0xa5, sizeof(key));
        r = wg_key_from_base64_n(key, (const char *) data, size);
        if (r < 0) {
                for (size_t i = 0; i < sizeof(key); i++)
                        if (key[i] != 0xa5)
                                abort();
        } else {
                if (r != 0 || size != WG_KEY_B64_LEN)
                        abort();
                wg_key_to_base64(b64, key);
                if (memcmp(b64, data, WG_KEY_B64_LEN) != 0)
                        abort();
                if (wg_key_from_base64(key2, b64) != 0 || !wg_key_equal(key, key2))
                        abort();
        }

        /* the C string form: accepts iff the bytes up to the first NUL are a valid key */
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        int r2 = wg_key_from_base64(key2, s);
        int r3 = wg_key_from_base64_n(key2, s, strlen(s));
        if (r2 != r3)
                abort();
        if (r2 == 0 && strlen(s) == size && !wg_key_equal(key, key2))
                abort();
        free(s);
        return 0;
}
