/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pairing_parse() on arbitrary text, and on arbitrary bodies with a correct check (so the
 * fuzzer gets past the checksum): the first input byte picks the mode. Whatever is
 * accepted must format back to a string that parses to the same pairing; whatever is
 * refused must leave the output untouched and give a reason. Both parsers: tunnel pairings
 * and mesh invitations. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pairing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *text, int (*parse)(const char *, Pairing *, const char **)) {
        Pairing p, q;
        const char *why = NULL;
        char *again = NULL;

        memset(&p, 0xa5, sizeof(p));
        int r = parse(text, &p, &why);
        if (r < 0) {
                if (r != -EINVAL || !why)
                        abort();
                for (size_t i = 0; i < sizeof(p); i++)
                        if (((uint8_t *) &p)[i] != 0xa5)
                                abort();
                return;
        }
        if (r != 0 || pairing_format(&p, &again) < 0)
                abort();
        if (parse(again, &q, NULL) < 0)
                abort();
        if (q.kind != p.kind || memcmp(q.id, p.id, PAIRING_ID_LEN) != 0 || q.expires != p.expires ||
            memcmp(q.public_key, p.public_key, WG_KEY_LEN) != 0 ||
            memcmp(q.preshared_key, p.preshared_key, WG_KEY_LEN) != 0 || strcmp(q.endpoint, p.endpoint) != 0 ||
            q.n_tunnel_addresses != p.n_tunnel_addresses || q.n_networks != p.n_networks)
                abort();
        for (size_t i = 0; i < p.n_tunnel_addresses; i++)
                if (!ip_prefix_equal(&p.tunnel_addresses[i], &q.tunnel_addresses[i]))
                        abort();
        for (size_t i = 0; i < p.n_networks; i++)
                if (!ip_prefix_equal(&p.networks[i], &q.networks[i]))
                        abort();
        free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;

        if (size == 0 || size > 4096)
                return 0;
        if (sodium_init() < 0)
                abort();
        if (data[0] & 1) {
                /* the rest is a body: append the check and encode */
                size_t body_len = size - 1;
                uint8_t *body = malloc(body_len + 4);
                uint8_t hash[crypto_generichash_BYTES];
                if (!body)
                        return 0;
                memcpy(body, data + 1, body_len);
                crypto_generichash(hash, sizeof(hash), body, body_len, NULL, 0);
                memcpy(body + body_len, hash, 4);
                size_t b64 = sodium_base64_ENCODED_LEN(body_len + 4, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
                text = malloc(strlen(PAIRING_PREFIX) + b64);
                if (!text) {
                        free(body);
                        return 0;
                }
                strcpy(text, PAIRING_PREFIX);
                sodium_bin2base64(text + strlen(PAIRING_PREFIX), b64, body, body_len + 4,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
                free(body);
        } else {
                text = malloc(size);
                if (!text)
                        return 0;
                memcpy(text, data + 1, size - 1);
                text[size - 1] = 0;
        }
        /* Tunnel pairings and mesh invitations (kind 3): each parser refuses the other's. */
        check(text, pairing_parse);
        check(text, pairing_parse_invitation);
        free(text);
        return 0;
}
